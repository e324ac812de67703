"""Export: Markdown, standalone HTML and PDF, read back the way a reader would."""

from __future__ import annotations

import re
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import unavailable
from tests.unit.test_docs_generate import RAW_EMAIL, TITLE, populated_incident
from tests.unit.test_docs_render import assert_harmless, elements

HOSTILE_EDIT = """
## Reviewer notes <script>alert(1)</script>

<img src=x onerror="alert(2)"> <svg onload="alert(3)"></svg> <iframe src="https://evil.example"></iframe>

[click](javascript:alert(4)) [data](data:text/html,<script>alert(5)</script>) ![t](https://evil.example/t.png)
"""
UNICODE_LINE = "Arrows → and umlauts ü, accents é, and 日本 in one line."


def _export(call, document_id, fmt) -> tuple[dict, bytes]:
    result = call("export_document", document_id=document_id, format=fmt)
    path = Path(result["path"])
    assert path.name == result["filename"]
    return result, path.read_bytes()


@pytest.fixture
def rca(app, call, make_issue):
    ids = populated_incident(app, call, make_issue)
    doc = call("generate_rca", issue_id=ids["issue_id"])
    content = doc["content_md"].replace("## 2. Description\n",
                                        f"## 2. Description\n\n{UNICODE_LINE}\n", 1)
    content += "\n```\nkubectl rollout undo deploy/orders  # → back to v41\n```\n" + HOSTILE_EDIT
    return call("update_document", document_id=doc["id"], content_md=content)


def test_markdown_export_is_the_stored_text(call, rca):
    head = call("verify_audit")["head"]
    result, data = _export(call, rca["id"], "md")
    assert data.decode("utf-8") == (f"{rca['content_md'].rstrip()}\n\n---\n\n"
                                    f"Audit log head at export: {head}\n")
    assert result["filename"] == "RCA - Checkout API 502 fur Kunden.md"
    events = call("get_timeline_events", issue_id=rca["issue_id"])
    exported = [e for e in events if e["event_type"] == "document_exported"]
    assert exported[-1]["metadata"]["format"] == "md"
    assert exported[-1]["metadata"]["file_path"] == result["path"]
    assert exported[-1]["metadata"]["doc_id"] == rca["id"]


def test_html_export_is_standalone_and_sanitised(call, rca, artifacts_dir):
    result, data = _export(call, rca["id"], "html")
    html = data.decode("utf-8")
    (artifacts_dir / "docs-export.html").write_text(html, encoding="utf-8")
    assert result["filename"].endswith(".html")
    tags = elements(html)
    names = [t for t, _ in tags]
    # Exactly one SVG (the timeline chart) and one <style> (ours, in <head>); nothing else
    # from the hostile Markdown becomes markup.
    assert names.count("svg") == 1 and names.count("style") == 1
    assert "script" not in names and "iframe" not in names and "img" not in names
    chart_tags = {"svg", "title", "rect", "line", "circle", "text", "figure", "figcaption"}
    document_body = tags[names.index("h2"):]  # after TFTSR's own header
    assert_harmless([t for t in document_body if t[0] not in chart_tags | {"footer"}])
    assert all(not k.startswith("on") for _, attrs in tags for k in attrs)
    attr_values = [v.lower() for t, attrs in tags for k, v in attrs.items()
                   if v and not (t == "meta" and k == "content")]
    assert not any("javascript:" in v or "data:" in v for v in attr_values)
    assert not any(k in ("src", "srcset", "poster", "background") for _, a in tags for k in a)
    assert "link" not in names and "url(" not in html.split("</style>")[0]
    assert "default-src 'none'" in html
    # Content in order, including the timeline chart right under the Timeline heading.
    order = [TITLE, "1. Summary", UNICODE_LINE, "3. Timeline", "<svg", "Error rate began climbing",
             "4. Response metrics", "1 h 05 min", "7. Log files analysed", "gateway.log",
             "9. Lessons learned", "kubectl rollout undo", "Reviewer notes"]
    at = 0
    for needle in order:
        at = html.find(needle, at)
        assert at >= 0, f"{needle!r} missing or out of order"
    assert RAW_EMAIL not in html


def _pdf_text(path: Path) -> str:
    if not shutil.which("pdftotext"):
        unavailable("pdftotext (poppler-utils) is not installed for the PDF text check")
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True,
                         capture_output=True, text=True).stdout
    return " ".join(out.split())


