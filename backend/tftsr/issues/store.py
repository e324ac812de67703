"""Issues: create, read, list with filters, update, status workflow, delete."""

from __future__ import annotations

import json

from tftsr.audit import record as audit_record
from tftsr.db.ids import now_text, uuid7
from tftsr.errors import InvalidArgument, InvalidState, NotFound
from tftsr.issues import milestones, timeline
from tftsr.issues.domains import DOMAIN_LABELS, SEVERITIES, TRANSITIONS

ISSUE_COLUMNS = ("id, title, description, severity, status, category, source, created_at,"
                 " updated_at, resolved_at, assigned_to, tags, impact_started_at, detected_at,"
                 " acknowledged_at, mitigated_at, closed_at, priority, incident_commander,"
                 " responders, customer_impact, services_affected")
PRIORITIES = ("p1", "p2", "p3", "p4")
LIST_FIELDS = ("tags", "responders", "services_affected")
# The severity sort's rank: the same expression as the indexes of migration 042 (SQLite
# uses an index on an expression only for that expression, written the same way).
SEVERITY_RANK = ("CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2"
                 " ELSE 3 END")
# ORDER BY per sort, for a source whose incident rowid is called {key}.
SORTS = {
    "created_desc": "created_at DESC, {key} DESC",
    "created_asc": "created_at ASC, {key} ASC",
    "updated_desc": "updated_at DESC, {key} DESC",
    "severity": SEVERITY_RANK + ", created_at DESC, {key} DESC",
}
# The index walked for a sort when filters are given (filters are tested inside it).
# Without filters the sort's own narrow index is walked, where ties are in rowid order
# (no sort at all); so is (column, created_at) when one value of one column is the only
# filter besides dates and incidents come newest or oldest first.
WALK_INDEXES = {
    "created_desc": "idx_issues_walk_created",
    "created_asc": "idx_issues_walk_created",
    "updated_desc": "idx_issues_walk_updated",
    "severity": "idx_issues_walk_severity",
}
ONE_VALUE_INDEXES = {"status": "idx_issues_status_created", "severity": "idx_issues_severity",
                     "category": "idx_issues_category_created"}
TAG_WALK_INDEXES = {"updated_desc": "idx_issue_tags_updated",
                    "severity": "idx_issue_tags_severity"}


def _json_list(text) -> list[str]:
    try:
        items = json.loads(text or "[]")
    except (TypeError, ValueError):
        return []
    return [t for t in items if isinstance(t, str)] if isinstance(items, list) else []


def issue_to_dict(row: dict) -> dict:
    out = dict(row)
    for name in LIST_FIELDS:
        if name in out:
            out[name] = _json_list(out.get(name))
    return out


def normalise_tags(tags: list[str] | None) -> list[str]:
    seen: list[str] = []
    for tag in tags or []:
        tag = " ".join(tag.split()).lower()
        if tag and tag not in seen:
            seen.append(tag)
    return seen


def normalise_names(names: list[str] | None) -> list[str]:
    """People or services: spaces collapsed, duplicates (ignoring case) dropped, order kept."""
    seen: list[str] = []
    for name in names or []:
        name = " ".join(name.split())
        if name and name.lower() not in (s.lower() for s in seen):
            seen.append(name)
    return seen


def get(conn, issue_id: str) -> dict:
    row = conn.execute(f"SELECT {ISSUE_COLUMNS} FROM issues WHERE id = ?", (issue_id,)).fetchone()
    if row is None:
        raise NotFound("That incident does not exist (it may have been deleted).")
    return issue_to_dict(row)


