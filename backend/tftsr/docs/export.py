"""A document as a file: Markdown, standalone HTML or PDF.

* ``md``   — the stored Markdown as UTF-8, unchanged, then a rule and the audit head line.
* ``html`` — one self-contained page: sanitised body, embedded print-friendly CSS, the
  timeline chart as inline SVG, screenshots as ``data:`` images, a
  Content-Security-Policy that forbids scripts and remote loads, and no external
  reference of any kind. The header names the document only: the facts are the
  document's own first section, not repeated above it.
* ``pdf``  — see :mod:`tftsr.docs.pdf`.

Screenshots: a line holding only ``![caption](attachment:IMAGE-ID)`` (what the editor's
"Insert screenshot" writes) shows that image of the incident, in HTML and PDF, at the
size of its largest stored thumbnail. A reference to an image of another incident, or
one since deleted, stays a visible "[image: caption]" note.

The chart is drawn from the incident's current timeline; the document's text is exported
exactly as stored (with the author's edits). Every format ends with "Audit log head at
export: SEQ:HASH", the audit chain's head when the file was made: kept with the file, it is
an anchor outside the database (``tftsr db verify-audit --expect-head SEQ:HASH``).
"""

from __future__ import annotations

import base64
import io
import re
import unicodedata
from dataclasses import dataclass, field
from html import escape

from tftsr.docs import generate, timeline_chart
from tftsr.docs.render import render_with_inserts

FORMATS = {
    "md": ("text/markdown; charset=utf-8", "md"),
    "html": ("text/html; charset=utf-8", "html"),
    "pdf": ("application/pdf", "pdf"),
}
_TIMELINE_HEADING = re.compile(r"^(\d+\.\s*)?timeline$", re.IGNORECASE)
IMAGE_LINE = re.compile(
    r"^[ \t]{0,3}!\[([^\]\n]{0,300})\]\(attachment:([0-9a-fA-F-]{36})\)[ \t]*$")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
MAX_IMAGES = 40
IMAGE_SIZE = 512  # the largest stored thumbnail


@dataclass(frozen=True)
class DocImage:
    """A screenshot ready to place in an export (thumbnail bytes, upright)."""

    data: bytes
    mime: str
    width: int
    height: int

    def data_uri(self) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"


def image_refs(markdown: str) -> list[tuple[int, str, str]]:
    """(line number, caption, image id) for every line that is only a screenshot
    reference, outside code fences."""
    found, in_fence = [], False
    for n, line in enumerate(markdown.split("\n")):
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        m = None if in_fence else IMAGE_LINE.match(line)
        if m:
            found.append((n, m.group(1), m.group(2).lower()))
    return found


def load_images(app, issue_id: str, markdown: str) -> dict[str, DocImage]:
    """The screenshots a document refers to, for its incident only."""
    from PIL import Image

    from tftsr.evidence import images as evidence_images

    wanted = list(dict.fromkeys(ref for _n, _c, ref in image_refs(markdown)))[:MAX_IMAGES]
    if not wanted:
        return {}
    with app.db.connection() as conn:
        marks = ", ".join("?" * len(wanted))
        own = {r["id"] for r in conn.execute(
            f"SELECT id FROM image_attachments WHERE issue_id = ? AND id IN ({marks})",
            [issue_id, *wanted])}
    out = {}
    for image_id in wanted:
        if image_id not in own:
            continue
        try:
            found = evidence_images.thumbnail(app, image_id, IMAGE_SIZE)
            if found is None:
                continue
            data, mime = found
            with Image.open(io.BytesIO(data)) as im:
                width, height = im.size
        except Exception:  # noqa: BLE001 - an unreadable image stays a caption, not a failed export
            continue
        out[image_id] = DocImage(data, mime, width, height)
    return out


