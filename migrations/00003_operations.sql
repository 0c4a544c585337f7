-- +goose Up

-- What the executor saw right before the call, so it can tell when the
-- operation took effect (a switchover is 'running' before and after).
ALTER TABLE requests
    ADD COLUMN pre_status      text    NOT NULL DEFAULT '',
    ADD COLUMN pre_primary_id  text    NOT NULL DEFAULT '',
    ADD COLUMN pre_start_time  text    NOT NULL DEFAULT '',
    ADD COLUMN seen_transient  boolean NOT NULL DEFAULT false,
    -- What the requester was told and had to type; approvers get the same.
    ADD COLUMN consequence     text    NOT NULL DEFAULT '',
    ADD COLUMN confirm_name    text    NOT NULL DEFAULT '';

-- The shared poller's schedule, the last progress figures, and changes the
-- portal did not make.
ALTER TABLE dr_tasks
    ADD COLUMN next_poll_at        timestamptz,
    ADD COLUMN progress            jsonb,
    ADD COLUMN progress_fetched_at timestamptz,
    ADD COLUMN drift               jsonb,
    ADD COLUMN drift_at            timestamptz,
    ADD COLUMN refresh_error       text NOT NULL DEFAULT '',
    ADD COLUMN refresh_error_at    timestamptz;
CREATE INDEX dr_tasks_next_poll_idx ON dr_tasks (next_poll_at) WHERE gone_at IS NULL;

-- +goose Down
DROP INDEX dr_tasks_next_poll_idx;
ALTER TABLE dr_tasks DROP COLUMN next_poll_at, DROP COLUMN progress, DROP COLUMN progress_fetched_at,
    DROP COLUMN drift, DROP COLUMN drift_at, DROP COLUMN refresh_error, DROP COLUMN refresh_error_at;
ALTER TABLE requests DROP COLUMN pre_status, DROP COLUMN pre_primary_id, DROP COLUMN pre_start_time,
    DROP COLUMN seen_transient, DROP COLUMN consequence, DROP COLUMN confirm_name;