def create(conn, *, title, severity, category, description=None, tags=None, source=None,
           assigned_to=None, priority=None, incident_commander=None, responders=None,
           customer_impact=None, services_affected=None) -> dict:
    now = now_text()
    issue = {name.strip(): None for name in ISSUE_COLUMNS.split(",")}
    issue.update({
        "id": uuid7(), "title": title, "description": description or "", "severity": severity,
        "status": "open", "category": category, "source": source or "manual",
        "created_at": now, "updated_at": now,
        "assigned_to": assigned_to or None, "priority": priority or None,
        "incident_commander": incident_commander or None,
        "customer_impact": customer_impact or None,
        "tags": json.dumps(normalise_tags(tags), ensure_ascii=False),
        "responders": json.dumps(normalise_names(responders), ensure_ascii=False),
        "services_affected": json.dumps(normalise_names(services_affected), ensure_ascii=False),
    })
    columns = [name.strip() for name in ISSUE_COLUMNS.split(",")]
    conn.execute(
        f"INSERT INTO issues ({ISSUE_COLUMNS}) VALUES ({', '.join(':' + c for c in columns)})",
        issue,
    )
    timeline.record_event(
        conn, issue["id"], "triage_started",
        f"Incident opened: {title}",
        {"severity": severity, "category": category, "title": title},
        created_at=now,
    )
    return issue_to_dict(issue)


UPDATABLE = ("title", "description", "severity", "category", "tags", "assigned_to", "source",
             "priority", "incident_commander", "responders", "customer_impact",
             "services_affected")
# Text fields an empty value clears (as leaving them empty does on create).
CLEARABLE = ("assigned_to", "priority", "incident_commander", "customer_impact", "source")
# Free text whose old and new values are not copied into the timeline and the audit log.
LONG_TEXT = ("description", "customer_impact")


def update(conn, issue_id: str, changes: dict) -> dict:
    current = get(conn, issue_id)
    changes = {k: v for k, v in changes.items() if k in UPDATABLE and v is not None}
    if "tags" in changes:
        changes["tags"] = normalise_tags(changes["tags"])
    for name in ("responders", "services_affected"):
        if name in changes:
            changes[name] = normalise_names(changes[name])
    for name in CLEARABLE:
        if changes.get(name) == "":
            changes[name] = None
    diff = {k: v for k, v in changes.items() if current.get(k) != v}
    if not diff:
        return current
    stored = dict(diff)
    for name in LIST_FIELDS:
        if name in stored:
            stored[name] = json.dumps(stored[name], ensure_ascii=False)
    stored["updated_at"] = now_text()
    sets = ", ".join(f"{k} = :{k}" for k in stored)
    conn.execute(f"UPDATE issues SET {sets} WHERE id = :id", {**stored, "id": issue_id})
    fields = sorted(diff)
    summary = {k: {"from": current.get(k), "to": diff[k]} for k in fields if k not in LONG_TEXT}
    for name in LONG_TEXT:
        if name in diff:
            summary[name] = {"changed": True}
    timeline.record_event(
        conn, issue_id, "issue_updated",
        "Updated " + ", ".join(f.replace("_", " ") for f in fields),
        {"fields": fields, "changes": summary},
    )
    return get(conn, issue_id)


# The milestones a move to a status may be given the moment of (the status dialog asks
# when it was resolved or closed; without a moment, now or the entered one is kept).
STATUS_MOMENTS = {"resolved": ("resolved",), "closed": ("resolved", "closed")}


