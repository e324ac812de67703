"""Every state-changing command leaves an audit entry.

The registry is loaded as it is when the tests run, and every registered command is
either listed in READ_ONLY (with the reason it changes nothing) or in AUDITED; each
AUDITED command is run with valid arguments against a real app (real SQLCipher file,
loopback AI and Ollama servers) and the audit log must have grown. A command in neither
list fails the test and says what to do. The new entries must not carry secrets or the
content that was written (ids, titles and hashes are fine).
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image
from tftsr.commands import REGISTRY, dispatch, load_all
from tftsr.validation import Bool, Enum, Id, Int, Str

from tests.conftest import TEST_KEY
from tests.fakes.fake_ollama import FakeOllama
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.helpers import EventLog
from tests.fakes.mcp_helpers import stdio_args

load_all()

# Written into every text the commands below store, so that no audit entry may echo it.
CANARY = "canary-content-5f1e9b"
LOG_TEXT = (f"2026-03-01 09:10:01 ERROR {CANARY} upstream timeout for ops@example.com "
            "from 10.1.2.3\n2026-03-01 09:10:02 INFO retrying\n")

# -- what changes nothing ---------------------------------------------------------------------
READ_ONLY: dict[str, str] = {
    "ping": "echoes its argument",
    "get_app_info": "reports version, paths and where the key comes from",
    "get_audit_log": "reads the audit log",
    "verify_audit": "reads the audit log and the rows it describes",
    "get_settings": "reads the settings",
    "get_issue": "reads one incident",
    "list_issues": "reads incidents",
    "search_issues": "reads the search index",
    "list_five_whys": "reads the 5-Whys",
    "get_timeline_events": "reads the timeline",
    "get_dashboard": "reads counts",
    "get_related_incidents": "reads the search index and the similar incidents' outcomes",
    "list_documents": "reads documents",
    "get_document": "reads one document",
    "render_markdown": "turns the given Markdown into HTML; stores nothing",
    "list_action_items": "reads action items",
    "list_all_action_items": "reads action items",
    "list_log_files": "reads log files",
    "list_all_log_files": "reads log files",
    "get_log_file_content": "reads a page of a log",
    "get_pii_spans": "reads findings",
    "list_image_attachments": "reads images",
    "list_all_image_attachments": "reads images",
    "get_image_attachment": "reads one image",
    "sign_image_urls": "signs image addresses for the running server; stores nothing",
    "list_ai_providers": "reads providers (keys masked)",
    "get_ai_provider": "reads one provider (key masked)",
    "list_conversations": "reads conversations",
    "get_conversation": "reads one conversation",
    "get_system_prompt": "reads the effective prompt",
    "get_message_redactions": "reads what the PII gate removed from a message",
    "list_why_proposals": "reads proposals",
    "get_why_progress": "reads 5-Whys progress",
    "list_ai_tools": "lists the tools offered to the AI",
    "detect_hardware": "reads this machine's CPU, memory and GPU",
    "list_ai_models": "asks the provider for its model list; stores and changes nothing",
    "ollama_status": "asks Ollama whether it runs; stores and changes nothing",
    "ollama_list_models": "asks Ollama for its models; stores and changes nothing",
    "recommend_models": "reads hardware and Ollama's models; stores and changes nothing",
    "list_mcp_servers": "reads MCP servers (secrets masked)",
    "get_mcp_server": "reads one MCP server with its tools and resources",
    "list_pending_approvals": "reads the proposals waiting for an answer",
    "list_approval_rules": "reads the allow-for-this-session rules",
    "list_command_executions": "reads the commands run for an incident",
    "list_kubeconfigs": "reads imported kubeconfigs (never their content)",
    "detect_default_kubeconfig": "reads whether ~/.kube/config exists; imports nothing",
    "classify_command": "classifies a command without running it",
    "get_incident_kubeconfig": "reads which kubeconfig an incident's kubectl runs use",
    "list_integrations": "reads the integrations' settings (a token only as set and its last four)",
    "get_integration_links": "reads which remote records an incident's records became",
    "get_passphrase_status": "reports whether the key comes from a passphrase (never the key)",
    "get_launcher_status": "reports whether this computer's app launcher exists and what it starts",
}


KUBECONFIG = ("apiVersion: v1\nkind: Config\ncurrent-context: prod\n"
              "clusters:\n- name: prod\n  cluster:\n    server: https://10.20.0.1:6443\n"
              "contexts:\n- name: prod\n  context:\n    cluster: prod\n    user: admin\n"
              "users:\n- name: admin\n  user:\n    token: abc123\n")


# -- the world the commands run in -------------------------------------------------------------
class World:
    """One real app with a provider on a loopback OpenAI server and a loopback Ollama; each
    helper makes a fresh target, so every command works on its own data."""

    def __init__(self, app, openai: FakeOpenAI, ollama: FakeOllama, tmp: Path):
        self.app, self.openai, self.ollama, self.tmp = app, openai, ollama, tmp
        self.events = EventLog(app)
        self.counter = 0
        self.waiting: list[threading.Thread] = []
        self.first_provider = self.provider()  # the active one

    def call(self, name: str, /, **args):
        return dispatch(self.app, name, args)

    def audit_count(self) -> int:
        with self.app.db.connection() as conn:
            return conn.execute("SELECT count(*) AS n FROM audit_log").fetchone()["n"]

    def entries_after(self, count: int) -> list[dict]:
        with self.app.db.connection() as conn:
            return [dict(r) for r in conn.execute(
                "SELECT action, entity_type, entity_id, details FROM audit_log WHERE seq > ?"
                " ORDER BY seq", (count,))]

    def unique(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix} {self.counter}"

    # fresh targets
    def issue(self) -> str:
        return self.call("create_issue", title=self.unique("Checkout returns 502"),
                         severity="high", category="application")["issue"]["id"]

    def provider(self) -> str:
        return self.call("add_ai_provider", name=self.unique("Team OpenAI"), kind="openai",
                         base_url=self.openai.base_url, model="gpt-4o-mini",
                         api_key=self.openai.key)["id"]

    def conversation(self) -> str:
        return self.call("create_conversation", issue_id=self.issue())["id"]

    def step(self, issue_id: str | None = None) -> str:
        return self.call("add_five_why", issue_id=issue_id or self.issue(),
                         why_question="Why did the gateway time out?")["id"]

    def document(self) -> str:
        return self.call("generate_rca", issue_id=self.issue())["id"]

    def action_item(self) -> str:
        return self.call("create_action_item", issue_id=self.issue(), title="Add backoff",
                         kind="immediate")["id"]

    def event(self) -> str:
        return self.call("add_timeline_event", issue_id=self.issue(), event_type="note",
                         description="Paged the owner")["id"]

    def log(self, issue_id: str | None = None) -> str:
        from tftsr.evidence.ingest import ingest_log

        text = LOG_TEXT + f"{self.unique('line')}\n"
        return ingest_log(self.app, issue_id or self.issue(), "gateway.log",
                          [text.encode("utf-8")])["log_file"]["id"]

    def reviewed_log(self, issue_id: str | None = None) -> str:
        log_id = self.log(issue_id)
        for pii_type in self.call("get_pii_spans", log_file_id=log_id)["by_type"]:
            self.call("set_pii_type_status", log_file_id=log_id, pii_type=pii_type,
                      status="approved")
        self.call("apply_redactions", log_file_id=log_id)
        return log_id

    def image(self) -> str:
        from tftsr.evidence.images import ingest_image

        return ingest_image(self.app, self.issue(), "graph.png", [self.png()], is_paste=False,
                            acknowledged=True)["image"]["id"]

    def png(self) -> bytes:
        self.counter += 1
        buf = io.BytesIO()
        Image.new("RGB", (20, 10), (self.counter % 256, 40, 40)).save(buf, format="PNG")
        return buf.getvalue()

    def proposal(self) -> str:
        from tftsr.ai import whys

        issue_id = self.issue()
        with self.app.db.transaction() as conn:
            return whys.propose(conn, issue_id=issue_id, conversation_id=None, message_id=None,
                                question="Why did retries pile up?", answer=None, evidence=None,
                                is_root_cause=False, source="marker")["id"]

    def mcp_server(self) -> str:
        command, args = stdio_args()
        return self.call("add_mcp_server", name=self.unique("Checkout metrics"),
                         transport="stdio", command=command, args=args)["id"]

    def kubeconfig(self) -> str:
        return self.call("import_kubeconfig", name=self.unique("prod"), content=KUBECONFIG)["id"]

    def integration(self, service: str) -> str:
        """The service set up against its loopback fake (started on first use)."""
        from tests.fakes.fake_azure_devops import FakeAzureDevOps
        from tests.fakes.fake_confluence import FakeConfluence
        from tests.fakes.fake_servicenow import FakeServiceNow

        fakes = self.__dict__.setdefault("integration_fakes", {})
        if service not in fakes:
            fakes[service] = {"confluence": FakeConfluence, "servicenow": FakeServiceNow,
                              "azuredevops": FakeAzureDevOps}[service]().start()
        self.call("save_integration", **fakes[service].settings())
        return service

    def with_integration(self, service: str, target: str) -> str:
        self.integration(service)
        return target

    def issue_with_action_item(self) -> str:
        issue_id = self.issue()
        self.call("create_action_item", issue_id=issue_id, title="Add backoff", kind="immediate")
        return issue_id

    def external_incident(self) -> str:
        """A resolved incident with its ServiceNow record."""
        issue_id = self.issue()
        self.integration("servicenow")
        self.call("create_external_incident", issue_id=issue_id)
        self.call("set_issue_status", issue_id=issue_id, status="resolved")
        return issue_id

    def discovered_mcp_server(self) -> str:
        server_id = self.mcp_server()
        assert self.call("discover_mcp_server", server_id=server_id)["status"] == "connected"
        return server_id

    def pending_approval(self, conversation_id: str | None = None) -> str:
        """A shell proposal waiting for an answer, asked on a worker thread as the AI would."""
        from tftsr.approvals import request_approval

        conversation_id = conversation_id or self.conversation()
        command = f"kubectl -n payments rollout restart deploy/{self.unique('api').replace(' ', '-')}"
        thread = threading.Thread(target=request_approval, daemon=True, kwargs=dict(
            app=self.app, kind="shell", title="Run a shell command", proposal={"command": command},
            classification={"tier": 2, "reason": "restarts pods", "risk_factors": ["restart"]},
            pattern=command, session_key=command, session_label="kubectl rollout restart …",
            conversation_id=conversation_id, issue_id=None, cancel=None))
        thread.start()
        self.waiting.append(thread)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for asked in self.events.named("approval_requested", conversation_id=conversation_id):
                if asked["proposal"]["command"] == command:
                    return asked["id"]
            time.sleep(0.02)
        raise AssertionError(f"no approval was requested for {command}")

    def approval_rule(self) -> str:
        conversation_id = self.conversation()
        self.call("decide_approval", approval_id=self.pending_approval(conversation_id),
                  decision="allow_session")
        self.answered({}, None)  # the asking thread stores the rule as it resumes
        return self.call("list_approval_rules", conversation_id=conversation_id)["items"][0]["id"]

    def answered(self, _args: dict, _result) -> None:
        for thread in self.waiting:
            thread.join(30)
        self.waiting.clear()

    def desktop_dialog(self, path: Path) -> None:
        self.app.mode, self.app.open_dialog = "desktop", lambda types, multiple: [str(path)]

    def browser_again(self, _args: dict, _result) -> None:
        self.app.mode, self.app.open_dialog = "browser", None

    # waiting for work that ends on a worker thread
    def reply_ended(self, args: dict, result: dict) -> None:
        self.events.wait_end(result.get("message_id") or args["message_id"], timeout=30)
        from tftsr.ai import chat

        assert chat.wait_idle(self.app, 30)

    def draft_ended(self, _args: dict, _result) -> None:
        from tftsr.docs import ai_draft

        ai_draft.wait_idle(self.app, 30)

    def pull_ended(self, _args: dict, result: dict) -> None:
        self.events.wait("ollama_pull_progress", timeout=30, pull_id=result["pull_id"], done=True)


@dataclass(frozen=True)
class Case:
    """How to run one state-changing command: its arguments (made fresh from the world,
    before the audit log is counted) and, for work that ends on a worker thread, what to
    wait for before counting again."""

    args: Callable[[World], dict] | None = None  # None: built from the declared parameters
    settle: Callable[[World, dict, object], None] | None = None


def _streaming_reply(w: World) -> dict:
    w.openai.push_reply("alpha beta gamma delta")
    w.openai.push_failure("stall", after_tokens=1)
    sent = w.call("chat_message", issue_id=w.issue(), content=f"What changed? {CANARY}")
    w.events.wait("ai_token", message_id=sent["message_id"], delta="alpha ")
    return {"message_id": sent["message_id"]}


def _running_draft(w: World) -> dict:
    w.openai.push_reply("alpha beta gamma delta")
    w.openai.push_failure("stall", after_tokens=1)
    draft = w.call("draft_document_with_ai", document_id=w.document())
    w.events.wait("document_draft_progress", draft_id=draft["draft_id"])
    return {"draft_id": draft["draft_id"]}


def _running_pull(w: World) -> dict:
    w.ollama.push_failure("stall")
    pull = w.call("ollama_pull_model", model="qwen2.5:14b", base_url=w.ollama.base_url)
    w.events.wait("ollama_pull_progress", pull_id=pull["pull_id"], status="pulling abc123")
    return {"pull_id": pull["pull_id"]}


def _dialog_file(w: World, name: str, data: bytes) -> Path:
    path = w.tmp / w.unique("pick").replace(" ", "-") / name
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    return path


def _log_dialog(w: World) -> dict:
    w.desktop_dialog(_dialog_file(w, "app.log", LOG_TEXT.encode()))
    return {"issue_id": w.issue()}


def _image_dialog(w: World) -> dict:
    w.desktop_dialog(_dialog_file(w, "shot.png", w.png()))
    return {"issue_id": w.issue(), "pii_warning_acknowledged": True}


def _decided_log(w: World) -> dict:
    log_id = w.log()
    for pii_type in w.call("get_pii_spans", log_file_id=log_id)["by_type"]:
        w.call("set_pii_type_status", log_file_id=log_id, pii_type=pii_type, status="rejected")
    return {"log_file_id": log_id}


def _span_ids(w: World) -> dict:
    spans = w.call("get_pii_spans", log_file_id=w.log())["spans"]
    return {"span_ids": [s["id"] for s in spans], "status": "approved"}


def _type_status(w: World) -> dict:
    log_id = w.log()
    pii_type = next(iter(w.call("get_pii_spans", log_file_id=log_id)["by_type"]))
    return {"log_file_id": log_id, "pii_type": pii_type, "status": "approved"}


def _two_steps(w: World) -> dict:
    issue_id = w.issue()
    first, second = w.step(issue_id), w.step(issue_id)
    return {"issue_id": issue_id, "step_ids": [second, first]}


def _analysis(w: World) -> dict:
    issue_id = w.issue()
    w.reviewed_log(issue_id)
    return {"issue_id": issue_id, "use_ai": True}


PASSPHRASES = ("first passphrase 1", "second passphrase 2")


def _passphrase(w: World, on: bool) -> str | None:
    """Switch the world's database into or out of passphrase mode; the current passphrase."""
    current = getattr(w, "passphrase", None)
    if on and current is None:
        w.call("enable_passphrase", passphrase=PASSPHRASES[0])
        w.passphrase = PASSPHRASES[0]
    elif not on and current is not None:
        w.call("disable_passphrase", current=current)
        w.passphrase = None
    return getattr(w, "passphrase", None)


