"""Mistral chat completions on loopback (``POST /v1/chat/completions``).

Differs from OpenAI where Mistral's API does: unknown fields such as ``stream_options``
are refused with 422, tool-call ids must be nine letters/digits, tool messages carry
the function ``name``, usage rides on the final chunk unasked and tool calls arrive
whole in one chunk.
"""

from __future__ import annotations

import json
import re

from tests.fakes.base import Reply, require, sse
from tests.fakes.fake_openai import FakeOpenAI

ALLOWED = {"model", "messages", "stream", "tools", "tool_choice", "temperature", "max_tokens",
           "top_p", "random_seed", "safe_prompt", "response_format", "stop"}
CALL_ID = re.compile(r"^[A-Za-z0-9]{9}$")


class FakeMistral(FakeOpenAI):
    def __init__(self, *, key: str = "mistral-test-key-000000000000abcd", models=("mistral-small-latest",)):
        super().__init__(key=key, models=models)

    def error_body(self, status, message):
        return {"object": "error", "message": message, "type": "invalid_request_error", "code": status}

    def check_extra(self, body) -> None:
        extra = set(body) - ALLOWED
        require(not extra, f"Extra inputs are not permitted: {sorted(extra)}", 422)
        for m in body["messages"]:
            for c in m.get("tool_calls") or []:
                require(bool(CALL_ID.match(c.get("id", ""))), "Tool call id has to be [a-zA-Z0-9]{9}", 422)
            if m["role"] == "tool":
                require(bool(CALL_ID.match(m.get("tool_call_id", ""))), "tool_call_id must be 9 chars", 422)
                require(bool(m.get("name")), "tool message needs the function name", 422)
        if body.get("tools"):
            require(body.get("tool_choice") in ("auto", "any", "none", None), "invalid tool_choice", 422)

    def build_stream(self, body, reply: Reply):
        chunks = [sse(self.chunk(body, {"role": "assistant", "content": ""}))]
        token_idx = set()
        for token in reply.tokens():
            token_idx.add(len(chunks))
            chunks.append(sse(self.chunk(body, {"content": token})))
        if reply.tool_calls:
            calls = [{"id": f"abc{i:06d}", "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])},
                      "index": i} for i, c in enumerate(reply.tool_calls)]
            chunks.append(sse(self.chunk(body, {"tool_calls": calls})))
        finish = "tool_calls" if reply.tool_calls else "stop"
        chunks.append(sse(self.chunk(body, {}, finish, usage=self.usage(reply))))
        chunks.append(b"data: [DONE]\n\n")
        return chunks, token_idx
