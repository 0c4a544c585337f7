package drtask

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/dws"
	"drportal/internal/portal"
	"drportal/internal/requests"
)

// Spec is what the portal knows about one operation on a DR task
// (dws-dr-api.md §4): where it may start, what it passes through, where it
// ends, how risky it is.
type Spec struct {
	Op          portal.Operation
	Label       string   // button text
	AllowedFrom []string // task statuses the API accepts it from
	Transient   []string // statuses seen while it runs
	Success     []string // statuses it ends in when it worked
	Failure     []string // statuses it ends in when it did not
	// HighRisk operations ask the requester and every approver to type the
	// name of the cluster they affect.
	HighRisk bool
	// Synchronous operations take effect with the call (update).
	Synchronous bool
}

// Specs lists the operations on an existing task in the order pages offer them.
var Specs = []Spec{
	{Op: portal.OpStart, Label: "Start DR", AllowedFrom: []string{dws.StatusUnstart, dws.StatusStartFailed, dws.StatusStopped},
		Transient: []string{dws.StatusStarting}, Success: []string{dws.StatusRunning}, Failure: []string{dws.StatusStartFailed}},
	{Op: portal.OpStop, Label: "Stop DR", AllowedFrom: []string{dws.StatusRunning, dws.StatusStopFailed},
		Transient: []string{dws.StatusStopping}, Success: []string{dws.StatusStopped}, Failure: []string{dws.StatusStopFailed}},
	{Op: portal.OpUpdate, Label: "Change sync period", AllowedFrom: []string{dws.StatusUnstart, dws.StatusStopped}, Synchronous: true},
	{Op: portal.OpSwitchover, Label: "Switchover", AllowedFrom: []string{dws.StatusRunning}, HighRisk: true,
		Transient: []string{dws.StatusSwitchovering}, Success: []string{dws.StatusRunning}, Failure: []string{dws.StatusAbnormal}},
	{Op: portal.OpFailover, Label: "Failover", AllowedFrom: []string{dws.StatusAbnormal, dws.StatusRunning}, HighRisk: true,
		Transient: []string{dws.StatusSwitchovering}, Success: []string{dws.StatusAbnormal, dws.StatusRunning}, Failure: []string{dws.StatusAbnormal}},
	{Op: portal.OpRecovery, Label: "Recovery", AllowedFrom: []string{dws.StatusAbnormal}, HighRisk: true,
		Transient: []string{dws.StatusStarting}, Success: []string{dws.StatusRunning}, Failure: []string{dws.StatusAbnormal}},
	{Op: portal.OpDelete, Label: "Delete", HighRisk: true,
		AllowedFrom: []string{dws.StatusCreateFailed, dws.StatusUnstart, dws.StatusStartFailed, dws.StatusStopped, dws.StatusStopFailed, dws.StatusAbnormal},
		Transient:   []string{dws.StatusDeleting}},
}

// SpecOf returns the spec of an operation.
func SpecOf(op portal.Operation) (Spec, bool) {
	for _, s := range Specs {
		if s.Op == op {
			return s, true
		}
	}
	return Spec{}, false
}

// State is what the portal knows of a task when deciding what may be done.
type State struct {
	Task dws.Task
	// LastSucceededOp is the last operation the portal carried out on the
	// task ("" when none).
	LastSucceededOp portal.Operation
}

// Allowed says whether op may be filed or executed on a task in state s,
// and if not, why, in words a person can act on.
func Allowed(op portal.Operation, s State) (bool, string) {
	spec, ok := SpecOf(op)
	if !ok {
		return false, fmt.Sprintf("Unknown operation %q.", op)
	}
	st := s.Task.Status
	if !slices.Contains(spec.AllowedFrom, st) {
		return false, fmt.Sprintf("%s is not possible while the task is %s (it is possible from %s).",
			spec.Label, or(st, "unknown"), strings.Join(spec.AllowedFrom, ", "))
	}
	switch op {
	case portal.OpFailover:
		if st == dws.StatusRunning && !primaryFaulty(s.Task) {
			return false, "Failover is for a broken pair: the task must be abnormal or its production cluster faulty. For a planned role swap use switchover."
		}
	case portal.OpRecovery:
		if s.LastSucceededOp != portal.OpFailover {
			return false, "Recovery rebuilds the pair after a failover; the portal has no failover on record for this task."
		}
	}
	return true, ""
}

func primaryFaulty(t dws.Task) bool {
	return strings.EqualFold(t.Primary.Status, "abnormal")
}

// ConfirmCluster is the name a person types to confirm a high-risk
// operation: the cluster it affects most.
func ConfirmCluster(op portal.Operation, t dws.Task) string {
	switch op {
	case portal.OpRecovery:
		return t.Standby.Name // its data is erased
	case portal.OpSwitchover, portal.OpFailover, portal.OpDelete:
		return t.Primary.Name // unavailable, abandoned, or left unprotected
	}
	return ""
}

