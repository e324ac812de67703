"""Dashboard figures computed from known data."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from tftsr.errors import TftsrError


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def set_times(app, issue_id: str, created_at: str, resolved_at: str | None = None) -> None:
    with app.db.transaction() as conn:
        conn.execute("UPDATE issues SET created_at = ?, resolved_at = ? WHERE id = ?",
                     (created_at, resolved_at, issue_id))


def test_empty_database(call):
    board = call("get_dashboard")
    assert board["open_by_severity"] == {"critical": 0, "high": 0, "medium": 0, "low": 0}
    assert board["status_counts"] == {"open": 0, "investigating": 0, "resolved": 0,
                                      "closed": 0}
    assert board["total"] == 0
    assert board["mttr_hours"] is None and board["resolved_in_range"] == 0
    assert board["recent_activity"] == []
    assert len(board["incidents_over_time"]) == 30
    assert all(day["count"] == 0 for day in board["incidents_over_time"])


def test_open_by_severity_counts_open_and_investigating_only(call, make_issue):
    make_issue(severity="critical")
    investigating = make_issue(severity="critical")
    make_issue(severity="low")
    resolved = make_issue(severity="high")
    closed = make_issue(severity="medium")
    call("set_issue_status", issue_id=investigating["id"], status="investigating")
    call("set_issue_status", issue_id=resolved["id"], status="resolved")
    call("set_issue_status", issue_id=closed["id"], status="closed")
    board = call("get_dashboard")
    assert board["open_by_severity"] == {"critical": 2, "high": 0, "medium": 0, "low": 1}
    assert board["status_counts"] == {"open": 2, "investigating": 1, "resolved": 1,
                                      "closed": 1}
    assert board["total"] == 5


@pytest.mark.parametrize("days", [1, 7, 30, 365])
def test_incidents_over_time_has_one_entry_per_day(app, call, make_issue, days):
    now = datetime.now(UTC)
    make_issue()
    make_issue()
    if days > 3:
        old = make_issue()
        set_times(app, old["id"], stamp(now - timedelta(days=3)))
    ancient = make_issue()
    set_times(app, ancient["id"], stamp(now - timedelta(days=days + 5)))
    series = call("get_dashboard", days=days)["incidents_over_time"]
    assert len(series) == days
    dates = [date.fromisoformat(d["date"]) for d in series]
    assert dates == [dates[-1] - timedelta(days=days - 1 - i) for i in range(days)]
    by_date = {d["date"]: d["count"] for d in series}
    assert by_date[now.date().isoformat()] == 2
    if days > 3:
        assert by_date[(now - timedelta(days=3)).date().isoformat()] == 1
    assert sum(by_date.values()) == (3 if days > 3 else 2)
    assert list(by_date.values()).count(0) == days - (2 if days > 3 else 1)


def set_milestones(app, issue_id: str, **columns) -> None:
    sets = ", ".join(f"{k} = ?" for k in columns)
    with app.db.transaction() as conn:
        conn.execute(f"UPDATE issues SET {sets} WHERE id = ?", [*columns.values(), issue_id])


def test_mttr_from_milestones(app, call, make_issue):
    """Mean time to resolve runs from detected to resolved; an incident without both
    milestones is not counted (and not guessed from when its record was made)."""
    now = datetime.now(UTC).replace(microsecond=0)
    two, four, no_detection, old = (make_issue() for _ in range(4))
    for issue in (two, four, no_detection):
        call("set_issue_status", issue_id=issue["id"], status="resolved")
    set_times(app, two["id"], stamp(now - timedelta(hours=10)), stamp(now - timedelta(hours=8)))
    set_milestones(app, two["id"], detected_at=stamp(now - timedelta(hours=10)))
    set_times(app, four["id"], stamp(now - timedelta(hours=6)), stamp(now - timedelta(hours=2)))
    set_milestones(app, four["id"], detected_at=stamp(now - timedelta(hours=6)))
    # Opened and resolved within the window, but nobody said when it was detected.
    set_times(app, no_detection["id"], stamp(now - timedelta(hours=5)), stamp(now - timedelta(hours=1)))
    # Opened long before the window: counts for all time, not for the last 30 days.
    call("set_issue_status", issue_id=old["id"], status="closed")
    set_times(app, old["id"], stamp(now - timedelta(days=100)),
              stamp(now - timedelta(days=100) + timedelta(hours=12)))
    set_milestones(app, old["id"], detected_at=stamp(now - timedelta(days=100)))
    board = call("get_dashboard", days=30)
    assert board["mttr_hours"] == 3.0
    assert board["resolved_in_range"] == 2
    assert board["response_metrics"]["overall"]["mttr"] == {"seconds": 3 * 3600, "count": 2}
    assert board["response_metrics"]["overall"]["incidents"] == 3
    assert board["mttr_hours_all_time"] == 6.0
    assert call("get_dashboard", days=365)["mttr_hours"] == 6.0


def test_response_metrics_by_severity_domain_and_week(app, call, make_issue):
    now = datetime.now(UTC).replace(microsecond=0)
    opened = now - timedelta(days=2)
    cases = [  # severity, category, minutes impact->detected, detected->ack, detected->resolved
        ("critical", "network", 10, 2, 60),
        ("critical", "databases", 20, 4, 120),
        ("low", "network", 30, None, None),
    ]
    for severity, category, ttd, tta, ttr in cases:
        issue = make_issue(severity=severity, category=category)
        set_times(app, issue["id"], stamp(opened))
        detected = opened
        set_milestones(
            app, issue["id"], impact_started_at=stamp(detected - timedelta(minutes=ttd)),
            detected_at=stamp(detected),
            acknowledged_at=stamp(detected + timedelta(minutes=tta)) if tta else None,
            resolved_at=stamp(detected + timedelta(minutes=ttr)) if ttr else None)
    # Milestones in the wrong order (stored before the check existed) are not counted.
    bad = make_issue(severity="low", category="network")
    set_milestones(app, bad["id"], impact_started_at=stamp(now), detected_at=stamp(now - timedelta(hours=1)))

    rm = call("get_dashboard", days=90)["response_metrics"]
    assert rm["bucket"] == "week"
    assert rm["overall"]["mttd"] == {"seconds": 20 * 60, "count": 3}
    assert rm["overall"]["mtta"] == {"seconds": 3 * 60, "count": 2}
    assert rm["overall"]["mttr"] == {"seconds": 90 * 60, "count": 2}
    by_sev = {r["severity"]: r for r in rm["by_severity"]}
    assert by_sev["critical"]["mttd"] == {"seconds": 15 * 60, "count": 2}
    assert by_sev["low"]["mttd"] == {"seconds": 30 * 60, "count": 1}
    assert by_sev["low"]["incidents"] == 2
    by_dom = {r["category"]: r for r in rm["by_domain"]}
    assert by_dom["network"]["mttr"] == {"seconds": 60 * 60, "count": 1}
    assert by_dom["databases"]["mtta"] == {"seconds": 4 * 60, "count": 1}
    week = date.fromisoformat(stamp(opened)[:10])
    week -= timedelta(days=week.weekday())
    [bucket] = [b for b in rm["trend"] if b["start"] == week.isoformat()]
    assert bucket["mttd"]["count"] == 3 and bucket["incidents"] >= 3
    assert all(date.fromisoformat(b["start"]).weekday() == 0 for b in rm["trend"])
    # One severity or domain only.
    only = call("get_dashboard", days=90, severity="critical")["response_metrics"]
    assert only["overall"]["mttd"] == {"seconds": 15 * 60, "count": 2}
    net = call("get_dashboard", days=90, category="network")["response_metrics"]
    assert net["overall"]["mttr"] == {"seconds": 60 * 60, "count": 1}
    daily = call("get_dashboard", days=7)["response_metrics"]
    assert daily["bucket"] == "day" and len(daily["trend"]) == 7


def test_recent_activity_newest_first(call, make_issue):
    first = make_issue(title="First")
    second = make_issue(title="Second")
    call("add_timeline_event", issue_id=first["id"], event_type="note",
         description="old note", occurred_at="2020-01-01 00:00:00")
    call("set_issue_status", issue_id=second["id"], status="investigating")
    activity = call("get_dashboard")["recent_activity"]
    assert activity[0]["event"]["event_type"] == "status_changed"
    assert activity[0]["issue_title"] == "Second"
    assert activity[-1]["event"]["description"] == "old note"
    stamps = [a["event"]["created_at"] for a in activity]
    assert stamps == sorted(stamps, reverse=True)
    assert {a["issue_title"] for a in activity} == {"First", "Second"}


def test_recent_activity_is_capped_at_fifteen(call, make_issue):
    issue = make_issue()
    for i in range(20):
        call("add_timeline_event", issue_id=issue["id"], event_type="note",
             description=f"note {i}", occurred_at=f"2026-01-01 00:00:{i:02d}")
    activity = call("get_dashboard")["recent_activity"]
    assert len(activity) == 15
    assert activity[0]["event"]["event_type"] == "triage_started"
    assert activity[1]["event"]["description"] == "note 19"


@pytest.mark.parametrize("days", [0, 366, -1, "30", 1.5, True])
def test_days_out_of_range(call, days):
    with pytest.raises(TftsrError) as info:
        call("get_dashboard", days=days)
    assert info.value.code == "invalid_argument" and "days" in info.value.message
