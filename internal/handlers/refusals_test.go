package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"drportal/internal/audit"
	"drportal/internal/auth"
	"drportal/internal/portal"
)

// startOfMinute moves the request workflow's clock to just after the start
// of a minute, so that a test's burst of refusals falls in one minute.
func (e *env) startOfMinute() {
	now := e.later.Now()
	e.later.Advance(now.Truncate(time.Minute).Add(time.Minute + time.Second).Sub(now))
}

// repeatedOf are the summaries of counted refusals of action.
func (e *env) repeatedOf(action string) []map[string]any {
	e.t.Helper()
	var out []map[string]any
	for _, ev := range e.events(audit.ActionRefusedRepeated) {
		var d map[string]any
		if err := json.Unmarshal(ev.Detail, &d); err != nil {
			e.t.Fatal(err)
		}
		if d["action"] == action {
			out = append(out, d)
		}
	}
	return out
}

// TestAFloodOfRefusedBreakGlassAttemptsIsCountedNotAppended: a responder
// posting the emergency form again and again while break-glass is off, or
// with errors and a reason of 4000 characters, adds one event of each kind
// a minute, not one an attempt; the minute's count is summarised once it
// has closed, and the event keeps at most 200 characters of a typed text.
func TestAFloodOfRefusedBreakGlassAttemptsIsCountedNotAppended(t *testing.T) {
	e := newEnv(t)
	e.addUser("resp@example.com", portal.RoleResponder)
	id := e.createTask("dr_flood1")
	resp := e.signedIn("resp@example.com")
	e.startOfMinute()
	const attempts = 12
	for range attempts {
		if res := e.breakGlass(resp, id, portal.OpStart, e.startForm(id, password)); res.status != http.StatusConflict {
			t.Fatalf("break-glass while it is off: %d %q", res.status, res.text("main"))
		}
	}
	e.breakGlassOn(portal.OpStart)
	long := strings.Repeat("the primary is down ", 200)
	for range attempts {
		form := e.startForm(id, password)
		form.Set("incident", "")
		form.Set("justification", long)
		if res := e.breakGlass(resp, id, portal.OpStart, form); res.status != http.StatusUnprocessableEntity {
			t.Fatalf("an emergency form with errors: %d %q", res.status, res.text("main"))
		}
	}
	refused, rejected := e.events(audit.ActionBreakGlassRefused), e.events(audit.ActionBreakGlassRejected)
	if len(refused) != 1 || !strings.Contains(string(refused[0].Detail), `"reason":"off"`) {
		t.Errorf("%d attempts while break-glass is off are on record as %d events: %+v", attempts, len(refused), refused)
	}
	if len(rejected) != 1 {
		t.Fatalf("%d forms with errors are on record as %d events", attempts, len(rejected))
	}
	var d struct{ Justification string }
	if err := json.Unmarshal(rejected[0].Detail, &d); err != nil || utf8.RuneCountInString(d.Justification) > audit.MaxRefusalText+1 {
		t.Errorf("the form's reason is kept with %d characters", utf8.RuneCountInString(d.Justification))
	}

	// The minute closes: one summary of each kind, with its count.
	e.later.Advance(time.Minute)
	if _, err := e.store.FlushDenials(context.Background(), e.later.Now()); err != nil {
		t.Fatal(err)
	}
	for _, action := range []string{audit.ActionBreakGlassRefused, audit.ActionBreakGlassRejected} {
		got := e.repeatedOf(action)
		if len(got) != 1 || got[0]["count"] != float64(attempts) || got[0]["id"] != id {
			t.Errorf("the summary of %s: %+v", action, got)
		}
	}
	if s := e.auditSummary(audit.ActionRefusedRepeated); !strings.Contains(s, fmt.Sprintf("%d times that minute", attempts)) {
		t.Errorf("the audit page sums it up as %q", s)
	}
}

