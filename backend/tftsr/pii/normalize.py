"""The text the finders see: Unicode tricks and percent-escapes undone, with
a map from its offsets back to the original text.

A secret can be disguised without changing what a person reads:
full-width characters (``ｐａｓｓｗｏｒｄ＝…``, ``１０．０．０．１``, ``＠``),
zero-width characters inside a key, a no-break space as a separator, a
Cyrillic ``а`` in ``pаssword=``, or an e-mail address written
``bob.martin%40gmail.com`` in a query string. The finders are written for
ASCII, so the text is first brought to the form a reader would type:

* every character is replaced by its NFKC form (compatibility characters:
  full-width letters, digits and punctuation, ligatures, circled digits);
* format characters (Unicode category Cf: zero-width space, joiners, word
  joiner, byte-order mark, soft hyphen, bidirectional controls) are
  removed: they are invisible, so nothing a reader sees depends on them;
* every space separator (category Zs: no-break, thin, ideographic...)
  becomes " ", line and paragraph separators become "\\n";
* Cyrillic and Greek letters that look like Latin ones are read as those
  Latin letters when they touch a Latin letter (``pаssword``): no language
  mixes the scripts inside one word, so such a word is a disguise, while
  Russian or Greek words are left as they are;
* ``%XX`` escapes of the characters that separate the parts of addresses,
  URLs and assignments (``@ : / . + - ? =``) are decoded, so an encoded
  address or credentialed URL is found like a plain one. ``%26`` ("&") and
  ``%20`` (space) stay encoded: they end a value once decoded, and a value
  that contains them encoded must stay whole.

Each character of the original yields zero, one or several characters of
the normalised text (a decoded escape: three yield one), and findings are
mapped back to whole original characters, so ``original`` is always the
original slice, escapes and invisible characters included.

Cost: a text that is pure ASCII without "%" is returned as it is; otherwise
the distinct non-ASCII characters are looked up once each (cached), the
one-for-one replacements are applied with ``str.translate`` and only the
characters whose replacement has another length get an entry in the map.
"""

from __future__ import annotations

import operator
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable
from functools import lru_cache
from itertools import accumulate, compress, count

# Latin look-alikes in Cyrillic and Greek (lower and upper case).
CONFUSABLES: dict[str, str] = {
    # Cyrillic
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j",
    "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l", "ү": "y",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C",
    "Т": "T", "Х": "X", "У": "Y", "І": "I", "Ј": "J", "Ѕ": "S", "Ԁ": "D", "Ԛ": "Q", "Ԝ": "W",
    # Greek
    "α": "a", "ο": "o", "ρ": "p", "ν": "v", "ι": "i", "κ": "k", "υ": "u", "χ": "x", "ϲ": "c",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N",
    "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
}
_CONFUSABLE_TABLE = str.maketrans(CONFUSABLES)
_CONFUSABLE_CLASS = "[" + "".join(CONFUSABLES) + "]"
# A run of look-alikes that touches a Latin letter on either side.
_CONFUSABLE_RUN = re.compile(
    rf"(?<=[A-Za-z]){_CONFUSABLE_CLASS}+|{_CONFUSABLE_CLASS}+(?=[A-Za-z])")
_CONFUSABLE_SPLIT = re.compile(f"({_CONFUSABLE_RUN.pattern})")
# A whole run of look-alikes that touches no Latin letter (a Russian or Greek
# word's): where there is none, every look-alike is replaced at once.
_CONFUSABLE_ALONE = re.compile(
    rf"(?<![A-Za-z{_CONFUSABLE_CLASS[1:-1]}]){_CONFUSABLE_CLASS}++(?![A-Za-z])")

# a run of escapes is one piece (``%2F%2F``): three characters for one
_PERCENT = re.compile(r"(?:%(?:40|2[BbDdEeFf]|3[AaDdFf]))+")


@lru_cache(maxsize=1 << 16)
def normal_char(ch: str) -> str:
    """What one non-ASCII character reads as (see the module doc)."""
    category = unicodedata.category(ch)
    if category == "Cf":
        return ""
    if category == "Zs":
        return " "
    if category in ("Zl", "Zp"):
        return "\n"
    return unicodedata.normalize("NFKC", ch)


