// Package requests is the request lifecycle: filing a request for a cloud
// change, deciding on it under the approval policy, cancelling and expiring
// it, and the executor's steps from approved to succeeded or failed. It owns
// the state machine (portal.Transitions): every change of a request is one
// of the named transitions below, each one guarded SQL statement that
// commits together with its audit event and its notification.
package requests

import (
	"cmp"
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/db"
	"drportal/internal/portal"
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

// Outbox takes the work a transition causes into the transition's own
// transaction: the execution of an approved request (so an approval is
// never lost and never executed without being committed) and the webhook
// announcing the transition.
type Outbox interface {
	// EnqueueExecution enqueues the execution of a request; resumes is how
	// often it has been taken over from a run that died (0 at approval),
	// which makes each resumption a job of its own.
	EnqueueExecution(ctx context.Context, tx *db.Tx, requestID int64, resumes int) error
	// ScheduleExecution enqueues it to start at at: the opening of its
	// change window, or the end of a freeze.
	ScheduleExecution(ctx context.Context, tx *db.Tx, requestID int64, resumes int, at time.Time) error
	// WakeExecution makes a request's execution that waits for a later
	// time (its window's opening, a freeze's end) start now, and says how
	// many of its jobs it woke.
	WakeExecution(ctx context.Context, tx *db.Tx, requestID int64) (int, error)
	// CancelExecution cancels, in tx, a request's execution jobs that
	// have not started, and says how many it cancelled.
	CancelExecution(ctx context.Context, tx *db.Tx, requestID int64) (int, error)
	Notify(ctx context.Context, tx *db.Tx, event string, r portal.Request) error
}

// Checker asks the cloud whether a request's preconditions hold now. It
// returns what no longer holds; an error means the cloud could not be asked
// (its message is shown).
type Checker interface {
	Preconditions(ctx context.Context, r portal.Request) ([]string, error)
}

// Service runs the request lifecycle.
type Service struct {
	Store   *db.Store
	Now     func() time.Time
	Outbox  Outbox
	Checker Checker
	// CheckInterval is the least time between two precondition checks of
	// one request, whoever asks (default 15 s): a page full of viewers
	// cannot turn into a flood of cloud calls.
	CheckInterval time.Duration
	// DisplayZone is the zone times in messages are shown in (nil: UTC).
	DisplayZone *time.Location
}

// Draft is a request about to be filed.
type Draft struct {
	Operation     portal.Operation
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
	// Summary names the clusters and the sync period for the approvers.
	Summary portal.RequestSummary
	// RunAt, for a drill, is the earliest time it may run once approved
	// (nil: as soon as it is approved). Other operations run when approved.
	RunAt *time.Time
}

// MinJustification and MaxJustification bound a justification's length,
// in characters: "drill" tells an approver nothing; a change ticket and a
// few words do.
const (
	MinJustification = 10
	MaxJustification = 2000
)

// CheckJustification returns what is wrong with a justification, or "".
func CheckJustification(s string) string {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "Say why this change is needed: the approvers and the audit history rely on it."
	case utf8.RuneCountInString(s) < MinJustification:
		return fmt.Sprintf("Say why in at least %d characters (this has %d): the approvers decide on it. "+
			"A change ticket and a few words will do, e.g. \"CHG-1234: protect the sales warehouse\".", MinJustification, utf8.RuneCountInString(s))
	case utf8.RuneCountInString(s) > MaxJustification:
		return fmt.Sprintf("Keep the justification under %d characters.", MaxJustification)
	case portal.HasHiddenText(s):
		return portal.HiddenTextProblem
	}
	return ""
}

// targetKey is what at most one approved or executing request may hold.
func targetKey(d Draft) string { return TargetKey(d.DRTaskID, d.TaskName) }

// TargetKey is the target of a request on task taskID, or of a create of
// a task named name when taskID is "".
func TargetKey(taskID, name string) string {
	if taskID != "" {
		return "task:" + strings.ToLower(taskID)
	}
	return "create:" + strings.ToLower(name)
}

// DuplicateError refuses a request that is already pending: the same
// operation on the same task, or a create of the same name. ID is the
// pending request, for a link to it.
type DuplicateError struct {
	ID  int64
	err error
}

func (e *DuplicateError) Error() string { return e.err.Error() }
func (e *DuplicateError) Unwrap() error { return e.err }

func duplicate(d Draft, id int64) error {
	var err error
	if d.Operation == portal.OpCreate {
		err = apperr.New(apperr.Conflict, "A request to create a DR task named %s is already pending: request #%d. Nothing was filed.", d.TaskName, id)
	} else {
		label := string(d.Operation)
		if spec, ok := portal.SpecOf(d.Operation); ok {
			label = spec.Label
		}
		err = apperr.New(apperr.Conflict, "A %s request on %s is already pending: request #%d. Nothing was filed.", label, d.TaskName, id)
	}
	return &DuplicateError{ID: id, err: err}
}

