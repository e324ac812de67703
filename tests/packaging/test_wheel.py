"""The wheel carries frontend/ and migrations/ (setup.py copies them into tftsr/_bundled/),
and a tftsr imported from the unpacked wheel -- with no checkout around it -- finds them
and migrates a fresh database."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, tftsr_env, unavailable

# The module's first test builds the wheel in its setup (up to 300 s): more than
# pytest-timeout's default per test.
pytestmark = pytest.mark.timeout(600)

NETWORK_HINTS = ("No matching distribution", "Could not find a version", "NewConnectionError",
                 "Temporary failure in name resolution", "Network is unreachable")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check",
         "-q", "-w", str(out), str(ROOT)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    if result.returncode != 0 and any(h in result.stderr for h in NETWORK_HINTS):
        unavailable("pip could not fetch setuptools/wheel to build the wheel "
                    f"(package registry unreachable):\n{result.stderr[-800:]}")
    assert result.returncode == 0, result.stdout + result.stderr
    wheels = list(out.glob("tftsr-*.whl"))
    assert len(wheels) == 1, wheels
    assert not (ROOT / "build" / "lib").exists(), "the build wrote into build/ (our sources)"
    assert not (ROOT / "backend" / "tftsr" / "_bundled").exists(), "copied into the checkout"
    return wheels[0]


def test_wheel_contains_frontend_and_every_migration(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    migrations = sorted(p.name for p in (ROOT / "migrations").glob("*.sql"))
    assert migrations
    missing = [m for m in migrations if f"tftsr/_bundled/migrations/{m}" not in names]
    assert not missing, f"migrations missing from the wheel: {missing}"
    assert "tftsr/_bundled/frontend/index.html" in names
    frontend = [p.relative_to(ROOT / "frontend").as_posix()
                for p in (ROOT / "frontend").rglob("*") if p.is_file()
                and not any(part.startswith(".") for part in p.parts)]
    missing = [f for f in frontend if f"tftsr/_bundled/frontend/{f}" not in names]
    assert not missing, f"frontend files missing from the wheel: {missing}"


def test_wheel_contains_the_package_data_files(wheel):
    """Non-Python files inside the package (the PDF fonts, their licences) ship too."""
    names = set(zipfile.ZipFile(wheel).namelist())
    package = ROOT / "backend" / "tftsr"
    data = [p.relative_to(package.parent).as_posix() for p in package.rglob("*")
            if p.is_file() and p.suffix not in (".py", ".pyc")
            and "__pycache__" not in p.parts and "_bundled" not in p.parts]
    missing = [d for d in data if d not in names]
    assert not missing, f"package data missing from the wheel: {missing}"


def test_unpacked_wheel_finds_its_resources_and_migrates(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    data_dir = tmp_path / "data"
    env = tftsr_env(data_dir, PYTHONPATH=str(site))
    script = ("import tftsr, tftsr.resources as r; "
              "print(tftsr.__file__); print(r.frontend_dir()); print(r.migrations_dir())")
    where = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path,
                           capture_output=True, text=True, timeout=60, check=False)
    assert where.returncode == 0, where.stderr
    package, frontend, migrations = where.stdout.split()
    assert Path(package).is_relative_to(site), f"imported the checkout, not the wheel: {package}"
    assert Path(frontend) == site / "tftsr" / "_bundled" / "frontend"
    assert Path(migrations) == site / "tftsr" / "_bundled" / "migrations"

    migrate = subprocess.run([sys.executable, "-m", "tftsr", "db", "migrate"], env=env,
                             cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    count = len(list((ROOT / "migrations").glob("*.sql")))
    assert f"({count} migrations applied" in migrate.stdout
    assert (data_dir / "tftsr.db").is_file()
