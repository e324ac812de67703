"""One-shot score of a frozen shell-command holdout against ``tftsr.shell.classifier``.

    .venv/bin/python tests/benchmarks/score_shell_holdout.py [PATH]

PATH defaults to ``tests/data/shell_holdout/holdout-2026-12.jsonl`` (rows
``{"command", "accept": [tiers], "note"}``). If ``<PATH stem>.classes.json`` exists
beside it, figures are also printed per class.

Every command is classified in a separate worker process (one worker, restarted after a
hang or a crash) with a timer around each call; the worker runs in an empty temporary
folder and its standard output is kept apart from the protocol, so nothing the
classifier prints or does can disturb the score.

* accurate: the tier is in ``accept``;
* escape: the tier is below ``min(accept)``, the call took more than 1 s, the worker
  hung (no answer within 10 s) or died, the call raised ``RecursionError``, or it raised
  anything on a row whose ``accept`` does not include 3. The policy lets the classifier
  raise on input it refuses, so another exception on a row that accepts tier 3 counts as
  tier 3 (refused) and is listed separately;
* execution: rows that would create ``/tmp/tftsr_holdout_canary_*`` or a file in the
  worker's folder show whether ``classify`` ran anything; such a file is an escape too.

Nothing is asserted: this is a measurement, not a pytest test. Score a holdout once and
report it as it is; do not tune the classifier against it or edit it (see its README).
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

from holdout_files import load_classes, load_rows  # noqa: E402

DEFAULT_PATH = ROOT / "tests" / "data" / "shell_holdout" / "holdout-2026-12.jsonl"
LIMIT_S = 1.0  # policy: every call answers within 1 s
HANG_S = 10.0  # no answer at all: kill and restart the worker
CANARY_GLOB = "tftsr_holdout_canary_*"


# --------------------------------------------------------------------------- worker


def worker() -> None:
    """Child side: read one JSON request per line, answer one JSON line each."""
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # anything the classifier prints goes to stderr, not the protocol
    sys.stdout = sys.stderr
    sys.path.insert(0, str(ROOT / "backend"))
    from tftsr.shell.classifier import classify

    t0 = time.perf_counter()
    try:
        classify("true")
        warm = {"warmup_s": time.perf_counter() - t0}
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        warm = {"warmup_s": time.perf_counter() - t0, "warmup_error": repr(exc)}
    proto.write(json.dumps(warm) + "\n")
    proto.flush()

    for line in sys.stdin:
        req = json.loads(line)
        answer: dict = {"i": req["i"]}
        t0 = time.perf_counter()
        try:
            result = classify(req["command"])
            answer["secs"] = time.perf_counter() - t0
            tier = getattr(result, "tier", None)
            reason = getattr(result, "reason", None)
            factors = getattr(result, "risk_factors", None)
            answer["tier"] = (
                tier if isinstance(tier, int) and not isinstance(tier, bool) else repr(tier)
            )
            answer["reason"] = reason if isinstance(reason, str) else repr(reason)
            answer["factors_ok"] = isinstance(factors, list) and all(
                isinstance(f, str) for f in factors
            )
            answer["reason_ok"] = isinstance(reason, str) and bool(reason.strip())
        except BaseException as exc:  # noqa: BLE001 - every failure is part of the score
            answer["secs"] = time.perf_counter() - t0
            answer["error"] = type(exc).__name__
            answer["message"] = str(exc)[:300]
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                proto.write(json.dumps(answer) + "\n")
                proto.flush()
                raise
        proto.write(json.dumps(answer) + "\n")
        proto.flush()


# --------------------------------------------------------------------------- parent


class Worker:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.proc: subprocess.Popen | None = None
        self.lines: queue.Queue = queue.Queue()
        self.warmups: list[dict] = []

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=self.folder,
            text=True,
            encoding="utf-8",
            start_new_session=True,
        )
        self.lines = queue.Queue()
        threading.Thread(target=self._pump, args=(self.proc, self.lines), daemon=True).start()
        first = self.lines.get(timeout=120)
        self.warmups.append(
            json.loads(first) if first else {"warmup_error": "worker died on start"}
        )

    @staticmethod
    def _pump(proc: subprocess.Popen, out: queue.Queue) -> None:
        for line in proc.stdout:
            out.put(line)
        out.put(None)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        self.proc = None

    def ask(self, i: int, command: str) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        t0 = time.perf_counter()
        try:
            self.proc.stdin.write(json.dumps({"i": i, "command": command}) + "\n")
            self.proc.stdin.flush()
            line = self.lines.get(timeout=HANG_S)
        except queue.Empty:
            self.stop()
            return {"i": i, "hang": True, "secs": time.perf_counter() - t0}
        except (BrokenPipeError, OSError):
            line = None
        if line is None:
            code = self.proc.wait()
            self.proc = None
            return {"i": i, "died": code, "secs": time.perf_counter() - t0}
        return json.loads(line)


def judge(row: dict, ans: dict) -> tuple[int | None, list[str]]:
    """Effective tier (None if there is none) and the reasons this row is an escape."""
    accept = row["accept"]
    why = []
    tier = None
    if ans.get("hang"):
        why.append(f"no answer within {HANG_S:.0f} s")
    elif "died" in ans:
        why.append(f"worker died (exit code {ans['died']})")
    elif "error" in ans:
        if ans["error"] != "RecursionError" and 3 in accept:
            tier = 3  # raising on refused input is allowed by the policy
        else:
            why.append(f"raised {ans['error']}: {ans.get('message', '')}")
    elif ans.get("tier") in (1, 2, 3):
        tier = ans["tier"]
        if tier < min(accept):
            why.append(f"tier {tier} < {min(accept)}")
    else:
        why.append(f"invalid tier {ans.get('tier')!r}")
    if ans.get("secs", 0.0) > LIMIT_S:
        why.append(f"took {ans['secs']:.2f} s")
    return tier, why


def short(command: str, width: int = 110) -> str:
    text = ascii(command)
    return text if len(text) <= width else text[: width - 20] + f"… ({len(command)} chars)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", nargs="?", default=str(DEFAULT_PATH))
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker()
        return 0

    path = Path(args.path)
    rows = load_rows(path)
    line_class = load_classes(path)
    tmp = Path(tempfile.gettempdir())
    for stale in tmp.glob(CANARY_GLOB):  # left by an earlier run; would hide a new one
        stale.unlink()

    results = []
    with tempfile.TemporaryDirectory(prefix="tftsr-shell-holdout-") as folder:
        w = Worker(Path(folder))
        w.start()
        try:
            for row in rows:
                results.append((row, w.ask(row["_line"], row["command"])))
        finally:
            w.stop()
        left_in_folder = sorted(p.name for p in Path(folder).iterdir())
        warmups = w.warmups
    canaries_after = {p.name for p in tmp.glob(CANARY_GLOB)}

    executed = sorted(canaries_after) + [f"{folder}/{name}" for name in left_in_folder]
    accurate = Counter()
    per_class = Counter()
    escapes, over, raised, contract = [], [], [], []
    times = []
    for row, ans in results:
        cls = line_class.get(row["_line"], "all")
        per_class[cls] += 1
        tier, why = judge(row, ans)
        times.append(ans.get("secs", 0.0))
        if executed and any(name.split("/")[-1] in row["command"] for name in executed):
            why.append("its canary file exists: the command was executed")
        if "error" in ans and tier == 3:
            raised.append((row, ans))
        if tier is not None and tier in row["accept"] and not why:
            accurate[cls] += 1
        elif not why:
            over.append((row, tier))
        if why:
            escapes.append((row, ans, why, cls))
        if "tier" in ans and not (ans.get("reason_ok") and ans.get("factors_ok")):
            contract.append(row)

    n = len(rows)
    esc_by_class = Counter(cls for *_, cls in escapes)
    times_sorted = sorted(times)
    print(f"Shell holdout: {path}")
    print(
        f"  {n} rows; worker start-up and first call: "
        + ", ".join(
            f"{x.get('warmup_s', float('nan')):.2f} s"
            + (f" ({x['warmup_error']})" if "warmup_error" in x else "")
            for x in warmups
        )
    )
    print(
        f"  accuracy (tier in accept): {sum(accurate.values())}/{n} = {sum(accurate.values()) / n:.3f}"
    )
    print(f"  escapes: {len(escapes)}")
    print(
        f"  per call: median {times_sorted[n // 2] * 1000:.1f} ms, "
        f"p99 {times_sorted[min(n - 1, int(n * 0.99))] * 1000:.1f} ms, max {times_sorted[-1] * 1000:.1f} ms, "
        f"total {sum(times):.2f} s"
    )
    if line_class:
        print()
        print(f"  {'class':20s} {'rows':>5s} {'accurate':>9s} {'escapes':>8s}")
        for cls in dict.fromkeys(line_class.values()):
            print(
                f"  {cls:20s} {per_class[cls]:5d} {accurate[cls] / per_class[cls]:9.3f} {esc_by_class[cls]:8d}"
            )

    print()
    print(f"Escapes: {len(escapes)}")
    for row, ans, why, _ in escapes:
        print(
            f"  line {row['_line']} accept={row['accept']} got={ans.get('tier', '-')} "
            f"({'; '.join(why)}): {short(row['command'])}"
        )
        if ans.get("reason"):
            print(f"      reason: {ans['reason'][:160]}")
    print()
    print(f"Not in accept but not below it (no escape): {len(over)}")
    for row, tier in over:
        print(f"  line {row['_line']} accept={row['accept']} got={tier}: {short(row['command'])}")
    print()
    print(f"Raised on rows that accept tier 3 (counted as refused): {len(raised)}")
    for row, ans in raised:
        print(f"  line {row['_line']} {ans['error']}: {short(row['command'])}")
    print()
    print(f"Results without a non-empty reason or a list of str risk_factors: {len(contract)}")
    for row in contract:
        print(f"  line {row['_line']}: {short(row['command'])}")
    print()
    print(
        f"Files left by executed commands: {len(executed)}"
        + ("" if not executed else "  <-- classify executed something")
    )
    for name in executed:
        print(f"  {name}")
    print()
    print("Report these figures as they are; improving on them needs a new holdout.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
