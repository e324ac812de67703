"""Diagnostics end to end through ``tftsr serve``: a loopback AI provider proposes
commands and the test answers the approval cards over HTTP, as the page does. Tier 1
runs at once, tier 2 waits (allow once, allow for the session, deny, no answer), tier 3
is refused without asking; secrets planted in a command's output never reach the
provider; a command that runs too long is killed with everything it started; kubectl
gets the incident's kubeconfig through a private file that is gone afterwards."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import start_served_app, tftsr_env
from tests.fakes import fake_kubectl
from tests.fakes.fake_openai import FakeOpenAI
from tests.unit.test_shell_runner import marker, survivors

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX shell commands")

SECRETS = {
    "email": "pager.owner@payments-corp.example.com",
    "github token": "ghp_Z9yX8wV7uT6sR5qP4oN3mL2kJ1iH0gF9eD8c",
    "aws key": "AKIAZ7QW3ERT5YUI9OPA",
    "password": "Hunter2-Secret!x",
    "url credentials": "admin:S3cr3tPassw0rd",
    "bearer token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJwYXkifQ.c2lnbmF0dXJlX3ZhbHVl",
    "card": "4111 1111 1111 1111",
}
PLANTED = (f"owner {SECRETS['email']}\\n"
           f"token {SECRETS['github token']}\\n"
           f"aws {SECRETS['aws key']}\\n"
           f"db_password={SECRETS['password']}\\n"
           f"dsn https://{SECRETS['url credentials']}@db.internal.example.com:5432/pay\\n"
           f"Authorization: Bearer {SECRETS['bearer token']}\\n"
           f"card {SECRETS['card']}\\n"
           "pods=3 restarts=17\\n")
KUBECONFIG = ("apiVersion: v1\nkind: Config\ncurrent-context: staging\n"
              "clusters:\n- name: prod-eu\n  cluster:\n    server: https://10.20.0.1:6443\n"
              "- name: staging\n  cluster:\n    server: https://10.30.0.1:6443\n"
              "contexts:\n- name: prod-eu\n  context:\n    cluster: prod-eu\n    user: admin\n"
              "- name: staging\n  context:\n    cluster: staging\n    user: admin\n"
              "users:\n- name: admin\n  user:\n    token: abc123\n")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """One ``tftsr serve`` with a loopback provider, a fake kubectl first on its PATH and a
    home folder of its own."""
    root = tmp_path_factory.mktemp("shell-served")
    fake_kubectl.install(root / "bin")
    home = root / "home"
    home.mkdir()
    env = tftsr_env(root / "data", HOME=str(home),
                    PATH=f"{root / 'bin'}{os.pathsep}{os.environ['PATH']}")
    with FakeOpenAI() as fake:
        app = start_served_app(root / "data", env=env)
        try:
            app.call("add_ai_provider", name="Loopback", kind="openai", base_url=fake.base_url,
                     model="gpt-4o-mini", api_key=fake.key)
            app.fake, app.root = fake, root
            yield app
        finally:
            app.stop()


def _issue(served) -> dict:
    return served.call("create_issue", title="Payment pods restarting", severity="high",
                       category="kubernetes")["issue"]


def _propose(fake, *commands: str, then: str = "Done.") -> None:
    fake.push_reply("", tool_calls=[{"name": "run_diagnostic_command",
                                     "arguments": {"command": c, "reason": "to see why"}}
                                    for c in commands])
    fake.push_reply(then)


def _pending(served, conversation_id: str, *, seen: set, timeout: float = 30) -> dict:
    """The next approval card of the conversation that has not been answered yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for item in served.call("list_pending_approvals", conversation_id=conversation_id)["items"]:
            if item["id"] not in seen:
                seen.add(item["id"])
                return item
        time.sleep(0.05)
    raise AssertionError("no approval was requested")


