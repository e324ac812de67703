"""Stored log files: their public shape, their text, and paging through it by lines.

The text lives gzip-compressed in the database (``content_compressed``, and
``redacted_compressed`` once the review is finalised). Paging decompresses a file once and
keeps it, with the offset of every line start, in a small in-memory LRU cache, so moving
through a 100,000-line log costs a slice, not a decompression.
"""

from __future__ import annotations

import bisect
import codecs
import threading
import zlib
from array import array
from collections import OrderedDict
from collections.abc import Iterable, Iterator

from tftsr.audit import record as audit_record
from tftsr.errors import NotFound

MAX_PAGE_LINES = 5000
DEFAULT_PAGE_LINES = 2000
LOG_FILE_COLUMNS = ("lf.id, lf.issue_id, lf.file_name, lf.file_size, lf.original_size,"
                    " lf.mime_type, lf.content_hash, lf.uploaded_at, lf.redacted, lf.reviewed_at,"
                    " lf.encoding, lf.encoding_notice, lf.line_count, lf.compressed")
COUNTS_SQL = ("SELECT log_file_id, status, count(*) AS n FROM pii_spans"
              " WHERE log_file_id IN ({ids}) GROUP BY log_file_id, status")


def _empty_counts() -> dict:
    return {"pending": 0, "approved": 0, "rejected": 0, "total": 0}


def pii_counts(conn, ids: list[str]) -> dict[str, dict]:
    """``{log_file_id: {pending, approved, rejected, total}}`` for the given files."""
    out = {i: _empty_counts() for i in ids}
    for start in range(0, len(ids), 500):
        part = ids[start:start + 500]
        for row in conn.execute(COUNTS_SQL.format(ids=", ".join("?" * len(part))), part):
            counts = out[row["log_file_id"]]
            counts[row["status"]] = row["n"]
            counts["total"] += row["n"]
    return out


def to_log_file(row: dict, counts: dict | None = None) -> dict:
    """A database row as the LogFile the UI sees (never the text itself)."""
    out = {k: row[k] for k in ("id", "issue_id", "file_name", "file_size", "original_size",
                               "mime_type", "content_hash", "uploaded_at", "reviewed_at",
                               "encoding", "encoding_notice", "line_count")}
    out["redacted"] = bool(row["redacted"])
    out["reviewed"] = row["reviewed_at"] is not None
    out["compressed"] = bool(row["compressed"])
    out["pii_counts"] = counts or _empty_counts()
    if "issue_title" in row:
        out["issue_title"] = row["issue_title"]
    return out


def get_log_file(conn, log_file_id: str) -> dict:
    row = conn.execute(f"SELECT {LOG_FILE_COLUMNS} FROM log_files lf WHERE lf.id = ?",
                       (log_file_id,)).fetchone()
    if row is None:
        raise NotFound("That log file no longer exists.")
    return to_log_file(row, pii_counts(conn, [log_file_id])[log_file_id])


def list_for_issue(conn, issue_id: str) -> list[dict]:
    rows = conn.execute(f"SELECT {LOG_FILE_COLUMNS} FROM log_files lf WHERE lf.issue_id = ?"
                        " ORDER BY lf.uploaded_at, lf.rowid", (issue_id,)).fetchall()
    counts = pii_counts(conn, [r["id"] for r in rows])
    return [to_log_file(r, counts[r["id"]]) for r in rows]


def list_all(conn, *, limit: int, offset: int) -> dict:
    """Log files of every incident, newest first, through ``v_log_files_with_issue``."""
    total = conn.execute("SELECT count(*) AS n FROM v_log_files_with_issue").fetchone()["n"]
    rows = conn.execute(
        f"SELECT {LOG_FILE_COLUMNS}, v.issue_title FROM v_log_files_with_issue v"
        " JOIN log_files lf ON lf.id = v.id ORDER BY v.uploaded_at DESC, lf.rowid DESC"
        " LIMIT ? OFFSET ?", (limit, offset)).fetchall()
    counts = pii_counts(conn, [r["id"] for r in rows])
    return {"items": [to_log_file(r, counts[r["id"]]) for r in rows], "total": total,
            "limit": limit, "offset": offset}


