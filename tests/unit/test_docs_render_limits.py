"""Markdown preview on hostile sizes and shapes: text packed with brackets
renders in bounded work per character (the bound is a generous timeout, not
a timing assertion), and a text beyond the preview limit is refused with a
message that says what to do."""

from __future__ import annotations

import pytest
from tftsr.docs.render import MAX_LABEL_CHARS, MAX_PREVIEW_CHARS, render_markdown
from tftsr.errors import InvalidArgument


@pytest.mark.timeout(120)
@pytest.mark.parametrize("unit", ["![", "[", "[]("])
def test_brackets_without_end_render_as_text(unit):
    text = unit * (MAX_PREVIEW_CHARS // len(unit))
    html = render_markdown(text)
    assert html.startswith("<p>") and html.count("[") == text.count("[")


@pytest.mark.timeout(120)
def test_brackets_closed_far_away_render_as_text():
    text = "[" * (MAX_PREVIEW_CHARS - 1) + "]"
    assert render_markdown(text).count("[") == MAX_PREVIEW_CHARS - 1


def test_links_images_and_nested_brackets_still_work():
    html = render_markdown("see [the [runbook] page](https://example.org/rb) and ![chart](https://x.example/c.png)")
    assert '<a href="https://example.org/rb"' in html and "the [runbook] page</a>" in html
    assert "[image: chart]" in html


def test_label_longer_than_the_limit_is_text():
    label = "a" * (MAX_LABEL_CHARS + 10)
    html = render_markdown(f"[{label}](https://example.org)")
    assert "<a " not in html and label in html


def test_text_over_the_preview_limit_is_refused_with_a_message():
    with pytest.raises(InvalidArgument) as err:
        render_markdown("x" * (MAX_PREVIEW_CHARS + 1))
    assert "too long to preview" in err.value.message and "Export" in err.value.message
