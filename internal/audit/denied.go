package audit

import (
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Reasons a denied action is recorded with: short fixed texts, never user
// input, so a reason can neither carry a secret nor grow without bound.
const (
	ReasonForbidden           = "forbidden"             // a refusal that names no reason of its own (apperr.DenialOf says it)
	ReasonRole                = "role"                  // the user's roles do not allow it
	ReasonSelfApproval        = "self-approval"         // deciding one's own request
	ReasonNotApprover         = "not-approver"          // deciding without the approver role
	ReasonApproverAfterFiling = "approver-after-filing" // deciding (or reviewing) a request filed before one became an approver
	ReasonStaleHash           = "stale-hash"            // deciding on a payload other than the one shown
	ReasonNotRequester        = "not-requester"         // cancelling someone else's request
	ReasonPrivilegedReset     = "privileged-reset"      // resetting the password of an approver or admin
	ReasonTemporaryPassword   = "temporary-password"    // granting approver or admin to an account with a temporary password
	ReasonCSRFMissing         = "csrf-missing"          // a form posted without its CSRF token
	ReasonCSRFInvalid         = "csrf-invalid"          // a form posted with a wrong CSRF token
	ReasonCSRFCrossSite       = "csrf-cross-site"       // a form posted from another site
	ReasonStepUp              = "step-up"               // a high-risk approval or a policy change without the password entered lately
	ReasonThrottled           = "throttled"             // an export past the person's limit (a few in a row, then one a minute)
	ReasonOwnEmergency        = "own-emergency"         // a responder cancelling their own emergency, which superseded others' work
	ReasonOwnThrottle         = "own-throttle"          // an admin clearing a sign-in throttle of their own account
	ReasonFormErrors          = "form-errors"           // a create or operation form returned with errors
	ReasonFrozen              = "frozen"                // a create or operation form refused by a freeze
)

// Anonymous is the actor of a request made without a session.
var Anonymous = Actor{Name: "anonymous"}

// Bounds of a denial's fields: whatever a client sends, a denied event and
// its counting row stay small.
const (
	maxDeniedRoute = 200
	maxDeniedID    = 64
	maxDeniedIP    = 64
	maxDeniedShort = 32 // method, reason
)

// Denial is one refused action as the audit log records it: who (a user,
// or someone not signed in, known by address), the route's pattern (never
// the URL as sent, which could hold anything) and method, the route's :id
// parameter, and the reason. It never holds a form value or a token.
type Denial struct {
	At            time.Time
	Actor         Actor  // the signed-in user, or Anonymous
	IP            string // the client's address, as the portal decides it
	Method        string
	Route         string // e.g. /requests/:id/decide
	ID            string // the route's :id parameter, if it has one
	Reason        string // one of the Reason constants
	CorrelationID string
}

// Bounded returns d with every field cut to its bound.
func (d Denial) Bounded() Denial {
	if !slices.Contains(standardMethods, d.Method) {
		d.Method = "OTHER"
	}
	d.Reason = truncate(d.Reason, maxDeniedShort)
	d.Route = truncate(d.Route, maxDeniedRoute)
	d.ID = truncate(d.ID, maxDeniedID)
	d.IP = truncate(d.IP, maxDeniedIP)
	return d
}

// Key is whom a denial is counted against: the user, or for someone not
// signed in, their network (ClientNetwork).
func (d Denial) Key() string {
	if d.Actor.ID != 0 {
		return "user:" + strconv.FormatInt(d.Actor.ID, 10)
	}
	return "ip:" + ClientNetwork(d.IP)
}

// Minute is the minute a denial is counted in.
func (d Denial) Minute() time.Time { return d.At.UTC().Truncate(time.Minute) }

// Event is the audit event of a denial: the first of its kind (actor,
// method, route, reason) in its minute. Further ones in that minute are
// only counted, and a DeniedRun's event gives their total once the minute
// has closed.
func (d Denial) Event() Event {
	detail := map[string]any{"method": d.Method, "route": d.Route, "reason": d.Reason, "ip": d.IP,
		"minute": d.Minute().Format(time.RFC3339)}
	if d.ID != "" {
		detail["id"] = d.ID
	}
	return Event{OccurredAt: d.At, Actor: d.Actor, Action: ActionAccessDenied, CorrelationID: d.CorrelationID,
		Outcome: Denied, Detail: Detail(detail)}
}

// MaxRefusalText bounds each typed text (an incident, a reason, a comment)
// that the event of a counted refusal keeps: enough to read what was meant,
// too little for a flood of refusals to fill the history.
const MaxRefusalText = 200

// Clip is s cut to at most n characters, marked "…" when cut: each free
// text (a justification, a name, a reason) that the event of a rejected or
// refused form keeps is Clip(text, MaxRefusalText).
func Clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// ClipAll is m with each value cut to MaxRefusalText characters (Clip): the
// errors by field that the event of a refused form keeps, some of which
// quote what was typed.
func ClipAll(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[Clip(k, MaxRefusalText)] = Clip(v, MaxRefusalText)
	}
	return out
}