def test_pdf_export_holds_the_content_in_order(call, rca, artifacts_dir):
    result, data = _export(call, rca["id"], "pdf")
    assert data.startswith(b"%PDF-") and result["filename"].endswith(".pdf")
    path = artifacts_dir / "docs-export.pdf"
    path.write_bytes(data)
    text = _pdf_text(path)
    order = ["ROOT CAUSE ANALYSIS", "Incident Checkout API → 502 für Kunden 日本",
             "1. Summary", UNICODE_LINE, "3. Timeline", "Opened",
             "Error rate began climbing", "Raised connection pool from 50 to 200",
             "4. Response metrics", "20 min", "2 h 30 min", "1 h 05 min", "5. 5-Whys analysis",
             "Why was the pool exhausted?", "6. Root cause", "7. Log files analysed",
             "gateway.log", "orders-db.log", "8. Corrective actions",
             "Load-test pool settings in CI", "9. Lessons learned", "For the author",
             "kubectl rollout undo deploy/orders # → back to v41", "Reviewer notes",
             "<script>alert(1)</script>"]
    positions = []
    for needle in order:
        at = text.find(needle, positions[-1] if positions else 0)
        assert at >= 0, f"{needle!r} missing or out of order"
        positions.append(at)
    assert "Page 2 of" in text
    assert RAW_EMAIL not in text

    if not shutil.which("pdftoppm"):
        unavailable("pdftoppm (poppler-utils) is not installed to render the PDF's pages")
    pages_dir = artifacts_dir / "docs-pdf-pages"
    pages_dir.mkdir(exist_ok=True)
    for old in pages_dir.glob("*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-r", "80", "-png", str(path), str(pages_dir / "page")],
                   check=True)
    pngs = sorted(pages_dir.glob("page-*.png"))
    assert len(pngs) >= 3 and all(p.stat().st_size > 5000 for p in pngs)


def test_pdf_of_a_bare_incident_has_no_chart_errors(call, make_issue, tmp_path):
    issue = make_issue(title="Plain ASCII incident", description="")
    doc = call("generate_postmortem", issue_id=issue["id"])
    _, data = _export(call, doc["id"], "pdf")
    path = tmp_path / "bare.pdf"
    path.write_bytes(data)
    text = _pdf_text(path)
    assert "POST-MORTEM" in text and "No action items were recorded." in text
    assert b"DroidSansFallback" not in data  # the CJK font is only embedded when needed


def test_export_of_a_missing_document_is_not_found(call):
    from tftsr.errors import NotFound

    with pytest.raises(NotFound):
        call("export_document", document_id="01890000-0000-7000-8000-000000000000",
             format="pdf")


@pytest.mark.browser
def test_html_export_renders_in_chromium_without_requests(call, rca, artifacts_dir, browser):
    result, _ = _export(call, rca["id"], "html")
    url = Path(result["path"]).resolve().as_uri()
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    try:
        page = context.new_page()
        requests, dialogs, errors = [], [], []
        page.on("request", lambda r: requests.append(r.url))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        page.wait_for_load_state("load")
        assert page.locator("figure.timeline-chart svg").count() == 1
        assert page.locator("h2").first.inner_text() == "1. Summary"
        page.screenshot(path=str(artifacts_dir / "docs-export-html.png"), full_page=True)
        page.emulate_media(media="print")
        page.screenshot(path=str(artifacts_dir / "docs-export-html-print.png"), full_page=True)
    finally:
        context.close()
    assert requests == [url] and dialogs == [] and errors == []


# -- screenshots, metadata once, tables that wrap between words ----------------------------
def _png(width: int, height: int, colour=(220, 38, 38)) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buf, "PNG")
    return buf.getvalue()


def _attach(app, issue_id, name, png) -> str:
    from tftsr.evidence.images import ingest_image

    return ingest_image(app, issue_id, name, [png], is_paste=False, acknowledged=True)["image"]["id"]


@pytest.fixture
def with_screenshot(app, call, make_issue):
    issue = make_issue(title="Latency graph incident")
    other = make_issue(title="Someone else's incident")
    mine = _attach(app, issue["id"], "grafana.png", _png(900, 400))
    theirs = _attach(app, other["id"], "private.png", _png(300, 300, (0, 128, 0)))
    doc = call("generate_rca", issue_id=issue["id"])
    content = doc["content_md"].replace(
        "## 3. Timeline\n",
        f"## 3. Timeline\n\n![Grafana: p99 latency](attachment:{mine})\n\n"
        f"![not this one](attachment:{theirs})\n\n```\n![in code](attachment:{mine})\n```\n", 1)
    return call("update_document", document_id=doc["id"], content_md=content), mine


