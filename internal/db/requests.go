package db

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"drportal/internal/apperr"
	"drportal/internal/audit"
)

// Policy is one version of the approval policy.
type Policy struct {
	Version     int
	Approvals   map[string]int // operation -> distinct approvals required
	PendingTTL  time.Duration
	ApprovalTTL time.Duration
	CreatedBy   int64
	CreatedAt   time.Time
}

const policyColumns = `version, approvals, pending_ttl_seconds, approval_ttl_seconds, COALESCE(created_by, 0), created_at`

func scanPolicy(row pgx.Row) (Policy, error) {
	var p Policy
	var raw []byte
	var pending, approval int64
	if err := row.Scan(&p.Version, &raw, &pending, &approval, &p.CreatedBy, &p.CreatedAt); err != nil {
		return Policy{}, err
	}
	p.PendingTTL, p.ApprovalTTL = time.Duration(pending)*time.Second, time.Duration(approval)*time.Second
	if err := json.Unmarshal(raw, &p.Approvals); err != nil {
		return Policy{}, fmt.Errorf("policy %d: %w", p.Version, err)
	}
	return p, nil
}

// CurrentPolicy returns the newest policy version.
func (s *Store) CurrentPolicy(ctx context.Context) (Policy, error) {
	return scanPolicy(s.pool.QueryRow(ctx, `SELECT `+policyColumns+` FROM approval_policies ORDER BY version DESC LIMIT 1`))
}

// CurrentPolicy returns the newest policy version inside the transaction.
func (t *Tx) CurrentPolicy(ctx context.Context) (Policy, error) {
	return scanPolicy(t.tx.QueryRow(ctx, `SELECT `+policyColumns+` FROM approval_policies ORDER BY version DESC LIMIT 1`))
}

// Policy returns one policy version.
func (s *Store) Policy(ctx context.Context, version int) (Policy, error) {
	p, err := scanPolicy(s.pool.QueryRow(ctx, `SELECT `+policyColumns+` FROM approval_policies WHERE version = $1`, version))
	if err != nil {
		return Policy{}, notFound(err, "no such policy version")
	}
	return p, nil
}

// Policy returns one policy version inside the transaction.
func (t *Tx) Policy(ctx context.Context, version int) (Policy, error) {
	p, err := scanPolicy(t.tx.QueryRow(ctx, `SELECT `+policyColumns+` FROM approval_policies WHERE version = $1`, version))
	if err != nil {
		return Policy{}, notFound(err, "no such policy version")
	}
	return p, nil
}

// InsertPolicy stores a new policy version after the newest one. Two admins
// saving at once cannot both get the same version: the primary key refuses
// the second, which is reported as a Conflict.
func (t *Tx) InsertPolicy(ctx context.Context, p Policy) (Policy, error) {
	raw, err := json.Marshal(p.Approvals)
	if err != nil {
		return Policy{}, err
	}
	row := t.tx.QueryRow(ctx, `
		INSERT INTO approval_policies (version, approvals, pending_ttl_seconds, approval_ttl_seconds, created_by, created_at)
		SELECT COALESCE(max(version), 0) + 1, $1, $2, $3, NULLIF($4, 0), $5 FROM approval_policies
		RETURNING `+policyColumns, raw, int64(p.PendingTTL/time.Second), int64(p.ApprovalTTL/time.Second), p.CreatedBy, p.CreatedAt)
	out, err := scanPolicy(row)
	if isUniqueViolation(err) {
		return Policy{}, apperr.Wrap(apperr.Conflict, err, "someone else changed the policy at the same time; reload and try again")
	}
	return out, err
}

// Request statuses.
const (
	StatusPending   = "pending"
	StatusApproved  = "approved"
	StatusExecuting = "executing"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	StatusRejected  = "rejected"
	StatusCancelled = "cancelled"
	StatusExpired   = "expired"
)

// Call states of an executing request.
const (
	CallNone     = "none"
	CallIntent   = "intent"
	CallAccepted = "accepted"
)

