"""Log ingest through the real ``ingest_log`` on a real SQLCipher database: encodings,
.gz, every refused input (with nothing left behind), file names, finding offsets,
duplicates and progress events."""

from __future__ import annotations

import codecs
import gzip
import os
import random
from types import SimpleNamespace

import pytest
from tftsr.errors import TftsrError
from tftsr.evidence import ingest
from tftsr.evidence.ingest import SpanBuffer, WindowScanner, ingest_log
from tftsr.evidence.names import display_name
from tftsr.pii import detect_pii

SAMPLE = ("2026-03-01 12:00:01 INFO checkout started for bob@example.com\n"
          "2026-03-01 12:00:02 WARN upstream 10.20.30.40 slow (1200 ms)\n"
          "2026-03-01 12:00:03 INFO done\n")


def attach(app, issue_id, data: bytes, name="app.log", chunk=7, **kw):
    """Feed ``data`` in small chunks, as a network read would deliver it."""
    chunks = [data[i:i + chunk] for i in range(0, len(data), chunk)] if data else []
    return ingest_log(app, issue_id, name, iter(chunks), **kw)


def content(call, log_file_id) -> str:
    """The whole text, page by page (pages join with "\n")."""
    pages, offset = [], 0
    while True:
        page = call("get_log_file_content", log_file_id=log_file_id, offset_line=offset,
                    max_lines=5000)
        pages.append(page["text"])
        if not page["has_more"]:
            return "\n".join(pages)
        offset += page["lines_returned"]


def counts(app) -> dict:
    with app.db.connection() as conn:
        return {t: conn.execute(f"SELECT count(*) AS n FROM {t}").fetchone()["n"]
                for t in ("log_files", "pii_spans", "audit_log", "timeline_events")}


def files_under(folder) -> set[str]:
    return {os.path.relpath(os.path.join(d, f), folder)
            for d, _dirs, names in os.walk(folder) for f in names}


# --- encodings ---------------------------------------------------------------------------

@pytest.mark.parametrize("raw, label", [
    (SAMPLE.encode("utf-8"), "UTF-8"),
    (codecs.BOM_UTF8 + SAMPLE.encode("utf-8"), "UTF-8 (BOM)"),
    (codecs.BOM_UTF16_LE + SAMPLE.encode("utf-16-le"), "UTF-16LE (BOM)"),
    (codecs.BOM_UTF16_BE + SAMPLE.encode("utf-16-be"), "UTF-16BE (BOM)"),
    (SAMPLE.encode("utf-16-le"), "UTF-16LE"),
    (SAMPLE.encode("utf-16-be"), "UTF-16BE"),
])
def test_text_encodings_are_detected_and_decoded(app, call, make_issue, raw, label):
    issue = make_issue()
    result = attach(app, issue["id"], raw)
    lf = result["log_file"]
    assert lf["encoding"] == label
    assert result["notice"] is None and lf["encoding_notice"] is None
    assert content(call, lf["id"]) == SAMPLE  # no BOM character, no NULs
    assert lf["file_size"] == lf["original_size"] == len(raw)
    assert lf["line_count"] == 3
    assert result["findings"]["by_type"] == {"Email": 1, "Ipv4": 1}


def test_latin1_fallback_comes_with_a_visible_notice(app, call, make_issue):
    text = "2026-03-01 Benutzer Müller hat café bestellt, Größe 42\n"
    result = attach(app, make_issue()["id"], text.encode("latin-1"))
    lf = result["log_file"]
    assert lf["encoding"].startswith("Latin-1")
    assert "not valid UTF-8" in result["notice"] and lf["encoding_notice"] == result["notice"]
    assert content(call, lf["id"]) == text
    page = call("get_log_file_content", log_file_id=lf["id"])
    assert page["encoding_notice"] == result["notice"]


def test_invalid_utf8_late_in_a_large_file_still_falls_back(app, call, make_issue):
    text = "plain ascii line\n" * 20_000 + "caf\xe9\n"  # past the 64 KiB head
    result = attach(app, make_issue()["id"], text.encode("latin-1"), chunk=65_536)
    assert result["log_file"]["encoding"].startswith("Latin-1")
    assert content(call, result["log_file"]["id"]) == text


def test_crlf_is_normalised_even_across_chunk_edges(app, call, make_issue):
    raw = SAMPLE.replace("\n", "\r\n").encode()
    for chunk in (1, 2, 3, 64):
        issue = make_issue(title=f"crlf {chunk}")
        lf = attach(app, issue["id"], raw, chunk=chunk)["log_file"]
        assert content(call, lf["id"]) == SAMPLE


# --- gzip --------------------------------------------------------------------------------

