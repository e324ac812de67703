"""Tools the assistant may call, and the loop that runs them.

A :class:`Tool` is a name, a description, a JSON Schema for its arguments and a
handler ``handler(ctx, arguments) -> dict``. :class:`ToolRegistry` holds them; MCP tools
and shell diagnostics plug in by registering more. :func:`run_tool_loop` sends the
request, runs every tool call the model makes, feeds the results back and repeats —
at most ``max_iterations`` rounds — persisting each call and its result in
``ai_tool_calls`` and announcing both to the UI.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tftsr.ai.base import (
    Cancellation,
    ChatRequest,
    ChatResult,
    Message,
    ProviderBase,
    SendHooks,
    ToolCall,
    ToolSpec,
    Usage,
)
from tftsr.db.ids import now_text, uuid7
from tftsr.egress.gate import Gate, Redaction, cut
from tftsr.pii.spans import type_labels

log = logging.getLogger(__name__)

MAX_ITERATIONS = 6
MAX_RESULT_CHARS = 20_000


@dataclass
class ToolContext:
    """What a tool handler may use: the app, and where the call comes from."""

    app: Any
    issue_id: str
    conversation_id: str
    message_id: str
    extra: dict[str, Any] = field(default_factory=dict)
    cancel: Cancellation | None = None  # Stop: a handler waiting for approval gives up
    call_id: str | None = None  # the ai_tool_calls row of the call being handled


@dataclass
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]
    handler: Callable[[ToolContext, dict], dict]

    def spec(self) -> ToolSpec:
        return ToolSpec(self.name, self.description, self.parameters)

    def public(self) -> dict:
        return {"name": self.name, "description": self.description, "parameters": self.parameters}


class ToolError(Exception):
    """Raised by a handler to report a failure back to the model in words."""


# Functions ``provide(app) -> list[Tool]`` asked on every request, for tools that come and
# go while the app runs (the tools of the MCP servers enabled right now).
TOOL_PROVIDERS: list[Callable[[Any], list[Tool]]] = []


def tool_provider(provide: Callable[[Any], list[Tool]]) -> Callable[[Any], list[Tool]]:
    if provide not in TOOL_PROVIDERS:
        TOOL_PROVIDERS.append(provide)
    return provide


# Functions ``describe(conn, calls) -> {call id: {"server": ..., "tool": ...}}`` that name,
# for calls of a tool offered under a made-up name (an MCP server's ``mcp_<server>_<tool>``),
# the server and the tool as the user knows them; the call carries it as ``offered_by``.
CALL_DESCRIBERS: list[Callable[[Any, list[dict]], dict[str, dict]]] = []


def call_describer(describe: Callable[[Any, list[dict]], dict[str, dict]]):
    if describe not in CALL_DESCRIBERS:
        CALL_DESCRIBERS.append(describe)
    return describe


def _describe(conn, calls: list[dict]) -> None:
    for describe in CALL_DESCRIBERS:
        try:
            found = describe(conn, calls)
        except Exception:  # noqa: BLE001 - a call is shown by its offered name without it
            log.exception("could not describe tool calls")
            continue
        for c in calls:
            if c["id"] in found and not c.get("offered_by"):
                c["offered_by"] = found[c["id"]]


class ToolRegistry:
    def __init__(self) -> None:
        self._tools: dict[str, Tool] = {}

    def register(self, tool: Tool) -> Tool:
        if tool.name in self._tools:
            raise ValueError(f"tool {tool.name} registered twice")
        self._tools[tool.name] = tool
        return tool

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def specs(self) -> list[ToolSpec]:
        return [t.spec() for t in self._tools.values()]

    def public(self) -> list[dict]:
        return [t.public() for t in self._tools.values()]


# -- persistence ----------------------------------------------------------------------------
def _call_to_dict(row: dict) -> dict:
    out = dict(row)
    for key in ("arguments", "result"):
        if isinstance(out.get(key), str):
            try:
                out[key] = json.loads(out[key])
            except ValueError:
                out[key] = {"raw": out[key]}
    types = out.get("redacted_types")
    if isinstance(types, str):
        try:
            types = json.loads(types)
        except ValueError:
            types = []
    out["redacted_types"] = types if isinstance(types, list) else []
    out["redacted_labels"] = type_labels(out["redacted_types"])
    return out


# redactions / redacted_types: what the PII gate replaced in the result before the model
# saw it (migration 044; NULL while the call runs).
CALL_COLUMNS = ("id, message_id, seq, call_id, tool_name, arguments, result, status, error,"
                " created_at, completed_at, redactions, redacted_types")


def list_calls(conn, message_ids: list[str]) -> dict[str, list[dict]]:
    """Tool calls grouped by the assistant message that made them."""
    if not message_ids:
        return {}
    marks = ", ".join("?" * len(message_ids))
    rows = conn.execute(f"SELECT {CALL_COLUMNS} FROM ai_tool_calls WHERE message_id IN ({marks})"
                        " ORDER BY seq", message_ids).fetchall()
    calls = [_call_to_dict(row) for row in rows]
    _describe(conn, calls)
    out: dict[str, list[dict]] = {}
    for call in calls:
        out.setdefault(call["message_id"], []).append(call)
    return out


def _store_call(app, message_id: str, seq: int, call: ToolCall) -> dict:
    row = {"id": uuid7(), "message_id": message_id, "seq": seq, "call_id": call.id,
           "tool_name": call.name[:200], "arguments": json.dumps(call.arguments, ensure_ascii=False),
           "result": None, "status": "pending", "error": None, "created_at": now_text(),
           "completed_at": None, "redactions": None, "redacted_types": None}
    with app.db.transaction() as conn:
        conn.execute(f"INSERT INTO ai_tool_calls ({CALL_COLUMNS}) VALUES (:id, :message_id, :seq,"
                     " :call_id, :tool_name, :arguments, :result, :status, :error, :created_at,"
                     " :completed_at, :redactions, :redacted_types)", row)
        stored = _call_to_dict(row)
        _describe(conn, [stored])
    return stored


def _complete_call(app, call_row: dict, result: dict | None, error: str | None,
                   removed: list[Redaction]) -> dict:
    """Store the result (as the tool returned it; shown only on this machine) and how many
    values of which types the PII gate replaced before the model saw it."""
    status = "error" if error else "ok"
    done = now_text()
    result_text = json.dumps(result, ensure_ascii=False) if result is not None else None
    types = sorted({r.pii_type for r in removed})
    with app.db.transaction() as conn:
        conn.execute("UPDATE ai_tool_calls SET result = ?, status = ?, error = ?, completed_at = ?,"
                     " redactions = ?, redacted_types = ? WHERE id = ?",
                     (result_text, status, error, done, len(removed), json.dumps(types),
                      call_row["id"]))
    return {**call_row, "result": result, "status": status, "error": error, "completed_at": done,
            "redactions": len(removed), "redacted_types": types,
            "redacted_labels": type_labels(types)}


def execute(registry: ToolRegistry, ctx: ToolContext, call: ToolCall) -> tuple[dict | None, str | None]:
    tool = registry.get(call.name)
    if tool is None:
        return None, f"There is no tool named {call.name!r}."
    try:
        result = tool.handler(ctx, dict(call.arguments))
    except ToolError as exc:
        return None, str(exc)
    except Exception:
        log.exception("tool %s failed", call.name)
        return None, "The tool failed unexpectedly."
    return (result if isinstance(result, dict) else {"value": result}), None


# -- the loop -------------------------------------------------------------------------------
@dataclass
class LoopOutcome:
    content: str
    usage: Usage
    iterations: int
    tool_calls: list[dict]
    hit_cap: bool = False


def run_tool_loop(client: ProviderBase, request: ChatRequest, *, registry: ToolRegistry,
                  ctx: ToolContext, cancel: Cancellation, hooks: SendHooks,
                  on_text: Callable[[str], None],
                  on_tool_call: Callable[[dict], None],
                  max_iterations: int = MAX_ITERATIONS) -> LoopOutcome:
    """Converse until the model answers without calling a tool (or the cap is reached).

    ``on_text`` gets every text delta; ``on_tool_call`` every call when made and again
    with its result. Raises ProviderError / Cancelled from the provider.
    """
    messages = list(request.messages)
    ctx.cancel = cancel
    gate = Gate(ctx.app, ctx.issue_id)
    text_parts: list[str] = []
    usage = Usage(0, 0)
    made: list[dict] = []
    seq = 0
    for iteration in range(1, max_iterations + 1):
        result: ChatResult | None = None
        current = ChatRequest(messages, request.tools, request.temperature, request.max_tokens,
                              request.session_id)
        for event in client.stream_chat(current, cancel=cancel, hooks=hooks):
            if event.kind == "text":
                text_parts.append(event.text)
                on_text(event.text)
            elif event.kind == "done":
                result = event.result
        assert result is not None
        usage.input_tokens = (usage.input_tokens or 0) + (result.usage.input_tokens or 0)
        usage.output_tokens = (usage.output_tokens or 0) + (result.usage.output_tokens or 0)
        if not result.tool_calls or not request.tools:
            return LoopOutcome("".join(text_parts), usage, iteration, made)
        messages.append(Message("assistant", result.content, tool_calls=list(result.tool_calls)))
        for call in result.tool_calls:
            cancel.check()
            seq += 1
            row = _store_call(ctx.app, ctx.message_id, seq, call)
            on_tool_call(row)
            ctx.call_id = row["id"]
            try:
                output, error = execute(registry, ctx, call)
            finally:
                ctx.call_id = None
            # What a tool returns (command output, an MCP server's answer) reaches the model
            # only through the PII gate, redacted first and cut after.
            payload = json.dumps(output if error is None else {"error": error}, ensure_ascii=False)
            payload, removed = gate.redact(payload)
            row = _complete_call(ctx.app, row, output, error, removed)
            made.append(row)
            on_tool_call(row)
            messages.append(Message("tool", cut(payload, MAX_RESULT_CHARS, " [… cut]"),
                                    tool_call_id=call.id, name=call.name))
        if text_parts and not text_parts[-1].endswith("\n"):
            text_parts.append("\n\n")
            on_text("\n\n")
    log.warning("tool loop stopped after %d rounds", max_iterations)
    return LoopOutcome("".join(text_parts), usage, max_iterations, made, hit_cap=True)
