"""Discovery, tool calls and resource reads against a real MCP server built with the
official SDK (tests/fakes/mcp_server.py), over stdio and streamable HTTP (and legacy SSE),
through the real commands: schemas kept whole, errors, hangs, crashes, cancellation,
environment isolation, auth headers, redaction on the wire and the audit log."""

from __future__ import annotations

import hashlib
import json
import sys
import threading
import time

import pytest
from tftsr.errors import TftsrError
from tftsr.mcp import client, discovery

from tests.fakes.mcp_helpers import HttpMcpServer, close_mcp_sessions, free_port, stdio_args  # noqa: F401
from tests.fakes.mcp_server import PLANTED

BEARER = "mcp-test-token-7c1d9e2f4a6b8c0d"
SECRET_ENV = "s3cr3t-value-for-the-server-only"


@pytest.fixture
def stdio_server(call):
    command, args = stdio_args()
    return call("add_mcp_server", name="Checkout metrics", transport="stdio", command=command, args=args,
                env={"CHECKOUT_API_TOKEN": SECRET_ENV, "REGION": "eu-west-1"})


@pytest.fixture
def http_fake(tmp_path):
    with HttpMcpServer(tmp_path, token=BEARER) as server:
        yield server


def audit(app, prefix="mcp_"):
    with app.db.connection() as conn:
        rows = conn.execute("SELECT action, entity_id, details FROM audit_log WHERE action LIKE ?"
                            " ORDER BY seq", (prefix + "%",)).fetchall()
    return [{"action": r["action"], "entity_id": r["entity_id"], **json.loads(r["details"] or "{}")}
            for r in rows]


def error_of(call, name, /, **args) -> TftsrError:
    with pytest.raises(TftsrError) as info:
        call(name, **args)
    return info.value


# -- stdio ------------------------------------------------------------------------------------------
def test_stdio_discover_call_and_read(call, app, stdio_server):
    found = call("discover_mcp_server", server_id=stdio_server["id"])
    assert found["status"] == "connected" and found["error"] is None
    tools = {t["name"]: t for t in found["tools"]}
    assert set(tools) >= {"query_metrics", "echo", "add", "fail", "hang", "leak_secrets", "crash", "env"}
    # the whole input schema is kept: nested objects and enums
    schema = tools["query_metrics"]["input_schema"]
    assert schema["required"] == ["query", "severity"]
    assert schema["properties"]["severity"]["enum"] == ["info", "warning", "critical"]
    query = schema["$defs"]["Query"]
    assert query["properties"]["step"]["enum"] == ["1m", "5m", "1h"]
    assert schema["$defs"]["TimeRange"]["properties"]["start"]["description"] == "RFC 3339 start time"
    assert tools["query_metrics"]["description"] == "Run a metrics query over a time range."
    assert tools["query_metrics"]["tool_key"] == "mcp_checkout_metrics_query_metrics"
    resources = {r["uri"]: r for r in found["resources"]}
    assert resources["runbook://checkout/disk-full"]["name"] == "Disk full runbook"
    assert resources["runbook://checkout/disk-full"]["mime_type"] == "text/markdown"
    assert resources["image://logo.png"]["mime_type"] == "image/png"

    server = call("get_mcp_server", server_id=stdio_server["id"])
    assert server["discovery_status"] == "connected" and server["last_discovered_at"]
    assert server["tool_count"] == len(found["tools"]) and server["resource_count"] == 2

    result = call("call_mcp_tool", server_id=stdio_server["id"], tool_name="query_metrics", arguments={
        "query": {"expr": "rate(http_requests_total[5m])", "range": {"start": "2026-03-01T10:00:00Z",
                                                                       "end": "2026-03-01T11:00:00Z"},
                  "step": "1m"}, "severity": "critical"})
    assert result["is_error"] is False
    assert result["content"] == [{"type": "text", "text": (
        "rate(http_requests_total[5m]) from 2026-03-01T10:00:00Z to 2026-03-01T11:00:00Z step 1m: "
        "3 series at critical")}]
    assert result["structured_content"] == {"result": result["content"][0]["text"]}
    assert call("call_mcp_tool", server_id=stdio_server["id"], tool_name="add",
                arguments={"a": 2, "b": 40})["structured_content"] == {"result": 42}

    page = call("read_mcp_resource", server_id=stdio_server["id"], uri="runbook://checkout/disk-full")
    assert page["contents"] == [{"uri": "runbook://checkout/disk-full", "mime_type": "text/markdown",
                                 "text": "# Disk full\n1. Run `df -h`.\n2. Rotate /var/log/checkout."}]
    image = call("read_mcp_resource", server_id=stdio_server["id"], uri="image://logo.png")
    assert image["contents"][0]["mime_type"] == "image/png" and image["contents"][0]["blob"]

    entries = audit(app)
    actions = [e["action"] for e in entries]
    assert actions[:2] == ["mcp_server_added", "mcp_server_discovered"]
    assert entries[1]["status"] == "connected" and entries[1]["tools"] == len(found["tools"])
    calls = [e for e in entries if e["action"] == "mcp_tool_result"]
    assert calls[0]["tool"] == "query_metrics" and calls[0]["decision"] == "user_initiated"
    assert calls[0]["server"] == "Checkout metrics"
    assert len(calls[0]["arguments_sha256"]) == 64 and len(calls[0]["result_sha256"]) == 64
    before = [e for e in entries if e["action"] == "mcp_tool_call"]
    assert before[0]["arguments_sha256"] == calls[0]["arguments_sha256"]
    assert actions.index("mcp_tool_call") < actions.index("mcp_tool_result")
    assert [e["uri"] for e in entries if e["action"] == "mcp_resource_result"] == [
        "runbook://checkout/disk-full", "image://logo.png"]
    assert SECRET_ENV not in json.dumps(entries)