def _enable_args(w: World) -> dict:
    _passphrase(w, False)
    return {"passphrase": PASSPHRASES[0]}


def _change_args(w: World) -> dict:
    current = _passphrase(w, True)
    return {"current": current, "new": PASSPHRASES[1 - PASSPHRASES.index(current)]}


def _remember_passphrase(w: World, args: dict, _result) -> None:
    w.passphrase = args.get("passphrase") or args.get("new")


# -- what changes something, and how to run it -------------------------------------------------
AUDITED: dict[str, Case] = {
    # passphrase mode (re-keys the world's database) and the OS launcher
    "enable_passphrase": Case(_enable_args, _remember_passphrase),
    "change_passphrase": Case(_change_args, _remember_passphrase),
    "disable_passphrase": Case(lambda w: {"current": _passphrase(w, True)},
                               lambda w, args, result: setattr(w, "passphrase", None)),
    "install_launcher": Case(lambda w: {}),
    "uninstall_launcher": Case(lambda w: {}),
    # audit and settings
    "export_audit_log": Case(),
    "update_setting": Case(lambda w: {"key": "theme", "value": "dark"}),
    # incidents, 5-Whys, timeline
    "create_issue": Case(),
    "update_issue": Case(lambda w: {"issue_id": w.issue(), "title": w.unique("Renamed")}),
    "set_issue_status": Case(lambda w: {"issue_id": w.issue(), "status": "investigating"}),
    "delete_issue": Case(),
    "add_five_why": Case(),
    "update_five_why": Case(lambda w: {"step_id": w.step(), "answer": f"Backoff was off {CANARY}"}),
    "reorder_five_whys": Case(_two_steps),
    "delete_five_why": Case(),
    "set_root_cause": Case(),
    "add_timeline_event": Case(),
    "update_timeline_event": Case(lambda w: {"event_id": w.event(),
                                             "description": f"Rolled back {CANARY}",
                                             "occurred_at": "2026-01-02 03:04:05"}),
    "delete_timeline_event": Case(),
    "set_issue_milestones": Case(lambda w: {"issue_id": w.issue(),
                                            "impact_started": "2026-01-02 03:00",
                                            "detected": "2026-01-02 03:05"}),
    # documents and action items
    "generate_rca": Case(),
    "generate_postmortem": Case(),
    "update_document": Case(lambda w: {"document_id": w.document(), "title": w.unique("RCA"),
                                       "content_md": f"# RCA\n\n{CANARY} was the cause.\n"}),
    "delete_document": Case(),
    "export_document": Case(),
    "create_action_item": Case(),
    "update_action_item": Case(lambda w: {"action_item_id": w.action_item(), "status": "done"}),
    "delete_action_item": Case(),
    "draft_document_with_ai": Case(settle=World.draft_ended),
    "cancel_document_draft": Case(_running_draft, settle=World.draft_ended),
    # evidence and PII review
    "delete_log_file": Case(),
    "detect_pii": Case(lambda w: {"log_file_id": w.log()}),
    "set_pii_span_status": Case(_span_ids),
    "set_pii_type_status": Case(_type_status),
    "add_pii_span": Case(lambda w: {"log_file_id": w.log(), "start": 20, "end": 40}),
    "apply_redactions": Case(_decided_log),
    "delete_image_attachment": Case(),
    "open_log_files_dialog": Case(_log_dialog, settle=World.browser_again),
    "open_image_files_dialog": Case(_image_dialog, settle=World.browser_again),
    # AI providers, conversations, sending
    "add_ai_provider": Case(lambda w: {"name": w.unique("Gateway"), "kind": "openai",
                                       "base_url": w.openai.base_url, "model": "gpt-4o-mini",
                                       "api_key": w.openai.key}),
    "update_ai_provider": Case(lambda w: {"provider_id": w.provider(), "model": "gpt-4o"}),
    "delete_ai_provider": Case(),
    "set_active_ai_provider": Case(),
    "test_ai_provider": Case(),
    "detect_tool_support": Case(),
    "create_conversation": Case(),
    "rename_conversation": Case(),
    "delete_conversation": Case(),
    "set_conversation_provider": Case(),
    "set_system_prompt": Case(lambda w: {"conversation_id": w.conversation(),
                                         "prompt": f"You are terse. {CANARY}"}),
    "chat_message": Case(lambda w: {"issue_id": w.issue(), "content": f"Why? {CANARY}"},
                         settle=World.reply_ended),
    "stop_generation": Case(_streaming_reply, settle=World.reply_ended),
    "confirm_why_proposal": Case(),
    "dismiss_why_proposal": Case(),
    "analyze_logs": Case(_analysis, settle=World.reply_ended),
    # Ollama administration
    "ollama_pull_model": Case(lambda w: {"model": "qwen2.5:7b", "base_url": w.ollama.base_url},
                              settle=World.pull_ended),
    "ollama_cancel_pull": Case(_running_pull, settle=lambda w, args, _r: w.events.wait(
        "ollama_pull_progress", timeout=30, pull_id=args["pull_id"], done=True)),
    "ollama_delete_model": Case(lambda w: {"model": "llama3.1:8b", "base_url": w.ollama.base_url}),
    # MCP servers
    "add_mcp_server": Case(lambda w: {"name": w.unique("Runbooks"), "transport": "stdio",
                                      "command": sys.executable, "args": ["-c", "pass"]}),
    "update_mcp_server": Case(lambda w: {"server_id": w.mcp_server(), "name": w.unique("Renamed")}),
    "set_mcp_server_enabled": Case(lambda w: {"server_id": w.mcp_server(), "enabled": False}),
    "delete_mcp_server": Case(),
    "discover_mcp_server": Case(),
    "set_mcp_tool_always_allow": Case(lambda w: {"server_id": w.discovered_mcp_server(),
                                                 "tool_name": "echo", "always_allow": True}),
    "call_mcp_tool": Case(lambda w: {"server_id": w.discovered_mcp_server(), "tool_name": "echo",
                                     "arguments": {"text": "ping"}}),
    "read_mcp_resource": Case(lambda w: {"server_id": w.discovered_mcp_server(),
                                         "uri": "runbook://checkout/disk-full"}),
    # approvals
    "decide_approval": Case(lambda w: {"approval_id": w.pending_approval(), "decision": "deny"},
                            settle=World.answered),
    "revoke_approval_rule": Case(lambda w: {"rule_id": w.approval_rule()}, settle=World.answered),
    # integrations, against loopback Confluence, ServiceNow and Azure DevOps
    "save_integration": Case(lambda w: {**w.integration_fakes[w.integration("servicenow")].settings(),
                                        "auto_create_enabled": True}),
    "test_integration": Case(lambda w: {"service": w.integration("confluence")}),
    "delete_integration": Case(lambda w: {"service": w.integration("azuredevops")}),
    "publish_document": Case(lambda w: {"document_id": w.with_integration("confluence", w.document())}),
    "create_external_incident": Case(lambda w: {"issue_id": w.with_integration("servicenow", w.issue())}),
    "resolve_external_incident": Case(lambda w: {"issue_id": w.external_incident()}),
    "push_action_items": Case(lambda w: {"issue_id": w.with_integration("azuredevops",
                                                                        w.issue_with_action_item())}),
    "search_knowledge": Case(lambda w: {"issue_id": w.with_integration("servicenow", w.issue()),
                                        "query": "checkout"}),
    # diagnostics
    "import_kubeconfig": Case(lambda w: {"name": w.unique("prod"), "content": KUBECONFIG}),
    "delete_kubeconfig": Case(lambda w: {"kubeconfig_id": w.kubeconfig()}),
    "set_active_kubeconfig": Case(lambda w: {"kubeconfig_id": w.kubeconfig(), "issue_id": w.issue()}),
    "run_shell_command": Case(lambda w: {"issue_id": w.issue(), "command": "echo audited"},
                              settle=lambda w, _args, result: w.events.wait(
                                  "shell_run_finished", timeout=30, run_id=result["run_id"])),
}

