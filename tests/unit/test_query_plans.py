"""No list, search or dashboard query reads every incident.

A real SQLCipher database with 10,000 incidents; every filter and sort `list_issues`
offers (alone and combined, first page and a deep one), the forms of `search_issues`
and the dashboard's periods and filters run through the app's own command dispatch,
and each SQL statement they issue is checked with EXPLAIN QUERY PLAN:

* no full scan of a table (``SCAN issues`` with no index), the full-text index only
  through MATCH;
* no incident row read just to test a filter or find a sort key (``SCAN/SEARCH issues
  USING INDEX``, an index that does not cover the query, means one row per entry);
* no temporary B-tree sorting or grouping rows read from the incidents or their tags;
  sorting the page itself (fetched by rowid) or ranked full-text matches is fine.

Times are measured by tests/benchmarks/bench_search.py, not here.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import shutil
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import TEST_KEY

COUNT = 10_000
DOMAINS = ("linux", "network", "kubernetes", "databases", "identity", "telephony")
TAGS = ("prod", "stg", "dev", "db", "edge", "customer facing")
INCIDENT_TABLES = ("issues", "issue_tags")  # grow with every incident
SMALL_TABLES = ("issue_status_stats",)  # a row per severity, domain and status


@pytest.fixture(scope="module")
def big_app(tmp_path_factory, migrated_database):
    """The app over a copy of the migrated database holding 10,000 incidents: a few
    opened through `create_issue`, the rest written in one transaction the way the
    benchmark does (ten thousand separate commands would take minutes here)."""
    from tftsr.app import open_app
    from tftsr.commands import dispatch, load_all

    load_all()
    data = tmp_path_factory.mktemp("plans") / "data"
    data.mkdir(mode=0o700)
    shutil.copyfile(migrated_database, data / migrated_database.name)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TFTSR_DB_KEY", TEST_KEY)
        mp.setenv("TFTSR_NO_KEYRING", "1")
        mp.setenv("TFTSR_DATA_DIR", str(data))
        app = open_app(data)
        try:
            for n in range(20):
                dispatch(app, "create_issue", {"title": f"Opened by hand {n}", "severity": "high",
                                               "category": DOMAINS[n % len(DOMAINS)],
                                               "tags": ["prod", "manual"]})
            _insert(app, COUNT - 20)
            yield app
        finally:
            app.close()


def _insert(app, count: int) -> None:
    from tftsr.db.ids import uuid7

    rng = random.Random(11)
    now = datetime.now(UTC).replace(microsecond=0, tzinfo=None)
    words = ("timeout", "certificate", "replication", "kubelet", "disk", "full", "latency",
             "rollback", "firewall", "session", "expired", "memory")
    rows = []
    for _ in range(count):
        created = now - timedelta(seconds=int(rng.random() ** 1.5 * 500 * 86400))
        status = rng.choice(("open", "investigating", "resolved", "closed", "closed"))
        detected = created - timedelta(minutes=rng.randint(0, 30)) if rng.random() < 0.8 else None
        resolved = (created + timedelta(hours=rng.randint(1, 48))
                    if status in ("resolved", "closed") else None)
        text = " ".join(rng.choices(words, k=12))
        stamp = created.strftime("%Y-%m-%d %H:%M:%S")
        rows.append((uuid7(), text[:60], text, rng.choice(("critical", "high", "medium", "low")),
                     status, rng.choice(DOMAINS), stamp, stamp,
                     min(resolved, now).strftime("%Y-%m-%d %H:%M:%S") if resolved else None,
                     json.dumps(rng.sample(TAGS, k=rng.randint(0, 3))),
                     detected.strftime("%Y-%m-%d %H:%M:%S") if detected else None))
    with app.db.transaction() as conn:
        conn.executemany(
            "INSERT INTO issues (id, title, description, severity, status, category, created_at,"
            " updated_at, resolved_at, tags, detected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows)


def plan_problems(conn, sql: str) -> list[str]:
    plan = conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
    details = {r["id"]: r["detail"] for r in plan}
    subqueries = {m.group(1) for d in details.values()
                  if (m := re.match(r"(?:CO-ROUTINE|MATERIALIZE) (\S+)", d))}
    problems = []
    for row in plan:
        detail = row["detail"]
        scan = re.match(r"SCAN (\S+)(.*)$", detail)
        if scan:
            name, rest = scan.groups()
            fine = (rest.startswith(" USING") or name in subqueries or name in SMALL_TABLES
                    or name.startswith("(") or detail == "SCAN CONSTANT ROW"
                    or re.match(r" VIRTUAL TABLE INDEX \d+:M", rest))
            if not fine:
                problems.append(f"full scan: {detail}")
        if re.match(rf"(SCAN|SEARCH) ({'|'.join(INCIDENT_TABLES)}) USING INDEX ", detail):
            problems.append(f"reads an incident row per index entry: {detail}")
        if re.match(r"USE TEMP B-TREE FOR (ORDER BY|GROUP BY|DISTINCT)$", detail):
            siblings = [details[r["id"]] for r in plan
                        if r["parent"] == row["parent"] and r["id"] != row["id"]]
            for sibling in siblings:
                source = re.match(rf"(SCAN|SEARCH) ({'|'.join(INCIDENT_TABLES)}) (.*)", sibling)
                if source and "USING INTEGER PRIMARY KEY" not in source.group(3):
                    problems.append(f"sorts what it reads from {source.group(2)}: {sibling}")
    return problems


def statements_of(app, command: str, args: dict) -> list[tuple[str, list[str]]]:
    """(SQL, plan problems) for every query the command issued."""
    from tftsr.commands import dispatch

    seen: list[str] = []
    with app.db.connection() as conn:  # the command runs on this same connection
        conn.set_trace_callback(seen.append)
        try:
            dispatch(app, command, args)
        finally:
            conn.set_trace_callback(None)
        queries = [s for s in seen if re.match(r"\s*(SELECT|WITH)\b", s, re.I)
                   and "'main'." not in s]  # FTS5 reading its own tables
        assert queries, f"{command} {args} ran no query"
        return [(sql, plan_problems(conn, sql)) for sql in queries]


def assert_indexed(app, command: str, args: dict) -> None:
    bad = [(sql, problems) for sql, problems in statements_of(app, command, args) if problems]
    assert not bad, f"{command} {args}:\n" + "\n".join(f"{sql}\n  {p}" for sql, p in bad)


def list_filters():
    month_ago = (datetime.now(UTC) - timedelta(days=30)).date().isoformat()
    today = datetime.now(UTC).date().isoformat()
    single = [
        {}, {"status": ["open"]}, {"status": ["open", "investigating"]},
        {"severity": ["critical"]}, {"severity": ["critical", "high"]},
        {"category": "kubernetes"}, {"tag": "prod"}, {"tag": "customer facing"},
        {"date_from": month_ago}, {"date_to": month_ago},
        {"date_from": month_ago, "date_to": today},
    ]
    yield from single
    for a, b in itertools.combinations(single[1:], 2):
        if set(a) & set(b):
            continue
        yield {**a, **b}
    yield {"status": ["resolved", "closed"], "severity": ["low"], "category": "linux",
           "tag": "db", "date_from": month_ago, "date_to": today}


@pytest.mark.parametrize("sort", ["created_desc", "created_asc", "updated_desc", "severity"])
def test_every_list_filter_and_sort_is_answered_from_indexes(big_app, sort):
    cases = list(list_filters())
    assert len(cases) > 40
    for filters in cases:
        for offset in (0, 5000):
            assert_indexed(big_app, "list_issues", {**filters, "sort": sort, "offset": offset})


@pytest.mark.parametrize("list_max", [0, 10**9], ids=["tested per match", "listed"])
@pytest.mark.parametrize("query", ["timeout", "tim", "disk full", "roll exp", "zzzz"])
def test_search_forms_are_answered_from_indexes(big_app, query, list_max, monkeypatch):
    from tftsr.issues import search

    monkeypatch.setattr(search, "LIST_MAX", list_max)  # both ways of filtering
    month_ago = (datetime.now(UTC) - timedelta(days=30)).date().isoformat()
    for filters in ({}, {"status": ["open"]}, {"status": ["resolved", "closed"]},
                    {"severity": ["critical", "high"]}, {"category": "linux"},
                    {"date_from": month_ago}, {"date_to": month_ago},
                    {"status": ["open"], "severity": ["low"]},
                    {"category": "network", "status": ["investigating"]},
                    {"status": ["closed"], "severity": ["medium"], "category": "linux",
                     "date_from": month_ago}):
        for offset in (0, 40):
            assert_indexed(big_app, "search_issues", {"query": query, **filters,
                                                      "offset": offset})


@pytest.mark.parametrize("days", [1, 7, 30, 31, 32, 90, 365])
def test_dashboard_is_answered_from_running_totals(big_app, days):
    for severity, category in ((None, None), ("critical", None), (None, "linux"),
                               ("low", "network")):
        args = {"days": days, "severity": severity, "category": category}
        statements = statements_of(big_app, "get_dashboard", args)
        assert not [(s, p) for s, p in statements if p]
        # Only the recent-activity list touches incidents: 15 of them, by id.
        reading = [s for s, _ in statements if re.search(r"\bFROM issues\b|JOIN issues\b", s)]
        assert len(reading) == 1 and "LIMIT 15" in reading[0], reading


def test_the_checks_catch_a_full_scan_and_a_sort(big_app):
    """The checks themselves, on the kinds of query the list used to run."""
    with big_app.db.connection() as conn:
        assert plan_problems(conn, "SELECT count(*) FROM issues WHERE EXISTS (SELECT 1 FROM"
                                   " json_each(tags) WHERE json_each.value = 'prod')")
        assert plan_problems(conn, "SELECT * FROM issues WHERE status IN ('open', 'investigating')"
                                   " ORDER BY created_at DESC, rowid DESC LIMIT 50")
        assert plan_problems(conn, "SELECT * FROM issues ORDER BY CASE severity WHEN 'critical'"
                                   " THEN 0 ELSE 1 END LIMIT 50")
        assert plan_problems(conn, "SELECT substr(created_at, 1, 10) AS d, count(*) FROM issues"
                                   " WHERE created_at >= '2026-01-01' GROUP BY d")
        assert not plan_problems(conn, "SELECT rowid FROM issues WHERE status = 'open'"
                                       " ORDER BY created_at DESC, rowid DESC LIMIT 50")
