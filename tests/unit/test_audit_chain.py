"""The hash-chained audit log: it verifies after real work, and every kind of tampering
done directly on the encrypted file is caught, both by ``verify`` and by
``tftsr db verify-audit``, which names the first entry that does not hold."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest
import sqlcipher3
from tftsr.audit.chain import GENESIS_HASH, entry_hash, verify

from tests.conftest import TEST_KEY, tftsr_env


def verify_cli(data_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tftsr", "db", "verify-audit", "--data-dir", str(data_dir)],
        env=tftsr_env(data_dir), capture_output=True, text=True, timeout=120, check=False,
    )


def verify_file(data_dir: Path):
    """Verify with the app's own connection, reopened from disk."""
    from tftsr.app import open_app

    app = open_app(data_dir)
    try:
        with app.db.connection() as conn:
            return verify(conn)
    finally:
        app.close()


class Tamper:
    """Direct access to the real file, as someone holding the key would have."""

    def __init__(self, path: Path):
        self.conn = sqlcipher3.connect(str(path), isolation_level=None)
        self.conn.execute(f"PRAGMA key = '{TEST_KEY}'")
        self.conn.row_factory = sqlcipher3.Row

    def entries(self) -> list[dict]:
        return [dict(r) for r in self.conn.execute("SELECT * FROM audit_log ORDER BY seq")]

    def execute(self, sql: str, params=()) -> None:
        self.conn.execute(sql, params)

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def worked(data_dir, call, make_issue, app):
    """A data folder with a real audit trail from real commands, closed afterwards."""
    first = make_issue(title="Payment webhook retries storm")
    call("add_five_why", issue_id=first["id"], why_question="Why did retries pile up?",
         answer="Backoff was disabled")
    call("add_five_why", issue_id=first["id"], why_question="Why was backoff disabled?")
    call("set_issue_status", issue_id=first["id"], status="investigating")
    second = make_issue(title="DNS resolution flaps", severity="medium", category="network")
    call("update_issue", issue_id=second["id"], description="resolv.conf rewritten")
    call("add_timeline_event", issue_id=second["id"], event_type="note",
         description="Checked the resolvers")
    call("set_issue_status", issue_id=first["id"], status="resolved", note="fixed")
    with app.db.connection() as conn:
        result = verify(conn)
        count = conn.execute("SELECT count(*) AS n FROM audit_log").fetchone()["n"]
    assert result.ok, result
    assert result.entries == count >= 8
    app.close()
    return data_dir


def test_empty_chain_verifies(app):
    with app.db.connection() as conn:
        result = verify(conn)
    assert result.ok and result.entries == 0 and result.first_bad_id is None


def test_chain_after_real_commands_verifies(worked):
    result = verify_file(worked)
    assert result.ok
    cli = verify_cli(worked)
    assert cli.returncode == 0, cli.stderr
    assert f"{result.entries} entries" in cli.stdout


def test_entries_are_linked_in_order(worked):
    t = Tamper(worked / "tftsr.db")
    try:
        rows = t.entries()
    finally:
        t.close()
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
    assert rows[0]["prev_hash"] == GENESIS_HASH
    for before, after in itertools.pairwise(rows):
        assert after["prev_hash"] == before["entry_hash"]
    assert all(entry_hash(r) == r["entry_hash"] for r in rows)
    actions = {r["action"] for r in rows}
    assert {"issue_created", "status_changed"} & actions or len(actions) >= 3


