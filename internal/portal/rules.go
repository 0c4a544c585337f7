package portal

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Spec is what the portal knows about one operation on a DR task
// (dws-dr-api.md §4): where it may start, what it passes through, where it
// ends, how risky it is.
type Spec struct {
	Op          Operation
	Label       string       // button text
	AllowedFrom []TaskStatus // task statuses the API accepts it from
	Transient   []TaskStatus // statuses seen while it runs
	Success     []TaskStatus // statuses it ends in when it worked
	Failure     []TaskStatus // statuses it ends in when it did not
	// HighRisk operations ask the requester and every approver to type the
	// name of the cluster they affect.
	HighRisk bool
	// Synchronous operations take effect with the call (update).
	Synchronous bool
}

// Specs lists the operations on an existing task in the order pages offer them.
var Specs = []Spec{
	{Op: OpStart, Label: "Start DR", AllowedFrom: []TaskStatus{TaskUnstart, TaskStartFailed, TaskStopped},
		Transient: []TaskStatus{TaskStarting}, Success: []TaskStatus{TaskRunning}, Failure: []TaskStatus{TaskStartFailed}},
	{Op: OpStop, Label: "Stop DR", AllowedFrom: []TaskStatus{TaskRunning, TaskStopFailed},
		Transient: []TaskStatus{TaskStopping}, Success: []TaskStatus{TaskStopped}, Failure: []TaskStatus{TaskStopFailed}},
	{Op: OpUpdate, Label: "Change sync period", AllowedFrom: []TaskStatus{TaskUnstart, TaskStopped}, Synchronous: true},
	{Op: OpSwitchover, Label: "Switchover", AllowedFrom: []TaskStatus{TaskRunning}, HighRisk: true,
		Transient: []TaskStatus{TaskSwitchovering}, Success: []TaskStatus{TaskRunning}, Failure: []TaskStatus{TaskAbnormal}},
	{Op: OpFailover, Label: "Failover", AllowedFrom: []TaskStatus{TaskAbnormal, TaskRunning}, HighRisk: true,
		Transient: []TaskStatus{TaskSwitchovering}, Success: []TaskStatus{TaskAbnormal, TaskRunning}, Failure: []TaskStatus{TaskAbnormal}},
	{Op: OpRecovery, Label: "Recovery", AllowedFrom: []TaskStatus{TaskAbnormal}, HighRisk: true,
		Transient: []TaskStatus{TaskStarting}, Success: []TaskStatus{TaskRunning}, Failure: []TaskStatus{TaskAbnormal}},
	{Op: OpDelete, Label: "Delete", HighRisk: true,
		AllowedFrom: []TaskStatus{TaskCreateFailed, TaskUnstart, TaskStartFailed, TaskStopped, TaskStopFailed, TaskAbnormal},
		Transient:   []TaskStatus{TaskDeleting}},
	// A drill's two calls are switchovers: it passes through and ends in
	// what a switchover does, twice (drill.go).
	{Op: OpDrill, Label: "Drill", AllowedFrom: []TaskStatus{TaskRunning}, HighRisk: true,
		Transient: []TaskStatus{TaskSwitchovering}, Success: []TaskStatus{TaskRunning}, Failure: []TaskStatus{TaskAbnormal}},
}

// CreateOperation is the spec of a create: it starts from no task, passes
// through creating and ends in unstart, or in create_failed.
var CreateOperation = Spec{Op: OpCreate, Label: "Create DR task", Transient: []TaskStatus{TaskCreating},
	Success: []TaskStatus{TaskUnstart}, Failure: []TaskStatus{TaskCreateFailed}}

// SpecFor returns the spec of any operation, create included.
func SpecFor(op Operation) (Spec, bool) {
	if op == OpCreate {
		return CreateOperation, true
	}
	return SpecOf(op)
}

// SpecOf returns the spec of an operation on an existing task (what a
// task's page can offer).
func SpecOf(op Operation) (Spec, bool) {
	for _, s := range Specs {
		if s.Op == op {
			return s, true
		}
	}
	return Spec{}, false
}

// TaskState is what the portal knows of a task when deciding what may be done.
type TaskState struct {
	Task Task
	// LastSucceededOp is the last operation the portal carried out on the
	// task ("" when none).
	LastSucceededOp Operation
}

// Allowed says whether op may be filed or executed on a task in state s,
// and if not, why, in words a person can act on.
func Allowed(op Operation, s TaskState) (bool, string) {
	return allowed(op, s, true)
}

// Allows is Allowed without the words, for counting.
func Allows(op Operation, s TaskState) bool {
	ok, _ := allowed(op, s, false)
	return ok
}

