"""What `tftsr serve` does before it prints its URL: the modules it imports on that path
leave the large libraries (image decoding, PDF, the shell parser, PII detection, HTTP
clients, the MCP client) to the command modules, which load while the page is served;
and opening the database on a thread of its own while the server modules import keeps
the behaviour of opening it in line.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from tftsr.cli import SERVE_MODULES

from tests.conftest import ROOT, TEST_KEY

# What `tftsr serve` imports before the URL is printed (tftsr.cli._serve and _open, and
# what it imports while the database opens).
START_PATH = ("tftsr.cli", "tftsr.app", "tftsr.config", "tftsr.instance", "tftsr.logs",
              "tftsr.passphrase", "tftsr.db.migrator", *SERVE_MODULES)
NOT_BEFORE_THE_URL = ("PIL", "fpdf", "bashlex", "hyperscan", "tldextract", "markdown_it",
                      "httpx", "mcp", "anyio", "asyncio", "yaml", "tftsr.pii",
                      "tftsr.evidence.images", "tftsr.evidence.ingest", "tftsr.mcp.client")


def modules_after(code: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``code``."""
    proc = subprocess.run(
        [sys.executable, "-c", code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"],
        cwd=ROOT / "backend", capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stdout))


def test_the_start_path_leaves_large_libraries_to_the_command_modules():
    loaded = modules_after("import importlib\n"
                           f"for name in {START_PATH!r}:\n"
                           "    importlib.import_module(name)")
    early = sorted(m for m in loaded
                   if any(m == name or m.startswith(name + ".") for name in NOT_BEFORE_THE_URL))
    assert early == []


@pytest.fixture
def key_env(monkeypatch):
    monkeypatch.setenv("TFTSR_DB_KEY", TEST_KEY)
    monkeypatch.setenv("TFTSR_NO_KEYRING", "1")


def test_the_database_opens_on_a_thread_while_the_caller_works(tmp_path, key_env):
    import threading

    from tftsr.app import open_app

    seen = {}

    def meanwhile():
        seen["thread"] = threading.current_thread()

    app = open_app(tmp_path / "data", meanwhile=meanwhile)
    try:
        assert seen["thread"] is threading.current_thread()
        with app.db.connection() as conn:
            names = {r["name"] for r in conn.execute("SELECT name FROM _migrations")}
        assert len(names) == len(list((ROOT / "migrations").glob("*.sql")))
    finally:
        app.close()


def test_a_failure_meanwhile_is_raised_and_the_database_closed(tmp_path, key_env, monkeypatch):
    from tftsr.app import open_app
    from tftsr.db.connection import Database

    closed = []
    real_close = Database.close

    def close(self):
        closed.append(self)
        real_close(self)

    def meanwhile():
        raise ImportError("no such module")

    monkeypatch.setattr(Database, "close", close)
    with pytest.raises(ImportError, match="no such module"):
        open_app(tmp_path / "data", meanwhile=meanwhile)
    assert len(closed) == 1 and closed[0].path == tmp_path / "data" / "tftsr.db"


def test_a_database_that_cannot_be_opened_is_reported_as_without_a_thread(tmp_path, key_env):
    from tftsr.app import open_app
    from tftsr.errors import DatabaseOpenError

    data = tmp_path / "data"
    data.mkdir()
    (data / "tftsr.db").write_bytes(b"")  # a truncated database: refused, never replaced
    ran = []
    with pytest.raises(DatabaseOpenError) as threaded:
        open_app(data, meanwhile=lambda: ran.append(True))
    with pytest.raises(DatabaseOpenError) as inline:
        open_app(data)
    assert ran == [True]
    assert threaded.value.message == inline.value.message
    assert (data / "tftsr.db").read_bytes() == b""


def test_the_command_modules_leave_the_detector_and_parsers_to_first_use():
    """The command modules load while the first page is served: building the PII detector
    (its regular expressions, the Public Suffix List, the Hyperscan database), the bash
    parser and the PDF library waits for the first command that needs them."""
    loaded = modules_after("from tftsr.commands import load_all\nload_all()")
    assert "tftsr.pii.spans" in loaded  # the type names and labels are there
    assert sorted(loaded & {"tftsr.pii.engine", "tftsr.pii.finders", "tftsr.pii.validators",
                            "tldextract", "hyperscan", "bashlex", "fpdf"}) == []
