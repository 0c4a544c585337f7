package db

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"drportal/internal/audit"
)

// RecordDenial counts a denied action. The first of its kind (actor,
// method, route, reason) in its minute is audited at once; the others in
// that minute only add to its row's count: one upsert, no audit append, so
// a flood of refusals neither fills the audit table nor queues on the chain
// lock. The first denial of a kind in a later minute also closes that
// kind's earlier minutes (as FlushDenials does), so their summaries come
// before its own event.
func (s *Store) RecordDenial(ctx context.Context, d audit.Denial) error {
	return s.recordCounted(ctx, d, func(d audit.Denial) audit.Event { return d.Event() })
}

// RecordRefusal counts a refused form or action recorded under its own
// event as RecordDenial counts a denial: r.First is appended when it is
// the first of its kind (the person, its action or r.Route, and r.Reason)
// in its minute; the others that minute only add to the count, summarised
// once the minute has closed (audit.ActionRefusedRepeated, or
// audit.ActionAccessDeniedRepeated for a form's route).
func (s *Store) RecordRefusal(ctx context.Context, r audit.Refusal) error {
	return s.recordCounted(ctx, r.Denial(), func(audit.Denial) audit.Event { return r.First })
}

// recordCounted counts d and appends first(d) when d is the first of its
// kind in its minute.
func (s *Store) recordCounted(ctx context.Context, d audit.Denial, first func(audit.Denial) audit.Event) error {
	d = d.Bounded()
	var actorID *int64
	if d.Actor.ID != 0 {
		actorID = &d.Actor.ID
	}
	err := s.InTx(ctx, func(tx *Tx) error {
		var count int64
		err := tx.tx.QueryRow(ctx, `
			INSERT INTO denied_actions (actor_key, method, route, reason, minute, actor_id, actor_name, ip, route_id,
				correlation_id, first_seen, last_seen)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
			ON CONFLICT (actor_key, method, route, reason, minute) DO UPDATE
				SET count = denied_actions.count + 1,
				    last_seen = greatest(denied_actions.last_seen, excluded.last_seen)
			RETURNING count`,
			d.Key(), d.Method, d.Route, d.Reason, d.Minute(), actorID, d.Actor.Name, d.IP, d.ID, d.CorrelationID,
			d.At).Scan(&count)
		if err != nil {
			return err
		}
		if count > 1 {
			return nil
		}
		if _, err := tx.closeDenials(ctx, d.At, d.Minute(), &d); err != nil {
			return err
		}
		_, err = tx.AppendAudit(ctx, first(d))
		return err
	})
	if err != nil {
		return fmt.Errorf("record denied %s %s: %w", d.Method, d.Route, err)
	}
	return nil
}

// FlushDenials closes every minute before now's: each kind of denial that
// happened more than once in such a minute gets its summary event with the
// count, and the rows are deleted, in one transaction. It returns how many
// summaries it appended.
func (s *Store) FlushDenials(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := s.InTx(ctx, func(tx *Tx) error {
		var err error
		n, err = tx.closeDenials(ctx, now, now.UTC().Truncate(time.Minute), nil)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("flush denied actions: %w", err)
	}
	return n, nil
}

type deniedRow struct {
	ActorKey      string    `db:"actor_key"`
	Method        string    `db:"method"`
	Route         string    `db:"route"`
	Reason        string    `db:"reason"`
	Minute        time.Time `db:"minute"`
	ActorID       *int64    `db:"actor_id"`
	ActorName     string    `db:"actor_name"`
	IP            string    `db:"ip"`
	RouteID       string    `db:"route_id"`
	CorrelationID string    `db:"correlation_id"`
	Count         int64     `db:"count"`
	FirstSeen     time.Time `db:"first_seen"`
	LastSeen      time.Time `db:"last_seen"`
}

// closeDenials deletes the rows of minutes before `before` (of kind's kind
// only, when kind is set) and appends, at now, the summary of each that
// counted more than one denial: a single denial was audited already. It
// returns how many summaries it appended.
func (t *Tx) closeDenials(ctx context.Context, now, before time.Time, kind *audit.Denial) (int, error) {
	q := `DELETE FROM denied_actions WHERE minute < $1 RETURNING *`
	args := []any{before}
	if kind != nil {
		q = `DELETE FROM denied_actions
			WHERE minute < $1 AND actor_key = $2 AND method = $3 AND route = $4 AND reason = $5 RETURNING *`
		args = append(args, kind.Key(), kind.Method, kind.Route, kind.Reason)
	}
	rows, err := t.tx.Query(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	closed, err := pgx.CollectRows(rows, pgx.RowToStructByName[deniedRow])
	if err != nil {
		return 0, err
	}
	slices.SortFunc(closed, func(a, b deniedRow) int {
		return cmp.Or(a.Minute.Compare(b.Minute), cmp.Compare(a.ActorKey, b.ActorKey), cmp.Compare(a.Method, b.Method),
			cmp.Compare(a.Route, b.Route), cmp.Compare(a.Reason, b.Reason))
	})
	n := 0
	for _, r := range closed {
		if r.Count < 2 {
			continue
		}
		run := audit.DeniedRun{Count: r.Count, FirstSeen: r.FirstSeen, LastSeen: r.LastSeen, First: audit.Denial{
			At: r.FirstSeen, Actor: audit.Actor{Name: r.ActorName}, IP: r.IP, Method: r.Method, Route: r.Route,
			ID: r.RouteID, Reason: r.Reason, CorrelationID: r.CorrelationID}}
		if r.ActorID != nil {
			run.First.Actor.ID = *r.ActorID
		}
		if _, err := t.AppendAudit(ctx, run.Event(now)); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