def test_a_tool_that_errors_returns_its_own_message(call, stdio_server):
    result = call("call_mcp_tool", server_id=stdio_server["id"], tool_name="fail",
                  arguments={"reason": "the payments API returned 503"})
    assert result["is_error"] is True
    assert "cannot comply: the payments API returned 503" in result["text"]


def test_unknown_tool_and_bad_arguments(call, stdio_server):
    result = call("call_mcp_tool", server_id=stdio_server["id"], tool_name="no_such_tool", arguments={})
    assert result["is_error"] is True and "no_such_tool" in result["text"]
    result = call("call_mcp_tool", server_id=stdio_server["id"], tool_name="add", arguments={"a": "two"})
    assert result["is_error"] is True
    err = error_of(call, "call_mcp_tool", server_id=stdio_server["id"], tool_name="add", arguments=[1, 2])
    assert err.code == "invalid_argument" and "JSON object" in err.message


def test_planted_secrets_come_back_to_the_user_unchanged(call, stdio_server):
    # "Try it" shows the user their own server's answer; only the model gets it gated
    result = call("call_mcp_tool", server_id=stdio_server["id"], tool_name="leak_secrets", arguments={})
    assert result["text"] == PLANTED


def test_server_environment_is_its_own(call, stdio_server, monkeypatch):
    def env(name):
        return call("call_mcp_tool", server_id=stdio_server["id"], tool_name="env",
                    arguments={"name": name})["text"]

    assert env("CHECKOUT_API_TOKEN") == SECRET_ENV  # decrypted for the server only
    assert env("REGION") == "eu-west-1"
    assert env("TFTSR_DB_KEY") == "<unset>"
    assert env("TFTSR_DATA_DIR") == "<unset>"
    assert env("HOME") != "<unset>" and env("PATH") != "<unset>"


def test_a_hanging_tool_times_out_and_the_server_keeps_working(call, stdio_server):
    call("update_mcp_server", server_id=stdio_server["id"], timeout_seconds=2)
    err = error_of(call, "call_mcp_tool", server_id=stdio_server["id"], tool_name="hang", arguments={})
    assert err.code == "mcp_timeout" and err.http_status == 504
    assert "did not answer within 2 s" in err.message and "hang" in err.message
    assert call("call_mcp_tool", server_id=stdio_server["id"], tool_name="echo",
                arguments={"text": "still here"})["text"] == "echo: still here"


