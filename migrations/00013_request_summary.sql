-- +goose Up

-- What a request is about, in the words approvers decide on: both clusters
-- as they were when it was filed (name, availability zone, version, id)
-- and the sync period it sets or runs with. Stored with the request, so the
-- request page shows it from the database alone, even for a create whose
-- clusters the portal's copy of the tasks does not know. Requests filed
-- before it have '{}' and show what their payload says.
ALTER TABLE requests ADD COLUMN summary jsonb NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE requests DROP COLUMN summary;
