"""Encryption at rest and the refusal to touch a database TFTSR cannot safely open.

Every case runs the real CLI (`python -m tftsr db migrate`) against a real file and
checks both what the user is told and that the bytes on disk did not change.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import tftsr_env

EXIT_DB = 2
PLANTED_TITLE = "Quokka-Zeppelin meltdown in rack 7F3A"
PLANTED_DESCRIPTION = "Marmalade-lizard cascade observed on node-4471"


def tftsr(data_dir: Path, *args: str, env: dict | None = None, preexec_fn=None):
    return subprocess.run(
        [sys.executable, "-m", "tftsr", *args, "--data-dir", str(data_dir)],
        env=env if env is not None else tftsr_env(data_dir), capture_output=True, text=True,
        timeout=120, preexec_fn=preexec_fn, check=False,
    )


def env_without_key(data_dir: Path) -> dict:
    env = tftsr_env(data_dir)
    env.pop("TFTSR_DB_KEY")
    return env


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(folder: Path) -> dict[str, str]:
    """The hash of every file in the folder (logs aside, which the CLI may append to)."""
    return {p.name: sha256(p) for p in folder.iterdir() if p.is_file()}


def migrated_folder(data_dir: Path) -> Path:
    result = tftsr(data_dir, "db", "migrate")
    assert result.returncode == 0, result.stderr
    return data_dir / "tftsr.db"


@pytest.fixture
def planted(data_dir) -> Path:
    """A data folder holding one incident with a distinctive title, closed cleanly."""
    from tftsr.app import open_app
    from tftsr.commands import dispatch, load_all

    load_all()
    app = open_app(data_dir)
    try:
        dispatch(app, "create_issue", {"title": PLANTED_TITLE, "severity": "high",
                                       "category": "application",
                                       "description": PLANTED_DESCRIPTION})
    finally:
        app.close()
    return data_dir


# -- what is on disk ----------------------------------------------------------------
def test_file_on_disk_is_ciphertext(planted):
    db = planted / "tftsr.db"
    assert not db.read_bytes().startswith(b"SQLite format 3")
    for path in planted.rglob("*"):
        if path.is_file() and not path.name.endswith(".log"):
            data = path.read_bytes()
            for text in (PLANTED_TITLE, PLANTED_DESCRIPTION):
                assert text.encode("utf-8") not in data, f"{text!r} readable in {path.name}"
                assert text.encode("utf-16-le") not in data
            assert b"Quokka" not in data


def test_planted_title_is_really_stored(planted):
    from tftsr.app import open_app

    app = open_app(planted)
    try:
        with app.db.connection() as conn:
            row = conn.execute("SELECT title FROM issues").fetchone()
    finally:
        app.close()
    assert row["title"] == PLANTED_TITLE


def test_stdlib_sqlite_cannot_read_it(planted):
    conn = sqlite3.connect(planted / "tftsr.db")
    try:
        with pytest.raises(sqlite3.DatabaseError, match="not a database"):
            conn.execute("SELECT name FROM sqlite_master").fetchall()
    finally:
        conn.close()


# -- refusing what cannot be opened ---------------------------------------------------
def test_wrong_key_is_refused_and_nothing_changes(tmp_path):
    data = tmp_path / "data"
    db = migrated_folder(data)
    before = snapshot(data)
    result = tftsr(data, "db", "migrate", env=tftsr_env(data, TFTSR_DB_KEY="not the right key"))
    assert result.returncode == EXIT_DB
    assert "key is wrong" in result.stderr
    assert "Traceback" not in result.stderr
    assert "not the right key" not in result.stderr + result.stdout
    assert snapshot(data) == before
    # ...and the right key still opens it.
    assert tftsr(data, "db", "migrate").returncode == 0
    assert db.exists()


def _corrupt(db: Path) -> None:
    db.write_bytes(os.urandom(64 * 1024))


def _plain_sqlite(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.execute("INSERT INTO notes VALUES ('keep me')")
    conn.commit()
    conn.close()


def _empty(db: Path) -> None:
    db.write_bytes(b"")


@pytest.mark.parametrize("make, expected", [
    (_corrupt, "damaged"),
    (_plain_sqlite, "unencrypted SQLite database"),
    (_empty, "empty"),
], ids=["random-bytes", "plain-sqlite", "empty-file"])
def test_unusable_file_is_refused_untouched(tmp_path, make, expected):
    data = tmp_path / "data"
    data.mkdir()
    db = data / "tftsr.db"
    make(db)
    before = snapshot(data)
    result = tftsr(data, "db", "migrate")
    assert result.returncode == EXIT_DB, result.stdout + result.stderr
    assert expected in result.stderr
    assert "nothing was changed" in result.stderr.lower()
    assert "Traceback" not in result.stderr
    assert snapshot(data) == before
    assert sorted(p.name for p in data.iterdir()) == ["logs", "tftsr.db"]


def test_folder_in_place_of_the_database_is_refused(tmp_path):
    data = tmp_path / "data"
    (data / "tftsr.db").mkdir(parents=True)
    (data / "tftsr.db" / "inside.txt").write_text("mine")
    result = tftsr(data, "db", "migrate")
    assert result.returncode == EXIT_DB
    assert "is a folder" in result.stderr
    assert "Traceback" not in result.stderr
    assert [p.name for p in (data / "tftsr.db").iterdir()] == ["inside.txt"]


# -- the generated key ----------------------------------------------------------------
def test_key_file_is_generated_once_private_and_never_printed(tmp_path):
    data = tmp_path / "data"
    env = env_without_key(data)
    first = tftsr(data, "db", "migrate", env=env)
    assert first.returncode == 0, first.stderr
    key_file = data / "db.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    assert len(key) >= 64  # 256 bits, hex
    assert "key file" in first.stdout  # the app says where the key lives...
    second = tftsr(data, "db", "migrate", env=env)
    assert second.returncode == 0, second.stderr
    assert key_file.read_text().strip() == key  # ...reuses it...
    outputs = first.stdout + first.stderr + second.stdout + second.stderr
    logs = "".join(p.read_text() for p in (data / "logs").glob("*.log*"))
    assert key not in outputs and key not in logs  # ...and never shows it.
    # The key really is the database key.
    import sqlcipher3

    conn = sqlcipher3.connect(str(data / "tftsr.db"))
    conn.execute(f"PRAGMA key = '{key}'")
    assert conn.execute("SELECT count(*) FROM _migrations").fetchone()[0] >= 25
    conn.close()


def test_missing_key_file_for_existing_database_is_refused(tmp_path):
    data = tmp_path / "data"
    env = env_without_key(data)
    assert tftsr(data, "db", "migrate", env=env).returncode == 0
    (data / "db.key").unlink()
    before = snapshot(data)
    result = tftsr(data, "db", "migrate", env=env)
    assert result.returncode == EXIT_DB
    assert "key was not found" in result.stderr
    assert snapshot(data) == before
    assert not (data / "db.key").exists()


# -- a folder TFTSR may not write to --------------------------------------------------
_PR_CAPBSET_DROP = 24
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH, _CAP_FOWNER = 1, 2, 3


def _drop_file_permission_bypass() -> None:
    """In the child, before exec: give up root's power to ignore file permissions."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH, _CAP_FOWNER):
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def _write_is_refused(folder: Path, preexec_fn) -> bool:
    """Whether a child process (started with ``preexec_fn``) cannot create a file here."""
    target = folder / "probe"
    probe = subprocess.run([sys.executable, "-c", f"open({str(target)!r}, 'x').close()"],
                           preexec_fn=preexec_fn, capture_output=True, check=False)
    if target.exists():
        target.unlink()
    return probe.returncode != 0


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_read_only_data_folder_gives_a_clear_message(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o555)
    preexec = None
    try:
        if not _write_is_refused(data, None):
            # Running as root: chmod alone does not stop root. Run the CLI without the
            # capabilities that let root ignore permissions, so 0555 really binds.
            if sys.platform != "linux":
                pytest.skip("running as root and cannot drop capabilities on this OS")
            preexec = _drop_file_permission_bypass
            try:
                refused = _write_is_refused(data, preexec)
            except (OSError, subprocess.SubprocessError) as exc:
                pytest.skip(f"running as root and cannot drop CAP_DAC_OVERRIDE here: {exc}")
            if not refused:
                pytest.skip("running as root and writes to a 0555 folder still succeed")
        result = tftsr(data, "db", "migrate", env=env_without_key(data), preexec_fn=preexec)
        assert result.returncode == EXIT_DB, result.stdout + result.stderr
        assert "Permission denied" in result.stderr
        assert str(data) in result.stderr
        assert "Traceback" not in result.stderr
        assert list(data.iterdir()) == []
    finally:
        data.chmod(0o755)


def test_new_data_folder_and_database_are_private_to_their_owner(tmp_path, monkeypatch):
    """The database is encrypted, but its folder and files are not for other users either."""
    import stat

    from tftsr.app import open_app

    monkeypatch.setenv("TFTSR_DB_KEY", "private files key")
    monkeypatch.setenv("TFTSR_NO_KEYRING", "1")
    old = os.umask(0o022)
    try:
        data = tmp_path / "fresh"
        app = open_app(data)
        try:
            with app.db.connection() as conn:
                assert conn.execute("SELECT count(*) AS n FROM _migrations").fetchone()["n"] > 0
        finally:
            app.close()
    finally:
        os.umask(old)
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "logs").stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "tftsr.db").stat().st_mode) == 0o600
