"""Markdown -> sanitised HTML, for the editor preview and the HTML export.

Two independent layers keep hostile Markdown harmless:

1. markdown-it-py parses CommonMark (+ tables, strikethrough) with raw HTML turned off, so
   ``<script>`` or ``<img onerror=…>`` in the text come out as visible text; links are
   accepted only for http(s), mailto and in-page ``#`` targets (others stay plain text);
   images are rendered as their alt text, so nothing is ever fetched.
2. nh3 (the Ammonia sanitiser) then keeps only an allow-list of tags and attributes and
   only the same URL schemes; ``style`` is reduced to ``text-align`` (table alignment).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "s",
    "code", "pre", "blockquote", "ul", "ol", "li", "table", "thead", "tbody", "tr", "th",
    "td", "a",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "ol": {"start"},
    "th": {"style"},
    "td": {"style"},
}
URL_SCHEMES = {"http", "https", "mailto"}
_SAFE_LINK = re.compile(r"^(https?://|mailto:|#)", re.IGNORECASE)


def _validate_link(url: str) -> bool:
    return bool(_SAFE_LINK.match(url.strip()))


def _image_as_text(renderer, tokens, idx, options, env) -> str:
    token = tokens[idx]
    alt = "".join(child.content for child in (token.children or []))
    return html.escape(f"[image: {alt}]" if alt else "[image]")


@lru_cache(maxsize=1)
def parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.validateLink = _validate_link
    md.add_render_rule("image", _image_as_text)
    return md


def sanitise(fragment: str) -> str:
    return nh3.clean(
        fragment,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
        filter_style_properties={"text-align"},
    )


def render_markdown(markdown: str) -> str:
    """A sanitised HTML fragment for ``markdown``; safe to assign to innerHTML."""
    return sanitise(parser().render(markdown))


def _inline_text(token) -> str:
    return "".join(c.content for c in (token.children or []) if c.type in ("text", "code_inline"))


def render_with_inserts(markdown: str, insert_after_heading: Callable[[str], str | None]) -> str:
    """Render like :func:`render_markdown`, then place trusted HTML after some headings.

    ``insert_after_heading(text)`` is called with each top-level heading's plain text
    and returns HTML produced by TFTSR itself (e.g. the timeline chart) or None. Each
    stretch of the user's Markdown is sanitised on its own; the inserted HTML is not,
    so it must never contain user text that has not been escaped.
    """
    md = parser()
    env: dict = {}
    tokens = md.parse(markdown, env)
    out: list[str] = []
    start = 0
    for i, token in enumerate(tokens):
        if token.type == "heading_close" and token.level == 0:
            extra = insert_after_heading(_inline_text(tokens[i - 1]))
            if extra:
                out.append(sanitise(md.renderer.render(tokens[start:i + 1], md.options, env)))
                out.append(extra)
                start = i + 1
    out.append(sanitise(md.renderer.render(tokens[start:], md.options, env)))
    return "".join(out)
