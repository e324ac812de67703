"""detect_pii: the API contract, each type, the hard negatives and overlaps."""

from __future__ import annotations

import itertools
import json
import random

import pytest
from tftsr.pii import PII_TYPES, REPLACEMENTS, PiiSpan, detect_pii, redact
from tftsr.pii.engine import resolve_overlaps
from tftsr.pii.spans import PRIORITY, RANK

# The seed's types, what redaction writes for each, and a line holding one value of it.
SEED_TYPES = {
    "UrlWithCredentials": ("[URL]", "auth failed for 'https://ci:s3cretPw@git.example.com/a.git'",
                           "ci:s3cretPw"),
    "BearerToken": ("[Bearer]", "Authorization: Bearer 0b79bab50daca910b000d4f1a2b675d604257e42",
                    "0b79bab50daca910b000d4f1a2b675d604257e42"),
    "ApiKey": ("[ApiKey]", '{"x-api-key": "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d"}',
               "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d"),
    "Password": ("[Password]", "db_password: Winter2024!", "Winter2024!"),
    "Ssn": ("[SSN]", "ssn 219-09-9999 on file", "219-09-9999"),
    "CreditCard": ("[CreditCard]", "card 4111 1111 1111 1111 declined", "4111 1111 1111 1111"),
    "Email": ("[Email]", "to=<k.tanaka@example.jp>", "k.tanaka@example.jp"),
    "MacAddress": ("[MAC]", "hw-addr 52:54:00:ab:cd:ef up", "52:54:00:ab:cd:ef"),
    "Ipv6": ("[IPv6]", "client [2001:db8:85a3::8a2e:370:7334]:443", "2001:db8:85a3::8a2e:370:7334"),
    "Ipv4": ("[IPv4]", "connect to 10.0.3.17:8080 refused", "10.0.3.17"),
    "PhoneNumber": ("[Phone]", "call (415) 555-0132 now", "(415) 555-0132"),
    "Hostname": ("[Hostname]", "resolve db01.prod.example.net failed", "db01.prod.example.net"),
}


def found(text: str) -> list[tuple[str, str]]:
    return [(s.pii_type, s.original) for s in detect_pii(text)]


# --- contract -----------------------------------------------------------------
@pytest.mark.parametrize("name", SEED_TYPES)
def test_seed_types_are_found_and_redacted_with_their_seed_replacement(name):
    replacement, text, value = SEED_TYPES[name]
    spans = [s for s in detect_pii(text) if s.original == value]
    assert [(s.pii_type, s.replacement) for s in spans] == [(name, replacement)]
    redacted = redact(text)
    assert replacement in redacted and value not in redacted
    assert name in PII_TYPES


def test_span_fields_offsets_and_dict():
    text = "login from 203.0.113.5 by ana@example.com"
    spans = detect_pii(text)
    assert [s.pii_type for s in spans] == ["Ipv4", "Email"]
    for span in spans:
        assert isinstance(span, PiiSpan)
        assert text[span.start:span.end] == span.original
        assert span.replacement == REPLACEMENTS[span.pii_type]
        d = span.to_dict()
        assert d == {"pii_type": span.pii_type, "start": span.start, "end": span.end,
                     "original": span.original, "replacement": span.replacement}
        json.dumps(d)


def test_offsets_are_character_offsets_in_non_ascii_text():
    text = "Ünïcødé ☃ 日本語 user=ß mail: jürgen@example.de ip 10.1.2.3"
    for span in detect_pii(text):
        assert text[span.start:span.end] == span.original
    assert ("Ipv4", "10.1.2.3") in found(text)


def test_spans_sorted_and_not_overlapping():
    text = ("postgres://app:pw9Secret@db.prod.internal:5432/x token=eyJhbGciOiJIUzI1NiJ9."
            "eyJzdWIiOiIxIn0.c2lnbmF0dXJl mail ops@db.prod.internal 10.0.0.1 ::1")
    spans = detect_pii(text)
    assert spans
    for a, b in itertools.pairwise(spans):
        assert a.end <= b.start


def test_empty_and_type_errors():
    assert detect_pii("") == []
    with pytest.raises(TypeError):
        detect_pii(b"bytes")  # type: ignore[arg-type]


