"""Azure DevOps: one work item per action item.

* Create: ``POST {org}/{project}/_apis/wit/workitems/${type}?api-version=7.1`` with
  ``Content-Type: application/json-patch+json`` and a JSON Patch body
  (``[{"op": "add", "path": "/fields/System.Title", "value": …}, …]``) → the work item
  ``{id, rev, fields, url, _links: {html: {href}}}``. A ``Bug`` for an immediate action
  (a ``Task`` where the project's process has no Bug), a ``Task`` otherwise.
* Update: ``PATCH {org}/{project}/_apis/wit/workitems/{id}?api-version=7.1`` (JSON Patch).
  Each item's work item id, revision and link are kept in ``external_links`` with the
  SHA-256 of what was sent, so pushing again updates what changed and creates nothing.
* Fields: title, description (HTML, every value escaped), ``System.AssignedTo`` when the
  owner is a name Azure DevOps knows, ``Microsoft.VSTS.Scheduling.DueDate``, the tag
  ``TFTSR``. An owner or due date the project refuses is left out, and the result says so.
* Auth: the personal access token as ``Basic base64(":" + PAT)``. An expired token can
  be answered with 203 and an HTML sign-in page: that is treated as refused credentials.
"""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from tftsr.audit import record as audit_record
from tftsr.docs import actions, generate
from tftsr.egress.gate import Gate, cut
from tftsr.integrations import links
from tftsr.integrations.common import (
    SETTINGS_HINT,
    Connection,
    IntegrationError,
    NotConfigured,
    Response,
    connect,
    redaction_counts,
    safe_link,
    service_lock,
    sha256_text,
)
from tftsr.issues import store as issue_store

SERVICE = "azuredevops"
API_VERSION = "7.1"
PATCH_TYPE = "application/json-patch+json"
TITLE_LIMIT = 255
F_TITLE = "/fields/System.Title"
F_DESCRIPTION = "/fields/System.Description"
F_ASSIGNED = "/fields/System.AssignedTo"
F_DUE = "/fields/Microsoft.VSTS.Scheduling.DueDate"
F_TAGS = "/fields/System.Tags"
OPTIONAL = {F_ASSIGNED: ("AssignedTo", "Assigned To", "identity"), F_DUE: ("DueDate", "Due Date")}
# Failures that end the whole push: the next item would meet them too.
SYSTEMIC = {"integration_auth", "integration_forbidden", "integration_unreachable",
            "integration_timeout", "integration_rate_limited", "integration_redirect"}


def project_of(c: Connection) -> str:
    project = c.row.get("project_name")
    if not project:
        raise NotConfigured(SERVICE, f"Set the Azure DevOps project in {SETTINGS_HINT}.")
    return project


def project_url(c: Connection, path: str, params: dict | None = None) -> str:
    return c.url(f"/{quote(project_of(c), safe='')}{path}", {**(params or {}), "api-version": API_VERSION})


def project_missing(c: Connection) -> str:
    return (f"Azure DevOps has no project named {project_of(c)} in this organisation, or this "
            f"token cannot see it. Check the project in {SETTINGS_HINT}.")


def _project_answer_missing(answer: Response) -> bool:
    """A 404 that is Azure DevOps saying the project does not exist (not a missing endpoint)."""
    data = answer.json()
    return isinstance(data, dict) and "project" in str(data.get("typeKey") or "").lower()


def test(app) -> str:
    """Read the project (``GET {org}/_apis/projects/{project}``); where that endpoint is not
    offered, run an empty WIQL query in the project instead."""
    c = connect(app, SERVICE)
    answer = c.request("GET", c.url(f"/_apis/projects/{quote(project_of(c), safe='')}",
                                    {"api-version": API_VERSION}),
                       purpose="azuredevops_test", entity_type="integration", entity_id=SERVICE)
    if answer.status in (404, 405) and not _project_answer_missing(answer):
        answer = c.request("POST", project_url(c, "/_apis/wit/wiql", {"$top": 1}),
                           json_body={"query": "SELECT [System.Id] FROM WorkItems WHERE "
                                               "[System.TeamProject] = @project"},
                           purpose="azuredevops_test", entity_type="integration", entity_id=SERVICE)
        if answer.status == 200 and not c.is_sign_in_page(answer):
            return f"Connected to Azure DevOps at {c.host}; work items in {project_of(c)} can be queried."
    if answer.status != 200 or c.is_sign_in_page(answer):
        raise c.failure(answer, doing="read the project", not_found=project_missing(c))
    data = answer.json()
    if not isinstance(data, dict) or "name" not in data:
        raise c.unexpected("read the project")
    return f"Connected to Azure DevOps at {c.host}; project {data['name']} is there."


