"""Checks a candidate must pass before it becomes a finding.

Regular expressions find shapes; these functions decide whether a shape is
the real thing (a card number passes Luhn, an address has valid octets, a
dotted name ends in a top-level domain people actually use, a ``password=``
value is not a placeholder)."""

from __future__ import annotations

import base64
import binascii
import re
from functools import lru_cache

from . import memo

# --- top-level domains -------------------------------------------------------
# Which last labels make a dotted name a host: the Public Suffix List, read
# from the snapshot bundled with the ``tldextract`` package (no download, no
# cache written: ``suffix_list_urls=()`` and ``cache_dir=None``), plus the
# suffixes of private networks. The list holds about 1,500 top-level
# domains, many of which are also words of code and file names, so a name's
# last label decides how much more evidence it needs:
#
# * CLASSIC (com, net, org, edu, gov, mil, int, arpa, io, the two-letter
#   country codes not listed below) and internal suffixes: two labels are
#   enough (``example.com``, ``db01.prod.internal``);
# * WORD_CCTLDS, two-letter codes that are English words or code (``at``,
#   ``in``, ``is``, ``it``, ``id``, ``me``, ``no``, ``to``, ``us``...), and
#   the generic domains that hosting and services use (``dev``, ``app``,
#   ``cloud``, ``tech``, ``info``...): three labels or more
#   (``mail.firma.at``, ``api.payments.dev``; not ``logger.info``,
#   ``sign.in``), and a first label that is not a variable or configuration
#   root of code (``request.user.id``, ``spring.mail.host``);
# * every other generic domain (about a thousand: ``events``, ``email``,
#   ``name``, ``host``, ``group``, ``date``, ``phone``...), most of them
#   English nouns that end attribute paths and SQL names
#   (``orders.public.events``, ``request.user.email``): as the line above,
#   and also a digit or hyphen in a label, or four labels or more
#   (``web-01.acme.events``);
# * FILE_EXTENSION_TLDS, domains that are also common file extensions or
#   unit types (``.py``, ``.sh``, ``.rs``, ``.md``, ``.pl``, ``.so``,
#   ``.zip``, ``.mov``, ``.java``, ``.properties``, ``.target``...): only as
#   the host of a URL (``https://example.sh/``), never as a bare name
#   (``main.py``, ``deploy.sh``, ``Foo.java``, ``multi-user.target``).
INTERNAL_TLDS = frozenset(
    ["local", "internal", "corp", "lan", "intra", "intranet", "home", "localdomain", "localhost", "test",
     "example", "invalid", "svc", "private"]
)
CLASSIC_GTLDS = frozenset(["com", "net", "org", "edu", "gov", "mil", "int", "arpa", "io"])
WORD_CCTLDS = frozenset(
    ["am", "as", "at", "be", "by", "do", "go", "id", "if", "in", "is", "it", "me", "my", "no", "of", "on",
     "or", "so", "to", "tv", "up", "us", "we"]
)
HOSTING_GTLDS = frozenset(
    ["dev", "app", "cloud", "tech", "online", "site", "website", "xyz", "biz", "info", "pro", "digital",
     "systems", "services", "solutions", "software", "tools", "zone", "works", "company", "agency", "shop",
     "store", "space", "studio", "ai", "co"]
)
FILE_EXTENSION_TLDS = frozenset(
    ["py", "sh", "rs", "md", "pl", "pm", "ps", "so", "mk", "ml", "mm", "ac", "cc", "tf", "la", "nu", "re",
     "sv", "zip", "mov", "java", "properties", "target", "cab", "pid", "pub", "map", "download", "run",
     "data", "link", "page", "new", "fish", "coffee", "click", "network"]
)


@lru_cache(maxsize=1)
def public_suffixes() -> frozenset[str]:
    """Every public suffix (``com``, ``co.uk``, ``github.io`` is private and
    left out), lowercase, from the Public Suffix List snapshot that ships
    inside ``tldextract``; reading it touches neither the network nor the
    disk cache."""
    import tldextract

    extractor = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)
    return frozenset(s.lower().lstrip("*.!") for s in extractor.tlds)


@lru_cache(maxsize=1)
def top_level_domains() -> frozenset[str]:
    """The last labels a host name may end in (ASCII, lowercase)."""
    tlds = {s.rsplit(".", 1)[-1] for s in public_suffixes()}
    return frozenset(t for t in tlds if t.isascii() and t.isalnum() or t.startswith("xn--")) | INTERNAL_TLDS


def tld_tier(tld: str) -> int:
    """What a name ending in ``tld`` (lowercase) needs (see above): 2 or 3
    labels, 4 for "three labels and a digit or hyphen, or four labels", or
    0 when it is a host only inside a URL."""
    if tld in FILE_EXTENSION_TLDS:
        return 0
    if tld in CLASSIC_GTLDS or tld in INTERNAL_TLDS or (len(tld) == 2 and tld not in WORD_CCTLDS):
        return 2
    if tld in WORD_CCTLDS or tld in HOSTING_GTLDS:
        return 3
    return 4


