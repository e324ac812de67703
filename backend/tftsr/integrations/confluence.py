"""Confluence: the RCA or post-mortem as a page in the configured space.

Both Confluence APIs are spoken, whichever the site offers:

* **Cloud, REST v2** (``https://SITE.atlassian.net/wiki``; email + API token as Basic):
  space id from ``GET /api/v2/spaces?keys=KEY``; ``POST /api/v2/pages`` with
  ``{spaceId, status, title, body: {representation: "storage", value}}``; ``GET`` /
  ``PUT /api/v2/pages/{id}`` with ``version.number`` = current + 1.
* **Data Center / Server, REST v1** (personal access token as Bearer):
  ``GET /rest/api/space/KEY``; ``POST /rest/api/content`` with ``{type: "page", title,
  space: {key}, body: {storage: {value, representation}}}``; ``GET
  /rest/api/content/{id}?expand=version`` and ``PUT /rest/api/content/{id}``.

Which one answers is found once per address (v2 first; a 404 there means v1). The timeline
chart goes up as an attachment (``PUT /rest/api/content/{id}/child/attachment``,
multipart, ``X-Atlassian-Token: no-check``, on both) and is shown on the page after the
Timeline heading.

Publishing again updates the same page (its id and version are kept in
``external_links``). A page edited in Confluence since TFTSR last published it is
reported, not overwritten, unless the user chooses to replace it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime

from tftsr.audit import record as audit_record
from tftsr.docs import generate
from tftsr.docs import store as doc_store
from tftsr.docs.export import _TIMELINE_HEADING, ExportInput, without_leading_title
from tftsr.egress.gate import Gate, cut
from tftsr.integrations import chart_png, links, storage_format
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
from tftsr.issues import timeline

SERVICE = "confluence"
ATTACHMENT_NAME = "tftsr-timeline.png"
TITLE_LIMIT = 255


@dataclass
class Api:
    flavour: str           # "v2" (Cloud) or "v1" (Data Center / Server)
    root: str              # the address the API paths hang off
    space_key: str | None
    space_id: str | None = None
    space_name: str | None = None

    @property
    def kind(self) -> str:
        return "Confluence Cloud" if self.flavour == "v2" else "Confluence Data Center / Server"


def _space_missing(key: str) -> str:
    return (f"Confluence has no space with the key {key}, or this account cannot see it. Check "
            f"the space key in {SETTINGS_HINT}.")


def _probe_v2(c: Connection, root: str, key: str | None, entity: tuple[str, str]) -> Response:
    # With a key the site answers that space alone; no limit, so a site that lists every
    # space anyway still includes it.
    params = {"keys": key} if key else {"limit": 1}
    return c.request("GET", c.url("/api/v2/spaces", params, root=root), purpose="confluence_space",
                     entity_type=entity[0], entity_id=entity[1])


def _probe_v1(c: Connection, root: str, key: str | None, entity: tuple[str, str]) -> Response:
    url = (c.url(f"/rest/api/space/{key}", root=root) if key
           else c.url("/rest/api/space", {"limit": 1}, root=root))
    return c.request("GET", url, purpose="confluence_space", entity_type=entity[0],
                     entity_id=entity[1])


def _from_v2(answer: Response, root: str, key: str | None) -> Api:
    results = [r for r in (answer.json() or {}).get("results") or [] if isinstance(r, dict)]
    named = [r for r in results if str(r.get("key") or "") == key]
    space = (named or ([] if key and any("key" in r for r in results) else results) or [{}])[0]
    if key and not space:
        return Api("v2", root, key)
    return Api("v2", root, key, str(space.get("id")) if space.get("id") is not None else None,
               space.get("name"))


def detect(c: Connection, entity: tuple[str, str], *, need_space: bool = True) -> Api:
    """Which API the site offers and the configured space on it. Raises IntegrationError
    (space not found included, when ``need_space``)."""
    key = c.row.get("space_key")
    cache = c.app.extras.setdefault("confluence_api", {})
    roots = [c.base_url] + ([] if c.base_url.endswith("/wiki") else [c.base_url + "/wiki"])
    known = cache.get(c.base_url)
    candidates = [(r, f) for r in roots for f in ("v2", "v1")]
    if known in candidates:  # what answered last time first
        candidates.remove(known)
        candidates.insert(0, known)
    for root, flavour in candidates:
        answer = (_probe_v2 if flavour == "v2" else _probe_v1)(c, root, key, entity)
        if answer.status == 404 and not (flavour == "v1" and answer.is_json and key):
            continue  # this API is not here
        if answer.status == 404:  # v1 answered in its own words: the space is missing
            cache[c.base_url] = (root, flavour)
            if need_space:
                raise c.failure(answer, doing="read the space", not_found=_space_missing(key))
            return Api(flavour, root, key)
        if answer.status != 200:
            raise c.failure(answer, doing="read the space")
        data = answer.json()
        if not isinstance(data, dict):
            raise c.unexpected("read the space")
        cache[c.base_url] = (root, flavour)
        if flavour == "v2":
            api = _from_v2(answer, root, key)
            if key and api.space_id is None and need_space:
                raise IntegrationError(_space_missing(key), code="integration_not_found", status=404)
            return api
        if key:
            return Api("v1", root, key, str(data.get("id") or ""), data.get("name"))
        return Api("v1", root, key)
    raise IntegrationError(
        f"No Confluence REST API answered at {c.base_url}. The address is the site's own, such "
        "as https://SITE.atlassian.net/wiki (Cloud) or https://confluence.example.com (Data "
        "Center).", code="integration_not_found", status=404)


# -- test --------------------------------------------------------------------------------------
def test(app) -> str:
    c = connect(app, SERVICE)
    api = detect(c, ("integration", SERVICE))
    who = f" as {c.username}" if c.username else " with the personal access token"
    where = (f"space {api.space_key}" + (f" ({api.space_name})" if api.space_name else "")
             if api.space_key else None)
    tail = (f"; {where} is there." if where else
            "; no space key is set yet — publishing needs one.")
    return f"Connected to {api.kind} at {c.host}{who}{tail}"


# -- the page ----------------------------------------------------------------------------------
@dataclass
class Page:
    id: str
    version: int
    url: str | None
    title: str


def _page_from(c: Connection, api: Api, data, doing: str) -> Page:
    if not isinstance(data, dict) or data.get("id") is None:
        raise c.unexpected(doing)
    version = (data.get("version") or {}).get("number") if isinstance(data.get("version"), dict) else None
    link = data.get("_links") or {}
    base = safe_link(link.get("base"), c) or api.root
    webui = link.get("webui") if isinstance(link.get("webui"), str) else None
    url = (safe_link(base.rstrip("/") + webui, c) if webui and webui.startswith("/") else None)
    page_id = str(data["id"])
    return Page(page_id, int(version or 1),
                url or f"{api.root.rstrip('/')}/pages/viewpage.action?pageId={page_id}",
                str(data.get("title") or ""))


def _title_taken(answer: Response, c: Connection) -> bool:
    return answer.status in (400, 409) and "already exists" in c.their_words(answer).lower()


def _title_error(c: Connection, answer: Response, title: str, key: str) -> IntegrationError:
    return IntegrationError(
        f"Confluence already has a page titled “{title}” in space {key}, so TFTSR did not "
        "create another. Rename the document (its title becomes the page title), or rename or "
        f"move that page in Confluence, then publish again. (HTTP {answer.status}: "
        f"{c.their_words(answer)})", code="integration_conflict", status=answer.status)


def _create(c: Connection, api: Api, title: str, storage: str, entity: tuple[str, str],
            gate: Gate) -> Page:
    if api.flavour == "v2":
        url = c.url("/api/v2/pages", root=api.root)
        body = {"spaceId": api.space_id, "status": "current", "title": title,
                "body": {"representation": "storage", "value": storage}}
    else:
        url = c.url("/rest/api/content", root=api.root)
        body = {"type": "page", "title": title, "space": {"key": api.space_key},
                "body": {"storage": {"value": storage, "representation": "storage"}}}
    answer = c.request("POST", url, json_body=body, purpose="confluence_publish",
                       entity_type=entity[0], entity_id=entity[1], gate=gate)
    if answer.status not in (200, 201):
        if _title_taken(answer, c):
            raise _title_error(c, answer, title, api.space_key)
        raise c.failure(answer, doing=f"create pages in space {api.space_key}",
                        not_found=_space_missing(api.space_key))
    return _page_from(c, api, answer.json(), "create the page")


def _current(c: Connection, api: Api, page_id: str, entity: tuple[str, str]) -> tuple[int, str] | None:
    """The page's version and status on the site, or None when it is gone."""
    if api.flavour == "v2":
        url = c.url(f"/api/v2/pages/{page_id}", root=api.root)
    else:
        url = c.url(f"/rest/api/content/{page_id}", {"expand": "version"}, root=api.root)
    answer = c.request("GET", url, purpose="confluence_page", entity_type=entity[0],
                       entity_id=entity[1])
    if answer.status == 404:
        return None
    if answer.status != 200:
        raise c.failure(answer, doing="read the published page")
    data = answer.json()
    if not isinstance(data, dict) or not isinstance(data.get("version"), dict):
        raise c.unexpected("read the published page")
    status = str(data.get("status") or "current")
    if status not in ("current", "draft"):
        return None  # trashed, archived, deleted
    return int(data["version"].get("number") or 1), status