# Fresh targets for the declared parameters of commands run without their own factory.
TARGETS: dict[str, Callable[[World], str]] = {
    "issue_id": World.issue, "provider_id": World.provider, "conversation_id": World.conversation,
    "step_id": World.step, "document_id": World.document, "action_item_id": World.action_item,
    "event_id": World.event, "log_file_id": World.log, "image_id": World.image,
    "proposal_id": World.proposal, "server_id": World.mcp_server,
}


def declared_args(w: World, name: str) -> dict:
    """Valid values for a command's required parameters (and enough for it to act)."""
    args = {}
    for param_name, param in REGISTRY[name].params.items():
        if not param.required:
            continue
        if isinstance(param, Id):
            if param_name not in TARGETS:
                raise AssertionError(f"{name}: give it a Case with an arguments factory "
                                     f"(no automatic target for {param_name})")
            args[param_name] = TARGETS[param_name](w)
        elif isinstance(param, Enum):
            args[param_name] = param.choices[0]
        elif isinstance(param, Str):
            args[param_name] = w.unique("Written by the audit test")
        elif isinstance(param, Bool):
            args[param_name] = True
        elif isinstance(param, Int):
            args[param_name] = param.min or 0
        else:
            raise AssertionError(f"{name}: give it a Case with an arguments factory in AUDITED "
                                 f"(no automatic value for parameter {param_name})")
    return args


