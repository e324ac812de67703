"""The PII gate: nothing reaches a provider before it has passed here.

* Typed text is scanned with :func:`tftsr.pii.detect_pii` and every finding is replaced
  by its placeholder (``[Email-1]``, ``[IPv4-3]`` … numbered per incident, see
  :mod:`tftsr.egress.gate`) before sending. The caller gets the list
  of what was removed (type and a masked preview) to show the user.
* Log files go out only in their reviewed, redacted form: a log whose review is not
  finished raises :class:`LogNotReviewed` naming it, so the UI can send the user there.

If the detector cannot be loaded, sending is refused rather than done unscanned.
"""

from __future__ import annotations

import gzip

from tftsr.egress.gate import Gate, Redaction, mask_value
from tftsr.errors import NotFound, TftsrError


class LogNotReviewed(TftsrError):
    code = "log_not_reviewed"
    http_status = 409

    def __init__(self, log_file_id: str, file_name: str):
        super().__init__(
            f"The log file '{file_name}' has not been reviewed and redacted yet, so it cannot be "
            "sent to an AI provider. Review its findings and apply the redactions first.")
        self.log_file_id = log_file_id
        self.file_name = file_name

    def to_dict(self) -> dict:
        return {**super().to_dict(), "log_file_id": self.log_file_id, "file_name": self.file_name}


def redact_text(text: str, *, gate: Gate | None = None) -> tuple[str, list[Redaction]]:
    """Replace every finding in ``text``; returns the text to send and what was removed.

    Pass the incident's gate (``Gate(app, issue_id)``) for its stable pseudonyms.
    """
    return (gate or Gate(None)).redact(text)


def notice_for(removed: list[Redaction]) -> str | None:
    if not removed:
        return None
    from tftsr.pii.spans import type_labels

    types = type_labels(r.pii_type for r in removed)
    n = len(removed)
    return (f"{n} item{'s were' if n != 1 else ' was'} removed before sending: {', '.join(types)}.")


# -- logs ---------------------------------------------------------------------------------
def _columns(conn, table: str) -> set[str]:
    return {r["name"] for r in conn.execute(f"PRAGMA table_info({table})").fetchall()}


def redacted_log_text(conn, log_file_id: str, issue_id: str | None = None) -> tuple[dict, str]:
    """The reviewed, redacted text of one log, or LogNotReviewed / NotFound."""
    row = conn.execute("SELECT id, issue_id, file_name, redacted FROM log_files WHERE id = ?",
                       (log_file_id,)).fetchone()
    if row is None or (issue_id and row["issue_id"] != issue_id):
        raise NotFound("That log file does not exist on this incident.")
    if not row["redacted"]:
        raise LogNotReviewed(row["id"], row["file_name"])
    if "redacted_compressed" not in _columns(conn, "log_files"):
        raise LogNotReviewed(row["id"], row["file_name"])  # evidence storage not migrated yet
    blob = conn.execute("SELECT redacted_compressed FROM log_files WHERE id = ?",
                        (log_file_id,)).fetchone()["redacted_compressed"]
    if blob is None:
        raise LogNotReviewed(row["id"], row["file_name"])
    text = gzip.decompress(blob).decode("utf-8")
    return row, text



__all__ = ["LogNotReviewed", "Redaction", "mask_value", "notice_for", "redact_text",
           "redacted_log_text"]
