"""No words run together where an html`` template breaks a line.

htm (frontend/vendor/htm-preact) drops leading and trailing whitespace that contains a newline
from every static text part of a template (``replace(/^\\s*\\n\\s*|\\s*\\n\\s*$/g, "")``), where
an HTML page would keep one space. So

    ... and what it risks.
    <strong>Allow once</strong>, ...

renders as "risks.Allow once", and ``<code>a</code>,⏎<code>b</code>`` as "a,b". A space
before the break does not help (the trim takes it too); the fix is ``${' '}`` at the break,
or a break that falls between two words of the same text.

This test reads every html`` template under frontend/ (the vendored libraries aside), splits
it into its static parts and ``${}`` interpolations as JavaScript does, replays htm's own
tokenizer over the parts (so a tag's attributes or a comment are never taken for text) and
looks at each place where the trim removes whitespace. From there it finds the nearest
content on each side:

- text-level elements (strong, em, code, kbd, a, ...) are looked through, since their tags
  add no space; so are the few components that render a link or running text;
- literal text and ``${}`` interpolations are content;
- anything else is a boundary where a line break loses nothing: the template's start or end,
  block-level elements (div, p, li, ul, section, table, tr, td, h1..h6, br, ...), and also
  span, label, controls (button, input, select, textarea, anything with a "btn" class),
  images and other components, which in this code base are laid out by the stylesheet
  (flex rows with gaps, form fields, badges);
- an interpolation holding html`` templates counts as what they begin (or end) with, so
  ``${busy ? html`<div>…</div>` : null}`` is a boundary.

It reports the place when both sides are content and at least one is literal text (two
interpolations on neighbouring lines are how a template lists its children), unless that text,
or every string the interpolation can give (``${pasted ? ' pasted' : ' uploaded'}``), already
has a space on the side of the break.
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "frontend"

# htm's trim, with \Z for JavaScript's $ (Python's $ also matches before a final newline).
HTM_TRIM = re.compile(r"^\s*\n\s*|\s*\n\s*\Z")
HTM_LEAD = re.compile(r"^\s*\n\s*")
HTM_TAIL = re.compile(r"\s*\n\s*\Z")

# Looked through: their tags add no space of their own.
TEXT_LEVEL = frozenset((
    "a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "del", "dfn", "em", "i", "ins", "kbd",
    "mark", "q", "s", "samp", "small", "strong", "sub", "sup", "time", "u", "var",
))
# Everything else is a boundary: block-level elements (div, p, li, ul, section, table, tr, td,
# h1..h6, pre, br, ...), controls and images (button, input, select, textarea, img, svg, and
# anything with a "btn..." class), span and label: in this code base they are the items of
# flex rows and form fields, spaced by the stylesheet. So are components, except these,
# which render a link or running text and are looked through like a text-level element.
INLINE_COMPONENTS = frozenset(("CodeText", "ExternalLink", "Highlighted", "PageLink", "WorkItemLink"))

# After these words a "/" starts a regular expression literal, not a division.
REGEX_BEFORE_WORDS = frozenset((
    "return", "typeof", "instanceof", "in", "of", "new", "delete", "void", "throw", "case", "do",
    "else", "yield", "await",
))


# ------------------------------------------------------------------ JavaScript templates
@dataclass
class Template:
    parts: list[str]           # the static strings, as the tag function receives them
    part_offsets: list[int]    # where each part starts in the file
    exprs: list[str]           # the source of each ${} between them
    outermost: bool = True     # not inside another template's ${}


def _cook(raw: str) -> str:
    """The few escapes a template's cooked string can hold in this code base."""
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), raw,
                  flags=re.S)


