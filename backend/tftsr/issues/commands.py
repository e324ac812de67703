"""Commands for incidents, the 5-Whys, the timeline, search and the dashboard."""

from __future__ import annotations

import logging

from tftsr.commands import command
from tftsr.issues import dashboard as dashboard_mod
from tftsr.issues import milestones, related, store, timeline, whys
from tftsr.issues import search as search_mod
from tftsr.issues.domains import DOMAIN_IDS, SEVERITIES, STATUSES
from tftsr.validation import Bool, Date, Enum, EnumList, Id, IdList, Int, Str, StrList, Timestamp

log = logging.getLogger(__name__)

TITLE = Str(min_len=1, max_len=300)
DESCRIPTION = Str(max_len=100_000, required=False, strip=False)
TAGS = StrList(max_items=20, item=Str(min_len=1, max_len=50), required=False)
ISSUE_ID = Id("incident id")
TEXT_FIELD = Str(max_len=20_000, required=False, strip=False)
PERSON = Str(max_len=200, required=False)


class _OrEmpty:
    """Mixin: "" is accepted as well (it clears the field)."""

    def check(self, name, value):
        if value == "":
            return ""
        return super().check(name, value)


class EnumOrEmpty(_OrEmpty, Enum):
    pass


class TimestampOrEmpty(_OrEmpty, Timestamp):
    pass


# Roles and fields, the same on create and update (update_issue: "" clears a text field).
RECORD_FIELDS = dict(
    assigned_to=PERSON,
    incident_commander=PERSON,
    priority=EnumOrEmpty(store.PRIORITIES, required=False),
    responders=StrList(max_items=30, item=Str(min_len=1, max_len=200), required=False),
    customer_impact=Str(max_len=5000, required=False, strip=False),
    services_affected=StrList(max_items=30, item=Str(min_len=1, max_len=100), required=False),
)
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
         **RECORD_FIELDS)
def create_issue(app, title, severity, category, description, tags, source, **fields):
    """Open a new incident (records `triage_started` on its timeline)."""
    with app.db.transaction() as conn:
        issue = store.create(conn, title=title, severity=severity, category=category,
                             description=description, tags=tags, source=source, **fields)
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
         source=Str(max_len=100, required=False), **RECORD_FIELDS)
def update_issue(app, issue_id, **changes):
    """Change an incident's fields; only the fields given are touched ("" clears the
    assignee, incident commander, priority and customer impact)."""
    with app.db.transaction() as conn:
        issue = store.update(conn, issue_id, changes)
    _changed(app, issue_id)
    return issue


@command(issue_id=ISSUE_ID, status=Enum(STATUSES), note=Str(max_len=2000, required=False),
         resolved_at=Timestamp(required=False), closed_at=Timestamp(required=False))
def set_issue_status(app, issue_id, status, note, resolved_at, closed_at):
    """Move an incident through open -> investigating -> resolved -> closed (other
    packages hear of it through :func:`after_status_change`). Marking it resolved or
    closed sets those milestones to now unless ``resolved_at`` / ``closed_at`` (UTC) say
    when it really happened; these follow the milestones' rules (not in the future, not
    before the milestones that precede them)."""
    with app.db.transaction() as conn:
        issue = store.set_status(conn, issue_id, status, note,
                                 {"resolved": resolved_at, "closed": closed_at})
    _changed(app, issue_id)
    for hook in STATUS_HOOKS:
        try:
            hook(app, issue_id, status)
        except Exception:  # noqa: BLE001 - a follower's failure must not undo the change
            log.exception("status hook %s failed", getattr(hook, "__name__", hook))
    return issue


# Functions ``hook(app, issue_id, status)`` called after an incident's status changed
# (the ServiceNow integration resolves the remote record when set to do so).
STATUS_HOOKS: list = []


def after_status_change(hook):
    if hook not in STATUS_HOOKS:
        STATUS_HOOKS.append(hook)
    return hook


