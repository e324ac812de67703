-- The incident list, its filters and sorts, filtered search and the dashboard at 100,000
-- incidents (tests/benchmarks/bench_search.py; tests/unit/test_query_plans.py checks the
-- plans).
--
-- 1. Lists. A page is found by walking an index in the sort's order and testing the
--    filters inside the index (status, severity, domain, created_at ride along), so no
--    incident row is read until the page's 50 are known. One index per sort; the
--    severity sort's index is on the same CASE expression as the query's ORDER BY.
--    A single status, severity or domain, newest or oldest first, walks that column's
--    own index instead (one value: already in created_at and rowid order).
--    Totals are counted from an index alone, whatever the mix of filters: the status,
--    severity and domain indexes carry created_at (a date range) and each other, and
--    the one-column status and domain indexes they replace are dropped (the planner
--    would pick one and read an incident per entry to test the rest).
CREATE INDEX idx_issues_walk_created ON issues(created_at, status, severity, category);
CREATE INDEX idx_issues_walk_updated ON issues(updated_at, created_at, status, severity,
                                               category);
CREATE INDEX idx_issues_walk_severity ON issues(
    CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END DESC,
    created_at, status, severity, category);
-- Unfiltered, the severity sort walks this one, in which ties on the first two columns
-- are in rowid order already (no sorting at all, however deep the page).
CREATE INDEX idx_issues_severity_sort ON issues(
    CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END DESC,
    created_at);
DROP INDEX idx_issues_status_severity;
CREATE INDEX idx_issues_status_severity ON issues(status, severity, created_at);
DROP INDEX idx_issues_severity;
CREATE INDEX idx_issues_severity ON issues(severity, created_at);
CREATE INDEX idx_issues_category_status ON issues(category, status, severity, created_at);
DROP INDEX idx_issues_status;
DROP INDEX idx_issues_category;

-- 2. Tags. One row per (tag, incident) with the columns the list filters and sorts on,
--    so a tag filter reads only that tag's rows, in order, never every incident's JSON.
--    Kept in step by triggers; `tags` is read the way the filter always read it
--    (json_each over the stored JSON, text values; malformed JSON holds no tags).
CREATE TABLE issue_tags (
    tag         TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    issue_rowid INTEGER NOT NULL,           -- issues.rowid
    updated_at  TEXT NOT NULL,
    status      TEXT NOT NULL,
    severity    TEXT NOT NULL,
    category    TEXT,
    PRIMARY KEY (tag, created_at, issue_rowid)
) WITHOUT ROWID;
CREATE INDEX idx_issue_tags_updated ON issue_tags(tag, updated_at, status, severity, category);
CREATE INDEX idx_issue_tags_severity ON issue_tags(
    tag,
    CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END DESC,
    created_at, status, severity, category);

-- The tag rows an incident has now.
CREATE VIEW issue_tag_rows AS
SELECT j.value AS tag, i.created_at, i.rowid AS issue_rowid, i.updated_at, i.status,
       i.severity, i.category
FROM issues i, json_each(CASE WHEN json_valid(i.tags) THEN i.tags ELSE '[]' END) j
WHERE typeof(j.value) = 'text';

-- An incident's tag rows are taken out (sign -1) before it changes or goes, and put
-- back (sign +1) after, by inserting (rowid, sign) into issue_tags_change.
CREATE VIEW issue_tags_change AS SELECT 0 AS issue_rowid, 0 AS sign WHERE 0;

CREATE TRIGGER issue_tags_apply INSTEAD OF INSERT ON issue_tags_change BEGIN
    DELETE FROM issue_tags WHERE new.sign < 0 AND (tag, created_at, issue_rowid) IN
        (SELECT tag, created_at, issue_rowid FROM issue_tag_rows
         WHERE issue_rowid = new.issue_rowid);
    INSERT OR IGNORE INTO issue_tags
    SELECT * FROM issue_tag_rows WHERE new.sign > 0 AND issue_rowid = new.issue_rowid;
END;

CREATE TRIGGER issue_tags_insert AFTER INSERT ON issues BEGIN
    INSERT INTO issue_tags_change VALUES (new.rowid, 1);
END;

CREATE TRIGGER issue_tags_update_before
BEFORE UPDATE OF tags, created_at, updated_at, status, severity, category ON issues BEGIN
    INSERT INTO issue_tags_change VALUES (old.rowid, -1);
END;

CREATE TRIGGER issue_tags_update_after
AFTER UPDATE OF tags, created_at, updated_at, status, severity, category ON issues BEGIN
    INSERT INTO issue_tags_change VALUES (new.rowid, 1);
END;

