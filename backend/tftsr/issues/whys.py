"""The 5-Whys chain (``resolution_steps``): at most five ordered steps, one root cause."""

from __future__ import annotations

from tftsr.audit import record as audit_record
from tftsr.db.ids import now_text, uuid7
from tftsr.errors import Conflict, InvalidArgument, NotFound
from tftsr.issues import store, timeline

MAX_STEPS = 5
STEP_COLUMNS = ("id, issue_id, step_order, why_question, answer, evidence, is_root_cause,"
                " created_at, updated_at")


def _to_dict(row: dict) -> dict:
    out = dict(row)
    out["is_root_cause"] = bool(out["is_root_cause"])
    out["updated_at"] = out.get("updated_at") or out["created_at"]
    return out


def list_steps(conn, issue_id: str) -> list[dict]:
    rows = conn.execute(
        f"SELECT {STEP_COLUMNS} FROM resolution_steps WHERE issue_id = ? ORDER BY step_order, created_at",
        (issue_id,),
    ).fetchall()
    return [_to_dict(r) for r in rows]


def get_step(conn, step_id: str) -> dict:
    row = conn.execute(f"SELECT {STEP_COLUMNS} FROM resolution_steps WHERE id = ?",
                       (step_id,)).fetchone()
    if row is None:
        raise NotFound("That 5-Whys step does not exist (it may have been deleted).")
    return _to_dict(row)


def _touch_issue(conn, issue_id: str) -> None:
    conn.execute("UPDATE issues SET updated_at = ? WHERE id = ?", (now_text(), issue_id))


def add(conn, issue_id: str, why_question: str, answer: str | None, evidence: str | None) -> dict:
    store.get(conn, issue_id)
    steps = list_steps(conn, issue_id)
    if len(steps) >= MAX_STEPS:
        raise Conflict("This incident already has five whys. Edit or delete one to change the chain.")
    now = now_text()
    step = {
        "id": uuid7(), "issue_id": issue_id, "step_order": len(steps) + 1,
        "why_question": why_question, "answer": answer or None, "evidence": evidence or None,
        "is_root_cause": 0, "created_at": now, "updated_at": now,
    }
    conn.execute(
        f"INSERT INTO resolution_steps ({STEP_COLUMNS}) VALUES (:id, :issue_id, :step_order,"
        " :why_question, :answer, :evidence, :is_root_cause, :created_at, :updated_at)", step,
    )
    _touch_issue(conn, issue_id)
    timeline.record_event(
        conn, issue_id, "why_level_advanced",
        f"Why #{step['step_order']}: {why_question}",
        {"from_level": step["step_order"] - 1, "to_level": step["step_order"],
         "question": why_question, "step_id": step["id"]},
    )
    return _to_dict(step)


def update(conn, step_id: str, changes: dict) -> dict:
    step = get_step(conn, step_id)
    changes = {k: v for k, v in changes.items()
               if k in ("why_question", "answer", "evidence") and v is not None}
    if "why_question" in changes and not changes["why_question"]:
        raise InvalidArgument("why_question must not be empty.")
    diff = {k: (v or None) if k != "why_question" else v for k, v in changes.items()
            if (step.get(k) or "") != v}
    if not diff:
        return step
    diff["updated_at"] = now_text()
    sets = ", ".join(f"{k} = :{k}" for k in diff)
    conn.execute(f"UPDATE resolution_steps SET {sets} WHERE id = :id", {**diff, "id": step_id})
    _touch_issue(conn, step["issue_id"])
    audit_record(conn, "why_updated", "resolution_step", step_id,
                 {"issue_id": step["issue_id"], "step_order": step["step_order"],
                  "fields": sorted(k for k in diff if k != "updated_at")})
    return get_step(conn, step_id)


def _renumber(conn, issue_id: str, ordered_ids: list[str]) -> None:
    now = now_text()
    for position, sid in enumerate(ordered_ids, start=1):
        conn.execute("UPDATE resolution_steps SET step_order = ?, updated_at = ? WHERE id = ?"
                     " AND step_order != ?", (position, now, sid, position))


def reorder(conn, issue_id: str, step_ids: list[str]) -> list[dict]:
    store.get(conn, issue_id)
    current = [s["id"] for s in list_steps(conn, issue_id)]
    if sorted(current) != sorted(step_ids) or len(set(step_ids)) != len(step_ids):
        raise InvalidArgument("step_ids must list each of this incident's steps exactly once.")
    if current != step_ids:
        _renumber(conn, issue_id, step_ids)
        _touch_issue(conn, issue_id)
        audit_record(conn, "whys_reordered", "issue", issue_id, {"order": step_ids})
    return list_steps(conn, issue_id)


def delete(conn, step_id: str) -> list[dict]:
    step = get_step(conn, step_id)
    conn.execute("DELETE FROM resolution_steps WHERE id = ?", (step_id,))
    remaining = [s["id"] for s in list_steps(conn, step["issue_id"])]
    _renumber(conn, step["issue_id"], remaining)
    _touch_issue(conn, step["issue_id"])
    audit_record(conn, "why_deleted", "resolution_step", step_id,
                 {"issue_id": step["issue_id"], "step_order": step["step_order"],
                  "why_question": step["why_question"]})
    return list_steps(conn, step["issue_id"])


def set_root_cause(conn, step_id: str, is_root_cause: bool) -> list[dict]:
    step = get_step(conn, step_id)
    issue_id = step["issue_id"]
    if step["is_root_cause"] == is_root_cause:
        return list_steps(conn, issue_id)
    now = now_text()
    if is_root_cause:
        conn.execute("UPDATE resolution_steps SET is_root_cause = 0 WHERE issue_id = ?", (issue_id,))
        conn.execute("UPDATE resolution_steps SET is_root_cause = 1, updated_at = ? WHERE id = ?",
                     (now, step_id))
        cause = step["answer"] or step["why_question"]
        timeline.record_event(
            conn, issue_id, "root_cause_identified", f"Root cause identified: {cause}",
            {"root_cause": cause, "step_id": step_id, "step_order": step["step_order"],
             "confidence": None},
        )
    else:
        conn.execute("UPDATE resolution_steps SET is_root_cause = 0, updated_at = ? WHERE id = ?",
                     (now, step_id))
        audit_record(conn, "root_cause_cleared", "resolution_step", step_id,
                     {"issue_id": issue_id, "step_order": step["step_order"]})
    _touch_issue(conn, issue_id)
    return list_steps(conn, issue_id)