def set_status(conn, issue_id: str, status: str, note: str | None = None,
               moments: dict[str, str | None] | None = None) -> dict:
    """Move the incident to ``status``. ``moments`` ({"resolved"/"closed": UTC text})
    back-dates the milestones the move sets, under the rules of the milestones (never in
    the future, never out of order): refused as a whole, nothing changed."""
    current = get(conn, issue_id)
    old = current["status"]
    moments = {k: v for k, v in (moments or {}).items() if v}
    for key in moments:
        if key not in STATUS_MOMENTS.get(status, ()):
            raise InvalidArgument(
                f"A {key} time is taken only when the incident is marked "
                f"{' or '.join(s for s, keys in STATUS_MOMENTS.items() if key in keys)}.")
    if status == old:
        return current
    if status not in TRANSITIONS[old]:
        raise InvalidState(f"An incident that is {old} cannot move to {status}. "
                           f"From {old} it can go to: {', '.join(TRANSITIONS[old])}.")
    now = now_text()
    resolved_at, closed_at = current["resolved_at"], current["closed_at"]
    # The resolved and closed milestones follow the workflow: the moment given with the
    # move, else one entered before (possibly back-dated), else now (or the latest
    # milestone, should one be a little ahead); reopening clears both.
    latest = max([now] + [v for k, v in milestones.values(current).items()
                          if v and k != "closed"])
    if status == "resolved":
        resolved_at = moments.get("resolved") or resolved_at or latest
        closed_at = None
    elif status == "closed":
        closed_at = moments.get("closed") or closed_at
        resolved_at = (moments.get("resolved") or resolved_at
                       or (min(latest, closed_at) if closed_at else latest))
        closed_at = closed_at or max(latest, resolved_at)
    elif old in ("resolved", "closed"):
        resolved_at = closed_at = None
    was = milestones.values(current)
    cleared = {k: was[k] for k, v in (("resolved", resolved_at), ("closed", closed_at))
               if was[k] and not v}
    milestones.set_milestones(conn, current, {"resolved": resolved_at, "closed": closed_at},
                              via="status change")
    conn.execute("UPDATE issues SET status = ?, updated_at = ? WHERE id = ?",
                 (status, now, issue_id))
    verb = {"investigating": "Investigation started" if old == "open" else "Reopened for investigation",
            "resolved": "Marked resolved", "closed": "Closed", "open": "Moved back to open"}[status]
    description = verb + (f": {note}" if note else "")
    meta = {"from": old, "to": status, "note": note or None}
    if cleared:
        meta["milestones_cleared"] = cleared
    timeline.record_event(conn, issue_id, "status_changed", description, meta)
    return get(conn, issue_id)


def delete(conn, issue_id: str) -> None:
    issue = get(conn, issue_id)
    conn.execute("DELETE FROM issues WHERE id = ?", (issue_id,))
    audit_record(conn, "issue_deleted", "issue", issue_id,
                 {"title": issue["title"], "severity": issue["severity"], "status": issue["status"]})


def filters_sql(status=None, severity=None, category=None, date_from=None, date_to=None,
                alias: str = "", weak: bool = False) -> tuple[str, list]:
    """SQL and parameters for the list filters. ``weak`` puts a unary + on status,
    severity and domain, so that SQLite tests them inside whatever index it walks
    instead of choosing an index for them; a date range can always narrow the walk."""
    p = alias + "." if alias else ""
    w = "+" if weak else ""
    clauses: list[str] = []
    params: list = []
    if status:
        clauses.append(f"{w}{p}status IN ({', '.join('?' * len(status))})")
        params += status
    if severity:
        clauses.append(f"{w}{p}severity IN ({', '.join('?' * len(severity))})")
        params += severity
    if category:
        clauses.append(f"{w}{p}category = ?")
        params.append(category)
    if date_from:
        clauses.append(f"{p}created_at >= ?")
        params.append(date_from + " 00:00:00")
    if date_to:
        clauses.append(f"{p}created_at <= ?")
        params.append(date_to + " 23:59:59")
    return " AND ".join(clauses), params


def tag_key(tag: str) -> str:
    """A tag as stored (incidents' tags are normalised when saved)."""
    normalised = normalise_tags([tag])
    return normalised[0] if normalised else tag


def _where(clauses: list[str]) -> str:
    return (" WHERE " + " AND ".join(c for c in clauses if c)) if any(clauses) else ""


def _page_index(sort: str, status, severity, category, dated) -> tuple[str | None, bool]:
    """The index a page of incidents is found in (None: SQLite's choice) and whether the
    filters are to be tested inside it rather than used to seek."""
    chosen = [(name, value) for name, value in
              (("status", status), ("severity", severity), ("category", category)) if value]
    by_creation = sort.startswith("created")
    if not chosen and (by_creation or not dated):
        return ("idx_issues_severity_sort" if sort == "severity" else None), False
    if by_creation and len(chosen) == 1:
        name, value = chosen[0]
        if isinstance(value, str) or len(value) == 1:
            return ONE_VALUE_INDEXES[name], False
    return WALK_INDEXES[sort], True


