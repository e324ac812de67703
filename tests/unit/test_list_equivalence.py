"""The list, its tag filter and the dashboard read indexes and running totals kept by
triggers (migration 042). Here their answers are compared with a direct computation
over the incidents themselves -- the plain SQL the list used to run, and the dashboard's
figures worked out in Python -- after every kind of change an incident goes through."""

from __future__ import annotations

import itertools
import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from tftsr.issues.domains import SEVERITIES, STATUSES
from tftsr.issues.store import ISSUE_COLUMNS

FMT = "%Y-%m-%d %H:%M:%S"
SORTS = {
    "created_desc": "created_at DESC, rowid DESC",
    "created_asc": "created_at ASC, rowid ASC",
    "updated_desc": "updated_at DESC, rowid DESC",
    "severity": ("CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2"
                 " ELSE 3 END, created_at DESC, rowid DESC"),
}
DOMAINS = ("linux", "network", "databases", "kubernetes")
TAGS = ("prod", "db", "edge", "customer facing", "stg")


def stamp(moment: datetime) -> str:
    return moment.strftime(FMT)


@pytest.fixture
def varied(app, call):
    """About a hundred incidents: shared creation times (ties), every status, tags with
    spaces and repeats, milestones (some out of order), a domain cleared, some
    incidents edited, moved to another day, re-tagged or deleted."""
    rng = random.Random(42)
    now = datetime.now(UTC).replace(microsecond=0, tzinfo=None)
    moments = [now - timedelta(days=rng.choice((0, 0, 1, 3, 9, 20, 40, 100, 200, 400)),
                               hours=rng.randint(0, 23)) for _ in range(25)]
    issues = []
    for n in range(100):
        issue = call("create_issue", title=f"Incident {n}", severity=rng.choice(SEVERITIES),
                     category=rng.choice(DOMAINS),
                     tags=rng.sample(TAGS, k=rng.randint(0, 3)))["issue"]
        issues.append(issue)
        opened = rng.choice(moments)
        with app.db.transaction() as conn:
            conn.execute("UPDATE issues SET created_at = ?, updated_at = ? WHERE id = ?",
                         (stamp(opened), stamp(opened + timedelta(hours=rng.randint(0, 3))),
                          issue["id"]))
        status = rng.choice(STATUSES)
        if status != "open":
            call("set_issue_status", issue_id=issue["id"], status=status)
        if rng.random() < 0.7:
            detected = opened - timedelta(minutes=rng.randint(0, 30))
            moments_set = {"detected": stamp(detected)}
            if rng.random() < 0.6:
                moments_set["impact_started"] = stamp(detected - timedelta(minutes=rng.randint(1, 90)))
            if rng.random() < 0.7:
                moments_set["acknowledged"] = stamp(
                    min(detected + timedelta(minutes=rng.randint(1, 20)), now))
            if status in ("resolved", "closed"):
                moments_set["resolved"] = stamp(
                    min(detected + timedelta(minutes=rng.randint(21, 900)), now))
            call("set_issue_milestones", issue_id=issue["id"], **moments_set)
    # Changes after the fact: each must move the incident's figures and tag rows along.
    for issue in issues[:15]:
        call("update_issue", issue_id=issue["id"], severity=rng.choice(SEVERITIES),
             category=rng.choice(DOMAINS), tags=rng.sample(TAGS, k=rng.randint(0, 2)))
    for issue in issues[15:20]:
        call("set_issue_status", issue_id=issue["id"], status="closed")
    for issue in issues[20:25]:
        call("delete_issue", issue_id=issue["id"])
    with app.db.transaction() as conn:
        # Written before the checks existed, or by hand: no domain, a detection after
        # the impact ended, a lone tag stored as a JSON string, repeated tags.
        conn.execute("UPDATE issues SET category = NULL WHERE id = ?", (issues[30]["id"],))
        conn.execute("UPDATE issues SET impact_started_at = ?, detected_at = ? WHERE id = ?",
                     (stamp(now), stamp(now - timedelta(hours=2)), issues[31]["id"]))
        conn.execute("UPDATE issues SET tags = '\"prod\"' WHERE id = ?", (issues[32]["id"],))
        conn.execute("UPDATE issues SET tags = '[\"db\", \"db\", 7]' WHERE id = ?",
                     (issues[33]["id"],))
        conn.execute("UPDATE issues SET created_at = ? WHERE id = ?",
                     (stamp(now - timedelta(days=2)), issues[34]["id"]))
    return issues


