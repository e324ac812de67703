"""Crafted inputs must be scanned in linear time: each case is a 1 MB line
that would make a careless backtracking pattern, an unbounded look-ahead or
a per-character re-scan run for minutes. The bound is a generous per-test
timeout, not a timing assertion; the figures (MB/s of each crafted input
against an ordinary log) are printed by tests/benchmarks/bench_pii.py."""

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
    # keys packed so that each value could run on into the next key
    "token_a_comma": "token=a," * (N // 8),
    "phone_one_comma": "phone=1," * (N // 8),
    "sig_ampersand": "sig=a&" * (N // 6),
    "hmac_values": "token=hmac-a:" * (N // 13),
    "phone_colon": "phone=1:" * (N // 8),
    "api_key_semicolon": "api_key=x; " * (N // 11),
    "value_keys": "value=" * (N // 6),
    "name_value_pairs": "name=a value=" * (N // 13),
    "equals": "=" * N,
    "key_equals": "a=" * (N // 2),
    # runs of separators and near-miss shapes
    "dots": "." * N,
    "dashes": "-" * N,
    "percents": "%" * N,
    "slashes": "/" * N,
    "quotes": "'\"" * (N // 2),
    "host_runs": "a.co-" * (N // 5),
    "base64_run": ("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0MTIzNDU2Nzg5Ky8" * (N // 50)),
    # prose, options, programs
    "password_is": "password is " * (N // 12),
    "password_for": "password for x: " * (N // 16),
    "long_options": "--token " * (N // 8),
    "password_options": "--password " * (N // 11),
    "mysql_p": "mysql -p" * (N // 8),
    "curl_u": "curl -u a:b " * (N // 12),
    "program_words": "sshpass mongo curl redis-cli " * (N // 29),
    "credentialed_urls": "http://a:b@" * (N // 11),
    # context numbers
    "ssn_words": "ssn 1" * (N // 5),
    "phone_words": "phone 1 " * (N // 8),
    "call_fillers": "call me at " * (N // 11),
    "spaced_digits_ten": "415 555 0165 " * (N // 13),
    # Unicode and escapes
    "zero_width_pairs": "a\u200b" * (N // 2),
    "zero_width_only": "\u200b" * N,
    "ligatures": "\ufb01" * N,
    "full_width": "\uff11\uff20" * (N // 2),
    "look_alikes": "p\u0430s" * (N // 3),
    "escaped_at": "a%40" * (N // 4),
    "escaped_colons": "%3A" * (N // 3),
    "non_ascii_prose": "Ünïcødé Straße пароль " * (N // 22),
    # short quoted values, untyped key words, values chained by a typed key
    "quoted_short_values": "pwd='a' " * (N // 8),
    "bare_key_words": "key=" * (N // 4),
    "untyped_colons": "no: x " * (N // 6),
    "typed_colon_chain": "tel:" * (N // 4),
    "long_ssn_values": "ssn=123456789012 " * (N // 17),
    "unterminated_json_passwords": '"password": "' * (N // 13),
    "user_option_without_password": "curl -u " * (N // 8),
    "sshpass_chain": "sshpass -p " * (N // 11),
    "digit_runs": "1234567890 " * (N // 11),
    "values_ending_in_dots": ("token=x" + "." * 1000 + " ") * (N // 1008),
    # candidates that each overlap the next: one cluster of 200,000
    "overlapping_emails": "a@b.c" * (N // 5),
    # keys whose value is the next key
    "next_key_colons": "ssn: " * (N // 5),
    "next_key_equals": "token= " * (N // 7),
    "joined_next_keys": "apikey: " * (N // 8),
    "prefixed_next_keys": "X-Api-Key: " * (N // 11),
    "password_labels": "passwd: " * (N // 8),
    # "net use" with no "/user:", or with one that takes no password, in reach
    "net_use": "net use " * (N // 8),
    "net_use_empty_users": "net use /user: " * (N // 15),
    # "::" with nothing of an address on either side
    "bracketed_pairs": "[::" * (N // 3),
    # keys that name nothing: a typing word glued to what comes before it
    "glued_card_words": "cc=4" * (N // 4),
    "glued_ssn_words": "SSN: 1" * (N // 6),
    "freerdp_words": "freerdp " * (N // 8),
    # commands that read a password from standard input, piped from nothing or a short word
    "stdin_readers": "a|--stdin " * (N // 10),
    "chpasswd_pipes": "x|chpasswd " * (N // 11),
    "sudo_s_pipes": "echo x|sudo -S " * (N // 15),
    # values ended by the next "&name=", "|name=" or "&name: ", or carried on by an "&"
    # for up to 1,024 characters, each holding the next keys
    "query_card_values": "card=123&" * (N // 9),
    "pipe_phone_values": "tel=123|" * (N // 8),
    "colon_fields": "tel: 1-1&" * (N // 9),
    "carried_values": "token:123&" * (N // 10),
    "carried_card_values": "card:1-1&" * (N // 9),
    # values too long for their key's type, passwords of a few digits
    "long_ssn_colons": "ssn: 123456789012 " * (N // 18),
    "few_digit_passwords": "password: 123 " * (N // 14),
}

# Where the crafted text holds nothing to find, nothing may be found.
EMPTY = {"token_a_comma", "phone_one_comma", "sig_ampersand", "phone_colon", "value_keys",
         "name_value_pairs", "equals", "dots", "dashes", "percents", "slashes", "password_is",
         "password_options", "zero_width_pairs", "zero_width_only", "ligatures", "look_alikes",
         "escaped_at", "escaped_colons", "non_ascii_prose", "ssn_words", "phone_words", "call_fillers",
         "curl_u", "quoted_short_values", "bare_key_words", "untyped_colons", "typed_colon_chain",
         "long_ssn_values", "unterminated_json_passwords", "user_option_without_password", "digit_runs",
         "values_ending_in_dots", "next_key_colons", "next_key_equals", "joined_next_keys",
         "prefixed_next_keys", "password_labels", "net_use", "net_use_empty_users", "bracketed_pairs",
         "glued_card_words", "glued_ssn_words", "freerdp_words", "stdin_readers", "chpasswd_pipes",
         "sudo_s_pipes", "query_card_values", "pipe_phone_values", "colon_fields", "carried_card_values",
         "long_ssn_colons", "few_digit_passwords"}


@pytest.mark.timeout(30)
@pytest.mark.parametrize("name", sorted(CASES))
def test_crafted_line_is_scanned(name):
    text = CASES[name]
    spans = detect_pii(text)
    for span in spans[:100] + spans[-100:]:
        assert text[span.start:span.end] == span.original
    if name in EMPTY:
        assert spans == []


@pytest.mark.timeout(60)
def test_packed_credentialed_urls_each_found():
    text = "http://a:b@" * (N // 11) + "h"
    spans = [s for s in detect_pii(text) if s.pii_type == "UrlWithCredentials"]
    assert len(spans) == N // 11 and {s.original for s in spans} == {"a:b"}


@pytest.mark.timeout(60)
def test_long_line_in_small_pieces_is_streamed_whole():
    line = " ".join(f"user{i}@example.com 10.{i % 250}.0.{i % 200 + 1} token=a," for i in range(30_000))
    pieces = (line[i:i + 256] for i in range(0, len(line), 256))
    streamed = [(s.pii_type, s.start, s.end) for s in iter_pii(pieces)]
    assert streamed == [(s.pii_type, s.start, s.end) for s in detect_pii(line)]
    assert len(streamed) == 60_000


@pytest.mark.timeout(60)
def test_crafted_input_streamed():
    text = "-----BEGIN RSA PRIVATE KEY-----\n" + "A" * (3 * N) + "\n" + "1." * N
    count = sum(1 for _ in iter_pii(text, block_size=1 << 18))
    assert count >= 1