func allowed(op Operation, s TaskState, explain bool) (bool, string) {
	spec, ok := SpecOf(op)
	if !ok {
		if !explain {
			return false, ""
		}
		return false, fmt.Sprintf("Unknown operation %q.", op)
	}
	st := s.Task.Status
	if !slices.Contains(spec.AllowedFrom, st) {
		if !explain {
			return false, ""
		}
		now := "unknown"
		if st != "" {
			now = statusWords(st)
		}
		return false, fmt.Sprintf("%s is not possible while the task is %s; it is possible when it is %s.",
			spec.Label, now, joinStatuses(spec.AllowedFrom))
	}
	switch op {
	case OpFailover:
		if st == TaskRunning && !primaryFaulty(s.Task) {
			return false, "Failover is for a broken pair: the task must be abnormal or its production cluster faulty. For a planned role swap use switchover."
		}
	case OpRecovery:
		if s.LastSucceededOp != OpFailover {
			return false, "Recovery rebuilds the pair after a failover; the portal has no failover on record for this task."
		}
	}
	return true, ""
}

func primaryFaulty(t Task) bool {
	return strings.EqualFold(t.Primary.Status, "abnormal")
}

// Synced reports whether a sync of t has ever completed: either side has a
// last successful sync time. Before that the standby holds none of the
// primary's data, and the portal shows no RPO.
func Synced(t Task) bool {
	for _, s := range []string{t.Standby.LastSuccessTime, t.Primary.LastSuccessTime} {
		if s = strings.TrimSpace(s); s != "" && s != "null" {
			return true
		}
	}
	return false
}

// ConfirmCluster is the name a person types to confirm a high-risk
// operation: the cluster it affects most.
func ConfirmCluster(op Operation, t Task) string {
	switch op {
	case OpRecovery:
		return t.Standby.Name // its data is erased
	case OpSwitchover, OpFailover, OpDelete, OpDrill:
		return t.Primary.Name // unavailable, abandoned, or left unprotected
	}
	return ""
}

// ConfirmRecord is what a refused form's audit event keeps of the
// cluster's name typed to confirm (typed), when want was asked for: whether
// it was want, and its length in characters. Never the text itself: a
// password typed into the wrong field must not go on record.
func ConfirmRecord(typed, want string) map[string]any {
	return map[string]any{"confirm_matches": want != "" && strings.TrimSpace(typed) == want,
		"confirm_length": utf8.RuneCountInString(typed)}
}