class JsScanner:
    """Just enough of a JavaScript lexer to find template literals: strings, comments,
    regular expression literals and nested ``${}`` are skipped or followed correctly."""

    def __init__(self, src: str):
        self.src = src
        self.templates: list[Template] = []
        self.nesting = 0

    def scan(self) -> list[Template]:
        end = self._code(0, nested=False)
        assert end == len(self.src), f"unbalanced braces near offset {end}"
        return self.templates

    def _code(self, i: int, *, nested: bool) -> int:
        """Scan code from i; inside ``${`` stop at the closing brace (returns its index)."""
        src, depth, last = self.src, 0, ""   # last: previous significant token
        while i < len(src):
            c = src[i]
            if c in " \t\r\n":
                i += 1
            elif src.startswith("//", i):
                i = src.find("\n", i)
                i = len(src) if i < 0 else i
            elif src.startswith("/*", i):
                i = src.index("*/", i) + 2
            elif c in "'\"":
                i = self._string(i, c)
                last = ")"
            elif c == "`":
                i = self._template(i, tagged_html=last == "html")
                last = ")"
            elif c == "/":
                if not re.match(r"[\w$)\]]", last[-1:]) or last in REGEX_BEFORE_WORDS:
                    i = self._regex(i)
                    last = ")"
                else:
                    i += 1
                    last = "/"
            elif c == "{":
                depth += 1
                i += 1
                last = "{"
            elif c == "}":
                if depth == 0 and nested:
                    return i
                depth -= 1
                i += 1
                last = "}"
            elif re.match(r"[\w$]", c):
                word = re.match(r"[\w$]+", src[i:]).group(0)
                i += len(word)
                last = word
            else:
                i += 1
                last = c
        return i

    def _string(self, i: int, quote: str) -> int:
        i += 1
        while self.src[i] != quote:
            i += 2 if self.src[i] == "\\" else 1
        return i + 1

    def _regex(self, i: int) -> int:
        i, in_class = i + 1, False
        while True:
            c = self.src[i]
            if c == "\\":
                i += 2
                continue
            if c == "[":
                in_class = True
            elif c == "]":
                in_class = False
            elif c == "/" and not in_class:
                break
            assert c != "\n", f"unterminated regular expression at offset {i}"
            i += 1
        i += 1
        while i < len(self.src) and self.src[i].isalpha():
            i += 1
        return i

    def _template(self, i: int, *, tagged_html: bool) -> int:
        src = self.src
        i += 1
        parts, offsets, exprs, start = [], [i], [], i
        self.nesting += 1
        while True:
            c = src[i]
            if c == "\\":
                i += 2
            elif c == "`":
                parts.append(src[start:i])
                break
            elif src.startswith("${", i):
                parts.append(src[start:i])
                close = self._code(i + 2, nested=True)
                exprs.append(src[i + 2:close])
                i = start = close + 1
                offsets.append(start)
            else:
                i += 1
        self.nesting -= 1
        if tagged_html:
            self.templates.append(Template([_cook(p) for p in parts], offsets, exprs, self.nesting == 0))
        return i + 1


# ------------------------------------------------------------------ htm's tokenizer
@dataclass
class Node:
    kind: str            # "text", "expr", "open", "close", "self", "edge"
    name: str = ""       # the tag name (a component's expression), the text or the ${} source
    offset: int = 0      # where in the file (for the report)
    trimmed: str = ""    # text only: what htm keeps
    component: bool = False
    box: bool = False    # has a "btn..." class: a button, whatever its tag


@dataclass
class _Tag:
    name: str = ""
    component: bool = False
    offset: int = 0
    box: bool = False


TEXT, WHITESPACE, TAGNAME, COMMENT, PROP_SET, PROP_APPEND, SLASH = 1, 2, 3, 4, 5, 6, 0


