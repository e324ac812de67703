"""OpenAI-compatible chat completions (OpenAI, LM Studio, vLLM, LiteLLM) and Azure OpenAI.

Wire format (https://platform.openai.com/docs/api-reference/chat):
``POST {base}/chat/completions`` with ``Authorization: Bearer KEY`` and
``{"model", "messages", "stream": true, "stream_options": {"include_usage": true},
"tools": [{"type": "function", "function": {...}}]}``. The reply is SSE: each
``data:`` line is a chunk whose ``choices[0].delta`` carries ``content`` or partial
``tool_calls`` (assembled by ``index``); the last chunk carries ``usage``; the stream
ends with ``data: [DONE]``.

Azure OpenAI uses the same body at
``{endpoint}/openai/deployments/{deployment}/chat/completions?api-version=…`` with the
key in an ``api-key`` header.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from tftsr.ai.base import (
    Cancellation,
    ChatRequest,
    ChatResult,
    Message,
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

COMMON_SETTINGS = (
    {"key": "temperature", "label": "Temperature", "type": "float", "required": False, "default": None},
    {"key": "max_tokens", "label": "Max reply tokens", "type": "int", "required": False, "default": None},
)

if TYPE_CHECKING:  # only a type here: requests are sent by tftsr.egress
    from tftsr.egress.http import Response


def openai_messages(messages: list[Message]) -> list[dict]:
    """Conversation turns in the chat-completions shape."""
    out: list[dict] = []
    for m in messages:
        if m.role == "tool":
            out.append({"role": "tool", "tool_call_id": m.tool_call_id or "", "content": m.content})
        elif m.role == "assistant" and m.tool_calls:
            out.append({
                "role": "assistant", "content": m.content or None,
                "tool_calls": [{"id": c.id, "type": "function",
                                "function": {"name": c.name,
                                             "arguments": json.dumps(c.arguments, ensure_ascii=False)}}
                               for c in m.tool_calls],
            })
        else:
            out.append({"role": m.role, "content": m.content})
    return out


def openai_tools(request: ChatRequest) -> list[dict]:
    return [{"type": "function", "function": {"name": t.name, "description": t.description,
                                              "parameters": t.parameters}}
            for t in request.tools]


class ChatCompletionsStream:
    """Assembles a chat-completions SSE stream into deltas, tool calls and a result."""

    def __init__(self, label: str):
        self.label = label
        self.text: list[str] = []
        self.calls: dict[int, dict[str, Any]] = {}
        self.usage = Usage()
        self.finish_reason: str | None = None
        self.finished = False

    def feed(self, chunk: dict) -> Iterator[StreamEvent]:
        if chunk.get("error"):
            err = chunk["error"]
            message = err.get("message") if isinstance(err, dict) else str(err)
            raise ProviderError(f"{self.label} reported an error in the middle of the reply: {message}",
                                code="ai_server_error")
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self.usage = Usage(usage.get("prompt_tokens"), usage.get("completion_tokens"))
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or choice.get("message") or {}
            content = delta.get("content")
            if isinstance(content, str) and content:
                self.text.append(content)
                yield StreamEvent("text", text=content)
            for position, part in enumerate(delta.get("tool_calls") or []):
                index = part.get("index", position)
                slot = self.calls.setdefault(index, {"id": None, "name": "", "arguments": ""})
                if part.get("id"):
                    slot["id"] = part["id"]
                function = part.get("function") or {}
                if function.get("name"):
                    slot["name"] += function["name"]
                arguments = function.get("arguments")
                if isinstance(arguments, str):
                    slot["arguments"] += arguments
                elif isinstance(arguments, dict):
                    slot["arguments"] = json.dumps(arguments)
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]

    def result(self) -> ChatResult:
        calls = [ToolCall(id=slot["id"] or f"call_{index}", name=slot["name"],
                          arguments=parse_arguments(slot["arguments"]))
                 for index, slot in sorted(self.calls.items()) if slot["name"]]
        return ChatResult("".join(self.text), calls, self.usage, self.finish_reason)


class OpenAICompatProvider(ProviderBase):
    kind = "openai"
    label = "OpenAI-compatible API"
    default_base_url = "https://api.openai.com/v1"
    needs_api_key = False  # LM Studio, vLLM and local LiteLLM often run without one
    settings_schema = (
        {"key": "include_usage", "label": "Ask for token usage in streams", "type": "bool",
         "required": False, "default": True},
        *COMMON_SETTINGS,
    )

    @property
    def display_name(self) -> str:
        host = self.config.base_url
        if "api.openai.com" in host:
            return "OpenAI"
        return self.config.name or "the OpenAI-compatible API"

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self.config.api_key:
            headers["Authorization"] = f"Bearer {self.config.api_key}"
        return headers

    def chat_url(self) -> str:
        return self.url("/chat/completions")

    def body(self, request: ChatRequest) -> dict:
        body: dict[str, Any] = {"model": self.config.model,
                                "messages": openai_messages(request.messages), "stream": True}
        if self.setting("include_usage", True) is not False:
            body["stream_options"] = {"include_usage": True}
        if request.tools:
            body["tools"] = openai_tools(request)
        if (temperature := self.temperature(request)) is not None:
            body["temperature"] = temperature
        if max_tokens := self.max_tokens(request):
            body["max_tokens"] = max_tokens
        return body

    def prepare_chat(self, request: ChatRequest) -> PreparedRequest:
        return PreparedRequest("POST", self.chat_url(), self.headers(),
                               self.json_body(self.body(request)))

    def read_stream(self, response: Response, cancel: Cancellation) -> Iterator[StreamEvent]:
        state = ChatCompletionsStream(self.display_name)
        for _event, data in iter_sse(response, cancel):
            if data.strip() == "[DONE]":
                state.finished = True
                break
            yield from state.feed(load_json_event(data, self.display_name))
        if not state.finished:
            raise truncated_stream_error(self.display_name)
        result = state.result()
        for call in result.tool_calls:
            yield StreamEvent("tool_call", tool_call=call)
        yield StreamEvent("done", result=result)

    def prepare_list_models(self) -> PreparedRequest | None:
        headers = self.headers()
        headers["Accept"] = "application/json"
        return PreparedRequest("GET", self.url("/models"), headers, None, stream=False)

    def parse_models(self, data: Any) -> list[ModelInfo]:
        items = data.get("data") if isinstance(data, dict) else None
        return sorted((ModelInfo(str(m["id"]), str(m["id"]),
                                 {"owned_by": m.get("owned_by")} if m.get("owned_by") else None)
                       for m in items or [] if isinstance(m, dict) and m.get("id")),
                      key=lambda m: m.id)


class AzureOpenAIProvider(OpenAICompatProvider):
    kind = "azure_openai"
    label = "Azure OpenAI"
    default_base_url = "https://YOUR-RESOURCE.openai.azure.com"
    needs_api_key = True
    supports_list_models = False  # deployments are managed in the Azure portal
    settings_schema = (
        {"key": "deployment", "label": "Deployment name", "type": "str", "required": True,
         "default": None},
        {"key": "api_version", "label": "API version", "type": "str", "required": True,
         "default": "2024-10-21"},
        *COMMON_SETTINGS,
    )

    @property
    def display_name(self) -> str:
        return "Azure OpenAI"

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self.config.api_key:
            headers["api-key"] = self.config.api_key
        return headers

    def chat_url(self) -> str:
        deployment = self.setting("deployment") or self.config.model
        version = self.setting("api_version", "2024-10-21")
        return self.url(f"/openai/deployments/{quote(str(deployment), safe='')}/chat/completions"
                        f"?api-version={quote(str(version), safe='')}")

    def body(self, request: ChatRequest) -> dict:
        body = super().body(request)
        body.pop("model", None)  # the deployment in the path names the model
        return body

    def prepare_list_models(self) -> PreparedRequest | None:
        return None