// TestATypedClusterNameIsNeverOnRecordOnlyWhetherItMatched: a password
// typed by mistake into the field of the cluster's name, on the emergency
// form or on a high-risk operation's form, is not kept by the event of the
// refused form: it records whether the name matched, and its length.
func TestATypedClusterNameIsNeverOnRecordOnlyWhetherItMatched(t *testing.T) {
	e := newEnv(t)
	e.addUser("resp@example.com", portal.RoleResponder)
	id := e.createTask("dr_confirm1")
	e.breakGlassOn(portal.OpStart)
	const typed = "Hunter2-in-the-wrong-box"
	form := e.startForm(id, password)
	form.Set("confirm", typed)
	if res := e.breakGlass(e.signedIn("resp@example.com"), id, portal.OpStart, form); res.status != http.StatusUnprocessableEntity {
		t.Fatalf("the wrong cluster name: %d %q", res.status, res.text("main"))
	}
	got := e.events(audit.ActionBreakGlassRejected)
	want := fmt.Sprintf(`"confirm_length":%d`, len(typed))
	if len(got) != 1 || !strings.Contains(string(got[0].Detail), `"confirm_matches":false`) || !strings.Contains(string(got[0].Detail), want) {
		t.Errorf("the emergency form on record: %+v", got)
	}

	res := e.fileOperation(e.signedIn("req@example.com"), id, "delete", url.Values{"justification": {"decommissioned"}, "confirm": {typed}})
	if res.status != http.StatusUnprocessableEntity {
		t.Fatalf("a delete with the wrong cluster name: %d %q", res.status, res.text("main"))
	}
	got = e.events(audit.ActionOperationRejected)
	if len(got) != 1 || !strings.Contains(string(got[0].Detail), `"confirm_matches":false`) || !strings.Contains(string(got[0].Detail), want) {
		t.Errorf("the operation form on record: %+v", got)
	}
	e.noPasswordOnRecord(typed)
}

// TestAReviewOfARequestThatIsNoEmergencyIsOnRecord: an approver posting a
// review of a request that is not an emergency is answered 404, and the
// refusal is on record (break_glass.review_refused, not-emergency),
// counted like a denial: three in a minute are one event.
func TestAReviewOfARequestThatIsNoEmergencyIsOnRecord(t *testing.T) {
	e := newEnv(t)
	e.addUser("appr@example.com", auth.RoleApprover)
	_, id := e.waitingStart("dr_review404")
	appr := e.signedIn("appr@example.com")
	e.startOfMinute()
	for range 3 {
		if res := e.review(appr, id, "flag", "why was this run?"); res.status != http.StatusNotFound {
			t.Fatalf("a review of a request that is no emergency: %d %q", res.status, res.text("main"))
		}
	}
	got := e.events(audit.ActionBreakGlassReviewRefused)
	if len(got) != 1 || got[0].RequestID != id || got[0].Actor.Name != "appr@example.com" ||
		!strings.Contains(string(got[0].Detail), `"refused":"not-emergency"`) {
		t.Errorf("the refused reviews on record: %+v", got)
	}
}

// TestARejectedOperationOrCreateFormKeepsAtMost200CharactersOfWhatWasTyped:
// an operation form and a create form sent back for text too long keep,
// like the emergency form's, only the first 200 characters of each typed
// text on record (marked as cut), not the thousands posted.
func TestARejectedOperationOrCreateFormKeepsAtMost200CharactersOfWhatWasTyped(t *testing.T) {
	e := newEnv(t)
	id := e.createTask("dr_cut01")
	req := e.signedIn("req@example.com")
	long := strings.Repeat("the primary is down ", 250) // 5000 characters
	kept := func(what, s string) {
		t.Helper()
		if n := utf8.RuneCountInString(s); n > audit.MaxRefusalText+1 || !strings.HasPrefix(long, strings.TrimSuffix(s, "…")) {
			t.Errorf("the %s is kept with %d characters: %.60q…", what, n, s)
		}
	}

	if res := e.fileOperation(req, id, "start", url.Values{"justification": {long}}); res.status != http.StatusUnprocessableEntity {
		t.Fatalf("an operation form with a justification of 5000 characters: %d %q", res.status, res.text("main"))
	}
	ops := e.events(audit.ActionOperationRejected)
	if len(ops) != 1 {
		t.Fatalf("the rejected operation form is %d events, want 1", len(ops))
	}
	var op struct{ Justification string }
	if err := json.Unmarshal(ops[0].Detail, &op); err != nil {
		t.Fatal(err)
	}
	kept("operation form's justification", op.Justification)

	primary, standby := req.formPair()
	form := validForm(primary, standby)
	form.Set("name", long)
	form.Set("justification", long)
	if res := req.post("/dr-tasks", form); res.status != http.StatusUnprocessableEntity {
		t.Fatalf("a create form with a name and a justification of 5000 characters: %d", res.status)
	}
	creates := e.events(audit.ActionCreateRejected)
	if len(creates) != 1 {
		t.Fatalf("the rejected create form is %d events, want 1", len(creates))
	}
	var create struct{ Form map[string]string }
	if err := json.Unmarshal(creates[0].Detail, &create); err != nil {
		t.Fatal(err)
	}
	kept("create form's name", create.Form["name"])
	kept("create form's justification", create.Form["justification"])
}
