"""Uploads, thumbnails and images over real HTTP against a real ``tftsr serve`` process.

Each refused upload must answer with its code and a clear message and leave nothing
behind: no rows (counted in the database file after the server stops), no new file in
the data folder, nothing in the server's temporary folder (TMPDIR points at an empty
folder of the test's own).
"""

from __future__ import annotations

import gzip
import io
import os

import httpx
import pytest
from PIL import Image

from tests.conftest import start_served_app, tftsr_env

LOG = b"2026-03-01 12:00:01 INFO login ok for alice@example.com from 10.1.2.3\n"
TABLES = ("log_files", "pii_spans", "image_attachments", "audit_log")


def files_under(folder) -> set[str]:
    return {os.path.relpath(os.path.join(d, f), folder)
            for d, _dirs, names in os.walk(folder) for f in names}


@pytest.fixture
def server(tmp_path):
    data_dir, tmp_dir = tmp_path / "data", tmp_path / "server-tmp"
    tmp_dir.mkdir()
    served = start_served_app(data_dir, env=tftsr_env(data_dir, TMPDIR=str(tmp_dir)))
    served.data_dir, served.tmp_dir = data_dir, tmp_dir
    yield served
    served.stop()


def row_counts(data_dir) -> dict:
    from tftsr.db.connection import Database

    from tests.conftest import TEST_KEY

    db = Database(data_dir / "tftsr.db", TEST_KEY)
    try:
        with db.connection() as conn:
            return {t: conn.execute(f"SELECT count(*) AS n FROM {t}").fetchone()["n"]
                    for t in TABLES}
    finally:
        db.close()


def new_issue(server, title="Gateway 502s") -> str:
    return server.call("create_issue", title=title, severity="high",
                       category="application")["issue"]["id"]


def upload_log(server, issue_id, data: bytes, filename="app.log", **extra):
    params = {"issue_id": issue_id, "filename": filename, **extra}
    return server.client.post("/upload/log", params=params, content=data,
                              headers={"Content-Type": "application/octet-stream"})


def upload_image(server, issue_id, data: bytes, filename="shot.png", ack="1", paste="0"):
    params = {"issue_id": issue_id, "filename": filename, "is_paste": paste,
              "pii_warning_acknowledged": ack}
    return server.client.post("/upload/image", params=params, content=data,
                              headers={"Content-Type": "application/octet-stream"})


def image_bytes(fmt: str, size=(64, 48), color=(200, 30, 30), **save) -> bytes:
    buf = io.BytesIO()
    mode = "RGBA" if fmt in ("PNG", "WEBP") else "RGB"
    Image.new(mode, size, color).save(buf, fmt, **save)
    return buf.getvalue()


def error_of(response) -> dict:
    return response.json()["error"]


# --- logs --------------------------------------------------------------------------------

def test_log_upload_over_http(server):
    issue_id = new_issue(server)
    r = upload_log(server, issue_id, LOG, filename="../../var/log/auth.log", upload_id="abc-1")
    assert r.status_code == 200, r.text
    body = r.json()
    lf = body["log_file"]
    assert lf["file_name"] == "auth.log" and lf["issue_id"] == issue_id
    assert body["findings"] == {"total": 2, "by_type": {"Email": 1, "Ipv4": 1}}
    assert body["notice"] is None
    page = server.call("get_log_file_content", log_file_id=lf["id"])
    assert page["text"] == LOG.decode() and page["reviewed"] is False
    detail = server.call("get_issue", issue_id=issue_id)
    assert [f["id"] for f in detail["log_files"]] == [lf["id"]]


def test_upload_larger_than_the_command_body_limit(server):
    # /api bodies are capped at 8 MB; uploads have their own limit (max_upload_mb).
    issue_id = new_issue(server)
    data = b"2026-03-01 12:00:00 INFO an ordinary line of an ordinary log file\n" * 160_000
    assert len(data) > 10 * 1024 * 1024
    r = upload_log(server, issue_id, data)
    assert r.status_code == 200, r.text
    assert r.json()["log_file"]["line_count"] == 160_000