def test_redact_replaces_values_and_keeps_keys():
    text = "password=hunter2x user=bob from 10.0.0.7"
    assert redact(text) == "password=[Password] user=bob from [IPv4]"


# --- each type ------------------------------------------------------------------
@pytest.mark.parametrize("text,expected", [
    ("fatal: auth failed for 'https://ci:s3cretPw@git.example.com/acme/api.git'",
     ("UrlWithCredentials", "ci:s3cretPw")),
    ("Authorization: Bearer 0b79bab50daca910b000d4f1a2b675d604257e42",
     ("BearerToken", "0b79bab50daca910b000d4f1a2b675d604257e42")),
    ('{"x-api-key": "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d"}', ("ApiKey", "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d")),
    ("db_password: Winter2024!", ("Password", "Winter2024!")),
    ("ssn 219-09-9999 on file", ("Ssn", "219-09-9999")),
    ("card 4111 1111 1111 1111 declined", ("CreditCard", "4111 1111 1111 1111")),
    ("amex 378282246310005.", ("CreditCard", "378282246310005")),
    ('"cc_number": "5105105105105100"', ("CreditCard", "5105105105105100")),
    ("declined card 5555 5555 5555 4444 12/27", ("CreditCard", "5555 5555 5555 4444")),
    ("to=<k.tanaka@example.jp>", ("Email", "k.tanaka@example.jp")),
    ("hw-addr 52:54:00:ab:cd:ef up", ("MacAddress", "52:54:00:ab:cd:ef")),
    ("Physical Address: 00-1A-2B-3C-4D-5E", ("MacAddress", "00-1A-2B-3C-4D-5E")),
    ("client [2001:db8:85a3::8a2e:370:7334]:443", ("Ipv6", "2001:db8:85a3::8a2e:370:7334")),
    ("from fe80:0000:0000:0000:0204:61ff:fe9d:f156 ok", ("Ipv6", "fe80:0000:0000:0000:0204:61ff:fe9d:f156")),
    ("connect to 10.0.3.17:8080 refused", ("Ipv4", "10.0.3.17")),
    ("call (415) 555-0132 now", ("PhoneNumber", "(415) 555-0132")),
    ("sms to=+14155550199 failed", ("PhoneNumber", "+14155550199")),
    ("caller_id_number=3125550177 x", ("PhoneNumber", "3125550177")),
    ("resolve db01.prod.example.net failed", ("Hostname", "db01.prod.example.net")),
    ("node ip-10-0-12-34.ec2.internal ready", ("Hostname", "ip-10-0-12-34.ec2.internal")),
    ("aws_access_key_id = AKIA2IDW52IJB4LAJLJ6", ("AwsAccessKey", "AKIA2IDW52IJB4LAJLJ6")),
    ("aws_secret_access_key = 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",
     ("AwsAccessKey", "2jBMptUsGr7CmY/uCu3ZR1zTOlUcR64cXQLioDnk")),
    ("token=eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyIjoiYWxpY2UifQ.3bJ0rT8kZ1mPq9xW2yL5nV7c",
     ("Jwt", "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyIjoiYWxpY2UifQ.3bJ0rT8kZ1mPq9xW2yL5nV7c")),
    ("GITHUB_TOKEN=ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d npm publish",
     ("GitHubToken", "ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d")),
    ("PRIVATE-TOKEN: glpat-8xNbe3nNyjOq9wMxEhh2", ("GitLabToken", "glpat-8xNbe3nNyjOq9wMxEhh2")),
    ("slack xoxb-777741215472-8038528084148-x6kwXoIIXGvOoNZYW2mZp0zV invalid",
     ("SlackToken", "xoxb-777741215472-8038528084148-x6kwXoIIXGvOoNZYW2mZp0zV")),
    ("client_secret=SBeVRsfAGeAbP0VxNjAe_9i0mYtluYI0&grant_type=x",
     ("SecretAssignment", "SBeVRsfAGeAbP0VxNjAe_9i0mYtluYI0")),
    ("OPENAI_API_KEY=sk-Caqx9vJupc94tnwlavyfErGPmpGXafq0fjzLczbttOofL9H2",
     ("ApiKey", "sk-Caqx9vJupc94tnwlavyfErGPmpGXafq0fjzLczbttOofL9H2")),
    ("key sk_live_enG5ZFJoC6vWCBiJmpflvJfu in env", ("ApiKey", "sk_live_enG5ZFJoC6vWCBiJmpflvJfu")),
    ("maps key=AIzaFI3OyV2dZAkg05rK-gqv81RKMGHZEM9Ypvu region", ("ApiKey", "AIzaFI3OyV2dZAkg05rK-gqv81RKMGHZEM9Ypvu")),
    ("AccountName=x;AccountKey=cqe28+ajY75FnCttn6kfaqDeMqG3omjMyXHCabM6JOF8EFd0Nhcy/1kG==;EndpointSuffix=y",
     ("ApiKey", "cqe28+ajY75FnCttn6kfaqDeMqG3omjMyXHCabM6JOF8EFd0Nhcy/1kG==")),
    ("CREATE USER 'etl'@'%' IDENTIFIED BY 'Etl#Load#2024'", ("Password", "Etl#Load#2024")),
    ("Authorization: Basic YWRtaW46UzNjcjN0UGFzcyE=", ("Password", "YWRtaW46UzNjcjN0UGFzcyE=")),
    ("ok: [web01] => (item={'name': 'DB_PASSWORD', 'value': 'An5ible-Vault-Pw!'})",
     ("Password", "An5ible-Vault-Pw!")),
    ('- name: SMTP_PASSWORD\n  value: "Mail-Relay-2024"', ("Password", "Mail-Relay-2024")),
])
def test_detects(text, expected):
    assert expected in found(text)


