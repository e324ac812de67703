"""Kubeconfigs through the real dispatcher and a real SQLCipher database: import (paste
and file), clear errors for bad input with nothing stored, encryption at rest, default
and per-incident choice, audit entries, and the round trip to a fake ``kubectl`` on PATH
that reports the KUBECONFIG it received and the file's permissions."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest
import sqlcipher3
from tftsr.errors import TftsrError
from tftsr.secrets import decrypt_secret
from tftsr.shell import kubeconfig

from tests.conftest import TEST_KEY, tftsr_env
from tests.fakes import fake_kubectl

TOKEN = "kube-token-5f1c9e0d7a3b4c2e"

KUBECONFIG = f"""apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster:
    server: https://prod.k8s.example:6443
    certificate-authority-data: LS0tLS1CRUdJTi0tLS0t
- name: staging
  cluster:
    server: https://staging.k8s.example:6443
contexts:
- name: prod-admin
  context:
    cluster: prod
    user: admin
    namespace: payments
- name: staging-admin
  context:
    cluster: staging
    user: admin
current-context: prod-admin
users:
- name: admin
  user:
    token: {TOKEN}
"""


def errors(call, command: str, /, **args) -> TftsrError:
    with pytest.raises(TftsrError) as info:
        call(command, **args)
    return info.value


def audit_actions(app) -> list[str]:
    with app.db.connection() as conn:
        return [r["action"] for r in conn.execute("SELECT action FROM audit_log ORDER BY seq")]


@pytest.fixture
def fake_kubectl_on_path(tmp_path, monkeypatch):
    folder = tmp_path / "fakebin"
    fake_kubectl.install(folder)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")
    return folder


def test_import_pasted_kubeconfig_lists_contexts_never_content(app, call):
    item = call("import_kubeconfig", name="Prod cluster", content=KUBECONFIG)
    assert item["name"] == "Prod cluster"
    assert item["context"] == "prod-admin"
    assert item["cluster_url"] == "https://prod.k8s.example:6443"
    assert item["is_active"] is True  # the first one becomes the default
    assert [c["name"] for c in item["contexts"]] == ["prod-admin", "staging-admin"]
    assert item["contexts"][0]["namespace"] == "payments"
    assert item["contexts"][1]["server"] == "https://staging.k8s.example:6443"
    listed = call("list_kubeconfigs")
    assert listed["active_kubeconfig_id"] == item["id"]
    assert len(listed["items"]) == 1
    text = json.dumps(listed) + json.dumps(item)
    assert TOKEN not in text and "encrypted_content" not in text
    assert "LS0tLS1CRUdJTi0tLS0t" not in text
    assert audit_actions(app)[-1] == "kubeconfig_imported"


def test_content_is_encrypted_at_rest(app, call, data_dir):
    item = call("import_kubeconfig", name="Prod", content=KUBECONFIG)
    with app.db.connection() as conn:
        stored = conn.execute("SELECT encrypted_content FROM kubeconfig_files WHERE id = ?",
                              (item["id"],)).fetchone()["encrypted_content"]
    assert TOKEN not in stored and "prod.k8s.example" not in stored
    assert decrypt_secret(app, stored) == KUBECONFIG
    with app.db.connection() as conn:
        details = [r["details"] or "" for r in conn.execute("SELECT details FROM audit_log")]
    assert not any(TOKEN in d for d in details)
    app.close()
    raw = b"".join(p.read_bytes() for p in data_dir.iterdir() if p.is_file())
    assert TOKEN.encode() not in raw  # SQLCipher pages and the WAL, as written to disk
    conn = sqlcipher3.connect(str(data_dir / "tftsr.db"))
    conn.execute("PRAGMA key = '" + TEST_KEY.replace("'", "''") + "'")
    (value,) = conn.execute("SELECT encrypted_content FROM kubeconfig_files").fetchone()
    conn.close()
    assert TOKEN not in value and value == stored


def test_import_from_a_file_path(call, tmp_path):
    path = tmp_path / "config"
    path.write_text(KUBECONFIG)
    item = call("import_kubeconfig", name="From file", path=str(path))
    assert item["context"] == "prod-admin"


BAD_CONTENT = [
    ("not: [valid", "not valid YAML"),
    ("- just\n- a list\n", "not a kubeconfig"),
    ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n", "kind is 'Deployment'"),
    ("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\n", "at least one cluster"),
    ("kind: Config\nclusters:\n- name: a\n  cluster: {}\ncontexts:\n- name: c\n  context: "
     "{cluster: a}\n", "no server URL"),
    ("hello world", "not a kubeconfig"),
    ("", "is empty"),
    ("a: &a [1,2]\nb: &b [*a,*a]\nc: [*b,*b]\n", "aliases"),
    ("\x01\x02\x03\x04\x05\x06\x07 binary", "binary"),
]


@pytest.mark.parametrize("content,message", BAD_CONTENT)
def test_bad_content_is_refused_clearly_and_nothing_is_stored(app, call, content, message):
    before = audit_actions(app)
    err = errors(call, "import_kubeconfig", name="x", content=content)
    assert message in err.message
    assert call("list_kubeconfigs")["items"] == []
    assert audit_actions(app) == before


def test_too_large_and_binary_files_are_refused(call, tmp_path):
    big = tmp_path / "big"
    big.write_bytes(b"# " + b"x" * (kubeconfig.MAX_BYTES + 10))
    assert "too large" in errors(call, "import_kubeconfig", name="x", path=str(big)).message
    assert "too large" in errors(call, "import_kubeconfig", name="x",
                                 content="#" * (kubeconfig.MAX_BYTES + 1)).message
    binary = tmp_path / "bin"
    binary.write_bytes(bytes(range(256)) * 10)
    assert "binary" in errors(call, "import_kubeconfig", name="x", path=str(binary)).message
    assert call("list_kubeconfigs")["items"] == []


@pytest.mark.skipif(os.name != "posix", reason="devices and FIFOs")
def test_paths_to_devices_fifos_folders_and_links_to_devices_are_refused(call, tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    link = tmp_path / "zero-link"
    link.symlink_to("/dev/zero")
    for path, message in [("/dev/zero", "not a regular file"), (str(fifo), "not a regular file"),
                          (str(link), "not a regular file"), (str(tmp_path), "is a folder"),
                          (str(tmp_path / "missing"), "There is no file"),
                          ("relative/config", "full path")]:
        done = threading.Event()
        result = {}

        def attempt(path=path, result=result, done=done):
            try:
                call("import_kubeconfig", name="x", path=path)
            except TftsrError as exc:
                result["message"] = exc.message
            done.set()

        threading.Thread(target=attempt, daemon=True).start()
        assert done.wait(10), f"reading {path} blocked"
        assert message in result.get("message", ""), (path, result)
    assert call("list_kubeconfigs")["items"] == []


def test_content_or_path_exactly_one(call, tmp_path):
    assert "either" in errors(call, "import_kubeconfig", name="x").message
    path = tmp_path / "c"
    path.write_text(KUBECONFIG)
    assert "either" in errors(call, "import_kubeconfig", name="x", content=KUBECONFIG,
                              path=str(path)).message


def test_default_and_per_incident_choice(app, call, make_issue):
    first = call("import_kubeconfig", name="Prod", content=KUBECONFIG)
    second = call("import_kubeconfig", name="Staging", content=KUBECONFIG)
    assert second["is_active"] is False
    issue = make_issue()
    chosen = call("set_active_kubeconfig", kubeconfig_id=second["id"], issue_id=issue["id"],
                  context="staging-admin")
    assert chosen["selected_context"] == "staging-admin" and chosen["issue_id"] == issue["id"]
    with app.db.connection() as conn:
        assert kubeconfig.resolve(conn, issue["id"]) == (second["id"], "staging-admin")
        assert kubeconfig.resolve(conn, None) == (first["id"], "prod-admin")
        assert kubeconfig.resolve(conn, make_issue(title="Other")["id"]) == (first["id"],
                                                                            "prod-admin")
    call("set_active_kubeconfig", kubeconfig_id=second["id"])
    listed = call("list_kubeconfigs")
    assert listed["active_kubeconfig_id"] == second["id"]
    assert [i["is_active"] for i in listed["items"]] == [False, True]
    assert kubeconfig.active_for_issue(app, issue["id"]) == second["id"]
    assert kubeconfig.active_for_issue(app, None) == second["id"]
    call("set_active_kubeconfig", kubeconfig_id=second["id"], context="prod-admin")
    assert "current-context: staging-admin" in kubeconfig.content_for(app, second["id"],
                                                                     issue_id=issue["id"])
    assert "current-context: prod-admin" in kubeconfig.content_for(app, second["id"])
    assert "no context named" in errors(call, "set_active_kubeconfig", kubeconfig_id=first["id"],
                                        context="nope").message
    assert errors(call, "set_active_kubeconfig", kubeconfig_id=first["id"],
                  issue_id="01890000-0000-7000-8000-000000000000").message == \
        "There is no such incident."
    call("delete_kubeconfig", kubeconfig_id=second["id"])
    with app.db.connection() as conn:
        assert conn.execute("SELECT COUNT(*) AS n FROM issue_kubeconfig").fetchone()["n"] == 0
        assert kubeconfig.resolve(conn, issue["id"]) is None
    assert errors(call, "delete_kubeconfig", kubeconfig_id=second["id"]).code == "not_found"
    actions = audit_actions(app)
    for action in ("kubeconfig_imported", "kubeconfig_activated", "kubeconfig_deleted"):
        assert action in actions


def test_round_trip_to_a_fake_kubectl(app, call, fake_kubectl_on_path, monkeypatch, data_dir):
    monkeypatch.setenv("TFTSR_SOMETHING_SECRET", "x")
    item = call("import_kubeconfig", name="Prod", content=KUBECONFIG)
    assert call("list_kubeconfigs")["kubectl_missing"] is None
    result = kubeconfig.run_with_kubeconfig(app, "kubectl get pods -n payments", item["id"],
                                            context="staging-admin", timeout=30)
    assert result.exit_code == 0, result
    lines = dict(line.split("=", 1) for line in result.stdout.splitlines())
    path = lines["KUBECONFIG"]
    assert path and os.path.isabs(path) and os.path.basename(path) == "config"
    assert lines["FILE_MODE"] == "600" and lines["REGULAR"] == "True"
    assert lines["DIR_MODE"] == "700"
    assert lines["CONTEXT"] == "staging-admin"
    assert lines["ARGS"] == "get pods -n payments"
    assert lines["SECRET_ENV"] == "no"
    assert Path(data_dir).resolve() not in Path(path).resolve().parents
    assert os.path.basename(os.path.dirname(path)).startswith(kubeconfig.TEMP_PREFIX)
    assert not os.path.exists(os.path.dirname(path))  # removed after the run


def test_temp_folder_is_removed_on_exception_and_on_timeout(app, call, fake_kubectl_on_path):
    item = call("import_kubeconfig", name="Prod", content=KUBECONFIG)
    seen = {}
    with pytest.raises(RuntimeError):
        with kubeconfig.materialize(app, item["id"]) as path:
            seen["path"] = path
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
            assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
            assert TOKEN in Path(path).read_text()
            raise RuntimeError("boom")
    assert not os.path.exists(os.path.dirname(seen["path"]))
    result = kubeconfig.run_with_kubeconfig(app, "kubectl sleep 30", item["id"], timeout=1)
    assert result.timed_out
    path = result.stdout.split("=", 1)[1].strip()
    assert path and not os.path.exists(os.path.dirname(path))


def test_stale_folders_from_a_crash_are_removed(tmp_path):
    old = tmp_path / (kubeconfig.TEMP_PREFIX + "old")
    old.mkdir()
    (old / "config").write_text("x")
    os.utime(old, (1, 1))
    fresh = tmp_path / (kubeconfig.TEMP_PREFIX + "fresh")
    fresh.mkdir()
    other = tmp_path / "someone-elses"
    other.mkdir()
    os.utime(other, (1, 1))
    assert kubeconfig.remove_stale(str(tmp_path)) == 1
    assert not old.exists() and fresh.exists() and other.exists()


# A stand-in for the app: opens the data folder, hands kubectl the kubeconfig through a
# private copy, and waits there (as during a long kubectl run) until it is killed.
HOLDER = """
import sys, time
from pathlib import Path
from tftsr.app import open_app
from tftsr.shell import kubeconfig
app = open_app(Path(sys.argv[1]))
with kubeconfig.materialize(app, sys.argv[2]) as path:
    print(path, flush=True)
    time.sleep(300)
