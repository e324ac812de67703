"""The migrator and what the migrations build: idempotence, atomicity, the 023 rebuild,
full-text sync triggers and the foreign keys' cascades, on real SQLCipher files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tftsr.db.connection import Database
from tftsr.db.migrator import applied, migrate
from tftsr.errors import DatabaseOpenError
from tftsr.resources import migrations_dir

from tests.conftest import TEST_KEY

TS = "2024-05-01 10:00:00"


def new_database(path: Path) -> Database:
    db = Database(path, TEST_KEY)
    db.verify()
    return db


def schema_of(db: Database) -> list[tuple]:
    with db.connection() as conn:
        rows = conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name").fetchall()
    return [tuple(r.values()) for r in rows]


def names_in(folder: Path) -> list[str]:
    return sorted(p.stem for p in folder.glob("*.sql"))


def copy_migrations(dest: Path, up_to: int | None = None) -> Path:
    dest.mkdir(parents=True)
    for path in migrations_dir().glob("*.sql"):
        if up_to is None or int(path.name[:3]) <= up_to:
            shutil.copy(path, dest / path.name)
    return dest


@pytest.fixture
def db(tmp_path):
    database = new_database(tmp_path / "tftsr.db")
    yield database
    database.close()


# -- the migrator ---------------------------------------------------------------------
def test_migrate_from_empty_then_rerun_is_a_no_op(db):
    first = migrate(db)
    assert first == names_in(migrations_dir())
    rows_before = applied(db)
    schema_before = schema_of(db)
    assert migrate(db) == []
    assert applied(db) == rows_before
    assert schema_of(db) == schema_before


def test_reopening_the_file_applies_nothing(tmp_path):
    first = new_database(tmp_path / "tftsr.db")
    migrate(first)
    schema = schema_of(first)
    first.close()
    again = new_database(tmp_path / "tftsr.db")
    try:
        assert migrate(again) == []
        assert schema_of(again) == schema
    finally:
        again.close()


def test_failing_migration_leaves_nothing_behind(db, tmp_path):
    folder = copy_migrations(tmp_path / "migrations")
    (folder / "999_broken.sql").write_text(
        "CREATE TABLE half_made (id TEXT PRIMARY KEY);\n"
        "INSERT INTO half_made (id) VALUES ('row written before the error');\n"
        "INSERT INTO table_that_does_not_exist VALUES (1);\n"
    )
    with pytest.raises(DatabaseOpenError, match="table_that_does_not_exist"):
        migrate(db, folder)
    done = applied(db)
    assert "999_broken" not in done
    assert sorted(done) == names_in(migrations_dir())  # everything before it did apply
    with db.connection() as conn:
        assert conn.execute(
            "SELECT count(*) AS n FROM sqlite_master WHERE name = 'half_made'").fetchone()["n"] == 0
        assert not conn.in_transaction
    # The database is still usable, and a fixed migration then applies.
    (folder / "999_broken.sql").write_text("CREATE TABLE half_made (id TEXT PRIMARY KEY);\n")
    assert migrate(db, folder) == ["999_broken"]


def test_023_rebuild_keeps_018_era_resources(db, tmp_path):
    early = copy_migrations(tmp_path / "early", up_to=18)
    assert "023_mcp_resources" not in names_in(early)
    migrate(db, early)
    with db.transaction() as conn:
        cols = [r["name"] for r in conn.execute("PRAGMA table_info(mcp_resources)")]
        assert "discovered_at" not in cols  # really the 018 shape
        conn.execute("INSERT INTO mcp_servers (id, name, url, transport_type, auth_type)"
                     " VALUES ('srv', 'docs', 'http://127.0.0.1:9', 'http', 'none')")
        conn.execute("INSERT INTO mcp_resources (id, server_id, uri, name, description)"
                     " VALUES ('r1', 'srv', 'file:///runbook.md', 'Runbook', 'how to')")
        conn.execute("INSERT INTO mcp_resources (id, server_id, uri)"
                     " VALUES ('r2', 'srv', 'file:///unnamed.txt')")
    applied_now = migrate(db)
    assert "023_mcp_resources" in applied_now
    with db.connection() as conn:
        rows = conn.execute("SELECT id, server_id, uri, name, description, mime_type,"
                            " discovered_at FROM mcp_resources ORDER BY id").fetchall()
        assert [(r["id"], r["server_id"], r["uri"], r["name"], r["description"], r["mime_type"])
                for r in rows] == [
            ("r1", "srv", "file:///runbook.md", "Runbook", "how to", None),
            ("r2", "srv", "file:///unnamed.txt", "file:///unnamed.txt", None, None),
        ]
        assert all(r["discovered_at"] for r in rows)
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        index = conn.execute("SELECT name FROM sqlite_master WHERE name = "
                             "'idx_mcp_resources_server'").fetchone()
        assert index is not None
    # The rebuilt table keeps its cascade from mcp_servers.
    with db.transaction() as conn:
        conn.execute("DELETE FROM mcp_servers WHERE id = 'srv'")
        assert conn.execute("SELECT count(*) AS n FROM mcp_resources").fetchone()["n"] == 0


# -- full-text search stays in step with issues -----------------------------------------
def fts_ids(conn, query: str) -> list[str]:
    return [r["id"] for r in conn.execute(
        "SELECT id FROM issues_fts WHERE issues_fts MATCH ? ORDER BY rank", (query,))]


def insert_issue(conn, issue_id: str, title: str, description: str | None = None) -> None:
    conn.execute(
        "INSERT INTO issues (id, title, description, severity, status, created_at, updated_at)"
        " VALUES (?, ?, ?, 'high', 'open', ?, ?)", (issue_id, title, description, TS, TS))


def fts_integrity_ok(conn) -> None:
    # With rank = 1 FTS5 also compares the index with the content table.
    conn.execute("INSERT INTO issues_fts(issues_fts, rank) VALUES ('integrity-check', 1)")


def test_fts_follows_insert_update_delete(db):
    migrate(db)
    with db.transaction() as conn:
        insert_issue(conn, "i1", "Kafka consumer lag", "partitions rebalancing forever")
        insert_issue(conn, "i2", "Disk full on db-03", None)
        assert fts_ids(conn, "kafka") == ["i1"]
        assert fts_ids(conn, "rebalancing") == ["i1"]
        assert fts_ids(conn, "disk") == ["i2"]
        fts_integrity_ok(conn)
    with db.transaction() as conn:
        conn.execute("UPDATE issues SET title = 'Zookeeper session expiry',"
                     " description = 'ensemble flapping' WHERE id = 'i1'")
        assert fts_ids(conn, "kafka") == []
        assert fts_ids(conn, "rebalancing") == []
        assert fts_ids(conn, "zookeeper") == ["i1"]
        assert fts_ids(conn, "flapping") == ["i1"]
        # Changing a column the index does not hold leaves it as it was.
        conn.execute("UPDATE issues SET status = 'investigating' WHERE id = 'i1'")
        assert fts_ids(conn, "zookeeper") == ["i1"]
        fts_integrity_ok(conn)
    with db.transaction() as conn:
        conn.execute("DELETE FROM issues WHERE id = 'i2'")
        assert fts_ids(conn, "disk") == []
        assert fts_ids(conn, "zookeeper") == ["i1"]
        fts_integrity_ok(conn)


def test_fts_follows_the_issue_commands(call, make_issue, app):
    issue = make_issue(title="Certificate expired on ingress", description="TLS handshake fails")
    with app.db.connection() as conn:
        assert fts_ids(conn, "certificate") == [issue["id"]]
    call("update_issue", issue_id=issue["id"], title="Ingress certificate rotated late")
    with app.db.connection() as conn:
        assert fts_ids(conn, "rotated") == [issue["id"]]
        assert fts_ids(conn, "expired") == []
        assert fts_ids(conn, "handshake") == [issue["id"]]
    call("delete_issue", issue_id=issue["id"])
    with app.db.connection() as conn:
        assert fts_ids(conn, "ingress") == []
        fts_integrity_ok(conn)


def test_rows_present_before_the_fts_triggers_are_indexed(db, tmp_path):
    migrate(db, copy_migrations(tmp_path / "early", up_to=12))
    with db.transaction() as conn:
        insert_issue(conn, "old", "Legacy mainframe batch overrun")
        assert fts_ids(conn, "mainframe") == []  # 010 alone does not index it
    migrate(db)
    with db.connection() as conn:
        assert fts_ids(conn, "mainframe") == ["old"]


# -- cascades ---------------------------------------------------------------------------
CHILD_TABLES = ("log_files", "pii_spans", "ai_conversations", "ai_messages",
                "resolution_steps", "documents", "timeline_events", "image_attachments",
                "command_executions")


def attach_everything(conn, issue_id: str, suffix: str) -> None:
    s = suffix
    conn.execute("INSERT INTO log_files (id, issue_id, file_name, file_path, uploaded_at)"
                 " VALUES (?, ?, 'app.log', '', ?)", (f"lf{s}", issue_id, TS))
    conn.execute("INSERT INTO pii_spans (id, log_file_id, pii_type, start_offset, end_offset,"
                 " original_value, replacement) VALUES (?, ?, 'Email', 0, 5, 'a@b.c', '[Email]')",
                 (f"ps{s}", f"lf{s}"))
    conn.execute("INSERT INTO ai_conversations (id, issue_id, provider, model, created_at)"
                 " VALUES (?, ?, 'ollama', 'llama3', ?)", (f"ac{s}", issue_id, TS))
    conn.execute("INSERT INTO ai_messages (id, conversation_id, role, content, created_at)"
                 " VALUES (?, ?, 'user', 'why?', ?)", (f"am{s}", f"ac{s}", TS))
    conn.execute("INSERT INTO resolution_steps (id, issue_id, step_order, why_question,"
                 " created_at) VALUES (?, ?, 1, 'Why?', ?)", (f"rs{s}", issue_id, TS))
    conn.execute("INSERT INTO documents (id, issue_id, doc_type, title, content_md, created_at,"
                 " updated_at) VALUES (?, ?, 'rca', 'RCA', '# RCA', 1, 1)", (f"dc{s}", issue_id))
    conn.execute("INSERT INTO timeline_events (id, issue_id, event_type, description,"
                 " created_at) VALUES (?, ?, 'note', 'n', ?)", (f"te{s}", issue_id, TS))
    conn.execute("INSERT INTO image_attachments (id, issue_id, file_name) VALUES (?, ?, 'a.png')",
                 (f"ia{s}", issue_id))
    conn.execute("INSERT INTO command_executions (id, issue_id, command, tier, approval_status)"
                 " VALUES (?, ?, 'kubectl get pods', 1, 'auto')", (f"ce{s}", issue_id))


def counts(conn) -> dict[str, int]:
    return {t: conn.execute(f"SELECT count(*) AS n FROM {t}").fetchone()["n"]
            for t in CHILD_TABLES}


@pytest.mark.parametrize("how", ["sql", "command"])
def test_deleting_an_issue_removes_everything_attached(app, call, make_issue, how):
    doomed = make_issue(title="To be deleted")["id"]
    kept = make_issue(title="Stays")["id"]
    with app.db.transaction() as conn:
        conn.execute("DELETE FROM timeline_events")  # start from exactly one of each
        attach_everything(conn, doomed, "1")
        attach_everything(conn, kept, "2")
        assert counts(conn) == {t: 2 for t in CHILD_TABLES}
    if how == "sql":
        with app.db.transaction() as conn:
            conn.execute("DELETE FROM issues WHERE id = ?", (doomed,))
    else:
        assert call("delete_issue", issue_id=doomed)["deleted"] is True
    with app.db.connection() as conn:
        assert counts(conn) == {t: 1 for t in CHILD_TABLES}
        for table in CHILD_TABLES:
            if table not in ("pii_spans", "ai_messages"):
                assert conn.execute(f"SELECT issue_id FROM {table}").fetchone()["issue_id"] == kept
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_deleting_a_kubeconfig_keeps_the_execution_record(app):
    with app.db.transaction() as conn:
        insert_issue(conn, "i", "Pods crash-looping")
        conn.execute("INSERT INTO kubeconfig_files (id, name, encrypted_content, context,"
                     " is_active) VALUES ('kc', 'prod', 'x', 'prod-ctx', 1)")
        conn.execute("INSERT INTO command_executions (id, issue_id, command, tier,"
                     " approval_status, kubeconfig_id, exit_code)"
                     " VALUES ('ce', 'i', 'kubectl get pods', 1, 'auto', 'kc', 0)")
    with app.db.transaction() as conn:
        conn.execute("DELETE FROM kubeconfig_files WHERE id = 'kc'")
    with app.db.connection() as conn:
        row = conn.execute("SELECT issue_id, kubeconfig_id, exit_code FROM command_executions"
                           " WHERE id = 'ce'").fetchone()
    assert row == {"issue_id": "i", "kubeconfig_id": None, "exit_code": 0}
