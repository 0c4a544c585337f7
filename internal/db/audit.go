package db

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"drportal/internal/audit"
)

// auditChainLock is the advisory-lock key that serialises appends to the
// audit chain across every connection and replica.
const auditChainLock = 0x6472_6175_6469_74 // "draudit"

// AppendAudit appends e to the hash chain inside this transaction. Call it
// last in a transaction: the chain lock is held until commit, so appends
// from other transactions wait for this one.
func (t *Tx) AppendAudit(ctx context.Context, e audit.Event) (audit.Event, error) {
	return appendAudit(ctx, t.tx, e)
}

// AppendAudit appends e in a transaction of its own, for events that record
// no other state change (a failed sign-in, a cloud call).
func (s *Store) AppendAudit(ctx context.Context, e audit.Event) (audit.Event, error) {
	var out audit.Event
	err := s.InTx(ctx, func(tx *Tx) error {
		var err error
		out, err = tx.AppendAudit(ctx, e)
		return err
	})
	return out, err
}

func appendAudit(ctx context.Context, q querier, e audit.Event) (audit.Event, error) {
	e.Normalize()
	if e.Action == "" || e.Outcome == "" || e.Actor.Name == "" {
		return e, fmt.Errorf("append audit event: action, outcome and actor name are required")
	}
	if _, err := q.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(auditChainLock)); err != nil {
		return e, fmt.Errorf("append audit event: lock chain: %w", err)
	}
	var lastID int64
	var lastHash []byte
	err := q.QueryRow(ctx, `SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1`).Scan(&lastID, &lastHash)
	switch {
	case err == pgx.ErrNoRows:
		lastHash = audit.GenesisHash
	case err != nil:
		return e, fmt.Errorf("append audit event: read chain head: %w", err)
	}
	e.ID = lastID + 1
	e.PrevHash = lastHash
	e.Hash = audit.ChainHash(e.PrevHash, e)
	_, err = q.Exec(ctx, `
		INSERT INTO audit_events (id, occurred_at, actor_id, actor_name, action, subject_type, subject_id,
			request_id, correlation_id, outcome, detail, prev_hash, hash)
		VALUES ($1, $2, NULLIF($3, 0), $4, $5, $6, $7, NULLIF($8, 0), $9, $10, $11, $12, $13)`,
		e.ID, e.OccurredAt, e.Actor.ID, e.Actor.Name, e.Action, e.SubjectType, e.SubjectID,
		e.RequestID, e.CorrelationID, string(e.Outcome), string(e.Detail), e.PrevHash, e.Hash)
	if err != nil {
		return e, fmt.Errorf("append audit event %s: %w", e.Action, err)
	}
	return e, nil
}

// AuditFilter selects audit events. Zero fields do not filter.
type AuditFilter struct {
	// Action matches the action exactly or as a dotted prefix
	// ("dr_task.create" matches "dr_task.create.submitted").
	Action string
	// ActorID: > 0 a user, -1 the system, 0 anyone.
	ActorID     int64
	SubjectType string
	SubjectID   string
	// Keyset paging: events with id < Before (older), or id > After (newer).
	Before int64
	After  int64
}

