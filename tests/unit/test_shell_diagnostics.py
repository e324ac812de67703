"""Diagnostics through the assistant: a loopback provider proposes commands; tier 1 runs,
tier 2 waits for approval (allow once, allow for the session, deny, no answer), tier 3 is
refused; real commands run in real processes, and the output reaches the provider only
redacted."""

from __future__ import annotations

import json
import os
import stat
import sys
import time
from pathlib import Path

import pytest
from tftsr.shell.diagnostics import session_key

from tests.conftest import start_served_app
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.helpers import EventLog, make_fast

EMAIL = "pager.owner@payments-corp.example.com"
TOKEN = "ghp_Z9yX8wV7uT6sR5qP4oN3mL2kJ1iH0gF9eD8c"


@pytest.fixture
def fast(app):
    make_fast(app)
    app.extras["approval_timeout"] = 20
    return app


def _chat(app, call, issue_id, *, content="Why are the payment pods restarting?"):
    events = EventLog(app)
    try:
        sent = call("chat_message", issue_id=issue_id, content=content)
        kind, payload = events.wait_end(sent["message_id"], timeout=60)
    finally:
        events.close()
    return sent, kind, payload


def _propose(fake, command, reason="to see what is happening", then="Done."):
    fake.push_reply("", tool_calls=[{"name": "run_diagnostic_command",
                                     "arguments": {"command": command, "reason": reason}}])
    fake.push_reply(then)


def _tool_result(fake) -> str:
    """What the provider received as the tool's answer (in the last request)."""
    body = fake.chat_requests()[-1].json
    tool_messages = [m for m in body["messages"] if m["role"] == "tool"]
    assert tool_messages, "the provider never received the tool's result"
    return tool_messages[-1]["content"]


def _answer_when_asked(app, call, decision, *, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = call("list_pending_approvals")["items"]
        if items:
            call("decide_approval", approval_id=items[0]["id"], decision=decision)
            return items[0]
        time.sleep(0.05)
    raise AssertionError("no approval was requested")


def _executions(app):
    with app.db.connection() as conn:
        return conn.execute("SELECT command, tier, approval_status, exit_code, stdout"
                            " FROM command_executions ORDER BY executed_at, rowid").fetchall()


def test_a_read_only_command_runs_at_once_and_its_output_reaches_the_model_redacted(
        fast, call, make_issue, provider, openai_fake):
    issue = make_issue()
    _propose(openai_fake, f"printf 'owner {EMAIL} token {TOKEN} pods=3\\n'")
    _, kind, _ = _chat(fast, call, issue["id"])
    assert kind == "ai_done"
    result = _tool_result(openai_fake)
    assert "pods=3" in result
    assert EMAIL not in result and TOKEN not in result and "[Email-" in result
    for request in openai_fake.chat_requests():
        assert EMAIL.encode() not in request.body and TOKEN.encode() not in request.body
    [run] = _executions(fast)
    assert run["tier"] == 1 and run["approval_status"] == "auto" and run["exit_code"] == 0
    assert EMAIL in run["stdout"]  # kept locally, in the encrypted database
    actions = [e["action"] for e in call("get_audit_log", limit=50)["items"]]
    assert "shell_command_run" in actions


def test_a_state_changing_command_waits_for_allow_once(fast, call, make_issue, provider,
                                                       openai_fake, tmp_path):
    issue = make_issue()
    target = tmp_path / "made-after-approval"
    _propose(openai_fake, f"mkdir -p {target}")
    events = EventLog(fast)
    try:
        sent = call("chat_message", issue_id=issue["id"], content="Create the folder")
        asked = _answer_when_asked(fast, call, "allow_once")
        kind, _ = events.wait_end(sent["message_id"], timeout=60)
    finally:
        events.close()
    assert asked["kind"] == "shell" and asked["classification"]["tier"] == 2
    assert asked["proposal"]["command"] == f"mkdir -p {target}"
    assert kind == "ai_done" and target.is_dir()
    [run] = _executions(fast)
    assert run["approval_status"] == "approved"


def test_deny_and_no_answer_leave_the_command_unrun(fast, call, make_issue, provider, openai_fake,
                                                   tmp_path):
    issue = make_issue()
    denied, silent = tmp_path / "denied", tmp_path / "silent"
    _propose(openai_fake, f"mkdir -p {denied}")
    events = EventLog(fast)
    try:
        sent = call("chat_message", issue_id=issue["id"], content="go")
        _answer_when_asked(fast, call, "deny")
        events.wait_end(sent["message_id"], timeout=60)
    finally:
        events.close()
    assert not denied.exists()
    assert "Not run" in _tool_result(openai_fake) and "denied by the user" in _tool_result(openai_fake)

    fast.extras["approval_timeout"] = 0.5
    _propose(openai_fake, f"mkdir -p {silent}")
    _chat(fast, call, issue["id"], content="again")
    assert not silent.exists()
    assert "not answered in time" in _tool_result(openai_fake)
    assert [r["approval_status"] for r in _executions(fast)] == ["denied", "denied"]


def test_allow_for_this_session_covers_the_same_kind_of_command(fast, call, make_issue, provider,
                                                                 openai_fake, tmp_path):
    issue = make_issue()
    first, second = tmp_path / "one", tmp_path / "two"
    openai_fake.push_reply("", tool_calls=[
        {"name": "run_diagnostic_command", "arguments": {"command": f"mkdir -p {first}", "reason": "a"}},
        {"name": "run_diagnostic_command", "arguments": {"command": f"mkdir -p {second}", "reason": "b"}},
    ])
    openai_fake.push_reply("Both made.")
    events = EventLog(fast)
    try:
        sent = call("chat_message", issue_id=issue["id"], content="make both")
        _answer_when_asked(fast, call, "allow_session")
        kind, _ = events.wait_end(sent["message_id"], timeout=60)
    finally:
        events.close()
    assert kind == "ai_done" and first.is_dir() and second.is_dir()
    rules = call("list_approval_rules", conversation_id=sent["conversation_id"])["items"]
    assert [r["session_key"] for r in rules] == ["mkdir"]
    with fast.db.connection() as conn:
        decisions = [r["decision"] for r in conn.execute(
            "SELECT decision FROM approval_decisions ORDER BY decided_at, rowid")]
    assert decisions == ["allow_session", "allow_session"]


def test_a_destructive_command_is_refused_without_asking(fast, call, make_issue, provider,
                                                         openai_fake, tmp_path):
    issue = make_issue()
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "data.txt").write_text("important")
    _propose(openai_fake, f"rm -rf {keep}")
    events = EventLog(fast)
    try:
        sent = call("chat_message", issue_id=issue["id"], content="clean up")
        kind, _ = events.wait_end(sent["message_id"], timeout=60)
        assert events.named("approval_requested") == []
    finally:
        events.close()
    assert kind == "ai_done" and (keep / "data.txt").exists()
    assert "Refused" in _tool_result(openai_fake)
    [run] = _executions(fast)
    assert run["tier"] == 3 and run["approval_status"] == "denied" and run["exit_code"] is None
    with fast.db.connection() as conn:  # the proposal itself is recorded too
        [proposal] = conn.execute("SELECT command_template, tier, description, category"
                                  " FROM shell_commands").fetchall()
    assert dict(proposal) == {"command_template": f"rm -rf {keep}", "tier": 3,
                              "description": "to see what is happening", "category": "assistant"}
    actions = [e["action"] for e in call("get_audit_log", limit=50)["items"]]
    assert "shell_command_refused" in actions


