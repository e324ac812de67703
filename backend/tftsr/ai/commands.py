"""Commands for AI triage: Settings → AI Providers, the triage chat, 5-Whys proposals,
log analysis and Ollama management. The contract is in the AI command reference
(notes/contract-ai.md); streamed replies arrive as ``ai_*`` events."""

from __future__ import annotations

import re
import time

from tftsr.ai import analyze as analyze_mod
from tftsr.ai import chat, ollama_admin, registry
from tftsr.ai import whys as ai_whys
from tftsr.ai.base import ChatRequest, Message, ProviderError, SendHooks, ToolSpec, host_of
from tftsr.ai.complete import audited_hooks
from tftsr.ai.providers import PROVIDER_KINDS
from tftsr.audit import record as audit_record
from tftsr.commands import command
from tftsr.errors import InvalidArgument
from tftsr.issues.domains import DOMAIN_IDS
from tftsr.validation import Any_, Bool, Enum, Id, IdList, Str

PROVIDER_ID = Id("AI provider id")
CONVERSATION_ID = Id("conversation id")
ISSUE_ID = Id("incident id")
MESSAGE_ID = Id("message id")
PROPOSAL_ID = Id("5-Whys proposal id")
NAME = Str(min_len=1, max_len=100)
MODEL = Str(min_len=1, max_len=200)
BASE_URL = Str(min_len=1, max_len=2000, required=False)
API_KEY = Str(max_len=4096, required=False)
SETTINGS = Any_(required=False)
OLLAMA_URL = Str(min_len=1, max_len=2000, required=False)
MODEL_NAME = Str(min_len=1, max_len=200, pattern=re.compile(r"^[\w.\-:/]+$"),
                 pattern_help="letters, digits and . - : / _ only")

TEST_PROMPT = "This is a connection test from TFTSR. Reply with the single word: OK"
TOOL_TEST = ToolSpec("report_status", "Report the status of a connection test.",
                     {"type": "object", "properties": {"status": {"type": "string"}},
                      "required": ["status"]})
TOOL_PROMPT = "Call the report_status tool with status set to \"ok\". Do not answer in text."


def _changed(app, issue_id: str) -> None:
    app.events.emit("issue_changed", {"issue_id": issue_id})


def _audited_hooks(app, row: dict, purpose: str) -> SendHooks:
    """Record every outgoing body, even for tests that carry no incident data."""
    return audited_hooks(app, row, entity_type="ai_provider", entity_id=row["id"],
                         details={"purpose": purpose, "log_file_ids": []})


# -- providers --------------------------------------------------------------------------------
@command()
def list_ai_providers(app):
    """Configured providers (keys masked), the active one, and the kinds that can be added."""
    with app.db.connection() as conn:
        rows = registry.list_rows(conn)
    active = next((r["id"] for r in rows if r["is_active"]), None)
    return {"items": [registry.to_public(r) for r in rows], "active_provider_id": active,
            "kinds": registry.kinds()}


@command(provider_id=PROVIDER_ID)
def get_ai_provider(app, provider_id):
    with app.db.connection() as conn:
        return registry.to_public(registry.get_row(conn, provider_id))


@command("add_ai_provider", name=NAME, kind=Enum(PROVIDER_KINDS), base_url=BASE_URL, model=MODEL, api_key=API_KEY,
         settings=SETTINGS, make_active=Bool(default=False))
def add_ai_provider(app, name, kind, base_url, model, api_key, settings, make_active):
    """Add a provider; the API key is stored encrypted and never returned."""
    with app.db.transaction() as conn:
        provider = registry.add(app, conn, name=name, kind=kind, base_url=base_url, model=model,
                                api_key=api_key, settings=settings, make_active=make_active)
    app.events.emit("ai_providers_changed", {"provider_id": provider["id"]})
    return provider


@command("update_ai_provider", provider_id=PROVIDER_ID, name=Str(min_len=1, max_len=100, required=False), base_url=BASE_URL,
         model=Str(min_len=1, max_len=200, required=False), api_key=Str(max_len=4096, required=False,
                                                                        nullable=True),
         settings=SETTINGS, confirm_origin=Str(max_len=300, required=False))
def update_ai_provider(app, provider_id, name, base_url, model, api_key, settings, confirm_origin):
    """Change a provider. api_key: leave out to keep, "" to remove, text to replace.
    Moving the address to another host needs the key again, or confirm_origin naming the
    new origin (scheme://host:port) that may receive the stored key."""
    with app.db.transaction() as conn:
        provider = registry.update(app, conn, provider_id, name=name, base_url=base_url, model=model,
                                   api_key=api_key, settings=settings, confirm_origin=confirm_origin)
    app.events.emit("ai_providers_changed", {"provider_id": provider_id})
    return provider


