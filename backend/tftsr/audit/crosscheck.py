"""Cross-checks between the audit log and the rows it describes.

The hash chain shows that the entries present were not altered, inserted or reordered by
someone who could not recompute the hashes. It cannot, by itself, show that a log which was
emptied or cut short by someone holding the database key is incomplete: an empty chain, or
a shorter one whose head was set back, verifies. But every incident, log file, image,
document, AI provider, conversation, action item, 5-Whys step, timeline event, MCP server,
approval decision, command run, kubeconfig and integration setting is created together with
its audit entry, in one transaction. A row without that entry therefore means
entries were removed (or the row was added behind TFTSR's back).

To cover a new kind of row whose creation is audited, add a :class:`CreationCheck` below.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_REPORTED = 50  # per check; the total is always counted


@dataclass(frozen=True)
class CreationCheck:
    table: str                   # the table whose rows must each have a creation entry
    label: str                   # what one row is called in reports
    actions: tuple[str, ...]     # the audit actions that record a creation
    entity_type: str             # the entity_type of those entries
    detail_path: str | None = None  # None: entity_id is the row id; else the row id's JSON path
    #                                 inside details (the entry is about another entity)
    id_column: str = "id"        # the row's column that the entry names

    def describe(self) -> str:
        return " or ".join(self.actions) if self.actions else "its audit entry"


CHECKS: tuple[CreationCheck, ...] = (
    CreationCheck("issues", "incident", ("triage_started",), "issue"),
    CreationCheck("log_files", "log file", ("log_file_added",), "log_file"),
    CreationCheck("image_attachments", "image", ("image_attached",), "image_attachment"),
    CreationCheck("documents", "document", ("rca_generated", "postmortem_generated"), "issue",
                  "$.metadata.doc_id"),
    CreationCheck("ai_providers", "AI provider", ("ai_provider_added",), "ai_provider"),
    CreationCheck("ai_conversations", "AI conversation", ("ai_conversation_created",),
                  "ai_conversation"),
    CreationCheck("action_items", "action item", ("action_item_created",), "action_item"),
    CreationCheck("resolution_steps", "5-Whys step", ("why_level_advanced",), "issue",
                  "$.metadata.step_id"),
    # Every timeline event is written with an audit twin about its incident.
    CreationCheck("timeline_events", "timeline event", (), "issue", "$.timeline_event_id"),
    CreationCheck("mcp_servers", "MCP server", ("mcp_server_added",), "mcp_server"),
    CreationCheck("approval_decisions", "approval decision", ("approval_decided",), "approval"),
    CreationCheck("command_executions", "command run", ("shell_command_run", "shell_command_refused"),
                  "command_execution"),
    CreationCheck("kubeconfig_files", "kubeconfig", ("kubeconfig_imported",), "kubeconfig"),
    CreationCheck("integration_config", "integration setting", ("integration_saved",),
                  "integration", id_column="service"),
)


def _tables(conn) -> set[str]:
    return {r["name"] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _missing_sql(check: CreationCheck) -> tuple[str, list]:
    actions = list(check.actions)
    marks = ", ".join("?" * len(actions))
    if check.detail_path is None:
        sql = (f"SELECT t.{check.id_column} AS id FROM {check.table} t WHERE NOT EXISTS"
               f" (SELECT 1 FROM audit_log a WHERE a.entity_type = ?"
               f" AND a.entity_id = t.{check.id_column} AND a.action IN ({marks}))")
        return sql, [check.entity_type, *actions]
    action_clause = f" AND action IN ({marks})" if actions else ""
    sql = (f"SELECT t.{check.id_column} AS id FROM {check.table} t WHERE t.{check.id_column} NOT IN"
           " (SELECT json_extract(details, ?)"
           f" FROM audit_log WHERE entity_type = ?{action_clause} AND json_valid(details)"
           " AND json_extract(details, ?) IS NOT NULL)")
    return sql, [check.detail_path, check.entity_type, *actions, check.detail_path]


def missing_creation_entries(conn) -> dict:
    """Rows with no creation entry: ``{"total": n, "by_kind": {label: n}, "items": [{table,
    label, id, expected}, ...]}`` (at most :data:`MAX_REPORTED` items listed per kind)."""
    present = _tables(conn)
    items: list[dict] = []
    by_kind: dict[str, int] = {}
    for check in CHECKS:
        if check.table not in present:
            continue
        sql, params = _missing_sql(check)
        rows = conn.execute(f"{sql} ORDER BY t.rowid", params).fetchall()
        if not rows:
            continue
        by_kind[check.label] = len(rows)
        items.extend({"table": check.table, "label": check.label, "id": r["id"],
                      "expected": check.describe()} for r in rows[:MAX_REPORTED])
    return {"total": sum(by_kind.values()), "by_kind": by_kind, "items": items}


def summary(missing: dict) -> str:
    """What lacks its entry, in words: "3 incidents and 1 log file"."""
    parts = [f"{n} {label}{'s' if n != 1 else ''}" for label, n in missing["by_kind"].items()]
    if len(parts) > 1:
        return ", ".join(parts[:-1]) + " and " + parts[-1]
    return parts[0] if parts else ""
