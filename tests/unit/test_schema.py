"""The database `tftsr db migrate` creates, checked against the seed's schema.

The expected schema below is transcribed from the seed (`shared/seeds/000_*.txt`, the
original app's Database.md) plus the documented decisions where the seed contradicts
itself (``mcp_resources`` is the union of migrations 018 and 023) or where TFTSR adds
to it (audit hash chain, the partial unique index for the one active kubeconfig). Our
own later migrations may add columns to seed tables, so seed tables are compared
column by column as a prefix; everything the seed states must be there exactly.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlcipher3

from tests.conftest import TEST_KEY, tftsr_env

NOW = "datetime('now')"

# table -> [(column, declared type, NOT NULL, default as SQLite reports it, pk position)]
SEED_COLUMNS: dict[str, list[tuple[str, str, int, str | None, int]]] = {
    "issues": [
        ("id", "TEXT", 0, None, 1), ("title", "TEXT", 1, None, 0),
        ("description", "TEXT", 0, None, 0), ("severity", "TEXT", 1, None, 0),
        ("status", "TEXT", 1, None, 0), ("category", "TEXT", 0, None, 0),
        ("source", "TEXT", 0, None, 0), ("created_at", "TEXT", 1, None, 0),
        ("updated_at", "TEXT", 1, None, 0), ("resolved_at", "TEXT", 0, None, 0),
        ("assigned_to", "TEXT", 0, None, 0), ("tags", "TEXT", 0, None, 0),
    ],
    "log_files": [
        ("id", "TEXT", 0, None, 1), ("issue_id", "TEXT", 1, None, 0),
        ("file_name", "TEXT", 1, None, 0), ("file_path", "TEXT", 1, None, 0),
        ("file_size", "INTEGER", 0, None, 0), ("mime_type", "TEXT", 0, None, 0),
        ("content_hash", "TEXT", 0, None, 0), ("uploaded_at", "TEXT", 1, None, 0),
        ("redacted", "INTEGER", 0, "0", 0),
        ("content_compressed", "BLOB", 0, None, 0),  # 020
    ],
    "pii_spans": [
        ("id", "TEXT", 0, None, 1), ("log_file_id", "TEXT", 1, None, 0),
        ("pii_type", "TEXT", 1, None, 0), ("start_offset", "INTEGER", 1, None, 0),
        ("end_offset", "INTEGER", 1, None, 0), ("original_value", "TEXT", 1, None, 0),
        ("replacement", "TEXT", 1, None, 0),
    ],
    "ai_conversations": [
        ("id", "TEXT", 0, None, 1), ("issue_id", "TEXT", 1, None, 0),
        ("provider", "TEXT", 1, None, 0), ("model", "TEXT", 1, None, 0),
        ("created_at", "TEXT", 1, None, 0), ("title", "TEXT", 0, None, 0),
    ],
    "ai_messages": [
        ("id", "TEXT", 0, None, 1), ("conversation_id", "TEXT", 1, None, 0),
        ("role", "TEXT", 1, None, 0), ("content", "TEXT", 1, None, 0),
        ("token_count", "INTEGER", 0, "0", 0), ("created_at", "TEXT", 1, None, 0),
    ],
    "resolution_steps": [
        ("id", "TEXT", 0, None, 1), ("issue_id", "TEXT", 1, None, 0),
        ("step_order", "INTEGER", 1, None, 0), ("why_question", "TEXT", 1, None, 0),
        ("answer", "TEXT", 0, None, 0), ("evidence", "TEXT", 0, None, 0),
        ("created_at", "TEXT", 1, None, 0),
    ],
    "documents": [
        ("id", "TEXT", 0, None, 1), ("issue_id", "TEXT", 1, None, 0),
        ("doc_type", "TEXT", 1, None, 0), ("title", "TEXT", 1, None, 0),
        ("content_md", "TEXT", 1, None, 0), ("created_at", "INTEGER", 1, None, 0),
        ("updated_at", "INTEGER", 1, None, 0),
    ],
    "audit_log": [
        ("id", "TEXT", 0, None, 1), ("timestamp", "TEXT", 1, NOW, 0),
        ("action", "TEXT", 1, None, 0), ("entity_type", "TEXT", 1, None, 0),
        ("entity_id", "TEXT", 1, None, 0), ("user_id", "TEXT", 0, "'local'", 0),
        ("details", "TEXT", 0, None, 0),
    ],
    "settings": [
        ("key", "TEXT", 0, None, 1), ("value", "TEXT", 1, None, 0),
        ("updated_at", "TEXT", 1, None, 0),
    ],
    "credentials": [
        ("id", "TEXT", 0, None, 1), ("service", "TEXT", 1, None, 0),
        ("token_hash", "TEXT", 1, None, 0), ("encrypted_token", "TEXT", 1, None, 0),
        ("created_at", "TEXT", 1, None, 0), ("expires_at", "TEXT", 0, None, 0),
    ],
    "integration_config": [
        ("id", "TEXT", 0, None, 1), ("service", "TEXT", 1, None, 0),
        ("base_url", "TEXT", 1, None, 0), ("username", "TEXT", 0, None, 0),
        ("project_name", "TEXT", 0, None, 0), ("space_key", "TEXT", 0, None, 0),
        ("auto_create_enabled", "INTEGER", 1, "0", 0), ("updated_at", "TEXT", 1, None, 0),
    ],
    "image_attachments": [
        ("id", "TEXT", 0, None, 1), ("issue_id", "TEXT", 1, None, 0),
        ("file_name", "TEXT", 1, None, 0), ("file_path", "TEXT", 1, "''", 0),
        ("file_size", "INTEGER", 1, "0", 0), ("mime_type", "TEXT", 1, "'image/png'", 0),
        ("upload_hash", "TEXT", 1, "''", 0), ("uploaded_at", "TEXT", 1, NOW, 0),
        ("pii_warning_acknowledged", "INTEGER", 1, "1", 0),
        ("is_paste", "INTEGER", 1, "0", 0),
        ("image_data", "BLOB", 0, None, 0),  # 021
    ],
    "timeline_events": [
        ("id", "TEXT", 0, None, 1), ("issue_id", "TEXT", 1, None, 0),
        ("event_type", "TEXT", 1, None, 0), ("description", "TEXT", 1, None, 0),
        ("metadata", "TEXT", 0, None, 0), ("created_at", "TEXT", 1, None, 0),
    ],
    "mcp_servers": [
        ("id", "TEXT", 0, None, 1), ("name", "TEXT", 1, None, 0),
        ("url", "TEXT", 1, None, 0), ("transport_type", "TEXT", 1, None, 0),
        ("transport_config", "TEXT", 1, "'{}'", 0), ("auth_type", "TEXT", 1, None, 0),
        ("auth_value", "TEXT", 0, None, 0), ("enabled", "INTEGER", 1, "1", 0),
        ("last_discovered_at", "TEXT", 0, None, 0),
        ("discovery_status", "TEXT", 1, "'pending'", 0),
        ("discovery_error", "TEXT", 0, None, 0), ("created_at", "TEXT", 1, NOW, 0),
        ("updated_at", "TEXT", 1, NOW, 0),
    ],
    "mcp_tools": [
        ("id", "TEXT", 0, None, 1), ("server_id", "TEXT", 1, None, 0),
        ("name", "TEXT", 1, None, 0), ("tool_key", "TEXT", 1, None, 0),
        ("description", "TEXT", 0, None, 0), ("parameters", "TEXT", 1, "'{}'", 0),
    ],
    # The union of 018 and 023 (023's NOT NULL name wins).
    "mcp_resources": [
        ("id", "TEXT", 0, None, 1), ("server_id", "TEXT", 1, None, 0),
        ("uri", "TEXT", 1, None, 0), ("name", "TEXT", 1, None, 0),
        ("description", "TEXT", 0, None, 0), ("mime_type", "TEXT", 0, None, 0),
        ("discovered_at", "TEXT", 1, NOW, 0),
    ],
    "shell_commands": [
        ("id", "TEXT", 0, None, 1), ("command_template", "TEXT", 1, None, 0),
        ("tier", "INTEGER", 1, None, 0), ("description", "TEXT", 0, None, 0),
        ("category", "TEXT", 1, None, 0), ("created_at", "TEXT", 1, NOW, 0),
    ],
    "kubeconfig_files": [
        ("id", "TEXT", 0, None, 1), ("name", "TEXT", 1, None, 0),
        ("encrypted_content", "TEXT", 1, None, 0), ("context", "TEXT", 1, None, 0),
        ("cluster_url", "TEXT", 0, None, 0), ("is_active", "INTEGER", 1, "0", 0),
        ("uploaded_at", "TEXT", 1, NOW, 0),
    ],
    "command_executions": [
        ("id", "TEXT", 0, None, 1), ("issue_id", "TEXT", 0, None, 0),
        ("command", "TEXT", 1, None, 0), ("tier", "INTEGER", 1, None, 0),
        ("approval_status", "TEXT", 1, None, 0), ("kubeconfig_id", "TEXT", 0, None, 0),
        ("exit_code", "INTEGER", 0, None, 0), ("stdout", "TEXT", 0, None, 0),
        ("stderr", "TEXT", 0, None, 0), ("execution_time_ms", "INTEGER", 0, None, 0),
        ("executed_at", "TEXT", 1, NOW, 0),
        ("output_bytes", "INTEGER", 0, None, 0), ("output_sha256", "TEXT", 0, None, 0),  # 044
        ("tool_call_id", "TEXT", 0, None, 0),  # 044
    ],
    "approval_decisions": [
        ("id", "TEXT", 0, None, 1), ("command_pattern", "TEXT", 1, None, 0),
        ("decision", "TEXT", 1, None, 0), ("session_id", "TEXT", 0, None, 0),
        ("decided_at", "TEXT", 1, NOW, 0), ("expires_at", "TEXT", 0, None, 0),
    ],
}

# Tables whose exact column set the design fixes (no later additions allowed).
EXACT_TABLES = {"mcp_resources"}

# CHECK constraints the seed writes into the table SQL (compared without whitespace).
SEED_CHECKS: dict[str, list[str]] = {
    "ai_messages": ["CHECK(role IN ('system', 'user', 'assistant'))"],
    "credentials": ["CHECK(service IN ('confluence','servicenow','azuredevops'))",
                    "UNIQUE(service)"],
    "integration_config": ["CHECK(service IN ('confluence','servicenow','azuredevops'))",
                           "UNIQUE(service)"],
    "mcp_servers": [
        "CHECK(transport_type IN ('stdio', 'http'))",
        "CHECK(auth_type IN ('none', 'api_key', 'bearer', 'oauth2'))",
        "CHECK(discovery_status IN ('pending','connected','unreachable','error'))",
    ],
    "shell_commands": ["CHECK(tier IN (1, 2, 3))"],
    "approval_decisions": ["CHECK(decision IN ('allow_once', 'allow_session', 'deny'))"],
}

# table -> {(from column, target table, target column, ON DELETE)}
SEED_FOREIGN_KEYS: dict[str, set[tuple[str, str, str, str]]] = {
    "log_files": {("issue_id", "issues", "id", "CASCADE")},
    "pii_spans": {("log_file_id", "log_files", "id", "CASCADE")},
    "ai_conversations": {("issue_id", "issues", "id", "CASCADE")},
    "ai_messages": {("conversation_id", "ai_conversations", "id", "CASCADE")},
    "resolution_steps": {("issue_id", "issues", "id", "CASCADE")},
    "documents": {("issue_id", "issues", "id", "CASCADE")},
    "image_attachments": {("issue_id", "issues", "id", "CASCADE")},
    "timeline_events": {("issue_id", "issues", "id", "CASCADE")},
    "mcp_tools": {("server_id", "mcp_servers", "id", "CASCADE")},
    "mcp_resources": {("server_id", "mcp_servers", "id", "CASCADE")},
    "command_executions": {
        ("issue_id", "issues", "id", "CASCADE"),
        ("kubeconfig_id", "kubeconfig_files", "id", "SET NULL"),
    },
}

# index -> (table, columns, unique)
SEED_INDEXES: dict[str, tuple[str, list[str], int]] = {
    "idx_timeline_events_issue": ("timeline_events", ["issue_id"], 0),
    "idx_timeline_events_time": ("timeline_events", ["created_at"], 0),
    "idx_mcp_resources_server": ("mcp_resources", ["server_id"], 0),
    "idx_kubeconfig_active": ("kubeconfig_files", ["is_active"], 0),
    "idx_command_executions_issue": ("command_executions", ["issue_id"], 0),
    "idx_command_executions_executed": ("command_executions", ["executed_at"], 0),
    "idx_approval_decisions_session": ("approval_decisions", ["session_id"], 0),
}

SEED_VIEWS: dict[str, list[str]] = {
    "v_log_files_with_issue": [
        "id", "issue_id", "file_name", "file_path", "file_size", "mime_type",
        "content_hash", "uploaded_at", "redacted", "issue_title",
    ],
    "v_image_attachments_with_issue": [
        "id", "issue_id", "file_name", "file_path", "file_size", "mime_type",
        "upload_hash", "uploaded_at", "pii_warning_acknowledged", "is_paste", "issue_title",
    ],
}

SEED_SETTINGS = {
    "cipher_page_size": "4096",
    "kdf_iter": "256000",
    "cipher_hmac_algorithm": "HMAC_SHA512",
    "cipher_kdf_algorithm": "PBKDF2_HMAC_SHA512",
}


def squash(sql: str) -> str:
    return re.sub(r"\s+", "", sql).lower()


def raw_connect(path: Path, key: str = TEST_KEY, **pragmas: str):
    """A plain sqlcipher3 connection: key first, then any cipher settings given."""
    conn = sqlcipher3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA key = '" + key.replace("'", "''") + "'")
    for name, value in pragmas.items():
        conn.execute(f"PRAGMA {name} = {value}")
    return conn


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> Path:
    """A data folder created by the real CLI, `python -m tftsr db migrate`."""
    data = tmp_path_factory.mktemp("schema") / "data"
    proc = subprocess.run(
        [sys.executable, "-m", "tftsr", "db", "migrate", "--data-dir", str(data)],
        env=tftsr_env(data), capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "up to date" in proc.stdout
    return data


@pytest.fixture(scope="module")
def conn(migrated):
    connection = raw_connect(migrated / "tftsr.db")
    yield connection
    connection.close()


def table_sql(conn, name: str) -> str:
    row = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (name,)).fetchone()
    assert row is not None, f"{name} is missing"
    return row[0]


@pytest.mark.parametrize("table", sorted(SEED_COLUMNS))
def test_seed_table_columns(conn, table):
    actual = [tuple(r[1:6]) for r in conn.execute(f"PRAGMA table_info({table})")]
    expected = SEED_COLUMNS[table]
    assert actual, f"table {table} is missing"
    if table in EXACT_TABLES:
        assert actual == expected
    else:
        assert actual[: len(expected)] == expected


def test_every_seed_table_is_a_real_table(conn):
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    missing = set(SEED_COLUMNS) - tables
    assert not missing


@pytest.mark.parametrize("table", sorted(SEED_CHECKS))
def test_seed_check_constraints(conn, table):
    sql = squash(table_sql(conn, table))
    for check in SEED_CHECKS[table]:
        assert squash(check) in sql, f"{table} lacks {check}"


def test_check_constraints_are_enforced(conn):
    conn.execute("BEGIN")
    try:
        with pytest.raises(sqlcipher3.IntegrityError, match="CHECK"):
            conn.execute("INSERT INTO shell_commands (id, command_template, tier, category)"
                         " VALUES ('x', 'ls', 4, 'general')")
        with pytest.raises(sqlcipher3.IntegrityError, match="CHECK"):
            conn.execute("INSERT INTO mcp_servers (id, name, url, transport_type, auth_type)"
                         " VALUES ('s', 'n', 'u', 'carrier-pigeon', 'none')")
    finally:
        conn.execute("ROLLBACK")


@pytest.mark.parametrize("table", sorted(SEED_FOREIGN_KEYS))
def test_seed_foreign_keys(conn, table):
    actual = {(r[3], r[2], r[4], r[6]) for r in conn.execute(f"PRAGMA foreign_key_list({table})")}
    assert actual == SEED_FOREIGN_KEYS[table]


def test_kubeconfig_delete_sets_command_kubeconfig_null_in_the_sql(conn):
    sql = squash(table_sql(conn, "command_executions"))
    assert squash("FOREIGN KEY (kubeconfig_id) REFERENCES kubeconfig_files(id) ON DELETE SET NULL") in sql


@pytest.mark.parametrize("index", sorted(SEED_INDEXES))
def test_seed_indexes(conn, index):
    table, columns, unique = SEED_INDEXES[index]
    listed = {r[1]: r for r in conn.execute(f"PRAGMA index_list({table})")}
    assert index in listed, f"{index} missing on {table}"
    assert listed[index][2] == unique
    assert [r[2] for r in conn.execute(f"PRAGMA index_info({index})")] == columns


@pytest.mark.parametrize("view", sorted(SEED_VIEWS))
def test_seed_views(conn, view):
    kind = conn.execute("SELECT type FROM sqlite_master WHERE name = ?", (view,)).fetchone()
    assert kind == ("view",)
    assert [r[1] for r in conn.execute(f"PRAGMA table_info({view})")] == SEED_VIEWS[view]


def test_issues_fts_is_an_fts5_table_over_issues(conn):
    sql = squash(table_sql(conn, "issues_fts"))
    assert sql.startswith("createvirtualtableissues_ftsusingfts5(")
    assert "content='issues'" in sql and "content_rowid='rowid'" in sql
    assert "idunindexed" in sql
    assert [r[1] for r in conn.execute("PRAGMA table_info(issues_fts)")] == [
        "id", "title", "description"]


def test_migrations_table_has_one_row_per_file(conn):
    from tftsr.resources import migrations_dir

    files = sorted(p.stem for p in migrations_dir().glob("*.sql"))
    assert len(files) >= 25
    assert [r[1:3] for r in conn.execute("PRAGMA table_info(_migrations)")] == [
        ("name", "TEXT"), ("applied_at", "TEXT")]
    rows = conn.execute("SELECT name, applied_at FROM _migrations ORDER BY name").fetchall()
    assert [r[0] for r in rows] == files
    for _, applied_at in rows:
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", applied_at)


def test_seed_migration_numbers_are_all_present():
    from tftsr.resources import migrations_dir

    numbers = {int(p.name[:3]) for p in migrations_dir().glob("*.sql")}
    seed_numbers = set(range(1, 13)) | {17, 18} | set(range(20, 28))
    assert seed_numbers <= numbers


def test_file_reports_the_seed_cipher_settings(conn):
    for pragma, value in SEED_SETTINGS.items():
        assert conn.execute(f"PRAGMA {pragma}").fetchone()[0] == value


@pytest.mark.parametrize("pragma, other", [
    ("kdf_iter", "64000"),
    ("cipher_hmac_algorithm", "HMAC_SHA1"),
    ("cipher_kdf_algorithm", "PBKDF2_HMAC_SHA1"),
    ("cipher_page_size", "1024"),
])
def test_file_is_really_written_with_the_seed_settings(migrated, pragma, other):
    """The file opens with the seed's settings and with no other: it was made with them."""
    path = migrated / "tftsr.db"
    good = raw_connect(path, **{pragma: SEED_SETTINGS[pragma]})
    assert good.execute("SELECT count(*) FROM issues").fetchone() == (0,)
    good.close()
    bad = raw_connect(path, **{pragma: other})
    with pytest.raises(sqlcipher3.DatabaseError, match="not a database"):
        bad.execute("SELECT count(*) FROM sqlite_master").fetchone()
    bad.close()


