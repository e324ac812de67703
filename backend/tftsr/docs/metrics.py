"""Response metrics computed from an incident's record — nothing estimated.

All times are the seed's UTC text timestamps. The reference point is **Opened**: the
incident's ``created_at`` (the moment ``triage_started`` was recorded).

* **Time to detect** — from the earliest timeline entry to Opened. A responder records
  when the problem actually began by adding a back-dated manual entry ("errors began");
  when nothing precedes the opening the interval is not measurable.
* **Time to mitigate** — Opened to the first ``mitigation_applied`` or
  ``service_restored`` entry.
* **Time to root cause** — Opened to the latest ``root_cause_identified`` event, counted
  only while a 5-Whys step is marked as the root cause (an unmarked root cause is not
  an identified one).
* **Time to resolve** — Opened to ``issues.resolved_at``, which the status workflow sets
  on the latest move to resolved (or closed without a resolution) and clears on reopen.

A milestone recorded before Opened (possible for back-dated entries) counts as zero.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

MITIGATION_TYPES = ("mitigation_applied", "service_restored")
_FORMAT = "%Y-%m-%d %H:%M:%S"


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.strptime(text[:19].replace("T", " "), _FORMAT)
    except ValueError:
        return None


def format_duration(seconds: int | None) -> str:
    """``3 d 4 h``, ``2 h 05 min``, ``14 min 30 s``, ``45 s`` (two units at most)."""
    if seconds is None:
        return "—"
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s" if secs else f"{minutes} min"
    return f"{secs} s"


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    start: str | None
    end: str | None
    seconds: int | None
    definition: str
    missing_reason: str | None = None

    @property
    def display(self) -> str:
        return format_duration(self.seconds) if self.seconds is not None else "Not measurable"

    def to_dict(self) -> dict:
        return {**asdict(self), "display": self.display}


def _interval(key, label, definition, start, end, missing_reason) -> Metric:
    a, b = parse_time(start), parse_time(end)
    if a is None or b is None:
        return Metric(key, label, start, end, None, definition, missing_reason)
    return Metric(key, label, start, end, max(0, int((b - a).total_seconds())), definition)


def compute(issue: dict, events: list[dict], steps: list[dict]) -> list[Metric]:
    """The four metrics for one incident, given its events in chronological order."""
    opened = issue.get("created_at")
    times = [e["created_at"] for e in events if parse_time(e.get("created_at"))]
    earliest = min(times) if times else None
    first_sign = earliest if earliest and opened and earliest < opened else None

    mitigation = next((e["created_at"] for e in events if e["event_type"] in MITIGATION_TYPES),
                      None)
    has_root_cause = any(s.get("is_root_cause") for s in steps)
    root_events = [e["created_at"] for e in events if e["event_type"] == "root_cause_identified"]
    root_cause_at = root_events[-1] if has_root_cause and root_events else None
    resolved = issue.get("resolved_at")

    return [
        _interval("time_to_detect", "Time to detect",
                  "Earliest timeline entry (when the problem began) → incident opened",
                  first_sign, opened,
                  "No timeline entry precedes the opening; add a back-dated entry for "
                  "when the problem began."),
        _interval("time_to_mitigate", "Time to mitigate",
                  "Incident opened → first mitigation applied or service restored",
                  opened, mitigation, "No mitigation or service-restored entry yet."),
        _interval("time_to_root_cause", "Time to root cause",
                  "Incident opened → root cause identified in the 5-Whys",
                  opened, root_cause_at, "No 5-Whys step is marked as the root cause yet."),
        _interval("time_to_resolve", "Time to resolve",
                  "Incident opened → marked resolved",
                  opened, resolved, "The incident is not resolved yet."),
    ]


def as_dict(metrics: list[Metric]) -> dict:
    return {m.key: m.to_dict() for m in metrics}
