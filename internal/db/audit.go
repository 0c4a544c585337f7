package db

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"drportal/internal/audit"
	"drportal/internal/portal"
)

// auditChainLock is the advisory-lock key that serialises appends to the
// audit chain across every connection and replica.
const auditChainLock = 0x6472_6175_6469_74 // "draudit"

// AppendAudit adds e to this transaction: InTx chains and writes it, with
// the transaction's other events in call order, after the rest of the
// transaction and just before the commit, so it may be called anywhere in
// the transaction. A bad event is refused here. The event is returned as
// it will be stored but without its chain position (ID and hashes), which
// is known only at commit.
func (t *Tx) AppendAudit(ctx context.Context, e audit.Event) (audit.Event, error) {
	e.Normalize()
	if err := e.Validate(); err != nil {
		return e, err
	}
	t.audit = append(t.audit, e)
	return e, nil
}

// AppendAudit appends e in a transaction of its own, for events that record
// no other state change (a failed sign-in, a cloud call). Through the
// store's appender (SetAppender) concurrent calls share transactions;
// without one each event commits alone. It returns once e is committed.
func (s *Store) AppendAudit(ctx context.Context, e audit.Event) (audit.Event, error) {
	if s.appender != nil {
		return s.appender.Append(ctx, e)
	}
	out, err := s.AppendAudits(ctx, []audit.Event{e})
	if err != nil {
		return e, err
	}
	return out[0], nil
}

// SetAppender routes AppendAudit through a, a group commit whose owner
// starts and closes it. Call it before the store is shared.
func (s *Store) SetAppender(a *audit.Appender) { s.appender = a }

// AppendAudits appends several events in one transaction, holding the
// chain lock once for all of them.
func (s *Store) AppendAudits(ctx context.Context, events []audit.Event) ([]audit.Event, error) {
	var out []audit.Event
	err := s.InTx(ctx, func(tx *Tx) error {
		var err error
		out, err = appendAudits(ctx, tx.tx, events)
		return err
	})
	return out, err
}

// appendAudits chains and inserts events after the current head. An
// event's time is never earlier than its predecessor's, so the chain's
// order is also its time order.
func appendAudits(ctx context.Context, q querier, events []audit.Event) ([]audit.Event, error) {
	for i := range events {
		e := &events[i]
		e.Normalize()
		if err := e.Validate(); err != nil {
			return nil, err
		}
	}
	if _, err := q.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(auditChainLock)); err != nil {
		return nil, fmt.Errorf("append audit event: lock chain: %w", err)
	}
	head, err := chainHead(ctx, q)
	if err != nil {
		return nil, err
	}
	n := len(events)
	ids, actorIDs, requestIDs := make([]int64, n), make([]*int64, n), make([]*int64, n)
	times := make([]time.Time, n)
	actorNames, actions, subjectTypes, subjectIDs := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	correlations, outcomes, details := make([]string, n), make([]string, n), make([]string, n)
	prevs, hashes := make([][]byte, n), make([][]byte, n)
	for i := range events {
		e := &events[i]
		if e.OccurredAt.Before(head.at) {
			e.OccurredAt = head.at
		}
		e.ID = head.id + 1
		e.PrevHash = head.hash
		e.Hash = audit.ChainHash(e.PrevHash, *e)
		head = chainPos{id: e.ID, hash: e.Hash, at: e.OccurredAt}
		ids[i], times[i], actorNames[i], actions[i] = e.ID, e.OccurredAt, e.Actor.Name, e.Action
		if e.Actor.ID != 0 {
			actorIDs[i] = &e.Actor.ID
		}
		if e.RequestID != 0 {
			requestIDs[i] = &e.RequestID
		}
		subjectTypes[i], subjectIDs[i], correlations[i] = e.SubjectType, e.SubjectID, e.CorrelationID
		outcomes[i], details[i], prevs[i], hashes[i] = string(e.Outcome), string(e.Detail), e.PrevHash, e.Hash
	}
	// One statement for the whole batch.
	_, err = q.Exec(ctx, `
		INSERT INTO audit_events (id, occurred_at, actor_id, actor_name, action, subject_type, subject_id,
			request_id, correlation_id, outcome, detail, prev_hash, hash)
		SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::bigint[], $4::text[], $5::text[], $6::text[],
			$7::text[], $8::bigint[], $9::text[], $10::text[], $11::text[], $12::bytea[], $13::bytea[])`,
		ids, times, actorIDs, actorNames, actions, subjectTypes, subjectIDs, requestIDs, correlations, outcomes,
		details, prevs, hashes)
	if err != nil {
		return nil, fmt.Errorf("append audit events: %w", err)
	}
	return events, nil
}

