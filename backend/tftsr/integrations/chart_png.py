"""The timeline chart as a PNG, for services that show images only as attachments.

Draws the primitives of :func:`tftsr.docs.timeline_chart.layout` with Pillow. That layout
holds no user text — lane names, milestone names, times and event counts only — so the
picture carries nothing the PII gate would have to remove; it is sent with
:func:`tftsr.egress.send.send_rendered_binary`, which audits it like any other body.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from tftsr.docs import timeline_chart

FONT_DIR = Path(__file__).resolve().parent.parent / "docs" / "fonts"  # the fonts the PDFs use

SCALE = 2.0  # pixels per chart unit: 1200 px wide, sharp on high-density screens
RENDERED_FROM = "timeline_chart"  # what the audit entry says was drawn


@lru_cache(maxsize=16)
def _font(size_px: int, bold: bool) -> ImageFont.FreeTypeFont:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return ImageFont.truetype(str(FONT_DIR / name), size_px)


def _rgba(colour: str, opacity: float = 1.0) -> tuple[int, int, int, int]:
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return r, g, b, round(255 * opacity)


def _dashed(draw: ImageDraw.ImageDraw, x1, y1, x2, y2, fill, width: int) -> None:
    """A dashed line (3 on, 2 off in chart units), vertical or horizontal."""
    length = max(abs(x2 - x1), abs(y2 - y1))
    if length == 0:
        return
    on, off = 3 * SCALE, 2 * SCALE
    pos = 0.0
    while pos < length:
        end = min(pos + on, length)
        a, b = pos / length, end / length
        draw.line([(x1 + (x2 - x1) * a, y1 + (y2 - y1) * a),
                   (x1 + (x2 - x1) * b, y1 + (y2 - y1) * b)], fill=fill, width=width)
        pos = end + off


def to_png(chart: timeline_chart.Chart) -> bytes:
    width, height = round(chart.width * SCALE), round(chart.height * SCALE)
    image = Image.new("RGBA", (width, height), (255, 255, 255, 255))
    overlay = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    marks = ImageDraw.Draw(overlay)
    for s in chart.shapes:
        if isinstance(s, timeline_chart.Rect):
            draw.rectangle([s.x * SCALE, s.y * SCALE, (s.x + s.w) * SCALE, (s.y + s.h) * SCALE],
                           fill=_rgba(s.colour))
        elif isinstance(s, timeline_chart.Line):
            w = max(1, round(s.width * SCALE))
            points = (s.x1 * SCALE, s.y1 * SCALE, s.x2 * SCALE, s.y2 * SCALE)
            if s.dashed:
                _dashed(draw, *points, fill=_rgba(s.colour), width=w)
            else:
                draw.line([points[:2], points[2:]], fill=_rgba(s.colour), width=w)
        elif isinstance(s, timeline_chart.Circle):
            r = s.r * SCALE
            marks.ellipse([s.cx * SCALE - r, s.cy * SCALE - r, s.cx * SCALE + r, s.cy * SCALE + r],
                          fill=_rgba(s.colour, s.opacity))
        elif isinstance(s, timeline_chart.Text):
            font = _font(max(6, round(s.size * SCALE)), s.bold)
            anchor = {"start": "ls", "middle": "ms", "end": "rs"}[s.anchor]
            draw.text((s.x * SCALE, s.y * SCALE), s.text, font=font, fill=_rgba(s.colour),
                      anchor=anchor)
    image = Image.alpha_composite(image, overlay).convert("RGB")
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return buf.getvalue()
