"""The custom REST gateway format: one prompt per request, history kept by the gateway.

``POST {base}{endpoint_path}`` (default ``/chat``) with
``{"prompt": "...", "sessionId": "...", "userId": "...", "model": "..."}`` and the key in a
configurable header (default ``Authorization: Bearer KEY``). The answer is JSON with the
reply in ``msg`` (an optional ``sessionId`` echo is ignored). No streaming: the whole
reply arrives at once and is passed on as a single delta. No tool calling: the 5-Whys
markers in the reply are used instead.

The gateway keeps the conversation itself under ``sessionId`` (the conversation id), so
only the newest user turn is sent — with the system prompt in front of the first one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from tftsr.ai.base import (
    Cancellation,
    ChatRequest,
    ChatResult,
    PreparedRequest,
    ProviderBase,
    ProviderError,
    StreamEvent,
    Usage,
)

if TYPE_CHECKING:  # only a type here: requests are sent by tftsr.egress
    from tftsr.egress.http import Response

DEFAULT_PATH = "/chat"


class CustomRestProvider(ProviderBase):
    kind = "custom_rest"
    label = "Custom REST gateway"
    default_base_url = "https://gateway.example.internal"
    needs_api_key = False
    supports_list_models = False
    tools_by_default = False
    settings_schema = (
        {"key": "endpoint_path", "label": "Endpoint path", "type": "str", "required": True,
         "default": DEFAULT_PATH},
        {"key": "auth_header", "label": "Auth header", "type": "str", "required": True,
         "default": "Authorization"},
        {"key": "auth_prefix", "label": "Auth value prefix", "type": "str", "required": False,
         "default": "Bearer "},
        {"key": "user_id", "label": "userId", "type": "str", "required": False, "default": "tftsr"},
    )

    @property
    def display_name(self) -> str:
        return self.config.name or self.label

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.config.api_key:
            header = str(self.setting("auth_header", "Authorization"))
            prefix = self.config.settings.get("auth_prefix")
            prefix = "Bearer " if prefix is None else str(prefix)
            headers[header] = prefix + self.config.api_key
        return headers

    @staticmethod
    def prompt_for(request: ChatRequest) -> str:
        dialogue = request.dialogue
        last_user = next((m for m in reversed(dialogue) if m.role == "user"), None)
        prompt = last_user.content if last_user else ""
        first_turn = not any(m.role == "assistant" for m in dialogue)
        if first_turn and request.system_text:
            prompt = f"{request.system_text}\n\n{prompt}"
        return prompt

    def prepare_chat(self, request: ChatRequest) -> PreparedRequest:
        path = str(self.setting("endpoint_path", DEFAULT_PATH))
        if not path.startswith("/"):
            path = "/" + path
        body: dict[str, Any] = {"prompt": self.prompt_for(request),
                                "sessionId": request.session_id or "",
                                "userId": str(self.setting("user_id", "tftsr"))}
        if self.config.model:
            body["model"] = self.config.model
        return PreparedRequest("POST", self.url(path), self.headers(), self.json_body(body))

    def read_stream(self, response: Response, cancel: Cancellation) -> Iterator[StreamEvent]:
        raw = response.read()
        cancel.check()
        try:
            data = json.loads(raw)
        except ValueError:
            raise ProviderError(f"{self.display_name} answered with something that is not JSON.",
                                code="ai_bad_response") from None
        if not isinstance(data, dict) or not isinstance(data.get("msg"), str):
            raise ProviderError(f"{self.display_name} answered without a 'msg' field.",
                                code="ai_bad_response")
        text = data["msg"]
        if text:
            yield StreamEvent("text", text=text)
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        yield StreamEvent("done", result=ChatResult(
            text, [], Usage(usage.get("input_tokens"), usage.get("output_tokens")), "stop"))
