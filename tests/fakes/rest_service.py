"""Shared parts of the loopback fakes of Confluence, ServiceNow and Azure DevOps.

A :class:`FakeService` is a :class:`tests.fakes.base.FakeProvider` that also answers PUT
and PATCH, keeps the raw bytes of every request (request line, headers and body — what
really arrived, for the leak tests) and routes requests to ``route(h, req)`` after the
scripted failures (``push_failure("status", status=429, headers={"Retry-After": "1"})``,
``push_failure("hang")``) have had their turn.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.base import Failure, FakeProvider, Handler, Recorded


class RestHandler(Handler):
    def _handle(self):
        fake: FakeService = self.server.fake  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        req = Recorded(self.command, parts.path, parse_qs(parts.query),
                       {k.lower(): v for k, v in self.headers.items()}, body)
        raw = (self.requestline + "\r\n" + str(self.headers)).encode("utf-8", "replace") + body
        with fake.lock:
            fake.requests.append(req)
            fake.raw.append(raw)
            failure = fake.failures.pop(0) if fake.failures else None
        self.close_connection = True
        fake.dispatch(self, req, failure)

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _handle


class FakeService(FakeProvider):
    def __init__(self) -> None:
        super().__init__()
        self.raw: list[bytes] = []
        self._server.RequestHandlerClass = RestHandler

    # -- what arrived --------------------------------------------------------------------------
    def received(self) -> bytes:
        """Every byte every request brought, decoded forms included (percent-encoded URLs
        and base64 bodies are checked by the tests in the forms a value could take)."""
        with self.lock:
            return b"\n".join(self.raw)

    def calls(self, method: str | None = None, contains: str = "") -> list[Recorded]:
        return [r for r in self.requests if (method is None or r.method == method)
                and contains in r.path]

    # -- answering -------------------------------------------------------------------------------
    def handle(self, h: Handler, req: Recorded, failure: Failure | None) -> None:
        self.route(h, req)

    def route(self, h: Handler, req: Recorded) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def reply(h: Handler, status: int, payload: Any, headers: dict | None = None) -> None:
        h.send_json(status, payload, headers)

    @staticmethod
    def reply_text(h: Handler, status: int, text: str, content_type: str = "text/html") -> None:
        data = text.encode("utf-8")
        h.send_response(status)
        h.send_header("Content-Type", f"{content_type}; charset=utf-8")
        h.send_header("Content-Length", str(len(data)))
        h.send_header("Connection", "close")
        h.end_headers()
        h.wfile.write(data)

    @staticmethod
    def basic(req: Recorded) -> tuple[str, str] | None:
        """(user, secret) from a Basic Authorization header, or None."""
        value = req.headers.get("authorization", "")
        if not value.startswith("Basic "):
            return None
        try:
            user, _, secret = base64.b64decode(value[6:], validate=True).decode("utf-8").partition(":")
        except ValueError:
            return None
        return user, secret

    @staticmethod
    def bearer(req: Recorded) -> str | None:
        value = req.headers.get("authorization", "")
        return value[7:] if value.startswith("Bearer ") else None

    @staticmethod
    def json_body(req: Recorded) -> Any:
        try:
            return json.loads(req.body)
        except ValueError:
            return None

    @staticmethod
    def arg(req: Recorded, name: str, default: str | None = None) -> str | None:
        values = req.query.get(name)
        return values[0] if values else default
