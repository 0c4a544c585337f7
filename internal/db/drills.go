package db

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/portal"
)

// drillRow is a drills row.
type drillRow struct {
	RequestID            int64      `db:"request_id"`
	DRTaskID             string     `db:"dr_task_id"`
	RunAt                *time.Time `db:"run_at"`
	Step                 int        `db:"step"`
	FiledBy              string     `db:"filed_by"`
	ApprovedBy           []string   `db:"approved_by"`
	PollResolutionMS     int64      `db:"poll_resolution_ms"`
	StartedAt            *time.Time `db:"started_at"`
	FinishedAt           *time.Time `db:"finished_at"`
	Outcome              string     `db:"outcome"`
	OutcomeDetail        string     `db:"outcome_detail"`
	PrimaryBefore        string     `db:"primary_before"`
	StandbyBefore        string     `db:"standby_before"`
	LastSyncAt           *time.Time `db:"last_sync_at"`
	SwitchoverSentAt     *time.Time `db:"switchover_sent_at"`
	SwitchoverAcceptedAt *time.Time `db:"switchover_accepted_at"`
	SwitchoverDoneAt     *time.Time `db:"switchover_done_at"`
	SwitchbackSentAt     *time.Time `db:"switchback_sent_at"`
	SwitchbackAcceptedAt *time.Time `db:"switchback_accepted_at"`
	SwitchbackDoneAt     *time.Time `db:"switchback_done_at"`
}

func (r drillRow) drill() portal.Drill {
	return portal.Drill{RequestID: r.RequestID, TaskID: r.DRTaskID, RunAt: r.RunAt, Step: r.Step, FiledBy: r.FiledBy,
		ApprovedBy: r.ApprovedBy, PollResolution: time.Duration(r.PollResolutionMS) * time.Millisecond,
		StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, Outcome: r.Outcome, OutcomeDetail: r.OutcomeDetail,
		PrimaryBefore: r.PrimaryBefore, StandbyBefore: r.StandbyBefore, LastSyncAt: r.LastSyncAt,
		Switchover: portal.DrillStepTimes{SentAt: r.SwitchoverSentAt, AcceptedAt: r.SwitchoverAcceptedAt, DoneAt: r.SwitchoverDoneAt},
		Switchback: portal.DrillStepTimes{SentAt: r.SwitchbackSentAt, AcceptedAt: r.SwitchbackAcceptedAt, DoneAt: r.SwitchbackDoneAt}}
}

// drillColumns read a drill's row; approved_by, recorded as the drill
// begins, is for a drill that never began (waiting, or cancelled or
// failed first) who approved its request so far.
const drillColumns = `request_id, dr_task_id, run_at, step, filed_by,
	CASE WHEN cardinality(approved_by) > 0 THEN approved_by ELSE ARRAY(SELECT u.email FROM approvals a
		JOIN users u ON u.id = a.approver_id WHERE a.request_id = drills.request_id AND a.decision = 'approve'
		ORDER BY a.decided_at, u.email) END AS approved_by,
	poll_resolution_ms, started_at, finished_at,
	outcome, outcome_detail, primary_before, standby_before, last_sync_at, switchover_sent_at, switchover_accepted_at,
	switchover_done_at, switchback_sent_at, switchback_accepted_at, switchback_done_at`

func findDrill(ctx context.Context, q querier, requestID int64) (portal.Drill, error) {
	rows, err := q.Query(ctx, `SELECT `+drillColumns+` FROM drills WHERE request_id = $1`, requestID)
	if err != nil {
		return portal.Drill{}, fmt.Errorf("read drill %d: %w", requestID, err)
	}
	row, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[drillRow])
	if err != nil {
		return portal.Drill{}, notFound(err, fmt.Sprintf("Request #%d is not a drill.", requestID))
	}
	return row.drill(), nil
}

// Drill returns the drill of request requestID.
func (s *Store) Drill(ctx context.Context, requestID int64) (portal.Drill, error) {
	return findDrill(ctx, s.pool, requestID)
}

// Drill returns the drill of request requestID inside the transaction.
func (t *Tx) Drill(ctx context.Context, requestID int64) (portal.Drill, error) {
	return findDrill(ctx, t.tx, requestID)
}

// TaskDrills returns up to limit drills on a task, newest first.
func (s *Store) TaskDrills(ctx context.Context, taskID string, limit int) ([]portal.Drill, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+drillColumns+` FROM drills WHERE dr_task_id = $1
		ORDER BY request_id DESC LIMIT $2`, taskID, limit)
	if err != nil {
		return nil, fmt.Errorf("drills of DR task %s: %w", taskID, err)
	}
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[drillRow])
	if err != nil {
		return nil, fmt.Errorf("drills of DR task %s: %w", taskID, err)
	}
	out := make([]portal.Drill, len(rs))
	for i, r := range rs {
		out[i] = r.drill()
	}
	return out, nil
}

