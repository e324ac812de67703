-- Integrations (Confluence, ServiceNow, Azure DevOps).
--
-- A stored token is bound to the origin (scheme://host:port) it was entered for: it is
-- never sent anywhere else, and moving the service's address to another origin needs
-- the token again or an explicit confirmation naming the new origin. token_hint keeps
-- the last four characters for the Settings screen; the token itself stays encrypted.
ALTER TABLE credentials ADD COLUMN token_origin TEXT;
ALTER TABLE credentials ADD COLUMN token_hint TEXT;

-- What links a TFTSR record to the record it became in another system: the Confluence
-- page of a document (page id, version), the ServiceNow incident of an incident (sys_id,
-- INC number), the Azure DevOps work item of an action item (id, revision). One link per
-- record and service; ``origin`` is the site the remote record lives on, and
-- ``content_sha256`` the SHA-256 of what was last sent (an unchanged record is not sent
-- again). ``state`` records what was done last ('created', 'updated', 'resolved').
CREATE TABLE external_links (
    id             TEXT PRIMARY KEY,
    service        TEXT NOT NULL CHECK(service IN ('confluence','servicenow','azuredevops')),
    entity_type    TEXT NOT NULL CHECK(entity_type IN ('document','issue','action_item')),
    entity_id      TEXT NOT NULL,
    issue_id       TEXT NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    origin         TEXT NOT NULL,
    remote_id      TEXT NOT NULL,
    remote_key     TEXT,
    url            TEXT,
    version        INTEGER,
    content_sha256 TEXT,
    state          TEXT NOT NULL DEFAULT 'created',
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    UNIQUE(service, entity_type, entity_id)
);

CREATE INDEX idx_external_links_issue ON external_links(issue_id);

-- A deleted document or action item takes its link with it (an incident's links go
-- with the incident through the foreign key).
CREATE TRIGGER external_links_document_deleted AFTER DELETE ON documents
BEGIN
    DELETE FROM external_links WHERE entity_type = 'document' AND entity_id = OLD.id;
END;

CREATE TRIGGER external_links_action_item_deleted AFTER DELETE ON action_items
BEGIN
    DELETE FROM external_links WHERE entity_type = 'action_item' AND entity_id = OLD.id;
END;
