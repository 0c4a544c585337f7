-- +goose Up

-- Approval policy, versioned: a change is a new row, and every request and
-- approval records the version it was filed or decided under.
CREATE TABLE approval_policies (
    version              integer     PRIMARY KEY CHECK (version > 0),
    approvals            jsonb       NOT NULL,
    pending_ttl_seconds  integer     NOT NULL CHECK (pending_ttl_seconds > 0),
    approval_ttl_seconds integer     NOT NULL CHECK (approval_ttl_seconds > 0),
    created_by           bigint      REFERENCES users (id),
    created_at           timestamptz NOT NULL DEFAULT now()
);
INSERT INTO approval_policies (version, approvals, pending_ttl_seconds, approval_ttl_seconds)
VALUES (1, '{"create":1,"start":1,"stop":1,"update":1,"switchover":2,"failover":2,"recovery":2,"delete":2}',
        7 * 24 * 3600, 24 * 3600);

-- A request to change something in the cloud. Its payload never changes
-- after filing; a change is a new request.
CREATE TABLE requests (
    id                  bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    operation           text        NOT NULL CHECK (operation IN
                            ('create', 'start', 'stop', 'update', 'switchover', 'failover', 'recovery', 'delete')),
    dr_task_id          text,
    task_name           text        NOT NULL,
    -- What at most one approved or executing request may hold at a time:
    -- 'task:<id>', or 'create:<lower-case name>' for a task not created yet.
    target_key          text        NOT NULL,
    method              text        NOT NULL,
    path                text        NOT NULL,
    payload             text        NOT NULL,
    payload_sha256      bytea       NOT NULL CHECK (length(payload_sha256) = 32),
    requester_id        bigint      NOT NULL REFERENCES users (id),
    justification       text        NOT NULL CHECK (btrim(justification) <> ''),
    status              text        NOT NULL CHECK (status IN
                            ('pending', 'approved', 'executing', 'succeeded', 'failed', 'rejected', 'cancelled', 'expired')),
    required_approvals  integer     NOT NULL CHECK (required_approvals >= 0),
    policy_version      integer     NOT NULL REFERENCES approval_policies (version),
    created_at          timestamptz NOT NULL,
    expires_at          timestamptz NOT NULL,
    approved_at         timestamptz,
    approval_expires_at timestamptz,
    started_at          timestamptz,
    finished_at         timestamptz,
    -- The executor's progress: 'intent' means a call may have reached the
    -- cloud without its answer being recorded.
    call_state          text        NOT NULL DEFAULT 'none' CHECK (call_state IN ('none', 'intent', 'accepted')),
    call_attempts       integer     NOT NULL DEFAULT 0,
    follow_deadline     timestamptz,
    last_seen_status    text        NOT NULL DEFAULT '',
    outcome             text        NOT NULL DEFAULT '',
    error_code          text        NOT NULL DEFAULT '',
    error_msg           text        NOT NULL DEFAULT '',
    error_request_id    text        NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX requests_one_active_per_target ON requests (target_key)
    WHERE status IN ('approved', 'executing');
CREATE INDEX requests_status_idx ON requests (status, id);
CREATE INDEX requests_requester_idx ON requests (requester_id, id);
CREATE INDEX requests_pending_expiry_idx ON requests (expires_at) WHERE status = 'pending';
CREATE INDEX requests_task_idx ON requests (dr_task_id, id) WHERE dr_task_id IS NOT NULL;

CREATE TABLE approvals (
    request_id     bigint      NOT NULL REFERENCES requests (id),
    approver_id    bigint      NOT NULL REFERENCES users (id),
    decision       text        NOT NULL CHECK (decision IN ('approve', 'reject')),
    comment        text        NOT NULL DEFAULT '',
    payload_sha256 bytea       NOT NULL CHECK (length(payload_sha256) = 32),
    policy_version integer     NOT NULL REFERENCES approval_policies (version),
    decided_at     timestamptz NOT NULL,
    PRIMARY KEY (request_id, approver_id)
);

CREATE INDEX audit_events_request_idx ON audit_events (request_id, id) WHERE request_id IS NOT NULL;

-- +goose Down
DROP INDEX audit_events_request_idx;
DROP TABLE approvals;
DROP TABLE requests;
DROP TABLE approval_policies;
