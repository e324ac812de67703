"""Full-text search over everything an incident holds (FTS5, migration 041).

One row per incident in ``incident_fts`` (rowid = the incident's rowid) with a column per
place: title, description, tags, the 5-Whys, the root cause, action items, the timeline
entries people wrote and the documents' text. Every word typed must match somewhere in
the incident, as a prefix; results are ranked by bm25 with a title match weighing most
(a query matching more than RANK_WINDOW incidents is ranked in windows of its newest
matches, best first within each: see ``search``).
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
# bm25 costs about a microsecond for each match it ranks (FTS5 has no top-N shortcut: it
# scores every match), so a word found in a quarter of all incidents ("rollback",
# "runbook", the prefix "fail": 30,000 matches at 100,000 incidents) took 30-60 ms to
# rank in full. A query matching more incidents than this is ranked in windows: its
# newest RANK_WINDOW matches (in the order recorded) first, in bm25 order, then the next
# RANK_WINDOW, and so on (see search). Fewer matches: one bm25 order, as before.
RANK_WINDOW = 5000

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


# A filter matching at most this many incidents is read as a list of rowids; a wider one
# is tested match by match in issue_facets (building a list costs about as much per
# entry as a test costs per match, and a wide filter's list outgrows the matches).
LIST_MAX = 6000


def filter_size(conn, status=None, severity=None, category=None, date_from=None,
                date_to=None) -> int:
    """How many incidents the filters can match at most, from the running totals
    (exact for status, severity and domain; a date range counts its days)."""
    sizes = []
    where, params = filters_sql(status, severity, category)
    if where:
        sizes.append(conn.execute(f"SELECT coalesce(sum(incidents), 0) AS n"
                                  f" FROM issue_status_stats WHERE {where}", params)
                     .fetchone()["n"])
    if date_from or date_to:
        sizes.append(conn.execute(
            "SELECT coalesce(sum(incidents), 0) AS n FROM issue_day_counts"
            " WHERE day >= ? AND day <= ?",
            (date_from or "", date_to or "\uffff")).fetchone()["n"])
    return min(sizes)


def filter_clauses(conn, status=None, severity=None, category=None, date_from=None,
                   date_to=None) -> tuple[str, str, list]:
    """(join, condition, parameters) restricting incident_fts to the filtered incidents.

    A narrow filter becomes one ``rowid IN (SELECT rowid FROM issues WHERE ...)`` list,
    read from one covering index (migration 042 has one for every mix of filters); the
    unary ``+`` keeps SQLite from handing the rowids to FTS5 as one lookup each. A wide
    one is tested on each match by its rowid in issue_facets, the filtered columns of
    every incident in a few megabytes.
    """
    filters = dict(status=status, severity=severity, category=category,
                   date_from=date_from, date_to=date_to)
    where, params = filters_sql(**filters)
    if not where:
        return "", "", []
    if filter_size(conn, **filters) <= LIST_MAX:
        return "", f" AND +incident_fts.rowid IN (SELECT rowid FROM issues WHERE {where})", params
    where, params = filters_sql(**filters, alias="f")
    return (" CROSS JOIN issue_facets f ON f.issue_rowid = incident_fts.rowid",
            f" AND {where}", params)


def _place_columns() -> str:
    """Per column: its text with the query's matches marked when there is one (the title
    always, whole; other places as a snippet). A place matched exactly when marking its
    text made it longer -- read from this page's rows, not from the whole index."""
    parts = []
    for n, (name, _label, _w) in enumerate(FIELDS):
        if name == "title":
            parts.append(f"highlight(incident_fts, {n}, ?, ?) AS snip_{name},"
                         f" length({name}) AS length_{name}")
        else:
            parts.append(f"CASE WHEN length(highlight(incident_fts, {n}, ?, ?)) > length({name})"
                         f" THEN snippet(incident_fts, {n}, ?, ?, '…', {SNIPPET_TOKENS})"
                         f" END AS snip_{name}")
    return ", ".join(parts)


PLACES_SQL = _place_columns()
PLACES_MARKS = PLACES_SQL.count("?") // 2


def page_places(conn, match: str, rowids: list[int]) -> dict[int, dict]:
    """{rowid: row of hit_*/snip_* columns} for one page of matches."""
    if not rowids:
        return {}
    marks = ", ".join("?" * len(rowids))
    # The unary + stops FTS5 re-running the query per row; the rowid range keeps it to
    # the matches between the page's oldest and newest.
    places = {}
    for row in conn.execute(
            f"SELECT rowid AS rid, {PLACES_SQL} FROM incident_fts WHERE incident_fts MATCH ?"
            f" AND rowid BETWEEN ? AND ? AND +rowid IN ({marks})",
            [MARK_START, MARK_END] * PLACES_MARKS + [match, min(rowids), max(rowids), *rowids]):
        row = dict(row)
        for name, _label, _w in FIELDS:
            if name == "title":
                title = row[f"snip_{name}"]
                row[f"hit_{name}"] = title is not None and len(title) > row.pop(f"length_{name}")
            else:
                row[f"hit_{name}"] = row[f"snip_{name}"] is not None
        places[row["rid"]] = row
    return places


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


RANK = f"bm25(incident_fts, {WEIGHTS})"


def newest_matches(conn, matches: str, params: list) -> tuple[int, int | None]:
    """(how many of the newest RANK_WINDOW + 1 matches there are, the oldest one's rowid),
    from the index alone, in descending rowid order."""
    row = conn.execute(f"SELECT count(*) AS n, min(rid) AS oldest FROM (SELECT"
                       f" incident_fts.rowid AS rid{matches} ORDER BY incident_fts.rowid DESC"
                       f" LIMIT {RANK_WINDOW + 1})", params).fetchone()
    return row["n"], row["oldest"]


