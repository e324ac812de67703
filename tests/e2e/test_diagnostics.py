"""Diagnostics in the browser: the assistant proposes a command that changes state, the
approval card appears in the chat with the exact command, tier and reason; Allow once
runs it and the output shows. The Diagnostics tab runs a typed command and refuses a
destructive one. How many values the PII gate redacted from a result, and the output's
size and SHA-256, are still shown once the reply is complete and after a reload."""

from __future__ import annotations

import hashlib

from playwright.sync_api import expect

from tests.fakes.fake_openai import FakeOpenAI


def _issue(served_app):
    return served_app.call("create_issue", title="Payment pods restarting", severity="high",
                           category="kubernetes")["issue"]


def test_allow_once_in_the_chat_runs_the_command_and_shows_its_output(page, served_app, tmp_path,
                                                                     artifacts_dir):
    with FakeOpenAI() as fake:
        served_app.call("add_ai_provider", name="Loopback", kind="openai", base_url=fake.base_url,
                        model="gpt-4o-mini", api_key=fake.key)
        issue = _issue(served_app)
        target = tmp_path / "approved-in-browser"
        command = f"mkdir -p {target} && echo created-by-approval"
        fake.push_reply("", tool_calls=[{"name": "run_diagnostic_command",
                                         "arguments": {"command": command,
                                                       "reason": "make a scratch folder"}}])
        fake.push_reply("The folder is there.")
        page.goto(f"{served_app.base_url}/#/issue/{issue['id']}/chat")
        page.get_by_test_id("chat-input").fill("Prepare a scratch folder")
        page.get_by_test_id("chat-send").click()

        card = page.get_by_test_id("approval-card")
        expect(card).to_be_visible()
        expect(card.get_by_test_id("approval-command")).to_have_text(command)
        expect(card.get_by_test_id("approval-tier")).to_contain_text("Tier 2")
        expect(card.get_by_test_id("approval-reason")).not_to_be_empty()
        page.screenshot(path=str(artifacts_dir / "diagnostics-approval-card.png"))
        assert not target.exists()
        card.get_by_test_id("approval-allow-once").click()

        expect(page.get_by_test_id("approval-card")).to_have_count(0)
        run = page.get_by_test_id("chat-command-run")
        expect(run.get_by_test_id("chat-command-output")).to_contain_text("created-by-approval")
        expect(page.locator('[data-testid="chat-message"][data-role="assistant"][data-status="complete"]')).to_contain_text(
            "The folder is there.")
        assert target.is_dir()
        page.screenshot(path=str(artifacts_dir / "diagnostics-command-output.png"))
    assert not page.problems, page.problems


def test_the_diagnostics_tab_runs_a_typed_command_and_refuses_a_destructive_one(page, served_app):
    issue = _issue(served_app)
    page.goto(f"{served_app.base_url}/#/issue/{issue['id']}/diagnostics")
    box = page.get_by_test_id("diag-command")
    box.fill("echo hello-from-the-panel")
    expect(page.get_by_test_id("diag-preview")).to_contain_text("Read-only")
    page.get_by_test_id("diag-run-button").click()
    expect(page.get_by_test_id("diag-run-output").first).to_contain_text("hello-from-the-panel",
                                                                          timeout=30_000)

    box.fill("rm -rf /")
    expect(page.get_by_test_id("diag-preview")).to_contain_text("refuses")
    page.get_by_test_id("diag-run-button").click()
    refused = page.locator('[data-testid="diag-run"][data-tier="3"]')
    expect(refused).to_have_count(1)
    expect(refused.get_by_test_id("diag-run-command")).to_have_text("rm -rf /")
    assert not page.problems, page.problems