CREATE TRIGGER issue_tags_delete BEFORE DELETE ON issues BEGIN
    INSERT INTO issue_tags_change VALUES (old.rowid, -1);
END;

INSERT OR IGNORE INTO issue_tags SELECT * FROM issue_tag_rows;

-- 3. Dashboard. Running totals of the incidents opened per severity, domain and day,
--    and per severity, domain and week (from Monday): how many, and the sum and count
--    of each response time; incidents opened per day; and per severity, domain and
--    status. The dashboard reads a year from these (about 53 weeks per group) instead
--    of every incident. A response time is the seconds between two milestones, counted
--    only when both are set and in order (as tftsr.docs.metrics measures it), worked out
--    as the dashboard always did, so its means come out the same. A domain of NULL is
--    kept as '' (the dashboard always showed it so).
CREATE VIEW issue_figures AS
SELECT rowid AS issue_rowid, status, severity, coalesce(category, '') AS category,
       substr(created_at, 1, 10) AS day,
       coalesce(date(substr(created_at, 1, 10), '-6 days', 'weekday 1'),
                substr(created_at, 1, 10)) AS week,
       CASE WHEN impact_started_at IS NOT NULL AND detected_at IS NOT NULL
                 AND detected_at >= impact_started_at
            THEN (julianday(detected_at) - julianday(impact_started_at)) * 86400.0 END AS ttd,
       CASE WHEN detected_at IS NOT NULL AND acknowledged_at IS NOT NULL
                 AND acknowledged_at >= detected_at
            THEN (julianday(acknowledged_at) - julianday(detected_at)) * 86400.0 END AS tta,
       CASE WHEN detected_at IS NOT NULL AND resolved_at IS NOT NULL
                 AND resolved_at >= detected_at
            THEN (julianday(resolved_at) - julianday(detected_at)) * 86400.0 END AS ttr
FROM issues;

-- Each incident counts in two periods: its day and its week.
CREATE VIEW issue_periods AS
SELECT g.grain, f.severity, f.category, CASE g.grain WHEN 'day' THEN f.day ELSE f.week END
       AS period, f.issue_rowid, f.ttd, f.tta, f.ttr
FROM issue_figures f, (SELECT 'day' AS grain UNION ALL SELECT 'week') g;

CREATE TABLE issue_period_stats (
    grain     TEXT NOT NULL CHECK (grain IN ('day', 'week')),
    severity  TEXT NOT NULL,
    category  TEXT NOT NULL,
    period    TEXT NOT NULL,                -- the day, or the Monday starting the week
    incidents INTEGER NOT NULL,
    mttd_sum  REAL NOT NULL, mttd_n INTEGER NOT NULL,
    mtta_sum  REAL NOT NULL, mtta_n INTEGER NOT NULL,
    mttr_sum  REAL NOT NULL, mttr_n INTEGER NOT NULL,
    PRIMARY KEY (grain, severity, category, period)
) WITHOUT ROWID;
CREATE INDEX idx_issue_period_stats_period ON issue_period_stats(
    grain, period, severity, category, incidents, mttd_sum, mttd_n, mtta_sum, mtta_n,
    mttr_sum, mttr_n);

