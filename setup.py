"""Packaging hook: put frontend/ and migrations/ inside the wheel.

Everything else about the package is declared in pyproject.toml. In a source checkout
TFTSR finds the top-level frontend/ and migrations/ folders directly; an installed wheel
has no checkout around it, so the build copies both folders into ``tftsr/_bundled/``,
the third place ``tftsr.resources`` looks. Editable installs (``pip install -e .``) skip
the copy and keep reading the checkout, so edits show up without reinstalling.

setuptools' default work folder is ./build, which holds our build scripts, so
intermediate files go to a temporary folder that is removed when the build ends.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
BUNDLED = ("frontend", "migrations")


def _ignore(_dir: str, names: list[str]) -> list[str]:
    return [n for n in names if n.startswith(".") or n in ("__pycache__", "node_modules")]


class BuildPyWithResources(build_py):
    """``build_py`` that also copies the top-level UI and migrations into the package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "tftsr" / "_bundled"
        for name in BUNDLED:
            source = ROOT / name
            if not source.is_dir():
                raise SystemExit(f"cannot build TFTSR: {source} is missing")
            shutil.rmtree(target / name, ignore_errors=True)
            shutil.copytree(source, target / name, ignore=_ignore)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = list(super().get_outputs(include_bytecode))
        if getattr(self, "editable_mode", False):
            return outputs
        target = Path(self.build_lib) / "tftsr" / "_bundled"
        if target.is_dir():
            outputs += [str(p) for p in target.rglob("*") if p.is_file()]
        return outputs


def _temporary_build_base() -> str:
    base = tempfile.mkdtemp(prefix="tftsr-setuptools-")
    atexit.register(shutil.rmtree, base, ignore_errors=True)
    return base


setup(
    cmdclass={"build_py": BuildPyWithResources},
    options={"build": {"build_base": _temporary_build_base()}},
)
