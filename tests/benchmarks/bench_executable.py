"""Start-up of the built executables: ``tftsr --version`` from the single file and from the
portable folder (and from the checkout, for reference).

    .venv/bin/python tests/benchmarks/bench_executable.py [--dist DIR] [--runs N] [--build]
                                                          [--compare OLD_EXECUTABLE]

DIR is build/build_exe.sh's output folder (default: dist/ in the checkout); --build runs
build_exe.sh into a temporary folder first. The single file is measured twice: its first
start of a version (unpacking into an empty cache folder, once) and its usual start (the
unpacked copy reused, median of N runs). --compare also times another executable the same
way, such as a PyInstaller one-file build of an older version that unpacks to /tmp on
every start. Prints wall-clock medians and ranges, plus the CPU time the process and its
children used (less sensitive to a busy machine); asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def timed(cmd: list[str], env: dict) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child processes) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300,
                            check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0 or not result.stdout.startswith("TFTSR "):
        raise SystemExit(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def series(label: str, cmd: list[str], env: dict, runs: int) -> float:
    timed(cmd, env)  # one untimed start: file cache warm, like a second launch
    walls, cpus = zip(*(timed(cmd, env) for _ in range(runs)))
    median = statistics.median(walls)
    print(f"  {label:<44} median {median:6.3f} s  (min {min(walls):.3f}, max {max(walls):.3f}; "
          f"CPU {statistics.median(cpus):.3f} s)")
    return median


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--build", action="store_true", help="build into a temporary folder first")
    parser.add_argument("--compare", type=Path, help="another executable to time the same way")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="tftsr-bench-exe-") as tmp:
        tmp_path = Path(tmp)
        dist = args.dist
        if args.build:
            dist = tmp_path / "dist"
            started = time.monotonic()
            subprocess.run(["bash", str(ROOT / "build" / "build_exe.sh"), str(dist)], check=True)
            print(f"build: {time.monotonic() - started:.0f} s")
        single, portable = dist / "tftsr", dist / "tftsr-portable" / "tftsr"
        for path in (single, portable):
            if not path.is_file():
                raise SystemExit(f"{path} is missing: run build/build_exe.sh (or pass --build)")

        cache = tmp_path / "cache"
        env = dict(os.environ, XDG_CACHE_HOME=str(cache), TFTSR_DATA_DIR=str(tmp_path / "data"),
                   TFTSR_NO_KEYRING="1")
        print(f"tftsr --version, {args.runs} runs each ({os.cpu_count()} CPUs, load "
              f"{os.getloadavg()[0]:.1f}):")
        first, cpu = timed([str(single), "--version"], env)
        print(f"  {'single file, first start (unpacks once)':<44} {first:6.3f} s         "
              f"(CPU {cpu:.3f} s; {sum(1 for _ in cache.rglob('*'))} files unpacked)")
        results = {
            "single": series("single file (unpacked copy reused)", [str(single), "--version"],
                             env, args.runs),
            "portable": series("portable folder", [str(portable), "--version"], env, args.runs),
            "source": series("from the checkout (python -m tftsr)",
                             [sys.executable, "-m", "tftsr", "--version"],
                             dict(env, PYTHONPATH=str(ROOT / "backend")), args.runs),
        }
        if args.compare:
            compare_tmp = tmp_path / "compare-tmp"
            compare_tmp.mkdir()
            results["compare"] = series(f"{args.compare.name} (--compare)",
                                        [str(args.compare), "--version"],
                                        dict(env, TMPDIR=str(compare_tmp)), args.runs)
        size = single.stat().st_size / 2**20
        print(f"single file {size:.0f} MiB; targets: single file <= 2.0 s "
              f"({'met' if results['single'] <= 2.0 else 'NOT met'}), portable <= 1.0 s "
              f"({'met' if results['portable'] <= 1.0 else 'NOT met'})")
        shutil.rmtree(cache, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
