"""ServiceNow's Table API on loopback, written from ServiceNow's public REST documentation.

* ``GET /api/now/table/{table}`` with ``sysparm_query`` (encoded query: ``^`` AND, ``^OR``
  OR, ``=``, ``LIKE``, ``ORDERBY``/``ORDERBYDESC``), ``sysparm_limit``, ``sysparm_fields``
  → ``{"result": [...]}``; tables ``incident`` and ``kb_knowledge``.
* ``POST /api/now/table/incident`` → 201, a ``Location`` header and ``{"result": {…,
  "number": "INC0010001", "sys_id": …}}``.
* ``PATCH`` / ``PUT /api/now/table/incident/{sys_id}`` → 200 ``{"result": …}``; an unknown
  sys_id is 404 ``{"error": {"message": "No Record found", …}, "status": "failure"}``.
* Auth: Basic user:password, or ``Authorization: Bearer`` with an OAuth token; otherwise
  401 ``{"error": {"message": "User Not Authenticated", "detail": "Required to provide
  Auth information"}, "status": "failure"}``.
"""

from __future__ import annotations

import itertools
import re
import uuid

from tests.fakes.base import Handler, Recorded
from tests.fakes.rest_service import FakeService

STATES = {"1": "New", "2": "In Progress", "3": "On Hold", "6": "Resolved", "7": "Closed",
          "8": "Canceled"}


def matches(record: dict, query: str) -> bool:
    """A subset of encoded queries: AND groups (``^``) of OR terms (``^OR``)."""
    clauses = [c for c in query.split("^") if c and not c.startswith("ORDERBY")]
    groups: list[list[str]] = []
    for clause in clauses:
        if clause.startswith("OR") and groups:
            groups[-1].append(clause[2:])
        else:
            groups.append([clause])
    for group in groups:
        ok = False
        for term in group:
            m = re.match(r"^(\w+?)(LIKE|!=|=)(.*)$", term)
            if not m:
                continue
            field, op, value = m.groups()
            actual = str(record.get(field, ""))
            if (op == "LIKE" and value.lower() in actual.lower()) or (op == "=" and actual == value) \
                    or (op == "!=" and actual != value):
                ok = True
        if not ok:
            return False
    return True


class FakeServiceNow(FakeService):
    def __init__(self, *, user: str = "tftsr.integration", password: str = "Sn0w-fake-p4ss-2291",
                 oauth_token: str | None = None):
        super().__init__()
        self.user, self.password, self.oauth_token = user, password, oauth_token
        self.tables: dict[str, list[dict]] = {"incident": [], "kb_knowledge": []}
        self._numbers = itertools.count(10001)

    @property
    def base_url(self) -> str:
        return self.url

    def settings(self, **overrides) -> dict:
        """Arguments for ``save_integration``: Basic user:password, or the OAuth token."""
        if self.oauth_token:
            return {"service": "servicenow", "base_url": self.base_url, "token": self.oauth_token,
                    **overrides}
        return {"service": "servicenow", "base_url": self.base_url, "username": self.user,
                "token": self.password, **overrides}

    def add_article(self, number: str, short_description: str, text: str) -> None:
        self.tables["kb_knowledge"].append({"sys_id": uuid.uuid4().hex, "number": number,
                                            "short_description": short_description, "text": text,
                                            "workflow_state": "published"})

    def incidents(self) -> list[dict]:
        return self.tables["incident"]

    def error_body(self, status, message):
        return {"error": {"message": message, "detail": None}, "status": "failure"}

    def fail(self, h: Handler, status: int, message: str, detail: str | None = None) -> None:
        self.reply(h, status, {"error": {"message": message, "detail": detail}, "status": "failure"})

    def authorised(self, req: Recorded) -> bool:
        if self.basic(req) == (self.user, self.password):
            return True
        return self.oauth_token is not None and self.bearer(req) == self.oauth_token

    @staticmethod
    def fields(record: dict, req: Recorded) -> dict:
        wanted = [f for f in ",".join(req.query.get("sysparm_fields", [])).split(",") if f]
        return {k: record.get(k, "") for k in wanted} if wanted else dict(record)

    def route(self, h: Handler, req: Recorded) -> None:
        m = re.match(r"^/api/now/table/(\w+)(?:/([0-9a-f]{32}))?$", req.path)
        if not m:
            return self.fail(h, 400, "Requested URI does not represent any resource",
                             f"{req.path} is not a valid URI")
        if not self.authorised(req):
            return self.fail(h, 401, "User Not Authenticated", "Required to provide Auth information")
        table, sys_id = m.groups()
        if table not in self.tables:
            return self.fail(h, 400, "Invalid table " + table)
        records = self.tables[table]
        if req.method == "GET" and sys_id is None:
            query = self.arg(req, "sysparm_query", "") or ""
            found = [r for r in records if matches(r, query)]
            if "ORDERBYDESC" in query:
                found.reverse()
            limit = int(self.arg(req, "sysparm_limit", "10000"))
            return self.reply(h, 200, {"result": [self.fields(r, req) for r in found[:limit]]})
        if req.method == "POST" and sys_id is None:
            return self.create(h, req, table)
        record = next((r for r in records if r["sys_id"] == sys_id), None) if sys_id else None
        if record is None:
            return self.fail(h, 404, "No Record found",
                             "Record doesn't exist or ACL restricts the record retrieval")
        if req.method == "GET":
            return self.reply(h, 200, {"result": self.fields(record, req)})
        if req.method in ("PATCH", "PUT"):
            body = self.json_body(req)
            if not isinstance(body, dict):
                return self.fail(h, 400, "Exception while reading request", "The payload is not valid JSON.")
            record.update({k: str(v) for k, v in body.items() if k not in ("sys_id", "number")})
            record["sys_mod_count"] = str(int(record.get("sys_mod_count", "0")) + 1)
            return self.reply(h, 200, {"result": self.fields(record, req)})
        return self.fail(h, 405, "Method not Supported")

    def create(self, h: Handler, req: Recorded, table: str) -> None:
        body = self.json_body(req)
        if not isinstance(body, dict):
            return self.fail(h, 400, "Exception while reading request", "The payload is not valid JSON.")
        for field in ("urgency", "impact"):
            if field in body and str(body[field]) not in ("1", "2", "3"):
                self.violations.append(f"{field} must be 1, 2 or 3, got {body[field]!r}")
        if not str(body.get("short_description", "")).strip():
            self.violations.append("an incident without a short description")
        record = {k: str(v) for k, v in body.items()}
        record.update(sys_id=uuid.uuid4().hex, number=f"INC{next(self._numbers):07d}",
                      state=record.get("state", "1"), sys_mod_count="0")
        self.tables[table].append(record)
        location = f"{self.base_url}/api/now/table/{table}/{record['sys_id']}"
        return self.reply(h, 201, {"result": self.fields(record, req)}, {"Location": location})
