"""PII review and redaction through the real commands: decisions, manual redactions,
apply_redactions (exact output, audit hash, cleared originals, timeline), paging and the
cross-incident lists."""

from __future__ import annotations

import hashlib
import json

import pytest
from tftsr.errors import TftsrError
from tftsr.evidence.ingest import ingest_log
from tftsr.evidence.logs import LogText
from tftsr.evidence.review import merge_spans, redact

LOG = ("2026-03-01 12:00:01 INFO login ok for alice@example.com from 10.1.2.3\n"
       "2026-03-01 12:00:02 WARN 😀 retry for bob@example.org via 10.1.2.4\n"
       "2026-03-01 12:00:03 INFO 日本語 done, contact carol@example.net\n")


@pytest.fixture
def log_file(app, make_issue):
    issue = make_issue()
    return ingest_log(app, issue["id"], "auth.log", iter([LOG.encode()]))["log_file"]


def spans_of(call, log_file_id, **kw):
    return call("get_pii_spans", log_file_id=log_file_id, **kw)


def full_text(call, log_file_id) -> str:
    page = call("get_log_file_content", log_file_id=log_file_id, max_lines=5000)
    assert not page["has_more"]
    return page["text"]


def test_spans_and_counts_by_type(call, log_file):
    result = spans_of(call, log_file["id"])
    assert [s["pii_type"] for s in result["spans"]] == ["Email", "Ipv4", "Email", "Ipv4", "Email"]
    assert result["by_type"] == {"Email": {"pending": 3, "approved": 0, "rejected": 0},
                                 "Ipv4": {"pending": 2, "approved": 0, "rejected": 0}}
    for span in result["spans"]:
        assert LOG[span["start"]:span["end"]] == span["original"]
    assert [s["line"] for s in result["spans"]] == [1, 1, 2, 2, 3]
    only_ips = spans_of(call, log_file["id"], pii_type="Ipv4")["spans"]
    assert [s["original"] for s in only_ips] == ["10.1.2.3", "10.1.2.4"]


def test_review_decisions_per_span_and_per_type(call, log_file):
    spans = spans_of(call, log_file["id"])["spans"]
    emails = [s["id"] for s in spans if s["pii_type"] == "Email"]
    assert call("set_pii_span_status", span_ids=emails[:2], status="approved") == {"updated": 2}
    assert call("set_pii_span_status", span_ids=emails[:2], status="approved") == {"updated": 0}
    assert call("set_pii_type_status", log_file_id=log_file["id"], pii_type="Ipv4",
                status="rejected") == {"updated": 2}
    result = spans_of(call, log_file["id"])
    assert result["by_type"]["Email"] == {"pending": 1, "approved": 2, "rejected": 0}
    assert result["by_type"]["Ipv4"] == {"pending": 0, "approved": 0, "rejected": 2}
    assert len(spans_of(call, log_file["id"], status="pending")["spans"]) == 1
    listed = call("list_log_files", issue_id=log_file["issue_id"])[0]
    assert listed["pii_counts"] == {"pending": 1, "approved": 2, "rejected": 2, "total": 5}


def test_unknown_span_ids_are_refused(call, log_file):
    with pytest.raises(TftsrError) as err:
        call("set_pii_span_status", span_ids=["01900000-0000-7000-8000-000000000000"],
             status="approved")
    assert err.value.code == "not_found"


def test_apply_needs_a_decision_on_every_finding(call, log_file):
    call("set_pii_type_status", log_file_id=log_file["id"], pii_type="Email", status="approved")
    with pytest.raises(TftsrError) as err:
        call("apply_redactions", log_file_id=log_file["id"])
    assert err.value.code == "invalid_state"
    assert "2 findings still need a decision" in err.value.message


def test_manual_span_is_approved_and_checked(call, log_file):
    start = LOG.index("日本語")
    span = call("add_pii_span", log_file_id=log_file["id"], start=start, end=start + 3)
    assert span["status"] == "approved" and span["source"] == "manual"
    assert span["original"] == "日本語" and span["replacement"] == "[Redacted]"
    assert span["pii_type"] == "Manual" and span["line"] == 3
    for start, end in ((5, 5), (10, 3), (0, len(LOG) + 1)):
        with pytest.raises(TftsrError) as err:
            call("add_pii_span", log_file_id=log_file["id"], start=start, end=end)
        assert err.value.code == "invalid_argument"


