"""The incident timeline drawn as a picture.

:func:`layout` turns the events into a list of drawing primitives in abstract units
(a canvas :data:`WIDTH` wide): one swim lane per kind of event, a time axis with round
ticks, and vertical markers for the milestones (opened, mitigated, root cause,
resolved). Two small back-ends draw the same primitives: :func:`to_svg` for the HTML
export and :func:`draw_pdf` for fpdf2 (vector drawing, no raster image).

The chart holds no user text — only fixed labels and times — so the SVG is safe to
inline in the HTML export. Events falling on the same few units of a lane are merged
into one mark whose size grows with the count, so 5,000 events stay a small drawing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

from tftsr.docs.metrics import MITIGATION_TYPES, parse_time

WIDTH = 600.0
LANE_LABEL_W = 74.0
RIGHT_PAD = 16.0
LANE_H = 22.0
FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
BIN_UNITS = 3.0

LANES = (
    ("Status", "#2563eb", ("triage_started", "status_changed")),
    ("Analysis", "#7c3aed", ("why_level_advanced", "root_cause_identified", "issue_updated")),
    ("Evidence", "#0d9488", ("log_uploaded",)),
    ("Response", "#d97706", ("note", "mitigation_applied", "escalated", "customer_notified",
                             "service_restored", "monitoring", "other")),
)
MILESTONE_COLOURS = {"Opened": "#2563eb", "Mitigated": "#d97706", "Root cause": "#7c3aed",
                     "Resolved": "#16a34a"}
_TICK_STEPS = [timedelta(seconds=s) for s in (
    1, 5, 15, 30, 60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400,
    2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400, 91 * 86400, 182 * 86400, 365 * 86400)]


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    colour: str
    width: float = 1.0
    dashed: bool = False


@dataclass(frozen=True)
class Circle:
    cx: float
    cy: float
    r: float
    colour: str
    opacity: float = 1.0


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    colour: str


@dataclass(frozen=True)
class Text:
    x: float
    y: float  # baseline
    text: str
    size: float
    colour: str = "#374151"
    anchor: str = "start"  # start | middle | end
    bold: bool = False


@dataclass(frozen=True)
class Chart:
    width: float
    height: float
    shapes: list
    description: str


def text_width(text: str, size: float) -> float:
    """A generous estimate of DejaVu Sans Bold's advance width, enough to avoid overlaps."""
    return len(text) * size * 0.64


def _lane_of(event_type: str) -> int:
    for i, (_, _, types) in enumerate(LANES):
        if event_type in types:
            return i
    return len(LANES) - 1


def _tick_step(span: timedelta, max_ticks: int = 7) -> timedelta:
    for step in _TICK_STEPS:
        if span / step <= max_ticks:
            return step
    return _TICK_STEPS[-1]


def _tick_label(t: datetime, step: timedelta, span: timedelta) -> str:
    if step >= timedelta(days=1):
        return t.strftime("%Y-%m-%d")
    if span >= timedelta(days=1):
        return t.strftime("%m-%d %H:%M")
    if step < timedelta(minutes=1):
        return t.strftime("%H:%M:%S")
    return t.strftime("%H:%M")


def _milestones(issue: dict, events: list[dict]) -> list[tuple[str, datetime]]:
    found = []
    opened = parse_time(issue.get("created_at"))
    if opened:
        found.append(("Opened", opened))
    mitigated = next((parse_time(e["created_at"]) for e in events
                      if e["event_type"] in MITIGATION_TYPES), None)
    if mitigated:
        found.append(("Mitigated", mitigated))
    roots = [parse_time(e["created_at"]) for e in events
             if e["event_type"] == "root_cause_identified"]
    if roots and roots[-1]:
        found.append(("Root cause", roots[-1]))
    resolved = parse_time(issue.get("resolved_at"))
    if resolved:
        found.append(("Resolved", resolved))
    return found


