package jobs

import (
	"context"
	"time"

	"drportal/internal/db"
	"drportal/internal/portal"
)

// A drill's execution is the execution of any operation, twice: the
// switchover (step 1) and then the switchback (step 2), each with its own
// intent, call, recovery after a lost answer and following. The step is
// recorded in the database (requests.DrillSwitchedOver moves the request to
// step 2 in one transaction), so a run that dies resumes at the right one
// and never sends a step that was made again. A switchover that fails or
// times out ends the drill as failed, with nothing switched back.

// maxScheduleWait is the longest a drill's job sleeps before looking at
// its run time again: the job wakes at the time River was told, and a
// job that ran early (resumed) looks again at least this often.
const maxScheduleWait = time.Minute

// notYet is how long a drill waits before its run time; 0 when it may run.
func (ex *execution) notYet() time.Duration {
	if ex.r.Operation != portal.OpDrill || ex.drill.RunAt == nil {
		return 0
	}
	wait := ex.drill.RunAt.Sub(ex.now())
	if wait <= 0 {
		return 0
	}
	return min(wait, maxScheduleWait)
}

// midDrill reports whether the request is a drill past its switchover: its
// approval was checked before the switchover, and lapsing now would strand
// the task switched over.
func (ex *execution) midDrill() bool {
	return ex.r.Operation == portal.OpDrill && ex.drill.Step == portal.DrillSwitchback
}

// allowed checks the live state right before a call. A drill's switchover
// needs a running, synchronised task; its switchback a running one.
func (ex *execution) allowed(state portal.TaskState) (bool, string) {
	if ex.r.Operation != portal.OpDrill {
		return portal.Allowed(ex.r.Operation, state)
	}
	if ex.midDrill() {
		return portal.Allowed(portal.OpSwitchover, state)
	}
	if ok, why := portal.Allowed(portal.OpDrill, state); !ok {
		return ok, why
	}
	return portal.DrillReady(state.Task, ex.cfg.DWSZone)
}

// callOp is the operation a call sends: a drill's steps are switchovers.
func (ex *execution) callOp() portal.Operation {
	if ex.r.Operation == portal.OpDrill {
		return portal.OpSwitchover
	}
	return ex.r.Operation
}

// begin moves an approved request to executing; a drill records who
// approved it and the roles it starts from.
func (ex *execution) begin(ctx context.Context, live portal.Task) error {
	if ex.r.Operation != portal.OpDrill {
		return ex.moved(ex.cfg.Requests.BeginExecution(ctx, ex.r))
	}
	if err := ex.moved(ex.cfg.Requests.BeginDrill(ctx, ex.r, live, ex.now(), ex.cfg.FollowInterval)); err != nil {
		return err
	}
	return ex.reloadDrill(ctx)
}

// intent records that the call is about to be made. A drill's records the
// step's start and, for the switchover, the last sync read right before.
func (ex *execution) intent(ctx context.Context, snap *db.Snapshot, live portal.Task) error {
	if ex.r.Operation != portal.OpDrill {
		return ex.moved(ex.cfg.Requests.RecordIntent(ctx, ex.r, ex.holder, snap))
	}
	var lastSync *time.Time
	if ts, ok := portal.LastSync(live, ex.cfg.DWSZone); ok && ex.drill.Step == portal.DrillSwitchover {
		lastSync = &ts
	}
	return ex.moved(ex.cfg.Requests.DrillIntent(ctx, ex.r, ex.holder, snap, ex.drill.Step, ex.now(), lastSync))
}

// drillAccepted is what a drill records with the acceptance of a step's
// call (nil for other requests): when it was accepted.
func (ex *execution) drillAccepted(ctx context.Context, detail map[string]any) func(*db.Tx) error {
	if ex.r.Operation != portal.OpDrill {
		return nil
	}
	at, step := ex.now(), ex.drill.Step
	detail["drill_step"], detail["accepted_at"] = portal.DrillStepName(step), at.UTC()
	return func(tx *db.Tx) error { return tx.DrillCallAccepted(ctx, ex.r.ID, step, at) }
}

// switchedOver records the drill's switchover seen done (t is the task
// running the other way) and sends the switchback.
func (ex *execution) switchedOver(ctx context.Context, t portal.Task) error {
	if err := ex.moved(ex.cfg.Requests.DrillSwitchedOver(ctx, ex.r, ex.now(), t.Primary.Name)); err != nil {
		return err
	}
	if err := ex.reloadDrill(ctx); err != nil {
		return err
	}
	return ex.resend(ctx, false)
}

// switchedBack is Succeed for a drill whose switchback t shows done.
func (ex *execution) switchedBack(t portal.Task) func(context.Context, portal.Request, string, portal.TaskStatus, func(*db.Tx) error) (portal.Request, error) {
	at := ex.now()
	return func(ctx context.Context, r portal.Request, _ string, status portal.TaskStatus, also func(*db.Tx) error) (portal.Request, error) {
		return ex.cfg.Requests.SucceedDrill(ctx, r, at, t.Primary.Name, status, also)
	}
}

func (ex *execution) reloadDrill(ctx context.Context) error {
	d, err := ex.cfg.Store.Drill(ctx, ex.r.ID)
	if err == nil {
		ex.drill = d
	}
	return err
}
