"""A large text is scanned on two cores (``tftsr.pii.split``): a forked copy of the
process scans the second part and the lists are joined at the cut. The findings
must be the one scan's, span for span: on random logs and the development corpus
cut at many places, on a log cut through a private key, on runs of unfinished
keys (where a header starts a key only outside the body of the one before), and
through ``detect_pii`` itself. A copy that cannot be started, fails, is killed
by a signal or takes too long leaves the scan to this process; a scan that fails
here stops the copy; no process is left behind either way, and the copy runs none
of this process's signal handlers."""

from __future__ import annotations

import os
import random
import signal
import time

import pytest
from tftsr.pii import detect_pii, engine, split
from tftsr.pii.spans import PiiSpan

from tests.conftest import descendants
from tests.unit.test_pii_prefilter import _first_difference, corpus_texts, random_log


def random_text(logs: int) -> str:
    """``logs`` random logs of 120 lines, their private-key headers spelled so that they
    start nothing: where headers lie decides where the second part can start
    (``split.cut_points``), which the tests of keys decide by placing their own."""
    text = "\n".join(random_log(seed, lines=120) for seed in range(logs))
    return text.replace("-----BEGIN ", "-----BEGIN-")


def one_scan(text: str) -> list[PiiSpan]:
    return engine._detect(text, True)


@pytest.fixture(autouse=True)
def no_child_left():
    """Every copy forked by a test has exited and been reaped by its end (other
    tests' helper processes may be running: only new ones count)."""
    before = set(descendants(os.getpid()))
    yield
    assert set(descendants(os.getpid())) - before == set()




@pytest.fixture
def small_margin(monkeypatch):
    """Parts cut 4,096 characters from either end of the margin, for the tests
    where what the findings are does not matter: small texts can be split."""
    monkeypatch.setattr(split, "MARGIN", 4096)


@pytest.fixture(scope="module")
def long_log() -> str:
    """About 700,000 characters of random log: cut near its middle, each part is
    scanned with the real margin of the other."""
    text = random_text(90)
    assert len(text) > 5 * split.MARGIN
    return text


def test_this_machine_scans_on_two_cores():
    assert split.available(), "Linux with two cores or more: the split is expected to run here"


def test_random_logs_cut_at_many_places(long_log):
    rng = random.Random(5)
    assert len(one_scan(long_log)) > 5000
    for _ in range(6):
        text = long_log[rng.randrange(0, 120_000):]  # the cut moves through the log
        got = split.scan_split(text, one_scan)
        assert got is not None
        assert got == one_scan(text), _first_difference(one_scan(text), got)


