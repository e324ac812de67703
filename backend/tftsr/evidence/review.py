"""Reviewing the PII found in a log, and producing its redacted copy.

Every finding (``pii_spans`` row) starts ``pending``; the reviewer approves (redact it) or
rejects (keep it) each one, or all of a type, and may add manual redactions by offsets.
:func:`apply_redactions` needs a decision on every finding. It writes the redacted text,
clears every stored original value of that file, and records the SHA-256 of the redacted
text in the audit log and the upload on the timeline, all in one transaction. After that the
file's findings are final.
"""

from __future__ import annotations

import hashlib
import io
import zlib
from collections.abc import Callable

from tftsr.audit import record as audit_record
from tftsr.db.ids import now_text, uuid7
from tftsr.egress import pseudonyms
from tftsr.egress.gate import policy_for as gate_policy
from tftsr.errors import InvalidArgument, InvalidState, NotFound
from tftsr.evidence import logs
from tftsr.evidence.ingest import SpanBuffer, WindowScanner, span_field
from tftsr.issues import timeline

STATUSES = ("pending", "approved", "rejected")
SPAN_COLUMNS = ("id, pii_type, start_offset, end_offset, line, original_value, replacement,"
                " status, source")
MANUAL_TYPE = "Manual"
MANUAL_REPLACEMENT = "[Redacted]"


def to_span(row: dict) -> dict:
    return {"id": row["id"], "pii_type": row["pii_type"], "start": row["start_offset"],
            "end": row["end_offset"], "line": row["line"], "original": row["original_value"],
            "replacement": row["replacement"], "status": row["status"], "source": row["source"]}


def _file_row(conn, log_file_id: str) -> dict:
    row = conn.execute("SELECT id, issue_id, file_name, file_size, redacted FROM log_files"
                       " WHERE id = ?", (log_file_id,)).fetchone()
    if row is None:
        raise NotFound("That log file no longer exists.")
    return row


def _require_open(conn, log_file_id: str) -> dict:
    row = _file_row(conn, log_file_id)
    if row["redacted"]:
        raise InvalidState("The review of this log is finalised: its redacted copy is stored "
                           "and its findings can no longer change.")
    return row


def by_type(conn, log_file_id: str) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for row in conn.execute("SELECT pii_type, status, count(*) AS n FROM pii_spans"
                            " WHERE log_file_id = ? GROUP BY pii_type, status ORDER BY pii_type",
                            (log_file_id,)):
        out.setdefault(row["pii_type"], {s: 0 for s in STATUSES})[row["status"]] = row["n"]
    return out


def get_spans(conn, log_file_id: str, *, pii_type: str | None = None,
              status: str | None = None, limit: int = 10_000, offset: int = 0) -> dict:
    """Findings of a file in text order, with counts per type and status."""
    _file_row(conn, log_file_id)
    where, params = ["log_file_id = ?"], [log_file_id]
    if pii_type:
        where.append("pii_type = ?")
        params.append(pii_type)
    if status:
        where.append("status = ?")
        params.append(status)
    clause = " AND ".join(where)
    total = conn.execute(f"SELECT count(*) AS n FROM pii_spans WHERE {clause}",
                         params).fetchone()["n"]
    rows = conn.execute(f"SELECT {SPAN_COLUMNS} FROM pii_spans WHERE {clause}"
                        " ORDER BY start_offset, end_offset, rowid LIMIT ? OFFSET ?",
                        [*params, limit, offset]).fetchall()
    return {"spans": [to_span(r) for r in rows], "by_type": by_type(conn, log_file_id),
            "total": total, "truncated": offset + len(rows) < total}


def set_span_status(conn, span_ids: list[str], status: str) -> int:
    if not span_ids:
        return 0
    marks = ", ".join("?" * len(span_ids))
    rows = conn.execute(f"SELECT DISTINCT log_file_id FROM pii_spans WHERE id IN ({marks})",
                        span_ids).fetchall()
    found = conn.execute(f"SELECT count(*) AS n FROM pii_spans WHERE id IN ({marks})",
                         span_ids).fetchone()["n"]
    if found < len(set(span_ids)):
        raise NotFound(f"{len(set(span_ids)) - found} of these findings no longer exist.")
    for row in rows:
        _require_open(conn, row["log_file_id"])
    return conn.execute(f"UPDATE pii_spans SET status = ? WHERE id IN ({marks})"
                        " AND status != ?", [status, *span_ids, status]).rowcount


def set_type_status(conn, log_file_id: str, pii_type: str, status: str) -> int:
    _require_open(conn, log_file_id)
    return conn.execute("UPDATE pii_spans SET status = ? WHERE log_file_id = ? AND pii_type = ?"
                        " AND status != ?", (status, log_file_id, pii_type, status)).rowcount