// Refusal is a refused form or action that is recorded under an action of
// its own (First: break_glass.refused, break_glass.rejected,
// break_glass.review_refused, request.cancel_refused, or, with Route,
// dr_task.create.rejected and dr_task.operation.rejected) and counted like
// a denial: the first of its kind (the person, First's action or Route,
// and Reason, a short fixed text) in a minute is appended, the others in
// that minute are only counted, and a closed minute that counted more than
// one is summarised once: as ActionRefusedRepeated, or with Route as
// ActionAccessDeniedRepeated. The counting table keeps the action where a
// denial keeps its route: an action never starts with "/", a route always
// does.
type Refusal struct {
	First  Event
	Reason string
	// Route, when set, is the route pattern of the form's post (a DR task
	// form sent back), which the refusal is counted under in place of
	// First's action, as a denial of that route would be.
	Route string
}

// Denial is r as the denials' counting table keeps it: the action (or
// Route) in place of the route, the request (or else the subject) as the
// id.
func (r Refusal) Denial() Denial {
	id := r.First.SubjectID
	if r.First.RequestID != 0 {
		id = strconv.FormatInt(r.First.RequestID, 10)
	}
	route := r.First.Action
	if r.Route != "" {
		route = r.Route
	}
	return Denial{At: r.First.OccurredAt, Actor: r.First.Actor, Method: http.MethodPost, Route: route, ID: id,
		Reason: r.Reason, CorrelationID: r.First.CorrelationID}
}

// counted says whether d is the kind of a Refusal rather than a denial.
func (d Denial) counted() bool { return !strings.HasPrefix(d.Route, "/") }

// DeniedRun is the denials of one kind (actor, method, route, reason) in
// one minute: the first one, how many there were, and when.
type DeniedRun struct {
	First     Denial
	Count     int64
	FirstSeen time.Time
	LastSeen  time.Time
}

// Event is the summary of a closed minute that held more than one denial
// of a kind: count is the minute's total, the first (audited at once)
// included; repeats are those audited only here. It takes the first
// denial's actor and correlation id, so it sits next to that event in the
// actor's history and the request's trail.
func (r DeniedRun) Event(at time.Time) Event {
	d := r.First
	detail := map[string]any{"method": d.Method, "route": d.Route, "reason": d.Reason, "ip": d.IP,
		"minute": d.Minute().Format(time.RFC3339), "count": r.Count, "repeats": r.Count - 1,
		"first_seen": r.FirstSeen.UTC().Format(time.RFC3339Nano), "last_seen": r.LastSeen.UTC().Format(time.RFC3339Nano)}
	action := ActionAccessDeniedRepeated
	if d.counted() {
		// A Refusal's kind: its action, not a route or a method.
		action = ActionRefusedRepeated
		delete(detail, "route")
		delete(detail, "method")
		delete(detail, "ip")
		detail["action"] = d.Route
		if d.ID != "" {
			detail["id"] = d.ID
		}
	}
	return Event{OccurredAt: at, Actor: d.Actor, Action: action, CorrelationID: d.CorrelationID,
		Outcome: Denied, Detail: Detail(detail)}
}

// truncate cuts s to at most n bytes without splitting a character, and
// drops invalid UTF-8.
func truncate(s string, n int) string {
	if len(s) > n {
		i := n
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		s = s[:i]
	}
	return strings.ToValidUTF8(s, "")
}

// ClientNetwork is the network a client address is counted by: an IPv4
// address itself, an IPv6 address's /64 (one host holds a whole /64, so
// counting its addresses apart would let it make as many as it likes).
// Anything else is returned as given.
func ClientNetwork(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	if a.Is4() || a.Is4In6() {
		return a.Unmap().String()
	}
	p, err := a.Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}

// standardMethods are the methods a denial is recorded under by name; any
// other counts as OTHER, so that a client cannot make each of its refusals
// a new kind by inventing methods.
var standardMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodOptions}
