"""Figures for the dashboard: open incidents, trend, mean time to resolve, recent activity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tftsr.issues.domains import SEVERITIES, STATUSES
from tftsr.issues.timeline import to_dict as event_to_dict


def dashboard(conn, days: int = 30) -> dict:
    open_by_sev = {s: 0 for s in SEVERITIES}
    for r in conn.execute("SELECT severity, count(*) AS n FROM issues WHERE status IN"
                          " ('open', 'investigating') GROUP BY severity"):
        open_by_sev[r["severity"]] = r["n"]
    status_counts = {s: 0 for s in STATUSES}
    for r in conn.execute("SELECT status, count(*) AS n FROM issues GROUP BY status"):
        status_counts[r["status"]] = r["n"]

    today = datetime.now(UTC).date()
    start = today - timedelta(days=days - 1)
    per_day = {r["d"]: r["n"] for r in conn.execute(
        "SELECT substr(created_at, 1, 10) AS d, count(*) AS n FROM issues"
        " WHERE created_at >= ? GROUP BY d", (start.isoformat() + " 00:00:00",))}
    series = [{"date": (start + timedelta(days=i)).isoformat(),
               "count": per_day.get((start + timedelta(days=i)).isoformat(), 0)}
              for i in range(days)]

    mttr = conn.execute(
        "SELECT avg((julianday(resolved_at) - julianday(created_at)) * 24.0) AS h, count(*) AS n"
        " FROM issues WHERE resolved_at IS NOT NULL AND resolved_at >= ?",
        (start.isoformat() + " 00:00:00",),
    ).fetchone()
    mttr_all = conn.execute(
        "SELECT avg((julianday(resolved_at) - julianday(created_at)) * 24.0) AS h"
        " FROM issues WHERE resolved_at IS NOT NULL").fetchone()

    recent = conn.execute(
        "SELECT t.id, t.issue_id, t.event_type, t.description, t.metadata, t.created_at,"
        " i.title AS issue_title, i.severity AS issue_severity FROM timeline_events t"
        " JOIN issues i ON i.id = t.issue_id ORDER BY t.created_at DESC, t.rowid DESC LIMIT 15"
    ).fetchall()
    activity = []
    for r in recent:
        r = dict(r)
        title = r.pop("issue_title")
        severity = r.pop("issue_severity")
        activity.append({"event": event_to_dict(r), "issue_title": title, "issue_severity": severity})

    return {
        "open_by_severity": open_by_sev,
        "status_counts": status_counts,
        "total": sum(status_counts.values()),
        "incidents_over_time": series,
        "days": days,
        "mttr_hours": round(mttr["h"], 2) if mttr["h"] is not None else None,
        "mttr_hours_all_time": round(mttr_all["h"], 2) if mttr_all["h"] is not None else None,
        "resolved_in_range": mttr["n"],
        "recent_activity": activity,
    }
