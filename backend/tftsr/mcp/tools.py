"""MCP tools and resources offered to the triage assistant.

:func:`offered_tools` is asked on every request, so what the model sees follows the
servers as they are now: every tool of every enabled, connected server, under its
``tool_key`` (``mcp_<server>_<tool>``, valid for every provider's tool-name rules), with
its full input schema (nested objects, enums, descriptions kept; ``$ref`` definitions
inlined because several providers do not resolve them). When any server has resources,
one more tool, ``read_resource``, reads them by URI.

A call the model makes runs only after the user approved it through
:mod:`tftsr.approvals` (allow once, allow this tool for the conversation, deny; no answer
in 60 s or Stop is a deny), or when the user set the tool to "always allow" in Settings.
What the server answers reaches the model through the PII gate, which
:func:`tftsr.ai.tools.run_tool_loop` applies to every tool result.
"""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

from tftsr.ai.tools import Tool, ToolContext, ToolError, call_describer, tool_provider
from tftsr.approvals import request_approval
from tftsr.mcp import calls, client

log = logging.getLogger(__name__)

READ_RESOURCE = "read_resource"
MAX_DESCRIPTION = 1024
MAX_SCHEMA_DEPTH = 12
MAX_RESULT_FOR_MODEL = 20_000
MAX_ENUM_URIS = 200