# Each tampering returns what the report must name: a list of strings, any of which must
# appear in stderr (an id or an entry number), and the expected first bad id if any.
def alter_details(t: Tamper):
    rows = t.entries()
    victim = rows[len(rows) // 2]
    t.execute("UPDATE audit_log SET details = ? WHERE id = ?",
              (json.dumps({"note": "nothing to see"}), victim["id"]))
    return victim["id"], victim["seq"]


def alter_action(t: Tamper):
    rows = t.entries()
    victim = rows[len(rows) // 2]
    t.execute("UPDATE audit_log SET action = 'harmless_read' WHERE id = ?", (victim["id"],))
    return victim["id"], victim["seq"]


def forge_row(t: Tamper):
    """Append an entry that is linked and hashed exactly as the app would do it."""
    rows = t.entries()
    last = rows[-1]
    forged = {"id": "01900000-0000-7000-8000-00000000f0a6", "seq": last["seq"] + 1,
              "timestamp": last["timestamp"], "action": "ai_send", "entity_type": "issue",
              "entity_id": last["entity_id"], "user_id": "local",
              "details": json.dumps({"sha256": "0" * 64}), "prev_hash": last["entry_hash"]}
    forged["entry_hash"] = entry_hash(forged)
    t.execute("INSERT INTO audit_log (id, seq, timestamp, action, entity_type, entity_id,"
              " user_id, details, prev_hash, entry_hash) VALUES (:id, :seq, :timestamp,"
              " :action, :entity_type, :entity_id, :user_id, :details, :prev_hash,"
              " :entry_hash)", forged)
    return forged["id"], forged["seq"]


def forge_row_in_the_middle(t: Tamper):
    """Insert a well-formed entry mid-chain and renumber the ones after it."""
    rows = t.entries()
    k = len(rows) // 2
    t.execute("UPDATE audit_log SET seq = -seq WHERE seq > ?", (rows[k - 1]["seq"],))
    t.execute("UPDATE audit_log SET seq = -seq + 1 WHERE seq < 0")
    forged = {"id": "01900000-0000-7000-8000-0000000f0a6e", "seq": rows[k - 1]["seq"] + 1,
              "timestamp": rows[k - 1]["timestamp"], "action": "issue_created",
              "entity_type": "issue", "entity_id": "x", "user_id": "local", "details": None,
              "prev_hash": rows[k - 1]["entry_hash"]}
    forged["entry_hash"] = entry_hash(forged)
    t.execute("INSERT INTO audit_log (id, seq, timestamp, action, entity_type, entity_id,"
              " user_id, details, prev_hash, entry_hash) VALUES (:id, :seq, :timestamp,"
              " :action, :entity_type, :entity_id, :user_id, :details, :prev_hash,"
              " :entry_hash)", forged)
    # The forged entry itself links correctly; the next one no longer does.
    return rows[k]["id"], rows[k]["seq"] + 1


def delete_middle(t: Tamper):
    rows = t.entries()
    k = len(rows) // 2
    t.execute("DELETE FROM audit_log WHERE id = ?", (rows[k]["id"],))
    return rows[k + 1]["id"], rows[k + 1]["seq"]


def delete_first(t: Tamper):
    rows = t.entries()
    t.execute("DELETE FROM audit_log WHERE id = ?", (rows[0]["id"],))
    return rows[1]["id"], rows[1]["seq"]


def delete_last(t: Tamper):
    rows = t.entries()
    t.execute("DELETE FROM audit_log WHERE id = ?", (rows[-1]["id"],))
    return None, rows[-1]["seq"]  # nothing left to point at but its number


def swap_seq(t: Tamper):
    rows = t.entries()
    a, b = rows[2], rows[5]
    t.execute("UPDATE audit_log SET seq = -1 WHERE id = ?", (a["id"],))
    t.execute("UPDATE audit_log SET seq = ? WHERE id = ?", (a["seq"], b["id"]))
    t.execute("UPDATE audit_log SET seq = ? WHERE id = ?", (b["seq"], a["id"]))
    return b["id"], a["seq"]  # b now sits at a's place, and does not link there


TAMPERINGS = [alter_details, alter_action, forge_row, forge_row_in_the_middle, delete_middle,
              delete_first, delete_last, swap_seq]


@pytest.mark.parametrize("tamper", TAMPERINGS, ids=[f.__name__ for f in TAMPERINGS])
def test_tampering_is_detected_and_named(worked, tamper):
    t = Tamper(worked / "tftsr.db")
    try:
        bad_id, bad_seq = tamper(t)
    finally:
        t.close()

    result = verify_file(worked)
    assert not result.ok
    assert result.reason
    assert result.first_bad_seq == bad_seq
    assert result.first_bad_id == bad_id

    cli = verify_cli(worked)
    assert cli.returncode != 0
    assert "BROKEN" in cli.stderr
    assert f"#{bad_seq}" in cli.stderr
    if bad_id:
        assert bad_id in cli.stderr


def test_tampering_with_the_head_is_detected(worked):
    t = Tamper(worked / "tftsr.db")
    try:
        t.execute("UPDATE audit_chain_head SET last_hash = ?", ("f" * 64,))
    finally:
        t.close()
    assert not verify_file(worked).ok
    assert verify_cli(worked).returncode != 0


def test_new_entries_after_a_verified_chain_still_verify(worked):
    from tftsr.app import open_app
    from tftsr.commands import dispatch

    app = open_app(worked)
    try:
        dispatch(app, "create_issue", {"title": "Another one", "severity": "low",
                                       "category": "application"})
    finally:
        app.close()
    assert verify_file(worked).ok
    assert verify_cli(worked).returncode == 0
