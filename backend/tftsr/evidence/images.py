"""Screenshots attached to an incident: checked, stored, thumbnailed.

An image is accepted only when its bytes are a PNG, JPEG, GIF or WebP (magic bytes) *and*
Pillow agrees and can decode it; SVG is refused because it can carry script. The bytes live
in ``image_attachments.image_data``. Its thumbnails (128, 256 and 512 pixels, EXIF
orientation applied) are made once, when it is attached, and stored in
``image_thumbnails``; images attached before that table existed get theirs on first
request, once. A thumbnail request therefore never decodes the full image.

Decoding is the one costly step: a 7000 x 7000 PNG of a few hundred kilobytes holds about
200 MB of pixels. JPEGs are decoded at reduced size (``draft``), the canvas is checked
against a pixel limit before anything is decoded, and every full decode first reserves its
pixel memory from a per-app budget, so concurrent uploads and thumbnail requests wait
instead of exhausting memory. Screenshots often show PII, so an upload is refused unless
the user acknowledged that.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import io
import re
import sys
import threading
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from PIL import Image

from tftsr.audit import record as audit_record
from tftsr.commands import command
from tftsr.db.ids import now_text, uuid7
from tftsr.errors import NotFound, Unavailable
from tftsr.evidence.errors import (
    CorruptImage,
    Duplicate,
    EmptyFile,
    NotAcknowledged,
    TooLarge,
    UnsupportedImage,
)
from tftsr.evidence.ingest import require_issue
from tftsr.evidence.names import display_name
from tftsr.validation import Str, StrList

MAX_IMAGE_BYTES = 25 * 1024 * 1024
MAX_PIXELS = 50_000_000  # 50 megapixels: beyond any screenshot; stops decompression bombs
THUMBNAIL_SIZES = (128, 256, 512)
DECODE_BUDGET_BYTES = 384 * 1024 * 1024  # pixel memory all full decodes may hold at once
JPEG_DRAFT_FACTOR = 2  # decode JPEGs at no less than twice the largest thumbnail
Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow refuses (error) above twice this, warns above it

FORMATS = {  # Pillow format -> mime type
    "PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp",
}
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
IMAGE_PATH_RE = re.compile(rf"^/(?:thumbnails/{_UUID}\?s=(?:128|256|512)|images/{_UUID})$")
IMAGE_COLUMNS = ("id, issue_id, file_name, file_size, mime_type, upload_hash, uploaded_at,"
                 " pii_warning_acknowledged, is_paste, width, height")


def sniff_format(data: bytes) -> str:
    """The image format named by the first bytes, or UnsupportedImage."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<svg", b"<?xml", b"<!doctype svg")) or b"<svg" in head:
        raise UnsupportedImage("SVG images are not accepted: they can carry script. "
                               "Attach a PNG or JPEG screenshot instead.")
    raise UnsupportedImage("This is not a PNG, JPEG, GIF or WebP image (checked by its "
                           "content, not its name), so it was not attached.")


def inspect(data: bytes) -> tuple[str, int, int]:
    """Check the bytes as an image without decoding its pixels; return (format, width,
    height) as displayed (EXIF orientation applied). Raises UnsupportedImage, TooLarge or
    CorruptImage. The pixels are decoded once, for the thumbnails (:func:`render_thumbnails`)."""
    fmt = sniff_format(data)
    corrupt = _corrupt()
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as im:
                if im.format != fmt:
                    raise corrupt
                if im.width * im.height > MAX_PIXELS:
                    raise _too_many_pixels(im.width, im.height)
                width, height = im.size
                im.verify()
            with Image.open(io.BytesIO(data)) as im:
                if _rotated(im):
                    width, height = height, width
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_many_pixels() from None
        except (UnsupportedImage, TooLarge, CorruptImage):
            raise
        except Exception:  # noqa: BLE001 - any decoder failure means a broken image
            raise corrupt from None
    return fmt, width, height


