"""UUIDv7 identifiers: one at a time and in bulk, always increasing."""

from __future__ import annotations

import uuid

from tftsr.db.ids import uuid7, uuid7_many


def test_bulk_ids_are_version_7_and_continue_the_order_of_single_ids():
    before = uuid7()
    bulk = uuid7_many(10_000)  # more than one millisecond's 4,096 counter values
    after = uuid7()
    ids = [before, *bulk, after]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    for value in ids:
        parsed = uuid.UUID(value)
        assert str(parsed) == value
        assert parsed.version == 7
        assert parsed.variant == uuid.RFC_4122


def test_bulk_ids_carry_the_current_time():
    import time

    now_ms = time.time_ns() // 1_000_000
    first = uuid.UUID(uuid7_many(3)[0])
    assert abs((first.int >> 80) - now_ms) < 60_000


def test_zero_ids_is_an_empty_list():
    assert uuid7_many(0) == []
