package requests

import (
	"context"
	"fmt"
	"strings"
	"time"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/db"
	"drportal/internal/portal"
)

// A drill (portal.OpDrill) is one request whose execution makes two
// switchover calls: the switchover and the switchback. Each call goes
// through the lifecycle's own transitions (RecordIntent, Accept, NotSent,
// Observe); the transitions below add what is a drill's own, each in the
// same transaction as the request's move and with its audit event:
// BeginDrill (drill.started), DrillIntent (the step's call and, for the
// switchover, the last sync read right before it), DrillSwitchedOver
// (drill.step: the switchover seen done, the request moves to the
// switchback), SucceedDrill (drill.step and drill.finished) and, through
// Fail, drill.finished for a drill that stopped.

// MaxDrillLead is how far ahead a drill may be scheduled.
const MaxDrillLead = 90 * 24 * time.Hour

// CheckRunAt returns what is wrong with a requested run time, or "".
func CheckRunAt(op portal.Operation, runAt *time.Time, now time.Time) string {
	switch {
	case runAt == nil:
		return ""
	case op != portal.OpDrill:
		return "Only a drill can be scheduled; other operations run once they are approved."
	case !runAt.After(now):
		return "Choose a time in the future for the drill, or leave it empty to run it once it is approved."
	case runAt.Sub(now) > MaxDrillLead:
		return "A drill can be scheduled at most 90 days ahead."
	}
	return ""
}

// filedDetail adds a drill's schedule to the detail of its filing.
func filedDetail(d Draft, detail map[string]any) map[string]any {
	if d.RunAt != nil {
		detail["runs_at"] = d.RunAt.UTC()
	}
	return detail
}

// BeginDrill: approved → executing, for a drill, at at (the executor's
// clock): it records who approved it, the roles it starts from (live, the
// task as read right before) and how often its steps are polled.
func (s *Service) BeginDrill(ctx context.Context, r portal.Request, live portal.Task, at time.Time, pollEvery time.Duration) (portal.Request, error) {
	approvals, err := s.Store.Approvals(ctx, r.ID)
	if err != nil {
		return portal.Request{}, err
	}
	var approvedBy []string
	for _, a := range approvals {
		if a.Decision == portal.Approve && a.PolicyVersion == r.PolicyVersion {
			approvedBy = append(approvedBy, a.ApproverEmail)
		}
	}
	start := db.DrillStart{At: at, PollResolution: pollEvery, PrimaryBefore: live.Primary.Name, StandbyBefore: live.Standby.Name,
		ApprovedBy: approvedBy}
	now := s.Now()
	return s.runAll(ctx, step{
		move: func(tx *db.Tx) (portal.Request, error) {
			return tx.BeginExecution(ctx, r.ID, sources(portal.StatusExecuting), now)
		},
		action: audit.ActionRequestExecuting, outcome: audit.Info,
	}, step{
		move: func(tx *db.Tx) (portal.Request, error) {
			if err := tx.BeginDrill(ctx, r.ID, start); err != nil {
				return portal.Request{}, err
			}
			return tx.Request(ctx, r.ID, false)
		},
		action: audit.ActionDrillStarted, outcome: audit.Info,
		detail: map[string]any{"started_at": at.UTC(), "primary": live.Primary.Name, "standby": live.Standby.Name,
			"approved_by": approvedBy, "requested_by": r.RequesterEmail, "poll_resolution_ms": pollEvery.Milliseconds()},
	})
}

