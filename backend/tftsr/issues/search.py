"""Full-text search over incidents (FTS5): ranked by bm25, prefix matching, snippets.

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


def fts_query(text: str) -> str | None:
    """Turn what a person typed into a safe FTS5 query: every word must match, as a prefix."""
    terms = [t for t in _TOKEN.findall(text.replace("_", " ")) if t][:MAX_TERMS]
    if not terms:
        return None
    return " ".join('"' + t.replace('"', '""') + '"*' for t in terms)


def _filter_clauses(status, severity, category, date_from, date_to) -> tuple[str, list]:
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
            clauses.append(f" AND +issues_fts.rowid IN (SELECT rowid FROM issues WHERE {where})")
            params += values
    return "".join(clauses), params


def search(conn, query: str, *, status=None, severity=None, category=None, date_from=None,
           date_to=None, limit=20, offset=0) -> dict:
    """One page of matches, best first, with highlighted title and description snippets.

    Works in three small steps so that the cost follows the page size, not the number of
    matches: rank the matches from the FTS index alone, build snippets for the page only,
    then read those incidents by rowid.
    """
    match = fts_query(query)
    if match is None:
        return {"items": [], "total": 0, "limit": limit, "offset": offset, "query": query}
    extra, params = _filter_clauses(status, severity, category, date_from, date_to)
    page = conn.execute(
        "SELECT rowid AS rid, bm25(issues_fts, 0.0, 10.0, 1.0) AS rank FROM issues_fts"
        f" WHERE issues_fts MATCH ?{extra} ORDER BY rank LIMIT ? OFFSET ?",
        [match, *params, limit, offset],
    ).fetchall()
    items = []
    if page:
        ids = [r["rid"] for r in page]
        marks = ", ".join("?" * len(ids))
        # One pass over the matches; the unary + stops FTS5 re-running the query per row.
        snippets = {r["rid"]: r for r in conn.execute(
            "SELECT rowid AS rid, highlight(issues_fts, 1, ?, ?) AS title_snippet,"
            " snippet(issues_fts, 2, ?, ?, '…', 24) AS description_snippet"
            f" FROM issues_fts WHERE issues_fts MATCH ? AND +rowid IN ({marks})",
            [MARK_START, MARK_END, MARK_START, MARK_END, match, *ids])}
        issues = {r.pop("rid"): r for r in map(dict, conn.execute(
            f"SELECT rowid AS rid, {ISSUE_COLUMNS} FROM issues WHERE rowid IN ({marks})", ids))}
        for r in page:
            issue, snip = issues.get(r["rid"]), snippets.get(r["rid"])
            if issue is None or snip is None:  # deleted between the statements
                continue
            items.append({"issue": issue_to_dict(issue), "rank": r["rank"],
                          "title_snippet": snip["title_snippet"] or issue["title"],
                          "description_snippet": snip["description_snippet"] or ""})
    total = conn.execute(
        "SELECT count(*) AS n FROM (SELECT 1 FROM issues_fts"
        f" WHERE issues_fts MATCH ?{extra} LIMIT {COUNT_CAP})",
        [match, *params],
    ).fetchone()["n"]
    return {"items": items, "total": total, "total_is_capped": total >= COUNT_CAP,
            "limit": limit, "offset": offset, "query": query}
