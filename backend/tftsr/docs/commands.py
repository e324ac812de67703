"""Commands for documents (RCA, post-mortem), the Markdown preview, export and action items.

The full contract (arguments, result shapes, events) is documented for the UI beside the
other command contracts; the short version is in each docstring.
"""

from __future__ import annotations

import hashlib

from tftsr.audit import head_text as audit_head_text
from tftsr.audit import record as audit_record
from tftsr.commands import command
from tftsr.delivery import deliver_file
from tftsr.docs import actions, ai_draft, export, generate
from tftsr.docs import store as doc_store
from tftsr.issues import store as issue_store
from tftsr.issues import timeline
from tftsr.validation import Bool, Date, Enum, EnumList, Id, Int, Str

ISSUE_ID = Id("incident id")
DOCUMENT_ID = Id("document id")
ACTION_ID = Id("action item id")
MARKDOWN = Str(max_len=2_000_000, strip=False)
OWNER = Str(max_len=200, required=False)
NOTES = Str(max_len=5000, required=False, strip=False)


def _changed(app, issue_id: str, document: dict | None = None) -> None:
    app.events.emit("issue_changed", {"issue_id": issue_id})
    if document is not None:
        app.events.emit("document_changed", {"issue_id": issue_id, "document_id": document["id"],
                                             "doc_type": document["doc_type"]})


# -- generation ------------------------------------------------------------------------------
def _generate(app, issue_id: str, doc_type: str, overwrite: bool) -> dict:
    with app.db.transaction() as conn:
        record = generate.collect(conn, issue_id)
        markdown = generate.build(doc_type, record)
        title = generate.document_title(doc_type, record.issue)
        doc, created = doc_store.save_generated(conn, issue_id, doc_type, title, markdown,
                                                overwrite=overwrite)
        verb = "generated" if created else "regenerated"
        if doc_type == "rca":
            timeline.record_event(conn, issue_id, "rca_generated", f"Root cause analysis {verb}",
                                  {"doc_id": doc["id"], "section_count": len(doc["sections"])})
        else:
            timeline.record_event(conn, issue_id, "postmortem_generated", f"Post-mortem {verb}",
                                  {"doc_id": doc["id"],
                                   "timeline_events_count": len(record.story_events)})
    _changed(app, issue_id, doc)
    return doc


@command(issue_id=ISSUE_ID, overwrite=Bool(default=False))
def generate_rca(app, issue_id, overwrite):
    """Write (or rewrite) the incident's RCA from its data. 409 document_edited when the
    stored RCA was edited and ``overwrite`` is not true."""
    return _generate(app, issue_id, "rca", overwrite)


@command(issue_id=ISSUE_ID, overwrite=Bool(default=False))
def generate_postmortem(app, issue_id, overwrite):
    """Write (or rewrite) the incident's post-mortem. 409 document_edited as for the RCA."""
    return _generate(app, issue_id, "postmortem", overwrite)


# -- editing ---------------------------------------------------------------------------------
@command(issue_id=ISSUE_ID)
def list_documents(app, issue_id):
    """The incident's documents without their content, most recently updated first."""
    with app.db.connection() as conn:
        issue_store.get(conn, issue_id)
        return doc_store.list_for_issue(conn, issue_id)


@command(document_id=DOCUMENT_ID)
def get_document(app, document_id):
    """One document with its Markdown and its sections."""
    with app.db.connection() as conn:
        return doc_store.get(conn, document_id)


@command(document_id=DOCUMENT_ID, content_md=Str(max_len=2_000_000, strip=False, required=False),
         title=Str(min_len=1, max_len=300, required=False),
         base_updated_at=Int(min=0, required=False))
def update_document(app, document_id, content_md, title, base_updated_at):
    """Save the editor's content. With ``base_updated_at`` a stale write is refused (409).
    A change is audited with the new content's size and SHA-256, never the content."""
    with app.db.transaction() as conn:
        before = doc_store.get(conn, document_id)
        doc = doc_store.update(conn, document_id, content_md=content_md, title=title,
                               base_updated_at=base_updated_at)
        changed = [f for f in ("title", "content_md") if doc[f] != before[f]]
        if changed:
            content = doc["content_md"].encode("utf-8")
            audit_record(conn, "document_edited", "document", document_id, {
                "issue_id": doc["issue_id"], "doc_type": doc["doc_type"], "title": doc["title"],
                "fields": ["content" if f == "content_md" else f for f in changed],
                "content_bytes": len(content), "content_sha256": hashlib.sha256(content).hexdigest(),
                "previous_content_bytes": len(before["content_md"].encode("utf-8"))})
    if doc["updated_at"] != before["updated_at"]:
        _changed(app, doc["issue_id"], doc)
    return doc


@command(document_id=DOCUMENT_ID)
def delete_document(app, document_id):
    with app.db.transaction() as conn:
        doc = doc_store.delete(conn, document_id)
    _changed(app, doc["issue_id"], doc)
    return {"deleted": True, "document_id": document_id}


@command(markdown=MARKDOWN)
def render_markdown(app, markdown):
    """Sanitised HTML for the editor preview."""
    from tftsr.docs.render import render_markdown as render

    return {"html": render(markdown)}