@command(provider_id=PROVIDER_ID)
def delete_ai_provider(app, provider_id):
    with app.db.transaction() as conn:
        active = registry.delete(conn, provider_id)
    app.events.emit("ai_providers_changed", {"provider_id": provider_id})
    return {"deleted": True, "active_provider_id": active}


@command(provider_id=PROVIDER_ID)
def set_active_ai_provider(app, provider_id):
    with app.db.transaction() as conn:
        previous = registry.active_row(conn)
        provider = registry.set_active(conn, provider_id)
        if previous is None or previous["id"] != provider_id:
            audit_record(conn, "ai_provider_activated", "ai_provider", provider_id, {
                "name": provider["name"], "kind": provider["kind"], "model": provider["model"],
                "previous_provider_id": previous["id"] if previous else None})
    app.events.emit("ai_providers_changed", {"provider_id": provider_id})
    return provider


@command(provider_id=PROVIDER_ID)
def test_ai_provider(app, provider_id):
    """Send one tiny request; report in words whether the provider answers."""
    with app.db.connection() as conn:
        row = registry.get_row(conn, provider_id)
    client = registry.client_for(app, row)
    started = time.perf_counter()
    try:
        result = client.chat(ChatRequest([Message("user", TEST_PROMPT)], max_tokens=16),
                             hooks=_audited_hooks(app, row, "connection_test"))
    except ProviderError as exc:
        return {"ok": False, "code": exc.code, "message": exc.message, "model": row["model"],
                "latency_ms": int((time.perf_counter() - started) * 1000), "reply_preview": None}
    latency = int((time.perf_counter() - started) * 1000)
    return {"ok": True, "code": None, "model": row["model"], "latency_ms": latency,
            "message": f"{client.display_name} answered with model {row['model']} in {latency} ms.",
            "reply_preview": result.content.strip()[:200]}


@command(provider_id=PROVIDER_ID)
def list_ai_models(app, provider_id):
    """The models the provider's API lists (where it offers a list)."""
    with app.db.connection() as conn:
        row = registry.get_row(conn, provider_id)
    client = registry.client_for(app, row)
    if not client.supports_list_models:
        return {"supported": False, "models": []}
    return {"supported": True, "models": [m.to_dict() for m in client.list_models()]}


@command(provider_id=PROVIDER_ID)
def detect_tool_support(app, provider_id):
    """Ask the model to call a test tool; remember whether it can."""
    with app.db.connection() as conn:
        row = registry.get_row(conn, provider_id)
    client = registry.client_for(app, row)
    if row["kind"] == "custom_rest":
        supported, message = False, ("The custom REST gateway format has no tool calling; the 5-Whys "
                                     "are recorded from markers in replies instead.")
    else:
        request = ChatRequest([Message("user", TOOL_PROMPT)], tools=[TOOL_TEST], max_tokens=200)
        try:
            result = client.chat(request, hooks=_audited_hooks(app, row, "tool_support_test"))
        except ProviderError as exc:
            if exc.code != "ai_bad_request":
                raise
            supported = False
            message = f"{client.display_name} refused tools for model {row['model']}: {exc.message}"
        else:
            supported = any(c.name == TOOL_TEST.name for c in result.tool_calls)
            message = (f"Model {row['model']} can call tools; the 5-Whys are recorded with record_why."
                       if supported else
                       f"Model {row['model']} answered without calling the test tool; the 5-Whys "
                       "will be recorded from markers in its replies.")
    with app.db.transaction() as conn:
        registry.record_tool_support(conn, provider_id, supported)
    return {"supports_tools": supported, "message": message}


# -- conversations -------------------------------------------------------------------------------
@command(issue_id=ISSUE_ID)
def list_conversations(app, issue_id):
    with app.db.connection() as conn:
        return chat.list_conversations(conn, issue_id)


@command(issue_id=ISSUE_ID, provider_id=Id("AI provider id", required=False),
         title=Str(min_len=1, max_len=200, required=False),
         system_prompt=Str(max_len=20_000, required=False, strip=False))
def create_conversation(app, issue_id, provider_id, title, system_prompt):
    with app.db.transaction() as conn:
        provider = registry.find_row(conn, provider_id)
        conversation = chat.create(conn, issue_id=issue_id, provider_row=provider, title=title,
                                   system_prompt=system_prompt)
    _changed(app, issue_id)
    return conversation


