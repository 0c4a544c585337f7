// Package requests is the approval workflow: filing a request for a cloud
// change, approving or rejecting it under the approval policy, cancelling
// and expiring it. Every transition and its audit event commit together; an
// approval that completes the quorum enqueues the execution in the same
// transaction.
package requests

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/auth"
	"drportal/internal/db"
)

// Operations, in the order pages list them.
const (
	OpCreate     = "create"
	OpStart      = "start"
	OpStop       = "stop"
	OpUpdate     = "update"
	OpSwitchover = "switchover"
	OpFailover   = "failover"
	OpRecovery   = "recovery"
	OpDelete     = "delete"
)

// Operations lists every operation a request can be for.
var Operations = []string{OpCreate, OpStart, OpStop, OpUpdate, OpSwitchover, OpFailover, OpRecovery, OpDelete}

// Statuses a request can be in.
var Statuses = []string{db.StatusPending, db.StatusApproved, db.StatusExecuting, db.StatusSucceeded, db.StatusFailed,
	db.StatusRejected, db.StatusCancelled, db.StatusExpired}

// MaxApprovals is the most approvals a policy may require for one operation.
const MaxApprovals = 5

// Audit actions of the workflow.
const (
	ActionFiled         = "request.filed"
	ActionDecision      = "request.decision"
	ActionApproved      = "request.approved"
	ActionRejected      = "request.rejected"
	ActionCancelled     = "request.cancelled"
	ActionExpired       = "request.expired"
	ActionPolicyUpdated = "policy.updated"
	ActionChecked       = "request.checked"
)

// Webhook events.
const (
	EventFiled     = "request.filed"
	EventApproved  = "request.approved"
	EventRejected  = "request.rejected"
	EventCancelled = "request.cancelled"
	EventExpired   = "request.expired"
	EventExecuted  = "request.executed"
	EventFailed    = "request.failed"
)

// Enqueuer schedules the execution of an approved request inside the
// transaction that approves it, so an approval is never lost and never
// executed without being committed.
type Enqueuer interface {
	EnqueueExecution(ctx context.Context, tx *db.Tx, requestID int64) error
}

// Notifier announces a request event (a webhook), inside the transaction
// of the transition it announces.
type Notifier interface {
	Notify(ctx context.Context, tx *db.Tx, event string, r db.Request) error
}

// Checker asks the cloud whether a request's preconditions hold now. It
// returns what no longer holds; an error means the cloud could not be asked
// (its message is shown).
type Checker interface {
	Preconditions(ctx context.Context, r db.Request) ([]string, error)
}

// Service runs the approval workflow.
type Service struct {
	Store    *db.Store
	Now      func() time.Time
	Enqueuer Enqueuer
	Notifier Notifier // nil: no notifications
	Checker  Checker
	// CheckInterval is the least time between two precondition checks of
	// one request, whoever asks (default 15 s): a page full of viewers
	// cannot turn into a flood of cloud calls.
	CheckInterval time.Duration
}

// PayloadHash is the SHA-256 of a payload, the value approvals record.
func PayloadHash(payload []byte) []byte {
	h := sha256.Sum256(payload)
	return h[:]
}

// Draft is a request about to be filed.
type Draft struct {
	Operation     string
	DRTaskID      string // "" for a create
	TaskName      string
	Method        string
	Path          string
	Payload       []byte // the exact body that will be sent ("" for actions without one)
	Justification string
	// Consequence is the plain-words explanation the requester was shown.
	Consequence string
	// ConfirmName, for a high-risk operation, is the cluster name the
	// requester typed and every approver must type too.
	ConfirmName string
}

// MaxJustification bounds a justification's length, in characters.
const MaxJustification = 2000

// CheckJustification returns what is wrong with a justification, or "".
func CheckJustification(s string) string {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "Say why this change is needed: the approvers and the audit history rely on it."
	case utf8.RuneCountInString(s) > MaxJustification:
		return fmt.Sprintf("Keep the justification under %d characters.", MaxJustification)
	}
	return ""
}