def _put(c: Connection, api: Api, page_id: str, version: int, title: str, storage: str,
         entity: tuple[str, str], gate: Gate) -> Response:
    """Send the page as ``version`` (the site's current version + 1, or it answers 409)."""
    if api.flavour == "v2":
        url = c.url(f"/api/v2/pages/{page_id}", root=api.root)
        body = {"id": page_id, "status": "current", "title": title,
                "body": {"representation": "storage", "value": storage},
                "version": {"number": version, "message": "Updated from TFTSR"}}
    else:
        url = c.url(f"/rest/api/content/{page_id}", root=api.root)
        body = {"id": page_id, "type": "page", "title": title,
                "body": {"storage": {"value": storage, "representation": "storage"}},
                "version": {"number": version}}
    return c.request("PUT", url, json_body=body, purpose="confluence_publish",
                     entity_type=entity[0], entity_id=entity[1], gate=gate)


def _updated(c: Connection, api: Api, answer: Response, version: int, title: str) -> Page:
    if answer.status != 200:
        if _title_taken(answer, c):
            raise _title_error(c, answer, title, api.space_key)
        raise c.failure(answer, doing="update the page")
    page = _page_from(c, api, answer.json(), "update the page")
    page.version = max(page.version, version)
    return page


def _update(c: Connection, api: Api, link: dict, title: str, storage: str, entity: tuple[str, str],
            gate: Gate, overwrite: bool) -> Page | None:
    """Publish over the page TFTSR made before; None when it is gone from the site.

    The page is sent as the version after the one TFTSR published: a site where someone
    edited it since answers 409, and that is reported (or, with ``overwrite``, the page is
    sent again as the version after the site's current one)."""
    version = link["version"] + 1
    answer = _put(c, api, link["remote_id"], version, title, storage, entity, gate)
    if answer.status == 409:
        current = _current(c, api, link["remote_id"], entity)
        if current is None:
            return None
        if not overwrite:
            raise c.failure(answer, doing="update the page",
                            conflict=_conflict_text(link["version"], current[0]))
        version = current[0] + 1
        answer = _put(c, api, link["remote_id"], version, title, storage, entity, gate)
    if answer.status == 404:
        return None
    return _updated(c, api, answer, version, title)


