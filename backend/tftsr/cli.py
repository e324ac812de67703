"""Command line: ``tftsr`` (desktop), ``tftsr serve``,
``tftsr db migrate|verify-audit|audit-head``, ``tftsr install-launcher [--uninstall]``."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
from pathlib import Path

from tftsr import __version__
from tftsr.config import Unlock, enter_portable_mode, portable_root, resolve_data_dir
from tftsr.errors import DatabaseOpenError

log = logging.getLogger("tftsr.cli")

EXIT_OK, EXIT_ERROR, EXIT_DB, EXIT_AUDIT, EXIT_RUNNING = 0, 1, 2, 3, 4


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", metavar="DIR", default=argparse.SUPPRESS,
                        help="data folder (default: $TFTSR_DATA_DIR or your user data folder)")
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="write debug detail to the application log")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tftsr",
        description="TFTSR: incident triage and root-cause analysis, encrypted on your machine.",
    )
    parser.add_argument("--version", action="version", version=f"TFTSR {__version__}")
    _common(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser("serve", help="serve the UI in your browser (no desktop window)")
    _common(serve)
    serve.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: random)")
    serve.add_argument("--no-browser", action="store_true", help="do not open a browser")

    db = sub.add_parser("db", help="database maintenance")
    _common(db)
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    migrate = db_sub.add_parser("migrate", help="create or upgrade the database")
    _common(migrate)
    verify = db_sub.add_parser(
        "verify-audit", help="check the audit log's hash chain and that no entry is missing")
    _common(verify)
    verify.add_argument("--expect-head", metavar="SEQ:HASH", default=None,
                        help="a head printed earlier by 'tftsr db audit-head' (or found in an "
                             "export): also prove the log up to it is unchanged")
    audit_head = db_sub.add_parser(
        "audit-head", help="print the audit log's head as SEQ:HASH, to record outside TFTSR")
    _common(audit_head)

    launcher = sub.add_parser(
        "install-launcher",
        help="add TFTSR to this computer's app menu (freedesktop entry, Start menu, ~/Applications)")
    _common(launcher)
    launcher.add_argument("--uninstall", action="store_true",
                          help="remove the launcher written earlier")
    return parser


def _say(message: str) -> None:
    print(message, flush=True)


def _err(message: str) -> None:
    print(f"tftsr: {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    if (sys.argv[1:] if argv is None else argv) == ["--version"]:
        print(f"TFTSR {__version__}")  # nothing else to load
        return EXIT_OK
    args = build_parser().parse_args(argv)
    portable = portable_root()
    data_dir = resolve_data_dir(getattr(args, "data_dir", None), portable=portable)
    debug = bool(getattr(args, "debug", False))
    # Taken out of the environment so that nothing TFTSR starts inherits it.
    given = os.environ.pop("TFTSR_PASSPHRASE", None) or None
    try:
        if args.command == "install-launcher":
            return _install_launcher(uninstall=args.uninstall)
        if portable is not None:
            from tftsr.app import ensure_data_dir

            ensure_data_dir(data_dir)
            enter_portable_mode(data_dir)
        unlock = Unlock(portable=portable is not None, passphrase=given,
                        ask=_terminal_ask if _can_prompt() else None)
        if args.command == "db":
            return _db(args, data_dir, debug, unlock)
        if args.command == "serve":
            return _serve(data_dir, debug, unlock, port=args.port,
                          open_browser=not args.no_browser)
        return _desktop(data_dir, debug, unlock)
    except DatabaseOpenError as exc:
        _err(exc.message)
        return EXIT_DB
    except KeyboardInterrupt:
        return EXIT_OK


def _can_prompt() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def _terminal_ask(new: bool, error: str | None) -> str | None:
    """Ask for the passphrase on the terminal (twice for a new database)."""
    import getpass

    from tftsr.passphrase import MIN_LENGTH

    if error:
        _err(error)
    try:
        if not new:
            return getpass.getpass("Passphrase for the TFTSR database: ")
        _say("This TFTSR database is new: choose its passphrase (at least "
             f"{MIN_LENGTH} characters). The key is derived from it and never stored; if you "
             "forget it, nobody can open the data.")
        for _ in range(3):
            first = getpass.getpass("New passphrase: ")
            if first == getpass.getpass("The same passphrase again: "):
                return first
            _err("The two passphrases differ; try again.")
        return None
    except (EOFError, KeyboardInterrupt):
        print(file=sys.stderr)
        return None


def _install_launcher(*, uninstall: bool) -> int:
    from tftsr import launcher

    try:
        result = launcher.uninstall() if uninstall else launcher.install()
    except (OSError, ValueError) as exc:
        _err(f"the launcher could not be {'removed' if uninstall else 'written'}: {exc}")
        return EXIT_ERROR
    if uninstall:
        if result["files"]:
            _say("Removed the TFTSR launcher:\n  " + "\n  ".join(result["files"]))
        else:
            _say("There was no TFTSR launcher to remove.")
        return EXIT_OK
    _say("Wrote the TFTSR launcher:\n  " + "\n  ".join(result["files"]))
    _say("It starts: " + " ".join(result["command"]))
    if not result["tested_here"]:
        _say(f"Note: launchers for {result['platform']} are written on a best-effort basis "
             "and have not been tested by TFTSR's own test suite.")
    return EXIT_OK


def _open(data_dir: Path, debug: bool, mode: str, unlock: Unlock | None = None,
          meanwhile=None):
    """Open the app; ``meanwhile()`` runs while the database opens (see open_app)."""
    from tftsr import logs
    from tftsr.app import ensure_data_dir, open_app

    ensure_data_dir(data_dir)
    logs.configure(data_dir, debug=debug)
    app = open_app(data_dir, mode=mode, unlock=unlock, meanwhile=meanwhile)
    logs.add_secret(app.key.value)
    logs.add_secret(app.key.sqlcipher)
    app.extras["debug"] = debug
    if not debug:
        from tftsr.settings import get_value

        with app.db.connection() as conn:
            logging.getLogger("tftsr").setLevel(get_value(conn, "log_level"))
    log.info("TFTSR %s started in %s mode", __version__, mode)
    if mode != "cli":  # list the enabled MCP servers' tools on worker threads; nobody waits
        import threading  # (the MCP library is imported there too, not before the first screen)

        threading.Thread(target=_start_discovery, args=(app,), name="tftsr-mcp-discovery",
                         daemon=True).start()
    return app


# What serving imports after the database has opened, imported while it opens (the key
# derivation runs without the GIL), before the command modules start importing on their
# own thread: one thread at a time imports each module.
SERVE_MODULES = ("tftsr.server", "tftsr.evidence.routes", "tftsr.settings",
                 "tftsr.settings.store", "tftsr.mcp.discovery")


def _prepare_to_serve(data_dir: Path):
    """What to do while the database opens. A new database gets every migration, which
    SQLite applies statement by statement, taking the GIL back between statements: a
    thread importing modules at the same time slows that down several times over, so
    there the command modules start importing once the database is open."""
    from tftsr.config import DB_FILENAME

    existing = (data_dir / DB_FILENAME).exists()

    def prepare() -> None:
        for name in SERVE_MODULES:
            importlib.import_module(name)
        if existing:
            from tftsr.commands import load_all_in_background

            load_all_in_background()

    return prepare


def _start_discovery(app) -> None:
    from tftsr.mcp import discovery

    discovery.start_background(app)


def _db(args: argparse.Namespace, data_dir: Path, debug: bool, unlock: Unlock) -> int:
    action = args.db_command
    expect_head = getattr(args, "expect_head", None)
    if expect_head is not None:
        from tftsr.audit import BadHead, parse_head

        try:
            parse_head(expect_head)
        except BadHead as exc:
            _err(f"--expect-head: {exc}.")
            return EXIT_ERROR
    app = _open(data_dir, debug, "cli", unlock)
    try:
        if action == "migrate":
            from tftsr.db.migrator import applied

            names = applied(app.db)
            _say(f"Database {app.db.path} is up to date ({len(names)} migrations applied; "
                 f"key {app.key.detail}).")
            return EXIT_OK
        if action == "audit-head":
            from tftsr.audit import head_text

            with app.db.connection() as conn:
                _say(head_text(conn))
            return EXIT_OK
        return _verify_audit(app, expect_head)
    finally:
        app.close()


def _verify_audit(app, expect_head: str | None) -> int:
    from tftsr.audit import verify

    with app.db.connection() as conn:
        result = verify(conn, expect_head)
    if result.ok:
        _say(f"Audit log intact: {result.entries} entries, hash chain verified, every audited "
             f"row has its creation entry; head {result.head}.")
        if result.anchor:
            seq = result.anchor["expected"].partition(":")[0]
            _say(f"It matches the recorded head {result.anchor['expected']}: entries 1 to {seq} "
                 "are unchanged since that head was recorded.")
        return EXIT_OK
    if not result.chain_ok:
        if result.first_bad_id:
            where = f"entry #{result.first_bad_seq} (id {result.first_bad_id})"
        elif result.first_bad_seq:
            where = f"entry #{result.first_bad_seq}, which is missing"
        else:
            where = f"after entry #{result.entries}"
        _err(f"Audit log BROKEN at {where}: {result.reason}.")
    if result.anchor and not result.anchor["ok"]:
        _err(f"Audit log does NOT match the recorded head {result.anchor['expected']}: "
             f"{result.anchor['reason']}.")
    elif result.anchor:
        _say(f"The log up to the recorded head {result.anchor['expected']} is unchanged.")
    missing = result.missing
    if missing["total"]:
        _err(f"Audit log INCOMPLETE: {missing['total']} audited "
             f"row{'s have' if missing['total'] != 1 else ' has'} no creation entry "
             "(entries were removed: the log was emptied or cut short, or rows were added "
             "outside TFTSR):")
        for item in missing["items"]:
            print(f"  {item['label']} {item['id']} (no {item['expected']} entry)",
                  file=sys.stderr)
        if missing["total"] > len(missing["items"]):
            print(f"  … and {missing['total'] - len(missing['items'])} more", file=sys.stderr,
                  flush=True)
    return EXIT_AUDIT


def _claim_instance(data_dir: Path):
    from tftsr import instance

    lock = instance.acquire(data_dir)
    if lock is not None:
        return lock
    info = instance.running_info(data_dir)
    if instance.ask_to_focus(data_dir):
        _say("TFTSR is already open for this data folder; its window has been brought forward.")
    else:
        mode = info.get("mode", "another")
        pid = info.get("pid")
        _say(f"TFTSR is already open for this data folder ({mode} mode"
             f"{', process ' + str(pid) if pid else ''}). Switch to it, or close it first.")
    return None


def _serve(data_dir: Path, debug: bool, unlock: Unlock, *, port: int, open_browser: bool,
           reason: str | None = None) -> int:
    from tftsr.app import ensure_data_dir

    ensure_data_dir(data_dir)
    lock = _claim_instance(data_dir)
    if lock is None:
        return EXIT_RUNNING
    app = _open(data_dir, debug, "browser", unlock, meanwhile=_prepare_to_serve(data_dir))
    try:
        from tftsr.server import LocalServer

        try:
            server = LocalServer(app, port=port)
        except OSError as exc:
            _err(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}")
            return EXIT_ERROR
        from tftsr.logs import add_secret

        add_secret(server.token)
        lock.describe(mode="browser", port=server.port)
        if reason:
            _say(f"TFTSR cannot open a desktop window: {reason}. Serving it in your browser instead.")
        _say(f"TFTSR is running at {server.url()}")
        _say("Press Ctrl+C to stop.")
        if open_browser:
            import webbrowser

            try:
                webbrowser.open(server.url())
            except Exception:  # noqa: BLE001
                pass
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            _say("Stopping TFTSR.")
        return EXIT_OK
    finally:
        app.close()
        lock.release()


def _desktop(data_dir: Path, debug: bool, unlock: Unlock) -> int:
    from tftsr.app import ensure_data_dir
    from tftsr.desktop import display_available

    ok, reason = display_available()
    if not ok:
        return _serve(data_dir, debug, unlock, port=0, open_browser=False, reason=reason)
    try:
        import webview  # noqa: F401
    except Exception as exc:  # noqa: BLE001
        return _serve(data_dir, debug, unlock, port=0, open_browser=True,
                      reason=f"the window toolkit could not be loaded ({exc})")
    ensure_data_dir(data_dir)
    lock = _claim_instance(data_dir)
    if lock is None:
        return EXIT_RUNNING
    if unlock.passphrase is None and sys.platform.startswith("linux"):
        from tftsr import passphrase_window

        # The window asks (a terminal may not be there or watched when a window opens).
        unlock = Unlock(portable=unlock.portable, ask=passphrase_window.ask)
    app = _open(data_dir, debug, "desktop", unlock)
    try:
        from tftsr import desktop

        return desktop.run(app, debug=debug, instance=lock)
    finally:
        app.close()
        lock.release()
