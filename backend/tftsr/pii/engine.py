"""Runs every finder over a text and resolves overlaps."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from . import memo, prefilter, split
from .assignments import find_assignments, find_credential_phrases, find_flags_and_prose
from .finders import (
    find_addresses,
    find_ipv6,
    find_macs,
    find_private_keys,
    find_tokens,
    find_url_credentials,
)
from .normalize import normalise
from .numbers import find_numbers, find_phones
from .prefilter import build as build_prefilter
from .spans import RANK, PiiSpan, make_span, make_spans

# Each finder scans the whole text in a few passes, each pass one regular
# expression that starts with a literal (see ``numbers`` and ``finders`` for
# why that matters); no separate "is the trigger there at all" check is
# needed, since looking for the literal *is* the check and costs the same.
FINDERS = (
    find_private_keys,
    find_tokens,
    find_url_credentials,
    find_assignments,
    find_credential_phrases,
    find_flags_and_prose,
    find_addresses,
    find_ipv6,
    find_macs,
    find_numbers,
    find_phones,
)


def lowered(text: str) -> str | None:
    """``text.lower()`` when lowering keeps every offset (true unless the text
    holds one of the few characters whose lowercase is longer, like "İ")."""
    lower = text.lower()
    return lower if len(lower) == len(text) else None


def _ascii_fold(text: str) -> str:
    """Lowercase ASCII only: same length as ``text`` by construction."""
    return text.translate(_ASCII_LOWER)


_ASCII_LOWER = {c: c + 32 for c in range(65, 91)}


def find_candidates(text: str, use_prefilter: bool = True) -> list[tuple[int, int, str]]:
    """Every finder's candidates. With ``use_prefilter`` (and the optional
    ``hyperscan`` package installed) each finder tries its patterns only
    where the prefilter found they can match (:mod:`tftsr.pii.prefilter`);
    the candidates are the same either way."""
    scan = prefilter.positions(text) if use_prefilter else None
    lower = lowered(text)
    if lower is None:
        lower = _ascii_fold(text)
    out: list[tuple[int, int, str]] = []
    if scan is None:
        for finder in FINDERS:
            finder(text, lower, out)
    else:
        for finder in FINDERS:
            finder(text, lower, out, scan)
    return out


def resolve_overlaps(candidates: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Keep a non-overlapping subset, sorted by start.

    Candidates are split into clusters of transitively overlapping intervals
    (most clusters hold one candidate); inside a cluster the longest wins,
    ties go to the type listed first in ``spans.PRIORITY``, then to the
    earlier start, and the next best that fits around the winners is kept."""
    kept: list[tuple[int, int, str]] = []
    keep = kept.append
    single = None  # the cluster so far, while it holds one candidate
    cluster: list[tuple[int, int, str]] | None = None
    cluster_end = -1
    candidates.sort()  # duplicates end up side by side and resolve as an overlap
    for cand in candidates:
        start, end, _ = cand
        if end <= start:
            continue
        if start >= cluster_end:
            if cluster is not None:
                _resolve_cluster(cluster, kept)
                cluster = None
            elif single is not None:
                keep(single)
            single = cand
            cluster_end = end
        else:
            if cluster is None:
                cluster = [single]
            cluster.append(cand)
            if end > cluster_end:
                cluster_end = end
    if cluster is not None:
        _resolve_cluster(cluster, kept)
    elif single is not None:
        keep(single)
    return kept


def _resolve_cluster(cluster: list[tuple[int, int, str]], kept: list) -> None:
    if len(cluster) == 2:
        # the common case (an e-mail address and its domain's host name, an
        # assignment and the token in it): two candidates that overlap; the
        # first wins a tie, as with min()
        a, b = cluster
        kept.append(a if (a[0] - a[1], RANK[a[2]], a[0]) <= (b[0] - b[1], RANK[b[2]], b[0]) else b)
        return
    # Best first, each kept unless a character of it is already taken. The
    # characters taken are marked in a byte string over the cluster, so that a
    # crafted run of overlapping candidates (``a@b.ca@b.ca@b.c...``, one
    # cluster of thousands) costs each candidate its own length, not a look at
    # every candidate kept before it.
    base = cluster[0][0]
    taken = bytearray(max(end for _, end, _ in cluster) - base)
    chosen: list[tuple[int, int, str]] = []
    for cand in sorted(cluster, key=lambda c: (c[0] - c[1], RANK[c[2]], c[0])):
        start, end = cand[0] - base, cand[1] - base
        if 1 not in taken[start:end]:
            taken[start:end] = b"\x01" * (end - start)
            chosen.append(cand)
    kept.extend(sorted(chosen))


def detect_pii(text: str, *, prefilter: bool = True, two_cores: bool = True) -> list[PiiSpan]:
    """Every finding in ``text``, sorted by start, none overlapping.

    Offsets are character offsets into ``text`` (end exclusive), so
    ``text[span.start:span.end] == span.original``. The finders run on the
    normalised text (see :mod:`tftsr.pii.normalize`); findings are mapped
    back to the original characters they came from. ``prefilter=False``
    runs the pure-Python path (the same findings, found more slowly). A text
    of ``split.SPLIT_MIN`` characters or more is scanned on two cores where
    the machine has them (:mod:`tftsr.pii.split`; the same findings);
    ``two_cores=False`` scans it on this one."""
    if not isinstance(text, str):
        raise TypeError("detect_pii expects a str")
    if not text:
        return []
    try:
        with _collector_paused():
            if two_cores and len(text) >= split.SPLIT_MIN and split.available():
                if prefilter:
                    build_prefilter()  # once, before the copy is forked, rather than in both
                spans = split.scan_split(text, lambda part: _detect(part, prefilter))
                if spans is not None:
                    return spans
            return _detect(text, prefilter)
    finally:
        memo.forget()  # nothing read from the text stays after its scan


def _detect(text: str, prefilter: bool) -> list[PiiSpan]:
    norm, mapping = normalise(text)
    found = resolve_overlaps(find_candidates(norm, prefilter))
    if mapping is None:
        return make_spans(found, text)
    spans = []
    last_end = 0
    for s, e, t in found:
        # two findings that meet inside one expanded character share it:
        # the first keeps it
        start, end = max(mapping.start(s), last_end), mapping.end(e)
        if end > start:
            spans.append(make_span(t, text, start, end))
            last_end = end
    return spans


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector held off while a text is scanned.

    A scan allocates a candidate, a match and a finding object for every
    finding, none of them part of a reference cycle; with the collector on,
    the growing heap of findings is walked again and again as they pile up
    (about 4% of the time on an ordinary log, up to a quarter on text
    dense with findings). Nothing is left uncollected: objects are still freed as soon
    as nothing refers to them, and the collector runs as usual once it is on
    again. If it was already off (another scan on another thread, or the
    caller's choice), it is left as it was."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