@dataclass
class ExportInput:
    document: dict          # the stored document (title, doc_type, content_md, ...)
    issue: dict             # the incident
    events: list[dict]      # the incident's timeline, chronological
    audit_head: str = ""    # "SEQ:HASH" of the audit log when exported
    images: dict[str, DocImage] = field(default_factory=dict)  # screenshots by image id

    def head_line(self) -> str:
        return f"Audit log head at export: {self.audit_head}" if self.audit_head else ""

    @property
    def kind(self) -> str:
        return generate.DOC_TITLES[self.document["doc_type"]]

    def chart(self) -> timeline_chart.Chart | None:
        # The same story the documents tell: no 5-Whys or document bookkeeping.
        story = [e for e in self.events
                 if e["event_type"] not in generate.BOOKKEEPING_EVENT_TYPES]
        return timeline_chart.layout(self.issue, story)

    def facts(self) -> list[tuple[str, str]]:
        """What the PDF's title page shows about the incident."""
        i = self.issue
        facts = [
            ("Incident", i["title"]),
            ("Severity", generate.label(i["severity"])),
        ]
        if i.get("priority"):
            facts.append(("Priority", generate.PRIORITY_LABELS.get(i["priority"], i["priority"])))
        facts += [
            ("Status", generate.label(i["status"])),
            ("Opened", f"{i['created_at']} UTC"),
            ("Resolved", f"{i['resolved_at']} UTC" if i.get("resolved_at") else "Not resolved"),
        ]
        if i.get("incident_commander"):
            facts.append(("Incident commander", i["incident_commander"]))
        facts += [
            ("Assigned to", i.get("assigned_to") or "Not assigned"),
            ("Incident id", i["id"]),
        ]
        return facts


def filename(inp: ExportInput, fmt: str) -> str:
    """``RCA - <incident title>.pdf``, reduced to characters every file system accepts
    (the delivery layer sanitises again; this keeps the name readable)."""
    kind = "RCA" if inp.document["doc_type"] == "rca" else "Post-mortem"
    ascii_title = (unicodedata.normalize("NFKD", inp.issue["title"])
                   .encode("ascii", "ignore").decode("ascii"))
    title = " ".join(re.sub(r"[^A-Za-z0-9_ -]+", " ", ascii_title).split())[:80].strip(" -")
    return f"{kind} - {title or 'incident'}.{FORMATS[fmt][1]}"


CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #eef1f5; color: #111827;
  font: 15px/1.6 "DejaVu Sans", "Segoe UI", "Helvetica Neue", Arial,
        "Noto Sans CJK JP", "Droid Sans Fallback", sans-serif; }
main { max-width: 960px; margin: 32px auto; background: #fff; padding: 48px 56px;
  border-radius: 6px; box-shadow: 0 1px 3px rgba(0,0,0,.08); }
