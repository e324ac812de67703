"""Number-shaped findings: IPv4 addresses, card numbers, SSNs, phone numbers.

Logs are full of digits (timestamps, ids, durations, counters), so a
pattern that is tried at every digit costs more than everything else put
together. The patterns here are tried only where a number *could* take one
of these shapes: at the first separator after a short leading group of
digits. Each pattern starts with that separator as a literal (".", "-",
" ", "+", "(") and checks the leading group with a fixed-width lookbehind:

* ``.``  10.0.3.17 (IPv4), 415.555.0132
* ``-``  219-09-9999 (SSN), 415-555-0132, 1-800-555-0100, 4111-1111-1111-1111
* `` ``  4111 1111 1111 1111, 020 7946 0958
* ``+``  +1 415 555 0132, ``(`` (415) 555-0132

``re`` finds a literal at C speed and rejects a separator that has no digit
before it in one step, so the common negative case costs almost nothing.

A number must start a token: its first digit may not follow a word
character or a dotted number (``v1.10.0.0.1``, ``a1-555-0100``), and its
last digit may not run on into another word or decimal. A card number
written as a bare run of 13-19 digits is only taken right after a card word
(``card=``, ``"pan":``, ``amex``...): alone, such a run is far more often a
request id, an order number or a timestamp than a card, and 1 in 10 of
them passes the Luhn check.
"""

from __future__ import annotations

import re

from . import validators as v
from .patterns import finditer

# What may stand right before the first digit of each shape (all these are
# zero-width and go inside the lookbehinds below).
_NOT_IN_WORD = r"(?<![A-Za-z0-9]\.)"          # not the tail of a dotted word or number
_IP_GUARD = r"(?<!\w)" + _NOT_IN_WORD
_SSN_GUARD = r"(?<![\w+\-])" + _NOT_IN_WORD
_PHONE_GUARD = r"(?<![\w+\-:/])" + _NOT_IN_WORD
# A grouped card does not continue a longer run of numbers ("12 4111 ...").
_CARD_GUARD = r"(?<![\w+\-])(?<![0-9] )" + _NOT_IN_WORD
_END = r"(?![\w\-]|\.[0-9])"                   # the number ends here

# Groupings printed on cards after the first group of four (4-4-4-4,
# 4-4-4-4-3, 4-4-4-1..3, 4-6-5, 4-6-4): "{s}" is the separator.
_CARD_REST = (r"(?:[0-9]{{4}}{s}[0-9]{{4}}{s}(?:[0-9]{{4}}(?:{s}[0-9]{{3}})?|[0-9]{{1,3}})"
              r"|[0-9]{{6}}{s}[0-9]{{4,5}})")
# A spaced card may be followed by its expiry ("4111 ... 1111 12/27"), not by
# more groups of digits.
_SPACED_CARD_END = r"(?![\w\-]|\.[0-9]|[ ][0-9](?![0-9]?/))"

# An octet, 0-255 (leading zeros allowed, as ``inet_aton`` allows them).
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|[01]?[0-9]{1,2})"
_FIRST_OCTET = "|".join(rf"(?<={_IP_GUARD}{octet}\.)"
                        for octet in (r"(?:25[0-5]|2[0-4][0-9]|[01][0-9]{2})", r"[0-9]{2}", r"[0-9]"))
# Each branch checks what follows the separator first (most separators in a
# log are followed by something else: "2024-03-12", "0.5s", "200 512"), and
# only then the leading group behind it.
_DOTTED = re.compile(
    r"\.(?=[0-9])(?:"
    rf"(?P<ipv4>(?={_OCTET}\.{_OCTET}\.{_OCTET}(?!\w|\.[0-9]))(?:{_FIRST_OCTET}){_OCTET}\.{_OCTET}\.{_OCTET})"
    rf"|(?P<nanp>(?=[0-9]{{3}}\.[0-9]{{4}}{_END})(?<={_PHONE_GUARD}[0-9]{{3}}\.)[0-9]{{3}}\.[0-9]{{4}})"
    r")")
