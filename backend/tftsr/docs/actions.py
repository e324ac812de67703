"""Action items: follow-up work agreed during an incident (table ``action_items``, 019).

An item has a title, an optional owner and due date, a status
(open -> in_progress -> done, or cancelled) and a kind that says where it belongs in the
documents: ``immediate`` (corrective, done now), ``long_term`` (corrective, planned) and
``preventive`` (stops a recurrence). An item is *overdue* when its due date is before
today (UTC) and it is still open or in progress.
"""

from __future__ import annotations

from datetime import UTC, datetime

from tftsr.audit import record as audit_record
from tftsr.db.ids import now_text, uuid7
from tftsr.errors import NotFound

STATUSES = ("open", "in_progress", "done", "cancelled")
ACTIVE_STATUSES = ("open", "in_progress")
KINDS = ("immediate", "long_term", "preventive")
KIND_LABELS = {"immediate": "Immediate", "long_term": "Long-term", "preventive": "Preventive"}
STATUS_LABELS = {"open": "Open", "in_progress": "In progress", "done": "Done",
                 "cancelled": "Cancelled"}
EDITABLE = ("title", "owner", "due_date", "status", "kind", "notes")
COLUMNS = ("id, issue_id, title, owner, due_date, status, kind, notes, created_at, updated_at,"
           " completed_at")


def today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


def _overdue_sql(alias: str = "") -> str:
    p = alias + "." if alias else ""
    return (f"({p}due_date IS NOT NULL AND {p}due_date < :today"
            f" AND {p}status IN ('open', 'in_progress'))")


def _order_sql(alias: str = "") -> str:
    """Overdue first (oldest due first), then by due date, undated last, then oldest."""
    p = alias + "." if alias else ""
    return (f"CASE WHEN {_overdue_sql(alias)} THEN 0 ELSE 1 END,"
            f" {p}due_date IS NULL, {p}due_date, {p}created_at, {p}rowid")


def to_dict(row: dict, today_text: str | None = None) -> dict:
    out = dict(row)
    day = today_text or today()
    out["overdue"] = bool(out.get("due_date") and out["due_date"] < day
                          and out.get("status") in ACTIVE_STATUSES)
    return out


def get(conn, item_id: str) -> dict:
    row = conn.execute(f"SELECT {COLUMNS} FROM action_items WHERE id = ?", (item_id,)).fetchone()
    if row is None:
        raise NotFound("That action item does not exist (it may have been deleted).")
    return to_dict(row)


def list_for_issue(conn, issue_id: str) -> list[dict]:
    day = today()
    rows = conn.execute(
        f"SELECT {COLUMNS} FROM action_items WHERE issue_id = :issue_id ORDER BY {_order_sql()}",
        {"issue_id": issue_id, "today": day},
    ).fetchall()
    return [to_dict(r, day) for r in rows]


def list_all(conn, *, statuses=ACTIVE_STATUSES, kind=None, owner=None, limit=100,
             offset=0) -> dict:
    """Action items across incidents for the dashboard: overdue first."""
    day = today()
    clauses = [f"a.status IN ({', '.join(f':s{i}' for i in range(len(statuses)))})"]
    params: dict = {"today": day, "limit": limit, "offset": offset,
                    **{f"s{i}": s for i, s in enumerate(statuses)}}
    if kind:
        clauses.append("a.kind = :kind")
        params["kind"] = kind
    if owner:
        clauses.append("a.owner = :owner COLLATE NOCASE")
        params["owner"] = owner
    where = " AND ".join(clauses)
    counts = conn.execute(
        f"SELECT count(*) AS n, coalesce(sum({_overdue_sql('a')}), 0) AS overdue"
        f" FROM action_items a WHERE {where}", params,
    ).fetchone()
    rows = conn.execute(
        f"SELECT a.{COLUMNS.replace(', ', ', a.')}, i.title AS issue_title,"
        " i.severity AS issue_severity, i.status AS issue_status"
        f" FROM action_items a JOIN issues i ON i.id = a.issue_id WHERE {where}"
        f" ORDER BY {_order_sql('a')} LIMIT :limit OFFSET :offset", params,
    ).fetchall()
    return {"items": [to_dict(r, day) for r in rows], "total": counts["n"],
            "overdue": counts["overdue"], "limit": limit, "offset": offset}


def _touch_issue(conn, issue_id: str, now: str) -> None:
    conn.execute("UPDATE issues SET updated_at = ? WHERE id = ?", (now, issue_id))


def create(conn, issue_id: str, *, title: str, kind: str, owner: str | None = None,
           due_date: str | None = None, status: str = "open", notes: str | None = None) -> dict:
    now = now_text()
    item = {
        "id": uuid7(), "issue_id": issue_id, "title": title, "owner": owner or None,
        "due_date": due_date or None, "status": status, "kind": kind, "notes": notes or None,
        "created_at": now, "updated_at": now,
        "completed_at": now if status == "done" else None,
    }
    conn.execute(
        f"INSERT INTO action_items ({COLUMNS}) VALUES (:id, :issue_id, :title, :owner,"
        " :due_date, :status, :kind, :notes, :created_at, :updated_at, :completed_at)", item,
    )
    _touch_issue(conn, issue_id, now)
    audit_record(conn, "action_item_created", "action_item", item["id"],
                 {"issue_id": issue_id, "title": title, "kind": kind, "status": status,
                  "owner": item["owner"], "due_date": item["due_date"]})
    return to_dict(item)


def update(conn, item_id: str, changes: dict) -> dict:
    """Apply the given fields; ``""`` clears owner, due_date and notes."""
    current = get(conn, item_id)
    wanted = {}
    for key in EDITABLE:
        if key not in changes or changes[key] is None:
            continue
        value = changes[key]
        if key in ("owner", "due_date", "notes") and value == "":
            value = None
        wanted[key] = value
    diff = {k: v for k, v in wanted.items() if current.get(k) != v}
    if not diff:
        return current
    now = now_text()
    if "status" in diff:
        diff["completed_at"] = now if diff["status"] == "done" else None
    diff["updated_at"] = now
    sets = ", ".join(f"{k} = :{k}" for k in diff)
    conn.execute(f"UPDATE action_items SET {sets} WHERE id = :id", {**diff, "id": item_id})
    _touch_issue(conn, current["issue_id"], now)
    audit_record(conn, "action_item_updated", "action_item", item_id, {
        "issue_id": current["issue_id"],
        "changes": {k: {"from": current.get(k), "to": diff[k]} for k in diff
                    if k in EDITABLE and k != "notes"},
    })
    return get(conn, item_id)


def delete(conn, item_id: str) -> dict:
    item = get(conn, item_id)
    conn.execute("DELETE FROM action_items WHERE id = ?", (item_id,))
    _touch_issue(conn, item["issue_id"], now_text())
    audit_record(conn, "action_item_deleted", "action_item", item_id,
                 {"issue_id": item["issue_id"], "title": item["title"]})
    return item
