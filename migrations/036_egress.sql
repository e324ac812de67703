-- Stable pseudonyms: each distinct value found in an incident keeps one numbered
-- placeholder ([IPv4-3], [Email-2]) wherever it is redacted. Values are stored only as
-- HMACs keyed from the database key, never in plain text.
CREATE TABLE pii_pseudonyms (
    issue_id   TEXT NOT NULL,
    pii_type   TEXT NOT NULL,
    value_mac  TEXT NOT NULL,
    number     INTEGER NOT NULL CHECK(number >= 1),
    created_at TEXT NOT NULL DEFAULT (datetime('now')),
    PRIMARY KEY (issue_id, pii_type, value_mac),
    UNIQUE (issue_id, pii_type, number),
    FOREIGN KEY (issue_id) REFERENCES issues(id) ON DELETE CASCADE
);

-- Values a reviewer rejected as findings ("this is not personal data") in a log of the
-- incident. The last check on an outgoing request leaves them as they are.
CREATE TABLE pii_kept_values (
    issue_id  TEXT NOT NULL,
    value_mac TEXT NOT NULL,
    PRIMARY KEY (issue_id, value_mac),
    FOREIGN KEY (issue_id) REFERENCES issues(id) ON DELETE CASCADE
);

-- The origin (scheme://host:port) an API key was entered for. A key is never sent to
-- any other origin; changing the address requires entering the key again.
ALTER TABLE ai_providers ADD COLUMN api_key_origin TEXT;
