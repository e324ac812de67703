-- Shell diagnostics: what each run put out, and what of it the PII gate redacted.
--
-- command_executions: output_bytes is the number of bytes read from the command's stdout
-- and stderr together (also what was cut from the middle of the stored text), and
-- output_sha256 the SHA-256 of exactly those bytes in the order they were read. Both stay
-- NULL for a refused or denied command (nothing ran) and for runs recorded before this.
-- tool_call_id is the assistant's tool call that ran the command (NULL when the engineer
-- typed it); it carries no foreign key so that the seed's declared keys stay exact.
ALTER TABLE command_executions ADD COLUMN output_bytes INTEGER;
ALTER TABLE command_executions ADD COLUMN output_sha256 TEXT;
ALTER TABLE command_executions ADD COLUMN tool_call_id TEXT;

-- ai_tool_calls: how many values the PII gate replaced in a tool's result before the model
-- saw it, and their types (JSON array of tftsr.pii type names). NULL: not recorded.
ALTER TABLE ai_tool_calls ADD COLUMN redactions INTEGER;
ALTER TABLE ai_tool_calls ADD COLUMN redacted_types TEXT;
