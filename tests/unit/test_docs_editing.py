"""Editor support: get/list/update documents, stale writes, regeneration over edits."""

from __future__ import annotations

import pytest
from tftsr.errors import Conflict, InvalidArgument, NotFound


def test_update_returns_a_newer_version_and_is_stored(call, make_issue):
    issue = make_issue()
    doc = call("generate_rca", issue_id=issue["id"])
    assert isinstance(doc["created_at"], int) and doc["created_at"] == doc["updated_at"]
    edited = doc["content_md"] + "\nAn extra paragraph → ü.\n"
    saved = call("update_document", document_id=doc["id"], content_md=edited,
                 base_updated_at=doc["updated_at"])
    assert saved["updated_at"] > doc["updated_at"] and saved["edited"] is True
    again = call("get_document", document_id=doc["id"])
    assert again["content_md"] == edited and again["updated_at"] == saved["updated_at"]
    renamed = call("update_document", document_id=doc["id"], title="RCA — final",
                   base_updated_at=saved["updated_at"])
    assert renamed["title"] == "RCA — final" and renamed["updated_at"] > saved["updated_at"]
    same = call("update_document", document_id=doc["id"], title="RCA — final")
    assert same["updated_at"] == renamed["updated_at"]

    listed = call("list_documents", issue_id=issue["id"])
    assert [d["id"] for d in listed] == [doc["id"]]
    assert "content_md" not in listed[0] and listed[0]["edited"] is True
    detail = call("get_issue", issue_id=issue["id"])
    assert [d["id"] for d in detail["documents"]] == [doc["id"]]


def test_stale_write_is_a_conflict_and_changes_nothing(call, make_issue):
    doc = call("generate_rca", issue_id=make_issue()["id"])
    first = call("update_document", document_id=doc["id"], content_md="# Mine\n",
                 base_updated_at=doc["updated_at"])
    with pytest.raises(Conflict) as caught:
        call("update_document", document_id=doc["id"], content_md="# Theirs\n",
             base_updated_at=doc["updated_at"])
    assert caught.value.code == "conflict"
    assert call("get_document", document_id=doc["id"])["content_md"] == "# Mine\n"
    # Without a base version the write wins (an explicit "save anyway").
    forced = call("update_document", document_id=doc["id"], content_md="# Theirs\n")
    assert forced["content_md"] == "# Theirs\n" and forced["updated_at"] > first["updated_at"]


def test_regenerating_over_edits_needs_overwrite(call, make_issue):
    issue = make_issue()
    doc = call("generate_postmortem", issue_id=issue["id"])
    # Unedited: regeneration just refreshes it, same document.
    call("add_timeline_event", issue_id=issue["id"], event_type="note", description="New fact")
    fresh = call("generate_postmortem", issue_id=issue["id"])
    assert fresh["id"] == doc["id"] and "New fact" in fresh["content_md"]
    assert fresh["created_at"] == doc["created_at"] and fresh["edited"] is False

    mine = fresh["content_md"].replace("**✎ For the author:**", "We fixed it fast.", 1)
    call("update_document", document_id=doc["id"], content_md=mine)
    with pytest.raises(Conflict) as caught:
        call("generate_postmortem", issue_id=issue["id"])
    assert caught.value.code == "document_edited" and caught.value.http_status == 409
    assert call("get_document", document_id=doc["id"])["content_md"] == mine

    replaced = call("generate_postmortem", issue_id=issue["id"], overwrite=True)
    assert replaced["id"] == doc["id"] and "We fixed it fast." not in replaced["content_md"]
    assert replaced["edited"] is False
    kinds = [e["event_type"] for e in call("get_timeline_events", issue_id=issue["id"])]
    assert kinds.count("postmortem_generated") == 3
    assert len(call("list_documents", issue_id=issue["id"])) == 1


def test_document_arguments_are_checked(call, make_issue):
    doc = call("generate_rca", issue_id=make_issue()["id"])
    with pytest.raises(NotFound):
        call("get_document", document_id="01890000-0000-7000-8000-000000000000")
    for bad in ({"title": ""}, {"content_md": 5}, {"base_updated_at": "yesterday"},
                {"content_md": "x" * 2_000_001}, {"owner": "me"}):
        with pytest.raises(InvalidArgument):
            call("update_document", document_id=doc["id"], **bad)
    with pytest.raises(InvalidArgument):
        call("get_document", document_id="../../etc/passwd")
    with pytest.raises(InvalidArgument):
        call("export_document", document_id=doc["id"], format="docx")


def test_delete_document(call, make_issue):
    issue = make_issue()
    doc = call("generate_rca", issue_id=issue["id"])
    assert call("delete_document", document_id=doc["id"])["deleted"] is True
    assert call("list_documents", issue_id=issue["id"]) == []
    with pytest.raises(NotFound):
        call("get_document", document_id=doc["id"])