def htm_nodes(tpl: Template) -> list[Node]:
    """Replays htm 3.1's parser (build() in standalone.module.js) over the static parts and
    returns what it produces in text content, in order: text, ${} children, tags."""
    nodes = [Node("edge", offset=tpl.part_offsets[0])]
    stack: list[_Tag] = []
    st = {"mode": TEXT, "buf": "", "buf_at": tpl.part_offsets[0], "prop": "", "quote": ""}

    def commit(field: int | None = None) -> None:
        mode, buf = st["mode"], st["buf"]
        if mode == TEXT:
            if field is not None:
                nodes.append(Node("expr", tpl.exprs[field - 1], tpl.part_offsets[field] - 1))
            elif buf:
                nodes.append(Node("text", buf, st["buf_at"], trimmed=HTM_TRIM.sub("", buf)))
        elif mode == TAGNAME and (field is not None or buf):
            tag = stack[-1]
            if field is not None:
                tag.component, tag.name = True, tpl.exprs[field - 1].strip()
            else:
                tag.name = buf.lower()
            st["mode"] = WHITESPACE
        elif mode >= PROP_SET and (buf or field is not None):
            if st["prop"] == "class" and any(w.startswith("btn") for w in buf.split()):
                stack[-1].box = True
            st["mode"] = PROP_APPEND
        st["buf"] = ""

    for index, part in enumerate(tpl.parts):
        base = tpl.part_offsets[index]
        if index:
            if st["mode"] == TEXT:
                commit()
            commit(index)
        for j, ch in enumerate(part):
            mode = st["mode"]
            if mode == TEXT:
                if ch == "<":
                    commit()
                    stack.append(_Tag(offset=base + j))
                    st["mode"] = TAGNAME
                else:
                    if not st["buf"]:
                        st["buf_at"] = base + j
                    st["buf"] += ch
            elif mode == COMMENT:
                if st["buf"] == "--" and ch == ">":
                    st["mode"], st["buf"] = TEXT, ""
                else:
                    st["buf"] = ch + st["buf"][:1]
            elif st["quote"]:                       # a quoted value may hold ${}
                if ch == st["quote"]:
                    st["quote"] = ""
                else:
                    st["buf"] += ch
            elif ch in "\"'":
                st["quote"] = ch
            elif ch == ">":
                commit()
                if st["mode"] != SLASH:
                    tag = stack[-1]
                    nodes.append(Node("open", tag.name, tag.offset, component=tag.component, box=tag.box))
                st["mode"] = TEXT
            elif mode != SLASH:
                if ch == "=":
                    st["mode"], st["prop"], st["buf"] = PROP_SET, st["buf"], ""
                elif ch == "/" and (mode < PROP_SET or part[j + 1:j + 2] == ">"):
                    commit()
                    if st["mode"] == TAGNAME:        # "</...>": closes the open element
                        stack.pop()
                        tag = stack.pop()
                        nodes.append(Node("close", tag.name, base + j, component=tag.component, box=tag.box))
                    else:                            # "<x ... />"
                        tag = stack.pop()
                        nodes.append(Node("self", tag.name, tag.offset, component=tag.component, box=tag.box))
                    st["mode"] = SLASH
                elif ch in " \t\n\r":
                    commit()
                    st["mode"] = WHITESPACE
                else:
                    st["buf"] += ch
            if st["mode"] == TAGNAME and st["buf"] == "!--":
                st["mode"] = COMMENT
                stack.pop()
    commit()
    nodes.append(Node("edge", offset=tpl.part_offsets[-1] + len(tpl.parts[-1])))
    return nodes


# ------------------------------------------------------------------ the rule
@dataclass
class Join:
    offset: int
    left: str
    right: str


def _kind(node: Node, step: int) -> str:
    """What the search meets, going left (step -1) or right (+1) from a removed line break:
    "text", "inline" (content that is not literal text), "through" or "boundary"."""
    if node.kind == "text":
        return "text" if node.trimmed else "through"
    if node.kind == "expr":
        return _expr_kind(node.name, step)
    if node.kind == "edge":
        return "boundary"
    if node.component and node.name not in INLINE_COMPONENTS:
        return "boundary"
    if node.box:
        return "boundary"
    if node.component or node.name in TEXT_LEVEL:
        return "inline" if node.kind == "self" else "through"
    return "boundary"


@functools.cache
def _expr_kind(expr: str, step: int) -> str:
    """An interpolation is inline content, unless it holds html`` templates and one of them
    begins (seen from the left) or ends (seen from the right) with a boundary, as
    ``${busy ? html`<div>…</div>` : null}`` does."""
    for tpl in JsScanner(expr).scan():
        if tpl.outermost:
            nodes = htm_nodes(tpl)
            edge = _nearest(nodes, 1 if step > 0 else len(nodes) - 2, step)
            if _kind(nodes[edge], step) == "boundary":
                return "boundary"
    return "inline"


def _spaced(node: Node, edge: int) -> bool:
    """Whether the text, or every string an interpolation can give, has whitespace at its
    start (edge 0) or end (edge -1), as in ``·⏎${pasted ? ' pasted' : ' uploaded'}``."""
    if node.kind == "text":
        return node.trimmed[edge].isspace()
    results = _results(node.name) if node.kind == "expr" else None
    return bool(results) and all(r is not None and (r == "" or r[edge].isspace()) for r in results)


def _outside(expr: str) -> str:
    """expr with everything inside brackets, strings and template literals blanked out (the
    outermost brackets stay, so "(…)" can be told apart)."""
    scanner, depth, i, out = JsScanner(expr), 0, 0, list(expr)
    while i < len(expr):
        c = expr[i]
        if c in "'\"`":
            end = scanner._string(i, c) if c != "`" else scanner._template(i, tagged_html=False)
            out[i:end] = " " * (end - i)
            i = end
            continue
        depth -= c in ")]}"
        if depth > 0:
            out[i] = " "
        depth += c in "([{"
        i += 1
    return "".join(out)


