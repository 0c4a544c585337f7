package jobs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/db"
	"drportal/internal/drtask"
	"drportal/internal/dws"
	"drportal/internal/requests"
)

// Cloud is what the executor needs of the DWS client.
type Cloud interface {
	Create(ctx context.Context, p dws.CreateParams) (string, error)
	Operate(ctx context.Context, op, id string, body []byte) error
	Get(ctx context.Context, id string) (dws.Task, error)
	List(ctx context.Context) ([]dws.TaskSummary, error)
}

// Checker re-checks a request's live preconditions right before its call.
type Checker interface {
	CheckCreate(ctx context.Context, p dws.CreateParams) ([]string, error)
	LiveState(ctx context.Context, id string) (drtask.State, error)
}

// Audit actions of the executor: every job transition.
const (
	ActionExecuting = "request.executing"
	ActionIntent    = "request.intent"
	ActionResult    = "request.result"
	ActionRefused   = "request.refused"
	ActionProgress  = "request.progress"
	ActionSucceeded = "request.succeeded"
	ActionFailed    = "request.failed"
)

type executeWorker struct {
	river.WorkerDefaults[executeArgs]
	cfg  *Config
	jobs *Jobs
}

// Timeout bounds one run; following a task is many short runs, snoozed in
// between, not one long one.
func (w *executeWorker) Timeout(*river.Job[executeArgs]) time.Duration { return 2 * time.Minute }

// NextRetry is bounded exponential backoff with jitter.
func (w *executeWorker) NextRetry(job *river.Job[executeArgs]) time.Time {
	d := w.cfg.RetryBase << min(max(job.Attempt-1, 0), 20)
	d = min(d, w.cfg.RetryCap)
	return time.Now().Add(d/2 + rand.N(d/2+1))
}

// Work carries a request one step further. It is safe to run again at any
// point: it reads the request's recorded state and decides from there, and
// it never re-sends a call whose outcome is unknown without first looking
// at the cloud.
func (w *executeWorker) Work(ctx context.Context, job *river.Job[executeArgs]) error {
	id := job.Args.RequestID
	ctx = audit.WithActor(ctx, audit.System)
	ctx = audit.WithCorrelation(ctx, fmt.Sprintf("job-%d", job.ID))
	ctx = audit.WithRequest(ctx, id)
	r, err := w.cfg.Store.Request(ctx, id)
	if err != nil {
		return err
	}
	ex := &execution{w: w, r: r}
	switch {
	case r.Status == db.StatusApproved:
		return ex.start(ctx)
	case r.Status == db.StatusExecuting && r.CallState == db.CallIntent:
		return ex.recover(ctx)
	case r.Status == db.StatusExecuting && r.CallState == db.CallNone:
		return ex.resend(ctx, false)
	case r.Status == db.StatusExecuting && r.CallState == db.CallAccepted:
		return ex.follow(ctx)
	}
	return nil // decided, finished or withdrawn: nothing to do
}

// execution is one run of the worker on one request.
type execution struct {
	w *executeWorker
	r db.Request
}

func (ex *execution) now() time.Time { return ex.w.cfg.Now() }

// event is an audit event about the request.
func (ex *execution) event(ctx context.Context, action string, outcome audit.Outcome, detail map[string]any) audit.Event {
	return requests.Event(ctx, action, outcome, ex.r, ex.now(), detail)
}

// record writes an audit event on its own, outliving a cancelled job.
func (ex *execution) record(ctx context.Context, action string, outcome audit.Outcome, detail map[string]any) error {
	_, err := ex.w.cfg.Store.AppendAudit(context.WithoutCancel(ctx), ex.event(ctx, action, outcome, detail))
	return err
}

// transition updates the request and records the event in one transaction.
func (ex *execution) transition(ctx context.Context, u db.RequestUpdate, action string, outcome audit.Outcome,
	detail map[string]any, more func(*db.Tx) error) error {
	ctx = context.WithoutCancel(ctx)
	return ex.w.cfg.Store.InTx(ctx, func(tx *db.Tx) error {
		r, err := tx.UpdateRequest(ctx, ex.r.ID, u)
		if err != nil {
			return err
		}
		ex.r = r
		if more != nil {
			if err := more(tx); err != nil {
				return err
			}
		}
		_, err = tx.AppendAudit(ctx, ex.event(ctx, action, outcome, detail))
		return err
	})
}

