"""Issues: create, read, list with filters, update, status workflow, delete."""

from __future__ import annotations

import json

from tftsr.audit import record as audit_record
from tftsr.db.ids import now_text, uuid7
from tftsr.errors import InvalidState, NotFound
from tftsr.issues import timeline
from tftsr.issues.domains import DOMAIN_LABELS, SEVERITIES, TRANSITIONS

ISSUE_COLUMNS = ("id, title, description, severity, status, category, source, created_at,"
                 " updated_at, resolved_at, assigned_to, tags")
SORTS = {
    "created_desc": "created_at DESC, rowid DESC",
    "created_asc": "created_at ASC, rowid ASC",
    "updated_desc": "updated_at DESC, rowid DESC",
    "severity": ("CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2"
                 " ELSE 3 END, created_at DESC"),
}


def issue_to_dict(row: dict) -> dict:
    out = dict(row)
    try:
        tags = json.loads(out.get("tags") or "[]")
        out["tags"] = [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []
    except ValueError:
        out["tags"] = []
    return out


def normalise_tags(tags: list[str] | None) -> list[str]:
    seen: list[str] = []
    for tag in tags or []:
        tag = " ".join(tag.split()).lower()
        if tag and tag not in seen:
            seen.append(tag)
    return seen


def get(conn, issue_id: str) -> dict:
    row = conn.execute(f"SELECT {ISSUE_COLUMNS} FROM issues WHERE id = ?", (issue_id,)).fetchone()
    if row is None:
        raise NotFound("That incident does not exist (it may have been deleted).")
    return issue_to_dict(row)


def create(conn, *, title, severity, category, description=None, tags=None, source=None,
           assigned_to=None) -> dict:
    now = now_text()
    issue = {
        "id": uuid7(), "title": title, "description": description or "", "severity": severity,
        "status": "open", "category": category, "source": source or "manual",
        "created_at": now, "updated_at": now, "resolved_at": None,
        "assigned_to": assigned_to or None,
        "tags": json.dumps(normalise_tags(tags), ensure_ascii=False),
    }
    conn.execute(
        f"INSERT INTO issues ({ISSUE_COLUMNS}) VALUES (:id, :title, :description, :severity,"
        " :status, :category, :source, :created_at, :updated_at, :resolved_at, :assigned_to, :tags)",
        issue,
    )
    timeline.record_event(
        conn, issue["id"], "triage_started",
        f"Incident opened: {title}",
        {"severity": severity, "category": category, "title": title},
        created_at=now,
    )
    return issue_to_dict(issue)


UPDATABLE = ("title", "description", "severity", "category", "tags", "assigned_to", "source")


def update(conn, issue_id: str, changes: dict) -> dict:
    current = get(conn, issue_id)
    changes = {k: v for k, v in changes.items() if k in UPDATABLE and v is not None}
    if "tags" in changes:
        changes["tags"] = normalise_tags(changes["tags"])
    if changes.get("assigned_to") == "":
        changes["assigned_to"] = None  # an empty name unassigns, as on create
    diff = {k: v for k, v in changes.items() if current.get(k) != v}
    if not diff:
        return current
    stored = dict(diff)
    if "tags" in stored:
        stored["tags"] = json.dumps(stored["tags"], ensure_ascii=False)
    stored["updated_at"] = now_text()
    sets = ", ".join(f"{k} = :{k}" for k in stored)
    conn.execute(f"UPDATE issues SET {sets} WHERE id = :id", {**stored, "id": issue_id})
    fields = sorted(diff)
    summary = {k: {"from": current.get(k), "to": diff[k]} for k in fields if k != "description"}
    if "description" in diff:
        summary["description"] = {"changed": True}
    timeline.record_event(
        conn, issue_id, "issue_updated",
        "Updated " + ", ".join(f.replace("_", " ") for f in fields),
        {"fields": fields, "changes": summary},
    )
    return get(conn, issue_id)


def set_status(conn, issue_id: str, status: str, note: str | None = None) -> dict:
    current = get(conn, issue_id)
    old = current["status"]
    if status == old:
        return current
    if status not in TRANSITIONS[old]:
        raise InvalidState(f"An incident that is {old} cannot move to {status}. "
                           f"From {old} it can go to: {', '.join(TRANSITIONS[old])}.")
    now = now_text()
    resolved_at = current["resolved_at"]
    if status == "resolved":
        resolved_at = now
    elif status in ("open", "investigating"):
        resolved_at = None
    elif status == "closed" and not resolved_at:
        resolved_at = now
    conn.execute(
        "UPDATE issues SET status = ?, resolved_at = ?, updated_at = ? WHERE id = ?",
        (status, resolved_at, now, issue_id),
    )
    verb = {"investigating": "Investigation started" if old == "open" else "Reopened for investigation",
            "resolved": "Marked resolved", "closed": "Closed", "open": "Moved back to open"}[status]
    description = verb + (f": {note}" if note else "")
    timeline.record_event(conn, issue_id, "status_changed", description,
                          {"from": old, "to": status, "note": note or None})
    return get(conn, issue_id)


def delete(conn, issue_id: str) -> None:
    issue = get(conn, issue_id)
    conn.execute("DELETE FROM issues WHERE id = ?", (issue_id,))
    audit_record(conn, "issue_deleted", "issue", issue_id,
                 {"title": issue["title"], "severity": issue["severity"], "status": issue["status"]})


def filters_sql(status=None, severity=None, category=None, tag=None, date_from=None,
                date_to=None, alias: str = "") -> tuple[str, list]:
    p = alias + "." if alias else ""
    clauses: list[str] = []
    params: list = []
    if status:
        clauses.append(f"{p}status IN ({', '.join('?' * len(status))})")
        params += status
    if severity:
        clauses.append(f"{p}severity IN ({', '.join('?' * len(severity))})")
        params += severity
    if category:
        clauses.append(f"{p}category = ?")
        params.append(category)
    if tag:
        clauses.append(f"EXISTS (SELECT 1 FROM json_each({p}tags) WHERE json_each.value = ?)")
        params.append(normalise_tags([tag])[0] if normalise_tags([tag]) else tag)
    if date_from:
        clauses.append(f"{p}created_at >= ?")
        params.append(date_from + " 00:00:00")
    if date_to:
        clauses.append(f"{p}created_at <= ?")
        params.append(date_to + " 23:59:59")
    return " AND ".join(clauses), params


def list_issues(conn, *, status=None, severity=None, category=None, tag=None, date_from=None,
                date_to=None, sort="created_desc", limit=50, offset=0) -> dict:
    where, params = filters_sql(status, severity, category, tag, date_from, date_to)
    where_sql = f" WHERE {where}" if where else ""
    total = conn.execute(f"SELECT count(*) AS n FROM issues{where_sql}", params).fetchone()["n"]
    rows = conn.execute(
        f"SELECT {ISSUE_COLUMNS} FROM issues{where_sql} ORDER BY {SORTS[sort]} LIMIT ? OFFSET ?",
        [*params, limit, offset],
    ).fetchall()
    return {"items": [issue_to_dict(r) for r in rows], "total": total, "limit": limit,
            "offset": offset}


def detail(conn, issue_id: str) -> dict:
    from tftsr.docs import actions as doc_actions
    from tftsr.docs import store as doc_store
    from tftsr.evidence import images, logs
    from tftsr.issues import whys

    issue = get(conn, issue_id)
    conversations = conn.execute(
        "SELECT id, issue_id, provider, model, created_at, title FROM ai_conversations"
        " WHERE issue_id = ? ORDER BY created_at", (issue_id,),
    ).fetchall()
    return {
        "issue": issue,
        "log_files": logs.list_for_issue(conn, issue_id),
        "image_attachments": images.list_for_issue(conn, issue_id),
        "resolution_steps": whys.list_steps(conn, issue_id),
        "conversations": conversations,
        "timeline_events": timeline.list_events(conn, issue_id),
        "allowed_transitions": list(TRANSITIONS[issue["status"]]),
        "category_label": DOMAIN_LABELS.get(issue["category"] or "", issue["category"]),
        "action_items": doc_actions.list_for_issue(conn, issue_id),
        "documents": doc_store.list_for_issue(conn, issue_id),
    }


__all__ = ["SEVERITIES", "create", "get", "update", "set_status", "delete", "list_issues", "detail"]
