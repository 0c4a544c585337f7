-- +goose Up

-- Break-glass: a responder runs one operation the break-glass policy allows
-- without the quorum, during an incident; two approvers review it after.

-- The responder role.
ALTER TABLE user_roles DROP CONSTRAINT user_roles_role_check,
    ADD CONSTRAINT user_roles_role_check CHECK (role IN ('requester', 'approver', 'auditor', 'admin', 'responder'));

-- An audit event may say that it bypassed the approval policy.
ALTER TABLE audit_events DROP CONSTRAINT audit_events_outcome_check,
    ADD CONSTRAINT audit_events_outcome_check CHECK (outcome IN ('success', 'failure', 'denied', 'error', 'info', 'bypassed'));

-- A break-glass policy that makes the portal less strict waits for a second
-- admin as an admin change of its own kind. The kinds other migrations
-- allow are kept: the constraint is rebuilt from its current list.
-- +goose StatementBegin
DO $$
DECLARE
    kinds text[];
BEGIN
    SELECT array_agg(DISTINCT m[1] ORDER BY m[1]) INTO kinds
      FROM pg_constraint c, regexp_matches(pg_get_constraintdef(c.oid), '''([a-z_]+)''', 'g') AS m
     WHERE c.conrelid = 'admin_changes'::regclass AND c.conname = 'admin_changes_kind_check';
    EXECUTE format('ALTER TABLE admin_changes DROP CONSTRAINT admin_changes_kind_check, '
        'ADD CONSTRAINT admin_changes_kind_check CHECK (kind = ANY (%L::text[]))',
        array_append(array_remove(kinds, 'break_glass'), 'break_glass'));
END $$;
-- +goose StatementEnd

-- The break-glass settings, versioned like the approval policy: the
-- current one is the highest version. It starts off.
CREATE TABLE break_glass_policies (
    version     integer     PRIMARY KEY CHECK (version > 0),
    enabled     boolean     NOT NULL,
    operations  text[]      NOT NULL CHECK (operations <@ ARRAY['failover', 'switchover', 'recovery', 'start']),
    review_days integer     NOT NULL CHECK (review_days BETWEEN 1 AND 30),
    created_by  bigint      REFERENCES users (id),
    approved_by bigint      REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT break_glass_policies_some CHECK (NOT enabled OR cardinality(operations) > 0)
);
INSERT INTO break_glass_policies (version, enabled, operations, review_days) VALUES (1, false, ARRAY['failover'], 3);

-- An emergency request: the request a responder filed by breaking glass,
-- its incident, and its review's state (reviewed_at is set by the second
-- review).
CREATE TABLE break_glass (
    request_id    bigint      PRIMARY KEY REFERENCES requests (id),
    responder_id  bigint      NOT NULL REFERENCES users (id),
    incident      text        NOT NULL CHECK (incident <> '' AND length(incident) <= 40),
    reason        text        NOT NULL CHECK (btrim(reason) <> ''),
    created_at    timestamptz NOT NULL,
    review_due_at timestamptz NOT NULL,
    reviewed_at   timestamptz
);
CREATE INDEX break_glass_open_idx ON break_glass (responder_id) WHERE reviewed_at IS NULL;

-- The post-incident reviews: one per approver and emergency.
CREATE TABLE break_glass_reviews (
    request_id  bigint      NOT NULL REFERENCES break_glass (request_id),
    reviewer_id bigint      NOT NULL REFERENCES users (id),
    verdict     text        NOT NULL CHECK (verdict IN ('acknowledge', 'flag')),
    comment     text        NOT NULL CHECK (btrim(comment) <> ''),
    reviewed_at timestamptz NOT NULL,
    PRIMARY KEY (request_id, reviewer_id)
);

-- +goose Down
DROP TABLE break_glass_reviews;
DROP TABLE break_glass;
DROP TABLE break_glass_policies;
DELETE FROM admin_changes WHERE kind = 'break_glass';
-- +goose StatementBegin
DO $$
DECLARE
    kinds text[];
BEGIN
    SELECT array_agg(DISTINCT m[1] ORDER BY m[1]) INTO kinds
      FROM pg_constraint c, regexp_matches(pg_get_constraintdef(c.oid), '''([a-z_]+)''', 'g') AS m
     WHERE c.conrelid = 'admin_changes'::regclass AND c.conname = 'admin_changes_kind_check';
    EXECUTE format('ALTER TABLE admin_changes DROP CONSTRAINT admin_changes_kind_check, '
        'ADD CONSTRAINT admin_changes_kind_check CHECK (kind = ANY (%L::text[]))', array_remove(kinds, 'break_glass'));
END $$;
-- +goose StatementEnd
-- The audit history is append-only: events that bypassed the policy stay,
-- so the older rule holds for new events only.
ALTER TABLE audit_events DROP CONSTRAINT audit_events_outcome_check,
    ADD CONSTRAINT audit_events_outcome_check CHECK (outcome IN ('success', 'failure', 'denied', 'error', 'info')) NOT VALID;
DELETE FROM user_roles WHERE role = 'responder';
ALTER TABLE user_roles DROP CONSTRAINT user_roles_role_check,
    ADD CONSTRAINT user_roles_role_check CHECK (role IN ('requester', 'approver', 'auditor', 'admin'));