def test_private_key_block_multiline_and_escaped():
    key = ("-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi\n"
           "RS+pnhEsNFjJyWVZvU+F8E4FgzxSJ3R1bPzg9r5\n-----END RSA PRIVATE KEY-----")
    assert found(f"loaded key: {key}\nnext line 10.0.0.1") == [("PrivateKey", key), ("Ipv4", "10.0.0.1")]
    escaped = key.replace("\n", "\\n")
    assert ("PrivateKey", escaped) in found(f'{{"tls_key":"{escaped}\\n"}}')


def test_private_key_without_end_covers_header_and_body():
    text = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEA\n"
    spans = detect_pii(text)
    assert [(s.pii_type, s.start) for s in spans] == [("PrivateKey", 0)]
    assert spans[0].original.endswith("SjAgEA")


def test_certificates_and_public_keys_are_not_private_keys():
    text = ("-----BEGIN CERTIFICATE-----\nMIIDXTCCAkWgAwIBAgIJAJC1HiIAZAiIMA0GCSqGSIb3\n"
            "-----END CERTIFICATE-----\n-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZI\n"
            "-----END PUBLIC KEY-----")
    assert found(text) == []


# --- decisions -------------------------------------------------------------------
def test_assignment_spans_cover_value_only():
    text = 'password=hunter2x "client_secret": "Zq8vR2mPz8LwY7tN4sJ1" api_key: js46LmuezqpGHoPZgPDc'
    assert found(text) == [("Password", "hunter2x"), ("SecretAssignment", "Zq8vR2mPz8LwY7tN4sJ1"),
                           ("ApiKey", "js46LmuezqpGHoPZgPDc")]


def test_query_string_value_stops_at_ampersand():
    assert found("GET /login?user=a&password=Sup3r!&next=/") == [("Password", "Sup3r!")]


