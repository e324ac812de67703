"""What a log costs on disk, and how it is scanned: a log scanned window by window is
stored and reviewed exactly as the detector sees the whole text; the stored text is one
Zstandard frame of the log (texts stored earlier as gzip still read); findings' rows do
not repeat the text they cover; the database grows by well under the log's size and the
write-ahead log does not keep a second copy."""

from __future__ import annotations

import gzip
import random
import threading
from pathlib import Path

import pytest
from tftsr.evidence import ingest, logs
from tftsr.evidence.compression import ZSTD_MAGIC, decompress_text
from tftsr.evidence.ingest import file_chunks, ingest_log
from tftsr.pii import detect_pii

MB = 1024 * 1024


def make_log(size: int, seed: int = 3) -> str:
    rng = random.Random(seed)
    lines, total = [], 0
    while total < size:
        n = len(lines)
        line = (f"2026-03-01T12:{n // 6000 % 60:02d}:{n // 100 % 60:02d}.{n % 1000:03d}Z INFO "
                f"[svc-{rng.randint(1, 9)}] req={rng.getrandbits(64):016x} GET /api/orders/"
                f"{rng.randint(1000, 99999)} status=200 dur={rng.randint(1, 900)}ms")
        k = n % 20  # three findings in twenty lines, as in the ingest benchmark
        if k == 0:
            line += f" client=10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        elif k == 7:
            line += f" user=user{rng.randint(1, 999)}@example.com note=Grüße"
        elif k == 13:
            line += f" upstream=db-{rng.randint(1, 40):02d}.prod.internal password=S3cret{n}"
        lines.append(line)
        total += len(line) + 1
    return "\n".join(lines) + "\n"


@pytest.fixture
def small_windows(monkeypatch):
    """Windows of 256 KiB, so that a few MB make many windows (and many window edges)."""
    monkeypatch.setattr(ingest, "SCAN_WINDOW", 256 * 1024)
    monkeypatch.setattr(ingest, "SCAN_OVERLAP", 4 * 1024)


def db_bytes(data_dir: Path) -> int:
    return sum(p.stat().st_size for p in data_dir.glob("tftsr.db*"))


def all_spans(call, log_file_id) -> list[tuple]:
    spans = call("get_pii_spans", log_file_id=log_file_id, limit=50_000)["spans"]
    return [(s["pii_type"], s["start"], s["end"], s["line"], s["original"], s["replacement"])
            for s in spans]


def stored_text(app, log_file_id) -> bytes:
    with app.db.connection() as conn:
        row = conn.execute("SELECT content_compressed, redacted_compressed FROM log_files WHERE id = ?",
                           (log_file_id,)).fetchone()
    assert row["redacted_compressed"] is None
    assert row["content_compressed"].startswith(ZSTD_MAGIC)
    return decompress_text(row["content_compressed"])


def test_windows_store_what_the_detector_finds_in_the_whole_text(app, call, make_issue,
                                                                  small_windows, tmp_path):
    text = make_log(3 * MB).replace("\n", "\r\n", 50)  # a few CRLF line ends too
    path = tmp_path / "app.log"
    path.write_bytes(text.encode("utf-8"))
    result = ingest_log(app, make_issue()["id"], "app.log", file_chunks(path, 64 * 1024))
    expected = text.replace("\r\n", "\n")
    assert stored_text(app, result["log_file"]["id"]) == expected.encode("utf-8")
    assert result["log_file"]["line_count"] == expected.count("\n")
    assert result["findings"]["total"] > 4_000
    spans = all_spans(call, result["log_file"]["id"])
    whole = detect_pii(expected)
    assert [(s[0], s[1], s[2], s[4]) for s in spans] == \
        [(s.pii_type, s.start, s.end, s.original) for s in whole]
    assert all(expected.count("\n", 0, s[1]) + 1 == s[3] for s in spans[::97])


def test_a_gz_upload_in_windows(app, call, make_issue, small_windows, tmp_path):
    text = make_log(2 * MB, seed=5)
    path = tmp_path / "app.log.gz"
    path.write_bytes(gzip.compress(text.encode("utf-8")))
    result = ingest_log(app, make_issue()["id"], "app.log.gz", file_chunks(path))
    assert stored_text(app, result["log_file"]["id"]) == text.encode("utf-8")
    assert result["findings"]["total"] == len(detect_pii(text))


def test_database_growth_and_one_copy(app, make_issue, data_dir, small_windows, tmp_path):
    text = make_log(6 * MB, seed=11)
    path = tmp_path / "big.log"
    raw = text.encode("utf-8")
    path.write_bytes(raw)
    issue = make_issue()
    before = db_bytes(data_dir)
    result = ingest_log(app, issue["id"], "big.log", file_chunks(path))
    grown = db_bytes(data_dir) - before
    findings = result["findings"]["total"]
    assert findings > 8_000
    # the text is stored once, compressed; nothing of it is left in the write-ahead log
    with app.db.connection() as conn:
        (row,) = conn.execute("SELECT length(content_compressed) AS n, redacted_compressed"
                              " FROM log_files").fetchall()
    assert row["n"] < 0.22 * len(raw) and row["redacted_compressed"] is None  # 0.19x
    wal = data_dir / "tftsr.db-wal"
    assert not wal.exists() or wal.stat().st_size < 1 * MB
    # text plus findings (0.48x for this log): about half the log's own size
    assert grown < 0.55 * len(raw), f"{grown / len(raw):.2f}x for {findings} findings"