MAX_OCCURRENCES = 10_000


def find_all(text: logs.LogText, needle: str, limit: int = MAX_OCCURRENCES) -> list[int]:
    """Start offsets of every (non-overlapping) occurrence of ``needle``, piece by piece
    without joining the whole log; a window of ``len(needle) - 1`` characters carries
    matches across piece boundaries."""
    found: list[int] = []
    carry, carry_start, pos = "", 0, 0
    for piece in text.iter_pieces():
        window = carry + piece
        i = window.find(needle)
        while i != -1:
            offset = carry_start + i
            if not found or offset >= found[-1] + len(needle):
                found.append(offset)
                if len(found) >= limit:
                    return found
            i = window.find(needle, i + len(needle))
        pos += len(piece)
        keep = min(len(needle) - 1, len(window))
        carry = window[len(window) - keep:] if keep else ""
        carry_start = pos - len(carry)
    return found


def add_manual_span(app, log_file_id: str, start: int, end: int, pii_type: str | None,
                    replacement: str | None, *, every_occurrence: bool = False) -> dict:
    """A redaction the reviewer marked by hand: approved at once. With
    ``every_occurrence`` the same text is marked wherever else it appears in the log
    (``occurrences`` in the result says how many places in all)."""
    text = logs.load_text(app, log_file_id, redacted=False)
    if not 0 <= start < end <= len(text):
        raise InvalidArgument(f"A redaction must cover characters inside the log "
                              f"(0 \u2264 start < end \u2264 {len(text):,}).")
    value = text.slice(start, end)
    starts = [start]
    if every_occurrence and value.strip():
        starts = sorted(set(find_all(text, value)) | {start})
    spans = [{"id": uuid7(), "log_file_id": log_file_id, "pii_type": pii_type or MANUAL_TYPE,
              "start_offset": s, "end_offset": s + len(value), "line": text.line_of_offset(s),
              "original_value": value,
              "replacement": MANUAL_REPLACEMENT if replacement is None else replacement,
              "status": "approved", "source": "manual"} for s in starts]
    with app.db.transaction() as conn:
        _require_open(conn, log_file_id)
        conn.executemany("INSERT INTO pii_spans (id, log_file_id, pii_type, start_offset, end_offset,"
                         " line, original_value, replacement, status, source) VALUES (:id,"
                         " :log_file_id, :pii_type, :start_offset, :end_offset, :line,"
                         " :original_value, :replacement, :status, :source)", spans)
        chosen = next(sp for sp in spans if sp["start_offset"] == start)
        audit_record(conn, "pii_span_added", "log_file", log_file_id, {
            "span_id": chosen["id"], "pii_type": chosen["pii_type"], "start": start, "end": end,
            "line": chosen["line"], "occurrences": len(spans)})
    return {**to_span(chosen), "occurrences": len(spans)}


def scan_text(text: logs.LogText, detect: Callable[[str], list]) -> SpanBuffer:
    """Run the detector over a whole text window by window (as ingest does)."""
    found = SpanBuffer()
    scanner = WindowScanner(detect, found)
    for piece in text.iter_pieces():
        scanner.feed(piece)
    scanner.finish()
    return found


def redetect(app, log_file_id: str, detect: Callable[[str], list]) -> None:
    """Detect again: pending detected findings are replaced; decisions and manual ones stay."""
    found = scan_text(logs.load_text(app, log_file_id, redacted=False), detect)
    with app.db.transaction() as conn:
        _require_open(conn, log_file_id)
        removed = conn.execute("DELETE FROM pii_spans WHERE log_file_id = ? AND source = 'detected'"
                               " AND status = 'pending'", (log_file_id,)).rowcount
        kept = {(r["start_offset"], r["end_offset"], r["pii_type"]) for r in conn.execute(
            "SELECT start_offset, end_offset, pii_type FROM pii_spans WHERE log_file_id = ?",
            (log_file_id,))}
        added = conn.executemany(
            "INSERT INTO pii_spans (id, log_file_id, pii_type, start_offset, end_offset,"
            " original_value, replacement, line) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (r for r in found.rows(log_file_id) if (r[3], r[4], r[2]) not in kept)).rowcount
        audit_record(conn, "pii_redetected", "log_file", log_file_id,
                     {"pending_replaced": removed, "added": added, "kept": len(kept)})


def detect_in_text(text: str, detect: Callable[[str], list]) -> list[dict]:
    return [{"pii_type": span_field(s, "pii_type"), "start": span_field(s, "start"),
             "end": span_field(s, "end"), "original": span_field(s, "original"),
             "replacement": span_field(s, "replacement")}
            for s in sorted(detect(text), key=lambda s: span_field(s, "start"))]


# --- redaction -----------------------------------------------------------------------------

def merge_spans(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Merge overlapping (start, end, replacement) spans; the earliest-starting (then the
    longest) span's replacement stands for the merged region. Touching spans stay apart."""
    merged: list[list] = []
    for start, end, replacement in sorted(spans, key=lambda s: (s[0], -s[1])):
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end, replacement])
    return [tuple(m) for m in merged]