TERNARY = re.compile(r"(?<!\?)\?(?![.?])|:")


def _results(expr: str) -> list[str | None]:
    """The strings a ``${}`` can render, for literals picked by ?:, || and &&; None stands for
    anything else (a value the test cannot know)."""
    expr = expr.strip()
    top = _outside(expr)
    question, nested = -1, 0
    for m in TERNARY.finditer(top):
        if m.group() == "?":
            if question < 0:
                question = m.start()
            else:
                nested += 1
        elif question >= 0:
            if not nested:
                return _results(expr[question + 1:m.start()]) + _results(expr[m.start() + 1:])
            nested -= 1
    for op in ("||", "??", "&&"):
        if op in top:
            cut = top.index(op)
            first = [""] if op == "&&" else _results(expr[:cut])
            return first + _results(expr[cut + 2:])
    if top.startswith("(") and top.endswith(")"):
        return _results(expr[1:-1])
    if re.fullmatch(r"""'[^'\\]*'|"[^"\\]*"|`[^`\\]*`""", expr):
        return [expr[1:-1]]
    if expr in ("null", "undefined", "false"):
        return [""]
    return [None]


def _nearest(nodes: list[Node], i: int, step: int) -> int:
    while _kind(nodes[i], step) == "through":
        i += step
    return i


def _label(node: Node) -> str:
    if node.kind == "text":
        text = node.trimmed
        return repr(text if len(text) <= 30 else text[:14] + "…" + text[-14:])
    if node.kind == "expr":
        return "${" + (node.name if len(node.name) <= 30 else node.name[:29] + "…") + "}"
    return f"<{'${' + node.name + '}' if node.component else node.name}>"


def find_joins(src: str) -> list[Join]:
    found: dict[tuple[int, int], Join] = {}
    for tpl in JsScanner(src).scan():
        nodes = htm_nodes(tpl)
        for i, node in enumerate(nodes):
            if node.kind != "text" or not HTM_TRIM.search(node.name):
                continue
            gaps = []                                   # (last node before, first node after)
            if not node.trimmed:
                gaps.append((i - 1, i + 1, node.offset))
            else:
                if HTM_LEAD.search(node.name):
                    gaps.append((i - 1, i, node.offset))
                if HTM_TAIL.search(node.name):
                    gaps.append((i, i + 1, node.offset + len(node.name.rstrip())))
            for before, after, at in gaps:
                left, right = _nearest(nodes, before, -1), _nearest(nodes, after, 1)
                lk, rk = _kind(nodes[left], -1), _kind(nodes[right], 1)
                if "boundary" in (lk, rk) or "text" not in (lk, rk):
                    continue
                if _spaced(nodes[left], -1) or _spaced(nodes[right], 0):
                    continue
                found.setdefault((left, right), Join(at, _label(nodes[left]), _label(nodes[right])))
    return sorted(found.values(), key=lambda j: j.offset)


def frontend_files() -> list[Path]:
    return sorted(p for p in FRONTEND.rglob("*.js") if "vendor" not in p.relative_to(FRONTEND).parts)


def report(path: Path, src: str) -> list[str]:
    lines = [m.start() for m in re.finditer("\n", src)]
    rel = path.relative_to(ROOT)
    return [f"{rel}:{bisect.bisect_left(lines, j.offset) + 1}: {j.left} + {j.right}"
            for j in find_joins(src)]


# ------------------------------------------------------------------ tests
def test_no_words_run_together_at_a_template_line_break():
    problems = [line for path in frontend_files() for line in report(path, path.read_text("utf-8"))]
    assert not problems, (
        "htm drops the whitespace at these line breaks, so the words on either side run "
        "together; put ${' '} at the break (a space before it is trimmed too):\n  "
        + "\n  ".join(problems))


def test_every_frontend_file_is_read():
    files = frontend_files()
    assert FRONTEND / "screens" / "help.js" in files
    assert not any("vendor" in str(p.relative_to(FRONTEND)) for p in files)
    templates = sum(len(JsScanner(p.read_text("utf-8")).scan()) for p in files)
    assert templates > 100


