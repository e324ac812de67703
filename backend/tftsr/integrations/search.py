"""Searching the team's knowledge: Confluence pages, ServiceNow knowledge articles and past
incidents, Azure DevOps work items — for the incident's terms or the user's own words.

The query is redacted before it is built (placeholders such as ``[IPv4-1]`` are dropped:
they would match nothing), and each request is sealed and audited like any other. Results
come back as plain text (markup and highlight markers removed) with a link on the
service's own site; the page shows them as text, and text attached to the chat passes the
PII gate again when it is sent.

* Confluence: CQL ``type = page AND text ~ "…"`` through ``GET /rest/api/search``
  (``/rest/api/content/search`` where that is missing).
* ServiceNow: ``GET /api/now/table/kb_knowledge`` (published articles) and
  ``GET /api/now/table/incident`` with ``short_descriptionLIKE…`` (``^OR`` between terms).
* Azure DevOps: ``POST {org}/{project}/_apis/wit/wiql`` (``[System.Title] CONTAINS …``),
  then ``GET {org}/{project}/_apis/wit/workitems?ids=…``.
"""

from __future__ import annotations

import html
import re
from urllib.parse import quote

from tftsr.audit import record as audit_record
from tftsr.egress.gate import Gate
from tftsr.integrations import azure_devops, confluence, servicenow
from tftsr.integrations.common import (
    LABELS,
    SERVICES,
    Connection,
    IntegrationError,
    NotConfigured,
    TokenNeedsReentry,
    connect,
    get_row,
    safe_link,
    sha256_text,
)
from tftsr.issues import store as issue_store

MAX_TERMS = 8
PER_SERVICE = 8
EXCERPT_LIMIT = 500
_PLACEHOLDER = re.compile(r"\[[A-Za-z][A-Za-z0-9]*(?:-\d+)?\]")
_WORD = re.compile(r"[\w][\w.\-/:]*[\w]|\w", re.UNICODE)
_TAG = re.compile(r"<[^>]{0,2000}>")
_HIGHLIGHT = re.compile(r"@@@(?:end)?hl@@@")
STOP_WORDS = frozenset(["a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in", "is", "it", "its", "of", "on", "or", "that", "the", "this", "to", "was", "were", "will", "with", "after", "before", "during", "when", "while", "not", "no", "into", "over", "under", "out", "up"])


def plain(value) -> str:
    """Markup, highlight markers and runs of space removed; cut to a readable excerpt."""
    text = _HIGHLIGHT.sub("", str(value or ""))
    text = " ".join(html.unescape(_TAG.sub(" ", text)).split())
    return text if len(text) <= EXCERPT_LIMIT else text[:EXCERPT_LIMIT - 1] + "…"


def terms(app, issue: dict, query: str | None) -> tuple[list[str], list]:
    """The words to search for: the user's query, or the incident's title, redacted."""
    text = query if query and query.strip() else issue["title"]
    redacted, removed = Gate(app, issue["id"]).redact(text)
    words: list[str] = []
    for w in _WORD.findall(_PLACEHOLDER.sub(" ", redacted)):
        if w.lower() in STOP_WORDS or (len(w) < 2 and not w.isdigit()):
            continue
        if w.lower() not in (x.lower() for x in words):
            words.append(w)
    return words[:MAX_TERMS], removed


# -- per service -------------------------------------------------------------------------------
def _confluence(c: Connection, words: list[str], issue_id: str, gate: Gate) -> list[dict]:
    api = confluence.detect(c, ("issue", issue_id), need_space=False)
    phrase = " ".join(words).replace("\\", " ").replace('"', " ")
    params = {"cql": f'type = page AND text ~ "{phrase}"', "limit": PER_SERVICE}
    answer = None
    for path in ("/rest/api/search", "/rest/api/content/search"):
        answer = c.request("GET", c.url(path, params, root=api.root), purpose="knowledge_search",
                           entity_type="issue", entity_id=issue_id, gate=gate)
        if answer.status != 404:
            break
    if answer.status != 200:
        raise c.failure(answer, doing="search pages")
    data = answer.json() if isinstance(answer.json(), dict) else {}
    base = safe_link((data.get("_links") or {}).get("base"), c) or api.root
    out = []
    for r in data.get("results") or []:
        if not isinstance(r, dict):
            continue
        content = r.get("content") if isinstance(r.get("content"), dict) else r
        webui = (content.get("_links") or {}).get("webui") or r.get("url")
        url = safe_link(base.rstrip("/") + webui, c) if isinstance(webui, str) and webui.startswith("/") else None
        title = plain(r.get("title") or content.get("title"))
        if not title:
            continue
        out.append({"service": "confluence", "kind": "Page", "id": str(content.get("id") or ""),
                    "title": title, "url": url, "excerpt": plain(r.get("excerpt"))})
    return out


def _snow_query(words: list[str], field: str, prefix: str = "") -> str:
    safe = [re.sub(r"[\^=]", " ", w).strip() for w in words[:4]]
    ors = "^OR".join(f"{field}LIKE{w}" for w in safe if w)
    return prefix + ors