def _corrupt() -> CorruptImage:
    return CorruptImage("This image is damaged or incomplete and cannot be shown, so it was "
                        "not attached.")


def _too_many_pixels(width: int | None = None, height: int | None = None) -> TooLarge:
    size = f" ({width:,} \u00d7 {height:,} pixels)" if width else ""
    return TooLarge(f"This image is too large{size}; the limit is "
                    f"{MAX_PIXELS // 1_000_000} megapixels.")


def _orientation(im: Image.Image) -> int:
    """The EXIF orientation (1-8; 1 when absent or unreadable), read without decoding
    pixels: Pillow would decode a whole PNG to look for an eXIf chunk after the image data,
    so a PNG's orientation counts only when its eXIf chunk comes first, as the spec asks."""
    if im.format == "PNG" and "exif" not in im.info:
        return 1
    try:
        value = im.getexif().get(0x0112, 1)
    except Exception:  # noqa: BLE001 - a damaged EXIF block only loses the rotation
        return 1
    return value if value in _TRANSPOSE or value == 1 else 1


def _rotated(im: Image.Image) -> bool:
    """True when the EXIF orientation turns the image a quarter turn (width and height swap)."""
    return _orientation(im) in (5, 6, 7, 8)


def to_image(row: dict) -> dict:
    out = {k: row[k] for k in ("id", "issue_id", "file_name", "file_size", "mime_type",
                               "upload_hash", "uploaded_at", "width", "height")}
    out["pii_warning_acknowledged"] = bool(row["pii_warning_acknowledged"])
    out["is_paste"] = bool(row["is_paste"])
    out["thumbnail_url"] = f"/thumbnails/{row['id']}?s=256"
    out["full_url"] = f"/images/{row['id']}"
    if "issue_title" in row:
        out["issue_title"] = row["issue_title"]
    return out


@command(paths=StrList(max_items=200, item=Str(
    min_len=1, max_len=80, pattern=IMAGE_PATH_RE,
    pattern_help="give an image's thumbnail_url or full_url as listed")))
def sign_image_urls(app, paths):
    """Short-lived addresses for images: each ``thumbnail_url`` or ``full_url`` given,
    signed for that one image and size. The page shows images through these (an ``<img>``
    cannot send the token), and they grant nothing else."""
    signer = app.extras.get("server.url_signer")
    if signer is None:
        raise Unavailable("Images are served by TFTSR's window or browser mode, which is not "
                          "running in this process.")
    return {"urls": {path: signer.sign(path) for path in paths}, "expires_in": signer.ttl}


def get_image(conn, image_id: str) -> dict:
    row = conn.execute(f"SELECT {IMAGE_COLUMNS} FROM image_attachments WHERE id = ?",
                       (image_id,)).fetchone()
    if row is None:
        raise NotFound("That image no longer exists.")
    return to_image(row)


def list_for_issue(conn, issue_id: str) -> list[dict]:
    rows = conn.execute(f"SELECT {IMAGE_COLUMNS} FROM image_attachments WHERE issue_id = ?"
                        " ORDER BY uploaded_at, rowid", (issue_id,)).fetchall()
    return [to_image(r) for r in rows]


def list_all(conn, *, limit: int, offset: int) -> dict:
    """Images of every incident, newest first, through ``v_image_attachments_with_issue``."""
    total = conn.execute("SELECT count(*) AS n FROM v_image_attachments_with_issue").fetchone()["n"]
    rows = conn.execute(
        "SELECT v.id, v.issue_id, v.file_name, v.file_size, v.mime_type, v.upload_hash,"
        " v.uploaded_at, v.pii_warning_acknowledged, v.is_paste, v.issue_title, ia.width,"
        " ia.height FROM v_image_attachments_with_issue v JOIN image_attachments ia"
        " ON ia.id = v.id ORDER BY v.uploaded_at DESC, ia.rowid DESC LIMIT ? OFFSET ?",
        (limit, offset)).fetchall()
    return {"items": [to_image(r) for r in rows], "total": total, "limit": limit,
            "offset": offset}