type chainPos struct {
	id   int64
	hash []byte
	at   time.Time
}

// chainHead is the last event, or the newest checkpoint when every event up
// to it was archived, or the genesis.
func chainHead(ctx context.Context, q querier) (chainPos, error) {
	var p chainPos
	err := q.QueryRow(ctx, `SELECT id, hash, occurred_at FROM audit_events ORDER BY id DESC LIMIT 1`).Scan(&p.id, &p.hash, &p.at)
	if err == nil {
		return p, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return p, fmt.Errorf("read audit chain head: %w", err)
	}
	err = q.QueryRow(ctx, `SELECT through_id, through_hash, created_at FROM audit_checkpoints ORDER BY through_id DESC LIMIT 1`).
		Scan(&p.id, &p.hash, &p.at)
	if errors.Is(err, pgx.ErrNoRows) {
		return chainPos{hash: audit.GenesisHash}, nil
	}
	return p, err
}

// AuditFilter selects audit events. Zero fields do not filter.
type AuditFilter struct {
	// Action matches the action exactly or as a dotted prefix
	// ("dr_task.create" matches "dr_task.create.rejected").
	Action string
	// ExcludeAction leaves out one action (the cloud calls, for people
	// reading what was done).
	ExcludeAction string
	// ActorID: > 0 a user, -1 the system, 0 anyone.
	ActorID     int64
	SubjectType string
	SubjectID   string
	// RequestID > 0: events about this approval request.
	RequestID int64
	Outcome   string
	// From and To bound the time (From inclusive, To exclusive).
	From, To time.Time
	// Query is free text, in web-search syntax: words, "phrases", -not.
	Query string
	// Keyset paging: events with id < Before (older), or id > After (newer).
	Before int64
	After  int64
}

// where builds the conditions. Time bounds become id bounds (the chain's
// order is its time order), which keeps deep pages on the primary key.
func (f AuditFilter) where(ctx context.Context, q querier) (string, []any, error) {
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
	if f.ExcludeAction != "" {
		add("action <> ?", f.ExcludeAction)
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
	if f.RequestID > 0 {
		add("request_id = ?", f.RequestID)
	}
	if f.Outcome != "" {
		add("outcome = ?", f.Outcome)
	}
	if f.Query != "" {
		add("search @@ websearch_to_tsquery('simple', ?)", f.Query)
	}
	for _, b := range []struct {
		t  time.Time
		op string
	}{{f.From, ">="}, {f.To, "<"}} {
		if b.t.IsZero() {
			continue
		}
		var id *int64
		err := q.QueryRow(ctx, `SELECT id FROM audit_events WHERE occurred_at >= $1 ORDER BY occurred_at, id LIMIT 1`, b.t).Scan(&id)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return "", nil, fmt.Errorf("audit time bound: %w", err)
		}
		switch {
		case id != nil:
			add("id "+b.op+" ?", *id)
		case b.op == ">=":
			conds = append(conds, "false") // nothing that recent
		}
	}
	if f.Before > 0 {
		add("id < ?", f.Before)
	}
	if f.After > 0 {
		add("id > ?", f.After)
	}
	if len(conds) == 0 {
		return "", nil, nil
	}
	return "WHERE " + strings.Join(conds, " AND "), args, nil
}

const auditColumns = `id, occurred_at, COALESCE(actor_id, 0), actor_name, action, subject_type, subject_id,
	COALESCE(request_id, 0), correlation_id, outcome, detail, prev_hash, hash`

// scanAudit reads an event (auditColumns), and the columns after them into
// extra.
func scanAudit(row pgx.Row, extra ...any) (audit.Event, error) {
	var e audit.Event
	var outcome string
	err := row.Scan(append([]any{&e.ID, &e.OccurredAt, &e.Actor.ID, &e.Actor.Name, &e.Action, &e.SubjectType, &e.SubjectID,
		&e.RequestID, &e.CorrelationID, &outcome, &e.Detail, &e.PrevHash, &e.Hash}, extra...)...)
	e.Outcome = audit.Outcome(outcome)
	e.OccurredAt = e.OccurredAt.UTC()
	return e, err
}

// ListAudit returns up to limit events matching f, newest first; with
// f.After set it pages towards newer events and still returns newest first.
func (s *Store) ListAudit(ctx context.Context, f AuditFilter, limit int) ([]audit.Event, error) {
	p, err := s.AuditPage(ctx, f, limit, false, false)
	return p.Events, err
}