// Consequence explains an operation in plain words built from the task's
// live data: what it does, what becomes unavailable, what can be lost.
func Consequence(op portal.Operation, t dws.Task, progress *dws.Progress, newPeriod string) string {
	p, s := or(t.Primary.Name, "the primary cluster"), or(t.Standby.Name, "the standby cluster")
	last := "no successful sync yet"
	if ts, ok := dws.ParseTime(t.Standby.LastSuccessTime); ok {
		last = "the last successful sync at " + ts.Format("2006-01-02 15:04:05") + " UTC"
	} else if ts, ok := dws.ParseTime(t.Primary.LastSuccessTime); ok {
		last = "the last successful sync at " + ts.Format("2006-01-02 15:04:05") + " UTC"
	}
	rpo := ""
	if progress != nil && progress.RPOSeconds > 0 {
		rpo = fmt.Sprintf(" The cloud currently reports an RPO of %s.", (time.Duration(progress.RPOSeconds) * time.Second).String())
	}
	switch op {
	case portal.OpStart:
		return fmt.Sprintf("Starts replicating %s to %s every %s. While DR runs, neither cluster can be restored, scaled out, upgraded, restarted, "+
			"node-replaced or have its password changed; %s serves no reads or writes, cannot be backed up, and is billed while it restores.",
			p, s, or(t.SyncPeriod, "sync period"), s)
	case portal.OpStop:
		return fmt.Sprintf("Stops replicating. Changes made on %s after %s are not copied to %s until DR is started again; "+
			"a failover in the meantime would lose them.", p, last, s)
	case portal.OpUpdate:
		return fmt.Sprintf("Changes the sync period from %s to %s. Nothing is interrupted; the new period takes effect at the next start.",
			or(t.SyncPeriod, "its current value"), or(newPeriod, "the new value"))
	case portal.OpSwitchover:
		return fmt.Sprintf("Swaps roles: %s becomes the primary and %s the standby. %s is unavailable while the switchover runs. "+
			"No data is lost while %s is healthy (RPO 0); otherwise data is at least as recent as %s.", s, p, p, p, last)
	case portal.OpFailover:
		return fmt.Sprintf("Promotes %s to primary despite the fault. Failover discards changes made on %s after %s: they are lost for good.%s",
			s, p, last, rpo)
	case portal.OpRecovery:
		return fmt.Sprintf("Rebuilds the pair with %s as production. Recovery erases all data on cluster %s, which is then resynced from scratch; "+
			"until that finishes there is no disaster protection.", p, s)
	case portal.OpDelete:
		return fmt.Sprintf("Deletes the DR task for good. %s is no longer protected by %s; both clusters and their data are kept, "+
			"and snapshots on %s are possible again.", p, s, s)
	}
	return ""
}

// Outcome of following an operation.
type Outcome int

// Outcomes.
const (
	Pending Outcome = iota
	Succeeded
	Failed
)

// Observation is what following an operation has seen so far.
type Observation struct {
	PreStatus     string
	PrePrimaryID  string
	PreStartTime  string
	SeenTransient bool
	// NewPeriod is the sync period an update sets.
	NewPeriod string
}

// TookEffect reports whether t shows that operation op was applied,
// compared with the pre-call snapshot in o: the task moved (to another
// status, its transient one, another primary, a new start, the new sync
// period) or the transient status was seen. After an answer was lost it
// decides between adopting the call and sending it again; while following,
// it keeps a switchover that is running before and after from counting
// before it happened.
func TookEffect(op portal.Operation, t dws.Task, o Observation) bool {
	spec, _ := SpecOf(op)
	return o.SeenTransient || t.Status != o.PreStatus || slices.Contains(spec.Transient, t.Status) ||
		(t.Primary.ID != "" && t.Primary.ID != o.PrePrimaryID) ||
		(op == portal.OpStart && t.StartTime != o.PreStartTime && t.StartTime != "") ||
		(op == portal.OpUpdate && o.NewPeriod != "" && t.SyncPeriod == o.NewPeriod)
}

