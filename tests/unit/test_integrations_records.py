"""ServiceNow incidents, Azure DevOps work items and the knowledge search.

Against the loopback ServiceNow Table API and Azure DevOps work item tracking: one
ServiceNow record per incident whose INC number is kept and resolved with notes; one work
item per action item (Bug for an immediate one), and pushing again creates nothing; search
returns titled results with links from all three services.
"""

from __future__ import annotations

import json

import pytest
from tftsr.errors import TftsrError
from tftsr.integrations.common import Timing

from tests.fakes.fake_azure_devops import FakeAzureDevOps
from tests.fakes.fake_confluence import FakeConfluence
from tests.fakes.fake_servicenow import FakeServiceNow

FAST = Timing(connect=2.0, read=3.0, attempts=2, max_retry_wait=2.0)


@pytest.fixture
def fast(app):
    app.extras["integration_timing"] = FAST
    return app


@pytest.fixture
def snow(call):
    with FakeServiceNow() as fake:
        call("save_integration", **fake.settings())
        yield fake


@pytest.fixture
def ado(call):
    with FakeAzureDevOps() as fake:
        call("save_integration", **fake.settings())
        yield fake


def incident(call, **overrides) -> dict:
    args = {"title": "Checkout API returns 502", "severity": "critical", "category": "network",
            "description": "Load balancer health checks failing"}
    return call("create_issue", **{**args, **overrides})["issue"]


def entries(app, action):
    with app.db.connection() as conn:
        return [json.loads(r["details"]) for r in conn.execute(
            "SELECT details FROM audit_log WHERE action = ? ORDER BY seq", (action,))]


# -- ServiceNow ---------------------------------------------------------------------------------
def test_one_servicenow_incident_whose_number_is_kept(fast, call, snow):
    issue = incident(call)
    created = call("create_external_incident", issue_id=issue["id"])
    assert created["created"] is True and created["number"] == "INC0010001"
    assert created["message"] == "Opened INC0010001 in ServiceNow."
    record = snow.incidents()[0]
    assert record["short_description"] == "Checkout API returns 502"
    assert (record["impact"], record["urgency"], record["category"]) == ("1", "1", "network")
    assert record["correlation_id"] == f"tftsr:{issue['id']}"
    assert "Load balancer health checks failing" in record["description"]
    post = snow.calls("POST")[0]
    assert post.headers["content-type"] == "application/json"
    assert post.headers["authorization"].startswith("Basic ")

    again = call("create_external_incident", issue_id=issue["id"])
    assert again["number"] == "INC0010001" and again["created"] is False
    assert len(snow.incidents()) == 1 and len(snow.calls("POST")) == 1

    call("update_issue", issue_id=issue["id"], title="Checkout API returns 502 in eu-west")
    updated = call("create_external_incident", issue_id=issue["id"])
    assert updated["updated"] is True and updated["number"] == "INC0010001"
    assert len(snow.incidents()) == 1
    assert snow.incidents()[0]["short_description"] == "Checkout API returns 502 in eu-west"
    assert [r.method for r in snow.requests] == ["POST", "PATCH"]

    links = call("get_integration_links", issue_id=issue["id"])["issue"]["servicenow"]
    assert links["remote_key"] == "INC0010001" and links["remote_id"] == record["sys_id"]
    assert links["url"] == f"{snow.base_url}/nav_to.do?uri=incident.do%3Fsys_id%3D{record['sys_id']}"
    # The incident itself carries its record.
    kept = call("get_issue", issue_id=issue["id"])["external_links"]["issue"]["servicenow"]
    assert kept["remote_key"] == "INC0010001" and kept["url"] == links["url"]
    assert [e["number"] for e in entries(fast, "external_incident_created")] == ["INC0010001"]
    assert entries(fast, "external_incident_updated")[0]["service"] == "servicenow"


