"""The application object: configuration, database, events and run mode, in one place."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tftsr import __version__
from tftsr.config import DB_FILENAME, DbKey, Unlock, load_db_key
from tftsr.db import Database, open_database
from tftsr.errors import DatabaseOpenError
from tftsr.events import EventBus

log = logging.getLogger(__name__)


@dataclass
class App:
    data_dir: Path
    db: Database
    key: DbKey
    mode: str = "browser"  # "desktop" | "browser" | "cli"
    events: EventBus = field(default_factory=EventBus)
    version: str = __version__
    # Set by the desktop shell: opens a native save dialog, returns a path or None.
    save_dialog: Callable[[str], str | None] | None = None
    # Set by the desktop shell: opens a native file-open dialog for the given file types
    # (pywebview's "Label (*.ext;*.ext)" strings), returns the chosen paths or None.
    open_dialog: Callable[[list[str], bool], list[str] | None] | None = None
    # Set by the server: registers bytes for one download, returns its URL.
    offer_download: Callable[[str, str, bytes], str] | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def log_path(self) -> Path:
        return self.data_dir / "logs" / "tftsr.log"

    def close(self) -> None:
        self.db.close()


def ensure_data_dir(data_dir: Path) -> None:
    """Create the data folder (readable by its owner only) and its logs/ folder."""
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        (data_dir / "logs").mkdir(mode=0o700, exist_ok=True)
    except OSError as exc:
        raise DatabaseOpenError(
            f"TFTSR cannot create its data folder {data_dir}: {exc.strerror or exc}. "
            "Choose another folder with --data-dir or TFTSR_DATA_DIR."
        ) from None


def open_app(data_dir: Path, *, mode: str = "browser", unlock: Unlock | None = None,
             meanwhile: Callable[[], object] | None = None) -> App:
    """Open the data folder: key, database, migrations. Raises DatabaseOpenError.
    ``unlock`` says how to get a passphrase when the key comes from one (tftsr.config).

    ``meanwhile`` runs on the calling thread while the database is opened on another:
    opening derives the SQLCipher key (PBKDF2) and applies migrations, work SQLite does
    without holding the interpreter lock, so imports made meanwhile overlap it."""
    ensure_data_dir(data_dir)
    _remove_stale_kubeconfig_copies(data_dir)
    try:
        key = load_db_key(data_dir, unlock=unlock)
    except OSError as exc:
        raise DatabaseOpenError(
            f"TFTSR cannot store its database key in {data_dir}: {exc.strerror or exc}."
        ) from None
    if key is None:
        raise DatabaseOpenError(
            f"The database in {data_dir} exists but its key was not found (no TFTSR_DB_KEY, "
            "no key file, no keyring entry). Set TFTSR_DB_KEY to the key it was created with; "
            "nothing was changed."
        )
    if meanwhile is None:
        db = open_database(data_dir / DB_FILENAME, key.sqlcipher)
    else:
        db = _open_database_while(data_dir / DB_FILENAME, key.sqlcipher, meanwhile)
    from tftsr.passphrase import key_root

    app = App(data_dir=data_dir, db=db, key=key.with_root(key_root(db)), mode=mode)
    app.extras["portable"] = bool(unlock and unlock.portable)
    return app


def _remove_stale_kubeconfig_copies(data_dir: Path) -> None:
    """Decrypted kubeconfig copies a previous run of the app left when it died (see
    tftsr.shell.kubetemp) are removed before anything else happens."""
    from tftsr.shell import kubetemp

    try:
        removed = kubetemp.remove_stale(kubetemp.temp_parent(data_dir))
    except Exception:  # noqa: BLE001 - never stops the app from starting
        log.warning("could not look for stale kubeconfig copies", exc_info=True)
        return
    if removed:
        log.info("removed %d kubeconfig copies left by a previous run", removed)


def _open_database_while(path: Path, key: str, meanwhile: Callable[[], object]) -> Database:
    """:func:`open_database` on a thread of its own while ``meanwhile()`` runs here. An
    error of ``meanwhile`` is raised (the database closed again if it opened), else one of
    opening the database."""
    import threading

    import tftsr.db.migrator  # noqa: F401 - imported here, not by both threads at once

    outcome: dict[str, Any] = {}

    def opening() -> None:
        try:
            outcome["db"] = open_database(path, key)
        except BaseException as exc:  # noqa: BLE001 - re-raised on the calling thread
            outcome["error"] = exc

    worker = threading.Thread(target=opening, name="tftsr-open-database", daemon=True)
    worker.start()
    try:
        meanwhile()
    except BaseException:
        worker.join()
        if "db" in outcome:
            outcome["db"].close()
        raise
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["db"]
