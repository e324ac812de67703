-- Search over everything an incident holds, one row per incident (rowid = issues.rowid):
-- title, description, tags, the 5-Whys, the root cause, action items, the timeline
-- entries people wrote, and the documents' text. One row per incident keeps "every word
-- must match" meaningful across fields (a tag and a word of the root cause), and lets
-- bm25 weigh a title match above a match deep in a document.
--
-- The seed's issues_fts (title and description) is left as the seed defines it.
CREATE VIRTUAL TABLE incident_fts USING fts5(
    title, description, tags, whys, root_cause, actions, timeline, documents
);

-- issues ------------------------------------------------------------------------------
CREATE TRIGGER incident_fts_issue_insert AFTER INSERT ON issues BEGIN
    INSERT INTO incident_fts (rowid, title, description, tags, whys, root_cause, actions,
                              timeline, documents)
    VALUES (new.rowid, new.title, coalesce(new.description, ''),
            (SELECT coalesce(group_concat(value, ' '), '') FROM json_each(
                 CASE WHEN json_valid(new.tags) THEN CASE json_type(new.tags) WHEN 'array' THEN new.tags ELSE '[]' END ELSE '[]' END)),
            '', '', '', '', '');
END;

CREATE TRIGGER incident_fts_issue_update AFTER UPDATE OF title, description, tags ON issues
BEGIN
    UPDATE incident_fts SET
        title = new.title,
        description = coalesce(new.description, ''),
        tags = (SELECT coalesce(group_concat(value, ' '), '') FROM json_each(
                    CASE WHEN json_valid(new.tags) THEN CASE json_type(new.tags) WHEN 'array' THEN new.tags ELSE '[]' END ELSE '[]' END))
    WHERE rowid = new.rowid;
END;

CREATE TRIGGER incident_fts_issue_delete AFTER DELETE ON issues BEGIN
    DELETE FROM incident_fts WHERE rowid = old.rowid;
END;

-- the 5-Whys and the root cause (step order is not indexed: reordering touches nothing) --
CREATE TRIGGER incident_fts_why_insert AFTER INSERT ON resolution_steps BEGIN
    UPDATE incident_fts SET
        whys = (SELECT coalesce(group_concat(why_question || ' ' || coalesce(answer, '') || ' '
                                             || coalesce(evidence, ''), ' '), '')
                FROM resolution_steps WHERE issue_id = new.issue_id),
        root_cause = (SELECT coalesce(group_concat(coalesce(answer, why_question), ' '), '')
                      FROM resolution_steps WHERE issue_id = new.issue_id AND is_root_cause = 1)
    WHERE rowid = (SELECT rowid FROM issues WHERE id = new.issue_id);
END;

CREATE TRIGGER incident_fts_why_update
AFTER UPDATE OF why_question, answer, evidence, is_root_cause ON resolution_steps BEGIN
    UPDATE incident_fts SET
        whys = (SELECT coalesce(group_concat(why_question || ' ' || coalesce(answer, '') || ' '
                                             || coalesce(evidence, ''), ' '), '')
                FROM resolution_steps WHERE issue_id = new.issue_id),
        root_cause = (SELECT coalesce(group_concat(coalesce(answer, why_question), ' '), '')
                      FROM resolution_steps WHERE issue_id = new.issue_id AND is_root_cause = 1)
    WHERE rowid = (SELECT rowid FROM issues WHERE id = new.issue_id);
END;

CREATE TRIGGER incident_fts_why_delete AFTER DELETE ON resolution_steps BEGIN
    UPDATE incident_fts SET
        whys = (SELECT coalesce(group_concat(why_question || ' ' || coalesce(answer, '') || ' '
                                             || coalesce(evidence, ''), ' '), '')
                FROM resolution_steps WHERE issue_id = old.issue_id),
        root_cause = (SELECT coalesce(group_concat(coalesce(answer, why_question), ' '), '')
                      FROM resolution_steps WHERE issue_id = old.issue_id AND is_root_cause = 1)
    WHERE rowid = (SELECT rowid FROM issues WHERE id = old.issue_id);
END;

-- action items ------------------------------------------------------------------------
CREATE TRIGGER incident_fts_action_insert AFTER INSERT ON action_items BEGIN
    UPDATE incident_fts SET actions = (
        SELECT coalesce(group_concat(title || ' ' || coalesce(notes, ''), ' '), '')
        FROM action_items WHERE issue_id = new.issue_id)
    WHERE rowid = (SELECT rowid FROM issues WHERE id = new.issue_id);
END;

CREATE TRIGGER incident_fts_action_update AFTER UPDATE OF title, notes ON action_items BEGIN
    UPDATE incident_fts SET actions = (
        SELECT coalesce(group_concat(title || ' ' || coalesce(notes, ''), ' '), '')
        FROM action_items WHERE issue_id = new.issue_id)
    WHERE rowid = (SELECT rowid FROM issues WHERE id = new.issue_id);
END;