def test_resolving_sends_the_resolution_notes(fast, call, snow):
    issue = incident(call)
    call("create_external_incident", issue_id=issue["id"])
    with pytest.raises(TftsrError) as err:
        call("resolve_external_incident", issue_id=issue["id"])
    assert err.value.code == "issue_not_resolved" and "Resolve the incident in TFTSR first" in err.value.message
    step = call("add_five_why", issue_id=issue["id"], why_question="Why did health checks fail?",
                answer="The health endpoint timed out under load")
    call("set_root_cause", step_id=step["id"])
    call("create_action_item", issue_id=issue["id"], title="Raise the health check timeout",
         kind="immediate", due_date="2026-04-01")
    call("set_issue_status", issue_id=issue["id"], status="resolved")
    result = call("resolve_external_incident", issue_id=issue["id"])
    assert result["state"] == "6" and result["number"] == "INC0010001"
    record = snow.incidents()[0]
    assert record["state"] == "6" and record["close_code"] == "Solution provided"
    notes = record["close_notes"]
    assert "Root cause: The health endpoint timed out under load" in notes
    assert "- Raise the health check timeout (Immediate, Open, due 2026-04-01)" in notes
    assert call("get_integration_links", issue_id=issue["id"])["issue"]["servicenow"]["state"] == "resolved"
    assert entries(fast, "external_incident_resolved")[0]["number"] == "INC0010001"


def test_with_automatic_resolution_a_status_change_resolves_the_record(fast, call):
    from tests.fakes.helpers import EventLog

    with FakeServiceNow() as fake:
        call("save_integration", **{**fake.settings(), "auto_create_enabled": True})
        issue = incident(call)
        call("create_external_incident", issue_id=issue["id"])
        events = EventLog(fast)
        try:
            # A script (or the page) changes the status; nothing else is called.
            call("set_issue_status", issue_id=issue["id"], status="resolved")
            done = events.wait("integration_done", timeout=30, issue_id=issue["id"])
        finally:
            events.close()
        assert "INC0010001" in done["message"]
        assert fake.incidents()[0]["state"] == "6"
    assert call("get_integration_links", issue_id=issue["id"])["issue"]["servicenow"]["state"] == "resolved"


def test_resolving_needs_a_record_first(fast, call, snow):
    issue = incident(call)
    call("set_issue_status", issue_id=issue["id"], status="resolved")
    with pytest.raises(TftsrError) as err:
        call("resolve_external_incident", issue_id=issue["id"])
    assert err.value.code == "integration_not_linked"


def test_a_record_deleted_in_servicenow_is_opened_again_and_said(fast, call, snow):
    issue = incident(call)
    call("create_external_incident", issue_id=issue["id"])
    snow.tables["incident"].clear()
    call("update_issue", issue_id=issue["id"], severity="low")
    again = call("create_external_incident", issue_id=issue["id"])
    assert again["created"] is True and again["number"] == "INC0010002"
    assert "INC0010001 is no longer in ServiceNow" in again["message"]


def test_an_oauth_token_travels_as_bearer(fast, call):
    with FakeServiceNow(oauth_token="sn-oauth-token-4f9e8d7c6b5a") as snow:
        call("save_integration", **snow.settings())
        issue = incident(call, severity="low", category="databases")
        call("create_external_incident", issue_id=issue["id"])
        assert snow.requests[-1].headers["authorization"] == "Bearer sn-oauth-token-4f9e8d7c6b5a"
        record = snow.incidents()[0]
        assert (record["impact"], record["urgency"], record["category"]) == ("3", "3", "database")