@command(issue_id=ISSUE_ID)
def delete_issue(app, issue_id):
    """Delete an incident and everything attached to it (the audit log keeps a record)."""
    with app.db.transaction() as conn:
        store.delete(conn, issue_id)
    _changed(app, issue_id)
    return {"deleted": True, "issue_id": issue_id}


@command(issue_id=ISSUE_ID, **{m.key: TimestampOrEmpty(required=False)
                                for m in milestones.MILESTONES})
def set_issue_milestones(app, issue_id, **moments):
    """Set, correct or clear (with "") milestones, in UTC 'YYYY-MM-DD HH:MM[:SS]'; only
    those given change. A moment in the future, or an order that would make a duration
    negative (mitigated before impact started), is refused and nothing changes. Returns
    the incident with its milestones, metrics and suggestions."""
    changes = {k: (v or None) for k, v in moments.items() if v is not None}
    with app.db.transaction() as conn:
        issue = store.get(conn, issue_id)
        milestones.set_milestones(conn, issue, changes)
        issue = store.get(conn, issue_id)
        result = {"issue": issue, **store.record_view(issue, timeline.list_events(conn, issue_id))}
    _changed(app, issue_id)
    return result


@command(issue_id=ISSUE_ID, limit=Int(min=1, max=20, default=5))
def get_related_incidents(app, issue_id, limit):
    """The past incidents most like this one (ranked by the search index over title,
    description, tags, whys and root cause), each with its root cause and resolution."""
    with app.db.connection() as conn:
        return related.related(conn, issue_id, limit)


@command(query=Str(min_len=1, max_len=500), **FILTERS,
         limit=Int(min=1, max=100, default=20), offset=Int(min=0, default=0))
def search_issues(app, query, status, severity, category, date_from, date_to, limit, offset):
    """Ranked full-text search over everything an incident holds (title, description,
    tags, whys, root cause, action items, timeline notes, documents); each result names
    the places it matched, with highlighted snippets."""
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
    """Add a manual entry (a note, a mitigation, an escalation, ...) to the timeline. A time
    more than a day ahead is refused."""
    timeline.check_occurred_at(occurred_at)
    with app.db.transaction() as conn:
        store.get(conn, issue_id)
        event = timeline.record_event(conn, issue_id, event_type, description, {},
                                      created_at=occurred_at, manual=True)
    _changed(app, issue_id)
    return event


@command(event_id=Id("timeline entry id"), event_type=Enum(timeline.MANUAL_TYPES, required=False),
         description=Str(min_len=1, max_len=2000, required=False),
         occurred_at=Timestamp(required=False))
def update_timeline_event(app, event_id, event_type, description, occurred_at):
    """Correct an entry added by hand (kind, text or time; audited). Recorded events
    cannot be edited; a time more than a day ahead is refused."""
    with app.db.transaction() as conn:
        event = timeline.update_manual_event(conn, event_id, event_type=event_type,
                                             description=description, occurred_at=occurred_at)
    _changed(app, event["issue_id"])
    return event


@command(event_id=Id("timeline entry id"))
def delete_timeline_event(app, event_id):
    with app.db.transaction() as conn:
        event = timeline.delete_manual_event(conn, event_id)
    _changed(app, event["issue_id"])
    return {"deleted": True, "event_id": event_id}


# -- Dashboard --------------------------------------------------------------------------
@command(days=Int(min=1, max=365, default=30), severity=Enum(SEVERITIES, required=False),
         category=Enum(DOMAIN_IDS, required=False))
def get_dashboard(app, days, severity, category):
    """Counts, the incidents-per-day series and recent activity; response metrics (MTTD,
    MTTA, MTTR from milestones) for incidents opened in the last ``days``, optionally of
    one severity or domain only."""
    with app.db.connection() as conn:
        return dashboard_mod.dashboard(conn, days, severity, category)
