"""Commands for answering what the assistant asks to do."""

from __future__ import annotations

from tftsr.approvals import service
from tftsr.commands import command
from tftsr.validation import Enum, Id

CONVERSATION = Id("conversation", required=False)


@command(conversation_id=CONVERSATION)
def list_pending_approvals(app, conversation_id):
    """Proposals waiting for the user's answer (shell commands, MCP tool calls)."""
    return {"items": service.list_pending(app, conversation_id)}


@command(approval_id=Id("approval request"), decision=Enum(service.DECISIONS))
def decide_approval(app, approval_id, decision):
    """Answer one proposal: allow_once, allow_session (same kind of proposal in this
    conversation until TFTSR closes) or deny."""
    return service.decide(app, approval_id, decision)


@command(conversation_id=CONVERSATION)
def list_approval_rules(app, conversation_id):
    """The "allow for this session" rules in force."""
    return {"items": service.list_rules(app, conversation_id)}


@command(rule_id=Id("rule"))
def revoke_approval_rule(app, rule_id):
    return service.revoke_rule(app, rule_id)
