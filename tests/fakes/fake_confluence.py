"""Confluence on loopback, written from Atlassian's public REST documentation.

Two modes, as the real product comes:

* ``cloud`` — the site lives under ``/wiki``; REST v2 for spaces and pages
  (``GET /wiki/api/v2/spaces?keys=``, ``POST /wiki/api/v2/pages``, ``GET``/``PUT
  /wiki/api/v2/pages/{id}``), v1 for attachments and CQL search; Basic auth with the
  account's email and an API token. v2 errors: ``{"errors": [{"status", "code", "title"}]}``.
* ``datacenter`` — REST v1 only at the site root (``GET /rest/api/space/{key}``, ``POST
  /rest/api/content``, ``GET``/``PUT /rest/api/content/{id}``); a personal access token as
  ``Authorization: Bearer``. v1 errors: ``{"statusCode", "message"}``.

Both: creating a page whose title exists in the space is a 400 ("A page with this title
already exists"); an update must carry ``version.number`` = current + 1 (409 otherwise);
``PUT /rest/api/content/{id}/child/attachment`` (multipart, ``X-Atlassian-Token:
no-check`` or 403) adds or updates an attachment; ``GET /rest/api/search?cql=`` finds pages
by text. The storage-format body must be well-formed XML. ``edit_page`` plays someone
editing the page in Confluence.
"""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from email.parser import BytesParser
from email.policy import HTTP

from tests.fakes.base import Handler, Recorded
from tests.fakes.rest_service import FakeService

_CQL_TEXT = re.compile(r'text\s*~\s*"([^"]*)"')


def well_formed(storage: str) -> bool:
    doc = ('<root xmlns:ac="http://atlassian.com/content" xmlns:ri="http://atlassian.com/resource">'
           + storage + "</root>")
    try:
        ET.fromstring(doc)
        return True
    except ET.ParseError:
        return False


