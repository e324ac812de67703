"""Passphrase mode: the database key derived from a passphrase, and safe re-keying.

In passphrase mode (always in a portable folder; an option of an ordinary installation,
Settings -> Security) the SQLCipher key is derived from a passphrase with scrypt, a
memory-hard KDF, and a random per-database salt. The salt and the KDF's parameters sit
beside the database in ``tftsr.db.salt`` -- not secret, and never the key: without the
passphrase the file is useless. The salt file's presence is what marks a data folder as
being in passphrase mode.

The derived 32 bytes are handed to SQLCipher as a raw key (``x'...'``), so SQLCipher's
own PBKDF2 is not run on top of scrypt.

Re-keying (a new passphrase, or switching passphrase mode on or off) never touches the
database in place. SQLCipher 4 cannot re-key a database in WAL mode while it is in use
and makes no promise about a crash half way through ``PRAGMA rekey``, so:

1. the live database is checkpointed (its WAL emptied) with every other connection
   closed and the write lock held;
2. the file is copied to ``tftsr.db.rekey``; the copy is opened with the old key and
   checked, switched to a rollback journal, re-keyed with ``PRAGMA rekey``, closed, and
   opened again with the new key and checked (integrity and the same table row counts);
3. only then does the copy replace the database with one atomic rename.

On any failure before the rename the copy is deleted and the database is exactly as it
was. The old key material (key file or keyring entry) is removed only after the renamed
database has been opened with the new key; a start that finds the salt file *and* old key
material that still opens the database knows a switch was interrupted and finishes it
backwards (see :func:`tftsr.config.load_db_key`).

Keys derived from the database key for other purposes (the AES key of secrets stored in
the database, the MAC key of stable pseudonyms) must survive a re-key, so the first
re-key records the key they were derived from inside the (encrypted) database as the
setting ``internal.key_root``; :class:`tftsr.config.DbKey` then carries it as ``value``
and the SQLCipher key apart.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from tftsr.commands import command
from tftsr.errors import DatabaseOpenError, InvalidArgument, InvalidState
from tftsr.validation import Str

log = logging.getLogger(__name__)

SALT_SUFFIX = ".salt"
REKEY_SUFFIX = ".rekey"
SALT_FORMAT = "tftsr-passphrase-v1"
# scrypt: N = 2**16, r = 8 (64 MiB of memory), p = 1 -- about 0.3-0.5 s on a 2-core
# machine. Stored in the salt file, so a later version can raise them per database.
SCRYPT_N = 2**16
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
MIN_LENGTH = 8
MAX_LENGTH = 1024
KEY_ROOT_SETTING = "internal.key_root"


class PassphraseError(DatabaseOpenError):
    """The passphrase or its salt file stops the database from opening, or a re-key
    failed; nothing was changed. ``message`` is for people."""

    code = "passphrase_error"


class WrongPassphrase(PassphraseError):
    code = "wrong_passphrase"


@dataclass(frozen=True)
class KdfParams:
    """What :func:`derive_key` needs besides the passphrase (kept in the salt file)."""

    salt: bytes
    n: int = SCRYPT_N
    r: int = SCRYPT_R
    p: int = SCRYPT_P

    @classmethod
    def new(cls, n: int = SCRYPT_N) -> KdfParams:
        return cls(salt=secrets.token_bytes(SALT_BYTES), n=n)

    def to_json(self) -> str:
        return json.dumps({"format": SALT_FORMAT, "kdf": "scrypt", "n": self.n, "r": self.r,
                           "p": self.p, "salt": self.salt.hex()}, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, where: Path) -> KdfParams:
        try:
            data = json.loads(text)
            if data.get("format") != SALT_FORMAT or data.get("kdf") != "scrypt":
                raise ValueError("unknown format")
            params = cls(salt=bytes.fromhex(data["salt"]), n=int(data["n"]), r=int(data["r"]),
                         p=int(data["p"]))
        except (ValueError, KeyError, TypeError, AttributeError):
            raise PassphraseError(
                f"The passphrase salt file {where} is damaged, so the database key cannot be "
                "derived. Restore it from a backup; nothing was changed.") from None
        if (len(params.salt) < SALT_BYTES or params.n < 2 or params.n & (params.n - 1)
                or not 1 <= params.r <= 64 or not 1 <= params.p <= 16 or params.n > 2**22):
            raise PassphraseError(f"The passphrase salt file {where} has impossible values; "
                                  "nothing was changed.")
        return params


def salt_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + SALT_SUFFIX)


def read_params(db_path: Path) -> KdfParams | None:
    """The salt file's parameters, or None when the folder is not in passphrase mode."""
    path = salt_path(db_path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise PassphraseError(f"TFTSR cannot read {path}: {exc.strerror or exc}.") from None
    return KdfParams.from_json(text, path)


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_params(db_path: Path, params: KdfParams) -> Path:
    """Write the salt file atomically (temporary file, fsync, rename)."""
    path = salt_path(db_path)
    tmp = path.with_name(path.name + ".tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp.unlink(missing_ok=True)
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w",
                   encoding="utf-8") as fh:
        fh.write(params.to_json())
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)
    return path


