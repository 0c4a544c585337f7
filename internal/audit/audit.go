// Package audit is the portal's audit history: the event, its canonical
// encoding and the hash chain that makes the history tamper-evident; the
// one chain verifier (Verify) for the stored history and for exported
// files; export, archive and the review service; and the recorder of cloud
// HTTP attempts. Storage lives in internal/db, which implements the small
// interfaces declared here (Writer, ChainReader, Store); this package does
// not import it.
package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"
)

// Outcome says how the audited action ended.
type Outcome string

// Outcomes. Denied is a refusal by the portal (rate limit, permission);
// Failure is an action that was tried and did not work; Error is an
// unexpected failure.
const (
	Success Outcome = "success"
	Failure Outcome = "failure"
	Denied  Outcome = "denied"
	Error   Outcome = "error"
	Info    Outcome = "info"
	// Bypassed: the action went ahead without what the policy asks (an
	// emergency's break-glass).
	Bypassed Outcome = "bypassed"
)

// Subject types.
const (
	SubjectUser   = "user"
	SubjectDRTask = "dr_task"
	// SubjectRequest: an approval request, for its events before its task
	// exists (a create's filing and decisions).
	SubjectRequest = "request"
	SubjectAudit   = "audit"
	SubjectPolicy  = "policy"
)

// Actor is who did something: a user (ID > 0) or the system.
type Actor struct {
	ID   int64
	Name string
}

// System is the actor of background work.
var System = Actor{Name: "system"}

// Event is one entry of the audit history.
type Event struct {
	ID            int64 // chain position, from 1
	OccurredAt    time.Time
	Actor         Actor
	Action        string
	SubjectType   string
	SubjectID     string
	RequestID     int64 // the approval request concerned; 0 when none
	CorrelationID string
	Outcome       Outcome
	Detail        []byte // canonical JSON object text
	PrevHash      []byte
	Hash          []byte
}

// GenesisHash is the previous hash of the first event.
var GenesisHash = make([]byte, sha256.Size)

// timeLayout keeps microseconds, the precision PostgreSQL stores.
const timeLayout = "2006-01-02T15:04:05.000000Z07:00"

// Normalize makes an event storable: its time in UTC truncated to
// microseconds, and an empty detail as "{}".
func (e *Event) Normalize() {
	e.OccurredAt = e.OccurredAt.UTC().Truncate(time.Microsecond)
	if len(e.Detail) == 0 {
		e.Detail = []byte("{}")
	}
}

// Validate refuses what the audit table would: an event without an action
// or actor name, an unknown outcome, or a detail that is not text.
func (e Event) Validate() error {
	switch {
	case e.Action == "":
		return fmt.Errorf("append audit event: the action is required")
	case e.Actor.Name == "":
		return fmt.Errorf("append audit event %s: no actor; a person's request names the user, background work names audit.System", e.Action)
	case e.Outcome != Success && e.Outcome != Failure && e.Outcome != Denied && e.Outcome != Error && e.Outcome != Info && e.Outcome != Bypassed:
		return fmt.Errorf("append audit event %s: unknown outcome %q", e.Action, e.Outcome)
	case !utf8.Valid(e.Detail) || bytes.IndexByte(e.Detail, 0) >= 0:
		return fmt.Errorf("append audit event %s: detail is not valid text", e.Action)
	}
	return nil
}

// Canonical is the byte encoding the hash covers: a JSON array of the
// event's fields in a fixed order, the detail as a JSON string of its exact
// stored text. Changing it invalidates every stored chain.
func Canonical(e Event) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode([]any{
		1, // encoding version
		e.ID,
		e.OccurredAt.UTC().Format(timeLayout),
		e.Actor.ID,
		e.Actor.Name,
		e.Action,
		e.SubjectType,
		e.SubjectID,
		e.RequestID,
		e.CorrelationID,
		string(e.Outcome),
		string(e.Detail),
	})
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// ChainHash is SHA-256 over the previous hash followed by the canonical
// encoding of the event.
func ChainHash(prev []byte, e Event) []byte {
	h := sha256.New()
	h.Write(prev)
	h.Write(Canonical(e))
	return h.Sum(nil)
}

// Detail encodes v as the canonical detail text: JSON with object keys
// sorted, no HTML escaping. A value that cannot be encoded becomes an object
// saying so, so an audit write never fails on its detail.
func Detail(v any) []byte {
	if v == nil {
		return []byte("{}")
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Appendf(nil, `{"detail_error":%q}`, err.Error())
	}
	if string(raw) == "null" { // a nil map or pointer: no detail
		return []byte("{}")
	}
	return CanonicalJSON(raw)
}

// CanonicalJSON re-encodes JSON with sorted object keys and numbers kept as
// written. Invalid JSON is wrapped as a string.
func CanonicalJSON(raw []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		b, _ := json.Marshal(map[string]string{"raw": string(raw)})
		return b
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		b, _ := json.Marshal(map[string]string{"raw": string(raw)})
		return b
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

type ctxKey int

const (
	actorKey ctxKey = iota
	correlationKey
	requestKey
)

// WithActor returns a context carrying the actor of the work it scopes.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey, a)
}

// ActorFrom returns the context's actor. A context without one gives the
// zero Actor, which Validate refuses: work that nobody named is never
// silently attributed to the system. Background work says WithActor(ctx,
// System) itself.
func ActorFrom(ctx context.Context) Actor {
	a, _ := ctx.Value(actorKey).(Actor)
	return a
}

// WithCorrelation returns a context carrying the id of the HTTP request or
// job that caused the work.
func WithCorrelation(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, correlationKey, id)
}

// CorrelationFrom returns the context's correlation id, or "".
func CorrelationFrom(ctx context.Context) string {
	s, _ := ctx.Value(correlationKey).(string)
	return s
}

// WithRequest returns a context whose events concern an approval request.
func WithRequest(ctx context.Context, id int64) context.Context {
	return context.WithValue(ctx, requestKey, id)
}

// RequestFrom returns the context's approval request id, or 0.
func RequestFrom(ctx context.Context) int64 {
	id, _ := ctx.Value(requestKey).(int64)
	return id
}

// FromContext starts an event with the context's actor, correlation id and
// approval request.
func FromContext(ctx context.Context, action string, outcome Outcome) Event {
	return Event{
		Actor:         ActorFrom(ctx),
		CorrelationID: CorrelationFrom(ctx),
		RequestID:     RequestFrom(ctx),
		Action:        action,
		Outcome:       outcome,
	}
}
