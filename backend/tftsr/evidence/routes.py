"""HTTP routes for evidence: uploads, thumbnails and full-size images.

They sit behind the server's usual guard (Host check, same-origin check for POST, the
per-launch token), which runs before every request. Upload bodies are raw file bytes
(``XMLHttpRequest.send(file)``), read from ``request.stream`` in chunks with this module's
own size limit instead of the server-wide one for commands; nothing is spooled to disk.
Images are served only by id, never by anything that looks like a path.

The image and log modules (Pillow, the ingest pipeline) are imported by the handlers that
use them, not with the routes: the routes are registered before the server's first page.
"""

from __future__ import annotations

import json
import logging
import re
from urllib.parse import quote

from flask import Flask, Response, request

from tftsr.errors import InvalidArgument, NotFound, TftsrError
from tftsr.validation import UUID_RE

log = logging.getLogger(__name__)

UPLOAD_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_DRAIN_BYTES = 64 * 1024 * 1024  # read and drop at most this much of a refused body
UNCAPPED = 2**62


def _json(payload, status: int = 200) -> Response:
    response = Response(json.dumps(payload, ensure_ascii=False), status=status,
                        mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


def _error(exc: TftsrError) -> Response:
    return _json({"error": exc.to_dict()}, exc.http_status)


def _body_chunks(stream):
    from tftsr.evidence.ingest import READ_CHUNK

    while True:
        chunk = stream.read(READ_CHUNK)
        if not chunk:
            return
        yield chunk


def _drain(stream) -> None:
    """Read what is left of a refused body (up to a bound) so the client gets the answer
    instead of a connection reset."""
    from tftsr.evidence.ingest import READ_CHUNK

    left = MAX_DRAIN_BYTES
    try:
        while left > 0:
            chunk = stream.read(min(READ_CHUNK, left))
            if not chunk:
                return
            left -= len(chunk)
    except Exception:  # noqa: BLE001 - the client may have gone away
        return


def _issue_id() -> str:
    value = (request.args.get("issue_id") or "").strip().lower()
    if not UUID_RE.match(value):
        raise InvalidArgument("issue_id is not a valid incident id.")
    return value


def _flag(name: str) -> bool:
    value = request.args.get(name, "0")
    if value not in ("0", "1", "true", "false"):
        raise InvalidArgument(f"{name} must be 0 or 1.")
    return value in ("1", "true")


def _upload(handler) -> Response:
    """Run one upload handler with the body stream; turn failures into JSON errors."""
    # The server-wide cap is for command bodies; uploads enforce their own limits while
    # reading (max_upload_mb for logs, 25 MB for images). None would mean "use the config".
    request.max_content_length = UNCAPPED
    stream = request.stream
    try:
        return _json(handler(stream, request.content_length))
    except TftsrError as exc:
        _drain(stream)
        return _error(exc)
    except Exception:
        log.exception("upload failed on %s", request.path)
        _drain(stream)
        return _json({"error": {"code": "internal", "message": "Something went wrong inside "
                                "TFTSR; nothing was attached. The details are in the "
                                "application log."}}, 500)


def register_routes(flask_app: Flask, app) -> None:
    """Add the evidence routes to the local server's Flask app."""

    @flask_app.post("/upload/log")
    def upload_log():
        def handle(stream, length):
            from tftsr.evidence.ingest import ingest_log

            upload_id = request.args.get("upload_id")
            if upload_id is not None and not UPLOAD_ID_RE.match(upload_id):
                raise InvalidArgument("upload_id must be 1-64 letters, digits, - or _.")
            return ingest_log(app, _issue_id(), request.args.get("filename"),
                              _body_chunks(stream), total_bytes=length, upload_id=upload_id)

        return _upload(handle)

    @flask_app.post("/upload/image")
    def upload_image():
        def handle(stream, length):
            from tftsr.evidence import images

            return images.ingest_image(
                app, _issue_id(), request.args.get("filename"), _body_chunks(stream),
                is_paste=_flag("is_paste"), acknowledged=_flag("pii_warning_acknowledged"),
                total_bytes=length)

        return _upload(handle)

    @flask_app.get("/thumbnails/<image_id>")
    def thumbnail(image_id: str):
        from tftsr.evidence import images

        if not UUID_RE.match(image_id):
            return _error(NotFound("There is no such image."))
        try:
            size = int(request.args.get("s", "256"))
        except ValueError:
            size = 0
        if size not in images.THUMBNAIL_SIZES:
            return _error(InvalidArgument("s must be one of 128, 256 or 512."))
        found = images.thumbnail(app, image_id, size)
        if found is None:
            return _error(NotFound("There is no such image."))
        data, mime = found
        response = Response(data, mimetype=mime)
        response.headers["Cache-Control"] = "private, no-store"
        return response

    @flask_app.get("/images/<image_id>")
    def full_image(image_id: str):
        from tftsr.evidence import images

        if not UUID_RE.match(image_id):
            return _error(NotFound("There is no such image."))
        with app.db.connection() as conn:
            found = images.image_bytes(conn, image_id)
        if found is None:
            return _error(NotFound("There is no such image."))
        data, mime, name = found
        response = Response(data, mimetype=mime)
        response.headers["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(name)}"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response.headers["Cache-Control"] = "private, no-store"
        return response
