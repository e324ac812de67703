"""Portable mode's path resolution, without a build: which program was started, whether
its folder is a portable one, where the data goes, and the environment that keeps
temporary files, caches and settings inside the data folder. (The built folder itself is
run under a throw-away HOME in tests/packaging/test_portable_build.py.)"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from tftsr import config

REDIRECTED = ("TMPDIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME")


@pytest.fixture
def stick(tmp_path) -> Path:
    folder = tmp_path / "USB STICK" / "tftsr-portable"
    folder.mkdir(parents=True)
    (folder / "tftsr").write_text("#!/bin/sh\n")
    (folder / config.PORTABLE_MARKER).write_text("portable\n")
    return folder


@pytest.fixture
def clean_env(monkeypatch):
    """Every variable portable mode sets, restored afterwards (tempfile's cache too)."""
    for name in REDIRECTED:
        monkeypatch.setenv(name, f"/host/{name.lower()}")
    monkeypatch.setattr(tempfile, "tempdir", None)
    monkeypatch.setattr(config, "_HOST_ENVIRON", {})
    return monkeypatch


def test_the_marker_beside_the_executable_makes_its_folder_portable(stick, tmp_path):
    assert config.PORTABLE_MARKER == "tftsr-portable.marker"
    assert config.portable_root(stick / "tftsr") == stick
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "tftsr").write_text("")
    assert config.portable_root(plain / "tftsr") is None
    (plain / config.PORTABLE_MARKER).mkdir()  # a folder of that name is not the marker
    assert config.portable_root(plain / "tftsr") is None


def test_an_app_bundle_in_a_portable_folder_is_portable(stick):
    """macOS: the portable folder holds TFTSR.app; its executable sits three folders down."""
    inner = stick / "TFTSR.app" / "Contents" / "MacOS" / "tftsr"
    inner.parent.mkdir(parents=True)
    inner.write_text("")
    assert config.portable_root(inner) == stick
    (stick / config.PORTABLE_MARKER).unlink()
    assert config.portable_root(inner) is None
    (inner.parent / config.PORTABLE_MARKER).write_text("")  # inside the bundle: not the marker
    assert config.portable_root(inner) is None
    not_a_bundle = stick / "TFTSR" / "Contents" / "MacOS" / "tftsr"
    not_a_bundle.parent.mkdir(parents=True)
    (not_a_bundle.parent / config.PORTABLE_MARKER).write_text("")
    assert config.portable_root(not_a_bundle) == not_a_bundle.parent


def test_from_source_nothing_is_portable_and_no_executable_is_reported():
    assert not getattr(sys, "frozen", False)
    assert config.launched_executable() is None
    assert config.portable_root() is None


def test_a_build_reports_the_single_file_its_launcher_named_else_itself(monkeypatch, tmp_path):
    unpacked = tmp_path / "cache" / "tftsr" / "0.1.0-abc" / "tftsr"
    unpacked.parent.mkdir(parents=True)
    unpacked.write_text("")
    single = tmp_path / "Downloads" / "tftsr"
    single.parent.mkdir()
    single.write_text("")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(unpacked))
    monkeypatch.setattr(config, "_LAUNCHED_FROM", None)
    assert config.launched_executable() == unpacked
    monkeypatch.setattr(config, "_LAUNCHED_FROM", str(single))
    assert config.launched_executable() == single
    monkeypatch.setattr(config, "_LAUNCHED_FROM", str(tmp_path / "gone"))
    assert config.launched_executable() == unpacked


def test_the_single_file_launchers_variable_is_not_passed_on():
    """TFTSR_EXECUTABLE is read once and removed, so programs TFTSR starts never see it."""
    env = dict(os.environ, TFTSR_EXECUTABLE="/somewhere/tftsr")
    code = ("import os, tftsr.config as c; "
            "print(repr(c._LAUNCHED_FROM), 'TFTSR_EXECUTABLE' in os.environ)")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["'/somewhere/tftsr'", "False"]


def test_portable_data_stays_in_the_folder_whatever_the_host_sets(stick, monkeypatch, tmp_path):
    monkeypatch.setenv("TFTSR_DATA_DIR", str(tmp_path / "host-data"))
    assert config.resolve_data_dir(None, portable=stick) == stick / "data"
    # An explicit --data-dir is a deliberate choice and still wins.
    assert config.resolve_data_dir(str(tmp_path / "x"), portable=stick) == (tmp_path / "x").resolve()
    assert config.resolve_data_dir(None) == (tmp_path / "host-data").resolve()


def test_portable_mode_never_asks_platformdirs(stick, monkeypatch):
    monkeypatch.delenv("TFTSR_DATA_DIR", raising=False)
    monkeypatch.setitem(sys.modules, "platformdirs", None)  # importing it would fail
    assert config.resolve_data_dir(None, portable=stick) == stick / "data"
    with pytest.raises(ImportError):
        config.resolve_data_dir(None)


def test_entering_portable_mode_points_temp_files_and_xdg_folders_into_the_data_folder(
        stick, clean_env):
    data = stick / "data"
    data.mkdir(mode=0o700)
    config.enter_portable_mode(data)
    expected = {"TMPDIR": data / "tmp", "XDG_CACHE_HOME": data / "cache",
                "XDG_CONFIG_HOME": data / "config", "XDG_DATA_HOME": data / "share",
                "XDG_STATE_HOME": data / "state"}
    for name, path in expected.items():
        assert os.environ[name] == str(path)
        assert path.is_dir()
        if os.name == "posix":
            assert path.stat().st_mode & 0o077 == 0
    assert tempfile.gettempdir() == str(data / "tmp")
    with tempfile.NamedTemporaryFile() as fh:
        assert Path(fh.name).parent == data / "tmp"
    # Children inherit it: a shell's mktemp lands in the folder too.
    if os.name == "posix":
        made = subprocess.run(["sh", "-c", "mktemp"], capture_output=True, text=True,
                              check=True).stdout.strip()
        assert Path(made).parent == data / "tmp"
    # The host's own values are kept for what must reach the host (a launcher).
    assert config.host_environ("XDG_DATA_HOME") == "/host/xdg_data_home"
    assert config.host_environ("HOME") == os.environ.get("HOME")


def test_temporary_files_left_by_a_crash_are_cleared_after_a_day(stick, clean_env):
    data = stick / "data"
    tmp = data / "tmp"
    (tmp / "old-dir").mkdir(parents=True)
    (tmp / "old-dir" / "f").write_text("x")
    (tmp / "old-file").write_text("x")
    (tmp / "fresh").write_text("x")
    day_ago = time.time() - 2 * 24 * 3600
    for path in (tmp / "old-dir", tmp / "old-file"):
        os.utime(path, (day_ago, day_ago))
    config.enter_portable_mode(data)
    assert sorted(p.name for p in tmp.iterdir()) == ["fresh"]
