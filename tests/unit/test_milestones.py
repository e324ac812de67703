"""Milestones and the response metrics measured between them, through the real commands
on a real SQLCipher file: back-dated, missing and out-of-order milestones, the status
workflow's part, suggestions from the timeline, the audit trail, and the post-mortem of an
outage that began hours before anyone opened the incident."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from tftsr.docs import metrics
from tftsr.errors import TftsrError


def metric_map(result) -> dict:
    return {m["key"]: m for m in result["metrics"]}


def expect_refused(call, *args, **kwargs) -> str:
    with pytest.raises(TftsrError) as info:
        call(*args, **kwargs)
    assert info.value.code == "invalid_argument"
    return info.value.message


def audit(call, issue_id, action):
    return [e for e in call("get_audit_log", action=action)["items"] if e["entity_id"] == issue_id]


def test_back_dated_milestones_give_the_true_durations(call, make_issue):
    """Opened at 11:48 for an outage that began at 02:10: the durations follow the
    entered moments, not the moment the record was made."""
    issue = make_issue(title="Checkout down overnight")
    result = call("set_issue_milestones", issue_id=issue["id"],
                  impact_started="2026-03-01 02:10", detected="2026-03-01 02:13",
                  acknowledged="2026-03-01 02:15", mitigated="2026-03-01 02:22",
                  resolved="2026-03-01 02:25")
    m = metric_map(result)
    assert m["time_to_detect"]["seconds"] == 3 * 60
    assert m["time_to_acknowledge"]["seconds"] == 2 * 60
    assert m["time_to_mitigate"]["seconds"] == 9 * 60
    assert m["time_to_resolve"]["seconds"] == 12 * 60 and m["time_to_resolve"]["display"] == "12 min"
    assert m["impact_duration"]["seconds"] == 12 * 60
    assert m["impact_duration"]["start"] == "2026-03-01 02:10:00"
    assert m["impact_duration"]["end"] == "2026-03-01 02:22:00"
    assert {x["key"]: x["at"] for x in result["milestones"]}["closed"] is None
    # The incident record itself was opened now, hours later: it plays no part.
    assert result["issue"]["created_at"] > "2026-03-01 02:25:00"
    assert call("get_issue", issue_id=issue["id"])["metrics"] == result["metrics"]


def test_missing_milestones_are_not_set_never_zero(call, make_issue):
    issue = make_issue()
    m = metric_map(call("get_issue", issue_id=issue["id"]))
    for key in metrics.KEYS:
        assert m[key]["seconds"] is None and m[key]["display"] == "Not set"
    assert m["time_to_detect"]["missing_reason"] == "Impact started and Detected are not set."
    m = metric_map(call("set_issue_milestones", issue_id=issue["id"], detected="2026-03-01 02:13"))
    assert m["time_to_detect"]["missing_reason"] == "Impact started is not set."
    assert m["time_to_acknowledge"]["missing_reason"] == "Acknowledged is not set."
    # Impact duration falls back to resolved only when there is no mitigation.
    m = metric_map(call("set_issue_milestones", issue_id=issue["id"],
                        impact_started="2026-03-01 02:00", resolved="2026-03-01 03:00"))
    assert m["impact_duration"]["seconds"] == 3600 and m["impact_duration"]["end_milestone"] == "resolved"


@pytest.mark.parametrize("moments, words", [
    ({"impact_started": "2026-03-01 02:10", "mitigated": "2026-03-01 02:05"},
     ("Mitigated", "impact started", "02:05", "02:10")),
    ({"detected": "2026-03-01 02:30", "acknowledged": "2026-03-01 02:20"},
     ("Acknowledged", "detected")),
    ({"mitigated": "2026-03-01 04:00", "resolved": "2026-03-01 03:00"},
     ("Resolved", "mitigated")),
    ({"resolved": "2026-03-01 04:00", "closed": "2026-03-01 03:59:59"}, ("Closed", "resolved")),
])
def test_out_of_order_milestones_are_refused_and_nothing_changes(call, make_issue, moments, words):
    issue = make_issue()
    before = call("get_issue", issue_id=issue["id"])
    message = expect_refused(call, "set_issue_milestones", issue_id=issue["id"], **moments)
    for word in words:
        assert word in message
    after = call("get_issue", issue_id=issue["id"])
    assert after["milestones"] == before["milestones"] and after["issue"] == before["issue"]
    assert audit(call, issue["id"], "milestone_set") == []


def test_an_order_broken_by_one_correction_is_refused(call, make_issue):
    issue = make_issue()
    call("set_issue_milestones", issue_id=issue["id"], impact_started="2026-03-01 02:10",
         mitigated="2026-03-01 02:22")
    message = expect_refused(call, "set_issue_milestones", issue_id=issue["id"],
                             impact_started="2026-03-01 02:30")
    assert "Mitigated (2026-03-01 02:22:00 UTC) cannot be before impact started" in message
    # Correcting both at once in a consistent way is fine; clearing is fine.
    result = call("set_issue_milestones", issue_id=issue["id"], impact_started="2026-03-01 02:30",
                  mitigated="2026-03-01 02:40")
    assert metric_map(result)["impact_duration"]["seconds"] == 600
    result = call("set_issue_milestones", issue_id=issue["id"], mitigated="")
    assert {m["key"]: m["at"] for m in result["milestones"]}["mitigated"] is None


def test_future_moments_are_refused(call, make_issue):
    issue = make_issue()
    later = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%d %H:%M")
    assert "in the future" in expect_refused(call, "set_issue_milestones", issue_id=issue["id"],
                                             detected=later)
    for bad in ("yesterday", "2026-02-30 10:00", 5):
        expect_refused(call, "set_issue_milestones", issue_id=issue["id"], detected=bad)
    expect_refused(call, "set_issue_milestones", issue_id=issue["id"], landed="2026-01-01 00:00")


def test_every_change_is_audited_with_old_and_new(call, make_issue):
    issue = make_issue()
    call("set_issue_milestones", issue_id=issue["id"], detected="2026-03-01 02:13")
    call("set_issue_milestones", issue_id=issue["id"], detected="2026-03-01 02:12")
    call("set_issue_milestones", issue_id=issue["id"], detected="2026-03-01 02:12")  # no change
    call("set_issue_milestones", issue_id=issue["id"], detected="")
    sets = audit(call, issue["id"], "milestone_set")
    assert [(e["details"]["from"], e["details"]["to"]) for e in reversed(sets)] == [
        (None, "2026-03-01 02:13:00"), ("2026-03-01 02:13:00", "2026-03-01 02:12:00")]
    [cleared] = audit(call, issue["id"], "milestone_cleared")
    assert cleared["details"] == {"milestone": "detected", "label": "Detected",
                                  "from": "2026-03-01 02:12:00", "to": None}


def test_status_workflow_keeps_entered_milestones_and_clears_on_reopen(call, make_issue):
    issue = make_issue()
    call("set_issue_milestones", issue_id=issue["id"], impact_started="2026-03-01 02:10",
         resolved="2026-03-01 02:25")
    call("set_issue_status", issue_id=issue["id"], status="investigating")
    assert call("get_issue", issue_id=issue["id"])["issue"]["resolved_at"] == "2026-03-01 02:25:00"
    resolved = call("set_issue_status", issue_id=issue["id"], status="resolved")
    assert resolved["resolved_at"] == "2026-03-01 02:25:00"  # the entered moment, not now
    closed = call("set_issue_status", issue_id=issue["id"], status="closed")
    assert closed["closed_at"] is not None and closed["closed_at"] >= closed["resolved_at"]
    reopened = call("set_issue_status", issue_id=issue["id"], status="investigating")
    assert reopened["resolved_at"] is None and reopened["closed_at"] is None
    assert reopened["impact_started_at"] == "2026-03-01 02:10:00"
    last = call("get_timeline_events", issue_id=issue["id"])[-1]
    assert last["metadata"]["milestones_cleared"] == {"resolved": "2026-03-01 02:25:00",
                                                      "closed": closed["closed_at"]}
    # Marked resolved without an entered moment: resolved is when it was marked.
    again = call("set_issue_status", issue_id=issue["id"], status="resolved")
    assert again["resolved_at"] >= reopened["updated_at"]


def test_marking_resolved_takes_when_it_was_resolved(call, make_issue):
    """The status dialog's moment: a back-dated resolution gives the true time to resolve
    (not the hours until someone clicked), under the milestones' rules, audited."""
    issue = make_issue()
    iid = issue["id"]
    call("set_issue_milestones", issue_id=iid, impact_started="2026-03-01 02:10",
         detected="2026-03-01 02:14", mitigated="2026-03-01 02:22")
    # Before the mitigation, or in the future: refused, nothing changes (not even the status).
    message = expect_refused(call, "set_issue_status", issue_id=iid, status="resolved",
                             resolved_at="2026-03-01 02:20")
    assert "Resolved" in message and "mitigated" in message
    later = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%d %H:%M")
    assert "in the future" in expect_refused(call, "set_issue_status", issue_id=iid,
                                             status="resolved", resolved_at=later)
    for bad in ("yesterday", "2026-02-30 10:00"):
        expect_refused(call, "set_issue_status", issue_id=iid, status="resolved", resolved_at=bad)
    # A moment the move does not set is refused rather than ignored.
    assert "only when the incident is marked closed" in expect_refused(
        call, "set_issue_status", issue_id=iid, status="resolved", closed_at="2026-03-01 03:00")
    assert "resolved or closed" in expect_refused(
        call, "set_issue_status", issue_id=iid, status="investigating",
        resolved_at="2026-03-01 03:00")
    detail = call("get_issue", issue_id=iid)
    assert detail["issue"]["status"] == "open" and detail["issue"]["resolved_at"] is None

    resolved = call("set_issue_status", issue_id=iid, status="resolved", note="Pool raised",
                    resolved_at="2026-03-01 02:25")
    assert resolved["status"] == "resolved" and resolved["resolved_at"] == "2026-03-01 02:25:00"
    m = metric_map(call("get_issue", issue_id=iid))
    assert m["time_to_resolve"]["seconds"] == 11 * 60
    [entry] = audit(call, iid, "milestone_set")[:1]
    assert entry["details"] == {"milestone": "resolved", "label": "Resolved", "from": None,
                                "to": "2026-03-01 02:25:00", "via": "status change"}
    # Closing back-dated too; a close before the resolution is refused.
    assert "Closed" in expect_refused(call, "set_issue_status", issue_id=iid, status="closed",
                                      closed_at="2026-03-01 02:24")
    closed = call("set_issue_status", issue_id=iid, status="closed", closed_at="2026-03-01 09:00")
    assert (closed["resolved_at"], closed["closed_at"]) == ("2026-03-01 02:25:00",
                                                            "2026-03-01 09:00:00")