header.doc { border-top: 6px solid #2563eb; margin: -48px -56px 32px; padding: 36px 56px 8px; }
header.doc .kind { color: #2563eb; font-weight: 700; letter-spacing: .08em;
  text-transform: uppercase; font-size: 13px; }
header.doc h1.doc-title { font-size: 30px; line-height: 1.25; margin: 6px 0 16px; }
h1 { font-size: 26px; } h2 { font-size: 21px; color: #1d4ed8; margin-top: 36px;
  padding-bottom: 4px; border-bottom: 2px solid #2563eb; break-after: avoid; }
h3 { font-size: 17px; margin-top: 24px; break-after: avoid; }
p, li { overflow-wrap: anywhere; }
a { color: #1d4ed8; }
code { font-family: "DejaVu Sans Mono", Consolas, Menlo, monospace; font-size: .88em;
  background: #f3f4f6; padding: 1px 4px; border-radius: 3px; color: #be185d; }
pre { background: #f3f4f6; padding: 12px 14px; border-radius: 4px; overflow-x: auto;
  white-space: pre-wrap; }
pre code { background: none; padding: 0; color: #111827; }
blockquote { margin: 12px 0; padding: 8px 14px; border-left: 4px solid #d97706;
  background: #fffbeb; color: #374151; }
blockquote p { margin: 4px 0; }
table { border-collapse: collapse; width: 100%; margin: 12px 0 18px; font-size: 13px; }
th { background: #2563eb; color: #fff; text-align: left; }
/* A column is never narrower than its longest word, so cells wrap between words (a
   table wider than the paper is scaled to fit when printed); code and links may break
   anywhere. */
th, td { padding: 5px 8px; border-bottom: 1px solid #e5e7eb; vertical-align: top;
  overflow-wrap: break-word; }
th code, td code, th a, td a { overflow-wrap: anywhere; }
tbody tr:nth-child(even) { background: #f8fafc; }
figure.timeline-chart { margin: 12px 0 20px; padding: 10px; border: 1px solid #e5e7eb;
  border-radius: 4px; }
figure.timeline-chart figcaption { font-size: 12px; color: #64748b; margin-top: 6px; }
figure.screenshot { margin: 14px 0 20px; text-align: center; }
figure.screenshot img { max-width: 100%; height: auto; border: 1px solid #e5e7eb;
  border-radius: 4px; }
figure.screenshot figcaption { font-size: 12px; color: #64748b; margin-top: 6px; }
footer.doc { color: #64748b; font-size: 12px; margin-top: 40px; border-top: 1px solid #e5e7eb;
  padding-top: 10px; }
@media print {
  body { background: #fff; font-size: 11pt; }
  main { margin: 0; padding: 0; box-shadow: none; max-width: none; }
  header.doc { margin: 0 0 24px; padding: 12px 0 0; }
  h2 { break-after: avoid; } tr, figure, blockquote, pre { break-inside: avoid; }
  thead { display: table-header-group; }
  /* Printing drops backgrounds unless the reader asks for them: header text is dark on
     a light tint with a rule below, legible either way. */
  th { background: #e8eefc; color: #111827; border-bottom: 2px solid #1d4ed8;
    -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  a { color: inherit; }
}
@page { size: A4; margin: 18mm 16mm; }
"""
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"


def without_leading_title(markdown: str) -> str:
    """The Markdown minus its first line when that is a level-1 heading (the title page
    or header already shows the document title)."""
    stripped = markdown.lstrip("\n")
    first, _, rest = stripped.partition("\n")
    return rest if re.match(r"^#\s", first) else markdown


def to_html(inp: ExportInput) -> str:
    chart = inp.chart()

    def insert(heading: str) -> str | None:
        if chart is None or not _TIMELINE_HEADING.match(heading.strip()):
            return None
        return (f'<figure class="timeline-chart">{timeline_chart.to_svg(chart)}'
                f"<figcaption>{escape(chart.description)}</figcaption></figure>")

    markdown, placed = _with_image_markers(without_leading_title(inp.document["content_md"]),
                                           inp.images)
    body = render_with_inserts(markdown, insert)
    for marker, (caption, image) in placed.items():
        figure = (f'<figure class="screenshot"><img src="{image.data_uri()}" alt="{escape(caption)}"'
                  f' width="{image.width}" height="{image.height}">'
                  + (f"<figcaption>{escape(caption)}</figcaption>" if caption else "")
                  + "</figure>")
        body = body.replace(f"<p>{marker}</p>", figure)
    title = escape(inp.document["title"])
    head = f'<br><span class="audit-head">{escape(inp.head_line())}</span>' if inp.audit_head else ""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{title}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
        f'<header class="doc"><div class="kind">{escape(inp.kind)}</div>'
        f'<h1 class="doc-title">{title}</h1></header>\n'
        f"{body}\n"
        f'<footer class="doc">Exported from TFTSR. Sensitive values in attached logs were '
        f"redacted before analysis; only counts by type appear here.{head}</footer>\n"
        "</main>\n</body>\n</html>\n"
    )


def _with_image_markers(markdown: str, images: dict[str, DocImage]):
    """The Markdown with each screenshot line whose image is known replaced by a marker
    paragraph, and {marker: (caption, image)}. The marker is letters and digits only, so
    it reaches the sanitised HTML unchanged as ``<p>MARKER</p>``."""
    lines = markdown.split("\n")
    placed = {}
    for n, caption, image_id in image_refs(markdown):
        image = images.get(image_id)
        if image is None:
            continue
        marker = f"TFTSRSCREENSHOT{len(placed):04d}X{image_id.replace('-', '')}"
        lines[n] = "\n" + marker + "\n"
        placed[marker] = (caption.strip(), image)
    return "\n".join(lines), placed


def to_pdf(inp: ExportInput) -> bytes:
    # The PDF library is imported when a PDF is made, not when TFTSR starts.
    from tftsr.docs.pdf import PdfImage, TitlePage, markdown_to_pdf

    page = TitlePage(
        kind=inp.kind, facts=inp.facts(),
        footnote=("Exported from TFTSR. Sensitive values in attached logs were redacted "
                  "before analysis; only counts by type appear in this document."
                  + (f"\n{inp.head_line()}" if inp.audit_head else "")),
    )
    markdown, placed = _with_image_markers(without_leading_title(inp.document["content_md"]),
                                           inp.images)
    return markdown_to_pdf(markdown, doc_title=inp.document["title"], title_page=page,
                           chart=inp.chart(),
                           images={marker: PdfImage(image.data, image.width, image.height, caption)
                                   for marker, (caption, image) in placed.items()})


def export_bytes(inp: ExportInput, fmt: str) -> tuple[bytes, str, str]:
    """(data, mime type, suggested file name) for one format."""
    mime = FORMATS[fmt][0]
    if fmt == "md":
        text = inp.document["content_md"]
        if inp.audit_head:
            text = f"{text.rstrip()}\n\n---\n\n{inp.head_line()}\n"
        data = text.encode("utf-8")
    elif fmt == "html":
        data = to_html(inp).encode("utf-8")
    else:
        data = to_pdf(inp)
    return data, mime, filename(inp, fmt)