def test_screenshot_appears_in_the_html_export(call, with_screenshot):
    doc, _image_id = with_screenshot
    _, data = _export(call, doc["id"], "html")
    html = data.decode("utf-8")
    tags = elements(html)
    imgs = [a for t, a in tags if t == "img"]
    assert len(imgs) == 1  # not the other incident's image, not the one in a code block
    assert imgs[0]["src"].startswith("data:image/png;base64,")
    assert imgs[0]["alt"] == "Grafana: p99 latency"
    assert "<figcaption>Grafana: p99 latency</figcaption>" in html
    assert "![not this one](attachment:" in html  # left as the text it is
    assert "![in code](attachment:" in html
    assert "TFTSRSCREENSHOT" not in html
    assert "img-src data:" in html  # the policy allows inline images and nothing remote


def test_screenshot_appears_in_the_pdf_export(call, with_screenshot, artifacts_dir):
    doc, _image_id = with_screenshot
    _, data = _export(call, doc["id"], "pdf")
    path = artifacts_dir / "docs-export-screenshot.pdf"
    path.write_bytes(data)
    if not shutil.which("pdfimages"):
        unavailable("pdfimages (poppler-utils) is not installed for the PDF image check")
    listing = subprocess.run(["pdfimages", "-list", str(path)], check=True, capture_output=True,
                             text=True).stdout.splitlines()[2:]
    sizes = [(int(cols[3]), int(cols[4])) for cols in (line.split() for line in listing)]
    assert sizes == [(512, 228)]  # the stored 512-pixel thumbnail, once
    out = artifacts_dir / "docs-export-screenshot"
    subprocess.run(["pdfimages", "-png", str(path), str(out)], check=True)
    from PIL import Image

    with Image.open(f"{out}-000.png") as im:
        assert im.convert("RGB").getpixel((100, 100)) == (220, 38, 38)
    text = _pdf_text(path)
    assert "Grafana: p99 latency" in text and "TFTSRSCREENSHOT" not in text


def test_html_states_the_facts_once(call, rca):
    _, data = _export(call, rca["id"], "html")
    html = data.decode("utf-8")
    assert html.count(rca["issue_id"]) == 1  # the document's own facts table, no header copy
    assert "<dl" not in html


WIDE_WORDS = ["Uploaded", "Redaction", "Observability", "Configuration", "Synchronisation",
              "Troubleshooting", "Acknowledgement", "Notifications"]


def wide_table() -> str:
    """Seven columns of long words: wider than a page unless the type shrinks."""
    words = WIDE_WORDS
    header = "| " + " | ".join(words[:7]) + " |"
    row = "| " + " | ".join(" ".join(words[(i + j) % len(words)] for j in range(5))
                            for i in range(7)) + " |"
    return "\n".join([header, "|" + "---|" * 7, row, row])


def test_pdf_tables_wrap_between_words(call, make_issue, tmp_path):
    issue = make_issue(title="Wide table")
    doc = call("generate_rca", issue_id=issue["id"])
    words = WIDE_WORDS
    saved = call("update_document", document_id=doc["id"],
                 content_md=doc["content_md"] + "\n" + wide_table() + "\n")
    _, data = _export(call, saved["id"], "pdf")
    path = tmp_path / "wide.pdf"
    path.write_bytes(data)
    tokens = set(_pdf_text(path).split())
    for word in words:
        assert word in tokens, f"{word} was broken across lines"


# Letters of one word of a table cell that end up on two lines ("Uploade" / "d"), as a
# reader sees them. Letter runs only: a date may break after a hyphen, and an id or hash
# in code may break anywhere.
SPLIT_WORDS_JS = """(selector) => {
  const split = [];
  for (const cell of document.querySelectorAll(selector)) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      if (n.parentElement.closest('code')) continue;
      for (const m of n.data.matchAll(/\\p{L}+/gu)) {
        const r = document.createRange();
        r.setStart(n, m.index);
        r.setEnd(n, m.index + m[0].length);
        const lines = new Set([...r.getClientRects()].filter((x) => x.width > 0)
          .map((x) => Math.round(x.top)));
        if (lines.size > 1) split.push(m[0]);
      }
    }
  }
  return split;
}"""


@contextmanager
def printed_html(call, browser, document_id: str, *, width: int):
    """A page showing the document's HTML export as Chromium prints it (print media)."""
    result, _ = _export(call, document_id, "html")
    context = browser.new_context(viewport={"width": width, "height": 900})
    try:
        page = context.new_page()
        page.emulate_media(media="print")
        page.goto(Path(result["path"]).resolve().as_uri())
        yield page
    finally:
        context.close()


