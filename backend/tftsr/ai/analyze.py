"""``analyze_logs``: a first pass over an incident's reviewed, redacted logs.

The local part needs no AI: it counts error, warning and exception lines, finds the
first occurrence of each (with its timestamp), groups repeated errors after masking
numbers and ids, and lists the components that log them.

A line is an error by the severity markers of the formats found in real incidents, not by
one word: level words (``ERROR``, ``level=error``, ``"level":"error"``), syslog and
journald priorities 0-3 (``<11>``, ``PRIORITY=3``), nginx and Apache error levels
(``[error]``, ``[crit]``, ``[proxy:error]``), klog's ``E``/``F`` prefixes (``E1114
02:10:32.123456 ...``), HTTP 5xx statuses in access logs, and Java/Python exceptions.
Warnings likewise (``WARN``, ``[warn]``, klog ``W``, priority 4). Each first occurrence
names the marker that made it one. Across files the first error is the earliest by
timestamp when the timestamps carry a date, else by position. When a provider is set up,
the same redacted logs and the local findings are sent for an AI summary in a new
"Log analysis" conversation the user can carry on with.
"""

from __future__ import annotations

import re
from collections import Counter

from tftsr.ai import pii_gate
from tftsr.errors import NotFound

_HTTP_METHODS = "GET|POST|PUT|DELETE|HEAD|PATCH|OPTIONS|CONNECT|TRACE|PROPFIND"
# (marker name, pattern) for error lines, most specific first.
ERROR_MARKERS: tuple[tuple[str, re.Pattern], ...] = (
    ("klog", re.compile(r"(?:^|\s)([EF])\d{4} \d{2}:\d{2}:\d{2}\.\d{3,9}\s+\d+\s+\S+:\d+\]")),
    ("syslog priority", re.compile(r"^<(?:[0-9]|[1-9][0-9]|1[0-8][0-9]|19[01])>")),
    ("journald priority", re.compile(r"(?:\bPRIORITY=|\"PRIORITY\"\s*:\s*\"?)([0-3])\b")),
    ("nginx/Apache level", re.compile(r"(?i:\[(?:[\w.-]*:)?(?:error|err|crit|critical|alert|emerg|fatal|severe)\])")),
    ("level", re.compile(r"\b(?:ERROR|ERR|FATAL|CRITICAL|CRIT|SEVERE|PANIC|EMERG|ALERT)\b")),
    ("level field", re.compile(
        r"(?i:\b(?:level|lvl|severity|loglevel)[=:]\s*\"?(?:error|err|fatal|critical|crit|panic|emerg|alert)\b)"
        r"|(?i:\"(?:level|severity|levelname|log\.level)\"\s*:\s*\"(?:error|err|fatal|critical|crit|panic|emerg|alert)\")")),
    ("HTTP 5xx", re.compile(rf"\"(?:{_HTTP_METHODS}) [^\"]*\" (5\d\d) "
                            r"|(?i:\"(?:status|status_code|statusCode|http_status)\"\s*:\s*\"?5\d\d\b)")),
)
WARN_MARKERS: tuple[tuple[str, re.Pattern], ...] = (
    ("klog", re.compile(r"(?:^|\s)W\d{4} \d{2}:\d{2}:\d{2}\.\d{3,9}\s+\d+\s+\S+:\d+\]")),
    ("journald priority", re.compile(r"(?:\bPRIORITY=|\"PRIORITY\"\s*:\s*\"?)4\b")),
    ("warning level", re.compile(r"(?i:\[(?:[\w.-]*:)?warn(?:ing)?\])|\b(?:WARN|WARNING)\b"
                                 r"|(?i:\b(?:level|lvl|severity)[=:]\s*\"?warn(?:ing)?\b)"
                                 r"|(?i:\"(?:level|severity|levelname)\"\s*:\s*\"warn(?:ing)?\")")),
)


def _syslog_severity(line: str) -> int | None:
    m = re.match(r"^<(\d{1,3})>", line)
    return int(m.group(1)) % 8 if m and int(m.group(1)) <= 191 else None


def error_marker(line: str) -> str | None:
    """The name of the first error marker on ``line``, or None."""
    for name, pattern in ERROR_MARKERS:
        if name == "syslog priority":
            severity = _syslog_severity(line)
            if severity is not None and severity <= 3:
                return name
            continue
        m = pattern.search(line)
        if m:
            return f"HTTP {m.group(1) or '5xx'}" if name == "HTTP 5xx" and m.group(1) else name
    return None


def warning_marker(line: str) -> str | None:
    if _syslog_severity(line) == 4:
        return "syslog priority"
    return next((name for name, pattern in WARN_MARKERS if pattern.search(line)), None)
EXCEPTION_RE = re.compile(r"Traceback \(most recent call last\)"
                          r"|\b[A-Za-z_][\w.$]*(?:Exception|Error)\b(?=:|\s*$|\s+at\b)"
                          r"|^panic: ")
_MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
TIMESTAMP_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?"
    r"|\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}"                                       # nginx error log
    rf"|\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:{_MONTHS}) [ \d]\d \d{{2}}:\d{{2}}:\d{{2}}(?:\.\d+)? \d{{4}}"  # Apache
    rf"|\b(?:{_MONTHS}) [ \d]\d \d{{2}}:\d{{2}}:\d{{2}}"
    rf"|\d{{2}}/(?:{_MONTHS})/\d{{4}}:\d{{2}}:\d{{2}}:\d{{2}}")
# klog (Kubernetes components): "E1114 02:10:32.123456" -- month, day and time, no year.
KLOG_TS_RE = re.compile(r"(?:^|(?<=\s))[IWEF](\d{4} \d{2}:\d{2}:\d{2}\.\d{3,9})\b")
_MONTH_NUMBER = {m: i for i, m in enumerate(_MONTHS.split("|"), start=1)}
_MONTH_NAME = dict(enumerate(_MONTHS.split("|"), start=1))


def klog_time(stamp: str) -> str:
    """A klog timestamp ("1114 02:10:32.123456") written as syslog writes its own
    ("Nov 14 02:10:32.123456"); left as it is when the month is not one."""
    month = _MONTH_NAME.get(int(stamp[:2]))
    return f"{month} {int(stamp[2:4])} {stamp[5:]}" if month else stamp


def sortable_time(stamp: str | None, year: int | None = None) -> str | None:
    """``YYYY-MM-DD HH:MM:SS`` for a timestamp, so timestamps of different formats
    compare: ISO, nginx, Apache and access-log ones carry their year; classic syslog
    ("Nov 14 02:10:32") and klog ones (read as "Nov 14 02:10:32.123", see
    :func:`klog_time`) get ``year`` when given. None when there is no date to go by."""
    if not stamp:
        return None
    if year:
        m = re.match(rf"({_MONTHS}) +(\d{{1,2}}) (\d{{2}}:\d{{2}}:\d{{2}})(?:\.\d+)?$", stamp)
        if m:
            return f"{year}-{_MONTH_NUMBER[m.group(1)]:02d}-{int(m.group(2)):02d} {m.group(3)}"
    m = re.match(r"(\d{4})[-/](\d{2})[-/](\d{2})[T ](\d{2}:\d{2}:\d{2})", stamp)
    if m:
        return f"{m.group(1)}-{m.group(2)}-{m.group(3)} {m.group(4)}"
    m = re.match(rf"(\d{{2}})/({_MONTHS})/(\d{{4}}):(\d{{2}}:\d{{2}}:\d{{2}})", stamp)
    if m:
        return f"{m.group(3)}-{_MONTH_NUMBER[m.group(2)]:02d}-{m.group(1)} {m.group(4)}"
    m = re.match(rf"\w{{3}} ({_MONTHS}) +(\d{{1,2}}) (\d{{2}}:\d{{2}}:\d{{2}})(?:\.\d+)? (\d{{4}})", stamp)
    if m:
        return f"{m.group(4)}-{_MONTH_NUMBER[m.group(1)]:02d}-{int(m.group(2)):02d} {m.group(3)}"
    return None
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
        klog_match = None if ts_match else KLOG_TS_RE.search(line)
        if ts_match or klog_match:
            last_ts = ts_match.group(0) if ts_match else klog_time(klog_match.group(1))
            first_ts = first_ts or last_ts
        marker = error_marker(line)
        is_exc = bool(EXCEPTION_RE.search(line))
        is_error = bool(marker) or is_exc
        warn = None if is_error else warning_marker(line)
        is_warn = bool(warn)
        if is_error or is_warn or is_exc:
            components.update(_components(line, placeholders))
        where = {"line": number, "timestamp": last_ts, "text": line.strip()[:500],
                 "marker": marker or ("exception" if is_exc else warn)}
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


def first_error(files: list[dict]) -> tuple[dict, str] | None:
    """(first error, file name) over all files: the earliest by timestamp among those
    whose timestamp carries a date; otherwise (no comparable times) the first file's."""
    firsts = [(n, f["first_error"], f["file_name"]) for n, f in enumerate(files) if f["first_error"]]
    if not firsts:
        return None
    years = [sortable_time(f.get("first_timestamp")) for f in files]
    year = min((int(y[:4]) for y in years if y), default=None)
    dated = [(sortable_time(e["timestamp"], year), n, e["line"], e, name) for n, e, name in firsts
             if sortable_time(e["timestamp"], year)]
    if dated:
        _t, _n, _line, e, name = min(dated, key=lambda d: d[:3])
        return e, name
    _n, e, name = firsts[0]
    return e, name


def _count(n: int, noun: str) -> str:
    """``1 warning``, ``2 warnings``, ``1,024 lines``."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def summary_text(summary: dict) -> str:
    t = summary["totals"]
    n = len(summary["files"])
    lines = [f"{_count(n, 'log file')}, {_count(t['lines'], 'line')}: {_count(t['errors'], 'error line')}, "
             f"{_count(t['warnings'], 'warning')}, {_count(t['exceptions'], 'exception line')}."]
    first = first_error(summary["files"])
    if first:
        where, name = first
        when = f" at {where['timestamp']}" if where["timestamp"] else ""
        how = f" ({where['marker']})" if where.get("marker") else ""
        lines.append(f"First error{when} in {name} line {where['line']}{how}: {where['text'][:200]}")
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
