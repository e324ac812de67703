"""A small bash scanner that runs before the real parser (bashlex).

bashlex parses most of bash but not all of it. This scanner walks the text once, the way
bash reads it (quotes, ``$(...)``, backticks, ``${...}``, here-documents, comments,
nesting), and rewrites the few constructs bashlex lacks into equivalents it can parse:

* ``time`` and ``coproc`` keywords are blanked (the command after them is what runs);
* ``select`` becomes ``for`` (same shape: a word list and a ``do … done`` body);
* ``[[ … ]]``, ``(( … ))``, ``for (( … ))``, ``$(( … ))`` and ``$[ … ]`` become neutral
  placeholders, and every command substitution inside them is handed back as an extra
  script to classify on its own;
* ``case … esac`` becomes a ``{ … }`` group per branch, its patterns kept as arguments;
* arrays ``name=( … )`` become a plain assignment plus an extra ``: …`` script;
* quoted here-document delimiters (``<<'EOF'``, which bashlex rejects) become
  ``__quoted__EOF`` on both lines (their bodies are literal text, not expanded).

Nothing here executes anything. Nesting deeper than :data:`MAX_NESTING` raises
:class:`Unparseable` (``too_deep=True``) instead of recursing further, so deep input can
never exhaust Python's stack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_NESTING = 40

# Longest first, so "&&" wins over "&" and "<<-" over "<<".
_OPERATORS = (";;&", "&>>", "<<<", "<<-", ";;", ";&", "&&", "||", "|&", "&>", "<<", "<>", "<&",
              ">>", ">&", ">|", ";", "&", "|", "(", ")", "<", ">")
_REDIRECTS = {"&>>", "<<<", "<<-", "&>", "<<", "<>", "<&", ">>", ">&", ">|", "<", ">"}
_CASE_ENDS = {";;", ";&", ";;&"}
_METACHARS = set(" \t\n;&|()<>")
# After these words the next word is again in command position.
_KEEP_START = {"if", "then", "else", "elif", "while", "until", "do", "!", "{", "function"}
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=")
_ARITH_PLACEHOLDER = "${__arith__}"
QUOTED_MARK = "__quoted__"  # prefix of a here-document delimiter that was quoted


class Unparseable(Exception):
    """The text is not valid bash as far as this scanner can tell (or nests too deeply)."""

    def __init__(self, reason: str, *, too_deep: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.too_deep = too_deep


@dataclass
class Token:
    kind: str  # "word", "op", "redir", "nl"
    start: int
    end: int
    text: str


@dataclass
class Prepared:
    text: str                                  # what bashlex should parse
    extra: list[str] = field(default_factory=list)   # further scripts to classify
    arithmetic: list[str] = field(default_factory=list)  # bodies of (( )) commands
    tokens: int = 0                                    # how many tokens were read


class _Scanner:
    def __init__(self, text: str):
        self.s = text
        self.n = len(text)
        self.edits: list[tuple[int, int, str]] = []
        self.extra: list[str] = []
        self.arith: list[str] = []
        self.count = 0
        self.pending: list[tuple[str, bool, bool]] = []  # here-docs waiting for a newline

    # -- characters ---------------------------------------------------------------------
    def _check(self, depth: int) -> None:
        if depth > MAX_NESTING:
            raise Unparseable(f"it nests more than {MAX_NESTING} levels deep", too_deep=True)

    def single(self, i: int) -> int:
        end = self.s.find("'", i + 1)
        if end < 0:
            raise Unparseable("a single quote (') is never closed")
        return end + 1

    def ansi_c(self, i: int) -> int:  # $'...': backslash escapes apply
        j = i + 2
        while j < self.n:
            c = self.s[j]
            if c == "\\":
                j += 2
                continue
            if c == "'":
                return j + 1
            j += 1
        raise Unparseable("a $'…' string is never closed")

    def double(self, i: int, depth: int) -> int:
        self._check(depth)
        j = i + 1
        while j < self.n:
            c = self.s[j]
            if c == "\\":
                j += 2
            elif c == '"':
                return j + 1
            elif c == "$":
                j = self.dollar(j, depth + 1)
            elif c == "`":
                j = self.backtick(j)
            else:
                j += 1
        raise Unparseable('a double quote (") is never closed')

    def backtick(self, i: int) -> int:
        j = i + 1
        while j < self.n:
            c = self.s[j]
            if c == "\\":
                j += 2
            elif c == "`":
                return j + 1
            else:
                j += 1
        raise Unparseable("a backquote (`) is never closed")

    def balanced(self, i: int, depth: int, open_: str, close: str) -> int:
        """Index after the ``close`` that matches ``s[i] == open_`` (quotes honoured)."""
        self._check(depth)
        level, j = 0, i
        while j < self.n:
            c = self.s[j]
            if c == "\\":
                j += 2
                continue
            if c == "'":
                j = self.single(j)
                continue
            if c == '"':
                j = self.double(j, depth + 1)
                continue
            if c == "`":
                j = self.backtick(j)
                continue
            if c == "$" and j + 1 < self.n and self.s[j + 1] in "({":
                j = self.dollar(j, depth + 1)
                continue
            if c == open_:
                level += 1
            elif c == close:
                level -= 1
                if level == 0:
                    return j + 1
            j += 1
        raise Unparseable(f"a '{open_}' is never closed")

    def arithmetic(self, start: int, inner_start: int, end: int, depth: int) -> None:
        """Replace an arithmetic span with a placeholder; keep its substitutions."""
        self.extra.extend(substitutions(self.s[inner_start:end], depth + 1))
        self.edits.append((start, end, _ARITH_PLACEHOLDER))

    def dollar(self, i: int, depth: int) -> int:
        self._check(depth)
        nxt = self.s[i + 1] if i + 1 < self.n else ""
        if nxt == "(":
            if self.s.startswith("((", i + 1):
                end = self.balanced(i + 1, depth + 1, "(", ")")
                if self.s[end - 2:end] == "))":
                    self.arithmetic(i, i + 3, end, depth)
                    return end
            return self.script(i + 2, depth + 1, closer=")")[0]
        if nxt == "{":
            return self.balanced(i + 1, depth + 1, "{", "}")
        if nxt == "[":
            end = self.balanced(i + 1, depth + 1, "[", "]")
            self.arithmetic(i, i + 2, end, depth)
            return end
        if nxt == "'":
            return self.ansi_c(i)
        if nxt == '"':
            return self.double(i + 1, depth + 1)
        return i + 1

    # -- tokens -------------------------------------------------------------------------
    def word(self, i: int, depth: int, *, at_start: bool) -> int:
        j = i
        while j < self.n:
            c = self.s[j]
            if c == "\\":
                j += 2
            elif c == "'":
                j = self.single(j)
            elif c == '"':
                j = self.double(j, depth + 1)
            elif c == "$":
                j = self.dollar(j, depth + 1)
            elif c == "`":
                j = self.backtick(j)
            elif c in "<>" and j + 1 < self.n and self.s[j + 1] == "(":
                j = self.script(j + 2, depth + 1, closer=")")[0]   # process substitution
            elif c == "(" and j > i and self.s[j - 1] in "@!+*?":
                j = self.balanced(j, depth + 1, "(", ")")         # extglob pattern
            elif c == "(" and at_start and j > i and _ASSIGNMENT.match(self.s[i:j]) \
                    and self.s[j - 1] == "=":
                end = self.balanced(j, depth + 1, "(", ")")       # array assignment
                inner = self.s[j + 1:end - 1].replace("\n", " ")
                self.extra.append(": " + inner)
                self.edits.append((j, end, "__array__"))
                j = end
            elif c in _METACHARS:
                break
            else:
                j += 1
        return min(j, self.n)

    def token(self, i: int, depth: int, *, at_start: bool = False) -> Token | None:
        self.count += 1
        s, n = self.s, self.n
        while i < n:
            c = s[i]
            if c in " \t\r":
                i += 1
            elif c == "\\" and s.startswith("\n", i + 1):
                i += 2
            elif c == "#":
                end = s.find("\n", i)
                i = n if end < 0 else end
            else:
                break
        if i >= n:
            return None
        c = s[i]
        if c == "\n":
            end = self.heredoc_bodies(i + 1)
            return Token("nl", i, end, "\n")
        if c in "<>" and s.startswith("(", i + 1):
            end = self.word(i, depth, at_start=at_start)
            return Token("word", i, end, s[i:end])
        for op in _OPERATORS:
            if s.startswith(op, i):
                return Token("redir" if op in _REDIRECTS else "op", i, i + len(op), op)
        end = self.word(i, depth, at_start=at_start)
        if end == i:  # a lone character the word scanner could not take
            end = i + 1
        text = s[i:end]
        if end < n and s[end] in "<>" and (text.isdigit() or re.fullmatch(r"\{[A-Za-z_]\w*\}", text)):
            for op in _OPERATORS:  # "2>" / "{fd}>": the number belongs to the redirection
                if op in _REDIRECTS and s.startswith(op, end):
                    return Token("redir", i, end + len(op), s[i:end + len(op)])
        return Token("word", i, end, text)

    def heredoc_bodies(self, i: int) -> int:
        """After a newline: skip the bodies of the here-documents opened on that line."""
        while self.pending:
            delim, strip_tabs, quoted = self.pending.pop(0)
            while True:
                if i >= self.n:
                    raise Unparseable(f"a here-document is never ended by a line '{delim}'")
                end = self.s.find("\n", i)
                line_end = self.n if end < 0 else end
                line = self.s[i:line_end]
                i = line_end + 1 if end >= 0 else self.n
                if (line.lstrip("\t") if strip_tabs else line) == delim:
                    if quoted:
                        self.edits.append((line_end - len(delim), line_end, QUOTED_MARK + delim))
                    break
        return i

    # -- scripts ------------------------------------------------------------------------
    def script(self, i: int, depth: int, closer: str | None = None) -> tuple[int, Token | None]:
        """Scan commands from ``i``. ``closer`` is ``")"`` inside ``$( … )``/``( … )``, or
        ``"case"`` inside a case branch. Returns (index after the end, ending token)."""
        self._check(depth)
        at_start, parens = True, 0
        while True:
            tok = self.token(i, depth, at_start=at_start)
            if tok is None:
                if closer == ")":
                    raise Unparseable("a '(' is never closed")
                if closer == "case":
                    raise Unparseable("a 'case' is never ended by 'esac'")
                return self.n, None
            i = tok.end
            if tok.kind == "nl":
                at_start = True
            elif tok.kind == "op":
                if tok.text == "(":
                    if at_start and self.s.startswith("((", tok.start):
                        i = self.arith_command(tok.start, depth)
                        at_start = False
                        continue
                    parens += 1
                    at_start = True
                elif tok.text == ")":
                    if parens == 0:
                        if closer == ")":
                            return tok.end, tok
                        raise Unparseable("there is a ')' without a matching '('")
                    parens -= 1
                    at_start = False
                elif tok.text in _CASE_ENDS and closer == "case" and parens == 0:
                    return tok.end, tok
                else:
                    at_start = True
            elif tok.kind == "redir":
                target = self.token(i, depth)
                if target is None or target.kind != "word":
                    raise Unparseable(f"the redirection '{tok.text}' has no target")
                i = target.end
                op = re.sub(r"^(\d+|\{\w+\})", "", tok.text)
                if op in ("<<", "<<-"):
                    self.heredoc_start(target, strip_tabs=op == "<<-")
            elif at_start:
                i, at_start = self.command_word(tok, depth, closer, parens)
                if at_start is None:  # "esac" ended the case branch
                    return i, tok
            elif tok.text == "{":  # a group after "f()" or "function f"
                at_start = True

    def command_word(self, tok: Token, depth: int, closer, parens) -> tuple[int, bool | None]:
        word, i = tok.text, tok.end
        if word in ("time", "coproc"):
            self.edits.append((tok.start, tok.end, " " * len(word)))
            nxt = self.token(i, depth)
            if word == "time" and nxt is not None and nxt.text in ("-p", "--"):
                self.edits.append((nxt.start, nxt.end, " " * len(nxt.text)))
                i = nxt.end
            return i, True
        if word == "select":
            self.edits.append((tok.start, tok.end, "for"))
            return i, False
        if word == "esac" and closer == "case" and parens == 0:
            return tok.end, None
        if word == "[[":
            return self.double_bracket(tok, depth), False
        if word == "case":
            return self.case(tok, depth), False
        if word == "for":
            j = i
            while j < self.n and self.s[j] in " \t":
                j += 1
            if self.s.startswith("((", j):
                end = self.balanced(j, depth + 1, "(", ")")
                self.extra.extend(substitutions(self.s[j + 2:end - 2], depth + 1))
                self.edits.append((j, end, "__i in 1"))
                return end, False
            return i, False
        if word in _KEEP_START or _ASSIGNMENT.match(word):
            return i, True
        return i, False

    def arith_command(self, start: int, depth: int) -> int:
        end = self.balanced(start, depth + 1, "(", ")")
        if self.s[end - 2:end] != "))":
            raise Unparseable("an arithmetic command '(( … ))' is not closed")
        self.extra.extend(substitutions(self.s[start + 2:end - 2], depth + 1))
        self.arith.append(self.s[start + 2:end - 2])
        self.edits.append((start, end, ":"))
        return end

    def double_bracket(self, tok: Token, depth: int) -> int:
        i = tok.end
        while True:
            nxt = self.token(i, depth)
            if nxt is None:
                raise Unparseable("a '[[' is never closed by ']]'")
            i = nxt.end
            if nxt.kind == "word" and nxt.text == "]]":
                break
        self.extra.extend(substitutions(self.s[tok.end:nxt.start], depth + 1))
        self.edits.append((tok.start, i, ":"))
        return i

    def case(self, tok: Token, depth: int) -> int:
        """case WORD in (PAT|PAT) BODY ;; … esac  →  { : WORD ; { : PAT ⏎ BODY ⏎ } ⏎ … }"""
        subject = self.token(tok.end, depth)
        if subject is None or subject.kind != "word":
            raise Unparseable("a 'case' has no word to test")
        self.edits.append((tok.start, tok.end, "{ :"))
        i = subject.end
        nxt = self.skip_newlines(i, depth)
        if nxt is None or nxt.text != "in":
            raise Unparseable("a 'case' lacks its 'in'")
        self.edits.append((nxt.start, nxt.end, ";"))
        i = nxt.end
        while True:
            nxt = self.skip_newlines(i, depth)
            if nxt is None:
                raise Unparseable("a 'case' is never ended by 'esac'")
            if nxt.kind == "word" and nxt.text == "esac":
                self.edits.append((nxt.start, nxt.end, "}"))
                return nxt.end
            start, words = nxt.start, []
            if nxt.text == "(":
                nxt = self.token(nxt.end, depth)
            while nxt is not None and not (nxt.kind == "op" and nxt.text == ")"):
                if nxt.kind == "word":
                    words.append(nxt.text)
                elif nxt.text != "|":
                    raise Unparseable("a 'case' pattern is malformed")
                nxt = self.token(nxt.end, depth)
            if nxt is None:
                raise Unparseable("a 'case' pattern is never closed by ')'")
            self.edits.append((start, nxt.end, "{ : " + " ".join(words) + "\n"))
            i, end_tok = self.script(nxt.end, depth + 1, closer="case")
            if end_tok is not None and end_tok.text == "esac":
                self.edits.append((end_tok.start, end_tok.end, "\n}\n}"))
                return i
            self.edits.append((end_tok.start, end_tok.end, "\n}\n"))

    def skip_newlines(self, i: int, depth: int) -> Token | None:
        while True:
            tok = self.token(i, depth)
            if tok is None or tok.kind != "nl":
                return tok
            i = tok.end

    def heredoc_start(self, target: Token, *, strip_tabs: bool) -> None:
        """A quoted delimiter (<<'EOF') means a literal body; bashlex cannot parse one, so
        both the delimiter and its closing line become QUOTED_MARK + EOF."""
        raw = target.text
        quoted = any(q in raw for q in "'\"\\")
        delim = re.sub(r"\\(.)", r"\1", raw.replace("'", "").replace('"', "")) if quoted else raw
        if quoted:
            self.edits.append((target.start, target.end, QUOTED_MARK + delim))
        self.pending.append((delim, strip_tabs, quoted))

    def rewritten(self) -> str:
        out, pos = [], 0
        for start, end, text in sorted(self.edits, key=lambda e: (e[0], -e[1])):
            if start < pos:  # inside a span already replaced
                continue
            out.append(self.s[pos:start])
            out.append(text)
            pos = end
        out.append(self.s[pos:])
        return "".join(out)


def prepare(text: str) -> Prepared:
    """Scan ``text`` as bash; return the text bashlex should parse plus extra scripts."""
    scanner = _Scanner(text)
    scanner.script(0, 0)
    if scanner.pending:
        raise Unparseable(f"a here-document is never ended by a line '{scanner.pending[0][0]}'")
    return Prepared(scanner.rewritten(), scanner.extra, scanner.arith, scanner.count)


def substitutions(text: str, depth: int = 0, *, single_quotes: bool = True) -> list[str]:
    """The inner text of every top-level ``$( … )``, backquote and process substitution in
    ``text`` (which is not itself a script: an arithmetic expression, a ``[[ ]]`` test, a
    here-document body, a ``${…}`` expansion). Arithmetic and ``${…}`` are searched inside.
    ``single_quotes=False`` for here-document bodies, where a ``'`` does not quote."""
    scanner = _Scanner(text)
    scanner._check(depth)
    found: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
        elif c == "'" and single_quotes:
            i = scanner.single(i)
        elif c == "`":
            end = scanner.backtick(i)
            found.append(re.sub(r"\\([`\\$])", r"\1", text[i + 1:end - 1]))
            i = end
        elif c in "$<>" and text.startswith("(", i + 1) and not text.startswith("((", i + 1):
            end = scanner.script(i + 2, depth + 1, closer=")")[0]
            found.append(text[i + 2:end - 1])
            i = end
        elif c == "$" and i + 1 < n and text[i + 1] in "({[":
            open_, close = {"(": ("(", ")"), "{": ("{", "}"), "[": ("[", "]")}[text[i + 1]]
            end = scanner.balanced(i + 1, depth + 1, open_, close)
            found.extend(substitutions(text[i + 2:end - 1], depth + 1))
            i = end
        else:
            i += 1
    return found


def nesting_depth(text: str, limit: int) -> int:
    """A quick upper bound of how deeply ``text`` nests brackets and backquotes (quotes
    are not honoured: a bound, not a parse). Stops counting once ``limit`` is passed."""
    depth = best = 0
    for c in text:
        if c in "({[":
            depth += 1
            if depth > best:
                best = depth
                if best > limit:
                    return best
        elif c in ")}]" and depth:
            depth -= 1
    return best
