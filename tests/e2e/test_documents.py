"""Documents in the browser UI, against the real server: generate a post-mortem from an
incident's data, edit it with a live preview and autosave, keep edits from being overwritten
by accident, add action items (and see them on the dashboard, overdue first), and export the
document as PDF and HTML downloads."""

from __future__ import annotations

import re
import time
from datetime import date, timedelta

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

MARKER = "Checkout recovered once the pool size was restored"
HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'


def new_incident(served_app):
    issue = served_app.call(
        "create_issue", title="Checkout returns 502 after the gateway deploy", severity="high",
        category="application", description="502s from the gateway since 10:00 UTC.")["issue"]
    served_app.call("add_five_why", issue_id=issue["id"],
                    why_question="Why did checkout return 502?",
                    answer="The gateway ran out of upstream connections to the payments API.")
    root = served_app.call("add_five_why", issue_id=issue["id"],
                           why_question="Why did it run out of connections?",
                           answer="The deploy halved max_connections in the gateway config.")
    served_app.call("set_root_cause", step_id=root["id"], is_root_cause=True)
    return issue


def stored_document(served_app, issue_id, doc_type):
    docs = [d for d in served_app.call("list_documents", issue_id=issue_id) if d["doc_type"] == doc_type]
    assert len(docs) == 1, docs
    return served_app.call("get_document", document_id=docs[0]["id"])


def wait_for_stored(served_app, issue_id, doc_type, needle, timeout=20):
    """The stored content once it contains ``needle`` (autosave is debounced)."""
    deadline = time.monotonic() + timeout
    while True:
        doc = stored_document(served_app, issue_id, doc_type)
        if needle in doc["content_md"] or time.monotonic() > deadline:
            return doc
        time.sleep(0.2)


def real_problems(page):
    """Console errors, minus Chromium's own line for the expected 409 answers (a regenerate
    over edits, a stale autosave), which the UI turns into a question or a banner."""
    return [p for p in page.problems if "status of 409" not in p]


def shoot_both_themes(page, artifacts_dir, name):
    """Screenshot in the current theme, switch with the real toggle, shoot, switch back."""
    dismiss = page.get_by_test_id("toasts").get_by_role("button", name="Dismiss")
    while dismiss.count():  # toasts also leave on their own, so take the first each time
        try:
            dismiss.first.click(timeout=2000)
        except PlaywrightTimeoutError:
            pass
    expect(page.get_by_test_id("toasts").locator(".toast")).to_have_count(0)
    first = page.evaluate("() => document.documentElement.dataset.theme")
    page.screenshot(path=str(artifacts_dir / f"documents-{name}-{first}.png"), animations="disabled")
    page.get_by_test_id("theme-toggle").click()
    other = "dark" if first == "light" else "light"
    expect(page.locator("html")).to_have_attribute("data-theme", other)
    page.screenshot(path=str(artifacts_dir / f"documents-{name}-{other}.png"), animations="disabled")
    page.get_by_test_id("theme-toggle").click()
    expect(page.locator("html")).to_have_attribute("data-theme", first)


