"""The RCA and the post-mortem, written as Markdown from the incident's real data.

Every value comes from the database: the incident (with its roles, impact and
milestones), its timeline, the 5-Whys, the log files and their PII findings, and the
action items. A section with no data says so in plain words.

The documents tell the incident's story, not the tool's bookkeeping: the timeline holds
the incident's opening, the entries people wrote and the milestones; the 5-Whys appear
as the final chain (a why deleted or reordered on the way is in the audit log, not
here); response metrics come from the milestones only (:mod:`tftsr.docs.metrics`). What the tool cannot know (impact, what went well, lessons learned) is left
to the author: the section holds a clearly marked prompt (``sections.AUTHOR_MARK``)
instead of invented text; the author replaces it in the editor (or a drafting tool does,
by section id — see :func:`narrative_context`).

Only seed columns are read from tables other domains own (log_files, pii_spans,
timeline_events, resolution_steps), and missing rows are fine.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from tftsr.db.ids import now_text
from tftsr.docs import actions, metrics, sections
from tftsr.issues import milestones, timeline
from tftsr.issues import store as issue_store
from tftsr.issues.domains import DOMAIN_LABELS
from tftsr.pii.spans import LABELS as PII_LABELS

DOC_TITLES = {"rca": "Root Cause Analysis", "postmortem": "Post-mortem"}
# Events about the documents themselves are not part of the incident's story.
DOCUMENT_EVENT_TYPES = ("rca_generated", "postmortem_generated", "document_exported")
# Recorded events that are bookkeeping of the tool (each 5-Whys edit, field changes, status
# moves, uploads): the audit log keeps them; the documents show their outcome instead
# (the final whys, the facts table, the milestones, the log files section).
BOOKKEEPING_EVENT_TYPES = DOCUMENT_EVENT_TYPES + (
    "why_level_advanced", "root_cause_identified", "issue_updated", "status_changed",
    "log_uploaded",
)
EVENT_LABELS = {
    "triage_started": "Incident opened", "status_changed": "Status changed",
    "issue_updated": "Details updated", "why_level_advanced": "5-Whys step",
    "root_cause_identified": "Root cause identified", "log_uploaded": "Log file",
    "rca_generated": "RCA generated", "postmortem_generated": "Post-mortem generated",
    "document_exported": "Document exported", "note": "Note",
    "impact_started": "Impact began", "detected": "Detected",
    "mitigation_applied": "Mitigation applied", "escalated": "Escalated",
    "customer_notified": "Customers notified", "service_restored": "Service restored",
    "monitoring": "Monitoring", "other": "Other",
}
PRIORITY_LABELS = {"p1": "P1 (act now)", "p2": "P2 (today)", "p3": "P3 (this week)",
                   "p4": "P4 (when possible)"}
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def pii_label(pii_type: str) -> str:
    """A type's name as people say it: known types from the table above, any other one
    with its words separated ("CloudToken" -> "Cloud token")."""
    if pii_type in PII_LABELS:
        return PII_LABELS[pii_type]
    words = _CAMEL.sub(" ", str(pii_type)).split()
    return md_text(" ".join([words[0]] + [w.lower() for w in words[1:]]) if words else pii_type)
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])")
# Characters that only mean something at the start of a line (headings, lists, quotes).
_MD_LINE_START = re.compile(r"^(#|[+\-=>]|\d+[.)])")


# -- Markdown helpers ---------------------------------------------------------------------
def md_text(value) -> str:
    """Plain text made safe to place inline in Markdown: specials escaped, one line."""
    text = " ".join(str(value if value is not None else "").split())
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return _MD_LINE_START.sub(lambda m: m.group(1)[:-1] + "\\" + m.group(1)[-1], text)


def md_code(value: str) -> str:
    text = str(value).replace("`", "'")
    return f"`{text}`"


def md_table(headers: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(cell or " " for cell in row) + " |" for row in rows]
    return "\n".join(out)


def no_data(sentence: str) -> str:
    return f"_{sentence}_"


def author_prompt(guidance: str) -> str:
    return f"> {sections.AUTHOR_MARK} {guidance}"


def human_size(n: int | None) -> str:
    if n is None:
        return "unknown size"
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{int(size)} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"


def label(value: str | None) -> str:
    return (value or "").replace("_", " ").capitalize()


# -- the incident's record ----------------------------------------------------------------
@dataclass
class IncidentRecord:
    issue: dict
    events: list[dict]
    steps: list[dict]
    log_files: list[dict]
    action_items: list[dict]
    metrics: list[metrics.Metric]
    generated_at: str = field(default_factory=now_text)

    @property
    def root_cause(self) -> dict | None:
        return next((s for s in self.steps if s["is_root_cause"]), None)

    @property
    def story_events(self) -> list[dict]:
        """The incident's opening and the entries people wrote, oldest first."""
        return [e for e in self.events if e["event_type"] not in BOOKKEEPING_EVENT_TYPES]

    @property
    def milestones(self) -> list[dict]:
        return [m for m in milestones.as_list(self.issue) if m["at"]]

    def metric(self, key: str) -> metrics.Metric:
        return next(m for m in self.metrics if m.key == key)

    @property
    def category_label(self) -> str:
        cat = self.issue.get("category") or ""
        return DOMAIN_LABELS.get(cat, cat) or "Uncategorised"


