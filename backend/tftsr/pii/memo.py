"""Answers the finders remember during a scan.

A log repeats itself: the same keys, host names, values and separators come
back line after line, so the finders remember what they worked out for each
(in bounded tables, emptied when full). What they remember is read from the
text: values that may be secrets, host names, the words around a key. So
the tables last no longer than the scan: :func:`tftsr.pii.detect_pii` empties
every one of them when it returns, and nothing read from a text stays in
memory after the text's scan.
"""

from __future__ import annotations

_tables: list[dict] = []


def table() -> dict:
    """A new, empty table, emptied with the others by :func:`forget`."""
    new: dict = {}
    _tables.append(new)
    return new


def forget() -> None:
    """Empty every table. A scan running meanwhile on another thread loses
    only time: an answer not found is worked out again."""
    for remembered in _tables:
        remembered.clear()


def remembered() -> int:
    """How many answers the tables hold, all together."""
    return sum(map(len, _tables))
