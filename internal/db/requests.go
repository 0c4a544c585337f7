package db

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/portal"
)

// policyRow is an approval_policies row.
type policyRow struct {
	Version            int       `db:"version"`
	Approvals          []byte    `db:"approvals"`
	PendingTTLSeconds  int64     `db:"pending_ttl_seconds"`
	ApprovalTTLSeconds int64     `db:"approval_ttl_seconds"`
	CreatedBy          int64     `db:"created_by"`
	ApprovedBy         int64     `db:"approved_by"`
	CreatedAt          time.Time `db:"created_at"`
}

func (r policyRow) policy() (portal.Policy, error) {
	p := portal.Policy{Version: r.Version, PendingTTL: time.Duration(r.PendingTTLSeconds) * time.Second,
		ApprovalTTL: time.Duration(r.ApprovalTTLSeconds) * time.Second, CreatedBy: r.CreatedBy, ApprovedBy: r.ApprovedBy,
		CreatedAt: r.CreatedAt}
	if err := json.Unmarshal(r.Approvals, &p.Approvals); err != nil {
		return portal.Policy{}, fmt.Errorf("policy %d: %w", r.Version, err)
	}
	if _, ok := p.Approvals[portal.OpDrill]; !ok && p.Approvals != nil {
		// A policy from before drills: a drill needs what a switchover does.
		p.Approvals[portal.OpDrill] = p.Approvals[portal.OpSwitchover]
	}
	return p, nil
}

const policyColumns = `version, approvals, pending_ttl_seconds, approval_ttl_seconds, COALESCE(created_by, 0) AS created_by,
	COALESCE(approved_by, 0) AS approved_by, created_at`

func findPolicy(ctx context.Context, q querier, where string, args ...any) (portal.Policy, error) {
	rows, err := q.Query(ctx, `SELECT `+policyColumns+` FROM approval_policies `+where, args...)
	if err != nil {
		return portal.Policy{}, fmt.Errorf("read policy: %w", err)
	}
	row, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[policyRow])
	if err != nil {
		return portal.Policy{}, notFound(err, "no such policy version")
	}
	return row.policy()
}

// CurrentPolicy returns the newest policy version.
func (s *Store) CurrentPolicy(ctx context.Context) (portal.Policy, error) {
	return findPolicy(ctx, s.pool, `ORDER BY version DESC LIMIT 1`)
}

// CurrentPolicy returns the newest policy version inside the transaction.
func (t *Tx) CurrentPolicy(ctx context.Context) (portal.Policy, error) {
	return findPolicy(ctx, t.tx, `ORDER BY version DESC LIMIT 1`)
}

// Policy returns one policy version.
func (s *Store) Policy(ctx context.Context, version int) (portal.Policy, error) {
	return findPolicy(ctx, s.pool, `WHERE version = $1`, version)
}

// Policy returns one policy version inside the transaction.
func (t *Tx) Policy(ctx context.Context, version int) (portal.Policy, error) {
	return findPolicy(ctx, t.tx, `WHERE version = $1`, version)
}

// InsertPolicy stores a new policy version after the newest one. Two admins
// saving at once cannot both get the same version: the primary key refuses
// the second, which is reported as a Conflict.
func (t *Tx) InsertPolicy(ctx context.Context, p portal.Policy) (portal.Policy, error) {
	raw, err := json.Marshal(p.Approvals)
	if err != nil {
		return portal.Policy{}, err
	}
	rows, err := t.tx.Query(ctx, `
		INSERT INTO approval_policies (version, approvals, pending_ttl_seconds, approval_ttl_seconds, created_by, approved_by, created_at)
		SELECT COALESCE(max(version), 0) + 1, $1, $2, $3, NULLIF($4, 0), NULLIF($5, 0), $6 FROM approval_policies
		RETURNING `+policyColumns, raw, int64(p.PendingTTL/time.Second), int64(p.ApprovalTTL/time.Second), p.CreatedBy, p.ApprovedBy, p.CreatedAt)
	if err != nil {
		return portal.Policy{}, fmt.Errorf("save policy: %w", err)
	}
	row, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[policyRow])
	if isUniqueViolation(err) {
		return portal.Policy{}, apperr.Wrap(apperr.Conflict, err, "someone else changed the policy at the same time; reload and try again")
	}
	if err != nil {
		return portal.Policy{}, fmt.Errorf("save policy: %w", err)
	}
	return row.policy()
}

// requestRow is a requests row joined with its requester's e-mail.
type requestRow struct {
	ID                int64      `db:"id"`
	Operation         string     `db:"operation"`
	DRTaskID          string     `db:"dr_task_id"`
	TaskName          string     `db:"task_name"`
	TargetKey         string     `db:"target_key"`
	Method            string     `db:"method"`
	Path              string     `db:"path"`
	Payload           string     `db:"payload"`
	PayloadSHA256     []byte     `db:"payload_sha256"`
	RequesterID       int64      `db:"requester_id"`
	RequesterEmail    string     `db:"requester_email"`
	Justification     string     `db:"justification"`
	Status            string     `db:"status"`
	RequiredApprovals int        `db:"required_approvals"`
	PolicyVersion     int        `db:"policy_version"`
	CreatedAt         time.Time  `db:"created_at"`
	ExpiresAt         time.Time  `db:"expires_at"`
	ApprovedAt        *time.Time `db:"approved_at"`
	ApprovalExpiresAt *time.Time `db:"approval_expires_at"`
	StartedAt         *time.Time `db:"started_at"`
	FinishedAt        *time.Time `db:"finished_at"`
	CallState         string     `db:"call_state"`
	CallAttempts      int        `db:"call_attempts"`
	FollowDeadline    *time.Time `db:"follow_deadline"`
	LastSeenStatus    string     `db:"last_seen_status"`
	Outcome           string     `db:"outcome"`
	ErrorCode         string     `db:"error_code"`
	ErrorMsg          string     `db:"error_msg"`
	ErrorRequestID    string     `db:"error_request_id"`
	PreStatus         string     `db:"pre_status"`
	PrePrimaryID      string     `db:"pre_primary_id"`
	PreStartTime      string     `db:"pre_start_time"`
	SeenTransient     bool       `db:"seen_transient"`
	Consequence       string     `db:"consequence"`
	ConfirmName       string     `db:"confirm_name"`
	CheckedAt         *time.Time `db:"checked_at"`
	CheckProblems     []string   `db:"check_problems"`
	CheckError        string     `db:"check_error"`
	ExecHolder        string     `db:"exec_holder"`
	LeaseLapsed       bool       `db:"lease_lapsed"`
	Resumes           int        `db:"resumes"`
	ResumedAt         *time.Time `db:"resumed_at"`
	Summary           []byte     `db:"summary"`
	Incident          string     `db:"incident"`
}

