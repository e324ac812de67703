"""What the audit log proves against someone who holds the database key.

Such a person can rewrite entries and recompute every hash: the chain alone then verifies,
and the tests below say so. What still catches them is (a) the cross-checks -- every
audited row must keep its creation entry, so an emptied or cut-short log fails -- and
(b) an outside anchor: a head (``SEQ:HASH``) recorded before the rewrite, checked with
``tftsr db verify-audit --expect-head``. Every tampering here is done on the real encrypted
file with the real key, exactly as such a person would.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlcipher3
from PIL import Image
from tftsr.audit.chain import GENESIS_HASH, entry_hash, verify

from tests.conftest import TEST_KEY, tftsr_env
from tests.fakes.helpers import add_unreviewed_log

HEAD_RE = re.compile(r"^(\d+):([0-9a-f]{64})$")
EVERY_KIND = {"incident", "log file", "image", "document", "AI provider", "AI conversation",
              "action item", "5-Whys step", "timeline event", "MCP server"}


def tftsr_cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tftsr", "db", *args, "--data-dir", str(data_dir)],
                          env=tftsr_env(data_dir), capture_output=True, text=True, timeout=120,
                          check=False)


def audit_head(data_dir: Path) -> str:
    result = tftsr_cli(data_dir, "audit-head")
    assert result.returncode == 0, result.stderr
    head = result.stdout.strip()
    assert HEAD_RE.match(head), head
    return head


def verify_file(data_dir: Path, expect_head: str | None = None):
    from tftsr.app import open_app

    app = open_app(data_dir)
    try:
        with app.db.connection() as conn:
            return verify(conn, expect_head)
    finally:
        app.close()


class KeyHolder:
    """Someone with the database key and the file: free to edit rows and recompute hashes."""

    def __init__(self, data_dir: Path):
        self.conn = sqlcipher3.connect(str(data_dir / "tftsr.db"), isolation_level=None)
        self.conn.execute(f"PRAGMA key = '{TEST_KEY}'")
        self.conn.row_factory = sqlcipher3.Row

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.conn.close()

    def entries(self) -> list[dict]:
        return [dict(r) for r in self.conn.execute("SELECT * FROM audit_log ORDER BY seq")]

    def execute(self, sql: str, params=()):
        return self.conn.execute(sql, params)

    def rechain(self) -> None:
        """Renumber what is left 1..n, recompute every link and hash, and reset the head,
        exactly as TFTSR would have written them."""
        rows = self.entries()
        self.execute("BEGIN")
        self.execute("UPDATE audit_log SET seq = -seq")
        prev = GENESIS_HASH
        for n, row in enumerate(rows, start=1):
            row.update(seq=n, prev_hash=prev)
            row["entry_hash"] = entry_hash(row)
            self.execute("UPDATE audit_log SET seq = ?, prev_hash = ?, entry_hash = ? WHERE id = ?",
                         (n, prev, row["entry_hash"], row["id"]))
            prev = row["entry_hash"]
        self.execute("DELETE FROM audit_chain_head")
        if rows:
            self.execute("INSERT INTO audit_chain_head (id, entry_count, last_hash, updated_at)"
                         " VALUES (1, ?, ?, '2026-01-01 00:00:00')", (len(rows), prev))
        self.execute("COMMIT")


def png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (24, 16), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def worked(app, call, make_issue, data_dir):
    """Every kind of audited row, created by the real commands; closed afterwards."""
    from tftsr.evidence.images import ingest_image

    issue = make_issue(title="Payment webhook retries storm")
    iid = issue["id"]
    call("add_five_why", issue_id=iid, why_question="Why did retries pile up?",
         answer="Backoff was disabled")
    call("add_timeline_event", issue_id=iid, event_type="note", description="Paged the owner")
    call("update_setting", key="theme", value="dark")
    add_unreviewed_log(app, iid, "gateway.log", "2026-03-01 09:10:01 ERROR upstream timeout\n")
    ingest_image(app, iid, "graph.png", [png_bytes()], is_paste=False, acknowledged=True)
    call("generate_rca", issue_id=iid)
    provider = call("add_ai_provider", name="Team OpenAI", kind="openai",
                    base_url="http://127.0.0.1:9/v1", model="gpt-4o-mini", api_key="sk-test-0000")
    call("create_conversation", issue_id=iid, provider_id=provider["id"])
    call("create_action_item", issue_id=iid, title="Turn backoff back on", kind="immediate")
    call("add_mcp_server", name="Runbooks", transport="stdio", command=sys.executable,
         args=["-c", "pass"])
    call("update_setting", key="theme", value="light")
    late = make_issue(title="DNS resolution flaps", severity="medium", category="network")
    assert call("verify_audit")["ok"] is True
    app.close()
    return {"dir": data_dir, "issue_id": iid, "late_issue_id": late["id"]}


def test_audit_head_is_the_newest_entry(worked):
    head = audit_head(worked["dir"])
    with KeyHolder(worked["dir"]) as k:
        last = k.entries()[-1]
    assert head == f"{last['seq']}:{last['entry_hash']}"
    assert verify_file(worked["dir"]).head == head


def test_empty_log_head_and_verification(data_dir, app):
    app.close()
    assert audit_head(data_dir) == f"0:{GENESIS_HASH}"
    ok = tftsr_cli(data_dir, "verify-audit", "--expect-head", f"0:{GENESIS_HASH}")
    assert ok.returncode == 0, ok.stderr


def test_expect_head_passes_while_the_log_only_grows(worked):
    head = audit_head(worked["dir"])
    from tftsr.app import open_app
    from tftsr.commands import dispatch

    app = open_app(worked["dir"])
    try:
        dispatch(app, "set_issue_status", {"issue_id": worked["issue_id"], "status": "investigating"})
    finally:
        app.close()
    assert audit_head(worked["dir"]) != head
    result = tftsr_cli(worked["dir"], "verify-audit", "--expect-head", head)
    assert result.returncode == 0, result.stderr
    assert f"matches the recorded head {head}" in result.stdout
    seq = head.split(":")[0]
    assert f"entries 1 to {seq} are unchanged" in result.stdout


def test_rewrite_with_the_key_passes_plain_verify_but_not_the_earlier_head(worked):
    before = audit_head(worked["dir"])
    with KeyHolder(worked["dir"]) as k:
        victim = next(e for e in k.entries() if e["action"] == "ai_provider_added")
        details = json.loads(victim["details"])
        details["base_url"] = "https://innocent.example/v1"  # hide where the key pointed
        k.execute("UPDATE audit_log SET details = ? WHERE id = ?",
                  (json.dumps(details, sort_keys=True), victim["id"]))
        k.rechain()

    # Honestly: with the key, a full rewrite verifies on its own ...
    plain = tftsr_cli(worked["dir"], "verify-audit")
    assert plain.returncode == 0, plain.stderr
    assert "Audit log intact" in plain.stdout
    assert audit_head(worked["dir"]) != before
    # ... but not against a head recorded before it.
    anchored = tftsr_cli(worked["dir"], "verify-audit", "--expect-head", before)
    assert anchored.returncode == 3, anchored.stdout
    assert f"does NOT match the recorded head {before}" in anchored.stderr
    assert "rewritten" in anchored.stderr
    result = verify_file(worked["dir"], before)
    assert not result.ok and result.chain_ok
    assert result.anchor["ok"] is False


def test_rewrite_after_the_recorded_head_is_outside_what_it_proves(worked):
    """A head vouches for the log up to itself; entries after it need a later anchor."""
    head = audit_head(worked["dir"])
    with KeyHolder(worked["dir"]) as k:
        last = k.entries()[-1]
        forged = {**last, "id": "01900000-0000-7000-8000-00000000f0a6", "seq": last["seq"] + 1,
                  "action": "setting_changed", "entity_type": "setting", "entity_id": "theme",
                  "details": json.dumps({"value": "dark"}), "prev_hash": last["entry_hash"]}
        forged["entry_hash"] = entry_hash(forged)
        k.execute("INSERT INTO audit_log (id, seq, timestamp, action, entity_type, entity_id,"
                  " user_id, details, prev_hash, entry_hash) VALUES (:id, :seq, :timestamp,"
                  " :action, :entity_type, :entity_id, :user_id, :details, :prev_hash,"
                  " :entry_hash)", forged)
        k.rechain()
    result = tftsr_cli(worked["dir"], "verify-audit", "--expect-head", head)
    assert result.returncode == 0, result.stderr


def test_an_emptied_log_fails_by_cross_check(worked):
    with KeyHolder(worked["dir"]) as k:
        k.execute("DELETE FROM audit_log")
        k.execute("DELETE FROM audit_chain_head")
    result = verify_file(worked["dir"])
    assert not result.ok and result.chain_ok and result.entries == 0
    assert set(result.missing["by_kind"]) == EVERY_KIND
    assert "no creation entry" in result.reason

    cli = tftsr_cli(worked["dir"], "verify-audit")
    assert cli.returncode == 3
    assert "INCOMPLETE" in cli.stderr
    assert f"incident {worked['issue_id']} (no triage_started entry)" in cli.stderr
    assert f"incident {worked['late_issue_id']}" in cli.stderr
    assert "log file " in cli.stderr and "image " in cli.stderr and "document " in cli.stderr


def test_cut_short_log_fails_by_cross_check(worked):
    """The last entries removed, the head set back: the chain holds, the rows betray it."""
    with KeyHolder(worked["dir"]) as k:
        rows = k.entries()
        keep = rows[:-3]  # the late incident's creation is among the last three
        k.execute("DELETE FROM audit_log WHERE seq > ?", (keep[-1]["seq"],))
        k.execute("UPDATE audit_chain_head SET entry_count = ?, last_hash = ?",
                  (keep[-1]["seq"], keep[-1]["entry_hash"]))
    result = verify_file(worked["dir"])
    assert result.chain_ok and not result.ok
    assert {i["id"] for i in result.missing["items"]} >= {worked["late_issue_id"]}
    cli = tftsr_cli(worked["dir"], "verify-audit")
    assert cli.returncode == 3
    assert f"incident {worked['late_issue_id']} (no triage_started entry)" in cli.stderr


def test_entries_deleted_and_renumbered_fail_against_the_earlier_head(worked):
    """Entries no cross-check covers (here both settings changes) removed mid-chain, the
    rest renumbered and rehashed with the key: only the anchor catches it."""
    before = audit_head(worked["dir"])
    with KeyHolder(worked["dir"]) as k:
        k.execute("DELETE FROM audit_log WHERE action = 'setting_changed'")
        k.rechain()
    assert tftsr_cli(worked["dir"], "verify-audit").returncode == 0
    anchored = tftsr_cli(worked["dir"], "verify-audit", "--expect-head", before)
    assert anchored.returncode == 3
    assert "entries up to that head were removed" in anchored.stderr or \
        "rewritten" in anchored.stderr


def test_expect_head_with_a_broken_chain_before_it(worked):
    head = audit_head(worked["dir"])
    with KeyHolder(worked["dir"]) as k:
        k.execute("UPDATE audit_log SET details = '{}' WHERE seq = 2")
    result = verify_file(worked["dir"], head)
    assert not result.ok and not result.chain_ok
    assert result.anchor["ok"] is False and "breaks at entry 2" in result.anchor["reason"]
    cli = tftsr_cli(worked["dir"], "verify-audit", "--expect-head", head)
    assert cli.returncode == 3
    assert "BROKEN at entry #2" in cli.stderr and "does NOT match" in cli.stderr


@pytest.mark.parametrize("bad", ["12", "x:" + "a" * 64, "3:" + "a" * 63, "3:" + "g" * 64, ""])
def test_a_malformed_expected_head_is_refused_in_words(tmp_path, bad):
    result = tftsr_cli(tmp_path / "data", "verify-audit", "--expect-head", bad)
    assert result.returncode == 1
    assert "SEQ:HASH" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "data").exists()  # refused before anything was opened


def test_verify_audit_command_reports_head_anchor_and_missing(app, call, make_issue):
    from tftsr.errors import InvalidArgument

    make_issue()
    result = call("verify_audit")
    assert result["ok"] and result["missing"]["total"] == 0 and result["anchor"] is None
    assert HEAD_RE.match(result["head"])
    assert call("get_audit_log")["head"] == result["head"]
    anchored = call("verify_audit", expect_head=result["head"])
    assert anchored["ok"] and anchored["anchor"]["ok"]
    wrong = call("verify_audit", expect_head=result["head"].split(":")[0] + ":" + "0" * 64)
    assert not wrong["ok"] and wrong["chain_ok"] and not wrong["anchor"]["ok"]
    with pytest.raises(InvalidArgument):
        call("verify_audit", expect_head="latest")


# -- the head in every export ----------------------------------------------------------------
def _pdf_text(path: Path) -> str:
    if not shutil.which("pdftotext"):
        if os.environ.get("CI") == "true":
            pytest.fail("pdftotext (poppler-utils) is required in CI")
        pytest.skip("PDF TEXT CHECK SKIPPED: pdftotext (poppler-utils) is not installed")
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True,
                         capture_output=True, text=True).stdout
    return " ".join(out.split())


@pytest.mark.parametrize("fmt", ["md", "html", "pdf"])
def test_every_document_export_carries_the_head(call, make_issue, fmt):
    issue = make_issue()
    doc = call("generate_postmortem", issue_id=issue["id"])
    head = call("verify_audit")["head"]
    result = call("export_document", document_id=doc["id"], format=fmt)
    path = Path(result["path"])
    line = f"Audit log head at export: {head}"
    if fmt == "pdf":
        assert line in _pdf_text(path)
    else:
        text = path.read_text(encoding="utf-8")
        assert line in text
        if fmt == "html":
            assert f'<span class="audit-head">{line}</span></footer>' in text
    # The export's own entry comes after the head it carries.
    assert call("verify_audit")["head"] != head


def test_audit_exports_carry_the_head(call, make_issue):
    make_issue()
    head = call("verify_audit")["head"]
    as_json = json.loads(Path(call("export_audit_log", format="json")["path"]).read_text("utf-8"))
    assert as_json["head"] == head == as_json["chain"]["head"]
    assert as_json["entries"][-1]["entry_hash"] == head.split(":")[1]

    head = call("verify_audit")["head"]  # the JSON export was audited: the head moved on
    text = Path(call("export_audit_log", format="csv")["path"]).read_text("utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:2] == ["seq", "id"]
    assert rows[-1] == [f"# Audit log head at export: {head}"]
    assert rows[-2][0] == head.split(":")[0] and rows[-2][-1] == head.split(":")[1]
    exported = call("get_audit_log", action="audit_exported")["items"]
    assert exported[0]["details"]["head"] == head
