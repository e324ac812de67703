"""The span model: what a detection is, the type names, their replacements and
the priority that breaks ties between equally long overlapping matches."""

from __future__ import annotations

from dataclasses import asdict, dataclass

# Type name -> replacement text. The first twelve are the original product's
# table (and the ``pii_spans.pii_type`` values it stored); the rest cover the
# secrets real logs leak.
REPLACEMENTS: dict[str, str] = {
    "UrlWithCredentials": "[URL]",
    "BearerToken": "[Bearer]",
    "ApiKey": "[ApiKey]",
    "Password": "[Password]",
    "Ssn": "[SSN]",
    "CreditCard": "[CreditCard]",
    "Email": "[Email]",
    "MacAddress": "[MAC]",
    "Ipv6": "[IPv6]",
    "Ipv4": "[IPv4]",
    "PhoneNumber": "[Phone]",
    "Hostname": "[Hostname]",
    "AwsAccessKey": "[AwsKey]",
    "Jwt": "[JWT]",
    "PrivateKey": "[PrivateKey]",
    "GitHubToken": "[GitHubToken]",
    "GitLabToken": "[GitLabToken]",
    "SlackToken": "[SlackToken]",
    "SecretAssignment": "[Secret]",
}

PII_TYPES: tuple[str, ...] = tuple(REPLACEMENTS)

# When two overlapping candidates have the same length, the one listed first
# wins. Shapes that name their issuer beat context-only findings (``token=``),
# which beat the network and personal types.
PRIORITY: tuple[str, ...] = (
    "PrivateKey",
    "UrlWithCredentials",
    "AwsAccessKey",
    "GitHubToken",
    "GitLabToken",
    "SlackToken",
    "ApiKey",
    "BearerToken",
    "Jwt",
    "Password",
    "SecretAssignment",
    "CreditCard",
    "Ssn",
    "Email",
    "MacAddress",
    "Ipv6",
    "Ipv4",
    "PhoneNumber",
    "Hostname",
)
RANK: dict[str, int] = {name: i for i, name in enumerate(PRIORITY)}

# Among ApiKey candidates the provider-shaped ones (sk-..., AIza...) and the
# ``api_key=`` assignments share one rank: they are the same type anyway.


@dataclass(frozen=True, slots=True)
class PiiSpan:
    """One finding: ``text[start:end] == original``, to be shown as ``replacement``."""

    pii_type: str
    start: int
    end: int
    original: str
    replacement: str

    def to_dict(self) -> dict:
        return asdict(self)

    def shifted(self, offset: int) -> PiiSpan:
        """The same finding with offsets moved by ``offset`` (for streamed input)."""
        span = _Fields()
        span.pii_type, span.start, span.end, span.original, span.replacement = (
            self.pii_type, self.start + offset, self.end + offset, self.original, self.replacement)
        span.__class__ = PiiSpan
        return span


class _Fields:
    """A plain object with ``PiiSpan``'s slots, in the same order. Spans are
    built as one of these (setting a slot of a plain class is a single
    specialised instruction) and then become a ``PiiSpan`` by assigning
    ``__class__``, which CPython allows between classes whose slots are the
    same. A large log yields hundreds of thousands of spans; this costs less
    than half of setting each field through the frozen class's descriptors,
    and under a third of its ``__init__``. The result is an ordinary
    ``PiiSpan`` (frozen, equal and hashed by its fields)."""

    __slots__ = PiiSpan.__slots__


def make_span(pii_type: str, text: str, start: int, end: int) -> PiiSpan:
    """``PiiSpan(pii_type, start, end, text[start:end], replacement)``."""
    return make_spans([(start, end, pii_type)], text)[0]


def make_spans(found: list[tuple[int, int, str]], text: str) -> list[PiiSpan]:
    """``make_span`` for each ``(start, end, pii_type)`` of ``found``, in one loop."""
    spans = []
    add = spans.append
    replacements = REPLACEMENTS
    fields, span_class = _Fields, PiiSpan
    for start, end, pii_type in found:
        span = fields()
        span.pii_type = pii_type
        span.start = start
        span.end = end
        span.original = text[start:end]
        span.replacement = replacements[pii_type]
        span.__class__ = span_class
        add(span)
    return spans


# How people name each type (documents, notices).
LABELS = {
    "UrlWithCredentials": "URL with credentials", "BearerToken": "Bearer token",
    "ApiKey": "API key", "Password": "Password", "Ssn": "SSN", "CreditCard": "Credit card",
    "Email": "Email address", "MacAddress": "MAC address", "Ipv6": "IPv6 address",
    "Ipv4": "IPv4 address", "PhoneNumber": "Phone number", "Hostname": "Hostname",
    "AwsAccessKey": "AWS access key", "Jwt": "JSON Web Token", "PrivateKey": "Private key",
    "GitHubToken": "GitHub token", "GitLabToken": "GitLab token", "SlackToken": "Slack token",
    "SecretAssignment": "Secret", "Manual": "Marked by hand",
}


def type_labels(types) -> list[str]:
    """The distinct types given, as people name them, sorted (an unknown type as is)."""
    return sorted({LABELS.get(t, t) for t in types if isinstance(t, str)})
