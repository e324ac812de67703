"""Draft with AI: the active AI provider writes a document's narrative sections for the
author to review.

What is sent. Only :func:`tftsr.docs.generate.narrative_context` — the incident's
fields, metrics, 5-Whys, timeline, action items and counts from *redacted* log files,
never log text or an original value — written out as plain text. Free text in it was
typed by people and may hold personal data, so the whole prompt passes the PII gate
(:func:`tftsr.ai.pii_gate.redact_text`) before it is sent. The request goes through
:func:`tftsr.ai.complete.complete`: the provider's client with its timeouts, retries and
cancellation, and an ``ai_send`` audit entry (SHA-256 of the exact body) before each
attempt.

What comes back is untrusted text. Each draft is tidied so it cannot change the
document's structure (headings demoted below section level, code fences closed, author
marks removed) and opens with a blockquote naming the provider and model::

    > ✎ Drafted by AI (Team OpenAI · gpt-4o-mini) — review before publishing

A drafted section replaces the section's author prompt (recorded facts before and after
it stay); a section without a prompt, named explicitly, is replaced whole. A section
somebody changed while the draft was being written is left alone. The stored document no
longer matches what was generated, so it counts as edited (regenerating asks first).

It runs as a job, like a chat reply: :func:`start` checks everything and returns at once;
a worker thread sends the request and reports through events:

* ``document_draft_progress`` {draft_id, document_id, stage: "sending"|"writing"|"retrying",
  chars, attempt?, wait_seconds?, reason?}
* ``document_draft_done`` {draft_id, document_id, issue_id, document, drafted_section_ids,
  skipped_section_ids}
* ``document_draft_error`` {draft_id, document_id, code, message} — code ``ai_cancelled``
  after :func:`cancel`; the document is unchanged.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import deque
from dataclasses import dataclass, field

from tftsr.ai import pii_gate, registry
from tftsr.ai.base import Cancellation, Cancelled, ChatRequest, Message, ProviderError
from tftsr.ai.complete import complete
from tftsr.audit import record as audit_record
from tftsr.db.ids import uuid7
from tftsr.docs import generate, sections
from tftsr.docs import store as doc_store
from tftsr.egress.gate import Gate
from tftsr.errors import Conflict, InvalidArgument, InvalidState, NotFound, TftsrError

log = logging.getLogger(__name__)

MAX_DRAFT_CHARS = 20_000  # per section
ENDED_REMEMBERED = 200  # finished draft ids kept so a late cancel is answered, not refused
PROGRESS_EVERY_CHARS = 400
SECTION_IDS = tuple(dict.fromkeys(s.id for specs in sections.SPECS.values() for s in specs))

# What to write where the section holds no author prompt to take the guidance from.
DEFAULT_GUIDANCE = {
    "executive_summary": "Two or three sentences for readers who will read nothing else: what "
                         "happened, the impact, and what is being done.",
    "impact": "Who and what was affected, for how long and how badly.",
    "what_went_well": "What helped: detection, tooling, communication, decisions that paid off.",
    "what_could_be_improved": "What slowed detection, diagnosis or recovery, and what would "
                              "have helped.",
    "lessons_learned": "What the team learned and will do differently. Blameless: systems and "
                       "decisions, not people.",
    "contributing_factors": "Conditions that made the incident possible or worse.",
}

SYSTEM_PROMPT = """\
You help an IT operations team write the {doc_label} of an incident.
Write only from the incident record you are given. Do not invent facts, numbers, names, \
systems or times that are not in it; where the record is silent, say plainly what is not \
known yet. Keep it blameless: describe systems, signals and decisions, not individuals.
Some values were replaced by placeholders such as [Email] or [IPv4] before the record \
left the author's machine. Keep placeholders exactly as they are and never guess what \
they stand for.
Answer in Markdown. For each requested section write one line `=== <section id> ===` \
followed by that section's text: short paragraphs and bullet lists, no headings, no \
tables. Write nothing before the first such line."""

