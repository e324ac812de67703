"""Search answers as it did before it was made faster.

`search_issues` now reads all of its filters as one list of rowids when they are narrow,
tests a wide filter match by match in issue_facets, and tells the places a result
matched from its marked text. Here every result -- order, rank, snippets, places, total, cap --
is compared with the straightforward queries it replaced, for words, prefixes and
phrases over every searched place, with each filter and mix of filters, through both
ways of filtering and with a total that reaches the cap.
"""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta

import pytest
from tftsr.issues import search as search_mod
from tftsr.issues.domains import SEVERITIES, STATUSES
from tftsr.issues.store import filters_sql, issue_to_dict

WORDS = ("timeout", "timed", "timer", "certificate", "expired", "replica", "replication",
         "disk", "full", "failover", "failed", "latency", "rollback", "kubelet", "dns",
         "resolver", "gateway", "memory", "leak", "queue")
DOMAINS = ("linux", "network", "databases", "kubernetes")


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


@pytest.fixture
def texts(app, call):
    """Sixty incidents whose words recur across titles, descriptions, tags, 5-Whys, root
    causes, action items, timeline notes and documents; some are exact copies, so
    ranks tie."""
    rng = random.Random(7)
    now = datetime.now(UTC).replace(microsecond=0, tzinfo=None)
    made = []
    for n in range(60):
        if n % 10 == 9:  # a copy of the one before: the same text ranks the same
            title, description, tags = made[-1]
        else:
            title, description = sentence(rng, 3), sentence(rng, 12)
            tags = rng.sample(("prod", "dns", "edge", "disk"), k=rng.randint(0, 2))
        made.append((title, description, tags))
        issue = call("create_issue", title=title, description=description, tags=tags,
                     severity=rng.choice(SEVERITIES), category=rng.choice(DOMAINS))["issue"]
        with app.db.transaction() as conn:
            conn.execute("UPDATE issues SET created_at = ? WHERE id = ?",
                         ((now - timedelta(days=rng.randint(0, 90))).strftime(
                             "%Y-%m-%d %H:%M:%S"), issue["id"]))
        status = rng.choice(STATUSES)
        if status != "open":
            call("set_issue_status", issue_id=issue["id"], status=status)
        if n % 10 == 9:
            continue
        if rng.random() < 0.5:
            step = call("add_five_why", issue_id=issue["id"], why_question=sentence(rng, 5),
                        answer=sentence(rng, 6))
            if rng.random() < 0.5:
                call("set_root_cause", step_id=step["id"])
        if rng.random() < 0.4:
            call("create_action_item", issue_id=issue["id"], title=sentence(rng, 4),
                 kind="preventive", notes=sentence(rng, 6))
        if rng.random() < 0.4:
            call("add_timeline_event", issue_id=issue["id"], event_type="note",
                 description=sentence(rng, 8))
        if rng.random() < 0.3:
            with app.db.transaction() as conn:
                conn.execute(
                    "INSERT INTO documents (id, issue_id, doc_type, title, content_md,"
                    " created_at, updated_at) VALUES (?, ?, 'rca', ?, ?, 0, 0)",
                    (f"doc-{n}", issue["id"], "RCA " + sentence(rng, 2),
                     "\n\n".join(sentence(rng, 30) for _ in range(3))))


