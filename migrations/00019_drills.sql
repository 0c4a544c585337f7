-- +goose Up

-- A drill is one request (operation 'drill') that runs a switchover and
-- then a switchback on one DR task, filed and approved once.
ALTER TABLE requests DROP CONSTRAINT requests_operation_check;
ALTER TABLE requests ADD CONSTRAINT requests_operation_check CHECK (operation IN
    ('create', 'start', 'stop', 'update', 'switchover', 'failover', 'recovery', 'delete', 'drill'));

-- One row per drill request: when it may run, which of its two steps the
-- executor is at (so a run that died resumes at the right one), and the
-- evidence the portal measured. Every time is the executor's clock: a
-- step's call was started (sent_at), accepted by the cloud (accepted_at),
-- and the task was first seen running the other way (done_at), polled every
-- poll_resolution_ms. RTO is done_at - accepted_at; RPO is
-- switchover_sent_at - last_sync_at, last_sync_at being the task's
-- last_success_time as read right before the switchover's call.
CREATE TABLE drills (
    request_id             bigint      PRIMARY KEY REFERENCES requests (id),
    dr_task_id             text        NOT NULL,
    run_at                 timestamptz,            -- NULL: as soon as it is approved
    step                   smallint    NOT NULL DEFAULT 1 CHECK (step IN (1, 2)),
    filed_by               text        NOT NULL,
    approved_by            text[]      NOT NULL DEFAULT '{}',
    poll_resolution_ms     bigint      NOT NULL DEFAULT 0 CHECK (poll_resolution_ms >= 0),
    started_at             timestamptz,
    finished_at            timestamptz,
    outcome                text        NOT NULL DEFAULT '' CHECK (outcome IN ('', 'succeeded', 'failed')),
    outcome_detail         text        NOT NULL DEFAULT '',
    primary_before         text        NOT NULL DEFAULT '',
    standby_before         text        NOT NULL DEFAULT '',
    last_sync_at           timestamptz,
    switchover_sent_at     timestamptz,
    switchover_accepted_at timestamptz,
    switchover_done_at     timestamptz,
    switchback_sent_at     timestamptz,
    switchback_accepted_at timestamptz,
    switchback_done_at     timestamptz,
    CHECK ((outcome = '') = (finished_at IS NULL))
);
CREATE INDEX drills_task_idx ON drills (dr_task_id, request_id);

-- +goose Down
-- Going back fails while drill requests exist: the old check refuses them.
DROP TABLE drills;
ALTER TABLE requests DROP CONSTRAINT requests_operation_check;
ALTER TABLE requests ADD CONSTRAINT requests_operation_check CHECK (operation IN
    ('create', 'start', 'stop', 'update', 'switchover', 'failover', 'recovery', 'delete'));
