"""Commands for incidents, the 5-Whys, the timeline, search and the dashboard."""

from __future__ import annotations

from tftsr.commands import command
from tftsr.issues import dashboard as dashboard_mod
from tftsr.issues import search as search_mod
from tftsr.issues import store, timeline, whys
from tftsr.issues.domains import DOMAIN_IDS, SEVERITIES, STATUSES
from tftsr.validation import Bool, Date, Enum, EnumList, Id, IdList, Int, Str, StrList, Timestamp

TITLE = Str(min_len=1, max_len=300)
DESCRIPTION = Str(max_len=100_000, required=False, strip=False)
TAGS = StrList(max_items=20, item=Str(min_len=1, max_len=50), required=False)
ISSUE_ID = Id("incident id")
TEXT_FIELD = Str(max_len=20_000, required=False, strip=False)
FILTERS = dict(
    status=EnumList(STATUSES, required=False),
    severity=EnumList(SEVERITIES, required=False),
    category=Enum(DOMAIN_IDS, required=False),
    date_from=Date(required=False),
    date_to=Date(required=False),
)


def _changed(app, issue_id: str) -> None:
    app.events.emit("issue_changed", {"issue_id": issue_id})


@command(title=TITLE, severity=Enum(SEVERITIES), category=Enum(DOMAIN_IDS),
         description=DESCRIPTION, tags=TAGS, source=Str(max_len=100, required=False),
         assigned_to=Str(max_len=200, required=False))
def create_issue(app, title, severity, category, description, tags, source, assigned_to):
    """Open a new incident (records `triage_started` on its timeline)."""
    with app.db.transaction() as conn:
        issue = store.create(conn, title=title, severity=severity, category=category,
                             description=description, tags=tags, source=source,
                             assigned_to=assigned_to)
        result = store.detail(conn, issue["id"])
    _changed(app, issue["id"])
    return result


@command(issue_id=ISSUE_ID)
def get_issue(app, issue_id):
    """The incident with its log files, 5-Whys, conversations and timeline."""
    with app.db.connection() as conn:
        return store.detail(conn, issue_id)


@command(**FILTERS, tag=Str(max_len=50, required=False),
         sort=Enum(tuple(store.SORTS), default="created_desc"),
         limit=Int(min=1, max=200, default=50), offset=Int(min=0, default=0))
def list_issues(app, status, severity, category, tag, date_from, date_to, sort, limit, offset):
    """Incidents matching the filters, a page at a time."""
    with app.db.connection() as conn:
        return store.list_issues(conn, status=status, severity=severity, category=category,
                                 tag=tag, date_from=date_from, date_to=date_to, sort=sort,
                                 limit=limit, offset=offset)


@command(issue_id=ISSUE_ID, title=Str(min_len=1, max_len=300, required=False),
         description=DESCRIPTION, severity=Enum(SEVERITIES, required=False),
         category=Enum(DOMAIN_IDS, required=False), tags=TAGS,
         assigned_to=Str(max_len=200, required=False), source=Str(max_len=100, required=False))
def update_issue(app, issue_id, **changes):
    """Change an incident's fields; only the fields given are touched."""
    with app.db.transaction() as conn:
        issue = store.update(conn, issue_id, changes)
    _changed(app, issue_id)
    return issue


@command(issue_id=ISSUE_ID, status=Enum(STATUSES), note=Str(max_len=2000, required=False))
def set_issue_status(app, issue_id, status, note):
    """Move an incident through open -> investigating -> resolved -> closed."""
    with app.db.transaction() as conn:
        issue = store.set_status(conn, issue_id, status, note)
    _changed(app, issue_id)
    return issue


@command(issue_id=ISSUE_ID)
def delete_issue(app, issue_id):
    """Delete an incident and everything attached to it (the audit log keeps a record)."""
    with app.db.transaction() as conn:
        store.delete(conn, issue_id)
    _changed(app, issue_id)
    return {"deleted": True, "issue_id": issue_id}


