"""The incident timeline: manual entries, ordering, protected automatic events, audit twins."""

from __future__ import annotations

import pytest
from tftsr.db.ids import uuid7
from tftsr.errors import TftsrError

MANUAL_TYPES = ("note", "mitigation_applied", "escalated", "customer_notified",
                "service_restored", "monitoring", "other")
AUTOMATIC_TYPES = ("triage_started", "status_changed", "why_level_advanced",
                   "root_cause_identified", "issue_updated", "log_uploaded", "rca_generated",
                   "postmortem_generated", "document_exported")


def expect_error(code: str, fn, *args, **kwargs) -> TftsrError:
    with pytest.raises(TftsrError) as info:
        fn(*args, **kwargs)
    assert info.value.code == code, (info.value.code, info.value.message)
    return info.value


@pytest.fixture
def issue(make_issue):
    return make_issue()


@pytest.mark.parametrize("event_type", MANUAL_TYPES)
def test_manual_entry_now(call, issue, event_type):
    event = call("add_timeline_event", issue_id=issue["id"], event_type=event_type,
                 description=f"  {event_type} entry  ")
    assert event["event_type"] == event_type
    assert event["description"] == f"{event_type} entry"
    assert event["manual"] is True and event["metadata"]["manual"] is True
    assert event["issue_id"] == issue["id"]
    events = call("get_timeline_events", issue_id=issue["id"])
    assert [e["id"] for e in events] == [events[0]["id"], event["id"]]
    assert events[0]["event_type"] == "triage_started"
    assert events[1] == event


@pytest.mark.parametrize("event_type", MANUAL_TYPES)
def test_manual_entry_backdated(call, issue, event_type):
    event = call("add_timeline_event", issue_id=issue["id"], event_type=event_type,
                 description="earlier", occurred_at="2020-05-06 07:08")
    assert event["created_at"] == "2020-05-06 07:08:00"
    events = call("get_timeline_events", issue_id=issue["id"])
    assert events[0]["id"] == event["id"]  # backdated before triage_started


def test_timeline_is_chronological(call, issue):
    for stamp, text in (("2026-01-01 00:00:03", "third"), ("2020-01-01 00:00:01", "first"),
                        ("2025-01-01T00:00:02", "second")):
        call("add_timeline_event", issue_id=issue["id"], event_type="note", description=text,
             occurred_at=stamp)
    events = call("get_timeline_events", issue_id=issue["id"])
    stamps = [e["created_at"] for e in events]
    assert stamps == sorted(stamps)
    notes = [e["description"] for e in events if e["event_type"] == "note"]
    assert notes == ["first", "second", "third"]
    assert call("get_issue", issue_id=issue["id"])["timeline_events"] == events


@pytest.mark.parametrize("bad", ["yesterday", "2026-13-01 00:00:00", "2026-02-30 10:00:00",
                                 "2026-01-01", "2026-01-01 25:00:00"])
def test_occurred_at_must_be_a_real_time(call, issue, bad):
    err = expect_error("invalid_argument", call, "add_timeline_event", issue_id=issue["id"],
                       event_type="note", description="x", occurred_at=bad)
    assert "occurred_at" in err.message


@pytest.mark.parametrize("event_type", AUTOMATIC_TYPES + ("party",))
def test_automatic_types_cannot_be_added_by_hand(call, issue, event_type):
    expect_error("invalid_argument", call, "add_timeline_event", issue_id=issue["id"],
                 event_type=event_type, description="forged")
    assert len(call("get_timeline_events", issue_id=issue["id"])) == 1


def test_automatic_events_cannot_be_deleted(call, issue):
    call("set_issue_status", issue_id=issue["id"], status="investigating")
    call("add_five_why", issue_id=issue["id"], why_question="Why?")
    events = call("get_timeline_events", issue_id=issue["id"])
    assert len(events) == 3
    for event in events:
        expect_error("invalid_state", call, "delete_timeline_event", event_id=event["id"])
    assert call("get_timeline_events", issue_id=issue["id"]) == events


def test_manual_events_can_be_deleted(call, issue):
    note = call("add_timeline_event", issue_id=issue["id"], event_type="note",
                description="paged the DBA")
    assert call("delete_timeline_event", event_id=note["id"])["deleted"] is True
    assert [e["event_type"] for e in call("get_timeline_events", issue_id=issue["id"])] == [
        "triage_started"]
    expect_error("not_found", call, "delete_timeline_event", event_id=note["id"])
    [audit] = call("get_audit_log", action="timeline_event_deleted")["items"]
    assert audit["entity_id"] == issue["id"]
    assert audit["details"]["timeline_event_id"] == note["id"]


