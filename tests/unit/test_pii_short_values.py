"""Keys are read from the reversed text a chunk at a time, with the separators
that ``find_assignments`` would skip masked first (``assignments._keys_by_chunk``,
``_mask_skipped_separators``), so that a line packed with them (``token=a,``,
``tel:tel:``) costs one pass of ``re`` rather than a Python step per separator.
Neither may change a finding: here ``find_assignments`` is compared with the
same function reading every key from the whole reversed text, unmasked, on the
development corpus, on seeded random texts built from keys, separators and
short and long values (also long ones cut into many small chunks), and on
crafted runs; and the crafted runs are shown to leave no separator for the
Python loop."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from tftsr.pii import assignments, detect_pii
from tftsr.pii.patterns import finditer

CORPUS = Path(__file__).resolve().parents[1] / "data" / "pii_corpus"

PIECES = [
    "token", "sig", "phone", "key", "api_key", "password", "pwd", "value", "name", "ssn", "card",
    "=", "=", "=", ":", ":=", "=>", "==", "&", "?", "&x=", "?q=", "a", "1", "ab", "abc", "abcd", ",", ";",
    " ", "\t", '"', "'", "-", "_", ".", "<", ">", "(", ")", "[", "`", "%", "@", "/", "\n",
    "12345678", "Zq9$kLm2pQ", "s3cr3tV4lu3xyz", "219-09-9999", "4111111111111111", "+14155550123",
    "ghp_" + "a1B2" * 9, "\u00e9", "\u00a0", "'a'", '"ab"', "''", "'=:'", "no", "nr", "number", "num",
    "security", "_key-", "tel", "://", '""', "''", '" "', "=>", "\r\n", "  ",
    "cc", "pass", "apikey", "x-api-key", ": ", "= ",
    "mobile", "fax", "card_number", "x_ssn", "+1", "123456", "4111", "abcdefg", "Zq9kLm2",
    "+", "+x", "n/a", "N/A", "|", "|x=", "x+", "hunter22",
    "&token=", "|ssn=", "&card=", "|x", "&x", "\x01", "\x02", "&_a.b=", "&x: ", "|tel: ", "&x:",
]


def whole_text_keys(lower: str, scan=finditer, skip_to=None) -> list:
    """Every key, read from the whole reversed text, nothing masked."""
    n, rev = len(lower), lower[::-1]
    found = []
    for rx in assignments._ASSIGN_REV:
        found += [(n - m.end(1), n - m.end(2), n - m.start(2)) for m in rx.finditer(rev)]
    return sorted(found)


def assignments_found(text: str, masked: bool, monkeypatch) -> list:
    """``find_assignments`` as it is (``masked``), or reading every key from the
    whole reversed text."""
    out: list = []
    with monkeypatch.context() as m:
        if not masked:
            m.setattr(assignments, "_assignment_keys", whole_text_keys)
        assignments.find_assignments(text, text.lower(), out)
    return out


# value keys of name/value pairs, in texts without "name" or "key"
VALUE_PIECES = [p for p in PIECES if p not in ("name", "key", "api_key")] + [
    "value", "-value", "value_", "value.", "--value", "value--", "parametervalue", "myvalue", "valuex", "Value"]


def random_texts(count: int, seed: int, pieces=PIECES) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 40))) for _ in range(count)]


@pytest.fixture(params=["when-dense", "always"])
def masking(monkeypatch, request):
    """The mask as it runs (on chunks dense with keys where it pays), or on every chunk."""
    if request.param == "always":
        monkeypatch.setattr(assignments, "_packed", lambda keys, chars: True)
        monkeypatch.setattr(assignments, "_MASK_REST", 0)


@pytest.mark.parametrize("pieces", [PIECES, VALUE_PIECES], ids=["keys", "value-keys"])
def test_masking_changes_no_assignment_on_random_texts(monkeypatch, pieces, masking):
    for text in random_texts(4000, seed=7, pieces=pieces):
        assert assignments_found(text, True, monkeypatch) == assignments_found(text, False, monkeypatch), text


@pytest.fixture(params=[(64, 8, 512), (16, 4, 64)], ids=["small-chunks", "tiny-chunks"])
def small_chunks(monkeypatch, request):
    first, smallest, largest = request.param
    monkeypatch.setattr(assignments, "_CHUNK_FIRST", first)
    monkeypatch.setattr(assignments, "_CHUNK_MIN", smallest)
    monkeypatch.setattr(assignments, "_CHUNK_MAX", largest)


def test_reading_by_chunks_changes_no_assignment_on_long_random_texts(monkeypatch, small_chunks, masking):
    for seed, pieces in ((3, PIECES), (4, VALUE_PIECES)):
        rng = random.Random(seed)
        for _ in range(80):
            text = "".join(rng.choice(pieces) for _ in range(rng.randint(200, 3000)))
            assert assignments_found(text, True, monkeypatch) == assignments_found(text, False, monkeypatch)


@pytest.mark.parametrize("unit", ["tel:", "phone=1:", "token=hmac-a:", "password=", "password for x: ",
                                  "pwd=" + "x" * 1100 + " ", "tel:" * 300 + "\n"])
def test_reading_by_chunks_past_long_values(monkeypatch, unit, small_chunks, masking):
    text = unit * (40_000 // len(unit) + 1)
    assert assignments_found(text, True, monkeypatch) == assignments_found(text, False, monkeypatch)


@pytest.mark.parametrize("unit", ["card: 4111111111111111 ", "phone=+14155550123,", "x_ssn=219099999 ",
                                  "token=Zq9kLm2p ", "cc=4111111111111111\n"])
def test_a_value_cut_by_the_end_of_a_chunk_is_read_whole(monkeypatch, unit, small_chunks, masking):
    """The mask reads up to 13 characters past a separator; a chunk's copy reaches
    that far past its end, so a value that goes on past it is not taken for a
    short one, wherever the chunks end."""
    for pad in range(len(unit) + 1):
        text = "x" * pad + unit * 40
        assert assignments_found(text, True, monkeypatch) == assignments_found(text, False, monkeypatch), pad


def test_masking_changes_no_assignment_on_the_corpus(monkeypatch, masking):
    lines = [json.loads(line)["text"] for path in sorted(CORPUS.glob("*.jsonl"))
             for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(lines) > 100
    joined = "\n".join(lines)
    assert assignments_found(joined, True, monkeypatch) == assignments_found(joined, False, monkeypatch)


@pytest.mark.parametrize("unit", ["token=a,", "phone=1,", "sig=a&", "api_key=x; ", "?sig=&", "pwd=ab\n",
                                  "value=", "-value=abc ", "pwd='a' ", 'token:"ab",', "key=", "no: x ", "number=12345678 ",
                                  '"password": "', "token=\n", "pwd = <x> ", "secret: '' ", "cc=4", "SSN: 1",
                                  "ssn: ", "token= ", "apikey: ", "card: 4", "phone=123,", "card=1234,",
                                  "ssn=12345,", "mobile: +1 ", "tel=555,", "fax: 123 ", "card_number=1234 ",
                                  "token=abcdef ", "api_key: 12345 ", "x_ssn=1234567\n",
                                  "tel:", "mobile: +", "phone=n/a,", "fax: +x ", "card_number=none ",
                                  # ended by the next "&name=" or "|name=" (an "&" before no "=" goes
                                  # on a value: ``card=1&x card=...``)
                                  "card=123&", "ssn=1-1&", "tel=123|", "token=abc&", "ssn=1234567&",
                                  "card=12345678|", "phone=12&&", "token=abcdef|&"])
def test_a_run_of_too_short_values_leaves_no_separator_to_look_at(unit):
    text = unit * 5000
    # (the first "sig=" is not a query-string parameter: no "&" or "?" before it)
    assert len(list(assignments._assignment_keys(text.lower()))) <= 1
    assert detect_pii(text) == []


def test_real_values_among_short_ones_are_still_found():
    text = "token=a," * 50 + "token=s3cr3tV4lu3xyz," + "sig=a&" * 50 + "&sig=Zq9kLm2pQ7wX4vB1&" + "pwd=ab pwd=hunter22 "
    found = [(s.pii_type, s.original) for s in detect_pii(text)]
    assert found == [("SecretAssignment", "s3cr3tV4lu3xyz"), ("SecretAssignment", "Zq9kLm2pQ7wX4vB1"),
                     ("Password", "hunter22")]


def test_a_value_too_short_for_its_key_hides_no_key():
    """A value too short for its key's type is no value (``card: 4``), so a key
    written inside it is read in its own right: ``card: pwd=abc`` gives the
    password (before, the card's value took the whole word and hid it). So is a
    phone, SSN or card value that starts with a letter (``tel:tel:...``)."""
    found = {text: [(s.pii_type, s.original) for s in detect_pii(text)]
             for text in ["card: pwd=abc", "phone=12,token=Zq9kLm2pQ7wX4vB1", "ssn=pwd=abc",
                          "card: 4 password=hunter22", "tel:" * 300]}
    assert found == {"card: pwd=abc": [("Password", "abc")],
                     "phone=12,token=Zq9kLm2pQ7wX4vB1": [("SecretAssignment", "Zq9kLm2pQ7wX4vB1")],
                     "ssn=pwd=abc": [("Password", "abc")],
                     "card: 4 password=hunter22": [("Password", "hunter22")],
                     "tel:" * 300: []}


def test_a_bare_value_ends_before_the_next_field_written_with_a_colon(monkeypatch):
    """``&name: `` and ``|name: `` end a bare value as ``&name=`` and ``|name=`` do: the
    next field's key is read in its own right (before, ``abc&token`` was taken for the
    password and the token after it was left in the text), and a line of them
    (``tel: 1-1&tel: 1-1&...``) is a run of values too short, left out in C."""
    found = {text: [(s.pii_type, s.original) for s in detect_pii(text)]
             for text in ["password: abc&token: Zq9kLm2pQ7wX4vB1xx",
                          "user: bob|password: hunter22|client: 10.0.0.1",
                          "token: Zq9kLm2pQ7wX4vB1&more:\tx",
                          # not before a blank: part of the value
                          "token: Zq9kLm2pQ7&wX4:vB1xx", "token: Zq9kLm2pQ7&wX4:"]}
    assert found == {
        "password: abc&token: Zq9kLm2pQ7wX4vB1xx": [("Password", "abc"), ("SecretAssignment", "Zq9kLm2pQ7wX4vB1xx")],
        "user: bob|password: hunter22|client: 10.0.0.1": [("Password", "hunter22"), ("Ipv4", "10.0.0.1")],
        "token: Zq9kLm2pQ7wX4vB1&more:\tx": [("SecretAssignment", "Zq9kLm2pQ7wX4vB1")],
        "token: Zq9kLm2pQ7&wX4:vB1xx": [("SecretAssignment", "Zq9kLm2pQ7&wX4:vB1xx")],
        "token: Zq9kLm2pQ7&wX4:": [("SecretAssignment", "Zq9kLm2pQ7&wX4")]}
    for unit in ["tel: 1-1&", "token: abc&", "card: 12345678|"]:
        text = unit * 5000
        assert len(list(assignments._assignment_keys(text.lower()))) <= 1, unit
        assert detect_pii(text) == [], unit


def test_a_password_of_a_few_digits_is_no_value(monkeypatch):
    """Three to five digits are no password (a PIN, a port, a count): such a value is
    none, and the mask leaves its separator out in C; six digits are a password."""
    for unit in ["password: 123 ", "pwd=12345,", "passwd=1234&", 'db_password="123"; ']:
        text = unit * 5000
        if '"' not in unit:  # (a quoted value is read in Python, and is no value there)
            assert len(list(assignments._assignment_keys(text.lower()))) <= 1, unit
        assert detect_pii(text) == [], unit
    text = ("password: 123 " * 20 + "password: 123456 pwd=1234.5 ") * 100
    assert {s.original for s in detect_pii(text)} == {"123456", "1234.5"}
    assert assignments_found(text, True, monkeypatch) == assignments_found(text, False, monkeypatch)


def test_a_value_too_long_for_an_ssn_or_card_key_is_no_value(monkeypatch):
    """An SSN has at most 11 characters and a card number 19: a longer bare value after
    an SSN or card word is no value, and the mask leaves such separators out in C; the
    punctuation a value is cut of does not count (``ssn=219-09-9999..``), nor what
    follows the "&" that ends a query string's value."""
    for unit in ["ssn: 123456789012 ", "ssn=1/", "card: 12345678901234567890 ", "x_ssn=123456789012,",
                 "cc=4111-1111-1111-1111-1111 "]:
        text = unit * 5000
        assert len(list(assignments._assignment_keys(text.lower()))) <= 1, unit
        assert detect_pii(text) == [], unit
    for unit, value in [("ssn=219-09-9999.. ", "219-09-9999"), ("card: 4111111111111111.) ", "4111111111111111"),
                        ("?ssn=219-09-9999&more=123456789012345&", "219-09-9999")]:
        text = ("ssn: 123456789012 " * 20 + unit) * 200
        assert [(s.original) for s in detect_pii(text)] == [value] * 200, unit
        assert assignments_found(text, True, monkeypatch) == assignments_found(text, False, monkeypatch)
    # a longer value for other keys is not one, and counts in a run of values, so a
    # line of them is passed after a few (see ``_longest_value``)
    assert assignments._longest_value("card_number", "CreditCard") is None
    assert assignments._longest_value("x_ssn-", "Ssn") == 11


