-- +goose Up

-- Failed sign-ins slow further attempts instead of locking an account: per
-- account (the e-mail as typed, or a placeholder for input that is not an
-- e-mail address) and client address, and across all addresses (address
-- '*'). Each row holds the failures counted, when the next attempt may be
-- checked, and whether a refusal in the current wait was already audited.
-- Only attempts whose password was checked count; refused ones change
-- nothing here, so a flood cannot extend a wait. A successful sign-in
-- removes the account's rows for its address and across addresses.
CREATE TABLE sign_in_throttles (
    account         text        NOT NULL CHECK (length(account) BETWEEN 1 AND 254),
    address         text        NOT NULL CHECK (length(address) <= 100),
    failures        integer     NOT NULL CHECK (failures > 0),
    last_failure_at timestamptz NOT NULL,
    next_allowed_at timestamptz NOT NULL,
    refusal_audited boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (account, address)
);
-- The admin page lists the rows that still hold failures; old ones are pruned.
CREATE INDEX sign_in_throttles_last_failure_idx ON sign_in_throttles (last_failure_at);

-- +goose Down
DROP TABLE sign_in_throttles;