def read_limited(chunks: Iterable[bytes], limit: int = MAX_IMAGE_BYTES) -> bytes:
    buf = bytearray()
    for chunk in chunks:
        buf += chunk
        if len(buf) > limit:
            raise TooLarge(f"This image is larger than {limit // (1024 * 1024)} MB, so it was "
                           "not attached.")
    return bytes(buf)


def ingest_image(app, issue_id: str, file_name: str | None, chunks: Iterable[bytes], *,
                 is_paste: bool, acknowledged: bool, total_bytes: int | None = None) -> dict:
    """Check and attach one image with its thumbnails. Returns ``{image}``; raises with
    nothing written."""
    if not acknowledged:
        raise NotAcknowledged("Screenshots often show names, addresses or secrets. Confirm "
                              "that you checked this image before attaching it.")
    if total_bytes is not None and total_bytes > MAX_IMAGE_BYTES:
        raise TooLarge(f"This image is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB, so it "
                       "was not attached.")
    with app.db.connection() as conn:
        require_issue(conn, issue_id)
    data = read_limited(chunks)
    if not data:
        raise EmptyFile("This file is empty (0 bytes), so there is nothing to attach.")
    fmt, width, height = inspect(data)
    mime = FORMATS[fmt]
    sha = hashlib.sha256(data).hexdigest()
    with app.db.connection() as conn:
        _refuse_duplicate(conn, issue_id, sha)  # before the costly decode
    thumbs = render_thumbnails(app, data)
    default = f"pasted-image-{now_text().replace(' ', '_').replace(':', '-')}"
    name = display_name(file_name, default if is_paste else "image")
    row = {"id": uuid7(), "issue_id": issue_id, "file_name": name, "file_path": "",
           "file_size": len(data), "mime_type": mime, "upload_hash": sha,
           "uploaded_at": now_text(), "pii_warning_acknowledged": 1, "is_paste": int(is_paste),
           "image_data": data, "width": width, "height": height}
    with app.db.transaction() as conn:
        require_issue(conn, issue_id)
        _refuse_duplicate(conn, issue_id, sha)
        conn.execute(
            "INSERT INTO image_attachments (id, issue_id, file_name, file_path, file_size,"
            " mime_type, upload_hash, uploaded_at, pii_warning_acknowledged, is_paste,"
            " image_data, width, height) VALUES (:id, :issue_id, :file_name, :file_path,"
            " :file_size, :mime_type, :upload_hash, :uploaded_at, :pii_warning_acknowledged,"
            " :is_paste, :image_data, :width, :height)", row)
        _store_thumbnails(conn, row["id"], thumbs)
        audit_record(conn, "image_attached", "image_attachment", row["id"], {
            "issue_id": issue_id, "file_name": name, "upload_hash": sha, "file_size": len(data),
            "is_paste": bool(is_paste)})
        image = get_image(conn, row["id"])
    app.events.emit("issue_changed", {"issue_id": issue_id})
    return {"image": image}


def _refuse_duplicate(conn, issue_id: str, sha: str) -> None:
    dup = conn.execute("SELECT file_name FROM image_attachments WHERE issue_id = ?"
                       " AND upload_hash = ?", (issue_id, sha)).fetchone()
    if dup is not None:
        raise Duplicate(f"This image is already attached to this incident as "
                        f"\u201c{dup['file_name']}\u201d.")


def image_bytes(conn, image_id: str) -> tuple[bytes, str, str] | None:
    row = conn.execute("SELECT image_data, mime_type, file_name FROM image_attachments"
                       " WHERE id = ?", (image_id,)).fetchone()
    if row is None or row["image_data"] is None:
        return None
    return bytes(row["image_data"]), row["mime_type"], row["file_name"]


