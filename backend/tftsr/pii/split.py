"""A large text scanned on two cores.

A text of ``SPLIT_MIN`` characters or more is cut in two at a line break near
its middle. A forked copy of this process scans the second part while this one
scans the first; the copy sends back each finding as three numbers, and the two
lists are joined at the cut, as ingest joins its windows: the first part keeps
the findings that start before the cut, the second those that start after it
and after the first part's last finding ends.

Each part is scanned with ``MARGIN`` characters of the other (whole lines), so
whatever a finding near the cut depends on is in both scans: a finding lies on
one line or, a private key, within 66,000 characters of its start, and what is
read around it (the key before a value, the labels before a domain, the "://"
before a URL's user-info, a pair's name) lies within a few hundred. The
findings are the one scan's, span for span (``tests/unit/test_pii_split.py``
compares them on the test corpus and on random logs cut at every kind of place).

Only where a process can fork without starting a new program, Linux, and only
with two cores or more; elsewhere, and when the copy fails in any way, the text
is scanned here in one piece. The copy runs nothing but the scan: it imports
nothing, writes only to its pipe and leaves through ``os._exit``, so the
threads, files and database connections of the process it was forked from are
never touched in it.
"""

from __future__ import annotations

import os
import signal
import sys
from array import array
from collections.abc import Callable

from .spans import PII_TYPES, PiiSpan, make_spans

SPLIT_MIN = 4 << 20
# Characters of the other part each part is scanned with (more than the longest
# finding, a private key of 65,536 characters and its two marker lines).
MARGIN = 1 << 17
_TYPE_CODES = {name: code for code, name in enumerate(PII_TYPES)}


def available() -> bool:
    """Whether a text can be scanned on two cores here."""
    if sys.platform != "linux" or not hasattr(os, "fork"):
        return False
    try:
        return len(os.sched_getaffinity(0)) >= 2
    except OSError:  # pragma: no cover - no affinity call: count the machine's
        return (os.cpu_count() or 1) >= 2


# The share of the text scanned here: a little less than half, since this process
# also joins the two lists.
FIRST_SHARE = 0.48


def cut_points(text: str) -> tuple[int, int, int] | None:
    """``(lo, cut, hi)``: the second part starts at ``cut``, a line start near the
    middle; the first part is scanned up to ``hi`` and the second from ``lo``,
    both line starts ``MARGIN`` or more away from ``cut``. None when the text has
    no such line breaks (a few very long lines)."""
    n = len(text)
    cut = text.rfind("\n", 0, int(n * FIRST_SHARE)) + 1
    if cut < 2 * MARGIN or n - cut < 2 * MARGIN:
        return None
    lo = text.rfind("\n", 0, cut - MARGIN) + 1
    hi = text.find("\n", cut + MARGIN) + 1
    if lo == 0 or hi == 0:
        return None
    return lo, cut, hi


def scan_split(text: str, scan: Callable[[str], list[PiiSpan]]) -> list[PiiSpan] | None:
    """``scan(text)`` with the work shared by two processes, or None when the text
    cannot be cut (see ``cut_points``) or the second process failed; the caller
    then scans the text in one piece."""
    points = cut_points(text)
    if points is None:
        return None
    lo, cut, hi = points
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the copy: scan, send, leave without running anything else
        status = 1
        try:
            os.close(read_end)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            _send(write_end, scan(text[lo:]), cut - lo)
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    done = False
    try:
        first = scan(text[:hi])
        data = _receive(read_end)
        done = True
    finally:
        os.close(read_end)
        if not done:
            _stop(pid)
        _, status = os.waitpid(pid, 0)
    if status != 0 or len(data) % 17:
        return None
    kept = [span for span in first if span.start < cut]
    covered = kept[-1].end if kept else 0
    starts = array("q")
    starts.frombytes(data[:len(data) // 17 * 16])
    codes = data[len(data) // 17 * 16:]
    second = [(starts[2 * i] + lo, starts[2 * i + 1] + lo, PII_TYPES[code]) for i, code in enumerate(codes)]
    return kept + make_spans([s for s in second if s[0] >= covered], text)


def _send(fd: int, spans: list[PiiSpan], cut: int) -> None:
    """The findings that start at or after ``cut``: their starts and ends as
    8-byte numbers, then a byte per finding for its type."""
    numbers = array("q")
    codes = bytearray()
    for span in spans:
        if span.start >= cut:
            numbers.append(span.start)
            numbers.append(span.end)
            codes.append(_TYPE_CODES[span.pii_type])
    view = memoryview(numbers.tobytes() + bytes(codes))
    while view:
        view = view[os.write(fd, view):]
    os.close(fd)


def _receive(fd: int) -> bytes:
    parts = []
    while chunk := os.read(fd, 1 << 20):
        parts.append(chunk)
    return b"".join(parts)


def _stop(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:  # pragma: no cover - it had already left
        pass


__all__ = ["MARGIN", "SPLIT_MIN", "available", "cut_points", "scan_split"]
