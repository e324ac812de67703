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


def test_mttr_from_resolved_incidents(app, call, make_issue):
    now = datetime.now(UTC).replace(microsecond=0)
    two, four, _still_open, old = (make_issue() for _ in range(4))
    for issue in (two, four):
        call("set_issue_status", issue_id=issue["id"], status="resolved")
    set_times(app, two["id"], stamp(now - timedelta(hours=10)), stamp(now - timedelta(hours=8)))
    set_times(app, four["id"], stamp(now - timedelta(hours=6)), stamp(now - timedelta(hours=2)))
    # Resolved long before the window: counts for all time, not for the last 30 days.
    call("set_issue_status", issue_id=old["id"], status="closed")
    set_times(app, old["id"], stamp(now - timedelta(days=100)),
              stamp(now - timedelta(days=100) + timedelta(hours=12)))
    board = call("get_dashboard", days=30)
    assert board["mttr_hours"] == 3.0
    assert board["resolved_in_range"] == 2
    assert board["mttr_hours_all_time"] == 6.0
    assert call("get_dashboard", days=365)["mttr_hours"] == 6.0


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