_DASHED = re.compile(
    r"-(?=[0-9])(?:"
    rf"(?P<ssn>[0-9]{{2}}-[0-9]{{4}}{_END}(?<={_SSN_GUARD}[0-9]{{3}}-[0-9]{{2}}-[0-9]{{4}}))"
    rf"|(?P<nanp>[0-9]{{3}}-[0-9]{{4}}{_END}(?<={_PHONE_GUARD}[0-9]{{3}}-[0-9]{{3}}-[0-9]{{4}}))"
    rf"|(?P<nanp1>[0-9]{{3}}-[0-9]{{3}}-[0-9]{{4}}{_END}(?<={_PHONE_GUARD}1-[0-9]{{3}}-[0-9]{{3}}-[0-9]{{4}}))"
    rf"|(?P<card>(?=[0-9]{{4}}-[0-9]{{4}}-|[0-9]{{6}}-)(?<={_CARD_GUARD}[0-9]{{4}}-)"
    rf"{_CARD_REST.format(s='-')}{_END})"
    r")")
_SPACED = re.compile(
    r" (?=[0-9])(?:"
    rf"(?P<card>(?=[0-9]{{4}} [0-9]{{4}} |[0-9]{{6}} )(?<={_CARD_GUARD}[0-9]{{4}} )"
    rf"{_CARD_REST.format(s=' ')}{_SPACED_CARD_END})"
    rf"|(?P<natl>(?=[0-9]{{3,4}} [0-9]{{3,4}}{_END})(?:(?<={_PHONE_GUARD}0 )|(?<={_PHONE_GUARD}0[0-9] )"
    rf"|(?<={_PHONE_GUARD}0[0-9]{{2}} )|(?<={_PHONE_GUARD}0[0-9]{{3}} ))[0-9]{{3,4}} [0-9]{{3,4}})"
    # a bare run of 9-11 or 13-19 digits, "NNN NNN NNNN" or "NNN NN NNNN": a
    # phone number, SSN or card number only after a word that names it
    # (``_named_number``; ``card=...`` and ``"pan": ...`` are assignments; no
    # such number has 12 digits).
    # Looked at ahead only, so the separators inside stay triggers of their own.
    # What stands before the blank must be able to end such a word or the
    # punctuation after it (``_NAMED_BY_REV``): a letter or a separator, not
    # a digit (``1234567890 1234567890``).
    r"|(?<=[A-Za-z \t:=#'\"_.\-] )(?:(?=(?P<bare>(?:[0-9]{13,19}|[0-9]{9,11})(?![\w\-]|[.,][0-9])))"
    r"|(?=(?P<spaced>[0-9]{3} [0-9]{2,3} [0-9]{4}(?![\w\-]|[.,][0-9]))))"
    r")")

def _lead_start(text: str, sep: int) -> int:
    """Start of the group of ASCII digits that ends right before ``sep``.
    The guards above make sure that group has one to four digits and no
    digit before it, so counting the digits at the end of the four
    characters before ``sep`` finds it."""
    lead = text[sep - 4:sep] if sep >= 4 else text[:sep]
    return sep - len(lead) + len(lead.rstrip(_ASCII_DIGITS))


_ASCII_DIGITS = "0123456789"


def find_numbers(text: str, lower: str, out: list, scan=finditer) -> None:
    """IPv4 addresses, grouped card numbers, SSNs and dashed, dotted or
    spaced phone numbers, each found from its first separator."""
    if scan is not finditer:
        # the prefilter reports whole addresses (see ``IPV4_SPANS``); the
        # dotted positions it gives ``_DOTTED`` are those of phone numbers
        _ipv4_spans(text, lower, scan.spans(IPV4_SPANS), out)
    separators, word_ends, digits = _VERSION_SEPARATORS, _VERSION_WORD_ENDS, _ASCII_DIGITS
    for m in scan(_DOTTED, text):
        sep, end = m.span()
        lead = text[sep - 4:sep] if sep >= 4 else text[:sep]  # (``_lead_start``, inlined:
        start = sep - len(lead) + len(lead.rstrip(digits))     # text dense with addresses)
        if m.lastgroup == "ipv4":
            # (``_is_version`` asked only where it can say yes: after a "/", or after a
            # word that can end in a version's word; most addresses are neither)
            tail = lower[start - 5:start] if start >= 5 else lower[:start]
            if not ((start and text[start - 1] == "/" or tail.rstrip(separators)[-1:] in word_ends)
                    and _is_version(text, lower, start, end)):
                out.append((start, end, "Ipv4"))
        elif _nanp_ok(text, start):
            out.append((start, end, "PhoneNumber"))
    for m in scan(_DASHED, text):
        kind = m.lastgroup
        start = _lead_start(text, m.start())
        if kind == "ssn":
            # area 000/666/9xx, group 00 and serial 0000 are never issued
            if v.ssn_ok(text[start:start + 3], text[start + 4:start + 6], text[start + 7:m.end()]):
                out.append((start, m.end(), "Ssn"))
        elif kind == "card":
            _card(text, start, m.end(), out)
        elif _nanp_ok(text, start + (2 if kind == "nanp1" else 0)):
            out.append((start, m.end(), "PhoneNumber"))
    for m in scan(_SPACED, text):
        kind = m.lastgroup
        if kind in ("bare", "spaced"):
            _named_number(text, lower, *m.span(kind), out)
            continue
        start = _lead_start(text, m.start())
        if kind == "card":
            _card(text, start, m.end(), out)
        else:
            digits = text[start:m.end()].replace(" ", "")
            if len(digits) >= 9 and v.phone_digits_ok(digits):
                out.append((start, m.end(), "PhoneNumber"))


