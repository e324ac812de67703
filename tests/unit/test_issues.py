"""Incidents through the real dispatcher: create, read, list, update, status workflow, delete."""

from __future__ import annotations

import pytest
from tftsr.errors import TftsrError

ALL_DOMAINS = (
    "linux", "windows", "network", "kubernetes", "databases", "virtualization", "hardware",
    "observability", "telephony", "security", "public_safety", "application", "automation",
    "hpe", "dell", "identity",
)
STATUSES = ("open", "investigating", "resolved", "closed")
# The contract's workflow, written out here so a change to the code's table is noticed.
ALLOWED = {
    ("open", "investigating"), ("open", "resolved"), ("open", "closed"),
    ("investigating", "open"), ("investigating", "resolved"), ("investigating", "closed"),
    ("resolved", "investigating"), ("resolved", "closed"),
    ("closed", "investigating"),
}
# How to bring a fresh (open) incident to each status using allowed moves only.
PATH_TO = {"open": [], "investigating": ["investigating"], "resolved": ["resolved"],
           "closed": ["closed"]}


def expect_error(code: str, fn, *args, **kwargs) -> TftsrError:
    with pytest.raises(TftsrError) as info:
        fn(*args, **kwargs)
    assert info.value.code == code, (info.value.code, info.value.message)
    return info.value


def set_created(app, issue_id: str, created_at: str) -> None:
    with app.db.transaction() as conn:
        conn.execute("UPDATE issues SET created_at = ?, updated_at = ? WHERE id = ?",
                     (created_at, created_at, issue_id))


def ids(result) -> list[str]:
    return [i["id"] for i in result["items"]]


# -- create / get ------------------------------------------------------------------------
def test_create_returns_issue_detail_with_triage_started(call):
    detail = call("create_issue", title="  DNS resolver times out ", severity="critical",
                  category="network", description="resolv.conf points at a dead host",
                  tags=["dns"], assigned_to="sam", source="pagerduty")
    assert set(detail) >= {"issue", "log_files", "resolution_steps", "conversations",
                           "timeline_events", "allowed_transitions"}
    issue = detail["issue"]
    assert issue["title"] == "DNS resolver times out"  # surrounding blanks trimmed
    assert issue["status"] == "open"
    assert issue["severity"] == "critical"
    assert issue["category"] == "network"
    assert issue["tags"] == ["dns"]
    assert issue["assigned_to"] == "sam"
    assert issue["source"] == "pagerduty"
    assert issue["resolved_at"] is None
    assert issue["created_at"] == issue["updated_at"]
    assert detail["log_files"] == [] and detail["resolution_steps"] == []
    assert detail["conversations"] == []
    assert sorted(detail["allowed_transitions"]) == ["closed", "investigating", "resolved"]
    [event] = detail["timeline_events"]
    assert event["event_type"] == "triage_started"
    assert event["issue_id"] == issue["id"]
    assert event["metadata"]["severity"] == "critical"
    assert event["metadata"]["category"] == "network"
    assert event["manual"] is False


def test_create_defaults(call):
    issue = call("create_issue", title="Disk full", severity="low", category="linux")["issue"]
    assert issue["description"] == ""
    assert issue["tags"] == []
    assert issue["source"] == "manual"
    assert issue["assigned_to"] is None


def test_get_issue_returns_the_same_detail(call, make_issue):
    issue = make_issue()
    detail = call("get_issue", issue_id=issue["id"])
    assert detail["issue"] == issue
    assert [e["event_type"] for e in detail["timeline_events"]] == ["triage_started"]


def test_get_issue_accepts_upper_case_id(call, make_issue):
    issue = make_issue()
    assert call("get_issue", issue_id=issue["id"].upper())["issue"]["id"] == issue["id"]


@pytest.mark.parametrize("domain", ALL_DOMAINS)
def test_every_domain_is_a_valid_category(call, domain):
    issue = call("create_issue", title=f"{domain} incident", severity="medium",
                 category=domain)["issue"]
    assert issue["category"] == domain


def test_sixteen_domains_in_app_info(call):
    domains = call("get_app_info")["domains"]
    assert tuple(d["id"] for d in domains) == ALL_DOMAINS
    assert all(d["label"] and d["description"] for d in domains)


@pytest.mark.parametrize("category", ["mainframe", "Linux", "", "linux "])
def test_unknown_category_rejected(call, category):
    err = expect_error("invalid_argument", call, "create_issue", title="x", severity="low",
                       category=category)
    assert "category" in err.message
    assert call("list_issues")["total"] == 0