# --- text and its cache --------------------------------------------------------------------

PIECE_BYTES = 1024 * 1024


class LogText:
    """A decoded log held as pieces of about 1 MiB, with the offset of every line start.

    A large text is kept with each piece compressed (zlib, fastest level) and only the two
    most recently used pieces decoded, so a 200 MB log costs roughly a quarter of its size
    while it is being paged through, and a page costs at most two 1 MiB decompressions.
    Small texts keep their pieces as they are.
    """

    PACK_ABOVE = 8 * 1024 * 1024  # characters; smaller texts are kept unpacked

    def __init__(self, pieces: Iterable[str], *, pack: bool | None = None):
        self.piece_starts = array("q")
        self.line_starts = array("q")
        self._plain: list[str] = []
        self._packed: list[bytes] = []
        self._recent: OrderedDict[int, str] = OrderedDict()
        self._lock = threading.Lock()
        pos = 0
        for piece in pieces:
            if not piece:
                continue
            self.piece_starts.append(pos)
            if pos == 0:
                self.line_starts.append(0)
            find, i = piece.find, piece.find("\n")
            while i >= 0:
                self.line_starts.append(pos + i + 1)
                i = find("\n", i + 1)
            pos += len(piece)
            self._plain.append(piece)
            if pack or (pack is None and pos > self.PACK_ABOVE):
                self._pack_pending()
                pack = True
        self.length = pos
        if self.line_starts and self.line_starts[-1] == pos:
            self.line_starts.pop()  # a final "\n" opens no new line

    def _pack_pending(self) -> None:
        self._packed.extend(zlib.compress(p.encode("utf-8"), 1) for p in self._plain)
        self._plain = []

    @classmethod
    def from_gzip(cls, blob: bytes) -> LogText:
        return cls(_gunzip_text(blob))

    def _piece(self, index: int) -> str:
        if not self._packed:
            return self._plain[index]
        with self._lock:
            piece = self._recent.get(index)
            if piece is not None:
                self._recent.move_to_end(index)
                return piece
        piece = zlib.decompress(self._packed[index]).decode("utf-8")
        with self._lock:
            self._recent[index] = piece
            while len(self._recent) > 2:
                self._recent.popitem(last=False)
        return piece

    def iter_pieces(self) -> Iterator[str]:
        for i in range(len(self.piece_starts)):
            yield self._piece(i)

    def __len__(self) -> int:
        return self.length

    @property
    def line_count(self) -> int:
        return len(self.line_starts)

    def iter_slice(self, start: int, end: int):
        """The characters start..end (exclusive) as consecutive strs, without joining."""
        start, end = max(start, 0), min(end, self.length)
        if start >= end:
            return
        i = bisect.bisect_right(self.piece_starts, start) - 1
        while start < end:
            base, piece = self.piece_starts[i], self._piece(i)
            yield piece[start - base:end - base]
            start = base + len(piece)
            i += 1

    def slice(self, start: int, end: int) -> str:
        return "".join(self.iter_slice(start, end))

    def line_end(self, index: int) -> int:
        """Offset just past the last character of line ``index`` (its "\\n" excluded)."""
        if index + 1 < len(self.line_starts):
            return self.line_starts[index + 1] - 1
        return self.length - 1 if self.slice(self.length - 1, self.length) == "\n" else self.length

    def line_of_offset(self, offset: int) -> int:
        """1-based line number holding character ``offset``."""
        return max(bisect.bisect_right(self.line_starts, offset), 1)


