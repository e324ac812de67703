"""Figures for the dashboard: open incidents, trend, response metrics, recent activity.

Response metrics (MTTD, MTTA, MTTR) are means over the incidents opened in the chosen
period, each measured between two milestones (:mod:`tftsr.docs.metrics`): an incident
counts towards a mean only when both of its milestones are set, and the number that
did is reported beside every mean. They are grouped by severity, by domain and by week
(or day, for short periods).

Nothing here reads incidents one by one: migration 042 keeps running totals of the
incidents opened per severity, domain and day or week (``issue_period_stats``: how many,
and the sum and count of each response time in seconds), the incidents opened per day
(``issue_day_counts``) and per severity, domain and status (``issue_status_stats``). A
year is about 53 weekly rows per group.
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


def _bucket_start(day: date, weekly: bool) -> date:
    return day - timedelta(days=day.weekday()) if weekly else day


def _mean(total: float, n: int) -> dict:
    return {"seconds": round(total / n) if n else None, "count": n}


STAT_COLUMNS = ("mttd_sum", "mttd_n", "mtta_sum", "mtta_n", "mttr_sum", "mttr_n")
SUMS = "sum(d.incidents) AS n, " + ", ".join(f"sum(d.{c}) AS {c}" for c in STAT_COLUMNS)


def _by_group(conn, grain: str, since: str, until: str | None, only: str,
              params: list) -> list:
    """Sums per (severity, domain) over the days or weeks from ``since`` (up to
    ``until``). Each pair seeks its own periods, and the pairs come in order, so SQLite
    adds up as it goes instead of sorting every period's row."""
    upto = " AND d.period < ?" if until else ""
    return conn.execute(
        f"SELECT g.severity, g.category, {SUMS} FROM (SELECT DISTINCT severity, category"
        f" FROM issue_status_stats{only} ORDER BY severity, category) g"
        " JOIN issue_period_stats d ON d.grain = ? AND d.severity = g.severity"
        f" AND d.category = g.category AND d.period >= ?{upto} GROUP BY g.severity, g.category",
        [*params, grain, since, *([until] if until else [])]).fetchall()


def _by_period(conn, grain: str, since: str, until: str | None, where: list[str],
               params: list) -> list:
    """Sums per day or week from ``since`` (up to ``until``)."""
    upto = " AND d.period < ?" if until else ""
    return conn.execute(
        f"SELECT d.period AS bucket, {SUMS} FROM issue_period_stats d WHERE d.grain = ?"
        f" AND d.period >= ?{upto}{''.join(' AND d.' + w for w in where)} GROUP BY d.period",
        [grain, since, *([until] if until else []), *params]).fetchall()


def response_metrics(conn, start: date, days: int, severity: str | None = None,
                     category: str | None = None) -> dict:
    """MTTD/MTTA/MTTR over incidents opened from ``start`` (``days`` long), overall, by
    severity, by domain and over time; optionally for one severity or domain only.

    Whole weeks come from the weekly totals and the days before the first Monday from
    the daily ones, so a year is about 53 rows per group."""
    where, params = [], []
    if severity:
        where.append("severity = ?")
        params.append(severity)
    if category:
        where.append("category = ?")
        params.append(category)
    only = (" WHERE " + " AND ".join(where)) if where else ""
    weekly = days > 31
    monday = start + timedelta(days=-start.weekday() % 7)  # the first Monday from start
    since, split = start.isoformat(), monday.isoformat()
    by_group = (_by_group(conn, "day", since, split, only, params) if monday > start else [])
    by_group += _by_group(conn, "week", split, None, only, params)
    if weekly:
        by_period = _by_period(conn, "week", split, None, where, params)
        if monday > start:  # the days before the first Monday: the first (partial) week
            first_days = _by_period(conn, "day", since, split, where, params)
            by_period += [{**r, "bucket": _bucket_start(start, True).isoformat()}
                          for r in first_days]
    else:
        by_period = _by_period(conn, "day", since, None, where, params)
    keys = [k for k, *_ in RESPONSE_METRICS]
    sums = ("n", *STAT_COLUMNS)

    def add(target: dict, key, row) -> None:
        acc = target.get(key)
        if acc is None:
            target[key] = [row[c] for c in sums]
        else:
            for i, c in enumerate(sums):
                acc[i] += row[c]

    overall, by_sev, by_dom, by_bucket = {}, {}, {}, {}
    for r in by_group:
        add(overall, None, r)
        add(by_sev, r["severity"], r)
        add(by_dom, r["category"] or "", r)
    for r in by_period:
        add(by_bucket, r["bucket"], r)

    def figures(acc: list | None) -> dict:
        acc = acc or [0] * len(sums)
        return {"incidents": acc[0],
                **{k: _mean(acc[1 + 2 * i], acc[2 + 2 * i]) for i, k in enumerate(keys)}}

    first = _bucket_start(start, weekly)
    end = datetime.now(UTC).date()
    trend, cursor = [], first
    while cursor <= end:
        text = cursor.isoformat()
        trend.append({"start": text, **figures(by_bucket.get(text))})
        cursor += timedelta(days=7 if weekly else 1)
    by_dom_n = {c: acc[0] for c, acc in by_dom.items()}
    return {
        "definitions": [{"key": k, "label": label,
                         "from": a.removesuffix("_at"), "to": b.removesuffix("_at")}
                        for k, label, a, b in RESPONSE_METRICS],
        "days": days, "severity": severity, "category": category,
        "bucket": "week" if weekly else "day",
        "overall": figures(overall.get(None)),
        "by_severity": [{"severity": s, **figures(by_sev[s])} for s in SEVERITIES if s in by_sev],
        "by_domain": [{"category": c, **figures(by_dom[c])}
                      for c in sorted(by_dom, key=lambda c: (-by_dom_n[c], c))],
        "trend": trend,
    }


def dashboard(conn, days: int = 30, severity: str | None = None,
              category: str | None = None) -> dict:
    open_by_sev = {s: 0 for s in SEVERITIES}
    status_counts = {s: 0 for s in STATUSES}
    for r in conn.execute("SELECT status, severity, sum(incidents) AS n FROM issue_status_stats"
                          " GROUP BY status, severity"):
        status_counts[r["status"]] = status_counts.get(r["status"], 0) + r["n"]
        if r["status"] in ("open", "investigating"):
            open_by_sev[r["severity"]] = open_by_sev.get(r["severity"], 0) + r["n"]

    today = datetime.now(UTC).date()
    start = today - timedelta(days=days - 1)
    response = response_metrics(conn, start, days, severity, category)
    # The incidents-per-day chart is never filtered.
    per_day = {r["day"]: r["incidents"] for r in conn.execute(
        "SELECT day, incidents FROM issue_day_counts WHERE day >= ?", (start.isoformat(),))}
    series = [{"date": d, "count": per_day.get(d, 0)}
              for d in ((start + timedelta(days=i)).isoformat() for i in range(days))]

    all_time = conn.execute("SELECT sum(mttr_sum) AS s, sum(mttr_n) AS n"
                            " FROM issue_status_stats").fetchone()
    mttr_all = all_time["s"] / all_time["n"] / 3600.0 if all_time["n"] else None
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
        "mttr_hours_all_time": round(mttr_all, 2) if mttr_all is not None else None,
        "resolved_in_range": mttr["count"],
        "response_metrics": response,
        "recent_activity": activity,
    }
