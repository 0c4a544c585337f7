-- +goose Up

-- Whether the install has ever had two active admins. Until it has, a sole
-- admin's role grants take effect at once (it is how the second admin comes
-- to be); from then on every grant waits for a second admin, even when one
-- admin has since removed the others, so no admin can make themselves the
-- only one and then grant alone. An install left with one admin adds the
-- next with the server's command line (web grant-admin).
CREATE TABLE governance (
    singleton        boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    two_admins_since timestamptz
);
-- Accounts holding the admin role count whether active or not: one
-- deactivated a moment ago can be reactivated.
INSERT INTO governance (two_admins_since)
SELECT CASE WHEN count(*) >= 2 THEN now() END
  FROM user_roles r
 WHERE r.role = 'admin';

-- +goose Down
DROP TABLE governance;