def test_timeline_of_missing_issue_is_not_found(call):
    expect_error("not_found", call, "get_timeline_events", issue_id=uuid7())
    expect_error("not_found", call, "add_timeline_event", issue_id=uuid7(), event_type="note",
                 description="x")


def test_every_timeline_event_has_an_audit_twin(call, issue):
    call("update_issue", issue_id=issue["id"], severity="critical")
    call("set_issue_status", issue_id=issue["id"], status="investigating")
    step = call("add_five_why", issue_id=issue["id"], why_question="Why?", answer="Because")
    call("add_five_why", issue_id=issue["id"], why_question="Why again?")
    call("set_root_cause", step_id=step["id"], is_root_cause=True)
    call("add_timeline_event", issue_id=issue["id"], event_type="escalated",
         description="to the network team", occurred_at="2026-01-01 10:00:00")
    call("set_issue_status", issue_id=issue["id"], status="resolved")
    events = call("get_timeline_events", issue_id=issue["id"])
    assert {e["event_type"] for e in events} == {
        "triage_started", "issue_updated", "status_changed", "why_level_advanced",
        "root_cause_identified", "escalated"}
    audit = call("get_audit_log", entity_id=issue["id"], limit=500)["items"]
    twins = {a["details"]["timeline_event_id"]: a for a in audit
             if a["details"] and "timeline_event_id" in a["details"]}
    for event in events:
        twin = twins.get(event["id"])
        assert twin is not None, f"no audit entry for {event['event_type']}"
        assert twin["action"] == event["event_type"]
        assert twin["entity_type"] == "issue"
        assert twin["entity_id"] == issue["id"]
        assert twin["details"]["description"] == event["description"]
        assert twin["details"]["occurred_at"] == event["created_at"]
    assert len(twins) == len(events)
    assert call("verify_audit")["ok"] is True


def test_a_date_more_than_a_day_ahead_is_refused(call, issue):
    from datetime import UTC, datetime, timedelta

    ahead = (datetime.now(UTC) + timedelta(days=365)).strftime("%Y-%m-%d %H:%M:%S")
    err = expect_error("invalid_argument", call, "add_timeline_event", issue_id=issue["id"],
                       event_type="note", description="typo year", occurred_at=ahead)
    assert "more than a day ahead" in err.message
    soon = (datetime.now(UTC) + timedelta(hours=3)).strftime("%Y-%m-%d %H:%M:%S")
    call("add_timeline_event", issue_id=issue["id"], event_type="note",
         description="maintenance window", occurred_at=soon)
    assert len(call("get_timeline_events", issue_id=issue["id"])) == 2


def test_manual_entries_can_be_edited_and_the_edit_is_audited(call, issue):
    note = call("add_timeline_event", issue_id=issue["id"], event_type="note",
                description="Rolled back", occurred_at="2026-01-02 03:00:00")
    edited = call("update_timeline_event", event_id=note["id"], event_type="mitigation_applied",
                  description="Rolled back deploy 41", occurred_at="2026-01-02 02:58")
    assert (edited["event_type"], edited["description"], edited["created_at"]) == (
        "mitigation_applied", "Rolled back deploy 41", "2026-01-02 02:58:00")
    assert edited["manual"] is True
    [stored] = [e for e in call("get_timeline_events", issue_id=issue["id"]) if e["id"] == note["id"]]
    assert stored == edited
    [entry] = call("get_audit_log", action="timeline_event_edited")["items"]
    assert entry["entity_id"] == issue["id"]
    details = entry["details"]
    assert details["fields"] == ["description", "event_type", "occurred_at"]
    assert details["occurred_at"] == {"from": "2026-01-02 03:00:00", "to": "2026-01-02 02:58:00"}
    assert "Rolled back deploy 41" not in str(details)  # a hash of the text, not the text
    # Nothing to change records nothing; a time far ahead is refused.
    call("update_timeline_event", event_id=note["id"], description="Rolled back deploy 41")
    assert len(call("get_audit_log", action="timeline_event_edited")["items"]) == 1
    expect_error("invalid_argument", call, "update_timeline_event", event_id=note["id"],
                 occurred_at="2099-01-01 00:00:00")


def test_recorded_events_cannot_be_edited(call, issue):
    [opened] = call("get_timeline_events", issue_id=issue["id"])
    err = expect_error("invalid_state", call, "update_timeline_event", event_id=opened["id"],
                       description="forged")
    assert "by hand" in err.message
    expect_error("not_found", call, "update_timeline_event",
                 event_id="01900000-0000-7000-8000-000000000000", description="x")
