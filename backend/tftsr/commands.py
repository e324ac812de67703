"""The command registry: the one dispatcher behind the JS bridge and ``POST /api/<command>``.

Each domain declares its commands next to its logic with :func:`command`; this module
only collects them, validates arguments and turns failures into clean errors.
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tftsr.db.connection import DatabaseError, describe_sqlite_error
from tftsr.errors import InvalidArgument, NotFound, TftsrError
from tftsr.validation import Param, clean_arguments

log = logging.getLogger(__name__)

DOMAIN_MODULES = (
    "tftsr.app_commands",
    "tftsr.issues.commands",
    "tftsr.audit.commands",
    "tftsr.settings.commands",
    "tftsr.evidence.commands",
    "tftsr.docs.commands",
    "tftsr.ai.commands",
    "tftsr.approvals.commands",
    "tftsr.mcp.commands",
    "tftsr.integrations.commands",
    "tftsr.shell.commands",
    "tftsr.passphrase",
    "tftsr.launcher",
)


@dataclass(frozen=True)
class Command:
    name: str
    func: Callable[..., Any]
    params: dict[str, Param] = field(default_factory=dict)
    doc: str = ""


REGISTRY: dict[str, Command] = {}


def command(name: str | None = None, /, **params: Param):
    """Register ``func(app, **validated_args)`` as a command (a parameter may be called
    ``name``: the command's own name is positional-only)."""

    def decorate(func):
        cmd_name = name or func.__name__
        if cmd_name in REGISTRY and REGISTRY[cmd_name].func is not func:
            raise RuntimeError(f"command {cmd_name} registered twice")
        REGISTRY[cmd_name] = Command(cmd_name, func, dict(params), (func.__doc__ or "").strip())
        return func

    return decorate


def load_all() -> dict[str, Command]:
    for module in DOMAIN_MODULES:
        importlib.import_module(module)
    return REGISTRY


_loading: threading.Event | None = None
_loading_lock = threading.Lock()


def load_all_in_background() -> threading.Event:
    """Import every command module on a thread of its own, once per process (the first
    call starts it), so that other work goes on meanwhile: a few domains import large
    libraries. The event is set when the thread has finished, also after an import error,
    which :func:`load_all` then raises again."""
    global _loading
    with _loading_lock:
        if _loading is None:
            _loading = threading.Event()
            threading.Thread(target=_load_in_background, args=(_loading,),
                             name="tftsr-load-commands", daemon=True).start()
        return _loading


# While the command modules import (CPU-bound, holding the GIL), other threads serve the
# page and run SQLite statements; each of them needs the GIL back after every request
# hand-off or statement, and by default waits up to 5 ms for it. Handing it over every
# millisecond meanwhile keeps those waits short.
LOADING_SWITCH_INTERVAL = 0.001


def _load_in_background(done: threading.Event) -> None:
    switch = sys.getswitchinterval()
    sys.setswitchinterval(min(switch, LOADING_SWITCH_INTERVAL))
    try:
        load_all()
    except Exception:  # noqa: BLE001 - reported, and raised again by load_all() later
        log.exception("loading the command modules failed")
    finally:
        sys.setswitchinterval(switch)
        done.set()


class InternalError(TftsrError):
    code = "internal"
    http_status = 500


class DiskFull(TftsrError):
    code = "disk_full"
    http_status = 507


def dispatch(app, name: Any, args: Any) -> Any:
    """Run one command. Raises TftsrError (with a human message) on any failure."""
    if not isinstance(name, str) or name not in REGISTRY:
        raise NotFound("There is no such command.", code="unknown_command")
    cmd = REGISTRY[name]
    started = time.perf_counter()
    try:
        cleaned = clean_arguments(cmd.params, args)
        return cmd.func(app, **cleaned)
    except TftsrError:
        raise
    except DatabaseError as exc:
        log.exception("database error in command %s", name)
        if "full" in str(exc).lower():
            raise DiskFull(describe_sqlite_error(exc, app.db.path)) from None
        raise InternalError(describe_sqlite_error(exc, app.db.path)) from None
    except Exception:
        log.exception("unexpected error in command %s", name)
        raise InternalError(
            "Something went wrong inside TFTSR. The details are in the application log."
        ) from None
    finally:
        elapsed = (time.perf_counter() - started) * 1000
        log.debug("command %s took %.1f ms", name, elapsed)


def error_payload(exc: TftsrError) -> dict:
    return {"error": exc.to_dict()}


__all__ = ["command", "dispatch", "load_all", "load_all_in_background", "REGISTRY",
           "InvalidArgument"]
