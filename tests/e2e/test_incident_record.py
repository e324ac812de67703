"""The incident record a manager signs, in the browser UI against the real server:
milestones set and back-dated in the user's time zone, true durations in the documents,
related incidents, search over tags and everything else, timeline entries corrected, the
section jump, document edits in the audit log, a screenshot in the exported PDF, and the
slips a new user met (lost drafts, limits found too late, a useless not-found page)."""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.conftest import unavailable
from tests.unit.test_docs_export import SPLIT_WORDS_JS, wide_table

ZONE = "Asia/Tokyo"  # UTC+09:00 all year: a fixed, non-UTC zone for the user
DAY = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d")


@pytest.fixture
def zoned(browser, served_app, artifacts_dir, request):
    """A page whose browser runs in ZONE (the shared fixture runs in UTC)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, timezone_id=ZONE)
    pg = context.new_page()
    problems: list[str] = []
    pg.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    pg.problems = problems
    pg.goto(served_app.url)
    expect(pg.get_by_test_id("dashboard-empty").or_(pg.get_by_test_id("dashboard"))).to_be_visible()
    yield pg
    try:
        pg.screenshot(path=str(artifacts_dir / f"e2e-{request.node.name}.png"))
    finally:
        context.close()


def shoot(page, artifacts_dir, name):
    """The screen at 1280 and 1024 pixels wide, tall enough to hold the page."""
    for width in (1280, 1024):
        page.set_viewport_size({"width": width, "height": 1500})
        page.wait_for_timeout(300)
        page.screenshot(path=str(artifacts_dir / f"incident-record-{name}-{width}.png"), animations="disabled")
    page.set_viewport_size({"width": 1280, "height": 800})


def png(width=900, height=400, colour=(220, 38, 38)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buf, "PNG")
    return buf.getvalue()


def attach_image(served_app, issue_id, name="grafana-p99.png") -> str:
    r = served_app.client.post("/upload/image", params={
        "issue_id": issue_id, "filename": name, "pii_warning_acknowledged": "1"}, content=png())
    assert r.status_code == 200, r.text
    return r.json()["image"]["id"]


def selection(page) -> str:
    return page.evaluate("() => { const t = document.querySelector('[data-testid=\"doc-editor\"]');"
                         " return t.value.slice(t.selectionStart, t.selectionEnd); }")


def wait_for(predicate, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


# -- milestones -----------------------------------------------------------------------------
def test_setting_milestones_in_the_users_zone_gives_true_durations(zoned, served_app, artifacts_dir):
    page = zoned
    issue = served_app.call("create_issue", title="Checkout 502 overnight", severity="critical",
                            category="application", tags=["checkout"])["issue"]
    iid = issue["id"]
    served_app.call("add_timeline_event", issue_id=iid, event_type="mitigation_applied",
                    description="Raised the pool to 200", occurred_at=f"{DAY} 02:22:00")
    page.goto(f"{served_app.base_url}/#/issue/{iid}")
    strip = page.get_by_test_id("milestone-strip")
    expect(strip.get_by_test_id("milestone-impact_started")).to_have_attribute("data-set", "false")

    strip.get_by_test_id("milestone-impact_started").click()
    dialog = page.get_by_test_id("milestones-dialog")
    expect(dialog.get_by_test_id("milestones-zone")).to_contain_text(f"{ZONE} (UTC+09:00)")
    # In Tokyo the outage began at 11:10 (02:10 UTC) — hours before the incident was opened.
    dialog.get_by_test_id("ms-input-impact_started").fill(f"{DAY}T11:10")
    dialog.get_by_test_id("ms-input-detected").fill(f"{DAY}T11:14")
    dialog.get_by_test_id("ms-input-mitigated").fill(f"{DAY}T11:00")  # a slip: before it began
    dialog.get_by_test_id("milestones-save").click()
    expect(dialog.get_by_test_id("milestones-error")).to_contain_text("cannot be before")
    assert served_app.call("get_issue", issue_id=iid)["issue"]["impact_started_at"] is None

    # The timeline says when the mitigation happened: one click takes it.
    dialog.get_by_test_id("ms-clear-mitigated").click()
    dialog.get_by_test_id("ms-suggest-mitigated").click()
    expect(dialog.get_by_test_id("ms-input-mitigated")).to_have_value(f"{DAY}T11:22")
    dialog.get_by_test_id("ms-input-resolved").fill(f"{DAY}T11:25")
    shoot(page, artifacts_dir, "milestones-dialog")
    dialog.get_by_test_id("milestones-save").click()
    expect(dialog).to_have_count(0)

    expect(strip.get_by_test_id("milestone-impact_started")).to_have_attribute("data-set", "true")
    expect(strip.get_by_test_id("milestone-impact_started")).to_contain_text("11:10")
    expect(page.get_by_test_id("impact-duration")).to_contain_text("Impact 12 min")
    expect(page.get_by_test_id("metric-time_to_detect")).to_contain_text("4 min")
    expect(page.get_by_test_id("metric-time_to_resolve")).to_contain_text("11 min")
    expect(page.get_by_test_id("metric-time_to_acknowledge")).to_contain_text("Not set")
    stored = served_app.call("get_issue", issue_id=iid)["issue"]
    assert (stored["impact_started_at"], stored["detected_at"], stored["mitigated_at"],
            stored["resolved_at"]) == (f"{DAY} 02:10:00", f"{DAY} 02:14:00", f"{DAY} 02:22:00",
                                       f"{DAY} 02:25:00")
    sets = [e for e in served_app.call("get_audit_log", action="milestone_set")["items"]
            if e["entity_id"] == iid]
    assert {e["details"]["milestone"] for e in sets} == {"impact_started", "detected", "mitigated",
                                                         "resolved"}
    shoot(page, artifacts_dir, "overview")

    # The post-mortem measures the outage, not the time the record was made.
    page.get_by_test_id("tab-documents").click()
    page.get_by_test_id("doc-nav-postmortem").click()
    page.get_by_test_id("doc-generate-postmortem").click()
    editor = page.get_by_test_id("doc-editor")
    expect(editor).to_have_value(re.compile(re.escape("| Time to detect | **4 min** |")))
    value = editor.input_value()
    assert "| Impact duration | **12 min** |" in value
    assert "| Time to resolve | **11 min** |" in value
    assert f"| {DAY} 02:10:00 | Milestone | **Impact started** |" in value
    # The one refused save (the slip above) is the only failed request.
    assert [p for p in page.problems if "status of 400" not in p] == [], page.problems
    assert sum("status of 400" in p for p in page.problems) == 1


# -- related incidents and search ------------------------------------------------------------
def test_related_incidents_and_search_over_tags_and_more(page, served_app, artifacts_dir):
    past = served_app.call("create_issue", title="Orders API pool exhausted", severity="high",
                           category="databases", tags=["hikari", "orders"],
                           description="Connection pool exhausted under load")["issue"]
    why = served_app.call("add_five_why", issue_id=past["id"], why_question="Why was the pool exhausted?",
                          answer="A connection leak in the payments client")
    served_app.call("set_root_cause", step_id=why["id"])
    served_app.call("create_action_item", issue_id=past["id"], title="Add a flamegraph to the runbook",
                    kind="preventive")
    served_app.call("set_issue_status", issue_id=past["id"], status="resolved",
                    note="Rolled back payments client 2.3")
    current = served_app.call("create_issue", title="Checkout errors: pool exhausted again",
                              severity="critical", category="application", tags=["hikari"],
                              description="Timeouts from the connection pool")["issue"]
    served_app.call("create_issue", title="Printer jam", severity="low", category="hardware", tags=[])

    page.goto(f"{served_app.base_url}/#/issue/{current['id']}")
    related = page.get_by_test_id("related-incidents")
    item = related.get_by_test_id("related-item").first
    expect(item).to_contain_text("Orders API pool exhausted")
    expect(item).to_contain_text("A connection leak in the payments client")
    expect(item).to_contain_text("Rolled back payments client 2.3")
    expect(related).not_to_contain_text("Printer jam")
    item.get_by_test_id("related-link").click()
    expect(page.get_by_test_id("issue-title")).to_have_text("Orders API pool exhausted")

    # A tag finds both incidents, and each result says where it matched.
    page.get_by_test_id("nav-history").click()
    page.get_by_test_id("search-input").fill("hikari")
    results = page.get_by_test_id("search-result")
    expect(results).to_have_count(2)
    expect(results.first.get_by_test_id("result-where")).to_contain_text("Tags")
    shoot(page, artifacts_dir, "search-tag")
    # Words of the root cause and of an action item are found too.
    page.get_by_test_id("search-input").fill("leak")
    expect(results).to_have_count(1)
    expect(results.first.get_by_test_id("result-where")).to_contain_text("Root cause")
    page.get_by_test_id("search-input").fill("flamegraph")
    expect(results).to_have_count(1)
    expect(results.first.get_by_test_id("result-where")).to_contain_text("Action items")
    expect(results.first).to_contain_text("Orders API pool exhausted")
    assert not page.problems, page.problems


# -- timeline -------------------------------------------------------------------------------
def test_editing_a_timeline_entry(page, served_app, artifacts_dir):
    issue = served_app.call("create_issue", title="Queue backlog", severity="medium",
                            category="application")["issue"]
    served_app.call("add_five_why", issue_id=issue["id"], why_question="Why did the queue back up?")
    entry = served_app.call("add_timeline_event", issue_id=issue["id"], event_type="note",
                            description="Restarted consumers", occurred_at=f"{DAY} 03:00:00")
    page.goto(f"{served_app.base_url}/#/issue/{issue['id']}/timeline")
    cards = page.get_by_test_id("timeline-event")
    card = cards.filter(has_text="Restarted consumers")
    card.get_by_test_id("timeline-edit").click()
    form = page.get_by_test_id("timeline-edit-form")
    form.get_by_test_id("timeline-type").select_option("mitigation_applied")
    form.get_by_test_id("timeline-description").fill("Restarted consumers with a larger prefetch")
    form.get_by_test_id("timeline-time").fill(f"{DAY}T02:55")
    form.get_by_test_id("timeline-save").click()
    edited = cards.filter(has_text="Restarted consumers with a larger prefetch")
    expect(edited).to_be_visible()
    expect(edited).to_contain_text("Mitigation applied")
    stored = next(e for e in served_app.call("get_timeline_events", issue_id=issue["id"])
                  if e["id"] == entry["id"])
    assert (stored["event_type"], stored["created_at"]) == ("mitigation_applied", f"{DAY} 02:55:00")
    [audit] = served_app.call("get_audit_log", action="timeline_event_edited")["items"]
    assert audit["details"]["occurred_at"] == {"from": f"{DAY} 03:00:00", "to": f"{DAY} 02:55:00"}

    # Cards carry no bookkeeping: no flags, no ids.
    text = page.get_by_test_id("timeline").inner_text()
    for raw in ("manual: true", "step_id", "from_level", "timeline_event_id", "true"):
        assert raw not in text

    # A date a year ahead is refused before it is sent.
    ahead = (datetime.now(UTC) + timedelta(days=365)).strftime("%Y-%m-%dT%H:%M")
    add = page.get_by_test_id("timeline-form")
    add.get_by_test_id("timeline-description").fill("Planned for next year by mistake")
    add.get_by_test_id("timeline-time").fill(ahead)
    add.get_by_test_id("timeline-add").click()
    expect(add.get_by_test_id("timeline-description-error")).to_contain_text("more than a day ahead")
    assert len(served_app.call("get_timeline_events", issue_id=issue["id"])) == 3
    shoot(page, artifacts_dir, "timeline")
    assert not page.problems, page.problems


def test_toasts_are_merged_and_few(page, served_app):
    # The page's clock stands still, so no toast runs out while a slow machine catches up;
    # the clock is then run forward to see them leave on time.
    page.clock.install()
    page.reload()
    expect(page.get_by_test_id("toasts")).to_be_attached()
    page.clock.pause_at(page.evaluate("Date.now()") + 1000)
    page.evaluate("""async () => {
        const { toast } = await import('/lib/ui.js');
        for (let i = 0; i < 5; i++) toast.success('Added to the timeline');
        toast.error('First problem'); toast.error('Second problem'); toast.info('Third note');
    }""")
    toasts = page.get_by_test_id("toasts").locator(".toast")
    expect(toasts).to_have_count(3)
    expect(toasts.nth(0)).to_contain_text("First problem")
    expect(toasts.nth(2)).to_contain_text("Third note")
    page.evaluate("""async () => {
        const { toast } = await import('/lib/ui.js');
        for (let i = 0; i < 4; i++) toast.info('Same again');
    }""")
    expect(page.get_by_test_id("toasts").locator(".toast", has_text="Same again")).to_have_count(1)
    expect(page.get_by_test_id("toast-count")).to_have_text("×4")
    expect(toasts).to_have_count(3)
    # Notes leave after four seconds, errors stay for seven.
    page.clock.run_for(4500)
    expect(toasts).to_have_count(1)
    expect(toasts.nth(0)).to_contain_text("Second problem")
    page.clock.run_for(3000)
    expect(toasts).to_have_count(0)


# -- documents --------------------------------------------------------------------------------
def test_section_jump_and_document_edits_in_the_audit_log(page, served_app, artifacts_dir):
    issue = served_app.call("create_issue", title="DNS resolver outage", severity="high",
                            category="network")["issue"]
    doc = served_app.call("generate_postmortem", issue_id=issue["id"])
    page.goto(f"{served_app.base_url}/#/issue/{issue['id']}/documents/postmortem")
    editor = page.get_by_test_id("doc-editor")
    expect(editor).to_have_value(re.compile("What went well"))
    page.locator('[data-testid="doc-section-link"][data-section-id="what_went_well"]').click()
    chosen = selection(page)
    assert chosen.startswith("> **✎ For the author:**") and "##" not in chosen
    page.keyboard.type("Alerting paged the on-call engineer within two minutes.")
    value = editor.input_value()
    assert "## 9. What went well\n\nAlerting paged the on-call engineer within two minutes." in value
    assert "## 10. What could be improved" in value
    # Saved, and the tracker no longer lists the section (and points at the others).
    expect(page.get_by_test_id("doc-save-state")).to_have_attribute("data-state", "saved")
    expect(page.locator('[data-testid="doc-section-link"][data-section-id="what_went_well"]')).to_have_count(0)
    page.locator('[data-testid="doc-section-link"][data-section-id="lessons_learned"]').click()
    assert selection(page).startswith("> **✎ For the author:**")

    stored = served_app.call("get_document", document_id=doc["id"])["content_md"]
    digest = hashlib.sha256(stored.encode("utf-8")).hexdigest()
    page.get_by_test_id("nav-audit").click()
    page.get_by_test_id("audit-filter-action").select_option("document_edited")
    row = page.get_by_test_id("audit-row").first
    expect(row).to_contain_text("document_edited")
    row.click()
    expect(page.get_by_test_id("audit-details-json").first).to_contain_text(digest)
    shoot(page, artifacts_dir, "audit-document-edit")
    assert not page.problems, page.problems


def test_a_screenshot_inserted_into_a_document_is_in_the_exported_pdf(page, served_app, artifacts_dir):
    issue = served_app.call("create_issue", title="Latency spike on checkout", severity="high",
                            category="application")["issue"]
    image_id = attach_image(served_app, issue["id"])
    served_app.call("generate_rca", issue_id=issue["id"])
    page.goto(f"{served_app.base_url}/#/issue/{issue['id']}/documents/rca")
    editor = page.get_by_test_id("doc-editor")
    expect(editor).to_have_value(re.compile("## 3. Timeline"))
    # The cursor at the start of the Timeline section, then Insert screenshot.
    page.evaluate("""() => { const t = document.querySelector('[data-testid="doc-editor"]');
        const at = t.value.indexOf('## 3. Timeline') + '## 3. Timeline\\n'.length;
        t.focus(); t.setSelectionRange(at, at); }""")
    page.get_by_test_id("doc-fmt-screenshot").click()
    page.get_by_test_id("screenshot-picker").get_by_test_id("screenshot-option").click()
    expect(editor).to_have_value(re.compile(re.escape(f"![grafana-p99](attachment:{image_id})")))
    shot = page.get_by_test_id("doc-preview-screenshot")
    expect(shot).to_be_visible()
    page.wait_for_function("() => { const i = document.querySelector('[data-testid=\"doc-preview-screenshot\"] img');"
                           " return Boolean(i && i.complete && i.naturalWidth > 0); }")
    expect(page.get_by_test_id("doc-save-state")).to_have_attribute("data-state", "saved")
    page.get_by_test_id("doc-preview").locator("figure").scroll_into_view_if_needed()
    page.get_by_test_id("doc-editor-pane").screenshot(path=str(artifacts_dir / "incident-record-screenshot-preview.png"))

    with page.expect_download() as download:
        page.get_by_test_id("doc-export-pdf").click()
    pdf_path = artifacts_dir / "incident-record-screenshot.pdf"
    shutil.copyfile(download.value.path(), pdf_path)
    for tool in ("pdfimages", "pdftoppm"):
        if not shutil.which(tool):
            unavailable(f"{tool} (poppler-utils) is not installed to read the exported PDF")
    listing = subprocess.run(["pdfimages", "-list", str(pdf_path)], check=True, capture_output=True,
                             text=True).stdout.splitlines()[2:]
    assert [(int(c[3]), int(c[4])) for c in (line.split() for line in listing)] == [(512, 228)]
    out = artifacts_dir / "incident-record-screenshot-image"
    subprocess.run(["pdfimages", "-png", str(pdf_path), str(out)], check=True)
    with Image.open(f"{out}-000.png") as im:
        assert im.convert("RGB").getpixel((50, 50)) == (220, 38, 38)
    subprocess.run(["pdftoppm", "-r", "60", "-png", "-f", "2", "-l", "2", str(pdf_path),
                    str(artifacts_dir / "incident-record-screenshot-page")], check=True)
    assert not page.problems, page.problems


def test_document_preview_tables_wrap_between_words(page, served_app, artifacts_dir):
    """The preview beside the editor is narrow: its tables wrap between words, and a table
    wider than the pane scrolls on its own instead of cutting words ("Unass igned")."""
    issue = served_app.call("create_issue", title="Checkout 502 overnight", severity="high",
                            category="application")["issue"]
    served_app.call("set_issue_milestones", issue_id=issue["id"], impact_started=f"{DAY} 02:10",
                    detected=f"{DAY} 02:14", acknowledged=f"{DAY} 02:16",
                    mitigated=f"{DAY} 02:22", resolved=f"{DAY} 02:25")
    served_app.call("create_action_item", issue_id=issue["id"], title="Add a leak detector to CI",
                    kind="preventive")
    doc = served_app.call("generate_postmortem", issue_id=issue["id"])
    served_app.call("update_document", document_id=doc["id"],
                    content_md=doc["content_md"] + "\n" + wide_table() + "\n")
    page.goto(f"{served_app.base_url}/#/issue/{issue['id']}/documents/postmortem")
    page.get_by_test_id("doc-view-split").click()
    preview = page.get_by_test_id("doc-preview")
    expect(preview.locator("td", has_text="Unassigned")).to_be_visible()
    cells = '[data-testid="doc-preview"] th, [data-testid="doc-preview"] td'
    for width in (1280, 1024):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(300)
        assert page.evaluate(SPLIT_WORDS_JS, cells) == [], width
        # Only the wide table scrolls, not the pane or the page.
        assert page.evaluate("() => { const p = document.querySelector('.doc-pane-preview');"
                             " return p.scrollWidth <= p.clientWidth; }"), width
        assert page.evaluate("() => document.documentElement.scrollWidth"
                             " <= document.documentElement.clientWidth"), width
        preview.locator("table").last.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts_dir / f"incident-record-preview-tables-{width}.png"))
    assert not page.problems, page.problems


# -- forms and pages a new user met -----------------------------------------------------------
def test_drafts_limits_not_found_and_palette(page, served_app, artifacts_dir):
    served_app.call("create_issue", title="Disk full on db-02", severity="critical", category="databases")
    page.goto(f"{served_app.base_url}/#/issue/does-not-exist")
    missing = page.get_by_test_id("issue-not-found")
    expect(missing).to_contain_text("This incident does not exist")
    expect(missing.get_by_role("button", name="Try again")).to_have_count(0)
    shoot(page, artifacts_dir, "not-found")
    missing.get_by_test_id("not-found-history").click()
    expect(page.get_by_test_id("history")).to_be_visible()
    page.goto(f"{served_app.base_url}/#/issue/01900000-0000-7000-8000-000000000000")
    expect(page.get_by_test_id("issue-not-found")).to_be_visible()

    # The title stops at 300 characters and says so before that.
    page.get_by_test_id("nav-new").click()
    title = page.get_by_test_id("new-issue-title")
    title.fill("x" * 400)
    expect(title).to_have_value("x" * 300)
    expect(page.get_by_test_id("new-issue-title-count")).to_have_text("300 / 300")
    assert title.get_attribute("maxlength") == "300"

    # What is typed survives F1 and the sidebar.
    title.fill("Checkout 502 for EU customers")
    page.get_by_test_id("new-issue-description").fill("Gateway errors since 02:10")
    page.get_by_test_id("domain-network").click()
    page.keyboard.press("F1")
    expect(page.get_by_test_id("nav-help")).to_have_attribute("aria-current", "page")
    page.get_by_test_id("nav-new").click()
    expect(page.get_by_test_id("new-issue-title")).to_have_value("Checkout 502 for EU customers")
    expect(page.get_by_test_id("new-issue-description")).to_have_value("Gateway errors since 02:10")
    expect(page.get_by_test_id("domain-network")).to_have_attribute("aria-checked", "true")
    page.get_by_test_id("nav-dashboard").click()
    page.get_by_test_id("nav-new").click()
    expect(page.get_by_test_id("new-issue-title")).to_have_value("Checkout 502 for EU customers")
    page.get_by_test_id("new-issue-create").click()
    expect(page.get_by_test_id("issue-title")).to_have_text("Checkout 502 for EU customers")
    page.get_by_test_id("nav-new").click()
    expect(page.get_by_test_id("new-issue-title")).to_have_value("")  # the draft went with it

    # The palette lists each group once.
    page.keyboard.press("Control+k")
    groups = page.locator(".palette-group")
    expect(groups.first).to_be_visible()
    names = groups.all_inner_texts()
    assert len(names) == len(set(names)), names
    page.get_by_test_id("palette-input").fill("go")
    expect(page.get_by_test_id("palette-item").first).to_be_visible()
    names = groups.all_inner_texts()
    assert len(names) == len(set(names)), names
    page.keyboard.press("Escape")
    assert [p for p in page.problems if "404" not in p] == []
