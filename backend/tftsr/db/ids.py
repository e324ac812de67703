"""UUIDv7 identifiers and the seed's timestamp formats."""

from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import UTC, datetime

_lock = threading.Lock()
_last_ms = 0
_counter = 0

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


def uuid7() -> str:
    """A time-ordered UUID (RFC 9562 version 7), monotonic within this process."""
    global _last_ms, _counter
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            ms = _last_ms
            _counter += 1
            if _counter > 0xFFF:
                ms += 1
                _counter = 0
        else:
            _counter = int.from_bytes(os.urandom(2), "big") & 0x3FF
        _last_ms = ms
        rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
        value = (ms & ((1 << 48) - 1)) << 80
        value |= 0x7 << 76
        value |= (_counter & 0xFFF) << 64
        value |= 0b10 << 62
        value |= rand_b
    return str(uuid.UUID(int=value))


def now_text() -> str:
    """Current UTC time as 'YYYY-MM-DD HH:MM:SS' (the seed's TEXT timestamps)."""
    return datetime.now(UTC).strftime(TIMESTAMP_FORMAT)


def now_ms() -> int:
    """Current time in milliseconds since the epoch (the seed's `documents` timestamps)."""
    return time.time_ns() // 1_000_000


def parse_text(value: str) -> datetime:
    return datetime.strptime(value, TIMESTAMP_FORMAT).replace(tzinfo=UTC)
