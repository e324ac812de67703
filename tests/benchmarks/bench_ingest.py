"""Log ingest throughput and memory: hash + sniff + decode + compress + PII scan + store.

    .venv/bin/python tests/benchmarks/bench_ingest.py [--mb 100] [--gz] [--time-detector]

Opens a fresh encrypted database through ``tftsr.app.open_app``, creates an incident and
feeds a generated log of the given size (default 100 MB; realistic application log lines
with an IPv4 address, e-mail, hostname or token on some of them) to the real
``tftsr.evidence.ingest.ingest_log`` in 1 MiB chunks, exactly as the HTTP upload does.
``--gz`` uploads it gzip-compressed instead (the .gz path decompresses while reading).

The log is generated into a temporary file first (not timed) and read back in 1 MiB chunks.
Prints the wall time, MB/s of log text (with ``--time-detector``, also without the time spent
inside the PII detector), the findings, how much the database files grew and the peak
resident memory of the process (``VmHWM`` on Linux; ``ru_maxrss`` elsewhere, which on
Linux would also count the peak of the process that started this one). Nothing is asserted:
this is a measurement.
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent / "backend"))

MB = 1024 * 1024
LEVELS = ("INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR")
SERVICES = ("checkout", "payments", "auth", "orders", "search", "billing")
PATHS = ("/api/orders/{n}", "/api/cart/{n}/items", "/healthz", "/api/users/{n}/profile",
         "/api/payments/{n}/capture")


def log_lines(seed: int = 7):
    """An endless, deterministic application log (one str per line, ending in \\n)."""
    r = random.Random(seed)
    n = 0
    while True:
        n += 1
        ts = f"2026-03-{1 + n // 8_000_000:02d}T{(n // 360_000) % 24:02d}:{(n // 6000) % 60:02d}:" \
             f"{(n // 100) % 60:02d}.{n % 1000:03d}Z"
        level, svc = r.choice(LEVELS), r.choice(SERVICES)
        path = r.choice(PATHS).format(n=r.randint(1000, 999_999))
        line = (f"{ts} {level:<5} [{svc}-{r.randint(1, 12)}] req={r.getrandbits(64):016x} "
                f"GET {path} status={r.choice((200, 200, 200, 201, 404, 500, 502))} "
                f"dur={r.randint(1, 3000)}ms")
        k = n % 20
        if k == 0:
            line += f" client={r.randint(1, 223)}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"
        elif k == 7:
            line += f" user=user{r.randint(1, 99999)}@example.com"
        elif k == 13:
            line += f" upstream=db-{r.randint(1, 40):02d}.prod.internal"
        yield line + "\n"


def log_chunks(total: int, chunk: int = MB, seed: int = 7):
    """``total`` bytes of generated log in chunks of about ``chunk`` bytes."""
    lines = log_lines(seed)
    sent = 0
    while sent < total:
        parts, size = [], 0
        while size < chunk and sent + size < total:
            line = next(lines)
            parts.append(line)
            size += len(line)
        data = "".join(parts).encode("utf-8")[: total - sent]
        sent += len(data)
        yield data


def peak_resident_mb() -> float:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--gz", action="store_true", help="upload the log gzip-compressed")
    parser.add_argument("--time-detector", action="store_true",
                        help="also time the PII detector on its own (the rest: hash, decode, store)")
    args = parser.parse_args()
    total = args.mb * MB

    os.environ.setdefault("TFTSR_DB_KEY", "benchmark key 1")
    os.environ["TFTSR_NO_KEYRING"] = "1"
    from tftsr.app import open_app
    from tftsr.commands import dispatch, load_all
    from tftsr.evidence.ingest import file_chunks, ingest_log
    from tftsr.pii import detect_pii

    detect_seconds = 0.0

    def timed_detect(text: str):
        nonlocal detect_seconds
        began = time.perf_counter()
        try:
            return detect_pii(text, two_cores=False)  # (as ingest scans)
        finally:
            detect_seconds += time.perf_counter() - began

    load_all()
    with tempfile.TemporaryDirectory(prefix="tftsr-bench-ingest-") as tmp:
        # the log is written to a file first and read back in 1 MiB chunks (as the desktop
        # file dialog does), so that generating it is neither timed nor in the peak memory
        log_path = Path(tmp) / ("bench.log.gz" if args.gz else "bench.log")
        with (gzip.open(log_path, "wb", 6) if args.gz else open(log_path, "wb")) as fh:
            for chunk in log_chunks(total):
                fh.write(chunk)
        if args.gz:
            print(f"gzip upload: {log_path.stat().st_size / MB:.1f} MB compressed")
        app = open_app(Path(tmp) / "data")
        dispatch(app, "update_setting", {"key": "max_upload_mb", "value": 2048})
        issue = dispatch(app, "create_issue", {"title": "Ingest benchmark", "severity": "low",
                                               "category": "application"})["issue"]
        before = sum(p.stat().st_size for p in Path(tmp, "data").glob("tftsr.db*"))
        started = time.perf_counter()
        result = ingest_log(app, issue["id"], log_path.name, file_chunks(log_path), total_bytes=None,
                            detect=timed_detect if args.time_detector else None)
        elapsed = time.perf_counter() - started
        db_size = sum(p.stat().st_size for p in Path(tmp, "data").glob("tftsr.db*")) - before
        app.close()

    peak_mb = peak_resident_mb()
    lf = result["log_file"]
    print(f"log: {total / MB:.0f} MB, {lf['line_count']:,} lines, encoding {lf['encoding']}")
    print(f"findings: {result['findings']['total']:,} {result['findings']['by_type']}")
    print(f"ingest time: {elapsed:.2f} s")
    print(f"throughput: {total / MB / elapsed:.1f} MB/s")
    if args.time_detector:
        rest = elapsed - detect_seconds
        print(f"  of which PII detection: {detect_seconds:.2f} s; everything else (hash, sniff, "
              f"decode, compress, store): {rest:.2f} s = {total / MB / rest:.1f} MB/s")
    else:
        print("  (--time-detector to time the PII detector on its own)")
    print(f"database growth: {db_size / total:.2f}x the log's size")
    print(f"database growth on disk (file, WAL and shared memory): {db_size / MB:.1f} MB")
    print(f"peak resident memory: {peak_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
