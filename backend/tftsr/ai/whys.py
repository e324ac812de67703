"""5-Whys guidance: the assistant proposes, the user decides.

The assistant records a why — question, answer, evidence — through the ``record_why``
tool, or (for providers without tool calling) in a fenced block::

    ```why
    {"question": "...", "answer": "...", "evidence": "...", "is_root_cause": false}
    ```

Either way the why becomes a *pending* proposal in ``ai_why_proposals``. Nothing reaches
``resolution_steps`` until the user confirms it (possibly edited) with
:func:`confirm`, which goes through :func:`tftsr.issues.whys.add` (recording
``why_level_advanced``) and, for the root cause, :func:`tftsr.issues.whys.set_root_cause`
(recording ``root_cause_identified``). No why is ever inferred from keywords.
"""

from __future__ import annotations

import json
import re

from tftsr.ai.tools import Tool, ToolContext, ToolError
from tftsr.audit import record as audit_record
from tftsr.db.ids import now_text, uuid7
from tftsr.errors import InvalidState, NotFound
from tftsr.issues import whys as issue_whys

MAX_FIELD = 2000
COLUMNS = ("id, issue_id, conversation_id, message_id, question, answer, evidence,"
           " suggested_root_cause, source, status, step_id, created_at, decided_at")
MARKER_RE = re.compile(r"```why[ \t]*\r?\n(.*?)\r?\n?```", re.DOTALL)

RECORD_WHY_SCHEMA = {
    "type": "object",
    "properties": {
        "question": {"type": "string", "description": "The why question, e.g. 'Why did the pods restart?'"},
        "answer": {"type": "string", "description": "The answer the evidence supports."},
        "evidence": {"type": "string", "description": "The log lines, metrics or output that show it."},
        "is_root_cause": {"type": "boolean", "description": "True when this answer is the root cause."},
    },
    "required": ["question", "answer", "evidence"],
}


def _to_dict(row: dict) -> dict:
    out = dict(row)
    out["suggested_root_cause"] = bool(out["suggested_root_cause"])
    return out


def _clean(value, name: str, required: bool) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ToolError(f"{name} is required.")
        return None
    if not isinstance(value, str):
        value = json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else str(value)
    return value.strip()[:MAX_FIELD]


def propose(conn, *, issue_id: str, conversation_id: str | None, message_id: str | None,
            question, answer, evidence, is_root_cause, source: str) -> dict:
    """Store one pending proposal (inside the caller's transaction)."""
    row = {"id": uuid7(), "issue_id": issue_id, "conversation_id": conversation_id,
           "message_id": message_id, "question": _clean(question, "question", True),
           "answer": _clean(answer, "answer", False), "evidence": _clean(evidence, "evidence", False),
           "suggested_root_cause": 1 if is_root_cause is True else 0, "source": source,
           "status": "pending", "step_id": None, "created_at": now_text(), "decided_at": None}
    conn.execute(f"INSERT INTO ai_why_proposals ({COLUMNS}) VALUES (:id, :issue_id,"
                 " :conversation_id, :message_id, :question, :answer, :evidence,"
                 " :suggested_root_cause, :source, :status, :step_id, :created_at, :decided_at)", row)
    return _to_dict(row)


def parse_markers(text: str) -> list[dict]:
    """The ```why blocks in a reply, as dicts with at least a question."""
    found = []
    for match in MARKER_RE.finditer(text or ""):
        try:
            item = json.loads(match.group(1).strip())
        except ValueError:
            continue
        if isinstance(item, dict) and isinstance(item.get("question"), str) and item["question"].strip():
            found.append(item)
    return found


def record_from_markers(conn, *, issue_id, conversation_id, message_id, text) -> list[dict]:
    return [propose(conn, issue_id=issue_id, conversation_id=conversation_id, message_id=message_id,
                    question=m.get("question"), answer=m.get("answer"), evidence=m.get("evidence"),
                    is_root_cause=m.get("is_root_cause"), source="marker")
            for m in parse_markers(text)]


def progress(conn, issue_id: str) -> dict:
    """Where the 5-Whys stand: confirmed levels (0..5), pending proposals, root cause set."""
    steps = issue_whys.list_steps(conn, issue_id)
    pending = conn.execute("SELECT count(*) AS n FROM ai_why_proposals WHERE issue_id = ? AND"
                           " status = 'pending'", (issue_id,)).fetchone()["n"]
    return {"level": min(len(steps), issue_whys.MAX_STEPS), "pending": pending,
            "root_cause_set": any(s["is_root_cause"] for s in steps), "max": issue_whys.MAX_STEPS}


