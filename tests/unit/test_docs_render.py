"""Markdown -> HTML: hostile input never becomes markup, useful Markdown survives."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

HOSTILE = """# Report <script>alert('h1')</script>

<script>alert(1)</script>
<style>body{display:none}</style>
<iframe src="https://evil.example/"></iframe>
<img src=x onerror="alert(2)">
<div onclick="alert(3)">click</div>
<svg onload="alert(4)"><circle r="5"/></svg>
<a href="javascript:alert(5)">raw link</a>

[js link](javascript:alert(6)) [JS upper](JAVASCRIPT:alert(7)) [spaced]( javascript:alert(8))
[data link](data:text/html;base64,PHNjcmlwdD5hbGVydCg5KTwvc2NyaXB0Pg==)
[vb](vbscript:msgbox(10)) [file](file:///etc/passwd) [relative](/api/delete_issue)
![pixel](https://evil.example/track.png) ![inline](data:image/svg+xml;base64,PHN2Zz4=)
<a href="https://ok.example" onmouseover="alert(11)">hover</a>
[ok](https://example.org/path?q=1) [mail](mailto:ops@example.org) [anchor](#timeline)
"""
FORBIDDEN_TAGS = {"script", "style", "iframe", "img", "svg", "div", "object", "embed", "form",
                  "input", "link", "meta", "base", "circle"}


class Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict]]:
    c = Collector()
    c.feed(html)
    return c.tags


def assert_harmless(tags: list[tuple[str, dict]]) -> None:
    for tag, attrs in tags:
        assert tag not in FORBIDDEN_TAGS, tag
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert name not in ("src", "srcset", "srcdoc", "formaction", "xlink:href"), name
            if name == "href":
                assert value.startswith(("https://", "http://", "mailto:", "#")), value
            if name == "style":
                assert value.replace(" ", "") in ("text-align:left", "text-align:right",
                                                  "text-align:center"), value


def test_hostile_markdown_renders_as_inert_text(call):
    html = call("render_markdown", markdown=HOSTILE)["html"]
    tags = elements(html)
    assert_harmless(tags)
    hrefs = [a.get("href") for t, a in tags if t == "a"]
    assert hrefs == ["https://example.org/path?q=1", "mailto:ops@example.org", "#timeline"]
    assert all(a.get("rel") == "noopener noreferrer nofollow" for t, a in tags if t == "a")
    # The hostile text is still visible to the reader, escaped.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "[image: pixel]" in html


def test_tables_code_and_lists_are_kept(call):
    md = ("| Type | Count |\n|:--|--:|\n| Email | 2 |\n\n```python\nif a < b and c > d:\n"
          "    print('→ ü é 日本')\n```\n\n1. one\n2. **two** `code` ~~gone~~\n\n> quoted\n\n---\n")
    html = call("render_markdown", markdown=md)["html"]
    names = [t for t, _ in elements(html)]
    for tag in ("table", "thead", "tbody", "th", "td", "pre", "code", "ol", "li", "strong",
                "s", "blockquote", "hr"):
        assert tag in names, tag
    assert "if a &lt; b and c &gt; d:" in html and "→ ü é 日本" in html
    assert '<td style="text-align:right">2</td>' in html


@pytest.mark.parametrize("payload", [
    "<scr<script>ipt>alert(1)</script>",
    "[x](java\tscript:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](javascript&colon;alert(1))",
    "<a href='jav&#x61;script:alert(1)'>x</a>",
    "[x]: javascript:alert(1)\n\n[y][x]",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "`<script>`<script>alert(1)</script>",
])
def test_obfuscated_payloads_stay_inert(call, payload):
    assert_harmless(elements(call("render_markdown", markdown=payload)["html"]))


def test_render_markdown_checks_its_argument(call):
    from tftsr.errors import InvalidArgument

    with pytest.raises(InvalidArgument):
        call("render_markdown", markdown=None)
    with pytest.raises(InvalidArgument):
        call("render_markdown", markdown=["# list"])
