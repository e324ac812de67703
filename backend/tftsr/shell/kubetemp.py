"""Private folders for the decrypted kubeconfig copies kubectl reads, and their removal
when the process that made one died before removing it.

A folder is ``<temp>/tftsr-kube-<pid>-<random>`` (0700, outside the data folder) holding
``owner.lock`` and then ``config`` (0600). The process using the folder holds an
exclusive lock on ``owner.lock`` (``flock``; on Windows the open file itself, which no
one can delete while it is open) until the folder is removed. The kernel releases the
lock when the process ends, however it ends, so a folder whose lock can be taken belongs
to no running process: :func:`remove_stale` removes those, at every app start
(:func:`tftsr.app.open_app`) and before every run. The secret is written only after the
lock is held; a folder without a lock file holds no secret (it goes once its maker is
gone, or a minute after it was made) unless an older version made it (no pid in its
name): those go once an hour old, as they did then.

Kept free of heavy imports: it runs while the app starts.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

TEMP_PREFIX = "tftsr-kube-"
LOCK_NAME = "owner.lock"
STALE_AFTER = 3600  # seconds: folders of older versions (no owner lock) are removed then
UNLOCKED_GRACE = 60  # seconds: a folder is locked microseconds after it is made
_OWNED = re.compile(re.escape(TEMP_PREFIX) + r"(\d+)-")

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]


def temp_parent(data_dir: str | os.PathLike | None) -> str:
    """The temporary-files folder, or /tmp (Windows: %SYSTEMROOT%\\Temp) when the
    temporary folder is the data folder or inside it."""
    base = Path(tempfile.gettempdir()).resolve()
    data = Path(data_dir or "/nonexistent").resolve()
    if base == data or data in base.parents:
        base = Path("/tmp") if os.name == "posix" else Path(os.environ.get("SYSTEMROOT", "C:\\")) / "Temp"
    return str(base)


def _lock(fd: int) -> bool:
    """Take the owner lock on ``fd`` without waiting; False when someone holds it."""
    if fcntl is None:
        return True  # Windows: holding the file open is the lock
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _owner_gone(folder: str) -> bool:
    """Whether no running process holds the folder's owner lock."""
    lock = os.path.join(folder, LOCK_NAME)
    if fcntl is None:
        try:
            os.remove(lock)  # fails while the owner has it open
        except FileNotFoundError:
            return False
        except OSError:
            return False
        return True
    try:
        fd = os.open(lock, os.O_RDWR | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    try:
        return _lock(fd)
    finally:
        os.close(fd)  # closing drops the lock taken just now


def _pid_running(pid: int) -> bool:
    """POSIX only (on Windows os.kill ends the process)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _stale(entry: os.DirEntry, now: float, older_than: float) -> bool:
    info = entry.stat(follow_symlinks=False)
    if not stat.S_ISDIR(info.st_mode) or (hasattr(os, "getuid") and info.st_uid != os.getuid()):
        return False
    if os.path.lexists(os.path.join(entry.path, LOCK_NAME)):
        return _owner_gone(entry.path)
    owner = _OWNED.match(entry.name)
    if owner:  # made but not locked (so no secret in it): its maker died or is starting
        return now - info.st_mtime > UNLOCKED_GRACE or (
            os.name == "posix" and not _pid_running(int(owner.group(1))))
    return now - info.st_mtime > older_than


def remove_stale(parent: str | None = None, *, older_than: float = STALE_AFTER) -> int:
    """Remove kubeconfig folders no running process owns (see the module's text); returns
    how many were removed. Never raises."""
    parent = parent or tempfile.gettempdir()
    removed = 0
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return 0
    now = time.time()
    for entry in entries:
        if not entry.name.startswith(TEMP_PREFIX):
            continue
        try:
            if _stale(entry, now, older_than):
                shutil.rmtree(entry.path, ignore_errors=True)
                removed += not os.path.exists(entry.path)
        except OSError:
            continue
    return removed


@contextlib.contextmanager
def private_folder(parent: str) -> Iterator[str]:
    """Yield a fresh 0700 folder this process owns (its lock held) until the block ends;
    the folder is removed then, however the block ends."""
    remove_stale(parent)
    folder = tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", dir=parent)
    fd = None
    try:
        os.chmod(folder, 0o700)
        fd = os.open(os.path.join(folder, LOCK_NAME),
                     os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        if not _lock(fd):
            raise OSError("The private kubeconfig folder is in use by another process.")
        yield folder
    finally:
        for name in os.listdir(folder) if os.path.isdir(folder) else ():
            if name != LOCK_NAME:  # the secret first, while the lock is still held
                with contextlib.suppress(OSError):
                    os.remove(os.path.join(folder, name))
        if fd is not None:
            os.close(fd)
        shutil.rmtree(folder, ignore_errors=True)