# -- list --------------------------------------------------------------------------------
@pytest.fixture
def fleet(app, call, make_issue):
    """Five incidents with distinct dates, severities, statuses, categories and tags."""
    a = make_issue(title="A", severity="low", category="linux", tags=["db", "prod"])
    b = make_issue(title="B", severity="critical", category="network", tags=["edge"])
    c = make_issue(title="C", severity="medium", category="linux", tags=["prod"])
    d = make_issue(title="D", severity="high", category="databases", tags=[])
    e = make_issue(title="E", severity="critical", category="identity", tags=["Prod"])
    for issue, day in ((a, "2026-01-05"), (b, "2026-01-10"), (c, "2026-01-15"),
                       (d, "2026-01-20"), (e, "2026-01-25")):
        set_created(app, issue["id"], f"{day} 12:00:00")
    call("set_issue_status", issue_id=b["id"], status="investigating")
    call("set_issue_status", issue_id=c["id"], status="resolved")
    call("set_issue_status", issue_id=d["id"], status="closed")
    return {"A": a["id"], "B": b["id"], "C": c["id"], "D": d["id"], "E": e["id"]}


def names(fleet, result) -> list[str]:
    by_id = {v: k for k, v in fleet.items()}
    return [by_id[i] for i in ids(result)]


def test_list_default_is_newest_first_with_total(call, fleet):
    result = call("list_issues")
    assert names(fleet, result) == ["E", "D", "C", "B", "A"]
    assert result["total"] == 5 and result["limit"] == 50 and result["offset"] == 0


@pytest.mark.parametrize("status,expected", [
    ("open", ["E", "A"]),
    ("investigating", ["B"]),
    (["resolved", "closed"], ["D", "C"]),
    (["open", "investigating"], ["E", "B", "A"]),
])
def test_list_filter_status(call, fleet, status, expected):
    result = call("list_issues", status=status)
    assert names(fleet, result) == expected
    assert result["total"] == len(expected)


def test_list_filter_severity(call, fleet):
    assert names(fleet, call("list_issues", severity="critical")) == ["E", "B"]
    assert names(fleet, call("list_issues", severity=["low", "high"])) == ["D", "A"]


def test_list_filter_category(call, fleet):
    assert names(fleet, call("list_issues", category="linux")) == ["C", "A"]
    assert call("list_issues", category="telephony")["items"] == []


def test_list_filter_tag_is_case_insensitive(call, fleet):
    assert names(fleet, call("list_issues", tag="prod")) == ["E", "C", "A"]
    assert names(fleet, call("list_issues", tag=" PROD ")) == ["E", "C", "A"]
    assert names(fleet, call("list_issues", tag="db")) == ["A"]
    assert call("list_issues", tag="nope")["total"] == 0


def test_list_filter_date_range_is_inclusive(call, fleet):
    assert names(fleet, call("list_issues", date_from="2026-01-10",
                             date_to="2026-01-20")) == ["D", "C", "B"]
    assert names(fleet, call("list_issues", date_from="2026-01-21")) == ["E"]
    assert names(fleet, call("list_issues", date_to="2026-01-05")) == ["A"]


def test_list_filters_combine(call, fleet):
    result = call("list_issues", status="open", severity="critical", tag="prod",
                  date_from="2026-01-01")
    assert names(fleet, result) == ["E"]


def test_list_paging_and_total(call, fleet):
    first = call("list_issues", limit=2)
    second = call("list_issues", limit=2, offset=2)
    third = call("list_issues", limit=2, offset=4)
    past = call("list_issues", limit=2, offset=10)
    assert [len(p["items"]) for p in (first, second, third, past)] == [2, 2, 1, 0]
    assert all(p["total"] == 5 for p in (first, second, third, past))
    assert names(fleet, first) + names(fleet, second) + names(fleet, third) == \
        ["E", "D", "C", "B", "A"]