// fail ends the request as failed, with the cloud's error when there is one.
func (ex *execution) fail(ctx context.Context, reason string, cause error) error {
	now := ex.now()
	u := db.RequestUpdate{From: []string{db.StatusApproved, db.StatusExecuting}, Status: db.StatusFailed,
		FinishedAt: &now, Outcome: reason}
	detail := map[string]any{"reason": reason}
	if ce, ok := dws.AsError(cause); ok {
		u.ErrorCode, u.ErrorMsg, u.ErrorRequestID = ce.Code, ce.Message, ce.RequestID
		detail["status"], detail["error_code"], detail["error_msg"], detail["x_request_id"] = ce.StatusCode, ce.Code, ce.Message, ce.RequestID
	} else if cause != nil {
		u.ErrorMsg = cause.Error()
		detail["error"] = cause.Error()
	}
	err := ex.transition(ctx, u, ActionFailed, audit.Failure, detail, func(tx *db.Tx) error {
		return ex.notify(ctx, tx, requests.EventFailed)
	})
	if apperr.KindOf(err) == apperr.Conflict {
		return nil // someone else finished it
	}
	return err
}

func (ex *execution) notify(ctx context.Context, tx *db.Tx, event string) error {
	return ex.w.jobs.Notify(ctx, tx, event, ex.r)
}

// approvalLapsed reports whether the approval has run out.
func (ex *execution) approvalLapsed() bool {
	return ex.r.ApprovalExpiresAt != nil && !ex.now().Before(*ex.r.ApprovalExpiresAt)
}

// verifyApproval re-checks, right before a call, that the payload is the one
// the approvers approved and that enough of them did.
func (ex *execution) verifyApproval(ctx context.Context) error {
	if !bytes.Equal(requests.PayloadHash(ex.r.Payload), ex.r.PayloadSHA256) {
		return errors.New("the payload no longer matches its recorded hash: it was changed after filing")
	}
	approvals, err := ex.w.cfg.Store.Approvals(ctx, ex.r.ID)
	if err != nil {
		return err
	}
	n := 0
	for _, a := range approvals {
		if a.Decision != string(requests.Approve) || a.PolicyVersion != ex.r.PolicyVersion {
			continue
		}
		if !bytes.Equal(a.PayloadSHA256, ex.r.PayloadSHA256) {
			return fmt.Errorf("the payload is not the one %s approved: it was changed after approval", a.ApproverEmail)
		}
		n++
	}
	if n < ex.r.RequiredApprovals {
		return fmt.Errorf("only %d of the %d required approvals are on record", n, ex.r.RequiredApprovals)
	}
	return nil
}

// call is what a request sends.
type call struct {
	create dws.CreateParams // for a create
	body   []byte           // for an operation (update only; empty otherwise)
}

// plan reads and checks the call the request carries.
func (ex *execution) plan() (call, error) {
	switch ex.r.Operation {
	case requests.OpCreate:
		p, err := dws.ParseCreateBody(ex.r.Payload)
		return call{create: p}, err
	case dws.OpUpdate:
		_, err := dws.ParseUpdateBody(ex.r.Payload)
		return call{body: ex.r.Payload}, err
	}
	if _, ok := drtask.SpecOf(ex.r.Operation); !ok {
		return call{}, fmt.Errorf("unknown operation %q", ex.r.Operation)
	}
	if len(ex.r.Payload) != 0 {
		return call{}, fmt.Errorf("a %s carries no body, but this request has one", ex.r.Operation)
	}
	return call{}, nil
}

func (ex *execution) isCreate() bool { return ex.r.Operation == requests.OpCreate }

