"""Integrations: settings, tokens and what each failure says.

Everything runs through the real command dispatcher against a real SQLCipher file and
the loopback fakes of Confluence (Cloud and Data Center), ServiceNow and Azure DevOps in
``tests/fakes``. Failures are produced for real: a wrong token, a missing space or
project, scripted 403/429/500 answers, a server that never answers, a port where nothing
listens, an expired Azure DevOps token answering with a sign-in page.
"""

from __future__ import annotations

import hashlib
import json
import socket

import pytest
from tftsr.commands import dispatch
from tftsr.errors import TftsrError
from tftsr.integrations.common import Timing

from tests.fakes.fake_azure_devops import FakeAzureDevOps
from tests.fakes.fake_confluence import FakeConfluence
from tests.fakes.fake_servicenow import FakeServiceNow

FAST = Timing(connect=2.0, read=1.5, attempts=3, max_retry_wait=3.0)


@pytest.fixture
def fast(app):
    app.extras["integration_timing"] = FAST
    return app


@pytest.fixture
def cloud():
    with FakeConfluence(mode="cloud") as fake:
        yield fake


@pytest.fixture
def datacenter():
    with FakeConfluence(mode="datacenter") as fake:
        yield fake


@pytest.fixture
def snow():
    with FakeServiceNow() as fake:
        yield fake


@pytest.fixture
def ado():
    with FakeAzureDevOps() as fake:
        yield fake


def fails(call, name, **args) -> TftsrError:
    with pytest.raises(TftsrError) as err:
        call(name, **args)
    return err.value


def audit_entries(app, action: str | None = None) -> list[dict]:
    with app.db.connection() as conn:
        rows = conn.execute("SELECT action, entity_type, entity_id, details FROM audit_log"
                            " ORDER BY seq").fetchall()
    return [dict(r) for r in rows if action is None or r["action"] == action]


# -- settings and tokens ------------------------------------------------------------------------
def test_a_saved_token_is_encrypted_hashed_and_never_returned(fast, call, cloud):
    saved = call("save_integration", **cloud.settings())
    listed = call("list_integrations")["items"]
    assert [i["service"] for i in listed] == ["confluence", "servicenow", "azuredevops"]
    conf = listed[0]
    assert conf == saved
    assert conf["configured"] and conf["token_set"] and conf["token_last4"] == cloud.token[-4:]
    assert conf["auth"] == "basic" and conf["space_key"] == "OPS"
    assert conf["base_url"] == cloud.base_url and conf["token_origin"] == cloud.url
    assert cloud.token not in json.dumps(listed) and cloud.token not in json.dumps(saved)
    assert not listed[1]["configured"] and listed[1]["token_last4"] is None

    with fast.db.connection() as conn:
        row = conn.execute("SELECT token_hash, encrypted_token, token_origin FROM credentials"
                           " WHERE service = 'confluence'").fetchone()
    assert row["token_hash"] == hashlib.sha256(cloud.token.encode()).hexdigest()
    assert cloud.token not in row["encrypted_token"]
    from tftsr.secrets import decrypt_secret
    assert decrypt_secret(fast, row["encrypted_token"]) == cloud.token
    assert row["token_origin"] == cloud.url

    entry = audit_entries(fast, "integration_saved")[-1]
    details = json.loads(entry["details"])
    assert entry["entity_id"] == "confluence" and details["token"] == "set"
    assert details["token_hash"] == row["token_hash"]
    assert cloud.token not in entry["details"]


def test_the_first_save_needs_a_token_and_azure_devops_a_project(fast, call, ado):
    err = fails(call, "save_integration", service="servicenow", base_url="https://acme.service-now.com",
                username="svc")
    assert err.code == "invalid_argument" and "user name and password" in err.message
    err = fails(call, "save_integration", **ado.settings(project_name=None))
    assert "project" in err.message
    err = fails(call, "save_integration", service="azuredevops", base_url="https://dev.azure.com",
                token="x" * 40, project_name="Ops")
    assert "dev.azure.com/ORGANISATION" in err.message
    err = fails(call, "save_integration", service="confluence",
                base_url="https://user:pw@wiki.example.com", token="t" * 20)
    assert "user name or password" in err.message


def test_a_cloud_site_address_gains_its_wiki_path(fast, call):
    saved = call("save_integration", service="confluence", base_url="https://acme.atlassian.net/",
                 token="t" * 24, username="me@acme.example")
    assert saved["base_url"] == "https://acme.atlassian.net/wiki"


def test_the_token_stays_bound_to_the_origin_it_was_entered_for(fast, call, cloud, datacenter):
    call("save_integration", **cloud.settings())
    moved = dict(cloud.settings(base_url=datacenter.url), token=None)
    err = fails(call, "save_integration", **moved)
    assert err.code == "api_key_reentry_required"
    assert cloud.url in err.message and datacenter.url in err.message
    assert err.to_dict()["new_origin"] == datacenter.url
    with fast.db.connection() as conn:  # nothing was changed
        assert conn.execute("SELECT base_url FROM integration_config").fetchone()["base_url"] == cloud.base_url

    # Naming the new origin moves the binding; the address change is audited.
    saved = call("save_integration", **moved, confirm_origin=datacenter.url + "/")
    assert saved["token_origin"] == datacenter.url
    details = json.loads(audit_entries(fast, "integration_saved")[-1]["details"])
    assert details["token"] == "moved" and "token_hash" not in details

    # Same origin, other path: the token is kept without asking.
    call("save_integration", **dict(moved, base_url=datacenter.url + "/confluence"))


