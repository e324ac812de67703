"""Action items: create, update, delete, list per incident and across incidents."""

from __future__ import annotations

import pytest
from tftsr.errors import InvalidArgument, NotFound


def test_create_update_delete_and_list(call, make_issue):
    issue = make_issue()
    item = call("create_action_item", issue_id=issue["id"], title="Add pool alert",
                kind="preventive", owner="Ops", due_date="2099-01-31", notes="see runbook")
    assert item["status"] == "open" and item["kind"] == "preventive"
    assert item["owner"] == "Ops" and item["due_date"] == "2099-01-31"
    assert item["overdue"] is False and item["completed_at"] is None

    done = call("update_action_item", action_item_id=item["id"], status="done")
    assert done["status"] == "done" and done["completed_at"]
    cleared = call("update_action_item", action_item_id=item["id"], owner="", due_date="",
                   title="Add pool saturation alert", status="in_progress")
    assert cleared["owner"] is None and cleared["due_date"] is None
    assert cleared["title"] == "Add pool saturation alert" and cleared["completed_at"] is None

    listed = call("list_action_items", issue_id=issue["id"])
    assert [i["id"] for i in listed] == [item["id"]]
    detail = call("get_issue", issue_id=issue["id"])
    assert [i["id"] for i in detail["action_items"]] == [item["id"]]

    assert call("delete_action_item", action_item_id=item["id"])["deleted"] is True
    assert call("list_action_items", issue_id=issue["id"]) == []
    with pytest.raises(NotFound):
        call("update_action_item", action_item_id=item["id"], title="gone")


@pytest.mark.parametrize("args", [
    {"title": "", "kind": "immediate"},
    {"title": "x" * 301, "kind": "immediate"},
    {"title": "ok", "kind": "someday"},
    {"title": "ok", "kind": "immediate", "status": "blocked"},
    {"title": "ok", "kind": "immediate", "due_date": "2026-02-30"},
    {"title": "ok", "kind": "immediate", "due_date": "next week"},
    {"title": "ok", "kind": "immediate", "owner": 42},
    {"title": "ok", "kind": "immediate", "priority": "high"},
])
def test_invalid_action_items_are_refused(call, make_issue, args):
    issue = make_issue()
    with pytest.raises(InvalidArgument):
        call("create_action_item", issue_id=issue["id"], **args)
    assert call("list_action_items", issue_id=issue["id"]) == []


def test_unknown_incident_and_bad_update(call, make_issue):
    with pytest.raises(NotFound):
        call("create_action_item", issue_id="01890000-0000-7000-8000-000000000000",
             title="x", kind="immediate")
    item = call("create_action_item", issue_id=make_issue()["id"], title="x", kind="immediate")
    with pytest.raises(InvalidArgument):
        call("update_action_item", action_item_id=item["id"], status="later")
    with pytest.raises(InvalidArgument):
        call("update_action_item", action_item_id=item["id"], due_date="31/12/2026")


def test_deleting_the_incident_deletes_its_items(call, make_issue):
    issue = make_issue()
    call("create_action_item", issue_id=issue["id"], title="x", kind="immediate")
    call("delete_issue", issue_id=issue["id"])
    assert call("list_all_action_items", status=["open", "in_progress", "done",
                                                 "cancelled"])["total"] == 0


def test_list_all_puts_overdue_first(call, make_issue):
    a = make_issue(title="Incident A")
    b = make_issue(title="Incident B", severity="critical")
    future = call("create_action_item", issue_id=a["id"], title="future", kind="long_term",
                  due_date="2099-06-01")
    undated = call("create_action_item", issue_id=b["id"], title="undated", kind="immediate")
    late_new = call("create_action_item", issue_id=b["id"], title="late (recent)",
                    kind="immediate", due_date="2024-05-01")
    late_old = call("create_action_item", issue_id=a["id"], title="late (oldest)",
                    kind="preventive", due_date="2021-01-01", status="in_progress")
    done_late = call("create_action_item", issue_id=a["id"], title="finished", kind="immediate",
                     due_date="2020-01-01", status="done")
    sooner = call("create_action_item", issue_id=b["id"], title="sooner", kind="long_term",
                  due_date="2098-01-01")

    result = call("list_all_action_items")
    titles = [i["title"] for i in result["items"]]
    assert titles == ["late (oldest)", "late (recent)", "sooner", "future", "undated"]
    assert result["total"] == 5 and result["overdue"] == 2
    assert [i["overdue"] for i in result["items"]] == [True, True, False, False, False]
    first = result["items"][0]
    assert first["issue_title"] == "Incident A" and first["issue_status"] == "open"
    assert result["items"][1]["issue_severity"] == "critical"

    everything = call("list_all_action_items", status=["open", "in_progress", "done"])
    assert done_late["id"] in [i["id"] for i in everything["items"]]
    finished = next(i for i in everything["items"] if i["id"] == done_late["id"])
    assert finished["overdue"] is False  # done items are never overdue
    only_long = call("list_all_action_items", kind="long_term")
    assert [i["id"] for i in only_long["items"]] == [sooner["id"], future["id"]]
    page = call("list_all_action_items", limit=2, offset=1)
    assert [i["id"] for i in page["items"]] == [late_new["id"], sooner["id"]]
    assert undated["id"] == result["items"][-1]["id"] and late_old["id"] == first["id"]