def test_every_bad_log_upload_is_refused_cleanly(server):
    issue_id = new_issue(server)
    server.call("update_setting", key="max_upload_mb", value=1)
    assert upload_log(server, issue_id, LOG, filename="good.log").status_code == 200
    server.call("get_app_info")  # settle: everything before this point is committed
    server.stop()
    counts_before = row_counts(server.data_dir)
    files_before = files_under(server.data_dir)
    restarted = start_served_app(server.data_dir,
                                 env=tftsr_env(server.data_dir, TMPDIR=str(server.tmp_dir)))
    try:
        cases = [
            (b"", {}, 400, "empty_file"),
            (gzip.compress(b""), {}, 400, "empty_file"),
            (b"\x7fELF\x02\x01\x01" + bytes(4000), {}, 415, "binary_file"),
            (os.urandom(30_000), {}, 415, "binary_file"),
            (b"y" * (1024 * 1024 + 100), {}, 413, "too_large"),
            (gzip.compress(b"zz\n" * (8 * 1024 * 1024)), {}, 413, "too_large"),
            (gzip.compress(os.urandom(3000))[:1000], {}, 400, "corrupt_file"),
            (LOG, {"filename": "same-bytes-other-name.log"}, 409, "duplicate"),
            (LOG, {"issue_id": "01900000-0000-7000-8000-000000000000"}, 404, "not_found"),
            (LOG, {"issue_id": "../../etc/passwd"}, 400, "invalid_argument"),
            (LOG, {"upload_id": "<script>"}, 400, "invalid_argument"),
        ]
        for data, params, status, code in cases:
            r = restarted.client.post("/upload/log", content=data,
                                      params={"issue_id": issue_id, "filename": "x.log", **params})
            assert r.status_code == status, (code, r.text)
            assert r.headers["content-type"].startswith("application/json")
            err = error_of(r)
            assert err["code"] == code and len(err["message"]) > 20, err
        assert list(server.tmp_dir.iterdir()) == []
    finally:
        restarted.stop()
    assert row_counts(server.data_dir) == counts_before
    assert files_under(server.data_dir) == files_before
    assert list(server.tmp_dir.iterdir()) == []


def test_upload_needs_the_token_and_the_origin(server):
    issue_id = new_issue(server)
    params = {"issue_id": issue_id, "filename": "a.log"}
    bare = httpx.post(f"{server.base_url}/upload/log", params=params, content=LOG)
    assert bare.status_code == 401 and error_of(bare)["code"] == "unauthorized"
    cross = server.client.post("/upload/log", params=params, content=LOG,
                               headers={"Origin": "http://evil.example"})
    assert cross.status_code == 403
    site = server.client.post("/upload/log", params=params, content=LOG,
                              headers={"Sec-Fetch-Site": "cross-site"})
    assert site.status_code == 403
    rebound = server.client.post("/upload/log", params=params, content=LOG,
                                 headers={"Host": "attacker.example"})
    assert rebound.status_code == 421
    assert server.call("list_log_files", issue_id=issue_id) == []


def test_same_log_on_two_incidents_over_http(server):
    first, second = new_issue(server, "one"), new_issue(server, "two")
    assert upload_log(server, first, LOG).status_code == 200
    assert upload_log(server, first, LOG).status_code == 409
    assert upload_log(server, second, LOG).status_code == 200
    items = server.call("list_all_log_files")["items"]
    assert sorted(i["issue_title"] for i in items) == ["one", "two"]


# --- images ------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt, mime", [("PNG", "image/png"), ("JPEG", "image/jpeg"),
                                       ("GIF", "image/gif"), ("WEBP", "image/webp")])
def test_images_of_each_format_are_accepted_and_served(server, fmt, mime):
    issue_id = new_issue(server)
    data = image_bytes(fmt, size=(300, 120))
    r = upload_image(server, issue_id, data, filename=f"shot.{fmt.lower()}")
    assert r.status_code == 200, r.text
    image = r.json()["image"]
    assert image["mime_type"] == mime and (image["width"], image["height"]) == (300, 120)
    assert image["file_size"] == len(data) and image["pii_warning_acknowledged"] is True
    assert image["thumbnail_url"] == f"/thumbnails/{image['id']}?s=256"

    full = server.client.get(image["full_url"])
    assert full.status_code == 200 and full.content == data
    assert full.headers["content-type"] == mime
    assert full.headers["x-content-type-options"] == "nosniff"
    assert full.headers["content-disposition"].startswith("inline")

    thumb = server.client.get(image["thumbnail_url"])
    assert thumb.status_code == 200
    assert thumb.headers["content-type"] in ("image/png", "image/jpeg")
    with Image.open(io.BytesIO(thumb.content)) as t:
        assert t.size == (256, 102)

    detail = server.call("get_issue", issue_id=issue_id)
    assert [i["id"] for i in detail["image_attachments"]] == [image["id"]]
    assert server.call("get_image_attachment", image_id=image["id"]) == image


