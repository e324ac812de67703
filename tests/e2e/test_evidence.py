"""Evidence in the browser UI, against the real server: log upload, PII review and
redaction, pasted screenshots behind a PII warning, and a 100,000-line log that the review
screen pages through without drawing every line."""

from __future__ import annotations

import base64
import io
import re

from PIL import Image
from playwright.sync_api import expect

EMAIL = "alice.martin@example.com"
IPV4 = "10.20.30.40"
PASSWORD = "Hunter2-Sup3r"
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
CUSTOMER = "ACME-CORP-7731"

LOG_TEXT = (
    "2024-05-01T10:00:00Z INFO gateway started on :8443\n"
    f"2024-05-01T10:00:01Z INFO login user={EMAIL} from {IPV4} customer {CUSTOMER} ok\n"
    f"2024-05-01T10:00:02Z WARN db connect retry password={PASSWORD} attempt=2\n"
    f"2024-05-01T10:00:03Z DEBUG s3 client key {AWS_KEY} region=eu-west-1\n"
    "2024-05-01T10:00:04Z ERROR upstream returned 502 after 30012 ms\n"
)

# Lines and texts the test reads back.
PAGE_SCRIPT_PASTE = """([b64, name]) => {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i += 1) bytes[i] = bin.charCodeAt(i);
  const dt = new DataTransfer();
  dt.items.add(new File([bytes], name, { type: 'image/png' }));
  const ev = new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true });
  document.querySelector('[data-testid="evidence"]').dispatchEvent(ev);
  return ev.defaultPrevented;
}"""

PAGE_SCRIPT_DROP = """(files) => {
  const dt = new DataTransfer();
  for (const [name, b64] of files) {
    const bin = atob(b64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i += 1) bytes[i] = bin.charCodeAt(i);
    dt.items.add(new File([bytes], name, { type: 'application/octet-stream' }));
  }
  const target = document.querySelector('[data-testid="evidence"]');
  for (const type of ['dragenter', 'dragover', 'drop']) {
    target.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
  }
}"""

# Select characters [from, to) of one rendered line of the original pane, counting in the
# line's text (which highlighted findings split into several text nodes).
PAGE_SCRIPT_SELECT = """([line, needle]) => {
  const row = document.querySelector(
    `[data-testid="review-original"] [data-testid="review-line"][data-line="${line}"] .vt`);
  const full = row.textContent;
  const from = full.indexOf(needle);
  if (from < 0) return false;
  const to = from + needle.length;
  const walker = document.createTreeWalker(row, NodeFilter.SHOW_TEXT);
  let seen = 0, start = null, end = null;
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const len = n.data.length;
    if (start === null && from < seen + len) start = [n, from - seen];
    if (end === null && to <= seen + len) end = [n, to - seen];
    seen += len;
  }
  const range = document.createRange();
  range.setStart(start[0], start[1]);
  range.setEnd(end[0], end[1]);
  const sel = window.getSelection();
  sel.removeAllRanges();
  sel.addRange(range);
  return true;
}"""


def png_bytes(width=64, height=40, colour=(47, 111, 235)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buf, format="PNG")
    return buf.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def open_evidence(page, served_app, issue_id):
    page.goto(f"{served_app.base_url}/#/issue/{issue_id}/evidence")
    expect(page.get_by_test_id("evidence")).to_be_visible()


def new_issue(served_app, title="Checkout returns 502 after the gateway deploy"):
    return served_app.call("create_issue", title=title, severity="high", category="application",
                           description="502s from the gateway since 10:00 UTC.")["issue"]


def shoot_both_themes(page, artifacts_dir, name):
    """Screenshot in the current theme, switch with the real toggle, shoot, switch back."""
    first = page.evaluate("() => document.documentElement.dataset.theme")
    page.screenshot(path=str(artifacts_dir / f"evidence-{name}-{first}.png"), animations="disabled")
    page.get_by_test_id("theme-toggle").click()
    other = "dark" if first == "light" else "light"
    expect(page.locator("html")).to_have_attribute("data-theme", other)
    page.screenshot(path=str(artifacts_dir / f"evidence-{name}-{other}.png"), animations="disabled")
    page.get_by_test_id("theme-toggle").click()
    expect(page.locator("html")).to_have_attribute("data-theme", first)


