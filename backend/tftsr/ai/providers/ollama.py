"""Ollama's chat API (https://github.com/ollama/ollama/blob/main/docs/api.md).

``POST {base}/api/chat`` with ``{"model", "messages", "stream": true, "tools",
"options"}``; no key. The reply is NDJSON: each line carries ``message.content`` (a
token or a few) and possibly ``message.tool_calls`` (arguments as an object); the last
line has ``"done": true`` with ``prompt_eval_count`` and ``eval_count``. Errors come as
``{"error": "..."}`` lines or bodies. Models are listed by ``GET /api/tags``.
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
    host_of,
    iter_ndjson,
    parse_arguments,
    truncated_stream_error,
)
from tftsr.ai.providers.openai_compat import COMMON_SETTINGS

if TYPE_CHECKING:  # only a type here: requests are sent by tftsr.egress
    from tftsr.egress.http import Response

DEFAULT_BASE_URL = "http://localhost:11434"


def ollama_messages(request: ChatRequest) -> list[dict]:
    out: list[dict] = []
    for m in request.messages:
        if m.role == "tool":
            out.append({"role": "tool", "content": m.content, "tool_name": m.name or ""})
        elif m.role == "assistant" and m.tool_calls:
            out.append({"role": "assistant", "content": m.content,
                        "tool_calls": [{"function": {"name": c.name, "arguments": c.arguments}}
                                       for c in m.tool_calls]})
        else:
            out.append({"role": m.role, "content": m.content})
    return out


class OllamaProvider(ProviderBase):
    kind = "ollama"
    label = "Ollama"
    default_base_url = DEFAULT_BASE_URL
    needs_api_key = False
    tools_by_default = False  # depends on the model; detect_tool_support finds out
    settings_schema = COMMON_SETTINGS

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/x-ndjson"}
        if self.config.api_key:  # an Ollama behind an authenticating proxy
            headers["Authorization"] = f"Bearer {self.config.api_key}"
        return headers

    def unreachable_error(self, exc: Exception) -> ProviderError:
        return ProviderError(
            f"Ollama is not running at {host_of(self.config.base_url)}. Start it (ollama serve) "
            "or correct the address in Settings → AI Providers.", code="ai_unreachable")

    def status_error(self, status, body, headers):
        error = super().status_error(status, body, headers)
        if status == 404 and b"not found" in body.lower():
            error.message = (f"Ollama does not have the model '{self.config.model}'. Pull it in "
                             "Settings → Ollama, or choose an installed model.")
        return error

    def prepare_chat(self, request: ChatRequest) -> PreparedRequest:
        body: dict[str, Any] = {"model": self.config.model, "messages": ollama_messages(request),
                                "stream": True}
        if request.tools:
            body["tools"] = [{"type": "function", "function": {
                "name": t.name, "description": t.description, "parameters": t.parameters}}
                for t in request.tools]
        options: dict[str, Any] = {}
        if (temperature := self.temperature(request)) is not None:
            options["temperature"] = temperature
        if max_tokens := self.max_tokens(request):
            options["num_predict"] = max_tokens
        if options:
            body["options"] = options
        return PreparedRequest("POST", self.url("/api/chat"), self.headers(), self.json_body(body))

    def read_stream(self, response: Response, cancel: Cancellation) -> Iterator[StreamEvent]:
        text: list[str] = []
        calls: list[ToolCall] = []
        for item in iter_ndjson(response, cancel, self.label):
            if item.get("error"):
                raise ProviderError(f"Ollama reported an error: {item['error']}", code="ai_server_error")
            message = item.get("message") or {}
            if message.get("content"):
                text.append(message["content"])
                yield StreamEvent("text", text=message["content"])
            for call in message.get("tool_calls") or []:
                function = call.get("function") or {}
                if function.get("name"):
                    calls.append(ToolCall(call.get("id") or f"ollama_call_{len(calls)}",
                                          function["name"], parse_arguments(function.get("arguments"))))
            if item.get("done"):
                usage = Usage(item.get("prompt_eval_count"), item.get("eval_count"))
                for c in calls:
                    yield StreamEvent("tool_call", tool_call=c)
                yield StreamEvent("done", result=ChatResult("".join(text), calls, usage,
                                                            item.get("done_reason")))
                return
        raise truncated_stream_error(self.label)

    def prepare_list_models(self) -> PreparedRequest | None:
        return PreparedRequest("GET", self.url("/api/tags"), {"Accept": "application/json"}, None,
                               stream=False)

    def parse_models(self, data: Any) -> list[ModelInfo]:
        items = data.get("models") if isinstance(data, dict) else None
        out = []
        for m in items or []:
            if isinstance(m, dict) and (m.get("name") or m.get("model")):
                name = str(m.get("name") or m.get("model"))
                details = m.get("details") or {}
                out.append(ModelInfo(name, name, {
                    "size_bytes": m.get("size"), "modified_at": m.get("modified_at"),
                    "family": details.get("family"), "parameter_size": details.get("parameter_size"),
                    "quantization": details.get("quantization_level")}))
        return out
