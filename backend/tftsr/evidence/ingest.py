"""Streaming ingest of one log file, from any iterator of byte chunks.

The HTTP upload route feeds it ``request.stream``; the desktop dialog feeds it the chosen
file. Nothing of the log is ever written to disk outside the encrypted database: the bytes
are held in memory between two passes (as uploaded up to ``HOLD_PLAIN_MAX``, gzip-compressed
beyond, and a ``.gz`` upload as it came).

Pass 1 (reading) consumes the chunks once:
  * SHA-256 and size of the bytes exactly as uploaded (the duplicate check uses the hash);
  * a ``.gz`` file is recognised by its magic bytes and decompressed on the fly, and its
    decompressed size counts against the size limit, so a gzip bomb stops at the limit;
  * the first 64 KiB decide "binary or text" and the encoding (BOMs, UTF-16 NUL patterns);
    the whole stream is then validated as that encoding, falling back to Latin-1 (with a
    notice) when it is not valid UTF-8;
  * the log bytes are kept in memory: as they came (a ``.gz`` upload, or a plain log up to
    ``HOLD_PLAIN_MAX``), or as a fast gzip stream (a larger plain log).

Pass 2 (scanning) decodes the held bytes, normalises CRLF to LF (offsets are character
offsets into this text), counts lines, gzip-compresses the text for storage (on a thread of
its own, so on a second core) and runs PII detection over windows of a few MiB.

Finally (storing) the log row and its findings are written in one transaction; any error
before that leaves nothing behind. The write-ahead log is then checkpointed and truncated,
so the log's bytes do not stay on disk twice.
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import queue
import threading
import time
import zlib
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from itertools import islice
from operator import attrgetter
from types import SimpleNamespace

from tftsr.audit import record as audit_record
from tftsr.db.ids import now_text, uuid7, uuid7_many
from tftsr.errors import NotFound
from tftsr.evidence.errors import BinaryFile, CorruptFile, Duplicate, EmptyFile, TooLarge
from tftsr.evidence.names import display_name
from tftsr.settings.store import get_value

log = logging.getLogger(__name__)

MB = 1024 * 1024
READ_CHUNK = 1 * MB  # bytes read from a file, and decompressed per step
HEAD_BYTES = 64 * 1024  # what the binary / encoding sniffing looks at
SCAN_WINDOW = 4 * MB  # characters handed to the PII detector at once
SCAN_OVERLAP = 64 * 1024  # look-ahead so a finding across a window edge is seen whole
HOLD_LEVEL = 1  # gzip level for the in-memory copy of a large log between the passes
HOLD_PLAIN_MAX = 160 * MB  # plain logs up to this size are held as they came
STORE_LEVEL = 6  # gzip level for the stored text
SPAN_BATCH = 5000
GZIP_MAGIC = b"\x1f\x8b"

# Formats that are clearly not logs, recognised by their first bytes.
BINARY_SIGNATURES = (
    b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"%PDF-", b"PK\x03\x04",
    b"\x7fELF", b"SQLite format 3\x00", b"\x1f\x8b", b"7z\xbc\xaf\x27\x1c", b"Rar!\x1a\x07",
    b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xd0\xcf\x11\xe0",
)
# Control bytes that do occur in text logs: tab, LF, VT, FF, CR, ESC (ANSI colours), BS.
TEXT_CONTROLS = b"\t\n\x0b\x0c\r\x1b\x08"
OTHER_CONTROLS = bytes(b for b in range(32) if b not in TEXT_CONTROLS) + b"\x7f"
MIME_BY_SUFFIX = {
    "json": "application/json", "jsonl": "application/x-ndjson",
    "ndjson": "application/x-ndjson", "csv": "text/csv", "xml": "application/xml",
}


# --- progress ----------------------------------------------------------------------------

class Progress:
    """Emits ``upload_progress`` events, at most every 5 % or every 250 ms per phase."""

    def __init__(self, events, *, issue_id: str, file_name: str, upload_id: str | None = None,
                 step: float = 0.05, interval: float = 0.25):
        self.events, self.step, self.interval = events, step, interval
        self.base = {"upload_id": upload_id, "issue_id": issue_id, "file_name": file_name}
        self._phase: str | None = None
        self._last_done = 0
        self._last_time = 0.0

    def update(self, phase: str, done: int, total: int | None, *, force: bool = False) -> None:
        if self.events is None:
            return
        now = time.monotonic()
        if phase != self._phase:
            force = True
        elif not force:
            moved = done - self._last_done
            if not ((total and moved >= total * self.step) or now - self._last_time >= self.interval):
                return
        self._phase, self._last_done, self._last_time = phase, done, now
        self.events.emit("upload_progress", {**self.base, "phase": phase, "done_bytes": done,
                                             "total_bytes": total})


# --- pass 1 ------------------------------------------------------------------------------

@dataclass
class Encoding:
    codec: str  # Python codec name used to decode
    label: str  # what the UI shows
    errors: str = "strict"
    notice: str | None = None


def sniff(head: bytes) -> Encoding:
    """Decide from the first bytes whether this is text, and in which encoding.

    Raises BinaryFile for anything that is not text.
    """
    if head.startswith(codecs.BOM_UTF8):
        return Encoding("utf-8-sig", "UTF-8 (BOM)")
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return Encoding("utf-32", "UTF-32 (BOM)")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        label = "UTF-16LE (BOM)" if head.startswith(codecs.BOM_UTF16_LE) else "UTF-16BE (BOM)"
        return Encoding("utf-16", label)
    for signature in BINARY_SIGNATURES:
        if head.startswith(signature):
            raise _binary()
    if b"\x00" in head:
        pairs = len(head) // 2
        even, odd = head[0:2 * pairs:2].count(0), head[1:2 * pairs:2].count(0)
        # ASCII-range text in UTF-16 has a NUL in every other byte, on one side only.
        if pairs and odd >= 0.3 * pairs and even <= 0.01 * pairs:
            return Encoding("utf-16-le", "UTF-16LE")
        if pairs and even >= 0.3 * pairs and odd <= 0.01 * pairs:
            return Encoding("utf-16-be", "UTF-16BE")
        raise _binary()
    controls = len(head) - len(head.translate(None, OTHER_CONTROLS))
    if head and controls > 0.05 * len(head):
        raise _binary()
    return Encoding("utf-8", "UTF-8")


def _binary() -> BinaryFile:
    return BinaryFile("This looks like a binary file, not a text log, so it was not attached. "
                      "Attach the text log itself (a .gz of one is fine).")


LATIN1_NOTICE = ("This file is not valid UTF-8, so it was read as Latin-1 (ISO-8859-1). "
                 "Accented or non-Latin characters may show wrongly.")
REPLACED_NOTICE = ("Some bytes of this {label} file could not be decoded and are shown as "
                   "\ufffd.")


class TextCheck:
    """Collects the head, sniffs it, then validates every following byte as that encoding."""

    def __init__(self) -> None:
        self._head = bytearray()
        self.encoding: Encoding | None = None
        self._decoder = None

    def feed(self, data: bytes) -> None:
        if self.encoding is None:
            self._head += data
            if len(self._head) >= HEAD_BYTES:
                self._start()
            return
        self._validate(data)

    def finish(self) -> Encoding:
        if self.encoding is None:
            self._start()
        self._validate(b"", final=True)
        return self.encoding

    def _start(self) -> None:
        head = bytes(self._head)
        self._head = bytearray()
        self.encoding = sniff(head)
        self._decoder = codecs.getincrementaldecoder(self.encoding.codec)("strict")
        self._validate(head)

    def _validate(self, data: bytes, final: bool = False) -> None:
        if self._decoder is None:
            return
        try:
            self._decoder.decode(data, final)
        except UnicodeDecodeError:
            enc = self.encoding
            if enc.codec in ("utf-8", "utf-8-sig"):
                self.encoding = Encoding("latin-1", "Latin-1 (ISO-8859-1)", notice=LATIN1_NOTICE)
            else:
                self.encoding = Encoding(enc.codec, enc.label, "replace",
                                         REPLACED_NOTICE.format(label=enc.label))
            self._decoder = None  # the fallback decodes anything


@dataclass
class FirstPass:
    sha256: str
    original_size: int  # bytes as uploaded
    log_size: int  # bytes of the log itself (after .gz decompression)
    held: list[bytes]  # the log's bytes, or a gzip stream of them (``held_gzip``)
    gzipped: bool
    encoding: Encoding
    held_gzip: bool = True


class Gunzip:
    """Incremental gzip decompression in bounded steps, including multi-member files.

    Output comes in pieces of at most ``READ_CHUNK`` bytes, so a small input that inflates
    enormously (a gzip bomb) is seen growing and can be stopped.
    """

    def __init__(self) -> None:
        self._d = None  # the decompressor of the current member; None between members
        self.finished = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        while data and not self.finished:
            if self._d is None:
                if not GZIP_MAGIC.startswith(data[:2]):
                    self.finished = True  # padding after the last member is ignored
                    return
                self._d = zlib.decompressobj(wbits=31)
            while True:
                try:
                    out = self._d.decompress(data, READ_CHUNK)
                except zlib.error:
                    raise CorruptFile("This .gz file is damaged and cannot be decompressed; "
                                      "nothing was attached.") from None
                if out:
                    yield out
                if self._d.eof:
                    data = self._d.unused_data
                    self._d = None
                    break
                data = self._d.unconsumed_tail
                if not data and len(out) < READ_CHUNK:
                    break  # all input used and nothing left pending
            if self._d is not None:
                return

    def finish(self) -> None:
        if self._d is not None:
            raise CorruptFile("This .gz file ends before its data does (it is truncated); "
                              "nothing was attached.")


def read_first_pass(chunks: Iterable[bytes], *, limit: int,
                    progress: Progress | None = None, total: int | None = None) -> FirstPass:
    """Pass 1 over the uploaded bytes (see the module docstring)."""
    digest = hashlib.sha256()
    held: list[bytes] = []
    plain: list[bytes] | None = []  # the plain log as it came, while it is small enough
    check = TextCheck()
    original = log_size = 0
    gunzip: Gunzip | None = None
    compressor = None
    pending = b""  # the first bytes, until there are enough to recognise gzip

    def too_large(size: int, what: str = "") -> TooLarge:
        return TooLarge(f"This file is larger{what} than the limit of {limit // MB:,} MB "
                        f"(Settings \u2192 Evidence), so it was not attached.")

    def take_log_bytes(data: bytes) -> None:
        nonlocal log_size
        log_size += len(data)
        if log_size > limit:
            raise too_large(log_size, " once decompressed")
        check.feed(data)

    def take(data: bytes) -> None:
        nonlocal gunzip, compressor, plain
        if (gunzip is None and compressor is None and plain is not None and not held
                and data.startswith(GZIP_MAGIC)):
            gunzip = Gunzip()
            plain = None
        if gunzip is not None:
            held.append(data)
            for out in gunzip.feed(data):
                take_log_bytes(out)
            return
        take_log_bytes(data)
        if plain is not None and log_size <= HOLD_PLAIN_MAX:
            held.append(data)
            return
        if compressor is None:  # too large to hold as it came: compress what is held so far
            compressor = zlib.compressobj(HOLD_LEVEL, zlib.DEFLATED, 31)
            pieces, plain = held[:], None
            held.clear()
            held.extend(compressor.compress(piece) for piece in pieces)
        held.append(compressor.compress(data))

    for chunk in chunks:
        if not chunk:
            continue
        original += len(chunk)
        if original > limit:
            raise too_large(original)
        digest.update(chunk)
        if pending is not None:
            pending += chunk
            if len(pending) < len(GZIP_MAGIC):
                continue
            chunk, pending = pending, None
        take(chunk)
        if progress:
            progress.update("reading", original, total)
    if pending:
        take(pending)
    if original == 0:
        raise EmptyFile("This file is empty (0 bytes), so there is nothing to attach.")
    if gunzip is not None:
        gunzip.finish()
    elif compressor is not None:
        held.append(compressor.flush())
    if log_size == 0:
        raise EmptyFile("This .gz file contains an empty log, so there is nothing to attach.")
    encoding = check.finish()
    if progress:
        progress.update("reading", original, total, force=True)
    return FirstPass(digest.hexdigest(), original, log_size, held, gunzip is not None, encoding,
                     held_gzip=plain is None)


# --- pass 2 ------------------------------------------------------------------------------

class SpanBuffer:
    """Findings of one log, held compactly until they are stored."""

    def __init__(self) -> None:
        self.starts, self.ends, self.lines = array("q"), array("q"), array("q")
        self.types: list[str] = []
        self.originals: list[str] = []
        self.replacements: list[str] = []

    def add(self, start: int, end: int, line: int, pii_type: str, original: str,
            replacement: str) -> None:
        self.starts.append(start)
        self.ends.append(end)
        self.lines.append(line)
        self.types.append(pii_type)  # the same few str objects, shared
        self.originals.append(original)
        self.replacements.append(replacement)

    def __len__(self) -> int:
        return len(self.starts)

    def by_type(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for t in self.types:
            counts[t] = counts.get(t, 0) + 1
        return dict(sorted(counts.items()))

    def rows(self, log_file_id: str, batch: int = SPAN_BATCH) -> Iterator[tuple]:
        for first in range(0, len(self.starts), batch):
            last = min(first + batch, len(self.starts))
            yield from zip(uuid7_many(last - first), (log_file_id,) * (last - first),
                           self.types[first:last], self.starts[first:last],
                           self.ends[first:last], self.originals[first:last],
                           self.replacements[first:last], self.lines[first:last])


def span_field(span, name: str):
    """Read a field of a detector span (a dataclass or a mapping)."""
    return span[name] if isinstance(span, dict) else getattr(span, name)


_start = attrgetter("start")


class WindowScanner:
    """Runs the PII detector over a stream of text, a window at a time.

    Windows end at a line break; each is scanned with ``SCAN_OVERLAP`` characters of the
    next one so that a finding crossing the edge is seen whole. A window keeps only the
    findings that start inside it, and none that start inside a finding already kept.
    """

    def __init__(self, detect: Callable[[str], list], out: SpanBuffer, *,
                 window: int = SCAN_WINDOW, overlap: int = SCAN_OVERLAP):
        self.detect, self.out = detect, out
        self.window, self.overlap = window, overlap
        self._parts: list[str] = []
        self._size = 0
        self._base = 0  # character offset of the buffer in the whole text
        self._base_line = 1
        self._covered_until = 0
        self._types: dict[str, str] = {}

    def feed(self, text: str) -> None:
        if not text:
            return
        self._parts.append(text)
        self._size += len(text)
        while self._size >= self.window + self.overlap:
            self._scan(final=False)

    def finish(self) -> None:
        if self._size:
            self._scan(final=True)

    def _scan(self, final: bool) -> None:
        buf = "".join(self._parts)
        if final:
            cut = end = len(buf)
        else:
            cut = buf.rfind("\n", 0, self.window) + 1 or self.window
            end = buf.find("\n", cut + self.overlap)
            end = len(buf) if end < 0 else end + 1
        found = self.detect(buf[:end] if end < len(buf) else buf)
        if found and isinstance(found[0], dict):
            found = [SimpleNamespace(**span) for span in found]
        kept = sorted((span for span in found if span.start < cut), key=_start)
        line, pos, base, covered = self._base_line, 0, self._base, self._covered_until
        add, count, types = self.out.add, buf.count, self._types
        for span in kept:
            start, stop = span.start, span.end
            if base + start < covered:
                continue  # overlaps a finding kept just before (the detector resolves overlaps)
            line += count("\n", pos, start)
            pos = start
            pii_type = types.setdefault(span.pii_type, span.pii_type)
            add(base + start, base + stop, line, pii_type, span.original, span.replacement)
            covered = max(covered, base + stop)
        self._covered_until = covered
        self._base_line += buf.count("\n", 0, cut)
        self._base += cut
        rest = buf[cut:]
        self._parts = [rest] if rest else []
        self._size = len(rest)


@dataclass
class SecondPass:
    stored: bytes | BackgroundGzip  # gzip of the decoded text (UTF-8), perhaps still being made
    chars: int
    line_count: int
    spans: SpanBuffer = field(default_factory=SpanBuffer)

    def text_gz(self) -> bytes:
        """The gzip of the text, once its compression has finished."""
        if isinstance(self.stored, BackgroundGzip):
            self.stored = self.stored.finish()
        return self.stored

    def close(self) -> None:
        if isinstance(self.stored, BackgroundGzip):
            self.stored.close()


def _held_bytes(held: list[bytes], gzipped: bool) -> Iterator[bytes]:
    if not gzipped:
        yield from held
        return
    gunzip = Gunzip()
    for piece in held:
        for start in range(0, len(piece), READ_CHUNK):
            yield from gunzip.feed(piece[start:start + READ_CHUNK])


def decoded_pieces(held: list[bytes], encoding: Encoding,
                   on_bytes: Callable[[int], None] | None = None, *,
                   gzipped: bool = True) -> Iterator[str]:
    """Decode the held bytes (a gzip stream when ``gzipped``) piece by piece, with CRLF
    normalised to LF."""
    decoder = codecs.getincrementaldecoder(encoding.codec)(encoding.errors)
    carry_cr = False
    for raw in _held_bytes(held, gzipped):
        if on_bytes:
            on_bytes(len(raw))
        text = decoder.decode(raw)
        if carry_cr:
            text, carry_cr = "\r" + text, False
        if text.endswith("\r"):
            text, carry_cr = text[:-1], True
        if text:
            yield text.replace("\r\n", "\n")
    text = decoder.decode(b"", True) + ("\r" if carry_cr else "")
    if text:
        yield text.replace("\r\n", "\n")


class BackgroundGzip:
    """A gzip stream compressed on a thread of its own: zlib releases the GIL, so the
    compression runs on a second core while the caller scans the same text for PII.

    At most ``depth`` pieces (of about 1 MB each) wait to be compressed, so memory stays
    bounded when the compression falls behind. Level 6 runs a little slower than the scan,
    so the queue is deep enough that the scan does not wait for it: the compression then
    finishes while the findings are written (a 100 MB log: about 0.7 s sooner than with 8,
    for about 25 MB more at the peak).
    """

    def __init__(self, level: int = STORE_LEVEL, depth: int = 32):
        self._compressor = zlib.compressobj(level, zlib.DEFLATED, 31)
        self._pieces: list[bytes] = []
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="ingest-gzip", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (data := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._pieces.append(self._compressor.compress(data))
                except BaseException as exc:  # noqa: BLE001 - re-raised by finish()
                    self._error = exc  # keep draining, so that write() never blocks

    def write(self, data: bytes) -> None:
        self._queue.put(data)

    def finish(self) -> bytes:
        """The whole gzip stream (raises what the compression raised, if anything)."""
        self.close()
        if self._error is not None:
            raise self._error
        self._pieces.append(self._compressor.flush())
        data = b"".join(self._pieces)
        self._pieces = []
        return data

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()


def scan_second_pass(first: FirstPass, detect: Callable[[str], list], *,
                     progress: Progress | None = None) -> SecondPass:
    """Pass 2: decode, count lines, compress the text and find PII (see the module docstring).

    The compression may still be finishing on its thread when this returns (the findings
    can be stored meanwhile): ``text_gz()`` waits for it, ``close()`` abandons it."""
    stored = BackgroundGzip()
    spans = SpanBuffer()
    scanner = WindowScanner(detect, spans)
    done = 0
    chars = newlines = 0
    last = ""

    def advance(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress.update("scanning", done, first.log_size)

    try:
        for text in decoded_pieces(first.held, first.encoding, advance,
                                   gzipped=first.held_gzip):
            chars += len(text)
            newlines += text.count("\n")
            last = text[-1]
            stored.write(text.encode("utf-8"))
            scanner.feed(text)
        scanner.finish()
    except BaseException:
        stored.close()
        raise
    line_count = newlines + (1 if chars and last != "\n" else 0)
    return SecondPass(stored, chars, line_count, spans)


# --- the whole ingest --------------------------------------------------------------------

def upload_limit(app) -> int:
    with app.db.connection() as conn:
        return int(get_value(conn, "max_upload_mb")) * MB


def require_issue(conn, issue_id: str) -> None:
    if conn.execute("SELECT 1 FROM issues WHERE id = ?", (issue_id,)).fetchone() is None:
        raise NotFound("That incident does not exist (it may have been deleted).")


def _refuse_duplicate(conn, issue_id: str, sha256: str, file_name: str) -> None:
    row = conn.execute("SELECT file_name FROM log_files WHERE issue_id = ? AND content_hash = ?",
                       (issue_id, sha256)).fetchone()
    if row is not None:
        raise Duplicate(f"This file is already attached to this incident as "
                        f"\u201c{row['file_name']}\u201d; it was not attached twice.")


def guess_mime(name: str, gzipped: bool) -> str:
    if gzipped:
        return "application/gzip"
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return MIME_BY_SUFFIX.get(suffix, "text/plain")


def ingest_log(app, issue_id: str, file_name: str | None, chunks: Iterable[bytes], *,
               total_bytes: int | None = None, upload_id: str | None = None,
               detect: Callable[[str], list] | None = None) -> dict:
    """Attach one log file to an incident from a stream of byte chunks.

    Returns ``{log_file, findings: {total, by_type}, notice}``. Raises a TftsrError
    (too_large, empty_file, binary_file, corrupt_file, duplicate, not_found) with nothing
    written when the file cannot be attached.
    """
    from tftsr.evidence import logs

    if detect is None:
        from tftsr.pii import detect_pii

        # one core: the other compresses the text meanwhile (scanning each window on
        # two processes as well made the 100 MB benchmark log slower, not faster)
        detect = partial(detect_pii, two_cores=False)
    name = display_name(file_name, "log.txt")
    limit = upload_limit(app)
    if total_bytes is not None and total_bytes > limit:
        raise TooLarge(f"This file is {total_bytes / MB:,.1f} MB, larger than the limit of "
                       f"{limit // MB:,} MB (Settings \u2192 Evidence), so it was not attached.")
    with app.db.connection() as conn:
        require_issue(conn, issue_id)
    progress = Progress(app.events, issue_id=issue_id, file_name=name, upload_id=upload_id)
    started = time.perf_counter()
    first = read_first_pass(chunks, limit=limit, progress=progress, total=total_bytes)
    with app.db.connection() as conn:
        _refuse_duplicate(conn, issue_id, first.sha256, name)
    second = scan_second_pass(first, detect, progress=progress)
    first.held = []  # the stored copy replaces the held one
    progress.update("storing", 0, None, force=True)
    log_file_id = uuid7()
    row = {
        "id": log_file_id, "issue_id": issue_id, "file_name": name, "file_path": name,
        "file_size": first.log_size, "original_size": first.original_size,
        "mime_type": guess_mime(name, first.gzipped), "content_hash": first.sha256,
        "uploaded_at": now_text(), "encoding": first.encoding.label,
        "encoding_notice": first.encoding.notice, "line_count": second.line_count,
        "compressed": int(first.gzipped),
    }
    try:
        with app.db.transaction() as conn:
            require_issue(conn, issue_id)
            _refuse_duplicate(conn, issue_id, first.sha256, name)
            conn.execute(
                "INSERT INTO log_files (id, issue_id, file_name, file_path, file_size,"
                " original_size, mime_type, content_hash, uploaded_at, redacted, encoding,"
                " encoding_notice, line_count, compressed) VALUES (:id, :issue_id, :file_name,"
                " :file_path, :file_size, :original_size, :mime_type, :content_hash,"
                " :uploaded_at, 0, :encoding, :encoding_notice, :line_count, :compressed)", row)
            # the findings first: the text's compression may still be finishing meanwhile
            rows = second.spans.rows(log_file_id)
            while batch := list(islice(rows, SPAN_BATCH)):
                conn.executemany(
                    "INSERT INTO pii_spans (id, log_file_id, pii_type, start_offset, end_offset,"
                    " original_value, replacement, line) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", batch)
            text_gz = second.text_gz()
            conn.execute("UPDATE log_files SET content_compressed = ? WHERE id = ?",
                         (text_gz, log_file_id))
            audit_record(conn, "log_file_added", "log_file", log_file_id, {
                "issue_id": issue_id, "file_name": name, "content_hash": first.sha256,
                "file_size": first.log_size, "original_size": first.original_size,
                "findings": len(second.spans)})
            log_file = logs.get_log_file(conn, log_file_id)
    finally:
        second.close()
    _truncate_wal(app)
    progress.update("storing", len(text_gz), len(text_gz), force=True)
    log.info("attached a log of %d bytes (%d lines, %d findings) in %.1f s", first.log_size,
             second.line_count, len(second.spans), time.perf_counter() - started)
    app.events.emit("issue_changed", {"issue_id": issue_id})
    return {"log_file": log_file,
            "findings": {"total": len(second.spans), "by_type": second.spans.by_type()},
            "notice": first.encoding.notice}


def _truncate_wal(app) -> None:
    """Copy the write-ahead log into the database and empty it: otherwise the log's bytes
    would stay on disk twice (in the WAL file, which SQLite reuses but never shrinks)."""
    try:
        with app.db.connection() as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    except Exception as exc:  # noqa: BLE001 - a busy reader only delays the truncation
        log.info("write-ahead log not truncated now: %s", exc)


def file_chunks(path, chunk_size: int = READ_CHUNK) -> Iterator[bytes]:
    """The bytes of a file the user chose, a chunk at a time."""
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(chunk_size)
            if not chunk:
                return
            yield chunk
