package portal

import (
	"fmt"
	"strings"
	"time"
)

// A drill (OpDrill) proves that a DR task can switch roles and back: one
// request, filed and approved once, whose execution makes two switchover
// calls on the request lifecycle, the switchover (step 1) and the
// switchback (step 2), and measures each.

// Drill steps.
const (
	DrillSwitchover = 1
	DrillSwitchback = 2
)

// DrillStepName names a drill step in words.
func DrillStepName(step int) string {
	if step == DrillSwitchback {
		return "switchback"
	}
	return "switchover"
}

// Drill outcomes.
const (
	DrillSucceeded = "succeeded"
	DrillFailed    = "failed"
	// DrillCancelled: its request was cancelled before it started.
	DrillCancelled = "cancelled"
)

// DrillStepTimes are what the portal measured of one step, on the
// executor's clock: when its call was started, when the cloud accepted
// it, and when the task was first seen running the other way.
type DrillStepTimes struct {
	SentAt, AcceptedAt, DoneAt *time.Time
}

// Drill is a drill request's schedule, progress and evidence.
type Drill struct {
	RequestID int64
	TaskID    string
	// RunAt is when the requester asked it to run; nil: once approved.
	RunAt *time.Time
	// Step is the step the executor is at: 1 (switchover) until the
	// switchover was seen done, then 2 (switchback).
	Step       int
	FiledBy    string
	ApprovedBy []string
	// PollResolution is how often the executor read the task while
	// following a step: a step's end is known to within it.
	PollResolution time.Duration
	StartedAt      *time.Time
	FinishedAt     *time.Time
	Outcome        string // "", DrillSucceeded, DrillFailed or DrillCancelled
	OutcomeDetail  string
	// The roles when the drill started, by cluster name.
	PrimaryBefore, StandbyBefore string
	// LastSyncAt is the task's last_success_time as read right before
	// the switchover's call (nil: none was reported).
	LastSyncAt *time.Time
	Switchover DrillStepTimes
	Switchback DrillStepTimes
}

// StepTimes returns the times of step 1 or 2.
func (d Drill) StepTimes(step int) DrillStepTimes {
	if step == DrillSwitchback {
		return d.Switchback
	}
	return d.Switchover
}

// RTO is how long step took, measured by polling: from the cloud
// accepting the call to the task first seen running the other way.
func (d Drill) RTO(step int) (time.Duration, bool) {
	st := d.StepTimes(step)
	if st.AcceptedAt == nil || st.DoneAt == nil {
		return 0, false
	}
	return st.DoneAt.Sub(*st.AcceptedAt), true
}

// RPO is the data a failure at the switchover's start would have lost:
// the gap between the last successful sync before the switchover and the
// switchover's start.
func (d Drill) RPO() (time.Duration, bool) {
	if d.LastSyncAt == nil || d.Switchover.SentAt == nil {
		return 0, false
	}
	return max(d.Switchover.SentAt.Sub(*d.LastSyncAt), 0), true
}

// Summary is the drill's evidence in words: "RTO 2 min 10 s, RPO 45 s"
// (the RTO is the switchover's), with what could not be measured said so.
func (d Drill) Summary() string {
	rto, rpo := "RTO not measured", "RPO not measured"
	if v, ok := d.RTO(DrillSwitchover); ok {
		rto = "RTO " + DrillDuration(v)
	}
	if v, ok := d.RPO(); ok {
		rpo = "RPO " + DrillDuration(v)
	}
	return rto + ", " + rpo
}

// DrillDuration is a measured duration in short words: "2 min 10 s",
// "45 s", "1 h 5 min", "0.4 s" below a second.
func DrillDuration(v time.Duration) string {
	if v < 0 {
		v = 0
	}
	if v < time.Second {
		return fmt.Sprintf("%.1f s", v.Seconds())
	}
	v = v.Round(time.Second)
	h, m, s := int(v/time.Hour), int(v%time.Hour/time.Minute), int(v%time.Minute/time.Second)
	var parts []string
	if h > 0 {
		parts = append(parts, fmt.Sprintf("%d h", h))
	}
	if m > 0 {
		parts = append(parts, fmt.Sprintf("%d min", m))
	}
	if s > 0 && h == 0 {
		parts = append(parts, fmt.Sprintf("%d s", s))
	}
	if len(parts) == 0 {
		return "0 s"
	}
	return strings.Join(parts, " ")
}

// LastSync is the task's last successful sync, read in zone: the
// standby's last_success_time, or the primary's when the standby has none.
func LastSync(t Task, zone *time.Location) (time.Time, bool) {
	if ts, ok := ParseTime(t.Standby.LastSuccessTime, zone); ok {
		return ts, true
	}
	return ParseTime(t.Primary.LastSuccessTime, zone)
}

// DrillReady says whether a task in its live state t is synchronised
// enough to drill, and if not, why: a sync has completed (so the
// switchover starts from data the standby holds) and neither cluster's DR
// status is abnormal. Allowed checks the status (running) first.
func DrillReady(t Task, zone *time.Location) (bool, string) {
	if _, ok := LastSync(t, zone); !ok {
		return false, "A drill needs a synchronised pair: no sync has completed yet. Wait for the first sync and file it again."
	}
	for _, side := range []TaskSide{t.Primary, t.Standby} {
		if strings.EqualFold(side.Status, "abnormal") {
			return false, fmt.Sprintf("A drill needs a synchronised pair: cluster %s reports its DR status as abnormal.", or(side.Name, side.ID))
		}
	}
	return true, ""
}

// drillConsequence is the drill's consequence text: both switches, what is
// unavailable meanwhile, what is measured and what happens on a failure.
func drillConsequence(p, s, last string) string {
	since := "the last successful sync"
	if last != "" {
		since = last
	}
	return fmt.Sprintf("Runs a drill: a switchover, so that %s becomes the primary, then a switchback, so that %s is the primary again. "+
		"%s is unavailable while each of the two switchovers runs. No data is lost while both clusters are healthy (RPO 0). "+
		"The portal measures each switch (RTO, from the call's acceptance until the task is seen running the other way) and the "+
		"data at risk when it began (RPO, since %s) and keeps them as evidence. If the switchover fails or times out, "+
		"nothing is switched back: the drill stops and says what state the task is in.", s, p, p, since)
}
