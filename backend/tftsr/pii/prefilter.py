"""A multi-pattern prefilter: where each finder's patterns can match, found in
one pass, so the finders try their patterns only there.

Every finder runs its regular expressions with ``finditer`` over the whole
text; about thirty passes, most of them stopping at common characters
("." "-" ":" " " "="). Here one Hyperscan database holds, for each of those
expressions, one or more *prefilter patterns*: simpler patterns (no
look-arounds) that match wherever the expression can match, and a little
more. One scan of the text gives every position where an expression can
start; the finder then calls ``rx.match(text, position)`` at each of them in
order, skipping positions inside the previous match, exactly as ``finditer``
would. Everything after the match (validators, context checks on the whole
text) is the finder's own code, unchanged, so the findings are the same as
the pure-Python path's, span for span (``tests/unit/test_pii_prefilter.py``
compares them on the whole test corpus and on randomised logs).

What makes the positions complete: each prefilter pattern matches every
string its expression matches from that position (it drops look-behinds and
look-aheads and loosens bounded repeats), except for ``+14155550123``-style
phone numbers, whose pattern asks for the eight digits the finder needs:
a shorter match there can hold no other "+", so skipping it hides nothing.
Each pattern is fixed-length or cannot contain its own first literal again,
so the leftmost start Hyperscan reports for a match end is the only one.
Patterns for the expressions that run on the reversed text (``key=`` and
``key:`` found from their separator) are written forwards and report where
the separator is.

One kind of finding is reported whole instead: IPv4 addresses, the most
common finding in logs (a span from the first digit to the last, see
``numbers.IPV4_SPANS``). Their pattern is exact but for what Hyperscan
cannot see (the characters before the address and a non-ASCII letter
after it), which the finder checks with a few comparisons instead of one
regular expression per address.

When the prefilter does not pay: text where the prefilter patterns match
more often than once per ``DENSE_CHARS`` characters (crafted runs of
``1.1.1.1.``, ``a.com`` or ``::``) goes to the pure-Python path, which
handles dense text at its own speed; so does text shorter than
``MIN_CHARS``. Without the ``hyperscan`` package (an optional dependency)
:func:`positions` returns None and detection is pure Python.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from functools import lru_cache

from . import assignments as a
from . import finders as f
from . import numbers as n
from . import validators as v

try:  # optional: the pure-Python path runs without it
    import hyperscan
except ImportError:  # pragma: no cover - exercised where the wheel is missing
    hyperscan = None

MIN_CHARS = 4096
# More than one prefilter hit per this many characters: dense text. Each hit
# costs a callback and a ``match`` called from Python, about half a microsecond
# together, which the pure path's scans in C do not pay; at a hit every 12 to
# 16 characters (``password is `` repeated, ``name=a value=``) the pure path was
# up to 1.6x faster, while logs with a finding or two on each short line (an
# address per line, firewall lines with two addresses and a MAC) kept their
# speed at 16 and lost up to 1.6x at 20 or 24.
DENSE_CHARS = 16
_DENSE_START = 4096  # hits before the density so far can give a text up early

_SOM = "start"  # position = start of the prefilter match + shift
_REV = "rev"  # position in the reversed text = len(text) - end of the prefilter match
_SPAN = "span"  # start and end + shift of the prefilter match (Positions.spans)
_HEX = "[0-9A-Fa-f]"


def _tlds(words) -> str:
    return "(?:" + "|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w))) + ")"


def _rules() -> list[tuple[re.Pattern, str, int, str, bool]]:
    """``(expression, kind, shift, prefilter pattern, caseless)`` for every
    expression a finder runs with ``scan``. Caseless patterns belong to the
    expressions that run on the lowercased text (same offsets)."""
    rules: list[tuple[re.Pattern, str, int, str, bool]] = []

    def add(rx, patterns, shift=0, kind=_SOM, caseless=False):
        for pattern in patterns:
            rules.append((rx, kind, shift, pattern, caseless))

    # provider tokens: the expression starts at its literal
    token_patterns = {
        "A": [r"A[KS]IA[A-Z0-9]{16}", r"AIza[0-9A-Za-z_\-]{35}"],
        "g": [r"gh[pousr]_[A-Za-z0-9]{36}", r"github_pat_[A-Za-z0-9_]{22}"]
        + [rf"gl{kind}-[A-Za-z0-9_\-]{{20}}" for kind in ("pat", "ptt", "dt", "rt", "soat", "cbt", "oas")],
        "xox": [r"xox[abposr]-[A-Za-z0-9\-]{10}"],
        "sk": [r"sk-[A-Za-z0-9_\-]{20}", r"sk_live_[A-Za-z0-9]{16}", r"sk_test_[A-Za-z0-9]{16}"],
        "rk_": [r"rk_live_[A-Za-z0-9]{16}", r"rk_test_[A-Za-z0-9]{16}"],
        "SG.": [r"SG\.[A-Za-z0-9_\-]{16}"],
        "hv": [r"hv[sbr]\.[A-Za-z0-9_\-]{20}"],
        "npm_": [r"npm_[A-Za-z0-9]{36}"],
        "pypi-": [r"pypi-AgE[A-Za-z0-9_\-]{50}"],
        "eyJ": [r"eyJ[A-Za-z0-9_\-]{8}"],
    }
    literals = [literal for literal, _ in f._TOKEN_RULES]
    assert sorted(literals) == sorted(token_patterns), "a token rule has no prefilter pattern"
    for literal, rx in zip(literals, f._TOKEN_RES, strict=True):
        add(rx, token_patterns[literal])
    add(f._SLACK_WEBHOOK, [r"hooks\.slack\.com/services/T[A-Z0-9]{6}"])
    add(f._PEM_BEGIN, ["-----BEGIN "])  # (the finder only asks whether there is one)
    # user-info of URLs; e-mail domains; host names (from the character
    # before the "."); hosts of URLs with a file-extension domain
    add(f._URL_CREDS, [r"""://[^\s/@"'<>]+@[A-Za-z0-9\[]"""])
    add(f._EMAIL_DOMAIN, [r"@[A-Za-z0-9][A-Za-z0-9.\-]*\.[A-Za-z]{2}"])
    # (host names keep their own scan: a pattern naming the 1,500 top-level
    # domains takes Hyperscan seconds to compile, and one for any last
    # label matches too often to pay)
    add(f._URL_HOST_EXT, [r"://[^\s/]*\." + _tlds(v.FILE_EXTENSION_TLDS)
                          + r"(?:[^A-Za-z0-9_.\-]|\.[^A-Za-z0-9])"])
    # network addresses
    add(f._IPV6_COMPRESSED, ["::"])
    add(f._IPV6_FULL, [":" + f"{_HEX}{{1,4}}:" * 6 + _HEX])
    for sep, rx in zip((":", "-"), f._MAC_RES, strict=True):
        add(rx, [sep.join([_HEX + "{2}"] * 6)], shift=2)
    add(f._CISCO_MAC, [r"[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}"], shift=4)
    add(f._IPTABLES_MAC, [f"MAC={_HEX}{{2}}:"])
    # numbers, from the digit before their first separator
    # IPv4 addresses whole (see ``numbers.IPV4_SPANS``): the pattern ends one
    # or two characters after the address; dotted phone numbers from the
    # digit before their first dot
    add(n.IPV4_SPANS, [n.IPV4_PREFILTER + "[^A-Za-z0-9_.]"], shift=-1, kind=_SPAN)
    add(n.IPV4_SPANS, [n.IPV4_PREFILTER + r"\.[^0-9]"], shift=-2, kind=_SPAN)
    add(n._DOTTED, [r"[0-9]\.[0-9]{3}\.[0-9]{4}"], shift=1)
    add(n._DASHED, [r"[0-9]-[0-9]{2}-[0-9]{4}", r"[0-9]-[0-9]{3}-[0-9]{4}", r"[0-9]-[0-9]{3}-[0-9]{3}-[0-9]{4}",
                    r"[0-9]-[0-9]{4}-[0-9]{4}-[0-9]", r"[0-9]-[0-9]{6}-[0-9]{4}"], shift=1)
    add(n._SPACED, [r"[0-9] [0-9]{4} [0-9]{4} [0-9]", r"[0-9] [0-9]{6} [0-9]{4}",
                    r"[0-9] [0-9]{3,4} [0-9]{3}"], shift=1)
    add(n._SPACED, [r" [0-9]{9}", r" [0-9]{3} [0-9]{2,3} [0-9]{4}"])
    add(n._PHONE_PLUS, [r"\+[1-9][0-9 .()\-]{7}"])
    add(n._PHONE_PAREN, [r"\([2-9][0-9]{2}\) ?[2-9][0-9]{2}[ .\-][0-9]{4}"])
    # keys before "=" / ":" (reversed-text expressions, found from the separator)
    keys = _tlds(a._KEY_ENDINGS) + r"""[\-_.]{0,4}["']?[ \t]*"""
    add(a._ASSIGN_REV[0], [keys + ":?="], kind=_REV, caseless=True)
    add(a._ASSIGN_REV[1], [keys + ":"], kind=_REV, caseless=True)
    # words and options (lowercase-text expressions)
    bearer, basic = (rx for _, rx in a._AUTH_HEADER)
    add(bearer, [r"bearer[ \t]+[a-z0-9\-._~+/]{8}"], caseless=True)
    add(basic, [r"basic[ \t]+[a-z0-9+/]{8}"], caseless=True)
    (quoted,) = a._QUOTED_SECRET
    add(quoted, [r"""identified[ \t]+by[ \t]+['"]"""], caseless=True)
    add(a._SHORT_OPTION, [" --pass", " --user", " -[pwau]"], caseless=True)
    add(a._NET_USE_START, [r"net[ \t]+use"], caseless=True)
    add(a._FREERDP_START, ["freerdp"], caseless=True)
    cli = [r"net[ \t]+user[ \t]", r"stats[ \t]+auth[ \t]", r"unseal[ \t]+key[ \t]"]
    for (rx, _), pattern in zip(a._CLI_SECRET, cli, strict=True):
        add(rx, [pattern], caseless=True)
    add(a._LONG_FLAG, ["--[a-z]"], caseless=True)
    # commands that read a password from their standard input (their word first)
    for (rx, _, _), pattern in zip(a._STDIN_READERS, ["--password-stdin", "--stdin", "chpasswd", r"sudo[ \t]+-"],
                                   strict=True):
        add(rx, [pattern])
    # "password" in prose: each branch up to the word that decides it, so that
    # "Failed password for invalid user" (every sshd failure) reports nothing;
    # options from the "-pass" their look-behind asks for
    option = "pass(?:word|wd|in|out)?[ \\t]"
    add(a._PASS_PHRASE, ["[ \\t]-" + option], shift=2, caseless=True)
    add(a._PASS_PHRASE, ["store" + option], shift=5, caseless=True)
    add(a._PASS_PHRASE, ["key" + option], shift=3, caseless=True)
    word = "pass(?:word|phrase|wd)[ \\t]+"
    add(a._PASS_PHRASE, [word + "(?:has|had|is|was|set|changed|reset|updated)[ \\t]",
                         word + "for[ \\t]+(?:user[ \\t]+)?['\"]?[^\\s'\":]+['\"]?[ \\t]*:",
                         word + "['\"]"], caseless=True)
    return rules