def test_exif_rotated_jpeg_thumbnail_is_upright(server):
    issue_id = new_issue(server)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown rotated a quarter turn: portrait
    data = image_bytes("JPEG", size=(400, 200), exif=exif.tobytes())
    image = upload_image(server, issue_id, data, filename="phone.jpg").json()["image"]
    assert (image["width"], image["height"]) == (200, 400)
    for size in (128, 256, 512):
        thumb = server.client.get(f"/thumbnails/{image['id']}?s={size}")
        with Image.open(io.BytesIO(thumb.content)) as t:
            width, height = t.size
        assert height == min(size, 400) and width == height // 2


def test_bad_images_are_refused_with_nothing_stored(server):
    issue_id = new_issue(server)
    png = image_bytes("PNG")
    svg = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg">'
           b"<script>alert(1)</script></svg>")
    cases = [
        (svg, {"filename": "chart.svg"}, 415, "unsupported_image"),
        (b"<svg onload='alert(1)'></svg>", {"filename": "x.png"}, 415, "unsupported_image"),
        (b"just some text, named like a picture\n" * 10, {"filename": "shot.png"}, 415,
         "unsupported_image"),
        (b"BM" + bytes(100), {"filename": "x.bmp"}, 415, "unsupported_image"),
        (png[:40] + b"\x00" * 60, {}, 400, "corrupt_image"),
        (png, {"ack": "0"}, 400, "not_acknowledged"),
        (b"\x89PNG\r\n\x1a\n" + b"x" * (26 * 1024 * 1024), {}, 413, "too_large"),
    ]
    for data, kw, status, code in cases:
        r = upload_image(server, issue_id, data, **kw)
        assert r.status_code == status, (code, r.text)
        err = error_of(r)
        assert err["code"] == code and len(err["message"]) > 20
    assert server.call("list_image_attachments", issue_id=issue_id) == []
    assert server.call("list_all_image_attachments")["total"] == 0
    assert list(server.tmp_dir.iterdir()) == []


def test_image_dedupe_paste_and_delete(server):
    first, second = new_issue(server, "one"), new_issue(server, "two")
    data = image_bytes("PNG", color=(1, 2, 3, 255))
    pasted = upload_image(server, first, data, filename="", paste="1").json()["image"]
    assert pasted["is_paste"] is True and pasted["file_name"].startswith("pasted-image-")
    again = upload_image(server, first, data, filename="copy.png")
    assert again.status_code == 409 and error_of(again)["code"] == "duplicate"
    assert upload_image(server, second, data).status_code == 200
    listed = server.call("list_all_image_attachments")
    assert listed["total"] == 2
    assert sorted(i["issue_title"] for i in listed["items"]) == ["one", "two"]

    assert server.client.get(pasted["thumbnail_url"]).status_code == 200
    assert server.call("delete_image_attachment", image_id=pasted["id"]) == {"deleted": True}
    assert server.client.get(pasted["thumbnail_url"]).status_code == 404
    assert server.client.get(pasted["full_url"]).status_code == 404


def test_image_routes_need_the_token_and_a_known_id(server):
    issue_id = new_issue(server)
    image = upload_image(server, issue_id, image_bytes("PNG")).json()["image"]
    for path in (image["thumbnail_url"], image["full_url"]):
        bare = httpx.get(server.base_url + path)
        assert bare.status_code == 401
        wrong = httpx.get(server.base_url + path, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
    unknown = "01900000-0000-7000-8000-000000000000"
    for path in (f"/thumbnails/{unknown}?s=256", f"/images/{unknown}", "/images/..%2f..%2fetc",
                 "/thumbnails/not-an-id", "/images/" + image["id"] + "x"):
        assert server.client.get(path).status_code == 404, path
    assert server.client.get(f"/thumbnails/{image['id']}?s=4096").status_code == 400
