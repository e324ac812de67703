"""Draft with AI in the browser, against the real server and a loopback OpenAI-compatible
provider: the button waits for a provider, asks before replacing the author's notes, and
the drafted text shows in the editor and the preview marked for review."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.fakes.fake_openai import FakeOpenAI

EMAIL = "dana.ops@acme-payments.com"
DRAFT = "Keep connection limits under change review and load-test them before each deploy."
MARK = "✎ Drafted by AI (Team OpenAI · gpt-4o-mini) — review before publishing"


@pytest.fixture
def fake():
    server = FakeOpenAI()
    server.start()
    yield server
    server.stop()


def add_provider(served_app, fake) -> dict:
    args = {"name": "Team OpenAI", "kind": "openai", "base_url": fake.base_url,
            "model": "gpt-4o-mini", "api_key": fake.key}
    r = served_app.client.post("/api/add_ai_provider", json=args)  # ServedApp.call takes `name` itself
    assert r.status_code == 200, r.text
    return r.json()


def test_draft_with_ai_fills_the_lessons_for_review(page, served_app, fake, artifacts_dir):
    issue = served_app.call(
        "create_issue", title="Checkout returns 502 after the gateway deploy", severity="high",
        category="application", description=f"Reported by {EMAIL}: 502s since 10:00 UTC.")["issue"]
    root = served_app.call("add_five_why", issue_id=issue["id"],
                           why_question="Why did checkout return 502?",
                           answer="The deploy halved max_connections in the gateway config.")
    served_app.call("set_root_cause", step_id=root["id"], is_root_cause=True)
    doc = served_app.call("generate_rca", issue_id=issue["id"])
    page.goto(f"{served_app.base_url}/#/issue/{issue['id']}/documents/rca")

    # Without a provider the button is off and points to Settings.
    button = page.get_by_test_id("doc-ai-draft")
    expect(button).to_be_disabled()
    expect(page.get_by_test_id("doc-ai-setup-link")).to_be_visible()

    # A provider appears (ai_providers_changed): the button turns on.
    add_provider(served_app, fake)
    expect(button).to_be_enabled()
    expect(page.get_by_test_id("doc-ai-setup-link")).to_have_count(0)

    fake.push_reply(f"=== lessons_learned ===\n{DRAFT}")
    button.click()
    dialog = page.get_by_test_id("confirm-dialog")
    expect(dialog).to_contain_text("Lessons learned")
    expect(dialog).to_contain_text("Team OpenAI (gpt-4o-mini)")
    page.get_by_test_id("confirm-ok").click()

    # The editor reloads with the draft, marked, and the section listed for review.
    expect(page.get_by_test_id("doc-ai-drafted")).to_contain_text("Lessons learned")
    editor = page.get_by_test_id("doc-editor")
    expect(editor).to_have_value(containing(MARK))
    expect(editor).to_have_value(containing(DRAFT))
    note = page.get_by_test_id("doc-ai-draft-note")
    expect(note).to_contain_text("Drafted by AI")
    expect(page.get_by_test_id("doc-preview")).to_contain_text(DRAFT)
    expect(page.get_by_test_id("doc-needs-author")).to_have_count(0)
    expect(button).to_be_disabled()  # nothing is waiting for the author any more
    page.screenshot(path=str(artifacts_dir / "documents-ai-draft.png"), animations="disabled")

    stored = served_app.call("get_document", document_id=doc["id"])
    assert MARK in stored["content_md"] and DRAFT in stored["content_md"]
    assert stored["edited"] is True
    [request] = fake.chat_requests()
    assert EMAIL.encode() not in request.body and b"[Email-1]" in request.body
    assert page.problems == []




def test_a_draft_in_progress_shows_progress_and_can_be_cancelled(page, served_app, fake):
    issue = served_app.call("create_issue", title="Queue backlog on the billing workers",
                            severity="medium", category="application")["issue"]
    doc = served_app.call("generate_postmortem", issue_id=issue["id"])
    add_provider(served_app, fake)
    fake.push_reply("=== impact === " + "Billing was delayed for some customers. " * 20)
    fake.push_failure("stall", after_tokens=3)  # a few words, then silence
    page.goto(f"{served_app.base_url}/#/issue/{issue['id']}/documents/postmortem")

    page.get_by_test_id("doc-ai-draft").click()
    page.get_by_test_id("confirm-ok").click()
    busy = page.get_by_test_id("doc-ai-busy")
    expect(busy).to_contain_text("is writing the draft")
    expect(page.get_by_test_id("doc-editor")).to_have_attribute("readonly", "")
    page.get_by_test_id("doc-ai-cancel").click()

    expect(busy).to_have_count(0)
    expect(page.get_by_test_id("toasts")).to_contain_text("Drafting cancelled")
    expect(page.get_by_test_id("doc-editor")).not_to_have_attribute("readonly", "")
    assert served_app.call("get_document", document_id=doc["id"]) == doc
    assert page.problems == []


def containing(text: str) -> re.Pattern:
    """A pattern for to_have_value that matches a value containing ``text``."""
    return re.compile(re.escape(text))