@command(conversation_id=CONVERSATION_ID)
def get_conversation(app, conversation_id):
    """Messages (with tool calls and redaction notices), prompt and 5-Whys state."""
    with app.db.connection() as conn:
        return chat.conversation_detail(app, conn, conversation_id)


@command(conversation_id=CONVERSATION_ID, title=Str(min_len=1, max_len=200))
def rename_conversation(app, conversation_id, title):
    with app.db.transaction() as conn:
        before = chat.get_row(conn, conversation_id)
        conversation = chat.rename(conn, conversation_id, title)
        if before.get("title") != title:
            audit_record(conn, "ai_conversation_renamed", "ai_conversation", conversation_id,
                         {"issue_id": before["issue_id"], "title": title})
        return conversation


@command(conversation_id=CONVERSATION_ID)
def delete_conversation(app, conversation_id):
    chat.cancel_conversation(app, conversation_id)
    with app.db.transaction() as conn:
        issue_id = chat.get_row(conn, conversation_id)["issue_id"]
        chat.delete(conn, conversation_id)
    _changed(app, issue_id)
    return {"deleted": True}


@command(conversation_id=CONVERSATION_ID, provider_id=PROVIDER_ID)
def set_conversation_provider(app, conversation_id, provider_id):
    with app.db.transaction() as conn:
        before = chat.get_row(conn, conversation_id)
        conversation = chat.set_provider(conn, conversation_id, provider_id)
        if before.get("provider_id") != provider_id:
            provider = registry.get_row(conn, provider_id)
            audit_record(conn, "ai_conversation_provider_changed", "ai_conversation",
                         conversation_id, {"issue_id": before["issue_id"],
                                           "provider_id": provider_id, "kind": provider["kind"],
                                           "model": provider["model"],
                                           "previous_provider_id": before.get("provider_id")})
        return conversation


@command(issue_id=Id("incident id", required=False), conversation_id=Id("conversation id", required=False),
         domain=Enum(DOMAIN_IDS, required=False))
def get_system_prompt(app, issue_id, conversation_id, domain):
    with app.db.connection() as conn:
        return chat.system_prompt_view(conn, conversation_id=conversation_id, issue_id=issue_id,
                                       domain=domain)


@command(conversation_id=CONVERSATION_ID,
         prompt=Str(max_len=20_000, required=False, nullable=True, strip=False))
def set_system_prompt(app, conversation_id, prompt):
    """Override the conversation's system prompt (null or "" restores the default)."""
    with app.db.transaction() as conn:
        return chat.set_system_prompt(conn, conversation_id, (prompt or "").strip() or None)


@command(message_id=MESSAGE_ID)
def get_message_redactions(app, message_id):
    """What the PII gate removed from a typed message (shown locally only)."""
    with app.db.connection() as conn:
        return chat.message_redactions(app, conn, message_id)


# -- sending ------------------------------------------------------------------------------------
@command(content=Str(min_len=1, max_len=100_000, strip=False),
         conversation_id=Id("conversation id", required=False), issue_id=Id("incident id", required=False),
         log_file_ids=IdList("log file id", max_items=20, required=False),
         provider_id=Id("AI provider id", required=False),
         resources=Any_(required=False))
def chat_message(app, content, conversation_id, issue_id, log_file_ids, provider_id, resources):
    """Send a message (PII-gated, audited); the reply streams as ai_token … ai_done events.
    ``resources``: MCP resources to attach, ``[{"server_id": ..., "uri": ...}]`` (at most 5)."""
    result = chat.send(app, content=content, conversation_id=conversation_id, issue_id=issue_id,
                       log_file_ids=log_file_ids, provider_id=provider_id,
                       resources=_resource_refs(resources))
    return result


def _resource_refs(value) -> list[dict] | None:
    """Check the attached-resources argument: a list of {server_id, uri}."""
    if value is None:
        return None
    server_id = Id("MCP server id")
    if not isinstance(value, list) or len(value) > 5:
        raise InvalidArgument("resources must be a list of at most 5 {server_id, uri} objects.")
    refs = []
    for item in value:
        if not isinstance(item, dict) or set(item) != {"server_id", "uri"}:
            raise InvalidArgument("Each attached resource must be an object with server_id and uri.")
        uri = item["uri"]
        if not isinstance(uri, str) or not 0 < len(uri) <= 2000 or "\x00" in uri:
            raise InvalidArgument("An attached resource's uri must be text of at most 2,000 characters.")
        refs.append({"server_id": server_id.clean("server_id", item["server_id"]), "uri": uri})
    return refs


