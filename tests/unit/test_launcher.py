"""``tftsr install-launcher`` on Linux: a freedesktop entry that desktop-file-validate
accepts, whose Exec starts this TFTSR and whose icon resolves in the hicolor theme; and
``--uninstall`` removing exactly what was written. Run from the checkout here; the built
single file and portable folder do the same in tests/packaging/test_portable_build.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from tftsr import launcher

from tests.conftest import ROOT, unavailable

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="freedesktop launchers are tested on Linux")


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


def parse_desktop_file(path: Path) -> dict[str, str]:
    entries, group = {}, None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("["):
            group = line
        elif "=" in line and group == "[Desktop Entry]":
            key, _, value = line.partition("=")
            entries[key] = value
    return entries


def unescape_string(value: str) -> str:
    """The desktop entry spec's string escapes (\\s \\n \\t \\r \\\\)."""
    out, i = [], 0
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value):
            out.append({"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}.get(
                value[i + 1], value[i + 1]))
            i += 2
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def exec_arguments(value: str) -> list[str]:
    """Split an Exec value the way the spec says a launcher does."""
    text, args, current, quoted, i, started = unescape_string(value), [], [], False, 0, False
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == "\\" and i + 1 < len(text) and text[i + 1] in '"`$\\':
                current.append(text[i + 1])
                i += 1
            elif ch == '"':
                quoted = False
            else:
                current.append(ch)
        elif ch == '"':
            quoted = started = True
        elif ch == " ":
            if started or current:
                args.append("".join(current))
            current, started = [], False
        else:
            current.append(ch)
            started = True
        i += 1
    if started or current:
        args.append("".join(current))
    return [a.replace("%%", "%") for a in args]


