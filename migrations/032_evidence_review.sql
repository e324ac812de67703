-- Evidence review: what ingest learned about each log file, the redacted copy, and the
-- reviewer's decision on every PII finding. Numbered after 020/021 so that the seed's own
-- columns (content_compressed, image_data) keep their place in log_files and
-- image_attachments, and ours follow them. Offsets in pii_spans are character offsets
-- into the decoded text (line endings normalised to \n), end exclusive.

ALTER TABLE log_files ADD COLUMN encoding TEXT;
ALTER TABLE log_files ADD COLUMN encoding_notice TEXT;
ALTER TABLE log_files ADD COLUMN line_count INTEGER;
-- Bytes as uploaded (before .gz decompression); file_size is the decompressed size.
ALTER TABLE log_files ADD COLUMN original_size INTEGER;
ALTER TABLE log_files ADD COLUMN reviewed_at TEXT;
-- gzip of the redacted text (UTF-8) and the SHA-256 hex of those UTF-8 bytes.
ALTER TABLE log_files ADD COLUMN redacted_compressed BLOB;
ALTER TABLE log_files ADD COLUMN redacted_hash TEXT;
ALTER TABLE log_files ADD COLUMN compressed INTEGER NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS idx_log_files_issue_hash ON log_files(issue_id, content_hash);

ALTER TABLE pii_spans ADD COLUMN status TEXT NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'approved', 'rejected'));
ALTER TABLE pii_spans ADD COLUMN source TEXT NOT NULL DEFAULT 'detected'
    CHECK (source IN ('detected', 'manual'));
ALTER TABLE pii_spans ADD COLUMN line INTEGER;
CREATE INDEX IF NOT EXISTS idx_pii_spans_file_offset ON pii_spans(log_file_id, start_offset);

ALTER TABLE image_attachments ADD COLUMN width INTEGER;
ALTER TABLE image_attachments ADD COLUMN height INTEGER;
CREATE INDEX IF NOT EXISTS idx_image_attachments_issue_hash
    ON image_attachments(issue_id, upload_hash);
