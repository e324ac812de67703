"""The triage chat: conversations and messages (``ai_conversations`` / ``ai_messages``)
and the streaming send.

:func:`send` runs on the command's thread only long enough to check and store the
user's message (after the PII gate) and an empty assistant message; the provider
request then runs on a worker thread that streams the reply as ``ai_token`` events and
finishes with ``ai_done`` or ``ai_error``. :func:`stop` cancels it for real: the HTTP
connection is shut down and the partial reply kept with status "stopped".

Token counts come from the provider's usage data: an assistant message's
``token_count`` is the reply's output tokens; a user message's is the prompt tokens
its request used (history and attached logs included, as the provider counted them).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import dataclass, field

from tftsr.ai import pii_gate, prompts, registry
from tftsr.ai import whys as ai_whys
from tftsr.ai.base import (
    Cancellation,
    Cancelled,
    ChatRequest,
    Message,
    PreparedRequest,
    ProviderError,
    SendHooks,
)
from tftsr.ai.complete import record_send
from tftsr.ai.tools import (
    MAX_ITERATIONS,
    TOOL_PROVIDERS,
    ToolContext,
    ToolRegistry,
    list_calls,
    run_tool_loop,
)
from tftsr.audit import record as audit_record
from tftsr.db.ids import now_text, uuid7
from tftsr.egress.gate import Gate, cut
from tftsr.errors import Conflict, InvalidArgument, NotFound
from tftsr.issues import store as issue_store
from tftsr.issues import whys as issue_whys
from tftsr.secrets import decrypt_secret, encrypt_secret

log = logging.getLogger(__name__)

MAX_LOG_CHARS = 200_000  # per attached log, per request
CONV_COLUMNS = "id, issue_id, provider, model, created_at, title, provider_id, system_prompt, updated_at"
MSG_COLUMNS = ("id, conversation_id, role, content, token_count, created_at, status, input_tokens,"
               " output_tokens, redactions, log_file_ids, error_code, error_message")


# -- tools available to the assistant ---------------------------------------------------------
def tool_registry(app) -> ToolRegistry:
    """The tools offered right now: record_why, any registered by other packages (shell
    diagnostics) in ``app.extras["ai_tools"]``, and those of the tool providers (the MCP
    servers enabled at this moment), asked afresh on every call."""
    reg = ToolRegistry()
    reg.register(ai_whys.RECORD_WHY)
    for tool in app.extras.get("ai_tools", []):
        reg.register(tool)
    for provide in TOOL_PROVIDERS:
        for tool in provide(app):
            if reg.get(tool.name) is None:
                reg.register(tool)
    return reg


# -- generations in flight ---------------------------------------------------------------------
@dataclass
class Generation:
    conversation_id: str
    message_id: str
    cancel: Cancellation = field(default_factory=Cancellation)
    thread: threading.Thread | None = None


_GEN_LOCK = threading.Lock()


def _generations(app) -> dict[str, Generation]:
    with _GEN_LOCK:
        return app.extras.setdefault("ai_generations", {})


def active_generation(app, message_id: str) -> Generation | None:
    return _generations(app).get(message_id)


def cancel_conversation(app, conversation_id: str) -> None:
    """Stop every reply being written in one conversation (before deleting it)."""
    for gen in list(_generations(app).values()):
        if gen.conversation_id == conversation_id:
            gen.cancel.cancel()


def wait_idle(app, timeout: float = 30.0) -> bool:
    """Wait for every running generation to finish (used at shutdown and in tests)."""
    for gen in list(_generations(app).values()):
        if gen.thread is not None:
            gen.thread.join(timeout)
    return not _generations(app)


# -- conversations ------------------------------------------------------------------------------
def conversation_to_dict(conn, row: dict) -> dict:
    stats = conn.execute("SELECT count(*) AS n, coalesce(sum(token_count), 0) AS t FROM ai_messages"
                         " WHERE conversation_id = ?", (row["id"],)).fetchone()
    name = None
    if row.get("provider_id"):
        p = conn.execute("SELECT name FROM ai_providers WHERE id = ?", (row["provider_id"],)).fetchone()
        name = p["name"] if p else None
    return {"id": row["id"], "issue_id": row["issue_id"], "provider_id": row.get("provider_id"),
            "provider": row["provider"], "provider_name": name, "model": row["model"],
            "title": row.get("title"), "created_at": row["created_at"],
            "updated_at": row.get("updated_at") or row["created_at"],
            "message_count": stats["n"], "total_tokens": stats["t"],
            "system_prompt_overridden": bool(row.get("system_prompt"))}


def get_row(conn, conversation_id: str) -> dict:
    row = conn.execute(f"SELECT {CONV_COLUMNS} FROM ai_conversations WHERE id = ?",
                       (conversation_id,)).fetchone()
    if row is None:
        raise NotFound("That conversation does not exist (it may have been deleted).")
    return row


def list_conversations(conn, issue_id: str) -> list[dict]:
    issue_store.get(conn, issue_id)
    rows = conn.execute(f"SELECT {CONV_COLUMNS} FROM ai_conversations WHERE issue_id = ?"
                        " ORDER BY coalesce(updated_at, created_at) DESC, rowid DESC", (issue_id,)).fetchall()
    return [conversation_to_dict(conn, r) for r in rows]


def create(conn, *, issue_id: str, provider_row: dict, title: str | None = None,
           system_prompt: str | None = None) -> dict:
    issue_store.get(conn, issue_id)
    now = now_text()
    if not title:
        n = conn.execute("SELECT count(*) AS n FROM ai_conversations WHERE issue_id = ?",
                         (issue_id,)).fetchone()["n"]
        title = f"Triage chat {n + 1}"
    row = {"id": uuid7(), "issue_id": issue_id, "provider": provider_row["kind"],
           "model": provider_row["model"], "created_at": now, "title": title,
           "provider_id": provider_row["id"], "system_prompt": system_prompt or None, "updated_at": now}
    conn.execute(f"INSERT INTO ai_conversations ({CONV_COLUMNS}) VALUES (:id, :issue_id, :provider,"
                 " :model, :created_at, :title, :provider_id, :system_prompt, :updated_at)", row)
    audit_record(conn, "ai_conversation_created", "ai_conversation", row["id"],
                 {"issue_id": issue_id, "provider": provider_row["kind"], "model": provider_row["model"]})
    return conversation_to_dict(conn, row)


def rename(conn, conversation_id: str, title: str) -> dict:
    get_row(conn, conversation_id)
    conn.execute("UPDATE ai_conversations SET title = ? WHERE id = ?", (title, conversation_id))
    return conversation_to_dict(conn, get_row(conn, conversation_id))


def delete(conn, conversation_id: str) -> None:
    row = get_row(conn, conversation_id)
    conn.execute("DELETE FROM ai_conversations WHERE id = ?", (conversation_id,))
    audit_record(conn, "ai_conversation_deleted", "ai_conversation", conversation_id,
                 {"issue_id": row["issue_id"], "title": row.get("title")})


def set_provider(conn, conversation_id: str, provider_id: str) -> dict:
    get_row(conn, conversation_id)
    provider = registry.get_row(conn, provider_id)
    conn.execute("UPDATE ai_conversations SET provider_id = ?, provider = ?, model = ? WHERE id = ?",
                 (provider["id"], provider["kind"], provider["model"], conversation_id))
    return conversation_to_dict(conn, get_row(conn, conversation_id))


def _domain(conn, issue_id: str) -> str | None:
    return issue_store.get(conn, issue_id).get("category")


def system_prompt_view(conn, *, conversation_id=None, issue_id=None, domain=None) -> dict:
    override = None
    if conversation_id:
        row = get_row(conn, conversation_id)
        override, issue_id = row.get("system_prompt"), row["issue_id"]
    if issue_id:
        domain = _domain(conn, issue_id)
    return prompts.prompt_view(domain, override)


def set_system_prompt(conn, conversation_id: str, prompt: str | None) -> dict:
    row = get_row(conn, conversation_id)
    conn.execute("UPDATE ai_conversations SET system_prompt = ? WHERE id = ?",
                 (prompt or None, conversation_id))
    audit_record(conn, "ai_system_prompt_changed", "ai_conversation", conversation_id,
                 {"overridden": bool(prompt),
                  "sha256": hashlib.sha256((prompt or "").encode("utf-8")).hexdigest() if prompt else None})
    return prompts.prompt_view(_domain(conn, row["issue_id"]), prompt or None)


# -- messages -------------------------------------------------------------------------------------
def _loads(value, default):
    if not value:
        return default
    try:
        return json.loads(value)
    except ValueError:
        return default


def message_to_dict(row: dict, tool_calls: list[dict] | None = None, live: bool = True) -> dict:
    status = row["status"]
    if status == "streaming" and not live:
        status = "stopped"  # the app stopped while it was streaming
    error = {"code": row["error_code"], "message": row["error_message"]} if row.get("error_code") else None
    return {"id": row["id"], "conversation_id": row["conversation_id"], "role": row["role"],
            "content": row["content"], "token_count": row["token_count"] or 0,
            "created_at": row["created_at"], "status": status, "error": error,
            "input_tokens": row.get("input_tokens"), "output_tokens": row.get("output_tokens"),
            "redactions": _loads(row.get("redactions"), []),
            "log_file_ids": _loads(row.get("log_file_ids"), []),
            "tool_calls": tool_calls or []}


def list_messages(app, conn, conversation_id: str) -> list[dict]:
    rows = conn.execute(f"SELECT {MSG_COLUMNS} FROM ai_messages WHERE conversation_id = ?"
                        " ORDER BY created_at, rowid", (conversation_id,)).fetchall()
    calls = list_calls(conn, [r["id"] for r in rows if r["role"] == "assistant"])
    live = _generations(app)
    return [message_to_dict(r, calls.get(r["id"]), live=r["id"] in live) for r in rows]


def conversation_detail(app, conn, conversation_id: str) -> dict:
    row = get_row(conn, conversation_id)
    return {"conversation": conversation_to_dict(conn, row),
            "messages": list_messages(app, conn, conversation_id),
            "system_prompt": prompts.prompt_view(_domain(conn, row["issue_id"]), row.get("system_prompt")),
            "why_proposals": ai_whys.list_proposals(conn, row["issue_id"]),
            "why_progress": ai_whys.progress(conn, row["issue_id"])}


def message_redactions(app, conn, message_id: str) -> dict:
    """What the PII gate removed from one typed message, originals included (local only)."""
    row = conn.execute("SELECT id, role, redactions, original_encrypted FROM ai_messages WHERE id = ?",
                       (message_id,)).fetchone()
    if row is None:
        raise NotFound("That message does not exist.")
    items = _loads(row["redactions"], [])
    original = decrypt_secret(app, row["original_encrypted"]) if row["original_encrypted"] else None
    for item in items:
        item["original"] = original[item["start"]:item["end"]] if original is not None else None
    return {"message_id": message_id, "items": items}


def _insert_message(conn, **values) -> dict:
    row = {"id": uuid7(), "token_count": 0, "created_at": now_text(), "status": "complete",
           "input_tokens": None, "output_tokens": None, "redactions": None,
           "original_encrypted": None, "log_file_ids": None, "error_code": None,
           "error_message": None, **values}
    conn.execute(
        "INSERT INTO ai_messages (id, conversation_id, role, content, token_count, created_at, status,"
        " input_tokens, output_tokens, redactions, original_encrypted, log_file_ids, error_code,"
        " error_message) VALUES (:id, :conversation_id, :role, :content, :token_count, :created_at,"
        " :status, :input_tokens, :output_tokens, :redactions, :original_encrypted, :log_file_ids,"
        " :error_code, :error_message)", row)
    return row


# -- building the request ---------------------------------------------------------------------------
MAX_DESCRIPTION_CHARS = 5000


def _log_block(gate: Gate, file_name: str, text: str) -> str:
    """One reviewed log for the request; its name passes the gate like any text."""
    text = cut(text, MAX_LOG_CHARS,
               f"\n[… truncated: only the first {MAX_LOG_CHARS:,} characters are attached]")
    return f"Attached log file '{gate.text(file_name)}' (reviewed and redacted):\n```\n{text}\n```"


def _issue_context(conn, issue_id: str, gate: Gate) -> str:
    """The incident's summary for the system prompt: each field redacted first, then cut."""
    issue = issue_store.get(conn, issue_id)
    lines = [f"Incident: {gate.text(issue['title'])}",
             f"Severity: {issue['severity']}; status: {issue['status']};"
             f" domain: {issue.get('category') or 'unknown'}"]
    if issue.get("description"):
        lines.append("Description: " + cut(gate.text(issue["description"]), MAX_DESCRIPTION_CHARS,
                                            " [… shortened]"))
    steps = issue_whys.list_steps(conn, issue_id)
    if steps:
        lines.append("5-Whys confirmed so far:")
        for s in steps:
            root = " (root cause)" if s["is_root_cause"] else ""
            lines.append(f"  {s['step_order']}. {s['why_question']} — {s.get('answer') or 'no answer yet'}{root}")
    return "\n".join(lines)


