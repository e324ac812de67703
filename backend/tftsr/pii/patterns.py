"""Helpers for building the detector's regular expressions."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator


def finditer(rx: re.Pattern, text: str) -> Iterator[re.Match]:
    """How a finder runs one of its patterns over a whole text: ``rx.finditer``.
    The prefilter (:mod:`tftsr.pii.prefilter`) passes finders another
    function with the same meaning that tries ``rx`` only where a match can
    start, giving the same matches in the same order."""
    return rx.finditer(text)


def alternation(words: Iterable[str]) -> str:
    """A pattern matching any of ``words``, written as a trie
    (``c(?:o(?:m)?|n)`` for co, com, cn) so that ``re`` rejects a position
    after one comparison per character instead of trying every word in turn.
    Like a plain alternation it can match a word that is a prefix of a longer
    one; follow it with a lookahead where a whole word is needed."""
    tree: dict = {}
    for word in words:
        node = tree
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict) -> str:
        branches = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if "" in node:
            return "(?:" + "|".join(branches) + ")?" if branches else ""
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    return emit(tree)