def test_html_tables_wrap_between_words_on_paper(call, make_issue, browser, tmp_path):
    """The HTML export printed on A4 (about 673 CSS pixels between the margins): no word of
    a table cell is cut in two, and the widest table is printed whole (scaled to fit)."""
    issue = make_issue(title="Printed tables")
    call("set_issue_milestones", issue_id=issue["id"], impact_started="2026-03-01 02:10",
         detected="2026-03-01 02:14", acknowledged="2026-03-01 02:16",
         mitigated="2026-03-01 02:22", resolved="2026-03-01 02:25")
    call("create_action_item", issue_id=issue["id"], title="Add a leak detector to CI",
         kind="preventive")
    doc = call("generate_postmortem", issue_id=issue["id"])
    saved = call("update_document", document_id=doc["id"],
                 content_md=doc["content_md"] + "\n" + wide_table() + "\n")
    with printed_html(call, browser, saved["id"], width=673) as page:
        assert page.locator("td", has_text="Acknowledged 2026-03-01 02:16:00").count() == 1
        assert page.evaluate(SPLIT_WORDS_JS, "th, td") == []
        pdf = tmp_path / "printed.pdf"
        page.pdf(path=str(pdf), format="A4")
    tokens = set(_pdf_text(pdf).split())
    assert set(WIDE_WORDS) <= tokens  # every column printed, none cut off at the edge


def _page_words(pdf: Path, first: int, last: int) -> list[tuple[int, str, tuple[float, ...]]]:
    """(page, word, (x0, y0, x1, y1) in points) for every word poppler finds."""
    if not shutil.which("pdftotext"):
        unavailable("pdftotext (poppler-utils) is not installed for the PDF word boxes")
    out = subprocess.run(["pdftotext", "-bbox", "-f", str(first), "-l", str(last), str(pdf), "-"],
                         check=True, capture_output=True, text=True).stdout
    words = []
    for number, page in enumerate(out.split("<page ")[1:], start=first):
        for m in re.finditer(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">'
                             r"([^<]*)</word>", page):
            words.append((number, m.group(5), tuple(float(v) for v in m.groups()[:4])))
    return words


def test_printed_table_headers_are_legible(call, make_issue, browser, tmp_path, artifacts_dir):
    """The HTML export printed from Chromium, with backgrounds dropped (its default) and
    kept: every table header word is dark ink on light paper, never white on white."""
    from PIL import Image

    if not shutil.which("pdftoppm"):
        unavailable("pdftoppm (poppler-utils) is not installed to render the printed pages")
    issue = make_issue(title="Printed headers")
    call("set_issue_milestones", issue_id=issue["id"], impact_started="2026-03-01 02:10",
         detected="2026-03-01 02:14", resolved="2026-03-01 02:25")
    doc = call("generate_postmortem", issue_id=issue["id"])
    with printed_html(call, browser, doc["id"], width=900) as page:
        headers = set(" ".join(page.locator("th").all_inner_texts()).split())
        assert {"Field", "Value", "Milestone", "Metric", "Duration"} <= headers
        for backgrounds in (False, True):
            pdf = tmp_path / f"printed-{backgrounds}.pdf"
            page.pdf(path=str(pdf), format="A4", print_background=backgrounds)
            subprocess.run(["pdftoppm", "-r", "144", "-f", "1", "-l", "3", "-png", str(pdf),
                            str(tmp_path / f"page-{backgrounds}")], check=True)
            pngs = sorted(tmp_path.glob(f"page-{backgrounds}-*.png"))
            shutil.copy(pngs[0], artifacts_dir / f"docs-print-headers-background-{backgrounds}.png")
            seen = set()
            for number, word, box in _page_words(pdf, 1, len(pngs)):
                if word not in ("Field", "Value", "Metric", "Duration"):
                    continue
                with Image.open(pngs[number - 1]) as im:
                    cell = im.convert("L").crop(tuple(round(v * 2) for v in box))
                    shades = sorted(cell.tobytes())
                darkest, paper = shades[0], shades[len(shades) // 2]
                assert darkest < 110 and paper > 180, (
                    f"{word!r} on page {number} (backgrounds {backgrounds}): darkest ink {darkest},"
                    f" paper {paper}")
                seen.add(word)
            assert seen == {"Field", "Value", "Metric", "Duration"}