def test_a_number_key_with_a_value_that_starts_like_no_number_has_no_value(monkeypatch):
    """Phone numbers, SSNs and card numbers start with a digit (a phone number also
    with "+"): after a key of theirs, a value that starts with a letter, or with "+" and
    a letter, is no value, read or masked alike; one that starts like a number is read."""
    cases = {"fax: +x4155550123": [], "tel:x4155550123 ": [], "card_number=a4111111111111111": [],
             "fax: +14155550123": [("PhoneNumber", "+14155550123")],
             "card_number=4111111111111111": [("CreditCard", "4111111111111111")]}
    for text, expected in cases.items():
        for masked in (True, False):
            found = [(t, text[a:b]) for a, b, t in assignments_found(text, masked, monkeypatch)]
            assert found == expected, (text, masked)


def test_a_value_that_is_not_one_hides_no_key():
    """A value read and rejected is no value either: a key inside it is read in its own
    right. Before, the value took every key written inside it, found or not, and what
    those keys held was left in the text (fields joined by "/" or ":", a quoted phone
    field, a working directory before a token)."""
    found = {text: [(s.pii_type, s.original) for s in detect_pii(text)] for text in [
        "phone=N/A/password=hunter22x", "ssn=redacted/card=4111111111111111",
        "pwd=/home/deploy:token=Zq9kLm2pQ7wX4vB1", "phone: +password=hunter22x",
        "mobile: +token=Zq9kLm2pQ7wX4vB1", "phone: n/a|password: hunter22x",
        'phone: "N/A, see password=hunter22x"',
    ]}
    assert found == {
        "phone=N/A/password=hunter22x": [("Password", "hunter22x")],
        "ssn=redacted/card=4111111111111111": [("CreditCard", "4111111111111111")],
        "pwd=/home/deploy:token=Zq9kLm2pQ7wX4vB1": [("SecretAssignment", "Zq9kLm2pQ7wX4vB1")],
        "phone: +password=hunter22x": [("Password", "hunter22x")],
        "mobile: +token=Zq9kLm2pQ7wX4vB1": [("SecretAssignment", "Zq9kLm2pQ7wX4vB1")],
        "phone: n/a|password: hunter22x": [("Password", "hunter22x")],
        'phone: "N/A, see password=hunter22x"': [("Password", "hunter22x")],
    }


