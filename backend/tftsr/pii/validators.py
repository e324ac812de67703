"""Checks a candidate must pass before it becomes a finding.

Regular expressions find shapes; these functions decide whether a shape is
the real thing (a card number passes Luhn, an address has valid octets, a
dotted name ends in a top-level domain people actually use, a ``password=``
value is not a placeholder)."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re

# --- top-level domains -------------------------------------------------------
# A curated list rather than the full IANA registry: the full list contains
# words that are file extensions or code (.py, .sh, .zip, .app, .java is not
# one but .pl, .md, .rs are), which would turn ``app.py`` into a hostname.
PUBLIC_TLDS = frozenset(
    ["com", "net", "org", "edu", "gov", "mil", "int", "arpa", "io", "co", "ai", "uk", "de", "fr", "jp", "cn", "ru", "br", "au", "ca", "nl", "se", "ch", "eu", "ie", "nz", "za", "mx", "ar", "kr", "tw", "sg", "hk", "fi", "dk", "cz", "es", "pt", "gr", "hu", "ro", "bg", "hr", "si", "sk", "lt", "lv", "ee", "ua", "tr", "il", "ae", "sa", "qa", "th", "vn", "ph", "my", "id", "pk", "ng", "ke", "eg", "cl", "pe", "ve", "uy", "info", "biz", "xyz", "cloud", "online", "site", "tech", "store", "cc", "tv", "ly", "gl", "fm", "gg", "je", "im", "li", "lu", "mc", "mt", "cy", "is"]
)
INTERNAL_TLDS = frozenset(
    ["local", "internal", "corp", "lan", "home", "intranet", "localdomain", "localhost", "test", "example", "invalid", "svc", "private"]
)
TLDS = PUBLIC_TLDS | INTERNAL_TLDS

# First labels that mark a dotted name as code, not a host (``self.app.io``).
CODE_FIRST_LABELS = frozenset(
    ["java", "javax", "jdk", "sun", "self", "this", "cls", "super", "os", "sys", "np", "pd"]
)

# One or more DNS labels joined by dots (the part of a host name before its TLD).
_LABELS = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)*")


def valid_hostname(name: str) -> bool:
    """``name`` has at least two labels, every label is a DNS label and the
    last one is a known top-level domain written in one case."""
    head, _, tld = name.rpartition(".")
    if not head or len(name) > 253:
        return False
    if tld.lower() not in TLDS or not (tld.islower() or tld.isupper()):
        return False
    if head.partition(".")[0].lower() in CODE_FIRST_LABELS:
        return False
    return _LABELS.fullmatch(head) is not None


# --- numbers -----------------------------------------------------------------
def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = ord(ch) - 48
        if i % 2:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def card_brand_ok(digits: str) -> bool:
    """Issuer prefix and length agree (Visa, Mastercard, Amex, Discover, JCB,
    Diners, UnionPay, Maestro)."""
    n = len(digits)
    d1, d2, d4 = digits[0], int(digits[:2]), int(digits[:4])
    if d1 == "4":
        return n in (13, 16, 19)
    if 51 <= d2 <= 55 or 2221 <= d4 <= 2720:
        return n == 16
    if d2 in (34, 37):
        return n == 15
    if d2 in (36, 38, 39) or 300 <= int(digits[:3]) <= 305:
        return n in (14, 16, 19)
    if digits.startswith("6011") or d2 == 65 or 644 <= int(digits[:3]) <= 649:
        return 16 <= n <= 19
    if 3528 <= d4 <= 3589:
        return 16 <= n <= 19
    if d2 == 62:
        return 16 <= n <= 19
    if d2 in (50, 56, 57, 58) or d1 == "6":
        return 12 <= n <= 19
    return False


def ssn_ok(area: str, group: str, serial: str) -> bool:
    return (area not in ("000", "666") and area[0] != "9"
            and group != "00" and serial != "0000")


def ipv6_ok(candidate: str) -> bool:
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    return True


def phone_digits_ok(digits: str) -> bool:
    """7-15 digits (E.164 maximum), not all the same digit."""
    return 7 <= len(digits) <= 15 and len(set(digits)) > 1


# --- secret values -----------------------------------------------------------
_PLACEHOLDER = re.compile(
    r"""(?ix)
    \A(?:
        \**|x{3,}|\.{3,}|-+|_+|\?+|#+            # masks
      | none|null|nil|true|false|undefined|empty|n/?a|yes|no|on|off
      | \[?(?:redacted|filtered|masked|hidden|removed|secret|sensitive[ _]value)\]?
      | <[^>]*>|\{\{.*\}\}|\$\{.*\}|\$\(.*\)|\$[A-Za-z_][A-Za-z0-9_]*|%[A-Za-z_]+%|%s|%v|%\(\w+\)s
      | (?:your|my|the)[_\-]\w*|\w*[_\-](?:here|placeholder)
      | \(sensitive[ _]value\)|\(redacted\)
    )\Z""")


def is_placeholder(value: str) -> bool:
    """Masks, template variables, environment references and booleans stand in
    for a secret but are not one."""
    if _PLACEHOLDER.match(value):
        return True
    return value.isupper() and value.replace("_", "").isalpha() and "_" in value


def is_basic_credential(value: str) -> bool:
    """``Authorization: Basic`` carries base64 of ``user:password``."""
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    return b":" in decoded and len(decoded) >= 3


def looks_random(value: str) -> bool:
    """A token drawn from a mixed alphabet: at least one digit and one letter,
    or long enough that it cannot be a word."""
    has_digit = any(c.isdigit() for c in value)
    has_alpha = any(c.isalpha() for c in value)
    return (has_digit and has_alpha) or len(value) >= 24
