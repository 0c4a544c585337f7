package db

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// AllAddresses is the address of an account's throttle across every
// client address.
const AllAddresses = "*"

// SignInThrottle is what failed sign-ins left for an account from one
// address, or from all of them (AllAddresses).
type SignInThrottle struct {
	Account        string    `db:"account"`
	Address        string    `db:"address"`
	Failures       int       `db:"failures"`
	LastFailureAt  time.Time `db:"last_failure_at"`
	NextAllowedAt  time.Time `db:"next_allowed_at"`
	RefusalAudited bool      `db:"refusal_audited"`
}

const throttleColumns = `account, address, failures, last_failure_at, next_allowed_at, refusal_audited`

func findThrottles(ctx context.Context, q querier, sql string, args ...any) ([]SignInThrottle, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByName[SignInThrottle])
}

// SignInThrottles returns an account's throttles for one address and
// across all addresses, those that exist.
func (s *Store) SignInThrottles(ctx context.Context, account, address string) ([]SignInThrottle, error) {
	out, err := findThrottles(ctx, s.pool, `SELECT `+throttleColumns+` FROM sign_in_throttles
		WHERE account = $1 AND address IN ($2, '*')`, account, address)
	if err != nil {
		return nil, fmt.Errorf("read sign-in throttles: %w", err)
	}
	return out, nil
}

// signInThrottleLock is the class of the per-account advisory locks taken
// while an attempt is counted.
const signInThrottleLock = 0x7369676e // "sign"

// LockSignInThrottles makes the transaction the only one counting attempts
// on account until it ends, and returns the account's throttles for the
// address and across all addresses.
func (t *Tx) LockSignInThrottles(ctx context.Context, account, address string) ([]SignInThrottle, error) {
	if _, err := t.tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, int32(signInThrottleLock), account); err != nil {
		return nil, fmt.Errorf("lock sign-in throttles: %w", err)
	}
	out, err := findThrottles(ctx, t.tx, `SELECT `+throttleColumns+` FROM sign_in_throttles
		WHERE account = $1 AND address IN ($2, '*')`, account, address)
	if err != nil {
		return nil, fmt.Errorf("read sign-in throttles: %w", err)
	}
	return out, nil
}

// SaveSignInThrottle writes a throttle.
func (t *Tx) SaveSignInThrottle(ctx context.Context, r SignInThrottle) error {
	_, err := t.tx.Exec(ctx, `
		INSERT INTO sign_in_throttles (`+throttleColumns+`) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (account, address) DO UPDATE SET failures = EXCLUDED.failures,
			last_failure_at = EXCLUDED.last_failure_at, next_allowed_at = EXCLUDED.next_allowed_at,
			refusal_audited = EXCLUDED.refusal_audited`,
		r.Account, truncate(r.Address, 100), r.Failures, r.LastFailureAt, r.NextAllowedAt, r.RefusalAudited)
	if err != nil {
		return fmt.Errorf("save sign-in throttle: %w", err)
	}
	return nil
}

// ResetSignInThrottles removes an account's throttles for an address and
// across all addresses (after a sign-in with the right password).
func (t *Tx) ResetSignInThrottles(ctx context.Context, account, address string) error {
	_, err := t.tx.Exec(ctx, `DELETE FROM sign_in_throttles WHERE account = $1 AND address IN ($2, '*')`, account, address)
	if err != nil {
		return fmt.Errorf("reset sign-in throttles: %w", err)
	}
	return nil
}

// MarkThrottleRefusalAudited records that a refusal during the throttle's
// current wait (the one ending at nextAllowed) is audited. It reports false
// when one already was, or the wait has changed since it was read.
func (t *Tx) MarkThrottleRefusalAudited(ctx context.Context, account, address string, nextAllowed time.Time) (bool, error) {
	tag, err := t.tx.Exec(ctx, `UPDATE sign_in_throttles SET refusal_audited = true
		WHERE account = $1 AND address = $2 AND next_allowed_at = $3 AND NOT refusal_audited`, account, address, nextAllowed)
	if err != nil {
		return false, fmt.Errorf("mark throttle refusal: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// ClearSignInThrottle removes one throttle and returns what it held; none
// is NotFound.
func (t *Tx) ClearSignInThrottle(ctx context.Context, account, address string) (SignInThrottle, error) {
	rows, err := t.tx.Query(ctx, `DELETE FROM sign_in_throttles WHERE account = $1 AND address = $2
		RETURNING `+throttleColumns, account, address)
	if err != nil {
		return SignInThrottle{}, fmt.Errorf("clear sign-in throttle: %w", err)
	}
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[SignInThrottle])
	if err != nil {
		return SignInThrottle{}, notFound(err, "There is no such sign-in throttle.")
	}
	return r, nil
}

// ListSignInThrottles returns up to limit throttles whose last failure is
// after since: the ones still making someone wait first, then the latest.
func (s *Store) ListSignInThrottles(ctx context.Context, now, since time.Time, limit int) ([]SignInThrottle, error) {
	out, err := findThrottles(ctx, s.pool, `SELECT `+throttleColumns+` FROM sign_in_throttles
		WHERE last_failure_at > $2
		ORDER BY next_allowed_at > $1 DESC, last_failure_at DESC, account, address LIMIT $3`, now, since, limit)
	if err != nil {
		return nil, fmt.Errorf("list sign-in throttles: %w", err)
	}
	return out, nil
}

// DeleteForgottenSignInThrottles removes throttles whose last failure is
// before a time: they no longer count.
func (s *Store) DeleteForgottenSignInThrottles(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM sign_in_throttles WHERE last_failure_at <= $1`, before)
	if err != nil {
		return 0, fmt.Errorf("prune sign-in throttles: %w", err)
	}
	return tag.RowsAffected(), nil
}
