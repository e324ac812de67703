CREATE TABLE issues (
    id          TEXT PRIMARY KEY,
    title       TEXT NOT NULL,
    description TEXT,
    severity    TEXT NOT NULL CHECK(severity IN ('critical', 'high', 'medium', 'low')),
    status      TEXT NOT NULL CHECK(status IN ('open', 'investigating', 'resolved', 'closed')),
    category    TEXT,
    source      TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    resolved_at TEXT,
    assigned_to TEXT,
    tags        TEXT
);