// InsertDrill records a drill request as it is filed: who filed it and
// when it may run (nil: once approved).
func (t *Tx) InsertDrill(ctx context.Context, requestID int64, taskID, filedBy string, runAt *time.Time) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO drills (request_id, dr_task_id, filed_by, run_at) VALUES ($1, $2, $3, $4)`,
		requestID, taskID, filedBy, runAt)
	if err != nil {
		return fmt.Errorf("record drill %d: %w", requestID, err)
	}
	return nil
}

// RequestNotBefore is the earliest time an approved request may run: a
// drill's scheduled time, or the zero time (at once).
func (t *Tx) RequestNotBefore(ctx context.Context, requestID int64) (time.Time, error) {
	var at *time.Time
	err := t.tx.QueryRow(ctx, `SELECT run_at FROM drills WHERE request_id = $1`, requestID).Scan(&at)
	switch {
	case errors.Is(err, pgx.ErrNoRows), err == nil && at == nil:
		return time.Time{}, nil
	case err != nil:
		return time.Time{}, fmt.Errorf("when request %d may run: %w", requestID, err)
	}
	return *at, nil
}

// drillUpdate runs one guarded update of a drill; a drill no longer where
// cond wants it is a Conflict.
func (t *Tx) drillUpdate(ctx context.Context, requestID int64, cond, set string, args ...any) error {
	tag, err := t.tx.Exec(ctx, `UPDATE drills SET `+set+` WHERE request_id = $1 AND `+cond, append([]any{requestID}, args...)...)
	if err != nil {
		return fmt.Errorf("update drill %d: %w", requestID, err)
	}
	if tag.RowsAffected() != 1 {
		return apperr.New(apperr.Conflict, "Drill #%d has moved on, so this can no longer be recorded.", requestID)
	}
	return nil
}

// DrillStart is what is recorded when a drill begins.
type DrillStart struct {
	At                           time.Time
	PollResolution               time.Duration
	PrimaryBefore, StandbyBefore string
	ApprovedBy                   []string
}

// BeginDrill records that a drill began: when, who approved it, the roles
// it starts from and how often its steps are polled.
func (t *Tx) BeginDrill(ctx context.Context, requestID int64, s DrillStart) error {
	if s.ApprovedBy == nil {
		s.ApprovedBy = []string{}
	}
	return t.drillUpdate(ctx, requestID, `started_at IS NULL`,
		`started_at = $2, poll_resolution_ms = $3, primary_before = $4, standby_before = $5, approved_by = $6`,
		s.At, s.PollResolution.Milliseconds(), s.PrimaryBefore, s.StandbyBefore, s.ApprovedBy)
}

// stepColumn is the column prefix of a drill step.
func stepColumn(step int) string {
	if step == portal.DrillSwitchback {
		return "switchback"
	}
	return "switchover"
}

// DrillCallStarted records, with a step's intent, when its call is
// started and (for the switchover) the last successful sync read right
// before it. A call sent again replaces the earlier attempt's times.
func (t *Tx) DrillCallStarted(ctx context.Context, requestID int64, step int, at time.Time, lastSync *time.Time) error {
	set := stepColumn(step) + `_sent_at = $3`
	if step == portal.DrillSwitchover {
		set += `, last_sync_at = $4`
		return t.drillUpdate(ctx, requestID, `step = $2 AND outcome = ''`, set, step, at, lastSync)
	}
	return t.drillUpdate(ctx, requestID, `step = $2 AND outcome = ''`, set, step, at)
}

// DrillCallAccepted records when the cloud accepted a step's call.
func (t *Tx) DrillCallAccepted(ctx context.Context, requestID int64, step int, at time.Time) error {
	return t.drillUpdate(ctx, requestID, `step = $2 AND outcome = ''`, stepColumn(step)+`_accepted_at = $3`, step, at)
}

// DrillStepDone records when a step was first seen done (the task running
// the other way); after the switchover the drill is at the switchback.
func (t *Tx) DrillStepDone(ctx context.Context, requestID int64, step int, at time.Time) error {
	c := stepColumn(step)
	return t.drillUpdate(ctx, requestID, `step = $2 AND outcome = '' AND `+c+`_done_at IS NULL`,
		c+`_done_at = $3, step = $4`, step, at, portal.DrillSwitchback)
}

// FinishDrill records a drill's end and its outcome.
func (t *Tx) FinishDrill(ctx context.Context, requestID int64, at time.Time, outcome, detail string) error {
	return t.drillUpdate(ctx, requestID, `outcome = ''`, `finished_at = $2, outcome = $3, outcome_detail = $4`, at, outcome, detail)
}

// NextDrillStep moves an executing drill request from its switchover,
// accepted and seen done, to its switchback, not sent (call state accepted
// → none): the second call starts afresh, with its own attempts and
// pre-call snapshot.
func (t *Tx) NextDrillStep(ctx context.Context, id int64) (portal.Request, error) {
	return t.move(ctx, id, []portal.RequestStatus{portal.StatusExecuting}, portal.CallAccepted,
		`call_state = 'none', call_attempts = 0, follow_deadline = NULL, last_seen_status = '',
		pre_status = '', pre_primary_id = '', pre_start_time = '', seen_transient = false`)
}

// DrillEvent is an audit event that records a drill's evidence: its id
// and hash place it in the chain, for an auditor to check.
type DrillEvent struct {
	RequestID int64
	ID        int64
	Action    string
	Hash      []byte
}

// DrillEvents returns the drill events (audit.ActionDrill…) of the
// given drill requests, oldest first, by request id.
func (s *Store) DrillEvents(ctx context.Context, requestIDs []int64) (map[int64][]DrillEvent, error) {
	rows, err := s.pool.Query(ctx, `SELECT request_id, id, action, hash FROM audit_events
		WHERE request_id = ANY($1) AND action = ANY($2) ORDER BY id`,
		requestIDs, []string{audit.ActionDrillStarted, audit.ActionDrillStep, audit.ActionDrillFinished})
	if err != nil {
		return nil, fmt.Errorf("drill events: %w", err)
	}
	out := map[int64][]DrillEvent{}
	var e DrillEvent
	_, err = pgx.ForEachRow(rows, []any{&e.RequestID, &e.ID, &e.Action, &e.Hash}, func() error {
		out[e.RequestID] = append(out[e.RequestID], DrillEvent{RequestID: e.RequestID, ID: e.ID, Action: e.Action,
			Hash: append([]byte(nil), e.Hash...)})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("drill events: %w", err)
	}
	return out, nil
}
