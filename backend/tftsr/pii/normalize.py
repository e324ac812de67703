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

import re
import unicodedata
from bisect import bisect_right
from functools import lru_cache

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

# a run of escapes is one piece (``%2F%2F``): three characters for one
_PERCENT = re.compile(r"(?:%(?:40|2[BbDdEeFf]|3[AaDdFf]))+")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


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

    __slots__ = ("norm", "orig", "olen", "nlen", "escapes")

    def __init__(self) -> None:
        self.norm: list[int] = []
        self.orig: list[int] = []
        self.olen: list[int] = []
        self.nlen: list[int] = []
        self.escapes: set[int] = set()  # pieces that are runs of %XX escapes

    def start(self, pos: int) -> int:
        """Original offset of the character at normalised ``pos`` (a span
        starting inside a replaced piece starts at that piece)."""
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
    same_length: dict[int, str] = {}
    other_length: dict[str, str] = {}
    confusable = False
    for ch in set(_NON_ASCII.findall(text)):
        repl = normal_char(ch)
        if len(repl) == 1:
            if repl != ch:
                same_length[ord(ch)] = repl
            elif ch in CONFUSABLES:
                confusable = True
        else:
            other_length[ch] = repl
    if same_length:
        text = text.translate(same_length)
        confusable = confusable or any(c in CONFUSABLES for c in same_length.values())
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
        text, mapping = _decode(text, re.compile("|".join(branches)), str.maketrans(other_length))
    if confusable:
        text = _CONFUSABLE_RUN.sub(lambda m: m.group().translate(_CONFUSABLE_TABLE), text)
    return text, mapping


def _decode(text: str, pieces: re.Pattern, table: dict[int, str]) -> tuple[str, OffsetMap]:
    out: list[str] = []
    mapping = OffsetMap()
    norm, orig, olen, nlen = mapping.norm, mapping.orig, mapping.olen, mapping.nlen
    pos = 0
    shift = 0  # original length minus normalised length so far
    for m in pieces.finditer(text):
        start, end = m.span()
        piece = m.group()
        if piece[0] == "%":
            mapping.escapes.add(len(norm))
            repl = bytes.fromhex(piece.replace("%", "")).decode("ascii")
        else:
            repl = piece.translate(table)
        out.append(text[pos:start])
        out.append(repl)
        norm.append(start - shift)
        orig.append(start)
        olen.append(end - start)
        nlen.append(len(repl))
        shift += end - start - len(repl)
        pos = end
    out.append(text[pos:])
    return "".join(out), mapping