# With the prefilter, IPv4 addresses come as spans: ``text[start:end]`` is
# four octets (``_OCTET``, the first one starting where its digits start)
# that no ASCII word character follows, nor a dot and a digit. That is what
# the ``ipv4`` branch of ``_DOTTED`` matches, from the first dot, except for
# what only Python's ``re`` can tell: the guards before the first octet, and a
# non-ASCII word character after the last. Checked here, that gives the same
# addresses without a regular expression per address (and an address never
# starts inside another finding of ``_DOTTED``: the guards forbid a dotted
# number before it, so no match of the pure path hides one).
IPV4_SPANS = "ipv4"
IPV4_PREFILTER = rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}"
_SPAN_END = (1 << 34) - 1  # see ``prefilter.Positions.spans``
_ASCII_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")


def _ipv4_spans(text: str, lower: str, spans: list[int], out: list) -> None:
    size = len(text)
    separators, word_ends = _VERSION_SEPARATORS, _VERSION_WORD_ENDS
    for encoded in spans:
        start, end = encoded >> 34, encoded & _SPAN_END
        if start:
            before = text[start - 1]
            if before.isalnum() or before == "_" or (
                    before == "." and start >= 2 and text[start - 2] in _ASCII_ALNUM):
                continue  # (?<!\w)(?<![A-Za-z0-9]\.): part of a longer word or dotted number
            if before == "/" and start >= 2 and text[start - 2].isalpha() and text[end - 2:end] == ".0":
                continue  # a product version (_is_version, inlined: addresses come by the thousand)
        if end < size:
            after = text[end]
            if after.isalnum() or after == "_":
                continue  # (?!\w): a non-ASCII letter or digit
        tail = lower[start - 5:start] if start >= 5 else lower[:start]
        if tail.rstrip(separators)[-1:] in word_ends \
                and _VERSION_REV.match(lower[start - 16 if start > 16 else 0:start][::-1]):
            continue
        out.append((start, end, "Ipv4"))


def _nanp_ok(text: str, area: int) -> bool:
    """North American numbers: area code and exchange start with 2-9."""
    return text[area] not in "01" and text[area + 4] not in "01"


def _card(text: str, start: int, end: int, out: list) -> None:
    digits = text[start:end].replace(" ", "").replace("-", "")
    if v.card_brand_ok(digits) and v.luhn_ok(digits):
        out.append((start, end, "CreditCard"))


# --- IPv4 context --------------------------------------------------------------
# version/ver/release/build/firmware/fw and up to four separators right
# before the number, read backwards (one anchored attempt per address)
_VERSION_REV = re.compile(r"[\s:=/\"']{0,4}(?:noisrev|rev|esaeler|dliub|erawmrif|wf)(?![a-z])")


def _is_version(text: str, lower: str, start: int, end: int) -> bool:
    """A dotted quad that is a product version: ``Chrome/120.0.0.0`` (but
    ``alice/203.0.113.90`` is an address), or after the word
    version/build/release/firmware."""
    if start >= 2 and text[start - 1] == "/" and text[start - 2].isalpha() and text[end - 2:end] == ".0":
        return True
    # the word must end within the five characters before the number, after
    # its (at most four) separators: most addresses fail this without the
    # expression ("from 10.0.0.1", "[10.0.0.1]")
    tail = lower[start - 5:start] if start >= 5 else lower[:start]
    if tail.rstrip(_VERSION_SEPARATORS)[-1:] not in _VERSION_WORD_ENDS:
        return False
    return _VERSION_REV.match(lower[start - 16 if start > 16 else 0:start][::-1]) is not None