class FakeConfluence(FakeService):
    def __init__(self, *, mode: str = "cloud", email: str = "publisher@corp.test",
                 token: str = "ATATT3xFfGF0-fake-confluence-api-token-7781",
                 spaces: dict[str, str] | None = None):
        super().__init__()
        assert mode in ("cloud", "datacenter")
        self.mode, self.email, self.token = mode, email, token
        self.prefix = "/wiki" if mode == "cloud" else ""
        self.spaces = {key: {"id": str(98304 + i), "key": key, "name": name, "type": "global"}
                       for i, (key, name) in enumerate((spaces or {"OPS": "Operations"}).items())}
        self.pages: dict[str, dict] = {}
        self.attachments: dict[str, dict[str, list[bytes]]] = {}
        self.fail_attachments = False  # answer attachment uploads with a 500
        self._ids = itertools.count(163841)

    @property
    def base_url(self) -> str:
        return self.url + self.prefix

    # -- helpers for tests ---------------------------------------------------------------------
    def settings(self, **overrides) -> dict:
        """Arguments for ``save_integration`` that work against this fake."""
        out = {"service": "confluence", "base_url": self.base_url, "token": self.token,
               "space_key": "OPS"}
        if self.mode == "cloud":
            out["username"] = self.email
        return {**out, **overrides}

    def edit_page(self, page_id: str, text: str = "<p>Edited in Confluence</p>") -> None:
        page = self.pages[page_id]
        page["body"] = text
        page["version"] += 1

    def delete_page(self, page_id: str) -> None:
        self.pages[page_id]["status"] = "deleted"

    def page_list(self) -> list[dict]:
        return [p for p in self.pages.values() if p["status"] == "current"]

    # -- error shapes ---------------------------------------------------------------------------
    def _v2(self, req: Recorded) -> bool:
        return "/api/v2/" in req.path

    def error_body(self, status, message):
        return {"statusCode": status, "message": message}

    def fail(self, h: Handler, req: Recorded, status: int, message: str, code: str) -> None:
        if self._v2(req):
            self.reply(h, status, {"errors": [{"status": status, "code": code, "title": message,
                                               "detail": None}]})
        else:
            self.reply(h, status, {"statusCode": status, "data": {"authorized": status != 401,
                                   "valid": False, "errors": []}, "message": message,
                                   "reason": code.replace("_", " ").title()})

    def authorised(self, req: Recorded) -> bool:
        if self.mode == "cloud":
            return self.basic(req) == (self.email, self.token)
        return self.bearer(req) == self.token

    # -- shapes ---------------------------------------------------------------------------------
    def _links(self, page: dict) -> dict:
        space_key = next(k for k, s in self.spaces.items() if s["id"] == page["spaceId"])
        return {"webui": f"/spaces/{space_key}/pages/{page['id']}", "base": self.base_url,
                "editui": f"/pages/resumedraft.action?draftId={page['id']}"}

    def page_v2(self, page: dict) -> dict:
        return {"id": page["id"], "status": page["status"], "title": page["title"],
                "spaceId": page["spaceId"], "authorId": "5b10ac8d82e05b22cc7d4ef5",
                "version": {"number": page["version"], "message": page.get("message", ""),
                            "minorEdit": False, "authorId": "5b10ac8d82e05b22cc7d4ef5"},
                "body": {"storage": {"representation": "storage", "value": page["body"]}},
                "_links": self._links(page)}

    def page_v1(self, page: dict) -> dict:
        space = next(s for s in self.spaces.values() if s["id"] == page["spaceId"])
        return {"id": page["id"], "type": "page", "status": page["status"], "title": page["title"],
                "space": {"id": int(space["id"]), "key": space["key"], "name": space["name"]},
                "version": {"number": page["version"], "minorEdit": False},
                "_links": {**self._links(page), "self": f"{self.base_url}/rest/api/content/{page['id']}"}}

    # -- routing --------------------------------------------------------------------------------
    def route(self, h: Handler, req: Recorded) -> None:
        p = self.prefix
        path = req.path
        v2 = self.mode == "cloud"
        routes = [
            ("GET", rf"^{p}/api/v2/spaces$", self.get_spaces_v2, v2),
            ("POST", rf"^{p}/api/v2/pages$", self.create_v2, v2),
            ("GET", rf"^{p}/api/v2/pages/(\d+)$", self.get_page_v2, v2),
            ("PUT", rf"^{p}/api/v2/pages/(\d+)$", self.update_v2, v2),
            ("GET", rf"^{p}/rest/api/space/([^/]+)$", self.get_space_v1, not v2),
            ("POST", rf"^{p}/rest/api/content$", self.create_v1, not v2),
            ("GET", rf"^{p}/rest/api/content/(\d+)$", self.get_page_v1, not v2),
            ("PUT", rf"^{p}/rest/api/content/(\d+)$", self.update_v1, not v2),
            ("PUT", rf"^{p}/rest/api/content/(\d+)/child/attachment$", self.attach, True),
            ("POST", rf"^{p}/rest/api/content/(\d+)/child/attachment$", self.attach, True),
            ("GET", rf"^{p}/rest/api/search$", self.search, True),
        ]
        for method, pattern, handler, enabled in routes:
            m = re.match(pattern, path)
            if m and enabled:
                if req.method != method:
                    continue
                if not self.authorised(req):
                    self.fail(h, req, 401, "Client must be authenticated to access this resource.",
                              "UNAUTHORIZED")
                    return
                handler(h, req, *m.groups())
                return
        self.reply_text(h, 404, "<html><head><title>Page Not Found</title></head><body>404</body></html>")

    # v2 -------------------------------------------------------------------------------------
    def get_spaces_v2(self, h, req):
        keys = set(",".join(req.query.get("keys", [])).split(",")) - {""}
        found = [s for k, s in self.spaces.items() if not keys or k in keys]
        limit = int(self.arg(req, "limit", "25"))
        self.reply(h, 200, {"results": found[:limit], "_links": {"base": self.base_url}})

    def _validate_page(self, h, req, title, storage, representation) -> bool:
        if not isinstance(title, str) or not title.strip():
            self.fail(h, req, 400, "Title is required", "INVALID_REQUEST_PARAMETER")
            return False
        if len(title) > 255:
            self.fail(h, req, 400, "Title must be 255 characters or fewer", "INVALID_REQUEST_PARAMETER")
            return False
        if representation != "storage" or not isinstance(storage, str):
            self.fail(h, req, 400, "Unsupported body representation", "INVALID_REQUEST_PARAMETER")
            return False
        if not well_formed(storage):
            self.violations.append(f"{req.method} {req.path}: storage format is not well-formed")
            self.fail(h, req, 400, "Error parsing xhtml: Unexpected close tag", "INVALID_REQUEST_PARAMETER")
            return False
        return True

    def _title_taken(self, space_id: str, title: str, except_id: str | None = None) -> bool:
        return any(p["spaceId"] == space_id and p["title"].lower() == title.lower()
                   and p["status"] == "current" and p["id"] != except_id for p in self.pages.values())

    def _new_page(self, space_id: str, title: str, storage: str) -> dict:
        page = {"id": str(next(self._ids)), "status": "current", "title": title, "spaceId": space_id,
                "version": 1, "body": storage}
        self.pages[page["id"]] = page
        return page

    def create_v2(self, h, req):
        body = self.json_body(req)
        if not isinstance(body, dict):
            return self.fail(h, req, 400, "Invalid JSON", "INVALID_REQUEST_PARAMETER")
        space_id = str(body.get("spaceId") or "")
        if space_id not in {s["id"] for s in self.spaces.values()}:
            return self.fail(h, req, 404, "Space not found", "NOT_FOUND")
        content = body.get("body") or {}
        if not self._validate_page(h, req, body.get("title"), content.get("value"),
                                   content.get("representation")):
            return None
        if self._title_taken(space_id, body["title"]):
            return self.fail(h, req, 400, "A page with this title already exists: A page already "
                             "exists with the same TITLE in this space", "BAD_REQUEST")
        page = self._new_page(space_id, body["title"], content["value"])
        return self.reply(h, 200, self.page_v2(page))

    def _page(self, page_id):
        page = self.pages.get(page_id)
        return page if page and page["status"] != "deleted" else None

    def get_page_v2(self, h, req, page_id):
        page = self._page(page_id)
        if page is None:
            return self.fail(h, req, 404, "Page not found", "NOT_FOUND")
        return self.reply(h, 200, self.page_v2(page))

    def _update(self, h, req, page_id, body, title, storage, representation, shape):
        page = self._page(page_id)
        if page is None:
            return self.fail(h, req, 404, "Page not found", "NOT_FOUND")
        version = (body.get("version") or {}).get("number")
        if version != page["version"] + 1:
            return self.fail(h, req, 409, "Version must be incremented when updating a page. "
                             f"Current Version: [{page['version']}]. Provided version: [{version}]",
                             "CONFLICT")
        if not self._validate_page(h, req, title, storage, representation):
            return None
        if self._title_taken(page["spaceId"], title, except_id=page_id):
            return self.fail(h, req, 400, "A page with this title already exists", "BAD_REQUEST")
        page.update(title=title, body=storage, version=version,
                    message=(body.get("version") or {}).get("message", ""))
        return self.reply(h, 200, shape(page))

    def update_v2(self, h, req, page_id):
        body = self.json_body(req) or {}
        content = body.get("body") or {}
        if str(body.get("id")) != page_id or body.get("status") != "current":
            return self.fail(h, req, 400, "id and status are required", "INVALID_REQUEST_PARAMETER")
        return self._update(h, req, page_id, body, body.get("title"), content.get("value"),
                            content.get("representation"), self.page_v2)

    # v1 -------------------------------------------------------------------------------------
    def get_space_v1(self, h, req, key):
        space = self.spaces.get(key)
        if space is None:
            return self.fail(h, req, 404, f"No space found with key : {key}", "NOT_FOUND")
        return self.reply(h, 200, {**space, "id": int(space["id"]),
                                   "_links": {"webui": f"/display/{key}", "base": self.base_url}})

    def create_v1(self, h, req):
        body = self.json_body(req)
        if not isinstance(body, dict) or body.get("type") != "page":
            return self.fail(h, req, 400, "Content type is required", "BAD_REQUEST")
        key = (body.get("space") or {}).get("key")
        space = self.spaces.get(key)
        if space is None:
            return self.fail(h, req, 404, f"No space found with key : {key}", "NOT_FOUND")
        storage = (body.get("body") or {}).get("storage") or {}
        if not self._validate_page(h, req, body.get("title"), storage.get("value"),
                                   storage.get("representation")):
            return None
        if self._title_taken(space["id"], body["title"]):
            return self.fail(h, req, 400, "A page with this title already exists: A page already "
                             f"exists with the title {body['title']} in the space with key {key}",
                             "BAD_REQUEST")
        page = self._new_page(space["id"], body["title"], storage["value"])
        return self.reply(h, 200, self.page_v1(page))

    def get_page_v1(self, h, req, page_id):
        page = self._page(page_id)
        if page is None:
            return self.fail(h, req, 404, f"No content found with id: ContentId{{id={page_id}}}",
                             "NOT_FOUND")
        return self.reply(h, 200, self.page_v1(page))

    def update_v1(self, h, req, page_id):
        body = self.json_body(req) or {}
        if body.get("type") != "page":
            return self.fail(h, req, 400, "Content type is required", "BAD_REQUEST")
        storage = (body.get("body") or {}).get("storage") or {}
        return self._update(h, req, page_id, body, body.get("title"), storage.get("value"),
                            storage.get("representation"), self.page_v1)

    # attachments and search ------------------------------------------------------------------
    def attach(self, h, req, page_id):
        if self.fail_attachments:
            return self.fail(h, req, 500, "Internal server error", "INTERNAL_SERVER_ERROR")
        if req.headers.get("x-atlassian-token") != "no-check":
            return self.fail(h, req, 403, "XSRF check failed", "FORBIDDEN")
        if self._page(page_id) is None:
            return self.fail(h, req, 404, "Content not found", "NOT_FOUND")
        ctype = req.headers.get("content-type", "")
        if not ctype.startswith("multipart/form-data; boundary="):
            return self.fail(h, req, 415, "Unsupported Media Type", "UNSUPPORTED_MEDIA_TYPE")
        message = BytesParser(policy=HTTP).parsebytes(
            f"Content-Type: {ctype}\r\n\r\n".encode() + req.body)
        files = [part for part in message.iter_parts()
                 if part.get_param("name", header="content-disposition") == "file"]
        if not files:
            return self.fail(h, req, 400, "No file part", "BAD_REQUEST")
        name = files[0].get_filename()
        data = files[0].get_payload(decode=True)
        self.attachments.setdefault(page_id, {}).setdefault(name, []).append(data)
        return self.reply(h, 200, {"results": [{"id": f"att{page_id}", "type": "attachment",
                                                "title": name, "version": {
                                                    "number": len(self.attachments[page_id][name])}}],
                                   "size": 1})

    def search(self, h, req):
        cql = self.arg(req, "cql", "") or ""
        m = _CQL_TEXT.search(cql)
        if not m:
            return self.fail(h, req, 400, "Could not parse cql", "BAD_REQUEST")
        words = [w.lower() for w in m.group(1).split()]
        results = []
        for page in self.page_list():
            hay = (page["title"] + " " + page["body"]).lower()
            if any(w in hay for w in words):
                results.append({"content": {"id": page["id"], "type": "page", "title": page["title"],
                                            "_links": self._links(page)},
                                "title": page["title"], "excerpt": "@@@hl@@@"
                                + re.sub(r"<[^>]+>", " ", page["body"])[:200] + "@@@endhl@@@",
                                "url": self._links(page)["webui"]})
        limit = int(self.arg(req, "limit", "25"))
        return self.reply(h, 200, {"results": results[:limit], "size": len(results[:limit]),
                                   "_links": {"base": self.base_url}})
