"""What is recorded of each command's output: its size and the SHA-256 of the exact bytes
the command wrote (not of the text kept, which is cut and decoded), in
``command_executions`` beside the command, tier, decision, exit code and duration; and
how many values the PII gate replaced before the assistant saw the output, with their
types as people name them — kept with the tool call, so the notice is the same after the
reply completes and after a reload, in the chat and in the Diagnostics tab."""

from __future__ import annotations

import hashlib
import json

import pytest
from tftsr.pii.spans import LABELS

from tests.fakes.helpers import EventLog, make_fast

EMAIL = "pager.owner@payments-corp.example.com"
TOKEN = "ghp_Z9yX8wV7uT6sR5qP4oN3mL2kJ1iH0gF9eD8c"

# 100,000 numbered lines (588,895 bytes, more than the 256 KB kept of a stream) and a line
# that is not UTF-8: the kept text is cut and decoded with replacement characters.
BIG_COMMAND = "seq 1 100000; printf 'caf\\xe9\\n'"
BIG_BYTES = "".join(f"{i}\n" for i in range(1, 100001)).encode() + b"caf\xe9\n"


@pytest.fixture
def fast(app):
    make_fast(app)
    app.extras["approval_timeout"] = 20
    return app


def _chat(app, call, issue_id, command, reason="to see what is happening"):
    """The assistant proposes ``command``; returns (conversation id, live tool-call rows)."""
    events = EventLog(app)
    try:
        sent = call("chat_message", issue_id=issue_id, content="What is going on?")
        kind, _ = events.wait_end(sent["message_id"], timeout=60)
        assert kind == "ai_done"
        live = [p["tool_call"] for p in events.named("ai_tool_call")
                if p["tool_call"]["status"] != "pending"]
    finally:
        events.close()
    return sent["conversation_id"], live


def _propose(fake, command, then="Done."):
    fake.push_reply("", tool_calls=[{"name": "run_diagnostic_command",
                                     "arguments": {"command": command, "reason": "look"}}])
    fake.push_reply(then)


def _row(app, command):
    with app.db.connection() as conn:
        return dict(conn.execute(
            "SELECT command, tier, approval_status, exit_code, execution_time_ms, stdout,"
            " output_bytes, output_sha256, tool_call_id FROM command_executions"
            " WHERE command = ?", (command,)).fetchone())


def _audited_run(call, execution_id):
    entries = call("get_audit_log", limit=100)["items"]
    [entry] = [e for e in entries if e["action"] == "shell_command_run"
               and e["entity_id"] == execution_id]
    details = entry["details"]
    return json.loads(details) if isinstance(details, str) else details


def test_a_run_records_the_size_and_sha256_of_the_exact_output_bytes(
        fast, call, make_issue, provider, openai_fake):
    issue = make_issue()
    _propose(openai_fake, BIG_COMMAND)
    _chat(fast, call, issue["id"], BIG_COMMAND)
    row = _row(fast, BIG_COMMAND)
    assert row["tier"] == 1 and row["approval_status"] == "auto" and row["exit_code"] == 0
    assert row["execution_time_ms"] is not None
    assert row["output_bytes"] == len(BIG_BYTES) == 588_900
    assert row["output_sha256"] == hashlib.sha256(BIG_BYTES).hexdigest()
    # what is kept is not what was hashed: cut in the middle, the last line decoded
    assert "cut from the middle" in row["stdout"] and row["stdout"].endswith("caf\ufffd\n")
    assert hashlib.sha256(row["stdout"].encode()).hexdigest() != row["output_sha256"]

    [listed] = call("list_command_executions", issue_id=issue["id"])["items"]
    assert listed["output_bytes"] == len(BIG_BYTES)
    assert listed["output_sha256"] == row["output_sha256"]
    assert listed["by_assistant"] is True and listed["redactions"] == 0
    assert listed["redacted_labels"] == []
    audited = _audited_run(call, listed["id"])
    assert audited["output_bytes"] == row["output_bytes"]
    assert audited["output_sha256"] == row["output_sha256"]


def test_a_command_typed_in_the_panel_records_its_output_facts_too(fast, call, make_issue):
    issue = make_issue()
    events = EventLog(fast)
    try:
        started = call("run_shell_command", issue_id=issue["id"],
                       command="printf 'out\\n'; printf 'err\\n' >&2")
        done = events.wait("shell_run_finished", run_id=started["run_id"], timeout=30)
    finally:
        events.close()
    assert done["status"] == "ran" and done["output_bytes"] == 8
    [listed] = call("list_command_executions", issue_id=issue["id"])["items"]
    assert listed["stdout"] == "out\n" and listed["stderr"] == "err\n"
    assert listed["output_bytes"] == 8
    # the hash covers the bytes in the order they arrived; the two pipes are read on their
    # own threads, so on a busy machine stderr's line can arrive first
    assert listed["output_sha256"] in {hashlib.sha256(b"out\nerr\n").hexdigest(),
                                       hashlib.sha256(b"err\nout\n").hexdigest()}
    assert listed["by_assistant"] is False and listed["redactions"] is None


def test_refused_commands_record_no_output(fast, call, make_issue, provider, openai_fake):
    issue = make_issue()
    _propose(openai_fake, "rm -rf /")
    _chat(fast, call, issue["id"], "rm -rf /")
    row = _row(fast, "rm -rf /")
    assert row["approval_status"] == "denied" and row["tool_call_id"] is not None
    assert row["output_bytes"] is None and row["output_sha256"] is None


def test_the_redaction_notice_is_stored_and_the_same_after_a_reload(
        fast, call, make_issue, provider, openai_fake):
    issue = make_issue()
    command = f"printf 'owner {EMAIL} token {TOKEN} pods=3\\n'"
    _propose(openai_fake, command)
    conversation_id, live = _chat(fast, call, issue["id"], command)
    [done] = live
    assert done["redactions"] >= 2
    assert {LABELS["Email"], LABELS["GitHubToken"]} <= set(done["redacted_labels"])
    assert done["redacted_labels"] == sorted({LABELS[t] for t in done["redacted_types"]})

    # a reload reads it back from the database
    detail = call("get_conversation", conversation_id=conversation_id)
    [stored] = [c for m in detail["messages"] for c in m.get("tool_calls", [])]
    assert stored["id"] == done["id"]
    assert stored["redactions"] == done["redactions"]
    assert stored["redacted_types"] == done["redacted_types"]
    assert stored["redacted_labels"] == done["redacted_labels"]

    # the Diagnostics tab's list shows the same for the run
    [run] = call("list_command_executions", issue_id=issue["id"])["items"]
    assert run["by_assistant"] is True
    assert run["redactions"] == done["redactions"]
    assert run["redacted_labels"] == done["redacted_labels"]
    assert _row(fast, command)["tool_call_id"] == done["id"]
    # and the provider got the output without the values counted
    sent = [m for m in openai_fake.chat_requests()[-1].json["messages"] if m["role"] == "tool"]
    assert EMAIL not in sent[-1]["content"] and TOKEN not in sent[-1]["content"]