def test_a_server_that_crashes_mid_call(call, app, stdio_server):
    call("discover_mcp_server", server_id=stdio_server["id"])
    err = error_of(call, "call_mcp_tool", server_id=stdio_server["id"], tool_name="crash", arguments={})
    assert err.code == "mcp_connection_lost"
    assert "'Checkout metrics' stopped" in err.message and "crash" in err.message
    assert "lost its database handle" in err.message  # its own last words, from stderr
    # the app carries on, and the next call starts the server again
    assert call("call_mcp_tool", server_id=stdio_server["id"], tool_name="echo",
                arguments={"text": "back"})["text"] == "echo: back"
    assert call("list_mcp_servers")["items"][0]["discovery_status"] == "connected"
    results = [e for e in audit(app) if e["action"] == "mcp_tool_result"]
    assert results[0]["status"] == "mcp_connection_lost" and results[0]["result_sha256"] is None


def test_a_call_can_be_cancelled(call, app, stdio_server):
    from tftsr.ai.base import Cancellation
    from tftsr.mcp import calls

    cancel = Cancellation()
    threading.Timer(0.5, cancel.cancel).start()
    with pytest.raises(client.McpCancelled):
        calls.call_tool(app, stdio_server["id"], "hang", {}, decision="user_initiated", cancel=cancel)
    assert call("call_mcp_tool", server_id=stdio_server["id"], tool_name="echo",
                arguments={"text": "after stop"})["text"] == "echo: after stop"


def test_a_server_that_exits_at_start_is_unreachable_with_its_message(call, app):
    server = call("add_mcp_server", name="Broken", transport="stdio", command=sys.executable,
                  args=["-c", "import sys; sys.stderr.write('config.yaml: no such file\\n'); sys.exit(2)"])
    found = call("discover_mcp_server", server_id=server["id"])
    assert found["status"] == "unreachable"
    assert "Broken" in found["error"] and "config.yaml: no such file" in found["error"]
    assert found["tools"] == []
    assert audit(app)[-1]["status"] == "unreachable"


def test_a_server_that_never_finishes_the_handshake_is_capped(call, monkeypatch):
    monkeypatch.setattr(client, "DISCOVERY_TIMEOUT", 3.0)
    monkeypatch.setattr(client, "CONNECT_TIMEOUT", 3.0)
    server = call("add_mcp_server", name="Silent", transport="stdio", command=sys.executable,
                  args=["-c", "import sys, time\nsys.stdin.readline()\ntime.sleep(600)"])
    started = time.monotonic()
    found = call("discover_mcp_server", server_id=server["id"])
    assert found["status"] == "unreachable" and "within 3 s" in found["error"]
    assert time.monotonic() - started < 30


def test_rediscovery_replaces_tools_and_keeps_always_allow(call, app, stdio_server):
    call("discover_mcp_server", server_id=stdio_server["id"])
    call("set_mcp_tool_always_allow", server_id=stdio_server["id"], tool_name="echo", always_allow=True)
    again = call("discover_mcp_server", server_id=stdio_server["id"])
    names = [t["name"] for t in again["tools"]]
    assert len(names) == len(set(names)) == 9
    assert {t["name"]: t["always_allow"] for t in again["tools"]}["echo"] is True
    with app.db.connection() as conn:
        assert conn.execute("SELECT count(*) AS n FROM mcp_resources").fetchone()["n"] == 2


def test_a_failed_discovery_keeps_what_was_found(call, app, stdio_server, tmp_path):
    call("discover_mcp_server", server_id=stdio_server["id"])
    broken = tmp_path / "gone.py"
    broken.write_text("import sys; sys.exit(1)\n")
    call("update_mcp_server", server_id=stdio_server["id"], args=[str(broken)])
    found = call("discover_mcp_server", server_id=stdio_server["id"])
    assert found["status"] == "unreachable" and len(found["tools"]) == 9


def test_background_discovery_at_start(call, app, stdio_server):
    second = call("add_mcp_server", name="Disabled one", transport="stdio", command=sys.executable,
                  args=["-c", "pass"], enabled=False)
    thread = discovery.start_background(app)
    thread.join(90)
    servers = {s["id"]: s for s in call("list_mcp_servers")["items"]}
    assert servers[stdio_server["id"]]["discovery_status"] == "connected"
    assert servers[second["id"]]["discovery_status"] == "pending"  # disabled: left alone


