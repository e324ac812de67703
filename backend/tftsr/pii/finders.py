"""The finders: each scans a whole text once and appends candidates.

A candidate is ``(start, end, pii_type)``. Finders do not care about
overlaps; :mod:`tftsr.pii.engine` picks the winners.

Speed rules every pattern here follows (``re`` is a backtracking engine):

* Each pattern starts with a literal or a small character class, so ``re``
  can skip ahead in C to the next place a match could start ("@", "://",
  ".", a digit) instead of trying every position. Lookbehinds are placed
  after the first character or checked in Python for the same reason.
* Repeats that could re-scan the same characters are bounded or possessive
  (``++``, ``*+``), so a crafted line (a million "a", "1." or "@") costs
  linear time.
* Keyword patterns run on ``text.lower()`` (same length as ``text`` for the
  texts it is used on, see :func:`lowered`), which avoids IGNORECASE scans.
* Context needed around a match (the local part before "@", the labels
  before a top-level domain) is read from a bounded window.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from . import validators as v

Candidate = tuple[int, int, str]
Finder = Callable[[str, str, list], None]

_WORDISH = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


def _boundary_before(text: str, start: int, chars=_WORDISH) -> bool:
    return start == 0 or text[start - 1] not in chars


# --- private keys ------------------------------------------------------------
_PEM_BEGIN = re.compile(r"-----BEGIN ((?:[A-Z0-9]+ ){0,4})PRIVATE KEY( BLOCK)?-----")
_PEM_END = re.compile(r"-----END (?:[A-Z0-9]+ ){0,4}PRIVATE KEY(?: BLOCK)?-----")
_PEM_BODY = re.compile(r"[A-Za-z0-9+/=\\\s:,.\-]{0,65536}")


def find_private_keys(text: str, lower: str, out: list) -> None:
    """Whole ``-----BEGIN ... PRIVATE KEY-----`` blocks, also when the line
    breaks are written as ``\\n`` inside JSON. A block without its END line
    (a truncated log) covers the header and the base64 body that follows."""
    pos = 0
    next_end = -2  # -2: not searched yet; -1: no END marker after ``pos``
    while True:
        begin = text.find("-----BEGIN ", pos)
        if begin < 0:
            return
        m = _PEM_BEGIN.match(text, begin)
        if not m:
            pos = begin + 11
            continue
        if next_end == -2 or (next_end != -1 and next_end < m.end()):
            next_end = text.find("-----END ", m.end())
        end_m = _PEM_END.match(text, next_end) if next_end >= 0 else None
        if end_m and end_m.start() - m.end() <= 65536:
            out.append((begin, end_m.end(), "PrivateKey"))
            pos = end_m.end()
        else:
            body = _PEM_BODY.match(text, m.end())
            stop = body.end()
            while stop > m.end() and text[stop - 1] in " \t\r\n\\":
                stop -= 1
            out.append((begin, stop, "PrivateKey"))
            pos = max(stop, m.end())


# --- provider tokens (shape alone says what they are) ------------------------
# (literal the token starts with, type, rest of the pattern). ``re`` finds the
# literal at C speed; the lookbehind right after it rejects a literal in the
# middle of a longer word before any long repeat runs.
_TOKEN_RULES = (
    ("AKIA", "AwsAccessKey", r"[A-Z0-9]{16}(?![A-Za-z0-9])"),
    ("ASIA", "AwsAccessKey", r"[A-Z0-9]{16}(?![A-Za-z0-9])"),
    ("gh", "GitHubToken", r"[pousr]_[A-Za-z0-9]{36,255}+"),
    ("github_pat_", "GitHubToken", r"[A-Za-z0-9_]{22,255}+"),
    ("glpat-", "GitLabToken", r"[A-Za-z0-9_\-]{20,255}+"),
    ("xox", "SlackToken", r"[abposr]-[A-Za-z0-9\-]{10,255}+"),
    ("sk-", "ApiKey", r"(?:ant-|proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,255}+"),
    ("sk_", "ApiKey", r"(?:live|test)_[A-Za-z0-9]{16,255}+"),
    ("rk_", "ApiKey", r"(?:live|test)_[A-Za-z0-9]{16,255}+"),
    ("AIza", "ApiKey", r"[0-9A-Za-z_\-]{35}(?![A-Za-z0-9_\-])"),
    ("SG.", "ApiKey", r"[A-Za-z0-9_\-]{16,64}+\.[A-Za-z0-9_\-]{16,64}+"),
    ("hv", "SecretAssignment", r"[sbr]\.[A-Za-z0-9_\-]{20,255}+"),
    ("eyJ", "Jwt", r"[A-Za-z0-9_\-]{8,4096}+\.eyJ[A-Za-z0-9_\-]{8,8192}+\.[A-Za-z0-9_\-]{0,4096}+"),
)
_TOKEN_RES = tuple(
    (literal, pii_type,
     re.compile(re.escape(literal) + r"(?<![A-Za-z0-9_\-]" + re.escape(literal) + ")" + rest))
    for literal, pii_type, rest in _TOKEN_RULES
)


def find_tokens(text: str, lower: str, out: list) -> None:
    """Keys and tokens whose shape names their issuer (AWS, GitHub, GitLab,
    Slack, OpenAI/Anthropic, Stripe, Google, SendGrid, Vault, JWTs)."""
    for needle, pii_type, rx in _TOKEN_RES:
        if needle not in text:
            continue
        for m in rx.finditer(text):
            start = m.start()
            if not _boundary_before(text, start):
                continue
            if needle == "sk-":
                body = m.group()[3:]
                if not (any(c.isdigit() for c in body) and any(c.isupper() for c in body)):
                    continue  # "sk-prod-cluster-node-pool" is a name, not a key
            out.append((start, m.end(), pii_type))


# --- credentials in URLs -----------------------------------------------------
_URL_CREDS = re.compile(
    r"://([^\s:/@\"'<>\[\]{}]{1,256})(?::([^\s/@\"'<>]{1,256}))?@([^\s\"'<>`]{0,2048}+)")
_SCHEME_REV = re.compile(r"[a-z0-9+.\-]{0,31}[a-z]")
_URL_TRAIL = ".,;:!?)]}"


def find_url_credentials(text: str, lower: str, out: list) -> None:
    """``scheme://user:password@host/...`` and ``scheme://<token>@host/...``:
    the whole URL, scheme to the end."""
    for m in _URL_CREDS.finditer(text):
        colon = m.start()
        rev = _SCHEME_REV.match(lower[max(0, colon - 32):colon][::-1])
        if not rev:
            continue
        start = colon - rev.end()
        end = m.end()
        while end > m.start(3) and text[end - 1] in _URL_TRAIL:
            end -= 1
        secret = m.group(2)
        if secret is None:
            # user name only: a credential when it is a token (Sentry DSNs,
            # https://<token>@github.com/...), not when it is a login name
            secret = m.group(1)
            if len(secret) < 16 or not v.looks_random(secret):
                continue
        if is_placeholder_password(secret):
            continue
        out.append((start, end, "UrlWithCredentials"))


def is_placeholder_password(value: str) -> bool:
    return v.is_placeholder(value) or value in ("*", "****", "xxxxx")


# --- e-mail addresses --------------------------------------------------------
_EMAIL_DOMAIN = re.compile(
    r"@((?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.){1,16}[A-Za-z]{2,24})(?![A-Za-z0-9\-]|\.[A-Za-z0-9])"
)
_LOCAL_REV = re.compile(r"[A-Za-z0-9._%+\-']{1,64}")
_NOT_MAIL_CONTEXT = ("message-id", "call-id", "in-reply-to", "references")


def find_emails(text: str, lower: str, out: list) -> None:
    """Addresses found from their "@": the local part is read backwards from
    it. A local part that is only digits (``sip:+14155550123@pbx``) is a phone
    number at a host, not a mailbox. Message-ID and SIP Call-ID values look
    like addresses but identify messages, so they are skipped."""
    if "@" not in text:
        return
    for m in _EMAIL_DOMAIN.finditer(text):
        at = m.start()
        rev = _LOCAL_REV.match(text[max(0, at - 64):at][::-1])
        if not rev:
            continue
        local = rev.group()[::-1].lstrip(".'")
        start = at - len(local)
        if not local:
            continue
        tld = m.group(1).rsplit(".", 1)[1]
        if not (tld.islower() or tld.isupper()):
            continue
        bare = local.lstrip("+")
        if bare.isdigit():
            if v.phone_digits_ok(bare):
                out.append((start, at, "PhoneNumber"))
            continue
        before = lower[max(0, start - 16):start]
        if any(word in before for word in _NOT_MAIL_CONTEXT):
            continue
        out.append((start, m.end(), "Email"))


# --- hostnames ---------------------------------------------------------------
_HOST_TLD = re.compile(r"\.([A-Za-z]{2,12}+)(?![A-Za-z0-9_]|\.[A-Za-z0-9])")
_HOST_REV = re.compile(r"[A-Za-z0-9.\-]{1,253}")


def find_hostnames(text: str, lower: str, out: list) -> None:
    """Dotted names ending in a known top-level domain, found from the TLD
    and read backwards. Names that start right after a "." (``.env.local``,
    the tail of a longer dotted token) or belong to code (``self.app.io``)
    are not hosts."""
    tlds = v.TLDS
    for m in _HOST_TLD.finditer(text):
        if m.group(1).lower() not in tlds:
            continue
        dot = m.start()
        rev = _HOST_REV.match(text[max(0, dot - 253):dot][::-1])
        if not rev:
            continue
        head = rev.group()[::-1]
        start = dot - len(head)
        # trim characters that cannot start a name
        while head and head[0] in ".-":
            head = head[1:]
            start += 1
        if not head or (start > 0 and text[start - 1] in "._"):
            continue  # glued to something longer: ``.env.local``, ``x_y.example.com``
        name = text[start:m.end()]
        if v.valid_hostname(name):
            out.append((start, m.end(), "Hostname"))


# --- network addresses -------------------------------------------------------
_VERSION_CONTEXT = re.compile(r"(?<![a-z])(?:version|ver|release|build|firmware|fw)[\s:=/\"']{0,4}\Z")


def _ipv4_ok_here(text: str, lower: str, start: int, candidate: str) -> bool:
    """Valid octets, not a product version (``Chrome/120.0.0.0``), not after
    the word version/build/release/firmware."""
    if not v.ipv4_ok(candidate):
        return False
    if start >= 2 and text[start - 1] == "/" and text[start - 2].isalpha() \
            and candidate.endswith(".0"):
        return False  # Chrome/122.0.0.0 (but alice/203.0.113.90 is an address)
    return not _VERSION_CONTEXT.search(lower[max(0, start - 12):start])


_IPV6_COMPRESSED = re.compile(r"::")
_IPV6_REV = re.compile(r"[0-9A-Fa-f:]{0,40}")
_IPV6_FWD = re.compile(
    r"(?:[0-9A-Fa-f]{1,4}:){0,6}\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?![\d.])|[0-9A-Fa-f:]{0,40}")
# Eight full groups, found from the first ":" (the first group is checked
# backwards) so that the scan only stops at colons.
_IPV6_FULL = re.compile(r":(?:[0-9A-Fa-f]{1,4}:){6}[0-9A-Fa-f]{1,4}(?![\w:])")
_HEX_REV = re.compile(r"[0-9A-Fa-f]{1,4}")


def find_ipv6(text: str, lower: str, out: list) -> None:
    """Full (eight groups) and compressed ("::") addresses, checked with
    :mod:`ipaddress`. The unspecified address "::" alone is not reported
    (it is a wildcard, and "::" is also a separator in code); "::1" is."""
    seen_upto = -1
    if "::" in text:
        for m in _IPV6_COMPRESSED.finditer(text):
            at = m.start()
            if at < seen_upto:
                continue
            rev = _IPV6_REV.match(text[max(0, at - 40):at][::-1])
            start = at - rev.end()
            fwd = _IPV6_FWD.match(text, m.end())
            end = fwd.end()
            seen_upto = end
            if start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_:."):
                continue
            if end < len(text) and (text[end].isalnum() or text[end] == "_"):
                continue
            # an unbracketed address may be followed by ":port": drop
            # trailing groups until what is left is an address
            candidate = text[start:end]
            for _ in range(8):
                if candidate != "::" and v.ipv6_ok(candidate):
                    out.append((start, start + len(candidate), "Ipv6"))
                    break
                cut = candidate.rfind(":")
                if start + cut <= at + 1:
                    break
                candidate = candidate[:cut]
    for m in _IPV6_FULL.finditer(text):
        colon = m.start()
        rev = _HEX_REV.match(text[max(0, colon - 4):colon][::-1])
        if not rev:
            continue
        start = colon - rev.end()
        if start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_:."):
            continue
        if v.ipv6_ok(text[start:m.end()]):
            out.append((start, m.end(), "Ipv6"))


# Found from the first separator, so the scan stops only at ":" and "-".
_MAC = re.compile(
    r"([:\-])(?<=(?<![\w:\-.])[0-9A-Fa-f]{2}[:\-])[0-9A-Fa-f]{2}(?:\1[0-9A-Fa-f]{2}){4}"
    r"(?![\w\-]|:[0-9A-Fa-f])"
)
_IPTABLES_MAC = re.compile(r"MAC=((?:[0-9A-Fa-f]{2}:){13}[0-9A-Fa-f]{2})(?![\w:])")


def find_macs(text: str, lower: str, out: list) -> None:
    """Six hex pairs joined by ":" or "-" (one kind). The netfilter ``MAC=``
    field (destination, source and ethertype glued together) yields two."""
    for m in _MAC.finditer(text):
        out.append((m.start() - 2, m.end(), "MacAddress"))
    if "MAC=" in text:
        for m in _IPTABLES_MAC.finditer(text):
            s = m.start(1)
            out.append((s, s + 17, "MacAddress"))
            out.append((s + 18, s + 35, "MacAddress"))


# --- numbers: IPv4, cards, SSNs, phones --------------------------------------
# One scan for every number-shaped finding that starts with a digit: ``re``
# pays a fixed cost at each place a match could start, so one pattern with a
# branch per shape is several times faster than one pattern per shape. Every
# branch needs the first digit to start a token (not after a word character
# or a dotted number); branch-specific conditions are checked in Python.
_NUMERIC = re.compile(
    r"""
    \d(?<!\w\d)(?<![A-Za-z0-9]\.\d)       # starts a token ("...10.0.0.1" does)
    (?:
      (?P<ip>\d{0,2}\.\d{1,3}\.\d{1,3}\.\d{1,3})(?!\w|\.\d)          # 10.0.0.1
    | (?P<ssn>\d\d-\d\d-\d{4})(?![\w\-]|\.\d)                        # 123-45-6789
    | (?P<nanp>\d\d([\-.])\d{3}(?P=sep_nanp)\d{4})(?![\w\-]|\.\d)     # 415-555-0132, 415.555.0132
    | (?P<nanp1>-\d{3}-\d{3}-\d{4})(?![\w\-]|\.\d)                    # 1-800-555-0100
    | (?P<card>(?:[ \-]?\d){12,22}+)(?![\w\-]|\.\d)                  # 4111 1111 1111 1111
    | (?P<natl>\d{1,4}[ ]\d{3,4}[ ]\d{3,4})(?![\w\-]|\.\d)           # 020 7946 0958
    )
    """.replace("(?P=sep_nanp)", "(?P=sep)").replace("([\\-.])", "(?P<sep>[\\-.])"),
    re.VERBOSE,
)
_CARD_SPLIT = re.compile(r"[ \-]")


def find_numbers(text: str, lower: str, out: list) -> None:
    """IPv4 addresses, card numbers, SSNs and North American / national phone
    numbers: see the checks in each branch below."""
    for m in _NUMERIC.finditer(text):
        kind = m.lastgroup
        if kind == "sep":
            kind = "nanp"
        start, end = m.start(), m.end()
        prev = text[start - 1] if start else " "
        if kind == "ip":
            if _ipv4_ok_here(text, lower, start, m.group()):
                out.append((start, end, "Ipv4"))
        elif kind == "ssn":
            # area 000/666/9xx, group 00 and serial 0000 are never issued
            if prev not in "-+" and v.ssn_ok(text[start:start + 3], text[start + 4:start + 6],
                                             text[start + 7:end]):
                out.append((start, end, "Ssn"))
        elif kind in ("nanp", "nanp1"):
            digits = m.group().replace("-", "").replace(".", "")
            area, exchange = (digits[1:4], digits[4:7]) if kind == "nanp1" else (digits[:3], digits[3:6])
            if kind == "nanp1" and text[start] != "1":
                continue
            if prev not in "-:/+" and area[0] not in "01" and exchange[0] not in "01":
                out.append((start, end, "PhoneNumber"))
        elif kind == "card":
            if prev not in "-+":
                _card(text, m.group(), start, out)
        elif kind == "natl":
            digits = m.group().replace(" ", "")
            if text[start] == "0" and prev not in "-:/+" and v.phone_digits_ok(digits) \
                    and len(digits) >= 9:
                out.append((start, end, "PhoneNumber"))


def _card(text: str, candidate: str, start: int, out: list) -> None:
    """13-19 digits, run together or grouped the way cards are printed, with
    an issuer prefix that fits the length and a valid Luhn check digit. When
    the digit run continues past the card (``4242... 12/27``) the longest
    leading groups that form a card are taken."""
    if candidate.isdigit():
        if len(candidate) <= 19 and v.card_brand_ok(candidate) and v.luhn_ok(candidate):
            out.append((start, start + len(candidate), "CreditCard"))
        return
    groups = _CARD_SPLIT.split(candidate)
    for n in range(len(groups), 0, -1):
        prefix_len = sum(len(g) for g in groups[:n]) + n - 1
        digits = "".join(groups[:n])
        if len(digits) < 13:
            return
        if len(digits) <= 19 and v.card_grouping_ok(candidate[:prefix_len]) \
                and v.card_brand_ok(digits) and v.luhn_ok(digits):
            out.append((start, start + prefix_len, "CreditCard"))
            return


_PHONE = re.compile(
    r"""
      \+(?<![\w+]\+)(?=[1-9])(?:[ .\-]?\(?\d{1,4}\)?){2,6}+(?![\w])(?!\.\d)        # +1 415 555 0132
    | \((?<![\w)]\()(?P<area>\d{3})\)[ ]?(?P<exchange>\d{3})[ .\-]\d{4}(?![\w\-])(?!\.\d)  # (415) 555-0132
    """,
    re.VERBOSE,
)


def find_phones(text: str, lower: str, out: list) -> None:
    """Phone numbers that start with "+" (E.164, 8-15 digits) or "(" (North
    American, area code and exchange starting 2-9). Dashed and dotted
    numbers are in :func:`find_numbers`; a bare run of digits is not a phone
    number (``caller_id_number=4155550123`` is found from its key)."""
    if "+" not in text and "(" not in text:
        return
    for m in _PHONE.finditer(text):
        candidate = m.group()
        digits = "".join(c for c in candidate if c.isdigit())
        if m.group("area"):
            if m.group("area")[0] in "01" or m.group("exchange")[0] in "01":
                continue
        elif len(digits) < 8 or candidate.count("(") != candidate.count(")"):
            continue
        if v.phone_digits_ok(digits):
            out.append((m.start(), m.end(), "PhoneNumber"))
