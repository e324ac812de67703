"""Anthropic Messages API on loopback (``POST /v1/messages``, ``GET /v1/models``).

Checks ``x-api-key``, ``anthropic-version: 2023-06-01``, a required ``max_tokens``,
``system`` as a top-level field (never a message role), strictly alternating
user/assistant turns starting with the user, and ``tool_result`` blocks that answer an
earlier ``tool_use`` id. Streams the documented event sequence: message_start,
content_block_start / content_block_delta (text_delta, input_json_delta) /
content_block_stop, message_delta with the stop reason and usage, message_stop — with a
ping in between.
"""

from __future__ import annotations

import json

from tests.fakes.base import Failure, FakeProvider, Handler, Recorded, body_json, require, sse


class FakeAnthropic(FakeProvider):
    def __init__(self, *, key: str = "sk-ant-api03-test-key-000000000000wxyz",
                 models=("claude-sonnet-4-5",)):
        super().__init__()
        self.key, self.models = key, set(models)

    @property
    def base_url(self) -> str:
        return self.url

    def error_body(self, status, message):
        kind = {401: "authentication_error", 429: "rate_limit_error", 500: "api_error",
                529: "overloaded_error", 404: "not_found_error"}.get(status, "invalid_request_error")
        return {"type": "error", "error": {"type": kind, "message": message}}

    def check(self, req: Recorded) -> None:
        require(req.headers.get("x-api-key") == self.key, "invalid x-api-key", 401)
        require(req.headers.get("anthropic-version") == "2023-06-01",
                "anthropic-version: header is required")
        require("authorization" not in req.headers, "use x-api-key, not Authorization")
        if req.method == "GET":
            require(req.path == "/v1/models", f"Unknown path {req.path}", 404)
            return
        require(req.method == "POST" and req.path == "/v1/messages", f"Unknown path {req.path}", 404)
        body = body_json(req)
        require(body.get("model") in self.models, f"model: {body.get('model')}", 404)
        require(isinstance(body.get("max_tokens"), int) and body["max_tokens"] > 0, "max_tokens: Field required")
        require("system" not in body or isinstance(body["system"], (str, list)), "system must be text")
        messages = body.get("messages")
        require(isinstance(messages, list) and messages, "messages: at least one message is required")
        require(messages[0]["role"] == "user", "messages: first message must use the \"user\" role")
        tool_ids: set[str] = set()
        for i, m in enumerate(messages):
            require(m.get("role") in ("user", "assistant"), f"messages.{i}.role: Input should be 'user' or 'assistant'")
            if i:
                require(m["role"] != messages[i - 1]["role"], "messages: roles must alternate")
            content = m.get("content")
            blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
            require(isinstance(blocks, list) and blocks, f"messages.{i}.content must not be empty")
            for b in blocks:
                t = b.get("type")
                if t == "text":
                    require(isinstance(b.get("text"), str) and b["text"] != "", "text content blocks must be non-empty")
                elif t == "tool_use":
                    require(m["role"] == "assistant" and isinstance(b.get("input"), dict), "tool_use belongs to the assistant")
                    tool_ids.add(b["id"])
                elif t == "tool_result":
                    require(m["role"] == "user" and b.get("tool_use_id") in tool_ids,
                            "tool_result block(s) provided when previous message does not have tool_use")
                else:
                    raise AssertionError(f"unexpected block {t}")
        for t in body.get("tools") or []:
            require(t.get("name") and isinstance(t.get("input_schema"), dict), "tools: input_schema required")
        require(body.get("stream") is True, "this fake serves streaming requests only")

    def handle(self, h: Handler, req: Recorded, failure: Failure | None) -> None:
        if req.method == "GET":
            data = [{"type": "model", "id": m, "display_name": m.replace("-", " ").title(),
                     "created_at": "2025-09-29T00:00:00Z"} for m in sorted(self.models)]
            h.send_json(200, {"data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]})
            return
        body = req.json
        reply = self.next_reply()
        out_tokens = reply.output_tokens if reply.output_tokens is not None else len(reply.tokens())
        chunks = [sse({"type": "message_start", "message": {
            "id": "msg_fake", "type": "message", "role": "assistant", "model": body["model"], "content": [],
            "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": reply.input_tokens, "output_tokens": 1}}}, "message_start")]
        token_idx: set[int] = set()
        index = 0
        if reply.tokens():
            chunks.append(sse({"type": "content_block_start", "index": 0,
                               "content_block": {"type": "text", "text": ""}}, "content_block_start"))
            chunks.append(sse({"type": "ping"}, "ping"))
            for token in reply.tokens():
                token_idx.add(len(chunks))
                chunks.append(sse({"type": "content_block_delta", "index": 0,
                                   "delta": {"type": "text_delta", "text": token}}, "content_block_delta"))
            chunks.append(sse({"type": "content_block_stop", "index": 0}, "content_block_stop"))
            index = 1
        for n, call in enumerate(reply.tool_calls):
            i = index + n
            chunks.append(sse({"type": "content_block_start", "index": i, "content_block": {
                "type": "tool_use", "id": f"toolu_fake{n}", "name": call["name"], "input": {}}},
                "content_block_start"))
            args = json.dumps(call["arguments"])
            for j in range(0, len(args), 9):
                chunks.append(sse({"type": "content_block_delta", "index": i,
                                   "delta": {"type": "input_json_delta", "partial_json": args[j:j + 9]}},
                                  "content_block_delta"))
            chunks.append(sse({"type": "content_block_stop", "index": i}, "content_block_stop"))
        stop = "tool_use" if reply.tool_calls else "end_turn"
        chunks.append(sse({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                           "usage": {"output_tokens": out_tokens}}, "message_delta"))
        chunks.append(sse({"type": "message_stop"}, "message_stop"))
        h.start_stream("text/event-stream")
        self.stream_tokens(h, chunks, failure, token_idx)