def test_url_with_credentials_loses_only_its_user_info():
    text = "url=redis://default:R3d1sP4ss@redis.cache.internal:6379/0."
    assert found(text) == [("UrlWithCredentials", "default:R3d1sP4ss"), ("Hostname", "redis.cache.internal")]
    text = "postgres://app:s3cr3t@db-primary.acme.internal:5432/payments"
    assert redact(text) == "postgres://[URL]@[Hostname]:5432/payments"
    # a token as the user name; the password is not also an e-mail address
    text = "pushing to https://x-access-token:ghs_16C7e42F292c6912E7710c838347Ae178B4a@github.com/acme/x.git"
    assert found(text) == [("UrlWithCredentials", "x-access-token:ghs_16C7e42F292c6912E7710c838347Ae178B4a"),
                           ("Hostname", "github.com")]
    assert found("dsn https://3f1c2b1e9a7d4c1e8b5a2d6f0e9c1a77@10.0.0.9/4412") == [
        ("UrlWithCredentials", "3f1c2b1e9a7d4c1e8b5a2d6f0e9c1a77"), ("Ipv4", "10.0.0.9")]
    # a login name alone is not a credential
    assert "UrlWithCredentials" not in {t for t, _ in found("ssh://git@git.example.com:22/x")}
    # a password with no user name (how Redis URLs carry one); nothing before "@" at all is none
    assert found("REDIS_URL=redis://:Hx7kq2zP9@cache:6379/0") == [("UrlWithCredentials", ":Hx7kq2zP9")]
    assert redact("redis://:Hx7kq2zP9@cache.acme.internal:6379/0") == "redis://[URL]@[Hostname]:6379/0"
    assert found("ssh://@git.example.com/x") == [("Hostname", "git.example.com")]


def test_bearer_wins_tie_with_jwt_and_issuer_key_wins_tie_with_bearer():
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6y"
    assert found(f"Authorization: Bearer {jwt}") == [("BearerToken", jwt)]
    key = "sk-proj-zNNAL5wIScGebcy8F5n3_YNBDRzrZSgqbjG3uhkWKFLf6xuI"
    assert found(f"Authorization: Bearer {key}") == [("ApiKey", key)]


def test_longest_match_wins():
    # the e-mail contains a hostname; the URL contains a hostname and a password
    assert found("to bob@mail.example.com") == [("Email", "bob@mail.example.com")]


def test_loopback_reported_unspecified_ipv6_not():
    assert found("listen 127.0.0.1:8080 and [::1]:8080") == [("Ipv4", "127.0.0.1"), ("Ipv6", "::1")]
    assert found("Server listening on :: port 22.") == []


def test_ipv6_followed_by_port_is_trimmed():
    assert found("[client 2001:db8::17]:51810") == [("Ipv6", "2001:db8::17")]


def test_sip_number_at_host_is_phone_not_email():
    assert found("From: <sip:+34915550142@pbx.example.com>;tag=1") == [
        ("PhoneNumber", "+34915550142"), ("Hostname", "pbx.example.com")]


def test_message_id_is_not_an_email():
    assert found("message-id=<CAF1x2y3z4@mail.gmail.com>") == [("Hostname", "mail.gmail.com")]


def test_netfilter_mac_field_gives_two_addresses():
    text = "MAC=52:54:00:ab:cd:ef:fe:54:00:12:34:56:08:00 SRC=185.220.101.4"
    assert found(text) == [("MacAddress", "52:54:00:ab:cd:ef"), ("MacAddress", "fe:54:00:12:34:56"),
                           ("Ipv4", "185.220.101.4")]