def test_apply_redactions_end_to_end(app, call, log_file):
    lid = log_file["id"]
    spans = spans_of(call, lid)["spans"]
    keep_ip = [s["id"] for s in spans if s["original"] == "10.1.2.4"]
    call("set_pii_type_status", log_file_id=lid, pii_type="Email", status="approved")
    call("set_pii_type_status", log_file_id=lid, pii_type="Ipv4", status="approved")
    call("set_pii_span_status", span_ids=keep_ip, status="rejected")
    # A manual span overlapping an approved e-mail: the overlap is merged into one redaction.
    start = LOG.index("for alice")
    call("add_pii_span", log_file_id=lid, start=start, end=start + len("for alice"),
         pii_type="Username", replacement="[User]")
    # One touching the end of a line and one wholly inside another finding.
    bob = LOG.index("bob@")
    call("add_pii_span", log_file_id=lid, start=bob + 1, end=bob + 3)

    before = call("get_log_file_content", log_file_id=lid)
    assert before["reviewed"] is False and before["redacted"] is False

    result = call("apply_redactions", log_file_id=lid)
    # Each distinct value keeps its own numbered placeholder in this incident.
    expected = ("2026-03-01 12:00:01 INFO login ok [User-1] from [IPv4-1]\n"
                "2026-03-01 12:00:02 WARN 😀 retry for [Email-2] via 10.1.2.4\n"
                "2026-03-01 12:00:03 INFO 日本語 done, contact [Email-3]\n")
    text = full_text(call, lid)
    assert text == expected
    assert result["applied"] == 6
    assert result["by_type"] == {"Email": 3, "Ipv4": 1, "Manual": 1, "Username": 1}
    assert result["redacted_sha256"] == hashlib.sha256(expected.encode()).hexdigest()
    assert result["log_file"]["redacted"] is True and result["log_file"]["reviewed"] is True

    page = call("get_log_file_content", log_file_id=lid)
    assert page["redacted"] is True and page["reviewed"] is True

    audit = call("get_audit_log", action="log_redacted")["items"]
    assert len(audit) == 1 and audit[0]["entity_id"] == lid
    details = audit[0]["details"]
    assert details["redacted_sha256"] == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert details["applied"] == 6
    assert call("verify_audit")["ok"] is True

    assert all(s["original"] == "" for s in spans_of(call, lid)["spans"])
    with app.db.connection() as conn:
        left = conn.execute("SELECT count(*) AS n FROM pii_spans WHERE log_file_id = ?"
                            " AND original_value != ''", (lid,)).fetchone()["n"]
        row = conn.execute("SELECT redacted, redacted_hash FROM log_files WHERE id = ?",
                           (lid,)).fetchone()
    assert left == 0 and row["redacted"] == 1 and row["redacted_hash"] == details["redacted_sha256"]

    events = call("get_timeline_events", issue_id=log_file["issue_id"])
    uploaded = [e for e in events if e["event_type"] == "log_uploaded"]
    assert len(uploaded) == 1
    meta = uploaded[0]["metadata"]
    assert meta["file_name"] == "auth.log" and meta["redacted"] is True
    assert meta["applied"] == 6 and meta["by_type"]["Email"] == 3
    assert meta["file_size"] == len(LOG.encode())


def test_after_finalising_nothing_can_change(call, log_file):
    lid = log_file["id"]
    call("set_pii_type_status", log_file_id=lid, pii_type="Email", status="rejected")
    call("set_pii_type_status", log_file_id=lid, pii_type="Ipv4", status="rejected")
    call("apply_redactions", log_file_id=lid)
    assert full_text(call, lid) == LOG  # every finding kept: the text is unchanged
    span_id = spans_of(call, lid)["spans"][0]["id"]
    attempts = [
        ("set_pii_span_status", dict(span_ids=[span_id], status="approved")),
        ("set_pii_type_status", dict(log_file_id=lid, pii_type="Email", status="approved")),
        ("add_pii_span", dict(log_file_id=lid, start=0, end=4)),
        ("apply_redactions", dict(log_file_id=lid)),
        ("detect_pii", dict(log_file_id=lid)),
    ]
    for name, args in attempts:
        with pytest.raises(TftsrError) as err:
            call(name, **args)
        assert err.value.code == "invalid_state", name


