"""Markdown -> PDF with fpdf2 (pure Python, so it works inside the single-file build).

The Markdown is parsed by the same markdown-it parser as the HTML preview and walked
token by token: headings, paragraphs with bold/italic/code/links, nested lists,
blockquotes, code blocks, tables and rules. A title page comes first, every later page
carries the document title and "Page n of N", and the timeline chart is drawn as vector
graphics under the Timeline heading. Screenshots come in as marker paragraphs (see
:mod:`tftsr.docs.export`) and are drawn as images with their caption.

Table columns are never narrower than their longest word, so cells wrap between words;
only a single word wider than the whole text width (a hash, a long URL) is broken.

Fonts are bundled (``fonts/``): DejaVu Sans and DejaVu Sans Mono for Latin, Greek,
Cyrillic, arrows and symbols; Droid Sans Fallback for CJK and other scripts DejaVu
lacks. The fallback (4 MB) is only loaded when the text needs it.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import WrapMode, XPos, YPos

from tftsr.docs import timeline_chart
from tftsr.docs.render import parser

FONT_DIR = Path(__file__).resolve().parent / "fonts"
SANS, MONO, FALLBACK = "dejavu", "dejavumono", "droidfallback"
FONT_FILES = {
    (SANS, ""): "DejaVuSans.ttf", (SANS, "B"): "DejaVuSans-Bold.ttf",
    (SANS, "I"): "DejaVuSans-Oblique.ttf", (SANS, "BI"): "DejaVuSans-BoldOblique.ttf",
    (MONO, ""): "DejaVuSansMono.ttf", (MONO, "B"): "DejaVuSansMono-Bold.ttf",
}
FALLBACK_FILE = "DroidSansFallbackFull.ttf"

BODY_PT = 10
MIN_TABLE_SCALE = 0.75  # type size of a table whose longest words do not fit, relative
LINE_MM = 5.0
ACCENT = (37, 99, 235)
MUTED = (100, 116, 139)
TEXT = (17, 24, 39)
_TIMELINE_HEADING = re.compile(r"^(\d+\.\s*)?timeline$", re.IGNORECASE)


@dataclass(frozen=True)
class PdfImage:
    """A screenshot to draw where its marker paragraph stands."""

    data: bytes
    width: int   # pixels
    height: int
    caption: str = ""


@dataclass
class TitlePage:
    """What the title page shows besides the document title."""

    kind: str                      # "Root Cause Analysis" / "Post-mortem"
    facts: list[tuple[str, str]]   # (label, value) rows
    footnote: str = ""


@lru_cache(maxsize=1)
def _sans_coverage() -> frozenset[int]:
    from fontTools.ttLib import TTFont

    with TTFont(FONT_DIR / FONT_FILES[(SANS, "")], lazy=True) as font:
        return frozenset(font.getBestCmap())


def needs_fallback(text: str) -> bool:
    covered = _sans_coverage()
    return any(ord(ch) not in covered for ch in set(text) if ch not in "\n\r\t")


class TextMeasure:
    """Word widths cached per font, line wrapping, and splitting text into runs of the
    main font and the fallback font. Widths are in mm."""

    def __init__(self, pdf: FPDF, with_fallback: bool):
        self.pdf = pdf
        self.with_fallback = with_fallback
        self._unit: dict[tuple[str, str, str], float] = {}

    def runs(self, text: str, family: str) -> list[tuple[str, str]]:
        covered = _sans_coverage()
        if not self.with_fallback or covered.issuperset(map(ord, text)):
            return [(family, text)]
        out: list[tuple[str, str]] = []
        for ch in text:
            fam = family if (ord(ch) in covered or ch == " ") else FALLBACK
            if out and out[-1][0] == fam:
                out[-1] = (fam, out[-1][1] + ch)
            else:
                out.append((fam, ch))
        return out

    def _unit_width(self, word: str, family: str, emphasis: str) -> float:
        key = (family, emphasis, word)
        found = self._unit.get(key)
        if found is None:
            self.pdf.set_font(family, emphasis if family != FALLBACK else "", 10)
            found = self.pdf.get_string_width(word) / 10
            if len(self._unit) < 200_000:
                self._unit[key] = found
        return found

    def width(self, text: str, family: str, emphasis: str, size: float) -> float:
        total = 0.0
        for fam, run in self.runs(text, family):
            words = run.split(" ")
            total += sum(self._unit_width(w, fam, emphasis) for w in words if w)
            total += (len(words) - 1) * self._unit_width(" ", fam, emphasis)
        return total * size

    def wrap(self, text: str, family: str, emphasis: str, size: float,
             max_w: float) -> list[str]:
        """Greedy word wrap; words wider than a line are cut by characters."""
        lines: list[str] = []
        current = ""
        for word in text.split():
            candidate = f"{current} {word}" if current else word
            if self.width(candidate, family, emphasis, size) <= max_w:
                current = candidate
                continue
            if current:
                lines.append(current)
            current = ""
            while self.width(word, family, emphasis, size) > max_w and len(word) > 1:
                lo, hi = 1, len(word) - 1  # the longest prefix that fits (at least 1 char)
                while lo < hi:
                    mid = (lo + hi + 1) // 2
                    if self.width(word[:mid], family, emphasis, size) <= max_w:
                        lo = mid
                    else:
                        hi = mid - 1
                lines.append(word[:lo])
                word = word[lo:]
            current = word
        if current or not lines:
            lines.append(current)
        return lines


class MarkdownPdf(FPDF):
    def __init__(self, doc_title: str, *, with_fallback: bool,
                 images: dict[str, PdfImage] | None = None):
        super().__init__(orientation="P", unit="mm", format="A4")
        self.doc_title = doc_title
        self.images = images or {}
        self.set_margins(20, 20, 20)
        self.set_auto_page_break(True, margin=20)
        for (family, style), name in FONT_FILES.items():
            self.add_font(family, style, str(FONT_DIR / name))
        if with_fallback:
            self.add_font(FALLBACK, "", str(FONT_DIR / FALLBACK_FILE))
            self.set_fallback_fonts([FALLBACK], exact_match=False)
        self.set_title(doc_title)
        self.set_creator("TFTSR")
        self.set_author("TFTSR")
        self.alias_nb_pages()
        self._lists: list[list] = []
        self._pending_marker = False
        self._quote_depth = 0
        self._table_scale = 1.0
        self.measure = TextMeasure(self, with_fallback)

    # -- page furniture --------------------------------------------------------------
    def footer(self):
        if self.page_no() == 1:
            return
        self.set_y(-13)
        self.set_font(SANS, "", 8)
        self.set_text_color(*MUTED)
        title = self.doc_title if len(self.doc_title) <= 90 else self.doc_title[:87] + "…"
        self.cell(0, 5, title, align="L")
        self.set_x(self.l_margin)
        self.cell(0, 5, f"Page {self.page_no()} of {{nb}}", align="R")
        self.set_text_color(*TEXT)

    def title_page(self, page: TitlePage):
        self.add_page()
        self.set_fill_color(*ACCENT)
        self.rect(0, 0, self.w, 8, style="F")
        self.set_y(60)
        self.set_font(SANS, "B", 12)
        self.set_text_color(*ACCENT)
        self.cell(0, 8, page.kind.upper(), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(2)
        self.set_font(SANS, "B", 24)
        self.set_text_color(*TEXT)
        self.multi_cell(0, 11, self.doc_title, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(4)
        self.set_draw_color(*ACCENT)
        self.set_line_width(0.8)
        self.line(self.l_margin, self.get_y(), self.l_margin + 40, self.get_y())
        self.ln(10)
        for label, value in page.facts:
            self.set_font(SANS, "B", 10)
            self.set_text_color(*MUTED)
            self.cell(42, 7, label)
            self.set_font(SANS, "", 10)
            self.set_text_color(*TEXT)
            self.multi_cell(0, 7, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if page.footnote:
            self.set_y(-40)
            self.set_font(SANS, "I", 8.5)
            self.set_text_color(*MUTED)
            self.multi_cell(0, 4.5, page.footnote, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(*TEXT)
        self.set_draw_color(0, 0, 0)
        self.set_line_width(0.2)

    # -- inline text -------------------------------------------------------------------
    def _inline(self, children, size: float = BODY_PT, line: float = LINE_MM,
                base_style: str = "") -> None:
        bold = italic = strike = 0
        link = None
        for tok in children or []:
            t = tok.type
            if t == "strong_open":
                bold += 1
            elif t == "strong_close":
                bold -= 1
            elif t == "em_open":
                italic += 1
            elif t == "em_close":
                italic -= 1
            elif t == "s_open":
                strike += 1
            elif t == "s_close":
                strike -= 1
            elif t == "link_open":
                link = tok.attrGet("href")
            elif t == "link_close":
                link = None
            elif t in ("softbreak",):
                self._write(" ", size, line, base_style, bold, italic, strike, link)
            elif t == "hardbreak":
                self.ln(line)
                self.set_x(self.l_margin)
            elif t == "code_inline":
                self.set_font(MONO, "", size * 0.92)
                self.set_text_color(190, 24, 93)
                self._wrap_before_first_word(tok.content, line)
                self.write(line, tok.content)
                self.set_text_color(*self._colour())
            elif t == "image":
                alt = "".join(c.content for c in tok.children or [])
                self._write(f"[image: {alt}]" if alt else "[image]", size, line, base_style,
                            bold, italic, strike, None)
            elif t in ("text", "html_inline"):
                self._write(tok.content, size, line, base_style, bold, italic, strike, link)

    def _colour(self):
        return MUTED if self._quote_depth else TEXT

    def _write(self, text, size, line, base_style, bold, italic, strike, link):
        style = base_style
        if bold and "B" not in style:
            style += "B"
        if italic and "I" not in style:
            style += "I"
        if strike:
            style += "S"
        if link:
            style += "U"
            self.set_text_color(*ACCENT)
        self.set_font(SANS, "".join(sorted(set(style), key="BIUS".index)), size)
        self._wrap_before_first_word(text, line)
        self.write(line, text, link=link or "")
        if link:
            self.set_text_color(*self._colour())

    def _wrap_before_first_word(self, text: str, line: float) -> None:
        """fpdf2 only breaks a line at spaces inside one write(); when a new run starts
        with a word that no longer fits, start it on the next line instead of letting it
        be cut in the middle."""
        first = text.split(" ", 1)[0]
        if not first or self.x <= self.l_margin + 0.5:
            return
        room = self.w - self.r_margin - self.x
        if self.get_string_width(first) > room:
            self.ln(line)
            self.set_x(self.l_margin)

    # -- blocks ------------------------------------------------------------------------
    def _ensure_space(self, mm: float) -> None:
        if self.get_y() + mm > self.page_break_trigger:
            self.add_page()

    def heading(self, level: int, inline, chart: timeline_chart.Chart | None) -> None:
        text = "".join(c.content for c in inline.children or [] if c.type != "softbreak")
        sizes = {1: 20, 2: 15, 3: 12, 4: 11, 5: 10, 6: 10}
        size = sizes.get(level, 10)
        with_chart = level == 2 and chart is not None and _TIMELINE_HEADING.match(text.strip())
        needed = 28 if level <= 2 else 18
        if with_chart:  # keep the heading with its chart
            needed = 16 + self._chart_height(chart)
        self._ensure_space(needed)
        self.set_x(self.l_margin)
        self.ln(4 if level <= 2 else 2)
        if level == 2:
            self.start_section(text, level=0)
        elif level == 3:
            self.start_section(text, level=1)
        self.set_text_color(*(ACCENT if level <= 2 else TEXT))
        self.set_font(SANS, "B", size)
        self.multi_cell(0, size * 0.5, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if level <= 2:
            self.set_draw_color(*ACCENT)
            self.set_line_width(0.4)
            self.line(self.l_margin, self.get_y() + 1, self.w - self.r_margin, self.get_y() + 1)
            self.set_line_width(0.2)
            self.set_draw_color(0, 0, 0)
            self.ln(3)
        else:
            self.ln(1.5)
        self.set_text_color(*self._colour())
        if with_chart:
            self.draw_chart(chart)

    def _chart_height(self, chart: timeline_chart.Chart) -> float:
        return chart.height * (self.w - self.l_margin - self.r_margin) / chart.width

    def draw_chart(self, chart: timeline_chart.Chart) -> None:
        width = self.w - self.l_margin - self.r_margin
        self._ensure_space(self._chart_height(chart) + 4)
        used = timeline_chart.draw_pdf(self, chart, self.l_margin, self.get_y(), width, SANS)
        self.set_y(self.get_y() + used + 3)
        self.set_x(self.l_margin)
        self.set_font(SANS, "", BODY_PT)

    def screenshot(self, image: PdfImage) -> None:
        """The image at its natural size (96 dpi), no wider than the text, no taller than
        half a page, then its caption."""
        max_w = self.w - self.l_margin - self.r_margin
        w = min(max_w, image.width * 25.4 / 96)
        h = w * image.height / max(1, image.width)
        if h > 130:
            w, h = w * 130 / h, 130
        self._ensure_space(h + (9 if image.caption else 4))
        x = self.l_margin + (max_w - w) / 2
        y = self.get_y() + 1
        self.image(io.BytesIO(image.data), x=x, y=y, w=w, h=h)
        self.set_draw_color(209, 213, 219)
        self.rect(x, y, w, h)
        self.set_draw_color(0, 0, 0)
        self.set_y(y + h + 1.5)
        if image.caption:
            self.set_font(SANS, "I", 8.5)
            self.set_text_color(*MUTED)
            self.multi_cell(0, 4.2, image.caption, align="C", new_x=XPos.LMARGIN,
                            new_y=YPos.NEXT)
            self.set_text_color(*self._colour())
        self.ln(3)

    def paragraph(self, inline, tight: bool) -> None:
        children = inline.children or []
        if len(children) == 1 and children[0].type == "text" and children[0].content in self.images:
            self.screenshot(self.images[children[0].content])
            return
        if not self._pending_marker:
            self.set_x(self.l_margin)
        self._pending_marker = False
        self.set_text_color(*self._colour())
        self._inline(inline.children, base_style="I" if self._quote_depth else "")
        self.ln(LINE_MM)
        if not tight:
            self.ln(2)

    def list_item_marker(self) -> None:
        kind, counter = self._lists[-1]
        self._lists[-1][1] = counter + 1
        marker = f"{counter}." if kind == "ol" else ("•" if len(self._lists) % 2 else "◦")
        self.set_font(SANS, "", BODY_PT)
        self.set_text_color(*self._colour())
        if self.get_y() + LINE_MM > self.page_break_trigger:
            self.add_page()
        w = self.get_string_width(marker)
        self.set_x(self.l_margin - w - 1.8)
        self.cell(w, LINE_MM, marker)
        self.set_x(self.l_margin)
        self._pending_marker = True

    def code_block(self, text: str) -> None:
        self.set_font(MONO, "", 8.5)
        self.set_fill_color(243, 244, 246)
        self.set_text_color(*TEXT)
        self.set_x(self.l_margin)
        self.multi_cell(0, 4.2, text.rstrip("\n") or " ", fill=True, align="L",
                        wrapmode=WrapMode.CHAR, padding=(2, 3, 2, 3),
                        new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(3)

    def rule(self) -> None:
        self.ln(2)
        self.set_draw_color(209, 213, 219)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.set_draw_color(0, 0, 0)
        self.ln(4)

    def table_block(self, rows: list[list[tuple[str, str]]], aligns: list[str]) -> None:
        """Draw a table. ``rows``: cells of (text, style), style "", "B" or "code"; the
        first row is the header, repeated at the top of every page the table spans.

        Drawn directly (measured words, ``text()`` runs) rather than with fpdf2's table
        helper: a 5,000-row timeline takes well under a second this way instead of ~20 s.
        """
        if not rows:
            return
        ncols = max(len(r) for r in rows)
        rows = [r + [("", "")] * (ncols - len(r)) for r in rows]
        self._table_scale = 1.0
        widths, fits = self._column_widths(rows, ncols)
        if not fits:  # the longest words alone overflow the line: a smaller type first
            self._table_scale = MIN_TABLE_SCALE
            widths, _fits = self._column_widths(rows, ncols)
        aligns = (aligns + [""] * ncols)[:ncols]
        self.set_x(self.l_margin)
        header, body = rows[0], rows[1:]
        self._table_row(header, widths, aligns, header=True, shaded=False)
        for n, row in enumerate(body):
            self._table_row(row, widths, aligns, header=False, shaded=n % 2 == 1,
                            repeat=header)
        self._table_scale = 1.0
        self.set_draw_color(0, 0, 0)
        self.set_fill_color(255, 255, 255)
        self.set_text_color(*TEXT)
        self.set_y(self.get_y() + 3)
        self.set_x(self.l_margin)

    def _cell_font(self, style: str, header: bool) -> tuple[str, str, float]:
        if style == "code" and not header:
            return MONO, "", 7.8 * self._table_scale
        return SANS, "B" if (header or style == "B") else "", 8.5 * self._table_scale

    def _table_row(self, row, widths, aligns, *, header: bool, shaded: bool,
                   repeat=None) -> None:
        pad_x, pad_y, line_h = 1.6, 1.3, 3.9 * self._table_scale
        laid_out = []
        for (text, style), width in zip(row, widths):
            family, emphasis, size = self._cell_font(style, header)
            lines = self.measure.wrap(text, family, emphasis, size, width - 2 * pad_x)
            laid_out.append((lines, family, emphasis, size))
        height = max(len(c[0]) for c in laid_out) * line_h + 2 * pad_y
        if self.get_y() + height > self.page_break_trigger:
            self.add_page()
            if repeat is not None:
                self._table_row(repeat, widths, aligns, header=True, shaded=False)
        y = self.get_y()
        x = self.l_margin
        total = sum(widths)
        if header or shaded:
            self.set_fill_color(*(ACCENT if header else (246, 247, 249)))
            self.rect(x, y, total, height, style="F")
        self.set_draw_color(209, 213, 219)
        self.set_line_width(0.2)
        self.line(x, y + height, x + total, y + height)
        self.set_text_color(*((255, 255, 255) if header else TEXT))
        for (lines, family, emphasis, size), width, align in zip(laid_out, widths, aligns):
            baseline = y + pad_y + size * 0.3528 * 0.95
            for line in lines:
                run_w = self.measure.width(line, family, emphasis, size)
                if align == "RIGHT":
                    tx = x + width - pad_x - run_w
                elif align == "CENTER":
                    tx = x + (width - run_w) / 2
                else:
                    tx = x + pad_x
                self.draw_text(tx, baseline, line, family, emphasis, size)
                baseline += line_h
            x += width
        self.set_y(y + height)

    def draw_text(self, x: float, y: float, text: str, family: str, emphasis: str,
                  size: float) -> None:
        """``text()`` at (x, baseline y), switching to the fallback font for characters
        DejaVu lacks (``text()`` itself does not apply fallback fonts)."""
        for run_family, run in self.measure.runs(text, family):
            self.set_font(run_family, emphasis if run_family != FALLBACK else "", size)
            self.text(x, y, run)
            x += self.measure.width(run, run_family, emphasis, size)

    def _column_widths(self, rows, ncols) -> tuple[list[float], bool]:
        """Column widths in mm. Every column gets at least its longest word (so a cell
        wraps between words, never inside one); short columns get their whole natural
        width; what is left is shared by the long ones in proportion to their content.
        Returns (widths, whether every column holds its longest word); when the longest
        words alone overflow the line the columns are shrunk in proportion (and a word
        wider than its column is broken)."""
        total = self.w - self.l_margin - self.r_margin
        pad = 3.4 + 0.5
        natural, minimum = [], []
        for c in range(ncols):
            widest = longest_word = 0.0
            for n, r in enumerate(rows):
                text, style = r[c]
                family, emphasis, size = self._cell_font(style, n == 0)
                widest = max(widest, self.measure.width(text, family, emphasis, size))
                for word in set(text.split()):
                    longest_word = max(longest_word,
                                       self.measure.width(word, family, emphasis, size))
            natural.append(widest + pad)
            minimum.append(min(longest_word, total * 0.6) + pad)
        if sum(natural) <= total:
            spare = total - sum(natural)
            return [w + spare * w / sum(natural) for w in natural], True
        if sum(minimum) >= total:
            return [total * m / sum(minimum) for m in minimum], False
        widths = list(minimum)
        # Hand out the rest, short columns first (they become whole), long ones sharing.
        growing = set(range(ncols))
        while growing:
            spare = total - sum(widths)
            if spare <= 1e-6:
                break
            want = {c: natural[c] - widths[c] for c in growing}
            weight = sum(natural[c] for c in growing) or 1.0
            share = {c: spare * natural[c] / weight for c in growing}
            done = {c for c in growing if want[c] <= share[c]}
            if not done:
                for c in growing:
                    widths[c] += share[c]
                break
            for c in done:
                widths[c] = natural[c]
            growing -= done
        return widths, True

    # -- the token walk ----------------------------------------------------------------
    def render(self, markdown: str, chart: timeline_chart.Chart | None) -> None:
        tokens = parser().parse(markdown)
        self.add_page()
        self.set_font(SANS, "", BODY_PT)
        self.set_text_color(*TEXT)
        i = 0
        quote_marks: list[tuple[int, float]] = []
        while i < len(tokens):
            tok = tokens[i]
            t = tok.type
            if t == "heading_open":
                self.heading(int(tok.tag[1]), tokens[i + 1], chart)
                i += 3
                continue
            if t == "paragraph_open":
                self.paragraph(tokens[i + 1], tight=tok.hidden)
                i += 3
                continue
            if t in ("bullet_list_open", "ordered_list_open"):
                start = int(tok.attrGet("start") or 1)
                self._lists.append(["ol" if t == "ordered_list_open" else "ul", start])
                self.set_left_margin(self.l_margin + 6)
            elif t in ("bullet_list_close", "ordered_list_close"):
                self._lists.pop()
                self.set_left_margin(self.l_margin - 6)
                if not self._lists:
                    self.ln(2)
            elif t == "list_item_open":
                self.list_item_marker()
            elif t == "list_item_close":
                self._pending_marker = False
            elif t == "blockquote_open":
                self._quote_depth += 1
                self.set_left_margin(self.l_margin + 5)
                self.ln(1)
                quote_marks.append((self.page_no(), self.get_y()))
            elif t == "blockquote_close":
                page, y0 = quote_marks.pop()
                self.set_draw_color(217, 119, 6)
                self.set_line_width(0.9)
                x = self.l_margin - 3
                y1 = self.get_y() - (2 if not tokens[i - 1].hidden else 0)
                if page == self.page_no():
                    self.line(x, y0, x, y1)
                else:
                    self.line(x, self.t_margin, x, y1)
                self.set_line_width(0.2)
                self.set_draw_color(0, 0, 0)
                self.set_left_margin(self.l_margin - 5)
                self._quote_depth -= 1
                self.set_text_color(*self._colour())
                self.ln(2)
            elif t in ("fence", "code_block"):
                self.code_block(tok.content)
            elif t == "hr":
                self.rule()
            elif t == "table_open":
                j, rows, aligns = self._collect_table(tokens, i)
                self.table_block(rows, aligns)
                i = j + 1
                continue
            i += 1

    @staticmethod
    def _collect_table(tokens, i):
        rows: list[list[tuple[str, str]]] = []
        aligns: list[str] = []
        j = i
        while tokens[j].type != "table_close":
            tok = tokens[j]
            if tok.type == "tr_open":
                rows.append([])
            elif tok.type in ("th_open", "td_open"):
                style = (tok.attrGet("style") or "").replace("text-align:", "").upper()
                if tok.type == "th_open":
                    aligns.append({"LEFT": "LEFT", "RIGHT": "RIGHT", "CENTER": "CENTER"}
                                  .get(style, ""))
                inline = tokens[j + 1]
                rows[-1].append(_cell_text(inline.children or []))
            j += 1
        return j, rows, aligns


def _cell_text(children) -> tuple[str, str]:
    """A table cell as plain text plus one style for the whole cell."""
    text_parts, kinds = [], set()
    depth = 0
    for c in children:
        if c.type == "strong_open":
            depth += 1
        elif c.type == "strong_close":
            depth -= 1
        elif c.type in ("text", "code_inline", "softbreak", "html_inline"):
            content = " " if c.type == "softbreak" else c.content
            if content.strip():
                kinds.add("code" if c.type == "code_inline" else "B" if depth else "")
            text_parts.append(content)
        elif c.type == "image":
            text_parts.append("[image]")
    style = kinds.pop() if len(kinds) == 1 else ""
    return "".join(text_parts).strip(), style


def markdown_to_pdf(markdown: str, *, doc_title: str, title_page: TitlePage,
                    chart: timeline_chart.Chart | None,
                    images: dict[str, PdfImage] | None = None) -> bytes:
    everything = "\n".join([markdown, doc_title, *(v for _, v in title_page.facts),
                            title_page.footnote, *(i.caption for i in (images or {}).values())])
    pdf = MarkdownPdf(doc_title, with_fallback=needs_fallback(everything), images=images)
    pdf.title_page(title_page)
    pdf.render(markdown, chart)
    return bytes(pdf.output())
