"""Resolving an incident in the browser UI against the real server: the status dialog asks
when it was resolved or closed (now by default, back-datable in the user's time zone,
under the milestones' rules); the post-mortem of an open incident with a resolved
milestone says both plainly; related incidents are past ones only; a kubelet (klog) time
in the local log summary reads like the other formats' times."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from tests.e2e.test_ai_chat import review_log, upload_log
from tests.e2e.test_incident_record import DAY, ZONE, shoot, zoned  # noqa: F401 (fixture)


def tokyo_now() -> datetime:
    return datetime.now(ZoneInfo(ZONE)).replace(tzinfo=None, second=0, microsecond=0)


def test_marking_resolved_asks_when_in_the_users_zone(zoned, served_app, artifacts_dir):  # noqa: F811
    page = zoned
    iid = served_app.call("create_issue", title="Checkout 502 overnight", severity="critical",
                          category="application")["issue"]["id"]
    served_app.call("set_issue_milestones", issue_id=iid, impact_started=f"{DAY} 02:10",
                    detected=f"{DAY} 02:14", mitigated=f"{DAY} 02:22")
    page.goto(f"{served_app.base_url}/#/issue/{iid}")
    page.get_by_test_id("status-btn-resolved").click()
    dialog = page.get_by_test_id("status-dialog")
    expect(dialog.get_by_test_id("status-zone")).to_contain_text(f"{ZONE} (UTC+09:00)")
    field = dialog.get_by_test_id("ms-input-resolved")
    # Now, in Tokyo, unless the user changes it.
    shown = datetime.strptime(field.input_value(), "%Y-%m-%dT%H:%M")
    assert abs(shown - tokyo_now()) <= timedelta(minutes=2), shown
    expect(dialog.get_by_test_id("ms-input-closed")).to_have_count(0)

    # 11:20 in Tokyo is 02:20 UTC: before the mitigation, so refused and nothing changes.
    field.fill(f"{DAY}T11:20")
    dialog.get_by_test_id("status-confirm").click()
    # The refusal names the times as the user entered them, in Tokyo.
    expect(dialog.get_by_test_id("status-error")).to_contain_text(
        f"Resolved ({DAY} 11:20) cannot be before mitigated ({DAY} 11:22)")
    assert served_app.call("get_issue", issue_id=iid)["issue"]["status"] == "open"

    field.fill(f"{DAY}T11:25")
    dialog.get_by_test_id("status-note").fill("Pool raised to 200")
    shoot(page, artifacts_dir, "status-dialog-resolved")
    dialog.get_by_test_id("status-confirm").click()
    expect(dialog).to_have_count(0)
    strip = page.get_by_test_id("milestone-strip")
    expect(strip.get_by_test_id("milestone-resolved")).to_contain_text("11:25")
    expect(page.get_by_test_id("metric-time_to_resolve")).to_contain_text("11 min")
    stored = served_app.call("get_issue", issue_id=iid)["issue"]
    assert (stored["status"], stored["resolved_at"]) == ("resolved", f"{DAY} 02:25:00")
    [entry] = [e for e in served_app.call("get_audit_log", action="milestone_set")["items"]
               if e["entity_id"] == iid and e["details"]["milestone"] == "resolved"]
    assert entry["details"]["via"] == "status change"
    shoot(page, artifacts_dir, "resolved-back-dated")

    # Closing a resolved incident asks only when it was closed; left at now, it is now.
    page.get_by_test_id("status-btn-closed").click()
    dialog = page.get_by_test_id("status-dialog")
    expect(dialog.get_by_test_id("ms-input-closed")).to_be_visible()
    expect(dialog.get_by_test_id("ms-input-resolved")).to_have_count(0)
    dialog.get_by_test_id("status-confirm").click()
    expect(dialog).to_have_count(0)
    stored = served_app.call("get_issue", issue_id=iid)["issue"]
    closed = datetime.strptime(stored["closed_at"], "%Y-%m-%d %H:%M:%S")
    assert stored["status"] == "closed" and abs(closed - datetime.now(UTC).replace(tzinfo=None)) < timedelta(minutes=5)
    assert stored["resolved_at"] == f"{DAY} 02:25:00"
    # The one refused move (the slip above) is the only failed request.
    assert [p for p in page.problems if "status of 400" not in p] == [], page.problems


def test_closing_an_open_incident_asks_both_moments(zoned, served_app, artifacts_dir):  # noqa: F811
    page = zoned
    iid = served_app.call("create_issue", title="Mail relay queue", severity="low",
                          category="network")["issue"]["id"]
    page.goto(f"{served_app.base_url}/#/issue/{iid}")
    page.get_by_test_id("status-btn-closed").click()
    dialog = page.get_by_test_id("status-dialog")
    dialog.get_by_test_id("ms-input-resolved").fill(f"{DAY}T09:30")
    dialog.get_by_test_id("ms-input-closed").fill(f"{DAY}T09:00")  # a slip: before resolved
    dialog.get_by_test_id("status-confirm").click()
    expect(dialog.get_by_test_id("status-error")).to_contain_text(
        f"Closed ({DAY} 09:00) cannot be before resolved ({DAY} 09:30)")
    dialog.screenshot(path=str(artifacts_dir / "incident-resolution-close-dialog.png"))
    dialog.get_by_test_id("ms-input-closed").fill(f"{DAY}T10:00")
    dialog.get_by_test_id("status-confirm").click()
    expect(dialog).to_have_count(0)
    stored = served_app.call("get_issue", issue_id=iid)["issue"]
    assert (stored["resolved_at"], stored["closed_at"]) == (f"{DAY} 00:30:00", f"{DAY} 01:00:00")


def test_postmortem_of_an_open_incident_with_a_resolved_milestone(page, served_app, artifacts_dir):
    iid = served_app.call("create_issue", title="Checkout 502 overnight", severity="critical",
                          category="application")["issue"]["id"]
    served_app.call("set_issue_milestones", issue_id=iid, impact_started=f"{DAY} 02:10",
                    detected=f"{DAY} 02:14", resolved=f"{DAY} 02:25")
    served_app.call("generate_postmortem", issue_id=iid)
    page.goto(f"{served_app.base_url}/#/issue/{iid}/documents/postmortem")
    preview = page.get_by_test_id("doc-preview")
    expect(preview).to_contain_text("is open. Its milestones nevertheless record it as resolved at "
                                    f"{DAY} 02:25:00 UTC; the status has not been moved to resolved yet.")
    expect(preview).to_contain_text("By its milestones, it was resolved 11 min after it was detected.")
    expect(preview).to_contain_text("Open (resolved milestone already set)")
    preview.get_by_text("the status has not been moved", exact=False).first.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts_dir / "incident-resolution-postmortem-open.png"))
    assert not page.problems, page.problems


def test_related_incidents_are_past_ones(page, served_app, artifacts_dir):
    def create(title):
        return served_app.call("create_issue", title=title, severity="high", category="databases",
                               tags=["hikari"], description="Connection pool exhausted")["issue"]

    past = create("Orders API pool exhausted")
    current = create("Checkout pool exhausted")
    newer = create("Payments pool exhausted")
    page.goto(f"{served_app.base_url}/#/issue/{current['id']}")
    related = page.get_by_test_id("related-incidents")
    expect(related.get_by_test_id("related-item")).to_have_count(1)
    expect(related).to_contain_text("Orders API pool exhausted")
    expect(related).not_to_contain_text("Payments pool exhausted")
    related.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts_dir / "incident-resolution-related.png"))
    # The newest one lists both before it; the first has no past incident.
    page.goto(f"{served_app.base_url}/#/issue/{newer['id']}")
    expect(page.get_by_test_id("related-item")).to_have_count(2)
    page.goto(f"{served_app.base_url}/#/issue/{past['id']}")
    expect(page.get_by_test_id("related-empty")).to_contain_text("No similar past incident")
    assert not page.problems, page.problems


KUBELET = ("I1114 02:09:00.000001    2211 kubelet.go:1] Started kubelet\n"
           "W1114 02:09:30.250000    2211 pleg.go:5] PLEG is not healthy\n"
           "E1114 02:10:01.000001    2211 pod_workers.go:1298] Error syncing pod checkout-7\n")


def test_a_klog_time_reads_like_a_date_in_the_log_summary(page, served_app, artifacts_dir):
    iid = served_app.call("create_issue", title="Pods restarting on node 3", severity="high",
                          category="kubernetes")["issue"]["id"]
    review_log(served_app, upload_log(served_app, iid, "kubelet.log", KUBELET))
    page.goto(f"{served_app.base_url}/#/issue/{iid}/chat")
    page.get_by_test_id("chat-summarise").first.click()
    text = page.get_by_test_id("log-summary-text")
    expect(text).to_contain_text("First error at Nov 14 02:10:01.000001 in kubelet.log line 3 (klog)")
    assert not re.search(r"at \d{4} \d{2}:", text.inner_text())
    page.get_by_test_id("log-summary").screenshot(path=str(artifacts_dir / "incident-resolution-klog-summary.png"))
    assert not page.problems, page.problems