def check_new_passphrase(passphrase: str) -> None:
    """Refuse passphrases that are too short or too long to be a deliberate choice."""
    if not isinstance(passphrase, str) or len(passphrase) < MIN_LENGTH:
        raise PassphraseError(f"A passphrase needs at least {MIN_LENGTH} characters.")
    if len(passphrase) > MAX_LENGTH:
        raise PassphraseError(f"A passphrase can have at most {MAX_LENGTH} characters.")


def derive_key(passphrase: str, params: KdfParams) -> str:
    """The SQLCipher raw key (``x'<64 hex digits>'``) for this passphrase and salt."""
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    raw = Scrypt(salt=params.salt, length=32, n=params.n, r=params.r, p=params.p).derive(
        passphrase.encode("utf-8"))
    return "x'" + raw.hex() + "'"


# --- opening and checking ---------------------------------------------------------------

def _connect(path: Path, key: str, *, read_only: bool):
    import sqlcipher3

    from tftsr.db.connection import CIPHER_PRAGMAS, _quote

    if read_only:
        conn = sqlcipher3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                                  isolation_level=None)
    else:
        conn = sqlcipher3.connect(str(path), isolation_level=None)
    try:
        conn.execute("PRAGMA cipher_log_level = NONE")
        conn.execute(f"PRAGMA key = {_quote(key)}")
        for pragma in CIPHER_PRAGMAS:
            conn.execute(pragma)
    except Exception:
        conn.close()
        raise
    return conn


def key_opens(db_path: Path, key: str) -> bool:
    """True when ``key`` decrypts the database. Opens it read-only: never writes a byte."""
    import sqlcipher3

    try:
        conn = _connect(db_path, key, read_only=True)
    except sqlcipher3.DatabaseError:
        return False
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return True
    except sqlcipher3.DatabaseError:
        return False
    finally:
        conn.close()


def _table_counts(conn) -> dict[str, int]:
    names = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name")]
    return {name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names}


def _checked(conn, what: str) -> dict[str, int]:
    result = conn.execute("PRAGMA quick_check").fetchone()[0]
    if result != "ok":
        raise PassphraseError(f"The {what} failed its integrity check ({result}); "
                              "the database was not changed.")
    return _table_counts(conn)


# --- re-keying ----------------------------------------------------------------------------

def _copy_with_fsync(src: Path, dst: Path) -> None:
    with open(src, "rb") as fin, open(dst, "xb") as fout:
        shutil.copyfileobj(fin, fout, 2**20)
        fout.flush()
        os.fsync(fout.fileno())
    if os.name == "posix":
        os.chmod(dst, 0o600)