def layout(issue: dict, events: list[dict]) -> Chart | None:
    """The chart for an incident, or None when there is nothing to draw."""
    timed = [(parse_time(e["created_at"]), e) for e in events]
    timed = [(t, e) for t, e in timed if t is not None]
    milestones = _milestones(issue, events)
    moments = [t for t, _ in timed] + [t for _, t in milestones]
    if not moments:
        return None
    t0, t1 = min(moments), max(moments)
    if t1 - t0 < timedelta(minutes=1):
        t0, t1 = t0 - timedelta(seconds=30), t0 + timedelta(seconds=30)
    span = t1 - t0
    x0, x1 = LANE_LABEL_W, WIDTH - RIGHT_PAD

    def x_of(t: datetime) -> float:
        return x0 + (x1 - x0) * ((t - t0) / span)

    shapes: list = []
    # Milestone labels above the lanes, stacked into rows so none overlap.
    label_rows: list[float] = []
    placed = []
    for name, t in milestones:
        text = f"{name} {t.strftime('%H:%M' if span < timedelta(days=1) else '%m-%d %H:%M')}"
        w = text_width(text, 8.5)
        x = min(max(x_of(t) - w / 2, x0 - 40), WIDTH - w)
        row = next((i for i, end in enumerate(label_rows) if x > end + 6), None)
        if row is None:
            label_rows.append(0.0)
            row = len(label_rows) - 1
        label_rows[row] = x + w
        placed.append((name, t, text, x, row))
    top = 8 + 13 * max(1, len(label_rows))
    lanes_h = LANE_H * len(LANES)
    axis_y = top + lanes_h

    for i, (lane_name, colour, _) in enumerate(LANES):
        y = top + i * LANE_H
        if i % 2 == 0:
            shapes.append(Rect(x0, y, x1 - x0, LANE_H, "#f3f4f6"))
        shapes.append(Text(x0 - 8, y + LANE_H / 2 + 3.5, lane_name, 9, colour, "end", True))

    step = _tick_step(span)
    first = t0 - timedelta(seconds=(t0 - datetime(1970, 1, 1)).total_seconds()
                           % step.total_seconds())
    tick = first if first >= t0 else first + step
    while tick <= t1:
        x = x_of(tick)
        shapes.append(Line(x, top, x, axis_y + 4, "#d1d5db", 0.6))
        shapes.append(Text(x, axis_y + 15, _tick_label(tick, step, span), 8, "#4b5563", "middle"))
        tick += step
    shapes.append(Line(x0, axis_y, x1, axis_y, "#6b7280", 1.0))

    for name, t, _text, _x, row in placed:
        label_y = 8 + 13 * row + 9
        shapes.append(Line(x_of(t), label_y + 3, x_of(t), axis_y, MILESTONE_COLOURS[name], 1.2,
                           dashed=True))
    for name, _t, text, x, row in placed:  # labels on top of every marker line
        label_y = 8 + 13 * row + 9
        shapes.append(Rect(x - 2, label_y - 9, text_width(text, 8.5) + 4, 12, "#ffffff"))
        shapes.append(Text(x, label_y, text, 8.5, MILESTONE_COLOURS[name], "start", True))

    bins: dict[tuple[int, int], int] = {}
    for t, e in timed:
        key = (_lane_of(e["event_type"]), int(x_of(t) // BIN_UNITS))
        bins[key] = bins.get(key, 0) + 1
    for (lane, col), count in sorted(bins.items()):
        colour = LANES[lane][1]
        r = min(6.0, 3.0 + math.log2(count) * 0.8)
        cx = min(max(col * BIN_UNITS + BIN_UNITS / 2, x0), x1)
        shapes.append(Circle(cx, top + lane * LANE_H + LANE_H / 2, r, colour,
                             0.85 if count == 1 else 0.95))

    height = axis_y + 24
    counts = {name: 0 for name, _, _ in LANES}
    for _, e in timed:
        counts[LANES[_lane_of(e["event_type"])][0]] += 1
    description = (f"Timeline of {len(timed)} events from {t0:%Y-%m-%d %H:%M} to "
                   f"{t1:%Y-%m-%d %H:%M} UTC: "
                   + ", ".join(f"{n} {k.lower()}" for k, n in counts.items()) + ".")
    return Chart(WIDTH, height, shapes, description)


# -- SVG -----------------------------------------------------------------------------------
def _f(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def to_svg(chart: Chart) -> str:
    """A self-contained inline ``<svg>`` (no scripts, no external references)."""
    parts = [
        (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_f(chart.width)} '
         f'{_f(chart.height)}" width="100%" role="img" aria-label="{escape(chart.description)}"'
         f' font-family="{FONT}">'),
        f"<title>{escape(chart.description)}</title>",
    ]
    for s in chart.shapes:
        if isinstance(s, Rect):
            parts.append(f'<rect x="{_f(s.x)}" y="{_f(s.y)}" width="{_f(s.w)}" '
                         f'height="{_f(s.h)}" fill="{s.colour}"/>')
        elif isinstance(s, Line):
            dash = ' stroke-dasharray="3 2"' if s.dashed else ""
            parts.append(f'<line x1="{_f(s.x1)}" y1="{_f(s.y1)}" x2="{_f(s.x2)}" '
                         f'y2="{_f(s.y2)}" stroke="{s.colour}" stroke-width="{_f(s.width)}"'
                         f'{dash}/>')
        elif isinstance(s, Circle):
            parts.append(f'<circle cx="{_f(s.cx)}" cy="{_f(s.cy)}" r="{_f(s.r)}" '
                         f'fill="{s.colour}" fill-opacity="{s.opacity}"/>')
        elif isinstance(s, Text):
            weight = ' font-weight="bold"' if s.bold else ""
            parts.append(f'<text x="{_f(s.x)}" y="{_f(s.y)}" font-size="{_f(s.size)}" '
                         f'fill="{s.colour}" text-anchor="{s.anchor}"{weight}>'
                         f"{escape(s.text)}</text>")
    parts.append("</svg>")
    return "".join(parts)


# -- PDF (fpdf2) -----------------------------------------------------------------------------
def _rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


def draw_pdf(pdf, chart: Chart, x: float, y: float, width: float, font_family: str) -> float:
    """Draw ``chart`` on the current page at (x, y) ``width`` mm wide; return its height."""
    k = width / chart.width
    pt_to_mm = 25.4 / 72
    for s in chart.shapes:
        if isinstance(s, Rect):
            pdf.set_fill_color(*_rgb(s.colour))
            pdf.rect(x + s.x * k, y + s.y * k, s.w * k, s.h * k, style="F")
        elif isinstance(s, Line):
            pdf.set_draw_color(*_rgb(s.colour))
            pdf.set_line_width(s.width * k)
            if s.dashed:
                pdf.set_dash_pattern(dash=3 * k, gap=2 * k)
            pdf.line(x + s.x1 * k, y + s.y1 * k, x + s.x2 * k, y + s.y2 * k)
            if s.dashed:
                pdf.set_dash_pattern()
        elif isinstance(s, Circle):
            pdf.set_fill_color(*_rgb(s.colour))
            pdf.circle(x=x + s.cx * k, y=y + s.cy * k, radius=s.r * k, style="F")
        elif isinstance(s, Text):
            size_pt = s.size * k / pt_to_mm
            pdf.set_font(font_family, "B" if s.bold else "", size_pt)
            pdf.set_text_color(*_rgb(s.colour))
            w = pdf.get_string_width(s.text)
            tx = x + s.x * k - (w if s.anchor == "end" else w / 2 if s.anchor == "middle" else 0)
            pdf.text(tx, y + s.y * k, s.text)
    pdf.set_draw_color(0, 0, 0)
    pdf.set_text_color(0, 0, 0)
    pdf.set_line_width(0.2)
    return chart.height * k