// DrillIntent is RecordIntent for a step of a drill: the call is started
// at at (the executor's clock); for the switchover, lastSync is the task's
// last successful sync as read right before it (nil: none reported).
func (s *Service) DrillIntent(ctx context.Context, r portal.Request, holder string, snap *db.Snapshot, stepN int, at time.Time,
	lastSync *time.Time) (portal.Request, error) {
	detail := map[string]any{"attempt": r.CallAttempts + 1, "method": r.Method, "path": r.Path,
		"drill_step": portal.DrillStepName(stepN), "call_started_at": at.UTC()}
	if snap != nil {
		detail["pre_status"], detail["pre_primary_id"] = snap.Status, snap.PrimaryID
	}
	if stepN == portal.DrillSwitchover {
		if lastSync != nil {
			detail["last_sync_at"] = lastSync.UTC()
		} else {
			detail["last_sync_at"] = "none reported"
		}
	}
	return s.run(ctx, step{
		move: func(tx *db.Tx) (portal.Request, error) {
			out, err := tx.RecordIntent(ctx, r.ID, holder, snap)
			if err != nil {
				return out, err
			}
			return out, tx.DrillCallStarted(ctx, r.ID, stepN, at, lastSync)
		},
		action: audit.ActionRequestIntent, outcome: audit.Info, detail: detail,
	})
}

// measured is a step's evidence for its drill.step event.
func measured(d portal.Drill, stepN int, primaryNow string) map[string]any {
	st := d.StepTimes(stepN)
	m := map[string]any{"step": portal.DrillStepName(stepN), "primary_now": primaryNow,
		"poll_resolution_ms": d.PollResolution.Milliseconds()}
	if st.SentAt != nil {
		m["call_started_at"] = st.SentAt.UTC()
	}
	if st.AcceptedAt != nil {
		m["accepted_at"] = st.AcceptedAt.UTC()
	}
	if st.DoneAt != nil {
		m["running_other_way_at"] = st.DoneAt.UTC()
	}
	if v, ok := d.RTO(stepN); ok {
		m["rto_ms"], m["rto"] = v.Milliseconds(), portal.DrillDuration(v)
	}
	if stepN == portal.DrillSwitchover {
		if d.LastSyncAt != nil {
			m["last_sync_at"] = d.LastSyncAt.UTC()
		}
		if v, ok := d.RPO(); ok {
			m["rpo_ms"], m["rpo"] = v.Milliseconds(), portal.DrillDuration(v)
		}
	}
	return m
}

// DrillSwitchedOver records that a drill's switchover was seen done at at
// (the executor's clock), with primaryNow as the primary, and moves the
// request to its switchback, not sent yet. A crash after it resumes at the
// switchback; one before it follows the switchover again.
func (s *Service) DrillSwitchedOver(ctx context.Context, r portal.Request, at time.Time, primaryNow string) (portal.Request, error) {
	detail := map[string]any{}
	return s.run(ctx, step{
		move: func(tx *db.Tx) (portal.Request, error) {
			if err := tx.DrillStepDone(ctx, r.ID, portal.DrillSwitchover, at); err != nil {
				return portal.Request{}, err
			}
			d, err := tx.Drill(ctx, r.ID)
			if err != nil {
				return portal.Request{}, err
			}
			for k, v := range measured(d, portal.DrillSwitchover, primaryNow) {
				detail[k] = v
			}
			return tx.NextDrillStep(ctx, r.ID)
		},
		action: audit.ActionDrillStep, outcome: audit.Success, detail: detail,
	})
}

