"""The local HTTP server: the bundled UI, ``POST /api/<command>``, events and downloads.

Binds 127.0.0.1 only. Every request must carry the per-launch token (``Authorization:
Bearer`` header, or the HttpOnly cookie set when the page is opened with ``?token=``),
must name this server in its Host header (DNS-rebinding defence) and, for state-changing
requests, must come from this origin. Files are only ever served from the bundled
frontend folder or by an id the server itself issued -- never from a path in a request.
"""

from __future__ import annotations

import hmac
import json
import logging
import queue
import secrets
import threading
import time
from collections import OrderedDict
from typing import Any

from flask import Flask, Response, abort, g, request, send_from_directory
from werkzeug.serving import make_server

from tftsr.commands import dispatch, error_payload, load_all
from tftsr.errors import TftsrError
from tftsr.resources import frontend_dir

log = logging.getLogger(__name__)

COOKIE_NAME = "tftsr_session"
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
MAX_COMMAND_BYTES = 8 * 1024 * 1024
DOWNLOAD_TTL_SECONDS = 600


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


def create_flask_app(app, token: str) -> Flask:
    load_all()
    flask_app = Flask("tftsr", static_folder=None)
    flask_app.config["MAX_CONTENT_LENGTH"] = MAX_COMMAND_BYTES
    flask_app.config["TFTSR_ALLOWED_HOSTS"] = set()
    downloads = Downloads()
    static_root = frontend_dir()

    def offer_download(filename: str, mime: str, data: bytes) -> str:
        return f"/downloads/{downloads.add(filename, mime, data)}"

    if app.offer_download is None:
        app.offer_download = offer_download

    def allowed_origins() -> set[str]:
        return {f"http://{h}" for h in flask_app.config["TFTSR_ALLOWED_HOSTS"]}

    def token_ok() -> bool:
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip(), token):
            return True
        cookie = request.cookies.get(COOKIE_NAME, "")
        if cookie and hmac.compare_digest(cookie, token):
            return True
        query = request.args.get("token", "")
        return bool(query) and request.path == "/" and hmac.compare_digest(query, token)

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
        if not token_ok():
            return deny(401, "unauthorized",
                        "This page needs the link TFTSR printed when it started "
                        "(it contains ?token=...). Open TFTSR again to get a fresh link.")
        g.set_cookie = request.path == "/" and request.args.get("token")

    @flask_app.after_request
    def headers(response: Response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.path.startswith("/api/") or request.path.startswith("/downloads/"):
            response.headers["Cache-Control"] = "no-store"
        if getattr(g, "set_cookie", False):
            response.set_cookie(COOKIE_NAME, token, httponly=True, samesite="Strict", path="/")
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
            args = json.loads(raw) if raw.strip() else {}
        except (ValueError, UnicodeDecodeError):
            return deny(400, "invalid_json", "The request body is not valid JSON.")
        try:
            result = dispatch(app, name, args)
        except TftsrError as exc:
            return Response(json.dumps(error_payload(exc)), status=exc.http_status,
                            mimetype="application/json")
        return Response(json.dumps(result, ensure_ascii=False), mimetype="application/json")

    @flask_app.get("/api/events")
    def events():
        stream = app.events.stream()

        def generate():
            try:
                yield ": connected\n\n"
                while True:
                    try:
                        name, payload = stream.get(timeout=15)
                    except queue.Empty:  # keep the connection alive
                        yield ": keep-alive\n\n"
                        continue
                    yield f"event: {name}\ndata: {json.dumps(payload, ensure_ascii=False)}\n\n"
            finally:
                stream.close()

        return Response(generate(), mimetype="text/event-stream",
                        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    @flask_app.get("/downloads/<download_id>")
    def download(download_id: str):
        item = downloads.take(download_id)
        if item is None:
            abort(404)
        filename, mime, data = item
        response = Response(data, mimetype=mime)
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


class LocalServer:
    """The Flask app on 127.0.0.1, served by a threaded WSGI server."""

    def __init__(self, app, *, port: int = 0, token: str | None = None):
        self.token = token or secrets.token_urlsafe(32)
        self.flask_app = create_flask_app(app, self.token)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # request lines carry tokens
        self._server = make_server("127.0.0.1", port, self.flask_app, threaded=True)
        self._server.daemon_threads = True
        self.port = self._server.server_port
        self.flask_app.config["TFTSR_ALLOWED_HOSTS"] = {
            f"127.0.0.1:{self.port}", f"localhost:{self.port}", f"[::1]:{self.port}",
        }
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, **params: Any) -> str:
        query = "&".join(f"{k}={v}" for k, v in {"token": self.token, **params}.items())
        return f"{self.base_url}/?{query}"

    def start(self) -> LocalServer:
        self._thread = threading.Thread(target=self._server.serve_forever, name="tftsr-http",
                                        daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def shutdown(self) -> None:
        self._server.shutdown()
        self._server.server_close()
