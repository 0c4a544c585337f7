package db

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"drportal/internal/apperr"
	"drportal/internal/portal"
)

type windowRow struct {
	ID          int64  `db:"id"`
	Operation   string `db:"operation"`
	Days        int16  `db:"days"`
	StartMinute int32  `db:"start_minute"`
	EndMinute   int32  `db:"end_minute"`
	Zone        string `db:"zone"`
}

func (r windowRow) window() portal.Window {
	return portal.Window{ID: r.ID, Operation: portal.Operation(r.Operation), Days: portal.Weekdays(r.Days),
		Start: int(r.StartMinute), End: int(r.EndMinute), Zone: r.Zone}
}

type freezeRow struct {
	ID       int64     `db:"id"`
	StartsAt time.Time `db:"starts_at"`
	EndsAt   time.Time `db:"ends_at"`
	Reason   string    `db:"reason"`
}

func (r freezeRow) freeze() portal.Freeze {
	return portal.Freeze{ID: r.ID, Start: r.StartsAt, End: r.EndsAt, Reason: r.Reason}
}

// Schedule reads the windows, the freezes that have not ended by now, and
// the outside rules.
func (s *Store) Schedule(ctx context.Context, now time.Time) (portal.Schedule, error) {
	return readSchedule(ctx, s.pool, now)
}

// Schedule reads the schedule inside the transaction.
func (t *Tx) Schedule(ctx context.Context, now time.Time) (portal.Schedule, error) {
	return readSchedule(ctx, t.tx, now)
}

// batcher sends a batch: the pool, or a transaction.
type batcher interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

func readSchedule(ctx context.Context, q batcher, now time.Time) (portal.Schedule, error) {
	b := &pgx.Batch{}
	var out portal.Schedule
	queueSchedule(b, now, &out)
	if err := q.SendBatch(ctx, b).Close(); err != nil {
		return portal.Schedule{}, err
	}
	return out, nil
}

// queueSchedule queues the reads of the schedule in force at now (the
// windows, the freezes not over, the rules outside the windows) into b,
// filling out as the batch is read.
func queueSchedule(b *pgx.Batch, now time.Time, out *portal.Schedule) {
	out.Rules = map[portal.Operation]portal.OutsideRule{}
	b.Queue(`SELECT id, operation, days, start_minute, end_minute, zone FROM change_windows ORDER BY operation, id`).Query(func(rows pgx.Rows) error {
		ws, err := pgx.CollectRows(rows, pgx.RowToStructByName[windowRow])
		if err != nil {
			return fmt.Errorf("read change windows: %w", err)
		}
		for _, w := range ws {
			out.Windows = append(out.Windows, w.window())
		}
		return nil
	})
	b.Queue(`SELECT id, starts_at, ends_at, reason FROM change_freezes WHERE ends_at > $1 ORDER BY starts_at, id`, now).Query(func(rows pgx.Rows) error {
		fs, err := pgx.CollectRows(rows, pgx.RowToStructByName[freezeRow])
		if err != nil {
			return fmt.Errorf("read freezes: %w", err)
		}
		for _, f := range fs {
			out.Freezes = append(out.Freezes, f.freeze())
		}
		return nil
	})
	b.Queue(`SELECT operation, outside FROM change_window_rules`).Query(func(rows pgx.Rows) error {
		var op, rule string
		_, err := pgx.ForEachRow(rows, []any{&op, &rule}, func() error {
			out.Rules[portal.Operation(op)] = portal.OutsideRule(rule)
			return nil
		})
		if err != nil {
			return fmt.Errorf("read outside rules: %w", err)
		}
		return nil
	})
}

