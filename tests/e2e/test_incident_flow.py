"""A new user runs an incident end to end in the browser UI, against the real server."""

from __future__ import annotations

import re

from playwright.sync_api import expect


def test_new_user_runs_an_incident_end_to_end(page, served_app):
    # An empty workspace tells a new user what to do.
    expect(page.get_by_test_id("dashboard-empty")).to_be_visible()
    page.get_by_test_id("empty-open-first").click()

    # New incident: domain, title, severity, description, tags.
    expect(page.get_by_test_id("new-issue-form")).to_be_visible()
    page.get_by_test_id("domain-network").click()
    page.get_by_test_id("new-issue-title").fill("Checkout latency after resolver change")
    page.get_by_test_id("new-issue-description").fill(
        "p99 latency on checkout jumped to 4s after the DNS resolver rollout at 02:10 UTC.")
    page.get_by_test_id("new-issue-create").click()

    expect(page.get_by_test_id("issue-view")).to_be_visible()
    expect(page.get_by_test_id("issue-title")).to_contain_text("Checkout latency after resolver change")
    status_badge = page.get_by_test_id("issue-view").get_by_test_id("status-badge").first
    expect(status_badge).to_contain_text(re.compile("open", re.I))

    # Start investigating.
    page.get_by_test_id("status-btn-investigating").click()
    page.get_by_test_id("status-confirm").click()
    expect(status_badge).to_contain_text(re.compile("investigating", re.I))

    # Three whys and a root cause.
    page.get_by_test_id("tab-whys").click()
    whys = [
        ("Why did checkout latency rise?", "DNS lookups for the payment API took 2-4 s."),
        ("Why were DNS lookups slow?", "The new resolver forwarded to an unreachable upstream first."),
        ("Why was an unreachable upstream first?", "The rollout template ordered upstreams alphabetically."),
    ]
    for question, answer in whys:
        page.get_by_test_id("why-question-input").fill(question)
        page.get_by_test_id("why-answer-input").fill(answer)
        page.get_by_test_id("add-why-btn").click()
        expect(page.get_by_test_id("why-step").filter(has_text=question)).to_be_visible()
    expect(page.get_by_test_id("why-step")).to_have_count(3)
    page.get_by_test_id("why-step").nth(2).get_by_test_id("why-root-toggle").click()
    expect(page.get_by_test_id("why-step").nth(2).get_by_test_id("root-cause-marker")).to_be_visible()

    # A timeline note.
    page.get_by_test_id("tab-timeline").click()
    page.get_by_test_id("timeline-type").select_option("mitigation_applied")
    page.get_by_test_id("timeline-description").fill("Rolled resolver config back to the previous order")
    page.get_by_test_id("timeline-add").click()
    timeline = page.get_by_test_id("timeline")
    expect(timeline.get_by_test_id("timeline-event").filter(
        has_text="Rolled resolver config back")).to_be_visible()
    expect(timeline.get_by_test_id("timeline-event").filter(has_text="Root cause")).to_be_visible()
    expect(timeline.get_by_test_id("timeline-event").filter(has_text="Why #3")).to_be_visible()

    # It was detected when it was opened: the timeline suggests that milestone.
    page.get_by_test_id("tab-overview").click()
    page.get_by_test_id("suggestion-accept-detected").click()
    expect(page.get_by_test_id("milestone-detected")).to_have_attribute("data-set", "true")

    # Resolve it.
    page.get_by_test_id("status-btn-resolved").click()
    page.get_by_test_id("status-note").fill("Resolver order fixed in the template")
    page.get_by_test_id("status-confirm").click()
    expect(status_badge).to_contain_text(re.compile("resolved", re.I))
    expect(page.get_by_test_id("issue-resolved-at")).to_be_visible()

    # Find it through search, with the match highlighted.
    page.get_by_test_id("nav-history").click()
    page.get_by_test_id("search-input").fill("resolv")
    result = page.get_by_test_id("search-result").first
    expect(result).to_contain_text("Checkout latency after resolver change")
    expect(result.locator("mark").first).to_have_text(re.compile("resolv", re.I))

    # It shows on the dashboard: resolved, with a mean time to resolve.
    page.get_by_test_id("nav-dashboard").click()
    expect(page.get_by_test_id("dashboard-status-resolved")).to_contain_text("1")
    expect(page.get_by_test_id("dashboard-mttr")).not_to_contain_text("not set")
    expect(page.get_by_test_id("dashboard-mttr")).to_contain_text("1 of 1 incident")
    expect(page.get_by_test_id("dashboard-recent")).to_contain_text("Checkout latency")

    # The server holds what the UI showed.
    found = served_app.call("list_issues", status=["resolved"])
    assert found["total"] == 1
    detail = served_app.call("get_issue", issue_id=found["items"][0]["id"])
    assert [s["why_question"] for s in detail["resolution_steps"]] == [q for q, _ in whys]
    assert [s["is_root_cause"] for s in detail["resolution_steps"]] == [False, False, True]
    types = [e["event_type"] for e in detail["timeline_events"]]
    for expected in ("triage_started", "why_level_advanced", "root_cause_identified",
                     "mitigation_applied", "status_changed"):
        assert expected in types
    assert served_app.call("verify_audit")["ok"] is True
    assert not page.problems, page.problems


