"""Commands for log files, PII review and image attachments.

Uploads themselves arrive over HTTP (:mod:`tftsr.evidence.routes`) in both window kinds;
on the desktop the native file dialog may be used instead, and then the path comes from
the dialog, never from the page.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from tftsr.audit import record as audit_record
from tftsr.commands import command
from tftsr.errors import InvalidArgument, TftsrError, Unavailable
from tftsr.evidence import images, logs, review
from tftsr.evidence.ingest import file_chunks, ingest_log, require_issue
from tftsr.evidence.names import display_name
from tftsr.validation import Bool, Enum, Id, IdList, Int, Str

LOG_ID = Id("log file id")
IMAGE_ID = Id("image id")
ISSUE_ID = Id("incident id")
PII_TYPE = Str(min_len=1, max_len=64)
OFFSET = Int(min=0, max=2**40)
PAGE = dict(limit=Int(min=1, max=500, default=100), offset=Int(min=0, default=0))
MAX_DETECT_TEXT = 1024 * 1024
LOG_FILE_TYPES = ["Log files (*.log;*.txt;*.gz;*.json;*.jsonl;*.csv;*.out;*.err)",
                  "All files (*.*)"]
IMAGE_FILE_TYPES = ["Images (*.png;*.jpg;*.jpeg;*.gif;*.webp)"]
MAX_AUDITED_IDS = 100  # more finding ids than this are audited by count and SHA-256 only


def _changed(app, issue_id: str) -> None:
    app.events.emit("issue_changed", {"issue_id": issue_id})


def _issue_of(app, log_file_id: str) -> str:
    with app.db.connection() as conn:
        return logs.get_log_file(conn, log_file_id)["issue_id"]


def _pii_detector():
    from tftsr.pii import detect_pii

    return detect_pii


# --- log files -----------------------------------------------------------------------------

@command(issue_id=ISSUE_ID)
def list_log_files(app, issue_id):
    """Log files of one incident, oldest first, with their review state."""
    with app.db.connection() as conn:
        require_issue(conn, issue_id)
        return logs.list_for_issue(conn, issue_id)


@command(**PAGE)
def list_all_log_files(app, limit, offset):
    """Log files of every incident, newest first, each with its incident's title."""
    with app.db.connection() as conn:
        return logs.list_all(conn, limit=limit, offset=offset)


@command(log_file_id=LOG_ID, offset_line=Int(min=0, max=2**40, default=0),
         max_lines=Int(min=1, max=logs.MAX_PAGE_LINES, default=logs.DEFAULT_PAGE_LINES))
def get_log_file_content(app, log_file_id, offset_line, max_lines):
    """A page of a log's lines: the redacted text once its review is finalised."""
    return logs.content_page(app, log_file_id, offset_line, max_lines)


@command(log_file_id=LOG_ID)
def delete_log_file(app, log_file_id):
    """Remove a log file and its findings from the incident."""
    issue_id = logs.delete(app, log_file_id)
    _changed(app, issue_id)
    return {"deleted": True}


# --- PII review ----------------------------------------------------------------------------

@command(log_file_id=LOG_ID, pii_type=Str(max_len=64, required=False),
         status=Enum(review.STATUSES, required=False),
         limit=Int(min=1, max=50_000, default=10_000), offset=Int(min=0, default=0))
def get_pii_spans(app, log_file_id, pii_type, status, limit, offset):
    """Findings of a log in text order, with counts per type and decision."""
    with app.db.connection() as conn:
        return review.get_spans(conn, log_file_id, pii_type=pii_type or None, status=status,
                                limit=limit, offset=offset)


@command(log_file_id=Id("log file id", required=False),
         text=Str(max_len=MAX_DETECT_TEXT, strip=False, required=False))
def detect_pii(app, log_file_id, text):
    """Find PII in a stored log (re-run; decisions are kept) or in any text (nothing stored)."""
    if (log_file_id is None) == (text is None):
        raise InvalidArgument("log_file_id or text is required (one of them, not both).")
    if text is not None:
        if len(text.encode("utf-8")) > MAX_DETECT_TEXT:
            raise InvalidArgument("text is longer than 1 MB.")
        return {"spans": review.detect_in_text(text, _pii_detector())}
    review.redetect(app, log_file_id, _pii_detector())
    _changed(app, _issue_of(app, log_file_id))
    with app.db.connection() as conn:
        return review.get_spans(conn, log_file_id)


@command(span_ids=IdList("finding id", max_items=10_000),
         status=Enum(review.STATUSES))
def set_pii_span_status(app, span_ids, status):
    """Approve (redact), reject (keep) or reset some findings (audited per log file)."""
    with app.db.transaction() as conn:
        marks = ", ".join("?" * len(span_ids))
        changing = conn.execute(
            f"SELECT log_file_id, id FROM pii_spans WHERE id IN ({marks}) AND status != ?"
            " ORDER BY log_file_id, id", [*span_ids, status]).fetchall() if span_ids else []
        updated = review.set_span_status(conn, span_ids, status)
        per_file: dict[str, list[str]] = {}
        for row in changing:
            per_file.setdefault(row["log_file_id"], []).append(row["id"])
        for log_file_id, ids in per_file.items():
            audit_record(conn, "pii_findings_decided", "log_file", log_file_id, {
                "status": status, "count": len(ids),
                "span_ids": ids if len(ids) <= MAX_AUDITED_IDS else None,
                "span_ids_sha256": hashlib.sha256(",".join(ids).encode()).hexdigest()})
    return {"updated": updated}