// targetKey is what at most one approved or executing request may hold.
func targetKey(d Draft) string {
	if d.DRTaskID != "" {
		return "task:" + strings.ToLower(d.DRTaskID)
	}
	return "create:" + strings.ToLower(d.TaskName)
}

func (s *Service) event(ctx context.Context, action string, outcome audit.Outcome, r db.Request, detail map[string]any) audit.Event {
	return Event(ctx, action, outcome, r, s.Now(), detail)
}

// Event is an audit event about request r: its subject is the DR task (or
// the request, before the task exists), and its detail names the operation,
// the task, the payload hash and the policy version, whoever records it.
func Event(ctx context.Context, action string, outcome audit.Outcome, r db.Request, at time.Time, detail map[string]any) audit.Event {
	e := audit.FromContext(ctx, action, outcome)
	e.OccurredAt = at
	e.RequestID = r.ID
	if r.DRTaskID != "" {
		e.SubjectType, e.SubjectID = audit.SubjectDRTask, r.DRTaskID
	} else {
		e.SubjectType, e.SubjectID = SubjectRequest, fmt.Sprint(r.ID)
	}
	if detail == nil {
		detail = map[string]any{}
	}
	detail["operation"] = r.Operation
	detail["task_name"] = r.TaskName
	detail["payload_sha256"] = hex.EncodeToString(r.PayloadSHA256)
	detail["policy_version"] = r.PolicyVersion
	e.Detail = audit.Detail(detail)
	return e
}

// SubjectRequest is the audit subject type of a request.
const SubjectRequest = "request"

func (s *Service) notify(ctx context.Context, tx *db.Tx, event string, r db.Request) error {
	if s.Notifier == nil {
		return nil
	}
	return s.Notifier.Notify(ctx, tx, event, r)
}

// File files a request. With a policy that needs no approval for the
// operation, the request is approved and its execution enqueued at once.
func (s *Service) File(ctx context.Context, u db.User, d Draft) (db.Request, error) {
	if !slices.Contains(Operations, d.Operation) {
		return db.Request{}, apperr.New(apperr.Invalid, "Unknown operation %q.", d.Operation)
	}
	if !auth.Has(u, auth.RoleRequester) {
		return db.Request{}, apperr.New(apperr.Forbidden, "Only requesters can file requests.")
	}
	if msg := CheckJustification(d.Justification); msg != "" {
		return db.Request{}, apperr.New(apperr.Invalid, "%s", msg)
	}
	now := s.Now()
	var out db.Request
	err := s.Store.InTx(ctx, func(tx *db.Tx) error {
		policy, err := tx.CurrentPolicy(ctx)
		if err != nil {
			return err
		}
		r, err := tx.InsertRequest(ctx, db.Request{
			Operation: d.Operation, DRTaskID: d.DRTaskID, TaskName: d.TaskName, TargetKey: targetKey(d),
			Method: d.Method, Path: d.Path, Payload: d.Payload, PayloadSHA256: PayloadHash(d.Payload),
			RequesterID: u.ID, Justification: strings.TrimSpace(d.Justification), Status: db.StatusPending,
			RequiredApprovals: policy.Approvals[d.Operation], PolicyVersion: policy.Version,
			CreatedAt: now, ExpiresAt: now.Add(policy.PendingTTL),
			Consequence: d.Consequence, ConfirmName: d.ConfirmName,
		})
		if err != nil {
			return err
		}
		if _, err := tx.AppendAudit(ctx, s.event(ctx, ActionFiled, audit.Success, r, map[string]any{
			"method": r.Method, "path": r.Path, "payload": string(r.Payload), "justification": r.Justification,
			"required_approvals": r.RequiredApprovals, "expires_at": r.ExpiresAt,
			"consequence": r.Consequence, "confirmed_cluster": r.ConfirmName,
		})); err != nil {
			return err
		}
		if err := s.notify(ctx, tx, EventFiled, r); err != nil {
			return err
		}
		out = r
		if r.RequiredApprovals == 0 {
			out, err = s.approve(ctx, tx, r, policy, "the policy requires no approval for this operation")
		}
		return err
	})
	return out, err
}