class OffsetMap:
    """Maps offsets in the normalised text back to the original.

    Only the places where one original piece (a run of removed or expanded
    characters, or of ``%XX`` escapes) became a piece of another length are
    stored: ``norm`` (sorted starts in the normalised text), and for each
    the original start, original length and normalised length. Elsewhere
    the two texts run in step. Inside a run of ``%XX`` escapes (three
    original characters for each normalised one) offsets map exactly."""

    __slots__ = ("norm", "orig", "olen", "nlen", "escapes", "_build")

    def __init__(self, build: Callable[[OffsetMap], None] | None = None) -> None:
        """``build``: fills the map in when it is first used (a text can need
        one and yet hold no finding to map back)."""
        self.norm: list[int] = []
        self.orig: list[int] = []
        self.olen: list[int] = []
        self.nlen: list[int] = []
        self.escapes: set[int] | range = set()  # pieces that are runs of %XX escapes
        self._build = build

    def _fill(self) -> None:
        build, self._build = self._build, None
        build(self)

    def start(self, pos: int) -> int:
        """Original offset of the character at normalised ``pos`` (a span
        starting inside a replaced piece starts at that piece)."""
        if self._build is not None:
            self._fill()
        k = bisect_right(self.norm, pos) - 1
        if k < 0:
            return pos
        base = self.norm[k] + self.nlen[k]
        if pos < base:
            if k in self.escapes:  # three original characters for each
                return self.orig[k] + 3 * (pos - self.norm[k])
            return self.orig[k]
        return self.orig[k] + self.olen[k] + pos - base

    def end(self, pos: int) -> int:
        """Original offset matching an exclusive end at normalised ``pos``
        (a span ending inside a replaced piece takes all of it; removed
        characters right after the span are left out)."""
        if pos <= 0:
            return 0
        if self._build is not None:
            self._fill()
        last = pos - 1
        k = bisect_right(self.norm, last) - 1
        if k < 0:
            return pos
        base = self.norm[k] + self.nlen[k]
        if last < base:
            if k in self.escapes:
                return self.orig[k] + 3 * (last - self.norm[k]) + 3
            return self.orig[k] + self.olen[k]
        return self.orig[k] + self.olen[k] + last - base + 1


def normalise(text: str) -> tuple[str, OffsetMap | None]:
    """``(normalised text, map)``; the map is None when offsets are unchanged
    (then the normalised text may still differ, one character for one)."""
    if text.isascii():
        if "%" not in text or _PERCENT.search(text) is None:
            return text, None
        return _decode(text, _PERCENT, {})
    same_length: dict[str, str] = {}
    other_length: dict[str, str] = {}
    confusables: set[str] = set()  # the look-alikes the text holds once these are replaced
    for ch in _non_ascii_characters(text):
        repl = normal_char(ch)
        if len(repl) == 1 and repl != ch:
            same_length[ch] = repl
        elif len(repl) != 1:
            other_length[ch] = repl
        confusables.update(c for c in repl if c in CONFUSABLES)
    if same_length:
        text = _replace_each(text, same_length)
    has_percent = "%" in text and _PERCENT.search(text) is not None
    mapping = None
    if other_length or has_percent:
        # a run of removed or expanded characters is one piece (a finding
        # that starts or ends inside it takes all of it)
        branches = []
        if other_length:
            branches.append("[" + "".join(re.escape(c) for c in other_length) + "]+")
        if has_percent:
            branches.append(_PERCENT.pattern)
        pieces, table = re.compile("|".join(branches)), str.maketrans(other_length)
        if has_percent:
            text, mapping = _decode(text, pieces, table)
        else:
            # removed and expanded characters only: the text in one step, the map
            # (which only findings need) when the first one is mapped back
            before, text = text, _replace_each(text, other_length)
            mapping = OffsetMap(lambda m: _offset_map(m, *_split(before, pieces, table), False, False))
    if confusables:
        if _CONFUSABLE_ALONE.search(text) is None:  # every run touches a Latin letter
            text = _replace_each(text, {ch: CONFUSABLES[ch] for ch in confusables})
        else:
            # as _CONFUSABLE_RUN.sub would, a list at a time
            parts = _CONFUSABLE_SPLIT.split(text)
            parts[1::2] = map(_Replacements(_CONFUSABLE_TABLE).__getitem__, parts[1::2])
            text = "".join(parts)
    return text, mapping


