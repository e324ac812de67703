"""Azure DevOps Services (work item tracking) on loopback, written from Microsoft's public
REST documentation (api-version 7.1).

* ``GET {org}/_apis/projects/{project}`` → the project, or 404
  ``ProjectDoesNotExistWithNameException``.
* ``POST {org}/{project}/_apis/wit/workitems/${type}`` with ``Content-Type:
  application/json-patch+json`` and a JSON Patch list → 200 ``{id, rev, fields, url,
  _links: {html: {href}}}``; an unknown type is 404 ``WorkItemTypeNotFoundException``; a
  missing title or an unknown identity in ``System.AssignedTo`` is 400 (TF401320).
* ``PATCH {org}/{project}/_apis/wit/workitems/{id}`` (JSON Patch) → rev + 1; unknown id 404.
* ``POST {org}/{project}/_apis/wit/wiql`` ``{"query"}`` → ``{"workItems": [{id, url}]}``;
  ``GET {org}/{project}/_apis/wit/workitems?ids=…`` → ``{"count", "value"}``.
* Every call needs ``api-version`` (400 ``VssVersionNotSpecifiedException``) and a PAT as
  ``Basic base64(":" + PAT)`` (401 ``UnauthorizedRequestException``). ``expired=True``
  answers like an expired token can: 203 with an HTML sign-in page.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from tests.fakes.base import Handler, Recorded
from tests.fakes.rest_service import FakeService

PATCH_TYPE = "application/json-patch+json"


class FakeAzureDevOps(FakeService):
    def __init__(self, *, org: str = "contoso", project: str = "Ops Team",
                 pat: str = "fakeadopat5k3q7x2m9v4b8n1c6z0l3j5h7g9f2d4s6a8p0o",
                 types: tuple[str, ...] = ("Task", "Bug", "User Story", "Epic", "Feature"),
                 identities: tuple[str, ...] = ("Dana Scully", "Fox Mulder")):
        super().__init__()
        self.org, self.project, self.pat = org, project, pat
        self.types, self.identities = types, identities
        self.expired = False
        self.items: dict[int, dict] = {}
        self._next = 1

    @property
    def base_url(self) -> str:
        return f"{self.url}/{self.org}"

    def settings(self, **overrides) -> dict:
        return {"service": "azuredevops", "base_url": self.base_url, "token": self.pat,
                "project_name": self.project, **overrides}

    def error_body(self, status, message):
        return {"$id": "1", "innerException": None, "message": message, "typeKey": "VssServiceException",
                "errorCode": 0, "eventId": 3000}

    def fail(self, h: Handler, status: int, message: str, type_key: str) -> None:
        self.reply(h, status, {"$id": "1", "innerException": None, "message": message,
                               "typeName": f"Microsoft.TeamFoundation.{type_key}, Microsoft.TeamFoundation",
                               "typeKey": type_key, "errorCode": 0, "eventId": 3000})

    def route(self, h: Handler, req: Recorded) -> None:
        org = f"/{self.org}"
        if not req.path.startswith(org + "/"):
            return self.reply_text(h, 404, "<html><title>404 - Not Found</title></html>")
        if self.basic(req) is None or self.basic(req)[1] != self.pat:
            return self.fail(h, 401, "TF400813: The user '' is not authorized to access this "
                             "resource.", "UnauthorizedRequestException")
        if self.expired:
            return self.reply_text(h, 203, "<html><head><title>Sign In</title></head><body>"
                                   "Azure DevOps Services | Sign In</body></html>")
        if not self.arg(req, "api-version"):
            return self.fail(h, 400, f'No api-version was supplied for the "{req.method}" request. '
                             "The version must be supplied either as part of the Accept header "
                             '(e.g. "application/json; api-version=1.0") or as a query parameter '
                             '(e.g. "?api-version=1.0").', "VssVersionNotSpecifiedException")
        rest = req.path[len(org):]
        m = re.match(r"^/_apis/projects/([^/]+)$", rest)
        if m and req.method == "GET":
            return self.get_project(h, unquote(m.group(1)))
        m = re.match(r"^/([^/]+)/_apis/wit/(.+)$", rest)
        if not m:
            return self.reply_text(h, 404, "<html><title>404 - Not Found</title></html>")
        project, tail = unquote(m.group(1)), m.group(2)
        if project != self.project:
            return self.fail(h, 404, f"TF200016: The following project does not exist: {project}. "
                             "Verify that the name of the project is correct and that the project "
                             "exists on the specified Azure DevOps Server.",
                             "ProjectDoesNotExistWithNameException")
        m = re.match(r"^workitems/\$(.+)$", tail)
        if m and req.method == "POST":
            return self.create(h, req, unquote(m.group(1)))
        m = re.match(r"^workitems/(\d+)$", tail)
        if m and req.method == "PATCH":
            return self.update(h, req, int(m.group(1)))
        if tail == "wiql" and req.method == "POST":
            return self.wiql(h, req)
        if tail == "workitems" and req.method == "GET":
            return self.list_items(h, req)
        return self.reply_text(h, 404, "<html><title>404 - Not Found</title></html>")

    def get_project(self, h, name):
        if name != self.project:
            return self.fail(h, 404, f"TF200016: The following project does not exist: {name}.",
                             "ProjectDoesNotExistWithNameException")
        return self.reply(h, 200, {"id": "eb6e4656-77fc-42a1-9181-4c6d8e9da5d1", "name": self.project,
                                   "state": "wellFormed", "visibility": "private",
                                   "url": f"{self.base_url}/_apis/projects/eb6e4656"})

    # -- work items ------------------------------------------------------------------------------
    def _shape(self, item: dict) -> dict:
        return {"id": item["id"], "rev": item["rev"], "fields": dict(item["fields"]),
                "url": f"{self.base_url}/_apis/wit/workItems/{item['id']}",
                "_links": {"html": {"href": f"{self.base_url}/{self.project.replace(' ', '%20')}"
                                            f"/_workitems/edit/{item['id']}"},
                           "self": {"href": f"{self.base_url}/_apis/wit/workItems/{item['id']}"}}}

    def _ops(self, h, req) -> list[dict] | None:
        ctype = req.headers.get("content-type", "")
        if not ctype.startswith(PATCH_TYPE):
            self.violations.append(f"{req.method} {req.path}: content type {ctype}")
            self.fail(h, 415, f'The request indicated a Content-Type of "{ctype}" for method type '
                      f'"{req.method}" which is not supported. Valid content types for this method '
                      f'are: {PATCH_TYPE}.', "VssRequestContentTypeNotSupportedException")
            return None
        ops = self.json_body(req)
        if not isinstance(ops, list) or not all(
                isinstance(o, dict) and o.get("op") in ("add", "replace", "remove", "test")
                and isinstance(o.get("path"), str) for o in ops):
            self.violations.append(f"{req.method} {req.path}: not a JSON Patch document")
            self.fail(h, 400, "You must pass a valid patch document in the body of the request.",
                      "VssPropertyValidationException")
            return None
        return ops

    def _apply(self, h, fields: dict, ops: list[dict]) -> bool:
        for op in ops:
            if not op["path"].startswith("/fields/"):
                continue
            name = op["path"][len("/fields/"):]
            if op["op"] == "remove":
                fields.pop(name, None)
                continue
            value = op.get("value")
            if name == "System.AssignedTo" and value not in self.identities:
                self.fail(h, 400, f"TF401320: Rule Error for field Assigned To. Error code: "
                          f"InvalidNotEmpty. The identity value '{value}' for field 'Assigned To' "
                          "is an unknown identity.", "WorkItemFieldInvalidException")
                return False
            fields[name] = value
        if not str(fields.get("System.Title") or "").strip():
            self.fail(h, 400, "TF401320: Rule Error for field Title. Error code: Required, HasValues, "
                      "LimitedToValues, AllowsOldValue, InAdmin.", "RuleValidationException")
            return False
        return True

    def create(self, h, req, wtype):
        if wtype not in self.types:
            return self.fail(h, 404, f"VS402323: Work item type {wtype} does not exist in project "
                             f"{self.project} or you do not have permission to access it.",
                             "WorkItemTypeNotFoundException")
        ops = self._ops(h, req)
        if ops is None:
            return None
        fields = {"System.WorkItemType": wtype, "System.State": "New",
                  "System.TeamProject": self.project}
        if not self._apply(h, fields, ops):
            return None
        item = {"id": self._next, "rev": 1, "fields": fields}
        self.items[item["id"]] = item
        self._next += 1
        return self.reply(h, 200, self._shape(item))

    def update(self, h, req, wid):
        item = self.items.get(wid)
        if item is None:
            return self.fail(h, 404, f"TF401232: Work item {wid} does not exist, or you do not have "
                             "permissions to read it.", "WorkItemUnauthorizedAccessException")
        ops = self._ops(h, req)
        if ops is None:
            return None
        fields = dict(item["fields"])
        if not self._apply(h, fields, ops):
            return None
        item["fields"] = fields
        item["rev"] += 1
        return self.reply(h, 200, self._shape(item))

    def wiql(self, h, req):
        body = self.json_body(req)
        query = body.get("query") if isinstance(body, dict) else None
        if not isinstance(query, str) or not query.upper().startswith("SELECT"):
            return self.fail(h, 400, "TF51006: The query statement is missing a SELECT clause.",
                             "QuerySyntaxException")
        words = [w.replace("''", "'").lower() for w in re.findall(r"CONTAINS '((?:[^']|'')*)'", query)]
        found = [i for i in self.items.values()
                 if any(w in str(i["fields"].get("System.Title", "")).lower() for w in words)]
        top = int(self.arg(req, "$top", "20000"))
        return self.reply(h, 200, {"queryType": "flat", "asOf": "2026-03-01T00:00:00Z",
                                   "workItems": [{"id": i["id"], "url": self._shape(i)["url"]}
                                                 for i in found[:top]]})

    def list_items(self, h, req):
        ids = [int(x) for x in (self.arg(req, "ids", "") or "").split(",") if x.strip().isdigit()]
        wanted = [f for f in (self.arg(req, "fields", "") or "").split(",") if f]
        value = []
        for wid in ids:
            item = self.items.get(wid)
            if item is None:
                continue
            shaped = self._shape(item)
            if wanted:
                shaped["fields"] = {k: v for k, v in shaped["fields"].items() if k in wanted}
            value.append(shaped)
        return self.reply(h, 200, {"count": len(value), "value": value})