def _gunzip_text(blob: bytes) -> Iterator[str]:
    """Decompress and decode a stored gzip of UTF-8 text, about 1 MiB at a time."""
    decompressor = zlib.decompressobj(wbits=31)
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    data = blob
    while True:
        out = decompressor.decompress(data, PIECE_BYTES)
        data = decompressor.unconsumed_tail
        if out:
            yield decoder.decode(out)
        if decompressor.eof or not (data or out):
            break
    yield decoder.decode(b"", True)


class TextCache:
    """Recently viewed texts, bounded by entries and characters."""

    def __init__(self, max_entries: int = 4, max_chars: int = 256 * 1024 * 1024):
        self.max_entries, self.max_chars = max_entries, max_chars
        self._items: OrderedDict[tuple, LogText] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> LogText | None:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, key: tuple, item: LogText) -> None:
        with self._lock:
            self._items[key] = item
            self._items.move_to_end(key)
            while len(self._items) > 1 and (
                    len(self._items) > self.max_entries
                    or sum(len(t) for t in self._items.values()) > self.max_chars):
                self._items.popitem(last=False)

    def forget(self, log_file_id: str) -> None:
        with self._lock:
            for key in [k for k in self._items if k[0] == log_file_id]:
                del self._items[key]


def text_cache(app) -> TextCache:
    return app.extras.setdefault("evidence.text_cache", TextCache())


def load_text(app, log_file_id: str, *, redacted: bool | None = None) -> LogText:
    """The file's text through the cache: the redacted text once the review is finalised
    (or the original with ``redacted=False``)."""
    with app.db.connection() as conn:
        row = conn.execute("SELECT id, redacted FROM log_files WHERE id = ?",
                           (log_file_id,)).fetchone()
        if row is None:
            raise NotFound("That log file no longer exists.")
        use_redacted = bool(row["redacted"]) if redacted is None else redacted
        key = (log_file_id, use_redacted)
        cached = text_cache(app).get(key)
        if cached is not None:
            return cached
        column = "redacted_compressed" if use_redacted else "content_compressed"
        blob = conn.execute(f"SELECT {column} AS blob FROM log_files WHERE id = ?",
                            (log_file_id,)).fetchone()["blob"]
    text = LogText.from_gzip(blob) if blob else LogText([])
    del blob
    text_cache(app).put(key, text)
    return text


def content_page(app, log_file_id: str, offset_line: int, max_lines: int) -> dict:
    """Lines ``offset_line`` (0-based) .. ``offset_line + max_lines - 1`` of the file,
    joined by "\n".

    Returns the redacted text once the review is finalised. ``first_line`` is the 0-based
    index of the first line returned and ``char_offset`` its offset in the whole text, so a
    finding's ``start`` maps to ``start - char_offset`` within ``text``.
    """
    with app.db.connection() as conn:
        info = get_log_file(conn, log_file_id)
    text = load_text(app, log_file_id)
    count = text.line_count
    first = min(offset_line, count)
    last = min(first + max_lines, count)
    if first == count:  # past the end: nothing more to show
        page, char_offset = "", len(text)
    else:
        char_offset = text.line_starts[first]
        # The last page runs to the end of the text (a final newline included), so pages
        # joined with "\n" give back the whole text exactly.
        end = len(text) if last == count else text.line_end(last - 1)
        page = text.slice(char_offset, end)
    return {"log_file_id": log_file_id, "redacted": info["redacted"],
            "reviewed": info["reviewed"], "text": page, "first_line": first,
            "lines_returned": last - first, "line_count": count, "char_offset": char_offset,
            "has_more": last < count, "encoding_notice": info["encoding_notice"]}


def delete(app, log_file_id: str) -> str:
    with app.db.transaction() as conn:
        info = get_log_file(conn, log_file_id)
        conn.execute("DELETE FROM log_files WHERE id = ?", (log_file_id,))
        audit_record(conn, "log_file_deleted", "log_file", log_file_id,
                     {"issue_id": info["issue_id"], "file_name": info["file_name"],
                      "content_hash": info["content_hash"]})
    text_cache(app).forget(log_file_id)
    return info["issue_id"]
