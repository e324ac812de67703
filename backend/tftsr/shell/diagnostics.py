"""Diagnostics the assistant (or the user) runs: classify, approve, run, record.

One path for every command, whoever proposes it:

1. :func:`tftsr.shell.classifier.classify` gives the tier. Tier 3 is refused outright and
   the reason goes back to the model; it never reaches the approval dialog.
2. Tier 2 waits for the user through :mod:`tftsr.approvals` (allow once, allow this kind
   of command for the conversation, deny; no answer in 60 s is a deny).
3. The exact string that was classified runs (:mod:`tftsr.shell.runner`) with a timeout,
   in its own process group, with a clean environment; ``kubectl`` gets the incident's
   kubeconfig through a private temporary file.
4. ``shell_commands`` (what was proposed), ``command_executions`` (what ran, how it ended:
   tier, decision, exit code, duration, output size and SHA-256 of the output bytes) and
   the audit log record it. The output the model sees has passed the PII gate (done for
   every tool result in :func:`tftsr.ai.tools.run_tool_loop`, which stores how many values
   it replaced with the tool call that ``command_executions.tool_call_id`` points to).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from contextlib import nullcontext
from typing import Any

from tftsr.ai.tools import Tool, ToolContext, ToolError, tool_provider
from tftsr.approvals import request_approval
from tftsr.audit import record as audit_record
from tftsr.db.ids import now_text, uuid7
from tftsr.pii.spans import type_labels
from tftsr.shell import classifier, kubeconfig, runner

log = logging.getLogger(__name__)

MAX_COMMAND_CHARS = 4000
DEFAULT_TIMEOUT = 30
SETTING_TIMEOUT = "shell_timeout_seconds"
_KUBE_TOOLS = re.compile(r"(?:^|[\s;|&(`$])(?:kubectl|helm|k9s|kustomize|oc)(?:\s|$)")


# Programs whose first verb says what they do; "allow for this session" covers the verb.
_VERBS = {
    "kubectl": {"apply", "create", "delete", "edit", "patch", "replace", "scale", "rollout",
                "drain", "cordon", "uncordon", "taint", "label", "annotate", "set", "cp", "exec",
                "run", "expose", "autoscale", "port-forward", "debug"},
    "systemctl": {"start", "stop", "restart", "reload", "enable", "disable", "mask", "unmask",
                  "kill", "reboot", "daemon-reload", "reset-failed"},
    "docker": {"restart", "stop", "start", "kill", "rm", "exec", "run", "pull", "prune", "update"},
}
_SUB_VERBS = {("kubectl", "rollout"), ("kubectl", "set")}


# Programs that run another command, or code, given in their arguments: the program alone
# says nothing of what runs, so "allow for this session" covers only the same command.
_RUNS_PAYLOAD = {"sudo", "doas", "su", "pkexec", "env", "nohup", "timeout", "nice", "ionice",
                 "stdbuf", "setsid", "chroot", "flock", "time", "command", "builtin", "exec",
                 "xargs", "watch", "busybox", "find", "eval", "source", ".", "ssh", "sshpass",
                 "script", "strace", "nsenter", "unshare", "runuser", "systemd-run", "at",
                 "awk", "sed", "pwsh", "cmd"}
# Shell syntax outside quotes (chains, pipes, redirections, substitutions, groups): the
# command is more than one program and its verb.
_SHELL_SYNTAX = re.compile(r"[;&|<>()`$\n\r{}]")


def session_key(command: str) -> str:
    """The class "allow for this session" covers: the program and its verb
    (``kubectl rollout restart``, ``systemctl restart``), never the arguments — or the
    exact command when the program and verb do not say what runs (a chain, a pipe, a
    redirection, a wrapper such as ``sudo``, a shell or interpreter, a path to a program,
    a variable that changes how programs load)."""
    from tftsr.shell import rules

    text = command.strip()
    words = text.split()
    while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=\S*", words[0]):
        if rules.risky_variable(words[0].split("=", 1)[0]):
            return text
        words = words[1:]  # NAME=value prefixes
    if not words or _SHELL_SYNTAX.search(classifier.unquoted(text)) or "/" in words[0] \
            or "\\" in words[0]:
        return text
    program = rules.normalize(words[0])
    if program in _RUNS_PAYLOAD or program in rules.SHELLS or program in rules.INTERPRETERS:
        return text
    verbs = _VERBS.get(program)
    if verbs is None:
        return program
    key = [program]
    for n, word in enumerate(words[1:], 1):
        if word in verbs:
            key.append(word)
            nxt = words[n + 1] if n + 1 < len(words) else ""
            if (program, word) in _SUB_VERBS and re.fullmatch(r"[a-z][a-z-]*", nxt):
                key.append(nxt)
            break
    if key[-1] in ("exec", "run", "debug"):  # runs a command given in its arguments
        return text
    return " ".join(key)


def session_label(command: str) -> str:
    """How the class of :func:`session_key` reads to a person."""
    key = session_key(command)
    return f"{key} (this exact command)" if key == command.strip() else f"{key} … (any arguments)"


def _timeout(app) -> int:
    from tftsr.settings import store as settings_store

    with app.db.connection() as conn:
        value = settings_store.get_value(conn, SETTING_TIMEOUT)
    return int(value or DEFAULT_TIMEOUT)


def _remember_proposal(conn, command: str, tier: int, description: str, category: str) -> None:
    row = conn.execute("SELECT id FROM shell_commands WHERE command_template = ?",
                       (command,)).fetchone()
    if row is None:
        conn.execute("INSERT INTO shell_commands (id, command_template, tier, description, category,"
                     " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                     (uuid7(), command, tier, description[:500] or None, category, now_text()))


def _record_refusal(app, *, command: str, tier: int, issue_id: str | None, status: str,
                    why: str, source: str, tool_call_id: str | None) -> str:
    execution_id = uuid7()
    with app.db.transaction() as conn:
        conn.execute("INSERT INTO command_executions (id, issue_id, command, tier, approval_status,"
                     " executed_at, tool_call_id) VALUES (?, ?, ?, ?, 'denied', ?, ?)",
                     (execution_id, issue_id, command, tier, now_text(), tool_call_id))
        audit_record(conn, "shell_command_refused", "command_execution", execution_id,
                     {"issue_id": issue_id, "tier": tier, "status": status, "reason": why,
                      "source": source, "command_sha256": hashlib.sha256(command.encode()).hexdigest()})
    return execution_id


def execute(app, *, command: str, tier: int, approval_status: str, issue_id: str | None,
            cancel=None, source: str = "assistant", tool_call_id: str | None = None) -> dict:
    """Run ``command`` (already classified and, for tier 2, approved) and record it."""
    kube_id = kubeconfig.active_for_issue(app, issue_id) if _KUBE_TOOLS.search(command) else None
    with (kubeconfig.materialize(app, kube_id, issue_id=issue_id) if kube_id
          else nullcontext(None)) as kube_path:
        env = {"KUBECONFIG": str(kube_path)} if kube_path else None
        result = runner.run(command, timeout=_timeout(app), env_extra=env, cancel=cancel)
    execution_id = uuid7()
    with app.db.transaction() as conn:
        conn.execute(
            "INSERT INTO command_executions (id, issue_id, command, tier, approval_status,"
            " kubeconfig_id, exit_code, stdout, stderr, execution_time_ms, executed_at,"
            " output_bytes, output_sha256, tool_call_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (execution_id, issue_id, command, tier, approval_status, kube_id, result.exit_code,
             result.stdout, result.stderr, result.duration_ms, now_text(), result.output_bytes,
             result.output_sha256, tool_call_id))
        audit_record(conn, "shell_command_run", "command_execution", execution_id, {
            "issue_id": issue_id, "tier": tier, "approval": approval_status, "source": source,
            "command_sha256": hashlib.sha256(command.encode()).hexdigest(),
            "exit_code": result.exit_code, "duration_ms": result.duration_ms,
            "output_bytes": result.output_bytes, "output_sha256": result.output_sha256,
            "timed_out": result.timed_out, "kubeconfig_id": kube_id})
    return {"execution_id": execution_id, "command": command, "tier": tier,
            "exit_code": result.exit_code, "stdout": result.stdout, "stderr": result.stderr,
            "duration_ms": result.duration_ms, "timed_out": result.timed_out,
            "cancelled": result.cancelled, "output_bytes": result.output_bytes,
            "output_sha256": result.output_sha256,
            "truncated": result.stdout_truncated or result.stderr_truncated,
            "note": result.message}


def propose(app, *, command: str, reason: str, issue_id: str | None, conversation_id: str | None,
            message_id: str | None, cancel=None, source: str = "assistant",
            tool_call_id: str | None = None) -> dict:
    """Classify, ask when needed, run. Returns the run (with ``status``: ran | refused |
    denied) — never raises for a refusal, so callers can tell the model in words."""
    command = command.strip()
    found = classifier.classify(command)
    facts = found.to_dict()
    with app.db.transaction() as conn:
        _remember_proposal(conn, command, found.tier, reason, source)
    if found.tier == 3:
        _record_refusal(app, command=command, tier=3, issue_id=issue_id, status="refused",
                        why=found.reason, source=source, tool_call_id=tool_call_id)
        return {"status": "refused", "command": command, "classification": facts,
                "message": f"Refused: {found.reason} TFTSR never runs tier-3 commands."}
    approval = "auto"
    if found.tier == 2:
        decision = request_approval(
            app, kind="shell", title="Run a command that changes state",
            proposal={"command": command, "reason": reason},
            classification=facts, pattern=command, session_key=session_key(command),
            session_label=session_label(command),
            conversation_id=conversation_id, issue_id=issue_id, message_id=message_id,
            cancel=cancel)
        if not decision.allowed:
            _record_refusal(app, command=command, tier=2, issue_id=issue_id, status=decision.how,
                            why=decision.words(), source=source, tool_call_id=tool_call_id)
            return {"status": "denied", "command": command, "classification": facts,
                    "message": f"Not run: the command was {decision.words()}."}
        approval = "approved"
    ran = execute(app, command=command, tier=found.tier, approval_status=approval,
                  issue_id=issue_id, cancel=cancel, source=source, tool_call_id=tool_call_id)
    return {"status": "ran", "classification": facts, **ran}


# -- the assistant's tool --------------------------------------------------------------------------
def _tool_handler(ctx: ToolContext, arguments: dict) -> dict:
    command = arguments.get("command")
    if not isinstance(command, str) or not command.strip():
        raise ToolError("Give the command to run as a string in 'command'.")
    if len(command) > MAX_COMMAND_CHARS:
        raise ToolError(f"The command is longer than {MAX_COMMAND_CHARS} characters.")
    reason = arguments.get("reason") if isinstance(arguments.get("reason"), str) else ""
    outcome = propose(ctx.app, command=command, reason=reason[:500], issue_id=ctx.issue_id,
                      conversation_id=ctx.conversation_id, message_id=ctx.message_id,
                      cancel=ctx.cancel, tool_call_id=ctx.call_id)
    if outcome["status"] != "ran":
        raise ToolError(outcome["message"])
    return {k: outcome[k] for k in ("command", "exit_code", "stdout", "stderr", "duration_ms",
                                    "timed_out", "truncated", "note")}


SETTING_ENABLED = "shell_assistant_enabled"


@tool_provider
def assistant_tools(app) -> list[Tool]:
    """The diagnostics tool, unless the user switched it off in Settings."""
    from tftsr.settings import store as settings_store

    with app.db.connection() as conn:
        enabled = settings_store.get_value(conn, SETTING_ENABLED)
    return [RUN_DIAGNOSTIC] if enabled is not False else []


RUN_DIAGNOSTIC = Tool(
    name="run_diagnostic_command",
    description=(
        "Run a shell command on the engineer's machine to gather evidence (kubectl get/describe/"
        "logs, journalctl, systemctl status, df, ps, curl of a health endpoint …). Read-only "
        "commands run at once; commands that change state wait for the engineer's approval; "
        "destructive commands are refused. Prefer read-only commands and explain why you "
        "need each one in 'reason'. Output is returned with personal data redacted."),
    parameters={
        "type": "object",
        "properties": {
            "command": {"type": "string", "description": "The exact command line to run (bash)."},
            "reason": {"type": "string", "description": "Why this command helps the diagnosis."},
        },
        "required": ["command", "reason"],
    },
    handler=_tool_handler,
)


# -- commands typed in the diagnostics panel ------------------------------------------------------
def _runs(app) -> dict[str, Any]:
    return app.extras.setdefault("shell_runs", {})


def start_user_run(app, *, issue_id: str, command: str) -> dict:
    """Run a command the user typed, in the background (tier 2 waits for the same approval
    card the assistant's proposals get); ``shell_run_finished`` carries the outcome."""
    found = classifier.classify(command)
    run_id = uuid7()

    def work():
        try:
            outcome = propose(app, command=command, reason="typed in the diagnostics panel",
                              issue_id=issue_id, conversation_id=f"panel:{issue_id}",
                              message_id=None, source="user")
        except Exception as exc:  # noqa: BLE001 - reported to the page in words
            log.exception("diagnostic run failed")
            outcome = {"status": "error", "command": command,
                       "message": f"The command could not be run ({type(exc).__name__})."}
        finally:
            _runs(app).pop(run_id, None)
        app.events.emit("shell_run_finished", {"run_id": run_id, "issue_id": issue_id, **outcome})

    thread = threading.Thread(target=work, name=f"shell-{run_id[:8]}", daemon=True)
    _runs(app)[run_id] = thread
    thread.start()
    status = {1: "running", 2: "waiting_for_approval", 3: "refused"}[found.tier]
    return {"run_id": run_id, "status": status, "classification": found.to_dict()}


def list_executions(app, issue_id: str, limit: int = 50) -> list[dict]:
    """Runs of an incident, newest first: what ran, how it ended, the output's size and
    SHA-256, and — for the assistant's runs — how many values of which types the PII gate
    replaced before the model saw the output (``redactions`` is None for typed commands,
    whose output goes to no one)."""
    with app.db.connection() as conn:
        rows = conn.execute(
            "SELECT e.id, e.command, e.tier, e.approval_status, e.exit_code, e.stdout, e.stderr,"
            " e.execution_time_ms, e.executed_at, e.output_bytes, e.output_sha256,"
            " e.tool_call_id, t.redactions, t.redacted_types FROM command_executions e"
            " LEFT JOIN ai_tool_calls t ON t.id = e.tool_call_id WHERE e.issue_id = ?"
            " ORDER BY e.executed_at DESC, e.rowid DESC LIMIT ?", (issue_id, limit)).fetchall()
    out = []
    for row in rows:
        item = dict(row)
        types = json.loads(item.pop("redacted_types") or "[]")
        item["redacted_types"] = types
        item["redacted_labels"] = type_labels(types)
        item["by_assistant"] = item.pop("tool_call_id") is not None
        out.append(item)
    return out
