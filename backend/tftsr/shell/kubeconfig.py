"""Kubeconfigs: parsed with PyYAML, stored encrypted, handed to kubectl through a private
temporary file that exists only while one command runs.

* :func:`parse_kubeconfig` accepts at most 1 MB of UTF-8 text that YAML-parses (aliases
  refused: no anchor bombs) into a ``kind: Config`` mapping with named clusters (each
  with a server URL) and contexts; anything else is a clear :class:`KubeconfigError`.
* Stored in ``kubeconfig_files.encrypted_content`` with the app's AES-256-GCM secret
  helper; listing never returns the content.
* One kubeconfig is the global default (``is_active``); an incident may choose its own
  kubeconfig and context (table ``issue_kubeconfig``, migration 034).
* :func:`materialize` writes the decrypted text to a 0600 file inside a fresh 0700
  folder from :func:`tempfile.mkdtemp` (never inside the data folder) and removes the
  folder when the block ends, whether it ends normally, by an exception or a timeout.
  A folder left by a process that died is removed at the next app start or run
  (:mod:`tftsr.shell.kubetemp`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from tftsr.db.ids import now_text, uuid7
from tftsr.errors import InvalidArgument, NotFound
from tftsr.secrets import decrypt_secret, encrypt_secret
from tftsr.shell.kubetemp import (  # noqa: F401 - TEMP_PREFIX, remove_stale also read here
    TEMP_PREFIX,
    private_folder,
    remove_stale,
    temp_parent,
)

MAX_BYTES = 1024 * 1024


class KubeconfigError(InvalidArgument):
    code = "invalid_kubeconfig"


class _NoAliases(yaml.SafeLoader):
    """SafeLoader that refuses anchors/aliases (kubeconfigs never need them)."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            raise KubeconfigError("The kubeconfig uses YAML aliases (*name), which are not "
                                  "accepted; export it again with kubectl config view --raw.")
        return super().compose_node(parent, index)


@dataclass
class Parsed:
    contexts: list[dict[str, Any]]
    clusters: list[dict[str, Any]]
    current_context: str | None

    def context(self, name: str | None) -> dict[str, Any] | None:
        for ctx in self.contexts:
            if ctx["name"] == name:
                return ctx
        return None

    def default_context(self) -> dict[str, Any]:
        return self.context(self.current_context) or self.contexts[0]

    def to_dict(self) -> dict[str, Any]:
        return {"contexts": self.contexts, "clusters": self.clusters,
                "current_context": self.current_context}


def _text(content: str | bytes) -> str:
    if isinstance(content, bytes):
        if len(content) > MAX_BYTES:
            raise KubeconfigError(_too_large(len(content)))
        try:
            content = content.decode("utf-8")
        except UnicodeDecodeError:
            raise KubeconfigError("The file is not a kubeconfig: it is binary, not text.") from None
    if not isinstance(content, str):
        raise KubeconfigError("The kubeconfig must be text.")
    if len(content.encode("utf-8", errors="replace")) > MAX_BYTES:
        raise KubeconfigError(_too_large(len(content.encode("utf-8", errors="replace"))))
    if "\x00" in content or sum(1 for c in content[:4096] if ord(c) < 9 or 13 < ord(c) < 32) > 4:
        raise KubeconfigError("The file is not a kubeconfig: it is binary, not text.")
    return content.lstrip("\ufeff")


def _too_large(n: int) -> str:
    return (f"The kubeconfig is too large ({n / 1024 / 1024:.1f} MB); the limit is 1 MB. "
            "A kubeconfig is usually a few kilobytes.")


def _named(items: Any, key: str, what: str) -> list[tuple[str, dict]]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise KubeconfigError(f"The kubeconfig's {what} must be a list.")
    out = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or \
                not item["name"].strip():
            raise KubeconfigError(f"Every entry of the kubeconfig's {what} needs a name.")
        body = item.get(key) or {}
        if not isinstance(body, dict):
            raise KubeconfigError(f"The {what} entry '{item['name']}' is malformed.")
        out.append((item["name"], body))
    return out