def test_list_sorts(app, call, fleet):
    assert names(fleet, call("list_issues", sort="created_asc")) == ["A", "B", "C", "D", "E"]
    assert names(fleet, call("list_issues", sort="created_desc")) == ["E", "D", "C", "B", "A"]
    # critical (newest first), high, medium, low
    assert names(fleet, call("list_issues", sort="severity")) == ["E", "B", "D", "C", "A"]
    with app.db.transaction() as conn:
        for name, stamp in (("C", "2026-03-01 00:00:00"), ("A", "2026-02-01 00:00:00")):
            conn.execute("UPDATE issues SET updated_at = ? WHERE id = ?", (stamp, fleet[name]))
        for name in ("B", "D", "E"):
            conn.execute("UPDATE issues SET updated_at = '2026-01-30 00:00:00' WHERE id = ?",
                         (fleet[name],))
    assert names(fleet, call("list_issues", sort="updated_desc"))[:2] == ["C", "A"]


def test_list_rejects_unknown_sort(call, fleet):
    expect_error("invalid_argument", call, "list_issues", sort="title; DROP TABLE issues")


# -- update ------------------------------------------------------------------------------
def test_update_touches_only_given_fields(call, make_issue):
    issue = make_issue(assigned_to="kim", source="email")
    updated = call("update_issue", issue_id=issue["id"], title="Checkout API returns 504")
    assert updated["title"] == "Checkout API returns 504"
    for field in ("description", "severity", "category", "tags", "assigned_to", "source",
                  "status", "created_at"):
        assert updated[field] == issue[field], field
    assert call("get_issue", issue_id=issue["id"])["issue"] == updated


def test_update_normalises_tags(call, make_issue):
    issue = make_issue()
    updated = call("update_issue", issue_id=issue["id"],
                   tags=["  Prod ", "PROD", "db   primary", "EU-west"])
    assert updated["tags"] == ["prod", "db primary", "eu-west"]


def test_update_with_empty_assignee_unassigns(call, make_issue):
    issue = make_issue(assigned_to="kim")
    assert call("update_issue", issue_id=issue["id"], assigned_to="  ")["assigned_to"] is None
    assert call("get_issue", issue_id=issue["id"])["issue"]["assigned_to"] is None
    assert call("update_issue", issue_id=issue["id"], assigned_to="lee")["assigned_to"] == "lee"


def test_update_records_issue_updated_event(call, make_issue):
    issue = make_issue()
    call("update_issue", issue_id=issue["id"], severity="critical", description="new text")
    events = call("get_timeline_events", issue_id=issue["id"])
    updated = [e for e in events if e["event_type"] == "issue_updated"]
    assert len(updated) == 1
    meta = updated[0]["metadata"]
    assert meta["fields"] == ["description", "severity"]
    assert meta["changes"]["severity"] == {"from": "high", "to": "critical"}
    assert meta["changes"]["description"] == {"changed": True}


def test_update_without_changes_records_nothing(call, make_issue):
    issue = make_issue()
    same = call("update_issue", issue_id=issue["id"], title=issue["title"],
                tags=list(issue["tags"]))
    assert same == issue
    events = call("get_timeline_events", issue_id=issue["id"])
    assert [e["event_type"] for e in events] == ["triage_started"]


def test_update_rejects_unknown_category_and_empty_title(call, make_issue):
    issue = make_issue()
    expect_error("invalid_argument", call, "update_issue", issue_id=issue["id"],
                 category="mainframe")
    expect_error("invalid_argument", call, "update_issue", issue_id=issue["id"], title="   ")
    assert call("get_issue", issue_id=issue["id"])["issue"] == issue


# -- status workflow ---------------------------------------------------------------------
@pytest.mark.parametrize("source,target",
                         [(s, t) for s in STATUSES for t in STATUSES if s != t])
def test_status_transitions(call, make_issue, source, target):
    issue = make_issue()
    for step in PATH_TO[source]:
        call("set_issue_status", issue_id=issue["id"], status=step)
    assert call("get_issue", issue_id=issue["id"])["issue"]["status"] == source
    if (source, target) in ALLOWED:
        moved = call("set_issue_status", issue_id=issue["id"], status=target)
        assert moved["status"] == target
        detail = call("get_issue", issue_id=issue["id"])
        last = detail["timeline_events"][-1]
        assert last["event_type"] == "status_changed"
        assert last["metadata"]["from"] == source and last["metadata"]["to"] == target
        assert sorted(detail["allowed_transitions"]) == sorted(
            t for (s, t) in ALLOWED if s == target)
    else:
        err = expect_error("invalid_state", call, "set_issue_status", issue_id=issue["id"],
                           status=target)
        assert source in err.message and target in err.message
        assert call("get_issue", issue_id=issue["id"])["issue"]["status"] == source