def _finished(served, conversation_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = served.call("get_conversation", conversation_id=conversation_id)["messages"]
        if messages and messages[-1]["role"] == "assistant" and \
                messages[-1]["status"] != "streaming":
            return messages[-1]
        time.sleep(0.1)
    raise AssertionError("the assistant's reply did not finish")


def _tool_results(fake, since: int) -> list[str]:
    """What the provider received as tool answers in the requests after ``since``."""
    out = []
    for request in fake.chat_requests()[since:]:
        out.extend(m["content"] for m in request.json["messages"] if m["role"] == "tool")
    return out


def _runs(served, issue_id: str) -> list[dict]:
    return list(reversed(served.call("list_command_executions", issue_id=issue_id)["items"]))


def test_tier_1_runs_at_once_and_planted_secrets_reach_the_provider_redacted(served):
    fake, issue = served.fake, _issue(served)
    before = len(fake.chat_requests())
    _propose(fake, f"printf '{PLANTED}'")
    sent = served.call("chat_message", issue_id=issue["id"], content="Why are the pods restarting?")
    reply = _finished(served, sent["conversation_id"])
    assert reply["status"] == "complete"
    [result] = _tool_results(fake, before)
    assert "pods=3 restarts=17" in result
    for request in fake.chat_requests()[before:]:
        for what, secret in SECRETS.items():
            assert secret.encode() not in request.body, f"{what} reached the provider"
    assert "[Email-" in result and "[Password" in result  # pseudonyms keep it readable
    [run] = _runs(served, issue["id"])
    assert run["tier"] == 1 and run["approval_status"] == "auto" and run["exit_code"] == 0
    assert SECRETS["email"] in run["stdout"]  # the user's own copy, in the encrypted database


def test_tier_2_waits_allow_once_and_allow_for_the_session(served, tmp_path):
    fake, issue = served.fake, _issue(served)
    one, two, three = tmp_path / "one", tmp_path / "two", tmp_path / "three"
    _propose(fake, f"mkdir -p {one}", f"mkdir -p {two}", f"touch {three}")
    sent = served.call("chat_message", issue_id=issue["id"], content="Prepare the folders")
    conversation, seen = sent["conversation_id"], set()

    card = _pending(served, conversation, seen=seen)
    assert card["kind"] == "shell" and card["proposal"]["command"] == f"mkdir -p {one}"
    assert card["classification"]["tier"] == 2 and card["classification"]["reason"]
    assert card["classification"]["risk_factors"]
    assert not one.exists()
    served.call("decide_approval", approval_id=card["id"], decision="allow_session")

    card = _pending(served, conversation, seen=seen)  # mkdir two ran under the rule
    assert card["proposal"]["command"] == f"touch {three}"
    assert two.is_dir() and not three.exists()
    served.call("decide_approval", approval_id=card["id"], decision="allow_once")
    assert _finished(served, conversation)["status"] == "complete"
    assert one.is_dir() and two.is_dir() and three.exists()
    assert [r["approval_status"] for r in _runs(served, issue["id"])] == ["approved"] * 3

    [rule] = served.call("list_approval_rules", conversation_id=conversation)["items"]
    assert rule["label"] == "mkdir … (any arguments)"
    served.call("revoke_approval_rule", rule_id=rule["id"])
    assert served.call("list_approval_rules", conversation_id=conversation)["items"] == []
    log = served.call("get_audit_log", limit=100)["items"]
    decided = [e for e in log if e["action"] == "approval_decided"]
    assert len(decided) >= 3
    assert any(e["action"] == "approval_rule_revoked" for e in log)


def test_deny_leaves_it_unrun_and_tier_3_is_refused_without_asking(served, tmp_path):
    fake, issue = served.fake, _issue(served)
    denied, keep = tmp_path / "denied", tmp_path / "keep"
    keep.mkdir()
    (keep / "data.txt").write_text("important")
    before = len(fake.chat_requests())
    _propose(fake, f"mkdir -p {denied}", f"rm -rf {keep}")
    sent = served.call("chat_message", issue_id=issue["id"], content="Clean up")
    seen: set = set()
    card = _pending(served, sent["conversation_id"], seen=seen)
    assert card["proposal"]["command"] == f"mkdir -p {denied}"
    served.call("decide_approval", approval_id=card["id"], decision="deny")
    assert _finished(served, sent["conversation_id"])["status"] == "complete"
    assert served.call("list_pending_approvals")["items"] == []
    assert not denied.exists() and (keep / "data.txt").exists()
    first, second = _tool_results(fake, before)
    assert "denied by the user" in first
    assert "Refused" in second and "rm -rf" in second
    runs = _runs(served, issue["id"])
    assert [(r["tier"], r["approval_status"], r["exit_code"]) for r in runs] == \
        [(2, "denied", None), (3, "denied", None)]


def test_a_command_that_runs_too_long_is_killed_with_its_process_group(served):
    fake, issue = served.fake, _issue(served)
    served.call("update_setting", key="shell_timeout_seconds", value=2)
    mark = marker()
    before = len(fake.chat_requests())
    try:
        _propose(fake, f"sleep {mark} & sleep {mark}; wait")
        sent = served.call("chat_message", issue_id=issue["id"], content="Wait for it")
        _finished(served, sent["conversation_id"])
    finally:
        served.call("update_setting", key="shell_timeout_seconds", value=30)
    [result] = _tool_results(fake, before)
    assert json.loads(result)["timed_out"] is True
    time.sleep(0.3)
    assert survivors(mark) == []


def test_kubectl_round_trip_with_the_incidents_kubeconfig(served):
    fake, issue = served.fake, _issue(served)
    offered = served.call("detect_default_kubeconfig")
    assert offered["exists"] is False and offered["kubectl_missing"] is None
    imported = served.call("import_kubeconfig", name="clusters", content=KUBECONFIG)
    assert [c["name"] for c in imported["contexts"]] == ["prod-eu", "staging"]
    assert "abc123" not in json.dumps(imported)
    served.call("set_active_kubeconfig", kubeconfig_id=imported["id"], issue_id=issue["id"],
                context="prod-eu")
    _propose(fake, "kubectl -n payments get pods")
    sent = served.call("chat_message", issue_id=issue["id"], content="List the pods")
    _finished(served, sent["conversation_id"])
    [run] = _runs(served, issue["id"])
    lines = dict(line.split("=", 1) for line in run["stdout"].splitlines() if "=" in line)
    assert run["tier"] == 1 and run["exit_code"] == 0
    assert lines["FILE_MODE"] == "600" and lines["DIR_MODE"] == "700"
    assert lines["REGULAR"] == "True"
    assert lines["CONTEXT"] == "prod-eu"  # the context chosen for the incident
    assert lines["SECRET_ENV"] == "no"
    path = Path(lines["KUBECONFIG"])
    assert not path.exists() and not path.parent.exists()
    assert str(served.root / "data") not in str(path)


@pytest.mark.slow
def test_no_answer_within_60_seconds_is_a_deny(served, tmp_path):
    fake, issue = served.fake, _issue(served)
    silent = tmp_path / "silent"
    before = len(fake.chat_requests())
    _propose(fake, f"mkdir -p {silent}")
    sent = served.call("chat_message", issue_id=issue["id"], content="Make it")
    card = _pending(served, sent["conversation_id"], seen=set())
    assert 0 < card["seconds_left"] <= 60  # the card counts down from 60 s
    _finished(served, sent["conversation_id"], timeout=120)
    assert not silent.exists()
    assert "not answered in time" in _tool_results(fake, before)[0]
    [run] = _runs(served, issue["id"])
    assert run["approval_status"] == "denied"
