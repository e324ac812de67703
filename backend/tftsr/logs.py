"""The application log: rotating files in ``<data dir>/logs/``.

It records what the app did (commands run, errors with tracebacks) and never incident
content, keys or tokens: known secrets are masked by a filter as a last line of defence.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import threading
from pathlib import Path

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(threadName)s] %(message)s"
MAX_BYTES = 2_000_000
BACKUP_COUNT = 5
_secrets: set[str] = set()
_lock = threading.Lock()


def add_secret(value: str | None) -> None:
    """Mask this value wherever it would appear in a log line."""
    if value and len(value) >= 6:
        with _lock:
            _secrets.add(value)


class SecretMaskFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not _secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001
            return True
        masked = message
        for secret in list(_secrets):
            if secret in masked:
                masked = masked.replace(secret, "[redacted]")
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            for secret in list(_secrets):
                record.exc_text = record.exc_text.replace(secret, "[redacted]")
        if masked != message:
            record.msg, record.args = masked, None
        return True


def configure(data_dir: Path, level: str = "INFO", *, debug: bool = False,
              console: bool = False, max_bytes: int = MAX_BYTES,
              backup_count: int = BACKUP_COUNT) -> Path:
    """Send the ``tftsr`` loggers to ``<data_dir>/logs/tftsr.log``, rotated at ``max_bytes``."""
    log_dir = data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / "tftsr.log"
    root = logging.getLogger("tftsr")
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=max_bytes,
                                                   backupCount=backup_count,
                                                   encoding="utf-8", delay=True)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(SecretMaskFilter())
    root.addHandler(handler)
    if console:
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        stream.addFilter(SecretMaskFilter())
        stream.setLevel(logging.WARNING if not debug else logging.DEBUG)
        root.addHandler(stream)
    root.setLevel(logging.DEBUG if debug else level)
    root.propagate = False
    _install_hooks()
    return path


def _install_hooks() -> None:
    log = logging.getLogger("tftsr.crash")

    def excepthook(exc_type, exc, tb):
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        log.critical("unhandled exception", exc_info=(exc_type, exc, tb))
        sys.__excepthook__(exc_type, exc, tb)

    def thread_hook(args):
        log.error("unhandled exception in thread %s", getattr(args.thread, "name", "?"),
                  exc_info=(args.exc_type, args.exc_value, args.exc_traceback))

    sys.excepthook = excepthook
    threading.excepthook = thread_hook
