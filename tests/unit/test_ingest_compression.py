"""The stored text's compression: a Zstandard frame (or, without the zstandard package, a
gzip stream) made on a thread of its own during the PII scan, and read back whichever of
the two a database holds."""

from __future__ import annotations

import gzip
import threading

import pytest
import zstandard
from tftsr.errors import TftsrError
from tftsr.evidence import compression
from tftsr.evidence.compression import (
    TextCompressor,
    compress_text,
    decompress_text,
    decompressed_pieces,
    stored_format,
)
from tftsr.evidence.ingest import BackgroundCompressor

PIECES = [f"line {i} of the log\n".encode() * 500 for i in range(200)]


def test_pieces_come_out_as_one_zstandard_frame_in_order():
    stored = BackgroundCompressor(depth=2)  # a short queue: the writer waits for the compressor
    for piece in PIECES:
        stored.write(piece)
    blob = stored.finish()
    assert blob.startswith(compression.ZSTD_MAGIC) and stored_format(blob) == "zstd"
    # a standard frame: the zstandard package's own reader gives the text back
    assert zstandard.ZstdDecompressor().decompressobj().decompress(blob) == b"".join(PIECES)
    assert decompress_text(blob) == b"".join(PIECES)


def test_without_zstandard_the_text_is_stored_as_gzip(monkeypatch):
    monkeypatch.setattr(compression, "_zstandard", lambda: None)
    stored = BackgroundCompressor()
    for piece in PIECES:
        stored.write(piece)
    blob = stored.finish()
    assert stored_format(blob) == "gzip"
    assert gzip.decompress(blob) == b"".join(PIECES)


def test_both_formats_read_back_in_bounded_pieces():
    text = "".join(f"{i} héllo wörld 😀\n" for i in range(200_000)).encode()
    for blob in (compress_text(text), gzip.compress(text, 6)):
        pieces = list(decompressed_pieces(blob, 64 * 1024))
        assert max(len(p) for p in pieces) <= 64 * 1024
        assert b"".join(pieces) == text


def test_zstandard_is_smaller_than_the_gzip_it_replaces():
    text = "".join(f"2026-03-01T12:00:{i % 60:02d}Z INFO [svc-{i % 7}] req={i * 7919:08x} GET "
                   f"/api/orders/{i * 31 % 99991} status=200 dur={i % 997}ms\n"
                   for i in range(50_000)).encode()
    assert len(compress_text(text)) < 0.95 * len(gzip.compress(text, compression.GZIP_LEVEL))


def test_a_zstandard_text_without_the_package_and_an_unknown_format_are_refused(monkeypatch):
    blob = compress_text(b"some log\n")
    with pytest.raises(TftsrError, match="neither Zstandard nor gzip"):
        decompress_text(b"plain text, not compressed")
    monkeypatch.setattr(compression, "_zstandard", lambda: None)
    with pytest.raises(TftsrError, match="zstandard package"):
        decompress_text(blob)
    assert TextCompressor().format == "gzip"


def test_an_error_in_the_compression_is_raised_by_finish_and_writes_never_block():
    stored = BackgroundCompressor(depth=1)
    stored.write("not bytes")  # the compressor refuses a str on the compression thread
    for _ in range(50):  # the thread keeps draining after the failure
        stored.write(b"more")
    with pytest.raises(TypeError):
        stored.finish()


def test_closing_without_finishing_stops_the_thread():
    before = {t.ident for t in threading.enumerate()}
    stored = BackgroundCompressor()
    stored.write(b"abandoned")
    stored.close()
    stored.close()  # twice is harmless
    assert {t.ident for t in threading.enumerate() if t.name == "ingest-compress"} <= before