CREATE TABLE issue_day_counts (
    day       TEXT PRIMARY KEY,
    incidents INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE issue_status_stats (
    severity  TEXT NOT NULL,
    category  TEXT NOT NULL,
    status    TEXT NOT NULL,
    incidents INTEGER NOT NULL,
    mttr_sum  REAL NOT NULL, mttr_n INTEGER NOT NULL,
    PRIMARY KEY (severity, category, status)
) WITHOUT ROWID;

-- An incident's figures are taken out (sign -1) before it changes or goes, and put
-- back (sign +1) after, by inserting (rowid, sign) into issue_figures_change.
CREATE VIEW issue_figures_change AS SELECT 0 AS issue_rowid, 0 AS sign WHERE 0;

CREATE TRIGGER issue_figures_apply INSTEAD OF INSERT ON issue_figures_change BEGIN
    INSERT INTO issue_period_stats AS s
    SELECT grain, severity, category, period, new.sign,
           new.sign * coalesce(ttd, 0.0), new.sign * (ttd IS NOT NULL),
           new.sign * coalesce(tta, 0.0), new.sign * (tta IS NOT NULL),
           new.sign * coalesce(ttr, 0.0), new.sign * (ttr IS NOT NULL)
    FROM issue_periods WHERE issue_rowid = new.issue_rowid
    ON CONFLICT DO UPDATE SET incidents = s.incidents + excluded.incidents,
        mttd_sum = s.mttd_sum + excluded.mttd_sum, mttd_n = s.mttd_n + excluded.mttd_n,
        mtta_sum = s.mtta_sum + excluded.mtta_sum, mtta_n = s.mtta_n + excluded.mtta_n,
        mttr_sum = s.mttr_sum + excluded.mttr_sum, mttr_n = s.mttr_n + excluded.mttr_n;
    INSERT INTO issue_day_counts AS s
    SELECT day, new.sign FROM issue_figures WHERE issue_rowid = new.issue_rowid
    ON CONFLICT DO UPDATE SET incidents = s.incidents + excluded.incidents;
    INSERT INTO issue_status_stats AS s
    SELECT severity, category, status, new.sign, new.sign * coalesce(ttr, 0.0),
           new.sign * (ttr IS NOT NULL)
    FROM issue_figures WHERE issue_rowid = new.issue_rowid
    ON CONFLICT DO UPDATE SET incidents = s.incidents + excluded.incidents,
        mttr_sum = s.mttr_sum + excluded.mttr_sum, mttr_n = s.mttr_n + excluded.mttr_n;
    -- Nothing left in a period or group: the row goes (the dashboard lists only groups
    -- that have incidents).
    DELETE FROM issue_period_stats WHERE incidents = 0 AND (grain, severity, category, period)
        IN (SELECT grain, severity, category, period FROM issue_periods
            WHERE issue_rowid = new.issue_rowid);
    DELETE FROM issue_day_counts WHERE incidents = 0 AND day =
        (SELECT day FROM issue_figures WHERE issue_rowid = new.issue_rowid);
    DELETE FROM issue_status_stats WHERE incidents = 0 AND (severity, category, status) =
        (SELECT severity, category, status FROM issue_figures WHERE issue_rowid = new.issue_rowid);
END;

CREATE TRIGGER issue_stats_insert AFTER INSERT ON issues BEGIN
    INSERT INTO issue_figures_change VALUES (new.rowid, 1);
END;

CREATE TRIGGER issue_stats_update_before
BEFORE UPDATE OF created_at, severity, category, status, impact_started_at, detected_at,
                 acknowledged_at, resolved_at ON issues BEGIN
    INSERT INTO issue_figures_change VALUES (old.rowid, -1);
END;

CREATE TRIGGER issue_stats_update_after
AFTER UPDATE OF created_at, severity, category, status, impact_started_at, detected_at,
                acknowledged_at, resolved_at ON issues BEGIN
    INSERT INTO issue_figures_change VALUES (new.rowid, 1);
END;

CREATE TRIGGER issue_stats_delete BEFORE DELETE ON issues BEGIN
    INSERT INTO issue_figures_change VALUES (old.rowid, -1);
END;

INSERT INTO issue_period_stats
SELECT grain, severity, category, period, count(*), coalesce(sum(ttd), 0.0), count(ttd),
       coalesce(sum(tta), 0.0), count(tta), coalesce(sum(ttr), 0.0), count(ttr)
FROM issue_periods GROUP BY grain, severity, category, period;

INSERT INTO issue_day_counts SELECT day, count(*) FROM issue_figures GROUP BY day;

INSERT INTO issue_status_stats
SELECT severity, category, status, count(*), coalesce(sum(ttr), 0.0), count(ttr)
FROM issue_figures GROUP BY severity, category, status;

-- 4. Search. A search filtered by status, severity, domain or date tests each full-text
--    match by its rowid here when the filter is too wide to list its incidents (see
--    tftsr.issues.search.filter_clauses): one small row per incident.
CREATE TABLE issue_facets (
    issue_rowid INTEGER PRIMARY KEY,        -- issues.rowid
    status      TEXT NOT NULL,
    severity    TEXT NOT NULL,
    category    TEXT,
    created_at  TEXT NOT NULL
);

CREATE TRIGGER issue_facets_insert AFTER INSERT ON issues BEGIN
    INSERT INTO issue_facets VALUES (new.rowid, new.status, new.severity, new.category,
                                     new.created_at);
END;

CREATE TRIGGER issue_facets_update AFTER UPDATE OF status, severity, category, created_at
ON issues BEGIN
    UPDATE issue_facets SET status = new.status, severity = new.severity,
                            category = new.category, created_at = new.created_at
    WHERE issue_rowid = new.rowid;
END;

CREATE TRIGGER issue_facets_delete AFTER DELETE ON issues BEGIN
    DELETE FROM issue_facets WHERE issue_rowid = old.rowid;
END;

INSERT INTO issue_facets SELECT rowid, status, severity, category, created_at FROM issues;

-- The dashboard no longer reads incidents for its response metrics.
DROP INDEX idx_issues_response;
DROP INDEX idx_issues_resolve_times;
