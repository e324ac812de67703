-- Remember what the tool last generated for each document, so regeneration can tell
-- whether the author has edited it since (and refuse to overwrite without consent).
ALTER TABLE documents ADD COLUMN generated_sha256 TEXT;
ALTER TABLE documents ADD COLUMN generated_at INTEGER;
CREATE INDEX idx_documents_issue_type ON documents(issue_id, doc_type);