def first_window(conn, matches: str, params: list, limit: int, offset: int) -> list:
    """newest_matches and the page ranked in the same pass over the newest RANK_WINDOW + 1
    matches: rows (rid, rank, n, oldest), n and oldest as newest_matches has them; none
    when the page is past the matches. Ranks all the matches when there are no more than
    RANK_WINDOW, else the first window (those newer than the oldest)."""
    return conn.execute(
        f"WITH newest AS MATERIALIZED (SELECT incident_fts.rowid AS rid, {RANK} AS rank"
        f"{matches} ORDER BY incident_fts.rowid DESC LIMIT {RANK_WINDOW + 1})"
        " SELECT rid, rank, n, oldest FROM (SELECT count(*) AS n, min(rid) AS oldest"
        f" FROM newest) CROSS JOIN newest WHERE n <= {RANK_WINDOW} OR rid > oldest"
        " ORDER BY rank, rid LIMIT ? OFFSET ?", [*params, limit, offset]).fetchall()


def nth_newest(conn, matches: str, params: list, n: int) -> int | None:
    """The rowid of the match n places from the newest (0: the newest), None if fewer.
    Read from the index in descending rowid order: no ranking, no incident rows."""
    row = conn.execute(f"SELECT incident_fts.rowid AS rid{matches}"
                       " ORDER BY incident_fts.rowid DESC LIMIT 1 OFFSET ?",
                       [*params, n]).fetchone()
    return row["rid"] if row else None


def ranked_page(conn, matches: str, params: list, limit: int, offset: int,
                second: int | None) -> list:
    """One page of (rid, rank) rows. ``second``: None when the matches are ranked as one,
    else the rowid of window 1's newest match; then the windows the page falls in are
    ranked between rowid bounds that FTS5 applies inside the index, each window's
    matches sorting after the newer one's."""
    rank = f"SELECT incident_fts.rowid AS rid, {RANK} AS rank{matches}"
    if second is None:
        return conn.execute(f"{rank} ORDER BY rank, rid LIMIT ? OFFSET ?",
                            [*params, limit, offset]).fetchall()
    starts = {1: second}

    def start(k: int) -> int | None:  # the rowid of window k's newest match
        if k not in starts:
            starts[k] = nth_newest(conn, matches, params, k * RANK_WINDOW)
        return starts[k]

    first, last = offset // RANK_WINDOW, (offset + limit - 1) // RANK_WINDOW
    bounds, values = "", []
    if first:
        if start(first) is None:
            return []
        bounds += " AND incident_fts.rowid <= ?"
        values.append(start(first))
    if start(last + 1) is not None:
        bounds += " AND incident_fts.rowid > ?"
        values.append(start(last + 1))
    later = [start(k) for k in range(first + 1, last + 1) if start(k) is not None]
    window = " + ".join("(incident_fts.rowid <= ?)" for _ in later)  # counted from first
    return conn.execute(f"{rank}{bounds} ORDER BY {window + ', ' if window else ''}rank, rid"
                        " LIMIT ? OFFSET ?",
                        [*params, *values, *later, limit, offset - first * RANK_WINDOW]
                        ).fetchall()


def search(conn, query: str, *, status=None, severity=None, category=None, date_from=None,
           date_to=None, limit=20, offset=0) -> dict:
    """One page of matches, best first, each with where it matched and snippets.

    Order: bm25, ties in the order recorded (rowid). A query matching more than
    RANK_WINDOW incidents is ranked in windows of RANK_WINDOW matches, newest first:
    window 0 holds the newest RANK_WINDOW matches, window 1 the next, and so on, and the
    order is (window, bm25, rowid). The first pages show the best of the most recent
    matches; paging on goes through every match once; ranks (bm25 over the whole index)
    and the total are what they were.

    Works in small steps so that only counting (up to COUNT_CAP) and ranking (up to
    RANK_WINDOW matches) follow the number of matches: count the newest matches from the
    FTS index alone, count the rest, rank, find the places and snippets for the page
    only, then read those incidents by rowid.
    """
    match = fts_query(query)
    if match is None:
        return {"items": [], "total": 0, "limit": limit, "offset": offset, "query": query}
    join, extra, params = filter_clauses(conn, status, severity, category, date_from, date_to)
    matches = f" FROM incident_fts{join} WHERE incident_fts MATCH ?{extra}"
    params = [match, *params]
    page = None
    if join and offset < RANK_WINDOW:
        # A wide filter is tested on every match it passes over, which costs more than
        # ranking one: count and rank the newest matches in one pass, not two.
        page = first_window(conn, matches, params, limit, offset)
    newest, oldest = (page[0]["n"], page[0]["oldest"]) if page else newest_matches(
        conn, matches, params)
    second = oldest if newest > RANK_WINDOW else None
    counted = newest
    if second is not None and counted < COUNT_CAP:  # count on below window 1's newest
        counted += conn.execute(f"SELECT count(*) AS n FROM (SELECT 1{matches}"
                                f" AND incident_fts.rowid < ? LIMIT {COUNT_CAP - counted})",
                                [*params, second]).fetchone()["n"]
    if page is None or (second is not None and offset + limit > RANK_WINDOW):
        page = ranked_page(conn, matches, params, limit, offset, second)
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
    total = min(counted, COUNT_CAP)
    return {"items": items, "total": total, "total_is_capped": total >= COUNT_CAP,
            "limit": limit, "offset": offset, "query": query}
