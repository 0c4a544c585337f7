-- +goose Up

-- Keys the portal signs its own short-lived values with (the page note a
-- redirect leaves for the next page), shared by every replica. Each is made
-- once, at the first start that needs it, from the server's random source.
CREATE TABLE portal_keys (
    name       text        PRIMARY KEY,
    key        bytea       NOT NULL CHECK (length(key) = 32),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE portal_keys;