def list_issues(conn, *, status=None, severity=None, category=None, tag=None, date_from=None,
                date_to=None, sort="created_desc", limit=50, offset=0) -> dict:
    """One page of incidents and the exact number matching.

    The total is counted from an index alone (migration 042 has one covering every mix
    of filters). The page is found as rowids only, by walking an index in the sort's
    order (testing the filters inside it, or within one filter value's range), and then
    just those incidents are read. A tag filter reads the tag's own rows
    (``issue_tags``), which carry the columns filtered and sorted on.
    """
    filters = dict(status=status, severity=severity, category=category,
                   date_from=date_from, date_to=date_to)
    if tag:
        source, key, first = "issue_tags", "issue_rowid", ["tag = ?"]
        first_params = [tag_key(tag)]
        index = TAG_WALK_INDEXES.get(sort)
        walk = f" INDEXED BY {index}" if index else " NOT INDEXED"
        weak = True
    else:
        source, key, first, first_params = "issues", "rowid", [], []
        index, weak = _page_index(sort, status, severity, category, date_from or date_to)
        walk = f" INDEXED BY {index}" if index else ""
    exact, params = filters_sql(**filters)
    total = conn.execute(f"SELECT count(*) AS n FROM {source}{_where([*first, exact])}",
                         [*first_params, *params]).fetchone()["n"]
    rows = []
    if offset < total:
        tests, params = filters_sql(**filters, weak=weak)
        rows = conn.execute(
            f"SELECT {ISSUE_COLUMNS} FROM issues WHERE rowid IN ("
            f"SELECT {key} FROM {source}{walk}{_where([*first, tests])}"
            f" ORDER BY {SORTS[sort].format(key=key)} LIMIT ? OFFSET ?)"
            f" ORDER BY {SORTS[sort].format(key='rowid')}",
            [*first_params, *params, limit, offset],
        ).fetchall()
    return {"items": [issue_to_dict(r) for r in rows], "total": total, "limit": limit,
            "offset": offset}


def detail(conn, issue_id: str) -> dict:
    from tftsr.docs import actions as doc_actions
    from tftsr.docs import store as doc_store
    from tftsr.evidence import images, logs
    from tftsr.integrations import links as external_links
    from tftsr.issues import whys

    issue = get(conn, issue_id)
    conversations = conn.execute(
        "SELECT id, issue_id, provider, model, created_at, title FROM ai_conversations"
        " WHERE issue_id = ? ORDER BY created_at", (issue_id,),
    ).fetchall()
    events = timeline.list_events(conn, issue_id)
    return {
        "issue": issue,
        "log_files": logs.list_for_issue(conn, issue_id),
        "image_attachments": images.list_for_issue(conn, issue_id),
        "resolution_steps": whys.list_steps(conn, issue_id),
        "conversations": conversations,
        "timeline_events": events,
        "allowed_transitions": list(TRANSITIONS[issue["status"]]),
        "category_label": DOMAIN_LABELS.get(issue["category"] or "", issue["category"]),
        "action_items": doc_actions.list_for_issue(conn, issue_id),
        "documents": doc_store.list_for_issue(conn, issue_id),
        # The ServiceNow record, Confluence pages and Azure DevOps work items made from it.
        "external_links": external_links.for_issue(conn, issue_id),
        **record_view(issue, events),
    }


def record_view(issue: dict, events: list[dict]) -> dict:
    """The milestones, the metrics measured between them and what the timeline suggests."""
    from tftsr.docs import metrics

    return {
        "milestones": milestones.as_list(issue),
        "metrics": [m.to_dict() for m in metrics.compute(issue)],
        "milestone_suggestions": milestones.suggestions(issue, events),
    }


__all__ = ["SEVERITIES", "create", "get", "update", "set_status", "delete", "list_issues", "detail"]
