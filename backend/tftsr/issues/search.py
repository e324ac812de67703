"""Full-text search over everything an incident holds (FTS5, migration 041).

One row per incident in ``incident_fts`` (rowid = the incident's rowid) with a column per
place: title, description, tags, the 5-Whys, the root cause, action items, the timeline
entries people wrote and the documents' text. Every word typed must match somewhere in
the incident, as a prefix; results are ranked by bm25 with a title match weighing most.
Each result says where it matched (``matches``: the places, each with a snippet).

Matches in snippets are wrapped in U+E000 ... U+E001 (private-use characters), so the UI
can render them as <mark> elements with text nodes only -- never as HTML.
"""

from __future__ import annotations

import re

from tftsr.issues.store import ISSUE_COLUMNS, filters_sql, issue_to_dict

MARK_START = "\ue000"
MARK_END = "\ue001"
_TOKEN = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 12
COUNT_CAP = 10_000

# (column, label shown to the user, bm25 weight), in the table's column order.
FIELDS: tuple[tuple[str, str, float], ...] = (
    ("title", "Title", 10.0),
    ("description", "Description", 2.0),
    ("tags", "Tags", 6.0),
    ("whys", "5 Whys", 3.0),
    ("root_cause", "Root cause", 4.0),
    ("actions", "Action items", 2.0),
    ("timeline", "Timeline", 1.5),
    ("documents", "Documents", 0.5),
)
WEIGHTS = ", ".join(str(w) for _, _, w in FIELDS)
SNIPPET_TOKENS = 20


def fts_query(text: str) -> str | None:
    """Turn what a person typed into a safe FTS5 query: every word must match, as a prefix."""
    terms = [t for t in _TOKEN.findall(text.replace("_", " ")) if t][:MAX_TERMS]
    if not terms:
        return None
    return " ".join('"' + t.replace('"', '""') + '"*' for t in terms)


def filter_clauses(status=None, severity=None, category=None, date_from=None,
                   date_to=None, table: str = "incident_fts") -> tuple[str, list]:
    """Each filter as its own ``rowid IN (SELECT rowid FROM issues WHERE ...)`` test.

    Each list comes from one index (status, severity, category, created_at) without
    touching the table, and is built once per statement. The unary ``+`` keeps SQLite from
    handing the rowids to FTS5 as one lookup per row; every match is checked against
    the lists instead. This is far cheaper than joining every match to ``issues``.
    """
    clauses, params = [], []
    for one in ({"status": status}, {"severity": severity}, {"category": category},
                {"date_from": date_from, "date_to": date_to}):
        where, values = filters_sql(**one)
        if where:
            clauses.append(f" AND +{table}.rowid IN (SELECT rowid FROM issues WHERE {where})")
            params += values
    return "".join(clauses), params


def _place_columns() -> str:
    """Per column: whether the query matched there (a bm25 counting only that column is
    below zero exactly when one of the query's phrases occurs in it — read from the
    index, no text is tokenized) and, only then, a snippet (the title is highlighted
    whole, matched or not)."""
    parts = []
    for n, (name, _label, _w) in enumerate(FIELDS):
        only = ", ".join("1.0" if i == n else "0.0" for i in range(len(FIELDS)))
        hit = f"bm25(incident_fts, {only}) < 0"
        if name == "title":
            parts.append(f"{hit} AS hit_{name}, highlight(incident_fts, {n}, ?, ?) AS snip_{name}")
        else:
            parts.append(f"{hit} AS hit_{name}, CASE WHEN {hit} THEN snippet(incident_fts, {n},"
                         f" ?, ?, '…', {SNIPPET_TOKENS}) END AS snip_{name}")
    return ", ".join(parts)


PLACES_SQL = _place_columns()
PLACES_MARKS = 2 * len(FIELDS)


def page_places(conn, match: str, rowids: list[int]) -> dict[int, dict]:
    """{rowid: row of hit_*/snip_* columns} for one page of matches."""
    if not rowids:
        return {}
    marks = ", ".join("?" * len(rowids))
    # The unary + stops FTS5 re-running the query per row.
    return {r["rid"]: r for r in conn.execute(
        f"SELECT rowid AS rid, {PLACES_SQL} FROM incident_fts"
        f" WHERE incident_fts MATCH ? AND +rowid IN ({marks})",
        [MARK_START, MARK_END] * (PLACES_MARKS // 2) + [match, *rowids])}


def matches_of(row: dict) -> list[dict]:
    """The places a result matched, in the table's order, each with its snippet."""
    return [{"field": name, "label": label, "snippet": row[f"snip_{name}"] or ""}
            for name, label, _w in FIELDS if row[f"hit_{name}"]]


def issues_by_rowid(conn, rowids: list[int]) -> dict[int, dict]:
    if not rowids:
        return {}
    marks = ", ".join("?" * len(rowids))
    return {r.pop("rid"): r for r in map(dict, conn.execute(
        f"SELECT rowid AS rid, {ISSUE_COLUMNS} FROM issues WHERE rowid IN ({marks})", rowids))}


def search(conn, query: str, *, status=None, severity=None, category=None, date_from=None,
           date_to=None, limit=20, offset=0) -> dict:
    """One page of matches, best first, each with where it matched and snippets.

    Works in three small steps so that the cost follows the page size, not the number of
    matches: rank the matches from the FTS index alone, find the places and snippets for
    the page only, then read those incidents by rowid.
    """
    match = fts_query(query)
    if match is None:
        return {"items": [], "total": 0, "limit": limit, "offset": offset, "query": query}
    extra, params = filter_clauses(status, severity, category, date_from, date_to)
    page = conn.execute(
        f"SELECT rowid AS rid, bm25(incident_fts, {WEIGHTS}) AS rank FROM incident_fts"
        f" WHERE incident_fts MATCH ?{extra} ORDER BY rank LIMIT ? OFFSET ?",
        [match, *params, limit, offset],
    ).fetchall()
    items = []
    if page:
        ids = [r["rid"] for r in page]
        places = page_places(conn, match, ids)
        issues = issues_by_rowid(conn, ids)
        for r in page:
            issue, where = issues.get(r["rid"]), places.get(r["rid"])
            if issue is None or where is None:  # deleted between the statements
                continue
            items.append({"issue": issue_to_dict(issue), "rank": r["rank"],
                          "title_snippet": where["snip_title"] or issue["title"],
                          "description_snippet": where["snip_description"] or "",
                          "matches": matches_of(where)})
    total = conn.execute(
        "SELECT count(*) AS n FROM (SELECT 1 FROM incident_fts"
        f" WHERE incident_fts MATCH ?{extra} LIMIT {COUNT_CAP})",
        [match, *params],
    ).fetchone()["n"]
    return {"items": items, "total": total, "total_is_capped": total >= COUNT_CAP,
            "limit": limit, "offset": offset, "query": query}
