"""Commands for the integrations (Settings → Integrations, publishing, search).

Settings: ``save_integration``, ``test_integration`` → ``{ok, message}``,
``delete_integration``, ``list_integrations`` (tokens never leave: only whether one is set
and its last four characters). Sending: ``publish_document`` (Confluence),
``create_external_incident`` / ``resolve_external_incident`` (ServiceNow),
``push_action_items`` (Azure DevOps), ``search_knowledge`` (all three).
``get_integration_links`` lists which remote records an incident's records became.
"""

from __future__ import annotations

import threading

from tftsr.audit import record as audit_record
from tftsr.commands import command
from tftsr.errors import TftsrError
from tftsr.integrations import azure_devops, common, confluence, links, search, servicenow
from tftsr.issues import store as issue_store
from tftsr.issues.commands import after_status_change
from tftsr.validation import Bool, Enum, EnumList, Id, Str

SERVICE = Enum(common.SERVICES)
ISSUE_ID = Id("incident id")
TESTERS = {"confluence": confluence.test, "servicenow": servicenow.test,
           "azuredevops": azure_devops.test}


def _changed(app, issue_id: str | None = None) -> None:
    app.events.emit("integrations_changed", {"issue_id": issue_id})
    if issue_id:
        app.events.emit("issue_changed", {"issue_id": issue_id})


@command(service=SERVICE, base_url=Str(min_len=1, max_len=500),
         token=Str(max_len=4096, required=False), username=Str(max_len=200, required=False),
         project_name=Str(max_len=200, required=False), space_key=Str(max_len=100, required=False),
         auto_create_enabled=Bool(default=False), confirm_origin=Str(max_len=500, required=False))
def save_integration(app, service, base_url, token, username, project_name, space_key,
                     auto_create_enabled, confirm_origin):
    """Store a service's address, account and token (an empty token keeps the stored one,
    for the same origin only). Confluence: email + API token (Cloud) or a personal access
    token alone (Data Center). ServiceNow: user + password, or an OAuth token alone. Azure
    DevOps: a personal access token and the project."""
    with app.db.transaction() as conn:
        result = common.save(app, conn, service, base_url=base_url, token=token,
                             username=username, project_name=project_name, space_key=space_key,
                             auto_create_enabled=auto_create_enabled,
                             confirm_origin=confirm_origin)
    app.extras.get("confluence_api", {}).pop(result["base_url"], None)
    _changed(app)
    return result


@command(service=SERVICE)
def test_integration(app, service):
    """Try the stored settings against the service: ``{ok, message}`` in words (what worked,
    or what the service answered)."""
    try:
        message, ok, code = TESTERS[service](app), True, None
    except (common.IntegrationError, common.NotConfigured, common.TokenNeedsReentry) as exc:
        message, ok, code = exc.message, False, exc.code
    with app.db.transaction() as conn:
        audit_record(conn, "integration_tested", "integration", service,
                     {"service": service, "ok": ok, "code": code})
    return {"ok": ok, "message": message, "service": service}


@command(service=SERVICE)
def delete_integration(app, service):
    """Forget a service's settings and token. Links already made stay on the records."""
    with app.db.transaction() as conn:
        deleted = common.delete(conn, service)
    _changed(app)
    return {"deleted": deleted, "service": service}


@command()
def list_integrations(app):
    """The three services and their settings (the token only as set + last four)."""
    with app.db.connection() as conn:
        return {"items": common.list_public(conn)}


@command(issue_id=ISSUE_ID)
def get_integration_links(app, issue_id):
    """The remote records of an incident, its documents and its action items, and which
    services are set up."""
    with app.db.connection() as conn:
        issue_store.get(conn, issue_id)
        found = links.for_issue(conn, issue_id)
        services = {i["service"]: {"configured": i["configured"],
                                   "auto_create_enabled": i["auto_create_enabled"]}
                    for i in common.list_public(conn)}
    return {**found, "services": services}


@command(document_id=Id("document id"), overwrite=Bool(default=False))
def publish_document(app, document_id, overwrite):
    """Publish the RCA or post-mortem to Confluence (again: the same page, version + 1). A
    page edited in Confluence since is reported (integration_conflict), not overwritten,
    unless ``overwrite``."""
    result = confluence.publish(app, document_id, overwrite=overwrite)
    with app.db.connection() as conn:
        issue_id = conn.execute("SELECT issue_id FROM documents WHERE id = ?",
                                (document_id,)).fetchone()["issue_id"]
    _changed(app, issue_id)
    return result


@command(issue_id=ISSUE_ID)
def create_external_incident(app, issue_id):
    """Open the incident in ServiceNow (again: update the same record); its INC number and
    link are kept on the incident."""
    result = servicenow.create(app, issue_id)
    _changed(app, issue_id)
    return result


@command(issue_id=ISSUE_ID)
def resolve_external_incident(app, issue_id):
    """Resolve the incident's ServiceNow record with the resolution notes (the TFTSR
    incident must be resolved)."""
    result = servicenow.resolve(app, issue_id)
    _changed(app, issue_id)
    return result


@after_status_change
def resolve_remote_when_automatic(app, issue_id: str, status: str) -> None:
    """With "create and resolve automatically" on, an incident marked resolved (or closed)
    gets its open ServiceNow record resolved in the background; the outcome arrives as an
    ``integration_done`` / ``integration_error`` event (and in the audit log)."""
    if status not in ("resolved", "closed"):
        return
    with app.db.connection() as conn:
        config = common.get_row(conn, servicenow.SERVICE)
        link = links.get(conn, servicenow.SERVICE, "issue", issue_id)
    if not config or not config["auto_create_enabled"] or link is None or link.get("state") == "resolved":
        return

    def work():
        try:
            result = servicenow.resolve(app, issue_id)
            app.events.emit("integration_done", {"issue_id": issue_id, "service": servicenow.SERVICE,
                                                 "message": result.get("message")})
        except TftsrError as exc:
            app.events.emit("integration_error", {"issue_id": issue_id, "service": servicenow.SERVICE,
                                                  "message": exc.message})
        _changed(app, issue_id)

    threading.Thread(target=work, name=f"servicenow-resolve-{issue_id[:8]}", daemon=True).start()


@command(issue_id=ISSUE_ID)
def push_action_items(app, issue_id):
    """One Azure DevOps work item per action item; pushing again updates what changed and
    creates nothing new."""
    result = azure_devops.push(app, issue_id)
    _changed(app, issue_id)
    app.events.emit("action_items_changed", {"issue_id": issue_id})
    return result


@command(issue_id=ISSUE_ID, query=Str(max_len=300, required=False),
         services=EnumList(common.SERVICES, required=False))
def search_knowledge(app, issue_id, query, services):
    """Search Confluence, ServiceNow and Azure DevOps for the incident's terms (or
    ``query``); titled results with links, and per-service errors in words."""
    return search.search(app, issue_id, query, services)
