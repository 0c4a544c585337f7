package db

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"drportal/internal/apperr"
)

// PasswordHash returns a user's password hash ("" for an account without
// a password), for checking their current password only.
func (s *Store) PasswordHash(ctx context.Context, userID int64) (string, error) {
	var hash string
	err := s.pool.QueryRow(ctx, `SELECT COALESCE(password_hash, '') FROM users WHERE id = $1`, userID).Scan(&hash)
	if err != nil {
		return "", notFound(err, "There is no such user.")
	}
	return hash, nil
}

// ChangePassword replaces a user's password hash, provided it is still
// oldHash (the one their current password was checked against), and clears
// must_change_password. A password changed meanwhile is a Conflict.
func (t *Tx) ChangePassword(ctx context.Context, userID int64, oldHash, newHash string, now time.Time) error {
	tag, err := t.tx.Exec(ctx, `UPDATE users SET password_hash = $3, must_change_password = false,
			password_changed_at = $4, updated_at = $4
		WHERE id = $1 AND COALESCE(password_hash, '') = $2`, userID, oldHash, newHash, now)
	if err != nil {
		return fmt.Errorf("change password of user %d: %w", userID, err)
	}
	if tag.RowsAffected() != 1 {
		return apperr.New(apperr.Conflict, "Your password was changed in the meantime. Nothing was changed; sign in again.")
	}
	return nil
}

// ResetPassword sets a user's password hash to that of a temporary password
// and requires them to choose a new one at their next sign-in.
func (t *Tx) ResetPassword(ctx context.Context, userID int64, newHash string, now time.Time) error {
	tag, err := t.tx.Exec(ctx, `UPDATE users SET password_hash = $2, must_change_password = true,
			password_changed_at = $3, updated_at = $3
		WHERE id = $1`, userID, newHash, now)
	if err != nil {
		return fmt.Errorf("reset password of user %d: %w", userID, err)
	}
	if tag.RowsAffected() != 1 {
		return notFound(pgx.ErrNoRows, "There is no such user.")
	}
	return nil
}

// RequirePasswordChange makes a user choose a new password at their next
// sign-in: their password is one an admin knows.
func (t *Tx) RequirePasswordChange(ctx context.Context, userID int64) error {
	tag, err := t.tx.Exec(ctx, `UPDATE users SET must_change_password = true WHERE id = $1`, userID)
	if err != nil {
		return fmt.Errorf("require a password change of user %d: %w", userID, err)
	}
	if tag.RowsAffected() != 1 {
		return notFound(pgx.ErrNoRows, "There is no such user.")
	}
	return nil
}
