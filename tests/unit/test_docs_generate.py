"""RCA and post-mortem generation from real incident data (and from none)."""

from __future__ import annotations

import re

import pytest
from tftsr.db.ids import uuid7
from tftsr.docs import metrics, sections
from tftsr.docs.generate import narrative_context

OPENED = "2026-03-01 09:30:00"
TITLE = "Checkout API → 502 für Kunden 日本"
RAW_EMAIL = "alice.secret@example.com"
EMAIL_HASH = "a" * 64


def _set_event_time(app, issue_id, event_type, when, description_like="%"):
    with app.db.transaction() as conn:
        conn.execute("UPDATE timeline_events SET created_at = ? WHERE issue_id = ? AND"
                     " event_type = ? AND description LIKE ?",
                     (when, issue_id, event_type, description_like))


def insert_log_file(app, issue_id, name, *, redacted, spans, content_hash, uploaded_at):
    """A log file and its PII spans written with the seed's columns only."""
    file_id = uuid7()
    with app.db.transaction() as conn:
        conn.execute(
            "INSERT INTO log_files (id, issue_id, file_name, file_path, file_size, mime_type,"
            " content_hash, uploaded_at, redacted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (file_id, issue_id, name, name, 48_213, "text/plain", content_hash, uploaded_at,
             1 if redacted else 0),
        )
        for n, (pii_type, original, replacement) in enumerate(spans):
            conn.execute(
                "INSERT INTO pii_spans (id, log_file_id, pii_type, start_offset, end_offset,"
                " original_value, replacement) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (uuid7(), file_id, pii_type, n * 100, n * 100 + len(original), original,
                 replacement),
            )
    return file_id


def populated_incident(app, call, make_issue) -> dict:
    """An incident with every kind of data, at known times: impact began 09:10, detected
    and opened 09:30, acknowledged 09:35, mitigated 10:15, root cause 11:00, resolved 12:00."""
    issue = make_issue(title=TITLE, severity="critical", category="application",
                       description="Gateway returned 502 for café orders → customers retried.",
                       tags=["checkout", "prod"], assigned_to="Dana Ops", priority="p1",
                       incident_commander="Sam Lead", responders=["Kim DBA", "Lee SRE"],
                       services_affected=["checkout-api", "orders"])
    iid = issue["id"]
    call("add_timeline_event", issue_id=iid, event_type="note",
         description="Error rate began climbing", occurred_at="2026-03-01 09:10:00")
    call("add_timeline_event", issue_id=iid, event_type="mitigation_applied",
         description="Raised connection pool from 50 to 200", occurred_at="2026-03-01 10:15:00")
    call("add_timeline_event", issue_id=iid, event_type="customer_notified",
         description="Status page updated", occurred_at="2026-03-01 10:20:00")
    w1 = call("add_five_why", issue_id=iid, why_question="Why did checkout return 502?",
              answer="The gateway timed out waiting for the orders service.")
    call("add_five_why", issue_id=iid, why_question="Why did the orders service stall?",
         answer="Its database connection pool was exhausted.", evidence="pool_wait_ms p99 30s")
    w3 = call("add_five_why", issue_id=iid, why_question="Why was the pool exhausted?",
              answer="A deploy halved the pool size without load testing.")
    call("set_root_cause", step_id=w3["id"], is_root_cause=True)
    call("set_issue_status", issue_id=iid, status="investigating")
    call("set_issue_status", issue_id=iid, status="resolved", note="Pool restored")
    call("create_action_item", issue_id=iid, title="Roll back pool size change",
         kind="immediate", owner="Dana Ops", status="done")
    call("create_action_item", issue_id=iid, title="Load-test pool settings in CI",
         kind="long_term", owner="Platform team", due_date="2020-01-15")
    call("create_action_item", issue_id=iid, title="Alert on pool saturation above 80%",
         kind="preventive", status="in_progress", due_date="2099-12-31")
    insert_log_file(app, iid, "gateway.log", redacted=True, content_hash=EMAIL_HASH,
                    uploaded_at="2026-03-01 09:40:00",
                    spans=[("Email", RAW_EMAIL, "[Email]"), ("Email", "b@x.org", "[Email]"),
                           ("Ipv4", "10.1.2.3", "[IPv4]")])
    insert_log_file(app, iid, "orders-db.log", redacted=False, content_hash="b" * 64,
                    uploaded_at="2026-03-01 09:45:00",
                    spans=[("Password", "hunter2", "[Password]")])
    with app.db.transaction() as conn:
        conn.execute("UPDATE issues SET created_at = ?, resolved_at = ? WHERE id = ?",
                     (OPENED, "2026-03-01 12:00:00", iid))
    _set_event_time(app, iid, "triage_started", OPENED)
    _set_event_time(app, iid, "why_level_advanced", "2026-03-01 10:30:00")
    _set_event_time(app, iid, "root_cause_identified", "2026-03-01 11:00:00")
    _set_event_time(app, iid, "status_changed", "2026-03-01 09:35:00", "Investigation%")
    _set_event_time(app, iid, "status_changed", "2026-03-01 12:00:00", "Marked resolved%")
    call("set_issue_milestones", issue_id=iid, impact_started="2026-03-01 09:10:00",
         detected=OPENED, acknowledged="2026-03-01 09:35:00", mitigated="2026-03-01 10:15:00")
    return {"issue_id": iid, "root_step": w3["id"], "first_step": w1["id"]}


