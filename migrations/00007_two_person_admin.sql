-- +goose Up

-- When each role was granted: an approver counts only on requests filed
-- after they became one, so nobody can make a new approver for a request
-- that is already waiting. Existing grants date from the account's creation,
-- the earliest they can have been made.
ALTER TABLE user_roles ADD COLUMN granted_at timestamptz;
UPDATE user_roles r SET granted_at = u.created_at FROM users u WHERE u.id = r.user_id;
ALTER TABLE user_roles ALTER COLUMN granted_at SET NOT NULL, ALTER COLUMN granted_at SET DEFAULT now();

-- A change to who may do what, or to the approval policy, proposed by one
-- admin and applied only when another approves it. At most one change waits
-- per account (roles) and one for the policy: a new proposal supersedes it.
CREATE TABLE admin_changes (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        text        NOT NULL CHECK (kind IN ('roles', 'policy')),
    user_id     bigint      REFERENCES users (id),
    change      jsonb       NOT NULL,
    status      text        NOT NULL DEFAULT 'pending'
                            CHECK (status IN ('pending', 'applied', 'rejected', 'withdrawn', 'superseded')),
    proposed_by bigint      NOT NULL REFERENCES users (id),
    proposed_at timestamptz NOT NULL,
    decided_by  bigint      REFERENCES users (id),
    decided_at  timestamptz,
    comment     text        NOT NULL DEFAULT '',
    CONSTRAINT admin_changes_subject CHECK ((kind = 'roles') = (user_id IS NOT NULL)),
    CONSTRAINT admin_changes_decided CHECK ((status = 'pending') = (decided_at IS NULL))
);
CREATE UNIQUE INDEX admin_changes_one_pending ON admin_changes (kind, COALESCE(user_id, 0)) WHERE status = 'pending';

-- Who approved a policy version (NULL for the initial one and the floor below).
ALTER TABLE approval_policies ADD COLUMN approved_by bigint REFERENCES users (id);

-- Switchover, failover, recovery and delete need at least one approval
-- whatever the policy says: a current policy below that floor is raised in a
-- new version.
INSERT INTO approval_policies (version, approvals, pending_ttl_seconds, approval_ttl_seconds, created_at)
SELECT p.version + 1,
       p.approvals || (SELECT jsonb_object_agg(op, 1)
                         FROM unnest(ARRAY['switchover', 'failover', 'recovery', 'delete']) AS op
                        WHERE COALESCE((p.approvals ->> op)::int, 0) < 1),
       p.pending_ttl_seconds, p.approval_ttl_seconds, now()
  FROM approval_policies p
 WHERE p.version = (SELECT max(version) FROM approval_policies)
   AND EXISTS (SELECT 1 FROM unnest(ARRAY['switchover', 'failover', 'recovery', 'delete']) AS op
                WHERE COALESCE((p.approvals ->> op)::int, 0) < 1);

-- +goose Down
ALTER TABLE approval_policies DROP COLUMN approved_by;
DROP TABLE admin_changes;
ALTER TABLE user_roles DROP COLUMN granted_at;
