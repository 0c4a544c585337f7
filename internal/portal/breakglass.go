package portal

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Break-glass: during an incident a responder runs one operation alone,
// without the quorum. It is loud (everyone is told), bounded (the policy
// chooses the operations; one emergency per person until it is reviewed)
// and reviewed afterwards by two approvers.

// BreakGlassOps are the operations a break-glass policy may allow: the
// ones that bring a service back during an outage.
var BreakGlassOps = []Operation{OpFailover, OpSwitchover, OpRecovery, OpStart}

// MaxReviewDays bounds how long a post-incident review may be due after.
const MaxReviewDays = 30

// BreakGlassPolicy is one version of the break-glass settings.
type BreakGlassPolicy struct {
	Version    int
	Enabled    bool
	Operations []Operation // which of BreakGlassOps a responder may run
	ReviewDays int         // the review is due this many days after
	CreatedBy  int64       // who set it (0: the portal's setup)
	ApprovedBy int64       // the second admin (0: none was needed)
	CreatedAt  time.Time
}

// Allows reports whether p lets a responder run op now.
func (p BreakGlassPolicy) Allows(op Operation) bool {
	return p.Enabled && slices.Contains(p.Operations, op)
}

// Validate returns what is wrong with p as new settings, by field
// (operations, review_days).
func (p BreakGlassPolicy) Validate() map[string]string {
	errs := map[string]string{}
	for _, op := range p.Operations {
		if !slices.Contains(BreakGlassOps, op) {
			errs["operations"] = fmt.Sprintf("Break-glass may allow only failover, switchover, recovery or start, not %q.", op)
		}
	}
	if p.Enabled && len(p.Operations) == 0 {
		errs["operations"] = "Choose at least one operation, or turn break-glass off."
	}
	if p.ReviewDays < 1 || p.ReviewDays > MaxReviewDays {
		errs["review_days"] = fmt.Sprintf("The review is due within 1 to %d days.", MaxReviewDays)
	}
	return errs
}

// Normalized is p with its operations in BreakGlassOps' order, each once.
func (p BreakGlassPolicy) Normalized() BreakGlassPolicy {
	var ops []Operation
	for _, op := range BreakGlassOps {
		if slices.Contains(p.Operations, op) {
			ops = append(ops, op)
		}
	}
	p.Operations = ops
	return p
}

// Stricter reports whether p, replacing cur, makes the portal no less
// strict: break-glass off, or on with no operation cur lacks and a review
// due no later. Such a change takes effect at once; any other waits for a
// second admin.
func (p BreakGlassPolicy) Stricter(cur BreakGlassPolicy) bool {
	if !p.Enabled {
		return true
	}
	if !cur.Enabled || p.ReviewDays > cur.ReviewDays {
		return false
	}
	for _, op := range p.Operations {
		if !slices.Contains(cur.Operations, op) {
			return false
		}
	}
	return true
}

// Widens says what p lets a responder do that q did not, on or off
// aside: the operations q lacks, and whether p's review is due later.
// Turning break-glass on brings back its off settings, which one admin
// may change at once; the second admin compares them with the last that
// were on.
func (p BreakGlassPolicy) Widens(q BreakGlassPolicy) (ops []Operation, laterReview bool) {
	for _, op := range p.Normalized().Operations {
		if !slices.Contains(q.Operations, op) {
			ops = append(ops, op)
		}
	}
	return ops, p.ReviewDays > q.ReviewDays
}

// Same reports whether p asks for exactly what q does.
func (p BreakGlassPolicy) Same(q BreakGlassPolicy) bool {
	a, b := p.Normalized(), q.Normalized()
	return a.Enabled == b.Enabled && a.ReviewDays == b.ReviewDays && slices.Equal(a.Operations, b.Operations)
}

// Describe says p in a sentence.
func (p BreakGlassPolicy) Describe() string {
	if !p.Enabled {
		return fmt.Sprintf("Break-glass is off (a review would be due within %d days).", p.ReviewDays)
	}
	names := make([]string, len(p.Operations))
	for i, op := range p.Operations {
		names[i] = strings.ToLower(op.Label())
	}
	return fmt.Sprintf("Break-glass is on for %s; the review is due within %d days.", strings.Join(names, ", "), p.ReviewDays)
}

// MaxIncident bounds an incident reference.
const MaxIncident = 40

var incidentRef = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*-[0-9]{1,12}$`)

// CheckIncident returns what is wrong with an incident reference, or "":
// a ticket key like INC-1234.
func CheckIncident(s string) string {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "Give the incident's reference, e.g. INC-1234: the review starts from it."
	case utf8.RuneCountInString(s) > MaxIncident:
		return fmt.Sprintf("An incident reference has at most %d characters.", MaxIncident)
	case !incidentRef.MatchString(s):
		return "Give the incident's ticket key: letters, a hyphen and its number, e.g. INC-1234."
	}
	return ""
}

// BreakGlassConfirm is the cluster a responder types to break glass: the
// one ConfirmCluster names, and for a start, which has none, the standby,
// whose data is overwritten.
func BreakGlassConfirm(op Operation, t Task) string {
	if n := ConfirmCluster(op, t); n != "" {
		return n
	}
	return t.Standby.Name
}

// Verdict is a reviewer's word on an emergency.
type Verdict string

// Verdicts.
const (
	VerdictAcknowledge Verdict = "acknowledge" // the bypass was justified
	VerdictFlag        Verdict = "flag"        // it needs a closer look by the admins
)

// Emergency is a break-glass request with its review.
type Emergency struct {
	RequestID      int64
	Operation      Operation
	TaskName       string
	DRTaskID       string
	ResponderID    int64
	ResponderEmail string
	Incident       string
	Reason         string
	CreatedAt      time.Time
	ReviewDueAt    time.Time
	// ReviewedAt is when the second review completed it (nil: open).
	ReviewedAt *time.Time
	Reviews    []EmergencyReview
	Status     RequestStatus
	// FlagClearedAt is when an admin cleared the flag of a flagged review
	// (nil: not cleared), FlagClearedBy who and FlagClearComment why.
	FlagClearedAt    *time.Time
	FlagClearedBy    string
	FlagClearComment string
}

// Flagged reports whether a reviewer flagged e.
func (e Emergency) Flagged() bool {
	return slices.ContainsFunc(e.Reviews, func(r EmergencyReview) bool { return r.Verdict == VerdictFlag })
}

// FlagStands reports whether a reviewer flagged e and no admin has cleared
// the flag yet: its responder may not break glass until one does.
func (e Emergency) FlagStands() bool {
	return e.Flagged() && e.FlagClearedAt == nil
}

// Overdue reports whether e's review is late at now.
func (e Emergency) Overdue(now time.Time) bool {
	return e.ReviewedAt == nil && !now.Before(e.ReviewDueAt)
}

// ReviewsNeeded is how many distinct approvers review an emergency.
const ReviewsNeeded = 2

// EmergencyReview is one approver's review of an emergency.
type EmergencyReview struct {
	ReviewerID    int64
	ReviewerEmail string
	Verdict       Verdict
	Comment       string
	At            time.Time
}