// AuditPage is what the audit page shows, read in one round trip.
type AuditPage struct {
	// Events are as ListAudit returns them.
	Events []audit.Event
	// TaskNames are the names of the DR tasks the events' subjects are, by
	// id, as the portal's copy of the tasks has them (none for a task it
	// does not know).
	TaskNames map[string]string
	// Actors are every account's id and e-mail, by e-mail, for the actor
	// filter (when asked for).
	Actors []portal.User
	// Checkpoints are as Checkpoints returns them (when asked for).
	Checkpoints []audit.Checkpoint
}

// AuditPage reads, as one batch, the events ListAudit(f, limit) would
// return with the names of the DR tasks they are about and, when asked,
// the accounts for the actor filter (ids and e-mails only) and the archive
// checkpoints.
func (s *Store) AuditPage(ctx context.Context, f AuditFilter, limit int, actors, checkpoints bool) (AuditPage, error) {
	where, args, err := f.where(ctx, s.pool)
	if err != nil {
		return AuditPage{}, err
	}
	b := &pgx.Batch{}
	page := queueAuditPage(b, f, where, args, limit, actors, checkpoints)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return AuditPage{}, fmt.Errorf("list audit events: %w", err)
	}
	return page(), nil
}

// AuditPageReads is AuditPage as reads for a session's batch (Reads); nil
// when f has a time bound, whose events are found by a read of their own
// first. The function it returns gives the page once they have run.
func AuditPageReads(f AuditFilter, limit int, actors, checkpoints bool) (Reads, func() AuditPage) {
	if !f.From.IsZero() || !f.To.IsZero() {
		return nil, nil
	}
	where, args, err := f.where(context.Background(), nil) // no time bound: no read
	if err != nil {
		return nil, nil
	}
	var page func() AuditPage
	reads := func(b *pgx.Batch, _ []byte) { page = queueAuditPage(b, f, where, args, limit, actors, checkpoints) }
	return reads, func() AuditPage { return page() }
}

// queueAuditPage queues AuditPage's reads, on the conditions f.where
// built, in b; the function it returns gives the page once b has run.
func queueAuditPage(b *pgx.Batch, f AuditFilter, where string, args []any, limit int, actors, checkpoints bool) func() AuditPage {
	order := "DESC"
	if f.After > 0 && f.Before == 0 {
		order = "ASC"
	}
	p := AuditPage{TaskNames: map[string]string{}}
	// The page's events first, then each one's task: the join reads only
	// the rows of the page. The limit is text, not a parameter, so that an
	// unfiltered page keeps one plan (as taskTimelineSQL).
	b.Queue(fmt.Sprintf(`SELECT a.*, COALESCE(t.name, '') FROM (
		SELECT %s FROM audit_events %s ORDER BY id %s LIMIT %d) a
		LEFT JOIN dr_tasks t ON a.subject_type = '%s' AND t.id = a.subject_id
		ORDER BY a.id %s`, auditColumns, where, order, limit, audit.SubjectDRTask, order), args...).Query(func(rows pgx.Rows) error {
		var err error
		p.Events, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (audit.Event, error) {
			var name string
			e, err := scanAudit(r, &name)
			if name != "" {
				p.TaskNames[e.SubjectID] = name
			}
			return e, err
		})
		if order == "ASC" {
			slices.Reverse(p.Events) // newest first, as every page
		}
		return err
	})
	if actors {
		b.Queue(`SELECT id, email FROM users ORDER BY email`).Query(func(rows pgx.Rows) error {
			var u portal.User
			_, err := pgx.ForEachRow(rows, []any{&u.ID, &u.Email}, func() error {
				p.Actors = append(p.Actors, u)
				return nil
			})
			return err
		})
	}
	if checkpoints {
		b.Queue(checkpointsSQL).Query(func(rows pgx.Rows) error {
			var err error
			p.Checkpoints, err = collectCheckpoints(rows)
			return err
		})
	}
	return func() AuditPage { return p }
}

