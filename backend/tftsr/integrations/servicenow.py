"""ServiceNow (Table API): the incident as an ``incident`` record, resolved with notes.

* Create: ``POST /api/now/table/incident`` with ``short_description``, ``description``,
  ``impact``, ``urgency`` (from the severity), ``category`` and ``correlation_id``
  (``tftsr:<incident id>``, so the record can be traced back) → 201 and ``{"result":
  {"sys_id", "number": "INC…", …}}``. The number, sys_id and link are kept in
  ``external_links``; asking again updates that record (``PATCH …/incident/{sys_id}``)
  instead of opening another.
* Resolve: ``PATCH …/incident/{sys_id}`` with ``state`` 6 (Resolved), ``close_code`` and
  ``close_notes`` (root cause, action items, the published RCA's link).
* Auth: Basic user:password, or an OAuth bearer token (no user name given).

Severity → impact / urgency (ServiceNow's priority matrix then gives P1…P5): critical 1/1
(P1), high 1/2 (P2), medium 2/2 (P3), low 3/3 (P5).
"""

from __future__ import annotations

from tftsr.audit import record as audit_record
from tftsr.docs import generate
from tftsr.egress.gate import Gate, cut
from tftsr.errors import InvalidState, NotFound
from tftsr.integrations import links
from tftsr.integrations.common import (
    Connection,
    IntegrationError,
    Response,
    connect,
    redaction_counts,
    service_lock,
    sha256_text,
)

SERVICE = "servicenow"
TABLE = "/api/now/table/incident"
FIELDS = "sys_id,number,state,short_description"
RESOLVED_STATE = "6"
CLOSE_CODE = "Solution provided"
SEVERITY_IMPACT_URGENCY = {"critical": ("1", "1"), "high": ("1", "2"), "medium": ("2", "2"),
                           "low": ("3", "3")}
CATEGORIES = {
    "network": "network", "telephony": "network", "databases": "database",
    "hardware": "hardware", "hpe": "hardware", "dell": "hardware",
}
SHORT_LIMIT = 160
TEXT_LIMIT = 4000


def category_for(category: str | None) -> str:
    """ServiceNow's default incident categories: software, hardware, network, database,
    inquiry."""
    if not category:
        return "inquiry"
    return CATEGORIES.get(category, "software")


def record_url(c: Connection, sys_id: str) -> str:
    return f"{c.base_url}/nav_to.do?uri=incident.do%3Fsys_id%3D{sys_id}"


def test(app) -> str:
    c = connect(app, SERVICE)
    answer = c.request("GET", c.url(TABLE, {"sysparm_limit": 1, "sysparm_fields": "sys_id"}),
                       purpose="servicenow_test", entity_type="integration", entity_id=SERVICE)
    if answer.status != 200:
        raise c.failure(answer, doing="read incidents",
                        not_found="The address answers, but not with ServiceNow's Table API; "
                                  "use the instance address, such as https://INSTANCE.service-now.com.")
    if not isinstance((answer.json() or {}).get("result"), list):
        raise c.unexpected("read incidents")
    who = f" as {c.username}" if c.username else " with the OAuth token"
    return f"Connected to ServiceNow at {c.host}{who}; incidents can be read."


def _root_cause_text(rec) -> str | None:
    step = rec.root_cause
    if not step:
        return None
    return " ".join(str(step.get("answer") or step.get("why_question") or "").split()) or None


def _description(rec, gate: Gate) -> tuple[str, list]:
    i = rec.issue
    parts = [i.get("description") or "",
             f"Severity: {generate.label(i['severity'])}. Category: {rec.category_label}. "
             f"Opened in TFTSR at {i['created_at']} UTC (TFTSR incident {i['id']})."]
    root = _root_cause_text(rec)
    if root:
        parts.append(f"Root cause: {root}")
    text, removed = gate.redact("\n\n".join(p for p in parts if p.strip()))
    return cut(text, TEXT_LIMIT, "…"), removed


def _collect(app, issue_id: str):
    with app.db.connection() as db:
        return generate.collect(db, issue_id)


def _result(c: Connection, answer: Response, doing: str) -> dict:
    data = answer.json()
    result = data.get("result") if isinstance(data, dict) else None
    if not isinstance(result, dict) or not result.get("sys_id"):
        raise c.unexpected(doing)
    return result


