"""Where TFTSR keeps its data and how the database key is held.

Data folder, in order: ``--data-dir``; in portable mode the ``data/`` folder beside the
executable; ``TFTSR_DATA_DIR``; else the platform's user data folder.

Portable mode is on when a ``tftsr-portable.marker`` file sits beside the program the user
started (the portable folder's ``tftsr``, or the single file, whose launcher passes its own
path in ``TFTSR_EXECUTABLE``). Then everything stays in the data folder -- temporary files
and the XDG cache/config/data/state folders are pointed there for this process and its
children (:func:`enter_portable_mode`) -- ``TFTSR_DATA_DIR`` and ``TFTSR_DB_KEY`` from the
host are ignored, and the key always comes from a passphrase.

Database key, in order:

* passphrase mode (portable, or a ``tftsr.db.salt`` file beside the database): derived
  from the passphrase (given by the CLI from ``TFTSR_PASSPHRASE``, else asked for) with
  scrypt and the salt file (:mod:`tftsr.passphrase`); never stored anywhere;
* ``TFTSR_DB_KEY``; a 0600 key file already in the data folder; an entry already in the
  OS keyring; otherwise a new random 256-bit key is generated and stored in the OS
  keyring when one is usable, else in a 0600 key file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

log = logging.getLogger(__name__)

DB_FILENAME = "tftsr.db"
KEY_FILENAME = "db.key"
KEYRING_SERVICE = "TFTSR"
PORTABLE_MARKER = "tftsr-portable.marker"
PORTABLE_DATA = "data"
MAX_PASSPHRASE_ATTEMPTS = 5
STALE_TEMP_SECONDS = 24 * 3600

# Set by the single-file launcher (build/single_file_stub.sh) to its own path. Taken out of
# the environment at once so that programs TFTSR starts do not inherit it.
_LAUNCHED_FROM = os.environ.pop("TFTSR_EXECUTABLE", None)


def launched_executable() -> Path | None:
    """The program file the user started when TFTSR runs from a build -- the single file
    (whose launcher names itself in TFTSR_EXECUTABLE) or the frozen executable -- or None
    when it runs from source or an installed package."""
    if not getattr(sys, "frozen", False):
        return None
    if _LAUNCHED_FROM and Path(_LAUNCHED_FROM).is_file():
        return Path(_LAUNCHED_FROM).absolute()
    return Path(sys.executable).absolute()


def portable_root(executable: Path | None = None) -> Path | None:
    """The portable folder (the one holding ``tftsr-portable.marker`` beside
    ``executable``, by default the program that was started), or None. The executable of
    a macOS app bundle (``TFTSR.app/Contents/MacOS/tftsr``) looks beside the bundle."""
    exe = executable if executable is not None else launched_executable()
    if exe is None:
        return None
    folder = Path(exe).absolute().parent
    if (folder.name == "MacOS" and folder.parent.name == "Contents"
            and folder.parent.parent.suffix == ".app"):
        folder = folder.parent.parent.parent
    return folder if (folder / PORTABLE_MARKER).is_file() else None


def resolve_data_dir(cli_value: str | None = None, *, portable: Path | None = None) -> Path:
    """The data folder. ``portable`` is the portable folder (see :func:`portable_root`)."""
    if cli_value:
        return Path(cli_value).expanduser().resolve()
    if portable is not None:
        return Path(portable) / PORTABLE_DATA
    env = os.environ.get("TFTSR_DATA_DIR")
    if env:
        return Path(env).expanduser().resolve()
    import platformdirs

    return Path(platformdirs.user_data_dir("tftsr", appauthor=False))


def portable_environment(data_dir: Path) -> dict[str, str]:
    """The variables that keep temporary files, caches and settings of TFTSR and of what it
    starts (Qt, fontconfig, shells) inside the data folder."""
    env = {
        "TMPDIR": data_dir / "tmp",
        "XDG_CACHE_HOME": data_dir / "cache",
        "XDG_CONFIG_HOME": data_dir / "config",
        "XDG_DATA_HOME": data_dir / "share",
        "XDG_STATE_HOME": data_dir / "state",
    }
    if os.name == "nt":
        env.update({"TEMP": data_dir / "tmp", "TMP": data_dir / "tmp",
                    "APPDATA": data_dir / "config", "LOCALAPPDATA": data_dir / "cache"})
    return {name: str(path) for name, path in env.items()}


# The host's values of the variables portable mode redirects, for the one thing that must
# reach the host on purpose: a launcher the person asked for (tftsr.launcher).
_HOST_ENVIRON: dict[str, str | None] = {}


def host_environ(name: str) -> str | None:
    """An environment variable as the host set it, before portable mode redirected it."""
    if name in _HOST_ENVIRON:
        return _HOST_ENVIRON[name]
    return os.environ.get(name)


def enter_portable_mode(data_dir: Path) -> None:
    """Create the data folder's tmp/cache/config/share/state folders and point this process
    (``tempfile`` included) and every child process at them. Temporary files older than a
    day, left by a crash, are removed."""
    env = portable_environment(data_dir)
    for name, path in env.items():
        Path(path).mkdir(mode=0o700, parents=True, exist_ok=True)
        _HOST_ENVIRON.setdefault(name, os.environ.get(name))
        os.environ[name] = path
    tempfile.tempdir = env["TMPDIR"]
    cutoff = time.time() - STALE_TEMP_SECONDS
    for entry in Path(env["TMPDIR"]).iterdir():
        try:
            if entry.lstat().st_mtime < cutoff:
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink()
        except OSError:
            pass


@dataclass(frozen=True)
class DbKey:
    """The database key and a description of where it is kept (never the key itself).

    ``value`` is the key everything else is derived from (the secrets key, the pseudonym
    MAC key). It is the SQLCipher key too, until a re-key (passphrase mode switched on, or
    a new passphrase) gives the database another one; then ``cipher`` holds the SQLCipher
    key and ``value`` keeps the database's first key, recorded inside the encrypted
    database (see :mod:`tftsr.passphrase`)."""

    value: str
    source: str  # "env" | "keyring" | "file" | "passphrase"
    detail: str
    cipher: str | None = None

    @property
    def sqlcipher(self) -> str:
        """The key SQLCipher opens the database with."""
        return self.cipher or self.value

    def with_root(self, root: str | None) -> DbKey:
        """This key with ``root`` as the value other keys are derived from."""
        if not root or root == self.value:
            return self
        return replace(self, value=root, cipher=self.sqlcipher)

    def __repr__(self) -> str:  # keep the key out of tracebacks and logs
        return f"DbKey(source={self.source!r}, detail={self.detail!r})"


@dataclass(frozen=True)
class Unlock:
    """How to obtain the key when it must come from a person.

    ``portable``: passphrase mode whatever is on disk. ``passphrase``: given up front (the
    CLI reads ``TFTSR_PASSPHRASE``); a wrong one is refused at once. ``ask(new, error)``:
    asks a person (a terminal prompt, the desktop's passphrase window) and returns the
    passphrase or None when they give up; ``new`` says a passphrase is being chosen for a
    new database, ``error`` what was wrong with the previous answer.
    """

    portable: bool = False
    passphrase: str | None = None
    ask: Callable[[bool, str | None], str | None] | None = None

    def __repr__(self) -> str:
        return f"Unlock(portable={self.portable}, ask={self.ask is not None})"


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


def load_db_key(data_dir: Path, *, create: bool = True,
                unlock: Unlock | None = None) -> DbKey | None:
    """The database key (see the module docstring). Raises
    :class:`tftsr.passphrase.PassphraseError` when a passphrase is needed and wrong or
    missing; returns None when a database exists whose key is nowhere to be found."""
    unlock = unlock or Unlock()
    from tftsr import passphrase

    db_path = data_dir / DB_FILENAME
    params = passphrase.read_params(db_path)
    if unlock.portable or params is not None:
        if not unlock.portable:
            stored = _stored_key(data_dir)
            if stored is not None and _file_has_data(db_path) and passphrase.key_opens(
                    db_path, stored.value):
                # A switch into or out of passphrase mode stopped half way: the stored key
                # still opens the database, so the salt file is not in force yet/any more.
                log.warning("the database still opens with the key %s; removing the "
                            "passphrase salt file of an unfinished switch", stored.detail)
                passphrase.salt_path(db_path).unlink(missing_ok=True)
                return stored
        return _passphrase_key(db_path, params, unlock)
    return _key_mode(data_dir, create=create)


def _file_has_data(path: Path) -> bool:
    try:
        return path.stat().st_size > 0
    except OSError:
        return False


def _passphrase_key(db_path: Path, params, unlock: Unlock) -> DbKey:
    from tftsr import passphrase as pp

    exists = _file_has_data(db_path)
    if params is None:
        if exists:
            raise pp.PassphraseError(
                f"The database {db_path} has no passphrase salt file "
                f"({pp.salt_path(db_path).name}) beside it, so its key cannot be derived. "
                "Put the salt file back from where the database came from; nothing was changed.")
        params = pp.KdfParams.new()
    new = not exists
    detail = (f"derived from your passphrase (scrypt; salt in {pp.salt_path(db_path).name}, "
              "never stored)")
    error = None
    for _attempt in range(MAX_PASSPHRASE_ATTEMPTS):
        given = unlock.passphrase
        if given is None:
            if unlock.ask is None:
                raise pp.PassphraseError(
                    f"The database in {db_path.parent} is protected by a passphrase. Set "
                    "TFTSR_PASSPHRASE, or start TFTSR in a terminal or as a window so it "
                    "can ask for it. Nothing was changed.")
            given = unlock.ask(new, error)
            if given is None:
                raise pp.PassphraseError("No passphrase was given; nothing was changed.")
        if new:
            try:
                pp.check_new_passphrase(given)
            except pp.PassphraseError as exc:
                if unlock.passphrase is not None:
                    raise
                error = exc.message
                continue
        key = pp.derive_key(given, params)
        if new:
            if pp.read_params(db_path) != params:
                pp.write_params(db_path, params)
            return DbKey(key, "passphrase", detail)
        if pp.key_opens(db_path, key):
            return DbKey(key, "passphrase", detail)
        if unlock.passphrase is not None:
            break
        error = "That passphrase is wrong: it does not open this database. Try again."
    raise pp.WrongPassphrase(
        f"The passphrase is wrong: it does not open the database {db_path}. "
        "Nothing was changed.")


def _stored_key(data_dir: Path) -> DbKey | None:
    """A key kept outside the passphrase (environment, key file, keyring), if any."""
    try:
        return _key_mode(data_dir, create=False)
    except (OSError, ValueError):
        return None


def forget_stored_key(data_dir: Path) -> None:
    """Remove the key file and the keyring entry of this data folder (after a switch to
    passphrase mode has been verified)."""
    (data_dir / KEY_FILENAME).unlink(missing_ok=True)
    ring = _keyring()
    if ring is not None:
        try:
            ring.delete_password(KEYRING_SERVICE, _keyring_username(data_dir))
        except Exception:  # noqa: BLE001 - absent already, or the keyring refused
            log.info("no keyring entry to remove for this data folder")


def store_new_key(data_dir: Path) -> DbKey:
    """A new random key, stored the way key mode keeps it (keyring, else a 0600 key file);
    used when passphrase mode is switched off."""
    value = secrets.token_hex(32)
    ring = _keyring()
    username = _keyring_username(data_dir)
    if ring is not None:
        try:
            ring.set_password(KEYRING_SERVICE, username, value)
            if ring.get_password(KEYRING_SERVICE, username) == value:
                return DbKey(value, "keyring", f"in the OS keyring (service {KEYRING_SERVICE})")
        except Exception:  # noqa: BLE001 - fall back to the key file
            log.info("the OS keyring refused the key; using a key file instead")
    key_file = data_dir / KEY_FILENAME
    key_file.unlink(missing_ok=True)
    _write_key_file(key_file, value)
    return DbKey(value, "file", f"in the key file {key_file} (mode 0600)")


def _key_mode(data_dir: Path, *, create: bool) -> DbKey | None:
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