def redacted_pieces(text: logs.LogText, spans: list[tuple[int, int, str]]):
    """The redacted text as consecutive strs: ``text`` with each (start, end, replacement)
    span replaced.

    Replacing from the end keeps earlier offsets valid; walking forward over the merged,
    ordered spans and emitting the kept text and the replacements in turn gives the same
    text in linear time, without ever holding a second copy of a large log.
    """
    pos = 0
    for start, end, replacement in merge_spans(spans):
        start, end = max(start, pos), min(end, len(text))
        if start >= end:
            continue
        yield from text.iter_slice(pos, start)
        yield replacement
        pos = end
    yield from text.iter_slice(pos, len(text))


def redact(text: str, spans: list[tuple[int, int, str]]) -> str:
    """``text`` with each (start, end, replacement) span replaced."""
    return "".join(redacted_pieces(logs.LogText([text]), spans))


def apply_redactions(app, log_file_id: str) -> dict:
    """Finalise the review: store the redacted text, clear original values, audit it."""
    text = logs.load_text(app, log_file_id, redacted=False)
    with app.db.transaction() as conn:
        row = _require_open(conn, log_file_id)
        pending = conn.execute("SELECT count(*) AS n FROM pii_spans WHERE log_file_id = ?"
                               " AND status = 'pending'", (log_file_id,)).fetchone()["n"]
        if pending:
            raise InvalidState(f"{pending:,} finding{'s' if pending != 1 else ''} still "
                               f"need{'' if pending != 1 else 's'} a decision (approve or "
                               "reject) before the redactions can be applied.")
        approved = conn.execute("SELECT pii_type, start_offset, end_offset, replacement,"
                                " original_value FROM pii_spans WHERE log_file_id = ?"
                                " AND status = 'approved'", (log_file_id,)).fetchall()
        if gate_policy(app).pseudonyms:  # the incident's stable placeholders ([IPv4-3])
            for span in approved:
                value = span["original_value"] or text.slice(span["start_offset"], span["end_offset"])
                span["replacement"] = pseudonyms.numbered(span["replacement"], pseudonyms.number_for(
                    app, conn, row["issue_id"], span["pii_type"], value))
        kept = conn.execute("SELECT original_value FROM pii_spans WHERE log_file_id = ?"
                            " AND status = 'rejected'", (log_file_id,)).fetchall()
        pseudonyms.remember_kept(app, conn, row["issue_id"], [k["original_value"] for k in kept])
        counts: dict[str, int] = {}
        for span in approved:
            counts[span["pii_type"]] = counts.get(span["pii_type"], 0) + 1
        counts = dict(sorted(counts.items()))
        digest = hashlib.sha256()
        compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
        stored = io.BytesIO()
        for piece in redacted_pieces(text, [(s["start_offset"], s["end_offset"],
                                             s["replacement"]) for s in approved]):
            data = piece.encode("utf-8")
            digest.update(data)
            stored.write(compressor.compress(data))
        stored.write(compressor.flush())
        sha = digest.hexdigest()
        conn.execute("UPDATE log_files SET redacted = 1, reviewed_at = ?, redacted_compressed = ?,"
                     " redacted_hash = ? WHERE id = ?",
                     (now_text(), stored.getvalue(), sha, log_file_id))
        conn.execute("UPDATE pii_spans SET original_value = '' WHERE log_file_id = ?",
                     (log_file_id,))
        audit_record(conn, "log_redacted", "log_file", log_file_id, {
            "log_file_id": log_file_id, "issue_id": row["issue_id"], "redacted_sha256": sha,
            "applied": len(approved), "by_type": counts})
        timeline.record_event(
            conn, row["issue_id"], "log_uploaded",
            f"Log attached: {row['file_name']} ({len(approved):,} redaction"
            f"{'s' if len(approved) != 1 else ''})",
            {"log_file_id": log_file_id, "file_name": row["file_name"],
             "file_size": row["file_size"], "redacted": True, "applied": len(approved),
             "by_type": counts})
        log_file = logs.get_log_file(conn, log_file_id)
    logs.text_cache(app).forget(log_file_id)
    return {"log_file": log_file, "applied": len(approved), "by_type": counts,
            "redacted_sha256": sha}