_MARKER = re.compile(r"^[ \t>*_#`]*={2,}[ \t]*([A-Za-z_]+)[ \t]*={2,}[ \t*_`]*$", re.MULTILINE)
_ATX_HEADING = re.compile(r"^ {0,3}#{1,2}(?=[ \t]|$)")
_SETEXT_H1 = re.compile(r"^ {0,3}=+[ \t]*$")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")


# -- jobs in flight -------------------------------------------------------------------------------
@dataclass
class DraftJob:
    draft_id: str
    document_id: str
    cancel: Cancellation = field(default_factory=Cancellation)
    thread: threading.Thread | None = None


_JOBS_LOCK = threading.Lock()


def _jobs(app) -> dict[str, DraftJob]:
    with _JOBS_LOCK:
        return app.extras.setdefault("document_drafts", {})


def _ended(app) -> deque[str]:
    with _JOBS_LOCK:
        return app.extras.setdefault("document_drafts_ended", deque(maxlen=ENDED_REMEMBERED))


def _finish(app, draft_id: str) -> None:
    _ended(app).append(draft_id)
    _jobs(app).pop(draft_id, None)


def cancel(app, draft_id: str) -> dict:
    """Stop a draft being written; ``cancelled`` is False when it had already ended.

    NotFound for an id this run of the app never started.
    """
    job = _jobs(app).get(draft_id)
    if job is None:
        if draft_id in _ended(app):
            return {"cancelled": False}
        raise NotFound("That draft does not exist (drafts are forgotten when the app restarts).")
    job.cancel.cancel()
    return {"cancelled": True}


def wait_idle(app, timeout: float = 30.0) -> bool:
    """Wait for every draft being written to finish (shutdown and tests)."""
    for job in list(_jobs(app).values()):
        if job.thread is not None:
            job.thread.join(timeout)
    return not _jobs(app)


# -- what to draft --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    id: str
    heading: str
    guidance: str
    body: str  # the section's body when the draft started


def _guidance(section_id: str, body: str) -> str:
    """The author prompt's own words, else the default for the section."""
    for line in body.split("\n"):
        if sections.AUTHOR_MARK in line:
            text = line.split(sections.AUTHOR_MARK, 1)[1]
            text = re.sub(r"\s*Replace this note[^.]*\.", "", text).strip()  # meant for people
            if text:
                return text
    return DEFAULT_GUIDANCE.get(section_id, "Write this section from the record.")


def choose_targets(doc: dict, section_ids: list[str] | None) -> list[Target]:
    """The sections to draft: those named, else every section awaiting its author."""
    present = {s["id"]: s for s in doc["sections"] if s["id"]}
    if section_ids:
        wanted = list(dict.fromkeys(section_ids))
        for sid in wanted:
            if sid not in present:
                raise InvalidArgument(f"This document has no section '{sid}' (its heading may "
                                      "have been removed).")
            s = present[sid]
            if s["kind"] != "narrative" and not s["needs_author"]:
                raise InvalidArgument(f"'{s['heading']}' is written from the incident's data; "
                                      "only sections a person writes can be drafted.")
        chosen = [s for s in doc["sections"] if s["id"] in wanted]
    else:
        chosen = [s for s in doc["sections"] if s["id"] and s["needs_author"]]
        if not chosen:
            raise InvalidState("No section is waiting for the author's words, so there is "
                               "nothing to draft. Name the sections to draft again.")
    out = []
    for s in chosen:
        body = sections.section_body(doc["content_md"], doc["doc_type"], s["id"])
        out.append(Target(s["id"], s["heading"], _guidance(s["id"], body), body))
    return out


# -- the prompt -----------------------------------------------------------------------------------
def _value(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) or "—"
    return " ".join(str(value).split())