def test_findings_rows_do_not_repeat_the_text_they_cover(app, call, make_issue, tmp_path):
    text = make_log(400 * 1024, seed=13)
    path = tmp_path / "app.log"
    path.write_bytes(text.encode("utf-8"))
    lid = ingest_log(app, make_issue()["id"], "app.log", file_chunks(path))["log_file"]["id"]
    with app.db.connection() as conn:
        stored = conn.execute("SELECT count(*) AS n, sum(length(original_value)) AS chars"
                              " FROM pii_spans WHERE log_file_id = ?", (lid,)).fetchone()
    assert stored["n"] > 500 and stored["chars"] == 0
    # the text each finding covers still comes with it, from the stored log text, even when
    # that text is not in the cache
    logs.text_cache(app).forget(lid)
    spans = call("get_pii_spans", log_file_id=lid, limit=50_000)["spans"]
    assert len(spans) == stored["n"]
    assert [(s["start"], s["end"], s["original"]) for s in spans] == \
        [(s.start, s.end, s.original) for s in detect_pii(text)]
    # a manual redaction's row does not repeat its text either
    first = spans[0]
    added = call("add_pii_span", log_file_id=lid, start=first["start"] - 5,
                 end=first["start"] - 1)
    assert added["original"] == text[first["start"] - 5:first["start"] - 1]
    with app.db.connection() as conn:
        assert conn.execute("SELECT original_value FROM pii_spans WHERE id = ?",
                            (added["id"],)).fetchone()["original_value"] == ""


def test_a_gzip_text_and_findings_with_their_values_stored_earlier_still_read(app, call,
                                                                           make_issue):
    """A database written before: the text a gzip stream, each finding's value in its row."""
    text = "login alice@example.com from 10.1.2.3\nretry bob@example.org\n"
    lid = ingest_log(app, make_issue()["id"], "old.log", iter([text.encode()]))["log_file"]["id"]
    with app.db.transaction() as conn:
        conn.execute("UPDATE log_files SET content_compressed = ? WHERE id = ?",
                     (gzip.compress(text.encode(), 6), lid))
        conn.execute("UPDATE pii_spans SET original_value = substr(?, start_offset + 1,"
                     " end_offset - start_offset) WHERE log_file_id = ?", (text, lid))
    logs.text_cache(app).forget(lid)
    page = call("get_log_file_content", log_file_id=lid)
    assert page["text"] == text and page["line_count"] == 2
    spans = call("get_pii_spans", log_file_id=lid)["spans"]
    assert [s["original"] for s in spans] == ["alice@example.com", "10.1.2.3", "bob@example.org"]
    call("set_pii_span_status", span_ids=[s["id"] for s in spans], status="approved")
    result = call("apply_redactions", log_file_id=lid)
    assert result["applied"] == 3
    # the incident's numbered placeholders tell the two addresses apart: their values were read
    assert call("get_log_file_content", log_file_id=lid)["text"] == \
        "login [Email-1] from [IPv4-1]\nretry [Email-2]\n"
    assert {s["original"] for s in call("get_pii_spans", log_file_id=lid)["spans"]} == {""}


def test_a_text_asked_for_twice_at_once_is_loaded_once(app, call, make_issue, monkeypatch):
    """A review screen asks for a page of text and a page of findings together."""
    text = make_log(300 * 1024, seed=17)
    lid = ingest_log(app, make_issue()["id"], "app.log", iter([text.encode()]))["log_file"]["id"]
    logs.text_cache(app).forget(lid)
    loads, started, release = [], threading.Event(), threading.Event()
    from_stored = logs.LogText.from_stored

    def slow_load(blob):
        loads.append(len(blob))
        started.set()
        release.wait(10)
        return from_stored(blob)

    monkeypatch.setattr(logs.LogText, "from_stored", staticmethod(slow_load))
    results = {}
    threads = [threading.Thread(target=lambda: results.setdefault(
                   "spans", call("get_pii_spans", log_file_id=lid, limit=50_000))),
               threading.Thread(target=lambda: results.setdefault(
                   "page", call("get_log_file_content", log_file_id=lid, max_lines=5000)))]
    threads[0].start()
    assert started.wait(10)
    threads[1].start()
    threads[1].join(0.3)
    assert threads[1].is_alive()  # waiting for the load already under way
    release.set()
    for thread in threads:
        thread.join(10)
    assert len(loads) == 1
    assert [s["original"] for s in results["spans"]["spans"]] == \
        [s.original for s in detect_pii(text)]
    assert results["page"]["text"] == text[:len(results["page"]["text"])]

@pytest.fixture
def app(data_dir):
    """A database created by a first start, as a user's is (not the suite's shared copy):
    growth is measured from the state the app itself leaves."""
    from tftsr.app import open_app
    from tftsr.commands import load_all

    load_all()
    application = open_app(data_dir)
    yield application
    application.close()
