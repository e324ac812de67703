-- AI triage: provider configurations, per-conversation settings, message metadata,
-- tool calls and the 5-Whys proposals the assistant makes.

-- One row per configured provider. api_key_encrypted is AES-256-GCM
-- (base64(nonce || ciphertext || tag), see tftsr.secrets); api_key_hint keeps the last
-- four characters so the key can be shown masked without decrypting it.
CREATE TABLE ai_providers (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    kind               TEXT NOT NULL CHECK(kind IN ('openai', 'azure_openai', 'anthropic',
                                                    'gemini', 'mistral', 'ollama', 'custom_rest')),
    base_url           TEXT NOT NULL,
    model              TEXT NOT NULL,
    api_key_encrypted  TEXT,
    api_key_hint       TEXT,
    settings           TEXT NOT NULL DEFAULT '{}',   -- JSON object, never secrets
    is_active          INTEGER NOT NULL DEFAULT 0 CHECK(is_active IN (0, 1)),
    supports_tools     INTEGER CHECK(supports_tools IN (0, 1)),  -- NULL: not tested yet
    tools_checked_at   TEXT,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
);
CREATE UNIQUE INDEX idx_ai_providers_one_active ON ai_providers(is_active) WHERE is_active = 1;

-- Conversations: which provider they use (switchable), an optional system prompt
-- override and the time of the last message. provider_id carries no foreign key so
-- that the seed's declared keys stay exact; deleting a provider clears it in code.
ALTER TABLE ai_conversations ADD COLUMN provider_id TEXT;
ALTER TABLE ai_conversations ADD COLUMN system_prompt TEXT;
ALTER TABLE ai_conversations ADD COLUMN updated_at TEXT;

-- Messages: stream state, usage as the provider reported it, what was redacted from
-- the typed text (types and masked previews as JSON; the typed originals encrypted)
-- and which reviewed logs went with it.
ALTER TABLE ai_messages ADD COLUMN status TEXT NOT NULL DEFAULT 'complete'
    CHECK(status IN ('complete', 'streaming', 'stopped', 'error'));
ALTER TABLE ai_messages ADD COLUMN input_tokens INTEGER;
ALTER TABLE ai_messages ADD COLUMN output_tokens INTEGER;
ALTER TABLE ai_messages ADD COLUMN redactions TEXT;          -- JSON array
ALTER TABLE ai_messages ADD COLUMN original_encrypted TEXT;  -- AES-256-GCM, typed text
ALTER TABLE ai_messages ADD COLUMN log_file_ids TEXT;        -- JSON array
ALTER TABLE ai_messages ADD COLUMN error_code TEXT;
ALTER TABLE ai_messages ADD COLUMN error_message TEXT;
CREATE INDEX idx_ai_conversations_provider ON ai_conversations(provider_id);

-- Tool calls and their results, linked to the assistant message that made them
-- (ai_messages.role allows only system/user/assistant).
CREATE TABLE ai_tool_calls (
    id            TEXT PRIMARY KEY,
    message_id    TEXT NOT NULL REFERENCES ai_messages(id) ON DELETE CASCADE,
    seq           INTEGER NOT NULL,
    call_id       TEXT,                 -- the provider's id for the call, when it has one
    tool_name     TEXT NOT NULL,
    arguments     TEXT NOT NULL DEFAULT '{}',
    result        TEXT,
    status        TEXT NOT NULL DEFAULT 'pending' CHECK(status IN ('pending', 'ok', 'error')),
    error         TEXT,
    created_at    TEXT NOT NULL,
    completed_at  TEXT
);
CREATE INDEX idx_ai_tool_calls_message ON ai_tool_calls(message_id, seq);

-- A why the assistant proposed; it joins resolution_steps only when the user confirms.
CREATE TABLE ai_why_proposals (
    id                  TEXT PRIMARY KEY,
    issue_id            TEXT NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    conversation_id     TEXT REFERENCES ai_conversations(id) ON DELETE SET NULL,
    message_id          TEXT REFERENCES ai_messages(id) ON DELETE SET NULL,
    question            TEXT NOT NULL,
    answer              TEXT,
    evidence            TEXT,
    suggested_root_cause INTEGER NOT NULL DEFAULT 0,
    source              TEXT NOT NULL CHECK(source IN ('tool', 'marker')),
    status              TEXT NOT NULL DEFAULT 'pending'
                        CHECK(status IN ('pending', 'accepted', 'dismissed')),
    step_id             TEXT REFERENCES resolution_steps(id) ON DELETE SET NULL,
    created_at          TEXT NOT NULL,
    decided_at          TEXT
);
CREATE INDEX idx_ai_why_proposals_issue ON ai_why_proposals(issue_id, status);