def test_journal_mode_is_wal_in_the_file(conn):
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_app_connections_enforce_foreign_keys(data_dir):
    from tftsr.app import open_app

    app = open_app(data_dir)
    try:
        seen = []

        def probe():
            with app.db.connection() as c:
                seen.append(c.execute("PRAGMA foreign_keys").fetchone()["foreign_keys"])
                seen.append(c.execute("PRAGMA journal_mode").fetchone()["journal_mode"])

        threads = [threading.Thread(target=probe) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert seen.count(1) == 4 and seen.count("wal") == 4
        with pytest.raises(sqlcipher3.IntegrityError, match="FOREIGN KEY"), \
                app.db.transaction() as c:
            c.execute("INSERT INTO log_files (id, issue_id, file_name, file_path, uploaded_at)"
                      " VALUES ('lf', 'no-such-issue', 'a.log', '', '2024-01-01 00:00:00')")
    finally:
        app.close()


def test_only_one_kubeconfig_can_be_active(conn):
    listed = {r[1]: r for r in conn.execute("PRAGMA index_list(kubeconfig_files)")}
    partial = [name for name, r in listed.items() if r[2] == 1 and r[4] == 1]
    assert partial, "no partial unique index on kubeconfig_files"
    sql = squash(table_sql(conn, partial[0]))
    assert "whereis_active=1" in sql
    insert = ("INSERT INTO kubeconfig_files (id, name, encrypted_content, context, is_active)"
              " VALUES (?, ?, 'x', 'ctx', ?)")
    conn.execute("BEGIN")
    try:
        conn.execute(insert, ("k1", "one", 0))
        conn.execute(insert, ("k2", "two", 0))  # any number may be inactive
        conn.execute(insert, ("k3", "three", 1))
        with pytest.raises(sqlcipher3.IntegrityError, match="UNIQUE"):
            conn.execute(insert, ("k4", "four", 1))
        with pytest.raises(sqlcipher3.IntegrityError, match="UNIQUE"):
            conn.execute("UPDATE kubeconfig_files SET is_active = 1 WHERE id = 'k1'")
    finally:
        conn.execute("ROLLBACK")
