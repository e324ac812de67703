-- Shell diagnostics: the kubeconfig (and context) an incident's kubectl commands use.
-- kubeconfig_files.is_active stays the one global default (at most one active row).
CREATE TABLE IF NOT EXISTS issue_kubeconfig (
    issue_id TEXT PRIMARY KEY,
    kubeconfig_id TEXT NOT NULL,
    context TEXT,
    updated_at TEXT NOT NULL DEFAULT (datetime('now')),
    FOREIGN KEY (issue_id) REFERENCES issues(id) ON DELETE CASCADE,
    FOREIGN KEY (kubeconfig_id) REFERENCES kubeconfig_files(id) ON DELETE CASCADE
);
CREATE INDEX idx_issue_kubeconfig_kubeconfig ON issue_kubeconfig(kubeconfig_id);