def test_log_upload_review_and_finalise(page, served_app, artifacts_dir):
    issue = new_issue(served_app)
    open_evidence(page, served_app, issue["id"])
    expect(page.get_by_test_id("evidence-empty")).to_contain_text("personal data and secrets")

    page.get_by_test_id("log-file-input").set_input_files(
        {"name": "gateway.log", "mimeType": "text/plain", "buffer": LOG_TEXT.encode()})
    row = page.get_by_test_id("log-file-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("gateway.log")
    expect(row.get_by_test_id("log-status")).to_have_text("Not reviewed")
    expect(row.get_by_test_id("log-lines")).to_have_text("5")
    for pii_type in ("Email", "Ipv4", "Password"):
        expect(row.locator(f'[data-testid="pii-type-count"][data-pii-type="{pii_type}"]')).to_be_visible()
    expect(page.get_by_test_id("evidence-count")).to_have_class(re.compile(r"\bwarn\b"))
    shoot_both_themes(page, artifacts_dir, "tab")

    row.get_by_test_id("log-review").click()
    review = page.get_by_test_id("pii-review")
    expect(review).to_have_attribute("data-state", "pending")
    original = page.get_by_test_id("review-original")
    expect(original).to_contain_text(EMAIL)
    preview = page.get_by_test_id("review-preview")
    expect(preview).to_contain_text("[Email]")
    expect(preview).not_to_contain_text(EMAIL)
    finalise = page.get_by_test_id("review-finalise")
    expect(finalise).to_be_disabled()
    expect(page.get_by_test_id("review-finalise-hint")).to_contain_text("still need")
    shoot_both_themes(page, artifacts_dir, "review")

    spans = served_app.call("get_pii_spans", log_file_id=review.get_attribute("data-log-file-id"))
    planted = {s["original"] for s in spans["spans"]}
    assert {EMAIL, IPV4, AWS_KEY} <= planted, planted
    assert any(PASSWORD in v for v in planted), planted

    # Keep the internal IP (click it, press R); redact everything else with A.
    original.locator('mark[data-pii-type="Ipv4"]').click()
    expect(page.get_by_test_id("review-current-original")).to_have_text(IPV4)
    page.keyboard.press("r")
    expect(original.locator('mark[data-pii-type="Ipv4"]')).to_have_attribute("data-status", "rejected")
    pending = spans["total"] - 1
    while pending:
        expect(page.get_by_test_id("review-current-status")).to_have_text("needs a decision")
        page.keyboard.press("a")
        pending -= 1
        if pending:
            expect(page.get_by_test_id("review-finalise-hint")).to_contain_text(f"{pending} finding")
    expect(finalise).to_be_enabled()

    # Redact a customer id by selecting it in the original, after two highlighted findings.
    assert page.evaluate(PAGE_SCRIPT_SELECT, [1, CUSTOMER])
    add = page.get_by_test_id("review-add")
    expect(add).to_contain_text(CUSTOMER)
    page.get_by_test_id("review-add-confirm").click()
    expect(add).to_have_count(0)
    expect(original.locator('mark[data-pii-type="Manual"]')).to_have_text(CUSTOMER)
    expect(preview).to_contain_text("[Redacted]")

    finalise.click()
    page.get_by_test_id("confirm-ok").click()
    expect(review).to_have_attribute("data-state", "redacted")
    expect(page.get_by_test_id("review-done")).to_be_visible()
    stored = page.get_by_test_id("review-redacted-text")
    for token in ("[Email-1]", "[Password-1]", "[AwsKey-1]", "[Redacted-1]"):
        expect(stored).to_contain_text(token)
    expect(stored).to_contain_text(IPV4)  # kept on purpose
    text = stored.inner_text()
    for secret in (EMAIL, PASSWORD, AWS_KEY, CUSTOMER):
        assert secret not in text
    expect(review.get_by_test_id("log-status")).to_have_text("Redacted")

    # The server holds the same: redacted text, original values erased, an audit entry.
    log_file_id = review.get_attribute("data-log-file-id")
    content = served_app.call("get_log_file_content", log_file_id=log_file_id)
    assert content["redacted"] is True
    for secret in (EMAIL, PASSWORD, AWS_KEY, CUSTOMER):
        assert secret not in content["text"]
    assert CUSTOMER not in content["text"] and "[Redacted-1]" in content["text"]
    audit = served_app.call("get_audit_log", action="log_redacted")
    entries = [e for e in audit["items"] if e.get("entity_id") == log_file_id
               or (e.get("details") or {}).get("log_file_id") == log_file_id]
    assert entries, audit

    page.get_by_test_id("review-back").click()
    expect(page.get_by_test_id("log-file-row").get_by_test_id("log-status")).to_have_text("Redacted")
    expect(page.get_by_test_id("evidence-count")).not_to_have_class(re.compile(r"\bwarn\b"))
    assert not page.problems, page.problems


def test_upload_errors_are_explained_per_file(page, served_app):
    issue = new_issue(served_app)
    open_evidence(page, served_app, issue["id"])
    page.get_by_test_id("log-file-input").set_input_files([
        {"name": "empty.log", "mimeType": "text/plain", "buffer": b""},
        {"name": "core.dump", "mimeType": "application/octet-stream",
         "buffer": bytes(range(256)) * 64},
        {"name": "ok.log", "mimeType": "text/plain", "buffer": LOG_TEXT.encode()},
    ])
    errors = page.get_by_test_id("upload-error")
    expect(errors).to_have_count(2)
    expect(page.locator('[data-testid="upload-error"][data-code="empty_file"]')).to_be_visible()
    expect(page.locator('[data-testid="upload-error"][data-code="binary_file"]')).to_be_visible()
    expect(page.get_by_test_id("log-file-row")).to_have_count(1)

    # Several files dropped at once: a duplicate is refused, a new log is added.
    second = LOG_TEXT.replace("502", "504").encode()
    page.evaluate(PAGE_SCRIPT_DROP, [["ok-again.log", b64(LOG_TEXT.encode())],
                                     ["second.log", b64(second)]])
    expect(page.locator('[data-testid="upload-error"][data-code="duplicate"]')).to_be_visible()
    expect(page.get_by_test_id("log-file-row")).to_have_count(2)
    names = {f["file_name"] for f in served_app.call("list_log_files", issue_id=issue["id"])}
    assert names == {"ok.log", "second.log"}
    # The browser logs each refused request; anything else would be a fault in the page.
    assert not [p for p in page.problems if "Failed to load resource" not in p], page.problems


def test_pasted_screenshot_needs_acknowledgement(page, served_app, artifacts_dir):
    issue = new_issue(served_app, title="Dashboard shows stale data for EU tenants")
    open_evidence(page, served_app, issue["id"])
    png = b64(png_bytes())

    # Cancelling the warning keeps nothing.
    assert page.evaluate(PAGE_SCRIPT_PASTE, [png, "image.png"]) is True
    warning = page.get_by_test_id("image-pii-warning")
    expect(warning).to_contain_text("personal data")
    page.get_by_test_id("image-pii-cancel").click()
    expect(warning).to_have_count(0)
    assert served_app.call("list_image_attachments", issue_id=issue["id"]) == []

    # Acknowledged: uploaded as a paste, thumbnail served by the backend.
    page.evaluate(PAGE_SCRIPT_PASTE, [png, "image.png"])
    page.get_by_test_id("image-pii-ack").click()
    thumb = page.get_by_test_id("image-thumb-img")
    expect(thumb).to_have_count(1)
    page.wait_for_function(
        "() => { const i = document.querySelector('[data-testid=\"image-thumb-img\"]');"
        " return Boolean(i && i.complete && i.naturalWidth > 0); }")
    images = served_app.call("list_image_attachments", issue_id=issue["id"])
    assert len(images) == 1 and images[0]["is_paste"] is True
    assert images[0]["pii_warning_acknowledged"] is True
    src = thumb.get_attribute("src")  # signed for this one image, for a few minutes
    assert src.startswith(images[0]["thumbnail_url"] + "&exp=") and "&sig=" in src

    # The Evidence tab with a log and the image, for the screenshots.
    page.get_by_test_id("log-file-input").set_input_files(
        {"name": "dashboard-api.log", "mimeType": "text/plain", "buffer": LOG_TEXT.encode()})
    expect(page.get_by_test_id("log-file-row")).to_have_count(1)
    shoot_both_themes(page, artifacts_dir, "tab-with-image")

    # Full size in a viewer; then delete with a confirmation.
    page.get_by_test_id("image-thumb").click()
    full = page.get_by_test_id("image-full")
    expect(full).to_be_visible()
    page.wait_for_function(
        "() => { const i = document.querySelector('[data-testid=\"image-full\"]');"
        " return Boolean(i && i.complete && i.naturalWidth === 64); }")
    page.get_by_test_id("dialog-close").click()
    page.get_by_test_id("image-delete").click()
    page.get_by_test_id("confirm-ok").click()
    expect(page.get_by_test_id("image-tile")).to_have_count(0)
    assert served_app.call("list_image_attachments", issue_id=issue["id"]) == []

    # The Attachments view lists the log across incidents, flagged as not reviewed.
    page.get_by_test_id("nav-attachments").click()
    item = page.get_by_test_id("attachment-log")
    expect(item).to_have_count(1)
    expect(item.get_by_test_id("log-status")).to_have_text("Not reviewed")
    item.get_by_test_id("attachment-issue").click()
    expect(page.get_by_test_id("issue-title")).to_have_text("Dashboard shows stale data for EU tenants")
    assert not page.problems, page.problems


def test_large_log_is_paged_and_virtualised(page, served_app, artifacts_dir):
    issue = new_issue(served_app, title="Batch import stalls overnight")
    lines = [f"2024-05-02T01:{i // 6000 % 60:02d}:{i // 100 % 60:02d}Z INFO worker-{i % 16} batch {i}"
             f" processed {i * 7 % 1000} rows" + (f" notify ops{i}@example.com" if i % 5000 == 0 else "")
             for i in range(99_999)]
    lines.append("2024-05-02T03:59:59Z INFO END-OF-IMPORT-MARKER all batches done")
    body = ("\n".join(lines) + "\n").encode()
    r = served_app.client.post("/upload/log", params={"issue_id": issue["id"],
                                                      "filename": "import.log"}, content=body)
    assert r.status_code == 200, r.text
    log_file = r.json()["log_file"]
    assert log_file["line_count"] == 100_000

    page.goto(f"{served_app.base_url}/#/issue/{issue['id']}/review/{log_file['id']}")
    original = page.get_by_test_id("review-original")
    expect(original.locator('[data-testid="review-line"][data-line="0"]')).to_contain_text("batch 0")
    assert page.locator('[data-testid="review-line"]').count() < 500

    # Scroll the original pane to the very end: the last line arrives, the DOM stays small.
    original.evaluate("el => { el.scrollTop = el.scrollHeight; }")
    last = original.locator('[data-testid="review-line"][data-line="99999"]')
    expect(last).to_contain_text("END-OF-IMPORT-MARKER")
    expect(last).to_be_in_viewport()
    # The preview pane followed.
    expect(page.get_by_test_id("review-preview").locator(
        '[data-testid="review-line"][data-line="99999"]')).to_be_in_viewport()
    assert page.locator('[data-testid="review-line"]').count() < 500

    # Jumping to the previous finding from the first wraps to the last one, near the end.
    expect(page.get_by_test_id("review-position")).to_contain_text("1 of 20")
    page.get_by_test_id("review-prev").click()
    expect(page.get_by_test_id("review-position")).to_contain_text("20 of 20")
    expect(page.get_by_test_id("review-current-original")).to_have_text("ops95000@example.com")
    expect(original.locator('[data-testid="review-line"][data-line="95000"] mark')).to_be_in_viewport()
    assert page.locator('[data-testid="review-line"]').count() < 500
    page.screenshot(path=str(artifacts_dir / "evidence-review-100k.png"))
    assert not page.problems, page.problems
