"""The desktop-only dialog commands, and image checks that need no server.

The native dialog cannot be driven headless, so ``app.open_dialog`` is given a function
that answers like it (a list of chosen paths, or None for Cancel); everything behind it --
reading the files, checking, storing -- is the real code.
"""

from __future__ import annotations

import gzip
import io
import struct
import zlib

import pytest
from PIL import Image
from tftsr.errors import TftsrError
from tftsr.evidence.images import ingest_image, inspect


def test_dialog_commands_are_unavailable_in_browser_mode(app, call, make_issue):
    issue = make_issue()
    assert app.mode == "browser"
    for name in ("open_log_files_dialog", "open_image_files_dialog"):
        with pytest.raises(TftsrError) as err:
            call(name, issue_id=issue["id"])
        assert err.value.code == "unavailable" and "file picker" in err.value.message


def test_log_files_from_the_dialog_are_streamed_like_uploads(app, call, make_issue, tmp_path):
    issue = make_issue()
    good = tmp_path / "syslog.1"
    good.write_bytes(b"Mar  1 12:00:01 host sshd[1]: Accepted key for root from 10.9.8.7\n")
    rotated = tmp_path / "syslog.2.gz"
    rotated.write_bytes(gzip.compress(b"Mar  1 11:00:00 host cron[2]: job ok\n"))
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    missing = tmp_path / "gone.log"
    asked = []

    def dialog(file_types, multiple):
        asked.append((file_types, multiple))
        return [str(good), str(rotated), str(empty), str(missing)]

    app.mode, app.open_dialog = "desktop", dialog
    result = call("open_log_files_dialog", issue_id=issue["id"])
    assert asked and asked[0][1] is True and any("*.gz" in t for t in asked[0][0])
    assert [u["log_file"]["file_name"] for u in result["uploaded"]] == ["syslog.1", "syslog.2.gz"]
    assert result["uploaded"][0]["findings"]["by_type"] == {"Ipv4": 1}
    assert result["uploaded"][1]["log_file"]["compressed"] is True
    errors = {e["file_name"]: e["code"] for e in result["errors"]}
    assert errors == {"empty.log": "empty_file", "gone.log": "unreadable"}
    assert len(call("list_log_files", issue_id=issue["id"])) == 2


def test_cancelled_dialog_attaches_nothing(app, call, make_issue):
    issue = make_issue()
    app.mode, app.open_dialog = "desktop", lambda types, multiple: None
    result = call("open_log_files_dialog", issue_id=issue["id"])
    assert result == {"uploaded": [], "errors": [], "cancelled": True}


def test_image_dialog(app, call, make_issue, tmp_path):
    issue = make_issue()
    shot = tmp_path / "screen.png"
    Image.new("RGB", (40, 30), "blue").save(shot)
    fake = tmp_path / "fake.png"
    fake.write_text("not an image")
    app.mode, app.open_dialog = "desktop", lambda types, multiple: [str(shot), str(fake)]
    with pytest.raises(TftsrError) as err:
        call("open_image_files_dialog", issue_id=issue["id"], pii_warning_acknowledged=False)
    assert err.value.code == "not_acknowledged"
    result = call("open_image_files_dialog", issue_id=issue["id"])
    assert [u["image"]["file_name"] for u in result["uploaded"]] == ["screen.png"]
    assert result["errors"] == [{"file_name": "fake.png", "code": "unsupported_image",
                                 "message": result["errors"][0]["message"]}]


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge canvas (a decompression bomb's shape)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("width, height", [(20_000, 20_000), (8_000, 7_000)])
def test_decompression_bombs_are_refused_before_decoding(width, height):
    with pytest.raises(TftsrError) as err:
        inspect(_png_claiming(width, height))
    assert err.value.code == "too_large" and "megapixels" in err.value.message


def test_image_upload_writes_nothing_when_refused(app, make_issue):
    issue = make_issue()
    buf = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buf, "PNG")
    for data, ack, code in ((buf.getvalue(), False, "not_acknowledged"),
                            (b"", True, "empty_file"),
                            (b"GIF89a" + b"\x00" * 20, True, "corrupt_image")):
        with pytest.raises(TftsrError) as err:
            ingest_image(app, issue["id"], "x.png", iter([data]), is_paste=False,
                         acknowledged=ack)
        assert err.value.code == code
    with app.db.connection() as conn:
        assert conn.execute("SELECT count(*) AS n FROM image_attachments").fetchone()["n"] == 0