def test_closing_an_open_incident_takes_both_moments(call, make_issue):
    issue = make_issue()
    iid = issue["id"]
    call("set_issue_milestones", issue_id=iid, detected="2026-03-01 02:14")
    closed = call("set_issue_status", issue_id=iid, status="closed",
                  resolved_at="2026-03-01 02:30", closed_at="2026-03-02 10:00")
    assert (closed["resolved_at"], closed["closed_at"]) == ("2026-03-01 02:30:00",
                                                            "2026-03-02 10:00:00")
    reopened = call("set_issue_status", issue_id=iid, status="investigating")
    assert reopened["resolved_at"] is None and reopened["closed_at"] is None
    cleared = audit(call, iid, "milestone_cleared")
    assert {e["details"]["milestone"] for e in cleared} == {"resolved", "closed"}
    assert all(e["details"]["via"] == "status change" for e in cleared)
    # Only a back-dated close: the resolution is not put after it.
    again = call("set_issue_status", issue_id=iid, status="closed", closed_at="2026-03-02 11:00")
    assert again["closed_at"] == "2026-03-02 11:00:00"
    assert again["resolved_at"] == "2026-03-02 11:00:00"


def test_postmortem_of_an_open_incident_with_a_resolved_milestone_says_both(call, make_issue):
    """Open in the workflow, yet a resolved moment entered: the document says both plainly
    instead of "is open … It was resolved 11 min after it was detected"."""
    issue = make_issue(title="Checkout 502 overnight")
    iid = issue["id"]
    call("set_issue_milestones", issue_id=iid, impact_started="2026-03-01 02:10",
         detected="2026-03-01 02:14", resolved="2026-03-01 02:25")
    md = call("generate_postmortem", issue_id=iid)["content_md"]
    assert ("is **open**. Its milestones nevertheless record it as resolved at 2026-03-01 02:25:00"
            " UTC; the status has not been moved to resolved yet.") in md
    assert "By its milestones, it was resolved 11 min after it was detected." in md
    assert "| Status | Open (resolved milestone already set) |" in md
    assert "It was resolved" not in md
    rca = call("generate_rca", issue_id=iid)["content_md"]
    assert "the status has not been moved to resolved yet" in rca
    # Once marked resolved, one plain sentence again.
    call("set_issue_status", issue_id=iid, status="resolved")
    md = call("generate_postmortem", issue_id=iid)["content_md"]
    assert "is **resolved**." in md and "It was resolved 11 min after it was detected." in md
    assert "nevertheless" not in md and "| Status | Resolved |" in md
    # Resolved, with a closing moment entered ahead of the status.
    call("set_issue_milestones", issue_id=iid, closed="2026-03-01 09:00")
    md = call("generate_postmortem", issue_id=iid)["content_md"]
    assert ("is **resolved**. Its milestones nevertheless record it as closed at "
            "2026-03-01 09:00:00 UTC; the status has not been moved to closed yet.") in md


