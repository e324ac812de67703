"""Calling a tool and reading a resource: arguments gated, every call audited.

Both the user's "Try it" in Settings and the assistant's approved calls come through
here. Before anything is sent, an audit entry records the server, the tool (or URI), the
SHA-256 of the exact arguments sent and the decision that allowed the call; after it, a
second entry records the SHA-256 of the result and how the call ended.

Arguments sent to an HTTP server leave the machine, so every string in them first passes
the PII gate (:func:`outbound_text`). A stdio server runs on this machine and receives
the arguments as given.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any
from urllib.parse import urlsplit

from tftsr.audit import record as audit_record
from tftsr.egress.gate import Gate
from tftsr.errors import InvalidArgument, InvalidState
from tftsr.mcp import client, store

MAX_ARGUMENT_BYTES = 256_000


def sha256_json(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def outbound_text(app, text: str, issue_id: str | None = None) -> tuple[str, int]:
    """The PII gate for text sent to an MCP server: ``(text to send, findings)``, with the
    incident's stable placeholders when the call comes from its chat."""
    sent, removed = Gate(app, issue_id).redact(text)
    return sent, len(removed)


def gate_arguments(app, value: Any, issue_id: str | None) -> tuple[Any, int]:
    """Every string in a JSON value through :func:`outbound_text`."""
    if isinstance(value, str):
        return outbound_text(app, value, issue_id)
    if isinstance(value, list):
        out, total = [], 0
        for item in value:
            cleaned, n = gate_arguments(app, item, issue_id)
            out.append(cleaned)
            total += n
        return out, total
    if isinstance(value, dict):
        out_d, total = {}, 0
        for key, item in value.items():
            cleaned, n = gate_arguments(app, item, issue_id)
            out_d[key] = cleaned
            total += n
        return out_d, total
    return value, 0


def destination(row: dict) -> str:
    if row["transport_type"] == "stdio":
        return f"local process {row['url'].rsplit('/', 1)[-1]}"
    parts = urlsplit(row["url"])
    return f"{parts.scheme}://{parts.hostname}{':' + str(parts.port) if parts.port else ''}"


def _server_for_call(app, server_id: str) -> dict:
    with app.db.connection() as conn:
        row = store.get_row(conn, server_id)
    if not row["enabled"]:
        raise InvalidState(f"The MCP server '{row['name']}' is disabled. Enable it in Settings → MCP "
                           "servers first.", code="mcp_server_disabled")
    return row


def _check_arguments(arguments: Any) -> dict:
    if arguments is None:
        return {}
    if not isinstance(arguments, dict):
        raise InvalidArgument("arguments must be a JSON object (for example {\"query\": \"up\"}).")
    if len(json.dumps(arguments, ensure_ascii=False).encode("utf-8")) > MAX_ARGUMENT_BYTES:
        raise InvalidArgument("arguments are too large (the limit is 256 KB).")
    return arguments


def _audit(app, action: str, server_id: str, details: dict) -> None:
    with app.db.transaction() as conn:
        audit_record(conn, action, "mcp_server", server_id, details)


def call_tool(app, server_id: str, tool_name: str, arguments: Any, *, decision: str,
              origin: str = "settings", issue_id: str | None = None,
              conversation_id: str | None = None, cancel=None) -> dict:
    """Run one tool and return ``{content, structured_content, is_error, …}``.

    Raises :class:`tftsr.mcp.client.McpError` when the server cannot be reached, times
    out, is stopped or dies; a tool that reports an error returns ``is_error: true``.
    """
    row = _server_for_call(app, server_id)
    arguments = _check_arguments(arguments)
    spec = client.build_spec(app, store.connection_settings(app, row))
    redactions = 0
    if spec.transport != "stdio":
        arguments, redactions = gate_arguments(app, arguments, issue_id)
    base = {"server": row["name"], "server_id": server_id, "transport": spec.transport,
            "destination": destination(row), "tool": tool_name, "arguments_sha256": sha256_json(arguments),
            "redactions": redactions, "decision": decision, "origin": origin, "issue_id": issue_id,
            "conversation_id": conversation_id}
    _audit(app, "mcp_tool_call", server_id, base)
    started = time.perf_counter()
    try:
        result = client.call_tool(app, spec, tool_name, arguments, cancel=cancel)
    except client.McpError as exc:
        _audit(app, "mcp_tool_result", server_id, {
            **base, "status": exc.code, "error": exc.message, "result_sha256": None,
            "duration_ms": int((time.perf_counter() - started) * 1000)})
        raise
    _audit(app, "mcp_tool_result", server_id, {
        **base, "status": "tool_error" if result["is_error"] else "ok", "is_error": result["is_error"],
        "result_sha256": sha256_json(result), "duration_ms": int((time.perf_counter() - started) * 1000)})
    return {**result, "server_id": server_id, "tool_name": tool_name, "text": client.result_text(result),
            "arguments_sent": arguments if redactions else None, "redactions": redactions}


def read_resource(app, server_id: str, uri: str, *, decision: str, origin: str = "settings",
                  issue_id: str | None = None, conversation_id: str | None = None, cancel=None) -> dict:
    """Read one resource: ``{uri, contents: [{uri, mime_type, text | blob}], text}``."""
    row = _server_for_call(app, server_id)
    spec = client.build_spec(app, store.connection_settings(app, row))
    base = {"server": row["name"], "server_id": server_id, "transport": spec.transport,
            "destination": destination(row), "uri": uri, "decision": decision, "origin": origin,
            "issue_id": issue_id, "conversation_id": conversation_id}
    _audit(app, "mcp_resource_read", server_id, base)
    started = time.perf_counter()
    try:
        result = client.read_resource(app, spec, uri, cancel=cancel)
    except client.McpError as exc:
        _audit(app, "mcp_resource_result", server_id, {
            **base, "status": exc.code, "error": exc.message, "result_sha256": None,
            "duration_ms": int((time.perf_counter() - started) * 1000)})
        raise
    _audit(app, "mcp_resource_result", server_id, {
        **base, "status": "ok", "result_sha256": sha256_json(result),
        "duration_ms": int((time.perf_counter() - started) * 1000)})
    return {**result, "server_id": server_id, "text": client.result_text(result)}
