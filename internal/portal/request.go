package portal

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"slices"
	"time"
)

// RequestStatus is where a request is in its lifecycle (design §6).
type RequestStatus string

// Request statuses.
const (
	StatusPending   RequestStatus = "pending"
	StatusApproved  RequestStatus = "approved"
	StatusExecuting RequestStatus = "executing"
	StatusSucceeded RequestStatus = "succeeded"
	StatusFailed    RequestStatus = "failed"
	StatusRejected  RequestStatus = "rejected"
	StatusCancelled RequestStatus = "cancelled"
	StatusExpired   RequestStatus = "expired"
)

// RequestStatuses lists every status, in lifecycle order.
var RequestStatuses = []RequestStatus{StatusPending, StatusApproved, StatusExecuting, StatusSucceeded, StatusFailed,
	StatusRejected, StatusCancelled, StatusExpired}

// Transitions is the request state machine: the statuses each status may
// move to. Every change of a request's status is one of these, made by a
// named transition in package requests and guarded in SQL by its source.
//
// A break-glass request (Request.BypassesPolicy) is filed pending and
// approved in the same transaction without the quorum: the same
// pending → approved move as a request whose policy needs no approval.
//
// An approved request that has not started (waiting for its change
// window, a drill scheduled for later, queued for the executor) may be
// cancelled by its requester or an admin; once the executor has moved it
// to executing it can no longer be.
var Transitions = map[RequestStatus][]RequestStatus{
	StatusPending:   {StatusApproved, StatusRejected, StatusCancelled, StatusExpired},
	StatusApproved:  {StatusExecuting, StatusFailed, StatusCancelled},
	StatusExecuting: {StatusSucceeded, StatusFailed},
}

// CanMove reports whether the state machine allows from → to.
func CanMove(from, to RequestStatus) bool { return slices.Contains(Transitions[from], to) }

// Final reports whether a request in status s can no longer change.
func (s RequestStatus) Final() bool { return len(Transitions[s]) == 0 }

// Valid reports whether s is a known status.
func (s RequestStatus) Valid() bool { return slices.Contains(RequestStatuses, s) }

// CallState is how far an executing request's cloud call has got.
type CallState string

// Call states.
const (
	CallNone     CallState = "none"     // not sent, or surely not applied
	CallIntent   CallState = "intent"   // may have reached the cloud; its answer is not recorded
	CallAccepted CallState = "accepted" // the cloud took it; the task is being followed
)

// Request is a request to change something in the cloud: what will be
// sent, who asked and why, and how far it has got.
type Request struct {
	ID                int64
	Operation         Operation
	DRTaskID          string // "" for a create until the task exists
	TaskName          string
	TargetKey         string // what at most one approved or executing request may hold
	Method            string
	Path              string
	Payload           []byte // the exact body that will be sent
	PayloadSHA256     []byte
	RequesterID       int64
	RequesterEmail    string
	Justification     string
	Status            RequestStatus
	RequiredApprovals int
	PolicyVersion     int
	CreatedAt         time.Time
	ExpiresAt         time.Time
	ApprovedAt        *time.Time
	ApprovalExpiresAt *time.Time
	StartedAt         *time.Time
	FinishedAt        *time.Time
	CallState         CallState
	CallAttempts      int
	FollowDeadline    *time.Time
	LastSeenStatus    TaskStatus
	Outcome           string
	// The cloud's error behind the last failed attempt or the failure;
	// cleared when a later attempt is accepted.
	ErrorCode      string
	ErrorMsg       string
	ErrorRequestID string
	// What the executor saw right before the call, and whether it has seen
	// the operation's transient status since.
	PreStatus     TaskStatus
	PrePrimaryID  string
	PreStartTime  string
	SeenTransient bool
	Consequence   string // the plain-words consequence the requester was shown
	ConfirmName   string // the cluster name a high-risk operation is confirmed with
	// The last check of the live preconditions (filing is the first).
	CheckedAt     *time.Time
	CheckProblems []string
	CheckError    string
	// The executor's run working on the request now ("" when none), and
	// whether, when the request was read, that run had stopped renewing its
	// lease: it died mid-way and the request waits to be taken over.
	ExecHolder  string
	LeaseLapsed bool
	// Resumes counts the takeovers of runs that died; ResumedAt is the last.
	Resumes   int
	ResumedAt *time.Time
	// Summary is what the request is about in people's words, recorded
	// when it was filed (empty for requests filed before it was kept).
	Summary RequestSummary
	// Incident is the incident reference of an emergency request, one a
	// responder filed by breaking glass ("" for every other request): it
	// ran without the quorum and waits for a post-incident review.
	Incident string
}