def test_suggestions_come_from_matching_timeline_entries(call, make_issue):
    issue = make_issue()
    iid = issue["id"]
    call("add_timeline_event", issue_id=iid, event_type="note", description="Errors began",
         occurred_at="2026-03-01 02:10")
    call("add_timeline_event", issue_id=iid, event_type="mitigation_applied",
         description="Rolled back the deploy", occurred_at="2026-03-01 02:22")
    call("set_issue_status", issue_id=iid, status="investigating")
    detail = call("get_issue", issue_id=iid)
    by_key = {s["milestone"]: s for s in detail["milestone_suggestions"]}
    assert by_key["impact_started"]["at"] == "2026-03-01 02:10:00"
    assert by_key["impact_started"]["description"] == "Errors began"
    assert by_key["mitigated"]["at"] == "2026-03-01 02:22:00"
    assert by_key["mitigated"]["source"] == "Mitigation applied"
    assert by_key["detected"]["source"] == "Incident opened"
    assert by_key["acknowledged"]["source"] == "Investigation started"
    assert "resolved" not in by_key and "closed" not in by_key
    # An explicit "impact began" entry wins over the earliest entry; a set milestone is
    # no longer suggested; a suggestion that would break the order is not offered.
    call("add_timeline_event", issue_id=iid, event_type="impact_started",
         description="Checkout 5xx alert", occurred_at="2026-03-01 02:11")
    call("set_issue_milestones", issue_id=iid, mitigated="2026-03-01 02:22")
    call("set_issue_milestones", issue_id=iid, detected="2026-03-01 02:09")
    by_key = {s["milestone"]: s for s in call("get_issue", issue_id=iid)["milestone_suggestions"]}
    assert "mitigated" not in by_key and "detected" not in by_key
    assert "impact_started" not in by_key  # 02:11 would come after detected (02:09)