def validate(path: Path) -> None:
    tool = shutil.which("desktop-file-validate")
    if tool is None:
        unavailable("desktop-file-validate is not installed (Debian package desktop-file-utils; "
                    "build/setup.sh --test installs it)")
    result = subprocess.run([tool, str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def assert_launcher_installed(data_home: Path, expected_command: list[str]) -> dict[str, str]:
    """The entry validates, its Exec is the expected command and exists, its icon is in
    hicolor at the sizes the theme spec names. Returns the entry's keys."""
    entry = data_home / "applications" / "org.tftsr.TFTSR.desktop"
    assert entry.is_file(), listing(data_home)
    validate(entry)
    keys = parse_desktop_file(entry)
    assert keys["Type"] == "Application" and keys["Name"] == "TFTSR"
    assert exec_arguments(keys["Exec"]) == expected_command
    assert Path(expected_command[0]).is_file() and os.access(expected_command[0], os.X_OK)
    assert unescape_string(keys["TryExec"]) == expected_command[0]
    assert keys["Icon"] == "org.tftsr.TFTSR"
    hicolor = data_home / "icons" / "hicolor"
    with Image.open(hicolor / "48x48" / "apps" / "org.tftsr.TFTSR.png") as img:
        assert img.size == (48, 48)
    with Image.open(hicolor / "256x256" / "apps" / "org.tftsr.TFTSR.png") as img:
        assert img.size == (256, 256)
    svg = (hicolor / "scalable" / "apps" / "org.tftsr.TFTSR.svg").read_text()
    assert svg.lstrip().startswith("<svg")
    return keys


@pytest.fixture
def data_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "xdg-data"
    home.mkdir()
    (home / "applications").mkdir()
    (home / "applications" / "someone-else.desktop").write_text("[Desktop Entry]\n")
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    return home


def test_install_and_uninstall_from_the_command_line(data_home, tmp_path):
    before = listing(data_home)
    env = dict(os.environ, XDG_DATA_HOME=str(data_home))
    script = Path(sys.executable).with_name("tftsr")
    assert script.is_file(), "the console script is installed by build/setup.sh"
    done = subprocess.run([str(script), "install-launcher"], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "org.tftsr.TFTSR.desktop" in done.stdout
    # From an installed package, the launcher starts the console script by its absolute path.
    assert_launcher_installed(data_home, [str(script.absolute())])

    again = subprocess.run([str(script), "install-launcher"], env=env, capture_output=True,
                           text=True, timeout=60, check=False)
    assert again.returncode == 0, again.stderr  # rewriting is fine

    gone = subprocess.run([str(script), "install-launcher", "--uninstall"], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert gone.returncode == 0, gone.stderr
    assert "Removed" in gone.stdout
    assert listing(data_home) == before
    nothing = subprocess.run([str(script), "install-launcher", "--uninstall"], env=env,
                             capture_output=True, text=True, timeout=60, check=False)
    assert nothing.returncode == 0 and "no TFTSR launcher" in nothing.stdout


# Looks the icon up by name the way an icon theme does (Qt's loader: the hicolor theme's
# index.theme says which folders hold which sizes) in the user's data folder and the system's.
THEME_LOOKUP = r"""
import json, sys
from PyQt6.QtGui import QGuiApplication, QIcon
app = QGuiApplication(sys.argv[:1])
QIcon.setThemeSearchPaths([sys.argv[1] + "/icons", "/usr/share/icons"])
QIcon.setThemeName("hicolor")
icon = QIcon.fromTheme(sys.argv[2])
print(json.dumps({"found": QIcon.hasThemeIcon(sys.argv[2]) and not icon.isNull(),
                  "sizes": sorted(s.width() for s in icon.availableSizes())}))
"""


def resolve_icon(data_home: Path) -> dict:
    if not Path("/usr/share/icons/hicolor/index.theme").is_file():
        unavailable("the hicolor icon theme is not installed (Debian package hicolor-icon-theme, "
                    "which imagemagick brings; build/setup.sh --test installs it)")
    result = subprocess.run([sys.executable, "-c", THEME_LOOKUP, str(data_home), launcher.APP_ID],
                            env=dict(os.environ, QT_QPA_PLATFORM="offscreen"),
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_icon_resolves_by_name_in_the_hicolor_theme(data_home):
    """The entry's Icon= name is found by an icon-theme lookup after installing (at the
    48x48 and 256x256 sizes written), and no longer after uninstalling."""
    assert resolve_icon(data_home)["found"] is False
    launcher.install()
    keys = parse_desktop_file(data_home / "applications" / "org.tftsr.TFTSR.desktop")
    found = resolve_icon(data_home)
    assert found["found"] is True and {48, 256} <= set(found["sizes"]), found
    assert keys["Icon"] == launcher.APP_ID
    launcher.uninstall()
    assert resolve_icon(data_home)["found"] is False


def test_without_xdg_data_home_it_goes_to_the_home_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert launcher.data_home() == tmp_path / ".local" / "share"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/path")  # ignored, as the spec says
    assert launcher.data_home() == tmp_path / ".local" / "share"


def test_a_foreign_entry_of_the_same_name_is_left_alone(data_home):
    entry = data_home / "applications" / "org.tftsr.TFTSR.desktop"
    entry.write_text("[Desktop Entry]\nType=Application\nName=Not ours\nExec=true\n")
    with pytest.raises(PermissionError, match="not written by TFTSR"):
        launcher.uninstall()
    assert entry.read_text().startswith("[Desktop Entry]\nType=Application\nName=Not ours")


@pytest.mark.parametrize("path", [
    "/opt/TFTSR 2/tftsr",
    '/media/usb/it\'s "here"/tftsr',
    "/media/usb/100%/tftsr",
    "/media/usb/back\\slash/$HOME`x`/tftsr",
])
def test_exec_quoting_survives_awkward_paths(data_home, tmp_path, path):
    """Exec is quoted by the desktop entry rules; the validator accepts it and a launcher
    gets the path back unchanged."""
    text = launcher.desktop_entry([path, "--data-dir", "/x y"])
    entry = data_home / "applications" / "org.tftsr.TFTSR.desktop"
    entry.write_text(text)
    validate(entry)
    assert exec_arguments(parse_desktop_file(entry)["Exec"]) == [path, "--data-dir", "/x y"]


def test_settings_offers_it_through_audited_commands(app, data_home):
    from tftsr.commands import dispatch

    status = dispatch(app, "get_launcher_status", {})
    assert status["platform"] == "linux" and status["installed"] is False
    assert status["location"] == str(data_home / "applications" / "org.tftsr.TFTSR.desktop")
    assert status["tested_here"] is True
    installed = dispatch(app, "install_launcher", {})
    assert installed["installed"] is True and len(installed["files"]) == 4
    assert_launcher_installed(data_home, launcher.launch_command())
    removed = dispatch(app, "uninstall_launcher", {})
    assert removed["installed"] is False and len(removed["files"]) == 4
    log = dispatch(app, "get_audit_log", {"entity_type": "launcher"})["items"]
    assert [e["action"] for e in log] == ["launcher_removed", "launcher_installed"]
    details = log[1]["details"]
    details = json.loads(details) if isinstance(details, str) else details
    assert details["platform"] == "linux" and len(details["files"]) == 4


def test_the_window_icon_is_bundled_with_the_frontend():
    assert launcher.icon_file(48) == ROOT / "frontend" / "assets" / "tftsr-48.png"
    assert launcher.icon_file(None) == ROOT / "frontend" / "assets" / "logo.svg"
    with Image.open(launcher.icon_file(256)) as img:
        assert img.size == (256, 256) and img.mode == "RGBA"