def reference_search(conn, query, status=None, severity=None, category=None, date_from=None,
                     date_to=None, limit=20, offset=0):
    """Search as it was: one rowid list per filter, the places a result matched from a
    bm25 counting one column at a time."""
    match = search_mod.fts_query(query)
    extra, params = "", []
    for one in ({"status": status}, {"severity": severity}, {"category": category},
                {"date_from": date_from, "date_to": date_to}):
        where, values = filters_sql(**one)
        if where:
            extra += f" AND +incident_fts.rowid IN (SELECT rowid FROM issues WHERE {where})"
            params += values
    page = conn.execute(
        f"SELECT rowid AS rid, bm25(incident_fts, {search_mod.WEIGHTS}) AS rank"
        f" FROM incident_fts WHERE incident_fts MATCH ?{extra} ORDER BY rank LIMIT ? OFFSET ?",
        [match, *params, limit, offset]).fetchall()
    columns = []
    for n, (name, _label, _w) in enumerate(search_mod.FIELDS):
        only = ", ".join("1.0" if i == n else "0.0" for i in range(len(search_mod.FIELDS)))
        hit = f"bm25(incident_fts, {only}) < 0"
        if name == "title":
            columns.append(f"{hit} AS hit_{name}, highlight(incident_fts, {n}, ?, ?) AS snip_{name}")
        else:
            columns.append(f"{hit} AS hit_{name}, CASE WHEN {hit} THEN snippet(incident_fts, {n},"
                           f" ?, ?, '…', {search_mod.SNIPPET_TOKENS}) END AS snip_{name}")
    ids = [r["rid"] for r in page]
    marks = ", ".join("?" * len(ids))
    places = {r["rid"]: r for r in conn.execute(
        f"SELECT rowid AS rid, {', '.join(columns)} FROM incident_fts"
        f" WHERE incident_fts MATCH ? AND +rowid IN ({marks})",
        [search_mod.MARK_START, search_mod.MARK_END] * len(columns) + [match, *ids])}
    issues = search_mod.issues_by_rowid(conn, ids)
    items = [{"issue": issue_to_dict(issues[r["rid"]]), "rank": r["rank"],
              "title_snippet": places[r["rid"]]["snip_title"] or issues[r["rid"]]["title"],
              "description_snippet": places[r["rid"]]["snip_description"] or "",
              "matches": search_mod.matches_of(places[r["rid"]])} for r in page]
    total = conn.execute(
        "SELECT count(*) AS n FROM (SELECT 1 FROM incident_fts"
        f" WHERE incident_fts MATCH ?{extra} LIMIT {search_mod.COUNT_CAP})",
        [match, *params]).fetchone()["n"]
    return {"items": items, "total": total, "total_is_capped": total >= search_mod.COUNT_CAP,
            "limit": limit, "offset": offset, "query": query}


QUERIES = ("timeout", "tim", "fail", "disk full", "replica", "dns resolver", "r", "leak queue",
           "certif expir", "gateway", "nothing-like-this")


def filter_cases():
    month_ago = (datetime.now(UTC) - timedelta(days=30)).date().isoformat()
    yield {}
    for status, severity, category in itertools.product(
            (None, ["open"], ["resolved", "closed"]), (None, ["critical", "high"]),
            (None, "network")):
        yield {"status": status, "severity": severity, "category": category}
    yield {"date_from": month_ago}
    yield {"date_to": month_ago, "status": ["closed", "open"]}
    yield {"date_from": month_ago, "date_to": datetime.now(UTC).date().isoformat(),
           "severity": ["low"], "category": "linux"}


@pytest.mark.parametrize("list_max", [0, 10**9], ids=["tested per match", "listed"])
@pytest.mark.parametrize("cap", [10_000, 4])
def test_search_results_are_the_same_as_before(app, call, texts, monkeypatch, list_max, cap):
    monkeypatch.setattr(search_mod, "LIST_MAX", list_max)
    monkeypatch.setattr(search_mod, "COUNT_CAP", cap)
    compared = 0
    with app.db.connection() as conn:
        for query, filters in itertools.product(QUERIES, filter_cases()):
            args = {k: v for k, v in filters.items() if v}
            for limit, offset in ((20, 0), (3, 0), (3, 3), (5, 40)):
                expected = reference_search(conn, query, **args, limit=limit, offset=offset)
                actual = call("search_issues", query=query, **args, limit=limit, offset=offset)
                assert actual == expected, (query, args, limit, offset)
                compared += len(expected["items"])
    assert compared > 1000


def test_every_place_is_searched(call, texts):
    places = {m["field"] for q in WORDS
              for item in call("search_issues", query=q, limit=100)["items"]
              for m in item["matches"]}
    assert places == {name for name, _label, _w in search_mod.FIELDS}


def test_marks_typed_into_the_text_are_not_taken_for_matches(call, make_issue):
    """The places are told from the marked text's length, not by looking for marks."""
    mark = f"{search_mod.MARK_START}x{search_mod.MARK_END}"
    issue = make_issue(title="Tangerine outage", description=f"copied {mark} from the chat")
    [item] = call("search_issues", query="tangerine")["items"]
    assert [m["field"] for m in item["matches"]] == ["title"]
    assert item["description_snippet"] == ""
    assert item["issue"]["id"] == issue["id"]