def test_postmortem_edit_action_items_and_export(page, served_app, artifacts_dir):
    issue = new_incident(served_app)
    page.goto(f"{served_app.base_url}/#/issue/{issue['id']}/documents/postmortem")

    # Nothing generated yet: the tab offers to write it.
    expect(page.get_by_test_id("documents")).to_be_visible()
    expect(page.get_by_test_id("doc-empty")).to_be_visible()
    shoot_both_themes(page, artifacts_dir, "generate")
    page.get_by_test_id("doc-generate-postmortem").click()

    # The generated post-mortem carries the incident's 5 Whys and root cause.
    editor = page.get_by_test_id("doc-editor")
    preview = page.get_by_test_id("doc-preview")
    expect(editor).to_have_value(re.compile("The deploy halved max"))
    expect(preview.locator("h1")).to_contain_text("Post-mortem")
    expect(preview.locator("h2", has_text="Root cause")).to_be_visible()
    expect(page.get_by_test_id("doc-needs-author")).to_be_visible()
    expect(page.get_by_test_id("doc-section-link").first).to_be_visible()
    expect(page.get_by_test_id("doc-nav-postmortem")).to_contain_text("Generated")
    expect(page.get_by_test_id("documents-count")).to_have_text("1")
    assert "pwned" not in page.evaluate("() => Object.keys(window).join(' ')")

    # Jumping to a section that still needs the author selects its prompt, never the heading.
    page.locator('[data-testid="doc-section-link"][data-section-id="executive_summary"]').click()
    selected = page.evaluate(
        "() => { const t = document.querySelector('[data-testid=\"doc-editor\"]');"
        " return t.value.slice(t.selectionStart, t.selectionEnd); }")
    assert selected.startswith("> **✎ For the author:**") and "Executive summary" not in selected

    # Type at the end of the document: the preview follows, hostile text stays text.
    editor.click()
    page.keyboard.press("Control+End")
    page.keyboard.press("Enter")
    editor.press_sequentially(f"## Follow-up\n\n**{MARKER}** at 11:40 UTC.")
    page.keyboard.insert_text(
        f"\n\nSee the [runbook](https://runbooks.example.com/checkout).\n\n{HOSTILE}\n\n"
        "| Check | Result |\n|:---|---:|\n| Pool size | 200 |\n")
    expect(preview.locator("strong", has_text=MARKER)).to_be_visible()
    expect(preview).to_contain_text("<script>window.__pwned = 1</script>")
    expect(preview.locator("script, img, [onerror]")).to_have_count(0)
    expect(preview.locator("td.align-right", has_text="200")).to_be_visible()
    assert page.evaluate("() => window.__pwned === undefined")

    # Autosave: the server has the text, the editor says so.
    stored = wait_for_stored(served_app, issue["id"], "postmortem", "Pool size | 200")
    assert MARKER in stored["content_md"] and "Pool size | 200" in stored["content_md"]
    assert stored["edited"] is True
    save_state = page.get_by_test_id("doc-save-state")
    expect(save_state).to_have_attribute("data-state", "saved")
    expect(save_state).to_have_text("Saved")

    # A link in the preview does not navigate the window.
    url_before = page.url
    preview.get_by_role("link", name="runbook").click()
    expect(page.get_by_test_id("toast-info")).to_contain_text("https://runbooks.example.com/checkout")
    assert page.url == url_before

    # Regenerating over edits asks first; cancelling keeps them.
    page.get_by_test_id("doc-regenerate").click()
    expect(page.get_by_test_id("confirm-dialog")).to_be_visible()
    expect(page.get_by_test_id("confirm-dialog")).to_contain_text("edited")
    page.get_by_test_id("confirm-cancel").click()
    expect(page.get_by_test_id("confirm-dialog")).to_have_count(0)
    expect(editor).to_have_value(re.compile(re.escape(MARKER)))
    assert MARKER in stored_document(served_app, issue["id"], "postmortem")["content_md"]

    # The edits survive a reload of the page.
    page.reload()
    expect(page.get_by_test_id("doc-editor")).to_have_value(re.compile(re.escape(MARKER)))
    expect(page.get_by_test_id("doc-nav-postmortem")).to_contain_text("Edited")
    page.get_by_test_id("doc-preview").locator("h2", has_text="Follow-up").wait_for()
    shoot_both_themes(page, artifacts_dir, "editor")

    # Action items: add one that is already late and one due next month.
    page.get_by_test_id("doc-nav-actions").click()
    expect(page.get_by_test_id("action-items-empty")).to_be_visible()
    late_due = (date.today() - timedelta(days=3)).isoformat()
    later_due = (date.today() + timedelta(days=30)).isoformat()
    for title, owner, due, kind in [
        ("Restore max_connections to 200 in the gateway config", "Platform team", later_due, "immediate"),
        ("Alert when the upstream pool is above 80 %", "SRE on-call", late_due, "preventive"),
    ]:
        page.get_by_test_id("action-new-title").fill(title)
        page.get_by_test_id("action-new-kind").select_option(kind)
        page.get_by_test_id("action-new-owner").fill(owner)
        page.get_by_test_id("action-new-due").fill(due)
        page.get_by_test_id("action-new-add").click()
        expect(page.get_by_test_id("action-item").filter(has_text=title)).to_be_visible()
    rows = page.get_by_test_id("action-item")
    expect(rows).to_have_count(2)
    late = rows.filter(has_text="Alert when the upstream pool")
    expect(late).to_have_attribute("data-overdue", "true")
    expect(late.get_by_test_id("action-item-overdue")).to_be_visible()
    expect(late.get_by_test_id("action-item-owner")).to_contain_text("SRE on-call")
    expect(rows.filter(has_text="Restore max_connections").get_by_test_id("action-item-overdue")).to_have_count(0)

    # Edit one inline: set it in progress and give it notes.
    rows.filter(has_text="Restore max_connections").get_by_test_id("action-item-edit").click()
    form = page.get_by_test_id("action-edit-form")
    form.get_by_test_id("action-edit-status").select_option("in_progress")
    form.get_by_test_id("action-edit-notes").fill("Change request CR-1182.")
    form.get_by_test_id("action-edit-save").click()
    expect(page.get_by_test_id("action-edit-form")).to_have_count(0)
    restored = rows.filter(has_text="Restore max_connections")
    expect(restored).to_have_attribute("data-status", "in_progress")
    expect(restored).to_contain_text("CR-1182")
    items = {i["title"]: i for i in served_app.call("list_action_items", issue_id=issue["id"])}
    assert items["Alert when the upstream pool is above 80 %"]["overdue"] is True
    assert items["Alert when the upstream pool is above 80 %"]["owner"] == "SRE on-call"
    assert items["Alert when the upstream pool is above 80 %"]["kind"] == "preventive"
    assert items["Restore max_connections to 200 in the gateway config"]["status"] == "in_progress"
    assert items["Restore max_connections to 200 in the gateway config"]["notes"] == "Change request CR-1182."
    expect(page.get_by_test_id("doc-nav-actions")).to_contain_text("2 open of 2")
    shoot_both_themes(page, artifacts_dir, "action-items")

    # Export the post-mortem as PDF and HTML: both arrive as downloads.
    page.get_by_test_id("doc-nav-postmortem").click()
    expect(page.get_by_test_id("doc-editor")).to_have_value(re.compile(re.escape(MARKER)))
    with page.expect_download() as pdf_download:
        page.get_by_test_id("doc-export-pdf").click()
    pdf = pdf_download.value
    assert pdf.suggested_filename.endswith(".pdf")
    assert pdf.suggested_filename.startswith("Post-mortem")
    with open(pdf.path(), "rb") as fh:
        assert fh.read(5) == b"%PDF-"

    with page.expect_download() as html_download:
        page.get_by_test_id("doc-export-html").click()
    exported = html_download.value
    assert exported.suggested_filename.endswith(".html")
    with open(exported.path(), encoding="utf-8") as fh:
        text = fh.read()
    assert MARKER in text
    assert "<script" not in text.lower()
    assert "&lt;script&gt;" in text
    expect(page.get_by_test_id("toast-success").last).to_contain_text("Downloading")

    exports = [e for e in served_app.call("get_timeline_events", issue_id=issue["id"])
               if e["event_type"] == "document_exported"]
    assert sorted(e["metadata"]["format"] for e in exports) == ["html", "pdf"]

    # The dashboard lists open action items across incidents, the overdue one first.
    page.get_by_test_id("nav-dashboard").click()
    card = page.get_by_test_id("dashboard-actions")
    expect(card).to_be_visible()
    listed = card.get_by_test_id("dashboard-action-item")
    expect(listed).to_have_count(2)
    expect(listed.first).to_contain_text("Alert when the upstream pool")
    expect(listed.first).to_have_attribute("data-overdue", "true")
    expect(listed.first.get_by_test_id("action-item-overdue")).to_be_visible()
    expect(listed.nth(1)).to_have_attribute("data-overdue", "false")
    expect(card.get_by_test_id("dashboard-actions-overdue")).to_have_text("1 overdue")
    card.scroll_into_view_if_needed()
    shoot_both_themes(page, artifacts_dir, "dashboard")

    # A row opens the incident's action items.
    listed.first.click()
    expect(page.get_by_test_id("action-items")).to_be_visible()
    assert not real_problems(page), page.problems