// StreamAudit calls fn for every event matching f, oldest first, reading
// rows as they arrive so memory stays flat whatever the number of events.
func (s *Store) StreamAudit(ctx context.Context, f AuditFilter, fn func(audit.Event) error) error {
	where, args, err := f.where(ctx, s.pool)
	if err != nil {
		return err
	}
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

// TaskTimeline returns the events about one DR task (with those of the
// request that created it, recorded before the task had an id: its filing
// and decisions), and the other events of the same HTTP requests or jobs
// (the cloud calls a create made before the task had an id), newest first;
// without calls, the cloud calls are left out. It stays on indexes: the
// task's own events by subject, then each of their correlation ids.
func (s *Store) TaskTimeline(ctx context.Context, taskID string, limit int, calls bool) ([]audit.Event, error) {
	rows, err := s.pool.Query(ctx, taskTimelineSQL(limit, calls), audit.SubjectDRTask, taskID)
	return collectTimeline(taskID, rows, err)
}

// TaskCloudCalls counts the cloud calls the task's timeline of limit
// events shows when asked for them (and leaves out otherwise): bounded,
// whatever the length of the task's history.
func (s *Store) TaskCloudCalls(ctx context.Context, taskID string, limit int) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, taskCloudCallsSQL(limit), audit.SubjectDRTask, taskID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count the cloud calls of DR task %s: %w", taskID, err)
	}
	return n, nil
}

// taskOwnSQL selects columns of a task's ($1, $2) own newest limit events:
// those about the task, and the steps of the request that created it
// (audit.RequestSteps), which were recorded about the request until the
// task had an id (its filing, decisions and execution's start). Only those
// steps: anyone may be refused acting on a request id, filed or not, and
// the refusal is recorded about it. Each comes from a backward scan of the
// subject index, merged.
func taskOwnSQL(columns string, limit int, noCalls string) string {
	return fmt.Sprintf(`SELECT * FROM (
			(SELECT %[1]s FROM audit_events WHERE subject_type = $1 AND subject_id = $2 %[3]s ORDER BY id DESC LIMIT %[2]d)
			UNION ALL
			(SELECT %[1]s FROM audit_events, (SELECT min(id) AS create_id FROM requests WHERE dr_task_id = $2 AND operation = 'create') c
				WHERE subject_type = '%[4]s' AND subject_id = c.create_id::text AND request_id = c.create_id
				AND action IN (%[5]s) %[3]s ORDER BY id DESC LIMIT %[2]d)
		) own ORDER BY id DESC LIMIT %[2]d`, columns, limit, noCalls, audit.SubjectRequest, requestSteps)
}

// requestSteps is audit.RequestSteps as an SQL list.
var requestSteps = "'" + strings.Join(audit.RequestSteps, "', '") + "'"

// taskTimelineSQL selects a task's ($1, $2) newest limit events
// (taskOwnSQL) and those correlated with them (the cloud calls and steps
// of the same page action or job); without calls, the cloud calls are
// left out.
//
// The task's own events come whole from the subject index; the correlated
// ones are looked up by correlation id (the index holds id and action) and
// read only when they are not among the task's own, so no event is read
// twice.
//
// The limit and the choice are part of the text, not parameters: with
// them as parameters PostgreSQL judged its generic plan dearer than a
// fresh one and planned the statement again on every page view (about as
// long as running it); as text, each variant keeps its one plan.
func taskTimelineSQL(limit int, calls bool) string {
	noCalls := func(alias string) string {
		if calls {
			return ""
		}
		return fmt.Sprintf(`AND %saction <> '%s'`, alias, audit.ActionCloudCall)
	}
	return fmt.Sprintf(`
		WITH subj AS (%[3]s)
		SELECT * FROM subj
		UNION ALL
		SELECT %[1]s FROM audit_events WHERE id IN (
			SELECT c.id FROM (%[5]s) k JOIN audit_events c ON c.correlation_id = k.correlation_id AND c.correlation_id <> ''
			WHERE c.id NOT IN (SELECT id FROM subj) %[4]s)
		ORDER BY 1 DESC LIMIT %[2]d`, auditColumns, limit, taskOwnSQL(auditColumns, limit, noCalls("")), noCalls("c."), correlatedSQL)
}

// correlatedSQL is the correlation ids of a timeline's subject events
// (subj) that other events may share: not the background jobs', which
// tie together every task they touch.
const correlatedSQL = `SELECT DISTINCT correlation_id FROM subj
	WHERE correlation_id <> '' AND correlation_id NOT IN ('poller', 'list-sync')`

