"""Run one shell command: exactly the string given, in its own process group, with a
clean environment, a timeout, cancellation and a cap on what is kept of its output.

* ``/bin/bash -c COMMAND`` (``cmd.exe /d /s /c`` on Windows), stdin from ``/dev/null``,
  in a new session (``start_new_session=True``) so the command and everything it starts
  form one process group.
* On timeout or cancel the whole group gets SIGTERM, then SIGKILL after a short grace;
  background processes still alive when the command itself ends are killed the same way,
  so nothing it started outlives the run.
* The environment is built from an allow-list (PATH, HOME, LANG, LC_*, TZ, USER,
  LOGNAME, TERM=dumb) plus ``env_extra`` (KUBECONFIG for kubectl runs). Nothing else of
  the app's environment reaches the command: no provider or integration secrets, no
  ``TFTSR_*``, no ``LD_PRELOAD``/``LD_LIBRARY_PATH``/``PYTHONPATH``.
* Both pipes are read by their own threads (no deadlock however much is written); each
  stream keeps its first and last ``max_output / 2`` bytes and says how much was cut
  from the middle. ``output_sha256`` and ``output_bytes`` cover everything the command
  wrote, as it arrived, not only what was kept.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_OUTPUT = 256 * 1024
KILL_GRACE = 1.0          # seconds between SIGTERM and SIGKILL
DRAIN_GRACE = 0.5         # after the command ends, how long stragglers may keep writing
ALLOWED_ENV = ("PATH", "HOME", "LANG", "TZ", "USER", "LOGNAME")
WINDOWS_ENV = ("SYSTEMROOT", "SYSTEMDRIVE", "WINDIR", "COMSPEC", "PATHEXT", "TEMP", "TMP",
               "USERPROFILE", "APPDATA", "LOCALAPPDATA", "PROGRAMDATA", "PROGRAMFILES",
               "PROGRAMFILES(X86)", "USERNAME", "USERDOMAIN", "COMPUTERNAME")
FORBIDDEN_EXTRA = re.compile(r"^(LD_|DYLD_|TFTSR_|BASH_FUNC_)|^(BASH_ENV|ENV|PYTHONPATH|"
                             r"PYTHONHOME|PYTHONSTARTUP|PROMPT_COMMAND|SHELLOPTS|BASHOPTS|IFS|"
                             r"PS4|PERL5OPT|PERL5LIB|NODE_OPTIONS|RUBYOPT)$")


@dataclass
class RunResult:
    command: str
    exit_code: int | None
    stdout: str
    stderr: str
    stdout_truncated: bool
    stderr_truncated: bool
    duration_ms: int
    output_bytes: int          # bytes written to stdout and stderr together, all of them
    output_sha256: str         # SHA-256 of every byte of output, in the order it arrived
    timed_out: bool = False
    cancelled: bool = False
    message: str | None = None  # a human explanation (timeout, cancel, missing command)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def human_size(n: int) -> str:
    value = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} bytes"  # pragma: no cover


class _Capture:
    """Keeps the head and tail of one stream; feeds every byte to the shared hash."""

    def __init__(self, limit: int, hasher, lock: threading.Lock):
        self.head_limit = limit // 2
        self.tail_limit = limit - self.head_limit
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0
        self.hasher, self.lock = hasher, lock

    def feed(self, chunk: bytes) -> None:
        with self.lock:
            self.hasher.update(chunk)
        self.total += len(chunk)
        room = self.head_limit - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            if len(self.tail) > self.tail_limit * 2:  # trim now and then, not per chunk
                del self.tail[: len(self.tail) - self.tail_limit]

    def text(self) -> tuple[str, bool]:
        if len(self.tail) > self.tail_limit:
            del self.tail[: len(self.tail) - self.tail_limit]
        kept = len(self.head) + len(self.tail)
        cut = self.total - kept
        head = self.head.decode("utf-8", errors="replace")
        tail = self.tail.decode("utf-8", errors="replace")
        if cut <= 0:
            return head + tail, False
        return f"{head}\n… {human_size(cut)} cut from the middle …\n{tail}", True


def _reader(pipe, capture: _Capture) -> None:
    try:
        while True:
            chunk = pipe.read(65536) if not hasattr(pipe, "read1") else pipe.read1(65536)
            if not chunk:
                break
            capture.feed(chunk)
    except (OSError, ValueError):
        pass
    finally:
        try:
            pipe.close()
        except OSError:
            pass


def clean_environment(env_extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a command gets: the allow-list, TERM=dumb, and ``env_extra``."""
    env: dict[str, str] = {}
    for name, value in os.environ.items():
        if name in ALLOWED_ENV or name.startswith("LC_") or \
                (sys.platform == "win32" and name.upper() in WINDOWS_ENV):
            env[name] = value
    env.setdefault("PATH", os.defpath)
    env["TERM"] = "dumb"
    for name, value in (env_extra or {}).items():
        if not isinstance(name, str) or not isinstance(value, str) or not name or \
                "=" in name or "\x00" in name + value:
            raise ValueError(f"Invalid environment variable {name!r} for the command.")
        if FORBIDDEN_EXTRA.search(name):
            raise ValueError(f"The environment variable {name} may not be passed to a command.")
        env[name] = value
    return env