// Request is a request to change something in the cloud.
type Request struct {
	ID                int64
	Operation         string
	DRTaskID          string
	TaskName          string
	TargetKey         string
	Method            string
	Path              string
	Payload           []byte
	PayloadSHA256     []byte
	RequesterID       int64
	RequesterEmail    string
	Justification     string
	Status            string
	RequiredApprovals int
	PolicyVersion     int
	CreatedAt         time.Time
	ExpiresAt         time.Time
	ApprovedAt        *time.Time
	ApprovalExpiresAt *time.Time
	StartedAt         *time.Time
	FinishedAt        *time.Time
	CallState         string
	CallAttempts      int
	FollowDeadline    *time.Time
	LastSeenStatus    string
	Outcome           string
	ErrorCode         string
	ErrorMsg          string
	ErrorRequestID    string
	// What the executor saw right before the call, and whether it has seen
	// the operation's transient status since.
	PreStatus     string
	PrePrimaryID  string
	PreStartTime  string
	SeenTransient bool
	Consequence   string
	ConfirmName   string
	// The last check of the live preconditions (filing is the first):
	// when, what no longer held, and why the cloud could not be asked.
	CheckedAt     *time.Time
	CheckProblems []string
	CheckError    string
}

const requestColumns = `r.id, r.operation, COALESCE(r.dr_task_id, ''), r.task_name, r.target_key, r.method, r.path,
	r.payload, r.payload_sha256, r.requester_id, u.email, r.justification, r.status, r.required_approvals,
	r.policy_version, r.created_at, r.expires_at, r.approved_at, r.approval_expires_at, r.started_at, r.finished_at,
	r.call_state, r.call_attempts, r.follow_deadline, r.last_seen_status, r.outcome, r.error_code, r.error_msg,
	r.error_request_id, r.pre_status, r.pre_primary_id, r.pre_start_time, r.seen_transient,
	r.consequence, r.confirm_name, r.checked_at, r.check_problems, r.check_error`

const requestFrom = ` FROM requests r JOIN users u ON u.id = r.requester_id `

func scanRequest(row pgx.Row) (Request, error) {
	var r Request
	var payload string
	err := row.Scan(&r.ID, &r.Operation, &r.DRTaskID, &r.TaskName, &r.TargetKey, &r.Method, &r.Path,
		&payload, &r.PayloadSHA256, &r.RequesterID, &r.RequesterEmail, &r.Justification, &r.Status,
		&r.RequiredApprovals, &r.PolicyVersion, &r.CreatedAt, &r.ExpiresAt, &r.ApprovedAt, &r.ApprovalExpiresAt,
		&r.StartedAt, &r.FinishedAt, &r.CallState, &r.CallAttempts, &r.FollowDeadline, &r.LastSeenStatus,
		&r.Outcome, &r.ErrorCode, &r.ErrorMsg, &r.ErrorRequestID, &r.PreStatus, &r.PrePrimaryID, &r.PreStartTime,
		&r.SeenTransient, &r.Consequence, &r.ConfirmName, &r.CheckedAt, &r.CheckProblems, &r.CheckError)
	r.Payload = []byte(payload)
	return r, err
}

// InsertRequest files a request and returns it with its id.
func (t *Tx) InsertRequest(ctx context.Context, r Request) (Request, error) {
	var id int64
	err := t.tx.QueryRow(ctx, `
		INSERT INTO requests (operation, dr_task_id, task_name, target_key, method, path, payload, payload_sha256,
			requester_id, justification, status, required_approvals, policy_version, created_at, expires_at,
			consequence, confirm_name, checked_at)
		VALUES ($1, NULLIF($2, ''), $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $14)
		RETURNING id`,
		r.Operation, r.DRTaskID, r.TaskName, r.TargetKey, r.Method, r.Path, string(r.Payload), r.PayloadSHA256,
		r.RequesterID, r.Justification, r.Status, r.RequiredApprovals, r.PolicyVersion, r.CreatedAt, r.ExpiresAt,
		r.Consequence, r.ConfirmName).Scan(&id)
	if err != nil {
		return Request{}, fmt.Errorf("file request: %w", err)
	}
	return t.Request(ctx, id, false)
}

// Request returns one request.
func (s *Store) Request(ctx context.Context, id int64) (Request, error) {
	r, err := scanRequest(s.pool.QueryRow(ctx, `SELECT `+requestColumns+requestFrom+`WHERE r.id = $1`, id))
	if err != nil {
		return Request{}, notFound(err, fmt.Sprintf("There is no request #%d.", id))
	}
	return r, nil
}

// Request returns one request inside the transaction; forUpdate locks its
// row until commit, which serialises decisions on one request.
func (t *Tx) Request(ctx context.Context, id int64, forUpdate bool) (Request, error) {
	q := `SELECT ` + requestColumns + requestFrom + `WHERE r.id = $1`
	if forUpdate {
		q += ` FOR UPDATE OF r`
	}
	r, err := scanRequest(t.tx.QueryRow(ctx, q, id))
	if err != nil {
		return Request{}, notFound(err, fmt.Sprintf("There is no request #%d.", id))
	}
	return r, nil
}