# -- the tests ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from tftsr.app import open_app
    from tftsr.docs import ai_draft

    data_dir = tmp_path_factory.mktemp("command-audit") / "data"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TFTSR_DATA_DIR", str(data_dir))
        mp.setenv("TFTSR_DB_KEY", TEST_KEY)
        mp.setenv("TFTSR_NO_KEYRING", "1")
        mp.setenv("XDG_DATA_HOME", str(data_dir.parent / "xdg-data"))  # install_launcher
        openai, ollama = FakeOpenAI().start(), FakeOllama(models=("llama3.1:8b", "qwen2.5:7b")).start()
        app = open_app(data_dir)
        w = World(app, openai, ollama, data_dir.parent)
        try:
            yield w
        finally:
            from tftsr.mcp import client

            client.shutdown(app)
            for fake in w.__dict__.get("integration_fakes", {}).values():
                fake.stop()
            ai_draft.wait_idle(app, 10)
            w.events.close()
            openai.stop()
            ollama.stop()
            app.close()


def test_every_listed_command_is_registered():
    stale = sorted((set(READ_ONLY) | set(AUDITED)) - set(REGISTRY))
    assert not stale, (f"{stale} are listed in tests/unit/test_command_audit.py but no longer "
                       "registered: remove them (or list them under their new names).")
    both = sorted(set(READ_ONLY) & set(AUDITED))
    assert not both, f"{both} are listed both as read-only and as audited"


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_command_is_read_only_or_audited(world, name):
    if name in READ_ONLY:
        assert READ_ONLY[name].strip(), f"say in one line why {name} changes nothing"
        return
    if name not in AUDITED:
        cmd = REGISTRY[name]
        pytest.fail(
            f"Command {name!r} ({cmd.func.__module__}) is new to tests/unit/test_command_audit.py. "
            "If it changes anything (stored rows, settings, files, a remote server) or sends "
            "anything out, make it write an audit entry (tftsr.audit.record, in the same "
            "transaction as the change; ids, titles, sizes and SHA-256 in the details, never "
            "secrets or content) and add it to AUDITED with a Case whose arguments factory makes "
            "the targets it needs. If it only reads, add it to READ_ONLY with a one-line reason.")
    case = AUDITED[name]
    args = case.args(world) if case.args else declared_args(world, name)
    before = world.audit_count()
    result = world.call(name, **args)
    if case.settle:
        case.settle(world, args, result)
    new = world.entries_after(before)
    assert new, f"{name} ran with {sorted(args)} and wrote no audit entry"
    for entry in new:
        text = f"{entry['action']} {entry['entity_id']} {entry['details'] or ''}"
        assert CANARY not in text, f"{name}: audit entry {entry['action']} carries content"
        assert world.openai.key not in text, f"{name}: audit entry {entry['action']} carries a key"