def context_text(ctx: dict) -> str:
    """The drafting material as plain text (before the PII gate)."""
    i = ctx["issue"]
    lines = [
        f"Incident: {_value(i['title'])}",
        f"Category: {_value(i['category'])}; severity: {_value(i['severity'])}; "
        f"status: {_value(i['status'])}",
        f"Opened: {_value(i['created_at'])} UTC; resolved: "
        f"{(_value(i['resolved_at']) + ' UTC') if i.get('resolved_at') else 'not resolved'}",
        f"Assigned to: {_value(i.get('assigned_to'))}; tags: {_value(i.get('tags'))}",
        "", "Description:", (i.get("description") or "").strip() or "(none recorded)",
        "", "Response metrics:",
    ]
    for m in ctx["metrics"].values():
        span = f" (from {m['start']} to {m['end']} UTC)" if m.get("seconds") is not None else ""
        why = f" — {m['missing_reason']}" if m.get("seconds") is None and m.get("missing_reason") else ""
        lines.append(f"- {m['label']}: {m['display']}{span}{why}")
    lines += ["", "5-Whys:"]
    for s in ctx["five_whys"] or []:
        root = " [root cause]" if s["is_root_cause"] else ""
        lines.append(f"{s['step_order']}. {_value(s['question'])}{root}")
        lines.append(f"   Answer: {_value(s['answer']) if s['answer'] else 'not answered'}")
        if s.get("evidence"):
            lines.append(f"   Evidence: {_value(s['evidence'])}")
    if not ctx["five_whys"]:
        lines.append("(no 5-Whys recorded)")
    lines += ["", f"Root cause: {_value(ctx['root_cause']) if ctx['root_cause'] else 'not identified yet'}",
              "", "Timeline (UTC, oldest first):"]
    for e in ctx["timeline"] or []:
        manual = " (entered by hand)" if e.get("manual") else ""
        lines.append(f"- {e['time']} {e['type']}{manual}: {_value(e['description'])}")
    if not ctx["timeline"]:
        lines.append("(no entries)")
    lines += ["", "Action items:"]
    for a in ctx["action_items"] or []:
        bits = [a["kind"].replace("_", " "), a["status"].replace("_", " ")]
        if a.get("owner"):
            bits.append(f"owner {_value(a['owner'])}")
        if a.get("due_date"):
            bits.append(f"due {a['due_date']}" + (" (overdue)" if a.get("overdue") else ""))
        lines.append(f"- {_value(a['title'])} ({'; '.join(bits)})")
    if not ctx["action_items"]:
        lines.append("(none)")
    lines += ["", "Log files analysed (reviewed and redacted; only counts of removed values):"]
    for f in ctx["log_files"] or []:
        found = ", ".join(f"{t} {n}" for t, n in sorted(f["redacted_by_type"].items())) or "nothing"
        lines.append(f"- {_value(f['file_name'])}, uploaded {f['uploaded_at']}; redacted: {found}")
    if not ctx["log_files"]:
        lines.append("(none)")
    if ctx.get("log_files_not_redacted"):
        lines.append(f"({ctx['log_files_not_redacted']} more log file(s) not reviewed yet; "
                     "not described here)")
    return "\n".join(lines)


def build_request(ctx: dict, doc_type: str, targets: list[Target],
                  gate: Gate | None = None) -> tuple[ChatRequest, int]:
    """The gated request and how many values the PII gate removed (with the incident's
    gate, values keep the placeholders they have in its logs and chats)."""
    system, removed_a = pii_gate.redact_text(
        SYSTEM_PROMPT.format(doc_label=generate.DOC_TITLES[doc_type].lower()), gate=gate)
    wanted = "\n".join(f"- {t.id} ({t.heading}): {' '.join(t.guidance.split())}" for t in targets)
    user_text = (f"Write these sections of the {generate.DOC_TITLES[doc_type].lower()}:\n"
                 f"{wanted}\n\nIncident record:\n\n{context_text(ctx)}")
    user, removed_b = pii_gate.redact_text(user_text, gate=gate)
    return ChatRequest([Message("system", system), Message("user", user)]), len(removed_a) + len(removed_b)