def rekey_file(db_path: Path, old_key: str, new_key: str, *, key_root: str,
               before_commit=None) -> None:
    """Re-key a closed database (no other connection open, WAL checkpointed) through a copy.

    ``key_root`` is recorded in the copy as ``internal.key_root`` before the re-key (see
    the module docstring). ``before_commit()`` runs after the re-keyed copy has
    been verified and before it replaces the database (the salt file is written there);
    if it raises, nothing is replaced. Raises PassphraseError; on any failure the database
    file is unchanged.
    """
    import sqlcipher3

    copy = db_path.with_name(db_path.name + REKEY_SUFFIX)
    for leftover in (copy, Path(str(copy) + "-journal")):
        leftover.unlink(missing_ok=True)
    wal = Path(str(db_path) + "-wal")
    if wal.exists() and wal.stat().st_size:
        raise PassphraseError("The database is still busy (its write-ahead log is not "
                              "empty). Close other TFTSR windows and try again.")
    try:
        _copy_with_fsync(db_path, copy)
        conn = _connect(copy, old_key, read_only=False)
        try:
            _checked(conn, "database copy")
            conn.execute("PRAGMA journal_mode = DELETE")
            from tftsr.settings.store import set_value

            conn.execute("BEGIN IMMEDIATE")
            set_value(conn, KEY_ROOT_SETTING, key_root, internal=True)
            conn.execute("COMMIT")
            before = _table_counts(conn)
            conn.execute("PRAGMA rekey = " + _sql_text(new_key))
        finally:
            conn.close()
        conn = _connect(copy, new_key, read_only=False)
        try:
            after = _checked(conn, "re-keyed copy")
            conn.execute("PRAGMA journal_mode = WAL")
        finally:
            conn.close()
        if after != before:
            raise PassphraseError("The re-keyed copy does not hold the same rows as the "
                                  "database; the database was not changed.")
        if not key_opens(copy, new_key) or key_opens(copy, old_key):
            raise PassphraseError("The re-keyed copy did not take the new key; the database "
                                  "was not changed.")
        with open(copy, "rb+") as fh:
            os.fsync(fh.fileno())
        if before_commit is not None:
            before_commit()
        for stale in (Path(str(db_path) + "-wal"), Path(str(db_path) + "-shm")):
            stale.unlink(missing_ok=True)  # the old file's (empty) WAL index
        os.replace(copy, db_path)
        _fsync_dir(db_path.parent)
    except sqlcipher3.DatabaseError as exc:
        raise PassphraseError(f"Re-keying failed ({exc}); the database was not changed.") from None
    except OSError as exc:
        raise PassphraseError(f"Re-keying failed: {exc.strerror or exc}. The database was not "
                              "changed.") from None
    finally:
        for leftover in (copy, Path(str(copy) + "-journal"), Path(str(copy) + "-wal"),
                         Path(str(copy) + "-shm")):
            leftover.unlink(missing_ok=True)


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def rekey_app(app, new_key, *, before_commit=None) -> None:
    """Re-key the running app's database to ``new_key`` (a :class:`~tftsr.config.DbKey`
    with the same ``value`` as ``app.key``) and reopen it.

    Holds the database's write lock throughout, so no write can start; the pool's idle
    connections are closed and the WAL is checkpointed first. On failure the old database
    object keeps working and the file is unchanged.
    """
    from tftsr import logs
    from tftsr.db import open_database

    db, old = app.db, app.key
    if new_key.value != old.value:
        raise ValueError("a re-key keeps the key the other keys are derived from")
    with db.exclusive() as conn:
        result = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if result["busy"]:
            raise PassphraseError("The database is busy (a search or an export may still be "
                                  "running). Try again in a moment; nothing was changed.")
        logs.add_secret(new_key.sqlcipher)
        rekey_file(db.path, old.sqlcipher, new_key.sqlcipher, key_root=old.value,
                   before_commit=before_commit)
        db.close()
    app.db = open_database(db.path, new_key.sqlcipher)
    app.key = new_key


def key_root(app_db) -> str | None:
    """The key recorded by the first re-key (see the module docstring), if any."""
    from tftsr.settings.store import get_value

    with app_db.connection() as conn:
        value = get_value(conn, KEY_ROOT_SETTING)
    return value if isinstance(value, str) and value else None


# --- switching and changing ----------------------------------------------------------------

def _detail(db_path: Path) -> str:
    return (f"derived from your passphrase (scrypt; salt in {salt_path(db_path).name}, "
            "never stored)")


def is_enabled(app) -> bool:
    return salt_path(app.db.path).exists()


def _audit(app, action: str, details: dict) -> None:
    from tftsr.audit import record

    with app.db.transaction() as conn:
        record(conn, action, "database", "main", details)


