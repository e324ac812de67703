"""Commands for shell diagnostics: kubeconfigs (import, list, delete, choose per incident,
detect ``~/.kube/config``) and classifying a command without running it. Every change is
written to the audit log; a kubeconfig's content is never returned."""

from __future__ import annotations

from tftsr.audit import record as audit_record
from tftsr.commands import command
from tftsr.errors import InvalidArgument
from tftsr.shell import diagnostics, kubeconfig
from tftsr.shell.classifier import classify
from tftsr.validation import Id, Str

KUBECONFIG_ID = Id("kubeconfig id")
ISSUE_ID = Id("incident id", required=False, nullable=True)
NAME = Str(min_len=1, max_len=100)
CONTENT = Str(max_len=kubeconfig.MAX_BYTES + 1, strip=False, required=False, nullable=True)
PATH = Str(min_len=1, max_len=4096, required=False, nullable=True)
CONTEXT = Str(min_len=1, max_len=253, required=False, nullable=True)
COMMAND = Str(min_len=1, max_len=64 * 1024, strip=False)


def _changed(app, payload: dict) -> None:
    app.events.emit("kubeconfigs_changed", payload)


@command(name=NAME, content=CONTENT, path=PATH)
def import_kubeconfig(app, name, content, path):
    """Import a pasted kubeconfig (``content``) or a file chosen in the native dialog
    (``path``); stored encrypted. Returns its contexts and clusters, never its content."""
    if (content is None) == (path is None):
        raise InvalidArgument("Give either the kubeconfig text or a file path, not both.")
    raw = kubeconfig.read_file(path) if path is not None else content
    parsed = kubeconfig.parse_kubeconfig(raw)
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    with app.db.transaction() as conn:
        item = kubeconfig.store(app, conn, name, text)
        audit_record(conn, "kubeconfig_imported", "kubeconfig", item["id"], {
            "name": name, "source": "file" if path is not None else "paste",
            "contexts": [c["name"] for c in parsed.contexts][:50],
            "clusters": [c["server"] for c in parsed.clusters][:50],
            "is_active": item["is_active"],
        })
    _changed(app, {"kubeconfig_id": item["id"]})
    return item


@command()
def list_kubeconfigs(app):
    """Imported kubeconfigs with their contexts and clusters (never their content)."""
    with app.db.connection() as conn:
        items = kubeconfig.list_rows(app, conn)
    active = next((i["id"] for i in items if i["is_active"]), None)
    return {"items": items, "active_kubeconfig_id": active,
            "kubectl_missing": kubeconfig.kubectl_missing_message()}


@command(kubeconfig_id=KUBECONFIG_ID)
def delete_kubeconfig(app, kubeconfig_id):
    with app.db.transaction() as conn:
        row = kubeconfig.delete(conn, kubeconfig_id)
        audit_record(conn, "kubeconfig_deleted", "kubeconfig", kubeconfig_id,
                     {"name": row["name"], "was_active": bool(row["is_active"])})
    _changed(app, {"kubeconfig_id": kubeconfig_id, "deleted": True})
    return {"deleted": True}


@command(kubeconfig_id=KUBECONFIG_ID, issue_id=ISSUE_ID, context=CONTEXT)
def set_active_kubeconfig(app, kubeconfig_id, issue_id, context):
    """Choose the kubeconfig (and context) kubectl uses: for one incident when
    ``issue_id`` is given, else as the global default."""
    with app.db.transaction() as conn:
        item = kubeconfig.set_active(app, conn, kubeconfig_id, issue_id=issue_id, context=context)
        audit_record(conn, "kubeconfig_activated", "kubeconfig", kubeconfig_id, {
            "name": item["name"], "context": item["selected_context"], "issue_id": issue_id,
            "scope": "incident" if issue_id else "default",
        })
    _changed(app, {"kubeconfig_id": kubeconfig_id, "issue_id": issue_id})
    return item


@command()
def detect_default_kubeconfig(app):
    """Whether ``~/.kube/config`` exists and which contexts it has; nothing is imported."""
    found = kubeconfig.detect_default()
    with app.db.connection() as conn:
        found["imported_count"] = conn.execute("SELECT COUNT(*) AS n FROM kubeconfig_files"
                                               ).fetchone()["n"]
    found["kubectl_missing"] = kubeconfig.kubectl_missing_message()
    return found


@command(command=COMMAND)
def classify_command(app, command):
    """The tier (1 runs, 2 needs approval, 3 refused), reason and risk factors of a
    command, without running it."""
    return classify(command).to_dict()


# -- running commands ---------------------------------------------------------------------------
RUN_ISSUE_ID = Id("incident id")


@command(issue_id=RUN_ISSUE_ID, command=Str(min_len=1, max_len=diagnostics.MAX_COMMAND_CHARS))
def run_shell_command(app, issue_id, command):
    """Run a command typed in the incident's Diagnostics tab, in the background: tier 1
    runs at once, tier 2 waits for the same approval card the assistant's proposals get,
    tier 3 is refused. ``shell_run_finished`` carries the outcome; every run, refusal
    and decision is audited."""
    from tftsr.issues import store as issue_store

    with app.db.connection() as conn:
        issue_store.get(conn, issue_id)
    return diagnostics.start_user_run(app, issue_id=issue_id, command=command)


@command(issue_id=RUN_ISSUE_ID)
def list_command_executions(app, issue_id):
    """Commands run (or refused) for an incident, newest first, with their output."""
    from tftsr.issues import store as issue_store

    with app.db.connection() as conn:
        issue_store.get(conn, issue_id)
    return {"items": diagnostics.list_executions(app, issue_id)}


@command(issue_id=RUN_ISSUE_ID)
def get_incident_kubeconfig(app, issue_id):
    """The kubeconfig and context kubectl uses for this incident (its own choice, else the
    default), or nulls when none is set up."""
    from tftsr.issues import store as issue_store

    with app.db.connection() as conn:
        issue_store.get(conn, issue_id)
        found = kubeconfig.resolve(conn, issue_id)
    return {"kubeconfig_id": found[0] if found else None, "context": found[1] if found else None}