@command(message_id=MESSAGE_ID)
def stop_generation(app, message_id):
    """Stop a reply that is streaming; the connection is closed and the partial text kept."""
    result = chat.stop(app, message_id)
    if result.get("stopped"):
        with app.db.transaction() as conn:
            row = conn.execute("SELECT conversation_id FROM ai_messages WHERE id = ?",
                               (message_id,)).fetchone()
            if row is not None:
                audit_record(conn, "ai_generation_stopped", "ai_conversation",
                             row["conversation_id"], {"message_id": message_id})
    return result


# -- 5-Whys proposals -------------------------------------------------------------------------------
@command(issue_id=ISSUE_ID, status=Enum(("pending", "accepted", "dismissed"), required=False))
def list_why_proposals(app, issue_id, status):
    with app.db.connection() as conn:
        from tftsr.issues import store
        store.get(conn, issue_id)
        return {"items": ai_whys.list_proposals(conn, issue_id, status),
                "progress": ai_whys.progress(conn, issue_id)}


@command(proposal_id=PROPOSAL_ID, why_question=Str(min_len=1, max_len=2000, required=False),
         answer=Str(max_len=20_000, required=False, strip=False),
         evidence=Str(max_len=20_000, required=False, strip=False),
         mark_root_cause=Bool(required=False))
def confirm_why_proposal(app, proposal_id, why_question, answer, evidence, mark_root_cause):
    """Save a proposed why (edited or not) into the 5-Whys; records why_level_advanced."""
    with app.db.transaction() as conn:
        result = ai_whys.confirm(conn, proposal_id, why_question=why_question, answer=answer,
                                 evidence=evidence, mark_root_cause=mark_root_cause)
    _changed(app, result["proposal"]["issue_id"])
    return result


@command(proposal_id=PROPOSAL_ID)
def dismiss_why_proposal(app, proposal_id):
    with app.db.transaction() as conn:
        return ai_whys.dismiss(conn, proposal_id)


@command(issue_id=ISSUE_ID)
def get_why_progress(app, issue_id):
    with app.db.connection() as conn:
        from tftsr.issues import store
        store.get(conn, issue_id)
        return ai_whys.progress(conn, issue_id)


# -- log analysis and tools -------------------------------------------------------------------------
@command(issue_id=ISSUE_ID, log_file_ids=IdList("log file id", max_items=50, required=False),
         use_ai=Bool(default=True))
def analyze_logs(app, issue_id, log_file_ids, use_ai):
    """Local first-pass summary of the redacted logs, plus an AI summary when set up."""
    return analyze_mod.analyze(app, issue_id, log_file_ids, use_ai)


@command()
def list_ai_tools(app):
    return chat.tool_registry(app).public()


# -- Ollama ---------------------------------------------------------------------------------------
@command(base_url=OLLAMA_URL)
def ollama_status(app, base_url):
    return ollama_admin.status(app, base_url)


@command(base_url=OLLAMA_URL)
def ollama_list_models(app, base_url):
    return ollama_admin.list_models(app, base_url)


@command(model=MODEL_NAME, base_url=OLLAMA_URL)
def ollama_pull_model(app, model, base_url):
    """Start a download; progress arrives as ollama_pull_progress events."""
    result = ollama_admin.start_pull(app, base_url, model)
    with app.db.transaction() as conn:
        audit_record(conn, "ollama_pull_started", "ollama_pull", result["pull_id"],
                     {"model": model, "host": host_of(result["base_url"])})
    return result


@command(pull_id=Id("download id"))
def ollama_cancel_pull(app, pull_id):
    result = ollama_admin.cancel_pull(app, pull_id)
    with app.db.transaction() as conn:
        audit_record(conn, "ollama_pull_cancelled", "ollama_pull", pull_id, {})
    return result


@command(model=MODEL_NAME, base_url=OLLAMA_URL)
def ollama_delete_model(app, model, base_url):
    return ollama_admin.delete_model(app, base_url, model)


@command()
def detect_hardware(app):
    return ollama_admin.detect_hardware()


@command(base_url=OLLAMA_URL)
def recommend_models(app, base_url):
    """Models from the catalogue with whether this machine can run them."""
    hardware = ollama_admin.detect_hardware()
    installed: set[str] = set()
    if ollama_admin.status(app, base_url)["reachable"]:
        try:
            installed = {m["name"] for m in ollama_admin.list_models(app, base_url)["models"] if m["name"]}
        except Exception:  # noqa: BLE001 - recommendations work without the installed list
            installed = set()
    return {"hardware": hardware, "recommendations": ollama_admin.recommend(hardware, installed)}