@command(log_file_id=LOG_ID, pii_type=PII_TYPE, status=Enum(review.STATUSES))
def set_pii_type_status(app, log_file_id, pii_type, status):
    """Decide every finding of one type in a log at once."""
    with app.db.transaction() as conn:
        updated = review.set_type_status(conn, log_file_id, pii_type, status)
        if updated:
            audit_record(conn, "pii_type_decided", "log_file", log_file_id,
                         {"pii_type": pii_type, "status": status, "count": updated})
    return {"updated": updated}


@command(log_file_id=LOG_ID, start=OFFSET, end=OFFSET,
         pii_type=Str(min_len=1, max_len=64, required=False),
         replacement=Str(max_len=100, strip=False, required=False),
         every_occurrence=Bool(default=False))
def add_pii_span(app, log_file_id, start, end, pii_type, replacement, every_occurrence):
    """Mark characters start..end (end exclusive) for redaction by hand; with
    every_occurrence, the same text everywhere else in the log too."""
    return review.add_manual_span(app, log_file_id, start, end, pii_type, replacement,
                                  every_occurrence=every_occurrence)


@command(log_file_id=LOG_ID)
def apply_redactions(app, log_file_id):
    """Finalise the review: store the redacted text and record its SHA-256 in the audit log."""
    result = review.apply_redactions(app, log_file_id)
    _changed(app, result["log_file"]["issue_id"])
    return result


# --- images --------------------------------------------------------------------------------

@command(issue_id=ISSUE_ID)
def list_image_attachments(app, issue_id):
    """Images of one incident, oldest first."""
    with app.db.connection() as conn:
        require_issue(conn, issue_id)
        return images.list_for_issue(conn, issue_id)


@command(**PAGE)
def list_all_image_attachments(app, limit, offset):
    """Images of every incident, newest first, each with its incident's title."""
    with app.db.connection() as conn:
        return images.list_all(conn, limit=limit, offset=offset)


@command(image_id=IMAGE_ID)
def get_image_attachment(app, image_id):
    with app.db.connection() as conn:
        return images.get_image(conn, image_id)


@command(image_id=IMAGE_ID)
def delete_image_attachment(app, image_id):
    issue_id = images.delete_image(app, image_id)
    _changed(app, issue_id)
    return {"deleted": True}


# --- native dialogs (desktop only) ---------------------------------------------------------

def _choose_files(app, file_types: list[str]) -> list[str] | None:
    open_dialog = getattr(app, "open_dialog", None)
    if app.mode != "desktop" or open_dialog is None:
        raise Unavailable("The native file dialog exists only in the desktop window; "
                          "use the file picker in the page instead.")
    return open_dialog(file_types, True)


def _attach_each(paths: list[str], attach) -> dict:
    uploaded, errors = [], []
    for path in paths:
        name = display_name(Path(path).name, "file")
        try:
            uploaded.append(attach(path, name, os.path.getsize(path)))
        except TftsrError as exc:
            errors.append({"file_name": name, "code": exc.code, "message": exc.message})
        except OSError as exc:
            errors.append({"file_name": name, "code": "unreadable",
                           "message": f"TFTSR could not read this file: {exc.strerror or exc}."})
    return {"uploaded": uploaded, "errors": errors}


@command(issue_id=ISSUE_ID)
def open_log_files_dialog(app, issue_id):
    """Pick log files in the native dialog and attach each (desktop only)."""
    with app.db.connection() as conn:
        require_issue(conn, issue_id)
    paths = _choose_files(app, LOG_FILE_TYPES)
    if not paths:
        return {"uploaded": [], "errors": [], "cancelled": True}
    return _attach_each(paths, lambda path, name, size: ingest_log(
        app, issue_id, name, file_chunks(path), total_bytes=size))


@command(issue_id=ISSUE_ID, pii_warning_acknowledged=Bool(default=True))
def open_image_files_dialog(app, issue_id, pii_warning_acknowledged):
    """Pick images in the native dialog and attach each (desktop only; the page asks for
    the PII acknowledgement before calling)."""
    if not pii_warning_acknowledged:
        raise images.NotAcknowledged("Confirm that you checked the images for personal data "
                                     "before attaching them.")
    with app.db.connection() as conn:
        require_issue(conn, issue_id)
    paths = _choose_files(app, IMAGE_FILE_TYPES)
    if not paths:
        return {"uploaded": [], "errors": [], "cancelled": True}
    return _attach_each(paths, lambda path, name, size: images.ingest_image(
        app, issue_id, name, file_chunks(path), is_paste=False, acknowledged=True,
        total_bytes=size))
