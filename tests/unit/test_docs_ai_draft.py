"""Draft with AI through the real dispatcher, a real SQLCipher database and a loopback
OpenAI-compatible provider: where the drafts land, what reaches the provider (no planted
PII), the audit entry matching the received bytes, and the failure paths."""

from __future__ import annotations

import hashlib
import time

import pytest
from tftsr.docs import ai_draft
from tftsr.errors import TftsrError

from tests.fakes.helpers import EventLog, make_fast

EMAIL = "dana.ops@acme-payments.com"
IP = "10.44.23.117"
PASSWORD = "Tr0ub4dor&3x"
WHY_EMAIL = "oncall.lead@acme-payments.com"
MARK = "> ✎ Drafted by AI (Team OpenAI · gpt-4o-mini) — review before publishing"


@pytest.fixture
def events(app):
    make_fast(app)
    log = EventLog(app)
    yield log
    ai_draft.wait_idle(app, 10)
    log.close()


def incident_with_pii(call, make_issue) -> dict:
    """An incident whose typed text carries an email, an IP address and a password."""
    issue = make_issue(
        title="Checkout API returns 502",
        description=(f"Reported by {EMAIL}. The gateway at {IP} refused logins; the config "
                     f"had password={PASSWORD} in clear text."))
    first = call("add_five_why", issue_id=issue["id"], why_question="Why did checkout fail?",
                 answer=f"The gateway rejected the service account (owner {WHY_EMAIL}).")
    root = call("add_five_why", issue_id=issue["id"], why_question="Why was it rejected?",
                answer="Its credentials were rotated without updating the deploy secrets.")
    call("set_root_cause", step_id=root["id"], is_root_cause=True)
    assert first["id"]
    return issue


def reply_for(section_ids: list[str]) -> str:
    return "\n".join(f"=== {sid} ===\nDraft text for {sid}: the gateway rejected requests.\n"
                     for sid in section_ids)