// approve moves a request whose quorum is reached to approved and enqueues
// its execution, all in tx.
func (s *Service) approve(ctx context.Context, tx *db.Tx, r db.Request, policy db.Policy, why string) (db.Request, error) {
	now := s.Now()
	until := now.Add(policy.ApprovalTTL)
	r, err := tx.UpdateRequest(ctx, r.ID, db.RequestUpdate{From: []string{db.StatusPending}, Status: db.StatusApproved,
		ApprovedAt: &now, ApprovalExpiresAt: &until})
	if err != nil {
		return db.Request{}, err
	}
	if _, err := tx.AppendAudit(ctx, s.event(ctx, ActionApproved, audit.Success, r, map[string]any{
		"reason": why, "approval_expires_at": until})); err != nil {
		return db.Request{}, err
	}
	if err := s.Enqueuer.EnqueueExecution(ctx, tx, r.ID); err != nil {
		return db.Request{}, fmt.Errorf("enqueue request %d: %w", r.ID, err)
	}
	return r, s.notify(ctx, tx, EventApproved, r)
}

// Decision is an approver's answer.
type Decision string

// Decisions.
const (
	Approve Decision = "approve"
	Reject  Decision = "reject"
)

// CanDecide says whether u may approve or reject r now, and if not, why.
func CanDecide(u db.User, r db.Request, decided []db.Approval, now time.Time) (bool, string) {
	switch {
	case r.Status != db.StatusPending:
		return false, fmt.Sprintf("This request is %s: it can no longer be decided.", r.Status)
	case !now.Before(r.ExpiresAt):
		return false, "The request has expired."
	case u.ID == r.RequesterID:
		return false, "Nobody approves their own request, whatever their roles."
	case !auth.Has(u, auth.RoleApprover):
		return false, "Only approvers can approve or reject requests."
	}
	for _, a := range decided {
		if a.ApproverID == u.ID {
			return false, fmt.Sprintf("You already decided (%s).", a.Decision)
		}
	}
	return true, ""
}

// CanCancel says whether u may cancel r now.
func CanCancel(u db.User, r db.Request, now time.Time) bool {
	return r.Status == db.StatusPending && u.ID == r.RequesterID && now.Before(r.ExpiresAt)
}

// Decide records an approver's decision. seenHash is the payload hash the
// approver was shown: a request whose payload is not what they saw is not
// decided. An approval that completes the quorum approves the request and
// enqueues its execution in the same transaction; a rejection ends it.
func (s *Service) Decide(ctx context.Context, u db.User, id int64, d Decision, comment, seenHash string) (db.Request, error) {
	return s.DecideConfirmed(ctx, u, id, d, comment, seenHash, "")
}