# -- Azure DevOps --------------------------------------------------------------------------------
def test_two_action_items_make_two_work_items_and_pushing_again_makes_none(fast, call, ado):
    issue = incident(call)
    first = call("create_action_item", issue_id=issue["id"], title="Add retry backoff",
                 kind="immediate", owner="Dana Scully", due_date="2026-04-01",
                 notes="Exponential, capped at 30 s")
    second = call("create_action_item", issue_id=issue["id"], title="Alert on 502 rate",
                  kind="preventive")
    pushed = call("push_action_items", issue_id=issue["id"])
    assert (pushed["created"], pushed["updated"], pushed["unchanged"]) == (2, 0, 0)
    assert pushed["failed"] == [] and "created 2 work items" in pushed["message"]
    assert len(ado.items) == 2 and ado.violations == []
    bug = ado.items[1]["fields"]
    assert bug["System.WorkItemType"] == "Bug" and bug["System.Title"] == "Add retry backoff"
    assert bug["System.AssignedTo"] == "Dana Scully"
    assert bug["Microsoft.VSTS.Scheduling.DueDate"] == "2026-04-01T00:00:00Z"
    assert "<p>Exponential, capped at 30 s</p>" in bug["System.Description"]
    assert ado.items[2]["fields"]["System.WorkItemType"] == "Task"
    create = ado.calls("POST")[0]
    assert create.path == "/contoso/Ops%20Team/_apis/wit/workitems/$Bug"
    assert create.query["api-version"] == ["7.1"]
    assert create.headers["content-type"] == "application/json-patch+json"
    assert create.json[0] == {"op": "add", "path": "/fields/System.Title", "value": "Add retry backoff"}
    import base64
    assert create.headers["authorization"] == "Basic " + base64.b64encode(f":{ado.pat}".encode()).decode()

    again = call("push_action_items", issue_id=issue["id"])
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)
    assert again["message"] == "2 work items were already up to date."
    assert len(ado.items) == 2 and len(ado.requests) == 2

    items = call("get_integration_links", issue_id=issue["id"])["action_items"]
    assert items[first["id"]]["azuredevops"]["remote_id"] == "1"
    assert items[first["id"]]["azuredevops"]["url"] == f"{ado.base_url}/Ops%20Team/_workitems/edit/1"
    assert items[second["id"]]["azuredevops"]["remote_id"] == "2"

    call("update_action_item", action_item_id=second["id"], status="done")
    changed = call("push_action_items", issue_id=issue["id"])
    assert (changed["created"], changed["updated"], changed["unchanged"]) == (0, 1, 1)
    assert len(ado.items) == 2 and ado.items[2]["rev"] == 2
    assert "Status in TFTSR: Done" in ado.items[2]["fields"]["System.Description"]
    assert ado.calls("PATCH")[0].path == "/contoso/Ops%20Team/_apis/wit/workitems/2"
    pushed_entries = entries(fast, "action_item_pushed")
    assert [e["state"] for e in pushed_entries] == ["created", "created", "updated"]
    assert all(e["service"] == "azuredevops" for e in pushed_entries)


def test_an_owner_azure_devops_does_not_know_or_that_is_an_address_is_left_out(fast, call, ado):
    issue = incident(call)
    call("create_action_item", issue_id=issue["id"], title="Tune pool size", kind="long_term",
         owner="Walter Skinner")
    call("create_action_item", issue_id=issue["id"], title="Write the runbook", kind="long_term",
         owner="walter@corp.example.com")
    pushed = call("push_action_items", issue_id=issue["id"])
    assert pushed["created"] == 2
    assert "System.AssignedTo" not in ado.items[1]["fields"]
    assert "System.AssignedTo" not in ado.items[2]["fields"]
    notes = " ".join(pushed["notes"])
    assert "did not accept the owner" in notes and "looks like personal data" in notes
    assert b"walter@corp.example.com" not in ado.received()


def test_a_process_without_bugs_gets_tasks(fast, call):
    with FakeAzureDevOps(types=("Task", "Issue", "Epic")) as ado:
        call("save_integration", **ado.settings())
        issue = incident(call)
        call("create_action_item", issue_id=issue["id"], title="Restart the pool", kind="immediate")
        pushed = call("push_action_items", issue_id=issue["id"])
        assert pushed["created"] == 1
        assert ado.items[1]["fields"]["System.WorkItemType"] == "Task"
        assert "has no Bug work item type" in " ".join(pushed["notes"])


def test_a_bug_refused_in_other_words_becomes_a_task(fast, call, ado):
    original = ado.create

    def refuse_bugs(h, req, wtype):
        if wtype == "Bug":
            return ado.fail(h, 400, "Bugs are tracked as requirements in this project.", "RuleValidationException")
        return original(h, req, wtype)

    ado.create = refuse_bugs
    issue = incident(call)
    call("create_action_item", issue_id=issue["id"], title="Drain the pool", kind="immediate")
    pushed = call("push_action_items", issue_id=issue["id"])
    assert pushed["created"] == 1 and ado.items[1]["fields"]["System.WorkItemType"] == "Task"
    assert "Bugs are tracked as requirements" in " ".join(pushed["notes"])