def test_an_empty_token_keeps_the_stored_one(fast, call, snow):
    call("save_integration", **snow.settings())
    call("save_integration", **snow.settings(token="", auto_create_enabled=True))
    assert call("test_integration", service="servicenow")["ok"]
    assert call("list_integrations")["items"][1]["auto_create_enabled"] is True


def test_delete_forgets_settings_and_token(fast, call, snow):
    call("save_integration", **snow.settings())
    assert call("delete_integration", service="servicenow") == {"deleted": True, "service": "servicenow"}
    assert not call("list_integrations")["items"][1]["configured"]
    with fast.db.connection() as conn:
        assert conn.execute("SELECT count(*) AS n FROM credentials").fetchone()["n"] == 0
    assert audit_entries(fast, "integration_deleted")[-1]["entity_id"] == "servicenow"
    result = call("test_integration", service="servicenow")
    assert not result["ok"] and "not set up" in result["message"]


# -- test connection ----------------------------------------------------------------------------
@pytest.mark.parametrize("which", ["cloud", "datacenter", "snow", "snow_oauth", "ado"])
def test_the_right_token_tests_ok_and_a_wrong_one_does_not(fast, call, which, request):
    if which == "snow_oauth":
        fake = FakeServiceNow(oauth_token="sn-oauth-access-token-51c9e0d2a7").start()
        request.addfinalizer(fake.stop)
    else:
        fake = request.getfixturevalue(which)
    settings = fake.settings()
    service = settings["service"]
    call("save_integration", **settings)
    good = call("test_integration", service=service)
    assert good["ok"] is True, good["message"]
    assert "Connected to" in good["message"]

    wrong = settings["token"][:-6] + "WRONG1"
    call("save_integration", **dict(settings, token=wrong))
    bad = call("test_integration", service=service)
    assert bad["ok"] is False
    assert "refused the" in bad["message"] and "HTTP 401" in bad["message"]
    assert wrong not in bad["message"]
    said = {"confluence": "Client must be authenticated", "servicenow": "User Not Authenticated",
            "azuredevops": "TF400813"}[service]
    assert said in bad["message"]  # the service's own words
    tested = [json.loads(e["details"]) for e in audit_entries(fast, "integration_tested")]
    assert [t["ok"] for t in tested] == [True, False]
    if service == "confluence":
        auth = fake.requests[-1].headers["authorization"]
        assert auth.startswith("Basic " if which == "cloud" else "Bearer ")


def test_a_missing_space_or_project_is_named(fast, call, cloud, datacenter, ado):
    call("save_integration", **cloud.settings(space_key="NOPE"))
    result = call("test_integration", service="confluence")
    assert not result["ok"] and "no space with the key NOPE" in result["message"]
    call("save_integration", **datacenter.settings(space_key="NOPE"))
    result = call("test_integration", service="confluence")
    assert not result["ok"] and "no space with the key NOPE" in result["message"]
    call("save_integration", **ado.settings(project_name="Payments"))
    result = call("test_integration", service="azuredevops")
    assert not result["ok"] and "no project named Payments" in result["message"]
    assert "TF200016" in result["message"]


def test_azure_devops_without_the_projects_endpoint_is_tested_with_a_query(fast, call, ado):
    ado.get_project = lambda h, name: ado.reply_text(h, 404, "<html><title>404</title></html>")
    call("save_integration", **ado.settings())
    result = call("test_integration", service="azuredevops")
    assert result["ok"] is True and "work items in Ops Team can be queried" in result["message"]
    assert [r.method for r in ado.requests] == ["GET", "POST"]
    call("save_integration", **ado.settings(token="x" * 52))
    assert call("test_integration", service="azuredevops")["ok"] is False


def test_an_expired_azure_devops_token_answering_with_a_sign_in_page_is_refused(fast, call, ado):
    call("save_integration", **ado.settings())
    ado.expired = True
    result = call("test_integration", service="azuredevops")
    assert not result["ok"]
    assert "sign-in page" in result["message"] and "HTTP 203" in result["message"]


# -- failures in words --------------------------------------------------------------------------
def test_403_names_the_permission(fast, call, snow):
    call("save_integration", **snow.settings())
    snow.push_failure("status", status=403, body=json.dumps({"error": {
        "message": "Operation Failed", "detail": "ACL Exception Insert Failed due to security "
        "constraints"}, "status": "failure"}).encode())
    issue = call("create_issue", title="Disk full", severity="low", category="linux")["issue"]
    err = fails(call, "create_external_incident", issue_id=issue["id"])
    assert err.code == "integration_forbidden"
    assert "does not allow this account to create incidents" in err.message
    assert "ACL Exception Insert Failed" in err.message
    assert snow.incidents() == []