def _column_names(conn, table: str) -> set[str]:
    return {r["name"] for r in conn.execute(f"PRAGMA table_info({table})").fetchall()}


def _log_files(conn, issue_id: str) -> list[dict]:
    """Log files with their PII findings counted by type; never any original value.

    Seed columns only, except that a ``pii_spans.status`` column, where the evidence
    migration added it, is honoured so rejected findings are not counted as redactions.
    """
    files = conn.execute(
        "SELECT id, file_name, file_size, mime_type, content_hash, uploaded_at, redacted"
        " FROM log_files WHERE issue_id = ? ORDER BY uploaded_at, rowid", (issue_id,),
    ).fetchall()
    if not files:
        return []
    status_filter = (" AND coalesce(s.status, '') <> 'rejected'"
                     if "status" in _column_names(conn, "pii_spans") else "")
    counts = conn.execute(
        "SELECT s.log_file_id, s.pii_type, count(*) AS n FROM pii_spans s"
        " JOIN log_files f ON f.id = s.log_file_id"
        f" WHERE f.issue_id = ?{status_filter} GROUP BY s.log_file_id, s.pii_type",
        (issue_id,),
    ).fetchall()
    by_file: dict[str, Counter] = {}
    for row in counts:
        by_file.setdefault(row["log_file_id"], Counter())[row["pii_type"]] += row["n"]
    return [dict(f, redacted=bool(f["redacted"]), pii_by_type=dict(by_file.get(f["id"], {})))
            for f in files]


def collect(conn, issue_id: str) -> IncidentRecord:
    from tftsr.issues import whys

    issue = issue_store.get(conn, issue_id)
    events = timeline.list_events(conn, issue_id)
    steps = whys.list_steps(conn, issue_id)
    return IncidentRecord(
        issue=issue, events=events, steps=steps, log_files=_log_files(conn, issue_id),
        action_items=actions.list_for_issue(conn, issue_id),
        metrics=metrics.compute(issue),
    )


# -- shared sections ----------------------------------------------------------------------
def _heading(number: int, spec: sections.SectionSpec) -> str:
    return f"## {number}. {spec.heading}"


def _names(values) -> str:
    return ", ".join(md_text(v) for v in values or [])


def _facts_table(rec: IncidentRecord, doc_type: str) -> str:
    i = rec.issue
    rows = [
        ["Incident", md_text(i["title"])],
        ["Incident id", md_code(i["id"])],
        ["Severity", label(i["severity"])],
        ["Priority", PRIORITY_LABELS.get(i.get("priority") or "", "Not set")],
        ["Status", _status_cell(i)],
        ["Category", md_text(rec.category_label)],
        ["Incident commander", md_text(i.get("incident_commander")) or "Not recorded"],
        ["Assigned to", md_text(i.get("assigned_to")) or "Not assigned"],
        ["Responders", _names(i.get("responders")) or "Not recorded"],
        ["Services affected", _names(i.get("services_affected")) or "Not recorded"],
        ["Opened", f"{i['created_at']} UTC"],
        ["Resolved", f"{i['resolved_at']} UTC" if i.get("resolved_at") else "Not resolved"],
    ]
    if doc_type == "postmortem":
        rows += [
            ["Source", md_text(i.get("source")) or "—"],
            ["Tags", ", ".join(md_text(t) for t in i.get("tags") or []) or "None"],
        ]
    rows.append(["Document generated", f"{rec.generated_at} UTC"])
    return md_table(["Field", "Value"], rows)