def parse_kubeconfig(content: str | bytes) -> Parsed:
    """Check and summarise a kubeconfig. Raises KubeconfigError with a clear message."""
    text = _text(content)
    if not text.strip():
        raise KubeconfigError("The kubeconfig is empty.")
    try:
        data = yaml.load(text, Loader=_NoAliases)  # noqa: S506 - a SafeLoader subclass
    except KubeconfigError:
        raise
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise KubeconfigError(f"The kubeconfig is not valid YAML{where}.") from None
    except (RecursionError, MemoryError):
        raise KubeconfigError("The kubeconfig nests too deeply to be read.") from None
    if not isinstance(data, dict):
        raise KubeconfigError("The file is not a kubeconfig: it is not a YAML mapping with "
                              "clusters, users and contexts.")
    kind = data.get("kind")
    if kind is not None and kind != "Config":
        raise KubeconfigError(f"The file is not a kubeconfig: its kind is {str(kind)[:40]!r}, "
                              "not 'Config'.")
    clusters = _named(data.get("clusters"), "cluster", "clusters")
    contexts = _named(data.get("contexts"), "context", "contexts")
    if not clusters or not contexts:
        raise KubeconfigError("The file is not a kubeconfig: it needs at least one cluster and "
                              "one context.")
    servers = {}
    for name, body in clusters:
        server = body.get("server")
        if not isinstance(server, str) or not server.strip():
            raise KubeconfigError(f"The cluster '{name}' has no server URL.")
        servers[name] = server.strip()
    ctx_list = []
    for name, body in contexts:
        cluster = body.get("cluster")
        namespace = body.get("namespace")
        ctx_list.append({
            "name": name, "cluster": cluster if isinstance(cluster, str) else None,
            "namespace": namespace if isinstance(namespace, str) else None,
            "user": body.get("user") if isinstance(body.get("user"), str) else None,
            "server": servers.get(cluster) if isinstance(cluster, str) else None,
        })
    current = data.get("current-context")
    return Parsed(ctx_list, [{"name": n, "server": s} for n, s in servers.items()],
                  current if isinstance(current, str) and current else None)


def read_file(path: str) -> bytes:
    """Read a kubeconfig the user picked: a regular file of at most 1 MB. The file is
    opened without blocking and checked after opening, so a FIFO, device or socket
    behind the path (or a symlink to one) is refused rather than read."""
    if not isinstance(path, str) or not path.strip() or "\x00" in path:
        raise KubeconfigError("Choose a kubeconfig file.")
    p = os.path.expanduser(path.strip())
    if not os.path.isabs(p):
        raise KubeconfigError("The kubeconfig path must be a full path.")
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise KubeconfigError(f"There is no file at {p}.") from None
    except IsADirectoryError:
        raise KubeconfigError(f"{p} is a folder, not a kubeconfig file.") from None
    except PermissionError:
        raise KubeconfigError(f"TFTSR may not read {p} (permission denied).") from None
    except OSError as exc:
        raise KubeconfigError(f"{p} cannot be opened: {exc.strerror or exc}.") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise KubeconfigError(f"{p} is a folder, not a kubeconfig file.")
        if not stat.S_ISREG(info.st_mode):
            raise KubeconfigError(f"{p} is not a regular file (a device, pipe or folder), so "
                                  "it is not read.")
        if info.st_size > MAX_BYTES:
            raise KubeconfigError(_too_large(info.st_size))
        chunks, total = [], 0
        while total <= MAX_BYTES:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > MAX_BYTES:
            raise KubeconfigError(_too_large(total))
        return b"".join(chunks)
    finally:
        os.close(fd)


# -- storage --------------------------------------------------------------------------------
COLUMNS = "id, name, context, cluster_url, is_active, uploaded_at"