// taskCloudCallsSQL counts the cloud calls among the events the timeline
// shows with them (limit events: taskTimelineSQL with calls). Counting a
// task's whole history would read every call it ever made (thousands a
// task in a year) on each page view. It reads indexes only: both hold the
// action.
func taskCloudCallsSQL(limit int) string {
	return fmt.Sprintf(`
		WITH subj AS (%[4]s)
		SELECT count(*) FILTER (WHERE action = '%[2]s') FROM (
			SELECT id, action FROM subj
			UNION ALL
			SELECT DISTINCT c.id, c.action FROM (%[3]s) k JOIN audit_events c ON c.correlation_id = k.correlation_id AND c.correlation_id <> ''
			WHERE c.id NOT IN (SELECT id FROM subj)
			ORDER BY id DESC LIMIT %[1]d) t`, limit, audit.ActionCloudCall, correlatedSQL, taskOwnSQL("id, correlation_id, action", limit, ""))
}

func collectTimeline(taskID string, rows pgx.Rows, err error) ([]audit.Event, error) {
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

// AuditEvents yields the events after afterID up to throughID (0: to the
// end), oldest first, reading rows as they arrive.
func (s *Store) AuditEvents(ctx context.Context, afterID, throughID int64) iter.Seq2[audit.Event, error] {
	return func(yield func(audit.Event, error) bool) {
		f := AuditFilter{After: afterID}
		if throughID > 0 {
			f.Before = throughID + 1
		}
		err := s.StreamAudit(ctx, f, func(e audit.Event) error {
			if !yield(e, nil) {
				return errStopStream
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStopStream) {
			yield(audit.Event{}, err)
		}
	}
}

// ArchiveAudit records the checkpoint and removes the archived events,
// with the archive's own audit event, in one transaction. The events are
// removed by a database function that refuses anything a checkpoint does
// not cover.
// archivingLock is held by the one archive that may run.
const archivingLock = 0x6472_6172_6368_6976 // "drarchiv"

// LockArchiving holds the archiving lock on a connection of its own until
// release is called; ok is false when another archive holds it.
func (s *Store) LockArchiving(ctx context.Context) (release func(), ok bool, err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("lock archiving: %w", err)
	}
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, int64(archivingLock)).Scan(&ok); err != nil || !ok {
		conn.Release()
		if err != nil {
			return nil, false, fmt.Errorf("lock archiving: %w", err)
		}
		return nil, false, nil
	}
	return func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(archivingLock))
		conn.Release()
	}, true, nil
}

func (s *Store) ArchiveAudit(ctx context.Context, cp audit.Checkpoint, e audit.Event) (int64, error) {
	var n int64
	err := s.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.tx.Exec(ctx, `
			INSERT INTO audit_checkpoints (through_id, through_hash, first_id, events, file_name, file_sha256, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, NULLIF($7, 0), $8)`,
			cp.ThroughID, cp.ThroughHash, cp.FirstID, cp.Events, cp.FileName, cp.FileSHA256, cp.CreatedBy, cp.CreatedAt); err != nil {
			return fmt.Errorf("record audit checkpoint: %w", err)
		}
		if err := tx.tx.QueryRow(ctx, `SELECT audit_delete_archived($1)`, cp.ThroughID).Scan(&n); err != nil {
			return fmt.Errorf("remove archived audit events: %w", err)
		}
		if n != cp.Events {
			return fmt.Errorf("archive: %d events removed, %d archived; nothing was removed", n, cp.Events)
		}
		_, err := tx.AppendAudit(ctx, e)
		return err
	})
	return n, err
}

// Checkpoints lists the archive checkpoints, newest first.
func (s *Store) Checkpoints(ctx context.Context) ([]audit.Checkpoint, error) {
	rows, err := s.pool.Query(ctx, checkpointsSQL)
	if err != nil {
		return nil, err
	}
	return collectCheckpoints(rows)
}

const checkpointsSQL = `SELECT through_id, through_hash, first_id, events, file_name, file_sha256,
		COALESCE(created_by, 0), created_at FROM audit_checkpoints ORDER BY through_id DESC`

func collectCheckpoints(rows pgx.Rows) ([]audit.Checkpoint, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (audit.Checkpoint, error) {
		var c audit.Checkpoint
		err := r.Scan(&c.ThroughID, &c.ThroughHash, &c.FirstID, &c.Events, &c.FileName, &c.FileSHA256, &c.CreatedBy, &c.CreatedAt)
		return c, err
	})
}

// LastAuditIDBefore returns the id of the newest event older than t (0: none).
func (s *Store) LastAuditIDBefore(ctx context.Context, t time.Time) (int64, error) {
	var id int64
	err := s.pool.QueryRow(ctx, `SELECT id FROM audit_events WHERE occurred_at < $1 ORDER BY occurred_at DESC, id DESC LIMIT 1`, t).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return id, err
}

// The audit package declares what it needs from storage; the store is it.
var _ audit.Store = (*Store)(nil)
