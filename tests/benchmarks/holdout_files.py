"""Reading frozen holdout files (JSON lines plus an optional per-class side file).

Shared by ``score_pii_holdout.py`` and ``score_shell_holdout.py``.
"""

from __future__ import annotations

import json
from pathlib import Path


def load_rows(path: Path) -> list[dict]:
    """One dict per non-empty line, with its 1-based line number under ``_line``."""
    rows = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if line.strip():
                row = json.loads(line)
                row["_line"] = lineno
                rows.append(row)
    return rows


def load_classes(path: Path) -> dict[int, str]:
    """Line number -> class name, from ``<stem>.classes.json`` beside ``path`` if present."""
    side = path.with_name(path.stem + ".classes.json")
    if not side.exists():
        return {}
    line_class = {}
    for name, ranges in json.loads(side.read_text(encoding="utf-8"))["classes"].items():
        for first, last in ranges:
            for line in range(first, last + 1):
                line_class[line] = name
    return line_class
