"""Settings → MCP servers in the browser, against a real ``tftsr serve`` and the real MCP
test server (tests/fakes/mcp_server.py) started over stdio: add a server, discover it,
see its tools, try one, read a resource, edit, disable and delete it. Whatever the server
says is shown as text."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.fakes.mcp_helpers import stdio_args

SECRET = "grafana-secret-value-4f3e2d1c"


def api(served_app, command, /, **args):
    r = served_app.client.post(f"/api/{command}", json=args)  # ServedApp.call takes `name` itself
    assert r.status_code == 200, r.text
    return r.json()


def open_settings(page, served_app):
    page.goto(f"{served_app.base_url}/#/settings")
    section = page.get_by_test_id("mcp-servers")
    # Settings loads several sections at once; on a busy machine this one can take a while.
    expect(section).to_be_attached(timeout=60_000)
    section.scroll_into_view_if_needed()
    expect(section).to_be_visible()
    return section


def server_row(page, name):
    return page.get_by_test_id("mcp-server").filter(has=page.get_by_test_id("mcp-server-name").get_by_text(name, exact=True))


@pytest.fixture
def stdio_server(served_app):
    command, args = stdio_args()
    server = api(served_app, "add_mcp_server", name="Checkout metrics", transport="stdio", command=command,
                 args=args, env={"GRAFANA_TOKEN": SECRET})
    assert api(served_app, "discover_mcp_server", server_id=server["id"])["status"] == "connected"
    return server


def test_add_a_stdio_server_discover_it_and_try_a_tool(page, served_app, artifacts_dir):
    section = open_settings(page, served_app)
    expect(section.get_by_test_id("mcp-servers-empty")).to_be_visible()
    section.get_by_test_id("mcp-server-add").click()
    dialog = page.get_by_test_id("mcp-server-dialog")
    expect(dialog).to_be_visible()
    command, args = stdio_args()
    dialog.get_by_test_id("mcp-server-name-input").fill("Checkout metrics")
    expect(dialog.get_by_test_id("mcp-server-transport-stdio")).to_have_attribute("aria-checked", "true")
    dialog.get_by_test_id("mcp-server-command").fill(command)
    dialog.get_by_test_id("mcp-server-args").fill("\n".join(args))
    dialog.get_by_test_id("mcp-env-add").click()
    dialog.get_by_test_id("mcp-env-name").fill("GRAFANA_TOKEN")
    # a token-like name is secret on its own: the value field hides what is typed
    expect(dialog.get_by_test_id("mcp-env-secret")).to_be_checked()
    expect(dialog.get_by_test_id("mcp-env-value")).to_have_attribute("type", "password")
    dialog.get_by_test_id("mcp-env-value").fill(SECRET)
    dialog.get_by_test_id("mcp-env-add").click()
    dialog.get_by_test_id("mcp-env-name").nth(1).fill("REGION")
    dialog.get_by_test_id("mcp-env-value").nth(1).fill("eu-west-1")
    page.screenshot(path=str(artifacts_dir / "mcp-add-dialog.png"))
    dialog.get_by_test_id("mcp-server-save").click()
    expect(dialog).to_be_hidden()

    row = server_row(page, "Checkout metrics")
    expect(row).to_have_attribute("data-status", "connected", timeout=60_000)  # discovered right after saving
    expect(row.get_by_test_id("mcp-server-env")).to_contain_text(f"GRAFANA_TOKEN=…{SECRET[-4:]}")
    expect(row.get_by_test_id("mcp-server-env")).to_contain_text("REGION=eu-west-1")
    expect(row.get_by_test_id("mcp-server-counts")).to_contain_text("9 tools, 2 resources")
    expect(row.get_by_test_id("mcp-server-detail")).to_be_visible()
    tools = row.get_by_test_id("mcp-tool")
    expect(tools).to_have_count(9)
    query = row.locator('[data-testid="mcp-tool"][data-tool-name="query_metrics"]')
    expect(query.get_by_test_id("mcp-tool-description")).to_have_text("Run a metrics query over a time range.")
    # a server's markup is text, never HTML
    markup = row.locator('[data-testid="mcp-tool"][data-tool-name="markup"]')
    expect(markup.get_by_test_id("mcp-tool-description")).to_contain_text('<img src=x onerror="window.__mcp_xss=1">')
    assert page.locator(".mcp-servers img, .mcp-servers b").count() == 0
    assert SECRET not in page.content()
    page.screenshot(path=str(artifacts_dir / "mcp-settings.png"), full_page=True)

    # Try it: the nested schema gives a skeleton of its required fields
    query.get_by_test_id("mcp-tool-try").click()
    trial = page.get_by_test_id("mcp-try-dialog")
    skeleton = json.loads(trial.get_by_test_id("mcp-try-arguments").input_value())
    assert skeleton == {"query": {"expr": "", "range": {"start": "", "end": ""}}, "severity": "info"}
    trial.get_by_test_id("mcp-try-arguments").fill(json.dumps({
        "query": {"expr": "rate(errors[5m])", "range": {"start": "09:00", "end": "10:00"}, "step": "1m"},
        "severity": "critical"}))
    trial.get_by_test_id("mcp-try-run").click()
    result = trial.get_by_test_id("mcp-try-result")
    expect(result).to_have_attribute("data-is-error", "false")
    expect(result.get_by_test_id("mcp-try-output")).to_have_text(
        "rate(errors[5m]) from 09:00 to 10:00 step 1m: 3 series at critical")
    page.screenshot(path=str(artifacts_dir / "mcp-try-it.png"))
    trial.get_by_test_id("mcp-try-arguments").fill("{not json")
    trial.get_by_test_id("mcp-try-run").click()
    expect(trial.get_by_test_id("mcp-try-error")).to_contain_text("not valid JSON")
    page.keyboard.press("Escape")
    expect(trial).to_be_hidden()

    # a tool that fails shows its own words; the markup tool's answer is text
    row.locator('[data-testid="mcp-tool"][data-tool-name="fail"]').get_by_test_id("mcp-tool-try").click()
    trial = page.get_by_test_id("mcp-try-dialog")
    trial.get_by_test_id("mcp-try-run").click()
    expect(trial.get_by_test_id("mcp-try-result")).to_have_attribute("data-is-error", "true")
    expect(trial.get_by_test_id("mcp-try-output")).to_contain_text("cannot comply: the upstream API is down")
    page.keyboard.press("Escape")
    markup.get_by_test_id("mcp-tool-try").click()
    trial = page.get_by_test_id("mcp-try-dialog")
    trial.get_by_test_id("mcp-try-run").click()
    expect(trial.get_by_test_id("mcp-try-output")).to_have_text("<i><script>window.__mcp_xss=2</script></i>")
    assert page.evaluate("() => window.__mcp_xss === undefined")
    page.keyboard.press("Escape")

    # a resource, read as text
    row.locator('[data-testid="mcp-resource"][data-uri="runbook://checkout/disk-full"]').get_by_test_id(
        "mcp-resource-read").click()
    reader = page.get_by_test_id("mcp-resource-dialog")
    expect(reader.get_by_test_id("mcp-resource-content")).to_contain_text("Rotate /var/log/checkout.")
    page.keyboard.press("Escape")
    assert not page.problems, page.problems


def test_edit_keeps_the_secret_disable_and_delete(page, served_app, stdio_server):
    open_settings(page, served_app)
    row = server_row(page, "Checkout metrics")
    expect(row).to_have_attribute("data-status", "connected")
    row.get_by_test_id("mcp-server-edit").click()
    dialog = page.get_by_test_id("mcp-server-dialog")
    expect(dialog.get_by_test_id("mcp-env-stored")).to_contain_text(SECRET[-4:])
    assert SECRET not in page.content()
    dialog.get_by_test_id("mcp-server-name-input").fill("Checkout metrics (prod)")
    dialog.get_by_test_id("mcp-server-timeout").fill("45")
    dialog.get_by_test_id("mcp-server-save").click()
    expect(dialog).to_be_hidden()
    row = server_row(page, "Checkout metrics (prod)")
    expect(row).to_have_attribute("data-status", "connected", timeout=60_000)
    tried = api(served_app, "call_mcp_tool", server_id=stdio_server["id"], tool_name="env",
                arguments={"name": "GRAFANA_TOKEN"})
    assert tried["text"] == SECRET  # kept through the edit
    assert api(served_app, "get_mcp_server", server_id=stdio_server["id"])["timeout_seconds"] == 45

    row.get_by_test_id("mcp-server-enabled").click()
    expect(row).to_have_attribute("data-enabled", "false")
    expect(row.get_by_test_id("mcp-server-discover")).to_be_disabled()
    assert api(served_app, "get_mcp_server", server_id=stdio_server["id"])["enabled"] is False

    row.get_by_test_id("mcp-server-delete").click()
    page.get_by_test_id("confirm-ok").click()
    expect(page.get_by_test_id("mcp-servers-empty")).to_be_visible()
    assert api(served_app, "list_mcp_servers")["items"] == []
    assert not page.problems, page.problems


def test_always_allow_is_set_and_revoked_in_settings(page, served_app, stdio_server):
    def echo_allowed():
        tools = api(served_app, "get_mcp_server", server_id=stdio_server["id"])["tools"]
        return {t["name"]: t["always_allow"] for t in tools}["echo"]

    def echo_switch():
        row = server_row(page, "Checkout metrics")
        row.get_by_test_id("mcp-server-toggle").click()
        return row.locator('[data-testid="mcp-tool"][data-tool-name="echo"]').get_by_test_id(
            "mcp-tool-always-allow")

    open_settings(page, served_app)
    for before, after in (("false", "true"), ("true", "false")):  # set, then (after a reload) revoke
        switch = echo_switch()
        expect(switch).to_have_attribute("aria-checked", before)
        switch.click()
        expect(switch).to_have_attribute("aria-checked", after)
        assert echo_allowed() is (after == "true")
        page.reload()
    assert not page.problems, page.problems


def test_a_server_that_cannot_start_says_why(page, served_app):
    section = open_settings(page, served_app)
    section.get_by_test_id("mcp-server-add").click()
    dialog = page.get_by_test_id("mcp-server-dialog")
    dialog.get_by_test_id("mcp-server-name-input").fill("Docs")
    dialog.get_by_test_id("mcp-server-command").fill("npx-that-is-not-installed")
    dialog.get_by_test_id("mcp-server-save").click()
    expect(dialog.get_by_test_id("mcp-server-form-error")).to_contain_text(
        "'npx-that-is-not-installed' was not found on your PATH")
    dialog.get_by_test_id("mcp-env-add").click()
    dialog.get_by_test_id("mcp-env-name").fill("LD_PRELOAD")
    dialog.get_by_test_id("mcp-env-value").fill("/tmp/evil.so")
    command, _ = stdio_args()
    dialog.get_by_test_id("mcp-server-command").fill(command)
    dialog.get_by_test_id("mcp-server-save").click()
    expect(dialog.get_by_test_id("mcp-server-form-error")).to_contain_text("LD_PRELOAD is not allowed")
    dialog.get_by_test_id("mcp-env-remove").click()
    dialog.get_by_test_id("mcp-server-args").fill("-c\nimport sys; sys.stderr.write('missing config.yaml'); sys.exit(2)")
    dialog.get_by_test_id("mcp-server-save").click()
    expect(dialog).to_be_hidden()
    row = server_row(page, "Docs")
    expect(row).to_have_attribute("data-status", "unreachable", timeout=60_000)
    expect(row.get_by_test_id("mcp-server-error")).to_contain_text("missing config.yaml")
    # the two refusals above are 400 answers the browser logs; nothing else went wrong
    assert [p for p in page.problems if "status of 400" not in p] == [], page.problems


def test_help_has_an_mcp_section(page, served_app):
    page.goto(f"{served_app.base_url}/#/help/mcp")
    section = page.get_by_test_id("help-section-mcp")
    expect(section).to_be_visible()
    expect(page.get_by_test_id("help-toc-mcp")).to_have_attribute("aria-current", "true")
    expect(section.get_by_test_id("help-mcp-safety")).to_contain_text("LD_PRELOAD")
    section.get_by_test_id("help-open-mcp-settings").click()
    expect(page.get_by_test_id("mcp-servers")).to_be_visible()
    assert not page.problems, page.problems


def test_the_assistant_asks_before_calling_an_mcp_tool(page, served_app, stdio_server, artifacts_dir):
    """A loopback provider asks for an MCP tool; the chat shows the request and the call
    runs only after "Allow once"."""
    from tests.fakes.fake_openai import FakeOpenAI

    fake = FakeOpenAI().start()
    try:
        api(served_app, "add_ai_provider", name="Loopback", kind="openai", base_url=fake.base_url,
            model="gpt-4o-mini", api_key=fake.key)
        issue = api(served_app, "create_issue", title="Checkout 502s", severity="high",
                    category="application")["issue"]
        key = "mcp_checkout_metrics_query_metrics"
        arguments = {"query": {"expr": "sum(rate(http_5xx[5m]))", "range": {"start": "10:00", "end": "11:00"}},
                     "severity": "critical"}
        fake.push_reply("Let me check the error rate.", tool_calls=[{"name": key, "arguments": arguments}])
        fake.push_reply("The 5xx rate rose at 10:02.")
        page.goto(f"{served_app.base_url}/#/issue/{issue['id']}/chat")
        page.get_by_test_id("chat-input").fill("Did errors rise?")
        page.get_by_test_id("chat-send").click()

        card = page.get_by_test_id("approval-card")
        expect(card).to_be_visible(timeout=60_000)
        expect(card).to_have_attribute("data-kind", "mcp")
        expect(card.get_by_test_id("approval-tool")).to_contain_text("query_metrics")
        expect(card.get_by_test_id("approval-tool")).to_contain_text("Checkout metrics")
        expect(card).to_contain_text("sum(rate(http_5xx[5m]))")
        page.screenshot(path=str(artifacts_dir / "mcp-chat-approval.png"))
        assert len(fake.chat_requests()) == 1  # nothing ran, nothing went back
        card.get_by_test_id("approval-allow-once").click()

        expect(page.get_by_test_id("approval-card")).to_have_count(0, timeout=60_000)
        reply = page.locator('[data-testid="chat-message"][data-role="assistant"]').last
        expect(reply).to_contain_text("The 5xx rate rose at 10:02.", timeout=60_000)
        # Named as the server offers it, not by the key the model was given.
        made = page.get_by_test_id("chat-tool-call")
        expect(made).to_have_attribute("data-tool", key)
        expect(made.get_by_test_id("chat-tool-name")).to_have_text("query_metrics on Checkout metrics")
        made.screenshot(path=str(artifacts_dir / "mcp-chat-tool-call.png"))
        tool_message = fake.chat_requests()[1].json["messages"][-1]
        assert "sum(rate(http_5xx[5m])) from 10:00 to 11:00" in tool_message["content"]
        audit = api(served_app, "get_audit_log", limit=100)["items"]
        assert next(e for e in audit if e["action"] == "mcp_tool_result")["details"]["decision"] == "allow_once"
        assert not page.problems, page.problems
    finally:
        fake.stop()


def test_a_resource_attached_in_the_chat_reaches_the_assistant(page, served_app, stdio_server):
    """The user picks an MCP resource in the composer; its text goes with the message."""
    from tests.fakes.fake_openai import FakeOpenAI

    fake = FakeOpenAI().start()
    try:
        api(served_app, "add_ai_provider", name="Loopback", kind="openai", base_url=fake.base_url,
            model="gpt-4o-mini", api_key=fake.key)
        issue = api(served_app, "create_issue", title="Disk full on checkout-3", severity="high",
                    category="application")["issue"]
        fake.push_reply("Rotate the logs first.")
        page.goto(f"{served_app.base_url}/#/issue/{issue['id']}/chat")
        page.get_by_test_id("chat-attach-resource").click()
        item = page.get_by_test_id("chat-resource-item").filter(has_text="Disk full runbook")
        item.get_by_test_id("chat-resource-toggle").check()
        page.keyboard.press("Escape")
        expect(page.get_by_test_id("chat-attached-resource")).to_contain_text("Disk full runbook")
        page.get_by_test_id("chat-input").fill("What does the runbook say?")
        page.get_by_test_id("chat-send").click()
        reply = page.locator('[data-testid="chat-message"][data-role="assistant"]').last
        expect(reply).to_contain_text("Rotate the logs first.", timeout=60_000)
        sent = fake.chat_requests()[-1].json["messages"][-1]["content"]
        assert "Attached resource runbook://checkout/disk-full" in sent and "Rotate /var/log/checkout" in sent
        assert not page.problems, page.problems
    finally:
        fake.stop()