def test_same_status_is_a_no_op(call, make_issue):
    issue = make_issue()
    assert call("set_issue_status", issue_id=issue["id"], status="open") == issue
    events = call("get_timeline_events", issue_id=issue["id"])
    assert [e["event_type"] for e in events] == ["triage_started"]


def test_resolved_at_lifecycle(app, call, make_issue):
    issue = make_issue()
    investigating = call("set_issue_status", issue_id=issue["id"], status="investigating")
    assert investigating["resolved_at"] is None
    resolved = call("set_issue_status", issue_id=issue["id"], status="resolved",
                    note="rolled back the deploy")
    assert resolved["resolved_at"] is not None
    # Pin a known resolution time, then close: closing keeps it.
    with app.db.transaction() as conn:
        conn.execute("UPDATE issues SET resolved_at = '2026-01-02 03:04:05' WHERE id = ?",
                     (issue["id"],))
    closed = call("set_issue_status", issue_id=issue["id"], status="closed")
    assert closed["resolved_at"] == "2026-01-02 03:04:05"
    reopened = call("set_issue_status", issue_id=issue["id"], status="investigating")
    assert reopened["resolved_at"] is None
    events = [e for e in call("get_timeline_events", issue_id=issue["id"])
              if e["event_type"] == "status_changed"]
    assert [(e["metadata"]["from"], e["metadata"]["to"]) for e in events] == [
        ("open", "investigating"), ("investigating", "resolved"), ("resolved", "closed"),
        ("closed", "investigating")]
    assert "rolled back the deploy" in events[1]["description"]
    assert events[1]["metadata"]["note"] == "rolled back the deploy"


# -- delete ------------------------------------------------------------------------------
def count(app, table: str, issue_id: str) -> int:
    with app.db.connection() as conn:
        return conn.execute(f"SELECT count(*) AS n FROM {table} WHERE issue_id = ?",
                            (issue_id,)).fetchone()["n"]


def test_delete_cascades_and_is_audited(app, call, make_issue):
    issue = make_issue(title="Ghost incident")
    keep = make_issue(title="Survivor")
    call("add_five_why", issue_id=issue["id"], why_question="Why did it fail?")
    call("add_timeline_event", issue_id=issue["id"], event_type="note", description="hi")
    with app.db.transaction() as conn:
        conn.execute(
            "INSERT INTO log_files (id, issue_id, file_name, file_path, file_size, mime_type,"
            " content_hash, uploaded_at, redacted) VALUES ('0190a000-0000-7000-8000-000000000001',"
            " ?, 'app.log', '', 10, 'text/plain', 'abc', '2026-01-01 00:00:00', 0)",
            (issue["id"],))
    assert count(app, "resolution_steps", issue["id"]) == 1
    assert count(app, "timeline_events", issue["id"]) == 3
    assert count(app, "log_files", issue["id"]) == 1

    assert call("delete_issue", issue_id=issue["id"])["deleted"] is True

    expect_error("not_found", call, "get_issue", issue_id=issue["id"])
    for table in ("resolution_steps", "timeline_events", "log_files"):
        assert count(app, table, issue["id"]) == 0, table
    assert call("get_issue", issue_id=keep["id"])["issue"]["title"] == "Survivor"
    audit = call("get_audit_log", action="issue_deleted")["items"]
    assert len(audit) == 1
    assert audit[0]["entity_type"] == "issue" and audit[0]["entity_id"] == issue["id"]
    assert audit[0]["details"]["title"] == "Ghost incident"
    # The audit history of the deleted incident is kept, and the chain still verifies.
    assert call("get_audit_log", entity_id=issue["id"])["total"] >= 4
    assert call("verify_audit")["ok"] is True


def test_delete_twice_is_not_found(call, make_issue):
    issue = make_issue()
    call("delete_issue", issue_id=issue["id"])
    expect_error("not_found", call, "delete_issue", issue_id=issue["id"])
    expect_error("not_found", call, "update_issue", issue_id=issue["id"], title="x")
    expect_error("not_found", call, "set_issue_status", issue_id=issue["id"],
                 status="closed")


def test_changes_emit_issue_changed(app, call, make_issue):
    seen = []
    app.events.subscribe(lambda name, payload: seen.append((name, payload)))
    issue = make_issue()
    call("update_issue", issue_id=issue["id"], title="Renamed")
    call("set_issue_status", issue_id=issue["id"], status="resolved")
    call("delete_issue", issue_id=issue["id"])
    assert seen == [("issue_changed", {"issue_id": issue["id"]})] * 4