def delete_image(app, image_id: str) -> str:
    with app.db.transaction() as conn:
        image = get_image(conn, image_id)
        conn.execute("DELETE FROM image_attachments WHERE id = ?", (image_id,))
        audit_record(conn, "image_deleted", "image_attachment", image_id, {
            "issue_id": image["issue_id"], "file_name": image["file_name"],
            "upload_hash": image["upload_hash"]})
    return image["issue_id"]  # its thumbnails went with it (ON DELETE CASCADE)


# --- thumbnails ----------------------------------------------------------------------------

_TRANSPOSE = {  # EXIF orientation -> the operation that makes the image upright
    2: (Image.Transpose.FLIP_LEFT_RIGHT,), 3: (Image.Transpose.ROTATE_180,),
    4: (Image.Transpose.FLIP_TOP_BOTTOM,), 5: (Image.Transpose.TRANSPOSE,),
    6: (Image.Transpose.ROTATE_270,), 7: (Image.Transpose.TRANSVERSE,),
    8: (Image.Transpose.ROTATE_90,),
}


class DecodeBudget:
    """Bytes of decoded pixels that may be held at once, shared by every full decode.

    A decode reserves its estimated size before it starts and waits while the budget is
    spent; one larger than the whole budget waits until it can run alone.
    """

    def __init__(self, total_bytes: int):
        self.total = total_bytes
        self._used = 0
        self._cond = threading.Condition()

    @contextmanager
    def reserve(self, nbytes: int) -> Iterator[None]:
        nbytes = min(max(int(nbytes), 1), self.total)
        with self._cond:
            while self._used + nbytes > self.total:
                self._cond.wait()
            self._used += nbytes
        try:
            yield
        finally:
            with self._cond:
                self._used -= nbytes
                self._cond.notify_all()


def decode_budget(app) -> DecodeBudget:
    budget = app.extras.get("evidence.decode_budget")
    if budget is None:
        budget = app.extras.setdefault("evidence.decode_budget",
                                       DecodeBudget(DECODE_BUDGET_BYTES))
    return budget


def _decode_cost(im: Image.Image) -> int:
    """Bytes a full decode and scale-down of ``im`` holds at its peak: Pillow keeps 1 byte
    per pixel for 1/L/P, 2 for 16-bit grey, 4 for everything else; a palette image is
    converted before scaling, and images with alpha are scaled through a premultiplied copy."""
    mode = im.mode
    per_pixel = 1 if mode in ("1", "L", "P") else 2 if mode.startswith("I;16") else 4
    if mode in ("1", "P", "PA"):
        per_pixel += 4
    if mode in ("LA", "RGBA", "P", "PA"):
        per_pixel += 4
    return im.width * im.height * per_pixel