@lru_cache(maxsize=1)
def _database():
    """The compiled database and, per pattern id, (expression, kind, shift)."""
    rules = _rules()
    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    flags = [hyperscan.HS_FLAG_SOM_LEFTMOST | (hyperscan.HS_FLAG_CASELESS if caseless else 0)
             if kind != _REV else (hyperscan.HS_FLAG_CASELESS if caseless else 0)
             for _, kind, _, _, caseless in rules]
    database.compile(expressions=[pattern.encode() for _, _, _, pattern, _ in rules],
                     ids=list(range(len(rules))), elements=len(rules), flags=flags)
    return database, [(rx, kind, shift) for rx, kind, shift, _, _ in rules]


_local = threading.local()


def _scratch(database):
    scratch = getattr(_local, "scratch", None)
    if scratch is None:
        scratch = _local.scratch = hyperscan.Scratch(database)
    return scratch


def available() -> bool:
    return hyperscan is not None


def build() -> None:
    """Compile the prefilter's database now (the first scan that needs it would)."""
    if hyperscan is not None:
        _database()


class Positions:
    """Where each expression can start in one text, and the ``scan`` function
    finders take (see :func:`tftsr.pii.patterns.finditer`)."""

    __slots__ = ("starts",)

    def __init__(self, starts: dict[re.Pattern, list[int]]):
        self.starts = starts

    def may_match(self, rx: re.Pattern) -> bool:
        return bool(self.starts.get(rx, True))

    def spans(self, key: str) -> list[int]:
        """Each match of the ``_SPAN`` rules for ``key``, as ``start << 34 | end``,
        sorted."""
        return self.starts[key]

    def __call__(self, rx: re.Pattern, text: str) -> Iterator[re.Match]:
        starts = self.starts.get(rx)
        if starts is None:
            return rx.finditer(text)
        return _matches_at(rx, text, starts)