JOINED = [
    # Text, then an element on the next line: the case seen on the Help page.
    ("html`<p>what it risks.\n  <strong>Allow once</strong> or not</p>`", ["'what it risks.' + 'Allow once'"]),
    # A space before the break goes with it: the trim takes all the whitespace around a newline.
    ("html`<p>what it risks. \n  <strong>Allow once</strong></p>`", ["'what it risks.' + 'Allow once'"]),
    # An element, then text starting the next line.
    ("html`<p><code>journalctl</code>,\n  <code>systemctl</code></p>`", ["',' + 'systemctl'"]),
    ("html`<p>Run <code>df</code>\n  now</p>`", ["'df' + 'now'"]),
    ("html`<p>See the <a href=\"#/audit\">Audit log</a>\n  first</p>`", ["'Audit log' + 'first'"]),
    # Text and an interpolation, also one inside an element.
    ("html`<p>Signed in as\n  ${name}</p>`", ["'Signed in as' + ${name}"]),
    ("html`<p>${count}\n  files</p>`", ["${count} + 'files'"]),
    ("html`<p>from\n  <strong>${server || ''}</strong></p>`", ["'from' + ${server || ''}"]),
    ("html`<p>Cause:\n  ${w ? html`<em>${w}</em>` : ''}</p>`", ["'Cause:' + ${w ? html`<em>${w}</em>` : ''}"]),
    # A component that renders a link.
    ("html`<p>see\n  <${ExternalLink} url=${u}>the page<//></p>`", ["'see' + 'the page'"]),
    # The break inside an inline element's own text.
    ("html`<p>Press<kbd>\n  Enter</kbd></p>`", ["'Press' + 'Enter'"]),
    # Several on one line are each reported once; nested templates are read too.
    ("html`<p>a\n<em>b</em>\nc</p>`", ["'a' + 'b'", "'b' + 'c'"]),
    ("x = f(html`<ul>${items.map(i => html`<li>a\n  <em>b</em></li>`)}</ul>`)", ["'a' + 'b'"]),
]
NOT_JOINED = [
    "html`<p>what it risks. <strong>Allow once</strong></p>`",
    "html`<p>what it risks.${' '}\n  <strong>Allow once</strong></p>`",
    "html`<p>what it risks.\n  ${' '}<strong>Allow once</strong></p>`",
    "html`<p>Press <kbd>\n  Enter</kbd></p>`",
    # A break between two words of one text part is kept (as a space).
    "html`<p>what it\n  risks. <strong>Allow once</strong></p>`",
    # Block neighbours.
    "html`<div>\n  <p>One</p>\n  <p>Two</p>\n</div>`",
    "html`<ul>\n  <li>One</li>\n  <li>Two</li>\n</ul>`",
    "html`<p>Some text</p>\n<p>more text</p>`",
    "html`<td>a</td>\n<td>b</td>`",
    "html`<p>line one<br />\n  line two</p>`",
    "html`<p>Cause:\n  ${why ? html`<div>${why}</div>` : null}</p>`",
    # Items of a row laid out by the stylesheet.
    "html`<div class=\"row\">\n  ${a}\n  ${b}\n  <${Button} />\n</div>`",
    "html`<div class=\"meta\"><span>12 lines</span>\n  <span>${size}</span></div>`",
    "html`<label>From\n  <input type=\"date\" /></label>`",
    "html`<p>Done.\n  <button>Undo</button>\n  <a class=\"btn\" href=\"#/\">Back</a></p>`",
    "html`<span>Alert</span>\n<${Icon} name=\"alert\" />`",
    # An interpolation that brings its own space.
    "html`<p>${size} ·\n  ${pasted ? ' pasted' : ' uploaded'}</p>`",
    "html`<p>${custom ? 'Own prompt. ' : `Default for ${d}. `}\n  Then more.</p>`",
    # Text at the template's edges.
    "html`\n  Plain text\n`",
    # What is not text content: attributes, comments, strings, other templates.
    "html`<p title=\"a\n  b\" class=${c}>x</p>`",
    "html`<p>Go<a title=\"a ${t} >\n  b\">here</a></p>`",
    "html`<p><!-- a\n  --><span>x</span></p>`",
    "const s = 'risks.\\n' + `<strong>x\n</strong>`;",
    "const re = /`[^`]*`/g; html`<p>x</p>`",
]


@pytest.mark.parametrize("src,expected", JOINED)
def test_the_checker_finds_joined_words(src, expected):
    assert [f"{j.left} + {j.right}" for j in find_joins(src)] == expected


@pytest.mark.parametrize("src", NOT_JOINED)
def test_the_checker_leaves_real_spaces_and_block_breaks_alone(src):
    assert find_joins(src) == []