# -- one work item -----------------------------------------------------------------------------
def work_item_type(item: dict) -> str:
    return "Bug" if item["kind"] == "immediate" else "Task"


def patch_for(item: dict, issue_title: str, severity: str, gate: Gate) -> tuple[list[dict], list, list[str]]:
    """The JSON Patch for an action item, what redaction removed, and notes for the user."""
    title, removed_title = gate.redact(" ".join(item["title"].split()))
    notes, removed_notes = gate.redact(item.get("notes") or "")
    notes_html = "".join(f"<p>{escape(p)}</p>" for p in notes.split("\n\n") if p.strip())
    description = (f"{notes_html}<p>Action item from the TFTSR incident “{escape(issue_title)}” "
                   f"(severity {escape(generate.label(severity))}). Kind: "
                   f"{escape(actions.KIND_LABELS[item['kind']])}. Status in TFTSR: "
                   f"{escape(actions.STATUS_LABELS[item['status']])}.</p>")
    ops = [{"op": "add", "path": F_TITLE, "value": cut(title, TITLE_LIMIT, "…")},
           {"op": "add", "path": F_DESCRIPTION, "value": description},
           {"op": "add", "path": F_TAGS, "value": "TFTSR"}]
    notes_for_user: list[str] = []
    removed = removed_title + removed_notes
    owner = " ".join((item.get("owner") or "").split())
    if owner:
        owner_sent, removed_owner = gate.redact(owner)
        if removed_owner:  # an address or number: not sent, so not assignable
            notes_for_user.append(f"“{item['title'][:60]}”: the owner was not assigned, because it "
                                  "looks like personal data (assign it in Azure DevOps).")
        else:
            ops.append({"op": "add", "path": F_ASSIGNED, "value": owner_sent})
    if item.get("due_date"):
        ops.append({"op": "add", "path": F_DUE, "value": f"{item['due_date']}T00:00:00Z"})
    return ops, removed, notes_for_user


def _refused_optional(c: Connection, answer: Response, ops: list[dict]) -> list[str]:
    """The optional fields a 400 answer names (Azure DevOps says which field it refused)."""
    if answer.status != 400:
        return []
    said = c.their_words(answer).lower()
    present = {op["path"] for op in ops}
    return [path for path, words in OPTIONAL.items()
            if path in present and any(w.lower() in said for w in words)]


def _type_missing(c: Connection, answer: Response) -> bool:
    said = c.their_words(answer).lower()
    data = answer.json()
    key = str(data.get("typeKey") or "") if isinstance(data, dict) else ""
    return answer.status in (400, 404) and ("workitemtype" in key.lower()
                                            or "work item type" in said)


def _send(c: Connection, method: str, url: str, ops: list[dict], item_id: str, gate: Gate) -> Response:
    return c.request(method, url, json_body=ops, content_type=PATCH_TYPE,
                     purpose="azuredevops_work_item", entity_type="action_item",
                     entity_id=item_id, gate=gate)


def _write(c: Connection, method: str, url: str, ops: list[dict], item: dict, gate: Gate,
           notes: list[str]) -> Response:
    """Send, leaving out an owner or due date the project refuses (once each)."""
    answer = _send(c, method, url, ops, item["id"], gate)
    dropped = _refused_optional(c, answer, ops)
    if dropped:
        ops[:] = [op for op in ops if op["path"] not in dropped]
        names = " and ".join("owner" if p == F_ASSIGNED else "due date" for p in dropped)
        notes.append(f"“{item['title'][:60]}”: Azure DevOps did not accept the {names}, so it was "
                     "left out.")
        answer = _send(c, method, url, ops, item["id"], gate)
    return answer


def _saved(c: Connection, answer: Response, doing: str) -> tuple[str, int | None, str]:
    data = answer.json()
    if not isinstance(data, dict) or data.get("id") is None:
        raise c.unexpected(doing)
    html_link = ((data.get("_links") or {}).get("html") or {}).get("href")
    wid = str(data["id"])
    url = safe_link(html_link, c) or f"{c.base_url}/{quote(project_of(c), safe='')}/_workitems/edit/{wid}"
    rev = data.get("rev")
    return wid, int(rev) if isinstance(rev, int) else None, url


