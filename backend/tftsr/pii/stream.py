"""Detection over input too large to hold at once.

The input is scanned in blocks of about ``block_size`` characters, each cut
right after a newline, so memory stays bounded by a few blocks whatever the
size of the file. Every finding except a private-key block lies on one line,
and a block whose last ``-----BEGIN ... PRIVATE KEY-----`` has no END yet is
cut before that line, so the key is scanned whole in the next block (up to
``MAX_KEY_BLOCK`` characters beyond the usual limit). Offsets
are global: character offsets into the whole input (for a file, into its
decoded text with line endings kept as they are).

A single line longer than ``4 * block_size`` is cut at its last space (or
hard at that length); a finding straddling such a cut can be missed. Real
logs do not have multi-megabyte lines; crafted ones are still scanned in
linear time.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from .engine import detect_pii
from .spans import PiiSpan

DEFAULT_BLOCK = 1 << 20
# A private-key block still open at a block boundary is waited for this long.
MAX_KEY_BLOCK = 1 << 17


def _safe_cut(text: str, final: bool, block_size: int) -> int:
    """How much of ``text`` can be scanned now without splitting a finding."""
    if final:
        return len(text)
    cut = text.rfind("\n") + 1
    key_open = False
    if cut:
        begin = text.rfind("-----BEGIN ", 0, cut)
        if begin >= 0 and "PRIVATE KEY" in text[begin:begin + 80] \
                and text.find("-----END ", begin, cut) < 0:
            key_open = True
            cut = text.rfind("\n", 0, begin) + 1
    limit = 4 * block_size + (MAX_KEY_BLOCK if key_open else 0)
    if cut == 0 and len(text) >= limit:
        # Forced: an unterminated key is scanned with the body read so far;
        # an endless line is cut at its last space.
        cut = len(text) if key_open else (text.rfind(" ") + 1 or len(text))
    return cut


def _iter_blocks(pieces: Iterable[str], block_size: int) -> Iterator[tuple[int, str]]:
    """Regroup ``pieces`` into ``(offset, block)`` with safe boundaries.

    Pieces are only collected until at least ``block_size`` characters are
    pending; then they are joined once and cut. When no cut is possible yet
    (a long line, an open private key), the next attempt waits until the
    pending text has doubled, so each character is joined a bounded number
    of times and the whole run stays linear in the input, however small the
    pieces (a 4 MB line given in 256-character pieces)."""
    parts: list[str] = []
    size = 0
    offset = 0
    next_try = block_size
    for piece in pieces:
        if not piece:
            continue
        parts.append(piece)
        size += len(piece)
        if size < next_try:
            continue
        text = "".join(parts)
        cut = _safe_cut(text, False, block_size)
        if cut:
            yield offset, text[:cut]
            offset += cut
            text = text[cut:]
        parts, size = ([text] if text else []), len(text)
        next_try = max(block_size, 2 * size)
    if parts:
        yield offset, "".join(parts)


def iter_pii(source: str | Iterable[str], *, block_size: int = DEFAULT_BLOCK) -> Iterator[PiiSpan]:
    """Yield the findings of ``source`` in order, with global offsets.

    ``source`` is a str or any iterable of str pieces (lines from a file
    opened in text mode, chunks from a socket): the offsets then refer to the
    concatenation of the pieces. The result equals ``detect_pii`` on the
    whole text for anything but pathological multi-megabyte lines."""
    if isinstance(source, str):
        text = source
        pieces: Iterable[str] = (text[i:i + block_size] for i in range(0, len(text), block_size))
    else:
        pieces = source
    for offset, block in _iter_blocks(pieces, block_size):
        for span in detect_pii(block):
            yield span.shifted(offset) if offset else span


def iter_pii_file(path: str | os.PathLike, *, encoding: str = "utf-8", errors: str = "replace",
                  block_size: int = DEFAULT_BLOCK) -> Iterator[PiiSpan]:
    """Yield the findings of a text file without loading it: memory stays at
    a few blocks however large the file is. Undecodable bytes become U+FFFD
    (``errors="replace"``) and line endings are kept, so offsets index the
    decoded text exactly."""
    with open(path, encoding=encoding, errors=errors, newline="") as handle:
        pieces = iter(lambda: handle.read(block_size), "")
        yield from iter_pii(pieces, block_size=block_size)
