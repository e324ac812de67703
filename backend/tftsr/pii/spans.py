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
        return PiiSpan(self.pii_type, self.start + offset, self.end + offset,
                       self.original, self.replacement)


_new_span = object.__new__
_set_fields = tuple(getattr(PiiSpan, name).__set__
                    for name in ("pii_type", "start", "end", "original", "replacement"))


def make_span(pii_type: str, text: str, start: int, end: int) -> PiiSpan:
    """``PiiSpan(pii_type, start, end, text[start:end], replacement)``, built
    through the slot descriptors: a large log yields hundreds of thousands of
    spans, and a frozen dataclass's ``__init__`` costs twice as much."""
    span = _new_span(PiiSpan)
    set_type, set_start, set_end, set_original, set_replacement = _set_fields
    set_type(span, pii_type)
    set_start(span, start)
    set_end(span, end)
    set_original(span, text[start:end])
    set_replacement(span, REPLACEMENTS[pii_type])
    return span


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
