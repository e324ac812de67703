"""Integrations: where an incident's records leave TFTSR for the organisation's own systems.

Laid out like Datasette's ``publish/``: :mod:`tftsr.integrations.common` holds what every
service shares (configuration and encrypted tokens, the send helper with retries that
honour ``Retry-After``, error wording), then one small module per service:

* :mod:`~tftsr.integrations.confluence` — the RCA or post-mortem as a page (storage
  format from :mod:`~tftsr.integrations.storage_format`, the timeline chart attached);
* :mod:`~tftsr.integrations.servicenow` — an incident record, resolved with notes;
* :mod:`~tftsr.integrations.azure_devops` — one work item per action item.

:mod:`~tftsr.integrations.search` searches all three for the team's knowledge, and
:mod:`~tftsr.integrations.links` keeps which remote record each TFTSR record became.
Every request leaves through :func:`tftsr.egress.send.send` (redacted, sealed and
audited before it goes).
"""
