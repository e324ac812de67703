"""How long one shell classification takes (the policy bound is 1 s per call).

    .venv/bin/python tests/benchmarks/bench_shell_classifier.py [--fuzz 2500] [--repeat 1]

Classifies a mixed set: the unit tests' development cases (ordinary, look-alike and
hostile commands), the unit tests' fuzz corpus (random bash-ish token soup), a few
worst cases built on purpose (deep nesting, long pipelines, long here-documents, inputs
just under the size limit), and prints p50 / p99 / max per group and overall, plus the
slowest inputs. Nothing is asserted: this is a measurement.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "backend"))

from tftsr.shell.classifier import MAX_CHARS, classify  # noqa: E402

from tests.unit import test_shell_classifier as cases  # noqa: E402


def development_cases() -> list[str]:
    out = []
    for name in ("READ_ONLY", "STRUCTURE", "WRAPPERS", "COMPUTED", "FEEDS", "PREFIXES",
                 "DESTRUCTIVE", "MUTATING_FLAGS", "KUBECTL", "WINDOWS", "UNKNOWN"):
        out.extend(cmd for cmd, _ in getattr(cases, name))
    out.extend(cases.UNPARSEABLE)
    return out


def worst_cases() -> list[str]:
    under = MAX_CHARS - 64
    return [
        ("kubectl -n prod get pods -o wide | grep -v Running && " * 400)[:under] + "ls",
        ("ls | " * 4000)[:under] + "ls",
        "cat <<EOF | sh\n" + ("echo $(date) $(hostname) ok\n" * 600)[:under - 40] + "EOF\n",
        "echo " + "$(echo " * 35 + "x" + ")" * 35,
        "(" * 3000 + "ls" + ")" * 3000,
        "$(" * 8000 + "ls" + ")" * 8000,
        "echo " + "a" * under,
        "echo '" + "x " * (under // 2 - 8) + "'",
        ("case $x in a) ls ;; b) rm x ;; esac; " * 200)[:under],
        ("[[ -f /x ]] && echo $((1+2)); " * 400)[:under],
        ("for i in 1 2 3; do if true; then echo $i; fi; done; " * 200)[:under],
        ("f() { ls; }; f; " * 600)[:under],
        'echo "' + "$(ls)" * 2000 + '"',
        "x" * (MAX_CHARS + 1),
    ]


def measure(texts: list[str], repeat: int) -> list[tuple[float, str]]:
    timings = []
    for text in texts:
        best = None
        for _ in range(repeat):
            started = time.perf_counter()
            classify(text)
            elapsed = time.perf_counter() - started
            best = elapsed if best is None else min(best, elapsed)
        timings.append((best, text))
    return timings


def report(label: str, timings: list[tuple[float, str]]) -> None:
    values = sorted(t for t, _ in timings)
    p50 = statistics.median(values)
    p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
    print(f"{label:<14} n={len(values):>5}  p50={p50 * 1000:8.3f} ms  p99={p99 * 1000:8.3f} ms"
          f"  max={values[-1] * 1000:8.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fuzz", type=int, default=2500)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    groups = {
        "development": development_cases(),
        "fuzz": cases.fuzz_corpus(args.fuzz),
        "worst cases": worst_cases(),
    }
    classify("warm up: ls | grep x")
    everything = []
    for label, texts in groups.items():
        timings = measure(texts, args.repeat)
        report(label, timings)
        everything.extend(timings)
    report("overall", everything)
    print("\nslowest inputs:")
    for elapsed, text in sorted(everything, reverse=True)[:5]:
        shown = text[:70].replace("\n", "\\n")
        print(f"  {elapsed * 1000:8.1f} ms  {len(text):>6} chars  {shown}")


if __name__ == "__main__":
    main()
