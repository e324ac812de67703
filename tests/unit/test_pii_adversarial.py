"""Crafted inputs must be scanned in linear time: each case is a 1 MB line
that would make a careless backtracking pattern run for minutes. The bound
is a generous per-test timeout, not a timing assertion."""

from __future__ import annotations

import pytest
from tftsr.pii import detect_pii, iter_pii

N = 1_000_000

CASES = {
    "letters": "a" * N,
    "dotted_ones": "1." * (N // 2),
    "at_signs": "@" * N,
    "hex_run": "0123456789abcdef" * (N // 16),
    "begin_without_end": "-----BEGIN " * (N // 11),
    "private_key_headers": "-----BEGIN RSA PRIVATE KEY-----\n" * (N // 32),
    "colons": ":" * N,
    "double_colons": "::" * (N // 2),
    "hex_colons": "ab:" * (N // 3),
    "hex_double_colons": "a::" * (N // 3),
    "mac_like": "00:" * (N // 3),
    "mac_like_dash": "00-" * (N // 3),
    "digits": "1" * N,
    "spaced_digits": "1 " * (N // 2),
    "dashed_digits": "1-" * (N // 2),
    "dotted_quads": "1.1.1.1." * (N // 8),
    "dotted_letters": "a." * (N // 2),
    "email_chain": "a@a." * (N // 4),
    "domain_chain": "a.com" * (N // 5),
    "url_prefixes": "http://a:b@" * (N // 11),
    "jwt_prefixes": "eyJ" * (N // 3),
    "jwt_parts": "eyJabcdefghij." * (N // 14),
    "aws_prefixes": "AKIA" * (N // 4),
    "github_prefixes": "ghp_" * (N // 4),
    "password_keys": "password=" * (N // 9),
    "password_colons": "password: " * (N // 10),
    "quoted_password": 'password "' * (N // 10),
    "token_keys": "token=" * (N // 6),
    "long_key": ("x" * 60 + "=") * (N // 61),
    "bearer_words": "bearer " * (N // 7),
    "plus_ones": "+1 " * (N // 3),
    "parens": "(555) " * (N // 6),
    "docker_login": "docker login " * (N // 13),
    "spaces": " " * N,
    "newlines": "\n" * N,
}


@pytest.mark.timeout(30)
@pytest.mark.parametrize("name", sorted(CASES))
def test_crafted_line_is_scanned(name):
    text = CASES[name]
    spans = detect_pii(text)
    for span in spans[:100]:
        assert text[span.start:span.end] == span.original


@pytest.mark.timeout(60)
def test_crafted_input_streamed():
    text = "-----BEGIN RSA PRIVATE KEY-----\n" + "A" * (3 * N) + "\n" + "1." * N
    count = sum(1 for _ in iter_pii(text, block_size=1 << 18))
    assert count >= 1
