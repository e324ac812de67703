-- Tamper evidence for the audit log: each entry hashes its canonical payload together
-- with the previous entry's hash; audit_chain_head pins the newest entry and the count
-- so that removing entries from the end is detected too.
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN entry_hash TEXT;
ALTER TABLE audit_log ADD COLUMN seq INTEGER;

CREATE UNIQUE INDEX idx_audit_log_seq ON audit_log(seq);
CREATE INDEX idx_audit_log_action ON audit_log(action);
CREATE INDEX idx_audit_log_entity ON audit_log(entity_type, entity_id);
CREATE INDEX idx_audit_log_timestamp ON audit_log(timestamp);

CREATE TABLE audit_chain_head (
    id          INTEGER PRIMARY KEY CHECK(id = 1),
    entry_count INTEGER NOT NULL,
    last_hash   TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