def _is_cancelled(cancel) -> bool:
    if cancel is None:
        return False
    if hasattr(cancel, "is_set"):
        return bool(cancel.is_set())
    flag = getattr(cancel, "cancelled", False)
    return bool(flag() if callable(flag) else flag)


def _shell_argv(command: str) -> list[str]:
    if sys.platform == "win32":
        return [os.environ.get("COMSPEC", "cmd.exe"), "/d", "/s", "/c", command]
    return ["/bin/bash", "-c", command]


def _group_busy(pgid: int, leader: int) -> bool:
    """Whether any process of the group other than our (unreaped) shell is still running.
    Zombies do not count: once killed, an orphan waits for PID 1 to reap it."""
    if not os.path.isdir("/proc"):  # no /proc (macOS): ask the kernel about the group
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    try:
        entries = os.listdir("/proc")
    except OSError:
        return True
    for entry in entries:
        if not entry.isdigit() or int(entry) == leader:
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != b"Z":
            return True
    return False


def _leader_exited(proc: subprocess.Popen) -> bool:
    """Whether the shell ended, without reaping it (its pid stays the group's id until
    the group has been dealt with, so the id cannot be reused meanwhile)."""
    if sys.platform == "win32":
        return proc.poll() is not None
    try:
        info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    return info is not None


def _kill_group(proc: subprocess.Popen) -> None:
    if sys.platform == "win32":
        subprocess.run(["taskkill", "/T", "/F", "/PID", str(proc.pid)], capture_output=True,
                       check=False)
        return
    pgid = proc.pid
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + KILL_GRACE
    while time.monotonic() < deadline:
        if _leader_exited(proc) and not _group_busy(pgid, proc.pid):
            break
        time.sleep(0.02)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _missing_command(stderr: str) -> str | None:
    match = re.search(r"(?:bash: (?:line \d+: )?)?([^\s:]+): (?:command not found|No such file "
                      r"or directory)", stderr)
    name = match.group(1) if match else None
    if name == "kubectl":
        return ("kubectl is not installed on this machine (or not on the PATH), so the "
                "command could not run. Install kubectl, then try again.")
    if name:
        return f"The program `{name}` is not installed on this machine (or not on the PATH)."
    return "A program the command needs is not installed on this machine (exit code 127)."


def run(command: str, *, timeout: float = DEFAULT_TIMEOUT, max_output: int = DEFAULT_MAX_OUTPUT,
        env_extra: dict[str, str] | None = None, cancel=None, cwd: str | None = None) -> RunResult:
    """Run ``command`` exactly as given; never raises for what the command does."""
    if not isinstance(command, str) or not command.strip() or "\x00" in command:
        raise ValueError("The command must be non-empty text without NUL characters.")
    if not (0 < float(timeout) <= 24 * 3600):
        raise ValueError("The timeout must be between 0 and 24 hours.")
    if not (1024 <= int(max_output) <= 64 * 1024 * 1024):
        raise ValueError("max_output must be between 1 KB and 64 MB.")
    env = clean_environment(env_extra)
    hasher, lock = hashlib.sha256(), threading.Lock()
    out, err = _Capture(max_output, hasher, lock), _Capture(max_output, hasher, lock)
    started = time.monotonic()
    popen_kw: dict[str, Any] = {"start_new_session": True} if sys.platform != "win32" else {
        "creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    try:
        proc = subprocess.Popen(_shell_argv(command), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                cwd=cwd or env.get("HOME") or None, close_fds=True, **popen_kw)
    except OSError as exc:
        return RunResult(command, None, "", "", False, False, 0, 0, hasher.hexdigest(),
                         message=f"The command could not be started: {exc.strerror or exc}.")
    readers = [threading.Thread(target=_reader, args=(proc.stdout, out), daemon=True),
               threading.Thread(target=_reader, args=(proc.stderr, err), daemon=True)]
    for t in readers:
        t.start()
    deadline = started + float(timeout)
    timed_out = cancelled = False
    while not _leader_exited(proc):
        if _is_cancelled(cancel):
            cancelled = True
            break
        if time.monotonic() >= deadline:
            timed_out = True
            break
        time.sleep(0.02)
    if timed_out or cancelled:
        _kill_group(proc)
    else:  # the shell ended: give its output a moment, then end whatever it left behind
        drain_until = time.monotonic() + DRAIN_GRACE
        while any(t.is_alive() for t in readers) and time.monotonic() < drain_until:
            time.sleep(0.01)
        if sys.platform != "win32" and _group_busy(proc.pid, proc.pid):
            _kill_group(proc)
    exit_code = proc.wait()
    for t in readers:
        t.join(timeout=5)
    duration_ms = int((time.monotonic() - started) * 1000)
    stdout, stdout_cut = out.text()
    stderr, stderr_cut = err.text()
    message = None
    if timed_out:
        message = f"The command was stopped after {float(timeout):g} seconds (time limit)."
        exit_code = None
    elif cancelled:
        message = "The command was stopped on request."
        exit_code = None
    elif exit_code == 127:
        message = _missing_command(stderr)
    elif exit_code is not None and exit_code < 0:
        message = f"The command was ended by signal {-exit_code}."
    return RunResult(command, exit_code, stdout, stderr, stdout_cut, stderr_cut, duration_ms,
                     out.total + err.total, hasher.hexdigest(), timed_out, cancelled, message)
