"""AI triage in the browser UI, against the real server and a loopback OpenAI-compatible
provider: setting a provider up in Settings, a streamed reply with the PII notice, Stop,
a proposed why confirmed into the 5-Whys (and onto the timeline), attaching only reviewed
logs, and the log summary."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.fakes.fake_ollama import FakeOllama
from tests.fakes.fake_openai import FakeOpenAI

EMAIL = "alice.martin@example.com"
IPV4 = "10.20.30.40"
REPLY = ("The gateway started failing right after the deploy at 10:00, so the new release is the "
         "first suspect. Check the upstream timeouts in the gateway config and compare the pool "
         "sizes with the previous version before rolling back.")
LOG_TEXT = (
    "2024-05-01T10:00:00Z INFO gateway started on :8443\n"
    f"2024-05-01T10:00:01Z INFO login user={EMAIL} from {IPV4} ok\n"
    "2024-05-01T10:00:04Z ERROR [gateway] upstream returned 502 after 30012 ms\n"
    "2024-05-01T10:00:05Z ERROR [gateway] upstream returned 502 after 30020 ms\n"
)


@pytest.fixture
def fake():
    server = FakeOpenAI(models=("gpt-4o-mini", "gpt-4o"))
    server.start()
    yield server
    server.stop()


def new_issue(served_app, title="Checkout returns 502 after the gateway deploy"):
    return served_app.call("create_issue", title=title, severity="high", category="application",
                           description="502s from the gateway since 10:00 UTC.")["issue"]


def add_provider(served_app, fake) -> dict:
    args = {"name": "Fake OpenAI", "kind": "openai", "base_url": fake.base_url, "model": "gpt-4o-mini",
            "api_key": fake.key}
    r = served_app.client.post("/api/add_ai_provider", json=args)  # ServedApp.call takes `name` itself
    assert r.status_code == 200, r.text
    return r.json()


def open_chat(page, served_app, issue_id):
    page.goto(f"{served_app.base_url}/#/issue/{issue_id}/chat")
    expect(page.get_by_test_id("chat")).to_be_visible()


def assistant(page, status=None):
    sel = '[data-testid="chat-message"][data-role="assistant"]'
    if status:
        sel += f'[data-status="{status}"]'
    return page.locator(sel)


def shoot_both_themes(page, artifacts_dir, name):
    """Screenshot in the current theme, switch with the real toggle, shoot, switch back."""
    first = page.evaluate("() => document.documentElement.dataset.theme")
    page.screenshot(path=str(artifacts_dir / f"ai-{name}-{first}.png"), animations="disabled")
    page.get_by_test_id("theme-toggle").click()
    other = "dark" if first == "light" else "light"
    expect(page.locator("html")).to_have_attribute("data-theme", other)
    page.screenshot(path=str(artifacts_dir / f"ai-{name}-{other}.png"), animations="disabled")
    page.get_by_test_id("theme-toggle").click()
    expect(page.locator("html")).to_have_attribute("data-theme", first)


def upload_log(served_app, issue_id, name, text) -> str:
    r = served_app.client.post("/upload/log", params={"issue_id": issue_id, "filename": name},
                               content=text.encode())
    assert r.status_code == 200, r.text
    return r.json()["log_file"]["id"]


def review_log(served_app, log_id):
    spans = served_app.call("get_pii_spans", log_file_id=log_id)
    for pii_type in spans["by_type"]:
        served_app.call("set_pii_type_status", log_file_id=log_id, pii_type=pii_type, status="approved")
    served_app.call("apply_redactions", log_file_id=log_id)


# ---------------------------------------------------------------------------------------------
def test_provider_set_up_in_settings_then_streamed_reply_with_pii_notice(page, served_app, fake, artifacts_dir):
    issue = new_issue(served_app)

    # Without a provider the tab explains where to set one up.
    page.goto(f"{served_app.base_url}/#/issue/{issue['id']}/chat")
    expect(page.get_by_test_id("chat-no-provider")).to_be_visible()
    page.get_by_test_id("chat-open-settings").click()
    expect(page.get_by_test_id("ai-providers-empty")).to_be_visible()

    # Add the provider through the form.
    page.get_by_test_id("ai-provider-add").click()
    dialog = page.get_by_test_id("ai-provider-dialog")
    dialog.get_by_test_id("ai-provider-kind").select_option("openai")
    dialog.get_by_test_id("ai-provider-name").fill("Team OpenAI")
    dialog.get_by_test_id("ai-provider-base-url").fill(fake.base_url)
    dialog.get_by_test_id("ai-provider-model").fill("gpt-4o")
    dialog.get_by_test_id("ai-provider-api-key").fill(fake.key)
    dialog.get_by_test_id("ai-provider-advanced").click()
    dialog.get_by_test_id("ai-provider-setting-temperature").fill("0.2")
    dialog.get_by_test_id("ai-provider-save").click()
    expect(dialog).to_be_hidden()

    row = page.get_by_test_id("ai-provider")
    expect(row).to_have_count(1)
    expect(row).to_have_attribute("data-active", "true")
    expect(row.get_by_test_id("ai-provider-key")).to_contain_text(fake.key[-4:])
    expect(row.get_by_test_id("ai-provider-key")).not_to_contain_text(fake.key)
    stored = served_app.call("list_ai_providers")["items"][0]
    assert stored["settings"]["temperature"] == 0.2
    assert stored["base_url"] == fake.base_url

    # Test the connection: one real request reaches the fake.
    row.get_by_test_id("ai-provider-test").click()
    result = row.get_by_test_id("ai-provider-test-result")
    expect(result).to_have_attribute("data-ok", "true")
    expect(result).to_contain_text("gpt-4o")

    # Pick a model from the provider's list.
    row.get_by_test_id("ai-provider-models").click()
    models = page.get_by_test_id("ai-models-dialog")
    expect(models.get_by_test_id("ai-model-option")).to_have_count(2)
    models.locator('[data-testid="ai-model-option"][data-model-id="gpt-4o-mini"]').click()
    models.get_by_test_id("ai-models-use").click()
    expect(row.get_by_test_id("ai-provider-model")).to_have_text("gpt-4o-mini")

    # Tool support: the model calls the test tool, so the provider is marked as able to.
    expect(row.get_by_test_id("ai-provider-tools")).to_have_attribute("data-supports", "unknown")
    fake.push_reply("", tool_calls=[{"name": "report_status", "arguments": {"status": "ok"}}])
    row.get_by_test_id("ai-provider-detect-tools").click()
    expect(row.get_by_test_id("ai-provider-tools")).to_have_attribute("data-supports", "yes")
    assert fake.chat_requests()[-1].json["tools"][0]["function"]["name"] == "report_status"

    # The edit form never shows the key, only its masked hint.
    row.get_by_test_id("ai-provider-edit").click()
    edit = page.get_by_test_id("ai-provider-dialog")
    expect(edit.get_by_test_id("ai-provider-key-masked")).to_contain_text(fake.key[-4:])
    assert fake.key not in edit.inner_html()
    edit.get_by_test_id("dialog-close").click()
    page.get_by_test_id("ai-providers").scroll_into_view_if_needed()
    shoot_both_themes(page, artifacts_dir, "providers")

    # Chat: the reply streams in token by token (held open after three until we look).
    held = fake.hold_stream(after_tokens=3)
    fake.push_reply(REPLY)
    open_chat(page, served_app, issue["id"])
    expect(page.get_by_test_id("chat-welcome")).to_be_visible()
    box = page.get_by_test_id("chat-input")
    box.fill(f"Users report 502s. One of them is {EMAIL} on {IPV4}.")
    box.press("Shift+Enter")
    box.type("What should I check first?")
    box.press("Enter")

    # Text is visible while the reply is still being written …
    expect(assistant(page, "streaming").get_by_test_id("chat-message-text")).to_contain_text("gateway started")
    expect(page.get_by_test_id("chat-stop")).to_be_visible()
    assert not assistant(page, "complete").count()
    held.release()
    # … and complete at the end.
    done = assistant(page, "complete")
    expect(done.get_by_test_id("chat-message-text")).to_have_text(REPLY)
    expect(page.get_by_test_id("chat-send")).to_be_visible()
    assert fake.violations == []

    # The PII notice names what was removed; the details show masked previews only.
    notice = page.get_by_test_id("chat-redaction-notice")
    expect(notice).to_contain_text("2 items were removed before sending")
    expect(notice).to_contain_text("Email")
    user = page.locator('[data-testid="chat-message"][data-role="user"]')
    expect(user.get_by_test_id("chat-message-text")).to_contain_text("[Email-1]")
    expect(user.get_by_test_id("chat-message-text")).not_to_contain_text(EMAIL)
    notice.get_by_test_id("chat-redaction-show").click()
    removed = page.get_by_test_id("chat-redactions")
    expect(removed.get_by_test_id("chat-redaction-item")).to_have_count(2)
    assert EMAIL not in removed.inner_text()
    removed.get_by_test_id("chat-redactions-reveal").click()
    expect(removed).to_contain_text(EMAIL)
    removed.get_by_test_id("dialog-close").click()

    # What reached the provider: the redacted text, never the address.
    sent = fake.chat_requests()[-1].json["messages"]
    last_user = [m for m in sent if m["role"] == "user"][-1]["content"]
    assert "[Email-1]" in last_user and EMAIL not in last_user and IPV4 not in last_user
    assert "What should I check first?" in last_user

    conv = page.get_by_test_id("chat-conversation")
    expect(conv).to_have_count(1)
    expect(conv).to_contain_text("gpt-4o-mini")
    shoot_both_themes(page, artifacts_dir, "chat")
    assert page.problems == []


def test_stop_cancels_the_reply(page, served_app, fake):
    issue = new_issue(served_app)
    add_provider(served_app, fake)
    words = [f"word{i}" for i in range(60)]
    held = fake.hold_stream(after_tokens=2)  # the provider sends word0 and word1, then waits
    fake.push_reply(" ".join(words))
    open_chat(page, served_app, issue["id"])
    page.get_by_test_id("chat-input").fill("Explain slowly.")
    page.get_by_test_id("chat-send").click()

    expect(assistant(page, "streaming").get_by_test_id("chat-message-text")).to_contain_text("word1")
    page.get_by_test_id("chat-stop").click()

    stopped = assistant(page, "stopped")
    expect(stopped).to_be_visible()
    expect(stopped.get_by_test_id("chat-stopped")).to_be_visible()
    expect(page.get_by_test_id("chat-send")).to_be_visible()
    text = stopped.get_by_test_id("chat-message-text").inner_text()
    assert "word1" in text and "word2" not in text
    # Stop closed the provider connection while the provider was still holding the stream.
    assert held.client_closed.wait(30), "the provider connection was not closed"
    assert len(fake.token_sent_at) == 2
    conv_id = page.get_by_test_id("chat-conversation").get_attribute("data-conversation-id")
    stored = served_app.call("get_conversation", conversation_id=conv_id)["messages"]
    assert [m["status"] for m in stored] == ["complete", "stopped"]
    assert "word59" not in stored[-1]["content"]
    assert page.problems == []


def test_provider_error_is_explained_and_retried(page, served_app, fake):
    issue = new_issue(served_app)
    add_provider(served_app, fake)
    fake.push_failure("status", status=401)
    fake.push_reply("Second time lucky.")
    open_chat(page, served_app, issue["id"])
    page.get_by_test_id("chat-input").fill("Are you there?")
    page.get_by_test_id("chat-input").press("Enter")

    failed = assistant(page, "error")
    expect(failed.get_by_test_id("chat-error")).to_contain_text("API key")
    failed.get_by_test_id("chat-retry").click()
    expect(assistant(page, "complete")).to_contain_text("Second time lucky.")
    users = page.locator('[data-testid="chat-message"][data-role="user"]')
    expect(users).to_have_count(2)
    expect(users.last).to_contain_text("Are you there?")
    assert page.problems == []


def test_proposed_why_is_confirmed_into_the_five_whys(page, served_app, fake, artifacts_dir):
    issue = new_issue(served_app)
    add_provider(served_app, fake)
    fake.push_reply("", tool_calls=[
        {"name": "record_why", "arguments": {
            "question": "Why did checkout return 502?",
            "answer": "The gateway timed out waiting for the payments service.",
            "evidence": "upstream returned 502 after 30012 ms"}},
        {"name": "record_why", "arguments": {
            "question": "Why was the moon full?", "answer": "Unrelated.", "evidence": "none"}},
    ])
    fake.push_reply("I recorded two candidate whys. Confirm the first if it matches what you see.")
    open_chat(page, served_app, issue["id"])
    progress = page.get_by_test_id("chat-why-progress")
    expect(progress).to_have_attribute("data-level", "0")

    page.get_by_test_id("chat-input").fill("Help me find the first why.")
    page.get_by_test_id("chat-input").press("Enter")

    expect(assistant(page, "complete")).to_contain_text("I recorded two candidate whys")
    cards = page.get_by_test_id("why-proposal")
    expect(cards).to_have_count(2)
    expect(progress).to_have_attribute("data-pending", "2")
    shoot_both_themes(page, artifacts_dir, "proposals")

    # Tool calls are listed with the reply, folded until opened.
    calls = page.locator('[data-testid="chat-tool-call"][data-tool="record_why"]')
    expect(calls).to_have_count(2)
    expect(calls.first).to_have_attribute("data-status", "ok")
    expect(calls.first.locator("pre").first).to_be_hidden()
    calls.first.locator("summary").click()
    expect(calls.first.locator("pre").first).to_contain_text("payments service")

    # Edit the first before confirming, dismiss the second.
    first_id = cards.filter(has_text="Why did checkout return 502?").get_attribute("data-proposal-id")
    first = page.locator(f'[data-testid="why-proposal"][data-proposal-id="{first_id}"]')
    first.get_by_test_id("why-proposal-edit").click()
    first.get_by_test_id("why-proposal-edit-answer").fill("The gateway timed out waiting for payments (pool exhausted).")
    first.get_by_test_id("why-proposal-confirm").click()
    expect(progress).to_have_attribute("data-level", "1")
    cards.filter(has_text="Why was the moon full?").get_by_test_id("why-proposal-dismiss").click()
    expect(cards).to_have_count(0)
    expect(progress).to_have_attribute("data-pending", "0")

    steps = served_app.call("list_five_whys", issue_id=issue["id"])
    steps = steps if isinstance(steps, list) else steps.get("items", steps.get("steps"))
    assert [s["why_question"] for s in steps] == ["Why did checkout return 502?"]
    assert steps[0]["answer"] == "The gateway timed out waiting for payments (pool exhausted)."

    page.get_by_test_id("tab-timeline").click()
    entry = page.locator('[data-testid="timeline-event"][data-event-type="why_level_advanced"]')
    expect(entry).to_have_count(1)
    page.get_by_test_id("tab-whys").click()
    expect(page.get_by_test_id("why-question")).to_have_text("Why did checkout return 502?")
    assert page.problems == []


def test_only_reviewed_logs_can_be_attached_and_summarised(page, served_app, fake, artifacts_dir):
    issue = new_issue(served_app)
    add_provider(served_app, fake)
    reviewed = upload_log(served_app, issue["id"], "gateway.log", LOG_TEXT)
    review_log(served_app, reviewed)
    unreviewed = upload_log(served_app, issue["id"], "raw.log", LOG_TEXT + "2024-05-01T10:01:00Z INFO retry\n")

    fake.push_reply("The 502s come from upstream timeouts.")
    open_chat(page, served_app, issue["id"])
    page.get_by_test_id("chat-attach").click()
    picker = page.get_by_test_id("chat-attach-list")
    raw = picker.locator(f'[data-testid="chat-attach-log"][data-log-file-id="{unreviewed}"]')
    expect(raw).to_have_attribute("data-reviewed", "false")
    expect(raw.get_by_test_id("chat-attach-toggle")).to_have_count(0)
    picker.locator(f'[data-testid="chat-attach-log"][data-log-file-id="{reviewed}"]').get_by_test_id("chat-attach-toggle").check()
    page.keyboard.press("Escape")
    expect(picker).to_be_hidden()
    expect(page.get_by_test_id("chat-attached-log")).to_have_count(1)
    page.get_by_test_id("chat-input").fill("Look at the attached log.")
    page.get_by_test_id("chat-send").click()
    expect(assistant(page, "complete")).to_contain_text("upstream timeouts")
    expect(page.get_by_test_id("chat-message-logs")).to_contain_text("1 reviewed log attached")
    body = fake.chat_requests()[-1].body.decode()
    assert "gateway.log" in body and EMAIL not in body and IPV4 not in body

    # Summarise: the local first pass, then the AI summary streams into a new conversation.
    fake.push_reply("Two 502 errors from the gateway within a second; look at upstream timeouts.")
    page.get_by_test_id("chat-summarise").click()
    summary = page.get_by_test_id("log-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("2")
    expect(page.get_by_test_id("chat-conversation")).to_have_count(2)
    expect(page.locator('[data-testid="chat-conversation"][aria-current="true"]')).to_contain_text("Log analysis")
    expect(assistant(page, "complete")).to_contain_text("Two 502 errors")
    shoot_both_themes(page, artifacts_dir, "summary")
    summary.get_by_test_id("log-summary-continue").click()
    expect(page.get_by_test_id("chat-input")).to_be_focused()

    # The unreviewed log links to its review screen.
    page.get_by_test_id("chat-attach").click()
    page.get_by_test_id("chat-attach-list").get_by_test_id("chat-attach-review").click()
    expect(page).to_have_url(re.compile(rf"#/issue/{issue['id']}/review/{unreviewed}$"))
    assert page.problems == []


def test_ollama_panel_lists_pulls_and_deletes_models(page, served_app, artifacts_dir):
    ollama = FakeOllama(models=("llama3.1:8b",), pull_steps=5)
    ollama.pull_delay = 0.25
    ollama.start()
    running = True
    try:
        page.get_by_test_id("nav-settings").click()
        panel = page.get_by_test_id("ollama")
        expect(panel.get_by_test_id("ollama-hardware")).to_contain_text("cores")
        panel.get_by_test_id("ollama-base-url").fill(ollama.url)
        panel.get_by_test_id("ollama-refresh").click()
        status = panel.get_by_test_id("ollama-status")
        expect(status).to_have_attribute("data-reachable", "true")
        expect(status).to_contain_text("0.6.2")
        expect(panel.get_by_test_id("ollama-model")).to_have_count(1)
        expect(panel.get_by_test_id("ollama-recommendation").first).to_be_visible()

        # Download with progress events.
        panel.get_by_test_id("ollama-pull-name").fill("qwen2.5:0.5b")
        panel.get_by_test_id("ollama-pull").click()
        bar = panel.get_by_test_id("ollama-pull-progress")
        expect(bar).to_have_attribute("data-percent", re.compile(r"^\d"))
        expect(bar).to_have_attribute("data-done", "true")
        expect(panel.locator('[data-testid="ollama-model"][data-name="qwen2.5:0.5b"]')).to_be_visible()
        assert "qwen2.5:0.5b" in ollama.models
        panel.scroll_into_view_if_needed()
        shoot_both_themes(page, artifacts_dir, "ollama")

        # Delete asks first.
        panel.locator('[data-testid="ollama-model"][data-name="llama3.1:8b"]').get_by_test_id("ollama-model-delete").click()
        page.get_by_test_id("confirm-ok").click()
        expect(panel.get_by_test_id("ollama-model")).to_have_count(1)
        assert "llama3.1:8b" not in ollama.models

        # Stopped Ollama: said plainly, with the address.
        ollama.stop()
        running = False
        panel.get_by_test_id("ollama-refresh").click()
        expect(status).to_have_attribute("data-reachable", "false")
        expect(status).to_contain_text(ollama.url)
    finally:
        if running:
            ollama.stop()
    assert page.problems == []
