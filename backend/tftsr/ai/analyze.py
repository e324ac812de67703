"""``analyze_logs``: a first pass over an incident's reviewed, redacted logs.

The local part needs no AI: it counts error, warning and exception lines, finds the
first occurrence of each (with its timestamp), groups repeated errors after masking
numbers and ids, and lists the components that log them. When a provider is set up,
the same redacted logs and the local findings are sent for an AI summary in a new
"Log analysis" conversation the user can carry on with.
"""

from __future__ import annotations

import re
from collections import Counter

from tftsr.ai import pii_gate
from tftsr.errors import NotFound

ERROR_RE = re.compile(r"\b(?:ERROR|ERR|FATAL|CRITICAL|CRIT|SEVERE|PANIC|EMERG)\b"
                      r"|(?i:\blevel[=:]\s*\"?(?:error|err|fatal|critical|crit|panic)\b)"
                      r"|(?i:\"level\"\s*:\s*\"(?:error|fatal|critical)\")")
WARN_RE = re.compile(r"\b(?:WARN|WARNING)\b|(?i:\blevel[=:]\s*\"?warn(?:ing)?\b)"
                     r"|(?i:\"level\"\s*:\s*\"warn(?:ing)?\")")
EXCEPTION_RE = re.compile(r"Traceback \(most recent call last\)"
                          r"|\b[A-Za-z_][\w.$]*(?:Exception|Error)\b(?=:|\s*$|\s+at\b)"
                          r"|^panic: ")
TIMESTAMP_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?"
    r"|\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d{2}:\d{2}:\d{2}"
    r"|\d{2}/(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)/\d{4}:\d{2}:\d{2}:\d{2}")
COMPONENT_RES = (
    re.compile(r"(?:^|\s)([A-Za-z][\w.\-]{1,40})\[\d+\]:"),                       # syslog prog[pid]:
    re.compile(r"\b(?:component|service|logger|module|app|source)[=:]\s*\"?([A-Za-z][\w.\-/]{1,60})"),
    re.compile(r"\[([A-Za-z][\w.\-/]{1,40})\]"),                                    # [component]
    re.compile(r"\b((?:[a-z][a-z0-9_]*\.){2,}[A-Z]\w+)\b"),                        # java.logger.Class
)
NOT_COMPONENTS = {"error", "err", "warn", "warning", "info", "debug", "trace", "fatal", "critical",
                  "crit", "severe", "notice", "panic", "emerg", "main", "redacted", "ok"}
MAX_ITEMS = 15


def _placeholders() -> set[str]:
    try:
        from tftsr.pii.spans import REPLACEMENTS
    except ImportError:
        return set()
    return {v.strip("[]").lower() for v in REPLACEMENTS.values()}