def test_hostile_text_is_rendered_as_text(page, served_app):
    hostile = '<img src=x onerror="document.title=\'pwned\'"><script>alert(1)</script>'
    issue = served_app.call("create_issue", title=hostile, severity="low", category="linux",
                            description=hostile)["issue"]
    page.goto(served_app.base_url + f"/#/issue/{issue['id']}")
    expect(page.get_by_test_id("issue-title")).to_contain_text("<img src=x")
    assert page.title() != "pwned"
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("#app script").count() == 0


def test_command_palette_and_shortcuts(page, served_app):
    served_app.call("create_issue", title="Disk full on db-02", severity="critical",
                    category="databases")
    page.reload()
    expect(page.get_by_test_id("dashboard")).to_be_visible()
    page.keyboard.press("Control+k")
    expect(page.get_by_test_id("palette-input")).to_be_visible()
    page.get_by_test_id("palette-input").fill("audit")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("audit")).to_be_visible()
    expect(page.get_by_test_id("audit-chain-status")).to_contain_text(re.compile("intact", re.I))
    page.keyboard.press("?")
    expect(page.get_by_role("dialog")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)


def test_deleting_asks_first_unless_turned_off(page, served_app):
    first = served_app.call("create_issue", title="Delete me with a question", severity="low",
                            category="linux")["issue"]
    page.goto(served_app.base_url + f"/#/issue/{first['id']}")
    page.get_by_test_id("issue-delete").click()
    page.get_by_test_id("confirm-cancel").click()
    expect(page.get_by_test_id("issue-title")).to_contain_text("Delete me with a question")
    page.get_by_test_id("issue-delete").click()
    page.get_by_test_id("confirm-ok").click()
    expect(page.get_by_test_id("issue-view")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"#/history$"))
    assert served_app.call("list_issues")["total"] == 0

    served_app.call("update_setting", key="confirm_delete", value=False)
    second = served_app.call("create_issue", title="Delete me at once", severity="low",
                             category="linux")["issue"]
    page.goto(served_app.base_url + f"/#/issue/{second['id']}")
    expect(page.get_by_test_id("issue-title")).to_contain_text("Delete me at once")
    page.reload()
    expect(page.get_by_test_id("issue-title")).to_contain_text("Delete me at once")
    page.get_by_test_id("issue-delete").click()
    expect(page.get_by_test_id("issue-view")).to_have_count(0)
    assert page.get_by_test_id("confirm-ok").count() == 0
    assert served_app.call("list_issues")["total"] == 0
