"""Integrations in the browser, against a real ``tftsr serve`` and the loopback Confluence,
ServiceNow and Azure DevOps (tests/fakes): configure Confluence in Settings → Integrations,
test the connection (a wrong token does not pass), publish the RCA from the Documents tab
and follow the page link; open the incident in ServiceNow from the overview and see its
INC number; push action items and see their work-item links."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.fakes.fake_azure_devops import FakeAzureDevOps
from tests.fakes.fake_confluence import FakeConfluence
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.fake_servicenow import FakeServiceNow


def incident(served_app):
    issue = served_app.call("create_issue", title="Checkout returns 502 after the gateway deploy",
                            severity="high", category="application",
                            description="502s from the gateway since 10:00 UTC.")["issue"]
    step = served_app.call("add_five_why", issue_id=issue["id"], why_question="Why did checkout fail?",
                           answer="The deploy halved max_connections in the gateway config.")
    served_app.call("set_root_cause", step_id=step["id"], is_root_cause=True)
    served_app.call("add_timeline_event", issue_id=issue["id"], event_type="mitigation_applied",
                    description="Rolled back the gateway deploy")
    return issue


def test_configure_confluence_publish_the_rca_and_see_the_page_link(page, served_app, artifacts_dir):
    with FakeConfluence(mode="cloud") as confluence:
        issue = incident(served_app)
        page.goto(f"{served_app.base_url}/#/settings")
        card = page.get_by_test_id("integration-confluence")
        card.scroll_into_view_if_needed()
        expect(card).to_have_attribute("data-configured", "false")
        expect(card.get_by_test_id("integration-confluence-test")).to_be_disabled()

        # A wrong token is saved, and the connection test says so in the service's words.
        card.get_by_test_id("integration-confluence-base-url").fill(confluence.base_url)
        card.get_by_test_id("integration-confluence-username").fill(confluence.email)
        card.get_by_test_id("integration-confluence-token").fill("not-the-token-1234567890")
        card.get_by_test_id("integration-confluence-space-key").fill("OPS")
        card.get_by_test_id("integration-confluence-save").click()
        expect(card).to_have_attribute("data-configured", "true")
        expect(card.get_by_test_id("integration-confluence-token")).to_have_value("")
        card.get_by_test_id("integration-confluence-test").click()
        result = card.get_by_test_id("integration-confluence-test-result")
        expect(result).to_have_attribute("data-ok", "false")
        expect(result).to_contain_text("Client must be authenticated")

        # The right token: the test passes and names the space.
        card.get_by_test_id("integration-confluence-token").fill(confluence.token)
        card.get_by_test_id("integration-confluence-save").click()
        expect(card.get_by_test_id("integration-confluence-token")).to_have_value("")
        card.get_by_test_id("integration-confluence-test").click()
        expect(result).to_have_attribute("data-ok", "true")
        expect(result).to_contain_text("space OPS (Operations) is there")
        expect(card).to_contain_text(f"…{confluence.token[-4:]}")
        assert confluence.token not in page.content()
        card.screenshot(path=str(artifacts_dir / "integrations-confluence-settings.png"))

        # Documents → RCA: generate, publish, and the link to the page appears.
        page.goto(f"{served_app.base_url}/#/issue/{issue['id']}/documents/rca")
        page.get_by_test_id("doc-generate-rca").click()
        expect(page.get_by_test_id("doc-editor")).to_have_value(re.compile("The deploy halved max"))
        publish = page.get_by_test_id("doc-publish")
        expect(publish).to_have_text(re.compile("Publish to Confluence"))
        publish.click()
        expect(page.get_by_test_id("toast-success").filter(has_text="as a new page in space OPS")).to_be_visible()
        link = page.get_by_test_id("doc-confluence-link")
        expect(link).to_be_visible()
        [pg] = confluence.page_list()
        expect(link).to_have_attribute("href", f"{confluence.base_url}/spaces/OPS/pages/{pg['id']}")
        expect(link).to_have_attribute("target", "_blank")
        expect(link).to_contain_text("v1")
        assert "The deploy halved max_connections" in pg["body"]
        page.get_by_test_id("doc-editor-pane").screenshot(path=str(artifacts_dir / "integrations-published.png"))

        # Publishing again updates the same page.
        expect(publish).to_have_text(re.compile("Update in Confluence"))
        publish.click()
        expect(link).to_contain_text("v2")
        assert len(confluence.page_list()) == 1 and confluence.page_list()[0]["version"] == 2
        page.screenshot(path=str(artifacts_dir / "integrations-documents.png"), full_page=True)
        assert page.problems == [], page.problems


def test_servicenow_record_and_azure_devops_work_items_from_the_incident(page, served_app, artifacts_dir):
    with FakeServiceNow() as snow, FakeAzureDevOps() as ado:
        served_app.call("save_integration", **snow.settings())
        served_app.call("save_integration", **ado.settings())
        issue = incident(served_app)
        for title, kind in (("Restore max_connections", "immediate"), ("Alert on 502 rate", "preventive")):
            served_app.call("create_action_item", issue_id=issue["id"], title=title, kind=kind)

        page.goto(f"{served_app.base_url}/#/issue/{issue['id']}")
        card = page.get_by_test_id("incident-integrations")
        expect(card).to_contain_text("No record yet")
        card.get_by_test_id("servicenow-create").click()
        number = card.get_by_test_id("servicenow-number")
        expect(number).to_have_text("INC0010001")
        record = snow.incidents()[0]
        expect(card.get_by_test_id("servicenow-link")).to_have_attribute(
            "href", f"{snow.base_url}/nav_to.do?uri=incident.do%3Fsys_id%3D{record['sys_id']}")
        card.screenshot(path=str(artifacts_dir / "integrations-servicenow-card.png"))

        # Resolving the incident offers to resolve the ServiceNow record too.
        page.get_by_test_id("status-btn-resolved").click()
        page.get_by_test_id("status-confirm").click()
        dialog = page.get_by_test_id("confirm-dialog")
        expect(dialog).to_contain_text("Resolve INC0010001 in ServiceNow too?")
        page.get_by_test_id("confirm-ok").click()
        expect(card.get_by_test_id("servicenow-resolved")).to_be_visible()
        assert snow.incidents()[0]["state"] == "6"

        # Action items → Azure DevOps: two work items, links on the items; again creates none.
        page.goto(f"{served_app.base_url}/#/issue/{issue['id']}/documents/actions")
        push = page.get_by_test_id("action-items-push")
        push.click()
        expect(page.get_by_test_id("toast-success").filter(has_text="created 2 work items")).to_be_visible()
        links = page.get_by_test_id("action-item-work-item")
        expect(links).to_have_count(2)
        expect(page.get_by_test_id("action-item").filter(has_text="Restore max_connections")
               .get_by_test_id("action-item-work-item")).to_contain_text("Bug 1")
        expect(push).to_have_text(re.compile("Update Azure DevOps"))
        push.click()
        expect(page.get_by_test_id("toast-success").filter(has_text="already up to date")).to_be_visible()
        assert len(ado.items) == 2
        page.get_by_test_id("action-items").screenshot(path=str(artifacts_dir / "integrations-work-items.png"))
        assert page.problems == [], page.problems


def test_knowledge_search_results_can_be_brought_into_the_chat(page, served_app, artifacts_dir):
    with FakeServiceNow() as snow, FakeOpenAI() as openai:
        served_app.call("add_ai_provider", name="Team OpenAI", kind="openai", base_url=openai.base_url,
                        model="gpt-4o-mini", api_key=openai.key)
        served_app.call("save_integration", **snow.settings())
        snow.add_article("KB0010042", "Checkout 502 after deploys", "<p>Roll back, then <b>check</b> max_connections.</p>")
        issue = incident(served_app)
        page.goto(f"{served_app.base_url}/#/issue/{issue['id']}")
        page.get_by_test_id("knowledge-search-open").click()
        dialog = page.get_by_test_id("knowledge-dialog")
        result = dialog.get_by_test_id("knowledge-result").filter(has_text="KB0010042")
        expect(result).to_be_visible()
        expect(result).to_contain_text("Roll back, then check max_connections.")
        expect(result.get_by_test_id("knowledge-result-link")).to_have_attribute(
            "href", f"{snow.base_url}/kb_view.do?sysparm_article=KB0010042")
        dialog.screenshot(path=str(artifacts_dir / "integrations-knowledge.png"))
        result.get_by_test_id("knowledge-use-in-chat").click()
        expect(page).to_have_url(re.compile(r"/chat$"))
        prompt = page.get_by_test_id("chat-composer").locator("textarea")
        expect(prompt).to_have_value(re.compile("Context from ServiceNow \\(Knowledge article\\): KB0010042"))

        # From the chat itself: the picked result joins the message being written.
        prompt.fill("What do we know already?")
        page.get_by_test_id("chat-knowledge-search").click()
        dialog = page.get_by_test_id("knowledge-dialog")
        dialog.get_by_test_id("knowledge-result").filter(has_text="KB0010042").get_by_test_id(
            "knowledge-use-in-chat").click()
        expect(dialog).to_have_count(0)
        expect(prompt).to_have_value(re.compile(
            r"^What do we know already\?\n\nContext from ServiceNow \(Knowledge article\): KB0010042"))
        expect(page).to_have_url(re.compile(r"/chat$"))
        page.get_by_test_id("chat-composer").screenshot(path=str(artifacts_dir / "integrations-chat-knowledge.png"))
        assert page.problems == [], page.problems


def test_help_explains_the_integrations(page, served_app, artifacts_dir):
    page.goto(f"{served_app.base_url}/#/help/integrations")
    section = page.get_by_test_id("help-integrations")
    expect(section).to_be_visible()
    expect(section).to_contain_text("https://SITE.atlassian.net/wiki")
    expect(page.get_by_test_id("help-toc-integrations")).to_have_attribute("aria-current", "true")
    expect(page.get_by_test_id("help-integrations-safety")).to_contain_text("last four characters")
    page.get_by_test_id("help-section-integrations").screenshot(path=str(artifacts_dir / "integrations-help.png"))
    assert page.problems == [], page.problems
