"""Local detection of personal data and secrets in logs and text.

Nothing here touches the network: this is what lets TFTSR promise that
nothing sensitive leaves the machine unreviewed.

API
---
``detect_pii(text) -> list[PiiSpan]``
    Findings sorted by ``start``, never overlapping. A ``PiiSpan`` has
    ``pii_type``, ``start``, ``end`` (character offsets into ``text``, end
    exclusive), ``original`` (``== text[start:end]``) and ``replacement``;
    ``span.to_dict()`` gives a JSON-ready dict.
``iter_pii(text_or_pieces, block_size=...)``
    The same findings, streamed, for a huge str or any iterable of str
    (lines of a file): memory bounded, offsets global.
``iter_pii_file(path, encoding="utf-8", errors="replace")``
    Streams a file of any size (a 500 MB log uses a few MB).
``redact(text, spans=None)``
    ``text`` with each finding replaced by its ``replacement``.

Types and replacements
----------------------
The original product's twelve: UrlWithCredentials [URL], BearerToken
[Bearer], ApiKey [ApiKey], Password [Password], Ssn [SSN], CreditCard
[CreditCard], Email [Email], MacAddress [MAC], Ipv6 [IPv6], Ipv4 [IPv4],
PhoneNumber [Phone], Hostname [Hostname]. Added for the secrets real logs
leak: AwsAccessKey [AwsKey] (AKIA/ASIA key ids and
``aws_secret_access_key`` values), Jwt [JWT], PrivateKey [PrivateKey],
GitHubToken [GitHubToken], GitLabToken [GitLabToken], SlackToken
[SlackToken], SecretAssignment [Secret].

Decisions
---------
* **Values, not keys.** For ``key=value``, ``key: value``, ``"key": "value"``
  and query strings only the value is a finding, so a redacted line stays
  readable (``password=[Password]``). A bare value ends at a blank, a quote,
  "," or ";", and at the next field of a query string or a pipe-separated
  line (``&name=``, ``|name=``, ``&name: ``, ``|name: ``). A value too short or too
  long for every value of its key's type (``card: 4``, ``ssn: 123456789012``) is
  no value. A value that is not one of its key's type
  hides nothing: a key inside it is read in its own right
  (``phone=N/A/password=X`` gives the password). ``password``/``passwd``/``pwd``/
  ``passphrase`` keys give Password; ``api_key``/``apikey``/``x-api-key``/
  ``AccountKey``/``SharedAccessKey`` give ApiKey; generic ``secret``,
  ``client_secret``, ``token``, ``access_token``, ``refresh_token``,
  ``SECRET_KEY``... give SecretAssignment; ``aws_secret_access_key`` gives
  AwsAccessKey. Placeholders (``***``, ``[FILTERED]``, ``${VAR}``,
  ``<redacted>``, ``YOUR_API_KEY_HERE``, booleans) are not secrets.
* **Prose and command lines**: ``the admin password is X``, ``Password for
  'admin': X``, ``--password X`` / ``--token X`` (any long option that names
  a secret), ``-storepass X``, ``-passin pass:X``, and the password options
  of tools that take one (``mysql -pX``, ``sshpass -p``, ``docker login -p``,
  ``ldapsearch -w``, ``redis-cli -a``, ``mongosh -p``, ``curl -u user:X``,
  ``smbclient -U user%X``, ``xfreerdp /p:X``, ``net user name X``,
  ``az login -p X``, ``sqlcmd -P X``, ``7z -pX``), and a
  word echoed into a command that reads a password from its standard input
  (``echo X | docker login --password-stdin``, ``echo X | sudo -S``,
  ``echo X | passwd --stdin``, ``echo 'user:X' | chpasswd``). A bare
  word after "password is" must look like a password (a digit, a symbol or
  an inner capital), so ordinary sentences stay clean.
* **Bearer**: the token after ``Bearer`` (not the word). ``Basic`` credentials
  (base64 of ``user:password``) are a Password.
* **Provider keys** (OpenAI/Anthropic ``sk-...``, Stripe ``sk_live_``/
  ``rk_live_``/``sk_test_``, Google ``AIza...``, SendGrid ``SG.``, Azure
  ``AccountKey=``) are ApiKey. HashiCorp Vault tokens (``hvs.``) are
  SecretAssignment.
* **UrlWithCredentials** covers the user-info only (``app:pw`` in
  ``postgres://app:pw@db.internal:5432/orders``, or the token of
  ``https://<token>@host``): scheme, host, port and path stay, because they
  tell the reader which system failed; the host is reported on its own
  (Hostname or an address) and the password is not also an e-mail address.
* **Overlaps**: the longest candidate wins; on equal length the more
  specific type wins, in the order of ``spans.PRIORITY`` (issuer-shaped keys,
  then Bearer, JWT, Password, SecretAssignment, then personal data and
  network types, Hostname last). So ``Bearer <jwt>`` is BearerToken,
  ``token=<jwt>`` is Jwt, an e-mail address hides its domain's Hostname.
* **IP addresses**: IPv4 needs four octets <= 255 and must not be part of a
  longer dotted number (``1.2.3.4.5``, OIDs), follow ``version``/``build``
  or a product token (``Chrome/120.0.0.0``). Loopback and ``0.0.0.0`` are
  reported: they are addresses, and a reviewer can keep them. IPv6 is
  validated with :mod:`ipaddress`; ``::1`` is reported, the bare
  unspecified ``::`` is not (it is also a separator in code).
* **Hostname**: a dotted name whose last label is a public suffix (the
  Public Suffix List snapshot bundled with ``tldextract``, read without
  network or cache) or an internal one (internal, local, lan, corp, intra,
  home.arpa, svc, localdomain...), written in one case. How much else a
  name needs depends on its suffix (``validators.tld_tier``): classic and
  country domains two labels; word-like country codes (``.at``, ``.in``,
  ``.us``) and hosting domains (``.dev``, ``.app``, ``.cloud``) three;
  other generic domains, mostly English nouns (``.events``, ``.email``),
  also a digit or hyphen or a fourth label; domains that are file
  extensions (``.py``, ``.sh``, ``.rs``, ``.md``, ``.zip``, ``.java``)
  only as the host of a URL. Code (``com.acme.Foo``, ``request.user.id``),
  versions (``3.2.1.GA``), dotfiles (``.env.local``) and bare public
  suffixes (``co.uk``) are not hosts. Hosts inside URLs are reported.
* **Email**: RFC-ish local part and a dotted domain with an alphabetic TLD.
  Message-ID and SIP Call-ID values are not addresses; a local part that is
  only digits (``sip:+14155550123@pbx``) is a PhoneNumber.
* **Numbers**: CreditCard needs 13-19 digits, an issuer prefix that fits the
  length and the Luhn check, and either a printed grouping (4-4-4-4, 4-6-5...
  with one kind of separator, not inside a longer run of numbers; an expiry
  may follow) or, for a bare digit run, a card word right before it
  (``card=``, ``card_number``, ``"pan":``, ``cc_number``, ``amex``, ``visa``):
  a bare 16-digit run is far more often a request id or a timestamp, and one
  in ten of those passes Luhn. Ssn is NNN-NN-NNNN with
  area 000, 666 and 9xx, group 00 and serial 0000 excluded (or a 9-digit
  value of an ``ssn`` key). PhoneNumber is E.164 (``+`` and 8-15 digits),
  North American (``(415) 555-0132``, ``415-555-0132``, ``415.555.0132``,
  area and exchange 2-9), national numbers starting with 0 in groups, or the
  value of a phone-like key (``caller_id_number=...``). A bare or spaced
  run (``4155550165``, ``415 555 0165``, ``ssn 219331065``) is a phone
  number or SSN only right after a word that names it (phone, tel, mobile,
  cell, fax, call, sms; ssn, social security), with nothing but
  punctuation and connecting words between; alone it is not.
* **Name/value pairs** (``{'name': 'DB_PASSWORD', 'value': '...'}``, a
  Kubernetes ``env`` entry, CloudFormation ``ParameterKey``/``ParameterValue``):
  the value is typed by the name, as if it were ``DB_PASSWORD=...``.
* **MacAddress**: six hex pairs with one separator kind (":" or "-"); the
  netfilter ``MAC=`` field gives its two addresses.
* **PrivateKey**: the whole BEGIN...END block, across lines or ``\\n``
  escapes; a block without END covers its header and body.

Speed and safety
----------------
The text is first normalised (:mod:`normalize`: NFKC, invisible characters
removed, look-alike letters read as Latin, ``%40``-style escapes decoded),
which costs nothing for pure ASCII without "%". It is then scanned in about
thirty passes, each one regular expression that starts with a literal ("@",
"://", ".", "-", ":", "=", " -", "eyJ", "pass"...), so ``re`` skips to the
next occurrence in C and most occurrences are rejected by the next
character or two; the few that pass get the Python checks. Number shapes
are found from their first separator rather than from every digit, and keys
from their separator on the reversed text (see ``numbers`` and
``assignments``). Every repeat and every look-ahead or look-behind is
bounded, values stop at their separators, a key inside a value found is not
read again (keys inside a value that is not one are, up to a few in a run of
such values: ``phone=N/A|password=...`` gives the password), and what is
read backwards is read from a bounded window, so scanning is linear in the
input even for crafted lines; separators whose value is too short for any
type, too long for an SSN or a card number, or not a number where the key wants
one, are masked in one pass of ``re`` before keys are read
(``token=a,token=a,...``, ``tel:tel:...``, ``card=123&card=...``). Crafted text
without findings runs within about 8 times of an ordinary log, but for keys
packed closer than about 15 characters whose values are long enough to be read
and are not findings, each of which costs a few microseconds of Python; text made
of nothing but findings costs the
Python checks of each finding, a few microseconds apiece
(``tests/benchmarks/bench_pii.py`` prints all three in one run;
``tests/unit/test_pii_adversarial.py`` runs each crafted class).

With the optional ``hyperscan`` package a prefilter (:mod:`prefilter`)
finds, in one pass over the text, every position where each of those
expressions can match, and the finders try them only there: the same
findings (``tests/unit/test_pii_prefilter.py``), with far fewer passes.
Short texts, text dense with triggers, and installs without the package
take the pure-Python path (``detect_pii(text, prefilter=False)`` forces it).
"""

from __future__ import annotations

import importlib

from .spans import PII_TYPES, PRIORITY, REPLACEMENTS, PiiSpan

# The detector (its regular expressions, the Public Suffix List, the prefilter) is built
# when it is first used, not when a module that only needs the type names imports this
# package (the command modules load while the first page is served).
_DETECTOR = {"detect_pii": ".engine", "iter_pii": ".stream", "iter_pii_file": ".stream"}


def __getattr__(name: str):
    if name in _DETECTOR:
        value = getattr(importlib.import_module(_DETECTOR[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def redact(text: str, spans: list[PiiSpan] | None = None) -> str:
    """``text`` with every finding (``detect_pii(text)`` by default) replaced
    by its replacement. ``spans`` must be sorted and non-overlapping."""
    if spans is None:
        from .engine import detect_pii

        spans = detect_pii(text)
    parts: list[str] = []
    pos = 0
    for span in spans:
        parts.append(text[pos:span.start])
        parts.append(span.replacement)
        pos = span.end
    parts.append(text[pos:])
    return "".join(parts)


__all__ = ["PII_TYPES", "PRIORITY", "REPLACEMENTS", "PiiSpan", "detect_pii", "iter_pii",
           "iter_pii_file", "redact"]
