-- +goose Up

-- Change windows: when an operation may run, as weekdays and hours in a
-- named IANA zone. An operation with none may run at any time.
CREATE TABLE change_windows (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    operation    text        NOT NULL CHECK (operation IN
                     ('create', 'start', 'stop', 'update', 'switchover', 'failover', 'recovery', 'delete')),
    days         smallint    NOT NULL CHECK (days BETWEEN 1 AND 127), -- bit d: time.Weekday d (0 Sunday)
    start_minute integer     NOT NULL CHECK (start_minute BETWEEN 0 AND 1439),
    end_minute   integer     NOT NULL CHECK (end_minute BETWEEN 1 AND 1440),
    zone         text        NOT NULL CHECK (zone <> ''),
    created_by   bigint      NOT NULL REFERENCES users (id),
    created_at   timestamptz NOT NULL,
    CHECK (start_minute <> end_minute)
);
CREATE INDEX change_windows_operation ON change_windows (operation);

-- Freezes: spans in which no operation runs, with the reason people read.
CREATE TABLE change_freezes (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    starts_at  timestamptz NOT NULL,
    ends_at    timestamptz NOT NULL,
    reason     text        NOT NULL CHECK (reason <> ''),
    created_by bigint      NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL,
    CHECK (ends_at > starts_at)
);
CREATE INDEX change_freezes_ends_at ON change_freezes (ends_at);

-- What a request for an operation with windows does outside them: waits
-- (the default, no row) or runs at once with one extra approval.
CREATE TABLE change_window_rules (
    operation  text        PRIMARY KEY CHECK (operation IN
                   ('create', 'start', 'stop', 'update', 'switchover', 'failover', 'recovery', 'delete')),
    outside    text        NOT NULL CHECK (outside IN ('wait', 'extra_approval')),
    updated_by bigint      NOT NULL REFERENCES users (id),
    updated_at timestamptz NOT NULL
);

-- Loosening the windows (lifting a freeze, removing a window, the lenient
-- rule) waits for a second admin as an admin change of its own kind. Several
-- such changes may wait at once: lifting one freeze does not replace the
-- proposal to lift another.
ALTER TABLE admin_changes DROP CONSTRAINT admin_changes_kind_check;
ALTER TABLE admin_changes ADD CONSTRAINT admin_changes_kind_check CHECK (kind IN ('roles', 'policy', 'windows'));
DROP INDEX admin_changes_one_pending;
CREATE UNIQUE INDEX admin_changes_one_pending ON admin_changes (kind, COALESCE(user_id, 0))
    WHERE status = 'pending' AND kind <> 'windows';

-- +goose Down
DELETE FROM admin_changes WHERE kind = 'windows';
DROP INDEX admin_changes_one_pending;
CREATE UNIQUE INDEX admin_changes_one_pending ON admin_changes (kind, COALESCE(user_id, 0)) WHERE status = 'pending';
ALTER TABLE admin_changes DROP CONSTRAINT admin_changes_kind_check;
ALTER TABLE admin_changes ADD CONSTRAINT admin_changes_kind_check CHECK (kind IN ('roles', 'policy'));
DROP TABLE change_window_rules;
DROP TABLE change_freezes;
DROP TABLE change_windows;
