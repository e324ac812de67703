"""Secrets and personal data recognised by the name they are assigned to.

``password=hunter2``, ``"client_secret": "..."``, ``api_key: ...``,
``Authorization: Bearer ...``, ``IDENTIFIED BY '...'``, ``caller_id_number=...``.
Only the value becomes a finding, never the key, so a redacted line still
says *what* was removed: ``password=[Password]``.

Key name -> type:

* ends in password / passwd / pwd / pass / passphrase      -> Password
* aws_secret_access_key, secret_access_key                  -> AwsAccessKey
* api_key / apikey / api-key / x-api-key / access_key /
  AccountKey / SharedAccessKey / subscription key           -> ApiKey
* secret, client_secret, secret_key, token, access_token,
  refresh_token, auth_token, private_key, credentials,
  sig / signature (signed URLs: Azure SAS, S3 presigned)    -> SecretAssignment
* ssn, social_security_number                               -> Ssn
* card, card_number, cardNumber, cc_number, pan, amex       -> CreditCard
  (13-19 digits that pass the issuer and Luhn checks)
* phone, telephoneNumber, mobile, fax, msisdn, caller_id,
  destination_number ...                                    -> PhoneNumber

A value whose own shape names its issuer (``ghp_...``, ``AKIA...``, a JWT)
is also found by the token finder; on the same span the more specific type
wins (see ``spans.PRIORITY``).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator

from . import memo
from . import validators as v
from .patterns import alternation, finditer

_PASSWORD_KEY = re.compile(r"(?:password|passwd|passphrase|(?:^|[_.\-])(?:pass|pwd))\Z")
_AWS_KEY = re.compile(r"(?:aws[_.\-]?)?secret[_.\-]?access[_.\-]?key\Z")
_API_KEY = re.compile(
    r"(?:api[_.\-]?key|apikey|access[_.\-]?key|accountkey|sharedaccesskey|subscription[_.\-]?key"
    r"|app[_.\-]?key)\Z")
_SECRET_KEY = re.compile(
    r"(?:secret|secret[_.\-]?key|token|private[_.\-]?key|signing[_.\-]?key|encryption[_.\-]?key"
    r"|master[_.\-]?key|credentials?|(?:^|[_.\-])sig|signature)\Z")
_SSN_KEY = re.compile(r"(?:(?:^|[_.\-])ssn|social[_.\-]?security(?:[_.\-]?number)?)\Z")
_PHONE_KEY = re.compile(
    r"(?:phone(?:[_.\-]?number)?|telephone(?:[_.\-]?number)?|(?:^|[_.\-])tel|mobile(?:[_.\-]?number)?"
    r"|(?:^|[_.\-])cell|(?:^|[_.\-])fax|msisdn|caller[_.\-]?id(?:[_.\-]?(?:number|num))?"
    r"|caller[_.\-]?number|callee(?:[_.\-]?number)?|destination[_.\-]?number|dnis)\Z")

# card=, card_number=, cardNumber:, cc_number=, "pan":, amex= (not span=)
_CARD_KEY = re.compile(r"(?:card|(?:^|[_.\-])(?:pan|cc|amex|visa))(?:[_.\-]?(?:number|num|no|nr))?\Z")

_PHONE_VALUE = re.compile(r"\+?\d[\d \-().]{5,20}\d\Z")
_SSN_VALUE = re.compile(r"(\d{3})-?(\d{2})-?(\d{4})\Z")
_VALUE_TRAIL = ".,;:)]}"


_KEY_TYPES: dict[tuple[str, str], str | None] = memo.table()


def _key_type(key: str, original: str) -> str | None:
    """The type a value assigned to ``key`` (lowercased; ``original`` as
    written) would be, or None when the key names no secret. Logs repeat the
    same few keys, so answers are remembered (a bounded table)."""
    cache_key = (key, original)
    pii_type = _KEY_TYPES.get(cache_key, _UNKNOWN)
    if pii_type is _UNKNOWN:
        if len(_KEY_TYPES) >= 4096:
            _KEY_TYPES.clear()
        pii_type = _KEY_TYPES[cache_key] = _classify_key(key, original)
    return pii_type


_UNKNOWN = object()


def _classify_key(key: str, original: str) -> str | None:
    key = key.strip("-_.")
    if _AWS_KEY.search(key):
        return "AwsAccessKey"
    m = _PASSWORD_KEY.search(key)
    if m:
        # "password" must start the key, follow a separator, start a
        # camelCase word (trustStorePassword) or sit in an upper-case name
        # (PGPASSWORD); "chpasswd" is a program, not a key.
        at = m.start() + (1 if key[m.start()] in "_.-" else 0)
        written = original.strip("-_.")
        if at == 0 or key[at - 1] in "_.-" or written[at:at + 1].isupper() or written.isupper():
            return "Password"
        return None
    if _API_KEY.search(key):
        return "ApiKey"
    if _SECRET_KEY.search(key):
        return "SecretAssignment"
    if _SSN_KEY.search(key):
        return "Ssn"
    if _PHONE_KEY.search(key):
        return "PhoneNumber"
    if _CARD_KEY.search(key):
        return "CreditCard"
    return None


# The shortest value each type can have (checked before anything else).
_MIN_LENGTH = {"Password": 3, "PhoneNumber": 7, "Ssn": 9, "AwsAccessKey": 30, "ApiKey": 12,
               "SecretAssignment": 8, "CreditCard": 13}
_SHORTEST = min(_MIN_LENGTH.values())
# The longest value of the types that have one (checked by ``_value_ok``).
_MAX_LENGTH = {"Ssn": 11, "CreditCard": 19, "PhoneNumber": 32}
# The first ``_SHORTEST + 1`` characters from a separator -> where ``_VALUE``
# matched in them ends (0: no match); a bounded table.
_REACHES: dict[str, int] = memo.table()


def _value_ok(pii_type: str, key: str, value: str) -> bool:
    if len(value) < _MIN_LENGTH[pii_type] or v.is_placeholder(value):
        return False
    if pii_type == "Password":
        if key.endswith("pwd") and value[:1] in "/~\\" or value[1:3] == ":\\":
            return False  # PWD=/home/deploy is the working directory
        return len(value) >= 3 and not (value.isdigit() and len(value) < _PASSWORD_DIGITS)
    if pii_type == "PhoneNumber":
        if len(value) > _MAX_LENGTH["PhoneNumber"]:
            return False
        digits = "".join(filter(str.isdigit, value))
        return bool(_PHONE_VALUE.match(value)) and v.phone_digits_ok(digits) and len(digits) >= 10 \
            or (value.startswith("+") and v.phone_digits_ok(digits) and len(digits) >= 8)
    if pii_type == "Ssn":
        m = _SSN_VALUE.match(value) if len(value) <= _MAX_LENGTH["Ssn"] else None
        return bool(m) and v.ssn_ok(*m.groups())
    if pii_type == "CreditCard":
        # a bare run of 13-19 digits: issuer prefix, length and Luhn agree
        return len(value) <= _MAX_LENGTH["CreditCard"] and value.isdigit() and v.card_brand_ok(value) \
            and v.luhn_ok(value)
    if value.lower().startswith(("hmac-", "sha256:", "sha1:", "md5:")):
        return False  # Vault audit logs store HMACs of tokens, not tokens
    if pii_type == "AwsAccessKey":
        return len(value) >= 30 and v.looks_random(value)
    if pii_type == "ApiKey":
        return len(value) >= 12 and v.looks_random(value)
    return len(value) >= 8 and v.looks_random(value)


# --- finding ``key <separator> value`` -----------------------------------------
# Every key name that can give a type (above) ends in one of these words (a
# trailing "_", "-" or "." aside); "value" is the value half of a
# name/value pair (``{'name': 'DB_PASSWORD', 'value': '...'}``).
_KEY_ENDINGS = (
    "password", "passwd", "passphrase", "pass", "pwd", "key", "secret", "token", "credential",
    "credentials", "ssn", "security", "number", "num", "phone", "tel", "mobile", "cell", "fax",
    "msisdn", "callerid", "caller_id", "caller-id", "caller.id", "callee", "dnis", "value",
    "sig", "signature", "card", "pan", "cc", "amex", "visa", "no", "nr",
)
# The scan runs on the reversed lowercase text, starting at each separator
# ("=" and ":" have one pattern each, so that ``re`` looks for a single
# literal): read backwards, a key is a separator, blanks, perhaps a quote and
# then the key name, which has to begin (that is, end) with a known word.
# A separator not preceded by such a key, the vast majority (timestamps,
# URLs, JSON keys), costs one failed comparison.
# The lookahead rejects most separators with one test: what comes next
# (reversed) must be a blank, a quote, a trailing "_-." or the last letter of
# a known word.
_KEY_REV = (r"(?=[ \t\"'\-_.{}])[ \t]*[\"']?(?P<key>[\-_.]{{0,4}}{}[a-z0-9_.\-]{{0,120}}+)".format(
    "".join(sorted({w[-1] for w in _KEY_ENDINGS})), alternation(w[::-1] for w in _KEY_ENDINGS)))
_ASSIGN_REV = (
    re.compile(r"(?P<sep>=:?)" + _KEY_REV),   # key=, key =>, key :=  (reversed)
    re.compile(r"(?P<sep>:)(?<!=:)" + _KEY_REV),  # key:, "key": (":=" is the pattern above)
)
# A bare value ends at a blank, a quote, "," or ";", or at "&name=" or "|name="
# (the next parameter of a query string or form body, the next field of a
# pipe-separated line), or "&name: " or "|name: " (the next field written with a
# colon); a "&" or "|" not followed by a name and its separator is part of the
# value. Stopping there in the pattern, rather than reading a long stretch and
# cutting it afterwards, keeps the cost of a line packed with keys
# (``token=a,token=a,...``) linear.
_JOINED_NAME = r"[a-z_][\w.\-]{0,64}(?:=|:[ \t\r\n])"
_VALUE = re.compile(
    r"""(?:=>|:=|=|:)[ \t]*
    (?:"(?P<dq>[^"\n]{1,1024})"|'(?P<sq>[^'\n]{1,1024})'
      |(?P<raw>[^\s"'<>()\[\]`](?:[^\s"'<>`,;&|]|[&|](?!""" + _JOINED_NAME + r""")){0,1023}))
    """, re.VERBOSE)
# ``_VALUE`` with a bare value read up to its first "&" or "|": one character class
# over the value (about 60 ns a character for ``_VALUE``'s alternatives, 10 for this);
# see ``_ValueReader``.
_VALUE_TO_JOINER = re.compile(
    r"""(?:=>|:=|=|:)[ \t]*
    (?:"(?P<dq>[^"\n]{1,1024})"|'(?P<sq>[^'\n]{1,1024})'
      |(?P<raw>[^\s"'<>()\[\]`][^\s"'<>`,;&|]{0,1023}))
    """, re.VERBOSE)
# What may follow the first character of a bare value (``_VALUE``'s repeated group), up
# to 1,024 characters at a time.
_REST_STEP = 1024
_BARE_VALUE_REST = re.compile(r"""(?:[^\s"'<>`,;&|]|[&|](?!""" + _JOINED_NAME + "))"
                              + f"{{0,{_REST_STEP}}}")
_NEXT_NAME = re.compile(r"[&|]" + _JOINED_NAME)  # (which ends a bare value there)
# ``_VALUE`` once the end of the value is known (passed as ``endpos``): its bare value
# is any run of characters after the first, up to there.
_VALUE_UP_TO = re.compile(
    r"""(?:=>|:=|=|:)[ \t]*
    (?:"(?P<dq>[^"\n]{1,1024})"|'(?P<sq>[^'\n]{1,1024})'
      |(?P<raw>[^\s"'<>()\[\]`][^\n]{0,1023}))
    """, re.VERBOSE)


class _ValueReader:
    """``_VALUE.match(lower, sep)`` for the separators of one text.

    A bare value is read by ``_VALUE_TO_JOINER`` up to its first "&" or "|", and past
    one by ``_BARE_VALUE_REST`` (an "&" or "|" before a name and "=" or ": " ends it). What
    that reads is remembered: where, from the second character of a value on, every
    character is one a bare value goes on with, and whether the character after them
    ends it. The next value that starts in that stretch goes on from its end, so a
    run of keys each inside the value of the one before (``token:123&token:123&...``,
    every value up to 1,024 characters long) reads each character once, not once for
    every value it is part of. What follows the first character decides alone where a
    value ends, so this gives ``_VALUE``'s match everywhere."""

    __slots__ = ("lower", "start", "end", "stopped")

    def __init__(self, lower: str):
        self.lower = lower
        self.start = self.end = -1  # every character in lower[start:end] goes on a value
        self.stopped = False  # and the one at ``end`` ends it (or the text ends there)

    def at(self, sep: int) -> re.Match | None:
        lower = self.lower
        m = _VALUE_TO_JOINER.match(lower, sep)
        if m is None or m.lastindex != _RAW:
            return m
        joiner = m.end()
        first = m.start(_RAW)
        limit = first + 1024  # the longest value's end
        if lower[joiner:joiner + 1] not in ("&", "|") or joiner >= limit or _NEXT_NAME.match(lower, joiner):
            return m  # (``_VALUE`` reads the same value)
        if not self.start <= first + 1 <= self.end:
            # a value in no stretch read yet: read whole, and its stretch remembered
            m = _VALUE.match(lower, sep)
            self.start, self.end = first + 1, m.end()
            self.stopped = self.end < limit
            return m
        while not self.stopped and self.end < limit:
            at = self.end
            self.end = _BARE_VALUE_REST.match(lower, at).end()
            self.stopped = self.end - at < _REST_STEP
        return _VALUE_UP_TO.match(lower, sep, min(self.end, limit))


def _value_at(lower: str, sep: int) -> re.Match | None:
    """``_VALUE.match(lower, sep)``, read as ``find_assignments`` reads values."""
    return _ValueReader(lower).at(sep)


assert _VALUE.groupindex == _VALUE_TO_JOINER.groupindex == _VALUE_UP_TO.groupindex
_RAW = _VALUE.groupindex["raw"]
# A key as written -> (the key lowercased, whether it is the value half of a
# name/value pair ("value", "parametervalue", with "-", "_" or "." around it), the
# type it gives its value otherwise, the longest value it can have (``_longest_value``));
# a bounded table.
_KEYS_READ: dict[str, tuple[str, bool, str | None, int | None]] = memo.table()
# The name half of a name/value pair, right before the "value" key, read
# backwards from it (reversed: ``"name": "DB_PASSWORD", `` then "value").
_PAIR_NAME_REV = re.compile(
    r"""["']?\s{0,16}[,;]?[ \t]*["']?(?P<name>[a-z0-9_.\-/]{1,64})["']?[ \t]*(?:>=|=|:)[ \t]*["']?(?:eman|yek)""")


# Separators that ``find_assignments`` would skip, picked out in C before any
# key is read, so that a line packed with them (``token=a,token=a,...``,
# ``sig=a&sig=a&...``, ``pwd='a' pwd='a' ...``, ``key=key=...``) costs a pass
# of ``re`` instead of a Python step per separator. Written on the reversed
# text, where what follows a separator comes before it (fixed-width
# look-behinds) and its key after it. A separator is masked when
# * its value is too short for any type: one or two characters, bare and
#   ended by a character that ends a bare value (or the end of the text), or
#   in quotes; or, after a key that starts a query-string parameter ("?" or
#   "&" before it), cut by an "&" within its first ``_SHORTEST`` characters;
# * it has no value at all (``"password": "`` at the end of a line);
# * its key ends in a word whose every type needs a longer value than the
#   bare one that follows (``card: 4``, ``phone=123,``, ``card=123&card=``:
#   ``_SHORT_FOR_WORDS``; "&name=" and "|name=" end a value, ``_mark_value_ends``);
# * its key ends in a word whose every type is a number, and the bare value
#   starts like none (``tel:tel:``, ``mobile: +mobile:``: ``_NUMBER_WORDS``);
# * its key is a password's and its value three to five digits, which is no
#   password (``password: 123``: a PIN, a port or a count);
# * or its key is one of the words that end typed keys but name nothing
#   alone (``key``, ``no``, ``number``...), or ends in one glued to a letter
#   or digit (``4cc``, ``hotel``), give or take "-_.".
# Not the ":" of ":=" nor the "=" after it (the two patterns read them
# together). Masking (with a character no key pattern reads, so offsets
# stay) changes no finding, which ``tests/unit/test_pii_short_values.py``
# checks against the unmasked scan; see also ``_VALUE_KEY_REV``.
assert _SHORTEST == 3  # the look-behinds below spell out values of 1 and 2 characters
_ENDS = r"""\s"'<>`,;"""  # the characters that end a bare value
_MARKS = r"\x01\x02"  # "&name=" and "|name=" in the mask's copy of the text (``_mark_value_ends``)
_END_CHAR = f"[{_ENDS}]"               # a character that ends a bare value
_CONT = rf"[^{_ENDS}&\x01]"            # a bare value's later characters (not "&")
# what the key patterns ask first of the character after a separator
# (reversed: before it), then the key up to its word
_KEY_FIRST_REV = r"(?=[ \t\"'\-_.{}])".format("".join(sorted({w[-1] for w in _KEY_ENDINGS})))
_KEY_TAIL_REV = r"[ \t]*[\"']?[\-_.]{0,4}"  # (read backwards) the blanks and quote before a separator, "-_."


def _key_word_rev(words) -> str:
    """A key, read backwards from its separator, that ends in one of ``words``: the
    blanks and quote before the separator, up to four "-_." and the word."""
    return _KEY_TAIL_REV + alternation(w[::-1] for w in words)


_KEY_WORD_REV = _key_word_rev(_KEY_ENDINGS)
_KEY_WORDS_REV = _KEY_FIRST_REV + _KEY_WORD_REV
# A key word right after a separator (before it, forwards), its first character
# already checked (``_KEY_FIRST_REV``): the short-value cases of the mask ask for it
# last, so that a separator no key pattern reads (``name=a``) is not masked.
_KEY_WORD_AFTER_REV = f"(?={_KEY_WORD_REV})"
_UNTYPED_WORDS = sorted(w for w in _KEY_ENDINGS if w != "value" and _classify_key(w, w) is None)
# Words that type a key only at its start or after "_", "-" or "." (``cc``,
# ``ssn``, ``pass``...: ``4cc``, ``compass``, ``hotel`` name nothing): a key that
# ends in one glued to a letter or digit is no key either.
_GLUED_UNTYPED_WORDS = ("amex", "cc", "cell", "fax", "pan", "pass", "pwd", "sig", "ssn", "tel", "visa")
assert all(_classify_key(w, w) and _classify_key("x" + w, "x" + w) is None and _classify_key("1" + w, "1" + w) is None
           for w in _GLUED_UNTYPED_WORDS)


# The words that end a typed key, by the length its value must reach (``_MIN_LENGTH``
# of every type a key ending in the word can have, the least of them): a value
# shorter than that, whatever the rest of the key, is too short (``card: 4``,
# ``phone=123,``, ``ssn: 12345678``) and, being too short, hides no key. (The words of
# passwords need three characters, which the one- and two-character cases of the
# mask cover; ``value`` is typed by its pair's name.)
_SHORT_FOR_WORDS = {
    7: ("phone", "tel", "mobile", "cell", "fax", "msisdn", "callerid", "caller_id", "caller-id", "caller.id",
        "callee", "dnis", "number", "num", "no", "nr"),
    8: ("secret", "token", "credential", "credentials", "sig", "signature", "key"),
    9: ("ssn", "security"),
    13: ("card", "pan", "cc", "amex", "visa"),
}
assert sorted(w for words in _SHORT_FOR_WORDS.values() for w in words) \
    == sorted(w for w in _KEY_ENDINGS if w not in ("value", "password", "passwd", "passphrase", "pass", "pwd"))
assert all(_MIN_LENGTH[pii_type] >= shortest
           for shortest, words in _SHORT_FOR_WORDS.items() for word in words
           for head in ("", "x", "x_", "api_", "aws_secret_access_", "secret_", "access_", "phone_", "card_", "cc_",
                        "social_security_", "social_", "caller_id_", "client_", "private_", "ssn_", "pass_")
           for key in (head + word,)
           if (pii_type := _classify_key(key, key)) is not None)
# A value of one blank or none after the separator, then a first character and fewer
# than ``shortest`` characters in all, ended by a character that ends a bare value or
# by the end of the text (reversed: fixed-width look-behinds, the second saying the
# characters up to that length are not all the value's).
_NOT_END = f"[^{_ENDS}{_MARKS}]"  # (nor "&name=" and "|name=")


# The words that end a password's key, and how many digits a password needs when it is
# nothing but digits (``_value_ok``): fewer make a PIN, a port or a count, and no value.
_PASSWORD_WORDS = ("password", "passwd", "passphrase", "pass", "pwd")
_PASSWORD_DIGITS = 6
assert all(_classify_key(key, key) in ("Password", None)
           for word in _PASSWORD_WORDS
           for head in ("", "x", "x_", "db_", "admin_", "api_", "secret_", "token_", "card_", "ssn_", "phone_",
                        "new_", "old_", "root_", "user_", "key_", "number_")
           for key in (head + word,))


def _no_value_for_word_rev(sep: str) -> str:
    """A key of ``_SHORT_FOR_WORDS`` and a value too short for it, or too long
    (``_LONGEST_FOR_WORDS``), or a password's key and a few digits (``_few_digits``).
    The key is read once: one look-ahead finds its word and records, in a group named
    after the length, which entry of ``_SHORT_FOR_WORDS`` holds it (or that it is a
    password's). A value short for a length is short for every greater one, so the
    longest is asked next, of every value (most fail it and are passed after one
    question); then the word's own length.
    (No word of one entry ends another entry's word, so at most one group can match,
    and the order of the groups changes nothing but the speed: the longest first.)"""
    first = r"""[^\s"'>=]"""  # (not a quoted value, nor "=>" / ":=")

    def short(shortest: int) -> str:
        return "(?:" + "|".join(
            rf"(?<={first}[ \t]{{{b}}}{sep})(?<!{_NOT_END}{{{shortest - 1}}}[\s\S][ \t]{{{b}}}{sep})"
            for b in (0, 1)) + ")"

    def long(longest: int) -> str:
        # a bare value (not quoted, nor after "=>" or ":=") of more than ``longest``
        # characters, none of them an "&" (a query string's value ends there) and the
        # one after ``longest`` not one of the ``_VALUE_TRAIL`` a value is cut of
        value = f"[^{_ENDS}{_MARKS}&]"
        last = rf"[^{_ENDS}{_MARKS}&.:)\]}}]"
        first_char = f"[^{_ENDS}{_MARKS}&=]"
        return "(?:" + "|".join(
            rf"(?<={last}{value}{{{longest - 1}}}{first_char}[ \t]{{{b}}}{sep})" for b in (0, 1)) + ")"

    tag = "eq" if sep == "=" else "colon"
    lengths = sorted(_SHORT_FOR_WORDS, reverse=True)
    group = {length: f"short{length}_{tag}" for length in lengths}
    password = f"password_{tag}"
    # (one look-ahead over all the words first: a key that ends in none of them, the
    # most common case, fails it at once)
    any_word = f"(?={_key_word_rev([w for words in _SHORT_FOR_WORDS.values() for w in words] + list(_PASSWORD_WORDS))})"
    word = any_word + (f"(?={_KEY_TAIL_REV}(?:"
            + "|".join(f"(?P<{group[length]}>{alternation(w[::-1] for w in _SHORT_FOR_WORDS[length])})"
                       for length in lengths)
            + f"|(?P<{password}>{alternation(w[::-1] for w in _PASSWORD_WORDS)})))")
    own = f"(?({group[lengths[0]]})|(?!))"  # (the longest length: asked already)
    for length in lengths[1:]:
        own = f"(?({group[length]}){short(length)}|{own})"
    too_long = "(?!)"  # (no other word has a longest value)
    for length, pii_type in _LONGEST_FOR_WORDS.items():
        too_long = f"(?({group[length]}){long(_MAX_LENGTH[pii_type])}|{too_long})"
    return (word + "(?:" + short(lengths[0]) + own + "|" + too_long
            + f"|(?({password}){_few_digits_rev(sep)}|(?!)))")


def _few_digits_rev(sep: str) -> str:
    """A bare value of ``_SHORTEST`` to ``_PASSWORD_DIGITS - 1`` digits, ended by a
    character that ends a value, or by the text's end (1 and 2 characters are the
    short-value cases')."""
    ends = (f"[{_ENDS}{_MARKS}]", "^")
    return (rf"(?:(?<=[0-9]{sep})|(?<=[0-9][ \t]{sep}))(?:"
            + "|".join(rf"(?<={end}[0-9]{{{k}}}[ \t]{{{b}}}{sep})" for b in (0, 1) for end in ends
                       for k in range(_SHORTEST, _PASSWORD_DIGITS))
            + ")")


assert not [(w, other) for length, words in [*_SHORT_FOR_WORDS.items(), (0, _PASSWORD_WORDS)] for w in words
            for other_length, others in [*_SHORT_FOR_WORDS.items(), (0, _PASSWORD_WORDS)] if other_length != length
            for other in others if other.endswith(w)]


# The entries of ``_SHORT_FOR_WORDS`` whose keys have one type, or none, and the type:
# a value longer than that type's longest (``_MAX_LENGTH``) is no value either.
_LONGEST_FOR_WORDS = {9: "Ssn", 13: "CreditCard"}
assert all(_classify_key(key, key) in (pii_type, None)
           for length, pii_type in _LONGEST_FOR_WORDS.items() for word in _SHORT_FOR_WORDS[length]
           for head in ("", "x", "x_", "api_", "secret_", "access_", "phone_", "card_", "cc_", "social_security_",
                        "social_", "caller_id_", "client_", "private_", "ssn_", "pass_", "token_", "password_",
                        "credit_", "account_", "number_", "phone_number_")
           for key in (head + word,))


# The words of keys whose every type is written in digits (phone numbers, SSNs and card
# numbers): a value that starts with a letter, or with "+" and a letter, is none of
# them and so no value (``_NOT_A_NUMBER``), and hides no key (``tel:tel:tel:...``,
# ``mobile: +mobile: +...``). The mask leaves out the separators of such keys followed
# by such a bare value, after no blank or one.
_NUMBER_WORDS = _SHORT_FOR_WORDS[7] + _SHORT_FOR_WORDS[9] + _SHORT_FOR_WORDS[13]
_NUMBER_TYPES = frozenset({"PhoneNumber", "Ssn", "CreditCard"})
assert all(_classify_key(key, key) in _NUMBER_TYPES | {None}
           for word in _NUMBER_WORDS
           for head in ("", "x", "x_", "api_", "secret_", "access_", "phone_", "card_", "cc_", "social_security_",
                        "social_", "caller_id_", "client_", "private_", "ssn_", "pass_", "token_", "password_")
           for key in (head + word,))


def _not_a_number_rev(sep: str) -> str:
    # (the value first: most separators are not followed by a letter)
    return ("(?:" + "|".join(rf"(?<=[a-z]{plus}[ \t]{{{b}}}{sep})" for plus in ("", r"\+") for b in (0, 1))
            + f")(?={_key_word_rev(_NUMBER_WORDS)})")


def _skipped_separators_rev(sep: str) -> str:
    # the first character of a bare value: not "&" (the query case) nor, after
    # ":", "=" (":=")
    start = r"""[^\s"'<>()\[\]`&\x01""" + ("=" if sep == ":" else "") + "]"
    # a character no value starts with ("=>" takes its value after the ">")
    no_start = r"[\n\r<()\[\]`" + ("" if sep == "=" else ">") + "]"
    query_key = rf"(?={_KEY_WORDS_REV}[a-z0-9_.\-]{{0,100}}[?&\x01])"
    # Reversed, what follows the separator comes first; the cases are sorted
    # by the character right after it, so that each separator is asked a
    # few questions rather than all of them.
    after_start = [  # one or two characters and the end of a bare value, or an "&"
        rf"(?<={_END_CHAR}{start}{sep})", rf"(?<=^{start}{sep})",
        rf"(?<={_END_CHAR}{_CONT}{start}{sep})", rf"(?<=^{_CONT}{start}{sep})",
        rf"(?:(?<=[&\x01]{start}{sep})|(?<=[&\x01]{_CONT}{start}{sep})){query_key}"]
    after_quote = (  # one or two characters quoted; a quote closed at once or left open
        [rf"(?<={q}[^{q}\n=:]{{{k}}}{q}{sep})" for q in "'\"" for k in (1, 2)]
        + [rf"(?<=[{q}\n]{q}{sep})" for q in "'\""] + [rf"(?<=^{q}{sep})" for q in "'\""])
    after_blank = [rf"(?<={before}[ \t]{{{k}}}{sep})" for k in (1, 2)  # no value after the blanks
                   for before in (no_start, "^", "[\"\\n]\"", "['\\n]'", "^\"", "^'")]
    not_colon_equals = "(?!:)" if sep == "=" else "(?<!=:)"
    # First a key word that names nothing alone, whatever follows (such a key,
    # ``key=key=...``, is then masked at once); then a value too short or
    # none. (A separator no key pattern reads is left as it is: in a run of
    # ":" or "=" each then costs one comparison.)
    return (sep + not_colon_equals + _KEY_FIRST_REV + "(?:"
            + "(?=" + _key_word_rev(_UNTYPED_WORDS) + r"[\-_.]{0,100}(?![a-z0-9_.\-]))"
            + "|(?=" + _key_word_rev(_GLUED_UNTYPED_WORDS) + "[a-z0-9])"
            + "|" + _not_a_number_rev(sep)
            + "|" + _no_value_for_word_rev(sep)
            + "|(?:"
            + rf"(?<={start}{sep})(?:" + "|".join(after_start) + ")"
            + rf"|(?<=['\"]{sep})(?:" + "|".join(after_quote) + ")"
            + rf"|(?<=[ \t]{sep})(?:" + "|".join(after_blank) + ")"
            + rf"|(?<={no_start}{sep})|(?<=^{sep})"
            + rf"|(?<=[&\x01]{sep}){query_key}"
            + ")" + _KEY_WORD_AFTER_REV + ")")


_SHORT_VALUE_REV = re.compile(_skipped_separators_rev("=") + "|" + _skipped_separators_rev(":"))
# The "=" of a ``value`` key (the value half of a name/value pair): it pairs
# with a name only where "name" or "key" comes before it (``_pair_name``), so
# in a text with neither word every such "=" is skipped too.
_VALUE_KEY_REV = re.compile(
    r"=(?!:)(?=(?=[ \t\"'\-_.e])[ \t]*[\"']?[\-_.]?eulav(?:retemarap)?[\-_.]{0,100}(?![a-z0-9_.\-]))")
_MASK = "\x00"
# A separator whose value is the next key and nothing else: a key name (a
# known word, alone or after words joined by "_", "-" or ".") and its ":", or
# a known word alone and its "=", then a blank or the end (``password: token:
# X``, ``ssn: phone: ...``, ``token= token= ...``). The first key has no
# value; the next one is read in its own right, and its value is not hidden
# inside the first one's. A value that only ends in such a word
# (``hunter2token:``) is a value, and so is a longer one ending in "="
# (base64 padding: ``...no=``). (Not a separator of ":=", nor "=>".) The mask
# masks such separators too, on the text read forwards; ``_NEXT_KEY_REACH`` is
# how far past a separator the pattern can read.
# (and the names run together that keys are often written as: ``apikey``)
_JOINED_KEYS = tuple(head + tail for head in ("api", "access", "secret", "private", "auth", "refresh", "client",
                                              "session", "signing", "master", "app", "account", "subscription",
                                              "bearer", "id")
                     for tail in ("key", "token", "secret")) + ("phonenumber", "cardnumber", "ccnumber")
# (The first look-ahead asks, without the words, for a run of key characters
# ended by a separator and a blank: most separators fail it at once. Before it, a
# run of letters and digits that starts with a digit is passed: no word can start
# it, nor follow a "_", "-" or "." in it (``card: 4card: 4...``).)
_VALUE_IS_NEXT_KEY = re.compile(
    r"[:=](?<!:=)(?![ \t]{0,16}[0-9][a-z0-9]{0,250}+[:=])"
    r"(?=[ \t]{0,16}[a-z0-9_.\-]{1,250}+[:=](?:[ \t\r\n]|\Z))"
    r"(?=[ \t]{0,16}(?:(?:[a-z0-9]{1,32}+[_.\-]{1,4}+){0,6}?"
    + alternation(_KEY_ENDINGS + _JOINED_KEYS)
    + r"[\-_.]{0,4}:|[\-_.]{0,4}" + alternation(_KEY_ENDINGS) + r"[\-_.]{0,4}=)(?:[ \t\r\n]|\Z))")
_NEXT_KEY_REACH = 1 + 16 + 250 + 2
_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_.-")
# How a phone number, an SSN or a card number cannot start (each starts with a digit, a
# phone number also with "+"): with a letter, or "+" and a letter.
_NOT_A_NUMBER = re.compile(r"\+?[a-z]")
# (a separator then a blank, as after the next key: wherever there is none, no
# separator needs masking)
_SEPARATOR_THEN_BLANK = tuple(sep + blank for sep in ":=" for blank in " \t\r\n")


# A chunk is masked when it holds a key for every this many characters or fewer.
_KEYS_PER_MASK = 32
# The mask pays when it masks at least one separator for every this many keys it
# leaves; when it does not, it is left out of this many chunks before it is tried again.
_MASK_PAYS, _MASK_REST = 4, 8


def _packed(keys: int, chars: int) -> bool:
    """Whether ``keys`` in ``chars`` characters are packed close enough for
    the mask to pay."""
    return _KEYS_PER_MASK * keys > chars


def _mask_next_keys(lower: str, lo: int, hi: int) -> str:
    """``lower[lo:hi]`` as the mask reads it: where "&name=" and "|name=" end a value
    marked (``_mark_value_ends``), and each separator whose value is the next key
    (``_VALUE_IS_NEXT_KEY``) masked; read with the character before it and as far
    past it as the patterns look, so that they see there what they see in the whole
    text."""
    start = lo - 1 if lo else 0
    stretch = _mark_value_ends(lower[start:hi + _NEXT_KEY_REACH])
    at_end = hi + _NEXT_KEY_REACH >= len(lower)  # (where the pattern's "\Z" is the text's end)
    if (any(blank in stretch for blank in " \t\r\n") and any(pair in stretch for pair in _SEPARATOR_THEN_BLANK)) \
            or (at_end and stretch.endswith((":", "="))):
        stretch = _VALUE_IS_NEXT_KEY.sub(_MASK, stretch)
    return stretch[lo - start:hi - start]


# Where an "&" or "|" ends a bare value (before a name and "=", as ``_VALUE`` reads it),
# the mask's copy of the text has "\x01" or "\x02" instead: its patterns cannot look
# that far past a character (their look-behinds are of fixed width), and with these
# they know where such values end (``_NOT_END``); else they read "\x01" as "&". The
# copy's own "\x01" and "\x02", if any, are "\x03" there, which the patterns read as
# they read those.
_AMP_ENDS_VALUE = re.compile(f"&(?={_JOINED_NAME})")
_PIPE_ENDS_VALUE = re.compile(rf"\|(?={_JOINED_NAME})")


def _mark_value_ends(stretch: str) -> str:
    if "\x01" in stretch or "\x02" in stretch:
        stretch = stretch.replace("\x01", "\x03").replace("\x02", "\x03")
    if "&" in stretch:
        stretch = _AMP_ENDS_VALUE.sub("\x01", stretch)
    if "|" in stretch:
        stretch = _PIPE_ENDS_VALUE.sub("\x02", stretch)
    return stretch


def _mask_skipped_separators(rev: str, pair_values: bool) -> str:
    """``rev`` (reversed lowercase text) with the separators ``find_assignments``
    would skip masked; ``pair_values``: whether the whole text has no "name"
    nor "key" (then the separators of ``value`` keys too)."""
    rev = _SHORT_VALUE_REV.sub(_MASK, rev)
    if pair_values:
        rev = _VALUE_KEY_REV.sub(_MASK, rev)
    return rev


def _assignment_keys(lower: str, scan=finditer, skip_to=lambda: 0) -> Iterable[tuple[int, int, int]]:
    """``(separator, key_start, key_end)`` for every separator that follows a
    key name ending in a known word, in text order. ``skip_to()``: where the
    caller's next separator of interest is (past a value it has read), so
    that keys inside that value need not be read (see ``_keys_by_chunk``)."""
    n = len(lower)
    if scan is not finditer:
        if not any(map(scan.may_match, _ASSIGN_REV)):
            return []  # the prefilter saw no key before a separator
        if sum(len(scan.starts[rx]) for rx in _ASSIGN_REV) * 256 < n:
            # a few keys: each read from a window (cheaper than reversing the text)
            found = []
            for rx in _ASSIGN_REV:
                found += _keys_at(rx, lower, scan.starts[rx])
            found.sort()
            return found
    return _keys_by_chunk(lower, skip_to)


# Chunk sizes for ``_keys_by_chunk``, in characters.
_CHUNK_FIRST, _CHUNK_MIN, _CHUNK_MAX = 4096, 256, 1 << 16
# the longest look-behind of the separator patterns and of the mask, reversed
# (what follows a separator: up to the longest of ``_SHORT_FOR_WORDS``), with room to spare
_AFTER_SEPARATOR = max(_SHORT_FOR_WORDS) + 3


def _keys_by_chunk(lower: str, skip_to) -> Iterator[tuple[int, int, int]]:
    """The keys of ``_assignment_keys`` read from the reversed text a chunk at a
    time. Each chunk's reversed copy reaches back to the last separator before
    it (a key and the blanks and quote before its separator hold none, but
    the ":" of a ":=" that the chunk starts in, so every match whose
    separator lies in the chunk is whole in it) and a few
    characters past it (the look-behinds). Where the caller skips ahead (a
    value of up to 1,024 characters that holds more ``key:`` pairs, as in
    ``tel:tel:tel:...``), the next chunk starts past it, and chunks shrink
    while most of what they hold is skipped, so such a line costs little more
    than one value per read; elsewhere they grow to ``_CHUNK_MAX``."""
    n = len(lower)
    pair_values = "value" in lower and "name" not in lower and "key" not in lower
    pos, size = 0, _CHUNK_FIRST
    unmasked = 0  # chunks still to be read without the mask
    lo = 0  # where the last chunk's reversed copy ended (its last separator before it)
    # the first chunk by its separators, the next ones by the keys before
    mask = _packed(lower.count("=", 0, size) + lower.count(":", 0, size), min(n, size))
    while pos < n:
        end = min(n, pos + size)
        if lower.find("=", pos, end) < 0 and lower.find(":", pos, end) < 0:
            pos = end  # no separator in the chunk
            continue
        # (before ``pos - 1``: the ":" of a ":=" is part of the separator; looked
        # for back to the last chunk's, so that no stretch is searched twice)
        back = pos - 1 if pos else 0
        lo = max(lower.rfind("=", lo, back), lower.rfind(":", lo, back), lo)
        hi = min(n, end + _AFTER_SEPARATOR)
        masked = 0
        if mask:
            rev = _mask_next_keys(lower, lo, hi)[::-1]
            rev = _mask_skipped_separators(rev, pair_values)
            masked = rev.count(_MASK)
        else:
            rev = lower[lo:hi][::-1]
        found = []
        for rx in _ASSIGN_REV:  # groups: 1 is the separator, 2 the key
            last = hi - 1 - pos
            for m in rx.finditer(rev, hi - end):
                if m.start() > last:
                    break
                found.append((hi - m.end(1), hi - m.end(2), hi - m.start(2)))
        found.sort()
        skipped = 0
        limit = skip_to()  # (it moves only while a key is out with the caller)
        for key in found:
            if key[0] < limit:
                skipped += 1
                continue
            yield key
            limit = skip_to()
        # keys packed close (counting those masked): mask the next chunk's
        # separators that would be skipped; where keys are few, or none (as in
        # ``a::a::``), the mask's checks at every separator cost more than
        # they save, and so they do where it masks few of the keys (packed
        # keys with values long enough to read, ``ssn=123456789012 ``): then
        # the next ``_MASK_REST`` chunks go without it
        if mask and _MASK_PAYS * masked < len(found):
            unmasked = _MASK_REST
        elif unmasked:
            unmasked -= 1
        mask = not unmasked and _packed(len(found) + masked, end - pos)
        pos = max(end, skip_to())
        size = max(_CHUNK_MIN, size // 4) if 2 * skipped > len(found) else min(_CHUNK_MAX, size * 2)


# How much of the text before a separator ``_keys_at`` reverses: the
# separator's two characters, blanks, a quote, four "-_." and the longest
# word take 20, the rest of a key 120 more.
_KEY_WINDOW = 200


def _keys_at(rx: re.Pattern, lower: str, starts: list[int]) -> list[tuple[int, int, int]]:
    """What ``rx.finditer(lower[::-1])`` finds, as ``_assignment_keys`` gives
    it, from the positions (in the reversed text) where the prefilter says a
    key can end: each tried on the ``_KEY_WINDOW`` characters before it,
    reversed, instead of the whole text reversed. The window holds the whole
    match unless the blanks after the separator take most of it, or the key
    runs to its edge; then the whole text is reversed after all."""
    n = len(lower)
    found = []
    rev = None
    end = -1  # where the last match ends, in the reversed text
    for pos in starts:
        if pos < end:
            continue
        back = 2 if pos >= 2 else pos  # (the look-behind of ":" reads two characters)
        cut = n - pos - _KEY_WINDOW
        window = lower[cut if cut > 0 else 0:n - pos + back][::-1]
        m = rx.match(window, back)
        offset = pos - back
        if cut > 0 and (len(window[back + 1:].lstrip(" \t:")) < _KEY_WINDOW - 60
                        or (m is not None and m.end() == len(window))):
            if rev is None:
                rev = lower[::-1]
            m = rx.match(rev, pos)
            offset = 0
        if m is not None:
            end = offset + m.end()
            found.append((n - offset - m.end(1), n - offset - m.end(2), n - offset - m.start(2)))
    return found


def _pair_name(text: str, lower: str, key_start: int, window: int) -> tuple[str, str | None] | None:
    """The name that a ``value`` key belongs to (lowercase), read back from
    ``key_start`` to ``window`` (128 characters before it), which holds
    "name" or "key" (the pattern ends, reversed begins, with one), and the
    type that name gives the value (None: it names no secret). Both depend
    only on the window's text, and a run of pairs repeats a few windows:
    each is read once (a bounded table)."""
    before = text[window:key_start]
    pair = _PAIRS_SEEN.get(before, _UNKNOWN)
    if pair is _UNKNOWN:
        if len(_PAIRS_SEEN) >= 4096:
            _PAIRS_SEEN.clear()
        at = _pair_name_at(lower[window:key_start])
        if at is not None:
            start, end = key_start - at[0], key_start - at[1]
            pair = (lower[start:end], _key_type(lower[start:end], text[start:end]))
        else:
            pair = None
        _PAIRS_SEEN[before] = pair
    return pair


def _pair_name_at(before: str) -> tuple[int, int] | None:
    """Where the name ends in ``_pair_name``'s window, as distances back from its end."""
    m = _PAIR_NAME_REV.match(before[::-1])
    if not m:
        return None
    rev_start, rev_end = m.span("name")
    size = len(before)
    slash = before.rfind("/", size - rev_end, size - rev_start)
    if slash >= 0:
        rev_end = size - slash - 1  # a path (/prod/db/password) names its leaf
    return rev_end, rev_start


_PAIRS_SEEN: dict[str, tuple[str, str | None] | None] = memo.table()


def find_assignments(text: str, lower: str, out: list, scan=finditer) -> None:
    """Values assigned to a key that names a secret or personal data (the
    table at the top of this module), typed by the key; the value of a
    name/value pair is typed by its name."""
    consumed = 0
    run_end = run_keys = 0  # the values read and rejected, each inside the one before
    keys_read = _KEYS_READ
    value_match = _VALUE.match
    shortest = _SHORTEST
    reaches = _REACHES
    values_seen = _VALUES_SEEN
    values = _ValueReader(lower)
    name_at = key_at = -2  # -2: not looked for yet; -1: none left

    def skip_to() -> int:  # (read as the loop goes: keys inside a value read are not needed)
        return consumed

    for sep, key_start, key_end in _assignment_keys(lower, scan, skip_to):
        if sep < consumed:
            continue  # inside the value of the previous finding
        # A value that ends within ``shortest`` characters of its separator is too short
        # for any type (``token=a,token=a,...``), and no key can hide in it (a key and its
        # separator take three characters). Looked at through a window that short, so
        # that each separator costs a few characters, whatever follows it; what the
        # value expression reaches in a window is remembered (a run of keys repeats them).
        # In a query string every "&" ends a value (``sig=a&sig=a&...``).
        window = lower[sep:sep + shortest + 1]
        reach = reaches.get(window)
        if reach is None:
            if len(reaches) >= 4096:
                reaches.clear()
            m = value_match(window)
            reach = reaches[window] = 0 if m is None else m.end()
        if reach:
            end = sep + reach
            if key_start and lower[key_start - 1] in "?&":
                amp = lower.find("&", sep + 1, end)
                if amp >= 0:
                    end = amp
            if end <= sep + shortest:
                continue
        written = text[key_start:key_end]
        read = keys_read.get(written)
        if read is None:
            if len(keys_read) >= 4096:
                keys_read.clear()
            key = lower[key_start:key_end]
            pair_value = key.endswith(("value", "value-", "value_", "value.")) \
                and key.strip("-_.") in ("value", "parametervalue")
            pii_type = None if pair_value else _key_type(key, written)
            read = keys_read[written] = (key, pair_value, pii_type, _longest_value(key, pii_type))
        key, pair_value, pii_type, longest = read
        if pair_value:
            # a name needs "name" or "key" within 128 characters before (see
            # _pair_name); the first of each at or after the window is kept,
            # so a run of value keys looks each one up once
            window = key_start - 128 if key_start > 128 else 0
            if -1 != name_at < window:
                name_at = lower.find("name", window)
            if not 0 <= name_at <= key_start - 4:
                if -1 != key_at < window:
                    key_at = lower.find("key", window)
                if not 0 <= key_at <= key_start - 3:
                    continue
            pair = _pair_name(text, lower, key_start, window)
            if pair is None:
                continue
            key, pii_type = pair
            query = False
        else:
            if pii_type is None:
                continue
            if text[sep] == ":" and text[key_start - 3:key_start] == "://":
                continue  # https://x-access-token:<token>@host is a URL's user-info
            query = key_start > 0 and text[key_start - 1] in "?&"
        if pii_type is None:
            continue
        m = values.at(sep)
        if m is None:
            continue
        value_end = m.end()
        if value_end - sep > _SEEN_VALUE_CHARS:
            found = _read_value(text, lower, m, sep, pii_type, key, query, longest)
        else:
            # what is found depends on nothing but these, all known by now (the character
            # after the value tells whether it is the next key); a log repeats its
            # assignments, so the answer (from the separator) is remembered
            seen_key = (pii_type, key, query, text[sep:value_end + 1])
            found = values_seen.get(seen_key, _UNKNOWN)
            if found is _UNKNOWN:
                if len(values_seen) >= 4096:
                    values_seen.clear()
                found = _read_value(text, lower, m, sep, pii_type, key, query, longest)
                if found is not None and found is not _NO_VALUE:
                    found = (found[0] - sep, found[1] - sep)
                values_seen[seen_key] = found
            if found is not None and found is not _NO_VALUE:
                found = (sep + found[0], sep + found[1])
        if found is _NO_VALUE:
            continue
        if found is not None:
            consumed = value_end  # a key inside a value found is part of that value
            out.append((*found, pii_type))
        else:
            # A value that is not one hides nothing: the keys inside it are read in their
            # own right (``phone=N/A/password=...``). Past a few such keys inside one run of
            # values (``phone=1-phone=1-...``, a crafted line), the rest of the run is
            # passed, so that a line costs a few values per 1,024 characters.
            if sep < run_end:
                run_keys += 1
                run_end = max(run_end, value_end)
                if run_keys >= _KEYS_IN_A_VALUE:
                    consumed = run_end
            else:
                run_end, run_keys = value_end, 0


_NO_VALUE = "no value"  # (``_read_value``: what follows the separator is no value at all)


def _longest_value(key: str, pii_type: str | None) -> int | None:
    """The longest value a key that ends in a word of ``_LONGEST_FOR_WORDS`` can have
    (the mask leaves out the separators of longer ones). Other keys have none: a value
    too long for their type is not one, and counts in a run of values, so that a line
    of them (``phone=1/phone=1/...``) is passed after a few."""
    word = key.rstrip("-_.")
    for length, longest_type in _LONGEST_FOR_WORDS.items():
        if pii_type == longest_type and word.endswith(_SHORT_FOR_WORDS[length]):
            return _MAX_LENGTH[pii_type]
    return None


def _read_value(text: str, lower: str, m: re.Match, sep: int, pii_type: str, key: str,
                query: bool, longest: int | None) -> tuple[int, int] | str | None:
    """What the value ``m`` after the separator at ``sep`` is: ``_NO_VALUE`` when it is
    none at all (the next key, too short for any value of ``pii_type``, longer than
    ``longest``, or a password of fewer than ``_PASSWORD_DIGITS`` digits: a key in it is
    read in its own right, and it counts in no run of values), else the span of the
    value found, or None for a value that is not one of ``pii_type``."""
    if lower[m.end() - 1] in ":=" and (raw := m.start(_RAW)) >= 0 and lower[raw] in _KEY_CHARS \
            and _VALUE_IS_NEXT_KEY.match(lower, sep):
        # the value is the next key (which the mask also leaves out); such a value is
        # bare and starts with a character of a key name
        return _NO_VALUE
    if m.end(m.lastindex) - m.start(m.lastindex) < _MIN_LENGTH[pii_type]:
        # shorter than any value of this type (``_typed_value`` keeps it or less of it):
        # no value, so a key in it is read in its own right (``card: pwd=abc``)
        return _NO_VALUE
    if pii_type in _NUMBER_TYPES and _NOT_A_NUMBER.match(lower, m.start(m.lastindex)):
        return _NO_VALUE  # no number: no value (see ``_NUMBER_WORDS``)
    span = None
    if longest is not None and m.end(m.lastindex) - m.start(m.lastindex) > longest:
        span = _value_span(text, m, query)
        if span[1] - span[0] > longest:
            # longer than any value of this type: no value either (``ssn: 123456789012``)
            return _NO_VALUE
    if pii_type == "Password":
        span = span or _value_span(text, m, query)
        if span[1] - span[0] < _PASSWORD_DIGITS and text[span[0]:span[1]].isdigit():
            return _NO_VALUE  # a PIN, a port or a count (``password: 123``): no value either
    return _typed_value(text, m, pii_type, key, query, span)


# Keys read inside a value that is not one (and inside theirs) before the rest is passed.
_KEYS_IN_A_VALUE = 8
# Assignments whose separator and value take at most this many characters have their
# answer remembered (``find_assignments``); a bounded table.
_SEEN_VALUE_CHARS = 64
_VALUES_SEEN: dict[tuple[str, str, bool, str], tuple[int, int] | str | None] = memo.table()


def _typed_value(text: str, m: re.Match, pii_type: str, key: str, query: bool,
                 span: tuple[int, int] | None = None) -> tuple[int, int] | None:
    """The span of the value ``m`` (a ``_VALUE`` match) holds, if it is a value of
    ``pii_type`` assigned to ``key`` (``query``: a query-string parameter); ``span``:
    ``_value_span``'s, when the caller has it already."""
    start, end = span or _value_span(text, m, query)
    value = text[start:end]
    return (start, end) if value and _value_ok(pii_type, key, value) else None


def _value_span(text: str, m: re.Match, query: bool) -> tuple[int, int]:
    """Where the value that ``m`` (a ``_VALUE`` match) holds is, its quotes and the
    punctuation after a bare one left out."""
    if m.group("raw") is not None:
        start, end = m.span("raw")
        value = text[start:end]
        if query:  # in a query string every "&" starts the next parameter
            cut = value.find("&")
            if cut >= 0:  # (``token=&x=1``: this one is empty)
                value = value[:cut]
        return start, start + len(value.rstrip(_VALUE_TRAIL))
    return m.span("dq" if m.group("dq") is not None else "sq")


# --- credentials introduced by a word rather than a key=value ---------------
# Every pattern starts with a literal word, which is all the pre-check a scan
# needs: ``re`` looks for the literal at C speed.
_AUTH_HEADER = (
    ("bearer", re.compile(r"bearer[ \t]+(?P<tok>[a-z0-9\-._~+/]{8,4096}+=*)(?![a-z0-9\-._~+/=])")),
    ("basic", re.compile(r"basic[ \t]+(?P<tok>[a-z0-9+/]{8,4096}+=*)(?![a-z0-9\-._~+/=])")),
)
_QUOTED_SECRET = (
    re.compile(r"identified[ \t]+by[ \t]+(?:'(?P<sq>[^'\n]{1,256})'|\"(?P<dq>[^\"\n]{1,256})\")"),
)
# (pattern, type); bounded gaps keep each match linear. ``_ARG`` is an
# option's argument, bare or in quotes (``-w 'p@ss word'`` keeps its quotes
# out of the finding).
_ARG = r"""(?:'(?P<sq>[^'\n]{1,256})'|"(?P<dq>[^"\n]{1,256})"|(?P<v>[^\s'"]{1,256}))"""
# Commands whose password follows an option somewhere after the program's
# name: the name (``start``), then within ``reach`` characters on its line a
# blank and the option (``marker``) with the rest (``tail``, matched at the
# blank); the first such tail after the name, as a lazy pattern
# (``name[^\n]{0,reach}?[ \t]marker...``) would take it. Each marker is looked at
# once however many names come before it (``_command_passwords``), so a line
# packed with either costs linear time, where such a pattern walks the reach
# from every name.
#   Windows ``net use <share> ... /user:<name> <password>``
#   xfreerdp / wlfreerdp ``... /p:<password>``
_NET_USE_START = re.compile(r"net(?<![a-z]net)[ \t]+use\b")
_NET_USE_TAIL = re.compile(r"[ \t]/user:[^\s]+[ \t]+(?P<v>[^\s/'\"]+)")
_FREERDP_START = re.compile(r"freerdp(?=[ \t])")
_FREERDP_TAIL = re.compile(r"[ \t]/p:" + _ARG)
_COMMANDS = ((_NET_USE_START, "/user:", _NET_USE_TAIL, 200), (_FREERDP_START, "/p:", _FREERDP_TAIL, 201))
_CLI_SECRET = (
    # Windows ``net user <name> <password>`` sets an account's password
    (re.compile(r"net(?<![a-z]net)[ \t]+user[ \t]+[^\s/]{1,64}[ \t]+(?P<v>[^\s/'\"]{1,256})"), "Password"),
    (re.compile(r"stats[ \t]+auth[ \t]+[^\s:]+:(?P<v>[^\s'\"]+)"), "Password"),
    (re.compile(r"unseal[ \t]+key[ \t]+\d{1,2}:[ \t]+(?P<v>[a-z0-9+/=]{20,})"), "SecretAssignment"),
)

# Short options that carry a password for the programs that define them,
# found from the option (one scan for all of them) and checked against the
# program named earlier on the same line (the nearest one wins):
#   program                                      option         argument
#   docker/podman/helm/buildah/skopeo login      -p             next word
#   ldapsearch, ldapmodify, ... (OpenLDAP)       -w             next word
#   mysql, mysqldump, mysqladmin                 -p             glued: -pX, -p'X' ("-p X" asks)
#   sshpass                                      -p             glued or next word
#   mongo, mongosh, mongodump, ...               -p             next word
#   redis-cli                                    -a, --pass     next word
#   curl                                         -u, --user     user:password
#   smbclient                                    -U, --user     user%password
# ("curl/8.4.0" in a user agent is not a command: a program name must be
# followed by a blank.)
_SHORT_OPTION = re.compile(
    r" -(?P<opt>-pass(?![a-z])|-user(?![a-z])|[pwau])(?P<gap>[ \t=]*)"
    r"(?:['\"]?(?P<user>[^\s:%'\"]{1,128}+)(?P<usep>[:%]))?" + _ARG)
_PROGRAMS = {
    "login": [f"{tool} {reg}login" for tool in ("docker", "podman", "helm", "buildah", "skopeo")
              for reg in ("", "registry ")] + ["az login"],
    "ldap": ["ldap" + verb for verb in ("search", "modify", "add", "delete", "whoami", "passwd", "compare",
                                        "exop", "url", "modrdn")],
    "mysql": ["mysql", "mysqldump", "mysqladmin"], "sshpass": ["sshpass"],
    "mongo": ["mongo" + tail for tail in ("", "sh", "dump", "restore", "export", "import", "stat", "top")],
    "redis": ["redis-cli"], "curl": ["curl"], "smb": ["smbclient"], "sqlcmd": ["sqlcmd"],
    "sevenzip": ["7z", "7za", "7zr"],
}
# Program names, at the start of a word and followed by a blank.
_PROGRAM = re.compile(
    r"(?<![\w\-.])(?:" + "|".join(f"(?P<{kind}>{alternation(names)})" for kind, names in _PROGRAMS.items())
    .replace("\\ ", r"[ \t]+") + r")(?=[ \t])")
# program -> (options, gap rule: "blank" a separate word, "glued" no gap,
# "any" either, user-info separator or None)
_PROGRAM_OPTIONS = {
    "login": ("p", "blank", None), "ldap": ("w", "blank", None), "mysql": ("p", "glued", None),
    "sshpass": ("p", "any", None), "mongo": ("p", "blank", None), "redis": ("a-pass", "blank", None),
    "curl": ("u-user", "blank", ":"), "smb": ("u-user", "any", "%"), "sqlcmd": ("p", "blank", None),
    "sevenzip": ("p", "glued", None),
}
# program -> the options it takes a password with
_OPTIONS_OF = {kind: frozenset(opts.split("-")) for kind, (opts, _, _) in _PROGRAM_OPTIONS.items()}
# Option -> whether the programs that take a password with it take
# ``user<separator>password`` there (curl -u, smbclient -U): the same for
# every program, so it is checked before the program's own rules. Keyed
# both ways an option is written: ``u`` and ``user`` as in the table, and
# ``-user`` as ``_SHORT_OPTION`` reads ``--user``.
_OPTION_TAKES_USER: dict[str, bool] = {
    opt: _PROGRAM_OPTIONS[kind][2] is not None for kind, opts in _OPTIONS_OF.items() for opt in opts}
_OPTION_TAKES_USER.update({"-" + opt: takes for opt, takes in _OPTION_TAKES_USER.items() if len(opt) > 1})
assert all(_OPTION_TAKES_USER[opt] is (_PROGRAM_OPTIONS[kind][2] is not None)
           for kind, opts in _OPTIONS_OF.items() for opt in opts)


# A word in every name of each kind of program, looked for on a line before
# its program names are.
_KIND_WORDS = {"login": "login", "ldap": "ldap", "mysql": "mysql", "sshpass": "sshpass", "mongo": "mongo",
               "redis": "redis-cli", "curl": "curl", "smb": "smbclient", "sqlcmd": "sqlcmd", "sevenzip": "7z"}
assert _KIND_WORDS.keys() == _PROGRAMS.keys()
assert all(_KIND_WORDS[kind] in name for kind, names in _PROGRAMS.items() for name in names)

# How far after a program's name its options are read, in characters.
_PROGRAM_REACH = 200


def _program_options(text: str, lower: str, out: list, scan) -> None:
    """Passwords given to a ``_SHORT_OPTION`` of the program named nearest
    before it on its line (within ``_PROGRAM_REACH``), where that program
    takes its password there. Each line is searched for program names once,
    when an option on it is first read, so a line full of options costs
    linear time; past the reach of a name, the options up to the next name
    (or the end of the line) are passed over unread, and so is an option
    written in a way no program named on its line takes a password."""
    line_end = -1  # end of the line searched last ("\n" or the end of the text)
    present: list[str] = []  # the kinds of program that may be named on it
    ends: list[int] | None = None  # where each program name on it ends, and its kind
    kinds: list[str] = []
    line_fits: dict[tuple, bool] = {}  # option shape -> whether a program on the line takes it
    none_until = 0
    fits = _OPTION_FITS
    takes_user = _OPTION_TAKES_USER
    for m in scan(_SHORT_OPTION, lower):
        pos = m.start()
        if pos < none_until:
            continue
        shape = m.group("opt", "gap", "usep")
        if (shape[2] is None) is takes_user[shape[0]]:
            continue  # user:password where there is none, or the other way round
        start, end = m.span(m.lastgroup)  # the argument (``_ARG`` closes the pattern)
        if end - start < 3:
            continue  # whatever the program: no password
        if pos > line_end:
            line_start = lower.rfind("\n", max(line_end, 0), pos) + 1
            line_end = lower.find("\n", pos)
            if line_end < 0:
                line_end = len(lower)
            # the kinds whose word is on the line (more than are named there,
            # never fewer); the names themselves are searched for when needed
            present = [kind for kind, word in _KIND_WORDS.items() if lower.find(word, line_start, line_end) >= 0]
            line_fits = {}
            ends = None
        fit = line_fits.get(shape)
        if fit is None:
            fit = line_fits[shape] = any(_fits(kind, shape) for kind in present)
        if not fit:
            continue  # ``mysql -p X``: "-p X" is a password to some programs, not to mysql
        if ends is None:
            names = list(_PROGRAM.finditer(lower, line_start, line_end))
            ends = [name.end() for name in names]
            kinds = [name.lastgroup for name in names]
        nearest = bisect_right(ends, pos) - 1
        if nearest < 0 or pos - ends[nearest] > _PROGRAM_REACH:
            # no name before it, or one too far: and so up to the next name's end
            none_until = ends[nearest + 1] if nearest + 1 < len(ends) else line_end + 1
            continue
        fit = fits.get((kinds[nearest], *shape))
        if fit is None:
            fit = _fits(kinds[nearest], shape)
        if fit and not v.is_placeholder(text[start:end]):
            out.append((start, end, "Password"))


def _fits(kind: str, shape: tuple) -> bool:
    """``_option_fits(kind, *shape)``, remembered."""
    key = (kind, *shape)
    fit = _OPTION_FITS.get(key)
    if fit is None:
        if len(_OPTION_FITS) >= 4096:
            _OPTION_FITS.clear()
        fit = _OPTION_FITS[key] = _option_fits(kind, *shape)
    return fit


def _option_fits(kind: str, opt: str, gap: str, usep: str | None) -> bool:
    """Whether program ``kind`` takes a password with option ``opt`` written
    with that gap after it and that user-info separator (or none)."""
    _, gap_rule, user_sep = _PROGRAM_OPTIONS[kind]
    if opt.lstrip("-") not in _OPTIONS_OF[kind] or ("=" in gap and kind != "smb"):
        return False
    if (gap_rule == "blank" and not gap) or (gap_rule == "glued" and gap):
        return False
    # curl's ":" where smbclient's "%" is wanted, or the other way round
    return user_sep is None or usep == user_sep


# ``_option_fits`` by its arguments: a log repeats its commands (a bounded table)
_OPTION_FITS: dict[tuple, bool] = memo.table()


# A long option that names a secret takes the secret as its next argument:
# ``--password X``, ``--db-password 'X'``, ``--token X``, ``--client-secret X``
# (``--password=X`` is an assignment). The name is typed like a key
# (``_key_type``); an argument that starts with "-" is the next option
# (``--no-password --verbose``), not a value.
_LONG_FLAG = re.compile(r"--(?<![\w\-]--)(?P<flag>[a-z][a-z0-9\-]{0,40}+)[ \t]+(?!-)" + _ARG)

# The word "password" in a sentence or a prompt, and single-dash options
# that end in "pass":
# * ``the admin password is X``, ``password was changed to X``: a bare
#   value must look like a password (``_looks_like_password``), so
#   "password is incorrect" and "password was reset to default" are not;
# * ``Password for 'admin': X`` (a prompt echoed with its answer);
# * ``password 'X'`` (a quoted value right after the word);
# * ``-storepass X``, ``-keypass X`` (keytool, jarsigner), ``-pass X``,
#   ``-password X`` and OpenSSL's ``-passin pass:X`` (``env:``/``file:``
#   name where the password is, not the password).
_PASS_PHRASE = re.compile(
    r"pass(?:"
    r"(?P<flag>(?:(?<=[ \t]-pass)|(?<=storepass)|(?<=keypass))(?:word|wd|in|out)?[ \t]+(?:pass:)?)"
    r"|(?:word|phrase|wd)(?:"
    r"(?P<verb>[ \t]+(?:(?:(?:has|had)[ \t]+been[ \t]+|is[ \t]+|was[ \t]+)?"
    r"(?:set|changed|reset|updated)[ \t]+to|is|was)[ \t]+)"
    r"|(?P<prompt>[ \t]+for[ \t]+(?:user[ \t]+)?['\"]?[^\s'\":]{1,64}['\"]?[ \t]*:[ \t]*)"
    r"|[ \t]+(?=['\"])"
    r"))" + _ARG)
_PROSE_TRAIL = ".,;:)"


def _looks_like_password(value: str) -> bool:
    """A bare word after "password is": at least four characters and some
    sign of a password (a digit, a symbol, or a capital after the first
    letter), so the ordinary words of a sentence are not taken."""
    if len(value) < 4 or v.is_placeholder(value) or (value.isalpha() and value.isupper()):
        return False
    return not value.isalpha() or any(map(str.isupper, value[1:]))


def _arg_span(m: re.Match) -> tuple[int, int, bool]:
    """Span of the matched ``_ARG`` and whether it was quoted. ``_ARG`` ends
    every pattern that uses it, so its group is the last one closed."""
    group = m.lastgroup
    assert group in ("v", "sq", "dq"), "an argument always matches one group"
    start, end = m.span(group)
    return start, end, group != "v"


def _command_passwords(text: str, lower: str, out: list, scan, start_rx: re.Pattern, marker: str,
                       tail_rx: re.Pattern, reach: int) -> None:
    """Passwords of the commands in ``_COMMANDS`` (one row's arguments)."""
    resume = 0  # where the last command found ends
    tail = None  # the first tail found after the last marker passed over, and where its blank is
    blank = -1
    search = 0  # where the next marker is looked for
    for m in scan(start_rx, lower):
        if m.start() < resume:
            continue
        end = m.end()
        if tail is not None and blank < end:
            tail = None  # before this name: of no use to it or to those after
        if tail is None:
            search = max(search, end + 1)
            limit = end + 1 + reach + len(marker)  # the marker right after a blank within reach
            while True:
                at = lower.find(marker, search, limit)
                if at < 0:
                    search = max(search, limit - len(marker) + 1)
                    break
                search = at + 1
                tail = tail_rx.match(lower, at - 1)
                if tail is not None:
                    blank = at - 1
                    break
        if tail is None or blank - end > reach or lower.find("\n", end, blank) >= 0:
            continue
        resume = tail.end()
        start, stop = tail.span(tail.lastgroup)
        if not v.is_placeholder(text[start:stop]):
            out.append((start, stop, "Password"))


def find_flags_and_prose(text: str, lower: str, out: list, scan=finditer) -> None:
    """Secrets given as the argument of a long option (``--password X``) or
    in a sentence or prompt around the word password (see the patterns)."""
    for m in scan(_LONG_FLAG, lower):
        flag = m.group("flag")
        if flag.startswith("no-"):
            continue
        pii_type = _key_type(flag, text[m.start("flag"):m.end("flag")])
        if pii_type is None:
            continue
        start, end, quoted = _arg_span(m)
        value = text[start:end]
        if not quoted:
            value = value.rstrip(_PROSE_TRAIL)
            end = start + len(value)
            if pii_type == "Password" and not _looks_like_password(value):
                continue  # "Using --password via the CLI is insecure"
        if value and _value_ok(pii_type, flag, value):
            out.append((start, end, pii_type))
    for m in scan(_PASS_PHRASE, lower):
        start, end, quoted = _arg_span(m)
        value = text[start:end]
        if m.group("flag") is not None and (value.lower().startswith(("env:", "file:", "fd:"))
                                            or value.lower() == "stdin"):
            continue
        if not quoted:
            value = value.rstrip(_PROSE_TRAIL)
            end = start + len(value)
            if m.group("flag") is None and not _looks_like_password(value):
                continue
        if value and not v.is_placeholder(value) and (quoted or len(value) >= 3):
            out.append((start, end, "Password"))
    _piped_passwords(text, out, scan)


# A password echoed into a command that reads one from its standard input:
# ``echo X | docker login -u bob --password-stdin`` (helm, podman, oras... take the same
# option), ``echo X | sudo -S cmd``, ``echo X | passwd --stdin bob`` and ``echo 'bob:X' |
# chpasswd``. Found from the command (each pattern starts with its word, which the
# prefilter or ``re`` finds as a literal), then the ``echo`` or ``printf`` whose pipe
# feeds it, on the same line and within ``_PIPED_REACH`` characters before it.
# Each: the command, what must come before it after the pipe (or None), and whether it
# reads "user:password".
_STDIN_READERS = (
    (re.compile(r"--password-stdin(?![\w\-])"), None, False),
    (re.compile(r"--stdin(?<![\w\-]--stdin)(?![\w\-])"), re.compile(r"(?:^|[ \t])passwd[ \t]"), False),
    (re.compile(r"chpasswd(?<![\w\-]chpasswd)(?![\w\-])"), None, True),
    (re.compile(r"sudo(?<![\w\-]sudo)(?:[ \t]+-[A-Za-z]+)*?[ \t]+-[A-Za-z]*S"), None, False),
)
_ECHOED = re.compile(
    r"""(?<![^\s;&(|])(?:echo(?:[ \t]+-[neE]{1,3})*|printf(?:[ \t]+(?:'%s(?:\\n)?'|"%s(?:\\n)?"|%s))?)[ \t]+"""
    r"""(?:'(?P<sq>[^'\n]{1,256})'|"(?P<dq>[^"\n]{1,256})"|(?P<v>[^\s|;&'"<>]{1,256}))[ \t]*\Z""")
_PIPED_REACH = 300


def _piped_passwords(text: str, out: list, scan=finditer) -> None:
    for reader, before, with_user in _STDIN_READERS:
        for m in scan(reader, text):
            _piped_password(text, out, before, with_user, m.start())


def _piped_password(text: str, out: list, before: re.Pattern | None, with_user: bool, at: int) -> None:
    lo = at - _PIPED_REACH if at > _PIPED_REACH else 0
    pipe = text.rfind("|", lo, at)
    if pipe <= 0 or text[pipe - 1] == "|":
        return
    stage = text[pipe + 1:at]
    if "\n" in stage or ";" in stage or "&" in stage:
        return  # another line or command between the pipe (the last one) and this one
    if before is not None and not before.search(stage):
        return  # (--stdin: of passwd)
    line_break = text.rfind("\n", lo, pipe)
    if line_break >= 0:
        lo = line_break + 1
    m = None
    for word in ("echo", "printf"):
        cut = text.rfind(word, lo, pipe)
        if cut >= 0 and (m := _ECHOED.match(text, cut, pipe)) is not None:
            break
    if m is None:
        return
    start, end = m.span(m.lastgroup)
    if with_user:  # "user:password"
        colon = text.find(":", start, end)
        if colon < 0:
            return
        start = colon + 1
    value = text[start:end]
    if len(value) >= 3 and not v.is_placeholder(value):
        out.append((start, end, "Password"))


def find_credential_phrases(text: str, lower: str, out: list, scan=finditer) -> None:
    """``Authorization: Bearer <token>`` and ``Basic <base64>``; passwords
    quoted after SQL's ``IDENTIFIED BY``; passwords given
    to well-known command-line tools (``docker login -p``, ``ldapsearch -w``,
    ``net use ... /user:x <password>``, ``mysql -p<password>``,
    ``redis-cli -a``, ``curl -u user:password``, HAProxy
    ``stats auth user:password``)."""
    for scheme, rx in _AUTH_HEADER:
        for m in scan(rx, lower):
            start, end = m.span("tok")
            token = text[start:end]
            if scheme == "bearer":
                if len(token) >= 16 or (len(token) >= 8 and any(c.isdigit() for c in token)):
                    out.append((start, end, "BearerToken"))
            elif v.is_basic_credential(token):
                out.append((start, end, "Password"))
    for rx in _QUOTED_SECRET:
        for m in scan(rx, lower):
            group = "sq" if m.group("sq") is not None else "dq"
            start, end = m.span(group)
            if not v.is_placeholder(text[start:end]):
                out.append((start, end, "Password"))
    _program_options(text, lower, out, scan)
    for start_rx, marker, tail_rx, reach in _COMMANDS:
        _command_passwords(text, lower, out, scan, start_rx, marker, tail_rx, reach)
    for rx, pii_type in _CLI_SECRET:
        for m in scan(rx, lower):
            group = next(g for g in ("v", "sq", "dq") if g in rx.groupindex and m.group(g) is not None)
            start, end = m.span(group)
            if not v.is_placeholder(text[start:end]):
                out.append((start, end, pii_type))
