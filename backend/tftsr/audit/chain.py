"""The hash-chained audit log.

Each entry stores ``prev_hash`` (the previous entry's ``entry_hash``, or 64 zeros for
the first) and ``entry_hash = SHA-256(canonical JSON of the entry incl. prev_hash)``.
``audit_chain_head`` pins the entry count and newest hash, so altering, inserting,
reordering or deleting any row -- the last one included -- breaks verification.

What that proves depends on who changed the file. The hashes use no secret, so someone
holding the database key can rewrite entries and recompute every hash and the head; the
chain alone then verifies. Two things still catch such a rewrite:

* an anchor: a head (``SEQ:HASH``, see :func:`head`) recorded outside the database before
  the rewrite -- ``verify(conn, expect_head=...)`` proves that the log up to it is unchanged;
* the cross-checks of :mod:`tftsr.audit.crosscheck`: every audited row must still have its
  creation entry, so a log that was emptied or cut short does not verify.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any

from tftsr.audit.crosscheck import missing_creation_entries, summary
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


class BadHead(ValueError):
    """A recorded head that is not ``SEQ:HASH``."""


HEAD_FORMAT = "SEQ:HASH (an entry number, a colon and 64 hexadecimal digits)"


def format_head(seq: int, hash_: str) -> str:
    return f"{seq}:{hash_}"


def parse_head(text: str) -> tuple[int, str]:
    """``"12:ab…"`` → ``(12, "ab…")``; raises :class:`BadHead` with a readable message."""
    seq_text, sep, hash_ = (text or "").strip().partition(":")
    hash_ = hash_.strip().lower()
    if not sep or not seq_text.strip().isdigit() or len(hash_) != 64 \
            or any(c not in "0123456789abcdef" for c in hash_):
        raise BadHead(f"a recorded audit head looks like {HEAD_FORMAT}, not {text[:100]!r}")
    return int(seq_text), hash_


def head(conn) -> tuple[int, str]:
    """The chain head: the newest entry's number and hash (0 and 64 zeros when empty).

    Recorded somewhere the database key does not reach (a note, a ticket, an exported
    document), it lets :func:`verify` prove later that the log up to it is unchanged.
    """
    row = conn.execute("SELECT seq, entry_hash FROM audit_log WHERE seq IS NOT NULL"
                       " ORDER BY seq DESC LIMIT 1").fetchone()
    return (row["seq"], row["entry_hash"]) if row else (0, GENESIS_HASH)


def head_text(conn) -> str:
    return format_head(*head(conn))


def _no_missing() -> dict:
    return {"total": 0, "by_kind": {}, "items": []}


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    first_bad_id: str | None = None
    first_bad_seq: int | None = None
    reason: str | None = None
    chain_ok: bool = True
    head: str = format_head(0, GENESIS_HASH)
    anchor: dict | None = None  # with expect_head: {"expected", "ok", "reason"}
    missing: dict = field(default_factory=_no_missing)

    def to_dict(self) -> dict:
        return {
            "ok": self.ok, "entries": self.entries, "first_bad_id": self.first_bad_id,
            "first_bad_seq": self.first_bad_seq, "reason": self.reason,
            "chain_ok": self.chain_ok, "head": self.head, "anchor": self.anchor,
            "missing": self.missing,
        }


def verify(conn, expect_head: str | tuple[int, str] | None = None) -> Verification:
    """Walk the whole chain, cross-check it against the rows it describes and, with
    ``expect_head`` (a head recorded earlier, ``"SEQ:HASH"``), check that the log up to
    that head is unchanged.

    ``ok`` only when all of these hold; ``reason`` names the first that does not (the
    chain first). Runs in one read transaction, so a write committed meanwhile cannot be
    mistaken for tampering.
    """
    expected = parse_head(expect_head) if isinstance(expect_head, str) else expect_head
    own_transaction = not conn.in_transaction
    if own_transaction:
        conn.execute("BEGIN")
    try:
        chain, hash_at = _walk(conn, expected[0] if expected else None)
        missing = missing_creation_entries(conn)
        current = head_text(conn)
    finally:
        if own_transaction:
            conn.execute("COMMIT")
    anchor = _check_anchor(expected, chain, hash_at) if expected else None
    reasons = [] if chain.ok else [chain.reason]
    if anchor and not anchor["ok"]:
        reasons.append(anchor["reason"])
    if missing["total"]:
        reasons.append(f"{summary(missing)} {'has' if missing['total'] == 1 else 'have'} no "
                       "creation entry in the log: entries were removed (the log was emptied "
                       "or cut short) or rows were added outside TFTSR")
    return replace(chain, ok=not reasons, reason=reasons[0] if reasons else None,
                   chain_ok=chain.ok, head=current, anchor=anchor, missing=missing)


def _check_anchor(expected: tuple[int, str], chain: Verification, hash_at: str | None) -> dict:
    seq, want = expected
    out = {"expected": format_head(seq, want), "ok": False, "reason": None}
    if seq == 0:
        out["ok"] = want == GENESIS_HASH
        if not out["ok"]:
            out["reason"] = "a recorded head numbered 0 is 64 zeros (the empty log)"
    elif hash_at is None and not chain.ok and (chain.first_bad_seq or 0) <= seq:
        out["reason"] = (f"the chain breaks at entry {chain.first_bad_seq}, at or before the "
                         f"recorded head {seq}: the log up to that head was changed")
    elif hash_at is None:
        out["reason"] = (f"the log has {chain.entries} entries but the recorded head is entry "
                         f"{seq}: entries up to that head were removed")
    elif hash_at != want:
        out["reason"] = (f"entry {seq} no longer has the hash recorded for it: the log up to "
                         "that head was rewritten (its hashes recomputed) after it was recorded")
    else:
        out["ok"] = True
    return out


def _walk(conn, anchor_seq: int | None = None) -> tuple[Verification, str | None]:
    """The chain alone, and the hash of entry ``anchor_seq`` when the chain holds up to it."""
    hash_at = None
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
            return Verification(False, n - 1, row["id"], row["seq"], bad), hash_at
        if n == anchor_seq:
            hash_at = row["entry_hash"]
        if n == head_count + 1:
            beyond_head = row
        expected_prev = row["entry_hash"]
        last = row
    if head_count > n:
        return Verification(
            False, n, None, n + 1,
            f"the log ends after entry {n} but its recorded head says {head_count} entries: "
            "entries were removed from the end",
        ), hash_at
    if beyond_head is not None:
        return Verification(
            False, head_count, beyond_head["id"], beyond_head["seq"],
            f"the recorded head ends at entry {head_count}, so this entry and any after it "
            "were added outside TFTSR",
        ), hash_at
    if head_hash != expected_prev:
        return Verification(
            False, max(n - 1, 0), last["id"] if last else None, n or None,
            "the newest entry does not match the recorded head: it was replaced or the "
            "head was altered",
        ), hash_at
    return Verification(True, n), hash_at