def _check_current(app, current: str) -> KdfParams:
    params = read_params(app.db.path)
    if params is None:
        raise InvalidState("Passphrase mode is not on for this database.")
    if not hmac.compare_digest(derive_key(current, params), app.key.sqlcipher):
        raise InvalidArgument("The current passphrase is wrong; nothing was changed.",
                              code="wrong_passphrase")
    return params


def _new(passphrase_text: str) -> None:
    try:
        check_new_passphrase(passphrase_text)
    except PassphraseError as exc:
        raise InvalidArgument(exc.message) from None


def enable(app, new_passphrase: str) -> None:
    """Switch an installed app's database to passphrase mode (re-keys it)."""
    from tftsr import config

    if is_enabled(app):
        raise InvalidState("Passphrase mode is already on; change the passphrase instead.")
    _new(new_passphrase)
    params = KdfParams.new()
    new_key = config.DbKey(app.key.value, "passphrase", _detail(app.db.path),
                           cipher=derive_key(new_passphrase, params))
    # The salt file goes in place before the database is replaced; a crash in between
    # leaves the old key material, which still opens the database and wins at the next
    # start (tftsr.config.load_db_key removes the salt file then).
    rekey_app(app, new_key, before_commit=lambda: write_params(app.db.path, params))
    config.forget_stored_key(app.data_dir)
    _audit(app, "passphrase_enabled", {"kdf": "scrypt", "n": params.n, "r": params.r,
                                       "p": params.p})


def change(app, current: str, new_passphrase: str) -> None:
    """A new passphrase for a database in passphrase mode (re-keys it; same salt)."""
    from tftsr import config

    params = _check_current(app, current)
    _new(new_passphrase)
    if new_passphrase == current:
        raise InvalidArgument("The new passphrase is the same as the current one.")
    new_key = config.DbKey(app.key.value, "passphrase", _detail(app.db.path),
                           cipher=derive_key(new_passphrase, params))
    rekey_app(app, new_key)
    _audit(app, "passphrase_changed", {"kdf": "scrypt"})


def disable(app, current: str) -> None:
    """Back to a random key kept in the OS keyring or a key file (installed app only)."""
    from tftsr import config

    if app.extras.get("portable"):
        raise InvalidState("A portable folder always uses a passphrase: its key must never "
                           "be stored on the stick.")
    _check_current(app, current)
    stored = config.store_new_key(app.data_dir)
    new_key = config.DbKey(app.key.value, stored.source, stored.detail, cipher=stored.value)
    try:
        rekey_app(app, new_key)
    except Exception:
        config.forget_stored_key(app.data_dir)
        raise
    # The stored key opens the database now; a crash before this line is finished by the
    # next start, which finds the stored key opening the database and drops the salt file.
    salt_path(app.db.path).unlink(missing_ok=True)
    _audit(app, "passphrase_disabled", {"key_source": stored.source})


# --- commands (Settings -> Security) ------------------------------------------------------

PASSPHRASE = Str(min_len=1, max_len=MAX_LENGTH, strip=False)


@command()
def get_passphrase_status(app):
    """Whether the database key comes from a passphrase (never the key or the passphrase)."""
    portable = bool(app.extras.get("portable"))
    return {"enabled": is_enabled(app), "portable": portable, "can_switch_off": not portable,
            "min_length": MIN_LENGTH, "key_source": app.key.source,
            "key_source_detail": app.key.detail}


@command(passphrase=PASSPHRASE)
def enable_passphrase(app, passphrase):
    """Switch passphrase mode on: the database is re-keyed with a key derived from it."""
    enable(app, passphrase)
    return get_passphrase_status(app)


@command(current=PASSPHRASE, new=PASSPHRASE)
def change_passphrase(app, current, new):
    """Re-key the database with a key derived from a new passphrase."""
    change(app, current, new)
    return get_passphrase_status(app)


@command(current=PASSPHRASE)
def disable_passphrase(app, current):
    """Switch passphrase mode off (installed app only): a random key in the keyring or a
    key file takes over."""
    disable(app, current)
    return get_passphrase_status(app)
