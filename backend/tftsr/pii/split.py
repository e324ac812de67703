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
before a URL's user-info, a pair's name) lies within a few hundred. Private keys
also depend on the headers before them (see ``cut_points``), so the second part
starts where no key can be open. The findings are the one scan's, span for span
(``tests/unit/test_pii_split.py`` compares them on the test corpus, on random
logs cut at many places and on runs of unfinished keys).

Only where a process can fork without starting a new program, Linux, and only
with two cores or more; elsewhere, and when the copy cannot be started, fails or
takes far longer than this process's own part, the text is scanned here in one
piece. The copy runs nothing but the scan: it imports nothing, runs none of the
process's signal handlers, writes only to its pipe and leaves through
``os._exit``, so the threads, files and database connections of the process it
was forked from are never used in it (it holds their descriptors until it
leaves, a second or two).
"""

from __future__ import annotations

import os
import select
import signal
import sys
import time
import warnings
from array import array
from collections.abc import Callable

from .finders import PEM_REACH
from .spans import PII_TYPES, PiiSpan, make_spans

# Above the 4 MiB windows that ingest and re-detection hand the detector: there a
# second process per window measured no gain (they also read, compress and store).
SPLIT_MIN = 8 << 20
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
# How long the copy may take past this process's own scan: this many times that
# scan, and at least ``_WAIT_MIN`` seconds; then it is stopped and its part is
# scanned here.
_WAIT_FACTOR, _WAIT_MIN = 3.0, 10.0


def cut_points(text: str) -> tuple[int, int, int] | None:
    """``(lo, cut, hi)``: the second part starts at ``cut``, a line start near the
    middle; the first part is scanned up to ``hi`` and the second from ``lo``,
    both line starts ``MARGIN`` or more away from ``cut``. None when the text has
    no such line breaks (a few very long lines).

    Private keys are the one finding whose start depends on text far before it:
    a "-----BEGIN " inside the body of a key before it starts nothing, so a run of
    unfinished keys is read from its first header on. The second part therefore
    starts where no header lies within ``PEM_REACH`` characters before it (where
    no key can still be open), at a header's line if need be; None when that
    leaves nothing to share."""
    n = len(text)
    cut = text.rfind("\n", 0, int(n * FIRST_SHARE)) + 1
    if cut < 2 * MARGIN or n - cut < 2 * MARGIN:
        return None
    lo = text.rfind("\n", 0, cut - MARGIN) + 1
    hi = text.find("\n", cut + MARGIN) + 1
    while lo > 0:
        header = text.rfind("-----BEGIN ", max(0, lo - PEM_REACH), lo)
        if header < 0:
            break
        lo = text.rfind("\n", 0, header) + 1
    if lo == 0 or hi == 0:
        return None
    return lo, cut, hi


def scan_split(text: str, scan: Callable[[str], list[PiiSpan]]) -> list[PiiSpan] | None:
    """``scan(text)`` with the work shared by two processes, or None when the text
    cannot be cut (see ``cut_points``), the second process could not be started,
    or it failed or took too long; the caller then scans the text in one piece."""
    points = cut_points(text)
    if points is None:
        return None
    lo, cut, hi = points
    try:
        read_end, write_end = os.pipe()  # (not inherited by programs started meanwhile)
    except OSError:
        return None
    pid = _fork(read_end, write_end, lambda: _send(write_end, scan(text[lo:]), cut - lo))
    os.close(write_end)
    if pid is None:
        os.close(read_end)
        return None
    data = None
    try:
        started = time.monotonic()
        first = scan(text[:hi])
        took = time.monotonic() - started
        data = _receive(read_end, max(_WAIT_MIN, _WAIT_FACTOR * took))
    finally:
        os.close(read_end)
        if data is None:
            _stop(pid)
        status = _reap(pid)
    second = _decode(data, lo) if status == 0 else None
    if second is None:
        return None
    kept = [span for span in first if span.start < cut]
    covered = kept[-1].end if kept else 0
    return kept + make_spans([s for s in second if s[0] >= covered], text)


# Signals whose Python handlers the copy must not run (the desktop shell closes its
# window on SIGTERM): held while it is forked, set back to their default in it.
_HELD = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2}


def _fork(read_end: int, write_end: int, work: Callable[[], None]) -> int | None:
    """Start the copy, which runs ``work()`` and leaves; its pid, or None when no
    process could be started."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
    try:
        with warnings.catch_warnings():
            # (Python 3.12 warns of forking a process with threads: the copy runs
            # none of their code, takes none of their locks)
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
    except OSError:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        return None
    if pid == 0:  # the copy: scan, send, leave without running anything else
        status = 1
        try:
            for signum in _HELD:
                signal.signal(signum, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
            os.close(read_end)
            work()
            status = 0
        finally:
            os._exit(status)
    signal.pthread_sigmask(signal.SIG_SETMASK, held)
    return pid


# What the copy sends for each finding: its start and end as 8-byte numbers (all
# of them first), then a byte for its type (``_send``, ``_decode``).
_BYTES_PER_FINDING = 2 * 8 + 1


def _send(fd: int, spans: list[PiiSpan], cut: int) -> None:
    """The findings that start at or after ``cut``."""
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


def _decode(data: bytes, offset: int) -> list[tuple[int, int, str]] | None:
    """What ``_send`` sent, as ``(start, end, type)`` moved by ``offset``; None when
    it is cut short."""
    count, rest = divmod(len(data), _BYTES_PER_FINDING)
    if rest:
        return None
    numbers = array("q")
    numbers.frombytes(data[:16 * count])
    return [(numbers[2 * i] + offset, numbers[2 * i + 1] + offset, PII_TYPES[code])
            for i, code in enumerate(data[16 * count:])]


def _receive(fd: int, timeout: float) -> bytes | None:
    """Everything the copy writes, or None when it has not finished within
    ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    parts = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return None
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(parts)
        parts.append(chunk)


def _stop(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:  # pragma: no cover - it had already left
        pass


def _reap(pid: int) -> int:
    """Wait for the copy to leave and return its wait status; an interruption
    meanwhile (Ctrl+C) stops it, is waited through and raised after."""
    interrupted = None
    while True:
        try:
            status = os.waitpid(pid, 0)[1]
            break
        except KeyboardInterrupt as exc:
            interrupted = exc
            _stop(pid)
    if interrupted is not None:
        raise interrupted
    return status


__all__ = ["MARGIN", "SPLIT_MIN", "available", "cut_points", "scan_split"]
