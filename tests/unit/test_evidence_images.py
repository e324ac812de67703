"""Thumbnails are made once, stored in the database and served from there; full decodes
share a memory budget."""

from __future__ import annotations

import io
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image
from tftsr.errors import TftsrError
from tftsr.evidence import images


def png(size=(900, 300), mode="RGB", color=(10, 120, 200)) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, color).save(buf, "PNG")
    return buf.getvalue()


def attach(app, issue_id: str, data: bytes, name="shot.png") -> dict:
    return images.ingest_image(app, issue_id, name, iter([data]), is_paste=False,
                               acknowledged=True)["image"]


def stored_sizes(app, image_id: str) -> list[int]:
    with app.db.connection() as conn:
        rows = conn.execute("SELECT size FROM image_thumbnails WHERE image_id = ?"
                            " ORDER BY size", (image_id,)).fetchall()
    return [r["size"] for r in rows]


def test_thumbnails_are_stored_at_upload_and_served_without_decoding(app, make_issue):
    issue = make_issue()
    image = attach(app, issue["id"], png())
    assert stored_sizes(app, image["id"]) == [128, 256, 512]
    with app.db.transaction() as conn:  # the original can no longer be decoded at all
        conn.execute("UPDATE image_attachments SET image_data = ? WHERE id = ?",
                     (b"\x89PNG\r\n\x1a\nbroken", image["id"]))
    for size in images.THUMBNAIL_SIZES:
        data, mime = images.thumbnail(app, image["id"], size)
        assert mime == "image/png"
        with Image.open(io.BytesIO(data)) as t:
            assert t.size[0] == size and abs(t.size[1] - size / 3) < 1


def test_deleting_an_image_deletes_its_thumbnails(app, make_issue):
    issue = make_issue()
    image = attach(app, issue["id"], png())
    images.delete_image(app, image["id"])
    assert stored_sizes(app, image["id"]) == []
    assert images.thumbnail(app, image["id"], 256) is None


def test_an_older_image_gets_its_thumbnails_once(app, make_issue, monkeypatch):
    issue = make_issue()
    image = attach(app, issue["id"], png())
    with app.db.transaction() as conn:
        conn.execute("DELETE FROM image_thumbnails")
    renders = []
    real_render = images.render_thumbnails

    def counting_render(app_, data):
        renders.append(1)
        return real_render(app_, data)

    monkeypatch.setattr(images, "render_thumbnails", counting_render)
    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(lambda s: images.thumbnail(app, image["id"], s),
                                list(images.THUMBNAIL_SIZES) * 4))
    assert len(renders) == 1
    assert all(r is not None and r[1] == "image/png" for r in results)
    assert stored_sizes(app, image["id"]) == [128, 256, 512]


def test_palette_images_keep_their_colours_and_transparency(app, make_issue):
    issue = make_issue()
    gif = io.BytesIO()
    source = Image.new("P", (600, 600), 1)
    source.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    source.save(gif, "GIF", transparency=0)
    image = attach(app, issue["id"], gif.getvalue(), "anim.gif")
    data, mime = images.thumbnail(app, image["id"], 128)
    with Image.open(io.BytesIO(data)) as t:
        assert mime == "image/png" and t.size == (128, 128)
        assert t.convert("RGBA").getpixel((64, 64)) == (255, 0, 0, 255)


def test_jpeg_is_decoded_at_reduced_size(app, make_issue):
    buf = io.BytesIO()
    Image.new("RGB", (4000, 3000), (90, 90, 90)).save(buf, "JPEG", quality=80)
    with Image.open(io.BytesIO(buf.getvalue())) as im:
        full = images._decode_cost(im)
        im.draft("RGB", (1024, 1024))
        assert images._decode_cost(im) <= full // 4
    image = attach(app, make_issue()["id"], buf.getvalue(), "photo.jpg")
    data, mime = images.thumbnail(app, image["id"], 512)
    with Image.open(io.BytesIO(data)) as t:
        assert mime == "image/jpeg" and t.size == (512, 384)


def test_a_canvas_over_the_pixel_limit_is_refused_before_decoding(app):
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    bomb = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 30_000, 30_000,
                                                             8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + chunk(b"IEND", b""))
    with pytest.raises(TftsrError) as err:
        images.render_thumbnails(app, bomb)
    assert err.value.code == "too_large" and "megapixels" in err.value.message


def test_decode_budget_bounds_what_is_held_at_once():
    budget = images.DecodeBudget(100)
    held, peak, lock = [0], [0], threading.Lock()

    def decode(cost: int) -> None:
        with budget.reserve(cost):
            with lock:
                held[0] += min(cost, 100)
                peak[0] = max(peak[0], held[0])
            for _ in range(2000):  # give other threads the chance to enter
                pass
            with lock:
                held[0] -= min(cost, 100)

    costs = [60, 30, 250, 45, 10, 60, 100, 5] * 6
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(decode, costs))
    assert peak[0] <= 100
    assert held[0] == 0 and budget._used == 0