// Judge decides whether an operation has finished, from the task's current
// detail (gone: the task no longer exists) and what was seen before. An
// operation has succeeded only once it was seen to take effect: a
// switchover is running both before and after, so it counts only after
// switchovering was seen or the primary changed.
func Judge(op portal.Operation, t dws.Task, gone bool, o Observation) (Outcome, string) {
	spec, _ := SpecOf(op)
	switch op {
	case portal.OpCreate:
		switch {
		case gone:
			return Failed, "the DR task disappeared from the cloud while it was being created"
		case t.Status == dws.StatusUnstart:
			return Succeeded, fmt.Sprintf("DR task %s created; it is %s", t.Name, t.Status)
		case dws.Failed(t.Status):
			return Failed, fmt.Sprintf("the DR task ended in %s", t.Status)
		}
		return Pending, ""
	case portal.OpDelete:
		switch {
		case gone:
			return Succeeded, "the DR task is deleted"
		case o.SeenTransient && dws.Settled(t.Status):
			return Failed, fmt.Sprintf("the delete did not complete; the task is %s again", t.Status)
		}
		return Pending, ""
	}
	if gone {
		return Failed, "the DR task disappeared from the cloud while the operation ran"
	}
	if slices.Contains(spec.Transient, t.Status) || !dws.Settled(t.Status) {
		return Pending, ""
	}
	primaryChanged := o.PrePrimaryID != "" && t.Primary.ID != "" && t.Primary.ID != o.PrePrimaryID
	effect := TookEffect(op, t, o)
	switch op {
	case portal.OpUpdate:
		return Succeeded, fmt.Sprintf("the sync period is %s", t.SyncPeriod)
	case portal.OpFailover:
		if primaryChanged {
			return Succeeded, fmt.Sprintf("%s is now the primary; the task is %s", t.Primary.Name, t.Status)
		}
		if o.SeenTransient {
			return Failed, fmt.Sprintf("the failover ended with the roles unchanged; the task is %s", t.Status)
		}
		return Pending, ""
	case portal.OpSwitchover:
		if !(o.SeenTransient || primaryChanged) {
			return Pending, "" // the switchover pitfall: running before and after
		}
	}
	if !effect {
		return Pending, ""
	}
	if slices.Contains(spec.Success, t.Status) {
		return Succeeded, fmt.Sprintf("the task is %s", t.Status)
	}
	if slices.Contains(spec.Failure, t.Status) || dws.Failed(t.Status) {
		return Failed, fmt.Sprintf("the task ended in %s", t.Status)
	}
	return Pending, ""
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Operation form fields.
const (
	FieldConfirm = "confirm"
	FieldPeriod  = "dr_sync_period"
)

// ActionOperationRejected records an operation request refused for its input.
const ActionOperationRejected = "dr_task.operation.rejected"

// OperationForm is an operation request as submitted.
type OperationForm struct {
	Op            portal.Operation
	TaskID        string
	Period        string // update only
	Confirm       string // high-risk only
	Justification string
}

// OperationPlan is a validated operation: the exact call a request carries.
type OperationPlan struct {
	Task        dws.Task
	Method      string
	Path        string
	Body        []byte
	Consequence string
	ConfirmName string
}

// PrepareOperation checks an operation request against the task's live
// state without changing anything in the cloud: the status must allow it,
// a high-risk one needs the affected cluster's name typed, an update a new
// valid period. Field problems come back as FieldErrors (audited); a task
// whose state no longer allows the operation is a Conflict.
func (s *Service) PrepareOperation(ctx context.Context, f OperationForm) (OperationPlan, FieldErrors, error) {
	spec, ok := SpecOf(f.Op)
	if !ok {
		return OperationPlan{}, nil, apperr.New(apperr.NotFound, "There is no operation %q.", f.Op)
	}
	state, err := s.LiveState(ctx, f.TaskID)
	switch {
	case dws.IsKind(err, dws.KindNotFound):
		return OperationPlan{}, nil, apperr.New(apperr.Conflict, "The DR task no longer exists in the cloud: it was deleted. Nothing was filed.")
	case err != nil:
		return OperationPlan{}, nil, cloudError(err, "The task's live state could not be read")
	}
	if ok, why := Allowed(f.Op, state); !ok {
		return OperationPlan{}, nil, apperr.New(apperr.Conflict, "%s Nothing was filed.", why)
	}
	t := state.Task
	errs := FieldErrors{}
	if msg := requests.CheckJustification(f.Justification); msg != "" {
		errs[FieldJustification] = msg
	}
	plan := OperationPlan{Task: t}
	if f.Op == portal.OpUpdate {
		f.Period = strings.TrimSpace(f.Period)
		if msg := CheckSyncPeriod(f.Period); msg != "" {
			errs[FieldPeriod] = msg
		} else if f.Period == t.SyncPeriod {
			errs[FieldPeriod] = fmt.Sprintf("The sync period is already %s; enter a different one.", f.Period)
		}
		plan.Body = dws.UpdateBody(f.Period)
	}
	if spec.HighRisk {
		plan.ConfirmName = ConfirmCluster(f.Op, t)
		if strings.TrimSpace(f.Confirm) != plan.ConfirmName {
			errs[FieldConfirm] = fmt.Sprintf("Type the name of the affected cluster, %s, exactly as shown.", plan.ConfirmName)
		}
	}
	if len(errs) > 0 {
		e := audit.FromContext(ctx, ActionOperationRejected, audit.Denied)
		e.OccurredAt = s.Now()
		e.SubjectType, e.SubjectID = audit.SubjectDRTask, f.TaskID
		e.Detail = audit.Detail(map[string]any{"operation": f.Op, "errors": errs, "dr_sync_period": f.Period,
			"confirm": f.Confirm, "justification": f.Justification})
		if _, err := s.Store.AppendAudit(ctx, e); err != nil {
			return OperationPlan{}, nil, err
		}
		return OperationPlan{}, errs, nil
	}
	plan.Method, plan.Path, err = s.Cloud.OperationCall(f.Op, f.TaskID)
	if err != nil {
		return OperationPlan{}, nil, err
	}
	var progress *dws.Progress
	if row, err := s.Store.Task(ctx, f.TaskID); err == nil {
		progress = viewOf(row).Progress
	}
	plan.Consequence = Consequence(f.Op, t, progress, f.Period)
	return plan, nil, nil
}
