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
    return str(uuid.UUID(int=_next_values(1)[0]))


def uuid7_many(count: int) -> list[str]:
    """``count`` UUIDv7s in increasing order, as :func:`uuid7` would return them one by one
    (for bulk inserts: formatting them without ``uuid.UUID`` is several times faster)."""
    out = []
    for value in _next_values(count):
        h = f"{value:032x}"
        out.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
    return out


def _next_values(count: int) -> list[int]:
    """The integer values of the next ``count`` UUIDv7s: the millisecond timestamp, a
    12-bit counter that orders ids made within one millisecond (starting at a random value
    below 1024, moving to the next millisecond when it overflows) and 62 random bits."""
    global _last_ms, _counter
    randoms = os.urandom(8 * count)
    values = []
    with _lock:
        ms = time.time_ns() // 1_000_000
        for i in range(count):
            if ms <= _last_ms:
                ms = _last_ms
                _counter += 1
                if _counter > 0xFFF:
                    ms += 1
                    _counter = 0
            else:
                _counter = int.from_bytes(os.urandom(2), "big") & 0x3FF
            _last_ms = ms
            rand_b = int.from_bytes(randoms[8 * i:8 * i + 8], "big") & ((1 << 62) - 1)
            values.append((ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | (_counter & 0xFFF) << 64
                          | 0b10 << 62 | rand_b)
    return values


def now_text() -> str:
    """Current UTC time as 'YYYY-MM-DD HH:MM:SS' (the seed's TEXT timestamps)."""
    return datetime.now(UTC).strftime(TIMESTAMP_FORMAT)


def now_ms() -> int:
    """Current time in milliseconds since the epoch (the seed's `documents` timestamps)."""
    return time.time_ns() // 1_000_000


def parse_text(value: str) -> datetime:
    return datetime.strptime(value, TIMESTAMP_FORMAT).replace(tzinfo=UTC)
