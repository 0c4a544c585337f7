-- +goose Up

-- Which run of the executor is working on a request right now. The run
-- holds the request until exec_lease_until (the database's clock, the same
-- for every replica) and renews the lease every few seconds while it works;
-- it lets go when it stops. A lease that ran out belongs to a run that died
-- mid-way (its process was killed, its host lost): any running replica then
-- takes the request over, counts it in resumes and enqueues the execution
-- again, which looks at the cloud before sending anything. exec_released_at
-- is when the last run let go: until the queue has recorded that run's end,
-- its job still looks running.
ALTER TABLE requests
    ADD COLUMN exec_holder      text,
    ADD COLUMN exec_lease_until timestamptz,
    ADD COLUMN exec_released_at timestamptz,
    ADD COLUMN resumes          integer     NOT NULL DEFAULT 0 CHECK (resumes >= 0),
    ADD COLUMN resumed_at       timestamptz,
    ADD CONSTRAINT requests_exec_lease_whole CHECK ((exec_holder IS NULL) = (exec_lease_until IS NULL));
CREATE INDEX requests_exec_lease_idx ON requests (exec_lease_until) WHERE exec_holder IS NOT NULL;

-- +goose Down
DROP INDEX requests_exec_lease_idx;
ALTER TABLE requests
    DROP CONSTRAINT requests_exec_lease_whole,
    DROP COLUMN resumed_at,
    DROP COLUMN resumes,
    DROP COLUMN exec_released_at,
    DROP COLUMN exec_lease_until,
    DROP COLUMN exec_holder;
