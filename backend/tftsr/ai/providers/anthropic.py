"""Anthropic Messages API (https://docs.anthropic.com/en/api/messages).

``POST {base}/v1/messages`` with ``x-api-key``, ``anthropic-version: 2023-06-01`` and
``{"model", "max_tokens", "system", "messages", "stream": true, "tools"}``. Messages
alternate user/assistant; tool calls are ``tool_use`` content blocks and their results
``tool_result`` blocks in the next user turn. The stream is SSE with the event types
``message_start`` (input usage), ``content_block_start``, ``content_block_delta``
(``text_delta`` / ``input_json_delta``), ``content_block_stop``, ``message_delta``
(stop reason, output usage), ``message_stop``, ``ping`` and ``error``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from tftsr.ai.base import (
    Cancellation,
    ChatRequest,
    ChatResult,
    ModelInfo,
    PreparedRequest,
    ProviderBase,
    ProviderError,
    StreamEvent,
    ToolCall,
    Usage,
    iter_sse,
    load_json_event,
    parse_arguments,
    truncated_stream_error,
)
from tftsr.ai.providers.openai_compat import COMMON_SETTINGS

if TYPE_CHECKING:  # only a type here: requests are sent by tftsr.egress
    from tftsr.egress.http import Response

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096


def anthropic_messages(request: ChatRequest) -> list[dict]:
    """Turns as content blocks, consecutive same-role turns merged (the API requires
    strict alternation, starting with the user)."""
    out: list[dict] = []

    def add(role: str, blocks: list[dict]) -> None:
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})

    for m in request.dialogue:
        if m.role == "tool":
            add("user", [{"type": "tool_result", "tool_use_id": m.tool_call_id or "",
                          "content": m.content}])
        elif m.role == "assistant":
            blocks = [{"type": "text", "text": m.content}] if m.content else []
            blocks += [{"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments}
                       for c in m.tool_calls]
            if blocks:
                add("assistant", blocks)
        else:
            add("user", [{"type": "text", "text": m.content}])
    if out and out[0]["role"] != "user":
        out.insert(0, {"role": "user", "content": [{"type": "text", "text": "(conversation resumed)"}]})
    return out


class AnthropicProvider(ProviderBase):
    kind = "anthropic"
    label = "Anthropic"
    default_base_url = "https://api.anthropic.com"
    settings_schema = COMMON_SETTINGS

    def headers(self, *, accept: str = "text/event-stream") -> dict[str, str]:
        headers = {"content-type": "application/json", "anthropic-version": API_VERSION,
                   "accept": accept}
        if self.config.api_key:
            headers["x-api-key"] = self.config.api_key
        return headers

    def prepare_chat(self, request: ChatRequest) -> PreparedRequest:
        body: dict[str, Any] = {
            "model": self.config.model,
            "max_tokens": self.max_tokens(request, DEFAULT_MAX_TOKENS),
            "messages": anthropic_messages(request),
            "stream": True,
        }
        if request.system_text:
            body["system"] = request.system_text
        if request.tools:
            body["tools"] = [{"name": t.name, "description": t.description,
                              "input_schema": t.parameters} for t in request.tools]
        if (temperature := self.temperature(request)) is not None:
            body["temperature"] = temperature
        return PreparedRequest("POST", self.url("/v1/messages"), self.headers(), self.json_body(body))

    def read_stream(self, response: Response, cancel: Cancellation) -> Iterator[StreamEvent]:
        text: list[str] = []
        blocks: dict[int, dict[str, Any]] = {}
        usage = Usage()
        stop_reason = None
        finished = False
        for event, data in iter_sse(response, cancel):
            item = load_json_event(data, self.label)
            kind = item.get("type", event)
            if kind == "message_start":
                u = (item.get("message") or {}).get("usage") or {}
                usage.input_tokens = u.get("input_tokens")
                usage.output_tokens = u.get("output_tokens")
            elif kind == "content_block_start":
                block = item.get("content_block") or {}
                blocks[item.get("index", len(blocks))] = {
                    "type": block.get("type"), "id": block.get("id"), "name": block.get("name"),
                    "json": "", "input": block.get("input") or {}}
                if block.get("type") == "text" and block.get("text"):
                    text.append(block["text"])
                    yield StreamEvent("text", text=block["text"])
            elif kind == "content_block_delta":
                delta = item.get("delta") or {}
                if delta.get("type") == "text_delta" and delta.get("text"):
                    text.append(delta["text"])
                    yield StreamEvent("text", text=delta["text"])
                elif delta.get("type") == "input_json_delta":
                    slot = blocks.setdefault(item.get("index", 0), {"type": "tool_use", "json": "",
                                                                    "input": {}, "id": None, "name": ""})
                    slot["json"] += delta.get("partial_json") or ""
            elif kind == "message_delta":
                stop_reason = (item.get("delta") or {}).get("stop_reason") or stop_reason
                u = item.get("usage") or {}
                if u.get("output_tokens") is not None:
                    usage.output_tokens = u["output_tokens"]
                if u.get("input_tokens") is not None:
                    usage.input_tokens = u["input_tokens"]
            elif kind == "message_stop":
                finished = True
                break
            elif kind == "error":
                err = item.get("error") or {}
                code = "ai_server_error"
                if err.get("type") == "overloaded_error":
                    message = "Anthropic is overloaded right now; try again in a moment."
                    code = "ai_rate_limited"
                else:
                    message = f"Anthropic reported an error in the middle of the reply: {err.get('message') or err}"
                raise ProviderError(message, code=code)
        if not finished:
            raise truncated_stream_error(self.label)
        calls = []
        for _index, block in sorted(blocks.items()):
            if block.get("type") == "tool_use":
                arguments = parse_arguments(block["json"]) if block["json"] else dict(block["input"])
                calls.append(ToolCall(block.get("id") or f"toolu_{_index}", block.get("name") or "",
                                      arguments))
        for call in calls:
            yield StreamEvent("tool_call", tool_call=call)
        yield StreamEvent("done", result=ChatResult("".join(text), calls, usage, stop_reason))

    def prepare_list_models(self) -> PreparedRequest | None:
        return PreparedRequest("GET", self.url("/v1/models?limit=100"),
                               self.headers(accept="application/json"), None, stream=False)

    def parse_models(self, data: Any) -> list[ModelInfo]:
        items = data.get("data") if isinstance(data, dict) else None
        return [ModelInfo(str(m["id"]), str(m.get("display_name") or m["id"]),
                          {"created_at": m.get("created_at")})
                for m in items or [] if isinstance(m, dict) and m.get("id")]


__all__ = ["API_VERSION", "AnthropicProvider"]