def section_bodies(markdown: str) -> dict[str, str]:
    """{heading text without number: body} for every level-2 heading."""
    parts = re.split(r"^## (?:\d+\. )?(.+)$", markdown, flags=re.MULTILINE)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


def test_rca_from_a_fully_populated_incident(app, call, make_issue):
    ids = populated_incident(app, call, make_issue)
    doc = call("generate_rca", issue_id=ids["issue_id"])
    md = doc["content_md"]
    assert doc["doc_type"] == "rca" and doc["edited"] is False
    assert md.startswith(f"# Root Cause Analysis: {TITLE}\n")
    headings = re.findall(r"^## (\d+)\. (.+)$", md, flags=re.MULTILINE)
    assert [h for _, h in headings] == [s.heading for s in sections.RCA_SECTIONS]
    assert [int(n) for n, _ in headings] == list(range(1, 10))
    body = section_bodies(md)

    assert "Critical" in body["Summary"] and "Dana Ops" in body["Summary"]
    for role in ("| Priority | P1 (act now) |", "| Incident commander | Sam Lead |",
                 "| Responders | Kim DBA, Lee SRE |", "| Services affected | checkout-api, orders |"):
        assert role in body["Summary"]
    assert "The impact lasted 1 h 05 min" in body["Summary"]
    assert f"{OPENED} UTC" in body["Summary"] and "2026-03-01 12:00:00 UTC" in body["Summary"]
    assert "A deploy halved the pool size without load testing." in body["Summary"]
    assert "café orders → customers retried" in body["Description"]

    tl = body["Timeline"]
    assert "| 2026-03-01 09:10:00 | Note | Error rate began climbing |" in tl
    assert "| 2026-03-01 09:10:00 | Milestone | **Impact started** |" in tl
    assert tl.index("Impact started") < tl.index("Error rate began climbing") < \
        tl.index("Incident opened") < tl.index("Raised connection pool") < tl.index("**Resolved**")
    # The 5-Whys, status moves and other bookkeeping are not part of the story.
    for bookkeeping in ("Why #", "5-Whys step", "Marked resolved", "Root cause identified",
                        "Investigation started"):
        assert bookkeeping not in tl

    m = body["Response metrics"]
    assert "| Impact started | 2026-03-01 09:10:00 |" in m and "| Closed | Not set |" in m
    assert ("| Time to detect | **20 min** | Impact started 2026-03-01 09:10:00 | "
            "Detected 2026-03-01 09:30:00 |") in m
    assert "| Time to acknowledge | **5 min** |" in m
    assert "| Time to mitigate | **45 min** |" in m
    assert ("| Time to resolve | **2 h 30 min** | Detected 2026-03-01 09:30:00 | "
            "Resolved 2026-03-01 12:00:00 |") in m
    assert "| Impact duration | **1 h 05 min** |" in m
    assert "root cause" not in m.lower()

    whys = body["5-Whys analysis"]
    assert "1. **Why did checkout return 502?**" in whys
    assert ("3. **Why was the pool exhausted?** — *root cause*\\\n"
            "   A deploy halved the pool size without load testing.") in whys
    assert "Evidence: pool\\_wait\\_ms p99 30s" in whys
    assert "A deploy halved the pool size" in body["Root cause"]
    assert "2026-03-01 11:00:00 UTC" in body["Root cause"]

    logs = body["Log files analysed"]
    assert "2 files analysed, 1 redacted" in logs
    assert "| gateway.log | 47.1 KB | 2026-03-01 09:40:00 | Redacted | Email address 2, IPv4 address 1 |" in logs
    assert "orders-db.log" in logs and "Not redacted (review pending)" in logs
    assert "| Email address | 2 |" in logs and "| **Total** | **3** |" in logs
    assert f"`{EMAIL_HASH}`" in logs
    for secret in (RAW_EMAIL, "b@x.org", "10.1.2.3", "hunter2"):
        assert secret not in md

    actions = body["Corrective actions"]
    immediate, later = actions.split("### Long-term and preventive")
    assert "Roll back pool size change (Done; owner Dana Ops)" in immediate
    assert "Raised connection pool from 50 to 200 (timeline, 2026-03-01 10:15:00 UTC" in immediate
    assert "Long-term: Load-test pool settings in CI (Open; owner Platform team; due " \
           "2020-01-15 — **overdue**)" in later
    assert "Preventive: Alert on pool saturation above 80% (In progress; due 2099-12-31)" in later
    assert sections.AUTHOR_MARK in body["Lessons learned"]

    events = call("get_timeline_events", issue_id=ids["issue_id"])
    generated = [e for e in events if e["event_type"] == "rca_generated"]
    assert len(generated) == 1
    assert generated[0]["metadata"] == {"doc_id": doc["id"], "section_count": 9}


