"""Where TFTSR keeps its data and how the database key is held.

Data folder, in order: ``--data-dir``, ``TFTSR_DATA_DIR``, a ``data/`` folder beside a
portable executable (marked by a ``tftsr-portable`` file next to it), else the
platform's user data folder.

Database key, in order: ``TFTSR_DB_KEY``; a 0600 key file already in the data folder;
an entry already in the OS keyring; otherwise a new random 256-bit key is generated and
stored in the OS keyring when one is usable, else in a 0600 key file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

import platformdirs

log = logging.getLogger(__name__)

DB_FILENAME = "tftsr.db"
KEY_FILENAME = "db.key"
KEYRING_SERVICE = "TFTSR"
PORTABLE_MARKER = "tftsr-portable"


def resolve_data_dir(cli_value: str | None = None) -> Path:
    if cli_value:
        return Path(cli_value).expanduser().resolve()
    env = os.environ.get("TFTSR_DATA_DIR")
    if env:
        return Path(env).expanduser().resolve()
    if getattr(sys, "frozen", False):
        exe_dir = Path(sys.executable).resolve().parent
        if (exe_dir / PORTABLE_MARKER).exists():
            return exe_dir / "data"
    return Path(platformdirs.user_data_dir("tftsr", appauthor=False))


@dataclass(frozen=True)
class DbKey:
    """The database passphrase and a description of where it is kept (never the key)."""

    value: str
    source: str  # "env" | "keyring" | "file"
    detail: str

    def __repr__(self) -> str:  # keep the key out of tracebacks and logs
        return f"DbKey(source={self.source!r}, detail={self.detail!r})"


def _keyring_username(data_dir: Path) -> str:
    digest = hashlib.sha256(str(data_dir).encode("utf-8")).hexdigest()[:16]
    return f"db-key-{digest}"


def _keyring():
    """The OS keyring module when a real backend is available, else None."""
    if os.environ.get("TFTSR_NO_KEYRING"):
        return None
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
        if isinstance(backend, fail.Keyring):
            return None
        name = type(backend).__module__ + "." + type(backend).__name__
        if "chainer" in name.lower() and not getattr(backend, "backends", None):
            return None
        return keyring
    except Exception:  # noqa: BLE001 - a broken keyring must never stop the app
        return None


def _read_key_file(path: Path) -> str:
    mode = stat.S_IMODE(path.stat().st_mode)
    if os.name == "posix" and mode & 0o077:
        os.chmod(path, 0o600)
    value = path.read_text(encoding="ascii").strip()
    if not value:
        raise ValueError(f"the key file {path} is empty")
    return value


def _write_key_file(path: Path, value: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(value + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def load_db_key(data_dir: Path, *, create: bool = True) -> DbKey | None:
    env = os.environ.get("TFTSR_DB_KEY")
    if env:
        return DbKey(env, "env", "from the TFTSR_DB_KEY environment variable")

    key_file = data_dir / KEY_FILENAME
    if key_file.exists():
        return DbKey(_read_key_file(key_file), "file", f"in the key file {key_file} (mode 0600)")

    ring = _keyring()
    username = _keyring_username(data_dir)
    if ring is not None:
        try:
            stored = ring.get_password(KEYRING_SERVICE, username)
        except Exception:  # noqa: BLE001
            stored = None
        if stored:
            return DbKey(stored, "keyring", f"in the OS keyring (service {KEYRING_SERVICE})")

    if not create:
        return None
    value = secrets.token_hex(32)
    if ring is not None and not (data_dir / DB_FILENAME).exists():
        try:
            ring.set_password(KEYRING_SERVICE, username, value)
            if ring.get_password(KEYRING_SERVICE, username) == value:
                log.info("generated a new database key and stored it in the OS keyring")
                return DbKey(value, "keyring", f"in the OS keyring (service {KEYRING_SERVICE})")
        except Exception:  # noqa: BLE001 - fall back to the key file
            log.info("the OS keyring refused the key; using a key file instead")
    if (data_dir / DB_FILENAME).exists():
        # A database exists but its key is nowhere to be found: never invent a new one.
        return None
    _write_key_file(key_file, value)
    log.info("generated a new database key in %s", key_file)
    return DbKey(value, "file", f"in the key file {key_file} (mode 0600)")
