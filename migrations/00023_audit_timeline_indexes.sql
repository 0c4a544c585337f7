-- +goose Up

-- A task's history is its newest events and those correlated with them
-- (the cloud calls and steps of the same action). The subject index carries
-- the correlation id and action the choice of the task's own events reads,
-- and the correlation index the id and action of the correlated ones, so
-- those steps can be answered from the indexes.
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