// DecideConfirmed is Decide for a high-risk request, whose approval needs
// the affected cluster's name typed exactly as the requester had to.
func (s *Service) DecideConfirmed(ctx context.Context, u db.User, id int64, d Decision, comment, seenHash, confirm string) (db.Request, error) {
	if d != Approve && d != Reject {
		return db.Request{}, apperr.New(apperr.Invalid, "Decide approve or reject.")
	}
	comment = strings.TrimSpace(comment)
	if utf8.RuneCountInString(comment) > MaxJustification {
		return db.Request{}, apperr.New(apperr.Invalid, "Keep the comment under %d characters.", MaxJustification)
	}
	if d == Reject && comment == "" {
		return db.Request{}, apperr.New(apperr.Invalid, "Say why you reject the request: the requester needs to know.")
	}
	now := s.Now()
	evidence, err := s.evidence(ctx, id)
	if err != nil {
		return db.Request{}, err
	}
	var out db.Request
	err = s.Store.InTx(ctx, func(tx *db.Tx) error {
		r, err := tx.Request(ctx, id, true) // serialises decisions on this request
		if err != nil {
			return err
		}
		decided, err := tx.Approvals(ctx, id)
		if err != nil {
			return err
		}
		if ok, why := CanDecide(u, r, decided, now); !ok {
			kind := apperr.Conflict
			if u.ID == r.RequesterID || !auth.Has(u, auth.RoleApprover) {
				kind = apperr.Forbidden
			}
			return apperr.New(kind, "%s Nothing was changed.", why)
		}
		if d == Approve && r.ConfirmName != "" && strings.TrimSpace(confirm) != r.ConfirmName {
			return apperr.New(apperr.Invalid, "Type the name of the affected cluster, %s, exactly, to approve. Nothing was changed.", r.ConfirmName)
		}
		if !strings.EqualFold(seenHash, hex.EncodeToString(r.PayloadSHA256)) {
			return apperr.New(apperr.Conflict, "The request is not what you were shown (payload hash %s, you saw %s). Reload it and decide again. Nothing was changed.",
				short(hex.EncodeToString(r.PayloadSHA256)), short(seenHash))
		}
		if err := tx.InsertApproval(ctx, db.Approval{RequestID: id, ApproverID: u.ID, Decision: string(d), Comment: comment,
			PayloadSHA256: r.PayloadSHA256, PolicyVersion: r.PolicyVersion, DecidedAt: now}); err != nil {
			return err
		}
		if _, err := tx.AppendAudit(ctx, s.event(ctx, ActionDecision, audit.Success, r, map[string]any{
			"decision": string(d), "comment": comment, "confirmed_cluster": confirmedName(d, r),
			"shown": map[string]any{"method": r.Method, "path": r.Path, "payload": string(r.Payload),
				"consequence": r.Consequence, "task_state": evidence}})); err != nil {
			return err
		}
		if d == Reject {
			r, err = tx.UpdateRequest(ctx, id, db.RequestUpdate{From: []string{db.StatusPending}, Status: db.StatusRejected,
				FinishedAt: &now, Outcome: "rejected by " + u.Email + ": " + comment})
			if err != nil {
				return err
			}
			if _, err := tx.AppendAudit(ctx, s.event(ctx, ActionRejected, audit.Success, r, map[string]any{"comment": comment})); err != nil {
				return err
			}
			out = r
			return s.notify(ctx, tx, EventRejected, r)
		}
		approvals := 1
		for _, a := range decided {
			if a.Decision == string(Approve) && a.PolicyVersion == r.PolicyVersion && string(a.PayloadSHA256) == string(r.PayloadSHA256) {
				approvals++
			}
		}
		out = r
		if approvals < r.RequiredApprovals {
			return nil
		}
		// Inside the transaction: a second connection here could wait on a
		// pool held by the decisions queued behind this one.
		policy, err := tx.Policy(ctx, r.PolicyVersion)
		if err != nil {
			return err
		}
		out, err = s.approve(ctx, tx, r, policy, fmt.Sprintf("%d of %d approvals", approvals, r.RequiredApprovals))
		return err
	})
	return out, err
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12] + "…"
	}
	return h
}

// CanCheck says whether u may ask for a live check of r's preconditions:
// the people who act on it (requesters and approvers), while it waits to run.
func CanCheck(u db.User, r db.Request, now time.Time) bool {
	st := effectiveStatus(r, now)
	return (st == db.StatusPending || st == db.StatusApproved) &&
		(auth.Has(u, auth.RoleRequester) || auth.Has(u, auth.RoleApprover))
}