def milestones_ahead_of_status(issue: dict) -> list[dict]:
    """The resolved and closed milestones that are set although the incident's status has
    not reached them (an open incident with a resolved moment entered), oldest first."""
    reached = {"open": (), "investigating": (), "resolved": ("resolved",),
               "closed": ("resolved", "closed")}.get(issue.get("status") or "", ())
    return [m for m in milestones.as_list(issue)
            if m["key"] in ("resolved", "closed") and m["at"] and m["key"] not in reached]


def _status_sentence(rec: IncidentRecord) -> str:
    """The incident and its status; where the milestones say more than the status (it is
    open, yet a resolved moment is entered), both, plainly."""
    i = rec.issue
    text = (f"{label(i['severity'])}-severity {md_text(rec.category_label)} incident "
            f"**{md_text(i['title'])}**, opened {i['created_at']} UTC, is **{i['status']}**.")
    ahead = milestones_ahead_of_status(i)
    if ahead:
        said = " and ".join(f"{m['label'].lower()} at {m['at']} UTC" for m in ahead)
        text += (f" Its milestones nevertheless record it as {said}; the status has not been "
                 f"moved to {ahead[-1]['key']} yet.")
    return text


def _status_cell(issue: dict) -> str:
    ahead = [m["label"].lower() for m in milestones_ahead_of_status(issue)]
    if not ahead:
        return label(issue["status"])
    return (f"{label(issue['status'])} ({' and '.join(ahead)} "
            f"milestone{'s' if len(ahead) > 1 else ''} already set)")


def _summary_sentences(rec: IncidentRecord) -> str:
    i = rec.issue
    parts = [_status_sentence(rec)]
    impact = rec.metric("impact_duration")
    if impact.seconds is not None:
        parts.append(f"The impact lasted {impact.display}, from {impact.start} to "
                     f"{impact.end} UTC.")
    root = rec.root_cause
    if root:
        cause = root.get("answer") or root["why_question"]
        parts.append(f"The root cause was identified: {md_text(cause)}")
        if not parts[-1].endswith((".", "!", "?")):
            parts[-1] += "."
    else:
        parts.append("No root cause has been identified yet.")
    resolve = rec.metric("time_to_resolve")
    if resolve.seconds is not None:
        parts.append(f"{'By its milestones, it' if milestones_ahead_of_status(i) else 'It'} was "
                     f"resolved {resolve.display} after it was detected.")
    open_items = sum(1 for a in rec.action_items if a["status"] in actions.ACTIVE_STATUSES)
    n_events, n_steps = len(rec.story_events), len(rec.steps)
    n_logs, n_items = len(rec.log_files), len(rec.action_items)
    parts.append(
        f"On record: {n_events} timeline entr{'y' if n_events == 1 else 'ies'}, "
        f"{n_steps} of 5 whys answered, {n_logs} log file{'' if n_logs == 1 else 's'} and "
        f"{n_items} action item{'' if n_items == 1 else 's'} ({open_items} still open)."
    )
    return " ".join(parts)


def _description(rec: IncidentRecord) -> str:
    text = (rec.issue.get("description") or "").strip()
    return text if text else no_data("No description was recorded for this incident.")


def story_rows(rec: IncidentRecord) -> list[tuple[str, str, str]]:
    """(time, kind, description) for the timeline: the story entries and the milestones,
    oldest first (a milestone before the entries of the same second)."""
    rows = [(m["at"], 0, "Milestone", f"**{m['label']}**") for m in rec.milestones]
    rows += [(e["created_at"], 1, EVENT_LABELS.get(e["event_type"], label(e["event_type"])),
              md_text(e["description"])) for e in rec.story_events]
    return [(t, kind, text) for t, _order, kind, text in sorted(rows, key=lambda r: r[:2])]


def _timeline(rec: IncidentRecord) -> str:
    rows = story_rows(rec)
    if not rows:
        return no_data("No timeline entries were recorded.")
    n = len(rows)
    return (f"{n} entr{'y' if n == 1 else 'ies'}, oldest first; times are UTC. Milestones are "
            "in bold; the 5-Whys and the other records are in their own sections.\n\n"
            + md_table(["Time (UTC)", "Event", "Description"], [list(r) for r in rows]))


def _milestones_table(rec: IncidentRecord) -> str:
    return md_table(["Milestone", "Time (UTC)"], [
        [m["label"], m["at"] or "Not set"] for m in milestones.as_list(rec.issue)])


