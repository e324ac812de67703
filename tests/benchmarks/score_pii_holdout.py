"""One-shot score of a frozen PII holdout against ``tftsr.pii.detect_pii``.

    .venv/bin/python tests/benchmarks/score_pii_holdout.py [PATH]

PATH defaults to ``tests/data/pii_holdout/holdout-2026-12.jsonl`` (records in the
corpus format: ``{"source", "text", "spans": [{"type", "value", "start", "end"}]}``).
If ``<PATH stem>.classes.json`` exists beside it, figures are also printed per class.

Prints, per label type and overall:

* strict precision/recall: a finding is correct when its type and its exact text
  (``text[start:end]``) equal a label of the same record;
* value-only precision/recall: the exact text must equal a label, any type;

then every miss, every false positive and every finding whose text matched but whose
type did not. Nothing is asserted: this is a measurement, not a pytest test.

A holdout is scored once and reported as it is. Do not change detector rules because of
what this prints, and do not edit the holdout: write the next holdout instead (see the
holdout's README).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "backend"))

from holdout_files import load_classes, load_rows  # noqa: E402

DEFAULT_PATH = ROOT / "tests" / "data" / "pii_holdout" / "holdout-2026-12.jsonl"


def _get(span, *names):
    """First present attribute/key of ``names`` on a span object or dict."""
    for name in names:
        if isinstance(span, dict):
            if name in span:
                return span[name]
        elif hasattr(span, name):
            return getattr(span, name)
    raise KeyError(f"span has none of {names}: {span!r}")


def _type_name(value) -> str:
    """``pii_type`` may be a str or an Enum; use the enum's string value or name."""
    if isinstance(value, str):
        return value
    inner = getattr(value, "value", None)
    if isinstance(inner, str):
        return inner
    return str(getattr(value, "name", value))


def findings_for(detect, text: str) -> tuple[list[tuple[str, str, int, int]], list[str]]:
    """Detector findings as (type, text slice, start, end), plus contract problems."""
    found, problems = [], []
    for span in detect(text):
        ptype = _type_name(_get(span, "pii_type", "type"))
        start, end = int(_get(span, "start")), int(_get(span, "end"))
        piece = text[start:end]
        try:
            original = _get(span, "original")
        except KeyError:
            original = None
        if original is not None and original != piece:
            problems.append(
                f"{ptype} [{start}:{end}] original={ascii(original)} but text slice={ascii(piece)}"
            )
        found.append((ptype, piece, start, end))
    return found, problems