def test_the_corpus_as_one_log_cut_in_two():
    lines = corpus_texts()
    rng = random.Random(9)
    size = sum(map(len, lines))
    for _ in range(4):
        rng.shuffle(lines)
        text = "\n".join(lines * (5 * split.MARGIN // size + 1))
        got = split.scan_split(text, one_scan)
        assert got is not None
        assert got == one_scan(text), _first_difference(one_scan(text), got)


def test_a_private_key_across_the_cut_is_one_finding(long_log):
    body = "\n".join("MIIEow" + "A" * 58 for _ in range(900))  # about 60,000 characters
    key = f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----"
    filler = long_log
    half = int(len(filler) * split.FIRST_SHARE)
    for shift in (-25_000, 0, 25_000):
        at = filler.rfind("\n", 0, half + shift) + 1
        text = filler[:at] + key + "\n" + filler[at:]
        middle = int(len(text) * split.FIRST_SHARE)
        assert at < middle < at + len(key), "the key is where the text is cut"
        got = split.scan_split(text, one_scan)
        assert got is not None
        assert got == one_scan(text)
        covering = [s for s in got if s.start <= at and s.end >= at + len(key)]
        assert [s.pii_type for s in covering] == ["PrivateKey"]


def test_detect_pii_splits_a_large_text_and_finds_the_same(monkeypatch, long_log):
    calls = []
    real = split.scan_split
    monkeypatch.setattr(split, "scan_split", lambda text, scan: calls.append(len(text)) or real(text, scan))
    text = long_log
    assert detect_pii(text[:200_000]) and calls == []  # (shorter than SPLIT_MIN: one piece)
    monkeypatch.setattr(split, "SPLIT_MIN", len(text))
    both = detect_pii(text)
    assert calls == [len(text)]
    assert both == detect_pii(text, two_cores=False)
    assert calls == [len(text)]
    assert both == detect_pii(text, prefilter=False)  # (the pure path, split too)
    assert len(calls) == 2


def test_a_text_without_line_breaks_to_cut_at_is_scanned_in_one_piece():
    assert split.cut_points("password=hunter22 " * 60_000) is None
    text = "x" * (3 * split.MARGIN) + "\n" + "y" * 10
    assert split.cut_points(text) is None  # no line start far enough from either end
    assert split.scan_split(text, one_scan) is None


def test_a_failing_copy_leaves_the_scan_here(monkeypatch, small_margin):
    def broken_send(fd, spans, cut):
        raise MemoryError("no memory in the copy")

    monkeypatch.setattr(split, "_send", broken_send)  # (runs in the forked copy only)
    text = random_text(4)
    assert split.scan_split(text, one_scan) is None
    monkeypatch.setattr(split, "SPLIT_MIN", 1000)
    assert detect_pii(text) == detect_pii(text, two_cores=False)


def test_a_scan_that_fails_here_stops_the_copy(small_margin):
    parent = os.getpid()

    def scan(text):
        if os.getpid() == parent:
            raise KeyboardInterrupt
        return one_scan(text * 50)  # the copy would take a while

    text = random_text(4)
    with pytest.raises(KeyboardInterrupt):
        split.scan_split(text, scan)


def test_a_run_of_unfinished_private_keys_is_read_from_its_first_header():
    """Each header lies in the body of the one before, so only every other one
    starts a key: the second part starts before the whole run, or the text is
    scanned in one piece."""
    block = "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(["MIIEow" + "A" * 58] * 600) + "\n"
    text = block * 20
    points = split.cut_points(text)
    assert points is None
    assert split.scan_split(text, one_scan) is None
    filler = random_text(40)
    text = filler + "\n" + block * 8 + filler
    points = split.cut_points(text)
    assert points is not None and points[0] <= len(filler) + 1
    got = split.scan_split(text, one_scan)
    assert got == one_scan(text), _first_difference(one_scan(text), got)


def test_a_copy_that_cannot_be_started_leaves_the_scan_here(monkeypatch, small_margin):
    def no_fork():
        raise OSError(12, "Cannot allocate memory")

    descriptors = len(os.listdir("/proc/self/fd"))
    monkeypatch.setattr(os, "fork", no_fork)
    text = random_text(4)
    assert split.scan_split(text, one_scan) is None
    assert len(os.listdir("/proc/self/fd")) == descriptors  # the pipe is closed
    monkeypatch.setattr(split, "SPLIT_MIN", 1000)
    assert detect_pii(text) == detect_pii(text, two_cores=False)


def test_the_copy_runs_none_of_this_processs_signal_handlers(tmp_path, small_margin):
    """A handler set here (the desktop shell closes its window on SIGTERM) is not
    run in the copy: a SIGTERM there ends it, and the scan is done here."""
    ran = tmp_path / "handler-ran"
    parent = os.getpid()

    def handler(signum, frame):
        ran.write_text(str(os.getpid()))

    def scan(text):
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGTERM)
        return one_scan(text)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        text = random_text(4)
        assert split.scan_split(text, scan) is None
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert not ran.exists()


def test_a_copy_that_takes_too_long_is_stopped(monkeypatch, small_margin):
    monkeypatch.setattr(split, "_WAIT_MIN", 0.5)
    parent = os.getpid()

    def scan(text):
        if os.getpid() != parent:
            time.sleep(60)
        return one_scan(text)

    text = random_text(4)
    started = time.monotonic()
    assert split.scan_split(text, scan) is None
    assert time.monotonic() - started < 30
