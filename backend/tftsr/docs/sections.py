"""The sections of a generated document, identified by stable ids.

Generated Markdown has one ``## N. Heading`` per section. Ids are found again by
matching heading text (the number is optional, case ignored), so they survive edits
that keep the heading. A *narrative* section holds what only a person can know (impact,
what went well, lessons); until someone writes it, it contains the author prompt — a
blockquote starting with :data:`AUTHOR_MARK`. Drafting tools replace a section's body by
id with :func:`replace_section_body`; text an AI provider drafted opens with a blockquote
starting with :data:`DRAFT_MARK` until the author reviews it and removes that line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

AUTHOR_MARK = "**✎ For the author:**"
DRAFT_MARK = "✎ Drafted by AI"


@dataclass(frozen=True)
class SectionSpec:
    id: str
    heading: str
    narrative: bool = False


RCA_SECTIONS = (
    SectionSpec("summary", "Summary"),
    SectionSpec("description", "Description"),
    SectionSpec("timeline", "Timeline"),
    SectionSpec("metrics", "Response metrics"),
    SectionSpec("five_whys", "5-Whys analysis"),
    SectionSpec("root_cause", "Root cause"),
    SectionSpec("log_evidence", "Log files analysed"),
    SectionSpec("corrective_actions", "Corrective actions"),
    SectionSpec("lessons_learned", "Lessons learned", narrative=True),
)

POSTMORTEM_SECTIONS = (
    SectionSpec("metadata", "Incident metadata"),
    SectionSpec("executive_summary", "Executive summary", narrative=True),
    SectionSpec("impact", "Impact", narrative=True),
    SectionSpec("timeline", "Timeline"),
    SectionSpec("metrics", "Response metrics"),
    SectionSpec("root_cause", "Root cause"),
    SectionSpec("contributing_factors", "Contributing factors"),
    SectionSpec("log_evidence", "Log files analysed"),
    SectionSpec("what_went_well", "What went well", narrative=True),
    SectionSpec("what_could_be_improved", "What could be improved", narrative=True),
    SectionSpec("action_items", "Action items"),
    SectionSpec("lessons_learned", "Lessons learned", narrative=True),
)

SPECS = {"rca": RCA_SECTIONS, "postmortem": POSTMORTEM_SECTIONS}
_HEADING = re.compile(r"^##\s+(?:\d+\.\s*)?(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def _locate(markdown: str, doc_type: str) -> list[tuple[SectionSpec | None, str, int, int]]:
    """(spec, heading text, first body line, end line) for every level-2 heading."""
    lines = markdown.split("\n")
    by_heading = {_norm(s.heading): s for s in SPECS.get(doc_type, ())}
    found: list[list] = []
    in_fence = False
    for i, line in enumerate(lines):
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        m = _HEADING.match(line)
        if m:
            if found:
                found[-1][3] = i
            found.append([by_heading.get(_norm(m.group(1))), m.group(1), i + 1, len(lines)])
    return [tuple(f) for f in found]


def _placeholder(lines: list[str], start: int, end: int) -> str | None:
    """The author prompt of a section (its blockquote lines from the one carrying
    AUTHOR_MARK), exactly as it stands in the Markdown: the text to select so that what
    the author types replaces the prompt and nothing else."""
    for i in range(start, end):
        if AUTHOR_MARK in lines[i]:
            j = i + 1
            while j < end and lines[j].lstrip().startswith(">") and lines[j].strip() != ">":
                j += 1
            return "\n".join(lines[i:j])
    return None


def list_sections(markdown: str, doc_type: str) -> list[dict]:
    """The sections present in a document, in order, with whether each awaits its author
    and, when it does, the prompt to replace (``placeholder``)."""
    lines = markdown.split("\n")
    out = []
    for spec, heading, start, end in _locate(markdown, doc_type):
        body = "\n".join(lines[start:end])
        out.append({
            "id": spec.id if spec else None,
            "heading": heading,
            "level": 2,
            "kind": "narrative" if spec and spec.narrative else "data",
            "needs_author": AUTHOR_MARK in body,
            "ai_drafted": DRAFT_MARK in body,
            "placeholder": _placeholder(lines, start, end),
        })
    return out


def section_body(markdown: str, doc_type: str, section_id: str) -> str:
    """The body of section ``section_id`` without its surrounding blank lines.

    Raises KeyError when the document has no such section.
    """
    lines = markdown.split("\n")
    for spec, _heading, start, end in _locate(markdown, doc_type):
        if spec and spec.id == section_id:
            return "\n".join(lines[start:end]).strip("\n")
    raise KeyError(section_id)


def replace_section_body(markdown: str, doc_type: str, section_id: str, body: str) -> str:
    """Return ``markdown`` with the body of section ``section_id`` replaced by ``body``.

    Raises KeyError when the document has no such section (its heading was removed).
    """
    lines = markdown.split("\n")
    for spec, _heading, start, end in _locate(markdown, doc_type):
        if spec and spec.id == section_id:
            return "\n".join(lines[:start] + ["", body.strip("\n"), ""] + lines[end:])
    raise KeyError(section_id)
