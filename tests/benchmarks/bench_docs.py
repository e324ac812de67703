"""Document generation and export on a large incident.

    .venv/bin/python tests/benchmarks/bench_docs.py [--events N] [--logs N] [--out DIR]

Creates a fresh encrypted database through ``tftsr.app.open_app``, one incident with N
timeline events (default 5,000, spread over three days, every event type), 50 log files
with PII findings, five whys and a dozen action items, then times the real commands
through ``tftsr.commands.dispatch``: ``generate_rca``, ``generate_postmortem`` and
``export_document`` in md, html and pdf for each. Prints each time, the output sizes and
the PDF page count. Nothing is asserted: this is a measurement (aim: a few seconds).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "backend"))

EVENT_TYPES = ("note", "mitigation_applied", "escalated", "customer_notified", "monitoring",
               "log_uploaded", "issue_updated", "status_changed", "other")
PII_TYPES = ("Email", "Ipv4", "Hostname", "ApiKey", "Password", "PhoneNumber")


def populate(app, call, events: int, logs: int) -> str:
    from tftsr.db.ids import uuid7

    rng = random.Random(7)
    issue = call("create_issue", title="Payments cluster degraded → retries 日本 région",
                 severity="critical", category="kubernetes",
                 description="Large incident for the documents benchmark.")["issue"]
    iid = issue["id"]
    for n in range(5):
        step = call("add_five_why", issue_id=iid, why_question=f"Why did layer {n + 1} fail?",
                    answer=f"Because layer {n + 2} was saturated (p99 {rng.randint(2, 40)} s).")
    call("set_root_cause", step_id=step["id"], is_root_cause=True)
    for n in range(12):
        call("create_action_item", issue_id=iid, title=f"Follow-up {n + 1}",
             kind=("immediate", "long_term", "preventive")[n % 3], owner=f"team-{n % 4}",
             due_date=f"20{24 + n % 4}-0{1 + n % 9}-15")
    start = datetime(2026, 2, 1, 6, 0, 0)
    with app.db.transaction() as conn:
        conn.execute("UPDATE issues SET created_at = ? WHERE id = ?",
                     (start.strftime("%Y-%m-%d %H:%M:%S"), iid))
        rows = []
        for n in range(events):
            t = start + timedelta(seconds=int(3 * 86400 * n / events))
            kind = rng.choice(EVENT_TYPES)
            text = (f"Event {n}: {kind.replace('_', ' ')} on node-{rng.randint(1, 60)} → pod "
                    f"restarted, latency {rng.randint(50, 900)} ms")
            rows.append((uuid7(), iid, kind, text,
                         '{"manual": true}' if kind in ("note", "other") else None,
                         t.strftime("%Y-%m-%d %H:%M:%S")))
        conn.executemany("INSERT INTO timeline_events (id, issue_id, event_type, description,"
                         " metadata, created_at) VALUES (?, ?, ?, ?, ?, ?)", rows)
        for n in range(logs):
            fid = uuid7()
            conn.execute(
                "INSERT INTO log_files (id, issue_id, file_name, file_path, file_size, mime_type,"
                " content_hash, uploaded_at, redacted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (fid, iid, f"node-{n:02d}.log", f"node-{n:02d}.log", rng.randint(10_000, 9_000_000),
                 "text/plain", f"{n:064x}", "2026-02-01 07:00:00", n % 5 != 0))
            conn.executemany(
                "INSERT INTO pii_spans (id, log_file_id, pii_type, start_offset, end_offset,"
                " original_value, replacement) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(uuid7(), fid, rng.choice(PII_TYPES), k * 10, k * 10 + 5, "value", "[X]")
                 for k in range(rng.randint(0, 40))])
        conn.execute("UPDATE issues SET status = 'resolved', resolved_at = ? WHERE id = ?",
                     ("2026-02-04 05:00:00", iid))
    return iid


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--logs", type=int, default=50)
    parser.add_argument("--out", type=Path, default=None,
                        help="keep the exported files in this folder")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="tftsr-bench-docs-"))
    os.environ.update(TFTSR_DATA_DIR=str(data_dir), TFTSR_DB_KEY="bench docs key 0123456789",
                      TFTSR_NO_KEYRING="1")
    from tftsr.app import open_app
    from tftsr.commands import dispatch, load_all

    load_all()
    app = open_app(data_dir)

    def call(name, **kw):
        return dispatch(app, name, kw)

    t = time.perf_counter()
    iid = populate(app, call, args.events, args.logs)
    print(f"setup: {args.events} events, {args.logs} log files in "
          f"{time.perf_counter() - t:.2f} s")

    total = 0.0
    for doc_type in ("rca", "postmortem"):
        t = time.perf_counter()
        doc = call(f"generate_{doc_type}", issue_id=iid, overwrite=True)
        elapsed = time.perf_counter() - t
        total += elapsed
        print(f"generate_{doc_type:<11} {elapsed * 1000:8.0f} ms  "
              f"{len(doc['content_md']):>9,} chars of Markdown")
        for fmt in ("md", "html", "pdf"):
            t = time.perf_counter()
            result = call("export_document", document_id=doc["id"], format=fmt)
            elapsed = time.perf_counter() - t
            total += elapsed
            path = Path(result["path"])
            extra = ""
            if fmt == "pdf":
                extra = f"  {path.read_bytes().count(b'/Type /Page') - 1} pages"
            print(f"  export {fmt:<4} {elapsed * 1000:10.0f} ms  {result['bytes']:>11,} bytes{extra}")
            if args.out:
                args.out.mkdir(parents=True, exist_ok=True)
                (args.out / path.name).write_bytes(path.read_bytes())
    print(f"total generate + export: {total:.2f} s")
    app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
