"""Find the bundled `frontend/` and `migrations/` folders.

Three layouts are supported: a PyInstaller bundle (``sys._MEIPASS``), a source
checkout (the folders sit at the repository top level) and an installed wheel
(copied into ``tftsr/_bundled`` at build time).
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def _candidates(name: str) -> list[Path]:
    found = []
    meipass = getattr(sys, "_MEIPASS", None)
    if meipass:
        found.append(Path(meipass) / name)
    found.append(_PACKAGE_DIR.parent.parent / name)  # source checkout: backend/tftsr/..
    found.append(_PACKAGE_DIR / "_bundled" / name)  # installed wheel
    return found


@cache
def resource_dir(name: str) -> Path:
    for path in _candidates(name):
        if path.is_dir():
            return path
    tried = ", ".join(str(p) for p in _candidates(name))
    raise FileNotFoundError(f"TFTSR's {name}/ folder is missing (looked in {tried})")


def frontend_dir() -> Path:
    return resource_dir("frontend")


def migrations_dir() -> Path:
    return resource_dir("migrations")