def test_a_missing_project_stops_the_push_and_names_it(fast, call, ado):
    call("save_integration", **ado.settings(project_name="Payments"))
    issue = incident(call)
    for title in ("One", "Two"):
        call("create_action_item", issue_id=issue["id"], title=title, kind="preventive")
    pushed = call("push_action_items", issue_id=issue["id"])
    assert pushed["created"] == 0 and len(pushed["failed"]) == 2
    assert "no project named Payments" in pushed["message"]
    assert len(ado.requests) == 1  # the second item was not tried against a missing project


def test_an_incident_without_action_items_says_so(fast, call, ado):
    pushed = call("push_action_items", issue_id=incident(call)["id"])
    assert pushed["message"] == "This incident has no action items to push." and ado.requests == []


# -- knowledge search ----------------------------------------------------------------------------
def test_search_returns_titled_results_with_links_from_all_three(fast, call, snow, ado):
    with FakeConfluence(mode="cloud") as conf:
        call("save_integration", **conf.settings())
        conf._new_page(conf.spaces["OPS"]["id"], "Checkout gateway runbook",
                       "<p>When the checkout gateway returns 502, drain the pool.</p>")
        snow.add_article("KB0010012", "Checkout 502 troubleshooting", "<p>Check the <b>pool</b>.</p>")
        older = incident(call, title="Checkout latency")
        call("create_external_incident", issue_id=older["id"])
        call("create_action_item", issue_id=older["id"], title="Checkout pool alarms",
             kind="preventive")
        call("push_action_items", issue_id=older["id"])

        issue = incident(call, title="Checkout gateway 502 for ops@corp.example.com")
        found = call("search_knowledge", issue_id=issue["id"])
        assert found["errors"] == [] and found["searched"] == ["confluence", "servicenow", "azuredevops"]
        assert "ops@corp.example.com" not in found["query"] and found["redacted"] == 1
        by_service = {r["service"]: r for r in found["results"]}
        page = by_service["confluence"]
        assert page["title"] == "Checkout gateway runbook"
        assert page["url"].startswith(conf.base_url + "/spaces/OPS/pages/")
        assert "drain the pool" in page["excerpt"] and "@@@" not in page["excerpt"]
        kb = [r for r in found["results"] if r["kind"] == "Knowledge article"][0]
        assert kb["title"] == "KB0010012: Checkout 502 troubleshooting" and kb["excerpt"] == "Check the pool ."
        assert kb["url"] == f"{snow.base_url}/kb_view.do?sysparm_article=KB0010012"
        past = [r for r in found["results"] if r["kind"] == "Past incident"][0]
        assert past["title"] == "INC0010001: Checkout latency"
        work = by_service["azuredevops"]
        assert work["title"] == "1: Checkout pool alarms" and work["url"].endswith("/_workitems/edit/1")
        cql = conf.calls("GET", "/rest/api/search")[0].query["cql"][0]
        assert cql.startswith('type = page AND text ~ "Checkout gateway 502')
        searched = entries(fast, "knowledge_searched")[-1]
        assert searched["results"] == len(found["results"]) and "query_sha256" in searched


def test_search_reports_each_failing_service_and_keeps_the_rest(fast, call, snow, ado):
    ado.expired = True
    found = call("search_knowledge", issue_id=incident(call)["id"], query="checkout")
    assert found["searched"] == ["servicenow"]
    assert [e["service"] for e in found["errors"]] == ["azuredevops"]
    assert "sign-in page" in found["errors"][0]["message"]
    named = call("search_knowledge", issue_id=incident(call)["id"], query="checkout",
                 services=["confluence"])
    assert named["errors"][0]["message"].startswith("Confluence is not set up")


def test_a_query_of_nothing_but_personal_data_is_not_sent(fast, call, snow):
    found = call("search_knowledge", issue_id=incident(call)["id"], query="10.2.3.4 bob@corp.example.com")
    assert found["results"] == [] and found["query"] == "" and snow.requests == []
    assert "Nothing to search for" in found["message"]
