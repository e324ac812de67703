"""Precision and recall of detect_pii on the development corpus in
tests/data/pii_corpus/ (realistic lines from many log sources, hard
negatives included; see its README).

These are development figures: the rules were tuned on these lines, so they
measure fit, not generalisation. The frozen holdout is scored elsewhere,
once, and never tuned against."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from tftsr.pii import PII_TYPES, detect_pii

CORPUS = Path(__file__).resolve().parents[1] / "data" / "pii_corpus"


def load_corpus() -> list[dict]:
    rows = []
    for path in sorted(CORPUS.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            row = json.loads(line)
            row["where"] = f"{path.name}:{number}"
            rows.append(row)
    return rows


def score(rows: list[dict]):
    """Per-type true positives, false positives and false negatives. A
    finding counts when its type and exact text match a label."""
    tp, fp, fn = Counter(), Counter(), Counter()
    misses = []
    for row in rows:
        gold = Counter((s["type"], s["value"]) for s in row["spans"])
        pred = Counter((s.pii_type, s.original) for s in detect_pii(row["text"]))
        for key in gold | pred:
            hit = min(gold[key], pred[key])
            tp[key[0]] += hit
            if pred[key] > hit:
                fp[key[0]] += pred[key] - hit
                misses.append(("FP", row["where"], key))
            if gold[key] > hit:
                fn[key[0]] += gold[key] - hit
                misses.append(("FN", row["where"], key))
    return tp, fp, fn, misses


def per_file(rows: list[dict]) -> dict[str, tuple[float, float, int]]:
    """Precision, recall and label count of each file of the corpus."""
    result = {}
    for name in sorted({row["where"].split(":")[0] for row in rows}):
        tp, fp, fn, _ = score([row for row in rows if row["where"].split(":")[0] == name])
        t, f_p, f_n = sum(tp.values()), sum(fp.values()), sum(fn.values())
        result[name] = (t / (t + f_p) if t + f_p else 1.0, t / (t + f_n) if t + f_n else 1.0, t + f_n)
    return result


def test_corpus_is_well_formed():
    rows = load_corpus()
    assert len(rows) >= 400
    sources = {row["source"] for row in rows}
    assert len(sources) >= 15
    for row in rows:
        for span in row["spans"]:
            assert span["type"] in PII_TYPES, row["where"]
            assert row["text"][span["start"]:span["end"]] == span["value"], row["where"]


def test_precision_and_recall(capsys):
    tp, fp, fn, misses = score(load_corpus())
    total_tp, total_fp, total_fn = sum(tp.values()), sum(fp.values()), sum(fn.values())
    precision = total_tp / (total_tp + total_fp)
    recall = total_tp / (total_tp + total_fn)
    with capsys.disabled():
        print("\nPII development corpus (tuned on; not a holdout): per-type precision and recall")
        print(f"{'type':20s} {'labels':>6s} {'prec':>6s} {'recall':>6s}")
        for name in sorted(set(tp) | set(fp) | set(fn)):
            p = tp[name] / (tp[name] + fp[name]) if tp[name] + fp[name] else 0.0
            r = tp[name] / (tp[name] + fn[name]) if tp[name] + fn[name] else 0.0
            print(f"{name:20s} {tp[name] + fn[name]:6d} {p:6.3f} {r:6.3f}")
        print(f"{'ALL (development)':20s} {total_tp + total_fn:6d} {precision:6.3f} {recall:6.3f}")
        for name, (p, r, labels) in sorted(per_file(load_corpus()).items()):
            print(f"  {name:18s} {labels:6d} {p:6.3f} {r:6.3f}")
        for miss in misses:
            print("  ", *miss)
    assert recall >= 0.97, misses
    assert precision >= 0.95, misses


@pytest.mark.parametrize("name", ["negatives"])
def test_hard_negatives_stay_nearly_clean(name):
    rows = [r for r in load_corpus() if r["source"] == name]
    _, fp, _, misses = score(rows)
    assert sum(fp.values()) <= 2, misses
