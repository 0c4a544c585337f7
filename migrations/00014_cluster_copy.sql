-- +goose Up

-- The portal's copy of the cloud's cluster list, as the background sync
-- last read it (cloud_syncs 'cluster_list' says when, and the last error).
-- The create form reads it: a page view never asks the cloud.
CREATE TABLE cloud_clusters (
    id          text PRIMARY KEY,
    position    integer NOT NULL, -- the list's order
    name        text NOT NULL,
    status      text NOT NULL DEFAULT '',
    sub_status  text NOT NULL DEFAULT '',
    version     text NOT NULL DEFAULT '',
    az          text NOT NULL DEFAULT '',
    vpc_id      text NOT NULL DEFAULT '',
    task_status text NOT NULL DEFAULT '',
    nodes       integer NOT NULL DEFAULT 0
);

-- The standbys the cloud lists as eligible for each usable primary, in
-- every other availability zone, as last read (fetched_at), or the cloud's
-- refusal of the primary (refusal, in words, and its code and request id).
-- A read that failed keeps the last answer and says why (read_error).
-- next_read_at is when the sync reads it again: a few minutes on, or at
-- once after the cluster list changed.
CREATE TABLE cloud_standby_candidates (
    primary_id     text PRIMARY KEY,
    standbys       jsonb NOT NULL DEFAULT '[]',
    refusal        text NOT NULL DEFAULT '',
    refusal_detail text NOT NULL DEFAULT '',
    fetched_at     timestamptz,
    read_error     text NOT NULL DEFAULT '',
    read_error_at  timestamptz,
    next_read_at   timestamptz NOT NULL
);

-- When a person last asked for a read now: the claim that limits the rate
-- of "Read the clusters from the cloud now", whoever asks, on every replica.
ALTER TABLE cloud_syncs ADD COLUMN requested_at timestamptz;

-- +goose Down
ALTER TABLE cloud_syncs DROP COLUMN requested_at;
DROP TABLE cloud_standby_candidates;
DROP TABLE cloud_clusters;
