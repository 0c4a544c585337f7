package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"drportal/internal/audit"
	"drportal/internal/auth"
	"drportal/internal/db"
	"drportal/internal/portal"
)

// breakGlassOn sets the break-glass policy as if two admins had agreed.
func (e *env) breakGlassOn(ops ...portal.Operation) {
	e.t.Helper()
	err := e.store.InTx(context.Background(), func(tx *db.Tx) error {
		_, err := tx.InsertBreakGlassPolicy(context.Background(), portal.BreakGlassPolicy{Enabled: true, Operations: ops,
			ReviewDays: 3, CreatedAt: time.Now()})
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// breakGlass posts the emergency form of op on task id.
func (e *env) breakGlass(b *browser, id string, op portal.Operation, form url.Values) response {
	e.t.Helper()
	form.Set("_csrf", b.csrf("/dr-tasks/"+id))
	return b.postRaw(fmt.Sprintf("/dr-tasks/%s/break-glass/%s", id, op), form)
}

// startForm is a complete emergency start of task id (its standby's name
// typed), with pw as the password.
func (e *env) startForm(id, pw string) url.Values {
	e.t.Helper()
	r, err := e.store.Task(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return url.Values{"incident": {"INC-1234"}, "justification": {"primary site lost power at 02:10"},
		"confirm": {r.StandbyClusterName}, "password": {pw}}
}

// emergencyStart has responder b break glass to start task id and waits
// until the emergency ran; it returns the emergency's request id.
func (e *env) emergencyStart(b *browser, id string) int64 {
	e.t.Helper()
	rid := requestIDFrom(e.t, e.breakGlass(b, id, portal.OpStart, e.startForm(id, password)))
	if r := e.waitRequest(rid, portal.StatusSucceeded, portal.StatusFailed); r.Status != portal.StatusSucceeded {
		e.t.Fatalf("emergency start: %s (%s)", r.Status, r.Outcome)
	}
	return rid
}

// review posts approver b's review of emergency rid.
func (e *env) review(b *browser, rid int64, verdict, comment string) response {
	e.t.Helper()
	return b.post(fmt.Sprintf("/requests/%d/review", rid), url.Values{"verdict": {verdict}, "comment": {comment}})
}

// clearFlag posts b's clearing of the flag of emergency rid, from the
// admins' page (or, for someone who may not see it, the task list).
func (e *env) clearFlag(b *browser, page string, rid int64, form url.Values) response {
	e.t.Helper()
	form.Set("_csrf", b.csrf(page))
	return b.postRaw(fmt.Sprintf("/admin/break-glass/%d/clear", rid), form)
}

// mayBreakGlass reports whether the emergency switchover form of task id
// (running after an emergency start) is offered to b, and otherwise what
// the page says.
func mayBreakGlass(b *browser, id string) (bool, string) {
	res := b.get("/dr-tasks/" + id + "/break-glass/switchover")
	return res.status == http.StatusOK && res.doc.Find(`[data-testid=break-glass-form]`).Length() == 1 &&
		res.doc.Find(`[data-testid=break-glass-refused]`).Length() == 0, fmt.Sprintf("%d %s", res.status, res.text("main"))
}

func (e *env) requestsOn(id string) int {
	e.t.Helper()
	var n int
	if err := e.store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM requests WHERE dr_task_id = $1`, id).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// noPasswordOnRecord fails when the password typed appears in any audit event.
func (e *env) noPasswordOnRecord(pw string) {
	e.t.Helper()
	var n int
	if err := e.store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM audit_events WHERE detail LIKE '%' || $1 || '%'`, pw).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	if n != 0 {
		e.t.Errorf("the password is in %d audit events", n)
	}
}

// TestAResponderBreaksGlassAloneEveryoneIsToldAndTwoApproversReview: a
// responder starts a task alone; the request is approved without approvals
// and runs; every approver and admin is told (webhook, banner); it is
// marked as an emergency where it is listed; a second break-glass waits for
// the review, which two approvers (not the responder) complete; then the
// banner goes, and as one of them flagged it, the responder stays barred.
func TestAResponderBreaksGlassAloneEveryoneIsToldAndTwoApproversReview(t *testing.T) {
	e := newEnv(t)
	e.addUser("resp@example.com", portal.RoleResponder)
	e.addUser("appr1@example.com", auth.RoleApprover)
	e.addUser("appr2@example.com", auth.RoleApprover)
	id := e.createTask("dr_glass01")
	e.breakGlassOn(portal.OpStart, portal.OpFailover)
	resp := e.signedIn("resp@example.com")

	task := resp.get("/dr-tasks/" + id)
	if task.attr(`[data-testid=break-glass-start]`, "href") != "/dr-tasks/"+id+"/break-glass/start" {
		t.Fatalf("the task page offers the responder no break-glass start: %s", task.text(`[data-testid=break-glass-ops]`))
	}
	form := resp.get("/dr-tasks/" + id + "/break-glass/start")
	if form.status != http.StatusOK || form.doc.Find(`[data-testid=break-glass-form] input[name=password]`).Length() != 1 {
		t.Fatalf("break-glass form: %d %s", form.status, form.text("main"))
	}
	res := e.breakGlass(resp, id, portal.OpStart, e.startForm(id, password))
	rid := requestIDFrom(t, res)
	r := e.waitRequest(rid, portal.StatusSucceeded, portal.StatusFailed)
	if r.Status != portal.StatusSucceeded || !r.BypassesPolicy() || r.Incident != "INC-1234" {
		t.Fatalf("emergency request: %s (%s), incident %q", r.Status, r.Outcome, r.Incident)
	}
	if approvals, _ := e.store.Approvals(context.Background(), rid); len(approvals) != 0 {
		t.Errorf("it ran with %d approvals; want none", len(approvals))
	}
	e.hooks.received(t, "request.break_glass", rid)

	bypass := e.events(audit.ActionBreakGlass)
	if len(bypass) != 1 || bypass[0].Outcome != audit.Bypassed || bypass[0].RequestID != rid || bypass[0].Actor.Name != "resp@example.com" ||
		!strings.Contains(string(bypass[0].Detail), `"incident":"INC-1234"`) || !strings.Contains(string(bypass[0].Detail), "primary site lost power") {
		t.Errorf("the bypass is not on record as such: %+v", bypass)
	}
	e.noPasswordOnRecord(password)

	// Everyone signed in sees the banner; the lists mark the emergency.
	auditor := e.signedIn("audit@example.com")
	page := auditor.get("/audit")
	if note := page.text(`[data-testid=emergency-note]`); !strings.Contains(note, "resp@example.com") || !strings.Contains(note, "INC-1234") ||
		!strings.Contains(note, "dr_glass01") || page.attr(`[data-testid=emergency-link]`, "href") != fmt.Sprintf("/requests/%d", rid) {
		t.Errorf("banner %q", note)
	}
	list := auditor.get("/requests?tab=all")
	if got := list.doc.Find(fmt.Sprintf(`[data-testid=request-row][data-id="%d"] [data-testid=emergency-badge]`, rid)).Text(); !strings.Contains(got, "INC-1234") {
		t.Errorf("the request list does not mark the emergency: %q", got)
	}
	if rp := auditor.get(fmt.Sprintf("/requests/%d", rid)); !strings.Contains(rp.text(`[data-testid=request-card] [data-testid=emergency-badge]`), "Emergency") {
		got := rp.body
		t.Errorf("the request page does not mark the emergency: %q", got)
	}

	// A second break-glass waits for the review of the first.
	res = e.breakGlass(resp, id, portal.OpFailover, url.Values{"incident": {"INC-1235"}, "justification": {"still broken, fail over"},
		"confirm": {"x"}, "password": {password}})
	if res.status != http.StatusConflict || !strings.Contains(res.text(`[data-testid=break-glass-refused]`), fmt.Sprintf("request #%d", rid)) {
		t.Errorf("a second break-glass before the review: %d %q", res.status, res.text("main"))
	}
	if refused := e.events(audit.ActionBreakGlassRefused); len(refused) != 1 || refused[0].Outcome != audit.Denied ||
		!strings.Contains(string(refused[0].Detail), `"reason":"unreviewed"`) {
		t.Errorf("the refusal is not on record: %+v", refused)
	}

	// The responder cannot review their own emergency, even as an approver.
	review := func(b *browser, verdict, comment string) response {
		return b.post(fmt.Sprintf("/requests/%d/review", rid), url.Values{"verdict": {verdict}, "comment": {comment}})
	}
	if res := review(resp, "acknowledge", "fine by me, the site was down"); res.status != http.StatusForbidden {
		t.Errorf("the responder reviewing: %d", res.status)
	}
	a1, a2 := e.signedIn("appr1@example.com"), e.signedIn("appr2@example.com")
	if res := review(a1, "acknowledge", ""); res.status != http.StatusUnprocessableEntity || res.text(`[data-testid=review-error]`) == "" {
		t.Errorf("a review without a comment: %d %q", res.status, res.text(`[data-testid=review-error]`))
	}
	if res := review(a1, "acknowledge", "site was down, right call"); res.status != http.StatusSeeOther {
		t.Fatalf("first review: %d %s", res.status, res.text("main"))
	}
	if res := review(a1, "flag", "again, on second thought"); res.status != http.StatusConflict {
		t.Errorf("a second review by the same approver: %d", res.status)
	}
	if auditor.get("/dr-tasks").doc.Find(`[data-testid=emergency-note]`).Length() != 1 {
		t.Error("the banner went after one review")
	}
	if res := review(a2, "flag", "the incident ticket was opened after the start"); res.status != http.StatusSeeOther {
		t.Fatalf("second review: %d %s", res.status, res.text("main"))
	}
	if n := auditor.get("/dr-tasks").doc.Find(`[data-testid=emergency-banner]`).Length(); n != 0 {
		t.Error("the banner stays after the review is complete")
	}
	if reviews := e.events(audit.ActionBreakGlassReview); len(reviews) != 2 || !strings.Contains(string(reviews[1].Detail), `"review_complete":true`) {
		t.Errorf("reviews on record: %+v", reviews)
	}
	e.hooks.received(t, "request.break_glass_reviewed", rid)
	admin := e.signedIn("admin@example.com")
	flagged := admin.get("/admin/break-glass").text(`[data-testid=emergencies-flagged]`)
	if !strings.Contains(flagged, "the incident ticket was opened after the start") {
		t.Errorf("admins do not see the flag: %q", flagged)
	}
	// The review flagged it: the responder stays barred until an admin
	// clears the flag (TestAFlaggedEmergencyBarsItsResponderUntilAnAdminClearsTheFlag).
	got := e.breakGlass(resp, id, portal.OpFailover, url.Values{"incident": {"INC-1236"}, "justification": {"still broken, fail over"},
		"confirm": {"x"}, "password": {password}})
	if got.status != http.StatusConflict || !strings.Contains(got.text(`[data-testid=break-glass-refused]`),
		fmt.Sprintf("Your emergency #%d was flagged in review; an admin must clear it", rid)) {
		t.Errorf("after a flagged review the responder is not barred: %d %q", got.status, got.text("main"))
	}
}

// TestBreakGlassIsRefusedToANonResponder: a requester (or an approver) is
// refused the form and the post, audited as a denied action, and nothing
// is filed.
func TestBreakGlassIsRefusedToANonResponder(t *testing.T) {
	e := newEnv(t)
	id := e.createTask("dr_glass02")
	e.breakGlassOn(portal.OpStart)
	req := e.signedIn("req@example.com")
	before := e.requestsOn(id)
	if res := req.get("/dr-tasks/" + id + "/break-glass/start"); res.status != http.StatusForbidden {
		t.Errorf("form for a requester: %d", res.status)
	}
	if res := e.breakGlass(req, id, portal.OpStart, e.startForm(id, password)); res.status != http.StatusForbidden {
		t.Errorf("post by a requester: %d", res.status)
	}
	if n := e.requestsOn(id); n != before {
		t.Errorf("%d requests filed", n-before)
	}
	denied := e.events(audit.ActionAccessDenied)
	found := false
	for _, d := range denied {
		found = found || (d.Actor.Name == "req@example.com" && strings.Contains(string(d.Detail), `"route":"/dr-tasks/:id/break-glass/:op"`) &&
			strings.Contains(string(d.Detail), `"reason":"role"`))
	}
	if !found {
		t.Errorf("the refusal is not audited: %+v", denied)
	}
	if len(e.events(audit.ActionBreakGlass)) != 0 {
		t.Error("a bypass is on record")
	}
}

// TestBreakGlassTurnedOffIsRefused: with break-glass off (as it starts),
// the form says so and the server refuses, audited, filing nothing.
func TestBreakGlassTurnedOffIsRefused(t *testing.T) {
	e := newEnv(t)
	e.addUser("resp@example.com", portal.RoleResponder)
	id := e.createTask("dr_glass03")
	resp := e.signedIn("resp@example.com")
	if task := resp.get("/dr-tasks/" + id); task.doc.Find(`[data-testid=break-glass-ops]`).Length() != 0 {
		t.Error("the task page offers break-glass while it is off")
	}
	form := resp.get("/dr-tasks/" + id + "/break-glass/start")
	if !strings.Contains(form.text(`[data-testid=break-glass-refused]`), "turned off") || form.doc.Find(`[data-testid=break-glass-form]`).Length() != 0 {
		t.Errorf("the form does not say break-glass is off: %q", form.text("main"))
	}
	before := e.requestsOn(id)
	res := e.breakGlass(resp, id, portal.OpStart, e.startForm(id, password))
	if res.status != http.StatusConflict || !strings.Contains(res.text(`[data-testid=break-glass-refused]`), "turned off") {
		t.Errorf("post while off: %d %q", res.status, res.text("main"))
	}
	if n := e.requestsOn(id); n != before {
		t.Errorf("%d requests filed", n-before)
	}
	if refused := e.events(audit.ActionBreakGlassRefused); len(refused) != 1 || !strings.Contains(string(refused[0].Detail), `"reason":"off"`) {
		t.Errorf("refusal on record: %+v", refused)
	}
}

// TestBreakGlassRefusesAnOperationThePolicyDoesNotAllow: a policy that
// allows failover only refuses a start, audited.
func TestBreakGlassRefusesAnOperationThePolicyDoesNotAllow(t *testing.T) {
	e := newEnv(t)
	e.addUser("resp@example.com", portal.RoleResponder)
	id := e.createTask("dr_glass04")
	e.breakGlassOn(portal.OpFailover)
	resp := e.signedIn("resp@example.com")
	before := e.requestsOn(id)
	res := e.breakGlass(resp, id, portal.OpStart, e.startForm(id, password))
	if res.status != http.StatusConflict || !strings.Contains(res.text(`[data-testid=break-glass-refused]`), "does not allow a start") {
		t.Errorf("start under a failover-only policy: %d %q", res.status, res.text("main"))
	}
	if n := e.requestsOn(id); n != before {
		t.Errorf("%d requests filed", n-before)
	}
	if refused := e.events(audit.ActionBreakGlassRefused); len(refused) != 1 || !strings.Contains(string(refused[0].Detail), `"reason":"operation"`) {
		t.Errorf("refusal on record: %+v", refused)
	}
}

// TestAWrongPasswordIsRefusedAndThrottled: a wrong password shows the form
// again, with what was typed (the cluster's name too, never the password),
// files nothing and is audited; after the free tries even the right
// password waits; a bad incident reference is a field error.
func TestAWrongPasswordIsRefusedAndThrottled(t *testing.T) {
	e := newEnv(t, withAuth(func(s *auth.Service) { s.Throttle.FirstDelay = 10 * time.Minute }))
	e.addUser("resp@example.com", portal.RoleResponder)
	id := e.createTask("dr_glass05")
	e.breakGlassOn(portal.OpStart)
	resp := e.signedIn("resp@example.com")
	before := e.requestsOn(id)

	bad := e.startForm(id, password)
	bad.Set("incident", "call me maybe")
	if res := e.breakGlass(resp, id, portal.OpStart, bad); res.status != http.StatusUnprocessableEntity ||
		!strings.Contains(res.text(`#incident-error`), "INC-1234") {
		t.Errorf("a bad incident reference: %d %q", res.status, res.text(`#incident-error`))
	}
	for i := range auth.MaxWrongCurrentPasswords {
		form := e.startForm(id, "not my password")
		res := e.breakGlass(resp, id, portal.OpStart, form)
		if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.text(`#password-error`), "not your password") {
			t.Fatalf("wrong password %d: %d %q", i+1, res.status, res.text("main"))
		}
		// What was typed is kept, the cluster's name too; never the password.
		if got := res.attr(`#confirm`, "value"); got != form.Get("confirm") || res.attr(`#password`, "value") != "" {
			t.Errorf("wrong password %d: the form came back with the cluster name %q (typed %q)", i+1, got, form.Get("confirm"))
		}
	}
	if failed := e.events(audit.ActionBreakGlassRefused); len(failed) != auth.MaxWrongCurrentPasswords || failed[0].Outcome != audit.Failure {
		t.Errorf("%d wrong passwords on record: %+v", len(failed), failed)
	}
	res := e.breakGlass(resp, id, portal.OpStart, e.startForm(id, password))
	if res.status != http.StatusTooManyRequests || !strings.Contains(res.text(`[data-testid=submit-error]`), "Too many wrong passwords") {
		t.Errorf("the right password while throttled: %d %q", res.status, res.text("main"))
	}
	// As docs/outage-mode.md says: each wrong password is its own event,
	// like a wrong step-up password, and the throttle bounds them; of the
	// attempts made while it waits only the first is on record.
	for range 3 {
		if res := e.breakGlass(resp, id, portal.OpStart, e.startForm(id, "not my password")); res.status != http.StatusTooManyRequests {
			t.Errorf("a password while throttled: %d", res.status)
		}
	}
	if got := e.events(audit.ActionBreakGlassRefused); len(got) != auth.MaxWrongCurrentPasswords+1 ||
		got[len(got)-1].Outcome != audit.Denied || !strings.Contains(string(got[len(got)-1].Detail), `"reason":"throttled"`) {
		t.Errorf("%d wrong passwords and 4 attempts while throttled are %d events", auth.MaxWrongCurrentPasswords, len(got))
	}
	if n := e.requestsOn(id); n != before {
		t.Errorf("%d requests filed", n-before)
	}
	e.noPasswordOnRecord("not my password")
	// Once the wait is over, the right password goes through.
	e.signInClock.Advance(time.Hour)
	requestIDFrom(t, e.breakGlass(resp, id, portal.OpStart, e.startForm(id, password)))
}

// TestTurningBreakGlassOnWaitsForASecondAdminAndOffIsAtOnce: widening
// break-glass is a change a second admin approves; turning it off takes
// effect at once, from one admin, and withdraws a widening that waits.
func TestTurningBreakGlassOnWaitsForASecondAdminAndOffIsAtOnce(t *testing.T) {
	e := newEnv(t)
	e.addUser("admin2@example.com", auth.RoleAdmin)
	a1, a2 := e.signedIn("admin@example.com"), e.signedIn("admin2@example.com")
	current := func() portal.BreakGlassPolicy {
		p, err := e.store.BreakGlassPolicy(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	on := url.Values{"enabled": {"on"}, "operations": {"failover", "start"}, "review_days": {"5"}}
	if res := a1.post("/admin/break-glass", on); res.status != http.StatusSeeOther {
		t.Fatalf("propose: %d %s", res.status, res.text("main"))
	}
	if current().Enabled {
		t.Fatal("turning break-glass on took effect with one admin")
	}
	change := a2.get("/admin/break-glass").attr(`[data-testid=admin-change]`, "data-change")
	if change == "" {
		t.Fatal("the second admin does not see the change")
	}
	if res := a1.post("/admin/changes/"+change+"/approve", url.Values{}); res.status != http.StatusForbidden {
		t.Errorf("the proposer approving: %d", res.status)
	}
	if res := a2.post("/admin/changes/"+change+"/approve", url.Values{}); res.status != http.StatusSeeOther {
		t.Fatalf("approve: %d %s", res.status, res.text("main"))
	}
	if p := current(); !p.Enabled || p.ReviewDays != 5 || len(p.Operations) != 2 || p.ApprovedBy == 0 {
		t.Errorf("after approval: %+v", p)
	}
	// Widening again waits; turning off is at once and ends the wait.
	if res := a1.post("/admin/break-glass", url.Values{"enabled": {"on"}, "operations": {"failover", "start", "recovery"}, "review_days": {"5"}}); res.status != http.StatusSeeOther {
		t.Fatalf("widen: %d", res.status)
	}
	if res := a2.post("/admin/break-glass", url.Values{"operations": {"failover"}, "review_days": {"5"}}); res.status != http.StatusSeeOther {
		t.Fatalf("turn off: %d %s", res.status, res.text("main"))
	}
	if p := current(); p.Enabled {
		t.Error("turning break-glass off did not take effect at once")
	}
	if cs, _ := e.store.PendingAdminChanges(context.Background()); len(cs) != 0 {
		t.Errorf("a widening still waits after break-glass was turned off: %+v", cs)
	}
	if res := a1.post("/admin/break-glass", url.Values{"enabled": {"on"}, "review_days": {"5"}}); res.status != http.StatusUnprocessableEntity ||
		res.text(`[data-testid=error-operations]`) == "" {
		t.Errorf("on without operations: %d", res.status)
	}
	if got := len(e.events(audit.ActionBreakGlassPolicy)); got != 2 {
		t.Errorf("%d settings changes on record, want 2", got)
	}
}

// Break-glass settings are part of the approval policy: proposing them and
// deciding on a proposal need the password entered in the last 5 minutes,
// on the break-glass page itself.
func TestBreakGlassSettingsNeedThePasswordEnteredRecently(t *testing.T) {
	e := newEnv(t)
	e.addUser("admin2@example.com", auth.RoleAdmin)
	a1, a2 := e.signedIn("admin@example.com"), e.signedIn("admin2@example.com")
	e.signInClock.Advance(6 * time.Minute)
	page := a1.get("/admin/break-glass")
	if page.doc.Find(`[data-testid=break-glass-settings] input[name=step_up_password]`).Length() != 1 {
		t.Fatal("the settings form asks for no password 6 minutes after signing in")
	}
	on := url.Values{"enabled": {"on"}, "operations": {"failover"}, "review_days": {"5"}}
	if res := a1.post("/admin/break-glass", on); res.status != http.StatusForbidden || !strings.Contains(res.text("main"), "needs your password again") {
		t.Fatalf("settings without the password: %d %q", res.status, res.text("main"))
	}
	if changes, err := e.store.PendingAdminChanges(context.Background()); err != nil || len(changes) != 0 {
		t.Fatalf("a proposal without the password was stored: %d changes wait (%v)", len(changes), err)
	}
	on.Set("step_up_password", password)
	if res := a1.post("/admin/break-glass", on); res.status != http.StatusSeeOther {
		t.Fatalf("settings with the password: %d %q", res.status, res.text("main"))
	}
	change := a2.get("/admin/break-glass").attr(`[data-testid=admin-change]`, "data-change")
	res := a2.post("/admin/changes/"+change+"/approve", url.Values{})
	if res.status != http.StatusForbidden || res.doc.Find(`[data-testid=break-glass-settings]`).Length() != 1 {
		t.Fatalf("approving without the password: %d, shown on the break-glass page: %v", res.status, res.doc.Find(`[data-testid=break-glass-settings]`).Length() == 1)
	}
	if p, err := e.store.BreakGlassPolicy(context.Background()); err != nil || p.Enabled {
		t.Fatalf("approved without the password: %+v %v", p, err)
	}
	if res := a2.post("/admin/changes/"+change+"/approve", url.Values{"step_up_password": {password}}); res.status != http.StatusSeeOther {
		t.Fatalf("approving with the password: %d %q", res.status, res.text("main"))
	}
	if p, err := e.store.BreakGlassPolicy(context.Background()); err != nil || !p.Enabled {
		t.Fatalf("not in effect after approval with the password: %+v %v", p, err)
	}
}

// A freeze blocks everything but break-glass: a responder's emergency runs
// through the freeze (filing and the executor's re-check let it pass),
// while the same operation filed the ordinary way is refused.
func TestAFreezeBlocksEverythingButBreakGlass(t *testing.T) {
	e := newEnv(t)
	e.addUser("resp@example.com", portal.RoleResponder)
	id := e.createTask("dr_frozen01")
	e.breakGlassOn(portal.OpStart)
	now := time.Now()
	e.freeze(now.Add(-time.Minute), now.Add(24*time.Hour), "storage migration")
	before := e.requestsOn(id) // its create
	req := e.signedIn("req@example.com")
	res := req.post("/dr-tasks/"+id+"/operations/start", url.Values{"justification": {"start it during the freeze"}})
	if res.status < 400 || !strings.Contains(res.text("main"), "storage migration") {
		t.Fatalf("an ordinary start during a freeze: %d %q", res.status, res.text("main"))
	}
	if n := e.requestsOn(id) - before; n != 0 {
		t.Fatalf("%d requests filed on the task during the freeze", n)
	}
	if rejected := e.events(audit.ActionOperationRejected); len(rejected) != 1 || !strings.Contains(string(rejected[0].Detail), "storage migration") {
		t.Errorf("the refusal in the freeze is not on record: %+v", rejected)
	}
	resp := e.signedIn("resp@example.com")
	rid := requestIDFrom(t, e.breakGlass(resp, id, portal.OpStart, e.startForm(id, password)))
	if r := e.waitRequest(rid, portal.StatusSucceeded, portal.StatusFailed); r.Status != portal.StatusSucceeded {
		t.Fatalf("the emergency start during the freeze: %s (%s)", r.Status, r.Outcome)
	}
	if deferred := e.events(audit.ActionRequestDeferred); len(deferred) != 0 {
		t.Errorf("the emergency was deferred by the freeze: %+v", deferred)
	}
}

// An approved request that has not started (waiting for its change window,
// or a drill scheduled for later) does not hold a task against an
// emergency: break-glass supersedes it, audited, and runs.
func TestBreakGlassSupersedesAnApprovedRequestThatHasNotStarted(t *testing.T) {
	e := newEnv(t)
	e.addUser("resp@example.com", portal.RoleResponder)
	id := e.createTask("dr_waiting01")
	e.breakGlassOn(portal.OpStart)
	ctx := context.Background()
	now := time.Now().UTC()
	other := (now.Weekday() + 3) % 7
	err := e.store.InTx(ctx, func(tx *db.Tx) error {
		admin, err := tx.UserByEmail(ctx, "admin@example.com")
		if err != nil {
			return err
		}
		_, err = tx.InsertWindow(ctx, portal.Window{Operation: portal.OpStart, Days: portal.Weekdays(1) << other, Start: 120, End: 180, Zone: "UTC"}, admin.ID, now)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	req, admin := e.signedIn("req@example.com"), e.signedIn("admin@example.com")
	waiting := requestIDFrom(t, e.fileOperation(req, id, "start", url.Values{"justification": {"start it in the window"}}))
	if res := e.decide(admin, waiting, "approve", ""); res.status != http.StatusSeeOther {
		t.Fatalf("approve: %d %s", res.status, res.text("main"))
	}
	if r, err := e.store.Request(ctx, waiting); err != nil || r.Status != portal.StatusApproved {
		t.Fatalf("the start outside its window: %s %v; want approved and waiting", r.Status, err)
	}

	resp := e.signedIn("resp@example.com")
	if page := resp.get("/dr-tasks/" + id); page.attr(`[data-testid=break-glass-start]`, "href") == "" {
		t.Fatalf("the task page offers no break-glass while an approved request waits: %s", page.text("main"))
	}
	res := e.breakGlass(resp, id, portal.OpStart, e.startForm(id, password))
	if res.status != http.StatusSeeOther {
		t.Fatalf("break-glass with an approved request waiting: %d %q", res.status, res.text("main"))
	}
	emergency := requestIDFrom(t, res)
	if r := e.waitRequest(emergency, portal.StatusSucceeded, portal.StatusFailed); r.Status != portal.StatusSucceeded {
		t.Fatalf("the emergency start: %s (%s)", r.Status, r.Outcome)
	}
	if got := admin.get(fmt.Sprintf("/requests/%d", emergency)).text(`[data-testid=approvals-summary]`); !strings.Contains(got, "break-glass bypassed") {
		t.Errorf("the emergency's approvals read %q", got)
	}
	old, err := e.store.Request(ctx, waiting)
	if err != nil || old.Status != portal.StatusFailed || !strings.Contains(old.Outcome, fmt.Sprintf("Superseded by emergency request #%d", emergency)) ||
		old.CallAttempts != 0 {
		t.Fatalf("the waiting request after the emergency: %s %q, %d calls (%v)", old.Status, old.Outcome, old.CallAttempts, err)
	}
	found := false
	for _, ev := range e.events(audit.ActionRequestFailed) {
		if ev.RequestID == waiting && strings.Contains(string(ev.Detail), fmt.Sprintf(`"superseded_by":%d`, emergency)) {
			found = true
		}
	}
	if !found {
		t.Error("the superseding is not on record")
	}
}

// A wrong break-glass password is refused before anything reaches the
// cloud: a taken session cannot make the portal call DWS again and again.
func TestAWrongBreakGlassPasswordCallsNoCloud(t *testing.T) {
	e := newEnv(t)
	e.addUser("resp@example.com", portal.RoleResponder)
	id := e.createTask("dr_nocall01")
	e.breakGlassOn(portal.OpStart)
	resp := e.signedIn("resp@example.com")
	form := e.startForm(id, "not the password at all")
	if res := e.breakGlass(resp, id, portal.OpStart, form); res.status != http.StatusUnprocessableEntity {
		t.Fatalf("a wrong password: %d", res.status)
	}
	// The poller reads tasks meanwhile; a call made for the responder's
	// form is on record as theirs.
	for _, ev := range e.events(audit.ActionCloudCall) {
		if ev.Actor.Name == "resp@example.com" {
			t.Errorf("a wrong password made a cloud call: %s", ev.Detail)
		}
	}
}

// A request executing on the task is never interrupted: break-glass is
// refused with its number, and the refusal is on record.
func TestBreakGlassWaitsForARequestThatExecutes(t *testing.T) {
	e := newEnv(t)
	e.addUser("resp@example.com", portal.RoleResponder)
	id := e.createTask("dr_running01")
	e.breakGlassOn(portal.OpStart)
	ctx := context.Background()
	// A start in mid-call, as the executor leaves it while it follows.
	var running int64
	err := e.store.Pool().QueryRow(ctx, `UPDATE requests SET status = 'executing', started_at = now(), call_state = 'accepted'
		WHERE dr_task_id = $1 AND operation = 'create' RETURNING id`, id).Scan(&running)
	if err != nil {
		t.Fatal(err)
	}
	resp := e.signedIn("resp@example.com")
	if page := resp.get("/dr-tasks/" + id); page.attr(`[data-testid=break-glass-start]`, "href") != "" {
		t.Error("the task page offers break-glass while a request executes")
	}
	before := e.requestsOn(id)
	res := e.breakGlass(resp, id, portal.OpStart, e.startForm(id, password))
	if res.status != http.StatusConflict || !strings.Contains(res.text("main"), fmt.Sprintf("Request #%d is executing", running)) {
		t.Fatalf("break-glass while a request executes: %d %q", res.status, res.text("main"))
	}
	if n := e.requestsOn(id) - before; n != 0 {
		t.Errorf("%d requests filed", n)
	}
	refused := e.events(audit.ActionBreakGlassRefused)
	if len(refused) != 1 || !strings.Contains(string(refused[0].Detail), `"reason":"held"`) {
		t.Errorf("the refusal is not on record: %+v", refused)
	}
}

// TestAFlaggedEmergencyBarsItsResponderUntilAnAdminClearsTheFlag: two
// flags complete the review, but the responder stays barred: the note says
// so, the form says why, and a post is refused and audited. An admin
// clears the flag with a comment (none is refused and changes nothing),
// audited; then the responder may break glass again.
func TestAFlaggedEmergencyBarsItsResponderUntilAnAdminClearsTheFlag(t *testing.T) {
	e := newEnv(t)
	e.addUser("resp@example.com", portal.RoleResponder)
	e.addUser("appr1@example.com", auth.RoleApprover)
	e.addUser("appr2@example.com", auth.RoleApprover)
	id := e.createTask("dr_glass06")
	e.breakGlassOn(portal.OpStart, portal.OpSwitchover)
	resp := e.signedIn("resp@example.com")
	rid := e.emergencyStart(resp, id)
	a1, a2 := e.signedIn("appr1@example.com"), e.signedIn("appr2@example.com")
	if res := e.review(a1, rid, "flag", "no incident ticket at the time"); res.status != http.StatusSeeOther {
		t.Fatalf("first flag: %d %s", res.status, res.text("main"))
	}
	res := e.review(a2, rid, "flag", "the primary was reachable")
	if res.status != http.StatusSeeOther {
		t.Fatalf("second flag: %d %s", res.status, res.text("main"))
	}
	audited := e.signedIn("admin@example.com").get("/audit?action=break_glass")
	if got := strings.TrimSpace(audited.doc.Find(`[data-testid=audit-row][data-action="break_glass.review"] [data-testid=audit-summary]`).First().Text()); !strings.HasPrefix(got, "Flagged the emergency of incident") ||
		!strings.Contains(got, "the primary was reachable") {
		t.Errorf("the review's audit row reads %q", got)
	}
	note := a2.get(res.header.Get("Location")).text(`[data-testid=flash]`)
	if !strings.Contains(note, "complete and flagged") || strings.Contains(note, "may break glass again") {
		t.Errorf("the completion note: %q", note)
	}

	want := fmt.Sprintf("Your emergency #%d was flagged in review; an admin must clear it", rid)
	if ok, page := mayBreakGlass(resp, id); ok || !strings.Contains(page, want) {
		t.Errorf("the form after two flags: %s", page)
	}
	before := e.requestsOn(id)
	refused := e.breakGlass(resp, id, portal.OpSwitchover, url.Values{"incident": {"INC-1240"}, "justification": {"still broken, switch over"},
		"confirm": {"x"}, "password": {password}})
	if refused.status != http.StatusConflict || !strings.Contains(refused.text(`[data-testid=break-glass-refused]`), want) ||
		refused.attr(`[data-testid=unreviewed-link]`, "href") != fmt.Sprintf("/requests/%d", rid) {
		t.Errorf("break-glass after two flags: %d %q", refused.status, refused.text("main"))
	}
	if n := e.requestsOn(id); n != before {
		t.Errorf("%d requests filed while barred", n-before)
	}
	if ev := e.events(audit.ActionBreakGlassRefused); len(ev) != 1 || ev[0].Outcome != audit.Denied ||
		!strings.Contains(string(ev[0].Detail), `"reason":"flagged"`) || !strings.Contains(string(ev[0].Detail), fmt.Sprintf(`"flagged_request":%d`, rid)) {
		t.Errorf("the refusal on record: %+v", ev)
	}

	admin := e.signedIn("admin@example.com")
	page := admin.get("/admin/break-glass")
	if page.doc.Find(fmt.Sprintf(`[data-testid=emergencies-flagged] [data-id="%d"] [data-testid=clear-flag-form]`, rid)).Length() != 1 {
		t.Fatalf("the admins' page offers no clearing of the flag: %q", page.text(`[data-testid=emergencies-flagged]`))
	}
	if res := e.clearFlag(admin, "/admin/break-glass", rid, url.Values{"comment": {"  "}}); res.status != http.StatusUnprocessableEntity ||
		!strings.Contains(res.text(`[data-testid=clear-flag-error]`), "Say why") {
		t.Errorf("clearing without a comment: %d %q", res.status, res.text("main"))
	}
	if ok, _ := mayBreakGlass(resp, id); ok || len(e.events(audit.ActionBreakGlassFlagCleared)) != 0 {
		t.Fatal("clearing without a comment cleared the flag")
	}
	res = e.clearFlag(admin, "/admin/break-glass", rid, url.Values{"comment": {"talked it through: the site was down, ticket came late"}})
	if res.status != http.StatusSeeOther {
		t.Fatalf("clearing the flag: %d %q", res.status, res.text("main"))
	}
	cleared := e.events(audit.ActionBreakGlassFlagCleared)
	if len(cleared) != 1 || cleared[0].Actor.Name != "admin@example.com" || cleared[0].RequestID != rid || cleared[0].Outcome != audit.Success ||
		!strings.Contains(string(cleared[0].Detail), "ticket came late") || !strings.Contains(string(cleared[0].Detail), "the primary was reachable") {
		t.Errorf("the clearing on record: %+v", cleared)
	}
	if got := admin.get("/admin/break-glass").text(fmt.Sprintf(`[data-testid=emergencies-flagged] [data-id="%d"] [data-testid=flag-cleared]`, rid)); !strings.Contains(got, "ticket came late") {
		t.Errorf("the admins' page does not show the clearing: %q", got)
	}
	if res := e.clearFlag(admin, "/admin/break-glass", rid, url.Values{"comment": {"again, the same reasons"}}); res.status != http.StatusConflict {
		t.Errorf("clearing a cleared flag: %d", res.status)
	}
	if ok, page := mayBreakGlass(resp, id); !ok {
		t.Errorf("after the flag was cleared the responder is still barred: %s", page)
	}
}

// TestAnAcknowledgedAndFlaggedReviewBarsTheResponder: one flag is enough,
// even when the other reviewer acknowledged; the flag cannot be cleared
// while the review waits for its second reviewer.
func TestAnAcknowledgedAndFlaggedReviewBarsTheResponder(t *testing.T) {
	e := newEnv(t)
	e.addUser("resp@example.com", portal.RoleResponder)
	e.addUser("appr1@example.com", auth.RoleApprover)
	e.addUser("appr2@example.com", auth.RoleApprover)
	id := e.createTask("dr_glass07")
	e.breakGlassOn(portal.OpStart, portal.OpSwitchover)
	resp := e.signedIn("resp@example.com")
	rid := e.emergencyStart(resp, id)
	admin := e.signedIn("admin@example.com")
	if res := e.review(e.signedIn("appr1@example.com"), rid, "flag", "why no call first?"); res.status != http.StatusSeeOther {
		t.Fatalf("flag: %d", res.status)
	}
	if res := e.clearFlag(admin, "/admin/break-glass", rid, url.Values{"comment": {"fine, nothing to add"}}); res.status != http.StatusConflict {
		t.Errorf("clearing before the review is complete: %d %q", res.status, res.text("main"))
	}
	if res := e.review(e.signedIn("appr2@example.com"), rid, "acknowledge", "justified by the outage"); res.status != http.StatusSeeOther {
		t.Fatalf("acknowledge: %d", res.status)
	}
	if ok, page := mayBreakGlass(resp, id); ok || !strings.Contains(page, fmt.Sprintf("Your emergency #%d was flagged in review", rid)) {
		t.Errorf("after an acknowledgement and a flag: %s", page)
	}
	res := e.breakGlass(resp, id, portal.OpSwitchover, url.Values{"incident": {"INC-1241"}, "justification": {"still broken, switch over"},
		"confirm": {"x"}, "password": {password}})
	if res.status != http.StatusConflict {
		t.Errorf("break-glass after an acknowledgement and a flag: %d %q", res.status, res.text("main"))
	}
	if ev := e.events(audit.ActionBreakGlassRefused); len(ev) != 1 || !strings.Contains(string(ev[0].Detail), `"reason":"flagged"`) {
		t.Errorf("the refusal on record: %+v", ev)
	}
}

// TestOnlyAnAdminClearsAFlag: an approver posting the clearing gets a 403,
// audited as access.denied, and the flag stands.
func TestOnlyAnAdminClearsAFlag(t *testing.T) {
	e := newEnv(t)
	e.addUser("resp@example.com", portal.RoleResponder)
	e.addUser("appr1@example.com", auth.RoleApprover)
	e.addUser("appr2@example.com", auth.RoleApprover)
	id := e.createTask("dr_glass08")
	e.breakGlassOn(portal.OpStart, portal.OpSwitchover)
	resp := e.signedIn("resp@example.com")
	rid := e.emergencyStart(resp, id)
	a1 := e.signedIn("appr1@example.com")
	e.review(a1, rid, "flag", "no incident ticket")
	e.review(e.signedIn("appr2@example.com"), rid, "flag", "nobody was called first")
	if res := e.clearFlag(a1, "/dr-tasks", rid, url.Values{"comment": {"I say it is fine"}}); res.status != http.StatusForbidden {
		t.Errorf("an approver clearing: %d", res.status)
	}
	found := false
	for _, d := range e.events(audit.ActionAccessDenied) {
		found = found || (d.Actor.Name == "appr1@example.com" && strings.Contains(string(d.Detail), `"route":"/admin/break-glass/:id/clear"`))
	}
	if !found {
		t.Error("the refused clearing is not audited")
	}
	if len(e.events(audit.ActionBreakGlassFlagCleared)) != 0 {
		t.Error("a clearing is on record")
	}
	if ok, _ := mayBreakGlass(resp, id); ok {
		t.Error("the responder may break glass after an approver's clearing")
	}
}

// TestClearingAFlagNeedsThePasswordEnteredRecently: like the other
// break-glass settings, clearing a flag asks for the password when it was
// entered more than 5 minutes ago; without it nothing changes.
func TestClearingAFlagNeedsThePasswordEnteredRecently(t *testing.T) {
	e := newEnv(t)
	e.addUser("resp@example.com", portal.RoleResponder)
	e.addUser("appr1@example.com", auth.RoleApprover)
	e.addUser("appr2@example.com", auth.RoleApprover)
	id := e.createTask("dr_glass09")
	e.breakGlassOn(portal.OpStart, portal.OpSwitchover)
	resp := e.signedIn("resp@example.com")
	rid := e.emergencyStart(resp, id)
	e.review(e.signedIn("appr1@example.com"), rid, "flag", "no incident ticket")
	e.review(e.signedIn("appr2@example.com"), rid, "acknowledge", "fine, the site was down")
	admin := e.signedIn("admin@example.com")
	e.signInClock.Advance(6 * time.Minute)
	page := admin.get("/admin/break-glass")
	if page.doc.Find(`[data-testid=clear-flag-form] input[name=step_up_password]`).Length() != 1 {
		t.Fatal("the clearing form asks for no password 6 minutes after signing in")
	}
	form := url.Values{"comment": {"discussed with the team"}}
	res := e.clearFlag(admin, "/admin/break-glass", rid, form)
	if res.status != http.StatusForbidden || !strings.Contains(res.text(`[data-testid=step-up-error]`), "needs your password again") ||
		res.attr(`[data-testid=clear-flag-form] textarea[name=comment]`, "id") == "" {
		t.Fatalf("clearing without the password: %d %q", res.status, res.text("main"))
	}
	if len(e.events(audit.ActionBreakGlassFlagCleared)) != 0 {
		t.Fatal("the flag was cleared without the password")
	}
	if ok, _ := mayBreakGlass(resp, id); ok {
		t.Fatal("the responder may break glass after a clearing without the password")
	}
	form.Set("step_up_password", password)
	if res := e.clearFlag(admin, "/admin/break-glass", rid, form); res.status != http.StatusSeeOther {
		t.Fatalf("clearing with the password: %d %q", res.status, res.text("main"))
	}
	if ok, page := mayBreakGlass(resp, id); !ok {
		t.Errorf("after the clearing the responder is still barred: %s", page)
	}
}

// TestAnEmergencyWhoseFlagIsClearedReadsAsSettled: once its review is
// complete and an admin cleared its flag, an emergency's row on the
// break-glass page (in every table it is listed in) has a neutral badge,
// "reviewed · flag cleared by" the admin, and no due date; before the
// clearing it is red, flagged and shows when the review was due.
func TestAnEmergencyWhoseFlagIsClearedReadsAsSettled(t *testing.T) {
	e := newEnv(t)
	e.addUser("resp@example.com", portal.RoleResponder)
	e.addUser("appr1@example.com", auth.RoleApprover)
	e.addUser("appr2@example.com", auth.RoleApprover)
	id := e.createTask("dr_glass_settled1")
	e.breakGlassOn(portal.OpStart, portal.OpSwitchover)
	rid := e.emergencyStart(e.signedIn("resp@example.com"), id)
	for _, a := range []string{"appr1@example.com", "appr2@example.com"} {
		if res := e.review(e.signedIn(a), rid, "flag", "no incident ticket at the time"); res.status != http.StatusSeeOther {
			t.Fatalf("flag by %s: %d %s", a, res.status, res.text("main"))
		}
	}
	admin := e.signedIn("admin@example.com")
	rows := func() *goquery.Selection {
		return admin.get("/admin/break-glass").doc.Find(fmt.Sprintf(`[data-testid=emergency-row][data-id="%d"]`, rid))
	}
	before := rows()
	if before.Length() == 0 || !before.Find(`[data-testid=emergency-review]`).HasClass("bad") || !strings.Contains(before.Text(), "(due ") {
		t.Errorf("before the clearing the emergency reads %q", before.Text())
	}
	if res := e.clearFlag(admin, "/admin/break-glass", rid, url.Values{"comment": {"talked it through"}}); res.status != http.StatusSeeOther {
		t.Fatalf("clearing the flag: %d %q", res.status, res.text("main"))
	}
	after := rows()
	if after.Length() < 2 {
		t.Fatalf("the emergency is in %d tables after the clearing, want the flagged and the recent", after.Length())
	}
	after.Each(func(_ int, row *goquery.Selection) {
		badge := row.Find(`[data-testid=emergency-review]`)
		if got := strings.TrimSpace(badge.Text()); got != "reviewed · flag cleared by admin@example.com" || badge.HasClass("bad") {
			t.Errorf("after the clearing the badge reads %q (class %q)", got, badge.AttrOr("class", ""))
		}
		if strings.Contains(row.Find(`td[data-label=Review]`).Text(), "due") {
			t.Errorf("after the clearing the review still shows a due date: %q", row.Find(`td[data-label=Review]`).Text())
		}
	})
}
