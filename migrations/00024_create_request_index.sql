-- +goose Up

-- A task's history begins with the request that created it: its filing and
-- decisions were recorded about the request, before the task had an id.
-- The task page finds that request on every view: by this index, not by a
-- walk over every request the task ever had.
CREATE INDEX requests_create_task_idx ON requests (dr_task_id) WHERE operation = 'create' AND dr_task_id IS NOT NULL;

-- +goose Down
DROP INDEX requests_create_task_idx;