CREATE TRIGGER incident_fts_action_delete AFTER DELETE ON action_items BEGIN
    UPDATE incident_fts SET actions = (
        SELECT coalesce(group_concat(title || ' ' || coalesce(notes, ''), ' '), '')
        FROM action_items WHERE issue_id = old.issue_id)
    WHERE rowid = (SELECT rowid FROM issues WHERE id = old.issue_id);
END;

-- timeline entries written by people (recorded events are bookkeeping, not searched) ---
-- A new entry is appended; an edit or a deletion rebuilds the incident's timeline text.
CREATE TRIGGER incident_fts_timeline_insert AFTER INSERT ON timeline_events
WHEN CASE WHEN json_valid(new.metadata) THEN json_extract(new.metadata, '$.manual') ELSE 0 END = 1
BEGIN
    UPDATE incident_fts SET timeline = timeline || ' ' || new.description
    WHERE rowid = (SELECT rowid FROM issues WHERE id = new.issue_id);
END;

CREATE TRIGGER incident_fts_timeline_update AFTER UPDATE OF description, metadata ON timeline_events
WHEN CASE WHEN json_valid(new.metadata) THEN json_extract(new.metadata, '$.manual') ELSE 0 END = 1
BEGIN
    UPDATE incident_fts SET timeline = (
        SELECT coalesce(group_concat(description, ' '), '') FROM timeline_events
        WHERE issue_id = new.issue_id AND CASE WHEN json_valid(metadata)
              THEN json_extract(metadata, '$.manual') ELSE 0 END = 1)
    WHERE rowid = (SELECT rowid FROM issues WHERE id = new.issue_id);
END;

CREATE TRIGGER incident_fts_timeline_delete AFTER DELETE ON timeline_events
WHEN CASE WHEN json_valid(old.metadata) THEN json_extract(old.metadata, '$.manual') ELSE 0 END = 1
     AND EXISTS (SELECT 1 FROM issues WHERE id = old.issue_id)
BEGIN
    UPDATE incident_fts SET timeline = (
        SELECT coalesce(group_concat(description, ' '), '') FROM timeline_events
        WHERE issue_id = old.issue_id AND CASE WHEN json_valid(metadata)
              THEN json_extract(metadata, '$.manual') ELSE 0 END = 1)
    WHERE rowid = (SELECT rowid FROM issues WHERE id = old.issue_id);
END;

-- documents (the RCA and the post-mortem as edited) -----------------------------------
CREATE TRIGGER incident_fts_document_insert AFTER INSERT ON documents BEGIN
    UPDATE incident_fts SET documents = (
        SELECT coalesce(group_concat(title || ' ' || content_md, ' '), '')
        FROM documents WHERE issue_id = new.issue_id)
    WHERE rowid = (SELECT rowid FROM issues WHERE id = new.issue_id);
END;

CREATE TRIGGER incident_fts_document_update AFTER UPDATE OF title, content_md ON documents BEGIN
    UPDATE incident_fts SET documents = (
        SELECT coalesce(group_concat(title || ' ' || content_md, ' '), '')
        FROM documents WHERE issue_id = new.issue_id)
    WHERE rowid = (SELECT rowid FROM issues WHERE id = new.issue_id);
END;

CREATE TRIGGER incident_fts_document_delete AFTER DELETE ON documents
WHEN EXISTS (SELECT 1 FROM issues WHERE id = old.issue_id)
BEGIN
    UPDATE incident_fts SET documents = (
        SELECT coalesce(group_concat(title || ' ' || content_md, ' '), '')
        FROM documents WHERE issue_id = old.issue_id)
    WHERE rowid = (SELECT rowid FROM issues WHERE id = old.issue_id);
END;

-- what existed before ------------------------------------------------------------------
INSERT INTO incident_fts (rowid, title, description, tags, whys, root_cause, actions, timeline,
                          documents)
SELECT i.rowid, i.title, coalesce(i.description, ''),
       (SELECT coalesce(group_concat(value, ' '), '') FROM json_each(
            CASE WHEN json_valid(i.tags) THEN CASE json_type(i.tags) WHEN 'array' THEN i.tags ELSE '[]' END ELSE '[]' END)),
       (SELECT coalesce(group_concat(why_question || ' ' || coalesce(answer, '') || ' '
                                     || coalesce(evidence, ''), ' '), '')
        FROM resolution_steps WHERE issue_id = i.id),
       (SELECT coalesce(group_concat(coalesce(answer, why_question), ' '), '')
        FROM resolution_steps WHERE issue_id = i.id AND is_root_cause = 1),
       (SELECT coalesce(group_concat(title || ' ' || coalesce(notes, ''), ' '), '')
        FROM action_items WHERE issue_id = i.id),
       (SELECT coalesce(group_concat(description, ' '), '') FROM timeline_events
        WHERE issue_id = i.id AND CASE WHEN json_valid(metadata)
              THEN json_extract(metadata, '$.manual') ELSE 0 END = 1),
       (SELECT coalesce(group_concat(title || ' ' || content_md, ' '), '')
        FROM documents WHERE issue_id = i.id)
FROM issues i;