def _matches_at(rx: re.Pattern, text: str, starts: list[int]) -> Iterator[re.Match]:
    """``rx.finditer(text)``, given every position where a match can start:
    matches never overlap, so a position inside the last match is skipped."""
    match = rx.match
    end = -1
    for pos in starts:
        if pos < end:
            continue
        m = match(text, pos)
        if m is not None:
            end = m.end()
            yield m


def positions(text: str) -> Positions | None:
    """The prefilter's positions for ``text`` (already normalised), or None
    when the pure-Python path should scan it (no hyperscan, short or dense
    text)."""
    if hyperscan is None or len(text) < MIN_CHARS:
        return None
    database, rules = _database()
    data = (text + "\n").encode("utf-8", "surrogatepass")  # "\n": what follows the last character
    budget = len(text) // DENSE_CHARS + 64
    size = len(data)
    found: list[list[int]] = [[] for _ in rules]  # per pattern: start << 34 | end
    appends = [bucket.append for bucket in found]
    count = 0

    def on_match(pattern_id, start, end, flags, context):
        nonlocal count
        count += 1
        # dense text: stop, the pure path scans it. Looked at every 1024 hits,
        # also as a forecast from the density so far (once there are a few
        # thousand), so that a crafted text is given up after its first few
        # tens of kilobytes rather than most of it
        if not count & 1023 and (count > budget or count >= _DENSE_START and count * size > budget * end):
            return True
        appends[pattern_id](start << 34 | end)
        return None

    try:
        database.scan(data, match_event_handler=on_match, scratch=_scratch(database))
    except hyperscan.ScanTerminated:
        return None
    if count > budget:
        return None  # denser than the budget over the whole text
    # what each rule reports, in bytes (shifts move within the ASCII characters
    # a pattern matched: as many bytes as characters): where the expression
    # starts, where the separator of a reversed-text expression is, or a
    # span, still as start << 34 | end
    reported = []
    for (_, kind, shift), bucket in zip(rules, found, strict=True):
        if bucket and kind == _SOM:
            bucket = [(b >> 34) + shift for b in bucket]
        elif bucket and shift:
            bucket = [b + shift for b in bucket]  # the start of a _REV match is 0
        reported.append(bucket)
    size = len(text)
    to_char = None if len(data) == size + 1 else _char_offsets(data, rules, reported)
    starts: dict = dict.fromkeys(rx for rx, _, _ in rules)
    for (rx, kind, _), bucket in zip(rules, reported, strict=True):
        if not bucket:
            continue
        if kind == _SPAN:
            if to_char is not None:
                bucket = [to_char[b >> 34] << 34 | to_char[b & _END] for b in bucket]
        elif kind == _REV:
            bucket = [size - b for b in bucket] if to_char is None else [size - to_char[b] for b in bucket]
        elif to_char is not None:
            bucket = [to_char[b] for b in bucket]
        have = starts[rx]
        starts[rx] = bucket if have is None else set(have).union(bucket)
    # one sorted list per expression; a position that comes from two patterns
    # once (one pattern reports each end once: a pattern of variable length can
    # report a start twice, which costs ``_matches_at`` at most a second try)
    return Positions({rx: [] if s is None else sorted(s) for rx, s in starts.items()})


_END = (1 << 34) - 1


def _char_offsets(data: bytes, rules: list, reported: list[list[int]]) -> dict[int, int]:
    """Byte offsets (in the UTF-8 of the text) -> character offsets, for
    every offset the rules report (all at character boundaries: each pattern
    starts with an ASCII character and ends with one, or one character (its
    first byte) after its last ASCII one, which the rule's shift takes back)."""
    offsets: set[int] = set()
    for (_, kind, _), bucket in zip(rules, reported, strict=True):
        if kind == _SPAN:
            offsets.update(p for b in bucket for p in (b >> 34, b & _END))
        else:
            offsets.update(bucket)
    out: dict[int, int] = {}
    chars = prev = 0
    for pos in sorted(offsets):
        chars += len(data[prev:pos].decode("utf-8", "surrogatepass"))
        out[pos] = chars
        prev = pos
    return out


__all__ = ["MIN_CHARS", "Positions", "available", "positions"]
