"""Google Gemini API (https://ai.google.dev/api/generate-content).

``POST {base}/v1beta/models/{model}:streamGenerateContent?alt=sse`` with the key in the
``x-goog-api-key`` header (never in the URL, so it cannot end up in logs or proxies).
Body: ``{"contents": [{"role": "user"|"model", "parts": [...]}], "systemInstruction",
"tools": [{"functionDeclarations": [...]}], "generationConfig"}``. Each SSE ``data:``
is a GenerateContentResponse: ``candidates[0].content.parts`` hold ``text`` or a
``functionCall`` {name, args}; ``usageMetadata`` carries the token counts. The stream
simply ends; the last chunk has a ``finishReason``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

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


def gemini_contents(request: ChatRequest) -> list[dict]:
    out: list[dict] = []

    def add(role: str, parts: list[dict]) -> None:
        if out and out[-1]["role"] == role:
            out[-1]["parts"].extend(parts)
        else:
            out.append({"role": role, "parts": parts})

    for m in request.dialogue:
        if m.role == "tool":
            add("user", [{"functionResponse": {"name": m.name or "",
                                               "response": {"content": m.content}}}])
        elif m.role == "assistant":
            parts = [{"text": m.content}] if m.content else []
            parts += [{"functionCall": {"name": c.name, "args": c.arguments}} for c in m.tool_calls]
            if parts:
                add("model", parts)
        else:
            add("user", [{"text": m.content}])
    return out


class GeminiProvider(ProviderBase):
    kind = "gemini"
    label = "Google Gemini"
    default_base_url = "https://generativelanguage.googleapis.com"
    settings_schema = COMMON_SETTINGS

    def headers(self, *, accept: str = "text/event-stream") -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": accept}
        if self.config.api_key:
            headers["x-goog-api-key"] = self.config.api_key
        return headers

    @property
    def model_path(self) -> str:
        model = self.config.model
        model = model.removeprefix("models/")
        return "models/" + quote(model, safe="-._")

    def status_error(self, status, body, headers):
        error = super().status_error(status, body, headers)
        if status == 400 and (b"API_KEY_INVALID" in body or b"API key not valid" in body):
            error.code, error.http_status = "ai_auth", 401
            error.message = "The API key was rejected by Google Gemini."
        return error

    def prepare_chat(self, request: ChatRequest) -> PreparedRequest:
        body: dict[str, Any] = {"contents": gemini_contents(request)}
        if request.system_text:
            body["systemInstruction"] = {"parts": [{"text": request.system_text}]}
        if request.tools:
            body["tools"] = [{"functionDeclarations": [
                {"name": t.name, "description": t.description, "parameters": t.parameters}
                for t in request.tools]}]
        config: dict[str, Any] = {}
        if (temperature := self.temperature(request)) is not None:
            config["temperature"] = temperature
        if max_tokens := self.max_tokens(request):
            config["maxOutputTokens"] = max_tokens
        if config:
            body["generationConfig"] = config
        url = self.url(f"/v1beta/{self.model_path}:streamGenerateContent?alt=sse")
        return PreparedRequest("POST", url, self.headers(), self.json_body(body))

    def read_stream(self, response: Response, cancel: Cancellation) -> Iterator[StreamEvent]:
        text: list[str] = []
        calls: list[ToolCall] = []
        usage = Usage()
        finish = None
        for _event, data in iter_sse(response, cancel):
            item = load_json_event(data, self.label)
            if item.get("error"):
                err = item["error"]
                raise ProviderError(
                    f"Google Gemini reported an error in the middle of the reply: "
                    f"{err.get('message') if isinstance(err, dict) else err}", code="ai_server_error")
            meta = item.get("usageMetadata") or {}
            if meta:
                usage = Usage(meta.get("promptTokenCount"), meta.get("candidatesTokenCount"))
            feedback = item.get("promptFeedback") or {}
            if feedback.get("blockReason"):
                raise ProviderError(f"Google Gemini blocked the request ({feedback['blockReason']}).",
                                    code="ai_bad_request")
            for candidate in item.get("candidates") or []:
                for part in (candidate.get("content") or {}).get("parts") or []:
                    if part.get("text") and not part.get("thought"):
                        text.append(part["text"])
                        yield StreamEvent("text", text=part["text"])
                    call = part.get("functionCall")
                    if isinstance(call, dict) and call.get("name"):
                        calls.append(ToolCall(call.get("id") or f"gemini_call_{len(calls)}",
                                              call["name"], parse_arguments(call.get("args"))))
                if candidate.get("finishReason"):
                    finish = candidate["finishReason"]
        if finish is None:
            raise truncated_stream_error(self.label)
        for call in calls:
            yield StreamEvent("tool_call", tool_call=call)
        yield StreamEvent("done", result=ChatResult("".join(text), calls, usage, finish))

    def prepare_list_models(self) -> PreparedRequest | None:
        return PreparedRequest("GET", self.url("/v1beta/models?pageSize=200"),
                               self.headers(accept="application/json"), None, stream=False)

    def parse_models(self, data: Any) -> list[ModelInfo]:
        items = data.get("models") if isinstance(data, dict) else None
        out = []
        for m in items or []:
            if not isinstance(m, dict) or not m.get("name"):
                continue
            methods = m.get("supportedGenerationMethods") or []
            if methods and "generateContent" not in methods:
                continue
            name = str(m["name"]).removeprefix("models/")
            out.append(ModelInfo(name, str(m.get("displayName") or name),
                                 {"input_token_limit": m.get("inputTokenLimit")}))
        return out
