"""Evidence attached to an incident: log files and screenshots.

* :mod:`.ingest` reads a log as a stream of byte chunks (HTTP body or a file chosen in the
  native dialog), checks it, decodes it and finds PII without ever writing it to disk;
* :mod:`.logs` stores and pages log text; :mod:`.review` holds the reviewer's decisions on
  each finding and produces the redacted copy;
* :mod:`.images` checks, stores and thumbnails screenshots;
* :mod:`.commands` and :mod:`.routes` expose all of it to the UI.
"""
