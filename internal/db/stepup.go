package db

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ConfirmSessionPassword records that the person of the session with token
// hash tokenHash entered their password at at (a step-up). A confirmation
// never moves back in time. A session that has ended meanwhile is NotFound.
func (t *Tx) ConfirmSessionPassword(ctx context.Context, tokenHash []byte, at time.Time) error {
	tag, err := t.tx.Exec(ctx, `UPDATE sessions SET password_confirmed_at = greatest(password_confirmed_at, $2)
		WHERE token_hash = $1`, tokenHash, at)
	if err != nil {
		return fmt.Errorf("confirm the session's password: %w", err)
	}
	if tag.RowsAffected() != 1 {
		return notFound(pgx.ErrNoRows, "no such session")
	}
	return nil
}
