-- +goose Up

-- When the session's person last entered their password: at sign-in, and
-- again when a high-risk approval or a policy change asked for it (step-up).
-- Sessions already open count from their sign-in.
ALTER TABLE sessions ADD COLUMN password_confirmed_at timestamptz;
UPDATE sessions SET password_confirmed_at = created_at;
ALTER TABLE sessions ALTER COLUMN password_confirmed_at SET NOT NULL;

-- +goose Down
ALTER TABLE sessions DROP COLUMN password_confirmed_at;