// preflight checks everything that must hold before a call: the approval
// is current and untouched and the live preconditions hold (for an
// operation: the task's live status still allows it). It returns done=true
// when the request was ended (refused or failed), and the live task for an
// operation, whose state becomes the pre-call snapshot.
func (ex *execution) preflight(ctx context.Context) (c call, live dws.Task, done bool, err error) {
	if ex.approvalLapsed() {
		reason := "the approval lapsed before the call could be made"
		if ex.r.ErrorMsg != "" || ex.r.ErrorCode != "" {
			reason = fmt.Sprintf("the approval lapsed while the cloud kept failing (last error: %s %s)", ex.r.ErrorCode, ex.r.ErrorMsg)
		}
		return c, live, true, ex.fail(ctx, reason, nil)
	}
	if err := ex.verifyApproval(ctx); err != nil {
		return c, live, true, ex.refuse(ctx, "approval", err.Error())
	}
	c, err = ex.plan()
	if err != nil {
		return c, live, true, ex.refuse(ctx, "payload", err.Error())
	}
	if ex.isCreate() {
		problems, err := ex.w.cfg.Checks.CheckCreate(ctx, c.create)
		if err != nil {
			return c, live, false, err // the cloud could not be asked: try again later
		}
		if len(problems) > 0 {
			return c, live, true, ex.refuse(ctx, "preconditions", "the preconditions no longer hold: "+strings.Join(problems, " "))
		}
		return c, live, false, nil
	}
	state, err := ex.w.cfg.Checks.LiveState(ctx, ex.r.DRTaskID)
	switch {
	case dws.IsKind(err, dws.KindNotFound):
		return c, live, true, ex.refuse(ctx, "preconditions", "the DR task no longer exists (it was deleted meanwhile)")
	case err != nil:
		return c, live, false, err
	}
	if ok, why := drtask.Allowed(ex.r.Operation, state); !ok {
		return c, live, true, ex.refuse(ctx, "preconditions", "the task's live status no longer allows it: "+why)
	}
	return c, state.Task, false, nil
}

// refuse ends the request before any call, with the reason audited.
func (ex *execution) refuse(ctx context.Context, check, reason string) error {
	reason = "refused before any call: " + reason
	if err := ex.record(ctx, ActionRefused, audit.Denied, map[string]any{"reason": reason, "check": check}); err != nil {
		return err
	}
	return ex.fail(ctx, reason, nil)
}

// start begins an approved request.
func (ex *execution) start(ctx context.Context) error {
	c, live, done, err := ex.preflight(ctx)
	if done || err != nil {
		return err
	}
	now := ex.now()
	err = ex.transition(ctx, db.RequestUpdate{From: []string{db.StatusApproved}, Status: db.StatusExecuting, StartedAt: &now},
		ActionExecuting, audit.Info, nil, nil)
	if err != nil {
		return err
	}
	return ex.send(ctx, c, live, false)
}

// resend tries the call again after a failure that certainly did not
// reach the cloud (throttled, busy) or after recovery found nothing.
func (ex *execution) resend(ctx context.Context, afterAmbiguous bool) error {
	c, live, done, err := ex.preflight(ctx)
	if done || err != nil {
		return err
	}
	return ex.send(ctx, c, live, afterAmbiguous)
}

// send records the intent (with the pre-call snapshot), makes the call and
// records its result. afterAmbiguous says an earlier attempt may have been
// applied: a "wrong state" answer then means it was.
func (ex *execution) send(ctx context.Context, c call, live dws.Task, afterAmbiguous bool) error {
	u := db.RequestUpdate{From: []string{db.StatusExecuting}, CallState: db.CallIntent, IncAttempts: true}
	detail := map[string]any{"attempt": ex.r.CallAttempts + 1, "method": ex.r.Method, "path": ex.r.Path}
	if !ex.isCreate() {
		u.Snapshot, u.PreStatus, u.PrePrimaryID, u.PreStartTime = true, live.Status, live.Primary.ID, live.StartTime
		detail["pre_status"], detail["pre_primary_id"] = live.Status, live.Primary.ID
	}
	if err := ex.transition(ctx, u, ActionIntent, audit.Info, detail, nil); err != nil {
		return err
	}
	var id string
	var err error
	if ex.isCreate() {
		id, err = ex.w.cfg.Cloud.Create(ctx, c.create)
	} else {
		err = ex.w.cfg.Cloud.Operate(ctx, ex.r.Operation, ex.r.DRTaskID, c.body)
	}
	if err == nil {
		return ex.accepted(ctx, id, false)
	}
	ce, ok := dws.AsError(err)
	switch {
	case ok && !ex.isCreate() && afterAmbiguous && ce.Kind == dws.KindBusy:
		// The earlier attempt was applied after all: the task has moved on.
		return ex.accepted(ctx, "", true)
	case ok && ex.r.Operation == dws.OpDelete && ce.Kind == dws.KindNotFound:
		return ex.accepted(ctx, "", afterAmbiguous)
	case ok && (ce.Kind == dws.KindThrottled || ce.Kind == dws.KindBusy):
		// Refused before it was applied: safe to send again later.
		if terr := ex.transition(ctx, db.RequestUpdate{From: []string{db.StatusExecuting}, CallState: db.CallNone,
			ErrorCode: ce.Code, ErrorMsg: ce.Message, ErrorRequestID: ce.RequestID},
			ActionResult, audit.Failure, resultDetail(ce, "refused for now; will retry"), nil); terr != nil {
			return terr
		}
		return err
	case !ok || ce.Ambiguous():
		// It may have been applied: the next run looks before sending again.
		if rerr := ex.record(ctx, ActionResult, audit.Error, resultDetail(ce,
			"outcome unknown; the next attempt will look at the task before sending anything")); rerr != nil {
			return rerr
		}
		return err
	}
	return ex.fail(ctx, "the cloud refused the call: "+ce.Error(), ce)
}