def test_429_is_retried_after_the_wait_it_asks_for(fast, call, snow):
    call("save_integration", **snow.settings())
    snow.push_failure("status", status=429, headers={"Retry-After": "1"})
    assert call("test_integration", service="servicenow")["ok"]
    assert len(snow.requests) == 2
    sends = [json.loads(e["details"]) for e in audit_entries(fast, "egress_send")]
    assert [s["attempt"] for s in sends] == [1, 2]
    assert all(s["service"] == "servicenow" for s in sends)


def test_a_long_retry_after_is_reported_not_slept_through(fast, call, cloud):
    call("save_integration", **cloud.settings())
    cloud.push_failure("status", status=429, headers={"Retry-After": "120"})
    result = call("test_integration", service="confluence")
    assert not result["ok"]
    assert "limiting requests" in result["message"] and "about 120 seconds" in result["message"]
    assert len(cloud.requests) == 1


def test_a_server_error_says_to_try_later(fast, call, ado):
    call("save_integration", **ado.settings())
    for _ in range(3):
        ado.push_failure("status", status=500, body=b'{"message": "TF246017: database down"}')
    result = call("test_integration", service="azuredevops")
    assert not result["ok"]
    assert "server error (HTTP 500" in result["message"] and "TF246017" in result["message"]
    assert "try again later" in result["message"].lower()
    assert len(ado.requests) == 3  # a read is retried, then given up


def test_a_service_that_never_answers_times_out(fast, call, snow):
    call("save_integration", **snow.settings())
    snow.push_failure("hang")
    result = call("test_integration", service="servicenow")
    assert not result["ok"]
    assert "did not answer within 1.5 seconds" in result["message"]


def test_nothing_listening_is_explained(fast, call):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    call("save_integration", service="servicenow", base_url=f"http://127.0.0.1:{port}",
         username="svc", token="p" * 16)
    result = call("test_integration", service="servicenow")
    assert not result["ok"]
    assert f"could not reach ServiceNow at 127.0.0.1:{port}: the connection was refused" in result["message"]


def test_an_error_that_echoes_the_token_is_scrubbed(fast, call, cloud):
    call("save_integration", **cloud.settings())
    echo = json.dumps({"statusCode": 401, "message": f"Bad token {cloud.token} for "
                       "publisher@corp.test"}).encode()
    cloud.push_failure("status", status=401, body=echo)
    result = call("test_integration", service="confluence")
    assert not result["ok"]
    assert cloud.token not in result["message"] and cloud.token[:12] not in result["message"]
    assert "[redacted credential]" in result["message"]
    assert "publisher@corp.test" not in result["message"]
    with fast.db.connection() as conn:
        dump = "\n".join(str(tuple(r)) for r in conn.execute("SELECT * FROM audit_log"))
    assert cloud.token not in dump


def test_every_send_is_audited_before_it_leaves_with_host_path_and_hash(fast, call, cloud):
    call("save_integration", **cloud.settings())
    call("test_integration", service="confluence")
    send = [json.loads(e["details"]) for e in audit_entries(fast, "egress_send")][-1]
    req = cloud.requests[-1]
    assert send["host"] == cloud.url.removeprefix("http://") and send["path"] == req.path
    assert send["method"] == "GET" and send["service"] == "confluence"
    assert send["request_sha256"] == hashlib.sha256(req.body).hexdigest()


def test_each_request_is_in_the_audit_log_when_it_arrives(fast, call, snow):
    """The entry is written before the send: the fake looks for it as each request lands."""
    seen: list[bool] = []
    original = snow.route

    def route(h, req):
        with fast.db.connection() as conn:
            last = conn.execute("SELECT details FROM audit_log WHERE action = 'egress_send'"
                                " ORDER BY seq DESC LIMIT 1").fetchone()
        details = json.loads(last["details"]) if last else {}
        seen.append(details.get("request_sha256") == hashlib.sha256(req.body).hexdigest()
                    and details.get("path") == req.path and details.get("service") == "servicenow")
        return original(h, req)

    snow.route = route
    call("save_integration", **snow.settings())
    call("test_integration", service="servicenow")
    issue = call("create_issue", title="Disk full on build agents", severity="low", category="linux")["issue"]
    call("create_external_incident", issue_id=issue["id"])
    assert [r.method for r in snow.requests] == ["GET", "POST"]
    assert seen == [True, True]


def test_unknown_service_and_bad_arguments_are_refused(call):
    assert fails(call, "test_integration", service="jira").code == "invalid_argument"
    assert fails(call, "save_integration", service="confluence", base_url="ftp://x",
                 token="t" * 20).code == "invalid_argument"
    assert fails(call, "publish_document", document_id="not-an-id").code == "invalid_argument"


def test_commands_are_reachable_by_name(app):
    for name in ("save_integration", "test_integration", "delete_integration", "list_integrations",
                 "publish_document", "create_external_incident", "resolve_external_incident",
                 "push_action_items", "search_knowledge", "get_integration_links"):
        with pytest.raises(TftsrError) as err:
            dispatch(app, name, {"service": 1, "issue_id": 1, "document_id": 1})
        assert err.value.code == "invalid_argument"
