-- +goose Up

-- Denied actions counted per actor, route, reason and minute. The first
-- denial of a kind in a minute is audited at once (access.denied); the rest
-- only add to count here, so a flood of refusals costs one small row, not
-- one audit event each. Once the minute has closed, a summary event
-- (access.denied.repeated) records the count and the row is deleted, in one
-- transaction: the audit history holds the totals and this table stays
-- small. The audit chain itself is append-only, so the counting cannot
-- happen there.
CREATE TABLE denied_actions (
    actor_key      text        NOT NULL CHECK (length(actor_key) <= 100), -- 'user:<id>', or 'ip:<address>' when not signed in
    method         text        NOT NULL CHECK (length(method) <= 32),
    route          text        NOT NULL CHECK (length(route) <= 200),    -- the route's pattern, never the URL as sent
    reason         text        NOT NULL CHECK (length(reason) <= 32),
    minute         timestamptz NOT NULL,
    actor_id       bigint,
    actor_name     text        NOT NULL,
    ip             text        NOT NULL CHECK (length(ip) <= 64),
    route_id       text        NOT NULL DEFAULT '' CHECK (length(route_id) <= 64), -- the first denial's :id
    correlation_id text        NOT NULL DEFAULT '',                    -- the first denial's request id
    count          bigint      NOT NULL DEFAULT 1 CHECK (count > 0),
    first_seen     timestamptz NOT NULL,
    last_seen      timestamptz NOT NULL,
    PRIMARY KEY (actor_key, method, route, reason, minute)
);
CREATE INDEX denied_actions_minute_idx ON denied_actions (minute);

-- +goose Down
DROP TABLE denied_actions;