// mayApprove is whether u counts towards the quorum of a request filed by
// requesterID at filedAt: an active approver since before it was filed
// who did not file it (the rules of CanDecide and portal.Quorum).
func mayApprove(u portal.User, requesterID int64, filedAt time.Time) bool {
	return u.Active && u.Has(portal.RoleApprover) && u.ID != requesterID && !u.ApproverSince.After(filedAt)
}

// EligibleApprovers are the users among all who can approve a request
// filed by requesterID at filedAt.
func EligibleApprovers(all []portal.User, requesterID int64, filedAt time.Time) []portal.User {
	var out []portal.User
	for _, u := range all {
		if mayApprove(u, requesterID, filedAt) {
			out = append(out, u)
		}
	}
	return out
}

// Approvers are the users who could approve a request filed by
// requesterID at filedAt (for a request about to be filed: now).
func (s *Service) Approvers(ctx context.Context, requesterID int64, filedAt time.Time) ([]portal.User, error) {
	all, err := s.Store.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	return EligibleApprovers(all, requesterID, filedAt), nil
}

// Event is an audit event about request r: its subject is the DR task (or
// the request, before the task exists), and its detail names the operation,
// the task, the payload hash and the policy version, whoever records it.
func Event(ctx context.Context, action string, outcome audit.Outcome, r portal.Request, at time.Time, detail map[string]any) audit.Event {
	e := audit.FromContext(ctx, action, outcome)
	e.OccurredAt = at
	e.RequestID = r.ID
	if r.DRTaskID != "" {
		e.SubjectType, e.SubjectID = audit.SubjectDRTask, r.DRTaskID
	} else {
		e.SubjectType, e.SubjectID = audit.SubjectRequest, fmt.Sprint(r.ID)
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

// sources are the statuses the state machine lets a request leave for to:
// the guard of every transition into to.
func sources(to portal.RequestStatus) []portal.RequestStatus {
	var out []portal.RequestStatus
	for _, from := range portal.RequestStatuses {
		if portal.CanMove(from, to) {
			out = append(out, from)
		}
	}
	return out
}

// step is one transition: its guarded statement, anything else that must
// commit with it, its notification and its audit event.
type step struct {
	move    func(tx *db.Tx) (portal.Request, error)
	also    func(tx *db.Tx, r portal.Request) error
	notify  string // webhook event; "" for none
	action  string
	outcome audit.Outcome
	detail  map[string]any
}

// apply makes the step in tx. The audit event is appended last: the
// chain's lock is held from the append until commit.
func (s *Service) apply(ctx context.Context, tx *db.Tx, st step) (portal.Request, error) {
	r, err := st.move(tx)
	if err != nil {
		return portal.Request{}, err
	}
	if st.also != nil {
		if err := st.also(tx, r); err != nil {
			return portal.Request{}, err
		}
	}
	if st.notify != "" {
		if err := s.Outbox.Notify(ctx, tx, st.notify, r); err != nil {
			return portal.Request{}, err
		}
	}
	if _, err := tx.AppendAudit(ctx, Event(ctx, st.action, st.outcome, r, s.Now(), st.detail)); err != nil {
		return portal.Request{}, err
	}
	return r, nil
}

// run makes the step in a transaction of its own; a step that was started
// is finished even when its caller gives up.
func (s *Service) run(ctx context.Context, st step) (portal.Request, error) {
	ctx = context.WithoutCancel(ctx)
	var out portal.Request
	err := s.Store.InTx(ctx, func(tx *db.Tx) error {
		var err error
		out, err = s.apply(ctx, tx, st)
		return err
	})
	return out, err
}

// runAll makes the steps in one transaction of its own, in order, and
// returns the request as the last left it.
func (s *Service) runAll(ctx context.Context, steps ...step) (portal.Request, error) {
	ctx = context.WithoutCancel(ctx)
	var out portal.Request
	err := s.Store.InTx(ctx, func(tx *db.Tx) error {
		for _, st := range steps {
			var err error
			if out, err = s.apply(ctx, tx, st); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// File files a request. With a policy that needs no approval for the
// operation, the request is approved and its execution enqueued at once.
func (s *Service) File(ctx context.Context, u portal.User, d Draft) (portal.Request, error) {
	if !d.Operation.Valid() {
		return portal.Request{}, apperr.New(apperr.Invalid, "Unknown operation %q.", d.Operation)
	}
	if !u.Has(portal.RoleRequester) {
		return portal.Request{}, apperr.Deny(apperr.Forbidden, audit.ReasonRole, "Only requesters can file requests.")
	}
	if msg := CheckJustification(d.Justification); msg != "" {
		return portal.Request{}, apperr.New(apperr.Invalid, "%s", msg)
	}
	now := s.Now()
	if msg := CheckRunAt(d.Operation, d.RunAt, now); msg != "" {
		return portal.Request{}, apperr.New(apperr.Invalid, "%s", msg)
	}
	var out portal.Request
	var frozenBy *portal.Freeze // the freeze that refused the filing
	err := s.Store.InTx(ctx, func(tx *db.Tx) error {
		// The requester as stored, held until the request is in: a
		// deactivation either comes first (and the filing is refused) or
		// after (and cancels the request).
		stored, err := tx.UserForShare(ctx, u.ID)
		if err != nil {
			return err
		}
		if !stored.Active || !stored.Has(portal.RoleRequester) {
			return apperr.Deny(apperr.Forbidden, audit.ReasonRole, "Only active requesters can file requests.")
		}
		// One pending request per operation and target: a second one
		// would wait beside the first, and run into it once that ran.
		twin, err := tx.PendingTwin(ctx, targetKey(d), d.Operation, now)
		if err != nil {
			return err
		}
		if twin != 0 {
			return duplicate(d, twin)
		}
		policy, err := tx.CurrentPolicy(ctx)
		if err != nil {
			return err
		}
		draft := portal.Request{
			Operation: d.Operation, DRTaskID: d.DRTaskID, TaskName: d.TaskName, TargetKey: targetKey(d),
			Method: d.Method, Path: d.Path, Payload: d.Payload, PayloadSHA256: portal.PayloadHash(d.Payload),
			RequesterID: u.ID, Justification: strings.TrimSpace(d.Justification), Status: portal.StatusPending,
			RequiredApprovals: policy.Required(d.Operation), PolicyVersion: policy.Version,
			CreatedAt: now, ExpiresAt: now.Add(policy.PendingTTL),
			Consequence: d.Consequence, ConfirmName: d.ConfirmName, Summary: d.Summary,
		}
		// A freeze refuses every filing; outside a window a request may
		// be filed and approved, and then waits.
		gate, err := s.Gate(ctx, tx, draft, now)
		if err != nil {
			return err
		}
		if gate.Frozen && !gate.Bypass {
			frozenBy = &gate.Freeze
			return frozen(gate, s.DisplayZone)
		}
		r, err := s.apply(ctx, tx, step{
			move: func(tx *db.Tx) (portal.Request, error) {
				return tx.InsertRequest(ctx, draft)
			},
			notify: EventFiled, action: audit.ActionRequestFiled, outcome: audit.Success,
			detail: filedDetail(d, map[string]any{
				"method": d.Method, "path": d.Path, "payload": string(d.Payload), "justification": strings.TrimSpace(d.Justification),
				"required_approvals": policy.Approvals[d.Operation], "expires_at": now.Add(policy.PendingTTL),
				"consequence": d.Consequence, "confirmed_cluster": d.ConfirmName,
			}),
		})
		if err != nil {
			return err
		}
		if d.Operation == portal.OpDrill {
			if err := tx.InsertDrill(ctx, r.ID, r.DRTaskID, u.Email, d.RunAt); err != nil {
				return err
			}
		}
		out = r
		if r.RequiredApprovals+gate.ExtraApprovals() == 0 {
			out, err = s.approve(ctx, tx, r, policy, "the policy requires no approval for this operation", gate, 0)
		}
		return err
	})
	if frozenBy != nil {
		// Refused by the freeze: nothing was filed, and the refusal is on
		// record as a form that was not filed.
		why := map[string]string{"freeze": fmt.Sprintf("the freeze “%s” is in force until %s", frozenBy.Reason,
			portal.FormatTime(frozenBy.End, s.DisplayZone))}
		detail := map[string]any{"operation": d.Operation, "errors": why, "freeze_ends_at": frozenBy.End,
			"justification": strings.TrimSpace(d.Justification)}
		e := audit.FromContext(ctx, audit.ActionOperationRejected, audit.Denied)
		e.SubjectType, e.SubjectID = audit.SubjectDRTask, d.DRTaskID
		if d.Operation == portal.OpCreate {
			e = audit.FromContext(ctx, audit.ActionCreateRejected, audit.Denied)
			detail["form"] = map[string]any{"name": d.TaskName}
		}
		e.OccurredAt = now
		e.Detail = audit.Detail(detail)
		if _, aerr := s.Store.AppendAudit(context.WithoutCancel(ctx), e); aerr != nil {
			return portal.Request{}, aerr
		}
	}
	return out, err
}

// approve: pending → approved once the quorum is reached; the execution is
// enqueued in the same transaction, to start at once, or, when the change
// windows or a freeze hold the request back (gate, at approval, with
// approvals as portal.Quorum counts them), when it may run.
func (s *Service) approve(ctx context.Context, tx *db.Tx, r portal.Request, policy portal.Policy, why string, gate portal.WindowGate, approvals int) (portal.Request, error) {
	now := s.Now()
	// A request scheduled for later (a drill) keeps its approval for as
	// long after its time as any other after its approval.
	notBefore, err := tx.RequestNotBefore(ctx, r.ID)
	if err != nil {
		return portal.Request{}, err
	}
	from := now
	detail := map[string]any{"reason": why}
	if notBefore.After(now) {
		from = notBefore
		detail["runs_at"] = notBefore
	}
	until := from.Add(policy.ApprovalTTL)
	detail["approval_expires_at"] = until
	waits := !gate.MayRun(approvals, r.RequiredApprovals) && !gate.RunsAt.IsZero() && gate.RunsAt.After(now)
	runsAt := gate.RunsAt
	if waits {
		if notBefore.After(runsAt) {
			runsAt = notBefore
		}
		detail["waits"] = WaitReason(gate, nil)
		detail["runs_at"] = runsAt
		if !runsAt.Before(until) {
			detail["lapses_before_it_runs"] = true
		}
	}
	return s.apply(ctx, tx, step{
		move: func(tx *db.Tx) (portal.Request, error) {
			return tx.ApproveRequest(ctx, r.ID, sources(portal.StatusApproved), now, until)
		},
		also: func(tx *db.Tx, r portal.Request) error {
			var err error
			if waits {
				err = s.Outbox.ScheduleExecution(ctx, tx, r.ID, r.Resumes, runsAt)
			} else {
				err = s.Outbox.EnqueueExecution(ctx, tx, r.ID, r.Resumes)
			}
			if err != nil {
				return fmt.Errorf("enqueue request %d: %w", r.ID, err)
			}
			return nil
		},
		notify: EventApproved, action: audit.ActionRequestApproved, outcome: audit.Success, detail: detail,
	})
}

// CanDecide says whether u may approve or reject r now, and if not, why.
func CanDecide(u portal.User, r portal.Request, decided []portal.Approval, now time.Time) (bool, string) {
	switch {
	case r.Status != portal.StatusPending:
		return false, fmt.Sprintf("This request can no longer be decided: its status is %s.", r.Status.Label())
	case !now.Before(r.ExpiresAt):
		return false, "The request has expired."
	case u.ID == r.RequesterID:
		return false, "Nobody approves their own request, whatever their roles."
	case !u.Has(portal.RoleApprover):
		return false, "Only approvers can approve or reject requests."
	case u.ApproverSince.After(r.CreatedAt):
		return false, "You became an approver after this request was filed: it is decided by people who were approvers then."
	}
	for _, a := range decided {
		if a.ApproverID == u.ID {
			return false, fmt.Sprintf("You already decided (%s).", a.Decision)
		}
	}
	return true, ""
}

// CannotRun says why operation request r can no longer run, as the
// portal's stored copy of its task knows it (the poller keeps it fresh; no
// cloud call): the task was deleted, or its status does not allow the
// operation. "" when nothing stands in its way, and always for a create.
// It is judged on every read, so a request held up by a passing status
// (a stop filed while a start runs) can run again once it has passed.
func (s *Service) CannotRun(ctx context.Context, r portal.Request) (string, error) {
	why, err := s.CannotRunEach(ctx, []portal.Request{r})
	return why[r.ID], err
}

// CannotRunEach is CannotRun for each of rs, by request id, for those that
// can no longer run; each task is read once.
func (s *Service) CannotRunEach(ctx context.Context, rs []portal.Request) (map[int64]string, error) {
	if len(rs) == 0 {
		return map[int64]string{}, nil
	}
	ids := make([]int64, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	states, err := s.Store.RequestTaskStatesOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	return CannotRunOf(states), nil
}

// CountRunnable counts the states of requests that can still run, by the
// rules CannotRun applies.
func CountRunnable(states []db.RequestTaskState) int {
	n := 0
	for _, st := range states {
		if ok, _ := canRun(st, false); ok {
			n++
		}
	}
	return n
}

// CannotRunOf is CannotRun for each state read by db.RequestTaskStatesOf
// or db.ListRequestsWithStates: by request id, why those that cannot run
// cannot.
func CannotRunOf(states []db.RequestTaskState) map[int64]string {
	out := map[int64]string{}
	for _, st := range states {
		if ok, why := canRun(st, true); !ok {
			out[st.RequestID] = why
		}
	}
	return out
}

// canRun is the one rule of CannotRun; explain asks for the reason in words.
func canRun(st db.RequestTaskState, explain bool) (bool, string) {
	switch {
	case st.Operation == portal.OpCreate || st.TaskID == "":
		return true, ""
	case !st.Known:
		return false, taskUnknown
	case st.Gone:
		return false, taskDeleted
	}
	t := portal.Task{ID: st.TaskID, Status: st.Status, Primary: portal.TaskSide{Status: st.PrimaryStatus}}
	s := portal.TaskState{Task: t, LastSucceededOp: st.LastSucceededOp}
	if !explain {
		return portal.Allows(st.Operation, s), ""
	}
	return portal.Allowed(st.Operation, s)
}

// Why a request on a task the portal's copy does not have cannot run.
const (
	taskUnknown = "The portal no longer knows this DR task."
	taskDeleted = "The DR task was deleted."
)

// Decide records an approver's decision. seenHash is the payload hash the
// approver was shown: a request whose payload is not what they saw is not
// decided. A high-risk request's approval needs the affected cluster's name
// typed (confirm) exactly as the requester had to. An approval that
// completes the quorum approves the request and enqueues its execution in
// the same transaction; a rejection ends it.
func (s *Service) Decide(ctx context.Context, u portal.User, id int64, d portal.Decision, comment, seenHash, confirm string) (portal.Request, error) {
	if d != portal.Approve && d != portal.Reject {
		return portal.Request{}, apperr.New(apperr.Invalid, "Decide approve or reject.")
	}
	comment = strings.TrimSpace(comment)
	if utf8.RuneCountInString(comment) > MaxJustification {
		return portal.Request{}, apperr.New(apperr.Invalid, "Keep the comment under %d characters.", MaxJustification)
	}
	if d == portal.Reject && comment == "" {
		return portal.Request{}, apperr.New(apperr.Invalid, "Say why you reject the request: the requester needs to know.")
	}
	now := s.Now()
	evidence, err := s.evidence(ctx, id)
	if err != nil {
		return portal.Request{}, err
	}
	// Read before the transaction, like the evidence: a request its task
	// can no longer run is not approved (it may still be rejected).
	blocked := ""
	if d == portal.Approve {
		r, err := s.Store.Request(ctx, id)
		if err != nil {
			return portal.Request{}, err
		}
		if r.Status == portal.StatusPending {
			if blocked, err = s.CannotRun(ctx, r); err != nil {
				return portal.Request{}, err
			}
		}
	}
	var out portal.Request
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
			switch {
			case u.ID == r.RequesterID:
				return apperr.Deny(apperr.Forbidden, audit.ReasonSelfApproval, "%s Nothing was changed.", why)
			case !u.Has(portal.RoleApprover):
				return apperr.Deny(apperr.Forbidden, audit.ReasonNotApprover, "%s Nothing was changed.", why)
			case u.ApproverSince.After(r.CreatedAt):
				return apperr.Deny(apperr.Forbidden, audit.ReasonApproverAfterFiling, "%s Nothing was changed.", why)
			}
			return apperr.New(apperr.Conflict, "%s Nothing was changed.", why)
		}
		if blocked != "" {
			return apperr.New(apperr.Conflict, "This request cannot run: %s It cannot be approved; reject it, or its requester can cancel it. Nothing was changed.", blocked)
		}
		if d == portal.Approve && r.ConfirmName != "" && strings.TrimSpace(confirm) != r.ConfirmName {
			return apperr.New(apperr.Invalid, "Type the name of the affected cluster, %s, exactly, to approve. Nothing was changed.", r.ConfirmName)
		}
		if !strings.EqualFold(seenHash, hex.EncodeToString(r.PayloadSHA256)) {
			// A conflict, but also a refusal the audit log records: an
			// approval of something other than what is on record.
			return apperr.Deny(apperr.Conflict, audit.ReasonStaleHash, "The request is not what you were shown (payload hash %s, you saw %s). Reload it and decide again. Nothing was changed.",
				short(hex.EncodeToString(r.PayloadSHA256)), short(seenHash))
		}
		a := portal.Approval{RequestID: id, ApproverID: u.ID, ApproverEmail: u.Email, Decision: d, Comment: comment,
			PayloadSHA256: r.PayloadSHA256, PolicyVersion: r.PolicyVersion, DecidedAt: now,
			ApproverNow: u.Active && u.Has(portal.RoleApprover), ApproverWhenFiled: !u.ApproverSince.After(r.CreatedAt)}
		out, err = s.apply(ctx, tx, step{
			move:   func(tx *db.Tx) (portal.Request, error) { return r, tx.InsertApproval(ctx, a) },
			action: audit.ActionRequestDecision, outcome: audit.Success,
			detail: map[string]any{"decision": string(d), "comment": comment, "confirmed_cluster": confirmedName(d, r),
				"shown": map[string]any{"method": r.Method, "path": r.Path, "payload": string(r.Payload),
					"consequence": r.Consequence, "task_state": evidence}},
		})
		if err != nil {
			return err
		}
		if d == portal.Reject {
			out, err = s.apply(ctx, tx, step{
				move: func(tx *db.Tx) (portal.Request, error) {
					return tx.EndRequest(ctx, id, sources(portal.StatusRejected), portal.StatusRejected, now,
						"rejected by "+u.Email+": "+comment, db.CloudError{})
				},
				notify: EventRejected, action: audit.ActionRequestRejected, outcome: audit.Success,
				detail: map[string]any{"comment": comment},
			})
			return err
		}
		approvals, err := portal.Quorum(r, append(decided, a))
		if err != nil {
			return apperr.Wrap(apperr.Conflict, err, "%s. Nothing was changed.", upperFirst(err.Error()))
		}
		// Outside its windows, under the extra-approval rule, the policy's
		// number leaves it pending: one more runs it at once, or the
		// window's opening approves it (ApproveInWindow).
		gate, err := s.Gate(ctx, tx, r, now)
		if err != nil {
			return err
		}
		if approvals < r.RequiredApprovals+gate.ExtraApprovals() {
			return nil
		}
		// Inside the transaction: a second connection here could wait on a
		// pool held by the decisions queued behind this one.
		policy, err := tx.Policy(ctx, r.PolicyVersion)
		if err != nil {
			return err
		}
		why := fmt.Sprintf("%d of %d approvals", approvals, r.RequiredApprovals)
		if gate.ExtraApprovals() > 0 {
			why = fmt.Sprintf("%d of %d approvals: one more than the policy's %d, to run outside its change window",
				approvals, r.RequiredApprovals+gate.ExtraApprovals(), r.RequiredApprovals)
		}
		out, err = s.approve(ctx, tx, r, policy, why, gate, approvals)
		return err
	})
	return out, err
}

// VerifyApproval re-checks, right before a call, that the payload is the
// one the approvers approved and that enough of them did: the same quorum
// rule as when they decided. An emergency request filed by breaking glass
// needs no approval; its payload is still checked.
func (s *Service) VerifyApproval(ctx context.Context, r portal.Request) error {
	requester, err := s.Store.UserByID(ctx, r.RequesterID)
	if err != nil {
		return err
	}
	if !requester.Active {
		return fmt.Errorf("its requester, %s, has been deactivated", requester.Email)
	}
	approvals, err := s.Store.Approvals(ctx, r.ID)
	if err != nil {
		return err
	}
	// A request filed under an older policy below the floor still needs
	// it; an emergency request (break-glass) needs none (portal.Authorized).
	return portal.Authorized(r, approvals, max(r.RequiredApprovals, r.Operation.MinApprovals()))
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12] + "…"
	}
	return h
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// CanCheck says whether u may ask for a live check of r's preconditions:
// the people who act on it (requesters and approvers), while it waits to run.
func CanCheck(u portal.User, r portal.Request, now time.Time) bool {
	st := r.EffectiveStatus(now)
	return (st == portal.StatusPending || st == portal.StatusApproved) &&
		(u.Has(portal.RoleRequester) || u.Has(portal.RoleApprover))
}

// Check asks the cloud whether r's preconditions still hold and records
// the answer with its audit event. Pages show the last answer; this is the
// only way a person makes the portal ask again, and it is rate-limited per
// request across everyone and every replica.
func (s *Service) Check(ctx context.Context, u portal.User, id int64) (portal.Request, error) {
	now := s.Now()
	r, err := s.Store.Request(ctx, id)
	if err != nil {
		return portal.Request{}, err
	}
	if !u.Has(portal.RoleRequester) && !u.Has(portal.RoleApprover) {
		return portal.Request{}, apperr.Deny(apperr.Forbidden, audit.ReasonRole, "Only requesters and approvers can ask for a live check.")
	}
	if !CanCheck(u, r, now) {
		return portal.Request{}, apperr.New(apperr.Conflict, "Request #%d is %s: there are no preconditions left to check.", id, r.EffectiveStatus(now))
	}
	interval := s.CheckInterval
	if interval <= 0 {
		interval = 15 * time.Second
	}
	claimedAt, ok, err := s.Store.ClaimCheck(ctx, id, now, interval)
	if err != nil {
		return portal.Request{}, err
	}
	if !ok {
		msg := "The preconditions were checked moments ago; wait a few seconds and check again."
		if cur, err := s.Store.Request(ctx, id); err == nil && cur.CheckedAt != nil {
			msg = fmt.Sprintf("The preconditions were checked at %s; you can check again from %s.",
				cur.CheckedAt.UTC().Format("15:04:05 UTC"), cur.CheckedAt.Add(interval).UTC().Format("15:04:05 UTC"))
		}
		return portal.Request{}, apperr.New(apperr.TooMany, "%s", msg)
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
	return s.run(ctx, step{
		move: func(tx *db.Tx) (portal.Request, error) {
			if err := tx.RecordCheck(ctx, id, claimedAt, problems, cloudErr); err != nil {
				return portal.Request{}, err
			}
			return tx.Request(ctx, id, false)
		},
		action: audit.ActionRequestChecked, outcome: outcome, detail: detail,
	})
}

// CancelPendingOf cancels, in tx, every pending request userID filed:
// someone deactivated cannot have a change approved and run in their name.
// Each cancellation is audited (why says why) and announced.
func (s *Service) CancelPendingOf(ctx context.Context, tx *db.Tx, userID int64, why string) (int, error) {
	ids, err := tx.PendingRequestsOf(ctx, userID)
	if err != nil {
		return 0, err
	}
	now := s.Now()
	for _, id := range ids {
		if _, err := s.apply(ctx, tx, step{
			move: func(tx *db.Tx) (portal.Request, error) {
				// Pending only: one approved meanwhile is not withdrawn here.
				return tx.EndRequest(ctx, id, []portal.RequestStatus{portal.StatusPending}, portal.StatusCancelled, now, why, db.CloudError{})
			},
			notify: EventCancelled, action: audit.ActionRequestCancelled, outcome: audit.Success,
			detail: map[string]any{"reason": why},
		}); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

// CancelOnDeactivate is CancelPendingOf for auth.Service.OnDeactivate.
func (s *Service) CancelOnDeactivate(ctx context.Context, tx *db.Tx, u portal.User) error {
	_, err := s.CancelPendingOf(ctx, tx, u.ID, "cancelled: the requester's account was deactivated")
	return err
}

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
	ctx = audit.WithActor(ctx, audit.System)
	n := 0
	for _, id := range ids {
		_, err := s.run(ctx, step{
			move: func(tx *db.Tx) (portal.Request, error) {
				return tx.EndRequest(ctx, id, sources(portal.StatusExpired), portal.StatusExpired, now,
					"expired without enough approvals", db.CloudError{})
			},
			notify: EventExpired, action: audit.ActionRequestExpired, outcome: audit.Info,
			detail: map[string]any{"expired_at": now},
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

// The executor's transitions. Each moves an approved or executing request
// one step, guarded by where it must be, and records why.

// BeginExecution: approved → executing.
func (s *Service) BeginExecution(ctx context.Context, r portal.Request) (portal.Request, error) {
	now := s.Now()
	return s.run(ctx, step{
		move: func(tx *db.Tx) (portal.Request, error) {
			return tx.BeginExecution(ctx, r.ID, sources(portal.StatusExecuting), now)
		},
		action: audit.ActionRequestExecuting, outcome: audit.Info,
	})
}

// RecordIntent records, before the call, that it is about to be made,
// with the pre-call snapshot of an operation's task (nil for a create).
// holder is the run making it, which must hold the request's lease.
func (s *Service) RecordIntent(ctx context.Context, r portal.Request, holder string, snap *db.Snapshot) (portal.Request, error) {
	detail := map[string]any{"attempt": r.CallAttempts + 1, "method": r.Method, "path": r.Path}
	if snap != nil {
		detail["pre_status"], detail["pre_primary_id"] = snap.Status, snap.PrimaryID
	}
	return s.run(ctx, step{
		move:   func(tx *db.Tx) (portal.Request, error) { return tx.RecordIntent(ctx, r.ID, holder, snap) },
		action: audit.ActionRequestIntent, outcome: audit.Info, detail: detail,
	})
}

// NotSent records that the call surely did not take effect, so it may be
// sent again: refused for now (ce says why), or an earlier attempt whose
// answer was lost and that a look at the cloud showed had no effect.
func (s *Service) NotSent(ctx context.Context, r portal.Request, ce db.CloudError, detail map[string]any) (portal.Request, error) {
	outcome := audit.Info
	if ce.Code != "" || ce.Message != "" {
		outcome = audit.Failure
	}
	return s.run(ctx, step{
		move:   func(tx *db.Tx) (portal.Request, error) { return tx.RecordNotSent(ctx, r.ID, ce) },
		action: audit.ActionRequestResult, outcome: outcome, detail: detail,
	})
}

// Accept records that the cloud took the call: the request follows the
// task (taskID is the new task of a create) until deadline. also runs in
// the same transaction (a create records its new task).
func (s *Service) Accept(ctx context.Context, r portal.Request, taskID string, deadline time.Time, detail map[string]any,
	also func(tx *db.Tx) error) (portal.Request, error) {
	return s.run(ctx, step{
		move: func(tx *db.Tx) (portal.Request, error) { return tx.AcceptCall(ctx, r.ID, taskID, deadline) },
		also: func(tx *db.Tx, _ portal.Request) error {
			if also == nil {
				return nil
			}
			return also(tx)
		},
		action: audit.ActionRequestResult, outcome: audit.Success, detail: detail,
	})
}

// Observe records a task status seen while following the request.
func (s *Service) Observe(ctx context.Context, r portal.Request, status portal.TaskStatus, transient bool) (portal.Request, error) {
	return s.run(ctx, step{
		move:   func(tx *db.Tx) (portal.Request, error) { return tx.ObserveStatus(ctx, r.ID, status, transient) },
		action: audit.ActionRequestProgress, outcome: audit.Info, detail: map[string]any{"from": cmp.Or(r.LastSeenStatus, r.PreStatus), "to": status},
	})
}

// Resume takes an approved or executing request over from the run of the
// executor that died while working on it (l, as db.Store.LapsedExecutions
// found it). The execution is enqueued again in the same transaction, as a
// job of its own; that run settles an unknown outcome by looking at the
// cloud before sending anything. Replicas may try at once: only one takes
// it over, the others get a Conflict.
func (s *Service) Resume(ctx context.Context, l db.LapsedExecution) (portal.Request, error) {
	run := l.Holder
	if run == "" {
		run = fmt.Sprintf("job %d, which no run held", l.Job)
	}
	return s.run(ctx, step{
		move: func(tx *db.Tx) (portal.Request, error) { return tx.ResumeExecution(ctx, l, s.Now()) },
		also: func(tx *db.Tx, r portal.Request) error {
			if err := s.Outbox.EnqueueExecution(ctx, tx, r.ID, r.Resumes); err != nil {
				return fmt.Errorf("enqueue request %d: %w", r.ID, err)
			}
			return nil
		},
		action: audit.ActionRequestResumed, outcome: audit.Info,
		detail: map[string]any{"interrupted_run": run, "note": "the run executing this request died (it stopped renewing " +
			"its lease); the execution is resumed, and the cloud is checked before anything is sent again"},
	})
}

// HoldExecution, RenewExecution and ReleaseExecution keep the lease of the
// run working on a request (see db.Store.HoldExecution). They record who
// works on it, not a change of it, and are not audited: a run holds and
// releases every few seconds while it follows an operation. The takeover
// of a dead run's request is (Resume).

// HoldExecution makes holder the run working on r for d; see db.Store.HoldExecution.
func (s *Service) HoldExecution(ctx context.Context, id int64, resumes int, holder string, d time.Duration) (bool, error) {
	return s.Store.HoldExecution(ctx, id, resumes, holder, d)
}

// RenewExecution extends holder's lease to d from now; false when it is lost.
func (s *Service) RenewExecution(ctx context.Context, id int64, holder string, d time.Duration) (bool, error) {
	return s.Store.RenewExecution(ctx, id, holder, d)
}

// ReleaseExecution ends holder's lease.
func (s *Service) ReleaseExecution(ctx context.Context, id int64, holder string) error {
	return s.Store.ReleaseExecution(ctx, id, holder)
}

// Succeed: executing → succeeded. also runs in the same transaction.
func (s *Service) Succeed(ctx context.Context, r portal.Request, outcome string, status portal.TaskStatus, also func(tx *db.Tx) error) (portal.Request, error) {
	now := s.Now()
	return s.run(ctx, step{
		move: func(tx *db.Tx) (portal.Request, error) {
			return tx.EndRequest(ctx, r.ID, sources(portal.StatusSucceeded), portal.StatusSucceeded, now, outcome, db.CloudError{})
		},
		also: func(tx *db.Tx, _ portal.Request) error {
			if also == nil {
				return nil
			}
			return also(tx)
		},
		notify: EventExecuted, action: audit.ActionRequestSucceeded, outcome: audit.Success, detail: map[string]any{"status": status},
	})
}

// Fail: approved or executing → failed, with the reason and the cloud's
// error behind it, if any (detail carries it for the audit history).
func (s *Service) Fail(ctx context.Context, r portal.Request, reason string, ce db.CloudError, detail map[string]any) (portal.Request, error) {
	now := s.Now()
	if detail == nil {
		detail = map[string]any{}
	}
	var also []step
	if r.Operation == portal.OpDrill {
		var err error
		if reason, also, err = s.drillFailed(ctx, r, reason, now); err != nil {
			return portal.Request{}, err
		}
	}
	detail["reason"] = reason
	return s.runAll(ctx, append([]step{{
		move: func(tx *db.Tx) (portal.Request, error) {
			return tx.EndRequest(ctx, r.ID, sources(portal.StatusFailed), portal.StatusFailed, now, reason, ce)
		},
		notify: EventFailed, action: audit.ActionRequestFailed, outcome: audit.Failure, detail: detail,
	}}, also...)...)
}

// Refused records a check that stopped the request before any call.
func (s *Service) Refused(ctx context.Context, r portal.Request, check, reason string) error {
	_, err := s.Store.AppendAudit(context.WithoutCancel(ctx), Event(ctx, audit.ActionRequestRefused, audit.Denied, r, s.Now(),
		map[string]any{"reason": reason, "check": check}))
	return err
}

// Unknown records an attempt whose outcome is unknown: the next run looks
// at the cloud before sending anything again.
func (s *Service) Unknown(ctx context.Context, r portal.Request, detail map[string]any) error {
	_, err := s.Store.AppendAudit(context.WithoutCancel(ctx), Event(ctx, audit.ActionRequestResult, audit.Error, r, s.Now(), detail))
	return err
}

func confirmedName(d portal.Decision, r portal.Request) string {
	if d == portal.Approve {
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