// Check asks the cloud whether r's preconditions still hold and records
// the answer with its audit event. Pages show the last answer; this is the
// only way a person makes the portal ask again, and it is rate-limited per
// request across everyone and every replica.
func (s *Service) Check(ctx context.Context, u db.User, id int64) (db.Request, error) {
	now := s.Now()
	r, err := s.Store.Request(ctx, id)
	if err != nil {
		return db.Request{}, err
	}
	if !auth.Has(u, auth.RoleRequester) && !auth.Has(u, auth.RoleApprover) {
		return db.Request{}, apperr.New(apperr.Forbidden, "Only requesters and approvers can ask for a live check.")
	}
	if !CanCheck(u, r, now) {
		return db.Request{}, apperr.New(apperr.Conflict, "Request #%d is %s: there are no preconditions left to check.", id, effectiveStatus(r, now))
	}
	interval := s.CheckInterval
	if interval <= 0 {
		interval = 15 * time.Second
	}
	claimedAt, ok, err := s.Store.ClaimCheck(ctx, id, now, interval)
	if err != nil {
		return db.Request{}, err
	}
	if !ok {
		msg := "The preconditions were checked moments ago; wait a few seconds and check again."
		if cur, err := s.Store.Request(ctx, id); err == nil && cur.CheckedAt != nil {
			msg = fmt.Sprintf("The preconditions were checked at %s; you can check again from %s.",
				cur.CheckedAt.UTC().Format("15:04:05 UTC"), cur.CheckedAt.Add(interval).UTC().Format("15:04:05 UTC"))
		}
		return db.Request{}, apperr.New(apperr.TooMany, "%s", msg)
	}
	problems, cerr := s.Checker.Preconditions(ctx, r)
	cloudErr, outcome := "", audit.Success
	detail := map[string]any{"problems": problems}
	switch {
	case cerr != nil:
		cloudErr, outcome = apperr.Message(cerr), audit.Error
		detail["error"] = cloudErr
	case len(problems) > 0:
		outcome = audit.Denied
	}
	err = s.Store.InTx(context.WithoutCancel(ctx), func(tx *db.Tx) error {
		if err := tx.RecordCheck(ctx, id, claimedAt, problems, cloudErr); err != nil {
			return err
		}
		_, err := tx.AppendAudit(ctx, s.event(ctx, ActionChecked, outcome, r, detail))
		return err
	})
	if err != nil {
		return db.Request{}, err
	}
	return s.Store.Request(ctx, id)
}

// Cancel withdraws a pending request; only its requester may.
func (s *Service) Cancel(ctx context.Context, u db.User, id int64) (db.Request, error) {
	now := s.Now()
	var out db.Request
	err := s.Store.InTx(ctx, func(tx *db.Tx) error {
		r, err := tx.Request(ctx, id, true)
		if err != nil {
			return err
		}
		if u.ID != r.RequesterID {
			return apperr.New(apperr.Forbidden, "Only the requester can cancel request #%d. Nothing was changed.", id)
		}
		if !CanCancel(u, r, now) {
			return apperr.New(apperr.Conflict, "Request #%d is %s, so it can no longer be cancelled. Nothing was changed.", id, effectiveStatus(r, now))
		}
		r, err = tx.UpdateRequest(ctx, id, db.RequestUpdate{From: []string{db.StatusPending}, Status: db.StatusCancelled,
			FinishedAt: &now, Outcome: "cancelled by the requester"})
		if err != nil {
			return err
		}
		if _, err := tx.AppendAudit(ctx, s.event(ctx, ActionCancelled, audit.Success, r, nil)); err != nil {
			return err
		}
		out = r
		return s.notify(ctx, tx, EventCancelled, r)
	})
	return out, err
}

func effectiveStatus(r db.Request, now time.Time) string {
	if r.Status == db.StatusPending && !now.Before(r.ExpiresAt) {
		return db.StatusExpired
	}
	return r.Status
}

// EffectiveStatus is the status a request shows: a pending request past
// its time is expired even before the sweeper has recorded it.
func EffectiveStatus(r db.Request, now time.Time) string { return effectiveStatus(r, now) }

// ExpireDue marks every pending request whose time is up as expired, each
// in its own transaction with its audit event and notification. It returns
// how many it expired. Replicas may run it at once: the guarded update lets
// only one of them expire a request.
func (s *Service) ExpireDue(ctx context.Context) (int, error) {
	now := s.Now()
	ids, err := s.Store.DuePendingRequests(ctx, now, 500)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		err := s.Store.InTx(ctx, func(tx *db.Tx) error {
			r, err := tx.UpdateRequest(ctx, id, db.RequestUpdate{From: []string{db.StatusPending}, Status: db.StatusExpired,
				FinishedAt: &now, Outcome: "expired without enough approvals"})
			if err != nil {
				return err
			}
			e := s.event(audit.WithActor(ctx, audit.System), ActionExpired, audit.Info, r, map[string]any{"expired_at": r.ExpiresAt})
			if _, err := tx.AppendAudit(ctx, e); err != nil {
				return err
			}
			return s.notify(ctx, tx, EventExpired, r)
		})
		switch {
		case apperr.KindOf(err) == apperr.Conflict:
			continue // decided or expired by someone else meanwhile
		case err != nil:
			return n, err
		}
		n++
	}
	return n, nil
}

