"""Search, list and dashboard latency on a 100,000-incident encrypted database.

    .venv/bin/python tests/benchmarks/bench_search.py [--issues N] [--keep DIR]

Creates a fresh SQLCipher database in a temporary folder through ``tftsr.app.open_app``
(real key derivation, real migrations, FTS kept in sync by the triggers), inserts N
realistic incidents (default 100,000; most with milestones, so the dashboard has response
times to add up) in one transaction, then times the real commands
through ``tftsr.commands.dispatch``:

* ``search_issues`` -- a mix of 230+ queries: single words, prefixes ("kube"), two-word
  phrases, queries with status/severity/category filters, and words that match nothing;
* ``list_issues`` with each filter and sort, some combinations and deep pages;
* ``get_dashboard`` for 30 and 365 days, and a year of one severity or one domain.

Prints p50/p95/p99/max in milliseconds. Nothing is asserted: this is a measurement.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent.parent / "backend"))

import incident_corpus as corpus

TARGET_P95_MS = 30.0


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * pct / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summary(label: str, times_ms: list[float], extra: str = "") -> str:
    return (f"{label:<34} n={len(times_ms):<4} p50={percentile(times_ms, 50):7.2f}"
            f"  p95={percentile(times_ms, 95):7.2f}  p99={percentile(times_ms, 99):7.2f}"
            f"  max={max(times_ms):7.2f} ms{('  ' + extra) if extra else ''}")


def populate(app, count: int) -> float:
    issue_sql = (f"INSERT INTO issues ({', '.join(corpus.ISSUE_FIELDS)})"
                 f" VALUES ({', '.join('?' * len(corpus.ISSUE_FIELDS))})")
    event_sql = ("INSERT INTO timeline_events (id, issue_id, event_type, description, metadata,"
                 " created_at) VALUES (?, ?, ?, ?, ?, ?)")
    rows = list(corpus.incidents(count))
    started = time.perf_counter()
    with app.db.transaction() as conn:
        conn.executemany(issue_sql, (issue for issue, _ in rows))
        conn.executemany(event_sql, (event for _, event in rows))
    return time.perf_counter() - started


def search_mix(rng: random.Random) -> list[tuple[str, dict]]:
    """(kind, arguments) pairs: at least 200 realistic searches."""
    mix: list[tuple[str, dict]] = []
    mix += [("single word", {"query": w}) for w in corpus.SINGLE_WORDS]
    mix += [("prefix", {"query": p}) for p in corpus.PREFIXES]
    mix += [("two words", {"query": q}) for q in corpus.TWO_WORDS]
    mix += [("no match", {"query": q}) for q in corpus.NO_MATCH]
    filters = [
        {"status": ["open", "investigating"]},
        {"status": "open"},
        {"status": "resolved", "severity": ["critical", "high"]},
        {"severity": "critical"},
        {"category": "kubernetes"},
        {"category": "databases", "status": ["open", "investigating"]},
        {"date_from": "2026-01-01"},
    ]
    words = corpus.SINGLE_WORDS + corpus.PREFIXES + corpus.TWO_WORDS
    for _ in range(70):
        args = {"query": rng.choice(words), **rng.choice(filters)}
        mix.append(("with filters", args))
    rng.shuffle(mix)
    return mix


def list_mix() -> list[tuple[str, dict]]:
    return [
        ("all, newest first", {}),
        ("open+investigating", {"status": ["open", "investigating"]}),
        ("critical+high open", {"status": "open", "severity": ["critical", "high"]}),
        ("category kubernetes", {"category": "kubernetes"}),
        ("category+status", {"category": "databases", "status": "resolved"}),
        ("tag prod", {"tag": "prod"}),
        ("date range (1 month)", {"date_from": "2026-01-01", "date_to": "2026-01-31"}),
        ("sort by severity", {"sort": "severity"}),
        ("sort by updated", {"sort": "updated_desc"}),
        ("oldest first", {"sort": "created_asc"}),
        ("open, by severity", {"status": "open", "sort": "severity"}),
        ("kubernetes, by updated", {"category": "kubernetes", "sort": "updated_desc"}),
        ("critical since 2026-01-01", {"severity": "critical", "date_from": "2026-01-01"}),
        ("tag prod + open", {"tag": "prod", "status": "open"}),
        ("tag prod, by severity", {"tag": "prod", "sort": "severity"}),
        ("tag prod, by updated", {"tag": "prod", "sort": "updated_desc"}),
        ("page 100 (offset 5000)", {"offset": 5000}),
        ("page 1000 (offset 50000)", {"offset": 50000}),
        ("resolved, page 100", {"status": "resolved", "offset": 5000}),
        ("by severity, page 1000", {"sort": "severity", "offset": 50000}),
        ("200 per page", {"limit": 200}),
    ]


def timed(dispatch, app, name: str, args: dict) -> tuple[float, dict]:
    started = time.perf_counter()
    result = dispatch(app, name, args)
    return (time.perf_counter() - started) * 1000, result


def run(count: int, keep: Path | None) -> int:
    os.environ.setdefault("TFTSR_DB_KEY", "benchmark key " + "x" * 20)
    os.environ["TFTSR_NO_KEYRING"] = "1"
    from tftsr.app import open_app
    from tftsr.commands import dispatch, load_all

    load_all()
    tmp = None
    if keep:
        data_dir = keep
    else:
        tmp = tempfile.TemporaryDirectory(prefix="tftsr-bench-search-")
        data_dir = Path(tmp.name) / "data"
    app = open_app(data_dir)
    try:
        with app.db.connection() as conn:
            existing = conn.execute("SELECT count(*) AS n FROM issues").fetchone()["n"]
        if existing < count:
            print(f"Inserting {count - existing:,} incidents ...", flush=True)
            seconds = populate(app, count - existing)
            print(f"  inserted in {seconds:.1f} s ({(count - existing) / seconds:,.0f}/s,"
                  " FTS kept in sync by the triggers)")
        db_file = data_dir / "tftsr.db"
        print(f"Database: {db_file} ({db_file.stat().st_size / 2**20:.0f} MiB, "
              f"{max(existing, count):,} incidents)\n")

        rng = random.Random(7)
        mix = search_mix(rng)
        for _, args in mix[:15]:  # warm the page cache and the connection pool
            dispatch(app, "search_issues", args)

        by_kind: dict[str, list[float]] = {}
        totals: dict[str, list[int]] = {}
        all_times: list[float] = []
        slowest: list[tuple[float, dict, int]] = []
        for kind, args in mix:
            ms, result = timed(dispatch, app, "search_issues", args)
            all_times.append(ms)
            by_kind.setdefault(kind, []).append(ms)
            totals.setdefault(kind, []).append(result["total"])
            slowest.append((ms, args, result["total"]))

        print(f"search_issues ({len(mix)} queries, limit 20, bm25 ranking + snippets)")
        for kind, times in by_kind.items():
            med = statistics.median(totals[kind])
            print("  " + summary(kind, times, f"median total {med:,.0f}"))
        print("  " + summary("ALL", all_times,
                             f"results: {sum(1 for _, _, t in slowest if t):,} queries matched,"
                             f" {sum(t for _, _, t in slowest):,} total hits"))
        slowest.sort(key=lambda item: item[0], reverse=True)
        print("  slowest:")
        for ms, args, total in slowest[:5]:
            print(f"    {ms:7.2f} ms  total={total:<6} {args}")
        p95 = percentile(all_times, 95)
        verdict = "within" if p95 < TARGET_P95_MS else "ABOVE"
        print(f"  p95 {p95:.1f} ms is {verdict} the {TARGET_P95_MS:.0f} ms target\n")

        print("list_issues (limit 50 unless stated)")
        for label, args in list_mix():
            times = []
            for _ in range(5):
                ms, result = timed(dispatch, app, "list_issues", args)
                times.append(ms)
            print("  " + summary(label, times, f"total {result['total']:,}"))
        print()
        print("get_dashboard")
        for args in ({"days": 30}, {"days": 365}, {"days": 365, "severity": "critical"},
                     {"days": 365, "category": "databases"}):
            times = [timed(dispatch, app, "get_dashboard", args)[0] for _ in range(5)]
            print("  " + summary(", ".join(f"{k}={v}" for k, v in args.items()), times))
    finally:
        app.close()
        if tmp:
            tmp.cleanup()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--issues", type=int, default=100_000, help="incidents to insert")
    parser.add_argument("--keep", type=Path, help="use (and keep) this data folder; an existing"
                        " benchmark database is reused, which skips the insert")
    args = parser.parse_args()
    return run(args.issues, args.keep)


if __name__ == "__main__":
    raise SystemExit(main())