def test_postmortem_from_a_fully_populated_incident(app, call, make_issue):
    ids = populated_incident(app, call, make_issue)
    doc = call("generate_postmortem", issue_id=ids["issue_id"])
    md = doc["content_md"]
    headings = re.findall(r"^## \d+\. (.+)$", md, flags=re.MULTILINE)
    assert headings == [s.heading for s in sections.POSTMORTEM_SECTIONS]
    body = section_bodies(md)
    meta = body["Incident metadata"]
    for value in (TITLE, "Critical", "Resolved", "Application", "Dana Ops", "checkout, prod",
                  ids["issue_id"]):
        assert value in meta
    assert "Customer notifications on the timeline: 1" in body["Impact"]
    assert "Impact duration: 1 h 05 min (2026-03-01 09:10:00 to 2026-03-01 10:15:00 UTC)" in body["Impact"]
    assert "Services affected: checkout-api, orders" in body["Impact"]
    assert "The gateway timed out waiting for the orders service." in body["Contributing factors"]
    assert "Its database connection pool was exhausted." in body["Contributing factors"]
    assert "A deploy halved" not in body["Contributing factors"]
    assert "### 5-Whys chain" in body["Root cause"]
    table = body["Action items"]
    assert "3 items: 2 open, 1 overdue." in table
    assert "| Load-test pool settings in CI | Long-term | Platform team | 2020-01-15 | Open — **overdue** |" in table
    assert table.index("Load-test") < table.index("Alert on pool") < table.index("Roll back")
    by_id = {s["id"]: s for s in doc["sections"]}
    for narrative in ("executive_summary", "impact", "what_went_well",
                      "what_could_be_improved", "lessons_learned"):
        assert by_id[narrative]["kind"] == "narrative" and by_id[narrative]["needs_author"]
    assert by_id["timeline"]["kind"] == "data" and not by_id["timeline"]["needs_author"]
    events = call("get_timeline_events", issue_id=ids["issue_id"])
    story = [e for e in events if e["event_type"] in ("triage_started", "note",
                                                      "mitigation_applied", "customer_notified")]
    pm_events = [e for e in events if e["event_type"] == "postmortem_generated"]
    assert pm_events[0]["metadata"] == {"doc_id": doc["id"],
                                        "timeline_events_count": len(story)}
    milestones_set = 5  # impact started, detected, acknowledged, mitigated, resolved
    assert f"{len(story) + milestones_set} entries, oldest first" in body["Timeline"]


def test_a_bare_incident_says_plainly_what_is_missing(call, make_issue):
    issue = make_issue(title="Printer queue stuck", description="", tags=[])
    rca = call("generate_rca", issue_id=issue["id"])["content_md"]
    body = section_bodies(rca)
    assert len(body) == 9
    assert "No description was recorded" in body["Description"]
    assert "1 entry, oldest first" in body["Timeline"]  # only "Incident opened"
    assert "| Time to detect | Not set | — | — |" in body["Response metrics"]
    assert "Impact started and Detected are not set." in body["Response metrics"]
    assert "Detected and Resolved are not set." in body["Response metrics"]
    assert "No 5-Whys analysis was recorded." in body["5-Whys analysis"]
    assert "No root cause has been identified yet" in body["Root cause"]
    assert "No log files were attached" in body["Log files analysed"]
    assert "No immediate actions or mitigations were recorded." in body["Corrective actions"]
    assert "No long-term or preventive actions were recorded." in body["Corrective actions"]
    assert "Printer queue stuck" in body["Summary"] and "| Assigned to | Not assigned |" in body["Summary"]
    assert "| Incident commander | Not recorded |" in body["Summary"]

    pm = section_bodies(call("generate_postmortem", issue_id=issue["id"])["content_md"])
    assert len(pm) == 12
    assert "No action items were recorded." in pm["Action items"]
    assert "No contributing factors were recorded" in pm["Contributing factors"]
    assert "Tags | None" in pm["Incident metadata"]
    for name in ("What went well", "What could be improved", "Lessons learned", "Impact"):
        assert sections.AUTHOR_MARK in pm[name]


