"""No planted value reaches Confluence, ServiceNow or Azure DevOps.

Secrets and personal data are planted everywhere an incident keeps text — its title and
description, the 5-Whys, the timeline, the action items (title, owner, notes) and an edit
to the RCA — and then everything that sends is used: publish the RCA and the post-mortem,
open and resolve the ServiceNow record, push the action items, search all three. The test
reads the raw bytes each loopback service received (request line, headers, body) and looks
for every planted value in the forms it could travel in. The values are written here by
hand, independently of the detector's own tests.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus

import pytest
from tftsr.integrations.common import Timing

from tests.fakes.fake_azure_devops import FakeAzureDevOps
from tests.fakes.fake_confluence import FakeConfluence
from tests.fakes.fake_servicenow import FakeServiceNow

EMAIL = "maria.lopez@payments-corp.example.com"
IPV4 = "10.77.88.99"
AWS_KEY = "AKIA4XJ7Q2LM9ZP3RT6W"
GH_TOKEN = "ghp_Z9yX8wV7uT6sR5qP4oN3mL2kJ1iH0gF9eD8c"
PASSWORD = "Tr0ub4dor&3xyz"
PHONE = "+1 415 555 0172"
PLANTED = (EMAIL, IPV4, AWS_KEY, GH_TOKEN, PASSWORD, PHONE)


def forms(value: str) -> set[bytes]:
    """The ways a value could appear on the wire."""
    out = {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1],
           value.replace("&", "&amp;"), base64.b64encode(value.encode()).decode()}
    return {f.encode() for f in out if f}


def assert_nothing_planted(data: bytes, where: str) -> None:
    for value in PLANTED:
        for form in forms(value):
            assert form not in data, f"{value!r} reached {where} as {form!r}"


@pytest.fixture
def services(app, call):
    app.extras["integration_timing"] = Timing(connect=2.0, read=5.0, attempts=2, max_retry_wait=2.0)
    fakes = {"confluence": FakeConfluence(mode="cloud").start(), "servicenow": FakeServiceNow().start(),
             "azuredevops": FakeAzureDevOps().start()}
    for fake in fakes.values():
        call("save_integration", **fake.settings())
    yield fakes
    for fake in fakes.values():
        fake.stop()


def plant(call) -> tuple[dict, list[str]]:
    issue = call("create_issue", title=f"Payments down for {EMAIL} at {IPV4}", severity="critical",
                 category="application",
                 description=(f"Gateway at {IPV4} rejected logins. The deploy script had "
                              f"aws_access_key_id = {AWS_KEY} and the token {GH_TOKEN} in it. "
                              f"On-call can be reached on {PHONE}. password: {PASSWORD}"))["issue"]
    iid = issue["id"]
    step = call("add_five_why", issue_id=iid, why_question=f"Why did {IPV4} refuse connections?",
                answer=f"The pool was exhausted after {EMAIL} retried 4000 times",
                evidence=f"Log line: user={EMAIL} src={IPV4} key={AWS_KEY}")
    call("set_root_cause", step_id=step["id"])
    call("add_timeline_event", issue_id=iid, event_type="escalated",
         description=f"Escalated to {EMAIL}, phone {PHONE}")
    call("add_timeline_event", issue_id=iid, event_type="mitigation_applied",
         description=f"Rotated {GH_TOKEN} and blocked {IPV4}")
    call("create_action_item", issue_id=iid, title=f"Rotate {AWS_KEY} everywhere", kind="immediate",
         owner=EMAIL, due_date="2026-04-01", notes=f"Ask {EMAIL}, or call {PHONE}; old password: {PASSWORD}")
    call("create_action_item", issue_id=iid, title=f"Firewall rule for {IPV4}", kind="preventive",
         owner="Dana Scully", notes=f"Token {GH_TOKEN} must never be in scripts")
    rca = call("generate_rca", issue_id=iid)
    call("update_document", document_id=rca["id"], content_md=rca["content_md"] + (
        f"\n\n## Notes\n\nContact {EMAIL} or {PHONE}.\n\n```\nexport AWS_ACCESS_KEY_ID={AWS_KEY}\n"
        f"curl -u admin:{PASSWORD} https://{IPV4}/health\n```\n"))
    postmortem = call("generate_postmortem", issue_id=iid)
    return issue, [rca["id"], postmortem["id"]]


def test_no_planted_value_reaches_any_service(app, call, services):
    issue, documents = plant(call)
    for doc_id in documents:
        call("publish_document", document_id=doc_id)
        call("publish_document", document_id=doc_id)
    call("create_external_incident", issue_id=issue["id"])
    call("set_issue_status", issue_id=issue["id"], status="resolved")
    call("resolve_external_incident", issue_id=issue["id"])
    call("push_action_items", issue_id=issue["id"])
    found = call("search_knowledge", issue_id=issue["id"])
    assert found["errors"] == [], found["errors"]
    call("search_knowledge", issue_id=issue["id"], query=f"refused {IPV4} {EMAIL} {AWS_KEY} pool")

    # Everything really went out (so the absence below means something).
    conf, snow, ado = services["confluence"], services["servicenow"], services["azuredevops"]
    assert len(conf.page_list()) == 2 and {p["version"] for p in conf.page_list()} == {2}
    assert len(snow.incidents()) == 1 and snow.incidents()[0]["state"] == "6"
    assert len(ado.items) == 2
    assert all(not f.violations for f in services.values())
    # The placeholders took the values' place, numbered the same way everywhere.
    assert "[Email-1]" in snow.incidents()[0]["short_description"]
    assert "[IPv4-1]" in snow.incidents()[0]["short_description"]
    assert any("[Email-1]" in p["body"] for p in conf.page_list())

    for name, fake in services.items():
        assert_nothing_planted(fake.received(), name)


def test_the_audit_log_names_each_service_and_holds_no_token(app, call, services):
    issue, documents = plant(call)
    call("publish_document", document_id=documents[0])
    call("create_external_incident", issue_id=issue["id"])
    call("push_action_items", issue_id=issue["id"])
    for service in services:
        call("test_integration", service=service)
    with app.db.connection() as conn:
        rows = [dict(r) for r in conn.execute("SELECT action, entity_type, entity_id, details"
                                              " FROM audit_log ORDER BY seq")]
    sends = [json.loads(r["details"]) for r in rows if r["action"] == "egress_send"]
    assert {s["service"] for s in sends} == {"confluence", "servicenow", "azuredevops"}
    assert all(s["request_sha256"] and s["host"] and s["path"] for s in sends)
    actions = {r["action"] for r in rows}
    assert {"integration_saved", "document_published", "external_incident_created",
            "action_item_pushed", "integration_tested"} <= actions
    dump = json.dumps(rows)
    secrets = [services["confluence"].token, services["servicenow"].password, services["azuredevops"].pat]
    for secret in secrets:
        assert secret not in dump
        assert base64.b64encode(secret.encode()).decode() not in dump
    auths = {r.headers["authorization"] for f in services.values() for r in f.requests}
    for header in auths:
        assert header.split(" ", 1)[1] not in dump