def _metrics(rec: IncidentRecord) -> str:
    def moment(key: str, at: str | None) -> str:
        return f"{milestones.BY_KEY[key].label} {at}" if at else "—"

    rows = [[m.label, f"**{m.display}**" if m.seconds is not None else m.display,
             moment(m.start_milestone, m.start), moment(m.end_milestone, m.end)]
            for m in rec.metrics]
    notes = [f"- **{m.label}:** {m.definition}."
             + (f" _{m.missing_reason}_" if m.seconds is None and m.missing_reason else "")
             for m in rec.metrics]
    return ("**Milestones**\n\n" + _milestones_table(rec) + "\n\n**Durations**\n\n"
            + md_table(["Metric", "Duration", "From (UTC)", "To (UTC)"], rows)
            + "\n\nEach duration runs between two milestones as entered on the incident:\n\n"
            + "\n".join(notes))


def _five_whys(rec: IncidentRecord) -> str:
    if not rec.steps:
        return no_data("No 5-Whys analysis was recorded.")
    out = []
    for s in rec.steps:
        line = f"{s['step_order']}. **{md_text(s['why_question'])}**"
        if s["is_root_cause"]:
            line += " — *root cause*"
        answer = s.get("answer")
        # A trailing backslash is a visible-in-source hard line break (CommonMark).
        line += f"\\\n   {md_text(answer)}" if answer else "\\\n   _No answer recorded._"
        if s.get("evidence"):
            line += f"\\\n   Evidence: {md_text(s['evidence'])}"
        out.append(line)
    return "\n".join(out)


def _root_cause(rec: IncidentRecord) -> str:
    root = rec.root_cause
    if not root:
        return no_data("No root cause has been identified yet: no 5-Whys step is marked as "
                       "the root cause.")
    cause = root.get("answer") or root["why_question"]
    marked = [e["created_at"] for e in rec.events if e["event_type"] == "root_cause_identified"
              and isinstance(e.get("metadata"), dict) and e["metadata"].get("step_id") == root["id"]]
    found = f", recorded {marked[-1]} UTC" if marked else ""
    text = (f"> {md_text(cause)}\n\nIdentified at 5-Whys step {root['step_order']} "
            f"(“{md_text(root['why_question'])}”){found}.")
    if root.get("evidence"):
        text += f"\n\nEvidence: {md_text(root['evidence'])}"
    return text