func resultDetail(ce *dws.Error, note string) map[string]any {
	d := map[string]any{"note": note}
	if ce != nil {
		d["status"], d["error_code"], d["error_msg"], d["x_request_id"], d["error"] = ce.StatusCode, ce.Code, ce.Message, ce.RequestID, ce.Error()
	}
	return d
}

// recover settles a call whose outcome is unknown (a timeout, a crash
// between intent and result). For a create it lists the tasks and adopts
// the one with the requested name and clusters; for an operation it reads
// the task and compares it with the pre-call snapshot. Only when the call
// surely did not take effect is it sent again.
func (ex *execution) recover(ctx context.Context) error {
	c, err := ex.plan()
	if err != nil {
		return ex.fail(ctx, "refused: "+err.Error(), nil)
	}
	if ex.isCreate() {
		items, err := ex.w.cfg.Cloud.List(ctx)
		if err != nil {
			return err
		}
		for _, it := range items {
			if strings.EqualFold(it.Name, c.create.Name) && strings.EqualFold(it.PrimaryClusterID, c.create.PrimaryClusterID) &&
				strings.EqualFold(it.StandbyClusterID, c.create.StandbyClusterID) {
				return ex.accepted(ctx, it.ID, true)
			}
		}
	} else {
		t, err := ex.w.cfg.Cloud.Get(ctx, ex.r.DRTaskID)
		switch {
		case dws.IsKind(err, dws.KindNotFound):
			if ex.r.Operation == dws.OpDelete {
				return ex.accepted(ctx, "", true)
			}
			return ex.fail(ctx, "the DR task disappeared from the cloud", err)
		case err != nil:
			return err
		}
		spec, _ := drtask.SpecOf(ex.r.Operation)
		moved := t.Status != ex.r.PreStatus || slices.Contains(spec.Transient, t.Status) ||
			(t.Primary.ID != "" && t.Primary.ID != ex.r.PrePrimaryID) ||
			(ex.r.Operation == dws.OpUpdate && t.SyncPeriod == updatePeriod(ex.r.Payload))
		if moved {
			return ex.accepted(ctx, "", true)
		}
	}
	if err := ex.transition(ctx, db.RequestUpdate{From: []string{db.StatusExecuting}, CallState: db.CallNone},
		ActionResult, audit.Info, map[string]any{"note": "the earlier attempt did not take effect; it may be sent again"}, nil); err != nil {
		return err
	}
	return ex.resend(ctx, true)
}

func updatePeriod(b []byte) string {
	p, _ := dws.ParseUpdateBody(b)
	return p
}

// accepted records that the cloud took the call and starts following it.
func (ex *execution) accepted(ctx context.Context, taskID string, adopted bool) error {
	deadline := ex.now().Add(ex.w.cfg.FollowTimeout)
	detail := map[string]any{}
	if taskID != "" {
		detail["dr_task_id"] = taskID
	}
	if adopted {
		detail["adopted"] = "the earlier attempt's answer was lost; the cloud shows it took effect"
		if ex.isCreate() {
			detail["adopted"] = "the earlier attempt's answer was lost; the task was found by name and clusters"
		}
	}
	var more func(*db.Tx) error
	if ex.isCreate() {
		c, _ := ex.plan()
		ex.r.DRTaskID = taskID
		more = func(tx *db.Tx) error {
			return tx.InsertCreatedTask(ctx, taskID, c.create, "", "", ex.r.RequesterID, ex.now())
		}
	}
	err := ex.transition(ctx, db.RequestUpdate{From: []string{db.StatusExecuting}, CallState: db.CallAccepted,
		DRTaskID: taskID, FollowDeadline: &deadline}, ActionResult, audit.Success, detail, more)
	if err != nil {
		return err
	}
	return river.JobSnooze(min(ex.w.cfg.FollowInterval, time.Second))
}

