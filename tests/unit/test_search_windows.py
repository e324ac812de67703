"""Search ranks a very common query's matches in windows of its newest ones.

A query matching more than RANK_WINDOW incidents is ranked (window, bm25): window 0 holds
its RANK_WINDOW most recently recorded matches, window 1 the next RANK_WINDOW, and so on.
Here the window is made small, so a few dozen incidents on a real SQLCipher database
show it: the first page is the best of the newest matches, pages go through every match
once in that order, ranks and totals are bm25's and the count's as before, with every
filter and both ways of filtering; fewer matches than a window are ranked as one.
"""

from __future__ import annotations

import random

import pytest
from tftsr.issues import search as search_mod

WORDS = ("rollback", "failover", "timeout", "disk", "queue", "gateway", "latency", "dns")


def ids(result) -> list[str]:
    return [item["issue"]["id"] for item in result["items"]]


@pytest.fixture
def incidents(call):
    """Thirty incidents recorded one after another; "rollback" is in most of them, once
    or several times, in the title or only deep in the text."""
    rng = random.Random(5)
    made = []
    for n in range(30):
        words = rng.choices(WORDS, k=rng.randint(4, 14))
        title = " ".join(rng.choices(WORDS[1:], k=3))
        if n % 3 == 0:
            title = "Rollback " + title
        made.append(call("create_issue", title=title, description=" ".join(words),
                         severity=rng.choice(("critical", "high", "medium", "low")),
                         category=rng.choice(("linux", "kubernetes")))["issue"])
        if n % 4 == 0:
            call("set_issue_status", issue_id=made[-1]["id"], status="resolved")
    return made


def expected_order(app, query: str, window: int, **filters) -> list[tuple[str, float]]:
    """(id, bm25) of every match in (window, bm25, order recorded) order, worked out from
    one bm25 over all matches and the matches' recording order."""
    with app.db.connection() as conn:
        rows = conn.execute(
            f"SELECT i.id, i.status, i.category, f.rowid AS rid,"
            f" bm25(incident_fts, {search_mod.WEIGHTS}) AS rank FROM incident_fts f"
            " JOIN issues i ON i.rowid = f.rowid WHERE incident_fts MATCH ?",
            [search_mod.fts_query(query)]).fetchall()
    rows = [r for r in rows if all(r[k] in (v if isinstance(v, list) else [v])
                                   for k, v in filters.items())]
    newest_first = sorted(rows, key=lambda r: -r["rid"])
    position = {r["rid"]: n for n, r in enumerate(newest_first)}
    ordered = sorted(rows, key=lambda r: (position[r["rid"]] // window, r["rank"], r["rid"]))
    return [(r["id"], r["rank"]) for r in ordered]


def test_a_common_query_shows_the_best_of_its_newest_matches_first(call, make_issue,
                                                                   monkeypatch):
    old = make_issue(title="Rollback of the payments release", tags=["rollback"],
                     description="Rolled back: rollback completed")
    newer = [make_issue(title=f"Checkout errors {n}", description="Error rate rose after the"
                        f" deploy of build {n}; a rollback was discussed, then a fix shipped")
             for n in range(10)]
    everything = call("search_issues", query="rollback")
    assert ids(everything)[0] == old["id"]  # one bm25 order: the title match first

    monkeypatch.setattr(search_mod, "RANK_WINDOW", 6)
    first = call("search_issues", query="rollback", limit=6)
    assert first["total"] == everything["total"] == 11  # the count is not windowed
    assert set(ids(first)) == {i["id"] for i in newer[-6:]}  # the newest six
    ranks = [item["rank"] for item in first["items"]]
    assert ranks == sorted(ranks)  # bm25 within the window
    rest = call("search_issues", query="rollback", limit=10, offset=6)
    assert ids(rest)[0] == old["id"]  # best of the next window
    assert set(ids(rest)) == {old["id"]} | {i["id"] for i in newer[:4]}
    # The same bm25 values as ranking everything: only the order between windows differs.
    overall = {item["issue"]["id"]: item["rank"] for item in everything["items"]}
    assert all(overall[item["issue"]["id"]] == item["rank"]
               for item in first["items"] + rest["items"])


@pytest.mark.parametrize("list_max", [0, 10**9], ids=["tested per match", "listed"])
@pytest.mark.parametrize("filters", [{}, {"status": ["open"]}, {"category": "kubernetes"},
                                     {"status": ["resolved"], "category": "linux"}])
def test_pages_go_through_every_match_once_in_window_order(app, call, incidents, monkeypatch,
                                                           filters, list_max):
    monkeypatch.setattr(search_mod, "LIST_MAX", list_max)
    for window in (2, 3, 5, 1000):
        monkeypatch.setattr(search_mod, "RANK_WINDOW", window)
        expected = expected_order(app, "roll", window, **filters)
        assert len(expected) > 3
        for limit in (1, 3, 4, 7, 100):
            pages = []
            for offset in range(0, len(expected) + limit, limit):
                result = call("search_issues", query="roll", limit=limit, offset=offset,
                              **filters)
                assert result["total"] == len(expected)
                pages += [(item["issue"]["id"], item["rank"]) for item in result["items"]]
            assert pages == expected, (window, limit)
        # A page that starts anywhere, also inside a window and running into the next.
        for offset in range(len(expected)):
            result = call("search_issues", query="roll", limit=3, offset=offset, **filters)
            assert [(i["issue"]["id"], i["rank"]) for i in result["items"]] == \
                expected[offset:offset + 3]


def test_totals_past_a_window_and_the_cap(call, incidents, monkeypatch):
    total = call("search_issues", query="rollback")["total"]
    monkeypatch.setattr(search_mod, "RANK_WINDOW", 4)
    assert call("search_issues", query="rollback")["total"] == total
    assert call("search_issues", query="rollback", offset=total + 5) == {
        "items": [], "total": total, "total_is_capped": False, "limit": 20,
        "offset": total + 5, "query": "rollback"}
    monkeypatch.setattr(search_mod, "COUNT_CAP", 7)
    capped = call("search_issues", query="rollback", limit=10)
    assert capped["total"] == 7 and capped["total_is_capped"]
    assert len(capped["items"]) == 10  # the cap is on the count, not on the matches paged
    monkeypatch.setattr(search_mod, "COUNT_CAP", 3)
    assert call("search_issues", query="rollback")["total"] == 3