func (r requestRow) request() portal.Request {
	return portal.Request{ID: r.ID, Operation: portal.Operation(r.Operation), DRTaskID: r.DRTaskID, TaskName: r.TaskName,
		TargetKey: r.TargetKey, Method: r.Method, Path: r.Path, Payload: []byte(r.Payload), PayloadSHA256: r.PayloadSHA256,
		RequesterID: r.RequesterID, RequesterEmail: r.RequesterEmail, Justification: r.Justification,
		Status: portal.RequestStatus(r.Status), RequiredApprovals: r.RequiredApprovals, PolicyVersion: r.PolicyVersion,
		CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, ApprovedAt: r.ApprovedAt, ApprovalExpiresAt: r.ApprovalExpiresAt,
		StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, CallState: portal.CallState(r.CallState),
		CallAttempts: r.CallAttempts, FollowDeadline: r.FollowDeadline, LastSeenStatus: portal.TaskStatus(r.LastSeenStatus),
		Outcome: r.Outcome, ErrorCode: r.ErrorCode, ErrorMsg: r.ErrorMsg, ErrorRequestID: r.ErrorRequestID,
		PreStatus: portal.TaskStatus(r.PreStatus), PrePrimaryID: r.PrePrimaryID, PreStartTime: r.PreStartTime,
		SeenTransient: r.SeenTransient, Consequence: r.Consequence, ConfirmName: r.ConfirmName,
		CheckedAt: r.CheckedAt, CheckProblems: r.CheckProblems, CheckError: r.CheckError,
		ExecHolder: r.ExecHolder, LeaseLapsed: r.LeaseLapsed, Resumes: r.Resumes, ResumedAt: r.ResumedAt,
		Summary: decodeSummary(r.Summary), Incident: r.Incident}
}

// decodeSummary reads a request's stored summary; one that cannot be read
// shows as none (the page then shows the payload as sent).
func decodeSummary(b []byte) portal.RequestSummary {
	var s portal.RequestSummary
	if len(b) > 0 && json.Unmarshal(b, &s) != nil {
		return portal.RequestSummary{}
	}
	return s
}

const requestSelect = `SELECT r.id, r.operation, COALESCE(r.dr_task_id, '') AS dr_task_id, r.task_name, r.target_key,
	r.method, r.path, r.payload, r.payload_sha256, r.requester_id, u.email AS requester_email, r.justification, r.status,
	r.required_approvals, r.policy_version, r.created_at, r.expires_at, r.approved_at, r.approval_expires_at,
	r.started_at, r.finished_at, r.call_state, r.call_attempts, r.follow_deadline, r.last_seen_status, r.outcome,
	r.error_code, r.error_msg, r.error_request_id, r.pre_status, r.pre_primary_id, r.pre_start_time, r.seen_transient,
	r.consequence, r.confirm_name, r.checked_at, r.check_problems, r.check_error,
	COALESCE(r.exec_holder, '') AS exec_holder, COALESCE(r.exec_lease_until < now(), false) AS lease_lapsed,
	r.resumes, r.resumed_at, r.summary, COALESCE(bg.incident, '') AS incident
	FROM requests r JOIN users u ON u.id = r.requester_id LEFT JOIN break_glass bg ON bg.request_id = r.id `

func collectRequests(rows pgx.Rows, err error) ([]portal.Request, error) {
	if err != nil {
		return nil, err
	}
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[requestRow])
	if err != nil {
		return nil, err
	}
	out := make([]portal.Request, len(rs))
	for i, r := range rs {
		out[i] = r.request()
	}
	return out, nil
}

// findRequest reads one request; forUpdate locks its row until commit,
// which serialises decisions on one request.
func findRequest(ctx context.Context, q querier, id int64, forUpdate bool) (portal.Request, error) {
	sql := requestSelect + `WHERE r.id = $1`
	if forUpdate {
		sql += ` FOR UPDATE OF r`
	}
	rows, err := q.Query(ctx, sql, id)
	if err != nil {
		return portal.Request{}, fmt.Errorf("read request %d: %w", id, err)
	}
	row, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[requestRow])
	if err != nil {
		return portal.Request{}, notFound(err, fmt.Sprintf("There is no request #%d.", id))
	}
	return row.request(), nil
}

// Request returns one request.
func (s *Store) Request(ctx context.Context, id int64) (portal.Request, error) {
	return findRequest(ctx, s.pool, id, false)
}

// Request returns one request inside the transaction; forUpdate locks its
// row until commit.
func (t *Tx) Request(ctx context.Context, id int64, forUpdate bool) (portal.Request, error) {
	return findRequest(ctx, t.tx, id, forUpdate)
}

// InsertRequest files a request and returns it with its id. Filing checks
// the live preconditions, so a filed request starts out checked.
func (t *Tx) InsertRequest(ctx context.Context, r portal.Request) (portal.Request, error) {
	summary, err := json.Marshal(r.Summary)
	if err != nil {
		return portal.Request{}, fmt.Errorf("file request: summary: %w", err)
	}
	var id int64
	err = t.tx.QueryRow(ctx, `
		INSERT INTO requests (operation, dr_task_id, task_name, target_key, method, path, payload, payload_sha256,
			requester_id, justification, status, required_approvals, policy_version, created_at, expires_at,
			consequence, confirm_name, checked_at, summary)
		VALUES ($1, NULLIF($2, ''), $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $14, $18)
		RETURNING id`,
		string(r.Operation), r.DRTaskID, r.TaskName, r.TargetKey, r.Method, r.Path, string(r.Payload), r.PayloadSHA256,
		r.RequesterID, r.Justification, string(r.Status), r.RequiredApprovals, r.PolicyVersion, r.CreatedAt, r.ExpiresAt,
		r.Consequence, r.ConfirmName, summary).Scan(&id)
	if err != nil {
		return portal.Request{}, fmt.Errorf("file request: %w", err)
	}
	return t.Request(ctx, id, false)
}

// Guarded request transitions. Each is one UPDATE naming the columns it
// sets, applied only while the request is in one of the given statuses
// (and, for the executor's steps, in the given call state), so two actors
// can never both move it. Package requests decides which to make.

