package db

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// SessionInfo is one of a user's sessions as its owner sees it: never the
// token hash.
type SessionInfo struct {
	ID         int64     `db:"id"`
	CreatedAt  time.Time `db:"created_at"`
	LastSeenAt time.Time `db:"last_seen_at"`
	ExpiresAt  time.Time `db:"expires_at"`
	IP         string    `db:"ip"`
	UserAgent  string    `db:"user_agent"`
}

const sessionInfoColumns = `id, created_at, last_seen_at, expires_at, ip, user_agent`

// SessionsOf returns a user's live sessions at now (not past their expiry,
// used since idleSince), the most recently used first.
func (s *Store) SessionsOf(ctx context.Context, userID int64, now, idleSince time.Time) ([]SessionInfo, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+sessionInfoColumns+` FROM sessions
		WHERE user_id = $1 AND expires_at > $2 AND last_seen_at > $3
		ORDER BY last_seen_at DESC, id DESC`, userID, now, idleSince)
	if err != nil {
		return nil, fmt.Errorf("list sessions of user %d: %w", userID, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByName[SessionInfo])
	if err != nil {
		return nil, fmt.Errorf("list sessions of user %d: %w", userID, err)
	}
	return out, nil
}

// EndSessionOf removes session id if it belongs to the user and is not the
// one with token hash keep, and returns what it was. Any other id, the
// session of someone else included, is NotFound.
func (t *Tx) EndSessionOf(ctx context.Context, userID, id int64, keep []byte) (SessionInfo, error) {
	rows, err := t.tx.Query(ctx, `DELETE FROM sessions WHERE id = $1 AND user_id = $2 AND token_hash <> $3
		RETURNING `+sessionInfoColumns, id, userID, keep)
	if err != nil {
		return SessionInfo{}, fmt.Errorf("end session %d: %w", id, err)
	}
	info, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[SessionInfo])
	if err != nil {
		return SessionInfo{}, notFound(err, "You have no such session. It may have ended already.")
	}
	return info, nil
}

// EndSessionsOf removes every session of a user except the one with token
// hash keep (nil: all of them), and returns how many it removed.
func (t *Tx) EndSessionsOf(ctx context.Context, userID int64, keep []byte) (int64, error) {
	tag, err := t.tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1 AND ($2::bytea IS NULL OR token_hash <> $2)`, userID, keep)
	if err != nil {
		return 0, fmt.Errorf("end sessions of user %d: %w", userID, err)
	}
	return tag.RowsAffected(), nil
}

// RotateSession gives a session a new token hash, keeping the rest of it.
// A session that has ended meanwhile is NotFound.
func (t *Tx) RotateSession(ctx context.Context, oldHash, newHash []byte) error {
	tag, err := t.tx.Exec(ctx, `UPDATE sessions SET token_hash = $2 WHERE token_hash = $1`, oldHash, newHash)
	if err != nil {
		return fmt.Errorf("rotate session: %w", err)
	}
	if tag.RowsAffected() != 1 {
		return notFound(pgx.ErrNoRows, "no such session")
	}
	return nil
}
