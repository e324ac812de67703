"""A custom REST gateway on loopback: ``POST {path}`` with ``{"prompt", "sessionId",
"userId"}`` and a configurable auth header/prefix; answers ``{"msg": ..., "sessionId": ...}``.

It keeps the history per ``sessionId`` the way such gateways do, so tests can check
that only the newest prompt is sent each time. A "cut" failure announces a longer
Content-Length than it sends.
"""

from __future__ import annotations

import json
import time

from tests.fakes.base import Failure, FakeProvider, Handler, Recorded, body_json, require


class FakeCustomRest(FakeProvider):
    def __init__(self, *, key: str = "gw-test-key-0000000000000lmno", path: str = "/api/v2/chat",
                 auth_header: str = "X-Gateway-Key", auth_prefix: str = "Token "):
        super().__init__()
        self.key, self.path, self.auth_header, self.auth_prefix = key, path, auth_header, auth_prefix
        self.sessions: dict[str, list[str]] = {}

    @property
    def base_url(self) -> str:
        return self.url

    def error_body(self, status, message):
        return {"error": message}

    def check(self, req: Recorded) -> None:
        require(req.method == "POST" and req.path == self.path, f"Unknown path {req.path}", 404)
        require(req.headers.get(self.auth_header.lower()) == self.auth_prefix + self.key, "unauthorized", 401)
        body = body_json(req)
        require(isinstance(body.get("prompt"), str) and body["prompt"], "prompt is required")
        require(isinstance(body.get("sessionId"), str), "sessionId is required")
        require(isinstance(body.get("userId"), str) and body["userId"], "userId is required")

    def handle(self, h: Handler, req: Recorded, failure: Failure | None) -> None:
        body = req.json
        self.sessions.setdefault(body["sessionId"], []).append(body["prompt"])
        reply = self.next_reply()
        data = json.dumps({"msg": reply.text, "sessionId": body["sessionId"]}).encode()
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data) + (50 if failure and failure.kind == "cut" else 0)))
        h.end_headers()
        if failure is not None and failure.kind == "stall":
            h.write(data[:5])
            self.release.wait(60)
            return
        h.write(data)
        if reply.text:
            self.token_sent_at.append(time.perf_counter())
