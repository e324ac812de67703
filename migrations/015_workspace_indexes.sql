-- Root cause marking and edit times for the 5-Whys, plus indexes the
-- workspace queries lean on (lists, filters, dashboard).
ALTER TABLE resolution_steps ADD COLUMN is_root_cause INTEGER NOT NULL DEFAULT 0;
ALTER TABLE resolution_steps ADD COLUMN updated_at TEXT;

CREATE INDEX idx_issues_status ON issues(status);
CREATE INDEX idx_issues_severity ON issues(severity);
CREATE INDEX idx_issues_category ON issues(category);
CREATE INDEX idx_issues_created ON issues(created_at);
CREATE INDEX idx_issues_resolved ON issues(resolved_at);
CREATE INDEX idx_log_files_issue ON log_files(issue_id);
CREATE INDEX idx_pii_spans_log_file ON pii_spans(log_file_id);
CREATE INDEX idx_ai_conversations_issue ON ai_conversations(issue_id);
CREATE INDEX idx_ai_messages_conversation ON ai_messages(conversation_id);
CREATE INDEX idx_resolution_steps_issue ON resolution_steps(issue_id, step_order);
CREATE INDEX idx_documents_issue ON documents(issue_id);
CREATE INDEX idx_image_attachments_issue ON image_attachments(issue_id);