def test_unreviewed_log_is_marked_everywhere(call, log_file):
    lid, issue_id = log_file["id"], log_file["issue_id"]
    assert log_file["reviewed"] is False and log_file["redacted"] is False
    detail = call("get_issue", issue_id=issue_id)
    (entry,) = detail["log_files"]
    assert entry["reviewed"] is False and entry["redacted"] is False
    assert entry["pii_counts"]["pending"] == 5
    (listed,) = call("list_all_log_files")["items"]
    assert listed["reviewed"] is False and listed["issue_title"] == "Checkout API returns 502"
    page = call("get_log_file_content", log_file_id=lid)
    assert (page["reviewed"], page["redacted"]) == (False, False)


def test_detect_again_keeps_decisions_and_manual_spans(call, log_file):
    lid = log_file["id"]
    spans = spans_of(call, lid)["spans"]
    call("set_pii_span_status", span_ids=[spans[0]["id"]], status="approved")
    call("set_pii_span_status", span_ids=[spans[1]["id"]], status="rejected")
    manual = call("add_pii_span", log_file_id=lid, start=0, end=10)
    result = call("detect_pii", log_file_id=lid)
    by_id = {s["id"]: s for s in result["spans"]}
    assert by_id[spans[0]["id"]]["status"] == "approved"
    assert by_id[spans[1]["id"]]["status"] == "rejected"
    assert manual["id"] in by_id
    assert len(result["spans"]) == 6  # five detected (none twice) + the manual one
    assert sum(1 for s in result["spans"] if s["status"] == "pending") == 3


def test_detect_pii_on_text_stores_nothing(app, call, log_file):
    with app.db.connection() as conn:
        before = conn.execute("SELECT count(*) AS n FROM pii_spans").fetchone()["n"]
    text = "ticket from 😀 dave@example.com at 172.16.0.9"
    result = call("detect_pii", text=text)
    assert [(s["pii_type"], text[s["start"]:s["end"]]) for s in result["spans"]] == [
        ("Email", "dave@example.com"), ("Ipv4", "172.16.0.9")]
    with app.db.connection() as conn:
        assert conn.execute("SELECT count(*) AS n FROM pii_spans").fetchone()["n"] == before
    for bad in ({}, {"text": "x", "log_file_id": log_file["id"]}, {"text": "é" * 600_000}):
        with pytest.raises(TftsrError) as err:
            call("detect_pii", **bad)
        assert err.value.code == "invalid_argument"


def test_paging_a_100000_line_log(app, call, make_issue):
    lines = [f"{i:06d} request handled in {i % 97} ms" for i in range(100_000)]
    text = "\n".join(lines) + "\n"
    lid = ingest_log(app, make_issue()["id"], "big.log", iter([text.encode()]))["log_file"]["id"]
    page = call("get_log_file_content", log_file_id=lid, offset_line=50_000, max_lines=3)
    assert page["text"] == "\n".join(lines[50_000:50_003])
    assert page["line_count"] == 100_000 and page["first_line"] == 50_000
    assert text[page["char_offset"]:].startswith(lines[50_000])
    assert page["has_more"] is True
    default = call("get_log_file_content", log_file_id=lid)
    assert default["lines_returned"] == 2000 and default["text"].split("\n") == lines[:2000]
    last = call("get_log_file_content", log_file_id=lid, offset_line=99_999, max_lines=10)
    assert last["text"] == lines[-1] + "\n" and last["has_more"] is False
    past = call("get_log_file_content", log_file_id=lid, offset_line=200_000)
    assert past["text"] == "" and past["lines_returned"] == 0
    with pytest.raises(TftsrError):
        call("get_log_file_content", log_file_id=lid, max_lines=5001)