# --- hard negatives -----------------------------------------------------------------
@pytest.mark.parametrize("text", [
    "2024-03-12T09:14:02.123456+01:00 Mar 12 09:14:02 epoch 1710234842 ms 1710234842123",
    "kernel 6.1.0-18-amd64 Microsoft Windows [Version 10.0.19041.1415] v10.0.19041.1",
    "Chrome/122.0.0.0 Safari/537.36 Edg/122.0.2365.80",
    "version 4.2.0.1 build 1.2.3.4.5 OID 1.3.6.1.4.1.2021.10.1.3.1 iso.3.6.1.2.1.1.5.0",
    "request 550e8400-e29b-41d4-a716-446655440000 trace 0af7651916cd43dd8448eb211c80319c",
    "sha256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 commit 9fceb02d0ae5",
    "at com.example.orders.OrderRepository.findById(OrderRepository.java:58)",
    "org.apache.kafka.clients.NetworkClient java.net.UnknownHostException io.netty.channel",
    "pod/api-7d9f8b6c5-x2x9z replicaset.apps/worker-5c8d7b9f4d scaled",
    "Reading config.yaml, secrets.json, .env.local, app.log, settings.py, run.sh, Foo.java, README.md",
    "Listening on port :8080 took 1m32.5s transferred 1.4 GiB (1503238553 bytes)",
    "segfault at 7fff5fbff8c0 ip 00007f3b2c1d9e50 ptr=0x7fff5fbff8c0",
    "std::vector<int>::push_back Foo::Bar::Baz core::result::unwrap_failed",
    "invalid: 4111 1111 1111 1112 and 1234 5678 9012 3456 and 000-12-3456 666-45-6789 912-34-5678",
    "order 123456789012 ticket 4412-8812 range 100-200-3000 date 2024-03-12",
    # Luhn-valid digit runs that are ids, not cards: no card word before them
    "req=3679002136893286 ts_ns=4012888888881881 snowflake 4111111111111111 span_id=5555555555554444",
    # card-like groups inside longer runs of numbers
    "row 12 4111 1111 1111 1111 and 4111 1111 1111 1111 2222 and 4242-4242-4242-4242-4242",
    '{"name": "LOG_LEVEL", "value": "debug"} {"name": "db_host", "value": "postgres-primary"}',
    "password=*** passwd: [REDACTED] secret=<redacted> token=${TOKEN} api_key=YOUR_API_KEY_HERE",
    "PWD=/home/deploy ; pam_unix(chpasswd:chauthtok) Failed password for invalid user admin",
    "password_expiry_days: 90 token_ttl=3600 max_tokens=4096 (using password: YES)",
    '"client_token":"hmac-sha256:5f3a2c11d9e8c7b6a5f4e3d2c1b0a9f8e7d6c5b4"',
    "HikariPool@6d3af739 deploy@ci-runner @babel/core@7.24.0 nginx@sha256:abc",
    "timezone +0530 +01:00 -0700, progress 45.5% (4412/9700)",
])
def test_not_pii(text):
    assert found(text) == []


def test_the_collector_is_held_off_during_a_scan_and_left_as_it_was(monkeypatch):
    import gc

    from tftsr.pii import engine

    during = []
    real = engine.normalise

    def watching(text):
        during.append(gc.isenabled())
        if "boom" in text:
            raise RuntimeError("boom")
        return real(text)

    monkeypatch.setattr(engine, "normalise", watching)
    assert gc.isenabled()
    assert [s.original for s in detect_pii("from 10.0.3.17")] == ["10.0.3.17"]
    assert during == [False] and gc.isenabled()
    with pytest.raises(RuntimeError):
        detect_pii("boom")
    assert gc.isenabled()  # on again after a failed scan
    gc.disable()
    try:
        detect_pii("from 10.0.3.17")
        assert not gc.isenabled()  # the caller's choice is kept
    finally:
        gc.enable()
    assert during == [False, False, False]


def _resolved_by_hand(candidates):
    """The rule of ``resolve_overlaps`` applied the plain way: clusters of
    transitively overlapping candidates; in each, best first (longest, then
    by type priority, then earliest), each kept unless it overlaps one kept."""
    kept, cluster, cluster_end = [], [], -1
    for cand in sorted(c for c in candidates if c[1] > c[0]) + [(float("inf"), float("inf"), None)]:
        if cand[0] >= cluster_end and cluster:
            chosen = []
            for c in sorted(cluster, key=lambda c: (c[0] - c[1], RANK[c[2]], c[0])):
                if all(c[1] <= k[0] or c[0] >= k[1] for k in chosen):
                    chosen.append(c)
            kept += sorted(chosen)
            cluster = []
        if cand[2] is None:
            break
        cluster.append(cand)
        cluster_end = max(cluster_end, cand[1]) if len(cluster) > 1 else cand[1]
    return kept


def test_overlapping_candidates_resolve_as_the_rule_says():
    rng = random.Random(11)
    for _ in range(3000):
        candidates = []
        for _ in range(rng.randint(1, 40)):
            start = rng.randint(0, 120)
            candidates.append((start, start + rng.choice([0, 1, 2, 3, 5, 8, 13, 40, 5000]), rng.choice(PRIORITY)))
        assert resolve_overlaps(list(candidates)) == _resolved_by_hand(candidates), candidates


def test_a_long_chain_of_overlapping_candidates_keeps_every_other_one():
    # each candidate overlaps the next, all equally long: the earliest wins each tie
    chain = [(i * 5, i * 5 + 9, "Email") for i in range(100_000)]
    assert resolve_overlaps(chain) == chain[::2]