def _conflict_text(ours: int, theirs: int | None) -> str:
    now = f" (it is at version {theirs} now)" if theirs else ""
    return (f"The Confluence page was edited in Confluence after TFTSR published version {ours}"
            f"{now}. Nothing was overwritten. Bring those edits into the document here, or "
            "publish again choosing to replace the page.")


def _multipart(filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = "tftsr-" + os.urandom(12).hex()
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{filename}\"\r\nContent-Type: image/png\r\n\r\n").encode("ascii")
    tail = (f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"minorEdit\"\r\n\r\n"
            f"true\r\n--{boundary}--\r\n").encode("ascii")
    return head + data + tail, f"multipart/form-data; boundary={boundary}"


def _attach_chart(c: Connection, api: Api, page_id: str, png: bytes, entity: tuple[str, str]) -> None:
    """Add or update the chart attachment (``PUT``: create or update). A site without that
    method gets ``POST`` (create), which is enough for a page that does not have it yet."""
    url = c.url(f"/rest/api/content/{page_id}/child/attachment", root=api.root)
    for method in ("PUT", "POST"):
        body, ctype = _multipart(ATTACHMENT_NAME, png)
        answer = c.request(method, url, content=body, content_type=ctype,
                           headers={"X-Atlassian-Token": "no-check"}, purpose="confluence_attachment",
                           entity_type=entity[0], entity_id=entity[1],
                           rendered_from=chart_png.RENDERED_FROM)
        if answer.status not in (404, 405, 501):  # 405/501: the method is not offered
            break
    if answer.status not in (200, 201):
        raise c.failure(answer, doing="attach files to the page")