def test_gz_log_is_decompressed_and_sizes_are_both_kept(app, call, make_issue):
    raw = SAMPLE.encode() * 50
    gz = gzip.compress(raw)
    result = attach(app, make_issue()["id"], gz, name="app.log.1.gz", chunk=13)
    lf = result["log_file"]
    assert lf["compressed"] is True and lf["mime_type"] == "application/gzip"
    assert lf["original_size"] == len(gz) and lf["file_size"] == len(raw)
    assert content(call, lf["id"]) == SAMPLE * 50
    assert result["findings"]["total"] == 100


def test_gzip_is_recognised_by_its_bytes_not_its_name(app, call, make_issue):
    lf = attach(app, make_issue()["id"], gzip.compress(SAMPLE.encode()), name="app.log")["log_file"]
    assert lf["compressed"] is True
    assert content(call, lf["id"]) == SAMPLE


def test_multi_member_gzip_is_read_whole(app, call, make_issue):
    gz = gzip.compress(b"first member\n") + gzip.compress(b"second member\n")
    lf = attach(app, make_issue()["id"], gz, chunk=5)["log_file"]
    assert content(call, lf["id"]) == "first member\nsecond member\n"


def test_utf16_inside_gzip(app, call, make_issue):
    gz = gzip.compress(codecs.BOM_UTF16_LE + SAMPLE.encode("utf-16-le"))
    lf = attach(app, make_issue()["id"], gz)["log_file"]
    assert lf["encoding"] == "UTF-16LE (BOM)"
    assert content(call, lf["id"]) == SAMPLE


# --- refused inputs: a clear message and nothing left behind -----------------------------

def _set_limit_mb(call, mb):
    call("update_setting", key="max_upload_mb", value=mb)


