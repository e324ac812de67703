"""MCP tools offered to the assistant: names every provider accepts, schemas kept whole,
and a loopback provider asking for a tool — held for approval, run on allow, refused on
deny, its answer reaching the provider only after the PII gate."""

from __future__ import annotations

import json
import re
import time

import pytest
from tftsr.ai import chat
from tftsr.mcp import discovery
from tftsr.mcp.tools import model_schema

from tests.fakes.helpers import EventLog, make_fast
from tests.fakes.mcp_helpers import close_mcp_sessions, stdio_args  # noqa: F401 (autouse)

PROVIDER_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_-]{0,63}$")
KEY = "mcp_checkout_metrics_"


@pytest.fixture
def events(app):
    make_fast(app)
    log = EventLog(app)
    yield log
    chat.wait_idle(app, 30)
    log.close()


@pytest.fixture
def mcp_server(call):
    command, args = stdio_args()
    server = call("add_mcp_server", name="Checkout metrics", transport="stdio", command=command, args=args)
    assert call("discover_mcp_server", server_id=server["id"])["status"] == "connected"
    return server


def pending(call, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = call("list_pending_approvals")["items"]
        if items:
            return items
        time.sleep(0.05)
    raise AssertionError("no approval request appeared")


def mcp_audit(call):
    """MCP tool entries of the audit log, oldest first."""
    items = call("get_audit_log", limit=500)["items"]
    return [e for e in reversed(items) if e["action"].startswith("mcp_tool")]


# -- names and schemas ---------------------------------------------------------------------------------
def test_tool_keys_are_valid_for_every_provider_and_unique():
    taken: set[str] = set()
    names = ["query", "get.metrics", "search/issues", "weird name with spaces", "x" * 120, "query"]
    keys = []
    for i, name in enumerate(names):
        key = discovery.tool_key(f"server-{i % 2}", "Grafana (prod) — EU", name, taken)
        taken.add(key)
        keys.append(key)
    assert all(PROVIDER_NAME.match(k) for k in keys), keys
    assert len(set(keys)) == len(keys)
    assert keys[0] == "mcp_grafana_prod_eu_query" and keys[1] == "mcp_grafana_prod_eu_get_metrics"
    assert len(keys[4]) == 64 and keys[5] != keys[0]


def test_model_schema_inlines_definitions_and_keeps_enums():
    schema = {
        "type": "object", "title": "queryArguments",
        "properties": {"query": {"$ref": "#/$defs/Query"},
                       "severity": {"enum": ["info", "warning"], "type": "string"},
                       "tree": {"$ref": "#/$defs/Node"}},
        "required": ["query"],
        "$defs": {
            "Query": {"type": "object", "properties": {
                "expr": {"type": "string", "description": "PromQL"},
                "range": {"$ref": "#/$defs/Range"},
                "step": {"enum": ["1m", "5m"], "default": "5m"}}, "required": ["expr", "range"]},
            "Range": {"type": "object", "properties": {"start": {"type": "string"}, "end": {"type": "string"}}},
            "Node": {"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}}},
        },
    }
    out = model_schema(schema)
    assert "$defs" not in json.dumps(out) and "$ref" not in json.dumps(out)
    query = out["properties"]["query"]
    assert query["required"] == ["expr", "range"]
    assert query["properties"]["expr"] == {"type": "string", "description": "PromQL"}
    assert query["properties"]["step"] == {"enum": ["1m", "5m"], "default": "5m"}
    assert query["properties"]["range"]["properties"]["start"] == {"type": "string"}
    assert out["properties"]["severity"]["enum"] == ["info", "warning"]
    # a recursive definition stops at a plain object
    assert out["properties"]["tree"]["properties"]["children"]["items"] == {"type": "object"}
    assert model_schema(None) == {"type": "object", "properties": {}}


def test_enabled_connected_servers_tools_are_offered(call, mcp_server):
    offered = {t["name"]: t for t in call("list_ai_tools")}
    assert "record_why" in offered
    query = offered[KEY + "query_metrics"]
    params = query["parameters"]
    assert params["properties"]["severity"]["enum"] == ["info", "warning", "critical"]
    assert params["properties"]["query"]["properties"]["range"]["properties"]["end"]["description"] == \
        "RFC 3339 end time"
    assert params["properties"]["query"]["properties"]["step"]["enum"] == ["1m", "5m", "1h"]
    assert "Checkout metrics" in query["description"]
    assert offered["read_resource"]["parameters"]["properties"]["uri"]["enum"] == [
        "image://logo.png", "runbook://checkout/disk-full"]
    assert all(PROVIDER_NAME.match(name) for name in offered)
    call("set_mcp_server_enabled", server_id=mcp_server["id"], enabled=False)
    assert [t["name"] for t in call("list_ai_tools") if t["name"].startswith("mcp_") or
            t["name"] == "read_resource"] == []


# -- the assistant asks --------------------------------------------------------------------------------------
def test_a_call_waits_for_approval_runs_on_allow_and_reaches_the_provider_redacted(
        app, call, events, make_issue, provider, openai_fake, mcp_server):
    issue = make_issue()
    openai_fake.push_reply("Checking the notes.", tool_calls=[{"name": KEY + "leak_secrets", "arguments": {}}])
    openai_fake.push_reply("The notes mention a database password.")
    sent = call("chat_message", issue_id=issue["id"], content="What do the incident notes say?")
    [item] = pending(call)
    assert item["kind"] == "mcp" and item["conversation_id"] == sent["conversation_id"]
    assert item["proposal"]["tool"] == "leak_secrets" and item["proposal"]["server"] == "Checkout metrics"
    assert item["classification"]["transport"] == "stdio"
    assert [e["action"] for e in mcp_audit(call)] == []  # nothing ran yet
    call("decide_approval", approval_id=item["id"], decision="allow_once")
    kind, done = events.wait_end(sent["message_id"], timeout=60)
    assert kind == "ai_done", done
    tool_message = openai_fake.chat_requests()[1].json["messages"][-1]
    assert tool_message["role"] == "tool"
    body = tool_message["content"]
    for planted in ("Tr0ub4dor&3x", "oncall.lead@example.com", "10.20.30.40", "AKIAIOSFODNN7EXAMPLE",
                    "4111 1111 1111 1111"):
        assert planted not in body
    assert "Incident notes" in body and "[Email" in body
    entries = mcp_audit(call)
    assert [e["action"] for e in entries][-2:] == ["mcp_tool_call", "mcp_tool_result"]
    assert entries[-1]["details"]["decision"] == "allow_once"
    assert entries[-1]["details"]["origin"] == "ai" and entries[-1]["details"]["tool"] == "leak_secrets"
    assert len(entries[-1]["details"]["result_sha256"]) == 64


def test_a_denied_call_does_not_run(app, call, events, make_issue, provider, openai_fake, mcp_server):
    openai_fake.push_reply("", tool_calls=[{"name": KEY + "echo", "arguments": {"text": "hi"}}])
    openai_fake.push_reply("Understood, I will not run it.")
    sent = call("chat_message", issue_id=make_issue()["id"], content="go")
    [item] = pending(call)
    call("decide_approval", approval_id=item["id"], decision="deny")
    kind, _ = events.wait_end(sent["message_id"], timeout=60)
    assert kind == "ai_done"
    tool_message = openai_fake.chat_requests()[1].json["messages"][-1]
    assert "denied by the user" in tool_message["content"]
    assert mcp_audit(call) == []


def test_always_allow_runs_without_asking_and_can_be_revoked(
        app, call, events, make_issue, provider, openai_fake, mcp_server):
    call("set_mcp_tool_always_allow", server_id=mcp_server["id"], tool_name="add", always_allow=True)
    openai_fake.push_reply("", tool_calls=[{"name": KEY + "add", "arguments": {"a": 20, "b": 22}}])
    openai_fake.push_reply("It is 42.")
    sent = call("chat_message", issue_id=make_issue()["id"], content="add")
    kind, _ = events.wait_end(sent["message_id"], timeout=60)
    assert kind == "ai_done"
    assert json.loads(openai_fake.chat_requests()[1].json["messages"][-1]["content"])["result"] == "42"
    assert mcp_audit(call)[-1]["details"]["decision"] == "always_allow"
    tool = call("set_mcp_tool_always_allow", server_id=mcp_server["id"], tool_name="add", always_allow=False)
    assert tool["always_allow"] is False


def test_the_assistant_reads_a_resource_after_approval(
        app, call, events, make_issue, provider, openai_fake, mcp_server):
    openai_fake.push_reply("", tool_calls=[{"name": "read_resource",
                                            "arguments": {"uri": "runbook://checkout/disk-full"}}])
    openai_fake.push_reply("Follow the runbook.")
    sent = call("chat_message", issue_id=make_issue()["id"], content="disk full, what now?")
    [item] = pending(call)
    assert item["proposal"]["uri"] == "runbook://checkout/disk-full"
    call("decide_approval", approval_id=item["id"], decision="allow_once")
    kind, _ = events.wait_end(sent["message_id"], timeout=60)
    assert kind == "ai_done"
    assert "Rotate /var/log/checkout" in openai_fake.chat_requests()[1].json["messages"][-1]["content"]


def test_a_crash_during_an_approved_call_is_told_to_the_model(
        app, call, events, make_issue, provider, openai_fake, mcp_server):
    call("set_mcp_tool_always_allow", server_id=mcp_server["id"], tool_name="crash", always_allow=True)
    openai_fake.push_reply("", tool_calls=[{"name": KEY + "crash", "arguments": {}}])
    openai_fake.push_reply("The server went away; continuing without it.")
    sent = call("chat_message", issue_id=make_issue()["id"], content="go")
    kind, done = events.wait_end(sent["message_id"], timeout=60)
    assert kind == "ai_done" and done["content"].endswith("continuing without it.")
    assert "stopped" in openai_fake.chat_requests()[1].json["messages"][-1]["content"]


def test_stop_during_a_call_and_a_timeout_are_told_and_the_conversation_goes_on(
        app, call, events, make_issue, provider, openai_fake, mcp_server):
    call("set_mcp_tool_always_allow", server_id=mcp_server["id"], tool_name="hang", always_allow=True)
    openai_fake.push_reply("", tool_calls=[{"name": KEY + "hang", "arguments": {}}])
    sent = call("chat_message", issue_id=make_issue()["id"], content="wait for the slow query")
    deadline = time.monotonic() + 30
    while not [e for e in mcp_audit(call) if e["action"] == "mcp_tool_call"]:  # the call is in flight
        assert time.monotonic() < deadline, "the hang tool was not called"
        time.sleep(0.05)
    assert call("stop_generation", message_id=sent["message_id"])["stopped"] is True
    kind, done = events.wait_end(sent["message_id"], timeout=60)
    assert kind == "ai_done" and done["status"] == "stopped"
    stopped = call("get_conversation", conversation_id=sent["conversation_id"])["messages"][-1]
    [row] = stopped["tool_calls"]
    assert row["status"] == "error" and row["error"].startswith("Stopped while running the tool 'hang'")
    assert mcp_audit(call)[-1]["details"]["status"] == "mcp_cancelled"

    # the same conversation goes on; a tool that outlasts the server's timeout is told to the model
    call("update_mcp_server", server_id=mcp_server["id"], timeout_seconds=2)
    assert call("discover_mcp_server", server_id=mcp_server["id"])["status"] == "connected"
    openai_fake.push_reply("", tool_calls=[{"name": KEY + "hang", "arguments": {}}])
    openai_fake.push_reply("The metrics server is slow; carrying on without it.")
    again = call("chat_message", conversation_id=sent["conversation_id"], content="try once more")
    kind, done = events.wait_end(again["message_id"], timeout=90)
    assert kind == "ai_done" and done["content"].endswith("carrying on without it.")
    told = openai_fake.chat_requests()[-1].json["messages"][-1]["content"]
    assert "did not answer within 2 s" in told and "Settings" in told
    assert mcp_audit(call)[-1]["details"]["status"] == "mcp_timeout"


# -- resources attached to a chat message by the user -----------------------------------------------------
def test_a_resource_attached_to_a_message_reaches_the_provider_redacted(
        app, call, events, make_issue, provider, openai_fake, mcp_server):
    issue = make_issue()
    sent = call("chat_message", issue_id=issue["id"], content="Follow this runbook. Owner: ops.lead@example.com",
                resources=[{"server_id": mcp_server["id"], "uri": "runbook://checkout/disk-full"}])
    events.wait_end(sent["message_id"])
    user = openai_fake.chat_requests()[-1].json["messages"][-1]["content"]
    assert "Attached resource runbook://checkout/disk-full from Checkout metrics" in user
    assert "Rotate /var/log/checkout" in user
    assert "ops.lead@example.com" not in user and "[Email-1]" in user
    reads = [e for e in call("get_audit_log", limit=100)["items"] if e["action"] == "mcp_resource_read"]
    assert reads and reads[0]["details"]["decision"] == "user_attached"


def test_attached_resources_are_checked(call, make_issue, provider, mcp_server):
    from tftsr.errors import TftsrError

    issue = make_issue()
    for bad in ("runbook://x", [{"server_id": mcp_server["id"]}], [{"server_id": "nope", "uri": "x"}],
                [{"server_id": mcp_server["id"], "uri": "x" * 3000}],
                [{"server_id": mcp_server["id"], "uri": "u"}] * 6):
        with pytest.raises(TftsrError) as err:
            call("chat_message", issue_id=issue["id"], content="hi", resources=bad)
        assert err.value.code == "invalid_argument"


def test_a_call_is_named_by_its_server_and_its_own_tool_name(
        app, call, events, make_issue, provider, openai_fake):
    """The model is offered ``mcp_ops_http_echo``; the chat names the call as the user knows
    it (server ``ops-http``, tool ``echo``), when announced, when listed, and still once the
    server is deleted."""
    command, args = stdio_args()
    server = call("add_mcp_server", name="ops-http", transport="stdio", command=command, args=args)
    assert call("discover_mcp_server", server_id=server["id"])["status"] == "connected"
    call("set_mcp_tool_always_allow", server_id=server["id"], tool_name="echo", always_allow=True)
    key = "mcp_ops_http_echo"
    assert key in {t["name"] for t in call("list_ai_tools")}
    openai_fake.push_reply("", tool_calls=[{"name": key, "arguments": {"text": "runbook"}}])
    openai_fake.push_reply("It answered.")
    sent = call("chat_message", issue_id=make_issue()["id"], content="look it up")
    kind, _ = events.wait_end(sent["message_id"], timeout=60)
    assert kind == "ai_done"
    named = {"server": "ops-http", "tool": "echo"}
    announced = [p["tool_call"] for n, p, _ in events.items if n == "ai_tool_call"]
    assert [c["status"] for c in announced] == ["pending", "ok"]
    assert [c["offered_by"] for c in announced] == [named, named]

    def stored():
        messages = call("get_conversation", conversation_id=sent["conversation_id"])["messages"]
        return [c for m in messages for c in m["tool_calls"]]

    [made] = stored()
    assert made["tool_name"] == key and made["offered_by"] == named
    call("delete_mcp_server", server_id=server["id"])
    [made] = stored()
    assert made["offered_by"] == named  # from what the call answered
