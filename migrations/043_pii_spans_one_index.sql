-- Findings of a log are found through idx_pii_spans_file_offset (log_file_id,
-- start_offset), which also serves every lookup by log_file_id alone. The older
-- single-column index only doubled the bytes and the writes of each finding.
DROP INDEX IF EXISTS idx_pii_spans_log_file;