def test_a_command_that_runs_too_long_is_killed(fast, call, make_issue, provider, openai_fake):
    call("update_setting", key="shell_timeout_seconds", value=1)
    issue = make_issue()
    _propose(openai_fake, "sleep 30")
    started = time.monotonic()
    _chat(fast, call, issue["id"])
    assert time.monotonic() - started < 25
    assert '"timed_out": true' in _tool_result(openai_fake)


def test_kubectl_gets_the_incidents_kubeconfig_through_a_private_file(
        fast, call, make_issue, provider, openai_fake, tmp_path, monkeypatch):
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    kubectl = fake_bin / "kubectl"
    kubectl.write_text("#!/bin/sh\n"
                       "printf 'KUBECONFIG=%s\\n' \"$KUBECONFIG\"\n"
                       "stat -c 'file=%a' \"$KUBECONFIG\"\n"
                       "stat -c 'dir=%a' \"$(dirname \"$KUBECONFIG\")\"\n"
                       "grep -c 'prod-eu' \"$KUBECONFIG\"\n")
    kubectl.chmod(kubectl.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{fake_bin}{os.pathsep}{os.environ['PATH']}")
    config = ("apiVersion: v1\nkind: Config\ncurrent-context: prod-eu\n"
              "clusters:\n- name: prod-eu\n  cluster:\n    server: https://10.20.0.1:6443\n"
              "contexts:\n- name: prod-eu\n  context:\n    cluster: prod-eu\n    user: admin\n"
              "users:\n- name: admin\n  user:\n    token: abc123\n")
    issue = make_issue()
    imported = call("import_kubeconfig", name="prod", content=config)
    kube_id = imported.get("id") or imported["kubeconfig"]["id"]
    call("set_active_kubeconfig", kubeconfig_id=kube_id, issue_id=issue["id"])
    _propose(openai_fake, "kubectl -n payments get pods")
    _chat(fast, call, issue["id"])
    result = json.loads(_tool_result(openai_fake))
    out = result["stdout"]
    assert "file=600" in out and "dir=700" in out and out.rstrip().endswith("\n4")  # prod-eu lines
    path = Path(out.split("KUBECONFIG=")[1].split("\n")[0])
    assert not path.exists() and not path.parent.exists()
    assert str(fast.data_dir) not in str(path)


def test_the_session_key_is_the_program_and_its_verb():
    assert session_key("kubectl -n prod rollout restart deploy/api") == "kubectl rollout restart"
    assert session_key("kubectl --context=x delete pod web-1") == "kubectl delete"
    assert session_key("systemctl restart nginx") == "systemctl restart"
    assert session_key("LANG=C mkdir -p /tmp/x") == "mkdir"


@pytest.mark.parametrize("command", [
    "sudo systemctl restart nginx",             # a wrapper: the payload decides
    "mkdir -p /tmp/a && kubectl delete deploy x",  # a chain
    "uptime > /tmp/u",                          # a redirection
    "kubectl get pods | xargs kubectl delete pod",
    "touch $(cat /tmp/list)",
    "/tmp/tools/mkdir x",                       # a path to some program
    "LD_PRELOAD=/tmp/x.so mkdir a",             # changes what the program loads
    "python3 -c 'print(1)'",                    # inline code
    "bash -c 'mkdir x'",
    "kubectl exec api-0 -- kill 1",             # runs a command given in its arguments
    "docker run --rm alpine touch /x",
])
def test_allow_for_this_session_covers_only_the_same_command_when_program_and_verb_say_little(
        command):
    assert session_key(command) == command


def test_a_session_rule_does_not_let_a_chain_through(fast, call, make_issue, provider,
                                                    openai_fake, tmp_path):
    issue = make_issue()
    first, second, marker = tmp_path / "one", tmp_path / "two", tmp_path / "marker"
    openai_fake.push_reply("", tool_calls=[
        {"name": "run_diagnostic_command", "arguments": {"command": f"mkdir -p {first}", "reason": "a"}},
        {"name": "run_diagnostic_command",
         "arguments": {"command": f"mkdir -p {second} && touch {marker}", "reason": "b"}},
    ])
    openai_fake.push_reply("Done.")
    events = EventLog(fast)
    try:
        sent = call("chat_message", issue_id=issue["id"], content="make both")
        _answer_when_asked(fast, call, "allow_session")
        asked = events.wait("approval_requested", timeout=30,
                            proposal={"command": f"mkdir -p {second} && touch {marker}",
                                      "reason": "b"})
        call("decide_approval", approval_id=asked["id"], decision="deny")
        kind, _ = events.wait_end(sent["message_id"], timeout=60)
    finally:
        events.close()
    assert asked["proposal"]["command"] == f"mkdir -p {second} && touch {marker}"
    assert asked["session_label"].endswith("(this exact command)")
    assert kind == "ai_done" and first.is_dir()
    assert not second.exists() and not marker.exists()


def test_the_diagnostics_panel_runs_through_the_same_classifier_and_approval(fast, call, make_issue,
                                                                             tmp_path):
    issue = make_issue()
    events = EventLog(fast)
    try:
        started = call("run_shell_command", issue_id=issue["id"], command="echo hello-from-panel")
        assert started["status"] == "running"
        done = events.wait("shell_run_finished", run_id=started["run_id"], timeout=30)
        assert done["status"] == "ran" and "hello-from-panel" in done["stdout"]

        target = tmp_path / "panel-dir"
        started = call("run_shell_command", issue_id=issue["id"], command=f"mkdir {target}")
        assert started["status"] == "waiting_for_approval"
        _answer_when_asked(fast, call, "allow_once")
        done = events.wait("shell_run_finished", run_id=started["run_id"], timeout=30)
        assert done["status"] == "ran" and target.is_dir()

        started = call("run_shell_command", issue_id=issue["id"], command="shutdown -h now")
        assert started["status"] == "refused"
        done = events.wait("shell_run_finished", run_id=started["run_id"], timeout=30)
        assert done["status"] == "refused"
    finally:
        events.close()
    history = call("list_command_executions", issue_id=issue["id"])["items"]
    assert [h["tier"] for h in history] == [3, 2, 1]


def test_through_tftsr_serve_a_proposal_waits_for_the_answer_over_http(tmp_path):
    with FakeOpenAI() as fake:
        served = start_served_app(tmp_path / "served")
        try:
            served.call("add_ai_provider", name="Loopback", kind="openai",
                        base_url=fake.base_url, model="gpt-4o-mini", api_key=fake.key)
            issue = served.call("create_issue", title="Pods restarting", severity="high",
                                category="kubernetes")["issue"]
            target = tmp_path / "served-approved"
            _propose(fake, f"mkdir -p {target}; printf 'seen by {EMAIL}\\n'")
            sent = served.call("chat_message", issue_id=issue["id"], content="check")
            deadline = time.monotonic() + 30
            items = []
            while time.monotonic() < deadline and not items:
                items = served.call("list_pending_approvals")["items"]
                time.sleep(0.1)
            assert items and items[0]["proposal"]["command"].startswith("mkdir -p")
            assert not target.exists()
            served.call("decide_approval", approval_id=items[0]["id"], decision="allow_once")
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                messages = served.call("get_conversation",
                                       conversation_id=sent["conversation_id"])["messages"]
                if messages[-1]["status"] != "streaming":
                    break
                time.sleep(0.1)
            assert target.is_dir()
            result = _tool_result(fake)
            assert "seen by [Email-" in result and EMAIL not in result
        finally:
            served.stop()


if sys.platform == "win32":  # the commands above are POSIX shell
    pytestmark = pytest.mark.skip(reason="POSIX shell commands")