def build_request(app, conn, conversation: dict, provider_row: dict,
                  tools: ToolRegistry) -> tuple[ChatRequest, list[str]]:
    """The whole request for the conversation as stored (every user-written part gated).

    Returns the request and the ids of every log attached to it.
    """
    with_tools = registry.offers_tools(provider_row)
    gate = Gate(app, conversation["issue_id"])
    base = prompts.effective_prompt(_domain(conn, conversation["issue_id"]), None)
    override = conversation.get("system_prompt")
    if override:
        base = gate.text(override)
    context = gate.text(_issue_context(conn, conversation["issue_id"], gate))
    system = f"{base}\n\n{prompts.whys_instructions(with_tools)}\n\n{context}"
    messages = [Message("system", system)]
    log_ids: list[str] = []
    rows = conn.execute("SELECT role, content, status, log_file_ids FROM ai_messages WHERE"
                        " conversation_id = ? ORDER BY created_at, rowid", (conversation["id"],)).fetchall()
    for row in rows:
        if row["role"] == "user":
            parts = [row["content"]]
            for log_id in _loads(row["log_file_ids"], []):
                meta, text = pii_gate.redacted_log_text(conn, log_id, conversation["issue_id"])
                parts.append(_log_block(gate, meta["file_name"], text))
                log_ids.append(log_id)
            messages.append(Message("user", "\n\n".join(p for p in parts if p)))
        elif row["role"] == "assistant" and row["content"] and row["status"] != "streaming":
            messages.append(Message("assistant", row["content"]))
    request = ChatRequest(messages, tools.specs() if with_tools else [], session_id=conversation["id"])
    return request, list(dict.fromkeys(log_ids))


