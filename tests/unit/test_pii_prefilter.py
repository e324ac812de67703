"""The prefilter path of detect_pii returns exactly the spans of the pure-Python path:
on the whole development corpus (each line alone and all lines as one text), on the
crafted inputs of the adversarial tests, and on seeded random logs that mix every kind
of finding with noise, Unicode disguises and separators."""

from __future__ import annotations

import json
import random
import string
from pathlib import Path

import pytest
from tftsr.pii import detect_pii, prefilter

CORPUS = Path(__file__).resolve().parents[1] / "data" / "pii_corpus"


def corpus_texts() -> list[str]:
    return [json.loads(line)["text"] for path in sorted(CORPUS.glob("*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines()]


def same(text: str) -> None:
    pure = detect_pii(text, prefilter=False)
    fast = detect_pii(text)
    assert fast == pure, _first_difference(pure, fast)


def _first_difference(pure, fast) -> str:
    a, b = set(pure), set(fast)
    return f"missing {sorted(a - b, key=lambda s: s.start)[:3]}, extra {sorted(b - a, key=lambda s: s.start)[:3]}"


@pytest.fixture
def always_prefilter(monkeypatch):
    """The prefilter on every text, however short or dense."""
    monkeypatch.setattr(prefilter, "MIN_CHARS", 0)
    monkeypatch.setattr(prefilter, "DENSE_CHARS", 0.001)


def test_hyperscan_is_installed():
    # an optional dependency for the product, a required one here: the
    # tests below would otherwise compare the pure path with itself
    assert prefilter.available()


def test_prefilter_is_used_on_a_log():
    text = "\n".join(corpus_texts())
    assert len(text) > prefilter.MIN_CHARS
    assert prefilter.positions(text) is not None


def test_text_with_a_hit_every_few_characters_goes_to_the_pure_path():
    # one prefilter hit every 12 characters: the pure path's scans are faster there
    assert prefilter.positions("password is " * 2000) is None
    assert prefilter.positions("a::b " * 2000) is None


def test_corpus_lines_one_by_one(always_prefilter):
    texts = corpus_texts()
    assert len(texts) > 500
    for text in texts:
        same(text)


def test_corpus_as_one_log():
    same("\n".join(corpus_texts()))
    same("\r\n".join(corpus_texts()))


def test_crafted_inputs(always_prefilter):
    units = ["token=a,", "phone=1,", "sig=a&", "password=", "api_key=x; ", "a=", "=", "1", "1.", "1-",
             "1 ", "+1 ", "(555) ", ".", "a.", "a.com", "a-", "@", "a@a.", "%", "a%40", "-", ":", "a::",
             "ab:", "/", "http://a:b@", "eyJabcdefghij.", "ghp_", "x_ghp_", "AKIA", "sk-", "-----BEGIN ",
             "bearer ", "password is ", "--password ", "mysql -p", "'\"", "ssn 1", "phone 1 ", "a\u200b",
             "\uff11\uff20", "Ünïcødé Straße пароль ", "token=hmac-a:", "phone=1:", "password for x: ",
             "curl -u a:b ", "sshpass mongo curl redis-cli ", "415 555 0165 ", "a.co-", "value=",
             "name=a value=", "--token ", "call me at ", "%3A", "\ufb01", "p\u0430s", " ", "\n",
             "a::b ", "fe80::1 ", "a@b.co ", "a.b.com ", "10.0.0.1 ", "::ffff:1.2.3.4 ", "+14155550123 ",
             "219-09-9999 ", "4111-1111-1111-1111 ", "00:1a:2b:3c:4d:5e ", "a|--stdin ", "x|chpasswd ",
             "echo x|sudo -S ", "echo Pw1x | docker login --password-stdin\n"]
    for unit in units:
        same(unit * (5000 // len(unit) + 1))


FRAGMENTS = [
    "user{n}@example.com", "ops.team+{n}@mail.example.co.uk", "10.{a}.{b}.{c}", "192.168.{a}.{b}:8080",
    "fe80::{h}:{h}", "2001:db8:{h}:{h}:{h}:{h}:{h}:{h}", "::1", "::ffff:10.0.{a}.{b}", "std::vector",
    "52:54:00:{x}:{x}:{x}", "00-1A-2B-{X}-{X}-{X}", "0050.56a3.{h4}", "MAC=52:54:00:ab:cd:ef:52:54:00:12:34:56:08:00",
    "4111 1111 1111 1111", "4111-1111-1111-1111", "card={card}", "amex 378282246310005", "219-09-{d4}",
    "ssn {d3} {d2} {d4}", "+1 415 555 {d4}", "+44 20 7946 {d4}", "(415) 555-{d4}", "415.555.{d4}",
    "1-800-555-{d4}", "020 7946 0958", "phone: 415 555 {d4}", "tel 4155550{d3}", "password={w}{n}",
    "\"client_secret\": \"{tok}\"", "api_key: {tok}", "token={tok}", "AWS_SECRET_ACCESS_KEY={tok}{tok}",
    "{{'name': 'DB_PASSWORD', 'value': 'S3cr3t{n}'}}", "- name: DB_PASSWORD\n  value: hunter{n}x",
    "Authorization: Bearer {tok}", "Authorization: Basic dXNlcjpwYXNzd29yZA==", "IDENTIFIED BY 'pw{n}'",
    "mysql -uroot -pS3cret{n}", "docker login -p {tok} registry", "ldapsearch -x -w Pa55{n}",
    "curl -u admin:pa55{n} https://api.example.com", "redis-cli -a {tok}", "smbclient -U bob%pw{n}",
    "sshpass -p 'pw {n}' ssh host", "echo Pw{n}x | docker login -u bot --password-stdin reg.io",
    "echo 'bob:Pw{n}x' | chpasswd", "echo Pw{n}x | sudo -S true", "echo -n Pw{n}x | passwd --stdin bob", "net use Z: \\\\srv\\share /user:dom\\bob Pw{n}!", "net user bob Pw{n}!",
    "xfreerdp /v:host /p:Pw{n}", "stats auth admin:pw{n}", "Unseal Key 1: {tok}{tok}",
    "--password Secr3t{n}", "--db-token '{tok}'", "--no-password --verbose", "the admin password is Pw{n}!",
    "Password for 'admin': Pw{n}", "keytool -storepass Pw{n}", "openssl -passin pass:Pw{n}",
    "postgres://app:s3cr3t{n}@db.prod.internal:5432/orders", "https://{tok}@github.com/org/repo",
    "https://hooks.slack.com/services/T0123456/B0123456/abcdefghijklmnopqrstuvwx",
    "AKIAABCDEFGHIJKLMNOP", "AIza{tok35}", "ghp_{tok36}", "github_pat_{tok22}", "glpat-{tok20}",
    "xoxb-{tok20}", "sk-proj-{tok}", "sk_live_{tok20}", "rk_test_{tok20}", "SG.{tok20}.{tok20}",
    "hvs.{tok20}", "npm_{tok36}", "pypi-AgE{tok}{tok}", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.{tok}",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEow{tok}\n{tok}\n-----END RSA PRIVATE KEY-----",
    "-----BEGIN PRIVATE KEY-----\\nMIIE{tok}\\n", "api.example.com", "db01.prod.internal",
    "web-01.acme.events", "mail.firma.at", "Foo.java", "request.user.id", "apiVersion: apps.example.io/v1",
    "https://example.sh/install", "Chrome/120.0.0.0", "version 10.2.0.1", "1.2.3.4.5", "2024-03-12",
    "09:12:33", "sip:+14155550123@pbx", "Message-ID: <abc{n}@mail.example.com>", "id=<x{n}@mx.example.com>",
    "bob.martin%40gmail.com", "p\u0430ssword=Pw{n}x", "\uff50\uff41\uff53\uff53\uff57\uff4f\uff52\uff44=Pw{n}x",
    "\u200bpassword\u200b=Pw{n}x", "caller_id_number={d4}555{d3}", "hmac-sha256:{tok}", "${{DB_PASSWORD}}",
]
NOISE = string.ascii_letters + string.digits + " \t.:-=/@%+()[]{}'\",;&_" + "äé漢\u00a0\u2028İ"


def random_log(seed: int, lines: int = 300) -> str:
    rng = random.Random(seed)

    def fill(fragment: str) -> str:
        tok = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(40))
        return fragment.format(
            n=rng.randint(0, 99999), a=rng.randint(0, 255), b=rng.randint(0, 255), c=rng.randint(0, 255),
            h=f"{rng.getrandbits(16):x}", h4=f"{rng.getrandbits(16):04x}", x=f"{rng.getrandbits(8):02x}",
            X=f"{rng.getrandbits(8):02X}", d2=f"{rng.randint(10, 99)}", d3=f"{rng.randint(100, 899)}",
            d4=f"{rng.randint(1000, 9999)}", w=rng.choice(["hunter", "Secret", "pw"]), tok=tok,
            tok20=tok[:20], tok22=tok[:22], tok35=tok[:35], tok36=tok[:36], card="4111111111111111")

    out = []
    for _ in range(lines):
        parts = []
        for _ in range(rng.randint(1, 6)):
            r = rng.random()
            if r < 0.55:
                parts.append(fill(rng.choice(FRAGMENTS)))
            elif r < 0.85:
                parts.append("".join(rng.choice(NOISE) for _ in range(rng.randint(1, 30))))
            else:
                parts.append(rng.choice(["INFO", "ERROR", "key", "value", "::", "--", " -p", "pass",
                                         "password is", "phone", "card", "ssn", "@", "://", "="]))
        out.append(rng.choice([" ", "  ", "\t", "=", ": ", ",", ""]).join(parts))
    return rng.choice(["\n", "\r\n"]).join(out) + rng.choice(["", "\n"])


@pytest.mark.parametrize("seed", range(40))
def test_random_logs(seed):
    same(random_log(seed))


@pytest.mark.parametrize("seed", range(10))
def test_random_lines_one_by_one(seed, always_prefilter):
    for line in random_log(1000 + seed, lines=60).split("\n"):
        same(line)