// PolicyInput is an admin's policy edit.
type PolicyInput struct {
	Approvals   map[string]int
	PendingTTL  time.Duration
	ApprovalTTL time.Duration
}

// Validate returns what is wrong with the input, by field.
func (in PolicyInput) Validate() map[string]string {
	errs := map[string]string{}
	for _, op := range Operations {
		n, ok := in.Approvals[op]
		if !ok || n < 0 || n > MaxApprovals {
			errs[op] = fmt.Sprintf("Enter a number from 0 (no approval) to %d.", MaxApprovals)
		}
	}
	if in.PendingTTL < time.Hour || in.PendingTTL > 90*24*time.Hour {
		errs["pending_ttl"] = "A pending request may live from 1 hour to 90 days (e.g. 72h)."
	}
	if in.ApprovalTTL < 10*time.Minute || in.ApprovalTTL > 30*24*time.Hour {
		errs["approval_ttl"] = "An approval may last from 10 minutes to 30 days (e.g. 24h)."
	}
	return errs
}

// SavePolicy stores a new policy version; only admins may.
func (s *Service) SavePolicy(ctx context.Context, u db.User, in PolicyInput) (db.Policy, map[string]string, error) {
	if !auth.Has(u, auth.RoleAdmin) {
		return db.Policy{}, nil, apperr.New(apperr.Forbidden, "Only admins can change the approval policy.")
	}
	if errs := in.Validate(); len(errs) > 0 {
		return db.Policy{}, errs, nil
	}
	var out db.Policy
	err := s.Store.InTx(ctx, func(tx *db.Tx) error {
		old, err := tx.CurrentPolicy(ctx)
		if err != nil {
			return err
		}
		out, err = tx.InsertPolicy(ctx, db.Policy{Approvals: in.Approvals, PendingTTL: in.PendingTTL,
			ApprovalTTL: in.ApprovalTTL, CreatedBy: u.ID, CreatedAt: s.Now()})
		if err != nil {
			return err
		}
		e := audit.FromContext(ctx, ActionPolicyUpdated, audit.Success)
		e.OccurredAt = s.Now()
		e.SubjectType, e.SubjectID = "policy", fmt.Sprint(out.Version)
		e.Detail = audit.Detail(map[string]any{
			"from": map[string]any{"version": old.Version, "approvals": old.Approvals, "pending_ttl": old.PendingTTL.String(), "approval_ttl": old.ApprovalTTL.String()},
			"to":   map[string]any{"version": out.Version, "approvals": out.Approvals, "pending_ttl": out.PendingTTL.String(), "approval_ttl": out.ApprovalTTL.String()},
		})
		_, err = tx.AppendAudit(ctx, e)
		return err
	})
	return out, nil, err
}

func confirmedName(d Decision, r db.Request) string {
	if d == Approve {
		return r.ConfirmName
	}
	return ""
}

// evidence is the task's state as the portal showed it to the approver:
// stored with the decision, so the history says what they approved against.
func (s *Service) evidence(ctx context.Context, requestID int64) (map[string]any, error) {
	r, err := s.Store.Request(ctx, requestID)
	if err != nil {
		return nil, err
	}
	if r.DRTaskID == "" {
		return nil, nil
	}
	t, err := s.Store.Task(ctx, r.DRTaskID)
	if apperr.KindOf(err) == apperr.NotFound {
		return map[string]any{"known": false}, nil
	}
	if err != nil {
		return nil, err
	}
	state := map[string]any{"status": t.Status, "primary_cluster": t.PrimaryClusterName, "standby_cluster": t.StandbyClusterName,
		"sync_period": t.SyncPeriod, "last_sync": t.LastSync}
	if fa := t.FetchedAt(); !fa.IsZero() {
		state["read_from_cloud_at"] = fa.UTC().Format(time.RFC3339)
	}
	return state, nil
}