// BypassesPolicy reports whether r is an emergency request filed by
// breaking glass: it needs no approvals and passes a freeze. It is the one
// test of the bypass; the quorum (Authorized) and any other check of the
// policy ask it.
func (r Request) BypassesPolicy() bool { return r.Incident != "" }

// RequestSummary is what approvers decide on, in names: both clusters as
// they were when the request was filed and the sync period it sets (a
// create, an update) or runs with.
type RequestSummary struct {
	Primary    ClusterRef `json:"primary,omitzero"`
	Standby    ClusterRef `json:"standby,omitzero"`
	SyncPeriod string     `json:"sync_period,omitempty"`
}

// ClusterRef names a cluster for people: its name, availability zone and
// version next to its id.
type ClusterRef struct {
	ID      string `json:"id,omitempty"`
	Name    string `json:"name,omitempty"`
	AZ      string `json:"az,omitempty"`
	Version string `json:"version,omitempty"`
}

// SideRef is the ClusterRef of one side of a task.
func SideRef(s TaskSide) ClusterRef {
	return ClusterRef{ID: s.ID, Name: s.Name, AZ: s.AZ, Version: s.DatastoreVersion}
}

// EffectiveStatus is the status a request shows at now: a pending request
// past its time is expired even before the sweeper has recorded it.
func (r Request) EffectiveStatus(now time.Time) RequestStatus {
	if r.Status == StatusPending && !now.Before(r.ExpiresAt) {
		return StatusExpired
	}
	return r.Status
}

// Interrupted reports whether the run executing an approved or executing
// request died mid-way: its lease ran out, or another run took it over.
func (r Request) Interrupted() bool {
	return (r.Status == StatusApproved || r.Status == StatusExecuting) && (r.LeaseLapsed || r.ResumedAt != nil)
}

// ApprovalLapsed reports whether an approved request's approval ran out.
func (r Request) ApprovalLapsed(now time.Time) bool {
	return r.ApprovalExpiresAt != nil && !now.Before(*r.ApprovalExpiresAt)
}

// PayloadHash is the SHA-256 of a payload, the value approvals record.
func PayloadHash(payload []byte) []byte {
	h := sha256.Sum256(payload)
	return h[:]
}

// Decision is an approver's answer.
type Decision string

// Decisions.
const (
	Approve Decision = "approve"
	Reject  Decision = "reject"
)

// Approval is one approver's decision on a request.
type Approval struct {
	RequestID     int64
	ApproverID    int64
	ApproverEmail string
	Decision      Decision
	Comment       string
	PayloadSHA256 []byte // the payload hash the approver saw
	PolicyVersion int
	DecidedAt     time.Time
	// ApproverNow says whether the approver is, at the time the approval is
	// read, an active user holding the approver role.
	ApproverNow bool
	// ApproverWhenFiled says whether they held the approver role since
	// before the request was filed: an approver made afterwards does not
	// count, so nobody can make one for a request already waiting.
	ApproverWhenFiled bool
}

// Quorum counts the approvals that count towards r's quorum: approve
// decisions under r's policy version by people who are active approvers
// now (an approver deactivated or stripped of the role since no longer
// counts). It is the one quorum rule, applied when an approver decides and
// again right before the call. An approval of a payload other than r's
// means the payload changed after it was approved: that is an error, never
// a smaller count.
func Quorum(r Request, approvals []Approval) (int, error) {
	if !bytes.Equal(PayloadHash(r.Payload), r.PayloadSHA256) {
		return 0, fmt.Errorf("the payload no longer matches its recorded hash: it was changed after filing")
	}
	return ApprovalsCounted(r, approvals)
}