def ratio(num: int, den: int) -> str:
    return f"{num / den:.3f}" if den else "  -  "


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", nargs="?", default=str(DEFAULT_PATH))
    args = parser.parse_args(argv)
    path = Path(args.path)

    from tftsr.pii import detect_pii

    records = load_rows(path)
    line_class = load_classes(path)

    labels_n = Counter()  # label type -> labels
    tp_strict = Counter()  # label type -> strict matches
    tp_value = Counter()  # label type -> value-only matches
    fp_strict = Counter()  # detector type -> strict false positives
    fp_value = Counter()  # detector type -> value-only false positives
    found_n = Counter()  # detector type -> findings
    cls_labels, cls_tp_s, cls_tp_v = Counter(), Counter(), Counter()
    cls_fp_s, cls_fp_v, cls_records_fp = Counter(), Counter(), Counter()
    misses, false_pos, wrong_type, contract = [], [], [], []
    errors = []
    elapsed = 0.0
    chars = 0

    for rec in records:
        text, line = rec["text"], rec["_line"]
        cls = line_class.get(line, "all")
        labels = [(s["type"], s["value"], s["start"], s["end"]) for s in rec["spans"]]
        for s in rec["spans"]:
            if text[s["start"] : s["end"]] != s["value"]:
                errors.append(
                    f"line {line}: label offsets do not match its value {ascii(s['value'])}"
                )
        t0 = time.perf_counter()
        try:
            found, problems = findings_for(detect_pii, text)
        except Exception as exc:  # noqa: BLE001 - a crash is reported, not fatal
            errors.append(f"line {line}: detect_pii raised {type(exc).__name__}: {exc}")
            found, problems = [], []
        elapsed += time.perf_counter() - t0
        chars += len(text)
        contract += [f"line {line}: {p}" for p in problems]

        for ltype, *_ in labels:
            labels_n[ltype] += 1
            cls_labels[cls] += 1
        for ftype, _, _, _ in found:
            found_n[ftype] += 1

        # strict: (type, text) multiset
        left = Counter((f[0], f[1]) for f in found)
        for ltype, value, lstart, lend in labels:
            if left[(ltype, value)] > 0:
                left[(ltype, value)] -= 1
                tp_strict[ltype] += 1
                cls_tp_s[cls] += 1
            else:
                near = [f for f in found if f[1] == value]
                if near:
                    wrong_type.append(
                        f"line {line}: {ltype} {ascii(value)} reported as {near[0][0]}"
                    )
                else:
                    overlapping = [
                        f"{f[0]} {ascii(f[1])}" for f in found if f[2] < lend and f[3] > lstart
                    ]
                    hint = f"  (overlapping: {'; '.join(overlapping)})" if overlapping else ""
                    misses.append(f"line {line} [{rec['source']}]: {ltype} {ascii(value)}{hint}")
        record_fp = 0
        for (ftype, _piece), n in left.items():
            if n > 0:
                fp_strict[ftype] += n
                cls_fp_s[cls] += n
                record_fp += n

        # value-only: text multiset, any type
        left_v = Counter(f[1] for f in found)
        for ltype, value, *_ in labels:
            if left_v[value] > 0:
                left_v[value] -= 1
                tp_value[ltype] += 1
                cls_tp_v[cls] += 1
        for ftype, piece, start, end in found:
            if left_v[piece] > 0:
                left_v[piece] -= 1
                fp_value[ftype] += 1
                cls_fp_v[cls] += 1
                false_pos.append(
                    f"line {line} [{rec['source']}]: {ftype} [{start}:{end}] {ascii(piece)}"
                )
        if record_fp:
            cls_records_fp[cls] += 1

    total_labels = sum(labels_n.values())
    total_found = sum(found_n.values())
    print(f"PII holdout: {path}")
    print(
        f"  {len(records)} records, {total_labels} labels, {total_found} findings, "
        f"{chars / 1e6:.3f} MB scanned in {elapsed:.3f} s"
    )
    print()
    header = f"{'type':22s} {'labels':>6s} {'found':>6s}  {'P strict':>8s} {'R strict':>8s}  {'P value':>8s} {'R value':>8s}"
    print(header)
    print("-" * len(header))
    for t in sorted(set(labels_n) | set(found_n)):
        print(
            f"{t:22s} {labels_n[t]:6d} {found_n[t]:6d}  "
            f"{ratio(found_n[t] - fp_strict[t], found_n[t]):>8s} {ratio(tp_strict[t], labels_n[t]):>8s}  "
            f"{ratio(found_n[t] - fp_value[t], found_n[t]):>8s} {ratio(tp_value[t], labels_n[t]):>8s}"
        )
    print("-" * len(header))
    tps, tpv = sum(tp_strict.values()), sum(tp_value.values())
    fps, fpv = sum(fp_strict.values()), sum(fp_value.values())
    print(
        f"{'OVERALL':22s} {total_labels:6d} {total_found:6d}  "
        f"{ratio(total_found - fps, total_found):>8s} {ratio(tps, total_labels):>8s}  "
        f"{ratio(total_found - fpv, total_found):>8s} {ratio(tpv, total_labels):>8s}"
    )
    print("  (precision per row is by the detector's type; recall by the label's type)")

    if line_class:
        print()
        print(
            f"{'class':20s} {'labels':>6s}  {'R strict':>8s} {'R value':>8s}  {'FP strict':>9s} {'FP value':>8s} {'records with FP':>15s}"
        )
        for cls in dict.fromkeys(line_class.values()):
            print(
                f"{cls:20s} {cls_labels[cls]:6d}  {ratio(cls_tp_s[cls], cls_labels[cls]):>8s} "
                f"{ratio(cls_tp_v[cls], cls_labels[cls]):>8s}  {cls_fp_s[cls]:9d} {cls_fp_v[cls]:8d} "
                f"{cls_records_fp[cls]:15d}"
            )

    for title, items in (
        ("Misses (no finding with this text)", misses),
        ("Right text, other type", wrong_type),
        ("False positives (text matches no label)", false_pos),
        ("Span contract problems (original != text[start:end])", contract),
        ("Errors", errors),
    ):
        print()
        print(f"{title}: {len(items)}")
        for item in items:
            print(f"  {item}")
    print()
    print("Report these figures as they are; improving on them needs a new holdout.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