# -- sending ------------------------------------------------------------------------------------------
MAX_RESOURCE_CHARS = 50_000  # per attached MCP resource


def attached_resources(app, resources: list[dict], *, issue_id: str | None,
                       conversation_id: str | None) -> str:
    """The text of MCP resources the user attached, as blocks for their message. The
    user's click is the approval; each read is audited by the MCP package, and the text
    passes the PII gate with the rest of the message."""
    from tftsr.mcp import calls
    from tftsr.mcp import store as mcp_store

    blocks = []
    for ref in resources:
        with app.db.connection() as conn:
            server_name = mcp_store.get_row(conn, ref["server_id"])["name"]
        read = calls.read_resource(app, ref["server_id"], ref["uri"], decision="user_attached",
                                   origin="chat", issue_id=issue_id,
                                   conversation_id=conversation_id)
        text = read.get("text") or ""
        if len(text) > MAX_RESOURCE_CHARS:
            text = text[:MAX_RESOURCE_CHARS] + f"\n[… only the first {MAX_RESOURCE_CHARS:,} characters are attached]"
        blocks.append(f"Attached resource {ref['uri']} from {server_name}:"
                      f"\n```\n{text}\n```")
    return "\n\n".join(blocks)


def send(app, *, content: str, conversation_id: str | None = None, issue_id: str | None = None,
         log_file_ids: list[str] | None = None, provider_id: str | None = None,
         title: str | None = None, resources: list[dict] | None = None) -> dict:
    """Gate and store the user's message, then stream the reply on a worker thread.

    ``resources`` (``[{server_id, uri}]``) attaches MCP resources' text to the message.
    """
    log_file_ids = list(dict.fromkeys(log_file_ids or []))
    if not conversation_id and not issue_id:
        raise InvalidArgument("Give conversation_id, or issue_id to start a new conversation.")
    with app.db.connection() as conn:  # the incident decides the pseudonyms
        if conversation_id and not issue_id:
            issue_id = get_row(conn, conversation_id)["issue_id"]
        issue_store.get(conn, issue_id)
    if resources:
        content = f"{content}\n\n" + attached_resources(app, resources, issue_id=issue_id,
                                                          conversation_id=conversation_id)
    sent_content, removed = pii_gate.redact_text(content, gate=Gate(app, issue_id))
    tools = tool_registry(app)
    with app.db.transaction() as conn:
        if conversation_id:
            conversation = get_row(conn, conversation_id)
            if issue_id and conversation["issue_id"] != issue_id:
                raise InvalidArgument("That conversation belongs to another incident.")
            provider_row = registry.find_row(conn, provider_id or conversation.get("provider_id"))
        else:
            provider_row = registry.find_row(conn, provider_id)
            created = create(conn, issue_id=issue_id, provider_row=provider_row,
                             title=title or _title_from(sent_content))
            conversation = get_row(conn, created["id"])
        for gen in list(_generations(app).values()):
            if gen.conversation_id == conversation["id"]:
                raise Conflict("A reply is still being written in this conversation. Wait or stop it first.")
        for log_id in log_file_ids:  # raises log_not_reviewed naming the file
            pii_gate.redacted_log_text(conn, log_id, conversation["issue_id"])
        user = _insert_message(
            conn, conversation_id=conversation["id"], role="user", content=sent_content,
            redactions=json.dumps([r.public() for r in removed]) if removed else None,
            original_encrypted=encrypt_secret(app, content) if removed else None,
            log_file_ids=json.dumps(log_file_ids) if log_file_ids else None)
        assistant = _insert_message(conn, conversation_id=conversation["id"], role="assistant",
                                    content="", status="streaming")
        conn.execute("UPDATE ai_conversations SET updated_at = ?, provider_id = ?, provider = ?,"
                     " model = ? WHERE id = ?", (now_text(), provider_row["id"], provider_row["kind"],
                                                 provider_row["model"], conversation["id"]))
        request, all_log_ids = build_request(app, conn, conversation, provider_row, tools)
    client = registry.client_for(app, provider_row, issue_id=conversation["issue_id"])
    gen = Generation(conversation["id"], assistant["id"])
    _generations(app)[assistant["id"]] = gen
    ctx = ToolContext(app, conversation["issue_id"], conversation["id"], assistant["id"])
    worker = _Worker(app, gen, client, request, ctx, provider_row, all_log_ids, user["id"], len(removed))
    gen.thread = threading.Thread(target=worker.run, name=f"ai-{assistant['id'][:8]}", daemon=True)
    gen.thread.start()
    return {"conversation_id": conversation["id"], "message_id": assistant["id"],
            "user_message_id": user["id"], "sent_content": sent_content,
            "redactions": [r.public() for r in removed], "notice": pii_gate.notice_for(removed),
            "log_file_ids": log_file_ids}