def test_regenerate_over_edits_after_confirmation(page, served_app, artifacts_dir):
    issue = new_incident(served_app)
    doc = served_app.call("generate_rca", issue_id=issue["id"])
    served_app.call("update_document", document_id=doc["id"],
                    content_md=doc["content_md"] + "\n\nA note only a person wrote.\n")

    page.goto(f"{served_app.base_url}/#/issue/{issue['id']}/documents/rca")
    editor = page.get_by_test_id("doc-editor")
    expect(editor).to_have_value(re.compile("A note only a person wrote"))
    expect(page.get_by_test_id("doc-nav-rca")).to_contain_text("Edited")

    # The question, in both themes (the dialog covers the theme toggle, so ask twice).
    page.get_by_test_id("doc-view-preview").click()
    for _ in range(2):
        page.get_by_test_id("doc-regenerate").click()
        expect(page.get_by_test_id("confirm-dialog")).to_be_visible()
        theme = page.evaluate("() => document.documentElement.dataset.theme")
        page.screenshot(path=str(artifacts_dir / f"documents-regenerate-confirm-{theme}.png"),
                        animations="disabled")
        page.get_by_test_id("confirm-cancel").click()
        page.get_by_test_id("theme-toggle").click()
    page.get_by_test_id("doc-view-split").click()
    expect(editor).to_have_value(re.compile("A note only a person wrote"))

    page.get_by_test_id("doc-regenerate").click()
    page.get_by_test_id("confirm-ok").click()
    expect(editor).not_to_have_value(re.compile("A note only a person wrote"))
    expect(editor).to_have_value(re.compile("The deploy halved max"))
    expect(page.get_by_test_id("doc-nav-rca")).to_contain_text("Generated")
    stored = stored_document(served_app, issue["id"], "rca")
    assert stored["id"] == doc["id"] and stored["edited"] is False
    assert "A note only a person wrote" not in stored["content_md"]
    assert not real_problems(page), page.problems


