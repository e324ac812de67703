"""Which remote record each TFTSR record became (table ``external_links``, migration 038).

One link per record and service: the Confluence page of a document (page id and version),
the ServiceNow incident of an incident (sys_id and INC number), the Azure DevOps work item
of an action item (id and revision). A link made on another site (the address in Settings
moved to another origin) does not count for the current one.
"""

from __future__ import annotations

from tftsr.db.ids import now_text, uuid7

COLUMNS = ("id, service, entity_type, entity_id, issue_id, origin, remote_id, remote_key, url,"
           " version, content_sha256, state, created_at, updated_at")


def get(conn, service: str, entity_type: str, entity_id: str, origin: str | None = None) -> dict | None:
    row = conn.execute(f"SELECT {COLUMNS} FROM external_links WHERE service = ? AND entity_type = ?"
                       " AND entity_id = ?", (service, entity_type, entity_id)).fetchone()
    if row is None or (origin is not None and row["origin"] != origin):
        return None
    return dict(row)


def save(conn, *, service: str, entity_type: str, entity_id: str, issue_id: str, origin: str,
         remote_id: str, remote_key: str | None, url: str | None, version: int | None,
         content_sha256: str | None, state: str) -> dict:
    """Insert or replace the record's link for this service."""
    now = now_text()
    conn.execute(
        f"INSERT INTO external_links ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT(service, entity_type, entity_id) DO UPDATE SET origin = excluded.origin,"
        " remote_id = excluded.remote_id, remote_key = excluded.remote_key, url = excluded.url,"
        " version = excluded.version, content_sha256 = excluded.content_sha256,"
        " state = excluded.state, updated_at = excluded.updated_at",
        (uuid7(), service, entity_type, entity_id, issue_id, origin, str(remote_id), remote_key,
         url, version, content_sha256, state, now, now))
    return get(conn, service, entity_type, entity_id)


def set_state(conn, link_id: str, state: str) -> None:
    conn.execute("UPDATE external_links SET state = ?, updated_at = ? WHERE id = ?",
                 (state, now_text(), link_id))


def public(link: dict | None) -> dict | None:
    if link is None:
        return None
    return {"service": link["service"], "remote_id": link["remote_id"],
            "remote_key": link["remote_key"], "url": link["url"], "version": link["version"],
            "state": link["state"], "updated_at": link["updated_at"]}


def for_issue(conn, issue_id: str) -> dict:
    """The incident's links grouped for the page: ``{"issue": {service: link},
    "documents": {document_id: {service: link}}, "action_items": {item_id: {service: link}}}``."""
    out: dict = {"issue": {}, "documents": {}, "action_items": {}}
    rows = conn.execute(f"SELECT {COLUMNS} FROM external_links WHERE issue_id = ?"
                        " ORDER BY created_at, rowid", (issue_id,)).fetchall()
    for row in rows:
        link = public(dict(row))
        if row["entity_type"] == "issue":
            out["issue"][row["service"]] = link
        elif row["entity_type"] == "document":
            out["documents"].setdefault(row["entity_id"], {})[row["service"]] = link
        else:
            out["action_items"].setdefault(row["entity_id"], {})[row["service"]] = link
    return out
