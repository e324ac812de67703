"""The integrations driven through ``tftsr serve``, as a script or the page would.

A real ``tftsr serve`` process, ``POST /api/<command>`` with the launch token, and the
loopback Confluence, ServiceNow and Azure DevOps: a wrong token does not test ok and the
right one does; publishing twice leaves one page at version 2; one ServiceNow incident
keeps its INC number; two action items make two work items and pushing again makes none;
the audit log names each service and never holds a token.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import start_served_app
from tests.fakes.fake_azure_devops import FakeAzureDevOps
from tests.fakes.fake_confluence import FakeConfluence
from tests.fakes.fake_servicenow import FakeServiceNow


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    fakes = {"confluence": FakeConfluence(mode="cloud").start(), "servicenow": FakeServiceNow().start(),
             "azuredevops": FakeAzureDevOps().start()}
    served = start_served_app(tmp_path_factory.mktemp("served-integrations") / "data")
    yield served, fakes
    served.stop()
    for fake in fakes.values():
        fake.stop()


def post(served, name: str, **args):
    r = served.client.post(f"/api/{name}", json=args)
    return r.status_code, r.json()


@pytest.mark.parametrize("service", ["confluence", "servicenow", "azuredevops"])
def test_a_wrong_token_does_not_test_ok_and_the_right_one_does(world, service):
    served, fakes = world
    settings = fakes[service].settings()
    served.call("save_integration", **dict(settings, token="definitely-not-the-token-0000"))
    bad = served.call("test_integration", service=service)
    assert bad["ok"] is False and "HTTP 401" in bad["message"]
    served.call("save_integration", **settings)
    good = served.call("test_integration", service=service)
    assert good["ok"] is True, good["message"]
    listed = {i["service"]: i for i in served.call("list_integrations")["items"]}
    assert listed[service]["token_set"] and settings["token"] not in json.dumps(listed)


def test_the_whole_round_through_the_served_app(world):
    served, fakes = world
    for fake in fakes.values():
        served.call("save_integration", **fake.settings())
    issue = served.call("create_issue", title="Search API times out", severity="high",
                        category="application", description="p99 above 30 s")["issue"]
    iid = issue["id"]
    served.call("add_timeline_event", issue_id=iid, event_type="note", description="Paged search on-call")
    doc = served.call("generate_rca", issue_id=iid)

    first = served.call("publish_document", document_id=doc["id"])
    second = served.call("publish_document", document_id=doc["id"])
    assert (first["version"], second["version"]) == (1, 2) and first["page_id"] == second["page_id"]
    pages = fakes["confluence"].page_list()
    assert len(pages) == 1 and pages[0]["version"] == 2

    opened = served.call("create_external_incident", issue_id=iid)
    assert opened["number"].startswith("INC")
    again = served.call("create_external_incident", issue_id=iid)
    assert again["number"] == opened["number"] and len(fakes["servicenow"].incidents()) == 1

    for title, kind in (("Add a timeout budget", "immediate"), ("Load test search", "long_term")):
        served.call("create_action_item", issue_id=iid, title=title, kind=kind)
    pushed = served.call("push_action_items", issue_id=iid)
    assert pushed["created"] == 2 and len(fakes["azuredevops"].items) == 2
    pushed_again = served.call("push_action_items", issue_id=iid)
    assert pushed_again["created"] == 0 and pushed_again["unchanged"] == 2
    assert len(fakes["azuredevops"].items) == 2

    served.call("set_issue_status", issue_id=iid, status="resolved")
    resolved = served.call("resolve_external_incident", issue_id=iid)
    assert resolved["state"] == "6"

    links = served.call("get_integration_links", issue_id=iid)
    assert links["issue"]["servicenow"]["remote_key"] == opened["number"]
    assert links["documents"][doc["id"]]["confluence"]["version"] == 2
    assert len(links["action_items"]) == 2

    entries = served.call("get_audit_log", action="egress_send", limit=500)["items"]
    details = [e["details"] if isinstance(e["details"], dict) else json.loads(e["details"])
               for e in entries]
    assert {d["service"] for d in details} == {"confluence", "servicenow", "azuredevops"}
    everything = json.dumps(served.call("get_audit_log", limit=500)["items"])
    for fake in fakes.values():
        assert fake.settings()["token"] not in everything


def test_failures_come_back_as_clean_errors(world):
    served, fakes = world
    served.call("save_integration", **fakes["confluence"].settings(space_key="NOPE"))
    issue = served.call("create_issue", title="Queue backlog", severity="low", category="automation")["issue"]
    doc = served.call("generate_rca", issue_id=issue["id"])
    status, body = post(served, "publish_document", document_id=doc["id"])
    assert status == 502 and body["error"]["code"] == "integration_not_found"
    assert "no space with the key NOPE" in body["error"]["message"]
    assert "Traceback" not in json.dumps(body)
    status, body = post(served, "save_integration", service="confluence",
                        base_url="http://127.0.0.1:9/elsewhere", space_key="OPS")
    assert status == 409 and body["error"]["code"] == "api_key_reentry_required"
