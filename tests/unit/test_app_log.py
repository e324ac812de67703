"""The application log: written where the app says, useful on failure, rotated, and free
of keys, tokens and incident content."""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path

import pytest
import sqlcipher3

from tests.conftest import TEST_KEY, start_served_app

TITLE = "Pelican-Tangerine breach on vault-17"
DESCRIPTION = "Operator Wilhelmina Okonkwo-Brandt saw ledger drift of 88,412 units"
SECRET_WORDS = ("Pelican", "Tangerine", "Wilhelmina", "Okonkwo", "88,412")


def log_text(data_dir: Path) -> str:
    return "".join(p.read_text(encoding="utf-8")
                   for p in sorted((data_dir / "logs").glob("tftsr.log*")))


def damage_schema_on_disk(db_path: Path) -> None:
    """Drop a table behind the running app's back, as a faulty outside tool might, so
    the next commands fail inside TFTSR with a real database error."""
    conn = sqlcipher3.connect(str(db_path), isolation_level=None, timeout=15)
    try:
        conn.execute(f"PRAGMA key = '{TEST_KEY}'")
        conn.execute("DROP TABLE timeline_events")
    finally:
        conn.close()


def test_log_after_real_work_holds_no_secrets_or_content(tmp_path):
    data = tmp_path / "data"
    served = start_served_app(data)
    try:
        created = served.call("create_issue", title=TITLE, description=DESCRIPTION,
                              severity="critical", category="security", tags=["vault"])
        issue_id = created["issue"]["id"]
        served.call("add_five_why", issue_id=issue_id,
                    why_question=f"Why did {SECRET_WORDS[0]} drift?", answer=DESCRIPTION)
        served.call("search_issues", query="Tangerine")
        served.call("set_issue_status", issue_id=issue_id, status="investigating",
                    note=DESCRIPTION)

        # A bad argument that carries incident text.
        bad = served.client.post("/api/create_issue", json={
            "title": TITLE, "severity": DESCRIPTION, "category": "security"})
        assert bad.status_code == 400

        # Genuine internal errors, one while writing incident text, one while reading.
        damage_schema_on_disk(data / "tftsr.db")
        for name, args in (
            ("create_issue", {"title": TITLE, "description": DESCRIPTION,
                              "severity": "high", "category": "security"}),
            ("get_issue", {"issue_id": issue_id}),
        ):
            broken = served.client.post(f"/api/{name}", json=args)
            assert broken.status_code == 500, broken.text
            assert broken.json()["error"]["code"] == "internal"
            assert TITLE not in broken.text and "Traceback" not in broken.text
    finally:
        served.stop()

    log_path = data / "logs" / "tftsr.log"
    assert log_path.is_file()
    text = log_text(data)
    assert "started in browser mode" in text
    # The failure is there, with enough to debug it...
    assert "error in command create_issue" in text
    assert "error in command get_issue" in text
    assert "Traceback" in text and "no such table: timeline_events" in text
    # ...and nothing that must stay private is.
    assert TEST_KEY not in text
    assert served.token not in text
    for word in SECRET_WORDS:
        assert word not in text, f"{word!r} leaked into the application log"


def _levels_in_log(data: Path, *args: str) -> set[str]:
    served = start_served_app(data, *args)
    try:
        served.call("ping")
        served.call("list_issues")
    finally:
        served.stop()
    return {line.split()[2] for line in log_text(data).splitlines() if len(line.split()) > 2}


def test_debug_flag_raises_the_level(tmp_path):
    quiet = _levels_in_log(tmp_path / "quiet")
    assert "INFO" in quiet and "DEBUG" not in quiet
    loud_dir = tmp_path / "loud"
    loud = _levels_in_log(loud_dir, "--debug")
    assert "DEBUG" in loud
    assert "command ping took" in log_text(loud_dir)


@pytest.fixture
def restore_logging():
    """configure() rewires the 'tftsr' logger and the exception hooks; put them back."""
    root = logging.getLogger("tftsr")
    saved = (list(root.handlers), root.level, root.propagate, sys.excepthook,
             threading.excepthook)
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    for handler in saved[0]:
        root.addHandler(handler)
    root.setLevel(saved[1])
    root.propagate = saved[2]
    sys.excepthook, threading.excepthook = saved[3], saved[4]


def test_log_rotates(tmp_path, restore_logging):
    from tftsr import logs

    path = logs.configure(tmp_path, max_bytes=2_000, backup_count=3)
    assert path == tmp_path / "logs" / "tftsr.log"
    handler = logging.getLogger("tftsr").handlers[0]
    assert isinstance(handler, logging.handlers.RotatingFileHandler)
    log = logging.getLogger("tftsr.rotation")
    for i in range(200):
        log.info("filler line %04d %s", i, "x" * 40)
    handler.flush()
    files = sorted(p.name for p in (tmp_path / "logs").iterdir())
    assert files == ["tftsr.log", "tftsr.log.1", "tftsr.log.2", "tftsr.log.3"]
    for name in files:
        assert (tmp_path / "logs" / name).stat().st_size <= 2_000
    assert "filler line 0199" in path.read_text()


def test_default_rotation_is_bounded(tmp_path, restore_logging):
    """With the default settings, 40 MB of log lines leave at most ~12 MB on disk, and the
    newest line is in the current file."""
    from tftsr import logs

    path = logs.configure(tmp_path)
    log = logging.getLogger("tftsr.flood")
    line = "y" * 200_000
    for i in range(200):
        log.warning("flood %03d %s", i, line)
    for handler in logging.getLogger("tftsr").handlers:
        handler.flush()
    sizes = [p.stat().st_size for p in (tmp_path / "logs").iterdir()]
    assert 1 < len(sizes) <= 10, sizes
    assert sum(sizes) <= 12_000_000, sizes
    assert "flood 199" in path.read_text()


def test_known_secrets_are_masked_in_messages_and_tracebacks(tmp_path, restore_logging):
    from tftsr import logs

    path = logs.configure(tmp_path)
    secret = "sk-live-Tq83nYzW0pKe"
    logs.add_secret(secret)
    log = logging.getLogger("tftsr.masking")
    log.warning("connecting with %s", secret)
    try:
        raise ValueError(f"refused key {secret}")
    except ValueError:
        log.exception("it failed")
    for handler in logging.getLogger("tftsr").handlers:
        handler.flush()
    text = path.read_text()
    assert secret not in text
    assert text.count("[redacted]") >= 2
    assert "ValueError" in text
