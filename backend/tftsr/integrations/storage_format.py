"""Markdown → Confluence storage format (the XHTML Confluence keeps pages in).

The Markdown is parsed with markdown-it configured as for the preview and the HTML export
(:mod:`tftsr.docs.render`: CommonMark with tables and strikethrough, raw HTML off, links
only for http(s), mailto and ``#``); a link whose address holds a redaction placeholder
(``https://[Hostname-1]/…``) stays text, since it no longer leads anywhere. The tokens are
then written out as storage format, element by element:

* headings, paragraphs, emphasis, strong, strikethrough (``<s>``), inline code, block
  quotes, rules, bullet and numbered lists, tables (header cells as ``<th>``);
* fenced and indented code as the ``code`` macro, its text in CDATA;
* links as ``<a href>``; images as their alt text (nothing is ever fetched).

Every piece of text and every attribute is escaped, and characters XML cannot hold are
dropped, so no text of the document can become markup. ``insert_after_heading`` lets the
caller place markup of its own (the timeline chart) after a top-level heading.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from html import escape

from markdown_it import MarkdownIt

# Characters XML 1.0 does not allow (C0 controls other than tab, newline and return).
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SAFE_HREF = re.compile(r"^(https?://|mailto:|#)", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"\[[A-Za-z][A-Za-z0-9]*(?:-\d+)?\]")
# Languages the code macro knows, by the names Markdown authors use for them.
CODE_LANGUAGES = {
    "bash": "bash", "sh": "bash", "shell": "bash", "console": "bash", "zsh": "bash",
    "powershell": "powershell", "ps1": "powershell", "ps": "powershell",
    "python": "py", "py": "py", "java": "java", "javascript": "js", "js": "js",
    "typescript": "js", "ts": "js", "json": "js", "sql": "sql", "xml": "xml", "html": "xml",
    "yaml": "yml", "yml": "yml", "diff": "diff", "patch": "diff", "ruby": "ruby", "rb": "ruby",
    "go": "text", "text": "text", "txt": "text", "log": "text", "ini": "text", "toml": "text",
    "c": "cpp", "cpp": "cpp", "c++": "cpp", "csharp": "c#", "cs": "c#", "c#": "c#",
    "css": "css", "php": "php", "perl": "perl", "scala": "scala", "groovy": "groovy",
    "erlang": "erl", "vb": "vb",
}


@lru_cache(maxsize=1)
def parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    normalize = md.normalizeLink
    md.normalizeLink = lambda url: "redacted:" if _PLACEHOLDER.search(url) else normalize(url)
    md.validateLink = lambda url: bool(_SAFE_HREF.match(url.strip()))
    return md


def text(value: str) -> str:
    """Text as XML character data."""
    return escape(_NOT_XML.sub("", value), quote=False)


def attr(value: str) -> str:
    """Text as an XML attribute value (to place inside double quotes)."""
    return escape(_NOT_XML.sub("", value), quote=True)


def cdata(value: str) -> str:
    """Text inside ``<![CDATA[…]]>``, where only the sequence ``]]>`` needs splitting."""
    return "<![CDATA[" + _NOT_XML.sub("", value).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def code_macro(code: str, language: str | None = None) -> str:
    lang = CODE_LANGUAGES.get((language or "").strip().lower())
    param = f'<ac:parameter ac:name="language">{attr(lang)}</ac:parameter>' if lang else ""
    return (f'<ac:structured-macro ac:name="code">{param}'
            f"<ac:plain-text-body>{cdata(code.rstrip(chr(10)))}</ac:plain-text-body>"
            "</ac:structured-macro>")


def image_attachment(filename: str, alt: str = "") -> str:
    """An image shown from one of the page's attachments."""
    alt_attr = f' ac:alt="{attr(alt)}"' if alt else ""
    return (f'<ac:image{alt_attr} ac:width="900"><ri:attachment ri:filename="{attr(filename)}" />'
            "</ac:image>")


def _inline(children) -> str:
    out: list[str] = []
    links: list[bool] = []  # whether each open link became an <a>
    for tok in children or []:
        t = tok.type
        if t == "text":
            out.append(text(tok.content))
        elif t == "code_inline":
            out.append(f"<code>{text(tok.content)}</code>")
        elif t == "softbreak":
            out.append("\n")
        elif t == "hardbreak":
            out.append("<br />")
        elif t in ("strong_open", "em_open", "s_open"):
            out.append({"strong_open": "<strong>", "em_open": "<em>", "s_open": "<s>"}[t])
        elif t in ("strong_close", "em_close", "s_close"):
            out.append({"strong_close": "</strong>", "em_close": "</em>", "s_close": "</s>"}[t])
        elif t == "link_open":
            href = str(tok.attrGet("href") or "")
            links.append(bool(_SAFE_HREF.match(href)))
            if links[-1]:
                out.append(f'<a href="{attr(href)}">')
        elif t == "link_close":
            if links and links.pop():
                out.append("</a>")
        elif t == "image":
            alt = "".join(c.content for c in (tok.children or []))
            out.append(text(f"[image: {alt}]" if alt else "[image]"))
        else:  # anything else (raw HTML is off, so this is text) is shown as text
            out.append(text(tok.content or ""))
    return "".join(out)


_BLOCK_TAGS = {
    "paragraph": "p", "blockquote": "blockquote", "bullet_list": "ul", "ordered_list": "ol",
    "list_item": "li", "tr": "tr", "th": "th", "td": "td",
}


def convert(markdown: str, insert_after_heading: Callable[[str], str | None] | None = None) -> str:
    """Storage format for ``markdown``. ``insert_after_heading(plain heading text)`` may
    return storage markup (made by TFTSR, never from user text) to place after a top-level
    heading."""
    tokens = parser().parse(markdown or "", {})
    out: list[str] = []
    for i, tok in enumerate(tokens):
        t = tok.type
        if t == "inline":
            out.append(_inline(tok.children))
        elif t == "heading_open":
            out.append(f"<{tok.tag}>")
        elif t == "heading_close":
            out.append(f"</{tok.tag}>")
            if insert_after_heading and tok.level == 0:
                heading = "".join(c.content for c in (tokens[i - 1].children or [])
                                  if c.type in ("text", "code_inline"))
                extra = insert_after_heading(heading)
                if extra:
                    out.append(extra)
        elif t in ("fence", "code_block"):
            info = (tok.info or "").strip().split()
            out.append(code_macro(tok.content, info[0] if info else None))
        elif t == "hr":
            out.append("<hr />")
        elif t == "table_open":
            out.append("<table><tbody>")
        elif t == "table_close":
            out.append("</tbody></table>")
        elif t in ("thead_open", "thead_close", "tbody_open", "tbody_close"):
            continue
        elif t.endswith("_open") or t.endswith("_close"):
            base = t.rsplit("_", 1)[0]
            tag = _BLOCK_TAGS.get(base)
            if tag is None or (base == "paragraph" and tok.hidden):
                continue  # a tight list's paragraphs carry no tags
            out.append(f"<{tag}>" if t.endswith("_open") else f"</{tag}>")
    return "".join(out)