def test_postmortem_of_an_outage_that_began_before_the_incident_was_opened(call, make_issue):
    issue = make_issue(title="Checkout 502 overnight", severity="critical",
                       category="application")
    iid = issue["id"]
    opened = issue["created_at"]
    day = (datetime.strptime(opened, "%Y-%m-%d %H:%M:%S") - timedelta(days=1)).strftime("%Y-%m-%d")
    call("add_timeline_event", issue_id=iid, event_type="note", description="502s began",
         occurred_at=f"{day} 02:10:00")
    call("add_timeline_event", issue_id=iid, event_type="mitigation_applied",
         description="Restarted the pool", occurred_at=f"{day} 02:22:00")
    call("set_issue_milestones", issue_id=iid, impact_started=f"{day} 02:10",
         detected=f"{day} 02:14", mitigated=f"{day} 02:22", resolved=f"{day} 02:25")
    call("set_issue_status", issue_id=iid, status="resolved")
    md = call("generate_postmortem", issue_id=iid)["content_md"]
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| ([A-Z][a-z ]+) \| \*\*(.+?)\*\* \|", md,
                                                      flags=re.MULTILINE)}
    assert rows["Time to detect"] == "4 min"
    assert rows["Time to mitigate"] == "8 min"
    assert rows["Time to resolve"] == "11 min"
    assert rows["Impact duration"] == "12 min"
    assert f"Impact duration: 12 min ({day} 02:10:00 to {day} 02:22:00 UTC)" in md
    assert f"| Resolved | {day} 02:25:00 |" in md  # the entered moment, not when it was marked
    assert "| **0 s** |" not in md
    # The opening (hours later) is in the story, after the outage.
    assert md.index("502s began") < md.index("Restarted the pool") < md.index("Incident opened:")


def test_roles_and_fields_are_kept_and_cleared(call, make_issue):
    issue = make_issue()
    updated = call("update_issue", issue_id=issue["id"], priority="p2", incident_commander=" Sam ",
                   assigned_to="Kim", responders=["Lee", "lee", " Ana  Ruiz "],
                   customer_impact="EU shoppers could not pay", services_affected=["checkout"])
    assert (updated["priority"], updated["incident_commander"], updated["assigned_to"]) == (
        "p2", "Sam", "Kim")
    assert updated["responders"] == ["Lee", "Ana Ruiz"]
    assert updated["services_affected"] == ["checkout"]
    event = call("get_timeline_events", issue_id=issue["id"])[-1]
    assert event["metadata"]["changes"]["customer_impact"] == {"changed": True}
    cleared = call("update_issue", issue_id=issue["id"], priority="", incident_commander="",
                   responders=[])
    assert cleared["priority"] is None and cleared["incident_commander"] is None
    assert cleared["responders"] == []
    expect_refused(call, "update_issue", issue_id=issue["id"], priority="urgent")
    expect_refused(call, "update_issue", issue_id=issue["id"], responders="Lee")
    expect_refused(call, "update_issue", issue_id=issue["id"], responders=["x" * 201])
    listed = call("list_issues")["items"][0]
    assert listed["services_affected"] == ["checkout"] and "responders" in listed
