"""The approval mechanism shared by shell commands and MCP tool calls: a worker thread
waits for the user's answer given through the real commands."""

from __future__ import annotations

import threading
import time

import pytest
from tftsr.ai.base import Cancellation
from tftsr.approvals import request_approval
from tftsr.errors import TftsrError

from tests.fakes.helpers import EventLog


def _ask(app, results, *, conversation_id="c-1", session_key="kubectl rollout restart",
         cancel=None):
    def run():
        results.append(request_approval(
            app, kind="shell", title="Run a shell command",
            proposal={"command": "kubectl -n payments rollout restart deploy/api"},
            classification={"tier": 2, "reason": "restarts pods", "risk_factors": ["restart"]},
            pattern="kubectl -n payments rollout restart deploy/api", session_key=session_key,
            session_label="kubectl rollout restart …", conversation_id=conversation_id,
            issue_id=None, cancel=cancel))
    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _pending_one(app, call):
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        items = call("list_pending_approvals")["items"]
        if items:
            assert len(items) == 1
            return items[0]
        time.sleep(0.02)
    raise AssertionError("no approval request appeared")


def _decisions(app):
    with app.db.connection() as conn:
        return conn.execute("SELECT command_pattern, decision, session_id FROM approval_decisions"
                            " ORDER BY decided_at, rowid").fetchall()


def test_allow_once_releases_the_waiting_call_and_is_recorded(app, call):
    results = []
    events = EventLog(app)
    try:
        thread = _ask(app, results)
        announced = events.wait("approval_requested")
    finally:
        events.close()
    item = _pending_one(app, call)
    assert announced["id"] == item["id"]
    assert item["kind"] == "shell" and item["classification"]["tier"] == 2
    assert item["proposal"]["command"].startswith("kubectl -n payments rollout restart")
    assert thread.is_alive()  # nothing runs before the answer
    call("decide_approval", approval_id=item["id"], decision="allow_once")
    thread.join(10)
    assert results[0].decision == "allow_once" and results[0].allowed and results[0].how == "user"
    assert call("list_pending_approvals")["items"] == []
    assert [tuple(r.values()) for r in _decisions(app)] == [
        ("kubectl -n payments rollout restart deploy/api", "allow_once", "c-1")]
    audit = [e for e in call("get_audit_log", limit=10)["items"] if e["action"] == "approval_decided"]
    assert audit and audit[0]["details"]["decision"] == "allow_once"

    # The same class asks again: allow_once was not remembered.
    thread = _ask(app, results)
    item = _pending_one(app, call)
    call("decide_approval", approval_id=item["id"], decision="deny")
    thread.join(10)
    assert results[1].decision == "deny" and not results[1].allowed


def test_allow_session_is_remembered_for_the_conversation_and_revocable(app, call):
    results = []
    thread = _ask(app, results)
    call("decide_approval", approval_id=_pending_one(app, call)["id"], decision="allow_session")
    thread.join(10)
    rules = call("list_approval_rules")["items"]
    assert len(rules) == 1 and rules[0]["label"] == "kubectl rollout restart …"

    # Same class, same conversation: allowed without asking, and recorded as such.
    thread = _ask(app, results)
    thread.join(10)
    assert results[1].how == "session_rule" and results[1].decision == "allow_session"

    # Another conversation still asks.
    thread = _ask(app, results, conversation_id="c-2")
    item = _pending_one(app, call)
    call("decide_approval", approval_id=item["id"], decision="deny")
    thread.join(10)

    call("revoke_approval_rule", rule_id=rules[0]["id"])
    assert call("list_approval_rules")["items"] == []
    thread = _ask(app, results)
    item = _pending_one(app, call)
    call("decide_approval", approval_id=item["id"], decision="allow_once")
    thread.join(10)
    assert [r["decision"] for r in _decisions(app)] == [
        "allow_session", "allow_session", "deny", "allow_once"]


def test_no_answer_is_a_deny(app, call):
    app.extras["approval_timeout"] = 0.5
    results = []
    thread = _ask(app, results)
    thread.join(10)
    assert results[0].decision == "deny" and results[0].how == "timeout"
    assert "denied" in results[0].words()
    assert _decisions(app)[0]["decision"] == "deny"


def test_stop_while_waiting_is_a_deny(app, call):
    cancel = Cancellation()
    results = []
    thread = _ask(app, results, cancel=cancel)
    _pending_one(app, call)
    cancel.cancel()
    thread.join(10)
    assert results[0].decision == "deny" and results[0].how == "cancelled"
    assert call("list_pending_approvals")["items"] == []


def test_bad_answers_are_refused(app, call):
    with pytest.raises(TftsrError) as err:
        call("decide_approval", approval_id="01890a5d-ac96-774b-bcce-b302099a8057",
             decision="allow_once")
    assert err.value.code == "not_found"
    with pytest.raises(TftsrError) as err:
        call("decide_approval", approval_id="01890a5d-ac96-774b-bcce-b302099a8057",
             decision="always")
    assert err.value.code == "invalid_argument"
