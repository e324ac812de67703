"""The ``documents`` table: one RCA and one post-mortem per incident.

Times are INTEGER milliseconds (the seed's choice for this table). Migration 028 adds
``generated_sha256`` and ``generated_at``: the hash of the Markdown the tool last wrote.
A document whose content no longer has that hash was edited by someone, and
regenerating it needs the author's consent (``overwrite``).

``updated_at`` doubles as the version for autosave: a write that names the version it
was based on (``base_updated_at``) is refused when the stored one is newer, and every
write moves ``updated_at`` forward by at least one millisecond.
"""

from __future__ import annotations

import hashlib
import time

from tftsr.audit import record as audit_record
from tftsr.db.ids import uuid7
from tftsr.docs import sections
from tftsr.errors import Conflict, NotFound

SUMMARY_COLUMNS = ("id, issue_id, doc_type, title, created_at, updated_at, generated_sha256,"
                   " generated_at, length(content_md) AS size")
FULL_COLUMNS = SUMMARY_COLUMNS + ", content_md"


class DocumentEdited(Conflict):
    """Regeneration would overwrite the author's edits."""

    code = "document_edited"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _to_dict(row: dict, *, full: bool) -> dict:
    out = dict(row)
    generated = out.pop("generated_sha256", None)
    if full:
        out["edited"] = generated is None or sha256(out["content_md"]) != generated
        out["sections"] = sections.list_sections(out["content_md"], out["doc_type"])
    return out


def summary(conn, document_id: str) -> dict:
    row = conn.execute(f"SELECT {FULL_COLUMNS} FROM documents WHERE id = ?",
                       (document_id,)).fetchone()
    if row is None:
        raise NotFound("That document does not exist (it may have been deleted).")
    doc = _to_dict(row, full=True)
    doc.pop("content_md")
    doc.pop("sections")
    return doc


def get(conn, document_id: str) -> dict:
    row = conn.execute(f"SELECT {FULL_COLUMNS} FROM documents WHERE id = ?",
                       (document_id,)).fetchone()
    if row is None:
        raise NotFound("That document does not exist (it may have been deleted).")
    return _to_dict(row, full=True)


def list_for_issue(conn, issue_id: str) -> list[dict]:
    rows = conn.execute(
        f"SELECT {FULL_COLUMNS} FROM documents WHERE issue_id = ?"
        " ORDER BY updated_at DESC, rowid DESC", (issue_id,),
    ).fetchall()
    out = []
    for row in rows:
        doc = _to_dict(row, full=True)
        doc.pop("content_md")
        doc.pop("sections")
        out.append(doc)
    return out


def find(conn, issue_id: str, doc_type: str) -> dict | None:
    """The incident's document of this type (the most recently updated, if several)."""
    row = conn.execute(
        f"SELECT {FULL_COLUMNS} FROM documents WHERE issue_id = ? AND doc_type = ?"
        " ORDER BY updated_at DESC, rowid DESC LIMIT 1", (issue_id, doc_type),
    ).fetchone()
    return _to_dict(row, full=True) if row else None


def _next_version(previous: int) -> int:
    return max(now_ms(), previous + 1)


def save_generated(conn, issue_id: str, doc_type: str, title: str, content_md: str, *,
                   overwrite: bool) -> tuple[dict, bool]:
    """Store freshly generated Markdown; return (document, created)."""
    existing = find(conn, issue_id, doc_type)
    digest = sha256(content_md)
    if existing is None:
        now = now_ms()
        doc_id = uuid7()
        conn.execute(
            "INSERT INTO documents (id, issue_id, doc_type, title, content_md, created_at,"
            " updated_at, generated_sha256, generated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (doc_id, issue_id, doc_type, title, content_md, now, now, digest, now),
        )
        return get(conn, doc_id), True
    if existing["edited"] and not overwrite:
        raise DocumentEdited(
            "This document was edited after it was generated. Regenerating it would replace "
            "those edits; confirm to overwrite them."
        )
    now = _next_version(existing["updated_at"])
    conn.execute(
        "UPDATE documents SET title = ?, content_md = ?, updated_at = ?, generated_sha256 = ?,"
        " generated_at = ? WHERE id = ?",
        (title, content_md, now, digest, now, existing["id"]),
    )
    return get(conn, existing["id"]), False


def update(conn, document_id: str, *, content_md: str | None, title: str | None,
           base_updated_at: int | None) -> dict:
    current = get(conn, document_id)
    if base_updated_at is not None and current["updated_at"] > base_updated_at:
        raise Conflict(
            "This document changed since you opened it (saved elsewhere or regenerated). "
            "Reload it before saving again."
        )
    changes = {}
    if content_md is not None and content_md != current["content_md"]:
        changes["content_md"] = content_md
    if title is not None and title != current["title"]:
        changes["title"] = title
    if not changes:
        return current
    changes["updated_at"] = _next_version(current["updated_at"])
    sets = ", ".join(f"{k} = :{k}" for k in changes)
    conn.execute(f"UPDATE documents SET {sets} WHERE id = :id", {**changes, "id": document_id})
    return get(conn, document_id)


def delete(conn, document_id: str) -> dict:
    doc = summary(conn, document_id)
    conn.execute("DELETE FROM documents WHERE id = ?", (document_id,))
    audit_record(conn, "document_deleted", "document", document_id,
                 {"issue_id": doc["issue_id"], "doc_type": doc["doc_type"],
                  "title": doc["title"]})
    return doc