def test_conflicting_write_is_reported_and_reloadable(page, served_app):
    issue = new_incident(served_app)
    doc = served_app.call("generate_postmortem", issue_id=issue["id"])

    # Freeze the page's timers so the autosave cannot run before the other write lands.
    page.clock.install()
    page.goto(f"{served_app.base_url}/#/issue/{issue['id']}/documents/postmortem")
    editor = page.get_by_test_id("doc-editor")
    expect(editor).to_have_value(re.compile("Post-mortem"))

    editor.click()
    page.keyboard.press("Control+End")
    page.keyboard.insert_text("\n\nWritten in the browser.\n")
    served_app.call("update_document", document_id=doc["id"],
                    content_md="# Post-mortem\n\nWritten somewhere else.\n")
    page.clock.run_for(5000)

    expect(page.get_by_test_id("doc-conflict")).to_be_visible()
    expect(page.get_by_test_id("doc-save-state")).to_have_attribute("data-state", "conflict")
    assert "Written somewhere else" in stored_document(served_app, issue["id"], "postmortem")["content_md"]

    page.get_by_test_id("doc-conflict-reload").click()
    expect(editor).to_have_value(re.compile("Written somewhere else"))
    expect(page.get_by_test_id("doc-conflict")).to_have_count(0)
    assert "Written in the browser" not in editor.input_value()
    assert not real_problems(page), page.problems


def test_open_editor_follows_a_write_from_elsewhere(page, served_app):
    issue = new_incident(served_app)
    doc = served_app.call("generate_postmortem", issue_id=issue["id"])
    page.goto(f"{served_app.base_url}/#/issue/{issue['id']}/documents/postmortem")
    editor = page.get_by_test_id("doc-editor")
    expect(editor).to_have_value(re.compile("Post-mortem"))

    # Nothing typed here: a save from another window simply shows up.
    served_app.call("update_document", document_id=doc["id"], base_updated_at=doc["updated_at"],
                    content_md="# Post-mortem\n\nRewritten in another window.\n")
    expect(editor).to_have_value(re.compile("Rewritten in another window"))
    expect(page.get_by_test_id("doc-preview")).to_contain_text("Rewritten in another window")
    expect(page.get_by_test_id("doc-save-state")).to_have_attribute("data-state", "saved")
    assert not real_problems(page), page.problems
