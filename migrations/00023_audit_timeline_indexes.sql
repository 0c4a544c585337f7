-- +goose Up

-- A task's history is its newest events and those correlated with them
-- (the cloud calls and steps of the same action). Both indexes carry what
-- choosing those events needs (the correlation id, the action, the event
-- id), so the choice is made from the indexes alone, and only the events
-- shown are read from the table: a year of history does not fit in memory,
-- and every row read from it is a read from disk or the page cache.
CREATE INDEX audit_events_subject_cover_idx ON audit_events (subject_type, subject_id, id) INCLUDE (correlation_id, action);
DROP INDEX audit_events_subject_idx;
ALTER INDEX audit_events_subject_cover_idx RENAME TO audit_events_subject_idx;

CREATE INDEX audit_events_correlation_cover_idx ON audit_events (correlation_id) INCLUDE (id, action) WHERE correlation_id <> '';
DROP INDEX audit_events_correlation_idx;
ALTER INDEX audit_events_correlation_cover_idx RENAME TO audit_events_correlation_idx;

-- +goose Down
CREATE INDEX audit_events_subject_plain_idx ON audit_events (subject_type, subject_id, id);
DROP INDEX audit_events_subject_idx;
ALTER INDEX audit_events_subject_plain_idx RENAME TO audit_events_subject_idx;

CREATE INDEX audit_events_correlation_plain_idx ON audit_events (correlation_id) WHERE correlation_id <> '';
DROP INDEX audit_events_correlation_idx;
ALTER INDEX audit_events_correlation_plain_idx RENAME TO audit_events_correlation_idx;
