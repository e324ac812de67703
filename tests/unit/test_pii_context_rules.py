"""Context rules of the PII detector: command-line passwords, signed-URL
signatures, Slack webhook paths, Cisco MAC addresses, Message-IDs and
dotted API/schema identifiers that are not hosts."""

from __future__ import annotations

import pytest
from tftsr.pii import detect_pii


def found(text: str) -> set[tuple[str, str]]:
    return {(s.pii_type, s.original) for s in detect_pii(text)}


@pytest.mark.parametrize("text, expected", [
    ("ldapsearch -x -H ldaps://dc02.corp.example.com -w 'Ld@pB1nd#77' -b dc=corp", ("Password", "Ld@pB1nd#77")),
    ("redis-cli -h 10.0.0.5 -p 6379 -a 'r3d1s-S3cret-9981' INFO", ("Password", "r3d1s-S3cret-9981")),
    ("+ curl -sS -u admin:11a9f4c2d7e84b3f9c0d https://ci.example.com/job", ("Password", "11a9f4c2d7e84b3f9c0d")),
    ("GET https://a.blob.core.windows.net/x?sv=2022-11-02&sig=Qm7wZp3Lx9Rv2Tn8Bc4Dk6Fj1Gs5Ha0Ke%3D 403",
     ("SecretAssignment", "Qm7wZp3Lx9Rv2Tn8Bc4Dk6Fj1Gs5Ha0Ke%3D")),
    ('err="Post https://hooks.slack.com/services/T02ABCDEF/B03GHIJKL/x9Yq7Wm2Pz4Lk8Rv3Tn6Bc1D"',
     ("SlackToken", "T02ABCDEF/B03GHIJKL/x9Yq7Wm2Pz4Lk8Rv3Tn6Bc1D")),
    ("%SW_MATM-4-MACFLAP_NOTIF: Host 0050.56a3.1b2c in vlan 120 is flapping", ("MacAddress", "0050.56a3.1b2c")),
])
def test_context_finds(text, expected):
    assert expected in found(text)


@pytest.mark.parametrize("text, not_expected", [
    ('"User-Agent: curl/8.4.0 -u x"', ("Password", "x")),
    ("cron: rotate.sh 2024.1125.0412 done", ("MacAddress", "2024.1125.0412")),
    ("<= billing@acme.com H=smtp.acme.com id=20261125034755.A1B2C3@acme.com", ("Email", "20261125034755.A1B2C3@acme.com")),
    ("msgid=<202611250406.5APB60Ab003312@mail01.acme.com>, relay=localhost", ("Email", "202611250406.5APB60Ab003312@mail01.acme.com")),
    ('{"apiVersion":"audit.k8s.io/v1","kind":"Event"}', ("Hostname", "audit.k8s.io")),
    ('"requestURI":"/apis/coordination.k8s.io/v1/leases","apiGroup":"coordination.k8s.io"', ("Hostname", "coordination.k8s.io")),
    ('<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event">', ("Hostname", "schemas.microsoft.com")),
    ('{"@type":"type.googleapis.com/google.cloud.audit.AuditLog"}', ("Hostname", "type.googleapis.com")),
])
def test_context_rejects(text, not_expected):
    assert not_expected not in found(text)


def test_hosts_next_to_identifier_fields_are_still_hosts():
    text = '{"apiVersion":"v1","server":"https://api.prod.example.com:6443","upn":"a.b@example.com"}'
    assert ("Hostname", "api.prod.example.com") in found(text)
    assert ("Email", "a.b@example.com") in found(text)


def test_billing_address_still_an_email_outside_msgid():
    assert ("Email", "billing@acme.com") in found("<= billing@acme.com H=smtp.acme.com [10.0.0.25]")