def test_a_value_found_still_holds_the_keys_inside_it():
    """A value found is redacted whole, keys and all, and they are not read again."""
    text = "token=Zq9kLm2pQ7wX4vB1/password=hunter22x"
    assert [(s.pii_type, s.original) for s in detect_pii(text)] == [
        ("SecretAssignment", "Zq9kLm2pQ7wX4vB1/password=hunter22x")]


@pytest.mark.parametrize("unit", ["phone=1-", "cell=1/", "card_number=4:", "pwd=/a/", "pwd=/a/b/c:phone=1:"])
def test_a_run_of_values_that_are_not_ones_is_passed_after_a_few_keys(monkeypatch, unit):
    """Keys inside a value that is not one are read, and keys inside theirs, but past
    ``_KEYS_IN_A_VALUE`` of them in one run of values the rest of the run is passed: a
    crafted line (``phone=1-phone=1-...``) reads a few values per 1,024 characters, not
    one at every key, each up to 1,024 characters long."""
    read = []
    real = assignments._typed_value
    monkeypatch.setattr(assignments, "_typed_value", lambda text, m, *rest: read.append(m.end() - m.start())
                        or real(text, m, *rest))
    assignments._VALUES_SEEN.clear()
    text = unit * (200_000 // len(unit))
    out: list = []
    assignments.find_assignments(text, text.lower(), out)
    assert out == []
    keys = len(list(assignments._assignment_keys(text.lower())))
    assert keys > len(text) // 20
    assert len(read) <= (assignments._KEYS_IN_A_VALUE + 1) * len(text) // 1000
    assert sum(read) <= 12 * len(text)


def test_a_value_is_read_as_the_full_pattern_reads_it():
    """Values are read by one character class up to the first "&" or "|", and past it
    from what was read for the values before (``_ValueReader``): the same value as the
    full pattern (``_VALUE``) reads everywhere, through quotes, blanks, "&name=" and
    "|name=", at the longest value's bound, for a value read alone, for the values of
    one text read in order (each reader goes on from what it read for the ones before)
    and in any order."""
    rng = random.Random(21)
    pieces = ["=", ":", ":=", "=>", " ", "\t", "a", "b1", "&", "&x=", "&x", "&_a.b=", "|", "|x=", "|x", "'",
              "&x: ", "|x:\t", "&x:", "&x:\n",
              '"', "\n", ",", ";", "(", "[", "`", "<", ">", "x" * 500, "&" * 300, "a&" * 400,
              "\u00e9", "\u00a0", "\u2003"]
    compared = went_on = 0
    for _ in range(20_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 14)))
        separators = [pos for pos, ch in enumerate(text) if ch in "=:"]
        shuffled = rng.sample(separators, len(separators))
        in_order, any_order = assignments._ValueReader(text), assignments._ValueReader(text)
        for pos in separators:
            full = assignments._VALUE.match(text, pos)
            expected = full and (full.span(), full.groups())
            for read in (assignments._value_at(text, pos), in_order.at(pos)):
                assert (read and (read.span(), read.groups())) == expected, (text, pos)
            compared += 1
            went_on += in_order.start < pos
        for pos in shuffled:
            full, read = assignments._VALUE.match(text, pos), any_order.at(pos)
            assert (full and (full.span(), full.groups())) == (read and (read.span(), read.groups())), (text, pos)
    assert compared > 30_000 and went_on > 1_000


