"""Detection classes added for disguised and loosely written values: Unicode
tricks, percent-encoding, token prefixes glued to other words, credentials in
prose and command-line flags, host names under any public suffix, phone
numbers and SSNs written without their usual separators. Each class comes
with the false-positive traps that keep it honest."""

from __future__ import annotations

import pytest
from tftsr.pii import detect_pii, redact


def found(text: str) -> list[tuple[str, str]]:
    spans = detect_pii(text)
    for span in spans:
        assert text[span.start:span.end] == span.original
    return [(s.pii_type, s.original) for s in spans]


# --- Unicode ----------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    # Cyrillic "а" inside the key
    ("db pаssword=Winter2024x", ("Password", "Winter2024x")),
    # Greek omicron and Cyrillic "р" in "token"/"password"
    ("client_tοken=SBeVRsfAGeAbP0VxNjAe9i0mYtluYI0", ("SecretAssignment", "SBeVRsfAGeAbP0VxNjAe9i0mYtluYI0")),
    ("раssword: Hunter2024x", ("Password", "Hunter2024x")),
    # full-width key, value, digits and at sign
    ("ｐａｓｓｗｏｒｄ＝Ｈｕｎｔｅｒ２０２４", ("Password", "Ｈｕｎｔｅｒ２０２４")),
    ("peer １０．２０．３０．４０ refused", ("Ipv4", "１０．２０．３０．４０")),
    ("notify alice＠example.com", ("Email", "alice＠example.com")),
    ("notify ａｌｉｃｅ＠ｅｘａｍｐｌｅ．ｃｏｍ", ("Email", "ａｌｉｃｅ＠ｅｘａｍｐｌｅ．ｃｏｍ")),
    # zero-width characters inside a token and a key
    ("token ghp_u8jzPde0Igx\u200bLd6GncfBAepfJBd0Kh8oOOL8d",
     ("GitHubToken", "ghp_u8jzPde0Igx\u200bLd6GncfBAepfJBd0Kh8oOOL8d")),
    ("AKIA2IDW52\u200dIJB4LAJLJ6 used", ("AwsAccessKey", "AKIA2IDW52\u200dIJB4LAJLJ6")),
    ("pass\u200bword=Winter2024x", ("Password", "Winter2024x")),
    ("pass\u00adword=Winter2024x", ("Password", "Winter2024x")),
    ("\ufeffpassword=Winter2024x", ("Password", "Winter2024x")),
    ("bob\u2060@example.com", ("Email", "bob\u2060@example.com")),
    # no-break and other odd spaces as separators
    ("ssn\u00a0219-09-9999", ("Ssn", "219-09-9999")),
    ("card\u202f4111\u00a01111\u00a01111\u00a01111", ("CreditCard", "4111\u00a01111\u00a01111\u00a01111")),
    ("Authorization:\u2003Bearer\u00a00b79bab50daca910b000d4f1a2b675d604257e42",
     ("BearerToken", "0b79bab50daca910b000d4f1a2b675d604257e42")),
])
def test_unicode_disguises(text, expected):
    assert expected in found(text)


def test_unicode_offsets_map_back_around_expanded_and_removed_characters():
    # "ﬁ" becomes two letters, "…" three dots, "\u200b" nothing: the findings
    # after them still index the original text
    text = "ﬁle…\u200b\u200b reached 10.0.0.1 from ﬁona@example.com\u200b and ２０１.０.１１３.５"
    assert found(text) == [("Ipv4", "10.0.0.1"), ("Email", "ﬁona@example.com"),
                           ("Ipv4", "２０１.０.１１３.５")]


def test_unicode_traps():
    # Russian and Greek words keep their letters; a look-alike only counts
    # when it touches a Latin letter
    assert found("пароль: сервер порт ошибка; κωδικός πρόσβασης") == []
    assert found("Ünïcødé ☃ 日本語 ½ ① ™ № résumé naïve") == []
    # a lone look-alike between spaces does not build a key
    assert found("р а ѕ ѕ = Winter2024x") == []