func (f AuditFilter) where() (string, []any) {
	var conds []string
	var args []any
	add := func(cond string, arg any) {
		args = append(args, arg)
		conds = append(conds, strings.ReplaceAll(cond, "?", fmt.Sprintf("$%d", len(args))))
	}
	if f.Action != "" {
		args = append(args, f.Action, f.Action+".")
		conds = append(conds, fmt.Sprintf("(action = $%d OR starts_with(action, $%d))", len(args)-1, len(args)))
	}
	switch {
	case f.ActorID > 0:
		add("actor_id = ?", f.ActorID)
	case f.ActorID < 0:
		conds = append(conds, "actor_id IS NULL")
	}
	if f.SubjectType != "" {
		add("subject_type = ?", f.SubjectType)
	}
	if f.SubjectID != "" {
		add("subject_id = ?", f.SubjectID)
	}
	if f.Before > 0 {
		add("id < ?", f.Before)
	}
	if f.After > 0 {
		add("id > ?", f.After)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return "WHERE " + strings.Join(conds, " AND "), args
}

const auditColumns = `id, occurred_at, COALESCE(actor_id, 0), actor_name, action, subject_type, subject_id,
	COALESCE(request_id, 0), correlation_id, outcome, detail, prev_hash, hash`

func scanAudit(row pgx.Row) (audit.Event, error) {
	var e audit.Event
	var outcome, detail string
	err := row.Scan(&e.ID, &e.OccurredAt, &e.Actor.ID, &e.Actor.Name, &e.Action, &e.SubjectType, &e.SubjectID,
		&e.RequestID, &e.CorrelationID, &outcome, &detail, &e.PrevHash, &e.Hash)
	e.Outcome = audit.Outcome(outcome)
	e.Detail = []byte(detail)
	e.OccurredAt = e.OccurredAt.UTC()
	return e, err
}

// ListAudit returns up to limit events matching f, newest first; with
// f.After set it pages towards newer events and still returns newest first.
func (s *Store) ListAudit(ctx context.Context, f AuditFilter, limit int) ([]audit.Event, error) {
	where, args := f.where()
	order := "DESC"
	if f.After > 0 && f.Before == 0 {
		order = "ASC"
	}
	args = append(args, limit)
	rows, err := s.pool.Query(ctx, fmt.Sprintf(`SELECT %s FROM audit_events %s ORDER BY id %s LIMIT $%d`,
		auditColumns, where, order, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	events, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (audit.Event, error) { return scanAudit(r) })
	if err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	if order == "ASC" {
		for i, j := 0, len(events)-1; i < j; i, j = i+1, j-1 {
			events[i], events[j] = events[j], events[i]
		}
	}
	return events, nil
}

// StreamAudit calls fn for every event matching f, oldest first, reading
// rows as they arrive so memory stays flat whatever the number of events.
func (s *Store) StreamAudit(ctx context.Context, f AuditFilter, fn func(audit.Event) error) error {
	where, args := f.where()
	rows, err := s.pool.Query(ctx, fmt.Sprintf(`SELECT %s FROM audit_events %s ORDER BY id ASC`, auditColumns, where), args...)
	if err != nil {
		return fmt.Errorf("stream audit events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return fmt.Errorf("stream audit events: %w", err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("stream audit events: %w", err)
	}
	return nil
}

// TaskTimeline returns the events about one DR task, and the cloud calls
// made on behalf of the same HTTP requests or jobs, newest first.
func (s *Store) TaskTimeline(ctx context.Context, taskID string, limit int) ([]audit.Event, error) {
	rows, err := s.pool.Query(ctx, fmt.Sprintf(`
		SELECT %s FROM audit_events
		WHERE (subject_type = $1 AND subject_id = $2)
		   OR (correlation_id <> '' AND correlation_id IN (
		        SELECT correlation_id FROM audit_events WHERE subject_type = $1 AND subject_id = $2 AND correlation_id <> ''
		        ORDER BY id DESC LIMIT 50))
		ORDER BY id DESC LIMIT $3`, auditColumns), audit.SubjectDRTask, taskID, limit)
	if err != nil {
		return nil, fmt.Errorf("task timeline %s: %w", taskID, err)
	}
	events, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (audit.Event, error) { return scanAudit(r) })
	if err != nil {
		return nil, fmt.Errorf("task timeline %s: %w", taskID, err)
	}
	return events, nil
}

// errStopStream ends a stream early without being an error.
var errStopStream = errors.New("stop")

// VerifyAuditChain recomputes the chain over every event, oldest first, and
// returns the id of the first event that does not match (0 when intact) and
// the number of events checked. A missing event counts as broken at its id.
func (s *Store) VerifyAuditChain(ctx context.Context) (brokenAt int64, checked int64, err error) {
	prev := audit.GenesisHash
	var want int64 = 1
	err = s.StreamAudit(ctx, AuditFilter{}, func(e audit.Event) error {
		checked++
		if e.ID != want || !bytes.Equal(e.PrevHash, prev) || !bytes.Equal(audit.ChainHash(prev, e), e.Hash) {
			brokenAt = want
			return errStopStream
		}
		prev = e.Hash
		want++
		return nil
	})
	if errors.Is(err, errStopStream) {
		err = nil
	}
	return brokenAt, checked, err
}
