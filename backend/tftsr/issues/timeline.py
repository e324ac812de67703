"""The incident timeline. Every event is dual-written to the audit log."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

from tftsr.audit import record as audit_record
from tftsr.db.ids import now_text, uuid7
from tftsr.errors import InvalidArgument, InvalidState, NotFound

AUTOMATIC_TYPES = (
    "triage_started", "status_changed", "issue_updated", "why_level_advanced",
    "root_cause_identified", "log_uploaded", "rca_generated", "postmortem_generated",
    "document_exported",
)
MANUAL_TYPES = (
    "note", "impact_started", "detected", "mitigation_applied", "escalated",
    "customer_notified", "service_restored", "monitoring", "other",
)
# An entry may be dated a little ahead (clocks differ, a planned maintenance window),
# never further: a date a year ahead is a typing slip, not a plan.
MAX_AHEAD = timedelta(days=1)
EVENT_COLUMNS = "id, issue_id, event_type, description, metadata, created_at"


def check_occurred_at(occurred_at: str | None, now: datetime | None = None) -> None:
    """Refuse a manual entry's time more than a day ahead of now."""
    if not occurred_at:
        return
    now = now or datetime.now(UTC).replace(tzinfo=None)
    when = datetime.strptime(occurred_at, "%Y-%m-%d %H:%M:%S")
    if when > now + MAX_AHEAD:
        raise InvalidArgument(
            f"occurred_at ({occurred_at} UTC) is more than a day ahead of now. "
            "Enter when it happened.")


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
        f"SELECT {EVENT_COLUMNS} FROM timeline_events"
        " WHERE issue_id = ? ORDER BY created_at, rowid", (issue_id,)
    ).fetchall()
    return [to_dict(r) for r in rows]


def _manual_event(conn, event_id: str, verb: str) -> dict:
    row = conn.execute(f"SELECT {EVENT_COLUMNS} FROM timeline_events WHERE id = ?",
                       (event_id,)).fetchone()
    if row is None:
        raise NotFound("That timeline entry no longer exists.")
    event = to_dict(row)
    if not event["manual"]:
        raise InvalidState(f"Only entries you added by hand can be {verb}; recorded events stay "
                           "as they were recorded.")
    return event


def update_manual_event(conn, event_id: str, *, event_type: str | None = None,
                        description: str | None = None, occurred_at: str | None = None) -> dict:
    """Correct a hand-written entry (its kind, text or time); audited with old and new
    time and kind, and the SHA-256 of the new text."""
    event = _manual_event(conn, event_id, "edited")
    check_occurred_at(occurred_at)
    changes = {k: v for k, v in (("event_type", event_type), ("description", description),
                                 ("created_at", occurred_at)) if v is not None and v != event[k]}
    if not changes:
        return event
    sets = ", ".join(f"{k} = :{k}" for k in changes)
    conn.execute(f"UPDATE timeline_events SET {sets} WHERE id = :id", {**changes, "id": event_id})
    audit_record(conn, "timeline_event_edited", "issue", event["issue_id"], {
        "timeline_event_id": event_id,
        "fields": sorted("occurred_at" if k == "created_at" else k for k in changes),
        "event_type": {"from": event["event_type"], "to": changes.get("event_type", event["event_type"])},
        "occurred_at": {"from": event["created_at"], "to": changes.get("created_at", event["created_at"])},
        "description_sha256": hashlib.sha256(
            changes.get("description", event["description"]).encode("utf-8")).hexdigest(),
    })
    return {**event, **changes}


def delete_manual_event(conn, event_id: str) -> dict:
    event = _manual_event(conn, event_id, "deleted")
    conn.execute("DELETE FROM timeline_events WHERE id = ?", (event_id,))
    audit_record(conn, "timeline_event_deleted", "issue", event["issue_id"], {
        "timeline_event_id": event_id, "event_type": event["event_type"],
        "description": event["description"],
    })
    return event