def _pii_summary(counter: dict) -> str:
    if not counter:
        return "none"
    return ", ".join(f"{pii_label(t)} {n}" for t, n in
                     sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def _log_evidence(rec: IncidentRecord) -> str:
    if not rec.log_files:
        return no_data("No log files were attached to this incident.")
    rows, hashes, totals = [], [], Counter()
    for f in rec.log_files:
        state = "Redacted" if f["redacted"] else "Not redacted (review pending)"
        findings = _pii_summary(f["pii_by_type"])
        rows.append([md_text(f["file_name"]), human_size(f["file_size"]), f["uploaded_at"],
                     state, findings])
        hashes.append(f"- {md_text(f['file_name'])}: "
                      + (md_code(f["content_hash"]) if f.get("content_hash") else "_not recorded_"))
        if f["redacted"]:
            totals.update(f["pii_by_type"])
    redacted = sum(1 for f in rec.log_files if f["redacted"])
    parts = [
        (f"{len(rec.log_files)} file{'' if len(rec.log_files) == 1 else 's'} analysed, "
         f"{redacted} redacted before use. Sensitive values are counted by type here; "
         "the values themselves never appear in this document."),
        md_table(["File", "Size", "Uploaded (UTC)", "Redaction", "Sensitive data found"], rows),
        "**Redactions by type** (redacted files):",
    ]
    if totals:
        parts.append(md_table(["Type", "Count"], [
            [pii_label(t), str(n)]
            for t, n in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
        ] + [["**Total**", f"**{sum(totals.values())}**"]]))
    else:
        parts.append(no_data("Nothing was redacted."))
    parts += ["**Integrity (SHA-256 of each file as uploaded):**", "\n".join(hashes)]
    return "\n\n".join(parts)


def _action_line(a: dict) -> str:
    bits = [actions.STATUS_LABELS[a["status"]]]
    if a.get("owner"):
        bits.append(f"owner {md_text(a['owner'])}")
    if a.get("due_date"):
        bits.append(f"due {a['due_date']}" + (" — **overdue**" if a["overdue"] else ""))
    done = "~~" if a["status"] == "cancelled" else ""
    return f"- {done}{md_text(a['title'])}{done} ({'; '.join(bits)})"


def _corrective_actions(rec: IncidentRecord) -> str:
    immediate = [a for a in rec.action_items if a["kind"] == "immediate"]
    mitigations = [e for e in rec.story_events if e["event_type"] in metrics.MITIGATION_TYPES]
    later = [a for a in rec.action_items if a["kind"] in ("long_term", "preventive")]
    out = ["### Immediate"]
    lines = [_action_line(a) for a in immediate]
    lines += [f"- {md_text(e['description'])} (timeline, {e['created_at']} UTC — "
              f"{EVENT_LABELS[e['event_type']].lower()})" for e in mitigations]
    out.append("\n".join(lines) if lines else
               no_data("No immediate actions or mitigations were recorded."))
    out.append("### Long-term and preventive")
    out.append("\n".join(
        _action_line(a).replace("- ", f"- {actions.KIND_LABELS[a['kind']]}: ", 1)
        for a in later) if later else no_data("No long-term or preventive actions were recorded."))
    return "\n\n".join(out)


def _action_items_table(rec: IncidentRecord) -> str:
    if not rec.action_items:
        return no_data("No action items were recorded.")
    rows = []
    for a in rec.action_items:
        status = actions.STATUS_LABELS[a["status"]] + (" — **overdue**" if a["overdue"] else "")
        rows.append([md_text(a["title"]), actions.KIND_LABELS[a["kind"]],
                     md_text(a.get("owner")) or "Unassigned", a.get("due_date") or "—", status])
    open_n = sum(1 for a in rec.action_items if a["status"] in actions.ACTIVE_STATUSES)
    overdue = sum(1 for a in rec.action_items if a["overdue"])
    return (f"{len(rec.action_items)} item{'' if len(rec.action_items) == 1 else 's'}: "
            f"{open_n} open, {overdue} overdue.\n\n"
            + md_table(["Action", "Kind", "Owner", "Due", "Status"], rows))


def _contributing_factors(rec: IncidentRecord) -> str:
    others = [s for s in rec.steps if not s["is_root_cause"] and s.get("answer")]
    if not others:
        return (no_data("No contributing factors were recorded in the 5-Whys.") + "\n\n"
                + author_prompt("List conditions that made the incident possible or worse "
                                "(missing alerts, risky changes, capacity, process gaps)."))
    lines = [f"- {md_text(s['answer'])} (5-Whys step {s['step_order']}: "
             f"“{md_text(s['why_question'])}”)" for s in others]
    return "From the 5-Whys chain (steps not marked as the root cause):\n\n" + "\n".join(lines)


def _impact(rec: IncidentRecord) -> str:
    i = rec.issue
    facts = [f"- Severity: **{label(i['severity'])}**"]
    if i.get("priority"):
        facts.append(f"- Priority: {PRIORITY_LABELS.get(i['priority'], i['priority'])}")
    impact = rec.metric("impact_duration")
    facts.append(f"- Impact duration: {impact.display} ({impact.start} to {impact.end} UTC)"
                 if impact.seconds is not None else f"- Impact duration: not set "
                 f"({impact.missing_reason[0].lower() + impact.missing_reason[1:]})")
    if i.get("services_affected"):
        facts.append(f"- Services affected: {_names(i['services_affected'])}")
    notified = [e for e in rec.story_events if e["event_type"] == "customer_notified"]
    facts.append(f"- Customer notifications on the timeline: {len(notified)}")
    text = "Recorded facts:\n\n" + "\n".join(facts)
    described = (i.get("customer_impact") or "").strip()
    if described:
        return text + "\n\n**Customers and services affected** (as recorded):\n\n" + md_text(described)
    return text + "\n\n" + author_prompt(
        "Describe who and what was affected, for how long and how badly "
        "(users, requests, revenue, SLAs). Replace this note with it.")


# -- documents ----------------------------------------------------------------------------
def _assemble(title: str, intro: str | None, specs, bodies: dict[str, str]) -> str:
    parts = [f"# {title}"]
    if intro:
        parts.append(intro)
    for n, spec in enumerate(specs, 1):
        parts += [_heading(n, spec), bodies[spec.id]]
    return "\n\n".join(parts) + "\n"


def document_title(doc_type: str, issue: dict) -> str:
    return f"{DOC_TITLES[doc_type]}: {issue['title']}"


def rca_markdown(rec: IncidentRecord) -> str:
    bodies = {
        "summary": _facts_table(rec, "rca") + "\n\n" + _summary_sentences(rec),
        "description": _description(rec),
        "timeline": _timeline(rec),
        "metrics": _metrics(rec),
        "five_whys": _five_whys(rec),
        "root_cause": _root_cause(rec),
        "log_evidence": _log_evidence(rec),
        "corrective_actions": _corrective_actions(rec),
        "lessons_learned": author_prompt(
            "What did this incident teach the team? Keep it blameless: systems and "
            "decisions, not people. Replace this note with the lessons."),
    }
    return _assemble(md_text(document_title("rca", rec.issue)), None,
                     sections.RCA_SECTIONS, bodies)


def postmortem_markdown(rec: IncidentRecord) -> str:
    bodies = {
        "metadata": _facts_table(rec, "postmortem"),
        "executive_summary": _summary_sentences(rec) + "\n\n" + author_prompt(
            "Add two or three sentences for readers who will read nothing else: what "
            "happened, the impact, and what is being done."),
        "impact": _impact(rec),
        "timeline": _timeline(rec),
        "metrics": _metrics(rec),
        "root_cause": _root_cause(rec) + "\n\n### 5-Whys chain\n\n" + _five_whys(rec),
        "contributing_factors": _contributing_factors(rec),
        "log_evidence": _log_evidence(rec),
        "what_went_well": author_prompt(
            "What helped: detection, tooling, communication, decisions that paid off."),
        "what_could_be_improved": author_prompt(
            "What slowed detection, diagnosis or recovery, and what would have helped."),
        "action_items": _action_items_table(rec),
        "lessons_learned": author_prompt(
            "What will the team do differently? Keep it blameless."),
    }
    intro = ("_A blameless post-mortem: it describes systems, signals and decisions, "
             "not individuals._")
    return _assemble(md_text(document_title("postmortem", rec.issue)), intro,
                     sections.POSTMORTEM_SECTIONS, bodies)


def build(doc_type: str, rec: IncidentRecord) -> str:
    return rca_markdown(rec) if doc_type == "rca" else postmortem_markdown(rec)


# -- material for drafting narrative sections ---------------------------------------------
def narrative_context(conn, issue_id: str) -> dict:
    """Redacted-only material from which narrative sections can be drafted.

    Contains the incident's fields, metrics, 5-Whys, timeline entries (type, time,
    description), action items, and — for log files that have been redacted only — their
    name, size, hash and counts of redacted values by type. It never contains log text or
    any original (unredacted) value. Free text typed by people (description, whys,
    timeline notes) is included as written: run PII detection on the prompt before it
    leaves the machine, as for any outbound text.

    ``sections_to_draft`` lists, per document type, the narrative section ids and the
    guidance shown to the author; write a draft into a document with
    ``sections.replace_section_body(markdown, doc_type, section_id, draft)``.
    """
    rec = collect(conn, issue_id)
    i = rec.issue
    redacted_files = [f for f in rec.log_files if f["redacted"]]
    return {
        "issue": {k: i.get(k) for k in ("id", "title", "description", "severity", "status",
                                          "created_at", "resolved_at", "assigned_to", "tags",
                                          "priority", "incident_commander", "responders",
                                          "customer_impact", "services_affected")}
                 | {"category": rec.category_label},
        "milestones": {m["key"]: m["at"] for m in milestones.as_list(i)},
        "metrics": metrics.as_dict(rec.metrics),
        "five_whys": [{"step_order": s["step_order"], "question": s["why_question"],
                       "answer": s.get("answer"), "evidence": s.get("evidence"),
                       "is_root_cause": s["is_root_cause"]} for s in rec.steps],
        "root_cause": (rec.root_cause or {}).get("answer") if rec.root_cause else None,
        "timeline": sorted(
            [{"time": e["created_at"], "type": e["event_type"],
              "description": e["description"], "manual": e["manual"]} for e in rec.story_events]
            + [{"time": m["at"], "type": "milestone", "description": m["label"], "manual": True}
               for m in rec.milestones], key=lambda row: row["time"]),
        "action_items": [{k: a[k] for k in ("title", "kind", "status", "owner", "due_date",
                                            "overdue")} for a in rec.action_items],
        "log_files": [{"file_name": f["file_name"], "file_size": f["file_size"],
                       "content_hash": f["content_hash"], "uploaded_at": f["uploaded_at"],
                       "redacted_by_type": f["pii_by_type"]} for f in redacted_files],
        "log_files_not_redacted": len(rec.log_files) - len(redacted_files),
        "sections_to_draft": {
            doc_type: [{"id": s.id, "heading": s.heading} for s in specs if s.narrative]
            for doc_type, specs in sections.SPECS.items()
        },
    }