def test_update_document_records_sizes_and_hashes_not_content(world):
    doc_id = world.document()
    content = f"# RCA\n\nThe pool was exhausted. {CANARY}\n"
    before = world.audit_count()
    world.call("update_document", document_id=doc_id, content_md=content, title="Pool RCA")
    entry = next(e for e in world.entries_after(before) if e["action"] == "document_edited")
    assert entry["entity_type"] == "document" and entry["entity_id"] == doc_id
    details = json.loads(entry["details"])
    assert details["content_sha256"] == hashlib.sha256(content.encode("utf-8")).hexdigest()
    assert details["content_bytes"] == len(content.encode("utf-8"))
    assert details["title"] == "Pool RCA"
    # Saving the same content again changes nothing and records nothing.
    before = world.audit_count()
    world.call("update_document", document_id=doc_id, content_md=content, title="Pool RCA")
    assert world.audit_count() == before


def test_read_only_commands_leave_the_log_alone(world):
    """Spot-check the reviewed list: the local read-only commands, run with valid
    arguments, write nothing (the ones that ask a server are audited by the egress gate)."""
    asks_a_server = {"list_ai_models", "ollama_status", "ollama_list_models", "recommend_models"}
    needs_a_message = {"get_message_redactions"}  # covered by the chat tests
    needs_the_server = {"sign_image_urls"}  # covered by tests/unit/test_server_hardening.py
    for name in sorted(set(READ_ONLY) - asks_a_server - needs_a_message - needs_the_server):
        args = declared_args(world, name)
        before = world.audit_count()
        world.call(name, **args)
        assert world.audit_count() == before, f"{name} is listed as read-only but wrote an entry"


def test_the_log_verifies_after_every_command(world):
    """Runs last: after every command above, each row they created still has its creation
    entry and the chain holds (the cross-checks raise no false alarm on real use)."""
    result = world.call("verify_audit")
    assert result["ok"], (result["reason"], result["missing"])
    assert result["missing"]["total"] == 0 and result["entries"] == world.audit_count()
