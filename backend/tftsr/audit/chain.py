"""The hash-chained audit log.

Each entry stores ``prev_hash`` (the previous entry's ``entry_hash``, or 64 zeros for
the first) and ``entry_hash = SHA-256(canonical JSON of the entry incl. prev_hash)``.
``audit_chain_head`` pins the entry count and newest hash, so altering, inserting,
reordering or deleting any row -- the last one included -- breaks verification.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from tftsr.db.ids import now_text, uuid7

GENESIS_HASH = "0" * 64
HASHED_FIELDS = (
    "id", "seq", "timestamp", "action", "entity_type", "entity_id", "user_id", "details",
    "prev_hash",
)


def canonical_payload(entry: dict[str, Any]) -> bytes:
    payload = {name: entry.get(name) for name in HASHED_FIELDS}
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def entry_hash(entry: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_payload(entry)).hexdigest()


def record(conn, action: str, entity_type: str, entity_id: str,
           details: dict | None = None, *, user_id: str = "local") -> dict:
    """Append one entry. Must run inside the caller's write transaction."""
    if not conn.in_transaction:
        raise RuntimeError("audit.record must be called inside a write transaction")
    head = conn.execute("SELECT entry_count, last_hash FROM audit_chain_head WHERE id = 1").fetchone()
    count = head["entry_count"] if head else 0
    prev = head["last_hash"] if head else GENESIS_HASH
    entry = {
        "id": uuid7(),
        "seq": count + 1,
        "timestamp": now_text(),
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "user_id": user_id,
        "details": json.dumps(details, sort_keys=True, ensure_ascii=False) if details is not None else None,
        "prev_hash": prev,
    }
    entry["entry_hash"] = entry_hash(entry)
    conn.execute(
        "INSERT INTO audit_log (id, seq, timestamp, action, entity_type, entity_id, user_id,"
        " details, prev_hash, entry_hash) VALUES (:id, :seq, :timestamp, :action, :entity_type,"
        " :entity_id, :user_id, :details, :prev_hash, :entry_hash)",
        entry,
    )
    conn.execute(
        "INSERT INTO audit_chain_head (id, entry_count, last_hash, updated_at)"
        " VALUES (1, :n, :h, :t) ON CONFLICT(id) DO UPDATE SET entry_count = :n,"
        " last_hash = :h, updated_at = :t",
        {"n": entry["seq"], "h": entry["entry_hash"], "t": entry["timestamp"]},
    )
    return entry


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    first_bad_id: str | None = None
    first_bad_seq: int | None = None
    reason: str | None = None

    def to_dict(self) -> dict:
        return {
            "ok": self.ok, "entries": self.entries, "first_bad_id": self.first_bad_id,
            "first_bad_seq": self.first_bad_seq, "reason": self.reason,
        }


def verify(conn) -> Verification:
    """Walk the whole chain; report the first entry that does not hold.

    Runs in one read transaction, so a write committed meanwhile cannot be mistaken
    for tampering.
    """
    own_transaction = not conn.in_transaction
    if own_transaction:
        conn.execute("BEGIN")
    try:
        return _walk(conn)
    finally:
        if own_transaction:
            conn.execute("COMMIT")


def _walk(conn) -> Verification:
    head = conn.execute("SELECT entry_count, last_hash FROM audit_chain_head WHERE id = 1").fetchone()
    head_count = head["entry_count"] if head else 0
    head_hash = head["last_hash"] if head else GENESIS_HASH
    rows = conn.execute(
        "SELECT id, seq, timestamp, action, entity_type, entity_id, user_id, details,"
        " prev_hash, entry_hash FROM audit_log ORDER BY seq IS NULL, seq, rowid"
    )
    expected_prev = GENESIS_HASH
    n = 0
    beyond_head = None  # the first entry past the count the head records
    last = None
    for row in rows:
        n += 1
        bad = None
        if row["seq"] != n:
            bad = (f"entry is out of sequence (expected number {n}, found {row['seq']}): "
                   "an entry was inserted, deleted or renumbered")
        elif row["prev_hash"] != expected_prev:
            bad = "its link to the previous entry is broken: an entry before it was removed or altered"
        elif entry_hash(row) != row["entry_hash"]:
            bad = "its contents do not match its hash: the entry was altered"
        if bad:
            return Verification(False, n - 1, row["id"], row["seq"], bad)
        if n == head_count + 1:
            beyond_head = row
        expected_prev = row["entry_hash"]
        last = row
    if head_count > n:
        return Verification(
            False, n, None, n + 1,
            f"the log ends after entry {n} but its recorded head says {head_count} entries: "
            "entries were removed from the end",
        )
    if beyond_head is not None:
        return Verification(
            False, head_count, beyond_head["id"], beyond_head["seq"],
            f"the recorded head ends at entry {head_count}, so this entry and any after it "
            "were added outside TFTSR",
        )
    if head_hash != expected_prev:
        return Verification(
            False, max(n - 1, 0), last["id"] if last else None, n or None,
            "the newest entry does not match the recorded head: it was replaced or the "
            "head was altered",
        )
    return Verification(True, n)
