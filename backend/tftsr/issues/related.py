"""Related incidents: the past incidents most like this one, and how each ended.

Past means opened before this one: an incident opened later is not what this one can
learn from (it will list this one among its own).

The words that characterise an incident (its tags, title, root cause, whys and
description, in that order of importance) become one OR query over the search index's
title, description, tags, 5-Whys and root-cause columns (:mod:`tftsr.issues.search`);
bm25 ranks the other incidents by how many of those words they share and where. Each
result carries its root cause and how it was resolved, so a recurring problem shows
its known fix one click away.
"""

from __future__ import annotations

import re
from collections import Counter

from tftsr.issues import store, timeline
from tftsr.issues.search import FIELDS, issues_by_rowid

MAX_TERMS = 24
_WORD = re.compile(r"[^\W\d_][\w-]*", re.UNICODE)
# Words that say nothing about what broke.
_STOPWORD_TEXT = """
a about above after again against all also am an and any are as at be because been before
being below between both but by can cannot could did do does doing down during each few for
from further had has have having he her here hers him his how i if in into is it its itself
just me more most my no nor not now of off on once only or other our out over own same she
should so some such than that the their them then there these they this those through to too
under until up very was we were what when where which while who whom why will with would you
your yes yet via per got get gets getting still again incident issue problem error errors
failed failing fails failure down broken why because happened happen did does root cause
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
# Columns the similarity is measured over; the rest (actions, timeline, documents) would
# reward long records rather than similar ones.
SIMILARITY_COLUMNS = ("title", "description", "tags", "whys", "root_cause")
WEIGHTS = {"title": 8.0, "description": 1.5, "tags": 6.0, "whys": 2.0, "root_cause": 5.0}


def _words(text: str | None) -> list[str]:
    return [w.lower() for w in _WORD.findall(text or "")
            if len(w) >= 3 and w.lower() not in STOPWORDS]


def characteristic_terms(issue: dict, steps: list[dict]) -> list[str]:
    """Up to MAX_TERMS words, most characteristic first: every tag word, then title,
    root cause, whys and description words, repeated words ahead within each."""
    root = next((s for s in steps if s.get("is_root_cause")), None)
    sources = [
        " ".join(issue.get("tags") or []),
        issue.get("title"),
        (root.get("answer") or root.get("why_question")) if root else "",
        " ".join(f"{s.get('why_question', '')} {s.get('answer') or ''}" for s in steps),
        issue.get("description"),
    ]
    terms: list[str] = []
    for text in sources:
        counts = Counter(_words(text))
        for word, _n in counts.most_common():
            if word not in terms:
                terms.append(word)
            if len(terms) >= MAX_TERMS:
                return terms
    return terms


def _match(terms: list[str]) -> str:
    columns = " ".join(SIMILARITY_COLUMNS)
    return "{" + columns + "} : (" + " OR ".join('"' + t.replace('"', '""') + '"' for t in terms) + ")"


def _weights() -> str:
    return ", ".join(str(WEIGHTS.get(name, 0.0)) for name, _label, _w in FIELDS)


def _outcome(conn, issue_id: str) -> dict:
    """Root cause and resolution of one incident, from its 5-Whys and timeline."""
    root = conn.execute(
        "SELECT why_question, answer FROM resolution_steps WHERE issue_id = ? AND is_root_cause = 1"
        " LIMIT 1", (issue_id,)).fetchone()
    resolution = None
    for row in conn.execute(
            "SELECT event_type, description, metadata FROM timeline_events WHERE issue_id = ?"
            " AND event_type IN ('status_changed', 'mitigation_applied', 'service_restored')"
            " ORDER BY created_at DESC, rowid DESC LIMIT 50", (issue_id,)):
        if row["event_type"] == "status_changed":
            meta = timeline.to_dict(dict(row))["metadata"]
            if isinstance(meta, dict) and meta.get("to") == "resolved" and meta.get("note"):
                resolution = {"source": "resolution note", "text": meta["note"]}
                break
        elif resolution is None:
            label = "mitigation" if row["event_type"] == "mitigation_applied" else "service restored"
            resolution = {"source": label, "text": row["description"]}
    if resolution is None:
        done = conn.execute(
            "SELECT title FROM action_items WHERE issue_id = ? AND status = 'done'"
            " ORDER BY completed_at, rowid LIMIT 3", (issue_id,)).fetchall()
        if done:
            resolution = {"source": "action items done", "text": "; ".join(r["title"] for r in done)}
    return {
        "root_cause": (root["answer"] or root["why_question"]) if root else None,
        "resolution": resolution,
    }


def related(conn, issue_id: str, limit: int = 5) -> dict:
    """The incidents most like ``issue_id``, best first, with their root cause and fix."""
    from tftsr.issues import whys

    issue = store.get(conn, issue_id)
    steps = whys.list_steps(conn, issue_id)
    terms = characteristic_terms(issue, steps)
    if not terms:
        return {"items": [], "terms": []}
    own = conn.execute("SELECT rowid FROM issues WHERE id = ?", (issue_id,)).fetchone()["rowid"]
    # Past incidents only: opened before this one (the same second: recorded before it).
    # CROSS JOIN: the index's matches are found first, then each one's incident by rowid.
    rows = conn.execute(
        f"SELECT incident_fts.rowid AS rid, bm25(incident_fts, {_weights()}) AS rank"
        " FROM incident_fts CROSS JOIN issues i ON i.rowid = incident_fts.rowid"
        " WHERE incident_fts MATCH ?"
        " AND (i.created_at < ? OR (i.created_at = ? AND i.rowid < ?)) ORDER BY rank LIMIT ?",
        (_match(terms), issue["created_at"], issue["created_at"], own, limit)).fetchall()
    found = issues_by_rowid(conn, [r["rid"] for r in rows])
    items = []
    for r in rows:
        other = found.get(r["rid"])
        if other is None:
            continue
        other = store.issue_to_dict(other)
        outcome = _outcome(conn, other["id"])
        words = _shared_text(other, outcome["root_cause"])
        items.append({"issue": {k: other[k] for k in ("id", "title", "severity", "status",
                                                      "category", "created_at", "resolved_at",
                                                      "tags")},
                      "rank": r["rank"], "shared_terms": [t for t in terms if t in words][:8],
                      **outcome})
    return {"items": items, "terms": terms}


def _shared_text(issue: dict, root_cause: str | None) -> set[str]:
    return set(_words(" ".join([issue.get("title") or "", issue.get("description") or "",
                                " ".join(issue.get("tags") or []), root_cause or ""])))
