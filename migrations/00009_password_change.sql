-- +goose Up

-- Password changes. An admin's reset sets must_change_password: the user
-- signs in with the temporary password and can do nothing else until they
-- have chosen their own. password_changed_at is when the password was last
-- set by anyone after the account was created.
ALTER TABLE users
    ADD COLUMN must_change_password boolean NOT NULL DEFAULT false,
    ADD COLUMN password_changed_at  timestamptz;

-- A session's public id, so its owner can end one of their sessions from
-- the profile page. The token hash stays the key and never leaves the
-- server. Existing sessions are numbered as the column is added.
ALTER TABLE sessions ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY;
ALTER TABLE sessions ADD CONSTRAINT sessions_id_key UNIQUE (id);

-- +goose Down
ALTER TABLE sessions DROP COLUMN id;
ALTER TABLE users DROP COLUMN must_change_password, DROP COLUMN password_changed_at;
