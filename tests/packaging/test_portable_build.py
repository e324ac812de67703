"""The portable folder (dist/tftsr-portable/), copied elsewhere as onto a USB stick and
run under a throw-away, empty HOME: the database is created inside the folder and keyed
from a passphrase, nothing is written to HOME (or anywhere the host points at), no
key-like file appears, a wrong passphrase is refused without changing a byte, the
passphrase can be changed, the real window opens; and ``install-launcher`` from the
portable folder and from the single file writes a launcher that starts that copy."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from tftsr import __version__

from tests.conftest import TEST_KEY
from tests.packaging.conftest import BUILD_TIMEOUT, EXE_NAME, Builds
from tests.packaging.helpers import (
    free_port,
    open_window,
    page_answer,
    run,
    serve,
    type_into,
    wait_for_window,
    xvfb_display,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(BUILD_TIMEOUT + 300),
              pytest.mark.skipif(sys.platform == "win32", reason="run on Linux here")]

PASSPHRASE = "blue stick passphrase 7"
NEW_PASSPHRASE = "green stick passphrase 8"


def fingerprint(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


class Stick:
    """A copy of the portable folder at a path with spaces, and a host around it whose
    HOME is empty and whose TFTSR_DATA_DIR, TFTSR_DB_KEY and XDG folders must all be
    ignored."""

    def __init__(self, builds: Builds, root: Path):
        self.folder = root / "USB STICK" / "tftsr-portable"
        shutil.copytree(builds.portable, self.folder, symlinks=True)
        self.shipped = set(listing(self.folder))
        self.exe = self.folder / EXE_NAME
        self.data = self.folder / "data"
        self.home = root / "home"
        self.home.mkdir()
        self.host = root / "host"  # where a host's variables point: must stay empty
        self.host.mkdir()
        self.base_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.home),
            "LANG": "C.UTF-8", "TFTSR_NO_KEYRING": "1", "PYTHONUNBUFFERED": "1",
            "TFTSR_DATA_DIR": str(self.host / "data-dir"), "TFTSR_DB_KEY": TEST_KEY,
            "XDG_CACHE_HOME": str(self.host / "cache"), "XDG_CONFIG_HOME": str(self.host / "config"),
            "XDG_DATA_HOME": str(self.host / "share"), "TMPDIR": str(self.host / "tmp"),
        }
        (self.host / "tmp").mkdir()

    def env(self, **extra) -> dict:
        env = dict(self.base_env)
        env.update(extra)
        return {k: v for k, v in env.items() if v is not None}

    def run(self, *args: str, passphrase: str | None = PASSPHRASE, **extra):
        return run(self.exe, *args, env=self.env(TFTSR_PASSPHRASE=passphrase, **extra),
                   stdin=subprocess.DEVNULL)

    def assert_host_untouched(self) -> None:
        assert listing(self.home) == [], f"written to HOME: {listing(self.home)}"
        assert listing(self.host) == ["tmp"], f"written where the host points: {listing(self.host)}"

    def assert_no_key_file(self) -> None:
        """Everything a run added is in data/, and none of it is key-like."""
        added = sorted(set(listing(self.folder)) - self.shipped)
        assert all(name == "data" or name.startswith("data/") for name in added), added
        key_like = [n for n in added if "key" in Path(n).name.lower()
                    or Path(n).suffix in (".pem", ".key", ".p12")]
        assert key_like == [], key_like
        for path in self.data.rglob("*"):
            if path.is_file():
                assert PASSPHRASE.encode() not in path.read_bytes(), f"passphrase in {path}"


@pytest.fixture
def stick(builds: Builds, tmp_path) -> Stick:
    return Stick(builds, tmp_path)


def test_portable_folder_keeps_everything_inside_and_refuses_a_wrong_passphrase(stick: Stick):
    version = stick.run("--version", passphrase=None)
    assert version.returncode == 0 and version.stdout.strip() == f"TFTSR {__version__}"

    migrate = stick.run("db", "migrate")
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    assert "passphrase" in migrate.stdout
    db = stick.data / "tftsr.db"
    assert db.is_file() and (stick.data / "tftsr.db.salt").is_file()
    assert not db.read_bytes()[:16].startswith(b"SQLite format 3")
    stick.assert_host_untouched()
    stick.assert_no_key_file()

    before = fingerprint(stick.folder)
    wrong = stick.run("db", "migrate", passphrase="not the passphrase at all")
    assert wrong.returncode == 2, wrong.stdout + wrong.stderr
    assert "passphrase is wrong" in wrong.stderr
    missing = stick.run("db", "migrate", passphrase=None)
    assert missing.returncode == 2 and "TFTSR_PASSPHRASE" in missing.stderr
    after = fingerprint(stick.folder)
    logs = {k for k in before.keys() | after.keys() if k.startswith("data/logs/")}
    assert {k: v for k, v in after.items() if k not in logs} == \
        {k: v for k, v in before.items() if k not in logs}, "a refused start changed the folder"
    stick.assert_host_untouched()

    verify = stick.run("db", "verify-audit")
    assert verify.returncode == 0 and "intact" in verify.stdout, verify.stdout + verify.stderr


def test_passphrase_change_round_trip(stick: Stick):
    assert stick.run("db", "migrate").returncode == 0
    served = serve(stick.exe, stick.env(TFTSR_PASSPHRASE=PASSPHRASE))
    try:
        status = served.call("get_passphrase_status")
        assert status == {**status, "enabled": True, "portable": True, "can_switch_off": False}
        issue = served.call("create_issue", title="Switch stack lost power", severity="high",
                            category="network")["issue"]
        refused = served.client.post("/api/change_passphrase",
                                     json={"current": "wrong guess here", "new": NEW_PASSPHRASE})
        assert refused.status_code == 400 and "wrong" in refused.json()["error"]["message"]
        served.call("change_passphrase", current=PASSPHRASE, new=NEW_PASSPHRASE)
        assert served.call("get_issue", issue_id=issue["id"])["issue"]["title"] == \
            "Switch stack lost power"
    finally:
        served.stop()
    old = stick.run("db", "verify-audit")
    assert old.returncode == 2 and "passphrase is wrong" in old.stderr
    new = stick.run("db", "verify-audit", passphrase=NEW_PASSPHRASE)
    assert new.returncode == 0 and "intact" in new.stdout, new.stdout + new.stderr
    assert not list(stick.data.glob("*.rekey*")), "the re-key copy was left behind"
    stick.assert_host_untouched()
    stick.assert_no_key_file()


@pytest.mark.desktop
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Qt WebEngine window is Linux-only")
def test_portable_window_opens_with_home_untouched(stick: Stick):
    assert stick.run("db", "migrate").returncode == 0
    env = stick.env(TFTSR_PASSPHRASE=PASSPHRASE, DISPLAY=None)
    _result, helpers = open_window(stick.exe, env)
    assert all(h.startswith(str(stick.folder) + "/") for h in helpers), helpers
    stick.assert_host_untouched()
    stick.assert_no_key_file()
    # Qt's caches went into the folder, where the portable environment points them.
    assert any((stick.data / "cache").iterdir()), listing(stick.data)


@pytest.mark.desktop
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Qt WebEngine window is Linux-only")
def test_the_window_asks_for_the_passphrase_and_says_when_it_is_wrong(stick: Stick):
    """No TFTSR_PASSPHRASE: the passphrase window comes first. A wrong passphrase brings it
    back titled "wrong passphrase" with the database untouched; the right one opens the app;
    Cancel exits with code 2 and changes nothing."""
    assert stick.run("db", "migrate").returncode == 0
    before = fingerprint(stick.data)
    with xvfb_display() as display:
        port = free_port()
        env = stick.env(TFTSR_PASSPHRASE=None, DISPLAY=display,
                        QTWEBENGINE_REMOTE_DEBUGGING=f"127.0.0.1:{port}")
        proc = subprocess.Popen([str(stick.exe)], env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
        try:
            dialog = wait_for_window(display, "^TFTSR — passphrase$")
            type_into(display, dialog, "not the passphrase", "Return")
            dialog = wait_for_window(display, "^TFTSR — wrong passphrase$")
            assert proc.poll() is None
            assert _database(fingerprint(stick.data)) == _database(before)
            type_into(display, dialog, PASSPHRASE, "Return")
            answer = page_answer(port)
            assert answer is not None and answer["ping"]["ok"] is True, answer
            # The main window carries the app icon (title bar, task bar) and the WM class
            # the launcher's StartupWMClass names.
            props = subprocess.run(["xprop", "-id", wait_for_window(display, "^TFTSR$"),
                                    "WM_CLASS", "_NET_WM_ICON"], env=dict(env), text=True,
                                   capture_output=True, timeout=30, check=False).stdout
            assert 'WM_CLASS(STRING) = "tftsr", "TFTSR"' in props, props
            assert "_NET_WM_ICON(CARDINAL) = " in props and "not found" not in props, props[:300]
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(30)

        after_use = fingerprint(stick.data)
        cancelled = subprocess.Popen([str(stick.exe)], env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        dialog = wait_for_window(display, "^TFTSR — passphrase$")
        type_into(display, dialog, "", "Escape")
        output, _ = cancelled.communicate(timeout=60)
        assert cancelled.returncode == 2, output
        assert "No passphrase was given" in output
        assert _database(fingerprint(stick.data)) == _database(after_use)
    stick.assert_host_untouched()


def _database(prints: dict[str, str]) -> dict[str, str]:
    """The database's own files (tftsr.db, its salt, WAL and shared-memory files)."""
    return {k: v for k, v in prints.items() if k.startswith("tftsr.db")}


