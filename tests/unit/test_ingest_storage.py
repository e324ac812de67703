"""What a log costs on disk, and how it is scanned: a log scanned window by window is
stored and reviewed exactly as the detector sees the whole text; the stored text is one
gzip stream of the log; the database grows by well under the log's size and the
write-ahead log does not keep a second copy."""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import pytest
from tftsr.evidence import ingest
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
    return gzip.decompress(row["content_compressed"])


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
    assert row["n"] < 0.3 * len(raw) and row["redacted_compressed"] is None
    wal = data_dir / "tftsr.db-wal"
    assert not wal.exists() or wal.stat().st_size < 1 * MB
    # text plus findings: well under the log's own size
    assert grown < 0.75 * len(raw), f"{grown / len(raw):.2f}x for {findings} findings"


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