# -- export ----------------------------------------------------------------------------------
@command(document_id=DOCUMENT_ID, format=Enum(tuple(export.FORMATS)))
def export_document(app, document_id, format):
    """Export as Markdown, standalone HTML or PDF: a Save dialog or a one-time download."""
    with app.db.connection() as conn:
        doc = doc_store.get(conn, document_id)
        inp = export.ExportInput(doc, issue_store.get(conn, doc["issue_id"]),
                                 timeline.list_events(conn, doc["issue_id"]),
                                 audit_head=audit_head_text(conn))
    if format != "md":  # screenshots the document shows (Markdown keeps its references)
        inp.images = export.load_images(app, doc["issue_id"], doc["content_md"])
    data, mime, name = export.export_bytes(inp, format)
    result = deliver_file(app, name, mime, data)
    if result.get("cancelled"):
        return {**result, "format": format}
    with app.db.transaction() as conn:
        timeline.record_event(
            conn, doc["issue_id"], "document_exported",
            f"{export.FORMATS[format][1].upper()} export of the {inp.kind.lower()}",
            {"format": format, "file_path": result.get("path") or result["filename"],
             "filename": result["filename"], "doc_id": document_id, "doc_type": doc["doc_type"],
             "bytes": len(data)},
        )
    _changed(app, doc["issue_id"])
    return {**result, "format": format}


# -- action items ----------------------------------------------------------------------------
def _action_changed(app, issue_id: str) -> None:
    app.events.emit("action_items_changed", {"issue_id": issue_id})
    app.events.emit("issue_changed", {"issue_id": issue_id})


@command(issue_id=ISSUE_ID, title=Str(min_len=1, max_len=300), kind=Enum(actions.KINDS),
         owner=OWNER, due_date=Date(required=False),
         status=Enum(actions.STATUSES, default="open"), notes=NOTES)
def create_action_item(app, issue_id, title, kind, owner, due_date, status, notes):
    """Add an action item to an incident."""
    with app.db.transaction() as conn:
        issue_store.get(conn, issue_id)
        item = actions.create(conn, issue_id, title=title, kind=kind, owner=owner,
                              due_date=due_date, status=status, notes=notes)
    _action_changed(app, issue_id)
    return item


class _DateOrEmpty(Date):
    """A date, or "" to clear it."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.min_len = 0

    def check(self, name, value):
        if value == "":
            return ""
        return super().check(name, value)


@command(action_item_id=ACTION_ID, title=Str(min_len=1, max_len=300, required=False),
         kind=Enum(actions.KINDS, required=False), owner=OWNER,
         due_date=_DateOrEmpty(required=False), status=Enum(actions.STATUSES, required=False),
         notes=NOTES)
def update_action_item(app, action_item_id, **changes):
    """Change an action item; only the fields given are touched ("" clears owner, due
    date and notes)."""
    with app.db.transaction() as conn:
        item = actions.update(conn, action_item_id, changes)
    _action_changed(app, item["issue_id"])
    return item


@command(action_item_id=ACTION_ID)
def delete_action_item(app, action_item_id):
    with app.db.transaction() as conn:
        item = actions.delete(conn, action_item_id)
    _action_changed(app, item["issue_id"])
    return {"deleted": True, "action_item_id": action_item_id}


@command(issue_id=ISSUE_ID)
def list_action_items(app, issue_id):
    """The incident's action items, overdue first."""
    with app.db.connection() as conn:
        issue_store.get(conn, issue_id)
        return actions.list_for_issue(conn, issue_id)


@command(status=EnumList(actions.STATUSES, required=False), kind=Enum(actions.KINDS,
         required=False), owner=Str(max_len=200, required=False),
         limit=Int(min=1, max=500, default=100), offset=Int(min=0, default=0))
def list_all_action_items(app, status, kind, owner, limit, offset):
    """Action items across incidents (default: open and in progress), overdue first."""
    with app.db.connection() as conn:
        return actions.list_all(conn, statuses=tuple(status or actions.ACTIVE_STATUSES),
                                kind=kind, owner=owner, limit=limit, offset=offset)


# -- drafting with AI ------------------------------------------------------------------------
@command(document_id=DOCUMENT_ID,
         section_ids=EnumList(ai_draft.SECTION_IDS, required=False))
def draft_document_with_ai(app, document_id, section_ids):
    """Let the active AI provider draft the sections waiting for the author (or those named)
    from redacted material only. Returns {draft_id, …} at once; the result arrives as
    document_draft_progress / document_draft_done / document_draft_error events."""
    return ai_draft.start(app, document_id, section_ids)


@command(draft_id=Id("draft id"))
def cancel_document_draft(app, draft_id):
    """Stop a draft being written; nothing is changed. {cancelled: false} when it had ended,
    not_found for an unknown draft."""
    job = ai_draft._jobs(app).get(draft_id)
    result = ai_draft.cancel(app, draft_id)
    if result.get("cancelled") and job is not None:
        with app.db.transaction() as conn:
            audit_record(conn, "document_draft_cancelled", "document", job.document_id,
                         {"draft_id": draft_id})
    return result
