-- 018 created mcp_resources with a nullable name and no mime_type/discovered_at.
-- SQLite cannot ADD COLUMN with a non-constant default, so the table is rebuilt with
-- the union of both definitions; 018-era rows without a name take their URI as name.
CREATE TABLE mcp_resources_new (
    id TEXT PRIMARY KEY,
    server_id TEXT NOT NULL,
    uri TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    mime_type TEXT,
    discovered_at TEXT NOT NULL DEFAULT (datetime('now')),
    FOREIGN KEY(server_id) REFERENCES mcp_servers(id) ON DELETE CASCADE
);
INSERT INTO mcp_resources_new (id, server_id, uri, name, description)
    SELECT id, server_id, uri, COALESCE(name, uri), description FROM mcp_resources;
DROP TABLE mcp_resources;
ALTER TABLE mcp_resources_new RENAME TO mcp_resources;
CREATE INDEX idx_mcp_resources_server ON mcp_resources(server_id);
