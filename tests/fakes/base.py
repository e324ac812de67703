"""A loopback HTTP server that stands in for an AI provider in tests.

Each wire format subclasses :class:`FakeProvider` and implements ``handle(req)``: check
the request the way the real API would (path, headers, body shape — a mismatch is
answered with the API's 400/401 and recorded in ``violations``) and answer with the
documented response, streaming included.

Every request is recorded with its raw body bytes (``requests``), so tests can check
what really reached the server. Failures are scripted per request with
:meth:`FakeProvider.push_failure`: ``status`` (e.g. 401, 429 with Retry-After, 500),
``cut`` (the stream stops in the middle), ``hang`` (never answers) and ``stall``
(a few tokens, then silence until the client gives up). :meth:`FakeProvider.hold_stream`
holds the next stream open after a few tokens until the test releases it, so a test can
look at a reply while it is still streaming without racing the provider.
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    at: float = field(default_factory=time.perf_counter)

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Reply:
    """What the next chat request is answered with."""

    text: str = "OK"
    tool_calls: list[dict] = field(default_factory=list)  # [{"name":..., "arguments": {...}}]
    input_tokens: int = 11
    output_tokens: int | None = None  # default: one per token sent

    def tokens(self) -> list[str]:
        """The text split into stream pieces: words with their following space."""
        if not self.text:
            return []
        pieces, current = [], ""
        for ch in self.text:
            current += ch
            if ch == " ":
                pieces.append(current)
                current = ""
        if current:
            pieces.append(current)
        return pieces


@dataclass
class Failure:
    kind: str  # "status" | "cut" | "hang" | "stall"
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    after_tokens: int = 2


class Hold:
    """The next stream stops after ``after_tokens`` tokens until :meth:`release` (or until
    the client closes the connection, which sets ``client_closed``)."""

    def __init__(self, after_tokens: int):
        self.after_tokens = after_tokens
        self.claimed = False  # a stream has taken this hold
        self.reached = threading.Event()  # the held tokens have been sent
        self.client_closed = threading.Event()
        self._released = threading.Event()

    def release(self) -> None:
        self._released.set()

    def wait(self, sock: socket.socket, limit: float = 120) -> bool:
        """Block until released (True) or the client hangs up or ``limit`` passes (False)."""
        self.reached.set()
        deadline = time.monotonic() + limit
        while not self._released.wait(0.05):
            if _peer_closed(sock):
                self.client_closed.set()
                return False
            if time.monotonic() > deadline:
                return False
        return True


def _peer_closed(sock: socket.socket) -> bool:
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


class Violation(Exception):
    """The request is not what the real API accepts."""

    def __init__(self, message: str, status: int = 400, *, shape: bool = True):
        super().__init__(message)
        self.status = status
        self.shape = shape  # False for a wrong key: refused, but not a malformed request


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeProvider/1.0"

    def log_message(self, *args):  # keep test output quiet
        pass

    def _handle(self):
        fake: FakeProvider = self.server.fake  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        req = Recorded(self.command, parts.path, parse_qs(parts.query),
                       {k.lower(): v for k, v in self.headers.items()}, body)
        with fake.lock:
            fake.requests.append(req)
            failure = fake.failures.pop(0) if fake.failures else None
        self.close_connection = True
        fake.dispatch(self, req, failure)

    do_GET = do_POST = do_DELETE = _handle

    # -- answering helpers --------------------------------------------------------------
    def send_json(self, status: int, payload: Any, headers: dict | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def start_stream(self, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()

    def write(self, data: bytes) -> bool:
        try:
            self.wfile.write(data)
            self.wfile.flush()
            return True
        except OSError:
            return False


class FakeProvider:
    """Base class: start/stop, recording, scripted failures, reply queue."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[Recorded] = []
        self.violations: list[str] = []
        self.failures: list[Failure] = []
        self.replies: list[Reply] = []
        self.holds: list[Hold] = []
        self.release = threading.Event()
        self.token_sent_at: list[float] = []  # perf_counter() as each token is flushed
        self.token_delay = 0.0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> FakeProvider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        for hold in self.holds:
            hold.release()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- scripting -------------------------------------------------------------------------
    def push_reply(self, text: str = "OK", tool_calls: list[dict] | None = None, **kw) -> None:
        self.replies.append(Reply(text, tool_calls or [], **kw))

    def push_failure(self, kind: str, **kw) -> None:
        self.failures.append(Failure(kind, **kw))

    def hold_stream(self, after_tokens: int = 2) -> Hold:
        """Hold the next streamed reply open after ``after_tokens`` tokens; see :class:`Hold`."""
        hold = Hold(after_tokens)
        with self.lock:
            self.holds.append(hold)
        return hold

    def next_reply(self) -> Reply:
        with self.lock:
            return self.replies.pop(0) if self.replies else Reply()

    def chat_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST"]

    # -- the request cycle -------------------------------------------------------------------
    def dispatch(self, h: Handler, req: Recorded, failure: Failure | None) -> None:
        try:
            self.check(req)
        except Violation as exc:
            if exc.shape:
                self.violations.append(f"{req.method} {req.path}: {exc}")
            self.error(h, exc.status, str(exc))
            return
        if failure is not None and failure.kind == "status":
            if failure.body:
                self._raw(h, failure)
            else:
                h.send_json(failure.status, self.error_body(failure.status, "scripted failure"),
                            failure.headers)
            return
        if failure is not None and failure.kind == "hang":
            self.release.wait(60)
            return
        self.handle(h, req, failure)

    @staticmethod
    def _raw(h: Handler, failure: Failure) -> None:
        h.send_response(failure.status)
        h.send_header("Content-Length", str(len(failure.body)))
        for k, v in failure.headers.items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(failure.body)

    def stream_tokens(self, h: Handler, chunks: list[bytes], failure: Failure | None,
                      token_indexes: set[int]) -> bool:
        """Write chunks; apply cut/stall failures after ``after_tokens`` tokens.
        Returns False when the stream was cut (the caller must not finish it)."""
        sent_tokens = 0
        with self.lock:
            hold = next((x for x in self.holds if not x.claimed), None)
            if hold is not None:
                hold.claimed = True
        for i, chunk in enumerate(chunks):
            if hold is not None and i in token_indexes and sent_tokens == hold.after_tokens:
                if not hold.wait(h.connection):
                    return False
                hold = None
            if failure is not None and failure.kind in ("cut", "stall") and i in token_indexes \
                    and sent_tokens >= failure.after_tokens:
                if failure.kind == "stall":
                    self.release.wait(60)
                return False
            if self.token_delay and i in token_indexes:
                time.sleep(self.token_delay)
            if not h.write(chunk):
                return False
            if i in token_indexes:
                sent_tokens += 1
                self.token_sent_at.append(time.perf_counter())
        return True

    # -- to implement -----------------------------------------------------------------------
    def check(self, req: Recorded) -> None:
        """Raise Violation when the request is not what the real API accepts."""

    def handle(self, h: Handler, req: Recorded, failure: Failure | None) -> None:
        raise NotImplementedError

    def error_body(self, status: int, message: str) -> Any:
        return {"error": {"message": message, "code": status}}

    def error(self, h: Handler, status: int, message: str) -> None:
        h.send_json(status, self.error_body(status, message))


def require(condition: bool, message: str, status: int = 400, *, shape: bool = True) -> None:
    if not condition:
        raise Violation(message, status, shape=shape and status != 401)


def body_json(req: Recorded) -> Any:
    try:
        return json.loads(req.body)
    except ValueError:
        raise Violation("the body is not valid JSON") from None


def sse(data: Any, event: str | None = None) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {text}\n\n".encode()
