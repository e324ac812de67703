"""OS launchers: ``tftsr install-launcher [--uninstall]`` and Settings -> About.

The launcher starts whatever is running now (:func:`launch_command`): the single file or
the portable folder's ``tftsr`` when TFTSR runs from a build, else the installed console
script (or ``python -m tftsr`` when there is none).

* Linux (tested): a freedesktop entry ``$XDG_DATA_HOME/applications/org.tftsr.TFTSR.desktop``
  (``~/.local/share`` when XDG_DATA_HOME is unset) and the icon in the user's ``hicolor``
  theme: ``icons/hicolor/48x48/apps``, ``256x256/apps`` (PNG) and ``scalable/apps`` (SVG),
  all named ``org.tftsr.TFTSR``. The entry passes ``desktop-file-validate``.
* Windows (written, not tested here): a Start-menu shortcut
  ``%APPDATA%\\Microsoft\\Windows\\Start Menu\\Programs\\TFTSR.lnk`` made through
  PowerShell's WScript.Shell, with an .ico kept beside TFTSR's own files.
* macOS (written, not tested here): ``~/Applications/TFTSR.app``, a bundle whose
  executable is a two-line shell script that starts TFTSR, with an .icns icon.

Uninstalling removes exactly the files installing wrote (found by name; the freedesktop
entry only when it carries the ``X-TFTSR-Launcher`` key) and the folders that are left
empty by that. In portable mode the host's own folders are used (the ones saved by
:func:`tftsr.config.enter_portable_mode`): a launcher is something the person asked to
put on this computer.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tftsr.commands import command

log = logging.getLogger(__name__)

APP_ID = "org.tftsr.TFTSR"
APP_NAME = "TFTSR"
COMMENT = "Incident triage and root-cause analysis, encrypted on your machine"
MARK_KEY = "X-TFTSR-Launcher"
PNG_SIZES = (48, 256)
TESTED_PLATFORMS = ("linux",)


# --- the icon and the command ----------------------------------------------------------------

def _assets() -> Path | None:
    from tftsr.resources import frontend_dir

    try:
        return frontend_dir() / "assets"
    except FileNotFoundError:
        return None


def icon_file(size: int | None) -> Path | None:
    """The bundled PNG icon of ``size`` pixels, or the SVG when ``size`` is None."""
    assets = _assets()
    if assets is None:
        return None
    path = assets / ("logo.svg" if size is None else f"tftsr-{size}.png")
    return path if path.is_file() else None


def launch_command() -> list[str]:
    """The command that starts this TFTSR: the single file, the portable folder's (or any
    frozen build's) executable, the console script, or ``python -m tftsr``."""
    from tftsr.config import launched_executable

    exe = launched_executable()
    if exe is not None:
        return [str(exe)]
    script = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if script is not None and script.stem == "tftsr" and script.is_file():
        return [str(script.absolute())]
    bin_dir = Path(sys.executable).parent
    for name in ("tftsr", "tftsr.exe"):
        if (bin_dir / name).is_file():
            return [str(bin_dir / name)]
    found = shutil.which("tftsr")
    if found:
        return [str(Path(found).absolute())]
    return [str(Path(sys.executable).absolute()), "-m", "tftsr"]


def _platform() -> str:
    if sys.platform.startswith("linux"):
        return "linux"
    if sys.platform == "win32":
        return "windows"
    if sys.platform == "darwin":
        return "macos"
    return sys.platform


def _host_env(name: str) -> str | None:
    from tftsr.config import host_environ

    return host_environ(name)


def _home() -> Path:
    home = _host_env("HOME") or os.path.expanduser("~")
    return Path(home)


# --- freedesktop (Linux and other XDG systems) ---------------------------------------------

def data_home() -> Path:
    """``$XDG_DATA_HOME``, or ``~/.local/share`` when it is unset or not absolute."""
    value = _host_env("XDG_DATA_HOME")
    if value and os.path.isabs(value):
        return Path(value)
    return _home() / ".local" / "share"


_EXEC_RESERVED = set(' \t\n"\'\\><~|&;$*?#()`')


def exec_quote(arg: str) -> str:
    """One argument of a desktop entry's ``Exec`` key, quoted by the spec's rules (the
    result still needs the string escaping of :func:`desktop_value`)."""
    arg = arg.replace("%", "%%")
    if arg and not (set(arg) & _EXEC_RESERVED):
        return arg
    escaped = "".join("\\" + ch if ch in '"`$\\' else ch for ch in arg)
    return f'"{escaped}"'


def desktop_value(value: str) -> str:
    """A string value escaped for a desktop entry file (backslash first)."""
    return (value.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")
            .replace("\r", "\\r"))


