package jobs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/db"
	"drportal/internal/dws"
	"drportal/internal/portal"
)

// Cloud is what the executor needs of the DWS client.
type Cloud interface {
	Create(ctx context.Context, p portal.CreateSpec) (string, error)
	Operate(ctx context.Context, op portal.Operation, id string, body []byte) error
	Get(ctx context.Context, id string) (portal.Task, error)
	List(ctx context.Context) ([]portal.TaskSummary, error)
}

// Checker re-checks a request's live preconditions right before its call.
type Checker interface {
	CheckCreate(ctx context.Context, p portal.CreateSpec) ([]string, error)
	LiveState(ctx context.Context, id string) (portal.TaskState, error)
}

type executeWorker struct {
	river.WorkerDefaults[executeArgs]
	cfg *Config
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
// at the cloud. Every step is one of the lifecycle's named transitions.
// The run holds the request's lease throughout (lease.go), so no two runs
// ever work on one request at once, and a run that dies is taken over.
func (w *executeWorker) Work(ctx context.Context, job *river.Job[executeArgs]) error {
	id := job.Args.RequestID
	ctx = audit.WithActor(ctx, audit.System)
	ctx = audit.WithCorrelation(ctx, fmt.Sprintf("job-%d", job.ID))
	ctx = audit.WithRequest(ctx, id)
	held, err := w.hold(ctx, job)
	if err != nil {
		return fmt.Errorf("execute request %d: %w", id, err)
	}
	if held == nil {
		r, err := w.cfg.Store.Request(ctx, id)
		switch {
		case err != nil:
			return fmt.Errorf("execute request %d: %w", id, err)
		case r.Status != portal.StatusApproved && r.Status != portal.StatusExecuting, r.Resumes != job.Args.Resume:
			return nil // finished, or carried on by a later resumption's job
		}
		// Another run holds it: it carries it on, or, should it have died,
		// its request is taken over once its lease runs out.
		return river.JobSnooze(w.cfg.Lease)
	}
	defer held.release()
	ctx = held.ctx
	r, err := w.cfg.Store.Request(ctx, id)
	if err != nil {
		return fmt.Errorf("execute request %d: %w", id, err)
	}
	ex := &execution{cfg: w.cfg, r: r, holder: held.holder}
	if r.Operation == portal.OpDrill {
		if ex.drill, err = w.cfg.Store.Drill(ctx, id); err != nil {
			return fmt.Errorf("execute request %d: %w", id, err)
		}
	}
	switch {
	case r.Status == portal.StatusApproved:
		err = ex.start(ctx)
	case r.Status == portal.StatusExecuting && r.CallState == portal.CallIntent:
		err = ex.recover(ctx)
	case r.Status == portal.StatusExecuting && r.CallState == portal.CallNone:
		err = ex.resend(ctx, false)
	case r.Status == portal.StatusExecuting && r.CallState == portal.CallAccepted:
		err = ex.follow(ctx)
	default:
		return nil // decided, finished or withdrawn: nothing to do
	}
	if err != nil && !isSnooze(err) {
		return fmt.Errorf("execute request %d: %w", id, err)
	}
	return err
}

func isSnooze(err error) bool {
	var s *rivertype.JobSnoozeError
	return errors.As(err, &s)
}

// execution is one run of the worker on one request.
type execution struct {
	cfg    *Config
	r      portal.Request
	holder string       // the run's name, which holds the request's lease
	drill  portal.Drill // a drill's schedule and step (drill.go)
}

func (ex *execution) now() time.Time { return ex.cfg.Now() }

// moved keeps the request as a transition left it.
func (ex *execution) moved(r portal.Request, err error) error {
	if err == nil {
		ex.r = r
	}
	return err
}

// fail ends the request as failed, with the cloud's error when there is one.
func (ex *execution) fail(ctx context.Context, reason string, cause error) error {
	var ce db.CloudError
	detail := map[string]any{}
	if e, ok := dws.AsError(cause); ok {
		ce = db.CloudError{Code: e.Code, Message: e.Message, RequestID: e.RequestID}
		cloudDetail(detail, e)
	} else if cause != nil {
		ce.Message = cause.Error()
		detail["error"] = cause.Error()
	}
	err := ex.moved(ex.cfg.Requests.Fail(ctx, ex.r, reason, ce, detail))
	if apperr.KindOf(err) == apperr.Conflict {
		return nil // someone else finished it
	}
	return err
}

// cloudDetail adds a cloud error's status, code, message and request id
// to an audit detail.
func cloudDetail(d map[string]any, ce *dws.Error) {
	maps.Copy(d, ce.Fields())
}

// call is what a request sends.
type call struct {
	create portal.CreateSpec // for a create
	body   []byte            // for an operation (update only; empty otherwise)
	period string            // the sync period an update sets
}

// plan reads and checks the call the request carries.
func (ex *execution) plan() (call, error) {
	switch ex.r.Operation {
	case portal.OpCreate:
		p, err := dws.ParseCreateBody(ex.r.Payload)
		return call{create: p}, err
	case portal.OpUpdate:
		period, err := dws.ParseUpdateBody(ex.r.Payload)
		return call{body: ex.r.Payload, period: period}, err
	}
	if _, ok := portal.SpecOf(ex.r.Operation); !ok {
		return call{}, fmt.Errorf("unknown operation %q", ex.r.Operation)
	}
	if len(ex.r.Payload) != 0 {
		return call{}, fmt.Errorf("a %s carries no body, but this request has one", ex.r.Operation)
	}
	return call{}, nil
}

func (ex *execution) isCreate() bool { return ex.r.Operation == portal.OpCreate }

// observation is what the request recorded of the task around the call.
func (ex *execution) observation(c call) portal.Observation {
	return portal.Observation{PreStatus: ex.r.PreStatus, PrePrimaryID: ex.r.PrePrimaryID,
		PreStartTime: ex.r.PreStartTime, SeenTransient: ex.r.SeenTransient, NewPeriod: c.period}
}

// preflight checks everything that must hold before a call: the approval
// is current and untouched and the live preconditions hold (for an
// operation: the task's live status still allows it). It returns done=true
// when the request was ended (refused or failed), and the live task for an
// operation, whose state becomes the pre-call snapshot.
func (ex *execution) preflight(ctx context.Context) (c call, live portal.Task, done bool, err error) {
	if ex.r.ApprovalLapsed(ex.now()) && !ex.midDrill() {
		reason := "the approval lapsed before the call could be made"
		if ex.r.ErrorMsg != "" || ex.r.ErrorCode != "" {
			reason = fmt.Sprintf("the approval lapsed while the cloud kept failing (last error: %s %s)", ex.r.ErrorCode, ex.r.ErrorMsg)
		}
		return c, live, true, ex.fail(ctx, reason, nil)
	}
	// The change windows and freezes, again right before the call: a
	// window may have closed, or a freeze begun, since the approval.
	if g, held, err := ex.cfg.Requests.HeldBack(ctx, ex.r, ex.now()); err != nil || held {
		if err != nil {
			return c, live, false, err
		}
		return c, live, true, ex.deferTo(ctx, g)
	}
	if err := ex.cfg.Requests.VerifyApproval(ctx, ex.r); err != nil {
		return c, live, true, ex.refuse(ctx, "approval", err.Error())
	}
	c, err = ex.plan()
	if err != nil {
		return c, live, true, ex.refuse(ctx, "payload", err.Error())
	}
	if ex.isCreate() {
		problems, err := ex.cfg.Checks.CheckCreate(ctx, c.create)
		if err != nil {
			return c, live, false, err // the cloud could not be asked: try again later
		}
		if len(problems) > 0 {
			return c, live, true, ex.refuse(ctx, "preconditions", "the preconditions no longer hold: "+strings.Join(problems, " "))
		}
		return c, live, false, nil
	}
	state, err := ex.cfg.Checks.LiveState(ctx, ex.r.DRTaskID)
	if err != nil {
		if gone, lerr := ex.confirmedGone(ctx, err); lerr != nil || !gone {
			return c, live, false, cmp.Or(lerr, err) // not known to be gone: try again later
		}
		return c, live, true, ex.refuse(ctx, "preconditions", "the DR task no longer exists (it was deleted meanwhile)")
	}
	if ok, why := ex.allowed(state); !ok {
		return c, live, true, ex.refuse(ctx, "preconditions", "the task's live status no longer allows it: "+why)
	}
	return c, state.Task, false, nil
}

// deferTo records that the request waits for its window or the end of a
// freeze (g) and puts the job off until then. Nothing is sent; the
// approval's lapse still applies when it runs.
func (ex *execution) deferTo(ctx context.Context, g portal.WindowGate) error {
	if err := ex.cfg.Requests.Deferred(ctx, ex.r, g); err != nil {
		return err
	}
	wait := g.RunsAt.Sub(ex.now())
	if g.RunsAt.IsZero() {
		wait = 24 * time.Hour // no opening found: look again tomorrow
	}
	return river.JobSnooze(max(wait, time.Second))
}

// refuse ends the request before any call, with the reason audited.
func (ex *execution) refuse(ctx context.Context, check, reason string) error {
	reason = "refused before any call: " + reason
	if err := ex.cfg.Requests.Refused(ctx, ex.r, check, reason); err != nil {
		return err
	}
	return ex.fail(ctx, reason, nil)
}

// start begins an approved request.
func (ex *execution) start(ctx context.Context) error {
	if wait := ex.notYet(); wait > 0 {
		return river.JobSnooze(wait)
	}
	c, live, done, err := ex.preflight(ctx)
	if done || err != nil {
		return err
	}
	if err := ex.begin(ctx, live); err != nil {
		if ex.withdrawn(ctx, err) {
			return nil // cancelled (or superseded) while this run checked it: nothing is sent
		}
		return err
	}
	return ex.send(ctx, c, live, false)
}

// withdrawn reports whether err is the refusal of a move because the
// request ended meanwhile (its requester or an admin cancelled it, an
// emergency superseded it): the run then has nothing left to do.
func (ex *execution) withdrawn(ctx context.Context, err error) bool {
	if apperr.KindOf(err) != apperr.Conflict {
		return false
	}
	r, rerr := ex.cfg.Store.Request(ctx, ex.r.ID)
	return rerr == nil && r.Status.Final()
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
func (ex *execution) send(ctx context.Context, c call, live portal.Task, afterAmbiguous bool) error {
	var snap *db.Snapshot
	if !ex.isCreate() {
		snap = &db.Snapshot{Status: live.Status, PrimaryID: live.Primary.ID, StartTime: live.StartTime}
	}
	if err := ex.intent(ctx, snap, live); err != nil {
		return err
	}
	var id string
	var err error
	if ex.isCreate() {
		id, err = ex.cfg.Cloud.Create(ctx, c.create)
	} else {
		err = ex.cfg.Cloud.Operate(ctx, ex.callOp(), ex.r.DRTaskID, c.body)
	}
	if err == nil {
		return ex.accepted(ctx, id, false)
	}
	ce, ok := dws.AsError(err)
	switch {
	case ok && !ex.isCreate() && afterAmbiguous && ce.Kind == dws.KindBusy:
		// The earlier attempt was applied after all: the task has moved on.
		return ex.accepted(ctx, "", true)
	case ok && ex.r.Operation == portal.OpDelete && dws.TaskMissing(ce):
		// Already gone, or going: following it confirms with the list.
		return ex.accepted(ctx, "", afterAmbiguous)
	case ok && (ce.Kind == dws.KindThrottled || ce.Kind == dws.KindBusy):
		// Refused before it was applied: safe to send again later.
		if terr := ex.moved(ex.cfg.Requests.NotSent(ctx, ex.r,
			db.CloudError{Code: ce.Code, Message: ce.Message, RequestID: ce.RequestID},
			resultDetail(ce, "refused for now; will retry"))); terr != nil {
			return terr
		}
		return err
	case !ok || ce.Ambiguous():
		// It may have been applied: the next run looks before sending again.
		if rerr := ex.cfg.Requests.Unknown(ctx, ex.r, resultDetail(ce,
			"outcome unknown; the next attempt will look at the task before sending anything")); rerr != nil {
			return rerr
		}
		return err
	}
	if ex.isCreate() && ce.Kind == dws.KindConflict {
		return ex.fail(ctx, fmt.Sprintf("the cloud refused the name %q: a DR task of that name already exists (%s %s). "+
			"Nothing was created; file a new request with another name", c.create.Name, ce.Code, ce.Message), ce)
	}
	return ex.fail(ctx, "the cloud refused the call: "+ce.Error(), ce)
}

func resultDetail(ce *dws.Error, note string) map[string]any {
	d := map[string]any{"note": note}
	if ce != nil {
		cloudDetail(d, ce)
		d["error"] = ce.Error()
	}
	return d
}

// recover settles a call whose outcome is unknown (a timeout, a crash
// between intent and result). For a create it lists the tasks and adopts
// the one with the requested name and clusters; for an operation it reads
// the task and asks portal.TookEffect. Only when the call surely did not
// take effect is it sent again.
func (ex *execution) recover(ctx context.Context) error {
	c, err := ex.plan()
	if err != nil {
		return ex.fail(ctx, "refused: "+err.Error(), nil)
	}
	if ex.isCreate() {
		items, err := ex.cfg.Cloud.List(ctx)
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
		t, err := ex.cfg.Cloud.Get(ctx, ex.r.DRTaskID)
		if err != nil {
			if gone, lerr := ex.confirmedGone(ctx, err); lerr != nil || !gone {
				return cmp.Or(lerr, err)
			}
			if ex.r.Operation == portal.OpDelete {
				return ex.accepted(ctx, "", true)
			}
			return ex.fail(ctx, "the DR task disappeared from the cloud", err)
		}
		if portal.TookEffect(ex.r.Operation, t, ex.observation(c)) {
			return ex.accepted(ctx, "", true)
		}
	}
	if err := ex.moved(ex.cfg.Requests.NotSent(ctx, ex.r, db.CloudError{},
		map[string]any{"note": "the earlier attempt did not take effect; it may be sent again"})); err != nil {
		return err
	}
	return ex.resend(ctx, true)
}

// accepted records that the cloud took the call and starts following it.
func (ex *execution) accepted(ctx context.Context, taskID string, adopted bool) error {
	deadline := ex.now().Add(ex.cfg.FollowTimeout)
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
	also := ex.drillAccepted(ctx, detail)
	if ex.isCreate() {
		c, _ := ex.plan()
		also = func(tx *db.Tx) error {
			return tx.InsertCreatedTask(ctx, taskID, c.create, "", "", ex.r.RequesterID, ex.now())
		}
	}
	if err := ex.moved(ex.cfg.Requests.Accept(ctx, ex.r, taskID, deadline, detail, also)); err != nil {
		return err
	}
	return river.JobSnooze(min(ex.cfg.FollowInterval, time.Second))
}

// follow reads the task and ends the request once portal.Judge says the
// operation reached its target state or a failure state, or it ran out of
// time.
func (ex *execution) follow(ctx context.Context) error {
	t, err := ex.cfg.Cloud.Get(ctx, ex.r.DRTaskID)
	gone := false
	if err != nil {
		var lerr error
		if gone, lerr = ex.confirmedGone(ctx, err); lerr != nil {
			err = lerr
		}
	}
	if err != nil && !gone {
		if ex.timedOut() {
			return ex.fail(ctx, fmt.Sprintf("timed out after %s; last state seen: %s", ex.cfg.FollowTimeout, ex.r.LastSeenStatus), err)
		}
		return river.JobSnooze(ex.cfg.FollowInterval)
	}
	status := t.Status
	if gone {
		status = portal.TaskDeleted
		if err := ex.cfg.Store.MarkTaskGone(context.WithoutCancel(ctx), ex.r.DRTaskID, ex.now()); err != nil {
			return err
		}
	} else if err := ex.cfg.Store.UpsertTaskDetail(context.WithoutCancel(ctx), t, ex.now()); err != nil {
		return err
	}
	spec, _ := portal.SpecFor(ex.r.Operation)
	transient := slices.Contains(spec.Transient, status)
	if status != ex.r.LastSeenStatus || (transient && !ex.r.SeenTransient) {
		if err := ex.moved(ex.cfg.Requests.Observe(ctx, ex.r, status, transient)); err != nil {
			return err
		}
	}
	c, _ := ex.plan()
	outcome, why := portal.Judge(ex.r.Operation, t, gone, ex.observation(c))
	switch {
	case outcome == portal.Succeeded && ex.r.Operation == portal.OpDrill && ex.drill.Step == portal.DrillSwitchover:
		return ex.switchedOver(ctx, t)
	case outcome == portal.Succeeded:
		succeed := ex.cfg.Requests.Succeed
		if ex.r.Operation == portal.OpDrill {
			succeed = ex.switchedBack(t)
		}
		err := ex.moved(succeed(ctx, ex.r, upperFirst(why), status, func(tx *db.Tx) error {
			return tx.ClearDrift(ctx, ex.r.DRTaskID)
		}))
		if apperr.KindOf(err) == apperr.Conflict {
			return nil
		}
		if err == nil && !gone {
			err = ex.cfg.Store.SchedulePoll(context.WithoutCancel(ctx), ex.r.DRTaskID, ex.now())
		}
		return err
	case outcome == portal.Failed:
		return ex.fail(ctx, why, nil)
	case ex.timedOut():
		return ex.fail(ctx, fmt.Sprintf("timed out after %s; last state seen: %s", ex.cfg.FollowTimeout, status), nil)
	}
	return river.JobSnooze(ex.cfg.FollowInterval)
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// confirmedGone reports whether the request's task is gone from the
// cloud, after a detail read answered err: only DWS's own "no such DR task"
// answer (dws.TaskMissing) counts, and only once a successful read of the
// task list confirms it is absent. A list that cannot be read returns its
// error.
func (ex *execution) confirmedGone(ctx context.Context, err error) (bool, error) {
	if !dws.TaskMissing(err) {
		return false, nil
	}
	items, lerr := ex.cfg.Cloud.List(ctx)
	if lerr != nil {
		return false, lerr
	}
	return !slices.ContainsFunc(items, func(it portal.TaskSummary) bool { return strings.EqualFold(it.ID, ex.r.DRTaskID) }), nil
}

func (ex *execution) timedOut() bool {
	return ex.r.FollowDeadline != nil && !ex.now().Before(*ex.r.FollowDeadline)
}