def render_thumbnails(app, data: bytes) -> dict[int, tuple[bytes, str]]:
    """Every thumbnail size of an image: ``{size: (bytes, mime)}``, upright (EXIF
    orientation applied). JPEG sources give JPEGs, everything else PNGs (keeps
    transparency); a GIF gives its first frame. Decodes the image once, at reduced size
    where the format allows, inside the app's decode budget. Raises TooLarge or
    CorruptImage."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            return _render(decode_budget(app), data)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_many_pixels() from None
        except TooLarge:
            raise
        except Exception:  # noqa: BLE001 - any decoder failure means a broken image
            raise _corrupt() from None


def _render(budget: DecodeBudget, data: bytes) -> dict[int, tuple[bytes, str]]:
    largest = max(THUMBNAIL_SIZES)
    with Image.open(io.BytesIO(data)) as im:
        if im.width * im.height > MAX_PIXELS:
            raise _too_many_pixels(im.width, im.height)
        is_jpeg = im.format == "JPEG"
        orientation = _orientation(im)
        if is_jpeg:  # let libjpeg scale down while decoding (1/2, 1/4 or 1/8)
            im.draft("RGB", (largest * JPEG_DRAFT_FACTOR, largest * JPEG_DRAFT_FACTOR))
        with budget.reserve(_decode_cost(im)):
            small = _scaled_down(im, largest)
            _return_freed_memory()
    for op in _TRANSPOSE.get(orientation, ()):
        small = small.transpose(op)
    if small.mode not in ("RGB", "RGBA", "L", "LA"):
        small = small.convert("RGB" if is_jpeg else "RGBA")
    out: dict[int, tuple[bytes, str]] = {}
    for size in sorted(THUMBNAIL_SIZES, reverse=True):
        if max(small.size) > size:
            small = small.copy()
            small.thumbnail((size, size), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        if is_jpeg:
            small.convert("RGB").save(buf, "JPEG", quality=85)
            out[size] = (buf.getvalue(), "image/jpeg")
        else:
            small.save(buf, "PNG")
            out[size] = (buf.getvalue(), "image/png")
    return out


def _return_freed_memory() -> None:
    """Hand the full-size pixels just freed back to the system.

    glibc keeps freed memory in a per-thread arena; with a WSGI server's many threads,
    each thread that once decoded a large image would otherwise keep hundreds of MB
    (six 7000×7000 uploads on six threads: 2 GB resident). ``malloc_trim`` releases it.
    Elsewhere (other C libraries, Windows, macOS) this does nothing.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def _scaled_down(im: Image.Image, size: int) -> Image.Image:
    """Decode ``im`` and return a new image fitting ``size`` x ``size``; the full-size
    pixels are released before this returns."""
    im.load()
    source = im
    if im.mode in ("1", "P", "PA"):  # scale colours, not palette indexes
        has_alpha = "transparency" in im.info or im.mode == "PA"
        source = im.convert("RGBA" if has_alpha else "RGB")
        im.close()
    source.thumbnail((size, size), Image.Resampling.LANCZOS, reducing_gap=JPEG_DRAFT_FACTOR)
    small = source.copy()
    source.close()
    im.close()
    return small


def _store_thumbnails(conn, image_id: str, thumbs: dict[int, tuple[bytes, str]]) -> None:
    conn.executemany(
        "INSERT OR IGNORE INTO image_thumbnails (image_id, size, mime_type, data)"
        " VALUES (?, ?, ?, ?)",
        [(image_id, size, mime, data) for size, (data, mime) in thumbs.items()])


def _stored_thumbnail(conn, image_id: str, size: int) -> tuple[bytes, str] | None:
    row = conn.execute("SELECT data, mime_type FROM image_thumbnails WHERE image_id = ?"
                       " AND size = ?", (image_id, size)).fetchone()
    return None if row is None else (bytes(row["data"]), row["mime_type"])


_LAZY_LOCKS = tuple(threading.Lock() for _ in range(32))


def thumbnail(app, image_id: str, size: int) -> tuple[bytes, str] | None:
    """The stored thumbnail of one image, or None when there is no such image. Images
    attached before thumbnails were stored get theirs made here, once (concurrent requests
    for the same image wait for the first)."""
    with app.db.connection() as conn:
        stored = _stored_thumbnail(conn, image_id, size)
    if stored is not None:
        return stored
    with _LAZY_LOCKS[hash(image_id) % len(_LAZY_LOCKS)]:
        with app.db.connection() as conn:
            stored = _stored_thumbnail(conn, image_id, size)
            found = None if stored is not None else image_bytes(conn, image_id)
        if stored is not None or found is None:
            return stored
        thumbs = render_thumbnails(app, found[0])
        with app.db.transaction() as conn:
            if conn.execute("SELECT 1 FROM image_attachments WHERE id = ?",
                            (image_id,)).fetchone() is None:
                return None  # deleted meanwhile
            _store_thumbnails(conn, image_id, thumbs)
    return thumbs[size]
