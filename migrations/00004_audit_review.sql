-- +goose Up

-- Free-text search over an event: its words, in any language, unstemmed.
ALTER TABLE audit_events ADD COLUMN search tsvector GENERATED ALWAYS AS (
    to_tsvector('simple', action || ' ' || actor_name || ' ' || subject_type || ' ' || subject_id || ' ' ||
        correlation_id || ' ' || outcome || ' ' || detail)) STORED;
CREATE INDEX audit_events_search_idx ON audit_events USING gin (search);
-- occurred_at never decreases along the chain (appends take the later of
-- their own time and the previous event's), so a time range is an id range.
CREATE INDEX audit_events_time_idx ON audit_events (occurred_at, id);
CREATE INDEX audit_events_outcome_idx ON audit_events (outcome, id);

-- Where archived history ends: the chain of the remaining events starts
-- from through_hash. Append-only like the events.
CREATE TABLE audit_checkpoints (
    through_id   bigint      PRIMARY KEY,
    through_hash bytea       NOT NULL CHECK (length(through_hash) = 32),
    first_id     bigint      NOT NULL,
    events       bigint      NOT NULL,
    file_name    text        NOT NULL,
    file_sha256  bytea       NOT NULL CHECK (length(file_sha256) = 32),
    created_by   bigint      REFERENCES users (id),
    created_at   timestamptz NOT NULL
);

-- +goose StatementBegin
CREATE FUNCTION audit_checkpoints_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_checkpoints is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_checkpoints_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_checkpoints_append_only();
CREATE TRIGGER audit_checkpoints_no_truncate
    BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_checkpoints_append_only();

-- Events may leave the table only through audit_delete_archived, and only
-- up to a checkpoint; UPDATE and TRUNCATE stay refused.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('drportal.audit_archive', true) = 'on'
       AND OLD.id <= (SELECT COALESCE(max(through_id), 0) FROM audit_checkpoints) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_events is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd

-- Runs with its owner's rights, so the portal's own database user needs no
-- DELETE privilege on the audit table (see docs/database-roles.md).
-- +goose StatementBegin
CREATE FUNCTION audit_delete_archived(through bigint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    n bigint;
BEGIN
    IF through > (SELECT COALESCE(max(through_id), 0) FROM audit_checkpoints) THEN
        RAISE EXCEPTION 'no checkpoint covers audit event %', through USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM set_config('drportal.audit_archive', 'on', true);
    DELETE FROM audit_events WHERE id <= through;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM set_config('drportal.audit_archive', 'off', true);
    RETURN n;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION audit_delete_archived(bigint);
DROP TABLE audit_checkpoints;
DROP FUNCTION audit_checkpoints_append_only();
DROP INDEX audit_events_outcome_idx;
DROP INDEX audit_events_time_idx;
DROP INDEX audit_events_search_idx;
ALTER TABLE audit_events DROP COLUMN search;
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd
