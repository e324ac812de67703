"""SQLCipher connections, shared safely across pywebview's call threads.

A small pool of connections serves readers in parallel (WAL mode); every write goes
through :meth:`Database.transaction`, which holds one process-wide write lock and runs
``BEGIN IMMEDIATE`` so writers never deadlock on lock upgrades. Opening a connection
costs one key derivation (PBKDF2, 256,000 iterations), so connections are reused.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
from collections.abc import Iterator
from pathlib import Path

import sqlcipher3

from tftsr.errors import DatabaseOpenError

log = logging.getLogger(__name__)

# The seed's SQLCipher settings (these equal SQLCipher 4's defaults; set explicitly so
# a future library default cannot silently change the file format).
CIPHER_PRAGMAS = (
    "PRAGMA cipher_page_size = 4096",
    "PRAGMA kdf_iter = 256000",
    "PRAGMA cipher_hmac_algorithm = HMAC_SHA512",
    "PRAGMA cipher_kdf_algorithm = PBKDF2_HMAC_SHA512",
)
SQLITE_HEADER = b"SQLite format 3\x00"
POOL_SIZE = 4
CACHE_KIB = 32 * 1024  # page cache per connection (the pool holds up to POOL_SIZE)

DatabaseError = sqlcipher3.DatabaseError
OperationalError = sqlcipher3.OperationalError
IntegrityError = sqlcipher3.IntegrityError


def _dict_row(cursor, row):
    return {d[0]: row[i] for i, d in enumerate(cursor.description)}


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def describe_sqlite_error(exc: Exception, path: Path) -> str:
    """A sentence a person can act on for an error from opening or writing the file."""
    text = str(exc).lower()
    if "disk is full" in text or "database or disk is full" in text:
        return f"The disk holding {path.parent} is full. Free some space and try again; nothing was lost."
    if "readonly" in text or "read-only" in text or "permission denied" in text:
        return (f"TFTSR cannot write to {path}: the file or its folder is read-only. "
                "Check its permissions; nothing was changed.")
    if "unable to open" in text:
        return (f"TFTSR cannot open or create {path}. Check that the folder exists and "
                "that you may write to it.")
    if "locked" in text or "busy" in text:
        return "The database is busy in another program. Close it and try again."
    return f"The database at {path} could not be used: {exc}"


class Database:
    """An encrypted TFTSR database file."""

    def __init__(self, path: Path, key: str, *, pool_size: int = POOL_SIZE):
        self.path = Path(path)
        self._key = key
        self._pool: queue.LifoQueue = queue.LifoQueue()
        self._opened = 0
        self._open_lock = threading.Lock()
        self._pool_size = pool_size
        self._write_lock = threading.RLock()
        self._closed = False
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"Database({str(self.path)!r})"

    # -- connections -------------------------------------------------------------
    def _new_connection(self):
        conn = sqlcipher3.connect(
            str(self.path), check_same_thread=False, isolation_level=None, timeout=15
        )
        try:
            # SQLCipher's own logging would print decryption failures to stderr; the
            # caller reports them in words instead.
            conn.execute("PRAGMA cipher_log_level = NONE")
            conn.execute(f"PRAGMA key = {_quote(self._key)}")
            for pragma in CIPHER_PRAGMAS:
                conn.execute(pragma)
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA busy_timeout = 15000")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                log.warning("journal mode is %s, not WAL", mode)
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        except Exception:
            conn.close()
            raise
        conn.row_factory = _dict_row
        return conn

    def verify(self) -> None:
        """Open one connection now, turning every failure into a clear DatabaseOpenError."""
        existed = self.path.exists()
        if existed and self.path.is_dir():
            raise DatabaseOpenError(f"{self.path} is a folder, not a TFTSR database file.")
        if existed and self.path.stat().st_size == 0:
            # A new database gets its first page before any data is written, so an empty
            # file is a truncated or foreign one: refuse rather than start over on top of it.
            raise DatabaseOpenError(
                f"{self.path} is empty (0 bytes), so it is not a usable TFTSR database. "
                "Move it aside or choose another data folder; nothing was changed."
            )
        if existed and self.path.stat().st_size >= 16:
            with open(self.path, "rb") as fh:
                if fh.read(16) == SQLITE_HEADER:
                    raise DatabaseOpenError(
                        f"{self.path} is an unencrypted SQLite database, not a TFTSR "
                        "database. Move it aside or choose another data folder; "
                        "nothing was changed."
                    )
        created_here = False
        if not existed and os.name == "posix":
            # A new database (and the WAL/SHM files SQLite derives from it) is the
            # owner's alone, even under a permissive umask.
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                os.close(fd)
                created_here = True
            except FileExistsError:
                pass
            except OSError as exc:
                raise DatabaseOpenError(describe_sqlite_error(exc, self.path)) from None
        try:
            conn = self._new_connection()
        except DatabaseError as exc:
            if created_here and self.path.stat().st_size == 0:
                self.path.unlink(missing_ok=True)
            if existed and "not a database" in str(exc).lower():
                raise DatabaseOpenError(
                    f"The database at {self.path} could not be opened: either the key is "
                    "wrong or the file is damaged. Nothing was changed. If you set "
                    "TFTSR_DB_KEY, check its value; otherwise restore the key file or "
                    "keyring entry that belongs to this data folder."
                ) from None
            raise DatabaseOpenError(describe_sqlite_error(exc, self.path)) from None
        self._release(conn)
        with self._open_lock:
            self._opened += 1

    def _acquire(self):
        try:
            return self._pool.get_nowait()
        except queue.Empty:
            pass
        with self._open_lock:
            if self._opened < self._pool_size:
                self._opened += 1
                create = True
            else:
                create = False
        if create:
            try:
                return self._new_connection()
            except Exception:
                with self._open_lock:
                    self._opened -= 1
                raise
        return self._pool.get(timeout=30)

    def _release(self, conn) -> None:
        if self._closed:
            conn.close()
        else:
            self._pool.put(conn)

    @contextlib.contextmanager
    def connection(self) -> Iterator:
        """A connection for reading. Re-entrant within one thread."""
        held = getattr(self._local, "conn", None)
        if held is not None:
            yield held
            return
        conn = self._acquire()
        self._local.conn = conn
        try:
            yield conn
        finally:
            self._local.conn = None
            if conn.in_transaction:
                conn.rollback()
            self._release(conn)

    @contextlib.contextmanager
    def transaction(self) -> Iterator:
        """A write transaction: commits on success, rolls back on any exception.

        Nested calls in one thread join the outer transaction.
        """
        with self._write_lock:
            with self.connection() as conn:
                if conn.in_transaction:
                    yield conn
                    return
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    conn.rollback()
                    raise
                else:
                    conn.execute("COMMIT")

    @contextlib.contextmanager
    def exclusive(self) -> Iterator:
        """The write lock held and every idle pooled connection closed, with one fresh
        connection of its own (re-keying needs the file to itself: see tftsr.passphrase).
        Connections other threads are using right now stay open until released."""
        with self._write_lock:
            while True:
                try:
                    idle = self._pool.get_nowait()
                except queue.Empty:
                    break
                idle.close()
                with self._open_lock:
                    self._opened -= 1
            conn = self._new_connection()
            try:
                yield conn
            finally:
                conn.close()

    def close(self) -> None:
        self._closed = True
        while True:
            try:
                conn = self._pool.get_nowait()
            except queue.Empty:
                break
            try:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except Exception:  # noqa: BLE001
                pass
            conn.close()


def open_database(path: Path, key: str, *, migrate: bool = True) -> Database:
    """Open (creating if needed) and migrate the database; raise DatabaseOpenError cleanly."""
    from tftsr.db.migrator import migrate as run_migrations

    db = Database(path, key)
    db.verify()
    if migrate:
        run_migrations(db)
    return db
