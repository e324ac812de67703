"""Response metrics, computed from the incident's milestones and nothing else.

The milestones (:mod:`tftsr.issues.milestones`) are set by people — back-dated when the
incident was opened after the fact — so every duration runs between two moments someone
entered, never from when a record happened to be created:

* **Time to detect** — impact started → detected
* **Time to acknowledge** — detected → acknowledged
* **Time to mitigate** — detected → mitigated
* **Time to resolve** — detected → resolved
* **Impact duration** — impact started → mitigated (the impact stopped), or → resolved
  when no mitigation was recorded

A metric whose milestones are not both set is "Not set", with the missing milestone
named. Milestones are refused in an order that would make a duration negative; a stored
pair in the wrong order (written before that check existed) is shown as not measurable,
never as a negative or zero duration.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from tftsr.issues.milestones import BY_KEY
from tftsr.issues.milestones import parse as parse_time
from tftsr.issues.milestones import values as milestone_values

# Timeline entries that describe a mitigation (used for suggestions and the chart).
MITIGATION_TYPES = ("mitigation_applied", "service_restored")
NOT_SET = "Not set"


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
    start_milestone: str = ""
    end_milestone: str = ""

    @property
    def display(self) -> str:
        return format_duration(self.seconds) if self.seconds is not None else NOT_SET

    def to_dict(self) -> dict:
        return {**asdict(self), "display": self.display}


# key, label, from milestone, to milestone(s) (the first one set is used)
DEFINITIONS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("time_to_detect", "Time to detect", "impact_started", ("detected",)),
    ("time_to_acknowledge", "Time to acknowledge", "detected", ("acknowledged",)),
    ("time_to_mitigate", "Time to mitigate", "detected", ("mitigated",)),
    ("time_to_resolve", "Time to resolve", "detected", ("resolved",)),
    ("impact_duration", "Impact duration", "impact_started", ("mitigated", "resolved")),
)
KEYS = tuple(d[0] for d in DEFINITIONS)


def _definition(start: str, ends: tuple[str, ...]) -> str:
    text = f"{BY_KEY[start].label} → {BY_KEY[ends[0]].label.lower()}"
    if len(ends) > 1:
        text += f" (or {BY_KEY[ends[1]].label.lower()} when it was not {BY_KEY[ends[0]].label.lower()})"
    return text


def between(start: str | None, end: str | None) -> int | None:
    """Whole seconds from ``start`` to ``end``; None when either is missing or the end
    comes first (an order the milestones refuse)."""
    a, b = parse_time(start), parse_time(end)
    if a is None or b is None or b < a:
        return None
    return int((b - a).total_seconds())


def compute(issue: dict) -> list[Metric]:
    """The response metrics of one incident, from its milestones."""
    vals = milestone_values(issue)
    out = []
    for key, label, start_key, end_keys in DEFINITIONS:
        end_key = next((k for k in end_keys if vals[k]), end_keys[0])
        start, end = vals[start_key], vals[end_key]
        missing = [BY_KEY[k].label for k, v in ((start_key, start), (end_key, end)) if not v]
        if missing:
            reason = (" and ".join(missing) + (" is" if len(missing) == 1 else " are")
                      + " not set.")
        else:
            reason = None
        seconds = between(start, end)
        if seconds is None and not missing:
            reason = (f"{BY_KEY[end_key].label} is before {BY_KEY[start_key].label.lower()}; "
                      "correct the milestones.")
        out.append(Metric(key, label, start, end, seconds, _definition(start_key, end_keys),
                          reason, start_key, end_key))
    return out


def as_dict(metrics: list[Metric]) -> dict:
    return {m.key: m.to_dict() for m in metrics}