def _title_from(text: str) -> str | None:
    words = " ".join(text.split())
    if not words:
        return None
    return words if len(words) <= 60 else words[:57].rstrip() + "…"


def stop(app, message_id: str) -> dict:
    """Cancel a streaming reply; ``stopped`` is False when it had already ended."""
    gen = active_generation(app, message_id)
    if gen is None:
        with app.db.connection() as conn:
            if conn.execute("SELECT 1 FROM ai_messages WHERE id = ?", (message_id,)).fetchone() is None:
                raise NotFound("That message does not exist.")
        return {"stopped": False}
    gen.cancel.cancel()
    return {"stopped": True}


class _Worker:
    """Runs one reply: requests (audited before each), tool calls, storage and events."""

    def __init__(self, app, gen: Generation, client, request: ChatRequest, ctx: ToolContext,
                 provider_row: dict, log_ids: list[str], user_message_id: str, redaction_count: int):
        self.app, self.gen, self.client, self.request, self.ctx = app, gen, client, request, ctx
        self.provider_row, self.log_ids = provider_row, log_ids
        self.user_message_id, self.redaction_count = user_message_id, redaction_count
        self.parts: list[str] = []
        self.ids = {"conversation_id": gen.conversation_id, "message_id": gen.message_id}

    def audit_send(self, prepared: PreparedRequest, attempt: int) -> None:
        with self.app.db.transaction() as conn:
            record_send(conn, self.provider_row, prepared, attempt, entity_type="ai_conversation",
                        entity_id=self.gen.conversation_id, log_file_ids=self.log_ids,
                        message_id=self.gen.message_id, issue_id=self.ctx.issue_id,
                        redaction_count=self.redaction_count)

    def on_text(self, delta: str) -> None:
        self.parts.append(delta)
        self.app.events.emit("ai_token", {**self.ids, "delta": delta})

    def on_tool_call(self, row: dict) -> None:
        self.app.events.emit("ai_tool_call", {**self.ids, "tool_call": row})

    def on_retry(self, attempt: int, wait: float, reason: str) -> None:
        self.app.events.emit("ai_retry", {**self.ids, "attempt": attempt, "wait_seconds": wait,
                                          "reason": reason})

    def run(self) -> None:
        hooks = SendHooks(before_send=self.audit_send, on_retry=self.on_retry)
        status, error, usage = "complete", None, None
        try:
            outcome = run_tool_loop(self.client, self.request, registry=tool_registry(self.app),
                                    ctx=self.ctx, cancel=self.gen.cancel, hooks=hooks,
                                    on_text=self.on_text, on_tool_call=self.on_tool_call,
                                    max_iterations=self.app.extras.get("ai_max_tool_rounds", MAX_ITERATIONS))
            usage = outcome.usage
        except Cancelled:
            status = "stopped"
        except ProviderError as exc:
            status, error = "error", exc
        except Exception as exc:
            log.exception("AI reply failed")
            status = "error"
            error = ProviderError("Something went wrong while talking to the AI provider. The "
                                  "details are in the application log.", code="internal")
            if isinstance(exc, pii_gate.LogNotReviewed):
                error = ProviderError(exc.message, code=exc.code)
        try:
            self.finish(status, error, usage)
        finally:
            _generations(self.app).pop(self.gen.message_id, None)

    def finish(self, status: str, error: ProviderError | None, usage) -> None:
        content = "".join(self.parts)
        new_proposals: list[dict] = list(self.ctx.extra.get("why_proposals", []))
        with self.app.db.transaction() as conn:
            conn.execute(
                "UPDATE ai_messages SET content = ?, status = ?, token_count = ?, input_tokens = ?,"
                " output_tokens = ?, error_code = ?, error_message = ? WHERE id = ?",
                (content, status, (usage.output_tokens or 0) if usage else 0,
                 usage.input_tokens if usage else None, usage.output_tokens if usage else None,
                 error.code if error else None, error.message if error else None, self.gen.message_id))
            if usage and usage.input_tokens is not None:
                conn.execute("UPDATE ai_messages SET token_count = ?, input_tokens = ? WHERE id = ?",
                             (usage.input_tokens, usage.input_tokens, self.user_message_id))
            if status == "complete" and not self.request.tools:
                new_proposals += ai_whys.record_from_markers(
                    conn, issue_id=self.ctx.issue_id, conversation_id=self.gen.conversation_id,
                    message_id=self.gen.message_id, text=content)
            conn.execute("UPDATE ai_conversations SET updated_at = ? WHERE id = ?",
                         (now_text(), self.gen.conversation_id))
            progress = ai_whys.progress(conn, self.ctx.issue_id)
        if status == "error" and error is not None:
            self.app.events.emit("ai_error", {**self.ids, "code": error.code, "message": error.message})
            return
        self.app.events.emit("ai_done", {
            **self.ids, "content": content, "status": status, "stopped": status == "stopped",
            "token_count": (usage.output_tokens or 0) if usage else 0,
            "input_tokens": usage.input_tokens if usage else None,
            "output_tokens": usage.output_tokens if usage else None,
            "why_proposals": new_proposals, "why_progress": progress})