def _servicenow(c: Connection, words: list[str], issue_id: str, gate: Gate) -> list[dict]:
    out = []
    searches = (
        ("kb_knowledge", "Knowledge article", "sys_id,number,short_description,text",
         _snow_query(words, "short_description", "workflow_state=published^"), "text"),
        ("incident", "Past incident", "sys_id,number,short_description,close_notes,state",
         _snow_query(words, "short_description") + "^ORDERBYDESCsys_updated_on", "close_notes"),
    )
    for table, kind, fields, query, body_field in searches:
        answer = c.request("GET", c.url(f"/api/now/table/{table}", {
            "sysparm_query": query, "sysparm_limit": PER_SERVICE, "sysparm_fields": fields}),
            purpose="knowledge_search", entity_type="issue", entity_id=issue_id, gate=gate)
        if answer.status != 200:
            raise c.failure(answer, doing=f"read the {table} table")
        for r in (answer.json() or {}).get("result") or []:
            if not isinstance(r, dict) or not r.get("sys_id"):
                continue
            number = plain(r.get("number"))
            if table == "kb_knowledge":
                url = f"{c.base_url}/kb_view.do?sysparm_article={quote(number)}"
            else:
                url = servicenow.record_url(c, quote(str(r["sys_id"]), safe=""))
            out.append({"service": "servicenow", "kind": kind, "id": number,
                        "title": f"{number}: {plain(r.get('short_description'))}".strip(": "),
                        "url": url, "excerpt": plain(r.get(body_field))})
    return out


def _azure_devops(c: Connection, words: list[str], issue_id: str, gate: Gate) -> list[dict]:
    conditions = " OR ".join("[System.Title] CONTAINS '{}'".format(w.replace("'", "''"))
                             for w in words[:6])
    wiql = ("SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project"
            f" AND ({conditions}) ORDER BY [System.ChangedDate] DESC")
    answer = c.request("POST", azure_devops.project_url(c, "/_apis/wit/wiql", {"$top": PER_SERVICE}),
                       json_body={"query": wiql}, purpose="knowledge_search",
                       entity_type="issue", entity_id=issue_id, gate=gate)
    if answer.status != 200 or c.is_sign_in_page(answer):
        raise c.failure(answer, doing="query work items", not_found=azure_devops.project_missing(c))
    ids = [str(w.get("id")) for w in (answer.json() or {}).get("workItems") or []
           if isinstance(w, dict) and isinstance(w.get("id"), int)][:PER_SERVICE]
    if not ids:
        return []
    answer = c.request("GET", azure_devops.project_url(c, "/_apis/wit/workitems", {
        "ids": ",".join(ids), "fields": "System.Title,System.State,System.WorkItemType,System.Description"}),
        purpose="knowledge_search", entity_type="issue", entity_id=issue_id, gate=gate)
    if answer.status != 200:
        raise c.failure(answer, doing="read work items")
    out = []
    for w in (answer.json() or {}).get("value") or []:
        if not isinstance(w, dict) or w.get("id") is None:
            continue
        f = w.get("fields") or {}
        wid = str(w["id"])
        kind = plain(f.get("System.WorkItemType")) or "Work item"
        state = plain(f.get("System.State"))
        out.append({"service": "azuredevops", "kind": kind + (f" · {state}" if state else ""),
                    "id": wid, "title": f"{wid}: {plain(f.get('System.Title'))}",
                    "url": f"{c.base_url}/{quote(azure_devops.project_of(c), safe='')}/_workitems/edit/{wid}",
                    "excerpt": plain(f.get("System.Description"))})
    return out


SEARCHERS = {"confluence": _confluence, "servicenow": _servicenow, "azuredevops": _azure_devops}


def search(app, issue_id: str, query: str | None, services: list[str] | None) -> dict:
    with app.db.connection() as db:
        issue = issue_store.get(db, issue_id)
        configured = [s for s in SERVICES if (row := get_row(db, s)) and row.get("encrypted_token")]
    wanted = [s for s in SERVICES if s in (services or SERVICES)]
    words, removed = terms(app, issue, query)
    results: list[dict] = []
    errors: list[dict] = []
    searched: list[str] = []
    if words:
        gate = Gate(app, issue_id)
        for service in wanted:
            if service not in configured:
                if services:  # asked for by name: say why nothing came
                    errors.append({"service": service, "message": NotConfigured(service).message})
                continue
            try:
                c = connect(app, service)
                found = SEARCHERS[service](c, words, issue_id, gate)
            except (IntegrationError, NotConfigured, TokenNeedsReentry) as exc:
                errors.append({"service": service, "message": exc.message})
                continue
            searched.append(service)
            results.extend(found)
    query_used = " ".join(words)
    with app.db.transaction() as db:
        audit_record(db, "knowledge_searched", "issue", issue_id, {
            "services": searched, "failed": [e["service"] for e in errors],
            "query_sha256": sha256_text(query_used), "terms": len(words),
            "results": len(results), "redacted": len(removed)})
    if not words:
        message = "Nothing to search for: the words given were all placeholders or too common."
    elif not configured:
        message = "No integration is set up. Add Confluence, ServiceNow or Azure DevOps in Settings → Integrations."
    else:
        names = ", ".join(LABELS[s] for s in searched) or "no service"
        message = f"{len(results)} result{'s' if len(results) != 1 else ''} from {names}."
    return {"query": query_used, "results": results, "errors": errors, "searched": searched,
            "configured": configured, "redacted": len(removed), "message": message}