// move runs one guarded UPDATE of request id and returns the new row. It
// is a Conflict when the request is no longer in one of from; an approved
// or executing request colliding with another on the same target is a
// Conflict too (the database allows one at a time).
func (t *Tx) move(ctx context.Context, id int64, from []portal.RequestStatus, call portal.CallState, set string, args ...any) (portal.Request, error) {
	return t.moveIf(ctx, id, from, call, "", set, args...)
}

// moveIf is move with one more condition (cond, "" for none), which may
// refer to the arguments after set's.
func (t *Tx) moveIf(ctx context.Context, id int64, from []portal.RequestStatus, call portal.CallState, cond, set string, args ...any) (portal.Request, error) {
	statuses := make([]string, len(from))
	for i, st := range from {
		statuses[i] = string(st)
	}
	sql := `UPDATE requests SET ` + set + ` WHERE id = $1 AND status = ANY($2) AND ($3 = '' OR call_state = $3)`
	if cond != "" {
		sql += ` AND ` + cond
	}
	tag, err := t.tx.Exec(ctx, sql, append([]any{id, statuses, string(call)}, args...)...)
	if isUniqueViolation(err) {
		return portal.Request{}, apperr.Wrap(apperr.Conflict, err,
			"Another request for the same DR task is already approved or executing; this one can go ahead once it has finished.")
	}
	if err != nil {
		return portal.Request{}, fmt.Errorf("update request %d: %w", id, err)
	}
	if tag.RowsAffected() != 1 {
		cur, err := t.Request(ctx, id, false)
		if err != nil {
			return portal.Request{}, err
		}
		if cond != "" {
			return portal.Request{}, apperr.New(apperr.Conflict, "Request #%d is %s now, or this run no longer holds it, so this can no longer be done.", id, cur.Status)
		}
		return portal.Request{}, apperr.New(apperr.Conflict, "Request #%d is %s now, so this can no longer be done.", id, cur.Status)
	}
	return t.Request(ctx, id, false)
}

// ApproveRequest: pending → approved, its approval lasting until until.
func (t *Tx) ApproveRequest(ctx context.Context, id int64, from []portal.RequestStatus, at, until time.Time) (portal.Request, error) {
	return t.move(ctx, id, from, "", `status = 'approved', approved_at = $4, approval_expires_at = $5`, at, until)
}

// EndRequest ends a request in status to (rejected, cancelled, expired,
// succeeded, failed) with its outcome and the cloud's error behind it
// (empty strings clear an earlier attempt's error).
func (t *Tx) EndRequest(ctx context.Context, id int64, from []portal.RequestStatus, to portal.RequestStatus, at time.Time,
	outcome string, ce CloudError) (portal.Request, error) {
	return t.move(ctx, id, from, "", `status = $4, finished_at = $5, outcome = $6,
		error_code = $7, error_msg = $8, error_request_id = $9`, to, at, outcome, ce.Code, ce.Message, ce.RequestID)
}

// CancelApproved: approved → cancelled, for a request that has not
// started: still approved, with no call state recorded. The executor's
// BeginExecution moves the same row from approved to executing, so of the
// two only one can happen; once the executor has, this is a Conflict. The
// request's outcome says who cancelled it and why.
func (t *Tx) CancelApproved(ctx context.Context, id int64, at time.Time, outcome string) (portal.Request, error) {
	return t.move(ctx, id, []portal.RequestStatus{portal.StatusApproved}, portal.CallNone,
		`status = 'cancelled', finished_at = $4, outcome = $5`, at, outcome)
}

// CloudError is the cloud's answer behind a failed attempt, as a request
// keeps it.
type CloudError struct {
	Code      string
	Message   string
	RequestID string
}

// BeginExecution: approved → executing.
func (t *Tx) BeginExecution(ctx context.Context, id int64, from []portal.RequestStatus, at time.Time) (portal.Request, error) {
	return t.move(ctx, id, from, "", `status = 'executing', started_at = $4`, at)
}

// Snapshot is the task as the executor saw it right before an operation's call.
type Snapshot struct {
	Status    portal.TaskStatus
	PrimaryID string
	StartTime string
}

// RecordIntent: about to call (call state none → intent), with the
// pre-call snapshot for an operation (nil for a create). Only the run that
// holds the request's lease, unexpired, may: a run that was taken over for
// dead can never send afterwards.
func (t *Tx) RecordIntent(ctx context.Context, id int64, holder string, snap *Snapshot) (portal.Request, error) {
	executing := []portal.RequestStatus{portal.StatusExecuting}
	if snap == nil {
		return t.moveIf(ctx, id, executing, portal.CallNone, `exec_holder = $4 AND exec_lease_until > now()`,
			`call_state = 'intent', call_attempts = call_attempts + 1`, holder)
	}
	return t.moveIf(ctx, id, executing, portal.CallNone, `exec_holder = $4 AND exec_lease_until > now()`,
		`call_state = 'intent', call_attempts = call_attempts + 1, pre_status = $5, pre_primary_id = $6, pre_start_time = $7`,
		holder, string(snap.Status), snap.PrimaryID, snap.StartTime)
}

// RecordNotSent: the call surely did not take effect (intent → none);
// ce is why (refused for now), or empty when a look showed nothing happened.
func (t *Tx) RecordNotSent(ctx context.Context, id int64, ce CloudError) (portal.Request, error) {
	return t.move(ctx, id, []portal.RequestStatus{portal.StatusExecuting}, portal.CallIntent,
		`call_state = 'none', error_code = $4, error_msg = $5, error_request_id = $6`, ce.Code, ce.Message, ce.RequestID)
}

// AcceptCall: the cloud took the call (intent → accepted); the request
// follows taskID until deadline, and an earlier attempt's error is cleared.
func (t *Tx) AcceptCall(ctx context.Context, id int64, taskID string, deadline time.Time) (portal.Request, error) {
	return t.move(ctx, id, []portal.RequestStatus{portal.StatusExecuting}, portal.CallIntent,
		`call_state = 'accepted', dr_task_id = COALESCE(NULLIF($4, ''), dr_task_id), follow_deadline = $5,
		error_code = '', error_msg = '', error_request_id = ''`, taskID, deadline)
}

// ObserveStatus records the task status seen while following, and whether
// it is the operation's transient one (once seen, it stays seen).
func (t *Tx) ObserveStatus(ctx context.Context, id int64, status portal.TaskStatus, transient bool) (portal.Request, error) {
	return t.move(ctx, id, []portal.RequestStatus{portal.StatusExecuting}, portal.CallAccepted,
		`last_seen_status = $4, seen_transient = seen_transient OR $5`, string(status), transient)
}

