"""Mistral chat completions (https://docs.mistral.ai/api/#tag/chat).

``POST https://api.mistral.ai/v1/chat/completions`` with ``Authorization: Bearer KEY``.
The shape follows OpenAI's, with Mistral's own rules: no ``stream_options`` (usage
comes in the last chunk unasked), ``tool_choice: "auto"`` with tools, tool-call ids of
exactly nine letters/digits, and tool results that name the function they answer.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from tftsr.ai.base import ChatRequest, Message, PreparedRequest
from tftsr.ai.providers.openai_compat import COMMON_SETTINGS, OpenAICompatProvider, openai_tools


def mistral_call_id(call_id: str) -> str:
    """Mistral accepts ids of nine characters [a-zA-Z0-9]; map others stably onto that."""
    if len(call_id) == 9 and call_id.isalnum() and call_id.isascii():
        return call_id
    return hashlib.sha256(call_id.encode("utf-8")).hexdigest()[:9]


def mistral_messages(messages: list[Message]) -> list[dict]:
    out: list[dict] = []
    for m in messages:
        if m.role == "tool":
            out.append({"role": "tool", "name": m.name or "", "content": m.content,
                        "tool_call_id": mistral_call_id(m.tool_call_id or "")})
        elif m.role == "assistant" and m.tool_calls:
            out.append({"role": "assistant", "content": m.content or "",
                        "tool_calls": [{"id": mistral_call_id(c.id), "type": "function",
                                        "function": {"name": c.name,
                                                     "arguments": json.dumps(c.arguments, ensure_ascii=False)}}
                                       for c in m.tool_calls]})
        else:
            out.append({"role": m.role, "content": m.content})
    return out


class MistralProvider(OpenAICompatProvider):
    kind = "mistral"
    label = "Mistral"
    default_base_url = "https://api.mistral.ai/v1"
    needs_api_key = True
    settings_schema = COMMON_SETTINGS

    @property
    def display_name(self) -> str:
        return "Mistral"

    def body(self, request: ChatRequest) -> dict:
        body: dict[str, Any] = {"model": self.config.model,
                                "messages": mistral_messages(request.messages), "stream": True}
        if request.tools:
            body["tools"] = openai_tools(request)
            body["tool_choice"] = "auto"
        if (temperature := self.temperature(request)) is not None:
            body["temperature"] = temperature
        if max_tokens := self.max_tokens(request):
            body["max_tokens"] = max_tokens
        return body

    def prepare_chat(self, request: ChatRequest) -> PreparedRequest:
        return PreparedRequest("POST", self.chat_url(), self.headers(),
                               self.json_body(self.body(request)))