def _public(app, row: dict, parsed: Parsed | None = None) -> dict:
    if parsed is None:
        try:
            parsed = parse_kubeconfig(decrypt_secret(app, row["encrypted_content"]))
        except Exception:  # noqa: BLE001 - a damaged row is listed, flagged, not fatal
            parsed = None
    return {"id": row["id"], "name": row["name"], "context": row["context"],
            "cluster_url": row["cluster_url"], "is_active": bool(row["is_active"]),
            "uploaded_at": row["uploaded_at"],
            "contexts": parsed.contexts if parsed else [],
            "clusters": parsed.clusters if parsed else [],
            "readable": parsed is not None}


def store(app, conn, name: str, content: str) -> dict:
    parsed = parse_kubeconfig(content)
    ctx = parsed.default_context()
    first = conn.execute("SELECT 1 FROM kubeconfig_files WHERE is_active = 1").fetchone() is None
    row = {"id": uuid7(), "name": name, "encrypted_content": encrypt_secret(app, _text(content)),
           "context": ctx["name"], "cluster_url": ctx["server"], "is_active": 1 if first else 0,
           "uploaded_at": now_text()}
    conn.execute(
        "INSERT INTO kubeconfig_files (id, name, encrypted_content, context, cluster_url,"
        " is_active, uploaded_at) VALUES (:id, :name, :encrypted_content, :context,"
        " :cluster_url, :is_active, :uploaded_at)", row)
    return _public(app, row, parsed)


def get_row(conn, kubeconfig_id: str) -> dict:
    row = conn.execute("SELECT * FROM kubeconfig_files WHERE id = ?", (kubeconfig_id,)).fetchone()
    if row is None:
        raise NotFound("There is no such kubeconfig.")
    return dict(row)


def list_rows(app, conn) -> list[dict]:
    rows = conn.execute("SELECT * FROM kubeconfig_files ORDER BY uploaded_at, id").fetchall()
    return [_public(app, dict(r)) for r in rows]


def delete(conn, kubeconfig_id: str) -> dict:
    row = get_row(conn, kubeconfig_id)
    conn.execute("DELETE FROM kubeconfig_files WHERE id = ?", (kubeconfig_id,))
    return row


def set_active(app, conn, kubeconfig_id: str, *, issue_id: str | None = None,
               context: str | None = None) -> dict:
    """Make a kubeconfig the global default, or the choice of one incident."""
    row = get_row(conn, kubeconfig_id)
    parsed = parse_kubeconfig(decrypt_secret(app, row["encrypted_content"]))
    ctx = parsed.context(context) if context else parsed.context(row["context"]) or \
        parsed.default_context()
    if ctx is None:
        names = ", ".join(c["name"] for c in parsed.contexts[:10])
        raise InvalidArgument(f"The kubeconfig has no context named '{context}' (it has: {names}).")
    if issue_id is not None:
        if conn.execute("SELECT 1 FROM issues WHERE id = ?", (issue_id,)).fetchone() is None:
            raise NotFound("There is no such incident.")
        conn.execute(
            "INSERT INTO issue_kubeconfig (issue_id, kubeconfig_id, context, updated_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT(issue_id) DO UPDATE SET"
            " kubeconfig_id = excluded.kubeconfig_id, context = excluded.context,"
            " updated_at = excluded.updated_at",
            (issue_id, kubeconfig_id, ctx["name"], now_text()))
    else:
        conn.execute("UPDATE kubeconfig_files SET is_active = 0 WHERE is_active = 1 AND id <> ?",
                     (kubeconfig_id,))
        conn.execute("UPDATE kubeconfig_files SET is_active = 1, context = ?, cluster_url = ?"
                     " WHERE id = ?", (ctx["name"], ctx["server"], kubeconfig_id))
        row.update(is_active=1, context=ctx["name"], cluster_url=ctx["server"])
    out = _public(app, row, parsed)
    out["selected_context"] = ctx["name"]
    out["issue_id"] = issue_id
    return out


def resolve(conn, issue_id: str | None = None) -> tuple[str, str | None] | None:
    """(kubeconfig_id, context) for an incident's kubectl runs: the incident's own choice,
    else the global default; None when no kubeconfig is set up."""
    if issue_id:
        row = conn.execute("SELECT kubeconfig_id, context FROM issue_kubeconfig WHERE issue_id = ?",
                           (issue_id,)).fetchone()
        if row is not None:
            return row["kubeconfig_id"], row["context"]
    row = conn.execute("SELECT id, context FROM kubeconfig_files WHERE is_active = 1").fetchone()
    return (row["id"], row["context"]) if row is not None else None