# -- schemas the providers accept ---------------------------------------------------------------------
def model_schema(schema: Any) -> dict:
    """The tool's input schema as providers take it: an object schema with local ``$ref``
    definitions inlined (a recursive one becomes a plain object), everything else kept."""
    if not isinstance(schema, dict):
        return {"type": "object", "properties": {}}
    defs = {}
    for key in ("$defs", "definitions"):
        if isinstance(schema.get(key), dict):
            defs.update({f"#/{key}/{name}": value for name, value in schema[key].items()})

    def walk(node: Any, depth: int, seen: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [walk(item, depth + 1, seen) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str):
            target = defs.get(ref)
            if target is None or ref in seen or depth > MAX_SCHEMA_DEPTH:
                out = {"type": "object"}
            else:
                out = walk(copy.deepcopy(target), depth + 1, seen + (ref,))
            extra = {k: walk(v, depth + 1, seen) for k, v in node.items() if k != "$ref"}
            return {**out, **extra} if isinstance(out, dict) else out
        return {k: walk(v, depth + 1, seen) for k, v in node.items()
                if k not in ("$defs", "definitions", "$schema", "$id")}

    out = walk(schema, 0, ())
    if not isinstance(out, dict):
        out = {}
    out["type"] = "object"
    if not isinstance(out.get("properties"), dict):
        out["properties"] = {}
    return out


# -- what the model sees ------------------------------------------------------------------------------------
def _offered_rows(app) -> tuple[list[dict], list[dict]]:
    with app.db.connection() as conn:
        tools = conn.execute(
            "SELECT t.name, t.tool_key, t.description, t.parameters, t.always_allow, s.id AS server_id,"
            " s.name AS server_name FROM mcp_tools t JOIN mcp_servers s ON s.id = t.server_id"
            " WHERE s.enabled = 1 AND s.discovery_status = 'connected' ORDER BY s.name, t.name").fetchall()
        resources = conn.execute(
            "SELECT r.uri, r.name, r.description, r.mime_type, s.id AS server_id, s.name AS server_name"
            " FROM mcp_resources r JOIN mcp_servers s ON s.id = r.server_id"
            " WHERE s.enabled = 1 AND s.discovery_status = 'connected' ORDER BY s.name, r.name").fetchall()
    return [dict(r) for r in tools], [dict(r) for r in resources]


def _description(row: dict) -> str:
    text = (row.get("description") or "").strip()
    suffix = f" (tool '{row['name']}' of the MCP server '{row['server_name']}')"
    return (text[:MAX_DESCRIPTION - len(suffix) - 1] + suffix).strip()


def _server_key(server_name: str) -> str:
    from tftsr.mcp.discovery import slug

    return slug(server_name)


@tool_provider
def offered_tools(app) -> list[Tool]:
    """Every enabled, connected server's tools, plus ``read_resource`` when there are
    resources. Cheap enough to ask on every request."""
    try:
        tool_rows, resource_rows = _offered_rows(app)
    except Exception:  # noqa: BLE001 - the chat works without MCP tools
        log.exception("could not list MCP tools for the assistant")
        return []
    offered = []
    for row in tool_rows:
        try:
            schema = json.loads(row["parameters"] or "{}")
        except ValueError:
            schema = {}
        offered.append(Tool(row["tool_key"], _description(row), model_schema(schema), _tool_handler(row)))
    if resource_rows:
        offered.append(_read_resource_tool(resource_rows))
    return offered


def _read_resource_tool(rows: list[dict]) -> Tool:
    servers = sorted({_server_key(r["server_name"]) for r in rows})
    listing = "; ".join(f"{r['uri']} ({r['name']}{', ' + r['mime_type'] if r['mime_type'] else ''}, "
                        f"server {_server_key(r['server_name'])})" for r in rows[:50])
    uri: dict[str, Any] = {"type": "string", "description": "The URI of the resource to read."}
    uris = sorted({r["uri"] for r in rows})
    if len(uris) <= MAX_ENUM_URIS:
        uri["enum"] = uris
    params = {"type": "object", "properties": {
        "uri": uri,
        "server": {"type": "string", "enum": servers,
                   "description": "The server offering it (needed only when two servers offer the same URI)."}},
        "required": ["uri"]}
    description = ("Read a resource (a runbook, a document, current data) from the team's MCP servers. "
                   f"Available: {listing}")[:MAX_DESCRIPTION]

    def handler(ctx: ToolContext, arguments: dict) -> dict:
        wanted = arguments.get("uri")
        if not isinstance(wanted, str) or not wanted:
            raise ToolError("Give the uri of one of the listed resources.")
        _, current = _offered_rows(ctx.app)
        matches = [r for r in current if r["uri"] == wanted]
        if arguments.get("server"):
            matches = [r for r in matches if _server_key(r["server_name"]) == arguments["server"]]
        if not matches:
            raise ToolError(f"No enabled MCP server offers the resource {wanted!r}.")
        if len(matches) > 1:
            raise ToolError("Several servers offer that URI; say which with 'server'.")
        row = matches[0]
        decision = _approve(
            ctx, title=f"Read {row['name']} from the MCP server {row['server_name']}",
            proposal={"server": row["server_name"], "server_id": row["server_id"], "uri": wanted},
            classification=_facts(ctx.app, row["server_id"]),
            pattern=f"mcp resource {row['server_name']} {wanted}",
            session_key=f"mcp-resources:{row['server_id']}",
            session_label=f"reading any resource of {row['server_name']}", always_allow=False)
        try:
            result = calls.read_resource(ctx.app, row["server_id"], wanted, decision=decision, origin="ai",
                                         issue_id=ctx.issue_id, conversation_id=ctx.conversation_id,
                                         cancel=ctx.cancel)
        except client.McpError as exc:
            raise ToolError(exc.message) from None
        return _for_model({"server": row["server_name"], "uri": wanted}, result["text"], False)

    return Tool(READ_RESOURCE, description, params, handler)


def _tool_handler(row: dict):
    server_id, tool_name, tool_key = row["server_id"], row["name"], row["tool_key"]

    def handler(ctx: ToolContext, arguments: dict) -> dict:
        with ctx.app.db.connection() as conn:
            current = conn.execute(
                "SELECT t.name, t.description, t.always_allow, s.name AS server_name, s.enabled FROM"
                " mcp_tools t JOIN mcp_servers s ON s.id = t.server_id WHERE t.tool_key = ?",
                (tool_key,)).fetchone()
        if current is None or not current["enabled"]:
            raise ToolError(f"The MCP tool {tool_key} is no longer available.")
        server_name = current["server_name"]
        facts = {**_facts(ctx.app, server_id), "tool_description": (current["description"] or "")[:500]}
        decision = _approve(
            ctx, title=f"Run the tool {tool_name} of the MCP server {server_name}",
            proposal={"server": server_name, "server_id": server_id, "tool": tool_name,
                      "arguments": arguments},
            classification=facts, pattern=f"mcp {server_name} {tool_name}",
            session_key=f"mcp-tool:{server_id}:{tool_name}",
            session_label=f"the tool {tool_name} of {server_name} (any arguments)",
            always_allow=bool(current["always_allow"]))
        try:
            result = calls.call_tool(ctx.app, server_id, tool_name, arguments, decision=decision, origin="ai",
                                     issue_id=ctx.issue_id, conversation_id=ctx.conversation_id,
                                     cancel=ctx.cancel)
        except client.McpError as exc:
            raise ToolError(exc.message) from None
        return _for_model({"server": server_name, "tool": tool_name}, result["text"], result["is_error"])

    return handler


@call_describer
def describe_calls(conn, calls_made: list[dict]) -> dict[str, dict]:
    """The server and the tool's own name for each call of an MCP tool (the chat shows
    "runbook.lookup on ops-http", not the key the model was offered): from the tool as
    discovered, or, once the server is gone, from what the call answered."""
    keys = sorted({c["tool_name"] for c in calls_made if c["tool_name"].startswith("mcp_")})
    known = {}
    if keys:
        rows = conn.execute(
            "SELECT t.tool_key, t.name, s.name AS server_name FROM mcp_tools t JOIN mcp_servers s"
            f" ON s.id = t.server_id WHERE t.tool_key IN ({', '.join('?' * len(keys))})",
            keys).fetchall()
        known = {r["tool_key"]: {"server": r["server_name"], "tool": r["name"]} for r in rows}
    out = {}
    for c in calls_made:
        answer = c.get("result")
        if c["tool_name"] in known:
            out[c["id"]] = known[c["tool_name"]]
        elif (c["tool_name"].startswith("mcp_") and isinstance(answer, dict)
              and isinstance(answer.get("server"), str) and isinstance(answer.get("tool"), str)):
            out[c["id"]] = {"server": answer["server"], "tool": answer["tool"]}
    return out


def _facts(app, server_id: str) -> dict:
    """What the approval card says about where the call goes."""
    with app.db.connection() as conn:
        row = conn.execute("SELECT url, transport_type, transport_config FROM mcp_servers WHERE id = ?",
                           (server_id,)).fetchone()
    if row is None:
        raise ToolError("That MCP server was deleted.")
    local = row["transport_type"] == "stdio"
    return {"transport": "stdio" if local else "http", "destination": calls.destination(dict(row)),
            "leaves_machine": not local,
            "reason": ("Runs a tool of a program on this machine." if local else
                       "Sends the arguments (after PII redaction) to a server on the network.")}


def _for_model(head: dict, text: str, is_error: bool) -> dict:
    """The result for the model (the tool loop passes it through the PII gate)."""
    if len(text) > MAX_RESULT_FOR_MODEL:
        text = text[:MAX_RESULT_FOR_MODEL] + f"\n[… {len(text) - MAX_RESULT_FOR_MODEL:,} more characters not shown]"
    return {**head, "is_error": is_error, "result": text}


# -- approval ----------------------------------------------------------------------------------------------
def _approve(ctx: ToolContext, *, title: str, proposal: dict, classification: dict, pattern: str,
             session_key: str, session_label: str, always_allow: bool) -> str:
    """Wait for the user's decision (unless the tool is set to "always allow"); returns
    the decision for the audit log, or raises ToolError telling the model it was not run."""
    if always_allow:
        return "always_allow"
    decision = request_approval(
        ctx.app, kind="mcp", title=title, proposal=proposal, classification=classification,
        pattern=pattern, session_key=session_key, session_label=session_label,
        conversation_id=ctx.conversation_id, issue_id=ctx.issue_id, message_id=ctx.message_id,
        cancel=ctx.cancel)
    if not decision.allowed:
        raise ToolError(f"Not run: the call was {decision.words()}.")
    return decision.decision