// ApprovalsCounted is Quorum without the check of r's payload against its
// recorded hash: it needs only r's recorded payload hash and policy
// version, not the payload, so a list that reads requests without their
// payloads can show how far one is. What decides whether a request runs
// is Quorum (and Authorized), which check the payload too.
func ApprovalsCounted(r Request, approvals []Approval) (int, error) {
	n := 0
	for _, a := range approvals {
		if a.Decision != Approve || a.PolicyVersion != r.PolicyVersion {
			continue
		}
		if !bytes.Equal(a.PayloadSHA256, r.PayloadSHA256) {
			return 0, fmt.Errorf("the payload is not the one %s approved: it was changed after approval", a.ApproverEmail)
		}
		if a.ApproverNow && a.ApproverWhenFiled {
			n++
		}
	}
	return n, nil
}

// Authorized says whether r may be executed with approvals: the payload
// is the one filed and approved, and the approvals that count (Quorum)
// reach need, the number r requires. An emergency request
// (BypassesPolicy) needs no approval, but its payload must still be the
// one filed. It is the rule checked right before the call.
func Authorized(r Request, approvals []Approval, need int) error {
	if r.BypassesPolicy() {
		if !bytes.Equal(PayloadHash(r.Payload), r.PayloadSHA256) {
			return fmt.Errorf("the payload no longer matches its recorded hash: it was changed after filing")
		}
		return nil
	}
	n, err := Quorum(r, approvals)
	if err != nil {
		return err
	}
	if n < need {
		return fmt.Errorf("only %d of the %d required approvals are on record", n, need)
	}
	return nil
}

// Policy is one version of the approval policy.
type Policy struct {
	Version     int
	Approvals   map[Operation]int // distinct approvals each operation needs
	PendingTTL  time.Duration     // how long a request waits for its approvals
	ApprovalTTL time.Duration     // how long an approval lasts unless executed
	CreatedBy   int64             // who proposed it (0: the portal's setup)
	ApprovedBy  int64             // the second admin who approved it (0: none was needed)
	CreatedAt   time.Time
}

// MaxApprovals is the most approvals a policy may require for one operation.
const MaxApprovals = 5

// Required is how many approvals op needs under p: the policy's number,
// never below the operation's floor (an older policy may be below it).
func (p Policy) Required(op Operation) int {
	if op == OpDrill {
		// A drill is two switchovers: never fewer approvals than one.
		return max(p.Approvals[op], op.MinApprovals(), p.Required(OpSwitchover))
	}
	return max(p.Approvals[op], op.MinApprovals())
}

// Validate returns what is wrong with p as a new policy, by field: the
// operation's name, pending_ttl or approval_ttl.
func (p Policy) Validate() map[string]string {
	errs := map[string]string{}
	for _, op := range Operations {
		n, ok := p.Approvals[op]
		switch {
		case !ok || n < 0 || n > MaxApprovals:
			errs[string(op)] = fmt.Sprintf("Enter a number from %d to %d.", op.MinApprovals(), MaxApprovals)
		case n < op.MinApprovals():
			errs[string(op)] = fmt.Sprintf("A %s needs at least %d approval: no policy lets one person do it alone.", op, op.MinApprovals())
		}
	}
	if n, sw := p.Approvals[OpDrill], p.Approvals[OpSwitchover]; errs[string(OpDrill)] == "" && n < sw {
		errs[string(OpDrill)] = fmt.Sprintf("A drill is a switchover and a switchback: it needs at least as many approvals as a switchover (%d).", sw)
	}
	if p.PendingTTL < time.Hour || p.PendingTTL > 90*24*time.Hour {
		errs["pending_ttl"] = "A pending request may live from 1 hour to 90 days (e.g. 72h)."
	}
	if p.ApprovalTTL < 10*time.Minute || p.ApprovalTTL > 30*24*time.Hour {
		errs["approval_ttl"] = "An approval may last from 10 minutes to 30 days (e.g. 24h)."
	}
	return errs
}
