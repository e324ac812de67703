"""Thumbnails cannot exhaust memory: the "thumbnail storm" against a real ``tftsr serve``.

Six 7000 x 7000 PNGs (about 190 KB each: one solid colour compresses well, but each one
decodes to about 200 MB of pixels) are uploaded, then 18 thumbnails are asked for at once.
The server's peak resident memory is read from outside, from ``/proc/PID/status``
(``VmHWM``), and must stay under 1 GB. This is a memory bound, not a timing: a server that
decoded every requested image at full size at once would need several gigabytes.

The second test covers images stored before thumbnails were kept in the database: their
thumbnails are made on first request, once, under the same memory budget.
"""

from __future__ import annotations

import io
import sys
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.conftest import TEST_KEY, start_served_app

SIDE = 7000
IMAGES = 6
PARALLEL_REQUESTS = 18
PEAK_BOUND_KB = 1024 * 1024  # 1 GB

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="reads the server's peak memory from /proc")


def huge_png(shade: int) -> bytes:
    """A SIDE x SIDE RGBA PNG of one colour, written without holding its pixels."""
    row = b"\x00" + bytes((shade, 40, 200 - shade, 255)) * SIDE
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(SIDE)) + compressor.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (len(data).to_bytes(4, "big") + kind + data
                + zlib.crc32(kind + data).to_bytes(4, "big"))

    header = SIDE.to_bytes(4, "big") * 2 + bytes((8, 6, 0, 0, 0))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body)
            + chunk(b"IEND", b""))


def peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc status")


def upload(served, issue_id: str, data: bytes, name: str) -> dict:
    r = served.client.post("/upload/image", content=data, params={
        "issue_id": issue_id, "filename": name, "is_paste": "0",
        "pii_warning_acknowledged": "1"}, timeout=300)
    assert r.status_code == 200, r.text
    return r.json()["image"]


def storm(served, images: list[dict]) -> list[httpx.Response]:
    paths = [f"/thumbnails/{images[i % len(images)]['id']}?s={(128, 256, 512)[i % 3]}"
             for i in range(PARALLEL_REQUESTS)]
    with ThreadPoolExecutor(PARALLEL_REQUESTS) as pool:
        return list(pool.map(lambda p: served.client.get(p, timeout=600), paths))


def storm_within_bound(served, images: list[dict], what: str) -> None:
    """Ask for the thumbnails all at once; check them and the server's peak memory."""
    for r in storm(served, images):
        assert r.status_code == 200, r.text
        with Image.open(io.BytesIO(r.content)) as t:
            assert max(t.size) in (128, 256, 512) and t.size[0] == t.size[1]
    peak = peak_rss_kb(served.proc.pid)
    print(f"\npeak RSS of the server {what}: {peak / 1024:.0f} MB")
    assert peak < PEAK_BOUND_KB, f"server peaked at {peak / 1024:.0f} MB"


def test_thumbnail_storm_stays_under_one_gigabyte(tmp_path):
    served = start_served_app(tmp_path / "data")
    try:
        issue_id = served.call("create_issue", title="Huge screenshots", severity="low",
                               category="application")["issue"]["id"]
        images = []
        for n in range(IMAGES):
            data = huge_png(20 * n)
            assert len(data) < 300_000
            images.append(upload(served, issue_id, data, f"huge-{n}.png"))
        assert all((i["width"], i["height"]) == (SIDE, SIDE) for i in images)
        storm_within_bound(served, images, "in the thumbnail storm")
    finally:
        served.stop()


def test_images_stored_without_thumbnails_get_them_once_within_the_budget(tmp_path):
    """Images attached before thumbnails were stored: made lazily, once, within budget."""
    data_dir = tmp_path / "data"
    served = start_served_app(data_dir)
    try:
        issue_id = served.call("create_issue", title="Old screenshots", severity="low",
                               category="application")["issue"]["id"]
        images = [upload(served, issue_id, huge_png(30 * n + 5), f"old-{n}.png")
                  for n in range(3)]
    finally:
        served.stop()
    drop_stored_thumbnails(data_dir)

    served = start_served_app(data_dir)
    try:
        storm_within_bound(served, images, "making thumbnails lazily")
    finally:
        served.stop()
    assert stored_thumbnail_count(data_dir) == 3 * len(images)


def _db(data_dir: Path):
    from tftsr.db.connection import Database

    return Database(data_dir / "tftsr.db", TEST_KEY)


def drop_stored_thumbnails(data_dir: Path) -> None:
    db = _db(data_dir)
    try:
        with db.transaction() as conn:
            conn.execute("DELETE FROM image_thumbnails")
    finally:
        db.close()


def stored_thumbnail_count(data_dir: Path) -> int:
    db = _db(data_dir)
    try:
        with db.connection() as conn:
            return conn.execute("SELECT count(*) AS n FROM image_thumbnails").fetchone()["n"]
    finally:
        db.close()
