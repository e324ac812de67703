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


def search(conn, query: str, *, status=None, severity=None, category=None, date_from=None,
           date_to=None, limit=20, offset=0) -> dict:
    match = fts_query(query)
    if match is None:
        return {"items": [], "total": 0, "limit": limit, "offset": offset, "query": query}
    where, params = filters_sql(status, severity, category, None, date_from, date_to, alias="i")
    extra = f" AND {where}" if where else ""
    cols = ", ".join("i." + c.strip() for c in ISSUE_COLUMNS.split(","))
    rows = conn.execute(
        f"SELECT {cols}, bm25(issues_fts, 0.0, 10.0, 1.0) AS rank,"
        " highlight(issues_fts, 1, ?, ?) AS title_snippet,"
        " snippet(issues_fts, 2, ?, ?, '…', 24) AS description_snippet"
        " FROM issues_fts JOIN issues i ON i.rowid = issues_fts.rowid"
        f" WHERE issues_fts MATCH ?{extra} ORDER BY rank LIMIT ? OFFSET ?",
        [MARK_START, MARK_END, MARK_START, MARK_END, match, *params, limit, offset],
    ).fetchall()
    total_row = conn.execute(
        "SELECT count(*) AS n FROM (SELECT 1 FROM issues_fts JOIN issues i ON i.rowid = issues_fts.rowid"
        f" WHERE issues_fts MATCH ?{extra} LIMIT {COUNT_CAP})",
        [match, *params],
    ).fetchone()
    items = []
    for r in rows:
        r = dict(r)
        rank = r.pop("rank")
        title_snippet = r.pop("title_snippet")
        desc_snippet = r.pop("description_snippet")
        items.append({"issue": issue_to_dict(r), "rank": rank, "title_snippet": title_snippet or r["title"],
                      "description_snippet": desc_snippet or ""})
    total = total_row["n"]
    return {"items": items, "total": total, "total_is_capped": total >= COUNT_CAP,
            "limit": limit, "offset": offset, "query": query}
