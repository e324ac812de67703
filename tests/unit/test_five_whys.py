"""The 5-Whys chain: add, edit, reorder, delete with renumbering, and the root cause."""

from __future__ import annotations

import pytest
from tftsr.db.ids import uuid7
from tftsr.errors import TftsrError


def expect_error(code: str, fn, *args, **kwargs) -> TftsrError:
    with pytest.raises(TftsrError) as info:
        fn(*args, **kwargs)
    assert info.value.code == code, (info.value.code, info.value.message)
    return info.value


@pytest.fixture
def issue(make_issue):
    return make_issue()


def add(call, issue, n: int) -> list[dict]:
    return [call("add_five_why", issue_id=issue["id"], why_question=f"Why {i}?",
                 answer=f"Because {i}", evidence=f"log line {i}") for i in range(1, n + 1)]


def events_of(call, issue, event_type: str) -> list[dict]:
    return [e for e in call("get_timeline_events", issue_id=issue["id"])
            if e["event_type"] == event_type]


def test_add_up_to_five_then_conflict(call, issue):
    steps = add(call, issue, 5)
    assert [s["step_order"] for s in steps] == [1, 2, 3, 4, 5]
    first = steps[0]
    assert first["issue_id"] == issue["id"]
    assert first["why_question"] == "Why 1?" and first["answer"] == "Because 1"
    assert first["evidence"] == "log line 1" and first["is_root_cause"] is False
    err = expect_error("conflict", call, "add_five_why", issue_id=issue["id"],
                       why_question="Why 6?")
    assert "five" in err.message
    assert len(call("list_five_whys", issue_id=issue["id"])) == 5
    assert len(call("get_issue", issue_id=issue["id"])["resolution_steps"]) == 5


def test_add_records_why_level_advanced(call, issue):
    steps = add(call, issue, 3)
    events = events_of(call, issue, "why_level_advanced")
    assert [(e["metadata"]["from_level"], e["metadata"]["to_level"]) for e in events] == [
        (0, 1), (1, 2), (2, 3)]
    assert [e["metadata"]["step_id"] for e in events] == [s["id"] for s in steps]
    assert events[1]["metadata"]["question"] == "Why 2?"


def test_add_optional_fields_default_to_null(call, issue):
    step = call("add_five_why", issue_id=issue["id"], why_question="Why did the pod restart?")
    assert step["answer"] is None and step["evidence"] is None


def test_add_to_missing_issue_is_not_found(call):
    expect_error("not_found", call, "add_five_why", issue_id=uuid7(), why_question="Why?")


def test_edit_changes_only_given_fields(call, issue):
    [step] = add(call, issue, 1)
    edited = call("update_five_why", step_id=step["id"], answer="The cert expired")
    assert edited["answer"] == "The cert expired"
    assert edited["why_question"] == "Why 1?" and edited["evidence"] == "log line 1"
    again = call("update_five_why", step_id=step["id"], why_question="Why did TLS fail?",
                 evidence="")
    assert again["why_question"] == "Why did TLS fail?"
    assert again["evidence"] is None  # cleared
    assert again["answer"] == "The cert expired"
    assert call("list_five_whys", issue_id=issue["id"]) == [again]
    audit = call("get_audit_log", action="why_updated")["items"]
    assert [a["entity_id"] for a in audit] == [step["id"], step["id"]]


def test_edit_rejects_empty_question(call, issue):
    [step] = add(call, issue, 1)
    expect_error("invalid_argument", call, "update_five_why", step_id=step["id"],
                 why_question="   ")
    assert call("list_five_whys", issue_id=issue["id"])[0]["why_question"] == "Why 1?"


def test_reorder(call, issue):
    steps = add(call, issue, 4)
    order = [steps[2]["id"], steps[0]["id"], steps[3]["id"], steps[1]["id"]]
    result = call("reorder_five_whys", issue_id=issue["id"], step_ids=order)
    assert [s["id"] for s in result] == order
    assert [s["step_order"] for s in result] == [1, 2, 3, 4]
    assert [s["why_question"] for s in result] == ["Why 3?", "Why 1?", "Why 4?", "Why 2?"]
    assert call("list_five_whys", issue_id=issue["id"]) == result


