package db

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ClaimExport counts an export by user at now against their limit of
// burst exports in a row, then one every interval, in one statement
// whichever replica asks. It returns whether the export may go ahead and,
// when it may not, from when the next one may; a refused claim changes
// nothing.
func (s *Store) ClaimExport(ctx context.Context, userID int64, now time.Time, interval time.Duration, burst int) (bool, time.Time, error) {
	now = now.Truncate(time.Microsecond) // what PostgreSQL keeps
	step, slack := interval.Microseconds(), int64(max(burst-1, 0))*interval.Microseconds()
	var busy time.Time
	err := s.pool.QueryRow(ctx, `INSERT INTO export_throttles AS t (user_id, busy_until)
		VALUES ($1, $2::timestamptz + $3 * interval '1 microsecond')
		ON CONFLICT (user_id) DO UPDATE SET busy_until = greatest(t.busy_until, $2::timestamptz) + $3 * interval '1 microsecond'
			WHERE t.busy_until <= $2::timestamptz + $4 * interval '1 microsecond'
		RETURNING busy_until`, userID, now, step, slack).Scan(&busy)
	switch {
	case err == nil:
		return true, time.Time{}, nil
	case !errors.Is(err, pgx.ErrNoRows):
		return false, time.Time{}, fmt.Errorf("claim an export of user %d: %w", userID, err)
	}
	if err := s.pool.QueryRow(ctx, `SELECT busy_until FROM export_throttles WHERE user_id = $1`, userID).Scan(&busy); err != nil {
		return false, time.Time{}, fmt.Errorf("read the export throttle of user %d: %w", userID, err)
	}
	return false, busy.Add(-time.Duration(slack) * time.Microsecond), nil
}