// LockSchedule makes the transaction the only one changing the windows
// until it ends, so whether a change loosens them is judged on what is.
func (t *Tx) LockSchedule(ctx context.Context) error {
	if _, err := t.tx.Exec(ctx, `LOCK TABLE change_windows, change_freezes, change_window_rules IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		return fmt.Errorf("lock the change windows: %w", err)
	}
	return nil
}

// Window returns one window.
func (t *Tx) Window(ctx context.Context, id int64) (portal.Window, error) {
	rows, err := t.tx.Query(ctx, `SELECT id, operation, days, start_minute, end_minute, zone FROM change_windows WHERE id = $1`, id)
	if err != nil {
		return portal.Window{}, fmt.Errorf("read change window: %w", err)
	}
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[windowRow])
	if err != nil {
		return portal.Window{}, notFound(err, "There is no such window: it may have been removed already.")
	}
	return r.window(), nil
}

// Freeze returns one freeze.
func (t *Tx) Freeze(ctx context.Context, id int64) (portal.Freeze, error) {
	rows, err := t.tx.Query(ctx, `SELECT id, starts_at, ends_at, reason FROM change_freezes WHERE id = $1`, id)
	if err != nil {
		return portal.Freeze{}, fmt.Errorf("read freeze: %w", err)
	}
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[freezeRow])
	if err != nil {
		return portal.Freeze{}, notFound(err, "There is no such freeze: it may have been lifted already.")
	}
	return r.freeze(), nil
}

// InsertWindow stores a window and returns it with its id.
func (t *Tx) InsertWindow(ctx context.Context, w portal.Window, by int64, at time.Time) (portal.Window, error) {
	err := t.tx.QueryRow(ctx, `INSERT INTO change_windows (operation, days, start_minute, end_minute, zone, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, string(w.Operation), int16(w.Days), w.Start, w.End, w.Zone, by, at).Scan(&w.ID)
	if err != nil {
		return w, fmt.Errorf("save change window: %w", err)
	}
	return w, nil
}

// DeleteWindow removes a window; one already gone is a Conflict.
func (t *Tx) DeleteWindow(ctx context.Context, id int64) error {
	tag, err := t.tx.Exec(ctx, `DELETE FROM change_windows WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("remove change window: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return apperr.New(apperr.Conflict, "That window was removed already. Nothing was changed.")
	}
	return nil
}

// InsertFreeze stores a freeze and returns it with its id.
func (t *Tx) InsertFreeze(ctx context.Context, f portal.Freeze, by int64, at time.Time) (portal.Freeze, error) {
	err := t.tx.QueryRow(ctx, `INSERT INTO change_freezes (starts_at, ends_at, reason, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`, f.Start, f.End, f.Reason, by, at).Scan(&f.ID)
	if err != nil {
		return f, fmt.Errorf("save freeze: %w", err)
	}
	return f, nil
}

// DeleteFreeze lifts a freeze; one already gone is a Conflict.
func (t *Tx) DeleteFreeze(ctx context.Context, id int64) error {
	tag, err := t.tx.Exec(ctx, `DELETE FROM change_freezes WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("lift freeze: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return apperr.New(apperr.Conflict, "That freeze was lifted already. Nothing was changed.")
	}
	return nil
}

// SetOutsideRule records op's rule outside its windows.
func (t *Tx) SetOutsideRule(ctx context.Context, op portal.Operation, rule portal.OutsideRule, by int64, at time.Time) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO change_window_rules (operation, outside, updated_by, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (operation) DO UPDATE SET outside = EXCLUDED.outside, updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at`,
		string(op), string(rule), by, at)
	if err != nil {
		return fmt.Errorf("save the outside rule: %w", err)
	}
	return nil
}

// PendingRequestsFor returns the ids of the pending, unexpired requests
// for ops: those the opening of a window may let through
// (requests.Service.ApproveInWindow).
func (s *Store) PendingRequestsFor(ctx context.Context, ops []portal.Operation, now time.Time, limit int) ([]int64, error) {
	names := make([]string, len(ops))
	for i, op := range ops {
		names[i] = string(op)
	}
	rows, err := s.pool.Query(ctx, `SELECT r.id FROM requests r WHERE r.status = 'pending' AND r.expires_at > $2
		AND r.operation = ANY($1)
		ORDER BY r.id LIMIT $3`, names, now, limit)
	if err != nil {
		return nil, fmt.Errorf("pending requests for %v: %w", ops, err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}