def test_packed_text_pages_like_plain_text():
    lines = [f"{i} é😀日本 {'x' * (i % 50)}" for i in range(30_000)]
    text = "\n".join(lines) + "\n"
    pieces = [text[i:i + 65_536] for i in range(0, len(text), 65_536)]
    plain, packed = LogText(pieces, pack=False), LogText(pieces, pack=True)
    assert packed._packed and not plain._packed
    for lt in (plain, packed):
        assert len(lt) == len(text) and lt.line_count == 30_000
        assert lt.slice(65_530, 65_545) == text[65_530:65_545]
        assert "".join(lt.iter_pieces()) == text
        assert lt.line_of_offset(text.index("29999 ")) == 30_000
        assert lt.slice(lt.line_starts[12_345], lt.line_end(12_345)) == lines[12_345]


def test_delete_log_file_removes_its_findings(app, call, log_file):
    call("delete_log_file", log_file_id=log_file["id"])
    with app.db.connection() as conn:
        assert conn.execute("SELECT count(*) AS n FROM pii_spans").fetchone()["n"] == 0
    assert call("list_log_files", issue_id=log_file["issue_id"]) == []
    with pytest.raises(TftsrError) as err:
        call("get_log_file_content", log_file_id=log_file["id"])
    assert err.value.code == "not_found"
    entry = call("get_audit_log", action="log_file_deleted")["items"][0]
    assert entry["details"]["file_name"] == "auth.log"


def test_cross_incident_list_is_paged_with_titles(app, call, make_issue):
    for n in range(3):
        issue = make_issue(title=f"Incident {n}")
        ingest_log(app, issue["id"], f"{n}.log", iter([f"log {n}\n".encode()]))
    page = call("list_all_log_files", limit=2, offset=0)
    assert page["total"] == 3 and len(page["items"]) == 2
    assert {i["issue_title"] for i in page["items"]} <= {"Incident 0", "Incident 1", "Incident 2"}
    rest = call("list_all_log_files", limit=2, offset=2)["items"]
    assert len(rest) == 1


def test_merge_and_redact_helpers():
    assert merge_spans([(5, 9, "[B]"), (0, 6, "[A]"), (9, 12, "[C]")]) == [
        (0, 9, "[A]"), (9, 12, "[C]")]
    assert redact("0123456789abc", [(5, 9, "[B]"), (0, 6, "[A]"), (9, 12, "[C]")]) == "[A][C]c"
    assert redact("abc", []) == "abc"
    assert json.dumps(redact("😀x😀", [(1, 2, "_")]), ensure_ascii=False) == '"😀_😀"'


def test_a_manual_redaction_can_cover_every_occurrence(app, call, make_issue):
    text = ("job ledger-sync started by svc-ledger\n"
            "svc-ledger: 3 retries\n"
            "done; notified svc-ledger and svc-ledgers\n")
    issue = make_issue()
    log = ingest_log(app, issue["id"], "job.log", iter([text.encode()]))["log_file"]
    first = text.index("svc-ledger")
    added = call("add_pii_span", log_file_id=log["id"], start=first, end=first + len("svc-ledger"),
                 pii_type="Username", replacement="[User]", every_occurrence=True)
    assert added["occurrences"] == 4 and added["start"] == first
    manual = [s for s in spans_of(call, log["id"])["spans"] if s["pii_type"] == "Username"]
    assert [text[s["start"]:s["end"]] for s in manual] == ["svc-ledger"] * 4
    assert all(s["status"] == "approved" for s in manual)
    # Without the flag only the selection is marked.
    second = call("add_pii_span", log_file_id=log["id"], start=0, end=3)
    assert second["occurrences"] == 1


def test_every_occurrence_is_found_across_stored_pieces():
    from tftsr.evidence.review import find_all

    pieces = ["abc-tok", "en-xyz tok", "en token", "s"]
    joined = "".join(pieces)
    assert find_all(LogText(pieces, pack=False), "token") == [
        i for i in range(len(joined)) if joined.startswith("token", i)]
    assert find_all(LogText(["aaaa"], pack=False), "aa") == [0, 2]
