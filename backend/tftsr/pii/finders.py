"""The finders: each scans a whole text in one or a few passes and appends
candidates.

A candidate is ``(start, end, pii_type)``. Finders do not care about
overlaps; :mod:`tftsr.pii.engine` picks the winners.

Speed rules every pattern here follows (``re`` is a backtracking engine):

* Each pattern starts with a literal ("@", "://", ".", ":", "eyJ"), so
  ``re`` skips ahead in C to the next place a match could start instead of
  trying every position. A pattern that starts with a character class, a
  lookbehind or an alternation of words loses that: ``re`` then tests every
  character, several times slower. Lookbehinds are therefore placed after
  the literal, and families that share a literal share one pattern (named
  groups say which branch matched).
* Right after the literal comes the cheapest test that rejects most of its
  occurrences (the next character), before anything that backtracks.
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
from collections.abc import Callable, Iterator

from . import validators as v
from .patterns import alternation, finditer

Candidate = tuple[int, int, str]
Finder = Callable[[str, str, list], None]

# --- private keys ------------------------------------------------------------
# The words before "PRIVATE KEY" (RSA, EC, ENCRYPTED, OPENSSH...) are short; bounded,
# they bound a whole block (``PEM_REACH``), which the two-core scan relies on.
_PEM_BEGIN = re.compile(r"-----BEGIN ((?:[A-Z0-9]{1,32} ){0,4})PRIVATE KEY( BLOCK)?-----")
_PEM_END = re.compile(r"-----END (?:[A-Z0-9]{1,32} ){0,4}PRIVATE KEY(?: BLOCK)?-----")
_PEM_BODY = re.compile(r"[A-Za-z0-9+/=\\\s:,.\-]{0,65536}")
# The most characters a private-key finding takes from its "-----BEGIN ": the
# longest header, the longest body and the longest END line.
PEM_REACH = 2 * (len("-----BEGIN ") + 4 * 33 + len("PRIVATE KEY BLOCK-----")) + 65536


def find_private_keys(text: str, lower: str, out: list, scan=finditer) -> None:
    """Whole ``-----BEGIN ... PRIVATE KEY-----`` blocks, also when the line
    breaks are written as ``\\n`` inside JSON. A block without its END line
    (a truncated log) covers the header and the base64 body that follows."""
    if scan is not finditer and not scan.may_match(_PEM_BEGIN):
        return  # the prefilter saw no "-----BEGIN "
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
# Grouped by the literal they start with: one scan per literal, ``re`` finds
# the literal at C speed, and the lookbehind right after it rejects a literal
# glued to a letter or digit (the middle of a longer word) before any long
# repeat runs. Any other character may precede it: tokens are pasted into
# names and paths (``cfg_ghp_...``, ``backup-AKIA....csv``, ``"=xoxb-...``).
# Each branch is a named group (the token type is looked up from its name).
_TOKEN_RULES = (
    ("A", (("aws_key_id", "AwsAccessKey", r"[KS]IA[A-Z0-9]{16}(?![A-Za-z0-9])"),        # AKIA, ASIA
           ("google", "ApiKey", r"Iza[0-9A-Za-z_\-]{35}(?![A-Za-z0-9_\-])"))),          # AIza
    ("g", (("github", "GitHubToken", r"h[pousr]_[A-Za-z0-9]{36,255}+"),                  # ghp_ gho_ ghu_ ghs_ ghr_
           ("github_pat", "GitHubToken", r"ithub_pat_[A-Za-z0-9_]{22,255}+"),
           # glpat- personal, glptt- trigger, gldt- deploy, glrt- runner,
           # glsoat- OAuth app, glcbt- CI job, gloas- OAuth secret tokens
           ("gitlab", "GitLabToken", r"l(?:pat|ptt|dt|rt|soat|cbt|oas)-[A-Za-z0-9_\-]{20,255}+"))),
    ("xox", (("slack", "SlackToken", r"[abposr]-[A-Za-z0-9\-]{10,255}+"),)),
    ("sk", (("openai", "ApiKey", r"-(?:ant-|proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,255}+"),
            ("stripe", "ApiKey", r"_(?:live|test)_[A-Za-z0-9]{16,255}+"))),
    ("rk_", (("stripe_restricted", "ApiKey", r"(?:live|test)_[A-Za-z0-9]{16,255}+"),)),
    ("SG.", (("sendgrid", "ApiKey", r"[A-Za-z0-9_\-]{16,64}+\.[A-Za-z0-9_\-]{16,64}+"),)),
    ("hv", (("vault", "SecretAssignment", r"[sbr]\.[A-Za-z0-9_\-]{20,255}+"),)),
    ("npm_", (("npm", "ApiKey", r"[A-Za-z0-9]{36}(?![A-Za-z0-9])"),)),                  # npm access tokens
    ("pypi-", (("pypi", "ApiKey", r"AgE[A-Za-z0-9_\-]{50,2048}+"),)),                    # PyPI API tokens
    ("eyJ", (("jwt", "Jwt", r"[A-Za-z0-9_\-]{8,4096}+\.eyJ[A-Za-z0-9_\-]{8,8192}+\.[A-Za-z0-9_\-]{0,4096}+"),)),
)
_TOKEN_RES = tuple(
    re.compile(re.escape(literal) + r"(?<![A-Za-z0-9]" + re.escape(literal) + ")(?:"
               + "|".join(f"(?P<{name}>{rest})" for name, _, rest in branches) + ")")
    for literal, branches in _TOKEN_RULES
)
_TOKEN_TYPES = {name: pii_type for _, branches in _TOKEN_RULES for name, pii_type, _ in branches}


# A Slack incoming-webhook URL carries its secret in the path (workspace,
# channel, 24-character key); the host stays a Hostname.
_SLACK_WEBHOOK = re.compile(
    r"hooks\.slack\.com/services/(?P<path>T[A-Z0-9]{6,16}/B[A-Z0-9]{6,16}/[A-Za-z0-9]{24})(?![A-Za-z0-9])")


def find_tokens(text: str, lower: str, out: list, scan=finditer) -> None:
    """Keys and tokens whose shape names their issuer (AWS, GitHub, GitLab,
    Slack, OpenAI/Anthropic, Stripe, Google, SendGrid, Vault, JWTs), and the
    secret path of Slack webhook URLs."""
    if scan is not finditer or "hooks.slack.com/" in text:  # (the prefilter knows)
        for m in scan(_SLACK_WEBHOOK, text):
            out.append((m.start("path"), m.end("path"), "SlackToken"))
    for rx in _TOKEN_RES:
        for m in scan(rx, text):
            name = m.lastgroup
            if name == "openai":
                body = m.group()[3:]
                if not (any(c.isdigit() for c in body) and any(c.isupper() for c in body)):
                    continue  # "sk-prod-cluster-node-pool" is a name, not a key
            out.append((m.start(), m.end(), _TOKEN_TYPES[name]))


# --- credentials in URLs -----------------------------------------------------
# ``://user:password@`` or ``://token@`` followed by the start of a host.
# (the user name may be empty: ``redis://:password@cache:6379`` is how Redis URLs
# carry a password alone)
_URL_CREDS = re.compile(
    r"://([^\s:/@\"'<>\[\]{}]{0,256})(?::([^\s/@\"'<>]{1,256}))?@(?=[A-Za-z0-9\[])")
_SCHEME_REV = re.compile(r"[a-z0-9+.\-]{0,31}[a-z]")


def _url_userinfo(text: str, lower: str, m: re.Match) -> bool:
    """Whether the user-info matched by ``_URL_CREDS`` is a credential: a
    URL scheme before "://", and a password, or a user name that is a token
    (Sentry DSNs, ``https://<token>@github.com/...``) rather than a login."""
    colon = m.start()
    # a letter right before "://" is a scheme already (the usual case)
    if not (colon and "a" <= lower[colon - 1] <= "z") \
            and not _SCHEME_REV.match(lower[max(0, colon - 32):colon][::-1]):
        return False
    secret = m.group(2)
    if secret is None:
        secret = m.group(1)
        if len(secret) < 16 or not v.looks_random(secret):
            return False
    return not is_placeholder_password(secret)


def find_url_credentials(text: str, lower: str, out: list, scan=finditer) -> None:
    """``scheme://user:password@host/...`` and ``scheme://<token>@host/...``:
    the user-info only (``user:password`` or the token). Scheme, host, port
    and path stay readable, since they tell which system failed; the host
    is a finding of its own."""
    for m in scan(_URL_CREDS, text):
        if _url_userinfo(text, lower, m):
            out.append((m.start(1), m.end() - 1, "UrlWithCredentials"))


def _credential_ats(text: str, lower: str, scan=finditer):
    """Where the "@" that ends the credential user-info of a URL is, for
    every such URL (what precedes that "@" is a password or token, not a
    mailbox): with the prefilter, from the URL expression's matches; without
    it, asked of each "@" (one pass over every "://" costs more than looking
    back from the few addresses)."""
    if scan is not finditer:
        return {m.end() - 1 for m in scan(_URL_CREDS, text) if _url_userinfo(text, lower, m)}
    return _CredentialAt(text, lower) if "://" in text else ()


class _CredentialAt:
    """``at in _CredentialAt(text, lower)``: whether the "@" at ``at`` ends
    the credential user-info of a URL. The user-info holds no "/", so the
    URL's "://" is the last one before the "@", within the 517 characters a
    match of ``_URL_CREDS`` can take."""

    def __init__(self, text: str, lower: str) -> None:
        self.text, self.lower = text, lower

    def __contains__(self, at: int) -> bool:
        text = self.text
        scheme_end = text.rfind("://", at - 520 if at > 520 else 0, at)
        if scheme_end < 0:
            return False
        m = _URL_CREDS.match(text, scheme_end)
        return m is not None and m.end() - 1 == at and _url_userinfo(text, self.lower, m)


def is_placeholder_password(value: str) -> bool:
    return v.is_placeholder(value) or value in ("*", "****", "xxxxx")


# --- e-mail addresses --------------------------------------------------------
_EMAIL_DOMAIN = re.compile(
    r"@((?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.){1,16}[A-Za-z]{2,24})(?![A-Za-z0-9\-]|\.[A-Za-z0-9])"
)
_LOCAL_REV = re.compile(r"[A-Za-z0-9._%+\-']{1,64}")
_NOT_MAIL_CONTEXT = ("message-id", "message_id", "messageid", "msgid", "call-id", "in-reply-to",
                     "references")
# Exim and Sendmail write the Message-ID as ``id=<...>`` / ``msgid=<...>``.
# One search over the 16 characters before the address.
_NOT_MAIL_BEFORE = re.compile(
    "|".join(re.escape(w) for w in _NOT_MAIL_CONTEXT) + r"|(?:^|(?<=[\s,;]))(?:msg)?id=<?\Z")


def find_emails(text: str, lower: str, out: list) -> None:
    """E-mail addresses (see ``_emails``)."""
    _emails(text, lower, out)


def find_addresses(text: str, lower: str, out: list, scan=finditer) -> None:
    """E-mail addresses, then host names: a host name that is the domain of
    an address already found is not looked at again (the address, being
    longer, would win anyway)."""
    _hostnames(text, lower, out, _emails(text, lower, out, scan), scan)


def _emails(text: str, lower: str, out: list, scan=finditer) -> set[int]:
    """Addresses found from their "@": the local part is read backwards from
    it. A local part that is only digits (``sip:+14155550123@pbx``) is a phone
    number at a host, not a mailbox. Message-ID and SIP Call-ID values look
    like addresses but identify messages, so they are skipped (also when
    written as an MTA's ``id=`` / ``msgid=`` field)."""
    found: set[int] = set()  # where the addresses found end
    if scan is finditer and "@" not in text:
        return found
    credential_ats = None
    for m in scan(_EMAIL_DOMAIN, text):
        at = m.start()
        rev = _LOCAL_REV.match(text[at - 64 if at > 64 else 0:at][::-1])
        if not rev:
            continue
        local = rev.group()[::-1].lstrip(".'")
        start = at - len(local)
        if not local:
            continue
        tld = m.group(1).rsplit(".", 1)[1]
        if not (tld.islower() or tld.isupper()):
            continue
        if credential_ats is None:
            credential_ats = _credential_ats(text, lower, scan)
        if at in credential_ats:
            continue  # postgres://app:s3cr3t@db... : the URL's password
        bare = local.lstrip("+")
        if bare.isdigit():
            if v.phone_digits_ok(bare):
                out.append((start, at, "PhoneNumber"))
            continue
        window = start - 16 if start > 16 else 0
        # each word _NOT_MAIL_BEFORE looks for holds "id" or "re"
        if (lower.find("id", window, start) >= 0 or lower.find("re", window, start) >= 0) \
                and _NOT_MAIL_BEFORE.search(lower, window, start):
            continue
        out.append((start, m.end(), "Email"))
        found.add(m.end())
    return found


# --- hostnames ---------------------------------------------------------------
# A known top-level domain written in one case, right after a "." that ends a
# label, and not followed by more of a name. Found from the ".".
# Domains that are file extensions (``Foo.java``, ``run.sh``) are hosts only
# in a URL; they are looked for there alone (``_URL_HOST_EXT``), so the
# thousands of source file names in a stack trace cost nothing.
# The scan runs on the lowercase text: one list of domains to try at each "."
# instead of two, and no look-behind (``_hostnames`` checks the character
# before the "." and that the domain is written in one case, on the few
# matches). The text a finder gets is normalised, so no character outside
# ASCII lowercases to one inside (the Kelvin sign is a "K" by then).
_NAME_TLDS = sorted(t for t in v.top_level_domains() if t not in v.FILE_EXTENSION_TLDS)
_HOST_TLD = re.compile(
    r"\.(?=[a-z])(?:" + alternation(_NAME_TLDS) + r")(?![a-z0-9_]|\.[a-z0-9])")
_LABEL_END = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_URL_HOST_EXT = re.compile(
    r"://(?:[^\s/@]{1,256}@)?(?P<host>[A-Za-z0-9][A-Za-z0-9.\-]{0,251}\.(?:"
    + alternation(sorted(v.FILE_EXTENSION_TLDS)) + r"))(?![A-Za-z0-9_\-]|\.[A-Za-z0-9])")
_HOST_REV = re.compile(r"[A-Za-z0-9.\-]{1,253}")
_HOST_CHARS = re.compile(r"[A-Za-z0-9.\-]*")
# Fields whose value is a dotted identifier of an API, a schema or a message
# type rather than a machine: Kubernetes ``apiVersion: apps.example.io/v1``
# and ``apiGroup``, XML ``xmlns="http://schemas..."``, protobuf ``@type``
# URLs and GCP ``logName``; also the API group in
# a Kubernetes request path (``/apis/apps/v1/...``). Matched (lowercase)
# against the window before the name, reversed, so that a name preceded by
# none of them fails after a character or two.
_IDENTIFIER_FIELD_REV = re.compile(
    r"(?:/sipa/|(?:/[a-z0-9_.%\-]{1,64}){0,6}(?://:[a-z0-9+.\-]{0,15}[a-z])?[\"']?[ \t]*[:=][ \t]*[\"']?"
    r"(?:noisrevipa|puorgipa|epyt@|(?:[a-z0-9_\-]{1,32}:)?snlmx|emangol|lruepyt))")


_FIELD_ENDS = ("", "/", '"', "'", ":", "=")


def find_hostnames(text: str, lower: str, out: list) -> None:
    """Host names (see ``_hostnames``)."""
    _hostnames(text, lower, out, set())


def _matches_from(rx: re.Pattern, text: str, skip_to: list[int]) -> Iterator[re.Match]:
    """``rx.finditer(text)``, leaving out the matches that start before
    ``skip_to[0]`` (which the caller may move on): when the next match is
    one of those, the scan starts again from ``skip_to[0]``, which gives the
    same matches after it as long as no match spans it (true of matches
    without a "." but their first character, ``_HOST_TLD``'s)."""
    pos = 0
    while True:
        for m in rx.finditer(text, pos):
            if m.start() < skip_to[0]:
                pos = skip_to[0]
                break
            yield m
        else:
            return


def _hostnames(text: str, lower: str, out: list, email_ends: set[int], scan=finditer) -> None:
    """Dotted names ending in a public suffix or an internal one (see
    ``validators.tld_tier`` for how much each needs), found from the TLD
    and read backwards. Names that start right after a "." (``.env.local``,
    the tail of a longer dotted token) or belong to code (``self.app.io``)
    are not hosts, nor are API, schema and type identifiers in the fields
    listed at ``_IDENTIFIER_FIELD_REV``."""
    run_start = run_end = -1000
    in_run = 0
    label_end = _LABEL_END
    hosts_seen = v.HOSTS_SEEN
    skip_to = [0]
    for m in _matches_from(_HOST_TLD, lower, skip_to):
        dot = m.start()
        end = m.end()
        if end in email_ends:
            continue
        if not dot or lower[dot - 1] not in label_end:
            continue  # no label before the "."
        tld = text[dot + 1:end]
        if not (tld.islower() or tld.isupper()):
            continue  # Com: not one case
        if run_start < dot <= run_start + 253 and _HOST_CHARS.fullmatch(text, run_end, dot):
            # same run of name characters as the previous candidate: a real
            # name has a few dots that could end it, a crafted line
            # (``a.co-a.co-a.co-...``) thousands; past a few, skip the rest
            in_run += 1
            if in_run > 8:
                skip_to[0] = _HOST_CHARS.match(text, dot).end()
                continue
            start = run_start
        else:
            start = dot - _HOST_REV.match(text[dot - 253 if dot > 253 else 0:dot][::-1]).end()
            run_start, in_run = start, 0
        run_end = end
        # trim characters that cannot start a name
        if text[start] in ".-":
            head = text[start:dot]
            start += len(head) - len(head.lstrip(".-"))
        if start == dot or (start > 0 and text[start - 1] in "._"):
            continue  # glued to something longer: ``.env.local``, ``x_y.example.com``
        name = text[start:end]
        in_url = text[start - 3:start] == "://" or text[start - 1:start] == "@"
        known = hosts_seen.get((name, in_url))  # (valid_hostname's table, looked up here)
        if not (v.valid_hostname(name, in_url) if known is None else known):
            continue
        # such a field ends in ":", "=", a quote or a "/" right before the name
        if text[start - 4 if start > 4 else 0:start].rstrip(" \t")[-1:] in _FIELD_ENDS \
                and _IDENTIFIER_FIELD_REV.match(lower[start - 160 if start > 160 else 0:start][::-1]):
            continue  # apiVersion: audit.k8s.io/v1, xmlns="http://schemas.example.com/..."
        out.append((start, end, "Hostname"))
    for m in scan(_URL_HOST_EXT, text):
        if v.valid_hostname(m.group("host"), in_url=True):
            out.append((*m.span("host"), "Hostname"))


# --- network addresses -------------------------------------------------------
_IPV6_COMPRESSED = re.compile(r"::")
_IPV6_REV = re.compile(r"[0-9A-Fa-f:]{0,40}")
_IPV6_FWD = re.compile(
    r"(?:[0-9A-Fa-f]{1,4}:){0,6}\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?![\d.])|[0-9A-Fa-f:]{0,40}")
# Eight full groups, found from the first ":" (the first group is checked
# backwards) so that the scan only stops at colons. The groups are possessive:
# digits given back could only be followed by more digits where a ":" or the
# end is needed, so in a long chain (``ab:ab:ab:...``) each try fails at once.
_IPV6_FULL = re.compile(r":(?:[0-9A-Fa-f]{1,4}+:){6}[0-9A-Fa-f]{1,4}+(?![\w:])")
_HEX_REV = re.compile(r"[0-9A-Fa-f]{1,4}")


def _pairs_after(text: str, scan, seen: list[int]) -> Iterator[int]:
    """Where the "::" matches of ``_IPV6_COMPRESSED`` (as ``finditer`` gives
    them: a run of colons in pairs from its start) start, leaving out those
    before ``seen[0]``, which the caller moves on after each one, and those
    with nothing of an address on either side (``_PAIR_IN_ADDRESS``). Without
    the prefilter, from each "::" looked at to the first pair at or after
    ``seen[0]`` directly: a crafted run of colons is not gone through a pair
    at a time."""
    if scan is not finditer:
        for m in scan(_IPV6_COMPRESSED, text):
            at = m.start()
            if at >= seen[0] and (text[at - 1:at] in _HEX_OR_COLON or text[at + 2:at + 3] in _HEX_OR_COLON):
                yield at  # (not a "::" alone: see ``_PAIR_IN_ADDRESS``)
        return
    at = text.find("::")
    while at >= 0:
        if text[at - 1:at] not in _HEX_OR_COLON and text[at + 2:at + 3] not in _HEX_OR_COLON:
            # alone: the run of such pairs is passed in C (a pair in an address is found
            # by ``find``, which costs less there)
            pair = _PAIR_IN_ADDRESS.search(text, at + 2)
            at = -1 if pair is None else pair.start()
            continue
        yield at
        after = seen[0]  # > at + 1
        if text[after - 1] == ":":
            # "after" is inside a run of colons: its pairs count from where
            # it starts (or from ``at``, when the run holds that pair too)
            between = text[at + 2:after]
            run_start = at + 2 + len(between.rstrip(":"))
            after += (after - run_start) % 2
        at = text.find("::", after)


# A "::" with a hex digit or a colon on one side at least: one with neither
# (``[::]``, ``a::`` in code) can only be the unspecified address "::", which
# is not reported, so ``_pairs_after`` passes it by in C (``[::[::[::...``).
_PAIR_IN_ADDRESS = re.compile(r"(?<=[0-9A-Fa-f:])::|::(?=[0-9A-Fa-f:])")
_HEX_OR_COLON = frozenset("0123456789abcdefABCDEF:")


def find_ipv6(text: str, lower: str, out: list, scan=finditer) -> None:
    """Full (eight groups) and compressed ("::") addresses, validated as
    :mod:`ipaddress` would (``validators.ipv6_ok``). The unspecified address "::" alone is not reported
    (it is a wildcard, and "::" is also a separator in code); "::1" is."""
    seen = [-1]  # where the text looked at for the last "::" ends
    if scan is not finditer or "::" in text:  # (the prefilter knows)
        for at in _pairs_after(text, scan, seen):
            rev = _IPV6_REV.match(text[at - 40 if at > 40 else 0:at][::-1])
            start = at - rev.end()
            fwd = _IPV6_FWD.match(text, at + 2)
            end = fwd.end()
            seen[0] = end
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
    for m in scan(_IPV6_FULL, text):
        colon = m.start()
        rev = _HEX_REV.match(text[colon - 4 if colon > 4 else 0:colon][::-1])
        if not rev:
            continue
        start = colon - rev.end()
        if start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_:."):
            continue
        if v.ipv6_ok(text[start:m.end()]):
            out.append((start, m.end(), "Ipv6"))


# Found from the first separator, so each scan stops only at its ":" or "-".
_MAC_RES = tuple(
    re.compile(sep + r"(?<=(?<![\w:\-.])[0-9A-Fa-f]{2}" + sep + r")[0-9A-Fa-f]{2}(?:" + sep
               + r"[0-9A-Fa-f]{2}){4}(?![\w\-]|:[0-9A-Fa-f])")
    for sep in (":", "-")
)
# Cisco IOS writes three dotted groups of four: 0050.56a3.1b2c (lowercase).
_CISCO_MAC = re.compile(r"\.(?<=(?<![\w.:\-])[0-9a-f]{4}\.)[0-9a-f]{4}\.[0-9a-f]{4}(?![\w.\-])")
_IPTABLES_MAC = re.compile(r"MAC=((?:[0-9A-Fa-f]{2}:){13}[0-9A-Fa-f]{2})(?![\w:])")


def find_macs(text: str, lower: str, out: list, scan=finditer) -> None:
    """Six hex pairs joined by ":" or "-" (one kind), Cisco's ``xxxx.xxxx.xxxx``
    (with at least one hex letter, so dotted numbers stay numbers). The netfilter ``MAC=``
    field (destination, source and ethertype glued together) yields two."""
    for rx in _MAC_RES:
        for m in scan(rx, text):
            out.append((m.start() - 2, m.end(), "MacAddress"))
    for m in scan(_CISCO_MAC, text):
        if not m.group().replace(".", "").isdigit():  # 2024.1125.0412 is a number
            out.append((m.start() - 4, m.end(), "MacAddress"))
    for m in scan(_IPTABLES_MAC, text):
        s = m.start(1)
        out.append((s, s + 17, "MacAddress"))
        out.append((s + 18, s + 35, "MacAddress"))
