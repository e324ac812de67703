"""Apply ``migrations/NNN_name.sql`` in order, each atomically, recorded in ``_migrations``."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from tftsr.db.connection import Database, DatabaseError, describe_sqlite_error
from tftsr.db.ids import now_text
from tftsr.errors import DatabaseOpenError
from tftsr.resources import migrations_dir

log = logging.getLogger(__name__)

NAME_RE = re.compile(r"^(\d{3})_[a-z0-9_]+$")


@dataclass(frozen=True)
class Migration:
    name: str
    path: Path

    @property
    def number(self) -> int:
        return int(self.name[:3])

    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")


def discover(folder: Path | None = None) -> list[Migration]:
    folder = folder or migrations_dir()
    found = []
    for path in sorted(folder.glob("*.sql")):
        name = path.stem
        if not NAME_RE.match(name):
            raise ValueError(f"migration file name {path.name!r} is not NNN_name.sql")
        found.append(Migration(name, path))
    numbers = [m.number for m in found]
    if len(set(numbers)) != len(numbers):
        raise ValueError("two migration files share a number")
    return found


def applied(db: Database) -> dict[str, str]:
    with db.connection() as conn:
        rows = conn.execute("SELECT name, applied_at FROM _migrations ORDER BY name").fetchall()
    return {r["name"]: r["applied_at"] for r in rows}


def migrate(db: Database, folder: Path | None = None) -> list[str]:
    """Apply every pending migration; return the names applied now (empty when up to date)."""
    migrations = discover(folder)
    done_now: list[str] = []
    try:
        with db.transaction() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS _migrations ("
                "name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
        already = applied(db)
        for migration in migrations:
            if migration.name in already:
                continue
            _apply(db, migration)
            done_now.append(migration.name)
            log.info("applied migration %s", migration.name)
    except DatabaseError as exc:
        raise DatabaseOpenError(describe_sqlite_error(exc, db.path)) from None
    return done_now


def _apply(db: Database, migration: Migration) -> None:
    # executescript() commits any open transaction first, so the transaction is part of
    # the script itself: the migration and its _migrations row commit together or not at all.
    script = (
        "BEGIN IMMEDIATE;\n"
        + migration.sql()
        + f"\n;INSERT INTO _migrations(name, applied_at) VALUES ('{migration.name}', '{now_text()}');\n"
        + "COMMIT;\n"
    )
    with db._write_lock, db.connection() as conn:
        try:
            conn.executescript(script)
        except Exception:
            if conn.in_transaction:
                conn.rollback()
            raise