def test_metrics_are_exact_for_known_timestamps():
    issue = {"created_at": "2026-01-10 08:00:00", "impact_started_at": "2026-01-10 07:45:30",
             "detected_at": "2026-01-10 08:00:00", "acknowledged_at": "2026-01-10 08:00:40",
             "mitigated_at": "2026-01-10 08:07:05", "resolved_at": "2026-01-12 09:30:15"}
    result = {m.key: m for m in metrics.compute(issue)}
    assert result["time_to_detect"].seconds == 14 * 60 + 30
    assert result["time_to_acknowledge"].display == "40 s"
    assert result["time_to_mitigate"].seconds == 7 * 60 + 5
    assert result["time_to_mitigate"].display == "7 min 05 s"
    assert result["time_to_resolve"].seconds == 2 * 86400 + 5415
    assert result["time_to_resolve"].display == "2 d 1 h"
    assert result["impact_duration"].seconds == 21 * 60 + 35  # to mitigated
    not_mitigated = {m.key: m for m in metrics.compute({**issue, "mitigated_at": None})}
    assert not_mitigated["impact_duration"].end == "2026-01-12 09:30:15"  # to resolved
    assert not_mitigated["time_to_mitigate"].display == "Not set"


def test_narrative_context_holds_only_redacted_material(app, call, make_issue):
    ids = populated_incident(app, call, make_issue)
    with app.db.connection() as conn:
        ctx = narrative_context(conn, ids["issue_id"])
    text = repr(ctx)
    for secret in (RAW_EMAIL, "b@x.org", "10.1.2.3", "hunter2"):
        assert secret not in text
    assert [f["file_name"] for f in ctx["log_files"]] == ["gateway.log"]
    assert ctx["log_files"][0]["redacted_by_type"] == {"Email": 2, "Ipv4": 1}
    assert ctx["log_files_not_redacted"] == 1
    assert ctx["root_cause"] == "A deploy halved the pool size without load testing."
    assert ctx["metrics"]["time_to_resolve"]["seconds"] == 9000
    assert ctx["milestones"]["impact_started"] == "2026-03-01 09:10:00"
    assert {"time": "2026-03-01 10:15:00", "type": "milestone", "description": "Mitigated",
            "manual": True} in ctx["timeline"]
    assert {s["id"] for s in ctx["sections_to_draft"]["postmortem"]} == {
        "executive_summary", "impact", "what_went_well", "what_could_be_improved",
        "lessons_learned"}


def test_drafted_text_replaces_a_section_by_id(call, make_issue):
    issue = make_issue()
    doc = call("generate_postmortem", issue_id=issue["id"])
    drafted = sections.replace_section_body(doc["content_md"], "postmortem", "what_went_well",
                                            "- Alerting fired within two minutes.")
    saved = call("update_document", document_id=doc["id"], content_md=drafted,
                 base_updated_at=doc["updated_at"])
    by_id = {s["id"]: s for s in saved["sections"]}
    assert not by_id["what_went_well"]["needs_author"]
    assert by_id["lessons_learned"]["needs_author"]
    body = section_bodies(saved["content_md"])
    assert body["What went well"].strip() == "- Alerting fired within two minutes."
    assert sections.AUTHOR_MARK in body["What could be improved"]
    with pytest.raises(KeyError):
        sections.replace_section_body("# nothing here\n", "postmortem", "impact", "x")


def test_user_text_cannot_inject_markdown_structure(call, make_issue):
    issue = make_issue(title="# Heading | pipe <b>x</b>")
    call("add_timeline_event", issue_id=issue["id"], event_type="note",
         description="- fake item | with pipe\n## fake section")
    md = call("generate_rca", issue_id=issue["id"])["content_md"]
    assert len(re.findall(r"^## ", md, flags=re.MULTILINE)) == 9
    assert "\\- fake item \\| with pipe \\#\\# fake section" not in md  # only the start is escaped
    assert "\\- fake item \\| with pipe ## fake section" in md


def test_sections_name_the_prompt_to_replace(call, make_issue):
    issue = make_issue()
    doc = call("generate_postmortem", issue_id=issue["id"])
    by_id = {s["id"]: s for s in doc["sections"]}
    prompt = by_id["lessons_learned"]["placeholder"]
    assert prompt.startswith("> " + sections.AUTHOR_MARK) and prompt in doc["content_md"]
    assert "##" not in prompt  # never the heading
    assert by_id["timeline"]["placeholder"] is None