def test_the_single_file_beside_a_marker_is_portable_too(builds: Builds, tmp_path):
    """The single file copied into a folder with a tftsr-portable.marker unpacks into that
    folder's data/cache/ and keeps its data there, like the portable folder."""
    folder = tmp_path / "stick"
    folder.mkdir()
    shutil.copy2(builds.single, folder / EXE_NAME)
    (folder / "tftsr-portable.marker").write_text("portable\n")
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8",
           "TFTSR_NO_KEYRING": "1", "TFTSR_PASSPHRASE": PASSPHRASE,
           "TFTSR_DATA_DIR": str(tmp_path / "host-data")}
    result = run(folder / EXE_NAME, "db", "migrate", env=env, stdin=subprocess.DEVNULL,
                 timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (folder / "data" / "tftsr.db").is_file() and (folder / "data" / "tftsr.db.salt").is_file()
    unpacked = list((folder / "data" / "cache" / "single-file").iterdir())
    assert len(unpacked) == 1 and unpacked[0].name.startswith(f"{__version__}-"), unpacked
    assert listing(home) == [] and not (tmp_path / "host-data").exists()


# --- launchers from the built outputs --------------------------------------------------------

def _exec_of(entry: Path) -> list[str]:
    from tests.unit.test_launcher import exec_arguments, parse_desktop_file

    return exec_arguments(parse_desktop_file(entry)["Exec"])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="freedesktop launchers")
def test_install_launcher_from_the_portable_folder_and_the_single_file(builds: Builds, stick,
                                                                       tmp_path):
    from tests.unit.test_launcher import assert_launcher_installed

    data_home = tmp_path / "xdg-data"
    data_home.mkdir()
    env = stick.env(XDG_DATA_HOME=str(data_home), TFTSR_PASSPHRASE=None)
    done = run(stick.exe, "install-launcher", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert_launcher_installed(data_home, [str(stick.exe)])
    assert not stick.data.exists(), "installing a launcher needs no data folder"
    gone = run(stick.exe, "install-launcher", "--uninstall", env=env)
    assert gone.returncode == 0 and listing(data_home) == [], gone.stdout

    # The single file: the launcher starts the file itself, not its unpacked copy.
    single_env = builds.env(tmp_path / "unused", XDG_DATA_HOME=str(data_home))
    done = run(builds.single, "install-launcher", env=single_env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert_launcher_installed(data_home, [str(builds.single)])
    assert str(builds.cache) not in (data_home / "applications" / "org.tftsr.TFTSR.desktop"
                                     ).read_text()
    gone = run(builds.single, "install-launcher", "--uninstall", env=single_env)
    assert gone.returncode == 0 and listing(data_home) == []