// Consequence explains an operation in plain words built from the task's
// live data: what it does, what becomes unavailable, what can be lost.
// Times in it are read and shown in the zones z (see TimeZones).
func Consequence(op Operation, t Task, progress *Progress, newPeriod string, z TimeZones) string {
	p, s := or(t.Primary.Name, "the primary cluster"), or(t.Standby.Name, "the standby cluster")
	// last is "" until a sync has completed: every sentence that names it
	// has a wording of its own for that case.
	last := ""
	if ts, ok := ParseTime(t.Standby.LastSuccessTime, z.DWS); ok {
		last = "the last successful sync at " + FormatTime(ts, z.Display)
	} else if ts, ok := ParseTime(t.Primary.LastSuccessTime, z.DWS); ok {
		last = "the last successful sync at " + FormatTime(ts, z.Display)
	}
	rpo := ""
	if progress != nil && progress.RPOSeconds > 0 {
		rpo = fmt.Sprintf(" The cloud currently reports an RPO of %s.", FormatDuration(time.Duration(progress.RPOSeconds)*time.Second))
	}
	switch op {
	case OpStart:
		return fmt.Sprintf("Starts replicating %s to %s every %s. While DR runs, neither cluster can be restored, scaled out, upgraded, restarted, "+
			"node-replaced or have its password changed; %s serves no reads or writes, cannot be backed up, and is billed while it restores.",
			p, s, or(PeriodWords(t.SyncPeriod), "sync period"), s)
	case OpStop:
		if last == "" {
			return fmt.Sprintf("Stops replicating. No sync has completed yet, so %s holds none of %s's data, and nothing is copied "+
				"until DR is started again; a failover in the meantime would lose it.", s, p)
		}
		return fmt.Sprintf("Stops replicating. Changes made on %s after %s are not copied to %s until DR is started again; "+
			"a failover in the meantime would lose them.", p, last, s)
	case OpUpdate:
		return fmt.Sprintf("Changes the sync period from %s to %s. Nothing is interrupted; the new period takes effect at the next start.",
			or(PeriodWords(t.SyncPeriod), "its current value"), or(PeriodWords(newPeriod), "the new value"))
	case OpSwitchover:
		if last == "" {
			return fmt.Sprintf("No data has been synchronised yet (no sync has completed yet): %s holds none of %s's data. "+
				"Swaps roles: %s becomes the primary and %s the standby. %s is unavailable while the switchover runs. "+
				"DWS allows a switchover before the first sync: no data is lost while %s is healthy (RPO 0); otherwise %s becomes the primary without any of its data.",
				s, p, s, p, p, p, s)
		}
		return fmt.Sprintf("Swaps roles: %s becomes the primary and %s the standby. %s is unavailable while the switchover runs. "+
			"No data is lost while %s is healthy (RPO 0); otherwise data is at least as recent as %s.", s, p, p, p, last)
	case OpFailover:
		if last == "" {
			return fmt.Sprintf("Promotes %s to primary despite the fault. No sync has completed yet, so failover discards every change "+
				"made on %s: %s holds none of its data, and it is lost for good.%s", s, p, s, rpo)
		}
		return fmt.Sprintf("Promotes %s to primary despite the fault. Failover discards changes made on %s after %s: they are lost for good.%s",
			s, p, last, rpo)
	case OpRecovery:
		return fmt.Sprintf("Rebuilds the pair with %s as production. Recovery erases all data on cluster %s, which is then resynced from scratch; "+
			"until that finishes there is no disaster protection.", p, s)
	case OpDrill:
		return drillConsequence(p, s, last)
	case OpDelete:
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
	PreStatus     TaskStatus
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
func TookEffect(op Operation, t Task, o Observation) bool {
	spec, _ := SpecFor(op)
	return o.SeenTransient || t.Status != o.PreStatus || slices.Contains(spec.Transient, t.Status) ||
		(t.Primary.ID != "" && t.Primary.ID != o.PrePrimaryID) ||
		(op == OpStart && t.StartTime != o.PreStartTime && t.StartTime != "") ||
		(op == OpUpdate && o.NewPeriod != "" && t.SyncPeriod == o.NewPeriod)
}

// Judge decides whether an operation has finished, from the task's current
// detail (gone: the task no longer exists) and what was seen before. An
// operation has succeeded only once it was seen to take effect: a
// switchover is running both before and after, so it counts only after
// switchovering was seen or the primary changed.
func Judge(op Operation, t Task, gone bool, o Observation) (Outcome, string) {
	spec, _ := SpecFor(op)
	switch op {
	case OpCreate:
		switch {
		case gone:
			return Failed, "the DR task disappeared from the cloud while it was being created"
		case slices.Contains(CreateOperation.Success, t.Status):
			return Succeeded, fmt.Sprintf("DR task %s created; it is %s", t.Name, statusWords(t.Status))
		case slices.Contains(CreateOperation.Failure, t.Status) || t.Status.Failed():
			return Failed, fmt.Sprintf("the DR task ended in %s", statusWords(t.Status))
		}
		return Pending, ""
	case OpDelete:
		switch {
		case gone:
			return Succeeded, "the DR task is deleted"
		case o.SeenTransient && t.Status.Settled():
			return Failed, fmt.Sprintf("the delete did not complete; the task is %s again", statusWords(t.Status))
		}
		return Pending, ""
	}
	if gone {
		return Failed, "the DR task disappeared from the cloud while the operation ran"
	}
	if slices.Contains(spec.Transient, t.Status) || !t.Status.Settled() {
		return Pending, ""
	}
	primaryChanged := o.PrePrimaryID != "" && t.Primary.ID != "" && t.Primary.ID != o.PrePrimaryID
	effect := TookEffect(op, t, o)
	switch op {
	case OpUpdate:
		if o.NewPeriod != "" && t.SyncPeriod != o.NewPeriod {
			// Not applied (yet): an accepted answer alone is no proof.
			return Pending, ""
		}
		return Succeeded, fmt.Sprintf("the sync period is %s", PeriodWords(t.SyncPeriod))
	case OpFailover:
		if primaryChanged {
			return Succeeded, fmt.Sprintf("%s is now the primary; the task is %s", t.Primary.Name, statusWords(t.Status))
		}
		if o.SeenTransient {
			return Failed, fmt.Sprintf("the failover ended with the roles unchanged; the task is %s", statusWords(t.Status))
		}
		return Pending, ""
	case OpSwitchover, OpDrill: // each step of a drill is a switchover
		if !(o.SeenTransient || primaryChanged) {
			return Pending, "" // the switchover pitfall: running before and after
		}
		if primaryChanged && slices.Contains(spec.Success, t.Status) {
			return Succeeded, fmt.Sprintf("the roles swapped: %s is now the primary; the task is %s",
				or(t.Primary.Name, t.Primary.ID), statusWords(t.Status))
		}
	}
	if !effect {
		return Pending, ""
	}
	if slices.Contains(spec.Success, t.Status) {
		return Succeeded, fmt.Sprintf("the task is %s", statusWords(t.Status))
	}
	if slices.Contains(spec.Failure, t.Status) || t.Status.Failed() {
		return Failed, fmt.Sprintf("the task ended in %s", statusWords(t.Status))
	}
	return Pending, ""
}

// statusWords names a task status in an outcome: the console's words, and
// the API's token when it differs ("not started (unstart)"), for support.
func statusWords(s TaskStatus) string {
	w := strings.ToLower(s.Label())
	if w != string(s) {
		w += " (" + string(s) + ")"
	}
	return w
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// joinStatuses names statuses in the console's words: "not started,
// start failed or stopped".
func joinStatuses(ss []TaskStatus) string {
	names := make([]string, len(ss))
	for i, s := range ss {
		names[i] = strings.ToLower(s.Label())
	}
	if len(names) > 1 {
		return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
	}
	return strings.Join(names, "")
}
