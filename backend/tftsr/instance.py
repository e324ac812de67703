"""One running TFTSR per data folder.

The first process holds an exclusive lock on ``<data dir>/tftsr.lock``. On POSIX it also
listens on a 0600 Unix socket in the data folder; a second launch asks it through that
socket to bring its window forward, then exits politely.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path

from tftsr.errors import DatabaseOpenError

log = logging.getLogger(__name__)

LOCK_NAME = "tftsr.lock"
SOCKET_NAME = "tftsr.sock"


class InstanceLock:
    def __init__(self, data_dir: Path, fh):
        self.data_dir = data_dir
        self._fh = fh
        self._sock: socket.socket | None = None

    def describe(self, **info) -> None:
        self._fh.seek(0)
        self._fh.truncate()
        self._fh.write(json.dumps({"pid": os.getpid(), **info}))
        self._fh.flush()

    def listen(self, on_focus: Callable[[], None]) -> None:
        if not hasattr(socket, "AF_UNIX"):
            return
        path = self.data_dir / SOCKET_NAME
        if len(str(path)) > 100:
            return
        try:
            path.unlink(missing_ok=True)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            old = os.umask(0o177)
            try:
                sock.bind(str(path))
            finally:
                os.umask(old)
            sock.listen(4)
        except OSError:
            log.info("could not open the single-instance socket")
            return
        self._sock = sock

        def serve():
            while True:
                try:
                    conn, _ = sock.accept()
                except OSError:
                    return
                with conn:
                    try:
                        conn.settimeout(2)  # a silent client must not stall the listener
                        if conn.recv(16).strip() == b"focus":
                            on_focus()
                            conn.sendall(b"ok")
                    except OSError:
                        pass

        threading.Thread(target=serve, name="tftsr-instance", daemon=True).start()

    def release(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
                (self.data_dir / SOCKET_NAME).unlink(missing_ok=True)
            except OSError:
                pass
        try:
            _unlock(self._fh)
            self._fh.close()
        except OSError:
            pass


def _try_lock(fh) -> bool:
    try:
        if os.name == "nt":
            import msvcrt

            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


def _unlock(fh) -> None:
    if os.name == "nt":
        import msvcrt

        msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)
    else:
        import fcntl

        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def acquire(data_dir: Path) -> InstanceLock | None:
    """The lock for this data folder, or None when another TFTSR holds it. Raises
    DatabaseOpenError when the lock file cannot be opened (a read-only file system, a
    folder TFTSR may not write to)."""
    path = data_dir / LOCK_NAME
    try:
        fh = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held open while the lock lives
    except OSError as exc:
        reason = ("the file system is read-only" if exc.errno == errno.EROFS
                  else exc.strerror or str(exc))
        raise DatabaseOpenError(
            f"TFTSR cannot write in its data folder {data_dir} ({reason}), so it cannot open "
            "its database there. Nothing was changed. Choose a writable folder with "
            "--data-dir or TFTSR_DATA_DIR."
        ) from None
    if not _try_lock(fh):
        fh.close()
        return None
    return InstanceLock(data_dir, fh)


def running_info(data_dir: Path) -> dict:
    try:
        return json.loads((data_dir / LOCK_NAME).read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}


def ask_to_focus(data_dir: Path) -> bool:
    """Ask the running instance to show its window; True when it answered."""
    path = data_dir / SOCKET_NAME
    if not hasattr(socket, "AF_UNIX") or not path.exists():
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(3)
            sock.connect(str(path))
            sock.sendall(b"focus")
            return sock.recv(8) == b"ok"
    except OSError:
        return False