// Execution leases. A run of the executor holds the request it works on
// for a while and renews the hold while it works, so that a run that died
// is told from one that is merely slow. Lease times are the database's
// clock, the same for every replica. Holding is bookkeeping about who works
// on a request, like the job queue's own rows, not a change of the
// request: only the takeover of a dead run's request is a transition
// (ResumeExecution).

// activeStatuses are the statuses a run can hold a request in.
var activeStatuses = []string{string(portal.StatusApproved), string(portal.StatusExecuting)}

// HoldExecution makes holder the run working on request id for d, when
// the request is approved or executing, has been resumed exactly resumes
// times (a job of an earlier resumption has been superseded) and no run
// holds it. It reports whether holder now holds it.
func (s *Store) HoldExecution(ctx context.Context, id int64, resumes int, holder string, d time.Duration) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE requests SET exec_holder = $4, exec_lease_until = now() + $5 * interval '1 millisecond'
		WHERE id = $1 AND status = ANY($2) AND resumes = $3 AND exec_holder IS NULL`,
		id, activeStatuses, resumes, holder, d.Milliseconds())
	if err != nil {
		return false, fmt.Errorf("hold request %d: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}

// RenewExecution extends holder's hold on request id to d from now. It
// reports false when holder no longer holds it: its lease ran out, or the
// request was taken over or released.
func (s *Store) RenewExecution(ctx context.Context, id int64, holder string, d time.Duration) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE requests SET exec_lease_until = now() + $3 * interval '1 millisecond'
		WHERE id = $1 AND exec_holder = $2 AND exec_lease_until > now()`, id, holder, d.Milliseconds())
	if err != nil {
		return false, fmt.Errorf("renew hold on request %d: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}

// ReleaseExecution ends holder's hold on request id, if it still has it.
func (s *Store) ReleaseExecution(ctx context.Context, id int64, holder string) error {
	_, err := s.pool.Exec(ctx, `UPDATE requests SET exec_holder = NULL, exec_lease_until = NULL, exec_released_at = now()
		WHERE id = $1 AND exec_holder = $2`, id, holder)
	if err != nil {
		return fmt.Errorf("release request %d: %w", id, err)
	}
	return nil
}

// LapsedExecution is a request whose run died: it stopped renewing its
// hold (Holder names it), or its job is running with no run holding the
// request (Job; the process died between the queue starting the job and
// the run taking the hold, or between the run letting go and the queue
// recording it).
type LapsedExecution struct {
	RequestID int64  `db:"id"`
	Holder    string `db:"exec_holder"`
	Resumes   int    `db:"resumes"`
	Job       int64  `db:"job_id"`
}

// LapsedExecutions returns up to limit approved or executing requests
// whose run died: its lease ran out, or its job (of kind, at the request's
// current resumption) has been running for longer than lease with no run
// holding the request, nor any letting go of it for as long. A run holds
// the request within moments of its job starting, and the queue records
// its end within moments of it letting go, so such a job's worker is gone.
func (s *Store) LapsedExecutions(ctx context.Context, kind string, lease time.Duration, limit int) ([]LapsedExecution, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT id, exec_holder, resumes, 0::bigint AS job_id FROM requests
		WHERE exec_holder IS NOT NULL AND exec_lease_until < now() AND status = ANY($1)
		UNION ALL
		SELECT r.id, '' AS exec_holder, r.resumes, j.id AS job_id
		FROM river_job j JOIN requests r ON r.id = (j.args->>'request_id')::bigint
		WHERE j.state = 'running' AND j.kind = $2 AND j.attempted_at < now() - $3 * interval '1 millisecond'
			AND COALESCE((j.args->>'resume')::integer, 0) = r.resumes AND r.exec_holder IS NULL AND r.status = ANY($1)
			AND (r.exec_released_at IS NULL OR r.exec_released_at < now() - $3 * interval '1 millisecond')
		LIMIT $4`, activeStatuses, kind, lease.Milliseconds(), limit)
	if err != nil {
		return nil, fmt.Errorf("lapsed executions: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByName[LapsedExecution])
	if err != nil {
		return nil, fmt.Errorf("lapsed executions: %w", err)
	}
	return out, nil
}

// ResumeExecution takes request id over from a run that died (l, as
// LapsedExecutions found it): the hold is cleared, the takeover counted and
// timed. Only one replica can: for the others the run's hold or the count
// has changed (a Conflict).
func (t *Tx) ResumeExecution(ctx context.Context, l LapsedExecution, at time.Time) (portal.Request, error) {
	cond := `exec_holder IS NULL AND $4 = '' AND resumes = $5`
	if l.Holder != "" {
		cond = `exec_holder = $4 AND exec_lease_until < now() AND resumes = $5`
	}
	return t.moveIf(ctx, l.RequestID, []portal.RequestStatus{portal.StatusApproved, portal.StatusExecuting}, "", cond,
		`exec_holder = NULL, exec_lease_until = NULL, resumes = resumes + 1, resumed_at = $6`, l.Holder, l.Resumes, at)
}

// RequestFilter selects requests for the requests page.
type RequestFilter struct {
	// AwaitingUser > 0: pending requests this user may still decide, and
	// those of AwaitingReview (the emergencies whose post-incident review
	// awaits them).
	AwaitingUser   int64
	AwaitingReview []int64
	// RequesterID > 0: requests filed by this user; RequesterSession: by
	// the user of the session with this token hash.
	RequesterID      int64
	RequesterSession []byte
	Status           portal.RequestStatus
	Operation        portal.Operation
	DRTaskID         string
	// Open: requests still waiting or running (pending, approved, executing).
	Open bool
	Now  time.Time
}

func (f RequestFilter) where() (string, []any) {
	var conds []string
	var args []any
	add := func(cond string, arg any) {
		args = append(args, arg)
		conds = append(conds, strings.ReplaceAll(cond, "?", fmt.Sprintf("$%d", len(args))))
	}
	if f.AwaitingUser > 0 {
		args = append(args, f.AwaitingUser, f.Now)
		n := len(args)
		cond := awaitingCond("r", fmt.Sprintf("$%d", n-1), fmt.Sprintf("$%d", n))
		if len(f.AwaitingReview) > 0 {
			args = append(args, f.AwaitingReview)
			cond = fmt.Sprintf("((%s) OR r.id = ANY($%d))", cond, len(args))
		}
		conds = append(conds, cond)
	}
	if f.RequesterID > 0 {
		add(`r.requester_id = ?`, f.RequesterID)
	}
	if f.RequesterSession != nil {
		add(`r.requester_id = (SELECT user_id FROM sessions WHERE token_hash = ?)`, f.RequesterSession)
	}
	if f.Status != "" {
		add(`r.status = ?`, string(f.Status))
	}
	if f.Operation != "" {
		add(`r.operation = ?`, string(f.Operation))
	}
	if f.DRTaskID != "" {
		add(`r.dr_task_id = ?`, f.DRTaskID)
	}
	if f.Open {
		conds = append(conds, `r.status IN ('pending', 'approved', 'executing')`)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return "WHERE " + strings.Join(conds, " AND "), args
}

// awaitingCond is the one definition of "awaiting this user's decision":
// request alias r is pending, not filed by user, not expired at now, not
// decided by user yet, and filed after user became an approver.
func awaitingCond(r, user, now string) string {
	return strings.NewReplacer("r.", r+".", "$user", user, "$now", now).Replace(
		`r.status = 'pending' AND r.requester_id <> $user AND r.expires_at > $now
			AND NOT EXISTS (SELECT 1 FROM approvals a WHERE a.request_id = r.id AND a.approver_id = $user)
			AND EXISTS (SELECT 1 FROM user_roles g WHERE g.user_id = $user AND g.role = 'approver' AND g.granted_at <= r.created_at)`)
}

// ListRequests returns up to limit requests matching f, newest first.
func (s *Store) ListRequests(ctx context.Context, f RequestFilter, limit int) ([]portal.Request, error) {
	where, args := f.where()
	args = append(args, limit)
	out, err := collectRequests(s.pool.Query(ctx, requestSelect+where+fmt.Sprintf(` ORDER BY r.id DESC LIMIT $%d`, len(args)), args...))
	if err != nil {
		return nil, fmt.Errorf("list requests: %w", err)
	}
	return out, nil
}

// RequestTaskState is what the stored copy of its task says of a request,
// as far as whether it can still run depends on it (requests.CannotRun).
type RequestTaskState struct {
	RequestID       int64
	Operation       portal.Operation
	TaskID          string
	Known, Gone     bool
	Status          portal.TaskStatus
	PrimaryStatus   string // the current primary's DR status, from the stored detail
	LastSucceededOp portal.Operation
}

// ListRequestsWithStates is what the request list shows: the requests
// ListRequests would return, with only the fields of briefRequestColumns,
// ApprovedAt and (for a cancelled one: who cancelled it, why) Outcome set,
// the task state of each (a list shows which requests cannot run,
// requests.CannotRunOf) and the decisions on its pending rows, by request
// id, in one round trip.
func (s *Store) ListRequestsWithStates(ctx context.Context, f RequestFilter, limit int) ([]portal.Request, []RequestTaskState, map[int64][]portal.Approval, error) {
	b := &pgx.Batch{}
	list := QueueRequestsWithStates(b, f, limit)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, nil, nil, fmt.Errorf("list requests: %w", err)
	}
	rs, states, approvals := list()
	return rs, states, approvals, nil
}

// QueueRequestsWithStates queues ListRequestsWithStates's reads in b; the
// function it returns gives what they read once b has run.
func QueueRequestsWithStates(b *pgx.Batch, f RequestFilter, limit int) func() ([]portal.Request, []RequestTaskState, map[int64][]portal.Approval) {
	where, args := f.where()
	args = append(args, limit)
	page := where + fmt.Sprintf(` ORDER BY r.id DESC LIMIT $%d`, len(args))
	rs := make([]portal.Request, 0, min(limit, 100))
	var states []RequestTaskState
	approvals := map[int64][]portal.Approval{}
	// One query reads both: the request's columns and its task's state.
	b.Queue(requestTaskStateColumns+`, r.task_name, r.requester_id, u.email, r.status,
		r.required_approvals, r.created_at, r.expires_at, r.resumed_at, COALESCE(r.exec_lease_until < now(), false),
		COALESCE(bg.incident, ''), r.approved_at, CASE WHEN r.status = 'cancelled' THEN r.outcome ELSE '' END,
		r.payload_sha256, r.policy_version
		FROM requests r JOIN users u ON u.id = r.requester_id LEFT JOIN dr_tasks t ON t.id = r.dr_task_id
		LEFT JOIN break_glass bg ON bg.request_id = r.id `+page, args...).Query(func(rows pgx.Rows) error {
		var st RequestTaskState
		var op, taskStatus, last, status string
		var r portal.Request
		_, err := pgx.ForEachRow(rows, []any{&st.RequestID, &op, &st.TaskID, &st.Known, &st.Gone, &taskStatus, &st.PrimaryStatus, &last,
			&r.TaskName, &r.RequesterID, &r.RequesterEmail, &status, &r.RequiredApprovals, &r.CreatedAt, &r.ExpiresAt, &r.ResumedAt,
			&r.LeaseLapsed, &r.Incident, &r.ApprovedAt, &r.Outcome, &r.PayloadSHA256, &r.PolicyVersion}, func() error {
			st.Operation, st.Status, st.LastSucceededOp = portal.Operation(op), portal.TaskStatus(taskStatus), portal.Operation(last)
			states = append(states, st)
			r.ID, r.Operation, r.DRTaskID, r.Status = st.RequestID, st.Operation, st.TaskID, portal.RequestStatus(status)
			rs = append(rs, r)
			r.ResumedAt, r.ApprovedAt, r.PayloadSHA256 = nil, nil, nil // what the next row must not share
			return nil
		})
		return err
	})
	// The decisions on the page's pending rows, which a row counts ("1 of
	// 2"), in the same round trip.
	b.Queue(approvalsSelect+`WHERE a.request_id IN (SELECT r.id FROM requests r `+page+`) AND a.request_id IN (
		SELECT p.id FROM requests p WHERE p.status = 'pending') ORDER BY a.decided_at, a.approver_id`, args...).Query(func(rows pgx.Rows) error {
		all, err := collectApprovals(rows)
		for _, a := range all {
			approvals[a.RequestID] = append(approvals[a.RequestID], a)
		}
		return err
	})
	return func() ([]portal.Request, []RequestTaskState, map[int64][]portal.Approval) {
		return rs, states, approvals
	}
}

// RequestTaskStatesOf reads, in one query, the task state of each of the
// requests with the given ids.
func (s *Store) RequestTaskStatesOf(ctx context.Context, ids []int64) ([]RequestTaskState, error) {
	return s.requestTaskStates(ctx, `WHERE r.id = ANY($1)`, ids)
}

func (s *Store) requestTaskStates(ctx context.Context, rest string, args ...any) ([]RequestTaskState, error) {
	return collectRequestTaskStates(s.pool.Query(ctx, requestTaskStatesSQL+rest, args...))
}

// requestTaskStatesSQL reads RequestTaskStates; a WHERE clause on r (the
// request) and u (its requester) follows. detail is portal.EncodeTask's
// {"version":1,"task":{...}}. Only the rules of failover (the primary's DR
// status) and recovery (the last operation) need more than the status:
// the rest is not read.
const requestTaskStatesSQL = requestTaskStateColumns + ` FROM requests r JOIN users u ON u.id = r.requester_id LEFT JOIN dr_tasks t ON t.id = r.dr_task_id `

// requestTaskStateColumns are requestTaskStatesSQL's columns, on requests
// r left-joined with dr_tasks t.
const requestTaskStateColumns = `SELECT r.id, r.operation, COALESCE(r.dr_task_id, ''), t.id IS NOT NULL, t.gone_at IS NOT NULL,
		COALESCE(t.status, ''),
		CASE WHEN r.operation = 'failover' THEN COALESCE(t.detail->'task'->'primary'->>'status', '') ELSE '' END,
		CASE WHEN r.operation = 'recovery' THEN COALESCE((SELECT x.operation FROM requests x
			WHERE x.dr_task_id = r.dr_task_id AND x.status = 'succeeded' ORDER BY x.finished_at DESC, x.id DESC LIMIT 1), '') ELSE '' END`

func collectRequestTaskStates(rows pgx.Rows, err error, more ...any) ([]RequestTaskState, error) {
	if err != nil {
		return nil, fmt.Errorf("task states of requests: %w", err)
	}
	var out []RequestTaskState
	var st RequestTaskState
	var op, status, last string
	// more are the destinations of columns after the state's, if any.
	_, err = pgx.ForEachRow(rows, append([]any{&st.RequestID, &op, &st.TaskID, &st.Known, &st.Gone, &status, &st.PrimaryStatus, &last}, more...),
		func() error {
			st.Operation, st.Status, st.LastSucceededOp = portal.Operation(op), portal.TaskStatus(status), portal.Operation(last)
			out = append(out, st)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("task states of requests: %w", err)
	}
	return out, nil
}

// CountRequests counts the requests matching f.
func (s *Store) CountRequests(ctx context.Context, f RequestFilter) (int, error) {
	where, args := f.where()
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM requests r `+where, args...).Scan(&n)
	return n, err
}

// approvalRow is an approvals row with its approver's e-mail.
type approvalRow struct {
	RequestID     int64     `db:"request_id"`
	ApproverID    int64     `db:"approver_id"`
	ApproverEmail string    `db:"approver_email"`
	Decision      string    `db:"decision"`
	Comment       string    `db:"comment"`
	PayloadSHA256 []byte    `db:"payload_sha256"`
	PolicyVersion int       `db:"policy_version"`
	DecidedAt     time.Time `db:"decided_at"`
	ApproverNow   bool      `db:"approver_now"`
	WhenFiled     bool      `db:"approver_when_filed"`
}

// InsertApproval records a decision. A second decision by the same person
// on the same request is a Conflict.
func (t *Tx) InsertApproval(ctx context.Context, a portal.Approval) error {
	_, err := t.tx.Exec(ctx, `
		INSERT INTO approvals (request_id, approver_id, decision, comment, payload_sha256, policy_version, decided_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		a.RequestID, a.ApproverID, string(a.Decision), a.Comment, a.PayloadSHA256, a.PolicyVersion, a.DecidedAt)
	if isUniqueViolation(err) {
		return apperr.Wrap(apperr.Conflict, err, "You have already decided on request #%d.", a.RequestID)
	}
	if err != nil {
		return fmt.Errorf("record decision on request %d: %w", a.RequestID, err)
	}
	return nil
}

const approvalsSelect = `SELECT a.request_id, a.approver_id, u.email AS approver_email, a.decision, a.comment,
		a.payload_sha256, a.policy_version, a.decided_at,
		u.active AND EXISTS (SELECT 1 FROM user_roles x WHERE x.user_id = u.id AND x.role = 'approver') AS approver_now,
		EXISTS (SELECT 1 FROM user_roles x WHERE x.user_id = u.id AND x.role = 'approver' AND x.granted_at <= q.created_at) AS approver_when_filed
		FROM approvals a JOIN users u ON u.id = a.approver_id JOIN requests q ON q.id = a.request_id `

func findApprovals(ctx context.Context, q querier, requestID int64) ([]portal.Approval, error) {
	rows, err := q.Query(ctx, approvalsSelect+`WHERE a.request_id = $1 ORDER BY a.decided_at, a.approver_id`, requestID)
	if err != nil {
		return nil, fmt.Errorf("read decisions on request %d: %w", requestID, err)
	}
	return collectApprovals(rows)
}

func collectApprovals(rows pgx.Rows) ([]portal.Approval, error) {
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[approvalRow])
	if err != nil {
		return nil, fmt.Errorf("read decisions: %w", err)
	}
	out := make([]portal.Approval, len(rs))
	for i, a := range rs {
		out[i] = portal.Approval{RequestID: a.RequestID, ApproverID: a.ApproverID, ApproverEmail: a.ApproverEmail,
			Decision: portal.Decision(a.Decision), Comment: a.Comment, PayloadSHA256: a.PayloadSHA256,
			PolicyVersion: a.PolicyVersion, DecidedAt: a.DecidedAt, ApproverNow: a.ApproverNow,
			ApproverWhenFiled: a.WhenFiled}
	}
	return out, nil
}

// Approvals returns the decisions on a request, oldest first.
func (s *Store) Approvals(ctx context.Context, requestID int64) ([]portal.Approval, error) {
	return findApprovals(ctx, s.pool, requestID)
}

// Approvals returns the decisions on a request inside the transaction.
func (t *Tx) Approvals(ctx context.Context, requestID int64) ([]portal.Approval, error) {
	return findApprovals(ctx, t.tx, requestID)
}

// ClaimCheck claims a new precondition check of request id at now, unless
// one was made less than minInterval ago or the request is no longer
// waiting to run. It returns the claim's time as stored (the key RecordCheck
// needs) and whether the claim was made; the claim itself is what limits
// the rate, whichever replica or person asks.
func (s *Store) ClaimCheck(ctx context.Context, id int64, now time.Time, minInterval time.Duration) (time.Time, bool, error) {
	now = now.Truncate(time.Microsecond) // what PostgreSQL keeps
	tag, err := s.pool.Exec(ctx, `UPDATE requests SET checked_at = $2
		WHERE id = $1 AND status IN ('pending', 'approved') AND (checked_at IS NULL OR checked_at <= $3)`,
		id, now, now.Add(-minInterval))
	if err != nil {
		return now, false, fmt.Errorf("claim check of request %d: %w", id, err)
	}
	return now, tag.RowsAffected() == 1, nil
}

// RecordCheck stores the result of the check claimed at claimedAt.
func (t *Tx) RecordCheck(ctx context.Context, id int64, claimedAt time.Time, problems []string, cloudErr string) error {
	if problems == nil {
		problems = []string{}
	}
	_, err := t.tx.Exec(ctx, `UPDATE requests SET check_problems = $3, check_error = $4 WHERE id = $1 AND checked_at = $2`,
		id, claimedAt, problems, cloudErr)
	if err != nil {
		return fmt.Errorf("record check of request %d: %w", id, err)
	}
	return nil
}

// PendingTwin returns the id of a pending, unexpired request at now for
// the same operation on the same target (a create: the same name, ignoring
// case), or 0. It first takes a lock on the target until commit, so that
// of two people filing the same request at once, the second sees the first.
func (t *Tx) PendingTwin(ctx context.Context, targetKey string, op portal.Operation, now time.Time) (int64, error) {
	if _, err := t.tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('request:' || $1, 0))`, targetKey); err != nil {
		return 0, fmt.Errorf("lock target %s: %w", targetKey, err)
	}
	return pendingTwin(ctx, t.tx, targetKey, op, now)
}

// PendingTwin is Tx.PendingTwin for pages: a read, with no lock.
func (s *Store) PendingTwin(ctx context.Context, targetKey string, op portal.Operation, now time.Time) (int64, error) {
	return pendingTwin(ctx, s.pool, targetKey, op, now)
}

func pendingTwin(ctx context.Context, q querier, targetKey string, op portal.Operation, now time.Time) (int64, error) {
	var id int64
	err := q.QueryRow(ctx, `SELECT id FROM requests WHERE target_key = $1 AND operation = $2 AND status = 'pending'
		AND expires_at > $3 ORDER BY id LIMIT 1`, targetKey, string(op), now).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("pending requests on %s: %w", targetKey, err)
	}
	return id, nil
}