# First labels that mark a dotted name as code, not a host (``self.app.io``).
CODE_FIRST_LABELS = frozenset(
    ["java", "javax", "jakarta", "jdk", "sun", "kotlin", "android", "self", "this", "cls", "super", "os",
     "sys", "np", "pd"]
)
# ...and, for the names that need three labels, the variables and
# configuration roots that dotted attribute paths start with.
CODE_ROOT_LABELS = CODE_FIRST_LABELS | frozenset(
    ["com", "org", "net", "edu", "gov", "io", "request", "req", "response", "resp", "res", "ctx", "context",
     "event", "evt", "err", "error", "obj", "item", "row", "record", "msg", "message", "data", "payload",
     "body", "user", "params", "props", "state", "config", "cfg", "conf", "settings", "options", "opts",
     "args", "kwargs", "process", "module", "exports", "window", "document", "console", "logger", "log",
     "spring", "server", "management", "logging", "kafka", "hibernate", "jdbc", "quarkus", "micronaut",
     "akka", "django", "flask", "celery", "airflow", "sqlalchemy", "trace", "span", "service", "host",
     "client", "source", "destination", "container", "cloud", "file", "http", "url"]
)

# One or more DNS labels joined by dots (the part of a host name before its TLD).
_LABELS = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)*")


def valid_hostname(name: str, in_url: bool = False) -> bool:
    """See ``_valid_hostname``; logs name the same hosts over and over, so
    answers are remembered (a bounded table)."""
    key = (name, in_url)
    known = HOSTS_SEEN.get(key)
    if known is None:
        if len(HOSTS_SEEN) >= 8192:
            HOSTS_SEEN.clear()
        known = HOSTS_SEEN[key] = _valid_hostname(name, in_url)
    return known


# (name, in_url) -> answer; the host finder looks here before calling
HOSTS_SEEN: dict[tuple[str, bool], bool] = memo.table()


def _valid_hostname(name: str, in_url: bool) -> bool:
    """``name`` is made of DNS labels, ends in a known top-level domain
    written in one case, has the labels its tier asks for (``tld_tier``)
    and does not look like code: its first label is no code root, its
    labels before the suffix are not all numbers (``3.2.1.GA`` is a
    version) and it is not itself a public suffix (``co.uk``). ``in_url``:
    the name is the host of a URL, where any public suffix will do."""
    head, _, tld = name.rpartition(".")
    if not head or len(name) > 253:
        return False
    tier = _TIERS.get(tld) or _TIERS.get(tld.lower())
    if tier is None or not (tld.islower() or tld.isupper()):
        return False
    labels = head.split(".")
    first = labels[0].lower()
    if first in CODE_FIRST_LABELS or head.replace(".", "").isdigit():
        return False
    if not in_url and tier != 2:
        if tier == 0 or len(labels) < 2 or first in CODE_ROOT_LABELS:
            return False
        if tier == 4 and len(labels) < 3 and not _DIGIT_OR_HYPHEN.search(head):
            return False
    if len(labels) < 3 and name.lower() in _SUFFIXES:
        return False
    return _LABELS.fullmatch(head) is not None


_SUFFIXES = public_suffixes()
_TIERS = {tld: tld_tier(tld) for tld in top_level_domains()}
_DIGIT_OR_HYPHEN = re.compile(r"[0-9\-]")


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
    """A valid IPv6 address, as :mod:`ipaddress` would accept it, checked
    with regular expressions (several times faster); logs repeat their
    addresses, so answers are remembered (a bounded table)."""
    known = _IPV6_SEEN.get(candidate)
    if known is None:
        if len(_IPV6_SEEN) >= 4096:
            _IPV6_SEEN.clear()
        known = _IPV6_SEEN[candidate] = _ipv6_ok(candidate)
    return known


_IPV6_SEEN: dict[str, bool] = memo.table()


def _ipv6_ok(candidate: str) -> bool:
    if "." not in candidate:
        return _IPV6_HEX.fullmatch(candidate) is not None
    # an IPv4 address in place of the last two groups (``::ffff:1.2.3.4``)
    head, _, v4 = candidate.rpartition(":")
    return _IPV4_STRICT.fullmatch(v4) is not None and _IPV6_HEX.fullmatch(head + ":0:0") is not None


_H = "[0-9A-Fa-f]{1,4}"
_V4_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_IPV4_STRICT = re.compile(rf"{_V4_OCTET}(?:\.{_V4_OCTET}){{3}}")
# Eight groups, or fewer around one "::" (RFC 4291 section 2.2).
_IPV6_HEX = re.compile(
    rf"(?:{_H}:){{7}}{_H}|::(?:(?:{_H}:){{0,6}}{_H})?"
    + "".join(rf"|(?:{_H}:){{{n - 1}}}{_H}::(?:(?:{_H}:){{0,{6 - n}}}{_H})?" for n in range(1, 7))
    + rf"|(?:{_H}:){{6}}{_H}::")


def phone_digits_ok(digits: str) -> bool:
    """7-15 digits (E.164 maximum), not all the same digit."""
    return 7 <= len(digits) <= 15 and digits.count(digits[0]) != len(digits)


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
    for a secret but are not one. (Logs repeat their placeholders, so short
    values' answers are remembered in a bounded table.)"""
    known = _PLACEHOLDER_SEEN.get(value)
    if known is not None:
        return known
    answer = bool(_PLACEHOLDER.match(value)) or (
        value.isupper() and value.replace("_", "").isalpha() and "_" in value)
    if len(value) <= 64:
        if len(_PLACEHOLDER_SEEN) >= 4096:
            _PLACEHOLDER_SEEN.clear()
        _PLACEHOLDER_SEEN[value] = answer
    return answer


_PLACEHOLDER_SEEN: dict[str, bool] = memo.table()


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
    if len(value) >= 24:
        return True
    return _DIGIT.search(value) is not None and _LETTER.search(value) is not None


_DIGIT = re.compile(r"\d")
_LETTER = re.compile(r"[^\W\d_]")