def list_proposals(conn, issue_id: str, status: str | None = None) -> list[dict]:
    sql = f"SELECT {COLUMNS} FROM ai_why_proposals WHERE issue_id = ?"
    params: list = [issue_id]
    if status:
        sql += " AND status = ?"
        params.append(status)
    return [_to_dict(r) for r in conn.execute(sql + " ORDER BY created_at, rowid", params).fetchall()]


def get(conn, proposal_id: str) -> dict:
    row = conn.execute(f"SELECT {COLUMNS} FROM ai_why_proposals WHERE id = ?", (proposal_id,)).fetchone()
    if row is None:
        raise NotFound("That 5-Whys proposal does not exist.")
    return _to_dict(row)


def confirm(conn, proposal_id: str, *, why_question=None, answer=None, evidence=None,
            mark_root_cause=None) -> dict:
    """Turn a pending proposal (with the user's edits) into a 5-Whys step."""
    proposal = get(conn, proposal_id)
    if proposal["status"] != "pending":
        raise InvalidState(f"This proposal was already {proposal['status']}.")
    question = why_question if why_question is not None else proposal["question"]
    step = issue_whys.add(conn, proposal["issue_id"], question,
                          answer if answer is not None else proposal["answer"],
                          evidence if evidence is not None else proposal["evidence"])
    root = proposal["suggested_root_cause"] if mark_root_cause is None else mark_root_cause
    steps = issue_whys.set_root_cause(conn, step["id"], True) if root else issue_whys.list_steps(
        conn, proposal["issue_id"])
    conn.execute("UPDATE ai_why_proposals SET status = 'accepted', step_id = ?, decided_at = ?"
                 " WHERE id = ?", (step["id"], now_text(), proposal_id))
    edited = any(v is not None and v != proposal[k] for k, v in
                 (("question", why_question), ("answer", answer), ("evidence", evidence)))
    audit_record(conn, "why_proposal_accepted", "ai_why_proposal", proposal_id,
                 {"issue_id": proposal["issue_id"], "step_id": step["id"], "edited": edited,
                  "root_cause": bool(root)})
    step = issue_whys.get_step(conn, step["id"])
    return {"proposal": get(conn, proposal_id), "step": step, "steps": steps if not root else
            issue_whys.list_steps(conn, proposal["issue_id"]),
            "progress": progress(conn, proposal["issue_id"])}


def dismiss(conn, proposal_id: str) -> dict:
    proposal = get(conn, proposal_id)
    if proposal["status"] != "pending":
        raise InvalidState(f"This proposal was already {proposal['status']}.")
    conn.execute("UPDATE ai_why_proposals SET status = 'dismissed', decided_at = ? WHERE id = ?",
                 (now_text(), proposal_id))
    audit_record(conn, "why_proposal_dismissed", "ai_why_proposal", proposal_id,
                 {"issue_id": proposal["issue_id"]})
    return {"proposal": get(conn, proposal_id), "progress": progress(conn, proposal["issue_id"])}


def _record_why_handler(ctx: ToolContext, arguments: dict) -> dict:
    with ctx.app.db.transaction() as conn:
        proposal = propose(conn, issue_id=ctx.issue_id, conversation_id=ctx.conversation_id,
                           message_id=ctx.message_id, question=arguments.get("question"),
                           answer=arguments.get("answer"), evidence=arguments.get("evidence"),
                           is_root_cause=arguments.get("is_root_cause"), source="tool")
        state = progress(conn, ctx.issue_id)
    ctx.extra.setdefault("why_proposals", []).append(proposal)
    return {"recorded": True, "proposal_id": proposal["id"], "status": "pending_user_confirmation",
            "confirmed_levels": state["level"], "pending": state["pending"]}


RECORD_WHY = Tool(
    name="record_why",
    description=("Record one level of the 5-Whys root-cause analysis for this incident: the why "
                 "question, the answer the evidence supports, and the evidence itself. The user "
                 "reviews and confirms each one before it is saved."),
    parameters=RECORD_WHY_SCHEMA,
    handler=_record_why_handler,
)
