"""The Audit log screen: the chain head to record elsewhere (with Copy), and an emptied log
shown as incomplete, in a real Chromium against a real ``tftsr serve``."""

from __future__ import annotations

import re

import sqlcipher3
from playwright.sync_api import expect

from tests.conftest import TEST_KEY


def test_the_head_is_shown_and_copied(page, served_app):
    served_app.call("create_issue", title="Disk full on db-02", severity="critical",
                    category="databases")
    head = served_app.call("verify_audit")["head"]
    page.context.grant_permissions(["clipboard-read", "clipboard-write"],
                                   origin=served_app.base_url)
    page.evaluate("location.hash = '#/audit'")
    expect(page.get_by_test_id("audit-chain-status")).to_have_attribute("data-state", "ok")
    expect(page.get_by_test_id("audit-head")).to_have_text(head)
    page.get_by_test_id("audit-head-copy").click()
    expect(page.get_by_text("Audit head copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == head
    assert not page.problems, page.problems


def test_an_emptied_log_is_shown_as_incomplete(page, served_app, tmp_path):
    issue = served_app.call("create_issue", title="Payment webhook retries storm",
                            severity="high", category="application")["issue"]
    conn = sqlcipher3.connect(str(tmp_path / "e2e-data" / "tftsr.db"), isolation_level=None)
    try:
        conn.execute(f"PRAGMA key = '{TEST_KEY}'")
        conn.execute("DELETE FROM audit_log")
        conn.execute("DELETE FROM audit_chain_head")
    finally:
        conn.close()
    page.evaluate("location.hash = '#/audit'")
    status = page.get_by_test_id("audit-chain-status")
    expect(status).to_have_attribute("data-state", "incomplete")
    expect(status).to_contain_text(re.compile("incomplete", re.I))
    expect(page.get_by_test_id("audit-missing")).to_contain_text("incident")
    expect(page.get_by_test_id("audit-missing")).to_contain_text(issue["id"][-8:])
    assert not page.problems, page.problems


def test_help_and_settings_say_what_the_chain_proves(page, served_app):
    page.evaluate("location.hash = '#/help/privacy'")
    proves = page.get_by_test_id("help-audit-proves")
    expect(proves).to_contain_text("Against anyone without the database key, any change to the log is detected")
    expect(proves).to_contain_text("someone who holds the key")
    expect(proves).to_contain_text("emptied or cut-short log")
    expect(page.get_by_test_id("help-expect-head-cmd")).to_have_text(
        "tftsr db verify-audit --expect-head SEQ:HASH")
    expect(page.get_by_test_id("help-cli")).to_contain_text("tftsr db audit-head")
    page.evaluate("location.hash = '#/settings'")
    note = page.get_by_test_id("audit-key-note")
    expect(note).to_contain_text("Whoever holds it can rewrite the log")
    expect(note).to_contain_text("a head you recorded elsewhere")
    assert not page.problems, page.problems
