"""The local HTTP server: the bundled UI, ``POST /api/<command>``, events and downloads.

Binds 127.0.0.1 only and answers only to its own Host (DNS-rebinding defence);
state-changing requests must come from this origin. There is no ambient credential: no
cookie is ever set (cookies are not port-scoped, so every other program listening on
127.0.0.1 would receive it). The page's bundled files are public; everything else needs
either the per-launch token in an ``Authorization: Bearer`` header or -- for images and
downloads, which a page loads by address -- a short-lived URL signed for that one resource
(:class:`UrlSigner`), which grants nothing else. Files are only ever served from the
bundled frontend folder or by an id the server itself issued -- never from a path in a
request.

It is served by waitress (:class:`LocalServer`): a bounded thread pool, a connection limit
at which the longest-idle connections are closed instead of new ones refused, an idle
timeout and a deadline for a request header to arrive. Request bodies are held in memory,
never spooled to a temporary file, and a large body is read only from a client that sent
the token.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import secrets
import threading
import time
from collections import OrderedDict
from typing import Any
from urllib.parse import parse_qsl, urlencode

from flask import Flask, Response, abort, request, send_from_directory
from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import TcpWSGIServer
from waitress.utilities import Error as WaitressError
from werkzeug.utils import get_content_type

from tftsr.commands import dispatch, error_payload, load_all, load_all_in_background
from tftsr.errors import TftsrError
from tftsr.resources import frontend_dir

log = logging.getLogger(__name__)

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:;"
       " font-src 'self'; connect-src 'self'; media-src 'self'; object-src 'none';"
       " base-uri 'none'; frame-src 'none'; frame-ancestors 'none'; form-action 'none';"
       " worker-src 'self'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=(),"
                          " clipboard-read=(self), clipboard-write=(self)",
}
STATIC_TYPES = {".html", ".js", ".css", ".svg", ".png", ".ico", ".woff2", ".json", ".txt", ".md"}
PUBLIC_ENDPOINTS = {"index", "static_file"}  # the bundled UI: no token, nothing secret
MAX_COMMAND_BYTES = 8 * 1024 * 1024
SIGNED_URL_TTL_SECONDS = 300
DOWNLOAD_TTL_SECONDS = SIGNED_URL_TTL_SECONDS
MAX_EVENT_STREAMS = 8  # open event streams; one more ends the oldest
COMMANDS_LOAD_WAIT = 120  # seconds a command request waits for the command modules
EVENT_KEEPALIVE_SECONDS = 15

# waitress: what one launch may hold at once, and for how long.
THREADS = 16
CONNECTION_LIMIT = 200
IDLE_TIMEOUT_SECONDS = 60  # no request in progress and no traffic
HEADER_TIMEOUT_SECONDS = 15  # from a request's first byte to the end of its header
CLEANUP_INTERVAL_SECONDS = 5
MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 2100 * 1024 * 1024  # the largest log upload setting (2048 MB), and some
OPEN_BODY_BYTES = 64 * 1024  # a larger body is read only from a request with the token


def bearer_matches(header: str, token: str) -> bool:
    """True when an Authorization header value carries exactly this token."""
    return header.startswith("Bearer ") and hmac.compare_digest(
        header[7:].strip().encode(), token.encode())


class UrlSigner:
    """Addresses that work for one resource, for a few minutes, and for nothing else.

    The signature is an HMAC-SHA256, under a key made for this launch, over the method, the
    path, the other query parameters and the expiry time: changing any of them, or using
    it for another resource, fails. The server accepts it for GET (and HEAD) only.
    """

    def __init__(self, ttl: int = SIGNED_URL_TTL_SECONDS):
        self.ttl = ttl
        self._key = secrets.token_bytes(32)

    def _mac(self, method: str, path: str, params: list[tuple[str, str]]) -> str:
        message = "\n".join((method, path, urlencode(sorted(params))))
        return hmac.new(self._key, message.encode(), hashlib.sha256).hexdigest()

    def sign(self, target: str, method: str = "GET") -> str:
        """``target`` is a path with an optional query; returns it with ``exp`` and ``sig``."""
        path, _, query = target.partition("?")
        params = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True)
                  if k not in ("exp", "sig")]
        params.append(("exp", str(int(time.time()) + self.ttl)))
        params.append(("sig", self._mac(method, path, params)))
        return f"{path}?{urlencode(params)}"

    def verify(self, method: str, path: str, params: list[tuple[str, str]]) -> bool:
        sigs = [v for k, v in params if k == "sig"]
        rest = [(k, v) for k, v in params if k != "sig"]
        expiry = [v for k, v in rest if k == "exp"]
        if len(sigs) != 1 or len(expiry) != 1 or not expiry[0].isdigit():
            return False
        if int(expiry[0]) < time.time():
            return False
        return hmac.compare_digest(self._mac(method, path, rest), sigs[0])


class Downloads:
    """Bytes offered for download once, under a random id, for a few minutes."""

    def __init__(self, limit: int = 32):
        self._items: OrderedDict[str, tuple[float, str, str, bytes]] = OrderedDict()
        self._lock = threading.Lock()
        self._limit = limit

    def add(self, filename: str, mime: str, data: bytes) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._items[token] = (time.monotonic(), filename, mime, data)
            while len(self._items) > self._limit:
                self._items.popitem(last=False)
        return token

    def take(self, token: str):
        with self._lock:
            item = self._items.pop(token, None)
        if item is None or time.monotonic() - item[0] > DOWNLOAD_TTL_SECONDS:
            return None
        return item[1:]


class EventStreams:
    """The open Server-Sent Events streams, at most ``limit`` of them.

    Each open stream holds a server thread, so their number is capped: opening one more
    ends the oldest. A page that was reloaded or closed leaves its stream behind until
    the next keep-alive write fails, so the oldest is the one to go.
    """

    def __init__(self, bus, limit: int = MAX_EVENT_STREAMS):
        self._bus, self.limit = bus, limit
        self._open: list = []
        self._lock = threading.Lock()

    def open(self):
        stream = self._bus.stream()
        stream.ended = False
        with self._lock:
            self._open.append(stream)
            evicted, self._open = self._open[:-self.limit], self._open[-self.limit:]
        for old in evicted:
            old.ended = True
            try:
                old.queue.put_nowait(None)  # wake it up
            except queue.Full:
                pass  # it is awake anyway: its queue is full
        return stream

    def close(self, stream) -> None:
        with self._lock:
            if stream in self._open:
                self._open.remove(stream)
        stream.close()

    def end_all(self) -> None:
        with self._lock:
            streams = list(self._open)
        for stream in streams:
            stream.ended = True
            try:
                stream.queue.put_nowait(None)
            except queue.Full:
                pass

    def __len__(self) -> int:
        with self._lock:
            return len(self._open)


class _NotANumber(ValueError):
    pass


def _refuse_constant(name: str):
    raise _NotANumber(f"The request body contains {name}, which is not a JSON number; send a "
                      "finite number or null instead.")


def create_flask_app(app, token: str, signer: UrlSigner | None = None, *,
                     max_event_streams: int = MAX_EVENT_STREAMS) -> Flask:
    # The command modules import on a thread of their own (``tftsr serve`` starts it while
    # the database opens) and the page and its scripts are served meanwhile; a command
    # request waits for them.
    commands_ready = load_all_in_background()
    flask_app = Flask("tftsr", static_folder=None)
    flask_app.config["MAX_CONTENT_LENGTH"] = MAX_COMMAND_BYTES
    flask_app.config["TFTSR_ALLOWED_HOSTS"] = set()
    signer = signer or UrlSigner()
    downloads = Downloads()
    event_streams = EventStreams(app.events, max_event_streams)
    flask_app.extensions["tftsr.event_streams"] = event_streams
    static_root = frontend_dir()

    def offer_download(filename: str, mime: str, data: bytes) -> str:
        return signer.sign(f"/downloads/{downloads.add(filename, mime, data)}")

    if app.offer_download is None:
        app.offer_download = offer_download
    app.extras["server.url_signer"] = signer

    def allowed_origins() -> set[str]:
        return {f"http://{h}" for h in flask_app.config["TFTSR_ALLOWED_HOSTS"]}

    def authorised() -> bool:
        if bearer_matches(request.headers.get("Authorization", ""), token):
            return True
        if request.method not in ("GET", "HEAD"):
            return False
        params = parse_qsl(request.query_string.decode("latin-1"), keep_blank_values=True)
        return signer.verify("GET", request.path, params)

    def deny(status: int, code: str, message: str):
        if request.path.startswith(("/api/", "/upload/")):
            return Response(json.dumps({"error": {"code": code, "message": message}}),
                            status=status, mimetype="application/json")
        return Response(message + "\n", status=status, mimetype="text/plain")

    @flask_app.before_request
    def guard():
        host = (request.headers.get("Host") or "").lower()
        if host not in flask_app.config["TFTSR_ALLOWED_HOSTS"]:
            return deny(421, "bad_host", "This TFTSR server only answers to 127.0.0.1.")
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            site = request.headers.get("Sec-Fetch-Site")
            origin = request.headers.get("Origin")
            if site is not None and site not in ("same-origin", "none"):
                return deny(403, "cross_site", "Cross-site requests are refused.")
            if origin is not None and origin not in allowed_origins():
                return deny(403, "cross_origin", "Requests from other origins are refused.")
        if request.method == "OPTIONS":
            return deny(405, "method_not_allowed", "Not allowed.")
        if request.method in ("GET", "HEAD") and request.endpoint in PUBLIC_ENDPOINTS:
            return None
        if not authorised():
            return deny(401, "unauthorized",
                        "This page needs the link TFTSR printed when it started "
                        "(it contains ?token=...). Open TFTSR again to get a fresh link.")
        return None

    @flask_app.after_request
    def headers(response: Response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.path.startswith("/api/") or request.path.startswith("/downloads/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    @flask_app.get("/")
    def index():
        response = send_from_directory(static_root, "index.html", max_age=0)
        response.headers["Cache-Control"] = "no-store"
        return response

    @flask_app.get("/<path:path>")
    def static_file(path: str):
        if path.startswith(("api/", "downloads/")):
            abort(404)
        suffix = "." + path.rsplit(".", 1)[-1].lower() if "." in path else ""
        if suffix not in STATIC_TYPES:
            abort(404)
        return send_from_directory(static_root, path, max_age=0)

    @flask_app.post("/api/<name>")
    def api(name: str):
        if name == "events":
            abort(405)
        raw = request.get_data(cache=False)
        try:
            args = json.loads(raw, parse_constant=_refuse_constant) if raw.strip() else {}
        except _NotANumber as exc:
            return deny(400, "invalid_json", str(exc))
        except (ValueError, UnicodeDecodeError):
            return deny(400, "invalid_json", "The request body is not valid JSON.")
        if not commands_ready.is_set():
            commands_ready.wait(COMMANDS_LOAD_WAIT)
            load_all()  # already loaded (or, after a failure, the error of importing again)
        try:
            result = dispatch(app, name, args)
        except TftsrError as exc:
            return Response(json.dumps(error_payload(exc)), status=exc.http_status,
                            mimetype="application/json")
        return Response(json.dumps(result, ensure_ascii=False), mimetype="application/json")

    @flask_app.get("/api/events")
    def events():
        stream = event_streams.open()

        def generate():
            try:
                yield ": connected\n\n"
                while not stream.ended:
                    try:
                        item = stream.get(timeout=EVENT_KEEPALIVE_SECONDS)
                    except queue.Empty:  # keep the connection alive; notice a vanished page
                        yield ": keep-alive\n\n"
                        continue
                    if item is None:
                        continue
                    name, payload = item
                    yield f"event: {name}\ndata: {json.dumps(payload, ensure_ascii=False)}\n\n"
            finally:
                event_streams.close(stream)

        return Response(generate(), mimetype="text/event-stream",
                        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    @flask_app.get("/downloads/<download_id>")
    def download(download_id: str):
        item = downloads.take(download_id)
        if item is None:
            abort(404)
        filename, mime, data = item
        response = Response(data)
        # A type that names its charset keeps it; a bare text type gets UTF-8, once.
        response.headers["Content-Type"] = mime if ";" in mime else get_content_type(
            mime, "utf-8")
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    from tftsr.evidence.routes import register_routes as register_evidence_routes

    register_evidence_routes(flask_app, app)

    @flask_app.errorhandler(413)
    def too_large(_exc):
        return deny(413, "too_large", "That request is too large.")

    @flask_app.errorhandler(404)
    def not_found(_exc):
        return deny(404, "not_found", "Not found.")

    @flask_app.errorhandler(405)
    def not_allowed(_exc):
        return deny(405, "method_not_allowed", "Not allowed.")

    @flask_app.errorhandler(500)
    def internal(_exc):
        log.error("unhandled server error on %s", request.path)
        return deny(500, "internal", "Something went wrong inside TFTSR.")

    return flask_app


# --- the WSGI server ------------------------------------------------------------------------

class _Unauthorized(WaitressError):
    code = 401
    reason = "Unauthorized"


def _waitress_server_class(token: str, header_timeout: int):
    """waitress's TCP server with three additions: a request body larger than
    ``OPEN_BODY_BYTES`` is refused before it is read unless the request carries the token;
    a request header must be complete ``header_timeout`` seconds after its first byte; at
    the connection limit the longest-idle connections are closed to make room, so idle
    sockets cannot lock the page out."""

    class Parser(HTTPRequestParser):
        def parse_header(self, header_plus):
            super().parse_header(header_plus)
            large = self.chunked or self.content_length > OPEN_BODY_BYTES
            if self.body_rcv is not None and large and not bearer_matches(
                    self.headers.get("AUTHORIZATION", ""), token):
                self.error = _Unauthorized("A request body this large needs the TFTSR token.")
                self.completed = True

    class Channel(HTTPChannel):
        parser_class = Parser
        request_started = 0.0

        def received(self, data):
            if self.request is None:
                self.request_started = time.time()
            return super().received(data)

    class Server(TcpWSGIServer):
        channel_class = Channel

        def maintenance(self, now):
            super().maintenance(now)
            deadline = now - header_timeout
            for channel in list(self.active_channels.values()):
                pending = channel.request
                if (pending is not None and not pending.headers_finished
                        and channel.request_started < deadline):
                    channel.will_close = True

        def readable(self):
            # Make room a little before the limit, so that waitress's own check (which
            # stops accepting) is reached only when every connection is busy.
            room_at = self.adj.connection_limit - max(2, self.adj.connection_limit // 10)
            if self.accepting and len(self._map) >= room_at:
                self._close_longest_idle(room_at)
            return super().readable()

        def _close_longest_idle(self, room_at: int):
            channels = list(self.active_channels.values())
            closing = sum(1 for c in channels if c.will_close)
            excess = len(self._map) - room_at + 1 - closing
            idle = sorted((c for c in channels if not c.requests and not c.will_close),
                          key=lambda c: c.last_activity)
            for channel in idle[:max(excess, 0)]:
                channel.will_close = True

    return Server


def _log_waitress_to_the_app_log() -> None:
    """waitress's warnings (connection limit reached, queued requests) go to the
    application log, not to the console of ``tftsr serve``."""
    handlers = logging.getLogger("tftsr").handlers
    if handlers:
        waitress_log = logging.getLogger("waitress")
        waitress_log.handlers = list(handlers)
        waitress_log.setLevel(logging.WARNING)
        waitress_log.propagate = False


class LocalServer:
    """The Flask app on 127.0.0.1, served by waitress with bounded resources.

    ``threads`` serve requests (open event streams may hold at most half of them);
    ``connection_limit`` connections may be open at once, and when more arrive the
    longest-idle ones are closed; a connection idle for ``idle_timeout`` seconds, or whose
    request header is not complete ``header_timeout`` seconds after its first byte, is
    closed (checked every ``cleanup_interval`` seconds).
    """

    def __init__(self, app, *, port: int = 0, token: str | None = None,
                 threads: int = THREADS, connection_limit: int = CONNECTION_LIMIT,
                 idle_timeout: int = IDLE_TIMEOUT_SECONDS,
                 header_timeout: int = HEADER_TIMEOUT_SECONDS,
                 cleanup_interval: int = CLEANUP_INTERVAL_SECONDS):
        self.token = token or secrets.token_urlsafe(32)
        self.signer = UrlSigner()
        streams = max(1, min(MAX_EVENT_STREAMS, threads // 2))
        self.flask_app = create_flask_app(app, self.token, self.signer,
                                          max_event_streams=streams)
        self._map: dict = {}
        server_class = _waitress_server_class(self.token, header_timeout)
        self._server = server_class(
            self.flask_app, map=self._map, host="127.0.0.1", port=port, threads=threads,
            connection_limit=connection_limit, channel_timeout=idle_timeout,
            cleanup_interval=cleanup_interval, max_request_header_size=MAX_HEADER_BYTES,
            max_request_body_size=MAX_BODY_BYTES, inbuf_overflow=MAX_BODY_BYTES,
            outbuf_overflow=MAX_BODY_BYTES, asyncore_use_poll=True, ident="TFTSR",
            log_socket_errors=False)
        self.port = int(self._server.effective_port)
        _log_waitress_to_the_app_log()
        self.flask_app.config["TFTSR_ALLOWED_HOSTS"] = {
            f"127.0.0.1:{self.port}", f"localhost:{self.port}", f"[::1]:{self.port}",
        }
        self._stop = threading.Event()
        self._serving = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, **params: Any) -> str:
        query = "&".join(f"{k}={v}" for k, v in {"token": self.token, **params}.items())
        return f"{self.base_url}/?{query}"

    def start(self) -> LocalServer:
        self._thread = threading.Thread(target=self.serve_forever, name="tftsr-http",
                                        daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve until :meth:`shutdown` is called (or Ctrl+C in this thread)."""
        with self._serving:
            try:
                while not self._stop.is_set():
                    wasyncore.loop(timeout=self._server.adj.asyncore_loop_timeout,
                                   map=self._map, use_poll=True, count=1)
            finally:
                self._close()

    def _close(self) -> None:
        self.flask_app.extensions["tftsr.event_streams"].end_all()
        for dispatcher in list(self._map.values()):
            try:
                dispatcher.close()
            except OSError:
                pass
        self._server.task_dispatcher.shutdown(timeout=2)

    def shutdown(self) -> None:
        """Stop serving and close every connection; returns when the server has stopped."""
        self._stop.set()
        try:
            self._server.pull_trigger()
        except (OSError, ValueError):  # already closed
            pass
        if self._serving.acquire(timeout=10):  # a serving loop ends within one poll timeout
            try:
                if self._map:
                    self._close()
            finally:
                self._serving.release()