@pytest.mark.parametrize("unit", ["token:123&", "card:1-1&", "ssn:1234&", "sig:1-1&"])
def test_a_run_of_values_reads_each_character_once(monkeypatch, unit):
    """In a run of keys each inside the value of the one before (``token:123&token:123&``:
    an "&" before no "=" goes on a value, so each is up to 1,024 characters long), what
    ``_BARE_VALUE_REST`` reads past the first "&" adds up to about the text's length, not
    to the length of every value read."""
    rest_read, values_read = [], []
    rest = assignments._BARE_VALUE_REST
    typed_value = assignments._typed_value

    class Counting:
        def match(self, text, pos):
            m = rest.match(text, pos)
            rest_read.append(m.end() - pos)
            return m

    def counting_typed_value(text, m, *args):
        values_read.append(m.end() - m.start())
        return typed_value(text, m, *args)

    monkeypatch.setattr(assignments, "_BARE_VALUE_REST", Counting())
    monkeypatch.setattr(assignments, "_typed_value", counting_typed_value)
    assignments._VALUES_SEEN.clear()
    text = unit * (100_000 // len(unit))
    assignments.find_assignments(text, text.lower(), [])
    assert sum(values_read) > 4 * len(text)  # the values read are long and overlap
    assert sum(rest_read) <= len(text) + 1024


def test_keys_written_with_colon_equals_are_left_to_the_colon_pattern(monkeypatch):
    for text in ["password:=ab,", "x:=a, token:=s3cr3tV4lu3xyz", "a=:b token=:abcdefgh12"]:
        assert assignments_found(text, True, monkeypatch) == assignments_found(text, False, monkeypatch)


def test_remembered_answers_change_no_assignment(monkeypatch):
    """``find_assignments`` remembers what a short assignment gave (a log repeats
    them): texts scanned one after another, so that each meets answers left by the
    others, give what the same texts give with nothing remembered."""
    texts = random_texts(3000, seed=11) + random_texts(1000, seed=12, pieces=VALUE_PIECES)
    # the same separator and value where the answer differs: in a query string and
    # out of it ("&" ends a parameter), after a key that tells a directory from a
    # password, and for another type
    texts += ["?token=Zq9$kLm2pQ&zz9 token=Zq9$kLm2pQ&zz9", "pwd=/home/deploy1 password=/home/deploy1",
              "ssn=219-09-9999 phone=219-09-9999 SSN='219-09-9999'", "token=s3cr3tV4lu3xyz"]
    remembered = [assignments_found(text, True, monkeypatch) for text in texts * 2]
    assert len(assignments._VALUES_SEEN) > 0
    with monkeypatch.context() as m:
        m.setattr(assignments, "_SEEN_VALUE_CHARS", -1)  # every answer worked out afresh
        fresh = [assignments_found(text, True, monkeypatch) for text in texts * 2]
    assert remembered == fresh
    assert any(remembered)


def test_the_mask_leaves_the_separators_of_words_that_name_nothing():
    """Only a separator some key pattern would read is masked: masking ``name=a`` or
    ``id=b`` saves nothing and, counted as masked, kept the mask on where it did not pay."""
    text = "name=a value=x, token=a, id=b host=d"
    masked = assignments._mask_skipped_separators(text[::-1], False)[::-1]
    assert masked == "name=a value\x00x, token\x00a, id=b host=d"


def test_a_pair_name_is_remembered_as_written():
    """A name/value pair's name and its type are remembered by the text before the
    value key; the case of a name can decide its type (``PGPASSWORD`` names a
    password, ``pgpassword`` need not), so names that differ only in case are
    each read afresh, in either order."""
    upper, lower = "key=PGPASSWORD value=S3cretStore!", "key=pgpassword value=S3cretStore!"
    for first, second in [(upper, lower), (lower, upper), (upper, lower)]:
        assignments._PAIRS_SEEN.clear()
        got = {}
        for text in (first, second):  # (the finder alone: a whole scan forgets at its end)
            out: list = []
            assignments.find_assignments(text, text.lower(), out)
            got[text] = [(pii_type, text[start:end]) for start, end, pii_type in out]
        assert got == {upper: [("Password", "S3cretStore!")], lower: []}


class _CountingText(str):
    """A text that adds up the lengths of the ranges its ``rfind`` calls are given."""

    searched = 0

    def rfind(self, sub, start=0, end=None):
        end = len(self) if end is None else end
        type(self).searched += max(0, end - start)
        return super().rfind(sub, start, end)


@pytest.mark.parametrize("unit", ["tel:1", "phone=1:", "tel:+14155550123 pwd=hunter22 "])
def test_each_stretch_is_searched_back_once(unit):
    """Each chunk reaches back to the last separator before it; that search is given
    the range back to where the last chunk's ended, so the ranges add up to a few
    times the text (it was given the whole text before the chunk, once per chunk,
    and a text without "=" was searched through to its start each time)."""
    lower = _CountingText((unit * (400_000 // len(unit) + 1))[:400_000])
    _CountingText.searched = 0
    keys = list(assignments._keys_by_chunk(lower, lambda: 0))
    assert keys
    assert _CountingText.searched <= 4 * len(lower)