def reference_list(conn, status=None, severity=None, category=None, tag=None, date_from=None,
                   date_to=None, sort="created_desc", limit=50, offset=0):
    """The list as one plain query over the incidents."""
    clauses, params = [], []
    for column, values in (("status", status), ("severity", severity)):
        if values:
            clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
            params += values
    if category:
        clauses.append("category = ?")
        params.append(category)
    if tag:
        clauses.append("EXISTS (SELECT 1 FROM json_each(tags) WHERE json_each.value = ?)")
        params.append(tag)
    if date_from:
        clauses.append("created_at >= ?")
        params.append(date_from + " 00:00:00")
    if date_to:
        clauses.append("created_at <= ?")
        params.append(date_to + " 23:59:59")
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    total = conn.execute(f"SELECT count(*) AS n FROM issues{where}", params).fetchone()["n"]
    rows = conn.execute(f"SELECT id FROM issues{where} ORDER BY {SORTS[sort]} LIMIT ? OFFSET ?",
                        [*params, limit, offset]).fetchall()
    return [r["id"] for r in rows], total


def filter_cases():
    day = (datetime.now(UTC) - timedelta(days=30)).date().isoformat()
    statuses = [None, ["open"], ["open", "investigating"], ["resolved", "closed"]]
    severities = [None, ["critical"], ["high", "low"]]
    for st, sev, cat, tag in itertools.product(statuses, severities, [None, "linux"],
                                               [None, "prod", "customer facing", "db"]):
        yield {"status": st, "severity": sev, "category": cat, "tag": tag}
    for tag in (None, "prod"):
        yield {"date_from": day, "tag": tag}
        yield {"date_to": day, "status": ["closed"], "tag": tag}
        yield {"date_from": day, "date_to": datetime.now(UTC).date().isoformat(),
               "severity": ["medium"], "tag": tag}


def test_list_pages_and_totals_equal_the_plain_query(app, call, varied):
    checked = 0
    with app.db.connection() as conn:
        for filters, sort in itertools.product(list(filter_cases()), SORTS):
            args = {k: v for k, v in filters.items() if v}
            for limit, offset in ((50, 0), (7, 0), (7, 7), (5, 23)):
                expected, total = reference_list(conn, **args, sort=sort, limit=limit,
                                                 offset=offset)
                result = call("list_issues", **args, sort=sort, limit=limit, offset=offset)
                assert [i["id"] for i in result["items"]] == expected, (args, sort, offset)
                assert result["total"] == total, (args, sort)
                checked += bool(expected)
    assert checked > 500  # most cases do return incidents


def test_tag_filter_normalises_and_ignores_what_is_not_a_text_tag(app, call, varied):
    assert call("list_issues", tag="  Customer   FACING ")["total"] == \
        call("list_issues", tag="customer facing")["total"] > 0
    assert call("list_issues", tag="7")["total"] == 0  # a number in the JSON is not a tag
    with app.db.transaction() as conn:
        conn.execute("UPDATE issues SET tags = 'not json' WHERE id = ?", (varied[40]["id"],))
    listed = call("list_issues", limit=200)["items"]
    assert varied[40]["id"] in {i["id"] for i in listed}
    for tag in TAGS:
        assert varied[40]["id"] not in {i["id"] for i in
                                        call("list_issues", tag=tag, limit=200)["items"]}


def test_running_totals_and_tag_rows_match_the_incidents(app, varied):
    with app.db.connection() as conn:
        def same(actual_sql: str, expected_sql: str) -> None:
            def rows(sql):  # sums of seconds added in another order differ in the last bits
                return sorted(tuple(round(v, 6) if isinstance(v, float) else v
                                    for v in r.values()) for r in conn.execute(sql))
            assert rows(actual_sql) == rows(expected_sql)

        sums = ("count(*), coalesce(sum(ttd), 0.0), count(ttd), coalesce(sum(tta), 0.0),"
                " count(tta), coalesce(sum(ttr), 0.0), count(ttr)")
        for grain in ("day", "week"):
            same(f"SELECT severity, category, period, incidents, mttd_sum, mttd_n, mtta_sum,"
                 f" mtta_n, mttr_sum, mttr_n FROM issue_period_stats WHERE grain = '{grain}'",
                 f"SELECT severity, category, {grain}, {sums} FROM issue_figures"
                 " GROUP BY 1, 2, 3")
        same("SELECT * FROM issue_day_counts",
             "SELECT day, count(*) FROM issue_figures GROUP BY day")
        same("SELECT * FROM issue_status_stats",
             "SELECT severity, category, status, count(*), coalesce(sum(ttr), 0.0), count(ttr)"
             " FROM issue_figures GROUP BY 1, 2, 3")
        same("SELECT tag, created_at, issue_rowid, updated_at, status, severity, category"
             " FROM issue_tags",
             "SELECT DISTINCT j.value, i.created_at, i.rowid, i.updated_at, i.status,"
             " i.severity, i.category FROM issues i, json_each(i.tags) j"
             " WHERE typeof(j.value) = 'text'")
        # Mondays, from the incidents' own days.
        for r in conn.execute("SELECT day, week FROM issue_figures"):
            day = datetime.strptime(r["day"], "%Y-%m-%d").date()
            assert r["week"] == (day - timedelta(days=day.weekday())).isoformat()