// RequestFilter selects requests for the requests page.
type RequestFilter struct {
	// AwaitingUser > 0: pending requests this user may still decide.
	AwaitingUser int64
	// RequesterID > 0: requests filed by this user.
	RequesterID int64
	Status      string
	Operation   string
	DRTaskID    string
	Now         time.Time
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
		conds = append(conds, fmt.Sprintf(`r.status = 'pending' AND r.requester_id <> $%d AND r.expires_at > $%d
			AND NOT EXISTS (SELECT 1 FROM approvals a WHERE a.request_id = r.id AND a.approver_id = $%d)`, n-1, n, n-1))
	}
	if f.RequesterID > 0 {
		add(`r.requester_id = ?`, f.RequesterID)
	}
	if f.Status != "" {
		add(`r.status = ?`, f.Status)
	}
	if f.Operation != "" {
		add(`r.operation = ?`, f.Operation)
	}
	if f.DRTaskID != "" {
		add(`r.dr_task_id = ?`, f.DRTaskID)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return "WHERE " + strings.Join(conds, " AND "), args
}

// ListRequests returns up to limit requests matching f, newest first.
func (s *Store) ListRequests(ctx context.Context, f RequestFilter, limit int) ([]Request, error) {
	where, args := f.where()
	args = append(args, limit)
	rows, err := s.pool.Query(ctx, `SELECT `+requestColumns+requestFrom+where+
		fmt.Sprintf(` ORDER BY r.id DESC LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("list requests: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Request, error) { return scanRequest(r) })
}

// CountRequests counts the requests matching f.
func (s *Store) CountRequests(ctx context.Context, f RequestFilter) (int, error) {
	where, args := f.where()
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*)`+requestFrom+where, args...).Scan(&n)
	return n, err
}

// Approval is one approver's decision on a request.
type Approval struct {
	RequestID     int64
	ApproverID    int64
	ApproverEmail string
	Decision      string // approve, reject
	Comment       string
	PayloadSHA256 []byte
	PolicyVersion int
	DecidedAt     time.Time
}

// InsertApproval records a decision. A second decision by the same person
// on the same request is a Conflict.
func (t *Tx) InsertApproval(ctx context.Context, a Approval) error {
	_, err := t.tx.Exec(ctx, `
		INSERT INTO approvals (request_id, approver_id, decision, comment, payload_sha256, policy_version, decided_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		a.RequestID, a.ApproverID, a.Decision, a.Comment, a.PayloadSHA256, a.PolicyVersion, a.DecidedAt)
	if isUniqueViolation(err) {
		return apperr.Wrap(apperr.Conflict, err, "You have already decided on request #%d.", a.RequestID)
	}
	if err != nil {
		return fmt.Errorf("record decision on request %d: %w", a.RequestID, err)
	}
	return nil
}

const approvalQuery = `SELECT a.request_id, a.approver_id, u.email, a.decision, a.comment, a.payload_sha256,
	a.policy_version, a.decided_at FROM approvals a JOIN users u ON u.id = a.approver_id
	WHERE a.request_id = $1 ORDER BY a.decided_at, a.approver_id`

func scanApprovals(rows pgx.Rows, err error) ([]Approval, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Approval, error) {
		var a Approval
		err := r.Scan(&a.RequestID, &a.ApproverID, &a.ApproverEmail, &a.Decision, &a.Comment, &a.PayloadSHA256,
			&a.PolicyVersion, &a.DecidedAt)
		return a, err
	})
}

// Approvals returns the decisions on a request, oldest first.
func (s *Store) Approvals(ctx context.Context, requestID int64) ([]Approval, error) {
	return scanApprovals(s.pool.Query(ctx, approvalQuery, requestID))
}

// Approvals returns the decisions on a request inside the transaction.
func (t *Tx) Approvals(ctx context.Context, requestID int64) ([]Approval, error) {
	return scanApprovals(t.tx.Query(ctx, approvalQuery, requestID))
}

// RequestUpdate is a guarded change of a request's state: it applies only
// while the request is in one of From, so two actors can never both move it.
type RequestUpdate struct {
	From              []string
	Status            string // "" keeps the status
	ApprovedAt        *time.Time
	ApprovalExpiresAt *time.Time
	StartedAt         *time.Time
	FinishedAt        *time.Time
	CallState         string
	IncAttempts       bool
	DRTaskID          string
	FollowDeadline    *time.Time
	LastSeenStatus    string
	Outcome           string
	ErrorCode         string
	ErrorMsg          string
	ErrorRequestID    string
	// Snapshot sets the pre-call snapshot (all three fields together).
	Snapshot     bool
	PreStatus    string
	PrePrimaryID string
	PreStartTime string
	// SeenTransient, when true, records that the transient status was seen.
	SeenTransient bool
}

// UpdateRequest applies u to request id and returns the new row. It is a
// Conflict when the request is no longer in one of u.From; an approved or
// executing request colliding with another on the same target is a Conflict
// too (the database allows one at a time).
func (t *Tx) UpdateRequest(ctx context.Context, id int64, u RequestUpdate) (Request, error) {
	tag, err := t.tx.Exec(ctx, `
		UPDATE requests SET
			status              = COALESCE(NULLIF($3, ''), status),
			approved_at         = COALESCE($4, approved_at),
			approval_expires_at = COALESCE($5, approval_expires_at),
			started_at          = COALESCE($6, started_at),
			finished_at         = COALESCE($7, finished_at),
			call_state          = COALESCE(NULLIF($8, ''), call_state),
			call_attempts       = call_attempts + CASE WHEN $9 THEN 1 ELSE 0 END,
			dr_task_id          = COALESCE(NULLIF($10, ''), dr_task_id),
			follow_deadline     = COALESCE($11, follow_deadline),
			last_seen_status    = COALESCE(NULLIF($12, ''), last_seen_status),
			outcome             = COALESCE(NULLIF($13, ''), outcome),
			error_code          = COALESCE(NULLIF($14, ''), error_code),
			error_msg           = COALESCE(NULLIF($15, ''), error_msg),
			error_request_id    = COALESCE(NULLIF($16, ''), error_request_id),
			pre_status          = CASE WHEN $17 THEN $18 ELSE pre_status END,
			pre_primary_id      = CASE WHEN $17 THEN $19 ELSE pre_primary_id END,
			pre_start_time      = CASE WHEN $17 THEN $20 ELSE pre_start_time END,
			seen_transient      = seen_transient OR $21
		WHERE id = $1 AND status = ANY($2)`,
		id, u.From, u.Status, u.ApprovedAt, u.ApprovalExpiresAt, u.StartedAt, u.FinishedAt, u.CallState,
		u.IncAttempts, u.DRTaskID, u.FollowDeadline, u.LastSeenStatus, u.Outcome, u.ErrorCode, u.ErrorMsg,
		u.ErrorRequestID, u.Snapshot, u.PreStatus, u.PrePrimaryID, u.PreStartTime, u.SeenTransient)
	if isUniqueViolation(err) {
		return Request{}, apperr.Wrap(apperr.Conflict, err,
			"Another request for the same DR task is already approved or executing; this one can go ahead once it has finished.")
	}
	if err != nil {
		return Request{}, fmt.Errorf("update request %d: %w", id, err)
	}
	if tag.RowsAffected() != 1 {
		cur, err := t.Request(ctx, id, false)
		if err != nil {
			return Request{}, err
		}
		return Request{}, apperr.New(apperr.Conflict, "Request #%d is %s now, so this can no longer be done.", id, cur.Status)
	}
	return t.Request(ctx, id, false)
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

// DuePendingRequests returns the ids of pending requests whose time is up.
func (s *Store) DuePendingRequests(ctx context.Context, now time.Time, limit int) ([]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM requests WHERE status = 'pending' AND expires_at <= $1
		ORDER BY expires_at LIMIT $2`, now, limit)
	if err != nil {
		return nil, fmt.Errorf("due requests: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// RequestTimeline returns the audit events about one request, oldest first.
func (s *Store) RequestTimeline(ctx context.Context, requestID int64, limit int) ([]audit.Event, error) {
	rows, err := s.pool.Query(ctx, fmt.Sprintf(`SELECT %s FROM audit_events WHERE request_id = $1 ORDER BY id ASC LIMIT $2`,
		auditColumns), requestID, limit)
	if err != nil {
		return nil, fmt.Errorf("request timeline %d: %w", requestID, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (audit.Event, error) { return scanAudit(r) })
}

// LastSucceededOperation returns the operation of the newest succeeded
// request on a task ("" when none).
func (s *Store) LastSucceededOperation(ctx context.Context, taskID string) (string, error) {
	var op string
	err := s.pool.QueryRow(ctx, `SELECT operation FROM requests WHERE dr_task_id = $1 AND status = 'succeeded'
		ORDER BY finished_at DESC, id DESC LIMIT 1`, taskID).Scan(&op)
	if err == pgx.ErrNoRows {
		return "", nil
	}
	return op, err
}
