-- The incident record a manager signs: milestones, roles and impact.
--
-- Milestones are the moments the response metrics are measured between (UTC text, like
-- every seed timestamp); each may be back-dated, and the application refuses an order
-- that would make a duration negative. `resolved_at` (seed column) is the "resolved"
-- milestone; the status workflow still sets it when an incident is marked resolved and
-- nobody entered it before.
ALTER TABLE issues ADD COLUMN impact_started_at TEXT;
ALTER TABLE issues ADD COLUMN detected_at TEXT;
ALTER TABLE issues ADD COLUMN acknowledged_at TEXT;
ALTER TABLE issues ADD COLUMN mitigated_at TEXT;
ALTER TABLE issues ADD COLUMN closed_at TEXT;

-- Roles and fields. Priority (how soon to act) is kept apart from severity (how bad).
ALTER TABLE issues ADD COLUMN priority TEXT
    CHECK (priority IS NULL OR priority IN ('p1', 'p2', 'p3', 'p4'));
ALTER TABLE issues ADD COLUMN incident_commander TEXT;
ALTER TABLE issues ADD COLUMN responders TEXT;          -- JSON array of names
ALTER TABLE issues ADD COLUMN customer_impact TEXT;     -- who was affected and how
ALTER TABLE issues ADD COLUMN services_affected TEXT;   -- JSON array of service names

-- The dashboard's response metrics read the period's incidents from this index alone
-- (created_at range; severity and domain grouped; the milestones measured between), and
-- the all-time mean time to resolve reads only the incidents that have both moments.
CREATE INDEX idx_issues_response ON issues(created_at, severity, category, impact_started_at,
                                           detected_at, acknowledged_at, resolved_at);
CREATE INDEX idx_issues_resolve_times ON issues(resolved_at, detected_at)
    WHERE detected_at IS NOT NULL;

-- Incidents closed before this migration: the closing moment is on their timeline.
UPDATE issues SET closed_at = (
    SELECT max(t.created_at) FROM timeline_events t
    WHERE t.issue_id = issues.id AND t.event_type = 'status_changed'
      AND CASE WHEN json_valid(t.metadata) THEN json_extract(t.metadata, '$.to') END = 'closed'
) WHERE status = 'closed';