def wait_end(events, draft_id: str, timeout: float = 15.0) -> tuple[str, dict]:
    """The document_draft_done or document_draft_error of one draft."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name in ("document_draft_done", "document_draft_error"):
            found = events.named(name, draft_id=draft_id)
            if found:
                return name, found[0]
        time.sleep(0.02)
    raise AssertionError(f"draft {draft_id} did not end within {timeout} s")


def draft(call, events, **args) -> tuple[dict, str, dict]:
    started = call("draft_document_with_ai", **args)
    return (started, *wait_end(events, started["draft_id"]))


def ai_sends(call, purpose):
    items = call("get_audit_log", action="ai_send", limit=200)["items"]
    return [e for e in items if e["details"].get("purpose") == purpose]


def test_drafts_land_in_author_sections_with_the_marker(app, call, events, make_issue, provider, openai_fake):
    issue = incident_with_pii(call, make_issue)
    doc = call("generate_postmortem", issue_id=issue["id"])
    waiting = [s["id"] for s in doc["sections"] if s["needs_author"]]
    assert waiting == ["executive_summary", "impact", "what_went_well", "what_could_be_improved",
                       "lessons_learned"]
    openai_fake.push_reply(reply_for(waiting))

    started, kind, done = draft(call, events, document_id=doc["id"])
    assert kind == "document_draft_done", done
    assert started["section_ids"] == waiting and started["model"] == "gpt-4o-mini"
    assert done["drafted_section_ids"] == waiting and done["skipped_section_ids"] == []

    stored = call("get_document", document_id=doc["id"])
    assert stored == done["document"]
    text = stored["content_md"]
    for sid in waiting:
        assert f"Draft text for {sid}: the gateway rejected requests." in text
    by_id = {s["id"]: s for s in stored["sections"]}
    assert not any(s["needs_author"] for s in stored["sections"])
    assert [sid for sid, s in by_id.items() if s["ai_drafted"]] == waiting
    assert text.count(MARK) == len(waiting)
    assert "For the author" not in text
    # the recorded facts around a prompt stay; only the prompt was replaced
    assert "On record:" in text and "Recorded facts:" in text
    # section structure unchanged, and the document now counts as edited
    assert [s["id"] for s in stored["sections"]] == [s["id"] for s in doc["sections"]]
    assert stored["edited"] is True and stored["updated_at"] > doc["updated_at"]
    with pytest.raises(TftsrError) as err:
        call("generate_postmortem", issue_id=issue["id"])
    assert err.value.code == "document_edited"
    drafted_audit = call("get_audit_log", action="document_ai_drafted")["items"]
    assert drafted_audit[0]["details"]["section_ids"] == waiting


def test_provider_receives_no_planted_pii_and_audit_hash_matches(app, call, events, make_issue,
                                                                provider, openai_fake):
    issue = incident_with_pii(call, make_issue)
    doc = call("generate_rca", issue_id=issue["id"])
    openai_fake.push_reply(reply_for(["lessons_learned"]))
    _, kind, done = draft(call, events, document_id=doc["id"])
    assert kind == "document_draft_done", done

    [request] = openai_fake.chat_requests()
    body = request.body
    for secret in (EMAIL, WHY_EMAIL, IP, PASSWORD, "dana.ops", "oncall.lead", "Tr0ub4dor"):
        assert secret.encode() not in body, secret
    sent = request.json["messages"][1]["content"]
    assert "[Email-1]" in sent and "Checkout API returns 502" in sent
    assert "Its credentials were rotated" in sent  # the 5-Whys are part of the material
    assert openai_fake.violations == []

    [entry] = ai_sends(call, "document_draft")
    assert entry["details"]["request_sha256"] == hashlib.sha256(body).hexdigest()
    assert entry["details"]["request_bytes"] == len(body)
    assert entry["entity_type"] == "document" and entry["entity_id"] == doc["id"]
    assert entry["details"]["redaction_count"] >= 4


def test_single_section_reply_without_markers_is_tidied(app, call, events, make_issue, provider, openai_fake):
    issue = make_issue()
    doc = call("generate_rca", issue_id=issue["id"])
    openai_fake.push_reply("# Lessons\n\n## Fake section\n\n- Alert on pool saturation\n\n```\nunclosed")
    _, kind, done = draft(call, events, document_id=doc["id"])
    assert kind == "document_draft_done", done
    stored = call("get_document", document_id=doc["id"])
    assert [s["id"] for s in stored["sections"]] == [s["id"] for s in doc["sections"]]
    assert "### Fake section" in stored["content_md"] and "\n## Fake" not in stored["content_md"]
    assert stored["content_md"].rstrip().endswith("```")
    assert {s["id"] for s in stored["sections"] if s["ai_drafted"]} == {"lessons_learned"}


def test_no_provider_is_refused_with_ai_no_provider(call, events, make_issue):
    doc = call("generate_rca", issue_id=make_issue()["id"])
    with pytest.raises(TftsrError) as err:
        call("draft_document_with_ai", document_id=doc["id"])
    assert err.value.code == "ai_no_provider"
    assert "Settings" in err.value.message


def test_provider_failure_reports_a_human_error_and_leaves_the_document(app, call, events,
                                                                        make_issue, provider, openai_fake):
    doc = call("generate_postmortem", issue_id=make_issue()["id"])
    for _ in range(3):  # the first try and both retries fail
        openai_fake.push_failure("status", status=500)
    _, kind, failed = draft(call, events, document_id=doc["id"])
    assert kind == "document_draft_error"
    assert failed["code"] == "ai_server_error"
    assert "server error (HTTP 500)" in failed["message"]
    assert call("get_document", document_id=doc["id"]) == doc
    assert len(ai_sends(call, "document_draft")) == 3  # every attempt audited
    assert events.named("document_draft_progress", stage="retrying")


def test_cancel_stops_the_draft_and_changes_nothing(app, call, events, make_issue, provider, openai_fake):
    doc = call("generate_rca", issue_id=make_issue()["id"])
    openai_fake.push_reply("=== lessons_learned === " + "word " * 50)
    openai_fake.push_failure("stall", after_tokens=2)
    started = call("draft_document_with_ai", document_id=doc["id"])
    events.wait("document_draft_progress", draft_id=started["draft_id"], stage="writing")
    assert call("cancel_document_draft", draft_id=started["draft_id"]) == {"cancelled": True}
    failed = events.wait("document_draft_error", draft_id=started["draft_id"])
    assert failed["code"] == "ai_cancelled"
    assert call("get_document", document_id=doc["id"]) == doc
    assert ai_draft.wait_idle(app, 5)
    assert call("cancel_document_draft", draft_id=started["draft_id"]) == {"cancelled": False}


def test_only_sections_a_person_writes_can_be_named(call, events, make_issue, provider):
    doc = call("generate_rca", issue_id=make_issue()["id"])
    with pytest.raises(TftsrError, match="written from the incident's data"):
        call("draft_document_with_ai", document_id=doc["id"], section_ids=["timeline"])
    with pytest.raises(TftsrError) as err:
        call("draft_document_with_ai", document_id=doc["id"], section_ids=["no_such_section"])
    assert err.value.code == "invalid_argument"
