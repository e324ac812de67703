"""The stored text's gzip stream, compressed on a thread of its own during the PII scan."""

from __future__ import annotations

import gzip
import threading

import pytest
from tftsr.evidence.ingest import BackgroundGzip


def test_pieces_come_out_as_one_gzip_stream_in_order():
    pieces = [f"line {i} of the log\n".encode() * 500 for i in range(200)]
    stored = BackgroundGzip(depth=2)  # a short queue: the writer waits for the compressor
    for piece in pieces:
        stored.write(piece)
    assert gzip.decompress(stored.finish()) == b"".join(pieces)


def test_an_error_in_the_compression_is_raised_by_finish_and_writes_never_block():
    stored = BackgroundGzip(depth=1)
    stored.write("not bytes")  # zlib refuses a str on the compression thread
    for _ in range(50):  # the thread keeps draining after the failure
        stored.write(b"more")
    with pytest.raises(TypeError):
        stored.finish()


def test_closing_without_finishing_stops_the_thread():
    before = {t.ident for t in threading.enumerate()}
    stored = BackgroundGzip()
    stored.write(b"abandoned")
    stored.close()
    stored.close()  # twice is harmless
    assert {t.ident for t in threading.enumerate() if t.name == "ingest-gzip"} <= before