"""


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """A temporary-files folder of this test's own, for this process and its children."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_a_copy_left_by_a_killed_app_is_removed_at_the_next_start(app, call, data_dir,
                                                                  private_tmp):
    from tftsr.app import open_app

    item = call("import_kubeconfig", name="Prod", content=KUBECONFIG)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(data_dir), item["id"]],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=tftsr_env(data_dir, TMPDIR=str(private_tmp)))
    try:
        path = Path(holder.stdout.readline().strip())
        assert path.is_file(), holder.stderr.read() if holder.poll() is not None else path
        assert path.parent.parent == private_tmp
        assert path.parent.name.startswith(f"{kubeconfig.TEMP_PREFIX}{holder.pid}-")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600 and TOKEN in path.read_text()

        # while its app runs, neither a sweep nor another app's start touches the copy
        assert kubeconfig.remove_stale(str(private_tmp)) == 0
        open_app(data_dir).close()
        assert path.is_file()

        holder.kill()  # SIGKILL: no finally block, no cleanup of any kind
        holder.wait(timeout=30)
        assert holder.returncode == -signal.SIGKILL
        assert path.is_file()  # the crash left it behind ...
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(timeout=30)
        holder.stdout.close()
        holder.stderr.close()
    open_app(data_dir).close()  # ... until the app starts again
    assert not path.parent.exists()
    assert list(private_tmp.iterdir()) == []


