-- +goose Up

-- The last check of a request's live preconditions. Pages show it (with its
-- age) instead of asking the cloud on every view; a person asks for a new
-- one with "Check now", at most once per interval per request, whoever asks.
-- Filing checks them live, so a filed request starts out checked.
ALTER TABLE requests
    ADD COLUMN checked_at     timestamptz,
    ADD COLUMN check_problems text[] NOT NULL DEFAULT '{}',
    ADD COLUMN check_error    text   NOT NULL DEFAULT '';
UPDATE requests SET checked_at = created_at;

-- +goose Down
ALTER TABLE requests DROP COLUMN checked_at, DROP COLUMN check_problems, DROP COLUMN check_error;