// SucceedDrill records that a drill's switchback was seen done at at (the
// executor's clock), with primaryNow as the primary again, ends the request
// as succeeded (also runs in the same transaction) and finishes the drill.
func (s *Service) SucceedDrill(ctx context.Context, r portal.Request, at time.Time, primaryNow string, status portal.TaskStatus,
	also func(tx *db.Tx) error) (portal.Request, error) {
	now := s.Now()
	stepDetail, finished := map[string]any{}, map[string]any{"outcome": portal.DrillSucceeded}
	var d portal.Drill
	outcome := ""
	return s.runAll(ctx, step{
		move: func(tx *db.Tx) (portal.Request, error) {
			if err := tx.DrillStepDone(ctx, r.ID, portal.DrillSwitchback, at); err != nil {
				return portal.Request{}, err
			}
			var err error
			if d, err = tx.Drill(ctx, r.ID); err != nil {
				return portal.Request{}, err
			}
			for k, v := range measured(d, portal.DrillSwitchback, primaryNow) {
				stepDetail[k] = v
			}
			outcome = drillOutcome(d, primaryNow)
			return tx.Request(ctx, r.ID, false)
		},
		action: audit.ActionDrillStep, outcome: audit.Success, detail: stepDetail,
	}, step{
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
	}, step{
		move: func(tx *db.Tx) (portal.Request, error) {
			if err := tx.FinishDrill(ctx, r.ID, now, portal.DrillSucceeded, outcome); err != nil {
				return portal.Request{}, err
			}
			finished["summary"] = outcome
			finished["evidence"] = d.Summary()
			if v, ok := d.RTO(portal.DrillSwitchback); ok {
				finished["switchback_rto"] = portal.DrillDuration(v)
			}
			return tx.Request(ctx, r.ID, false)
		},
		action: audit.ActionDrillFinished, outcome: audit.Success, detail: finished,
	})
}

// drillOutcome is a succeeded drill's outcome in words.
func drillOutcome(d portal.Drill, primaryNow string) string {
	back := ""
	if v, ok := d.RTO(portal.DrillSwitchback); ok {
		back = ", switchback " + portal.DrillDuration(v)
	}
	return fmt.Sprintf("The drill succeeded: the roles swapped and swapped back, and %s is the primary again. %s%s "+
		"(measured by polling every %s).", or(primaryNow, d.PrimaryBefore), d.Summary(), back, portal.DrillDuration(d.PollResolution))
}

// drillFailed words the failure of a drill (reason is the lifecycle's)
// so that it says what state the task is in, as the portal last read it,
// and returns the step that finishes the drill in the failure's
// transaction.
func (s *Service) drillFailed(ctx context.Context, r portal.Request, reason string, now time.Time) (string, []step, error) {
	d, err := s.Store.Drill(ctx, r.ID)
	if apperr.KindOf(err) == apperr.NotFound {
		return reason, nil, nil // filed before drills were recorded: nothing of its own to finish
	}
	if err != nil {
		return "", nil, err
	}
	if d.Outcome != "" {
		return reason, nil, nil
	}
	state := "the portal has no copy of the task"
	if t, err := s.Store.Task(ctx, r.DRTaskID); err == nil {
		state = fmt.Sprintf("the task is %s with %s as the primary, as the portal last read it",
			strings.ToLower(t.Status.Label()), or(t.PrimaryClusterName, t.PrimaryClusterID))
	} else if apperr.KindOf(err) != apperr.NotFound {
		return "", nil, err
	}
	reason = strings.TrimSuffix(reason, ".")
	switch {
	case d.StartedAt == nil:
		reason = fmt.Sprintf("The drill did not start: %s. Nothing was switched.", reason)
	case d.Step == portal.DrillSwitchover:
		reason = fmt.Sprintf("The drill's switchover did not complete: %s. Nothing was switched back: %s.", reason, state)
	default:
		reason = fmt.Sprintf("The drill's switchover completed but its switchback did not: %s. The roles are not as they were "+
			"before the drill: %s.", reason, state)
	}
	detail := map[string]any{"outcome": portal.DrillFailed, "step": portal.DrillStepName(d.Step), "summary": reason}
	if d.StartedAt != nil {
		detail["evidence"] = d.Summary()
	}
	return reason, []step{{
		move: func(tx *db.Tx) (portal.Request, error) {
			if err := tx.FinishDrill(ctx, r.ID, now, portal.DrillFailed, reason); err != nil {
				return portal.Request{}, err
			}
			return tx.Request(ctx, r.ID, false)
		},
		action: audit.ActionDrillFinished, outcome: audit.Failure, detail: detail,
	}}, nil
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
