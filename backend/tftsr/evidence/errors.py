"""Errors an upload can end with. Each leaves nothing behind: no row, no file."""

from __future__ import annotations

from tftsr.errors import TftsrError


class TooLarge(TftsrError):
    code = "too_large"
    http_status = 413


class EmptyFile(TftsrError):
    code = "empty_file"
    http_status = 400


class BinaryFile(TftsrError):
    code = "binary_file"
    http_status = 415


class CorruptFile(TftsrError):
    """A .gz file that cannot be decompressed (truncated or damaged)."""

    code = "corrupt_file"
    http_status = 400


class Duplicate(TftsrError):
    code = "duplicate"
    http_status = 409


class NotAcknowledged(TftsrError):
    code = "not_acknowledged"
    http_status = 400


class UnsupportedImage(TftsrError):
    code = "unsupported_image"
    http_status = 415


class CorruptImage(TftsrError):
    code = "corrupt_image"
    http_status = 400