def desktop_entry(cmd: list[str]) -> str:
    exec_line = " ".join(exec_quote(a) for a in cmd)
    return "\n".join([
        "[Desktop Entry]",
        "Type=Application",
        "Version=1.4",
        f"Name={APP_NAME}",
        "GenericName=Incident triage",
        f"Comment={COMMENT}",
        f"Exec={desktop_value(exec_line)}",
        f"TryExec={desktop_value(cmd[0])}",
        f"Icon={APP_ID}",
        "Terminal=false",
        "Categories=Utility;",
        "Keywords=incident;triage;RCA;postmortem;root cause;",
        "StartupNotify=true",
        "StartupWMClass=TFTSR",
        f"{MARK_KEY}=true",
        "",
    ])


def freedesktop_paths(base: Path | None = None) -> dict[str, Path]:
    base = base or data_home()
    paths = {"entry": base / "applications" / f"{APP_ID}.desktop",
             "icon-scalable": base / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"}
    for size in PNG_SIZES:
        paths[f"icon-{size}"] = (base / "icons" / "hicolor" / f"{size}x{size}" / "apps"
                                 / f"{APP_ID}.png")
    return paths


def _write(path: Path, data: bytes, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _install_freedesktop(cmd: list[str]) -> list[Path]:
    paths = freedesktop_paths()
    written = []
    for key, path in paths.items():
        if key == "entry":
            continue
        source = icon_file(None if key == "icon-scalable" else int(key.split("-")[1]))
        if source is None:
            raise FileNotFoundError(f"the bundled icon for {path.name} is missing")
        _write(path, source.read_bytes())
        written.append(path)
    _write(paths["entry"], desktop_entry(cmd).encode("utf-8"))
    written.append(paths["entry"])
    _refresh_freedesktop(paths["entry"].parent)
    return written


def _refresh_freedesktop(applications: Path) -> None:
    """Menus notice new entries by themselves; nudge the ones that keep a cache (best
    effort, quietly). Only ``update-desktop-database`` is run, and only when its cache file
    exists already, so uninstalling leaves no file of ours behind."""
    tool = shutil.which("update-desktop-database")
    if tool and (applications / "mimeinfo.cache").exists():
        subprocess.run([tool, "-q", str(applications)], check=False, timeout=20,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _remove_files(paths: list[Path], stop_at: Path) -> list[Path]:
    removed = []
    for path in paths:
        if path.is_file() or path.is_symlink():
            path.unlink()
            removed.append(path)
        parent = path.parent
        while parent != stop_at and stop_at in parent.parents:
            try:
                parent.rmdir()  # only when empty
            except OSError:
                break
            parent = parent.parent
    return removed


def _uninstall_freedesktop() -> list[Path]:
    base = data_home()
    paths = freedesktop_paths(base)
    entry = paths["entry"]
    if entry.is_file() and f"{MARK_KEY}=true" not in entry.read_text(encoding="utf-8",
                                                                        errors="replace"):
        raise PermissionError(f"{entry} was not written by TFTSR; it was left alone")
    removed = _remove_files(list(paths.values()), base)
    if removed:
        _refresh_freedesktop(entry.parent)
    return removed


# --- Windows (best effort, untested here) ----------------------------------------------------

def _windows_paths() -> dict[str, Path]:
    appdata = Path(_host_env("APPDATA") or _home() / "AppData" / "Roaming")
    local = Path(_host_env("LOCALAPPDATA") or _home() / "AppData" / "Local")
    return {"shortcut": appdata / "Microsoft" / "Windows" / "Start Menu" / "Programs"
            / f"{APP_NAME}.lnk",
            "icon": local / APP_NAME / "launcher" / "tftsr.ico"}


def _install_windows(cmd: list[str]) -> list[Path]:
    from PIL import Image

    paths = _windows_paths()
    paths["icon"].parent.mkdir(parents=True, exist_ok=True)
    png = icon_file(256)
    if png is not None:
        with Image.open(png) as img:
            img.save(paths["icon"], sizes=[(16, 16), (32, 32), (48, 48), (256, 256)])
    paths["shortcut"].parent.mkdir(parents=True, exist_ok=True)

    def ps(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    args = subprocess.list2cmdline(cmd[1:])
    script = (f"$s = (New-Object -ComObject WScript.Shell).CreateShortcut({ps(str(paths['shortcut']))});"
              f"$s.TargetPath = {ps(cmd[0])}; $s.Arguments = {ps(args)};"
              f"$s.WorkingDirectory = {ps(str(_home()))};"
              f"$s.IconLocation = {ps(str(paths['icon']))}; $s.Description = {ps(COMMENT)};"
              "$s.Save()")
    subprocess.run(["powershell", "-NoProfile", "-NonInteractive", "-Command", script],
                   check=True, timeout=60, capture_output=True)
    return [p for p in (paths["icon"], paths["shortcut"]) if p.exists()]


def _uninstall_windows() -> list[Path]:
    paths = _windows_paths()
    return _remove_files([paths["shortcut"], paths["icon"]], paths["icon"].parents[2])


# --- macOS (best effort, untested here) ------------------------------------------------------

def _macos_bundle() -> Path:
    return _home() / "Applications" / f"{APP_NAME}.app"


def _install_macos(cmd: list[str]) -> list[Path]:
    import plistlib
    import shlex

    from tftsr import __version__

    bundle = _macos_bundle()
    contents = bundle / "Contents"
    info = {"CFBundleName": APP_NAME, "CFBundleDisplayName": APP_NAME,
            "CFBundleIdentifier": APP_ID, "CFBundleExecutable": "tftsr-launcher",
            "CFBundlePackageType": "APPL", "CFBundleShortVersionString": __version__,
            "CFBundleIconFile": "tftsr.icns", "LSMinimumSystemVersion": "11.0",
            "NSHighResolutionCapable": True, MARK_KEY: True}
    _write(contents / "Info.plist", plistlib.dumps(info))
    script = "#!/bin/sh\nexec " + " ".join(shlex.quote(a) for a in cmd) + ' "$@"\n'
    _write(contents / "MacOS" / "tftsr-launcher", script.encode("utf-8"), 0o755)
    png = icon_file(256)
    if png is not None:
        from PIL import Image

        (contents / "Resources").mkdir(parents=True, exist_ok=True)
        with Image.open(png) as img:
            img.save(contents / "Resources" / "tftsr.icns")
    return [bundle]


def _uninstall_macos() -> list[Path]:
    import plistlib

    bundle = _macos_bundle()
    info = bundle / "Contents" / "Info.plist"
    if not info.is_file():
        return []
    if not plistlib.loads(info.read_bytes()).get(MARK_KEY):
        raise PermissionError(f"{bundle} was not written by TFTSR; it was left alone")
    shutil.rmtree(bundle)
    return [bundle]


# --- the entry points ------------------------------------------------------------------------

def install() -> dict:
    """Write this platform's launcher; returns what was written and what it starts."""
    cmd = launch_command()
    platform = _platform()
    if platform == "windows":
        written = _install_windows(cmd)
    elif platform == "macos":
        written = _install_macos(cmd)
    else:
        written = _install_freedesktop(cmd)
    log.info("installed the %s launcher (%d files)", platform, len(written))
    return {"platform": platform, "command": cmd, "files": [str(p) for p in written],
            "tested_here": platform in TESTED_PLATFORMS}


def uninstall() -> dict:
    platform = _platform()
    if platform == "windows":
        removed = _uninstall_windows()
    elif platform == "macos":
        removed = _uninstall_macos()
    else:
        removed = _uninstall_freedesktop()
    log.info("removed the %s launcher (%d files)", platform, len(removed))
    return {"platform": platform, "files": [str(p) for p in removed]}


def status() -> dict:
    platform = _platform()
    if platform == "windows":
        where = _windows_paths()["shortcut"]
    elif platform == "macos":
        where = _macos_bundle()
    else:
        where = freedesktop_paths()["entry"]
    return {"platform": platform, "installed": where.exists(), "location": str(where),
            "command": launch_command(), "tested_here": platform in TESTED_PLATFORMS}


def _audit(app, action: str, result: dict) -> None:
    from tftsr.audit import record

    with app.db.transaction() as conn:
        record(conn, action, "launcher", APP_ID,
               {"platform": result["platform"], "files": result["files"]})


@command()
def get_launcher_status(app):
    """Whether this computer's app launcher for TFTSR exists and what it would start."""
    return status()


@command()
def install_launcher(app):
    """Write (or rewrite) the OS launcher for the TFTSR that is running."""
    from tftsr.errors import Unavailable

    try:
        result = install()
    except (OSError, subprocess.SubprocessError) as exc:
        raise Unavailable(f"The launcher could not be written: {exc}") from None
    _audit(app, "launcher_installed", result)
    return {**status(), "files": result["files"]}


@command()
def uninstall_launcher(app):
    """Remove the OS launcher that install_launcher wrote."""
    from tftsr.errors import Unavailable

    try:
        result = uninstall()
    except (OSError, subprocess.SubprocessError) as exc:
        raise Unavailable(f"The launcher could not be removed: {exc}") from None
    _audit(app, "launcher_removed", result)
    return {**status(), "files": result["files"]}