def _push_one(c: Connection, item: dict, ops: list[dict], link: dict | None, gate: Gate,
              notes: list[str]) -> tuple[str, int | None, str, str]:
    """Create or update one work item; returns (id, rev, url, "created"|"updated")."""
    if link is not None:
        answer = _write(c, "PATCH", project_url(c, f"/_apis/wit/workitems/{link['remote_id']}"), ops, item,
                        gate, notes)
        if answer.status == 200 and not c.is_sign_in_page(answer):
            return (*_saved(c, answer, "update the work item"), "updated")
        if answer.status != 404:
            raise c.failure(answer, doing="update work items", not_found=project_missing(c))
        notes.append(f"Work item {link['remote_id']} is no longer in Azure DevOps, so a new one was "
                     f"created for “{item['title'][:60]}”.")
    wtype = work_item_type(item)
    answer = _write(c, "POST", project_url(c, f"/_apis/wit/workitems/${wtype}"), ops, item, gate, notes)
    if wtype != "Task" and answer.status in (400, 404) and not _project_answer_missing(answer):
        if _type_missing(c, answer):
            notes.append(f"The project has no {wtype} work item type, so “{item['title'][:60]}” "
                         "became a Task.")
        else:
            notes.append(f"Azure DevOps did not accept “{item['title'][:60]}” as a {wtype} "
                         f"({c.their_words(answer) or f'HTTP {answer.status}'}), so it became a Task.")
        answer = _write(c, "POST", project_url(c, "/_apis/wit/workitems/$Task"), ops, item, gate, notes)
    if answer.status not in (200, 201) or c.is_sign_in_page(answer):
        raise c.failure(answer, doing="create work items", not_found=project_missing(c))
    return (*_saved(c, answer, "create the work item"), "created")


def push(app, issue_id: str) -> dict:
    """Push every action item of the incident: new ones are created, changed ones updated,
    unchanged ones left alone."""
    with app.db.connection() as db:
        issue = issue_store.get(db, issue_id)
        items = actions.list_for_issue(db, issue_id)
    c = connect(app, SERVICE)
    project = project_of(c)
    gate = Gate(app, issue_id)
    issue_title, removed_issue = gate.redact(" ".join(issue["title"].split()))
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    results, failed, notes, removed_all = [], [], [], [removed_issue]
    stop: IntegrationError | None = None
    with service_lock(app, SERVICE):
        for item in items:
            with app.db.connection() as db:
                link = links.get(db, SERVICE, "action_item", item["id"], c.origin)
            if stop is not None:
                failed.append({"action_item_id": item["id"], "title": item["title"],
                               "message": "Not sent (see the error above)."})
                continue
            ops, removed, item_notes = patch_for(item, issue_title, issue["severity"], gate)
            digest = sha256_text(repr(ops))
            if link is not None and link["content_sha256"] == digest:
                counts["unchanged"] += 1
                results.append({"action_item_id": item["id"], "work_item_id": link["remote_id"],
                                "url": link["url"], "state": "unchanged"})
                continue
            try:
                wid, rev, url, state = _push_one(c, item, ops, link, gate, item_notes)
            except IntegrationError as exc:
                failed.append({"action_item_id": item["id"], "title": item["title"],
                               "message": exc.message})
                if exc.code in SYSTEMIC or exc.status == 404:
                    stop = exc
                continue
            notes += item_notes
            removed_all.append(removed)
            counts[state] += 1
            with app.db.transaction() as db:
                links.save(db, service=SERVICE, entity_type="action_item", entity_id=item["id"],
                           issue_id=issue_id, origin=c.origin, remote_id=wid,
                           remote_key=work_item_type(item), url=url, version=rev,
                           content_sha256=digest, state=state)
                audit_record(db, "action_item_pushed", "action_item", item["id"], {
                    "service": SERVICE, "issue_id": issue_id, "work_item_id": wid, "rev": rev,
                    "project": project, "state": state, "url": url,
                    "redacted": redaction_counts(removed)})
            results.append({"action_item_id": item["id"], "work_item_id": wid, "url": url,
                            "state": state})
    return {"service": SERVICE, "project": project, **counts, "failed": failed, "items": results,
            "notes": notes, "redacted": redaction_counts(*removed_all),
            "message": _summary(counts, failed, project, len(items))}


def _summary(counts: dict, failed: list[dict], project: str, total: int) -> str:
    if total == 0:
        return "This incident has no action items to push."

    def n(k: int, what: str = "work item") -> str:
        return f"{k} {what}{'s' if k != 1 else ''}"

    done = []
    if counts["created"]:
        done.append(f"created {n(counts['created'])}")
    if counts["updated"]:
        done.append(f"updated {n(counts['updated'])}")
    text = (f"In Azure DevOps ({project}): {', '.join(done)}." if done else "")
    if counts["unchanged"]:
        same = n(counts["unchanged"])
        text += f" {same} {'was' if counts['unchanged'] == 1 else 'were'} already up to date."
    if failed:
        text += (f" {n(len(failed), 'action item')} could not be pushed: {failed[0]['message']}")
    return text.strip()
