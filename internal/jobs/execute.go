package jobs

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/db"
	"drportal/internal/dws"
	"drportal/internal/requests"
)

// Cloud is what the executor needs of the DWS client.
type Cloud interface {
	Create(ctx context.Context, p dws.CreateParams) (string, error)
	Get(ctx context.Context, id string) (dws.Task, error)
	List(ctx context.Context) ([]dws.TaskSummary, error)
}

// CreateChecker re-checks a create's live preconditions.
type CreateChecker interface {
	CheckCreate(ctx context.Context, p dws.CreateParams) ([]string, error)
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
		return ex.resend(ctx)
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
	e := audit.FromContext(ctx, action, outcome)
	e.OccurredAt = ex.now()
	e.RequestID = ex.r.ID
	if ex.r.DRTaskID != "" {
		e.SubjectType, e.SubjectID = audit.SubjectDRTask, ex.r.DRTaskID
	} else {
		e.SubjectType, e.SubjectID = requests.SubjectRequest, fmt.Sprint(ex.r.ID)
	}
	if detail == nil {
		detail = map[string]any{}
	}
	detail["operation"] = ex.r.Operation
	detail["task_name"] = ex.r.TaskName
	detail["payload_sha256"] = hex.EncodeToString(ex.r.PayloadSHA256)
	detail["policy_version"] = ex.r.PolicyVersion
	e.Detail = audit.Detail(detail)
	return e
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

// plan reads the call the request carries.
func (ex *execution) plan() (dws.CreateParams, error) {
	if ex.r.Operation != requests.OpCreate {
		return dws.CreateParams{}, fmt.Errorf("the portal cannot execute %q requests yet", ex.r.Operation)
	}
	return dws.ParseCreateBody(ex.r.Payload)
}

// preflight checks everything that must hold before a call: the approval
// is current and untouched and the live preconditions hold. It returns
// done=true when the request was ended (refused or failed).
func (ex *execution) preflight(ctx context.Context) (p dws.CreateParams, done bool, err error) {
	if ex.approvalLapsed() {
		reason := "the approval lapsed before the call could be made"
		if ex.r.ErrorMsg != "" || ex.r.ErrorCode != "" {
			reason = fmt.Sprintf("the approval lapsed while the cloud kept failing (last error: %s %s)", ex.r.ErrorCode, ex.r.ErrorMsg)
		}
		return p, true, ex.fail(ctx, reason, nil)
	}
	if err := ex.verifyApproval(ctx); err != nil {
		if rerr := ex.record(ctx, ActionRefused, audit.Denied, map[string]any{"reason": err.Error(), "check": "approval"}); rerr != nil {
			return p, true, rerr
		}
		return p, true, ex.fail(ctx, "refused before any call: "+err.Error(), nil)
	}
	p, err = ex.plan()
	if err != nil {
		return p, true, ex.fail(ctx, "refused before any call: "+err.Error(), nil)
	}
	problems, err := ex.w.cfg.Checks.CheckCreate(ctx, p)
	if err != nil {
		return p, false, err // the cloud could not be asked: try again later
	}
	if len(problems) > 0 {
		reason := "refused before any call: the preconditions no longer hold: " + strings.Join(problems, " ")
		if rerr := ex.record(ctx, ActionRefused, audit.Denied, map[string]any{"reason": reason, "check": "preconditions"}); rerr != nil {
			return p, true, rerr
		}
		return p, true, ex.fail(ctx, reason, nil)
	}
	return p, false, nil
}

// start begins an approved request.
func (ex *execution) start(ctx context.Context) error {
	p, done, err := ex.preflight(ctx)
	if done || err != nil {
		return err
	}
	now := ex.now()
	err = ex.transition(ctx, db.RequestUpdate{From: []string{db.StatusApproved}, Status: db.StatusExecuting, StartedAt: &now},
		ActionExecuting, audit.Info, nil, nil)
	if err != nil {
		return err
	}
	return ex.send(ctx, p)
}

// resend tries the call again after a failure that certainly did not
// reach the cloud (throttled, busy) or after recovery found nothing.
func (ex *execution) resend(ctx context.Context) error {
	p, done, err := ex.preflight(ctx)
	if done || err != nil {
		return err
	}
	return ex.send(ctx, p)
}

// send records the intent, makes the call and records its result.
func (ex *execution) send(ctx context.Context, p dws.CreateParams) error {
	err := ex.transition(ctx, db.RequestUpdate{From: []string{db.StatusExecuting}, CallState: db.CallIntent, IncAttempts: true},
		ActionIntent, audit.Info, map[string]any{"attempt": ex.r.CallAttempts + 1, "method": ex.r.Method, "path": ex.r.Path}, nil)
	if err != nil {
		return err
	}
	id, err := ex.w.cfg.Cloud.Create(ctx, p)
	if err == nil {
		return ex.accepted(ctx, id, false)
	}
	ce, ok := dws.AsError(err)
	switch {
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
			"outcome unknown; the next attempt will look the task up before sending anything")); rerr != nil {
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
// between intent and result): it lists the tasks and adopts the one with
// the requested name and clusters, or, when there is none, sends again.
func (ex *execution) recover(ctx context.Context) error {
	p, err := ex.plan()
	if err != nil {
		return ex.fail(ctx, "refused: "+err.Error(), nil)
	}
	items, err := ex.w.cfg.Cloud.List(ctx)
	if err != nil {
		return err
	}
	for _, it := range items {
		if strings.EqualFold(it.Name, p.Name) && strings.EqualFold(it.PrimaryClusterID, p.PrimaryClusterID) &&
			strings.EqualFold(it.StandbyClusterID, p.StandbyClusterID) {
			return ex.accepted(ctx, it.ID, true)
		}
	}
	if err := ex.transition(ctx, db.RequestUpdate{From: []string{db.StatusExecuting}, CallState: db.CallNone},
		ActionResult, audit.Info, map[string]any{"note": "the earlier attempt did not create the task; it may be sent again"}, nil); err != nil {
		return err
	}
	return ex.resend(ctx)
}

// accepted records that the cloud took the call and starts following it.
func (ex *execution) accepted(ctx context.Context, taskID string, adopted bool) error {
	deadline := ex.now().Add(ex.w.cfg.FollowTimeout)
	detail := map[string]any{"dr_task_id": taskID}
	if adopted {
		detail["adopted"] = "the earlier attempt's answer was lost; the task was found by name and clusters"
	}
	p, _ := ex.plan()
	ex.r.DRTaskID = taskID
	err := ex.transition(ctx, db.RequestUpdate{From: []string{db.StatusExecuting}, CallState: db.CallAccepted,
		DRTaskID: taskID, FollowDeadline: &deadline}, ActionResult, audit.Success, detail, func(tx *db.Tx) error {
		return tx.InsertCreatedTask(ctx, taskID, p, "", "", ex.r.RequesterID, ex.now())
	})
	if err != nil {
		return err
	}
	return river.JobSnooze(min(ex.w.cfg.FollowInterval, time.Second))
}

// follow reads the task and ends the request once it reached its target
// state or a failure state, or ran out of time.
func (ex *execution) follow(ctx context.Context) error {
	t, err := ex.w.cfg.Cloud.Get(ctx, ex.r.DRTaskID)
	switch {
	case dws.IsKind(err, dws.KindNotFound):
		return ex.fail(ctx, "the DR task disappeared from the cloud while the operation ran", err)
	case err != nil:
		if ex.timedOut() {
			return ex.fail(ctx, fmt.Sprintf("timed out after %s; last state seen: %s", ex.w.cfg.FollowTimeout, ex.r.LastSeenStatus), err)
		}
		return river.JobSnooze(ex.w.cfg.FollowInterval)
	}
	if err := ex.w.cfg.Store.UpsertTaskDetail(context.WithoutCancel(ctx), t, ex.now()); err != nil {
		return err
	}
	if t.Status != ex.r.LastSeenStatus {
		if err := ex.transition(ctx, db.RequestUpdate{From: []string{db.StatusExecuting}, LastSeenStatus: t.Status},
			ActionProgress, audit.Info, map[string]any{"from": ex.r.LastSeenStatus, "to": t.Status}, nil); err != nil {
			return err
		}
	}
	now := ex.now()
	switch {
	case t.Status == dws.StatusUnstart:
		outcome := fmt.Sprintf("DR task %s created; it is %s", t.Name, t.Status)
		err := ex.transition(ctx, db.RequestUpdate{From: []string{db.StatusExecuting}, Status: db.StatusSucceeded,
			FinishedAt: &now, Outcome: outcome}, ActionSucceeded, audit.Success, map[string]any{"status": t.Status},
			func(tx *db.Tx) error { return ex.notify(ctx, tx, requests.EventExecuted) })
		if apperr.KindOf(err) == apperr.Conflict {
			return nil
		}
		return err
	case dws.Failed(t.Status):
		return ex.fail(ctx, fmt.Sprintf("the DR task ended in %s", t.Status), nil)
	case ex.timedOut():
		return ex.fail(ctx, fmt.Sprintf("timed out after %s; last state seen: %s", ex.w.cfg.FollowTimeout, t.Status), nil)
	}
	return river.JobSnooze(ex.w.cfg.FollowInterval)
}

func (ex *execution) timedOut() bool {
	return ex.r.FollowDeadline != nil && !ex.now().Before(*ex.r.FollowDeadline)
}
