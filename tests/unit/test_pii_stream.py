"""iter_pii / iter_pii_file: streamed findings equal detect_pii on the whole
text, with global offsets, across block boundaries."""

from __future__ import annotations

import random

import pytest
from tftsr.pii import detect_pii, iter_pii, iter_pii_file

LINES = [
    "Mar 12 09:14:05 web01 sshd[23120]: Failed password for invalid user admin from 203.0.113.5 port 40122",
    '{"level":"error","user":{"email":"olivia.martin@example.com","phone":"+1-202-555-0143"}}',
    "2024-03-12 09:14:20.003 ERROR [api] db postgres://app_user:Sup3rS3cret!@postgres.prod.svc.cluster.local:5432/orders",
    "Declined card 4111 1111 1111 1111 for customer 88213 amount=129.99 EUR",
    "\tat com.example.billing.InvoiceService.charge(InvoiceService.java:142) ~[billing-core-3.2.1.jar!/:3.2.1]",
    "Authorization: Bearer 0b79bab50daca910b000d4f1a2b675d604257e42 from 2001:db8::17 via ::1",
    "kernel: [UFW BLOCK] IN=eth0 MAC=52:54:00:ab:cd:ef:fe:54:00:12:34:56:08:00 SRC=185.220.101.4",
    "Ünïcødé ☃ line with jürgen@example.de and password=ü-Pässwörd-9",
]
KEY = ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
       "QyNTUxOQAAACDbQ8sK2x7n0m9Z5pY4kLr8Vq3wT1bN6cE2dF9gH0jK7AAAAJgD1e2sA9Xt\n"
       "-----END OPENSSH PRIVATE KEY-----\n")


def make_text(lines: int, seed: int = 3) -> str:
    rng = random.Random(seed)
    out = []
    for i in range(lines):
        out.append(KEY if i % 97 == 50 else rng.choice(LINES) + "\n")
    return "".join(out)


def as_tuples(spans):
    return [(s.pii_type, s.start, s.end, s.original) for s in spans]


@pytest.mark.parametrize("block_size", [64, 256, 1000, 1 << 16])
def test_stream_of_str_equals_whole_detection(block_size):
    text = make_text(600)
    streamed = as_tuples(iter_pii(text, block_size=block_size))
    assert streamed == as_tuples(detect_pii(text))
    assert sum(1 for t in streamed if t[0] == "PrivateKey") == 6
    for _, start, end, original in streamed:
        assert text[start:end] == original


def test_stream_of_lines_uses_offsets_into_the_concatenation():
    text = make_text(300, seed=9)
    lines = text.splitlines(keepends=True)
    assert as_tuples(iter_pii(iter(lines), block_size=512)) == as_tuples(detect_pii(text))


def test_file_stream_with_crlf_and_invalid_bytes(tmp_path):
    text = make_text(400, seed=11).replace("\n", "\r\n")
    path = tmp_path / "app.log"
    path.write_bytes(text.encode("utf-8") + b"\xff\xfe tail 10.9.8.7\r\n")
    decoded = path.read_bytes().decode("utf-8", errors="replace")
    streamed = as_tuples(iter_pii_file(path, block_size=700))
    assert streamed == as_tuples(detect_pii(decoded))
    assert streamed[-1][0] == "Ipv4" and streamed[-1][3] == "10.9.8.7"


def test_private_key_straddling_blocks_is_found_whole():
    text = "x\n" * 30 + KEY + "y 10.0.0.1\n"
    for block_size in (16, 40, 100):
        spans = list(iter_pii(text, block_size=block_size))
        assert [s.pii_type for s in spans] == ["PrivateKey", "Ipv4"]
        assert spans[0].original == KEY.rstrip("\n")


def test_line_without_newline_longer_than_blocks():
    text = ("word " * 5000) + "mail ana@example.com " + ("word " * 5000)
    spans = list(iter_pii(text, block_size=1000))
    assert as_tuples(spans) == as_tuples(detect_pii(text))