def test_reorder_rejects_invalid_lists(call, issue, make_issue):
    steps = add(call, issue, 3)
    other = make_issue(title="Other")
    [foreign] = add(call, other, 1)
    a, b, c = (s["id"] for s in steps)
    for bad in ([a, b],                 # one missing
                [a, b, c, c],           # duplicate
                [a, a, b],              # duplicate hiding a missing one
                [a, b, foreign["id"]],  # another incident's step
                [a, b, c, foreign["id"]],
                []):
        err = expect_error("invalid_argument", call, "reorder_five_whys",
                           issue_id=issue["id"], step_ids=bad)
        assert "step_ids" in err.message
    assert [s["id"] for s in call("list_five_whys", issue_id=issue["id"])] == [a, b, c]
    assert call("list_five_whys", issue_id=other["id"])[0]["step_order"] == 1


def test_delete_renumbers(call, issue):
    steps = add(call, issue, 5)
    remaining = call("delete_five_why", step_id=steps[1]["id"])
    assert [s["step_order"] for s in remaining] == [1, 2, 3, 4]
    assert [s["why_question"] for s in remaining] == ["Why 1?", "Why 3?", "Why 4?", "Why 5?"]
    remaining = call("delete_five_why", step_id=steps[0]["id"])
    assert [s["step_order"] for s in remaining] == [1, 2, 3]
    assert [s["why_question"] for s in remaining] == ["Why 3?", "Why 4?", "Why 5?"]
    # Room for new whys again, appended at the end.
    new = call("add_five_why", issue_id=issue["id"], why_question="Why 6?")
    assert new["step_order"] == 4
    expect_error("not_found", call, "delete_five_why", step_id=steps[1]["id"])
    assert [a["entity_id"] for a in call("get_audit_log", action="why_deleted")["items"]] == [
        steps[0]["id"], steps[1]["id"]]


def root_causes(steps) -> list[str]:
    return [s["id"] for s in steps if s["is_root_cause"]]


def test_set_root_cause_marks_exactly_one(call, issue):
    steps = add(call, issue, 3)
    result = call("set_root_cause", step_id=steps[1]["id"], is_root_cause=True)
    assert root_causes(result) == [steps[1]["id"]]
    result = call("set_root_cause", step_id=steps[2]["id"])  # defaults to marking
    assert root_causes(result) == [steps[2]["id"]]
    assert root_causes(call("list_five_whys", issue_id=issue["id"])) == [steps[2]["id"]]
    events = events_of(call, issue, "root_cause_identified")
    assert [e["metadata"]["step_id"] for e in events] == [steps[1]["id"], steps[2]["id"]]
    assert events[-1]["metadata"]["root_cause"] == "Because 3"
    assert "Because 3" in events[-1]["description"]


def test_set_root_cause_without_answer_uses_the_question(call, issue):
    step = call("add_five_why", issue_id=issue["id"], why_question="Why was the disk full?")
    call("set_root_cause", step_id=step["id"], is_root_cause=True)
    [event] = events_of(call, issue, "root_cause_identified")
    assert event["metadata"]["root_cause"] == "Why was the disk full?"


def test_unmark_root_cause(call, issue):
    steps = add(call, issue, 2)
    call("set_root_cause", step_id=steps[0]["id"], is_root_cause=True)
    result = call("set_root_cause", step_id=steps[0]["id"], is_root_cause=False)
    assert root_causes(result) == []
    # Unmarking a step that is not the root cause changes nothing.
    assert root_causes(call("set_root_cause", step_id=steps[1]["id"],
                            is_root_cause=False)) == []
    cleared = call("get_audit_log", action="root_cause_cleared")["items"]
    assert [c["entity_id"] for c in cleared] == [steps[0]["id"]]
    assert len(events_of(call, issue, "root_cause_identified")) == 1


def test_root_cause_survives_reorder_and_delete(call, issue):
    steps = add(call, issue, 3)
    call("set_root_cause", step_id=steps[2]["id"], is_root_cause=True)
    result = call("reorder_five_whys", issue_id=issue["id"],
                  step_ids=[steps[2]["id"], steps[0]["id"], steps[1]["id"]])
    assert root_causes(result) == [steps[2]["id"]]
    assert result[0]["is_root_cause"] is True
    remaining = call("delete_five_why", step_id=steps[0]["id"])
    assert root_causes(remaining) == [steps[2]["id"]]


def test_five_why_changes_emit_issue_changed(app, call, issue):
    seen = []
    app.events.subscribe(lambda name, payload: seen.append((name, payload)))
    [step] = add(call, issue, 1)
    call("update_five_why", step_id=step["id"], answer="x")
    call("set_root_cause", step_id=step["id"], is_root_cause=True)
    call("delete_five_why", step_id=step["id"])
    assert seen == [("issue_changed", {"issue_id": issue["id"]})] * 4