def test_folders_without_an_owner_lock_go_once_their_maker_is_gone(private_tmp):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    orphan = private_tmp / f"{kubeconfig.TEMP_PREFIX}{dead.stdout.strip()}-abc"
    starting = private_tmp / f"{kubeconfig.TEMP_PREFIX}{os.getpid()}-def"
    orphan.mkdir()
    starting.mkdir()
    assert kubeconfig.remove_stale(str(private_tmp)) == 1
    assert not orphan.exists() and starting.exists()  # its maker (this process) still runs
    os.utime(starting, (1, 1))  # a folder is locked microseconds after it is made
    assert kubeconfig.remove_stale(str(private_tmp)) == 1
    assert not starting.exists()


def test_detect_default_kubeconfig_without_importing(call, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    found = call("detect_default_kubeconfig")
    assert found["exists"] is False and found["path"] == str(tmp_path / ".kube" / "config")
    (tmp_path / ".kube").mkdir()
    (tmp_path / ".kube" / "config").write_text(KUBECONFIG)
    found = call("detect_default_kubeconfig")
    assert found["exists"] is True and found["error"] is None
    assert found["current_context"] == "prod-admin"
    assert [c["name"] for c in found["contexts"]] == ["prod-admin", "staging-admin"]
    assert found["imported_count"] == 0
    assert TOKEN not in json.dumps(found)
    assert call("list_kubeconfigs")["items"] == []
    (tmp_path / ".kube" / "config").write_text("kind: Deployment\n")
    assert "not a kubeconfig" in call("detect_default_kubeconfig")["error"]


def test_missing_kubectl_is_a_clear_message(app, call, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    item = call("import_kubeconfig", name="Prod", content=KUBECONFIG)
    assert "kubectl is not installed" in call("list_kubeconfigs")["kubectl_missing"]
    result = kubeconfig.run_with_kubeconfig(app, "kubectl get pods", item["id"])
    assert result.exit_code == 127
    assert "kubectl is not installed" in result.message


def test_classify_command_is_read_only(call):
    assert call("classify_command", command="kubectl get pods") == {
        "tier": 1, "reason": "Only reads information (`kubectl get`); nothing is changed.",
        "risk_factors": []}
    assert call("classify_command", command="rm -rf /")["tier"] == 3
    assert call("classify_command", command="kubectl -n prod delete pod x")["tier"] == 2
    assert errors(call, "classify_command", command="").code == "invalid_argument"