# --- percent-encoding ---------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("GET /invite?to=bob.martin%40gmail.com&x=1", ("Email", "bob.martin%40gmail.com")),
    ("q=BOB%40EXAMPLE.COM", ("Email", "BOB%40EXAMPLE.COM")),
    ("next=ops%2Bpager%40acme.io", ("Email", "ops%2Bpager%40acme.io")),
    ("redirect=https%3A%2F%2Fsvc%3AS3cretPw9%40db.example.com%2Fx",
     ("UrlWithCredentials", "svc%3AS3cretPw9")),
    ("sig=Qm7wZp3Lx9Rv2Tn8Bc4Dk6Fj1Gs5Ha0Ke%3D&se=1", ("SecretAssignment", "Qm7wZp3Lx9Rv2Tn8Bc4Dk6Fj1Gs5Ha0Ke%3D")),
    ("addr=fe80%3A%3A1ff%3Afe23%3A4567%3A890a", ("Ipv6", "fe80%3A%3A1ff%3Afe23%3A4567%3A890a")),
])
def test_percent_encoded(text, expected):
    assert expected in found(text)


def test_percent_encoded_value_keeps_its_encoded_ampersand():
    assert found("GET /login?user=a&password=p%26ss%20w0rd&next=/") == [("Password", "p%26ss%20w0rd")]


def test_percent_traps():
    assert found("progress 45.5% done, cpu 100%, rate 3%/s, 50%40 split") == []
    assert found("GET /static/app%2Emin.js?v=1%2E2%2E3") == []


# --- token prefixes after any non-alphanumeric ----------------------------------------
GHP = "ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d"


@pytest.mark.parametrize("text, expected", [
    (f"export CFG_{GHP}", ("GitHubToken", GHP)),
    (f"cfg_{GHP}.txt", ("GitHubToken", GHP)),
    ("backup-AKIA2IDW52IJB4LAJLJ6.csv uploaded", ("AwsAccessKey", "AKIA2IDW52IJB4LAJLJ6")),
    ("role/ASIA2IDW52IJB4LAJLJ6:session", ("AwsAccessKey", "ASIA2IDW52IJB4LAJLJ6")),
    ("key_gho_16C7e42F292c6912E7710c838347Ae178B4a9 ok", ("GitHubToken", "gho_16C7e42F292c6912E7710c838347Ae178B4a9")),
    ("x-github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz012345",
     ("GitHubToken", "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz012345")),
    ("runner_glrt-8xNbe3nNyjOq9wMxEhh2Kp", ("GitLabToken", "glrt-8xNbe3nNyjOq9wMxEhh2Kp")),
    ("deploy/glpat-8xNbe3nNyjOq9wMxEhh2", ("GitLabToken", "glpat-8xNbe3nNyjOq9wMxEhh2")),
    ("hook.slack_xoxb-777741215472-8038528084148-x6kwXoIIXGvOoNZYW2mZp0zV",
     ("SlackToken", "xoxb-777741215472-8038528084148-x6kwXoIIXGvOoNZYW2mZp0zV")),
    ("env_sk-ant-api03-Caqx9vJupc94tnwlavyfErGPmpGXafq0fjzL", ("ApiKey", "sk-ant-api03-Caqx9vJupc94tnwlavyfErGPmpGXafq0fjzL")),
    ("maps=AIzaFI3OyV2dZAkg05rK-gqv81RKMGHZEM9Ypvu", ("ApiKey", "AIzaFI3OyV2dZAkg05rK-gqv81RKMGHZEM9Ypvu")),
    ("//registry/:_authToken=npm_Caqx9vJupc94tnwlavyfErGPmpGXafq0fjzL",
     ("ApiKey", "npm_Caqx9vJupc94tnwlavyfErGPmpGXafq0fjzL")),
])
def test_token_prefix_after_any_non_alphanumeric(text, expected):
    assert expected in found(text)


def test_token_prefix_traps():
    # glued to a letter or digit: the middle of a longer word or id
    assert found(f"xghp_{GHP[4:]} 1AKIA2IDW52IJB4LAJLJ6 task-runner-sk-prod-cluster-node-pool") == []
    assert found("disk-usage sk-prod-cluster-node-pool-west ask-for-help") == []