def _replace_each(text: str, replacements: dict[str, str]) -> str:
    """``text`` with each character of ``replacements`` replaced by its value, as
    ``str.translate`` does: a ``str.replace`` per character where they are few
    (and no value holds one of them), which runs at memory speed, ``translate``
    (a table lookup per character) otherwise."""
    if len(replacements) > 32 or any(c in replacements for repl in replacements.values() for c in repl):
        return text.translate(str.maketrans(replacements))
    for ch, repl in replacements.items():
        text = text.replace(ch, repl)
    return text


def _non_ascii_characters(text: str) -> set[str]:
    """The distinct characters of ``text`` outside ASCII: what is left once
    the runs of ASCII are removed when they are few, the set of all
    characters when they are many (a twelfth or more of the text: removing a
    run costs about as much as a dozen characters added to a set)."""
    if 12 * (len(text) - len(text.encode("ascii", "ignore"))) < len(text):
        return set(_ASCII_RUN.sub("", text))
    return {ch for ch in set(text) if ch > "\x7f"}


_ASCII_RUN = re.compile(r"[\x00-\x7f]+")


def _decode(text: str, pieces: re.Pattern, table: dict[int, str]) -> tuple[str, OffsetMap]:
    """The text with each match of ``pieces`` (runs of ``%XX`` escapes, and of
    the characters of ``table``) replaced: escapes decoded, anything else
    translated with ``table``; and the map, made when it is first used. Built
    a list at a time from ``split`` (no match objects): a crafted text holds a
    piece every other character."""
    parts, found, repls = _split(text, pieces, table)
    mapping = OffsetMap(lambda m: _offset_map(m, parts, found, repls, not table, True))
    decoded = parts.copy()
    decoded[1::2] = repls
    return "".join(decoded), mapping


def _split(text: str, pieces: re.Pattern, table: dict[int, str]) -> tuple[list[str], list[str], list[str]]:
    """``text`` split around the matches of ``pieces`` (text, piece, text, ...,
    text), the pieces, and what each reads as."""
    parts = re.compile(f"({pieces.pattern})").split(text)
    found = parts[1::2]
    return parts, found, list(map(_Replacements(table).__getitem__, found))


def _offset_map(mapping: OffsetMap, parts: list[str], found: list[str], repls: list[str],
                all_escapes: bool, escapes: bool) -> None:
    """Fill in ``mapping`` for a text split by ``_split``: ``parts`` (text, piece,
    text, ...), the pieces ``found`` and what each became; ``all_escapes``: every
    piece is a run of ``%XX`` escapes, ``escapes``: some may be (else none is)."""
    offsets = list(accumulate(map(len, parts), initial=0))  # where each part starts
    mapping.orig = offsets[1:-1:2]
    mapping.olen = list(map(len, found))
    mapping.nlen = list(map(len, repls))
    # where each piece starts in the normalised text: its start, less what
    # the pieces before it shortened the text by
    shifts = accumulate(map(operator.sub, mapping.olen, mapping.nlen), initial=0)
    mapping.norm = list(map(operator.sub, mapping.orig, shifts))
    if all_escapes:  # every piece is a run of escapes
        mapping.escapes = range(len(found))
    elif escapes:  # (else no piece is one: removed and expanded characters only)
        mapping.escapes = set(compress(count(), map("%".__eq__, map(operator.itemgetter(0), found))))


class _Replacements(dict):
    """Piece -> what it reads as, each distinct piece worked out once."""

    def __init__(self, table: dict[int, str]) -> None:
        super().__init__()
        self.table = table

    def __missing__(self, piece: str) -> str:
        if piece[0] == "%":
            repl = bytes.fromhex(piece.replace("%", "")).decode("ascii")
        else:
            repl = piece.translate(self.table)
        self[piece] = repl
        return repl