def with_seconds(conn) -> list[dict]:
    """Every incident with its response times, in seconds as the dashboard always
    measured them: the difference of two julian days, times 86,400."""
    def seconds(a, b):
        return (f"CASE WHEN {a} IS NOT NULL AND {b} IS NOT NULL AND {b} >= {a}"
                f" THEN (julianday({b}) - julianday({a})) * 86400.0 END")

    return conn.execute(
        f"SELECT {ISSUE_COLUMNS}, {seconds('impact_started_at', 'detected_at')} AS mttd,"
        f" {seconds('detected_at', 'acknowledged_at')} AS mtta,"
        f" {seconds('detected_at', 'resolved_at')} AS mttr FROM issues").fetchall()


def reference_dashboard(rows: list[dict], days: int, severity=None, category=None) -> dict:
    """The dashboard's figures worked out from the incidents one by one."""
    today = datetime.now(UTC).date()
    start = today - timedelta(days=days - 1)
    weekly = days > 31
    picked = [r for r in rows if r["created_at"] >= start.isoformat() + " 00:00:00"
              and (not severity or r["severity"] == severity)
              and (not category or r["category"] == category)]
    def figures(group):
        out = {"incidents": len(group)}
        for key in ("mttd", "mtta", "mttr"):
            values = [r[key] for r in group if r[key] is not None]
            out[key] = {"seconds": round(sum(values) / len(values)) if values else None,
                        "count": len(values)}
        return out

    def bucket(r):
        day = datetime.strptime(r["created_at"][:10], "%Y-%m-%d").date()
        return (day - timedelta(days=day.weekday()) if weekly else day).isoformat()

    first = start - timedelta(days=start.weekday()) if weekly else start
    trend, cursor = [], first
    while cursor <= today:
        trend.append({"start": cursor.isoformat(),
                      **figures([r for r in picked if bucket(r) == cursor.isoformat()])})
        cursor += timedelta(days=7 if weekly else 1)
    domains = sorted({r["category"] or "" for r in picked},
                     key=lambda c: (-sum((r["category"] or "") == c for r in picked), c))
    resolve = [r["mttr"] for r in rows if r["mttr"] is not None]
    in_range = figures(picked)["mttr"]
    return {
        "open_by_severity": {s: sum(r["severity"] == s and r["status"] in ("open", "investigating")
                                    for r in rows) for s in SEVERITIES},
        "status_counts": {s: sum(r["status"] == s for r in rows) for s in STATUSES},
        "total": len(rows),
        "incidents_over_time": [
            {"date": d, "count": sum(r["created_at"][:10] == d for r in rows)}
            for d in ((start + timedelta(days=i)).isoformat() for i in range(days))],
        "mttr_hours": (round(in_range["seconds"] / 3600, 2)
                       if in_range["seconds"] is not None else None),
        "mttr_hours_all_time": round(sum(resolve) / len(resolve) / 3600, 2) if resolve else None,
        "resolved_in_range": in_range["count"],
        "overall": figures(picked),
        "by_severity": [{"severity": s, **figures([r for r in picked if r["severity"] == s])}
                        for s in SEVERITIES if any(r["severity"] == s for r in picked)],
        "by_domain": [{"category": c, **figures([r for r in picked if (r["category"] or "") == c])}
                      for c in domains],
        "trend": trend,
    }


@pytest.mark.parametrize("days", [1, 7, 30, 31, 32, 90, 365])
def test_dashboard_equals_the_figures_worked_out_per_incident(app, call, varied, days):
    with app.db.connection() as conn:
        rows = with_seconds(conn)
    for severity, category in ((None, None), ("critical", None), (None, "linux"),
                               ("low", "network")):
        board = call("get_dashboard", days=days, severity=severity, category=category)
        expected = reference_dashboard(rows, days, severity, category)
        response = board["response_metrics"]
        for key in ("overall", "by_severity", "by_domain", "trend"):
            assert response[key] == expected.pop(key), (key, days, severity, category)
        assert {k: board[k] for k in expected} == expected


def test_tags_json_is_read_as_before(call, make_issue, app):
    issue = make_issue(tags=["alpha", "beta"])
    with app.db.transaction() as conn:
        conn.execute("UPDATE issues SET tags = ? WHERE id = ?",
                     (json.dumps({"a": "gamma", "b": ["delta"]}), issue["id"]))
    assert call("list_issues", tag="gamma")["total"] == 1  # an object's values, as json_each
    assert call("list_issues", tag="alpha")["total"] == 0