@command(query=Str(min_len=1, max_len=500), **FILTERS,
         limit=Int(min=1, max=100, default=20), offset=Int(min=0, default=0))
def search_issues(app, query, status, severity, category, date_from, date_to, limit, offset):
    """Ranked full-text search over titles and descriptions, with highlighted snippets."""
    with app.db.connection() as conn:
        return search_mod.search(conn, query, status=status, severity=severity,
                                 category=category, date_from=date_from, date_to=date_to,
                                 limit=limit, offset=offset)


# -- 5-Whys -----------------------------------------------------------------------------
STEP_ID = Id("5-Whys step id")


@command(issue_id=ISSUE_ID)
def list_five_whys(app, issue_id):
    with app.db.connection() as conn:
        store.get(conn, issue_id)
        return whys.list_steps(conn, issue_id)


@command(issue_id=ISSUE_ID, why_question=Str(min_len=1, max_len=2000), answer=TEXT_FIELD,
         evidence=TEXT_FIELD)
def add_five_why(app, issue_id, why_question, answer, evidence):
    """Add the next why (at most five); records `why_level_advanced`."""
    with app.db.transaction() as conn:
        step = whys.add(conn, issue_id, why_question, answer, evidence)
    _changed(app, issue_id)
    return step


@command(step_id=STEP_ID, why_question=Str(min_len=1, max_len=2000, required=False),
         answer=TEXT_FIELD, evidence=TEXT_FIELD)
def update_five_why(app, step_id, **changes):
    with app.db.transaction() as conn:
        step = whys.update(conn, step_id, changes)
    _changed(app, step["issue_id"])
    return step


@command(issue_id=ISSUE_ID, step_ids=IdList("5-Whys step id", max_items=5))
def reorder_five_whys(app, issue_id, step_ids):
    with app.db.transaction() as conn:
        steps = whys.reorder(conn, issue_id, step_ids)
    _changed(app, issue_id)
    return steps


@command(step_id=STEP_ID)
def delete_five_why(app, step_id):
    with app.db.transaction() as conn:
        step = whys.get_step(conn, step_id)
        steps = whys.delete(conn, step_id)
    _changed(app, step["issue_id"])
    return steps


@command(step_id=STEP_ID, is_root_cause=Bool(default=True))
def set_root_cause(app, step_id, is_root_cause):
    """Mark (or unmark) a why as the root cause; records `root_cause_identified`."""
    with app.db.transaction() as conn:
        step = whys.get_step(conn, step_id)
        steps = whys.set_root_cause(conn, step_id, is_root_cause)
    _changed(app, step["issue_id"])
    return steps


# -- Timeline ---------------------------------------------------------------------------
@command(issue_id=ISSUE_ID)
def get_timeline_events(app, issue_id):
    with app.db.connection() as conn:
        store.get(conn, issue_id)
        return timeline.list_events(conn, issue_id)


@command(issue_id=ISSUE_ID, event_type=Enum(timeline.MANUAL_TYPES),
         description=Str(min_len=1, max_len=2000), occurred_at=Timestamp(required=False))
def add_timeline_event(app, issue_id, event_type, description, occurred_at):
    """Add a manual entry (a note, a mitigation, an escalation, ...) to the timeline."""
    with app.db.transaction() as conn:
        store.get(conn, issue_id)
        event = timeline.record_event(conn, issue_id, event_type, description, {},
                                      created_at=occurred_at, manual=True)
    _changed(app, issue_id)
    return event


@command(event_id=Id("timeline entry id"))
def delete_timeline_event(app, event_id):
    with app.db.transaction() as conn:
        event = timeline.delete_manual_event(conn, event_id)
    _changed(app, event["issue_id"])
    return {"deleted": True, "event_id": event_id}


# -- Dashboard --------------------------------------------------------------------------
@command(days=Int(min=1, max=365, default=30))
def get_dashboard(app, days):
    with app.db.connection() as conn:
        return dashboard_mod.dashboard(conn, days)