# -- handing it to kubectl ------------------------------------------------------------------
def active_for_issue(app, issue_id: str | None) -> str | None:
    """The kubeconfig id an incident's kubectl runs use (its own choice, else the global
    default), or None when none is set up."""
    with app.db.connection() as conn:
        found = resolve(conn, issue_id)
    return found[0] if found else None


def content_for(app, kubeconfig_id: str, context: str | None = None, *,
                issue_id: str | None = None) -> str:
    """The kubeconfig text with ``current-context`` set to the context in force: the one
    given, else the incident's choice (``issue_id``), else the one chosen with the
    kubeconfig (its ``context`` column)."""
    with app.db.connection() as conn:
        row = get_row(conn, kubeconfig_id)
        if context is None and issue_id:
            found = resolve(conn, issue_id)
            if found and found[0] == kubeconfig_id:
                context = found[1]
    context = context or row["context"]
    text = decrypt_secret(app, row["encrypted_content"])
    if context and context != parse_kubeconfig(text).current_context:
        parsed = parse_kubeconfig(text)
        if parsed.context(context) is None:
            raise InvalidArgument(f"The kubeconfig has no context named '{context}'.")
        data = yaml.load(text, Loader=_NoAliases)  # noqa: S506
        data["current-context"] = context
        text = yaml.safe_dump(data, sort_keys=False)
    return text


@contextlib.contextmanager
def materialize(app, kubeconfig_id: str, context: str | None = None, *,
                issue_id: str | None = None) -> Iterator[str]:
    """Yield the path of a private copy of the kubeconfig (file 0600 in a 0700 folder);
    the folder is removed when the block ends, however it ends. The copy's
    ``current-context`` is the context in force (see :func:`content_for`)."""
    text = content_for(app, kubeconfig_id, context, issue_id=issue_id)
    with private_folder(temp_parent(getattr(app, "data_dir", None))) as folder:
        path = os.path.join(folder, "config")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(path, flags, 0o600)
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(fd, 0o600)
            os.write(fd, text.encode("utf-8"))
        finally:
            os.close(fd)
        yield path


def run_with_kubeconfig(app, command: str, kubeconfig_id: str, context: str | None = None,
                        *, issue_id: str | None = None, **run_kw):
    """Run ``command`` with KUBECONFIG pointing at a private copy that is gone afterwards."""
    from tftsr.shell import runner

    with materialize(app, kubeconfig_id, context, issue_id=issue_id) as path:
        extra = dict(run_kw.pop("env_extra", None) or {})
        extra["KUBECONFIG"] = path
        return runner.run(command, env_extra=extra, **run_kw)


def detect_default(home: str | None = None) -> dict:
    """Whether ``~/.kube/config`` exists and which contexts it has; nothing is imported."""
    base = home or os.environ.get("HOME") or os.path.expanduser("~")
    path = os.path.join(base, ".kube", "config")
    out: dict[str, Any] = {"path": path, "exists": False, "contexts": [], "current_context": None,
                           "error": None}
    if not os.path.exists(path):
        return out
    out["exists"] = True
    try:
        parsed = parse_kubeconfig(read_file(path))
    except KubeconfigError as exc:
        out["error"] = exc.message
        return out
    out["contexts"] = [{k: c[k] for k in ("name", "cluster", "namespace", "server")}
                       for c in parsed.contexts]
    out["current_context"] = parsed.current_context
    return out


def kubectl_missing_message() -> str | None:
    """None when kubectl is on the PATH commands get; else a sentence saying so."""
    from tftsr.shell.runner import clean_environment

    if shutil.which("kubectl", path=clean_environment().get("PATH")):
        return None
    return ("kubectl is not installed on this machine (or not on the PATH), so kubectl "
            "commands cannot run. Install kubectl, then try again.")
