-- Action items: follow-up work agreed during an incident (who does what, by when).
-- They feed the RCA's corrective actions and the post-mortem's action item table, and
-- are listed across incidents on the dashboard (overdue first).
CREATE TABLE action_items (
    id           TEXT PRIMARY KEY,
    issue_id     TEXT NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    title        TEXT NOT NULL CHECK(length(title) BETWEEN 1 AND 300),
    owner        TEXT,
    due_date     TEXT CHECK(due_date IS NULL OR due_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    status       TEXT NOT NULL DEFAULT 'open'
                 CHECK(status IN ('open', 'in_progress', 'done', 'cancelled')),
    kind         TEXT NOT NULL CHECK(kind IN ('immediate', 'long_term', 'preventive')),
    notes        TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    completed_at TEXT
);

CREATE INDEX idx_action_items_issue ON action_items(issue_id);
CREATE INDEX idx_action_items_open_due ON action_items(status, due_date);