# -- the reply ------------------------------------------------------------------------------------
def split_reply(text: str, targets: list[Target]) -> dict[str, str]:
    """Section id -> drafted text, from the ``=== id ===`` markers in the reply."""
    wanted = {t.id for t in targets}
    found: dict[str, str] = {}
    matches = list(_MARKER.finditer(text))
    for n, m in enumerate(matches):
        sid = m.group(1).lower()
        end = matches[n + 1].start() if n + 1 < len(matches) else len(text)
        body = text[m.end():end].strip()
        if sid in wanted and sid not in found and body:
            found[sid] = body
    if not matches and len(targets) == 1 and text.strip():
        found[targets[0].id] = text.strip()
    return found


def clean_draft(text: str, heading: str) -> str:
    """Untrusted reply text made safe to place inside one section."""
    text = text.replace(sections.AUTHOR_MARK, "").replace(sections.DRAFT_MARK, "")
    lines = text.strip().split("\n")
    if lines and re.sub(r"[#*_:\s]", "", lines[0]).lower() == re.sub(r"\s", "", heading).lower():
        lines = lines[1:]  # the model repeated the section's heading
    out, in_fence = [], False
    for line in lines:
        if _FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence:
            if _ATX_HEADING.match(line):  # "#" / "##" would start a new section: demote
                line = "### " + line.lstrip(" #")
            elif _SETEXT_H1.match(line):
                line = ""
        out.append(line.rstrip())
    if in_fence:
        out.append("```")
    text = "\n".join(out).strip()
    if len(text) > MAX_DRAFT_CHARS:
        text = text[:MAX_DRAFT_CHARS].rstrip() + "\n\n_[… shortened]_"
    return text


def draft_block(text: str, provider_row: dict) -> str:
    mark = (f"> {sections.DRAFT_MARK} ({generate.md_text(provider_row['name'])} · "
            f"{generate.md_text(provider_row['model'])}) — review before publishing")
    return f"{mark}\n\n{text}"


def insert_draft(body: str, block: str) -> str:
    """``body`` with its author prompt replaced by ``block`` (the whole body if it has none)."""
    lines = body.split("\n")
    at = next((i for i, line in enumerate(lines) if sections.AUTHOR_MARK in line), None)
    if at is None:
        return block
    start, end = at, at + 1
    while start > 0 and lines[start - 1].lstrip().startswith(">"):
        start -= 1
    while end < len(lines) and lines[end].lstrip().startswith(">"):
        end += 1
    return "\n".join(lines[:start] + [block] + lines[end:]).strip("\n")


# -- starting and running ------------------------------------------------------------------------
def start(app, document_id: str, section_ids: list[str] | None) -> dict:
    """Check, build the gated request, and start writing on a worker thread."""
    with app.db.connection() as conn:
        doc = doc_store.get(conn, document_id)
        provider_row = registry.find_row(conn, None)  # ai_no_provider when none is active
        targets = choose_targets(doc, section_ids)
        ctx = generate.narrative_context(conn, doc["issue_id"])
    request, redaction_count = build_request(ctx, doc["doc_type"], targets,
                                             Gate(app, doc["issue_id"]))
    jobs = _jobs(app)
    with _JOBS_LOCK:
        if any(j.document_id == document_id for j in jobs.values()):
            raise Conflict("An AI draft of this document is already being written. Wait for it "
                           "or cancel it first.")
        job = DraftJob(uuid7(), document_id)
        jobs[job.draft_id] = job
    worker = _Worker(app, job, doc, provider_row, targets, request, redaction_count)
    job.thread = threading.Thread(target=worker.run, name=f"draft-{job.draft_id[:8]}", daemon=True)
    job.thread.start()
    return {"draft_id": job.draft_id, "document_id": document_id,
            "section_ids": [t.id for t in targets], "provider": provider_row["name"],
            "provider_kind": provider_row["kind"], "model": provider_row["model"],
            "redaction_count": redaction_count}


