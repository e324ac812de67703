"""A full disk: the user is told in words, and everything committed before stays intact."""

from __future__ import annotations

import subprocess
import uuid

import pytest
from tftsr.errors import TftsrError


@pytest.fixture
def small_disk(tmp_path):
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount_point)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"DISK-FULL TEST SKIPPED: cannot mount a small tmpfs here ({done.stderr.strip()})")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_full_disk_is_explained_and_loses_nothing(small_disk, monkeypatch):
    from tftsr.app import open_app
    from tftsr.commands import dispatch, load_all

    monkeypatch.setenv("TFTSR_DB_KEY", "disk full key")
    monkeypatch.setenv("TFTSR_NO_KEYRING", "1")
    load_all()
    app = open_app(small_disk / "data")
    saved: list[str] = []
    error = None
    try:
        for _ in range(200):
            try:
                issue = dispatch(app, "create_issue", {
                    "title": f"Incident {uuid.uuid4()}", "severity": "low", "category": "linux",
                    "description": uuid.uuid4().hex * 1500})  # ~48 KB that does not compress
                saved.append(issue["issue"]["id"])
            except TftsrError as exc:
                error = exc
                break
        assert error is not None, "the 3 MB disk never filled up"
        assert error.code == "disk_full" and "full" in error.message.lower()
        assert "Traceback" not in error.message
        assert saved, "nothing was written before the disk filled"
        with app.db.connection() as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()["integrity_check"] == "ok"
            found = {r["id"] for r in conn.execute("SELECT id FROM issues")}
    finally:
        app.close()
    assert set(saved) <= found
