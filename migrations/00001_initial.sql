-- +goose Up

-- Accounts. Users are deactivated, never deleted, so the audit history keeps
-- pointing at someone.
CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         text        NOT NULL,
    display_name  text        NOT NULL,
    password_hash text,
    active        boolean     NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_lower CHECK (email = lower(email)),
    CONSTRAINT users_email_shape CHECK (email ~ '^[^@\s]+@[^@\s]+$')
);
CREATE UNIQUE INDEX users_email_key ON users (email);

CREATE TABLE user_roles (
    user_id bigint NOT NULL REFERENCES users (id),
    role    text   NOT NULL CHECK (role IN ('requester', 'approver', 'auditor', 'admin')),
    PRIMARY KEY (user_id, role)
);

-- Server-side sessions. The cookie holds a random token; only its SHA-256 is
-- stored, so a database read does not hand out live sessions.
CREATE TABLE sessions (
    token_hash   bytea       PRIMARY KEY,
    user_id      bigint      NOT NULL REFERENCES users (id),
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    ip           text        NOT NULL DEFAULT '',
    user_agent   text        NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

-- The last known state of each DR task, so pages render without waiting for
-- the cloud and show what was last seen when the cloud is unreachable.
CREATE TABLE dr_tasks (
    id                   text        PRIMARY KEY,
    name                 text        NOT NULL,
    status               text        NOT NULL,
    dr_type              text        NOT NULL DEFAULT '',
    primary_cluster_id   text        NOT NULL DEFAULT '',
    primary_cluster_name text        NOT NULL DEFAULT '',
    standby_cluster_id   text        NOT NULL DEFAULT '',
    standby_cluster_name text        NOT NULL DEFAULT '',
    sync_period          text        NOT NULL DEFAULT '',
    last_sync            text        NOT NULL DEFAULT '',
    create_time          text        NOT NULL DEFAULT '',
    summary              jsonb,
    detail               jsonb,
    list_fetched_at      timestamptz,
    detail_fetched_at    timestamptz,
    refresh_claimed_at   timestamptz,
    managed              boolean     NOT NULL DEFAULT false,
    created_by           bigint      REFERENCES users (id),
    first_seen_at        timestamptz NOT NULL,
    gone_at              timestamptz
);
CREATE INDEX dr_tasks_name_idx ON dr_tasks (lower(name));

-- When the portal last read a whole listing from the cloud, and the last error.
CREATE TABLE cloud_syncs (
    name            text PRIMARY KEY,
    last_success_at timestamptz,
    last_error      text NOT NULL DEFAULT '',
    last_error_at   timestamptz
);

-- The audit history: append-only and hash-chained. id is the chain position
-- (1, 2, 3, ... with no gaps), assigned under a transaction-scoped advisory
-- lock so that appends are serialised and the chain never forks.
CREATE TABLE audit_events (
    id             bigint      PRIMARY KEY CHECK (id > 0),
    occurred_at    timestamptz NOT NULL,
    actor_id       bigint,
    actor_name     text        NOT NULL,
    action         text        NOT NULL,
    subject_type   text        NOT NULL DEFAULT '',
    subject_id     text        NOT NULL DEFAULT '',
    request_id     bigint,
    correlation_id text        NOT NULL DEFAULT '',
    outcome        text        NOT NULL CHECK (outcome IN ('success', 'failure', 'denied', 'error', 'info')),
    -- Canonical JSON text, hashed byte for byte (jsonb would re-encode it).
    detail         text        NOT NULL DEFAULT '{}',
    prev_hash      bytea       NOT NULL CHECK (length(prev_hash) = 32),
    hash           bytea       NOT NULL CHECK (length(hash) = 32)
);
CREATE INDEX audit_events_subject_idx ON audit_events (subject_type, subject_id, id);
CREATE INDEX audit_events_action_idx ON audit_events (action, id);
CREATE INDEX audit_events_actor_idx ON audit_events (actor_id, id);
CREATE INDEX audit_events_correlation_idx ON audit_events (correlation_id) WHERE correlation_id <> '';

-- +goose StatementBegin
CREATE FUNCTION audit_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_events_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate
    BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

-- +goose Down
DROP TABLE audit_events;
DROP FUNCTION audit_events_append_only();
DROP TABLE cloud_syncs;
DROP TABLE dr_tasks;
DROP TABLE sessions;
DROP TABLE user_roles;
DROP TABLE users;
