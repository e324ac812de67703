"""Milestones: the moments an incident's response is measured between.

Six milestones, each a UTC text timestamp on the incident (migration 040): impact started,
detected, acknowledged, mitigated, resolved (the seed's ``resolved_at``) and closed. Any of
them can be set, corrected or cleared at any time and back-dated to when it really
happened, so an incident opened hours after an outage began still measures the outage.

Rules kept here, in one place:

* an order that would make a duration negative is refused with a message naming both
  milestones (:data:`ORDER`); so is a moment in the future;
* every change is audited (``milestone_set`` / ``milestone_cleared``, old and new value);
* :func:`suggestions` proposes values from timeline entries that say the same thing
  ("Mitigation applied at 02:22 — set as mitigated?"), never setting anything itself.

The metrics computed from milestones live in :mod:`tftsr.docs.metrics`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tftsr.audit import record as audit_record
from tftsr.db.ids import now_text
from tftsr.errors import InvalidArgument

_FORMAT = "%Y-%m-%d %H:%M:%S"
# A clock a few minutes ahead of this machine's should not make "now" unenterable.
FUTURE_TOLERANCE = timedelta(minutes=5)


@dataclass(frozen=True)
class Milestone:
    key: str
    column: str
    label: str
    hint: str


MILESTONES: tuple[Milestone, ...] = (
    Milestone("impact_started", "impact_started_at", "Impact started",
              "When customers or services were first affected"),
    Milestone("detected", "detected_at", "Detected",
              "When the problem was noticed: an alert fired or someone reported it"),
    Milestone("acknowledged", "acknowledged_at", "Acknowledged",
              "When someone took the incident on"),
    Milestone("mitigated", "mitigated_at", "Mitigated",
              "When the impact stopped (rollback, failover, workaround)"),
    Milestone("resolved", "resolved_at", "Resolved",
              "When the underlying problem was fixed"),
    Milestone("closed", "closed_at", "Closed",
              "When the follow-up was done and the incident was closed"),
)
BY_KEY = {m.key: m for m in MILESTONES}
KEYS = tuple(m.key for m in MILESTONES)
COLUMNS = tuple(m.column for m in MILESTONES)

# (earlier, later): the first must not come after the second.
ORDER: tuple[tuple[str, str], ...] = (
    ("impact_started", "detected"), ("impact_started", "acknowledged"),
    ("impact_started", "mitigated"), ("impact_started", "resolved"),
    ("impact_started", "closed"),
    ("detected", "acknowledged"), ("detected", "mitigated"), ("detected", "resolved"),
    ("detected", "closed"),
    ("acknowledged", "resolved"), ("acknowledged", "closed"),
    ("mitigated", "resolved"), ("mitigated", "closed"),
    ("resolved", "closed"),
)


def parse(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.strptime(text[:19].replace("T", " "), _FORMAT)
    except ValueError:
        return None


def values(issue: dict) -> dict[str, str | None]:
    """{milestone key: UTC text or None} for an incident row."""
    return {m.key: issue.get(m.column) or None for m in MILESTONES}


def as_list(issue: dict) -> list[dict]:
    """The milestones in order, for the UI and the documents."""
    return [{"key": m.key, "label": m.label, "hint": m.hint, "at": issue.get(m.column) or None}
            for m in MILESTONES]


def order_problem(vals: dict[str, str | None]) -> str | None:
    """A sentence describing the first pair of milestones in the wrong order, or None."""
    for earlier, later in ORDER:
        a, b = parse(vals.get(earlier)), parse(vals.get(later))
        if a is not None and b is not None and b < a:
            first, second = BY_KEY[earlier], BY_KEY[later]
            return (f"{second.label} ({vals[later]} UTC) cannot be before {first.label.lower()} "
                    f"({vals[earlier]} UTC). Correct one of them first.")
    return None


def check_not_future(key: str, value: str, now: datetime | None = None) -> None:
    moment = parse(value)
    now = now or datetime.now(UTC).replace(tzinfo=None)
    if moment is not None and moment > now + FUTURE_TOLERANCE:
        raise InvalidArgument(f"{BY_KEY[key].label} ({value} UTC) is in the future. "
                              "Enter when it happened.")


def set_milestones(conn, issue: dict, changes: dict[str, str | None],
                   via: str | None = None) -> list[str]:
    """Apply ``changes`` ({key: 'YYYY-MM-DD HH:MM:SS' or None to clear}) to ``issue``.

    Refuses (InvalidArgument, nothing written) a moment in the future or an order that
    would make a duration negative. Each real change is audited (with ``via``, what made
    it, when it is not the milestones themselves). Returns the keys changed.
    """
    current = values(issue)
    proposed = dict(current)
    for key, value in changes.items():
        if key not in BY_KEY:
            raise InvalidArgument(f"{key} is not a milestone.")
        if value:
            check_not_future(key, value)
        proposed[key] = value or None
    problem = order_problem(proposed)
    if problem:
        raise InvalidArgument(problem)
    changed = [k for k in KEYS if proposed[k] != current[k]]
    if not changed:
        return []
    sets = ", ".join(f"{BY_KEY[k].column} = ?" for k in changed)
    conn.execute(f"UPDATE issues SET {sets}, updated_at = ? WHERE id = ?",
                 [proposed[k] for k in changed] + [now_text(), issue["id"]])
    for key in changed:
        action = "milestone_set" if proposed[key] else "milestone_cleared"
        details = {"milestone": key, "label": BY_KEY[key].label,
                   "from": current[key], "to": proposed[key]}
        if via:
            details["via"] = via
        audit_record(conn, action, "issue", issue["id"], details)
    return changed


# -- suggestions from the timeline ---------------------------------------------------------
def _first(events, predicate):
    return next((e for e in events if predicate(e)), None)


def _status_to(event: dict, status: str) -> bool:
    meta = event.get("metadata")
    return (event["event_type"] == "status_changed" and isinstance(meta, dict)
            and meta.get("to") == status)


def suggestions(issue: dict, events: list[dict]) -> list[dict]:
    """Values for unset milestones taken from timeline entries that say the same thing.

    ``events`` in chronological order. A suggestion that would break the order of the
    milestones already set is left out (setting it would be refused).
    """
    vals = values(issue)
    opened = issue.get("created_at")
    manual = [e for e in events if e.get("manual")]
    candidates: dict[str, tuple[dict, str]] = {}

    started = _first(events, lambda e: e["event_type"] == "impact_started")
    if started:
        candidates["impact_started"] = (started, "Impact began")
    else:
        early = _first(manual, lambda e: opened and e["created_at"] < opened)
        if early:
            candidates["impact_started"] = (early, "Earliest entry")
    detected = _first(events, lambda e: e["event_type"] == "detected")
    if detected:
        candidates["detected"] = (detected, "Detected")
    else:
        opened_event = _first(events, lambda e: e["event_type"] == "triage_started")
        if opened_event:
            candidates["detected"] = (opened_event, "Incident opened")
    ack = _first(events, lambda e: _status_to(e, "investigating"))
    if ack:
        candidates["acknowledged"] = (ack, "Investigation started")
    mitigation = (_first(events, lambda e: e["event_type"] == "mitigation_applied")
                  or _first(events, lambda e: e["event_type"] == "service_restored"))
    if mitigation:
        label = ("Mitigation applied" if mitigation["event_type"] == "mitigation_applied"
                 else "Service restored")
        candidates["mitigated"] = (mitigation, label)
    resolved = [e for e in events if _status_to(e, "resolved")]
    if resolved:
        candidates["resolved"] = (resolved[-1], "Marked resolved")

    out = []
    for key in KEYS:
        if vals[key] or key not in candidates:
            continue
        event, source = candidates[key]
        if order_problem({**vals, key: event["created_at"]}):
            continue
        out.append({"milestone": key, "label": BY_KEY[key].label, "at": event["created_at"],
                    "event_id": event["id"], "source": source,
                    "description": event.get("description") or ""})
    return out