// follow reads the task and ends the request once the operation reached
// its target state or a failure state, or ran out of time.
func (ex *execution) follow(ctx context.Context) error {
	t, err := ex.w.cfg.Cloud.Get(ctx, ex.r.DRTaskID)
	gone := dws.IsKind(err, dws.KindNotFound)
	if err != nil && !gone {
		if ex.timedOut() {
			return ex.fail(ctx, fmt.Sprintf("timed out after %s; last state seen: %s", ex.w.cfg.FollowTimeout, ex.r.LastSeenStatus), err)
		}
		return river.JobSnooze(ex.w.cfg.FollowInterval)
	}
	status := t.Status
	if gone {
		status = dws.StatusDeleted
		if err := ex.w.cfg.Store.MarkTaskGone(context.WithoutCancel(ctx), ex.r.DRTaskID, ex.now()); err != nil {
			return err
		}
	} else if err := ex.w.cfg.Store.UpsertTaskDetail(context.WithoutCancel(ctx), t, ex.now()); err != nil {
		return err
	}
	spec, _ := drtask.SpecOf(ex.r.Operation)
	transient := slices.Contains(spec.Transient, status)
	if status != ex.r.LastSeenStatus || (transient && !ex.r.SeenTransient) {
		if err := ex.transition(ctx, db.RequestUpdate{From: []string{db.StatusExecuting}, LastSeenStatus: status,
			SeenTransient: transient}, ActionProgress, audit.Info, map[string]any{"from": ex.r.LastSeenStatus, "to": status}, nil); err != nil {
			return err
		}
	}
	var outcome drtask.Outcome
	var why string
	if ex.isCreate() {
		switch {
		case gone:
			outcome, why = drtask.Failed, "the DR task disappeared from the cloud while it was being created"
		case status == dws.StatusUnstart:
			outcome, why = drtask.Succeeded, fmt.Sprintf("DR task %s created; it is %s", t.Name, status)
		case dws.Failed(status):
			outcome, why = drtask.Failed, fmt.Sprintf("the DR task ended in %s", status)
		}
	} else {
		outcome, why = drtask.Judge(ex.r.Operation, t, gone, drtask.Observation{PreStatus: ex.r.PreStatus,
			PrePrimaryID: ex.r.PrePrimaryID, PreStartTime: ex.r.PreStartTime, SeenTransient: ex.r.SeenTransient})
	}
	now := ex.now()
	switch {
	case outcome == drtask.Succeeded:
		err := ex.transition(ctx, db.RequestUpdate{From: []string{db.StatusExecuting}, Status: db.StatusSucceeded,
			FinishedAt: &now, Outcome: upperFirst(why)}, ActionSucceeded, audit.Success, map[string]any{"status": status},
			func(tx *db.Tx) error {
				if err := tx.ClearDrift(ctx, ex.r.DRTaskID); err != nil {
					return err
				}
				return ex.notify(ctx, tx, requests.EventExecuted)
			})
		if apperr.KindOf(err) == apperr.Conflict {
			return nil
		}
		if err == nil && !gone {
			err = ex.w.cfg.Store.SchedulePoll(context.WithoutCancel(ctx), ex.r.DRTaskID, now)
		}
		return err
	case outcome == drtask.Failed:
		return ex.fail(ctx, why, nil)
	case ex.timedOut():
		return ex.fail(ctx, fmt.Sprintf("timed out after %s; last state seen: %s", ex.w.cfg.FollowTimeout, status), nil)
	}
	return river.JobSnooze(ex.w.cfg.FollowInterval)
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func (ex *execution) timedOut() bool {
	return ex.r.FollowDeadline != nil && !ex.now().Before(*ex.r.FollowDeadline)
}