class _Worker:
    """Sends one drafting request, writes the drafts into the document, reports by events."""

    def __init__(self, app, job: DraftJob, doc: dict, provider_row: dict, targets: list[Target],
                 request: ChatRequest, redaction_count: int):
        self.app, self.job, self.doc, self.provider_row = app, job, doc, provider_row
        self.targets, self.request, self.redaction_count = targets, request, redaction_count
        self.ids = {"draft_id": job.draft_id, "document_id": job.document_id}
        self.chars = 0
        self.reported = -1

    def progress(self, stage: str, **extra) -> None:
        self.app.events.emit("document_draft_progress",
                             {**self.ids, "stage": stage, "chars": self.chars, **extra})

    def on_text(self, delta: str) -> None:
        self.chars += len(delta)
        if self.reported < 0 or self.chars - self.reported >= PROGRESS_EVERY_CHARS:
            self.reported = self.chars
            self.progress("writing")

    def on_retry(self, attempt: int, wait: float, reason: str) -> None:
        self.progress("retrying", attempt=attempt, wait_seconds=wait, reason=reason)

    def run(self) -> None:
        try:
            self.progress("sending")
            result = complete(
                self.app, self.provider_row, self.request, entity_type="document",
                entity_id=self.job.document_id, cancel=self.job.cancel, on_text=self.on_text,
                on_retry=self.on_retry,
                details={"purpose": "document_draft", "issue_id": self.doc["issue_id"],
                         "doc_type": self.doc["doc_type"], "log_file_ids": [],
                         "section_ids": [t.id for t in self.targets],
                         "redaction_count": self.redaction_count})
            self.job.cancel.check()
            document, drafted, skipped = self.write(result.content)
        except Cancelled:
            self.fail("ai_cancelled", "Drafting was cancelled; the document was not changed.")
        except TftsrError as exc:
            self.fail(exc.code, exc.message)
        except Exception:
            log.exception("Drafting a document with AI failed")
            self.fail("internal", "Something went wrong while drafting with AI. The details "
                                  "are in the application log; the document was not changed.")
        else:
            issue_id = document["issue_id"]
            self.app.events.emit("document_changed", {"issue_id": issue_id,
                                                      "document_id": document["id"],
                                                      "doc_type": document["doc_type"]})
            self.app.events.emit("issue_changed", {"issue_id": issue_id})
            self.app.events.emit("document_draft_done", {
                **self.ids, "issue_id": issue_id, "document": document,
                "drafted_section_ids": drafted, "skipped_section_ids": skipped})
        finally:
            _finish(self.app, self.job.draft_id)

    def fail(self, code: str, message: str) -> None:
        self.app.events.emit("document_draft_error", {**self.ids, "code": code, "message": message})

    def write(self, reply: str) -> tuple[dict, list[str], list[str]]:
        """Place each draft into the document as it is now; returns (document, drafted, skipped)."""
        drafts = split_reply(reply, self.targets)
        if not drafts:
            raise ProviderError(
                f"The reply from {self.provider_row['name']} did not contain the requested "
                "sections, so the document was not changed. Try again.", code="ai_bad_response")
        doc_type = self.doc["doc_type"]
        with self.app.db.transaction() as conn:
            current = doc_store.get(conn, self.job.document_id)
            markdown = current["content_md"]
            drafted, skipped = [], []
            for target in self.targets:
                text = drafts.get(target.id)
                try:
                    body = sections.section_body(markdown, doc_type, target.id)
                except KeyError:
                    body = None
                if text is None or body != target.body:  # not drafted, or written meanwhile
                    skipped.append(target.id)
                    continue
                block = draft_block(clean_draft(text, target.heading), self.provider_row)
                markdown = sections.replace_section_body(markdown, doc_type, target.id,
                                                         insert_draft(body, block))
                drafted.append(target.id)
            if not drafted:
                raise Conflict("Every section was changed while the draft was being written, "
                               "so nothing was replaced.")
            document = doc_store.update(conn, current["id"], content_md=markdown, title=None,
                                        base_updated_at=current["updated_at"])
            audit_record(conn, "document_ai_drafted", "document", current["id"], {
                "issue_id": current["issue_id"], "doc_type": doc_type, "section_ids": drafted,
                "skipped_section_ids": skipped, "provider": self.provider_row["name"],
                "provider_kind": self.provider_row["kind"], "model": self.provider_row["model"]})
        return document, drafted, skipped
