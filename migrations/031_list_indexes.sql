-- Composite indexes for the incident list, its filters and sorts, and the dashboard,
-- measured on 100,000 incidents (see tests/benchmarks/bench_search.py).
CREATE INDEX idx_issues_status_created ON issues(status, created_at);
CREATE INDEX idx_issues_category_created ON issues(category, created_at);
CREATE INDEX idx_issues_status_severity ON issues(status, severity);
CREATE INDEX idx_issues_resolved_created ON issues(resolved_at, created_at);
CREATE INDEX idx_issues_updated ON issues(updated_at);