def normalise(line: str) -> str:
    """An error line with what varies between repeats masked, for grouping."""
    text = TIMESTAMP_RE.sub("", line)
    text = re.sub(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", "<id>", text, flags=re.IGNORECASE)
    text = re.sub(r"\b0x[0-9a-f]+\b|\b[0-9a-f]{12,}\b", "<hex>", text, flags=re.IGNORECASE)
    text = re.sub(r"\d+", "N", text)
    return " ".join(text.split())[:300]


def _components(line: str, placeholders: set[str]) -> set[str]:
    found = set()
    for pattern in COMPONENT_RES:
        for match in pattern.finditer(line):
            name = match.group(1).strip("./-")
            low = name.lower()
            if len(name) < 2 or low in NOT_COMPONENTS or low in placeholders or name.isdigit():
                continue
            found.add(name)
    return found


def summarise_text(text: str, *, log_file_id: str = "", file_name: str = "",
                   placeholders: set[str] | None = None) -> dict:
    """Counts and first occurrences for one redacted log text."""
    placeholders = _placeholders() if placeholders is None else placeholders
    errors = warnings = exceptions = 0
    first_error = first_warning = first_exception = None
    last_ts = None
    first_ts = None
    groups: dict[str, dict] = {}
    components: Counter = Counter()
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        ts_match = TIMESTAMP_RE.search(line)
        if ts_match:
            last_ts = ts_match.group(0)
            first_ts = first_ts or last_ts
        is_error = bool(ERROR_RE.search(line))
        is_warn = not is_error and bool(WARN_RE.search(line))
        is_exc = bool(EXCEPTION_RE.search(line))
        if is_error or is_warn or is_exc:
            components.update(_components(line, placeholders))
        where = {"line": number, "timestamp": last_ts, "text": line.strip()[:500]}
        if is_error:
            errors += 1
            first_error = first_error or where
        if is_warn:
            warnings += 1
            first_warning = first_warning or where
        if is_exc:
            exceptions += 1
            first_exception = first_exception or where
        if is_error or is_exc:
            key = normalise(line)
            group = groups.get(key)
            if group is None:
                groups[key] = {"text": key, "count": 1, "first_line": number, "first_timestamp": last_ts,
                               "log_file_id": log_file_id, "file_name": file_name}
            else:
                group["count"] += 1
    return {"log_file_id": log_file_id, "file_name": file_name, "lines": len(lines),
            "errors": errors, "warnings": warnings, "exceptions": exceptions,
            "first_error": first_error, "first_warning": first_warning,
            "first_exception": first_exception, "first_timestamp": first_ts, "last_timestamp": last_ts,
            "_groups": list(groups.values()), "_components": components}


def local_summary(files: list[tuple[dict, str]]) -> dict:
    """Combine per-file findings into the LocalSummary of the contract."""
    placeholders = _placeholders()
    per_file, groups, components = [], [], Counter()
    for meta, text in files:
        item = summarise_text(text, log_file_id=meta["id"], file_name=meta["file_name"],
                              placeholders=placeholders)
        groups += item.pop("_groups")
        components += item.pop("_components")
        per_file.append(item)
    totals = {k: sum(f[k] for f in per_file) for k in ("lines", "errors", "warnings", "exceptions")}
    key_errors = sorted(groups, key=lambda g: (-g["count"], g["file_name"], g["first_line"]))[:MAX_ITEMS]
    stamps = [f["first_timestamp"] for f in per_file if f["first_timestamp"]]
    ends = [f["last_timestamp"] for f in per_file if f["last_timestamp"]]
    summary = {"files": per_file, "totals": totals, "key_errors": key_errors,
               "components": [{"name": n, "count": c} for n, c in components.most_common(MAX_ITEMS)],
               "first_timestamp": min(stamps) if stamps else None,
               "last_timestamp": max(ends) if ends else None}
    summary["summary_text"] = summary_text(summary)
    return summary


def summary_text(summary: dict) -> str:
    t = summary["totals"]
    n = len(summary["files"])
    lines = [f"{n} log file{'s' if n != 1 else ''}, {t['lines']:,} lines: {t['errors']:,} error lines, "
             f"{t['warnings']:,} warnings, {t['exceptions']:,} exception lines."]
    firsts = [(f["first_error"], f["file_name"]) for f in summary["files"] if f["first_error"]]
    if firsts:
        first, name = min(firsts, key=lambda p: (p[0]["timestamp"] or "9999", p[0]["line"]))
        when = f" at {first['timestamp']}" if first["timestamp"] else ""
        lines.append(f"First error{when} in {name} line {first['line']}: {first['text'][:200]}")
    if summary["key_errors"]:
        lines.append("Most frequent errors:")
        lines += [f"  {g['count']}× {g['text'][:160]} (first: {g['file_name']} line {g['first_line']})"
                  for g in summary["key_errors"][:5]]
    if summary["components"]:
        lines.append("Components involved: " + ", ".join(
            f"{c['name']} ({c['count']})" for c in summary["components"][:8]))
    return "\n".join(lines)


def gather(conn, issue_id: str, log_file_ids: list[str] | None) -> tuple[list[tuple[dict, str]], list[dict]]:
    """The redacted texts to analyse, and the logs skipped because they are not reviewed.

    Logs named explicitly must be reviewed (LogNotReviewed otherwise); by default every
    reviewed log of the incident is taken and the others are listed as skipped.
    """
    if conn.execute("SELECT 1 FROM issues WHERE id = ?", (issue_id,)).fetchone() is None:
        raise NotFound("That incident does not exist (it may have been deleted).")
    files, skipped = [], []
    if log_file_ids:
        for log_id in log_file_ids:
            files.append(pii_gate.redacted_log_text(conn, log_id, issue_id))
        return files, skipped
    rows = conn.execute("SELECT id, file_name, redacted FROM log_files WHERE issue_id = ?"
                        " ORDER BY uploaded_at, rowid", (issue_id,)).fetchall()
    for row in rows:
        if not row["redacted"]:
            skipped.append({"log_file_id": row["id"], "file_name": row["file_name"],
                            "reason": "not reviewed and redacted yet"})
            continue
        try:
            files.append(pii_gate.redacted_log_text(conn, row["id"], issue_id))
        except pii_gate.LogNotReviewed:
            skipped.append({"log_file_id": row["id"], "file_name": row["file_name"],
                            "reason": "its redacted text is not available"})
    return files, skipped


AI_REQUEST = ("Give a first-pass analysis of the attached logs for this incident: the key errors and "
              "when they first occur, the components involved, the likely sequence of events, and "
              "which evidence to gather next. Local counts from the same redacted logs:\n\n{summary}")


def analyze(app, issue_id: str, log_file_ids: list[str] | None, use_ai: bool) -> dict:
    from tftsr.ai import chat, registry

    with app.db.connection() as conn:
        files, skipped = gather(conn, issue_id, log_file_ids)
        provider = registry.active_row(conn)
    local = local_summary(files)
    result = {"local": local, "skipped": skipped, "conversation_id": None, "message_id": None,
              "ai_skipped_reason": None}
    if not use_ai:
        result["ai_skipped_reason"] = "not requested"
    elif provider is None:
        result["ai_skipped_reason"] = "no AI provider is set up"
    elif not files:
        result["ai_skipped_reason"] = "no reviewed logs to send"
    else:
        sent = chat.send(app, content=AI_REQUEST.format(summary=local["summary_text"]),
                         issue_id=issue_id, log_file_ids=[m["id"] for m, _ in files],
                         title="Log analysis")
        result.update(conversation_id=sent["conversation_id"], message_id=sent["message_id"])
    return result