// PendingRequestsOf returns the ids of the pending requests a user filed.
func (t *Tx) PendingRequestsOf(ctx context.Context, userID int64) ([]int64, error) {
	rows, err := t.tx.Query(ctx, `SELECT id FROM requests WHERE requester_id = $1 AND status = 'pending' ORDER BY id`, userID)
	if err != nil {
		return nil, fmt.Errorf("pending requests of user %d: %w", userID, err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// DuePendingRequests returns the ids of pending requests whose time is up.
func (s *Store) DuePendingRequests(ctx context.Context, now time.Time, limit int) ([]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM requests WHERE status = 'pending' AND expires_at <= $1
		ORDER BY expires_at LIMIT $2`, now, limit)
	if err != nil {
		return nil, fmt.Errorf("due requests: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// RequestTimeline returns the newest limit audit events about one
// request, oldest first.
func (s *Store) RequestTimeline(ctx context.Context, requestID int64, limit int) ([]audit.Event, error) {
	rows, err := s.pool.Query(ctx, requestTimelineSQL(limit), requestID)
	if err != nil {
		return nil, fmt.Errorf("request timeline %d: %w", requestID, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (audit.Event, error) { return scanAudit(r) })
}

// requestTimelineSQL reads request $1's newest limit events, oldest first.
// The limit is text, not a parameter, so the statement keeps one plan (as
// taskTimelineSQL).
func requestTimelineSQL(limit int) string {
	return fmt.Sprintf(`SELECT * FROM (SELECT %s FROM audit_events WHERE request_id = $1
		ORDER BY id DESC LIMIT %d) newest ORDER BY 1`, auditColumns, limit)
}

// LastSucceededOperation returns the operation of the newest succeeded
// request on a task ("" when none).
func (s *Store) LastSucceededOperation(ctx context.Context, taskID string) (portal.Operation, error) {
	var op string
	err := s.pool.QueryRow(ctx, `SELECT operation FROM requests WHERE dr_task_id = $1 AND status = 'succeeded'
		ORDER BY finished_at DESC, id DESC LIMIT 1`, taskID).Scan(&op)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("last operation on DR task %s: %w", taskID, err)
	}
	return portal.Operation(op), nil
}

// RequestPage is everything a request's page reads from the database but
// its history, read in one round trip.
type RequestPage struct {
	Request   portal.Request
	Approvals []portal.Approval
	// Policy is the policy version the request was filed under.
	Policy portal.Policy
	// Task is the portal's copy of the request's DR task (nil: none, or a
	// create not yet run); LastSucceeded the last operation that
	// succeeded on it.
	Task          *TaskRow
	LastSucceeded portal.Operation
	// State is what the request's task says of whether it can still run
	// (requests.CannotRunOf).
	State []RequestTaskState
	// Users are the accounts holding the approver role, for who can still
	// approve, with only their id, e-mail, name, whether active, and the
	// approver role with when it was granted set.
	Users []portal.User
	// Schedule is the change windows and freezes in force at the time
	// asked for.
	Schedule portal.Schedule
	// Timeline is the request's newest events, oldest first (when asked
	// for), as RequestTimeline reads them.
	Timeline []audit.Event
}

// RequestPage reads request id with its decisions, its policy, its task,
// its task state, the approvers, the schedule in force at now and, when
// timeline > 0, its newest events, as one batch.
func (s *Store) RequestPage(ctx context.Context, id int64, now time.Time, timeline int) (RequestPage, error) {
	b := &pgx.Batch{}
	page := QueueRequestPage(b, id, now, timeline)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return RequestPage{}, fmt.Errorf("read the page of request %d: %w", id, err)
	}
	return page()
}

// QueueRequestPage queues RequestPage's reads in b; the function it
// returns gives the page once b has run.
func QueueRequestPage(b *pgx.Batch, id int64, now time.Time, timeline int) func() (RequestPage, error) {
	var p RequestPage
	queueSchedule(b, now, &p.Schedule)
	if timeline > 0 {
		b.Queue(requestTimelineSQL(timeline), id).Query(func(rows pgx.Rows) error {
			var err error
			p.Timeline, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (audit.Event, error) { return scanAudit(r) })
			return err
		})
	}
	var reqErr, policyErr error
	b.Queue(requestSelect+`WHERE r.id = $1`, id).Query(func(rows pgx.Rows) error {
		row, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[requestRow])
		if err != nil {
			reqErr = notFound(err, fmt.Sprintf("There is no request #%d.", id))
			return nil
		}
		p.Request = row.request()
		return nil
	})
	b.Queue(approvalsSelect+`WHERE a.request_id = $1 ORDER BY a.decided_at, a.approver_id`, id).Query(func(rows pgx.Rows) error {
		var err error
		p.Approvals, err = collectApprovals(rows)
		return err
	})
	b.Queue(`SELECT `+policyColumns+` FROM approval_policies WHERE version = (SELECT policy_version FROM requests WHERE id = $1)`,
		id).Query(func(rows pgx.Rows) error {
		row, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[policyRow])
		if err != nil {
			policyErr = err
			return nil
		}
		p.Policy, policyErr = row.policy()
		return nil
	})
	b.Queue(`SELECT `+taskColumns+` FROM dr_tasks WHERE id = (SELECT dr_task_id FROM requests WHERE id = $1)`, id).Query(func(rows pgx.Rows) error {
		ts, err := collectTasks(rows, nil)
		if len(ts) == 1 {
			p.Task = &ts[0]
		}
		return err
	})
	b.Queue(`SELECT operation FROM requests WHERE dr_task_id = (SELECT dr_task_id FROM requests WHERE id = $1) AND status = 'succeeded'
		ORDER BY finished_at DESC, id DESC LIMIT 1`, id).Query(func(rows pgx.Rows) error {
		ops, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if len(ops) > 0 {
			p.LastSucceeded = portal.Operation(ops[0])
		}
		return err
	})
	b.Queue(requestTaskStatesSQL+`WHERE r.id = $1`, id).Query(func(rows pgx.Rows) error {
		var err error
		p.State, err = collectRequestTaskStates(rows, nil)
		return err
	})
	b.Queue(`SELECT u.id, u.email, u.display_name, u.active, g.granted_at FROM users u
		JOIN user_roles g ON g.user_id = u.id AND g.role = 'approver' ORDER BY u.email`).Query(func(rows pgx.Rows) error {
		u := portal.User{Roles: []portal.Role{portal.RoleApprover}}
		_, err := pgx.ForEachRow(rows, []any{&u.ID, &u.Email, &u.DisplayName, &u.Active, &u.ApproverSince}, func() error {
			p.Users = append(p.Users, u)
			return nil
		})
		return err
	})
	return func() (RequestPage, error) {
		if reqErr != nil {
			return RequestPage{}, reqErr
		}
		if policyErr != nil {
			return RequestPage{}, fmt.Errorf("read the policy of request %d: %w", id, policyErr)
		}
		return p, nil
	}
}

// ApprovedNotStarted returns the requests on DR task taskID that are
// approved but whose execution has not begun, locked until commit: a
// break-glass request supersedes them.
func (t *Tx) ApprovedNotStarted(ctx context.Context, taskID string) ([]portal.Request, error) {
	out, err := collectRequests(t.tx.Query(ctx, requestSelect+`WHERE r.dr_task_id = $1 AND r.status = 'approved' ORDER BY r.id FOR UPDATE OF r`, taskID))
	if err != nil {
		return nil, fmt.Errorf("approved requests on DR task %s: %w", taskID, err)
	}
	return out, nil
}

// ExecutingOn returns the id of the request executing on DR task taskID
// (0: none).
func (t *Tx) ExecutingOn(ctx context.Context, taskID string) (int64, error) {
	var id int64
	err := t.tx.QueryRow(ctx, `SELECT id FROM requests WHERE dr_task_id = $1 AND status = 'executing' ORDER BY id LIMIT 1`, taskID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("request executing on DR task %s: %w", taskID, err)
	}
	return id, nil
}

// ApprovedRequestIDs returns the ids of up to limit approved requests
// whose execution has not begun, oldest first.
func (t *Tx) ApprovedRequestIDs(ctx context.Context, limit int) ([]int64, error) {
	rows, err := t.tx.Query(ctx, `SELECT id FROM requests WHERE status = 'approved' ORDER BY id LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("approved requests: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("approved requests: %w", err)
	}
	return ids, nil
}

// JobsNotStarted returns the ids of the queue's jobs of kind whose
// argument key is id and that have not started (available, scheduled, or
// waiting to retry), locked until commit so that the queue cannot start
// them meanwhile. A running job is not among them.
func (t *Tx) JobsNotStarted(ctx context.Context, kind, key string, id int64) ([]int64, error) {
	rows, err := t.tx.Query(ctx, `SELECT id FROM river_job WHERE kind = $1 AND (args->>$2)::bigint = $3
		AND state IN ('available', 'scheduled', 'retryable') ORDER BY id FOR UPDATE`, kind, key, id)
	if err != nil {
		return nil, fmt.Errorf("%s jobs not started: %w", kind, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("%s jobs not started: %w", kind, err)
	}
	return ids, nil
}

// WaitingJobs returns the ids of the queue's jobs of kind whose argument
// key is id and that wait for a later time (scheduled, or to be retried).
func (t *Tx) WaitingJobs(ctx context.Context, kind, key string, id int64) ([]int64, error) {
	rows, err := t.tx.Query(ctx, `SELECT id FROM river_job WHERE kind = $1 AND (args->>$2)::bigint = $3
		AND state IN ('scheduled', 'retryable') ORDER BY id`, kind, key, id)
	if err != nil {
		return nil, fmt.Errorf("waiting %s jobs: %w", kind, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("waiting %s jobs: %w", kind, err)
	}
	return ids, nil
}

// RequestListReads is ListRequestsWithStates as reads for a session's
// batch (Reads); with mine, of the requests the session's user filed. The
// function it returns gives what they read once they have run.
func RequestListReads(f RequestFilter, mine bool, limit int) (Reads, func() ([]portal.Request, []RequestTaskState, map[int64][]portal.Approval)) {
	var list func() ([]portal.Request, []RequestTaskState, map[int64][]portal.Approval)
	reads := func(b *pgx.Batch, session []byte) {
		if mine {
			f.RequesterSession = session
		}
		list = QueueRequestsWithStates(b, f, limit)
	}
	return reads, func() ([]portal.Request, []RequestTaskState, map[int64][]portal.Approval) { return list() }
}

// RequestPageReads is RequestPage as reads for a session's batch (Reads);
// the function it returns gives the page once they have run.
func RequestPageReads(id int64, now time.Time, timeline int) (Reads, func() (RequestPage, error)) {
	var page func() (RequestPage, error)
	reads := func(b *pgx.Batch, _ []byte) { page = QueueRequestPage(b, id, now, timeline) }
	return reads, func() (RequestPage, error) { return page() }
}
