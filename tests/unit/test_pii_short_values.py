"""Separators whose value is too short for any type are masked before keys are
read (``assignments._reversed_keys_text``), so that a line packed with them costs
one pass of ``re``. Masking must change no finding: here the masked and the
unmasked scans are compared on the development corpus and on seeded random
texts built from keys, separators and short and long values, and the crafted
runs are shown to leave no separator for the Python loop."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from tftsr.pii import assignments, detect_pii

CORPUS = Path(__file__).resolve().parents[1] / "data" / "pii_corpus"

PIECES = [
    "token", "sig", "phone", "key", "api_key", "password", "pwd", "value", "name", "ssn", "card",
    "=", "=", "=", ":", ":=", "=>", "==", "&", "?", "&x=", "?q=", "a", "1", "ab", "abc", "abcd", ",", ";",
    " ", "\t", '"', "'", "-", "_", ".", "<", ">", "(", ")", "[", "`", "%", "@", "/", "\n",
    "12345678", "Zq9$kLm2pQ", "s3cr3tV4lu3xyz", "219-09-9999", "4111111111111111", "+14155550123",
    "ghp_" + "a1B2" * 9, "\u00e9", "\u00a0", "'a'", '"ab"', "''", "'=:'", "no", "nr", "number", "num",
    "security", "_key-", "tel", "://", '""', "''", '" "', "=>", "\r\n", "  ",
]


def assignments_found(text: str, masked: bool, monkeypatch) -> list:
    out: list = []
    with monkeypatch.context() as m:
        if not masked:
            m.setattr(assignments, "_reversed_keys_text", lambda lower: lower[::-1])
        assignments.find_assignments(text, text.lower(), out)
    return out


# value keys of name/value pairs, in texts without "name" or "key"
VALUE_PIECES = [p for p in PIECES if p not in ("name", "key", "api_key")] + [
    "value", "-value", "value_", "value.", "--value", "value--", "parametervalue", "myvalue", "valuex", "Value"]


def random_texts(count: int, seed: int, pieces=PIECES) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 40))) for _ in range(count)]


@pytest.mark.parametrize("pieces", [PIECES, VALUE_PIECES], ids=["keys", "value-keys"])
def test_masking_changes_no_assignment_on_random_texts(monkeypatch, pieces):
    for text in random_texts(4000, seed=7, pieces=pieces):
        assert assignments_found(text, True, monkeypatch) == assignments_found(text, False, monkeypatch), text


def test_masking_changes_no_assignment_on_the_corpus(monkeypatch):
    lines = [json.loads(line)["text"] for path in sorted(CORPUS.glob("*.jsonl"))
             for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(lines) > 100
    joined = "\n".join(lines)
    assert assignments_found(joined, True, monkeypatch) == assignments_found(joined, False, monkeypatch)


@pytest.mark.parametrize("unit", ["token=a,", "phone=1,", "sig=a&", "api_key=x; ", "?sig=&", "pwd=ab\n",
                                  "value=", "-value=abc ", "pwd='a' ", 'token:"ab",', "key=", "no: x ", "number=12345678 ",
                                  '"password": "', "token=\n", "pwd = <x> ", "secret: '' "])
def test_a_run_of_too_short_values_leaves_no_separator_to_look_at(unit):
    text = unit * 5000
    # (the first "sig=" is not a query-string parameter: no "&" or "?" before it)
    assert len(assignments._assignment_keys(text.lower())) <= 1
    assert detect_pii(text) == []


def test_real_values_among_short_ones_are_still_found():
    text = "token=a," * 50 + "token=s3cr3tV4lu3xyz," + "sig=a&" * 50 + "&sig=Zq9kLm2pQ7wX4vB1&" + "pwd=ab pwd=hunter22 "
    found = [(s.pii_type, s.original) for s in detect_pii(text)]
    assert found == [("SecretAssignment", "s3cr3tV4lu3xyz"), ("SecretAssignment", "Zq9kLm2pQ7wX4vB1"),
                     ("Password", "hunter22")]


def test_keys_written_with_colon_equals_are_left_to_the_colon_pattern(monkeypatch):
    for text in ["password:=ab,", "x:=a, token:=s3cr3tV4lu3xyz", "a=:b token=:abcdefgh12"]:
        assert assignments_found(text, True, monkeypatch) == assignments_found(text, False, monkeypatch)
