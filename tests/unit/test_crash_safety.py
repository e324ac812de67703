"""Kill -9 in the middle of a burst of writes loses nothing that was committed and leaves
a database that passes its integrity checks, audit chain included."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import tftsr_env

# The child opens the real app and creates incidents from two threads as fast as it can,
# printing each id only after its transaction has committed.
WRITER = textwrap.dedent("""
    import sys, threading
    from pathlib import Path
    from tftsr.app import open_app
    from tftsr.commands import dispatch, load_all

    load_all()
    app = open_app(Path(sys.argv[1]))
    out = threading.Lock()

    def burst(worker):
        n = 0
        while True:
            n += 1
            detail = dispatch(app, "create_issue", {
                "title": f"Burst {worker}-{n}", "severity": "high",
                "category": "application", "description": "written under fire " * 20,
                "tags": ["burst"]})
            issue_id = detail["issue"]["id"]
            if n % 3 == 0:
                dispatch(app, "add_five_why", {"issue_id": issue_id,
                                               "why_question": "Why so fast?"})
            with out:
                print(issue_id, flush=True)

    threads = [threading.Thread(target=burst, args=(w,), daemon=True) for w in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
""")

IDS_BEFORE_KILL = 40
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def write_until_killed(data_dir: Path) -> list[str]:
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(data_dir)],
                            env=tftsr_env(data_dir), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    ids: list[str] = []
    try:
        while len(ids) < IDS_BEFORE_KILL:
            line = proc.stdout.readline()
            if not line:
                raise AssertionError("writer stopped early:\n" + proc.stderr.read())
            assert UUID_RE.fullmatch(line.strip()), line
            ids.append(line.strip())
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
        # Ids printed between our last read and the kill were committed too; a line cut
        # short by the kill was never fully reported, so only whole lines count.
        ids.extend(line.strip() for line in proc.stdout.read().splitlines(keepends=True)
                   if line.endswith("\n") and UUID_RE.fullmatch(line.strip()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    return ids


@pytest.mark.parametrize("rounds", [3])
def test_sigkill_mid_burst_keeps_every_commit(tmp_path, monkeypatch, rounds):
    from tftsr.app import open_app
    from tftsr.audit import verify

    data = tmp_path / "data"
    for name, value in tftsr_env(data).items():
        if name.startswith("TFTSR_"):
            monkeypatch.setenv(name, value)

    committed: list[str] = []
    for _ in range(rounds):
        committed += write_until_killed(data)
        assert len(set(committed)) == len(committed)

        app = open_app(data)
        try:
            with app.db.connection() as conn:
                assert conn.execute("PRAGMA integrity_check").fetchall() == [
                    {"integrity_check": "ok"}]
                assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
                present = {r["id"] for r in conn.execute("SELECT id FROM issues")}
                missing = [i for i in committed if i not in present]
                assert not missing, f"{len(missing)} committed incidents lost"
                conn.execute("INSERT INTO issues_fts(issues_fts, rank) "
                             "VALUES ('integrity-check', 1)")
                result = verify(conn)
                assert result.ok, result
                # Every incident has its audit entry: the two were committed together.
                audited = {r["entity_id"] for r in conn.execute(
                    "SELECT entity_id FROM audit_log WHERE entity_type = 'issue'")}
                assert present <= audited
        finally:
            app.close()

    cli = subprocess.run([sys.executable, "-m", "tftsr", "db", "verify-audit"],
                         env=tftsr_env(data), capture_output=True, text=True, timeout=120,
                         check=False)
    assert cli.returncode == 0, cli.stderr
