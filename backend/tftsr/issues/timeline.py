"""The incident timeline. Every event is dual-written to the audit log."""

from __future__ import annotations

import json

from tftsr.audit import record as audit_record
from tftsr.db.ids import now_text, uuid7
from tftsr.errors import InvalidState, NotFound

AUTOMATIC_TYPES = (
    "triage_started", "status_changed", "issue_updated", "why_level_advanced",
    "root_cause_identified", "log_uploaded", "rca_generated", "postmortem_generated",
    "document_exported",
)
MANUAL_TYPES = (
    "note", "mitigation_applied", "escalated", "customer_notified", "service_restored",
    "monitoring", "other",
)


def record_event(conn, issue_id: str, event_type: str, description: str,
                 metadata: dict | None = None, *, created_at: str | None = None,
                 manual: bool = False) -> dict:
    """Insert a timeline event and its audit twin in the caller's transaction."""
    meta = dict(metadata or {})
    if manual:
        meta["manual"] = True
    event = {
        "id": uuid7(),
        "issue_id": issue_id,
        "event_type": event_type,
        "description": description,
        "metadata": json.dumps(meta, sort_keys=True, ensure_ascii=False) if meta else None,
        "created_at": created_at or now_text(),
    }
    conn.execute(
        "INSERT INTO timeline_events (id, issue_id, event_type, description, metadata, created_at)"
        " VALUES (:id, :issue_id, :event_type, :description, :metadata, :created_at)",
        event,
    )
    audit_record(conn, event_type, "issue", issue_id, {
        "timeline_event_id": event["id"], "description": description,
        "metadata": meta or None, "occurred_at": event["created_at"],
    })
    return to_dict(event)


def to_dict(row: dict) -> dict:
    out = dict(row)
    meta = out.get("metadata")
    if isinstance(meta, str):
        try:
            meta = json.loads(meta)
        except ValueError:
            meta = {"raw": meta}
    out["metadata"] = meta
    out["manual"] = bool(isinstance(meta, dict) and meta.get("manual"))
    return out


def list_events(conn, issue_id: str) -> list[dict]:
    rows = conn.execute(
        "SELECT id, issue_id, event_type, description, metadata, created_at FROM timeline_events"
        " WHERE issue_id = ? ORDER BY created_at, rowid", (issue_id,)
    ).fetchall()
    return [to_dict(r) for r in rows]


def delete_manual_event(conn, event_id: str) -> dict:
    row = conn.execute(
        "SELECT id, issue_id, event_type, description, metadata, created_at FROM timeline_events"
        " WHERE id = ?", (event_id,)
    ).fetchone()
    if row is None:
        raise NotFound("That timeline entry no longer exists.")
    event = to_dict(row)
    if not event["manual"]:
        raise InvalidState("Only entries you added by hand can be deleted; recorded events stay.")
    conn.execute("DELETE FROM timeline_events WHERE id = ?", (event_id,))
    audit_record(conn, "timeline_event_deleted", "issue", event["issue_id"], {
        "timeline_event_id": event_id, "event_type": event["event_type"],
        "description": event["description"],
    })
    return event
