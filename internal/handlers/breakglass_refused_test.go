package handlers_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"drportal/internal/audit"
	"drportal/internal/auth"
	"drportal/internal/portal"
)

// auditSummary is the audit page's summary of the latest event of action,
// as an auditor reads it.
func (e *env) auditSummary(action string) string {
	e.t.Helper()
	page := e.signedIn("audit@example.com").get("/audit?action=" + action)
	return strings.TrimSpace(page.doc.Find(`[data-testid=audit-row][data-action="` + action + `"] [data-testid=audit-summary]`).First().Text())
}

// TestABreakGlassFormWithErrorsIsOnRecordAsNotFiled: an emergency form
// that comes back with errors (no incident, a short reason, no password;
// the wrong cluster name) runs nothing and is on record as a break-glass
// not filed, with what was typed and why, in words an auditor reads, and
// never the password.
func TestABreakGlassFormWithErrorsIsOnRecordAsNotFiled(t *testing.T) {
	e := newEnv(t)
	e.addUser("resp@example.com", portal.RoleResponder)
	id := e.createTask("dr_glassnf1")
	e.breakGlassOn(portal.OpStart)
	resp := e.signedIn("resp@example.com")
	before := e.requestsOn(id)

	res := e.breakGlass(resp, id, portal.OpStart, url.Values{"incident": {""}, "justification": {"down"}, "confirm": {"x"}})
	if res.status != http.StatusUnprocessableEntity {
		t.Fatalf("an incomplete emergency form: %d %q", res.status, res.text("main"))
	}
	got := e.events(audit.ActionBreakGlassRejected)
	if len(got) != 1 || got[0].Actor.Name != "resp@example.com" || got[0].Outcome != audit.Denied || got[0].SubjectID != id {
		t.Fatalf("the incomplete form on record: %+v", got)
	}
	for _, want := range []string{`"incident":"Give the incident's reference`, `"password":"Enter your password`, `"justification":"down"`,
		`"operation":"start"`, `"task_name":"dr_glassnf1"`} {
		if !strings.Contains(string(got[0].Detail), want) {
			t.Errorf("the record of the incomplete form lacks %s: %s", want, got[0].Detail)
		}
	}
	if s := e.auditSummary(audit.ActionBreakGlassRejected); !strings.HasPrefix(s, "Break-glass start not filed: ") ||
		!strings.Contains(s, "Give the incident's reference") || !strings.Contains(s, "Enter your password") {
		t.Errorf("the audit page sums it up as %q", s)
	}

	// Complete, with the right password, but the wrong cluster's name, a
	// minute later (within the minute it would only be counted).
	e.later.Advance(time.Minute)
	form := e.startForm(id, password)
	form.Set("confirm", "not-the-standby")
	if res := e.breakGlass(resp, id, portal.OpStart, form); res.status != http.StatusUnprocessableEntity ||
		!strings.Contains(res.text("main"), "Type the name of the affected cluster") {
		t.Fatalf("the wrong cluster name: %d %q", res.status, res.text("main"))
	}
	got = e.events(audit.ActionBreakGlassRejected)
	if len(got) != 2 || strings.Contains(string(got[1].Detail), "not-the-standby") || !strings.Contains(string(got[1].Detail), `"confirm_matches":false`) ||
		!strings.Contains(string(got[1].Detail), "Type the name of the affected cluster") || !strings.Contains(string(got[1].Detail), `"incident":"INC-1234"`) {
		t.Fatalf("the wrong cluster name on record: %+v", got)
	}
	if n := len(e.events(audit.ActionOperationRejected)); n != 0 {
		t.Errorf("the emergency form is on record %d times more, as an operation not filed", n)
	}
	if n := e.requestsOn(id) - before; n != 0 {
		t.Errorf("%d requests filed by forms with errors", n)
	}
	e.noPasswordOnRecord(password)
}

