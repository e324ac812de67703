"""MCP through a real ``tftsr serve`` process and its HTTP API: add, discover, call and
read over stdio and streamable HTTP; discovery at start; a loopback AI provider asking for
an MCP tool, held until ``decide_approval``: run on allow, refused on deny."""

from __future__ import annotations

import json
import os
import time
import uuid

import httpx
import pytest

from tests.conftest import start_served_app
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.mcp_helpers import HttpMcpServer, stdio_args
from tests.fakes.mcp_server import PLANTED

TOKEN = "serve-test-bearer-0a1b2c3d4e5f6a7b"


@pytest.fixture
def served(tmp_path):
    app = start_served_app(tmp_path / "data")
    yield app
    app.stop()


def api(served, command, /, **args):
    """POST /api/<command> (a command argument may be called ``name``)."""
    r = served.client.post(f"/api/{command}", json=args)
    assert r.status_code == 200, f"{command} -> {r.status_code}: {r.text}"
    return r.json()


def api_error(served, command, /, **args) -> dict:
    r = served.client.post(f"/api/{command}", json=args)
    assert r.status_code >= 400, r.text
    return r.json()["error"]


def wait_for(predicate, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_stdio_and_http_servers_through_the_http_api(served, tmp_path):
    command, args = stdio_args()
    local = api(served, "add_mcp_server", name="Local runbooks", transport="stdio", command=command,
                        args=args, env={"RUNBOOK_TOKEN": "rb-secret-value-123456"})
    assert local["id"] and "rb-secret-value-123456" not in json.dumps(local)
    found = api(served, "discover_mcp_server", server_id=local["id"])
    assert found["status"] == "connected"
    assert {t["name"] for t in found["tools"]} >= {"query_metrics", "echo", "hang"}
    assert api(served, "call_mcp_tool", server_id=local["id"], tool_name="echo",
                       arguments={"text": "over the API"})["content"][0]["text"] == "echo: over the API"
    page = api(served, "read_mcp_resource", server_id=local["id"], uri="runbook://checkout/disk-full")
    assert page["contents"][0]["mime_type"] == "text/markdown"

    with HttpMcpServer(tmp_path, token=TOKEN) as remote_fake:
        remote = api(served, "add_mcp_server", name="Remote metrics", transport="http", url=remote_fake.url,
                             auth_type="bearer", auth_value=TOKEN)
        assert api(served, "discover_mcp_server", server_id=remote["id"])["status"] == "connected"
        result = api(served, "call_mcp_tool", server_id=remote["id"], tool_name="query_metrics", arguments={
            "query": {"expr": "up", "range": {"start": "a", "end": "b"}}, "severity": "info"})
        assert result["is_error"] is False and "up from a to b" in result["text"]
        assert api(served, "read_mcp_resource", server_id=remote["id"],
                           uri="runbook://checkout/disk-full")["text"].startswith("# Disk full")
        assert all(r["headers"]["authorization"] == f"Bearer {TOKEN}" for r in remote_fake.requests())

    listed = api(served, "list_mcp_servers")["items"]
    assert [s["name"] for s in listed] == ["Local runbooks", "Remote metrics"]
    assert TOKEN not in json.dumps(listed) and "rb-secret-value-123456" not in json.dumps(listed)
    audit = api(served, "get_audit_log", limit=200)["items"]
    assert {"mcp_tool_call", "mcp_tool_result", "mcp_resource_read", "mcp_server_discovered"} <= {
        e["action"] for e in audit}


def test_errors_come_back_as_clean_json(served):
    error = api_error(served, "add_mcp_server", name="X", transport="stdio", command="surely-not-a-command-xyz")
    assert error["code"] == "mcp_command_not_found" and "was not found on your PATH" in error["message"]
    error = api_error(served, "add_mcp_server", name="X", transport="stdio", command="npx",
                      env={"LD_PRELOAD": "/tmp/evil.so"})
    assert error["code"] == "mcp_env_refused"
    command, args = stdio_args()
    server = api(served, "add_mcp_server", name="Slow", transport="stdio", command=command, args=args,
                         timeout_seconds=2)
    r = served.client.post("/api/call_mcp_tool", json={"server_id": server["id"], "tool_name": "hang",
                                                       "arguments": {}})
    assert r.status_code == 504 and r.json()["error"]["code"] == "mcp_timeout"
    r = served.client.post("/api/call_mcp_tool", json={"server_id": server["id"], "tool_name": "crash",
                                                       "arguments": {}})
    assert r.status_code == 502 and "Traceback" not in r.text
    assert api(served, "call_mcp_tool", server_id=server["id"], tool_name="add",
                       arguments={"a": 1, "b": 2})["structured_content"] == {"result": 3}


def test_enabled_servers_are_discovered_when_the_app_starts(tmp_path):
    data = tmp_path / "data"
    first = start_served_app(data)
    try:
        command, args = stdio_args()
        server = api(first, "add_mcp_server", name="Runbooks", transport="stdio", command=command, args=args)
        assert api(first, "get_mcp_server", server_id=server["id"])["discovery_status"] == "pending"
    finally:
        first.stop()
    second = start_served_app(data)
    try:
        # the window (here: the API) answers at once while discovery runs behind it
        assert api(second, "ping", echo="up")
        got = wait_for(lambda: (s := api(second, "get_mcp_server", server_id=server["id"]))
                       ["discovery_status"] == "connected" and s, what="background discovery")
        assert len(got["tools"]) == 9
    finally:
        second.stop()


def _chat_asking_for(served, fake, tool_name, arguments, reply):
    """A loopback provider, the test MCP server over stdio, and a chat message whose reply
    asks for ``tool_name``; returns the chat_message result and the approval request."""
    api(served, "add_ai_provider", name="Loopback", kind="openai", base_url=fake.base_url,
        model="gpt-4o-mini", api_key=fake.key)
    command, args = stdio_args()
    server = api(served, "add_mcp_server", name="Checkout metrics", transport="stdio", command=command,
                 args=args)
    found = api(served, "discover_mcp_server", server_id=server["id"])
    key = {t["name"]: t["tool_key"] for t in found["tools"]}[tool_name]
    issue = api(served, "create_issue", title="Checkout 502s", severity="high",
                category="application")["issue"]
    fake.push_reply("", tool_calls=[{"name": key, "arguments": arguments}])
    fake.push_reply(reply)
    sent = api(served, "chat_message", issue_id=issue["id"], content="Read the incident notes.")
    [item] = wait_for(lambda: api(served, "list_pending_approvals")["items"], what="an approval request")
    assert item["kind"] == "mcp" and item["proposal"]["tool"] == tool_name
    # held: the tool has not run and the provider has not heard back
    assert not [e for e in api(served, "get_audit_log", limit=200)["items"]
                if e["action"].startswith("mcp_tool")]
    assert len(fake.chat_requests()) == 1
    return sent, item


def _wait_complete(served, sent):
    wait_for(lambda: api(served, "get_conversation", conversation_id=sent["conversation_id"])
             ["messages"][-1]["status"] == "complete", what="the reply to finish")


def test_a_loopback_provider_gets_the_tool_answer_only_after_approval(served):
    fake = FakeOpenAI().start()
    try:
        sent, item = _chat_asking_for(served, fake, "leak_secrets", {}, "Done.")
        assert api(served, "decide_approval", approval_id=item["id"], decision="allow_once")["decision"] == \
            "allow_once"
        wait_for(lambda: len(fake.chat_requests()) >= 2, what="the second provider request")
        tool_message = fake.chat_requests()[1].json["messages"][-1]
        assert tool_message["role"] == "tool" and "Incident notes" in tool_message["content"]
        assert "oncall.lead@example.com" not in tool_message["content"]
        assert "Tr0ub4dor&3x" not in tool_message["content"] and PLANTED not in tool_message["content"]
        _wait_complete(served, sent)
        audit = api(served, "get_audit_log", limit=200)["items"]
        result = next(e for e in audit if e["action"] == "mcp_tool_result")
        assert result["details"]["tool"] == "leak_secrets" and result["details"]["decision"] == "allow_once"
    finally:
        fake.stop()


def test_a_denied_call_is_refused_and_the_provider_is_told(served):
    fake = FakeOpenAI().start()
    try:
        sent, item = _chat_asking_for(served, fake, "echo", {"text": "ran anyway"}, "Understood.")
        assert api(served, "decide_approval", approval_id=item["id"], decision="deny")["decision"] == "deny"
        wait_for(lambda: len(fake.chat_requests()) >= 2, what="the second provider request")
        tool_message = fake.chat_requests()[1].json["messages"][-1]
        assert tool_message["role"] == "tool" and "denied by the user" in tool_message["content"]
        assert "echo: ran anyway" not in tool_message["content"]
        _wait_complete(served, sent)
        audit = api(served, "get_audit_log", limit=200)["items"]
        assert not [e for e in audit if e["action"].startswith("mcp_tool")]  # the tool never ran
        decided = next(e for e in audit if e["action"] == "approval_decided")
        assert decided["details"]["decision"] == "deny" and decided["details"]["proposal"]["tool"] == "echo"
        assert api(served, "list_pending_approvals")["items"] == []
    finally:
        fake.stop()


def test_the_api_needs_its_token(served):
    r = httpx.post(f"{served.base_url}/api/list_mcp_servers", json={}, timeout=10)
    assert r.status_code == 401


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                if marker.encode() in fh.read():
                    found.append(int(entry))
        except OSError:
            continue
    return found


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc to find the server process")
def test_stopping_the_app_stops_its_stdio_servers(tmp_path):
    served_app = start_served_app(tmp_path / "data")
    marker = f"tftsr-mcp-test-{uuid.uuid4()}"
    try:
        command, args = stdio_args()
        server = api(served_app, "add_mcp_server", name="Runbooks", transport="stdio", command=command,
                     args=[*args, "--marker", marker])
        assert api(served_app, "discover_mcp_server", server_id=server["id"])["status"] == "connected"
        assert len(_processes_with(marker)) == 1
    finally:
        served_app.stop()
    wait_for(lambda: not _processes_with(marker), timeout=30, what="the stdio server to exit")