def _half(data: bytes) -> bytes:
    return data[:len(data) // 2]


BAD_INPUTS = {
    "empty_file": lambda: b"",
    "empty .gz": lambda: gzip.compress(b""),
    "binary_file (PNG)": lambda: b"\x89PNG\r\n\x1a\n" + os.urandom(2000),
    "binary_file (ELF)": lambda: b"\x7fELF\x02\x01\x01" + bytes(3000),
    "binary_file (random)": lambda: random.Random(1).randbytes(50_000),
    "binary_file (tar.gz)": lambda: gzip.compress(b"app.log\x00\x00\x00\x000000644\x00" + bytes(600)),
    "too_large": lambda: b"x" * (1024 * 1024 + 10) + b"\n",
    "too_large (gzip bomb)": lambda: gzip.compress(b"a\n" * (20 * 1024 * 1024)),
    "corrupt_file (truncated .gz)": lambda: _half(gzip.compress(
        "".join(f"line {random.Random(i).random()}\n" for i in range(2000)).encode())),
    "corrupt_file (damaged .gz)": lambda: gzip.compress(SAMPLE.encode())[:12] + b"\xff" * 40,
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_refused_input_writes_nothing(app, call, make_issue, data_dir, tmp_path, case):
    issue = make_issue()
    _set_limit_mb(call, 1)
    before, files_before = counts(app), files_under(data_dir)
    tmp_before = files_under(tmp_path)
    with pytest.raises(TftsrError) as err:
        attach(app, issue["id"], BAD_INPUTS[case](), chunk=4096)
    code = case.split(" ")[0].replace(".gz", "")
    assert err.value.code == ("empty_file" if case.startswith("empty") else code)
    assert len(err.value.message) > 20 and "attach" in err.value.message
    assert counts(app) == before
    assert files_under(data_dir) == files_before
    assert files_under(tmp_path) == tmp_before


def test_too_large_from_announced_size_is_refused_before_reading(app, make_issue):
    issue = make_issue()

    def never_read():
        raise AssertionError("the body must not be read")
        yield b""  # pragma: no cover

    with pytest.raises(TftsrError) as err:
        ingest_log(app, issue["id"], "big.log", never_read(), total_bytes=201 * 1024 * 1024)
    assert err.value.code == "too_large" and "200 MB" in err.value.message


def test_unknown_incident_is_refused(app):
    with pytest.raises(TftsrError) as err:
        attach(app, "01900000-0000-7000-8000-000000000000", SAMPLE.encode())
    assert err.value.code == "not_found"


def test_duplicate_per_incident_refused_but_another_incident_accepts(app, call, make_issue):
    first, second = make_issue(title="one"), make_issue(title="two")
    attach(app, first["id"], SAMPLE.encode(), name="a.log")
    before = counts(app)
    with pytest.raises(TftsrError) as err:
        attach(app, first["id"], SAMPLE.encode(), name="renamed.log")
    assert err.value.code == "duplicate" and "a.log" in err.value.message
    assert counts(app) == before
    other = attach(app, second["id"], SAMPLE.encode(), name="a.log")["log_file"]
    assert other["issue_id"] == second["id"]
    assert len(call("list_log_files", issue_id=first["id"])) == 1
    assert len(call("list_log_files", issue_id=second["id"])) == 1


# --- hostile file names ------------------------------------------------------------------

HOSTILE_NAMES = [
    "../../../../etc/passwd", "..\\..\\Windows\\System32\\drivers\\etc\\hosts",
    "/var/log/syslog", "C:\\logs\\app.log", "app\x00.log", "bad\x01\x1b[31mname\r\n.log",
    "a" * 10_000 + ".log", "invoice\u202egol.exe", "CON", "con.log", "LPT1.txt", "aux",
    "..", ".", "", "   ", "nul.tar.gz", "\u200bzero\u200dwidth.log", "a<b>c:d|e?f*.log",
]


@pytest.mark.parametrize("raw", HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
def test_hostile_file_names_become_safe_display_names(raw):
    name = display_name(raw, "log.txt")
    assert name and len(name) <= 200
    assert not any(c in name for c in "/\\\x00<>:\"|?*")
    assert all(ord(c) >= 32 and c not in "\u202e\u200b\u200d\u2028" for c in name)
    assert name not in (".", "..")
    stem = name.split(".")[0].upper()
    assert stem not in ("CON", "PRN", "AUX", "NUL", "LPT1", "COM1")


def test_display_names_keep_what_is_harmless():
    assert display_name("../../etc/passwd", "x") == "passwd"
    assert display_name("C:\\logs\\app.log", "x") == "app.log"
    assert display_name("invoice\u202egol.exe", "x") == "invoicegol.exe"
    assert display_name("CON", "x") == "_CON"
    assert display_name("", "log.txt") == "log.txt"
    assert display_name("журнал-サーバー.log", "x") == "журнал-サーバー.log"
    long = display_name("a" * 10_000 + ".log", "x")
    assert long.endswith(".log") and len(long) == 200


def test_hostile_name_is_stored_only_as_a_name(app, call, make_issue, data_dir):
    files_before = files_under(data_dir)
    lf = attach(app, make_issue()["id"], SAMPLE.encode(), name="../../../tmp/evil\x00.log")["log_file"]
    assert lf["file_name"] == "evil.log"
    with app.db.connection() as conn:
        assert conn.execute("SELECT file_path FROM log_files WHERE id = ?",
                            (lf["id"],)).fetchone()["file_path"] == "evil.log"
    new_files = files_under(data_dir) - files_before
    assert all(f.startswith("tftsr.db") for f in new_files), new_files


# --- findings ----------------------------------------------------------------------------

def test_finding_offsets_are_character_offsets_after_multibyte_text(app, call, make_issue):
    text = ("😀 emoji 🧑‍💻 ok\n"
            "日本語のログ 東京 サーバー\n"
            "cafe\u0301 combining e\u0301\u0301 marks\n"
            "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 then mail carol@example.org and 192.168.10.20 end\n")
    result = attach(app, make_issue()["id"], text.encode("utf-8"), chunk=3)
    spans = call("get_pii_spans", log_file_id=result["log_file"]["id"])["spans"]
    by_type = {s["pii_type"]: s for s in spans}
    email, ip = by_type["Email"], by_type["Ipv4"]
    assert (email["start"], email["end"]) == (text.index("carol@"),
                                             text.index("carol@") + len("carol@example.org"))
    assert text[email["start"]:email["end"]] == email["original"] == "carol@example.org"
    assert text[ip["start"]:ip["end"]] == ip["original"] == "192.168.10.20"
    assert email["line"] == ip["line"] == 4
    assert all(s["status"] == "pending" and s["source"] == "detected" for s in spans)


def test_findings_match_the_text_in_utf16_too(app, call, make_issue):
    text = "😀 日本 bob@example.com\n"
    lf = attach(app, make_issue()["id"], text.encode("utf-16"))["log_file"]
    (span,) = call("get_pii_spans", log_file_id=lf["id"])["spans"]
    assert span["start"] == text.index("bob@") and span["original"] == "bob@example.com"


def test_window_scanner_finds_exactly_what_a_whole_text_scan_finds():
    rng = random.Random(3)
    lines = []
    for i in range(400):
        extra = rng.choice(["", f" user{i}@example.com", f" from 10.0.{i % 250}.{i % 200 + 1}",
                            " key -----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAK\n"
                            "-----END RSA PRIVATE KEY-----"])
        lines.append(f"line {i} é😀{extra}")
    text = "\n".join(lines) + "\n"
    whole = [(s.start, s.end, s.pii_type) for s in detect_pii(text)]
    for window, overlap in ((200, 120), (1000, 300), (64, 200)):
        out = SpanBuffer()
        scanner = WindowScanner(detect_pii, out, window=window, overlap=overlap)
        for i in range(0, len(text), 37):
            scanner.feed(text[i:i + 37])
        scanner.finish()
        got = list(zip(out.starts, out.ends, out.types))
        assert got == whole, (window, overlap)
        for start, line in zip(out.starts, out.lines):
            assert line == text.count("\n", 0, start) + 1


def test_ingest_scans_on_one_core_while_the_other_compresses(app, call, make_issue, monkeypatch):
    """Even where its windows are as large as the detector's two-core threshold,
    ingest asks for one core (the second compresses the text meanwhile)."""
    from tftsr.pii import split

    forks = []
    monkeypatch.setattr(split, "scan_split", lambda text, scan: forks.append(len(text)))
    monkeypatch.setattr(split, "SPLIT_MIN", ingest.SCAN_WINDOW // 2)
    line = "2026-03-01 12:00:01 INFO login bob@example.com from 10.20.30.40 took 12 ms\n"
    data = (line * (ingest.SCAN_WINDOW // len(line) + 2000)).encode()
    result = ingest_log(app, make_issue()["id"], "big.log", iter([data]))
    assert forks == []
    lines = len(data.decode()) // len(line)
    assert result["findings"]["total"] == 2 * lines
    assert detect_pii(line * 3) and len(detect_pii(line)) == 2


def test_windows_are_below_the_two_core_threshold():
    """Re-detection scans a stored log in the same windows and asks for nothing
    special: they stay under the size at which the detector forks a second
    process, which measured no gain there."""
    from tftsr.pii import split

    assert ingest.SCAN_WINDOW + 2 * ingest.SCAN_OVERLAP < split.SPLIT_MIN


# --- progress ----------------------------------------------------------------------------

def test_progress_events_are_emitted_and_throttled(app, make_issue, monkeypatch):
    # Only the 5 % steps throttle here: the 250 ms fallback depends on the machine's speed
    # and is tested on its own below.
    class StepsOnly(ingest.Progress):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **{**kwargs, "interval": float("inf")})

    monkeypatch.setattr(ingest, "Progress", StepsOnly)
    issue = make_issue()
    seen = []
    unsubscribe = app.events.subscribe(lambda name, payload: seen.append((name, payload)))
    data = ("2026-03-01 12:00:00 INFO a perfectly ordinary line of text\n" * 80_000).encode()
    try:
        ingest_log(app, issue["id"], "progress.log",
                   (data[i:i + 8192] for i in range(0, len(data), 8192)),
                   total_bytes=len(data), upload_id="up-1")
    finally:
        unsubscribe()
    progress = [p for n, p in seen if n == "upload_progress"]
    phases = [p["phase"] for p in progress]
    assert {"reading", "scanning", "storing"} <= set(phases)
    assert phases.index("reading") < phases.index("scanning") < phases.index("storing")
    reading = [p for p in progress if p["phase"] == "reading"]
    # 560 chunks were read; an event comes only after another 5 % (the phase's first event
    # and its final one are always sent).
    done = [p["done_bytes"] for p in reading]
    assert 15 <= len(done) <= 22
    assert all(b - a >= 0.05 * len(data) for a, b in zip(done[:-2], done[1:-1]))
    assert done[-1] == reading[-1]["total_bytes"] == len(data)
    assert done == sorted(done)
    assert all(p["upload_id"] == "up-1" and p["issue_id"] == issue["id"]
               and p["file_name"] == "progress.log" for p in progress)
    assert ("issue_changed", {"issue_id": issue["id"]}) in seen


def test_progress_falls_back_to_a_time_interval_when_steps_are_small(monkeypatch):
    """Under 5 % per update, an event still comes once 250 ms have passed (a clock the
    test moves)."""
    emitted = []
    events = type("Events", (), {"emit": lambda self, name, payload: emitted.append(payload)})()
    now = [100.0]
    monkeypatch.setattr(ingest, "time", SimpleNamespace(monotonic=lambda: now[0]))
    progress = ingest.Progress(events, issue_id="i", file_name="f.log")
    progress.update("reading", 0, 1000)  # a new phase is always reported
    for done in range(1, 10):  # 0.1 % steps, no time passing: throttled
        progress.update("reading", done, 1000)
    assert [p["done_bytes"] for p in emitted] == [0]
    now[0] += 0.25
    progress.update("reading", 10, 1000)
    progress.update("reading", 11, 1000)
    assert [p["done_bytes"] for p in emitted] == [0, 10]
    progress.update("reading", 61, 1000)  # a 5 % step is reported at once
    progress.update("reading", 62, 1000, force=True)
    assert [p["done_bytes"] for p in emitted] == [0, 10, 61, 62]