// TestARefusedReviewOfAnEmergencyIsOnRecord: a review that is not recorded,
// because its approver reviewed the emergency already, because the
// emergency has its two reviews, or because the form had errors, is on
// record as a refused review with why, in words an auditor reads.
func TestARefusedReviewOfAnEmergencyIsOnRecord(t *testing.T) {
	e := newEnv(t)
	e.addUser("resp@example.com", portal.RoleResponder)
	for _, a := range []string{"appr1@example.com", "appr2@example.com", "appr3@example.com"} {
		e.addUser(a, auth.RoleApprover)
	}
	id := e.createTask("dr_glassnf2")
	e.breakGlassOn(portal.OpStart)
	rid := e.emergencyStart(e.signedIn("resp@example.com"), id)
	a1, a2, a3 := e.signedIn("appr1@example.com"), e.signedIn("appr2@example.com"), e.signedIn("appr3@example.com")

	refused := func(b *browser, verdict, comment string, status int, why string) {
		t.Helper()
		n := len(e.events(audit.ActionBreakGlassReviewRefused))
		if res := e.review(b, rid, verdict, comment); res.status != status {
			t.Fatalf("%s: %d, want %d: %q", why, res.status, status, res.text("main"))
		}
		got := e.events(audit.ActionBreakGlassReviewRefused)
		if len(got) != n+1 {
			t.Fatalf("%s: not on record (%d refused reviews)", why, len(got))
		}
		last := got[len(got)-1]
		if last.RequestID != rid || last.Outcome != audit.Denied || !strings.Contains(string(last.Detail), why) ||
			!strings.Contains(string(last.Detail), `"incident":"INC-1234"`) {
			t.Errorf("%s on record as %s %s", why, last.Outcome, last.Detail)
		}
	}
	refused(a1, "acknowledge", "  ", http.StatusUnprocessableEntity, "Say what you found")
	if res := e.review(a1, rid, "acknowledge", "site was down, right call"); res.status != http.StatusSeeOther {
		t.Fatalf("first review: %d %q", res.status, res.text("main"))
	}
	refused(a1, "flag", "on second thoughts", http.StatusConflict, "You reviewed it already")
	if res := e.review(a2, rid, "acknowledge", "agreed with the first review"); res.status != http.StatusSeeOther {
		t.Fatalf("second review: %d %q", res.status, res.text("main"))
	}
	refused(a3, "flag", "too late to look?", http.StatusConflict, "The review of this emergency is complete")
	if s := e.auditSummary(audit.ActionBreakGlassReviewRefused); s != "Flag of the emergency of incident INC-1234 not recorded: "+
		"The review of this emergency is complete. Nothing was changed." {
		t.Errorf("the audit page sums it up as %q", s)
	}
	if n := len(e.events(audit.ActionBreakGlassReview)); n != 2 {
		t.Errorf("%d reviews on record; want the two that were made", n)
	}
	// The request's own history shows it too.
	if tl := a3.get(fmt.Sprintf("/requests/%d", rid)).doc.Find(`[data-action="` + audit.ActionBreakGlassReviewRefused + `"]`).Length(); tl == 0 {
		t.Error("the request's history does not show the refused review")
	}
}

// TestAPasswordTypedAsTheIncidentIsNotOnRecordOnlyItsLength: an emergency
// form whose incident field holds no incident's reference (a password
// typed into the wrong field) is on record with that field's length only;
// a reference of the right form is kept as typed.
func TestAPasswordTypedAsTheIncidentIsNotOnRecordOnlyItsLength(t *testing.T) {
	e := newEnv(t)
	e.addUser("resp@example.com", portal.RoleResponder)
	id := e.createTask("dr_glassinc1")
	e.breakGlassOn(portal.OpStart)
	resp := e.signedIn("resp@example.com")
	form := e.startForm(id, password)
	form.Set("incident", password)
	if res := e.breakGlass(resp, id, portal.OpStart, form); res.status != http.StatusUnprocessableEntity {
		t.Fatalf("a password as the incident: %d %q", res.status, res.text("main"))
	}
	got := e.events(audit.ActionBreakGlassRejected)
	want := fmt.Sprintf(`"incident_length":%d`, len(password))
	if len(got) != 1 {
		t.Fatalf("the form is %d events, want 1", len(got))
	}
	var d map[string]any
	if err := json.Unmarshal(got[0].Detail, &d); err != nil {
		t.Fatal(err)
	}
	if _, kept := d["incident"]; kept || !strings.Contains(string(got[0].Detail), want) {
		t.Errorf("the form on record: %s", got[0].Detail)
	}
	e.noPasswordOnRecord(password)

	// A reference of the right form, with another error, is kept.
	e.later.Advance(time.Minute)
	form = e.startForm(id, password)
	form.Set("confirm", "not-the-standby")
	if res := e.breakGlass(resp, id, portal.OpStart, form); res.status != http.StatusUnprocessableEntity {
		t.Fatalf("the wrong cluster name: %d %q", res.status, res.text("main"))
	}
	if got = e.events(audit.ActionBreakGlassRejected); len(got) != 2 || !strings.Contains(string(got[1].Detail), `"incident":"INC-1234"`) {
		t.Errorf("the second form on record: %d events, the last %s", len(got), got[len(got)-1].Detail)
	}
}