# the characters of ``[\s:=/"']`` in ``_VERSION_REV`` (``\s``: every Unicode
# space, as ``str.isspace`` and ``re`` agree), and the last letter of each word
_VERSION_SEPARATORS = ":=/\"'" + "".join(re.findall(r"\s", "".join(map(chr, range(0x3001)))))
_VERSION_WORD_ENDS = frozenset("nredw")


# --- phone numbers introduced by "+" or "(" --------------------------------------
_PHONE_PLUS = re.compile(
    r"\+(?<![\w+]\+)(?=[1-9])(?:[ .\-]?\(?[0-9]{1,4}\)?){2,6}+(?!\w)(?!\.[0-9])")  # +1 415 555 0132
_PHONE_PAREN = re.compile(
    r"\((?<![\w)]\()(?P<area>[2-9][0-9]{2})\)[ ]?(?P<exchange>[2-9][0-9]{2})[ .\-][0-9]{4}"
    r"(?![\w\-])(?!\.[0-9])")                                                        # (415) 555-0132


def find_phones(text: str, lower: str, out: list, scan=finditer) -> None:
    """Phone numbers that start with "+" (E.164, 8-15 digits) or "(" (North
    American, area code and exchange starting 2-9). A bare run of digits is
    not a phone number (``caller_id_number=4155550123`` is found from its
    key)."""
    for m in scan(_PHONE_PLUS, text):
        candidate = m.group()
        if candidate.count("(") != candidate.count(")"):
            continue
        digits = candidate.translate(_KEEP_ASCII_DIGITS)
        if len(digits) >= 8 and v.phone_digits_ok(digits):
            out.append((m.start(), m.end(), "PhoneNumber"))
    for m in scan(_PHONE_PAREN, text):
        if v.phone_digits_ok(m.group().translate(_NOT_DIGITS)):
            out.append((m.start(), m.end(), "PhoneNumber"))


_NOT_DIGITS = {ord(c): None for c in "() .-"}
# what a phone number's candidate (``_PHONE_PLUS``: ASCII digits and "+ .()-")
# holds besides its digits
_KEEP_ASCII_DIGITS = {ord(c): None for c in "+ .()-"}


# --- phone numbers and SSNs written plainly, after a word that names them -------------
# ``415 555 0165`` and ``4155550165`` are phone numbers, and ``219331065``
# an SSN, only when the text says so: alone, a run of nine or ten digits is
# far more often an id, a counter or a timestamp. Between the word and the
# number only punctuation and the little words of "phone number is",
# "call me at", "SSN no." may stand (``call took 4155550165 ns`` and
# ``call id 4155550165`` are not phone numbers). The word must stand alone
# (``hotel``, ``syscall``, ``telemetry`` are not context). Read backwards
# from the number over a short window (reversed text, reversed words).
_NAMED_BY_REV = re.compile(
    r"(?:[ \t:=#'\"_.\-]|(?:rebmun|on|mun|rn|si|saw|em|su|mih|reh|meht|ta|no|ot|kcab|fo)(?![a-z])){0,24}"
    r"(?P<word>enohpelet|let|enohp|elibom|enohpllec|llec|xaf|llac|sms|nss|ytiruces[ _\-]?laicos"
    r"|drac|nap|cc|xema|asiv|dracretsam)(?![a-z])")


_CARD_WORDS_REV = frozenset(["drac", "nap", "cc", "xema", "asiv", "dracretsam"])


def _named_number(text: str, lower: str, start: int, end: int, out: list) -> None:
    """A bare or spaced run of digits that a word right before it names as
    a phone number or an SSN."""
    m = _NAMED_BY_REV.match(lower[max(0, start - 80):start][::-1])
    if not m:
        return
    word = m.group("word")
    digits = text[start:end].replace(" ", "")
    if word in _CARD_WORDS_REV:
        # a bare run after a card word (``amex 378282246310005``): a bare
        # 16-digit run alone is far more often a request id or a timestamp
        if digits == text[start:end] and 13 <= len(digits) <= 19 and v.card_brand_ok(digits) \
                and v.luhn_ok(digits):
            out.append((start, end, "CreditCard"))
        return
    if word == "nss" or word.startswith("ytiruces"):
        # 219331065 or 219 33 1065
        if len(digits) == 9 and end - start in (9, 11) and v.ssn_ok(digits[:3], digits[3:5], digits[5:]):
            out.append((start, end, "Ssn"))
        return
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]  # 14155550165
    if len(digits) == 10 and digits[0] not in "01" and digits[3] not in "01" and v.phone_digits_ok(digits):
        out.append((start, end, "PhoneNumber"))
