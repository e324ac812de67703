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
from types import SimpleNamespace

import nh3
from markdown_it import MarkdownIt
from markdown_it import helpers as md_helpers

from tftsr.errors import InvalidArgument

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


# The preview renders at most this many characters; a longer text is refused
# with a message rather than keeping the window busy (Markdown is parsed in
# Python at roughly 50-500 KB/s depending on how dense its markup is).
MAX_PREVIEW_CHARS = 300_000
# A link or image label longer than this is not a label: CommonMark limits
# reference labels to 999 characters, and an unbounded search for the "]"
# of every "[" makes text full of brackets (``![![![...``) quadratic.
MAX_LABEL_CHARS = 999


def _bounded_link_label(state, start: int, disableNested: bool = False) -> int:
    """markdown-it's ``parseLinkLabel``, looking at most ``MAX_LABEL_CHARS``
    ahead and giving up at once when no "]" follows at all, so each "[" costs
    a bounded amount of work."""
    src = state.src
    if src.find("]", start + 1, min(state.posMax, start + 2 + MAX_LABEL_CHARS)) < 0:
        return -1
    old_max = state.posMax
    state.posMax = min(old_max, start + 2 + MAX_LABEL_CHARS)
    try:
        return md_helpers.parseLinkLabel(state, start, disableNested)
    finally:
        state.posMax = old_max


@lru_cache(maxsize=1)
def parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.helpers = SimpleNamespace(parseLinkLabel=_bounded_link_label,
                                 parseLinkDestination=md_helpers.parseLinkDestination,
                                 parseLinkTitle=md_helpers.parseLinkTitle)
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
    """A sanitised HTML fragment for ``markdown``; safe to assign to innerHTML.
    Texts longer than ``MAX_PREVIEW_CHARS`` are refused (InvalidArgument)."""
    if len(markdown) > MAX_PREVIEW_CHARS:
        raise InvalidArgument(
            f"This document is too long to preview ({len(markdown):,} characters; the preview shows "
            f"documents of up to {MAX_PREVIEW_CHARS:,}). Export it as Markdown, HTML or PDF instead, "
            "or split it into shorter documents.")
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
