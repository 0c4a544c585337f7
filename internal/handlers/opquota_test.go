package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"drportal/internal/audit"
)

// TestOperationFormsCannotBurnTheCloudQuota: a requester posting an
// operation form over and over costs the DWS API almost nothing. A form
// refused on what the database knows (a short justification, a wrong
// cluster name, a freeze) makes no cloud call; valid forms make at most one
// live read of the task per person per interval, the next answered 429
// with Retry-After; and the rejected forms of a minute are one event and a
// count, not one event each.
func TestOperationFormsCannotBurnTheCloudQuota(t *testing.T) {
	e := newEnv(t)
	id := e.createTask("dr_quota01")
	e.tasks.FormReadInterval = time.Hour
	req := e.signedIn("req@example.com")
	// The cloud calls the people made (the background syncs make their own).
	calls := func() int {
		n := 0
		for _, ev := range e.events(audit.ActionCloudCall) {
			if strings.HasSuffix(ev.Actor.Name, "@example.com") {
				n++
			}
		}
		return n
	}
	rejected := func() int { return len(e.events(audit.ActionOperationRejected)) }
	before, rejBefore := calls(), rejected()

	for range 20 {
		if r := e.fileOperation(req, id, "start", url.Values{"justification": {"x"}}); r.status != http.StatusUnprocessableEntity {
			t.Fatalf("a one-character justification: %d", r.status)
		}
	}
	if n := calls() - before; n != 0 {
		t.Errorf("20 forms refused for their justification made %d cloud calls", n)
	}
	if n := rejected() - rejBefore; n != 1 {
		t.Errorf("20 rejected forms in a minute are %d events, want 1 (the rest counted)", n)
	}
	var counted int64
	if err := e.store.Pool().QueryRow(context.Background(), `SELECT coalesce(sum(count), 0) FROM denied_actions
		WHERE route = '/dr-tasks/:id/operations/:op' AND reason = $1`, audit.ReasonFormErrors).Scan(&counted); err != nil {
		t.Fatal(err)
	}
	if counted != 20 {
		t.Errorf("%d rejected forms counted, want 20", counted)
	}

	// A valid form reads the task live once, and filing gives the read
	// back: a person files one operation after another. A form refused
	// after its live read (here, the same start again) spends it: the next
	// within the interval is refused with when to try again, and sends
	// nothing.
	if r := e.fileOperation(req, id, "start", url.Values{"justification": {"start it now, CHG-1"}}); r.status != http.StatusSeeOther {
		t.Fatalf("a valid start: %d %q", r.status, r.text("main"))
	}
	if n := calls() - before; n != 1 {
		t.Errorf("the valid form made %d cloud calls, want 1", n)
	}
	if r := e.fileOperation(req, id, "start", url.Values{"justification": {"start it now, CHG-1"}}); r.status != http.StatusConflict {
		t.Errorf("the same start again: %d %q", r.status, r.text("main"))
	}
	afterFirst := calls()
	if afterFirst-before != 2 {
		t.Errorf("the filing did not give its read back: %d cloud calls, want 2", afterFirst-before)
	}
	r := e.fileOperation(req, id, "start", url.Values{"justification": {"start it now, CHG-2"}})
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" ||
		!strings.Contains(r.text(`[data-testid=submit-error]`), "submit again from") {
		t.Errorf("a second live read within the interval: %d %q %q", r.status, r.header.Get("Retry-After"), r.text(`[data-testid=submit-error]`))
	}
	if n := calls() - afterFirst; n != 0 {
		t.Errorf("the refused form made %d cloud calls", n)
	}

	// In a freeze, a form is refused before anything reaches the cloud.
	now := time.Now()
	e.freeze(now.Add(-time.Minute), now.Add(24*time.Hour), "storage migration")
	other := e.signedIn("admin@example.com") // a requester too, with no read of the task yet
	beforeFreeze := calls()
	if r := e.fileOperation(other, id, "stop", url.Values{"justification": {"stop it in the freeze"}}); r.status != http.StatusConflict ||
		!strings.Contains(r.text(`[data-testid=submit-error]`), "storage migration") {
		t.Errorf("a form in a freeze: %d %q", r.status, r.text(`[data-testid=submit-error]`))
	}
	if n := calls() - beforeFreeze; n != 0 {
		t.Errorf("a form refused by the freeze made %d cloud calls", n)
	}
}

// TestCreateFormsCannotBurnTheCloudQuota: the create form is checked with
// the cloud only once its own fields are right and no freeze holds, and its
// rejections of a minute are one event and a count.
func TestCreateFormsCannotBurnTheCloudQuota(t *testing.T) {
	e := newEnv(t)
	req := e.signedIn("req@example.com")
	primary, standby := req.formPairExcluding(e.busyClusters()...)
	calls := func() int {
		n := 0
		for _, ev := range e.events(audit.ActionCloudCall) {
			if ev.Actor.Name == "req@example.com" {
				n++
			}
		}
		return n
	}
	before, rejBefore := calls(), len(e.events(audit.ActionCreateRejected))
	bad := validForm(primary, standby)
	bad.Set("justification", "x")
	for range 10 {
		if r := req.post("/dr-tasks", bad); r.status != http.StatusUnprocessableEntity {
			t.Fatalf("a one-character justification: %d", r.status)
		}
	}
	if n := len(e.events(audit.ActionCreateRejected)) - rejBefore; n != 1 {
		t.Errorf("10 rejected create forms in a minute are %d events, want 1", n)
	}
	now := time.Now()
	e.freeze(now.Add(-time.Minute), now.Add(24*time.Hour), "storage migration")
	if r := req.post("/dr-tasks", validForm(primary, standby)); r.status != http.StatusConflict || !strings.Contains(r.text("main"), "storage migration") {
		t.Errorf("a create in a freeze: %d", r.status)
	}
	if n := calls() - before; n != 0 {
		t.Errorf("refused create forms made %d cloud calls", n)
	}
}

// formRejections is how many rejected forms of route are on record: their
// events (the first of a person's minute), the repeats of the closed
// minutes' summaries, and the repeats still being counted.
func (e *env) formRejections(action, route string) int64 {
	e.t.Helper()
	n := int64(len(e.events(action)))
	for _, ev := range e.events(audit.ActionAccessDeniedRepeated) {
		var d struct {
			Route   string `json:"route"`
			Reason  string `json:"reason"`
			Repeats int64  `json:"repeats"`
		}
		if err := json.Unmarshal(ev.Detail, &d); err != nil {
			e.t.Fatal(err)
		}
		if d.Route == route && d.Reason == audit.ReasonFormErrors {
			n += d.Repeats
		}
	}
	var open int64
	if err := e.store.Pool().QueryRow(context.Background(), `SELECT coalesce(sum(count - 1), 0) FROM denied_actions
		WHERE route = $1 AND reason = $2`, route, audit.ReasonFormErrors).Scan(&open); err != nil {
		e.t.Fatal(err)
	}
	return n + open
}