def page_body(markdown: str, issue: dict, chart) -> str:
    """The page: a short provenance note, the incident's facts (no free text) and the
    document, with the chart after its Timeline heading."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
    facts = [("Severity", generate.label(issue["severity"])), ("Status", generate.label(issue["status"])),
             ("Opened", f"{issue['created_at']} UTC"),
             ("Resolved", f"{issue['resolved_at']} UTC" if issue.get("resolved_at") else "Not resolved")]
    rows = "".join(f"<tr><th>{storage_format.text(k)}</th><td>{storage_format.text(v)}</td></tr>"
                   for k, v in facts)
    intro = (f"<p><em>Published from TFTSR on {when} UTC. Personal data and secrets were replaced "
             "by placeholders such as [Email-1] before publishing.</em></p>"
             f"<table><tbody>{rows}</tbody></table>")

    def insert(heading: str) -> str | None:
        if chart is None or not _TIMELINE_HEADING.match(heading.strip()):
            return None
        return (storage_format.image_attachment(ATTACHMENT_NAME, chart.description)
                + f"<p><em>{storage_format.text(chart.description)}</em></p>")

    body = storage_format.convert(markdown, insert)
    if chart is not None and ATTACHMENT_NAME not in body:  # no Timeline heading: at the end
        body += "<h2>Timeline</h2>" + insert("Timeline")
    return intro + body


# -- publishing --------------------------------------------------------------------------------
def publish(app, document_id: str, *, overwrite: bool = False) -> dict:
    with app.db.connection() as db:
        doc = doc_store.get(db, document_id)
        issue = issue_store.get(db, doc["issue_id"])
        events = timeline.list_events(db, doc["issue_id"])
    c = connect(app, SERVICE)
    if not c.row.get("space_key"):
        raise NotConfigured(SERVICE, f"Set the Confluence space to publish to in {SETTINGS_HINT}.")
    issue_id = issue["id"]
    entity = ("document", document_id)
    gate = Gate(app, issue_id)
    # Redact first (so the user can be told what was removed), then cut.
    title, removed_title = gate.redact(" ".join(doc["title"].split()))
    title = cut(title, TITLE_LIMIT, "…")
    markdown, removed_body = gate.redact(without_leading_title(doc["content_md"]))
    source = ExportInput(doc, issue, events)
    chart = source.chart()
    storage = page_body(markdown, issue, chart)
    digest = sha256_text(title + "\n" + storage)
    warnings: list[str] = []
    with service_lock(app, SERVICE):
        api = detect(c, entity)
        with app.db.connection() as db:
            link = links.get(db, SERVICE, "document", document_id, c.origin)
        page = None
        if link is not None:
            page = _update(c, api, link, title, storage, entity, gate, overwrite)
            if page is None:
                warnings.append("The page TFTSR published before is no longer in Confluence "
                                "(deleted or archived), so a new page was created.")
        created = page is None
        if created:
            page = _create(c, api, title, storage, entity, gate)
        redacted = redaction_counts(removed_title, removed_body)
        with app.db.transaction() as db:
            links.save(db, service=SERVICE, entity_type="document", entity_id=document_id,
                       issue_id=issue_id, origin=c.origin, remote_id=page.id, remote_key=api.space_key,
                       url=page.url, version=page.version, content_sha256=digest,
                       state="created" if created else "updated")
            audit_record(db, "document_published", "document", document_id, {
                "service": SERVICE, "issue_id": issue_id, "doc_type": doc["doc_type"],
                "page_id": page.id, "version": page.version, "space_key": api.space_key,
                "api": api.flavour, "created": created, "url": page.url,
                "content_sha256": digest, "content_bytes": len(storage.encode("utf-8")),
                "redacted": redacted})
        chart_attached = None
        if chart is not None:
            try:
                _attach_chart(c, api, page.id, chart_png.to_png(chart), entity)
                chart_attached = True
            except IntegrationError as exc:
                chart_attached = False
                warnings.append("The page was published, but the timeline chart could not be "
                                f"attached: {exc.message}")
    kind = source.kind
    if created:
        message = (f"Published the {kind.lower()} to Confluence as a new page in space "
                   f"{api.space_key}.")
    else:
        message = f"Updated the Confluence page (now version {page.version})."
    if redacted:
        n = sum(redacted.values())
        message += f" {n} sensitive value{'s were' if n != 1 else ' was'} replaced by placeholders."
    return {"service": SERVICE, "document_id": document_id, "page_id": page.id,
            "version": page.version, "url": page.url, "title": title, "created": created,
            "space_key": api.space_key, "chart_attached": chart_attached, "redacted": redacted,
            "warnings": warnings, "message": " ".join([message, *warnings])}
