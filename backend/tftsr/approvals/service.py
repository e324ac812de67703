"""Approvals: one mechanism for everything the assistant wants to do.

A shell command of tier 2 or an MCP tool call proposed by the model becomes an approval
request: kind, the exact proposal, its classification and the reason. The worker thread
that runs the assistant's tool calls waits in :func:`request_approval`; the page hears
``approval_requested``, shows the card in the chat, and answers through
``decide_approval`` with ``allow_once``, ``allow_session`` or ``deny``.

* ``allow_session`` adds a rule for the same class of proposal (``session_key``) in that
  conversation, kept in memory until the app closes; rules are listed and revocable.
* No answer within the timeout (60 s) is a deny, and so is Stop.
* Every decision — the user's, a session rule's or the timeout's — is written to
  ``approval_decisions`` and to the audit log.

Tier 3 never reaches this module: the caller refuses it and tells the model why.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from tftsr.audit import record as audit_record
from tftsr.db.ids import now_text, uuid7
from tftsr.errors import InvalidArgument, NotFound

DECISIONS = ("allow_once", "allow_session", "deny")
DEFAULT_TIMEOUT = 60.0
_LOCK = threading.Lock()


@dataclass
class Decision:
    decision: str          # allow_once | allow_session | deny
    approval_id: str
    how: str               # user | session_rule | timeout | cancelled
    rule_id: str | None = None

    @property
    def allowed(self) -> bool:
        return self.decision in ("allow_once", "allow_session")

    def words(self) -> str:
        return {
            "user": {"allow_once": "approved once by the user",
                     "allow_session": "approved by the user for this conversation",
                     "deny": "denied by the user"}[self.decision],
            "session_rule": "allowed by a rule the user set for this conversation",
            "timeout": "not answered in time, so it was denied",
            "cancelled": "stopped before the user answered",
        }[self.how]


@dataclass
class Pending:
    id: str
    kind: str                       # shell | mcp
    title: str                      # one line for the card ("Run a shell command")
    proposal: dict[str, Any]        # exactly what would run
    classification: dict[str, Any]  # tier, reason, risk_factors (or the tool's facts)
    pattern: str                    # what approval_decisions records
    session_key: str                # the class "allow for this session" covers
    session_label: str              # how that class reads to a person
    conversation_id: str | None
    issue_id: str | None
    message_id: str | None
    created_at: str
    expires_at: float
    answered: threading.Event = field(default_factory=threading.Event)
    decision: str | None = None

    def public(self) -> dict:
        return {"id": self.id, "kind": self.kind, "title": self.title, "proposal": self.proposal,
                "classification": self.classification, "session_label": self.session_label,
                "conversation_id": self.conversation_id, "issue_id": self.issue_id,
                "message_id": self.message_id, "created_at": self.created_at,
                "seconds_left": max(0, round(self.expires_at - time.monotonic()))}


def _state(app) -> dict:
    with _LOCK:
        return app.extras.setdefault("approvals", {"pending": {}, "rules": {}})


def timeout_seconds(app) -> float:
    return float(app.extras.get("approval_timeout", DEFAULT_TIMEOUT))


# -- the waiting side (worker threads) ---------------------------------------------------------
def request_approval(app, *, kind: str, title: str, proposal: dict, classification: dict,
                     pattern: str, session_key: str, session_label: str,
                     conversation_id: str | None, issue_id: str | None,
                     message_id: str | None = None, cancel=None) -> Decision:
    """Ask the user; block until they answer, the time runs out, or ``cancel`` fires."""
    state = _state(app)
    for rule in list(state["rules"].values()):
        if (rule["conversation_id"] == conversation_id and rule["kind"] == kind
                and rule["session_key"] == session_key):
            decision = Decision("allow_session", uuid7(), "session_rule", rule["id"])
            _record(app, decision, kind=kind, pattern=pattern, conversation_id=conversation_id,
                    issue_id=issue_id, proposal=proposal)
            return decision
    pending = Pending(uuid7(), kind, title, proposal, classification, pattern, session_key,
                      session_label, conversation_id, issue_id, message_id, now_text(),
                      time.monotonic() + timeout_seconds(app))
    state["pending"][pending.id] = pending
    app.events.emit("approval_requested", pending.public())
    how = "user"
    try:
        while not pending.answered.wait(0.2):
            if cancel is not None and getattr(cancel, "cancelled", False):
                how = "cancelled"
                break
            if time.monotonic() >= pending.expires_at:
                how = "timeout"
                break
    finally:
        state["pending"].pop(pending.id, None)
    value = pending.decision if how == "user" and pending.decision else "deny"
    decision = Decision(value, pending.id, how)
    if value == "allow_session":
        rule_id = uuid7()
        state["rules"][rule_id] = {"id": rule_id, "kind": kind, "conversation_id": conversation_id,
                                   "issue_id": issue_id, "session_key": session_key,
                                   "label": session_label, "created_at": now_text()}
        decision.rule_id = rule_id
    _record(app, decision, kind=kind, pattern=pattern, conversation_id=conversation_id,
            issue_id=issue_id, proposal=proposal)
    app.events.emit("approval_decided", {"id": pending.id, "decision": value, "how": how,
                                         "conversation_id": conversation_id})
    return decision


def _record(app, decision: Decision, *, kind: str, pattern: str, conversation_id: str | None,
            issue_id: str | None, proposal: dict) -> None:
    with app.db.transaction() as conn:
        conn.execute("INSERT INTO approval_decisions (id, command_pattern, decision, session_id,"
                     " decided_at, expires_at) VALUES (?, ?, ?, ?, ?, NULL)",
                     (decision.approval_id, pattern[:4000], decision.decision, conversation_id,
                      now_text()))
        audit_record(conn, "approval_decided", "approval", decision.approval_id, {
            "kind": kind, "decision": decision.decision, "how": decision.how,
            "conversation_id": conversation_id, "issue_id": issue_id,
            "rule_id": decision.rule_id, "proposal": proposal})


# -- the deciding side (commands) --------------------------------------------------------------
def list_pending(app, conversation_id: str | None = None) -> list[dict]:
    items = [p.public() for p in list(_state(app)["pending"].values())
             if conversation_id is None or p.conversation_id == conversation_id]
    return sorted(items, key=lambda p: p["created_at"])


def decide(app, approval_id: str, decision: str) -> dict:
    if decision not in DECISIONS:
        raise InvalidArgument("decision must be allow_once, allow_session or deny.")
    pending = _state(app)["pending"].get(approval_id)
    if pending is None or pending.answered.is_set():
        raise NotFound("That request is no longer waiting for an answer (it was answered, "
                       "timed out or stopped).")
    pending.decision = decision
    pending.answered.set()
    return {"id": approval_id, "decision": decision}


def list_rules(app, conversation_id: str | None = None) -> list[dict]:
    rules = list(_state(app)["rules"].values())
    return [dict(r) for r in rules if conversation_id is None or r["conversation_id"] == conversation_id]


def revoke_rule(app, rule_id: str) -> dict:
    rule = _state(app)["rules"].pop(rule_id, None)
    if rule is None:
        raise NotFound("That rule does not exist (rules last until TFTSR closes).")
    with app.db.transaction() as conn:
        audit_record(conn, "approval_rule_revoked", "approval_rule", rule_id,
                     {"kind": rule["kind"], "conversation_id": rule["conversation_id"],
                      "label": rule["label"]})
    app.events.emit("approval_rules_changed", {"conversation_id": rule["conversation_id"]})
    return {"revoked": True, "id": rule_id}
