"""Audit log commands: read-only viewing, chain verification and export."""

from __future__ import annotations

import csv
import io
import json

from tftsr.audit.chain import BadHead, head_text, parse_head, record, verify
from tftsr.commands import command
from tftsr.db.ids import now_text
from tftsr.delivery import deliver_file
from tftsr.errors import InvalidArgument
from tftsr.validation import Enum, Int, Str

_FILTERS = dict(
    action=Str(max_len=100, required=False),
    entity_type=Str(max_len=100, required=False),
    entity_id=Str(max_len=100, required=False),
)
EXPORT_LIMIT = 1_000_000
HEAD = Str(max_len=200, required=False)  # SEQ:HASH, checked by parse_head
HEAD_LABEL = "Audit log head at export"


def _where(action, entity_type, entity_id):
    clauses, params = [], []
    for column, value in (("action", action), ("entity_type", entity_type), ("entity_id", entity_id)):
        if value:
            clauses.append(f"{column} = ?")
            params.append(value)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def _entry(row: dict) -> dict:
    row = dict(row)
    if row.get("details"):
        try:
            row["details"] = json.loads(row["details"])
        except ValueError:
            pass
    return row


@command(**_FILTERS, limit=Int(min=1, max=500, default=100), offset=Int(min=0, default=0))
def get_audit_log(app, action, entity_type, entity_id, limit, offset):
    """Audit entries, newest first, with the distinct actions and entity types for filters."""
    where, params = _where(action, entity_type, entity_id)
    with app.db.connection() as conn:
        total = conn.execute(f"SELECT count(*) AS n FROM audit_log{where}", params).fetchone()["n"]
        rows = conn.execute(
            "SELECT id, seq, timestamp, action, entity_type, entity_id, user_id, details,"
            f" prev_hash, entry_hash FROM audit_log{where} ORDER BY seq DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        ).fetchall()
        actions = [r["action"] for r in conn.execute(
            "SELECT DISTINCT action FROM audit_log ORDER BY action")]
        types = [r["entity_type"] for r in conn.execute(
            "SELECT DISTINCT entity_type FROM audit_log ORDER BY entity_type")]
        head = head_text(conn)
    return {"items": [_entry(r) for r in rows], "total": total, "limit": limit,
            "offset": offset, "actions": actions, "entity_types": types, "head": head}


@command(expect_head=HEAD)
def verify_audit(app, expect_head):
    """Check the hash chain, that every audited row has its creation entry and, with
    ``expect_head`` (``SEQ:HASH`` recorded earlier), that the log up to it is unchanged.
    The result carries the current ``head`` to record outside TFTSR."""
    try:
        expected = parse_head(expect_head) if expect_head else None
    except BadHead as exc:
        raise InvalidArgument(f"expect_head: {exc}.") from None
    with app.db.connection() as conn:
        return verify(conn, expected).to_dict()


@command(format=Enum(("json", "csv")), action=_FILTERS["action"],
         entity_type=_FILTERS["entity_type"])
def export_audit_log(app, format, action, entity_type):
    """Export the (filtered) audit log as JSON or CSV: a native Save dialog or a download."""
    where, params = _where(action, entity_type, None)
    columns = ["seq", "id", "timestamp", "action", "entity_type", "entity_id", "user_id",
               "details", "prev_hash", "entry_hash"]
    with app.db.connection() as conn:
        own = not conn.in_transaction
        if own:
            conn.execute("BEGIN")  # the entries, the verification and the head agree
        try:
            rows = conn.execute(
                f"SELECT {', '.join(columns)} FROM audit_log{where} ORDER BY seq LIMIT ?",
                [*params, EXPORT_LIMIT],
            ).fetchall()
            chain = verify(conn).to_dict()
        finally:
            if own:
                conn.execute("COMMIT")
    head = chain["head"]
    stamp = now_text().replace(":", "").replace(" ", "-")
    if format == "json":
        body = json.dumps({"exported_at": now_text(), "head": head, "chain": chain,
                           "entries": [_entry(r) for r in rows]}, indent=2, ensure_ascii=False)
        data, mime = body.encode("utf-8"), "application/json"
    else:
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(columns)
        for r in rows:
            writer.writerow([_csv_safe(r[c]) for c in columns])
        buf.write(f"# {HEAD_LABEL}: {head}\r\n")  # last, so the header stays the first row
        data, mime = buf.getvalue().encode("utf-8"), "text/csv"
    result = deliver_file(app, f"tftsr-audit-{stamp}.{format}", mime, data)
    if not result.get("cancelled"):
        with app.db.transaction() as conn:
            record(conn, "audit_exported", "audit_log", "audit_log",
                   {"format": format, "entries": len(rows), "head": head, "filters":
                    {"action": action, "entity_type": entity_type}})
    return result


def _csv_safe(value):
    """Neutralise spreadsheet formulas in exported cells."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