# -- HTTP -------------------------------------------------------------------------------------------------------
def test_http_discover_call_and_read_with_bearer_auth(call, app, http_fake):
    server = call("add_mcp_server", name="Remote metrics", transport="http", url=http_fake.url,
                  headers={"X-Team": "payments"}, auth_type="bearer", auth_value=BEARER)
    found = call("discover_mcp_server", server_id=server["id"])
    assert found["status"] == "connected", found["error"]
    assert {t["name"] for t in found["tools"]} >= {"query_metrics", "echo"}
    result = call("call_mcp_tool", server_id=server["id"], tool_name="echo", arguments={"text": "hello"})
    assert result["text"] == "echo: hello"
    page = call("read_mcp_resource", server_id=server["id"], uri="runbook://checkout/disk-full")
    assert page["contents"][0]["text"].startswith("# Disk full")
    seen = http_fake.requests()
    assert seen and all(r["headers"]["authorization"] == f"Bearer {BEARER}" for r in seen)
    assert all(r["headers"]["x-team"] == "payments" for r in seen)
    assert BEARER not in json.dumps(audit(app))


def test_arguments_sent_over_http_pass_the_pii_gate(call, app, http_fake):
    server = call("add_mcp_server", name="Remote", transport="http", url=http_fake.url,
                  auth_type="bearer", auth_value=BEARER)
    text = "page oncall.lead@example.com about 10.20.30.40"
    result = call("call_mcp_tool", server_id=server["id"], tool_name="echo", arguments={"text": text})
    bodies = " ".join(r["body"] for r in http_fake.requests())
    assert "oncall.lead@example.com" not in bodies and "10.20.30.40" not in bodies
    assert "echo: page [Email" in result["text"]
    assert result["redactions"] == 2 and result["arguments_sent"]["text"] != text
    entry = [e for e in audit(app) if e["action"] == "mcp_tool_call"][-1]
    assert entry["redactions"] == 2 and entry["destination"] == f"http://127.0.0.1:{http_fake.port}"
    # Every HTTP request went through the egress gate: its exact bytes were audited first.
    sent = {hashlib.sha256(r["body"].encode("utf-8")).hexdigest() for r in http_fake.requests()
            if r["body"]}
    audited = {e["request_sha256"] for e in audit(app, "egress_send") if e["purpose"] == "mcp"}
    assert sent and sent <= audited


def test_http_wrong_token_is_an_error_with_the_status(call, http_fake):
    server = call("add_mcp_server", name="Remote", transport="http", url=http_fake.url,
                  auth_type="bearer", auth_value="wrong-token-0000000000")
    found = call("discover_mcp_server", server_id=server["id"])
    assert found["status"] == "error"
    assert "HTTP 401" in found["error"] and "token" in found["error"]
    assert "wrong-token-0000000000" not in found["error"]


def test_http_server_that_is_not_there_is_unreachable(call):
    server = call("add_mcp_server", name="Gone", transport="http", url=f"http://127.0.0.1:{free_port()}/mcp")
    found = call("discover_mcp_server", server_id=server["id"])
    assert found["status"] == "unreachable" and "could not be reached" in found["error"]
    err = error_of(call, "call_mcp_tool", server_id=server["id"], tool_name="echo", arguments={"text": "x"})
    assert err.code == "mcp_unreachable"


def test_http_server_that_dies_mid_call(call, tmp_path):
    with HttpMcpServer(tmp_path) as fake:
        server = call("add_mcp_server", name="Fragile", transport="http", url=fake.url)
        call("discover_mcp_server", server_id=server["id"])
        err = error_of(call, "call_mcp_tool", server_id=server["id"], tool_name="crash", arguments={})
        assert err.code in ("mcp_connection_lost", "mcp_unreachable", "mcp_server_error")
        assert "Fragile" in err.message
    assert call("list_mcp_servers")["items"][0]["name"] == "Fragile"  # the app is fine


def test_legacy_sse_server(call, tmp_path):
    with HttpMcpServer(tmp_path, sse=True) as fake:
        server = call("add_mcp_server", name="Old server", transport="sse", url=fake.url)
        found = call("discover_mcp_server", server_id=server["id"])
        assert found["status"] == "connected", found["error"]
        assert call("call_mcp_tool", server_id=server["id"], tool_name="echo",
                    arguments={"text": "legacy"})["text"] == "echo: legacy"