def create(app, issue_id: str) -> dict:
    """Open (or bring up to date) the incident's ServiceNow record."""
    rec = _collect(app, issue_id)
    c = connect(app, SERVICE)
    gate = Gate(app, issue_id)
    short, removed_short = gate.redact(" ".join(rec.issue["title"].split()))
    short = cut(short, SHORT_LIMIT, "…")
    description, removed_desc = _description(rec, gate)
    impact, urgency = SEVERITY_IMPACT_URGENCY[rec.issue["severity"]]
    body = {"short_description": short, "description": description, "impact": impact,
            "urgency": urgency, "category": category_for(rec.issue.get("category"))}
    digest = sha256_text(repr(sorted(body.items())))
    redacted = redaction_counts(removed_short, removed_desc)
    warnings: list[str] = []
    entity = ("issue", issue_id)
    with service_lock(app, SERVICE):
        with app.db.connection() as db:
            link = links.get(db, SERVICE, "issue", issue_id, c.origin)
        if link is not None and link["content_sha256"] == digest:
            return {"service": SERVICE, "number": link["remote_key"], "sys_id": link["remote_id"],
                    "url": link["url"], "created": False, "updated": False, "redacted": redacted,
                    "warnings": [], "message": f"Already in ServiceNow as {link['remote_key']}; "
                                               "nothing changed since it was sent."}
        result = None
        if link is not None:
            answer = c.request("PATCH", c.url(f"{TABLE}/{link['remote_id']}", {"sysparm_fields": FIELDS}),
                               json_body=body, purpose="servicenow_update", entity_type=entity[0],
                               entity_id=entity[1], gate=gate)
            if answer.status == 404:
                warnings.append(f"{link['remote_key']} is no longer in ServiceNow, so a new "
                                "record was opened.")
            elif answer.status != 200:
                raise c.failure(answer, doing=f"update {link['remote_key']}")
            else:
                result = _result(c, answer, "update the incident")
        created = result is None
        if created:
            answer = c.request("POST", c.url(TABLE, {"sysparm_fields": FIELDS}),
                               json_body={**body, "correlation_id": f"tftsr:{issue_id}",
                                          "correlation_display": "TFTSR"},
                               purpose="servicenow_create", entity_type=entity[0],
                               entity_id=entity[1], gate=gate)
            if answer.status not in (200, 201):
                raise c.failure(answer, doing="create incidents",
                                not_found="The address answers, but has no incident table; check "
                                          "that it is the ServiceNow instance's address.")
            result = _result(c, answer, "create the incident")
        sys_id = str(result["sys_id"])
        number = str(result.get("number") or (link or {}).get("remote_key") or sys_id)
        url = record_url(c, sys_id)
        with app.db.transaction() as db:
            links.save(db, service=SERVICE, entity_type="issue", entity_id=issue_id,
                       issue_id=issue_id, origin=c.origin, remote_id=sys_id, remote_key=number,
                       url=url, version=None, content_sha256=digest,
                       state="created" if created else "updated")
            audit_record(db, "external_incident_created" if created else "external_incident_updated",
                         "issue", issue_id, {"service": SERVICE, "number": number, "sys_id": sys_id,
                                             "url": url, "impact": impact, "urgency": urgency,
                                             "redacted": redacted})
    message = (f"Opened {number} in ServiceNow." if created else f"Updated {number} in ServiceNow.")
    return {"service": SERVICE, "number": number, "sys_id": sys_id, "url": url, "created": created,
            "updated": not created, "redacted": redacted, "warnings": warnings,
            "message": " ".join([message, *warnings])}


def resolution_notes(app, rec, gate: Gate) -> tuple[str, list]:
    """What happened, for the ServiceNow record: when, the root cause, the action items and
    which Confluence page holds the RCA."""
    i = rec.issue
    lines = [f"Resolved in TFTSR at {i['resolved_at']} UTC." if i.get("resolved_at")
             else "Resolved in TFTSR."]
    root = _root_cause_text(rec)
    lines.append(f"Root cause: {root}" if root else "Root cause: not recorded in the 5-Whys.")
    if rec.action_items:
        lines.append("Action items:")
        for item in rec.action_items[:30]:
            due = f", due {item['due_date']}" if item.get("due_date") else ""
            lines.append(f"- {item['title']} ({generate.label(item['kind'])}, "
                         f"{generate.label(item['status'])}{due})")
    with app.db.connection() as db:
        published = db.execute(
            "SELECT l.remote_id, l.remote_key FROM external_links l JOIN documents d"
            " ON d.id = l.entity_id WHERE l.entity_type = 'document' AND l.service = 'confluence'"
            " AND l.issue_id = ? ORDER BY d.doc_type = 'rca' DESC LIMIT 1", (i["id"],)).fetchone()
    if published:  # by id: a link would name the Confluence host, which the gate removes
        lines.append(f"Full analysis: Confluence page {published['remote_id']}"
                     + (f" in space {published['remote_key']}." if published["remote_key"] else "."))
    text, removed = gate.redact("\n".join(lines))
    return cut(text, TEXT_LIMIT, "…"), removed


def resolve(app, issue_id: str) -> dict:
    """Resolve the incident's ServiceNow record with the resolution notes."""
    rec = _collect(app, issue_id)
    if rec.issue["status"] not in ("resolved", "closed"):
        raise InvalidState("Resolve the incident in TFTSR first; its ServiceNow record is then "
                           "resolved with the notes.", code="issue_not_resolved")
    c = connect(app, SERVICE)
    with app.db.connection() as db:
        link = links.get(db, SERVICE, "issue", issue_id, c.origin)
    if link is None:
        raise NotFound("This incident has no ServiceNow record yet; create one first.",
                       code="integration_not_linked")
    gate = Gate(app, issue_id)
    notes, removed = resolution_notes(app, rec, gate)
    body = {"state": RESOLVED_STATE, "close_code": CLOSE_CODE, "close_notes": notes}
    number = link["remote_key"]
    with service_lock(app, SERVICE):
        answer = c.request("PATCH", c.url(f"{TABLE}/{link['remote_id']}", {"sysparm_fields": FIELDS}),
                           json_body=body, purpose="servicenow_resolve", entity_type="issue",
                           entity_id=issue_id, gate=gate)
        if answer.status != 200:
            raise c.failure(answer, doing=f"resolve {number}",
                            not_found=f"{number} is no longer in ServiceNow.")
        result = _result(c, answer, "resolve the incident")
        state = str(result.get("state") or RESOLVED_STATE)
        with app.db.transaction() as db:
            links.set_state(db, link["id"], "resolved")
            audit_record(db, "external_incident_resolved", "issue", issue_id, {
                "service": SERVICE, "number": number, "sys_id": link["remote_id"], "state": state,
                "close_code": CLOSE_CODE, "notes_sha256": sha256_text(notes),
                "redacted": redaction_counts(removed)})
    return {"service": SERVICE, "number": number, "sys_id": link["remote_id"], "url": link["url"],
            "state": state, "resolved": True, "message": f"Resolved {number} in ServiceNow with the "
                                                         "resolution notes."}


__all__ = ["create", "resolve", "test", "IntegrationError"]
