"""Screenshots attached to an incident: checked, stored, thumbnailed.

An image is accepted only when its bytes are a PNG, JPEG, GIF or WebP (magic bytes) *and*
Pillow agrees and can decode it; SVG is refused because it can carry script. The bytes live
in ``image_attachments.image_data``; thumbnails are made on demand with the EXIF
orientation applied and kept in a small in-memory LRU, never written to disk.
Screenshots often show PII, so an upload is refused unless the user acknowledged that.
"""

from __future__ import annotations

import hashlib
import io
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterable

from PIL import Image, ImageOps

from tftsr.audit import record as audit_record
from tftsr.db.ids import now_text, uuid7
from tftsr.errors import NotFound
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

MAX_IMAGE_BYTES = 25 * 1024 * 1024
MAX_PIXELS = 50_000_000  # 50 megapixels: beyond any screenshot; stops decompression bombs
THUMBNAIL_SIZES = (128, 256, 512)
Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow refuses (error) above twice this, warns above it

FORMATS = {  # Pillow format -> mime type
    "PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp",
}
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
    """Check the bytes as an image; return (format, width, height) as displayed
    (EXIF orientation applied). Raises UnsupportedImage, TooLarge or CorruptImage."""
    fmt = sniff_format(data)
    corrupt = CorruptImage("This image is damaged or incomplete and cannot be shown, so it "
                           "was not attached.")
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
                im.draft("RGB", (1024, 1024))  # JPEG: decode at reduced size, still every byte
                im.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_many_pixels() from None
        except (UnsupportedImage, TooLarge, CorruptImage):
            raise
        except Exception:  # noqa: BLE001 - any decoder failure means a broken image
            raise corrupt from None
    return fmt, width, height


def _too_many_pixels(width: int | None = None, height: int | None = None) -> TooLarge:
    size = f" ({width:,} \u00d7 {height:,} pixels)" if width else ""
    return TooLarge(f"This image is too large{size}; the limit is "
                    f"{MAX_PIXELS // 1_000_000} megapixels.")


def _rotated(im: Image.Image) -> bool:
    """True when the EXIF orientation turns the image a quarter turn (width and height swap)."""
    try:
        return im.getexif().get(0x0112, 1) in (5, 6, 7, 8)
    except Exception:  # noqa: BLE001
        return False


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
    """Check and attach one image. Returns ``{image}``; raises with nothing written."""
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
    default = f"pasted-image-{now_text().replace(' ', '_').replace(':', '-')}"
    name = display_name(file_name, default if is_paste else "image")
    sha = hashlib.sha256(data).hexdigest()
    row = {"id": uuid7(), "issue_id": issue_id, "file_name": name, "file_path": "",
           "file_size": len(data), "mime_type": mime, "upload_hash": sha,
           "uploaded_at": now_text(), "pii_warning_acknowledged": 1, "is_paste": int(is_paste),
           "image_data": data, "width": width, "height": height}
    with app.db.transaction() as conn:
        require_issue(conn, issue_id)
        dup = conn.execute("SELECT file_name FROM image_attachments WHERE issue_id = ?"
                           " AND upload_hash = ?", (issue_id, sha)).fetchone()
        if dup is not None:
            raise Duplicate(f"This image is already attached to this incident as "
                            f"\u201c{dup['file_name']}\u201d.")
        conn.execute(
            "INSERT INTO image_attachments (id, issue_id, file_name, file_path, file_size,"
            " mime_type, upload_hash, uploaded_at, pii_warning_acknowledged, is_paste,"
            " image_data, width, height) VALUES (:id, :issue_id, :file_name, :file_path,"
            " :file_size, :mime_type, :upload_hash, :uploaded_at, :pii_warning_acknowledged,"
            " :is_paste, :image_data, :width, :height)", row)
        audit_record(conn, "image_attached", "image_attachment", row["id"], {
            "issue_id": issue_id, "file_name": name, "upload_hash": sha, "file_size": len(data),
            "is_paste": bool(is_paste)})
        image = get_image(conn, row["id"])
    app.events.emit("issue_changed", {"issue_id": issue_id})
    return {"image": image}


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
    thumbnail_cache(app).forget(image_id)
    return image["issue_id"]


# --- thumbnails ----------------------------------------------------------------------------

class ThumbnailCache:
    """(image id, size) -> (bytes, mime), least recently used first out."""

    def __init__(self, max_entries: int = 256, max_bytes: int = 32 * 1024 * 1024):
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self._items: OrderedDict[tuple[str, int], tuple[bytes, str]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, key, item) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= len(old[0])
            self._items[key] = item
            self._bytes += len(item[0])
            while len(self._items) > 1 and (len(self._items) > self.max_entries
                                            or self._bytes > self.max_bytes):
                _, dropped = self._items.popitem(last=False)
                self._bytes -= len(dropped[0])

    def forget(self, image_id: str) -> None:
        with self._lock:
            for key in [k for k in self._items if k[0] == image_id]:
                self._bytes -= len(self._items.pop(key)[0])


def thumbnail_cache(app) -> ThumbnailCache:
    return app.extras.setdefault("evidence.thumbnail_cache", ThumbnailCache())


def make_thumbnail(data: bytes, size: int) -> tuple[bytes, str]:
    """A thumbnail fitting ``size`` x ``size``, upright (EXIF orientation applied).

    JPEG sources give a JPEG, everything else a PNG (keeps transparency); a GIF gives its
    first frame.
    """
    with Image.open(io.BytesIO(data)) as im:
        is_jpeg = im.format == "JPEG"
        if is_jpeg:
            im.draft("RGB", (size * 2, size * 2))
        im.seek(0)
        upright = ImageOps.exif_transpose(im)
        upright.thumbnail((size, size))
        out = io.BytesIO()
        if is_jpeg:
            upright.convert("RGB").save(out, "JPEG", quality=85)
            return out.getvalue(), "image/jpeg"
        if upright.mode not in ("RGB", "RGBA", "L", "LA"):
            upright = upright.convert("RGBA")
        upright.save(out, "PNG", optimize=False)
        return out.getvalue(), "image/png"


def thumbnail(app, image_id: str, size: int) -> tuple[bytes, str] | None:
    cache = thumbnail_cache(app)
    cached = cache.get((image_id, size))
    if cached is not None:
        return cached
    with app.db.connection() as conn:
        found = image_bytes(conn, image_id)
    if found is None:
        return None
    item = make_thumbnail(found[0], size)
    cache.put((image_id, size), item)
    return item
