"""Figures for the dashboard: open incidents, trend, response metrics, recent activity.

Response metrics (MTTD, MTTA, MTTR) are means over the incidents opened in the chosen
period, each measured between two milestones (:mod:`tftsr.docs.metrics`): an incident
counts towards a mean only when both of its milestones are set, and the number that
did is reported beside every mean. They are grouped by severity, by domain and by week
(or day, for short periods), aggregated in SQL by two scans of one covering index
(``idx_issues_response``, migration 040): one grouped by severity and domain, one by day.
The unary ``+`` on the grouped and filtered columns keeps SQLite from walking the whole
table in severity or category order instead.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from tftsr.issues.domains import SEVERITIES, STATUSES
from tftsr.issues.timeline import to_dict as event_to_dict

# key, label, start column, end column (metrics.DEFINITIONS, as columns)
RESPONSE_METRICS = (
    ("mttd", "Mean time to detect", "impact_started_at", "detected_at"),
    ("mtta", "Mean time to acknowledge", "detected_at", "acknowledged_at"),
    ("mttr", "Mean time to resolve", "detected_at", "resolved_at"),
)


def _seconds_sql(start: str, end: str) -> str:
    """Seconds from start to end when both are set and in order, else NULL."""
    return (f"CASE WHEN {start} IS NOT NULL AND {end} IS NOT NULL AND {end} >= {start}"
            f" THEN (julianday({end}) - julianday({start})) * 86400.0 END")


def _bucket_start(day: date, weekly: bool) -> date:
    return day - timedelta(days=day.weekday()) if weekly else day


def _mean(total: float, n: int) -> dict:
    return {"seconds": round(total / n) if n else None, "count": n}


def _sums() -> str:
    return ", ".join(f"sum({_seconds_sql(a, b)}) AS {k}_sum, count({_seconds_sql(a, b)}) AS {k}_n"
                     for k, _label, a, b in RESPONSE_METRICS)


def response_metrics(conn, start: date, days: int, severity: str | None = None,
                     category: str | None = None) -> tuple[dict, dict[str, int]]:
    """MTTD/MTTA/MTTR over incidents opened from ``start`` (``days`` long), overall, by
    severity, by domain and over time; optionally for one severity or domain only.
    Also returns {day: incidents opened} for the same selection."""
    where, params = ["created_at >= ?"], [start.isoformat() + " 00:00:00"]
    if severity:
        where.append("+severity = ?")
        params.append(severity)
    if category:
        where.append("+category = ?")
        params.append(category)
    where_sql = " AND ".join(where)
    by_group = conn.execute(
        f"SELECT severity, category, count(*) AS n, {_sums()} FROM issues WHERE {where_sql}"
        " GROUP BY +severity, +category", params).fetchall()
    by_day = conn.execute(
        f"SELECT substr(created_at, 1, 10) AS day, count(*) AS n, {_sums()} FROM issues"
        f" WHERE {where_sql} GROUP BY day", params).fetchall()
    weekly = days > 31
    keys = [k for k, *_ in RESPONSE_METRICS]

    def empty():
        return {"incidents": 0, **{f"{k}_sum": 0.0 for k in keys}, **{f"{k}_n": 0 for k in keys}}

    def add(target: dict, row) -> None:
        target["incidents"] += row["n"]
        for k in keys:
            target[f"{k}_sum"] += row[f"{k}_sum"] or 0.0
            target[f"{k}_n"] += row[f"{k}_n"]

    overall, by_sev, by_dom, by_bucket = empty(), {}, {}, {}
    for r in by_group:
        add(overall, r)
        add(by_sev.setdefault(r["severity"], empty()), r)
        add(by_dom.setdefault(r["category"] or "", empty()), r)
    per_day: dict[str, int] = {}
    for r in by_day:
        per_day[r["day"]] = r["n"]
        try:
            bucket = _bucket_start(date.fromisoformat(r["day"]), weekly).isoformat()
        except (TypeError, ValueError):
            continue
        add(by_bucket.setdefault(bucket, empty()), r)

    def figures(acc: dict) -> dict:
        return {"incidents": acc["incidents"],
                **{k: _mean(acc[f"{k}_sum"], acc[f"{k}_n"]) for k in keys}}

    first = _bucket_start(start, weekly)
    end = datetime.now(UTC).date()
    trend, cursor = [], first
    while cursor <= end:
        trend.append({"start": cursor.isoformat(),
                      **figures(by_bucket.get(cursor.isoformat(), empty()))})
        cursor += timedelta(days=7 if weekly else 1)
    result = {
        "definitions": [{"key": k, "label": label,
                         "from": a.removesuffix("_at"), "to": b.removesuffix("_at")}
                        for k, label, a, b in RESPONSE_METRICS],
        "days": days, "severity": severity, "category": category,
        "bucket": "week" if weekly else "day",
        "overall": figures(overall),
        "by_severity": [{"severity": s, **figures(by_sev[s])} for s in SEVERITIES if s in by_sev],
        "by_domain": [{"category": c, **figures(by_dom[c])}
                      for c in sorted(by_dom, key=lambda c: (-by_dom[c]["incidents"], c))],
        "trend": trend,
    }
    return result, per_day


def dashboard(conn, days: int = 30, severity: str | None = None,
              category: str | None = None) -> dict:
    open_by_sev = {s: 0 for s in SEVERITIES}
    for r in conn.execute("SELECT severity, count(*) AS n FROM issues WHERE status IN"
                          " ('open', 'investigating') GROUP BY severity"):
        open_by_sev[r["severity"]] = r["n"]
    status_counts = {s: 0 for s in STATUSES}
    for r in conn.execute("SELECT status, count(*) AS n FROM issues GROUP BY status"):
        status_counts[r["status"]] = r["n"]

    today = datetime.now(UTC).date()
    start = today - timedelta(days=days - 1)
    response, per_day = response_metrics(conn, start, days, severity, category)
    if severity or category:  # the incidents-per-day chart is never filtered
        per_day = {r["d"]: r["n"] for r in conn.execute(
            "SELECT substr(created_at, 1, 10) AS d, count(*) AS n FROM issues"
            " WHERE created_at >= ? GROUP BY d", (start.isoformat() + " 00:00:00",))}
    series = [{"date": (start + timedelta(days=i)).isoformat(),
               "count": per_day.get((start + timedelta(days=i)).isoformat(), 0)}
              for i in range(days)]

    ttr = _seconds_sql("detected_at", "resolved_at")
    mttr_all = conn.execute(f"SELECT avg({ttr}) / 3600.0 AS h FROM issues"
                            " WHERE resolved_at IS NOT NULL AND detected_at IS NOT NULL").fetchone()
    mttr = response["overall"]["mttr"]

    recent = conn.execute(
        "SELECT t.id, t.issue_id, t.event_type, t.description, t.metadata, t.created_at,"
        " i.title AS issue_title, i.severity AS issue_severity FROM timeline_events t"
        " JOIN issues i ON i.id = t.issue_id ORDER BY t.created_at DESC, t.rowid DESC LIMIT 15"
    ).fetchall()
    activity = []
    for r in recent:
        r = dict(r)
        title = r.pop("issue_title")
        sev = r.pop("issue_severity")
        activity.append({"event": event_to_dict(r), "issue_title": title, "issue_severity": sev})

    return {
        "open_by_severity": open_by_sev,
        "status_counts": status_counts,
        "total": sum(status_counts.values()),
        "incidents_over_time": series,
        "days": days,
        "mttr_hours": round(mttr["seconds"] / 3600, 2) if mttr["seconds"] is not None else None,
        "mttr_hours_all_time": round(mttr_all["h"], 2) if mttr_all["h"] is not None else None,
        "resolved_in_range": mttr["count"],
        "response_metrics": response,
        "recent_activity": activity,
    }