def test_the_redaction_notice_and_output_facts_stay_after_the_reply_and_a_reload(
        page, served_app, artifacts_dir):
    email, token = "pager.owner@payments-corp.example.com", "ghp_Z9yX8wV7uT6sR5qP4oN3mL2kJ1iH0gF9eD8c"
    line = f"owner {email} token {token} pods=3"
    with FakeOpenAI() as fake:
        served_app.call("add_ai_provider", name="Loopback", kind="openai", base_url=fake.base_url,
                        model="gpt-4o-mini", api_key=fake.key)
        issue = _issue(served_app)
        fake.push_reply("", tool_calls=[{"name": "run_diagnostic_command",
                                         "arguments": {"command": f"printf '{line}\\n'",
                                                       "reason": "who owns the pager"}}])
        fake.push_reply("Three pods are running.")
        page.goto(f"{served_app.base_url}/#/issue/{issue['id']}/chat")
        page.get_by_test_id("chat-input").fill("Who owns the pager?")
        page.get_by_test_id("chat-send").click()
        expect(page.locator('[data-testid="chat-message"][data-role="assistant"][data-status="complete"]')
               ).to_contain_text("Three pods are running.")
    [run] = served_app.call("list_command_executions", issue_id=issue["id"])["items"]
    count = run["redactions"]
    assert count >= 2 and {"Email address", "GitHub token"} <= set(run["redacted_labels"])
    notice = (f"{count} values redacted before the result went to the assistant: "
              f"{', '.join(run['redacted_labels'])}.")

    expect(page.get_by_test_id("chat-command-redacted")).to_have_text(notice)  # reply complete
    page.reload()
    expect(page.get_by_test_id("chat-command-output")).to_contain_text(email)  # shown locally
    expect(page.get_by_test_id("chat-command-redacted")).to_have_text(notice)
    page.get_by_test_id("chat-command-run").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts_dir / "diagnostics-chat-redaction-notice.png"))

    page.goto(f"{served_app.base_url}/#/issue/{issue['id']}/diagnostics")
    row = page.get_by_test_id("diag-run")
    row.locator("summary").click()
    expect(row.get_by_test_id("diag-run-redacted")).to_have_text(notice)
    size = len((line + "\n").encode())
    expect(row.get_by_test_id("diag-run-size")).to_have_text(f"Output {size} B")
    expect(row.get_by_test_id("diag-run-sha256")).to_have_text(
        hashlib.sha256((line + "\n").encode()).hexdigest())
    page.screenshot(path=str(artifacts_dir / "diagnostics-tab-output-facts.png"))
    assert not page.problems, page.problems


KUBECONFIG = ("apiVersion: v1\nkind: Config\ncurrent-context: prod-eu\n"
              "clusters:\n- name: prod-eu\n  cluster:\n    server: https://10.20.0.1:6443\n"
              "- name: staging\n  cluster:\n    server: https://10.30.0.1:6443\n"
              "contexts:\n- name: prod-eu\n  context:\n    cluster: prod-eu\n    user: admin\n"
              "- name: staging\n  context:\n    cluster: staging\n    user: admin\n"
              "    namespace: payments\n"
              "users:\n- name: admin\n  user:\n    token: abc123\n")


def test_a_kubeconfig_imported_from_a_file_lists_its_contexts_and_the_incident_picks_one(
        page, served_app, tmp_path, artifacts_dir):
    issue = _issue(served_app)
    config = tmp_path / "team-clusters.yaml"
    config.write_text(KUBECONFIG)
    page.goto(f"{served_app.base_url}/#/issue/{issue['id']}/diagnostics")
    page.get_by_test_id("kubeconfig-import").click()
    dialog = page.get_by_test_id("kubeconfig-dialog")
    dialog.get_by_test_id("kubeconfig-file").set_input_files(str(config))
    expect(dialog.get_by_test_id("kubeconfig-content")).to_have_value(KUBECONFIG)
    expect(dialog.get_by_test_id("kubeconfig-name")).to_have_value("team-clusters.yaml")
    dialog.get_by_test_id("kubeconfig-import-submit").click()
    expect(page.get_by_test_id("kubeconfig-dialog")).to_have_count(0)

    facts = page.get_by_test_id("kubeconfig-facts")
    expect(facts).to_contain_text("Contexts: prod-eu, staging")
    expect(facts).to_contain_text("staging (https://10.30.0.1:6443)")
    expect(page.get_by_test_id("kubeconfig-select")).to_contain_text("team-clusters.yaml — prod-eu")
    page.get_by_test_id("kubeconfig-context").select_option("staging")
    expect(page.get_by_test_id("toast-success")).to_contain_text("staging")
    chosen = served_app.call("get_incident_kubeconfig", issue_id=issue["id"])
    assert chosen["context"] == "staging"
    expect(page.get_by_test_id("kubeconfig-context")).to_have_value("staging")
    assert "abc123" not in page.content()  # the content is never sent back to the page
    page.screenshot(path=str(artifacts_dir / "diagnostics-kubeconfig.png"))
    assert not page.problems, page.problems
