"""OpenAI chat completions (and the Azure OpenAI flavour) on loopback.

Checks what api.openai.com checks: ``POST /v1/chat/completions``, ``Authorization:
Bearer``, a JSON body with ``model``, ``messages`` (roles system/user/assistant/tool,
tool turns answering an earlier ``tool_calls`` id) and ``tools`` of type "function".
Streams ``chat.completion.chunk`` SSE events, the usage chunk when
``stream_options.include_usage`` is set, and ``data: [DONE]``.
With ``azure=True``: ``/openai/deployments/{deployment}/chat/completions?api-version=``
and the ``api-key`` header instead.
"""

from __future__ import annotations

import json
import time

from tests.fakes.base import (
    Failure,
    FakeProvider,
    Handler,
    Recorded,
    Reply,
    body_json,
    require,
    sse,
)

ROLES = {"system", "user", "assistant", "tool"}


class FakeOpenAI(FakeProvider):
    def __init__(self, *, key: str = "sk-test-openai-0000000000001234", models=("gpt-4o-mini",),
                 azure: bool = False, deployment: str = "triage-gpt"):
        super().__init__()
        self.key, self.models, self.azure, self.deployment = key, set(models), azure, deployment

    @property
    def base_url(self) -> str:
        return self.url if self.azure else self.url + "/v1"

    def chat_path(self) -> str:
        return (f"/openai/deployments/{self.deployment}/chat/completions" if self.azure
                else "/v1/chat/completions")

    def error_body(self, status, message):
        kind = {401: "invalid_api_key", 429: "rate_limit_exceeded"}.get(status, "invalid_request_error")
        return {"error": {"message": message, "type": kind, "param": None, "code": kind}}

    # -- checks ---------------------------------------------------------------------------
    def check_auth(self, req: Recorded) -> None:
        if self.azure:
            require(req.headers.get("api-key") == self.key, "Access denied due to invalid subscription key.", 401)
            require("authorization" not in req.headers, "Azure takes the key in api-key")
            require(bool(req.query.get("api-version")), "Missing required query parameter: api-version")
        else:
            require(req.headers.get("authorization") == f"Bearer {self.key}",
                    "Incorrect API key provided.", 401)

    def check(self, req: Recorded) -> None:
        if req.method == "GET":
            require(req.path == "/v1/models" and not self.azure, f"Unknown path {req.path}", 404)
            self.check_auth(req)
            return
        require(req.method == "POST" and req.path == self.chat_path(), f"Unknown path {req.path}", 404)
        self.check_auth(req)
        require(req.headers.get("content-type", "").startswith("application/json"), "content-type must be JSON")
        self.check_body(body_json(req))

    def check_body(self, body) -> None:
        require(isinstance(body, dict), "body must be an object")
        if not self.azure:
            require(body.get("model") in self.models, f"The model `{body.get('model')}` does not exist", 404)
        messages = body.get("messages")
        require(isinstance(messages, list) and messages, "messages must be a non-empty array")
        seen_calls: set[str] = set()
        for m in messages:
            require(isinstance(m, dict) and m.get("role") in ROLES, f"invalid role {m.get('role')!r}")
            if m["role"] == "tool":
                require(m.get("tool_call_id") in seen_calls, "tool message must answer a tool_calls id")
                require(isinstance(m.get("content"), str), "tool content must be a string")
            elif m["role"] == "assistant" and m.get("tool_calls"):
                for c in m["tool_calls"]:
                    require(c.get("type") == "function" and isinstance(c["function"]["arguments"], str),
                            "tool_calls[].function.arguments must be a JSON string")
                    seen_calls.add(c["id"])
            else:
                require(isinstance(m.get("content"), str), "content must be a string")
        for t in body.get("tools") or []:
            require(t.get("type") == "function" and t["function"].get("name") and
                    isinstance(t["function"].get("parameters"), dict), "invalid tool definition")
        require(body.get("stream") is True, "this fake serves streaming requests only")
        self.check_extra(body)

    def check_extra(self, body) -> None:
        if "stream_options" in body:
            require(body["stream_options"] == {"include_usage": True}, "invalid stream_options")

    # -- answers --------------------------------------------------------------------------
    def handle(self, h: Handler, req: Recorded, failure: Failure | None) -> None:
        if req.method == "GET":
            h.send_json(200, {"object": "list", "data": [
                {"id": m, "object": "model", "created": 1700000000, "owned_by": "openai"}
                for m in sorted(self.models)]})
            return
        body = req.json
        reply = self.next_reply()
        chunks, token_idx = self.build_stream(body, reply)
        h.start_stream("text/event-stream")
        self.stream_tokens(h, chunks, failure, token_idx)

    def chunk(self, body, delta, finish=None, usage=None) -> dict:
        out = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
               "model": body.get("model", self.deployment),
               "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
        if usage is not None:
            out["usage"] = usage
        return out

    def usage(self, reply: Reply) -> dict:
        out = reply.output_tokens if reply.output_tokens is not None else len(reply.tokens())
        return {"prompt_tokens": reply.input_tokens, "completion_tokens": out,
                "total_tokens": reply.input_tokens + out}

    def build_stream(self, body, reply: Reply) -> tuple[list[bytes], set[int]]:
        chunks = [sse(self.chunk(body, {"role": "assistant", "content": ""}))]
        token_idx = set()
        for token in reply.tokens():
            token_idx.add(len(chunks))
            chunks.append(sse(self.chunk(body, {"content": token})))
        for i, call in enumerate(reply.tool_calls):
            args = json.dumps(call["arguments"])
            chunks.append(sse(self.chunk(body, {"tool_calls": [{"index": i, "id": f"call_{i}abc",
                                                                "type": "function",
                                                                "function": {"name": call["name"], "arguments": ""}}]})))
            for j in range(0, len(args), 7):  # arguments arrive in pieces, as they do
                chunks.append(sse(self.chunk(body, {"tool_calls": [{"index": i, "function": {"arguments": args[j:j + 7]}}]})))
        finish = "tool_calls" if reply.tool_calls else "stop"
        chunks.append(sse(self.chunk(body, {}, finish)))
        if (body.get("stream_options") or {}).get("include_usage"):
            chunks.append(sse({"id": "chatcmpl-fake", "object": "chat.completion.chunk",
                               "created": int(time.time()), "model": body.get("model"), "choices": [],
                               "usage": self.usage(reply)}))
        chunks.append(b"data: [DONE]\n\n")
        return chunks, token_idx
