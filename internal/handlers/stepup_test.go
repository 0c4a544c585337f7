package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"drportal/internal/audit"
	"drportal/internal/auth"
	"drportal/internal/db"
	"drportal/internal/portal"
)

// wrongPassword is what the step-up tests type instead of the password.
const wrongPassword = "not my password at all"

// pendingOperation files op on task id as the requester, typing the
// cluster name its form asks for, and returns the request and that name.
func (e *env) pendingOperation(req *browser, id, op string, extra url.Values) (int64, string) {
	e.t.Helper()
	confirm := req.get("/dr-tasks/" + id + "/operations/" + op).text(`label[for=confirm] .mono`)
	form := url.Values{"confirm": {confirm}, "justification": {"step-up test"}}
	for k, v := range extra {
		form[k] = v
	}
	return requestIDFrom(e.t, e.fileOperation(req, id, op, form)), confirm
}

// runningTask creates a DR task and starts it, and returns its id once
// its page offers a switchover.
func (e *env) runningTask(name string) string {
	e.t.Helper()
	id := e.createTask(name)
	req, admin := e.signedIn("req@example.com"), e.signedIn("admin@example.com")
	start, _ := e.pendingOperation(req, id, "start", nil)
	if r := e.decide(admin, start, "approve", ""); r.status != http.StatusSeeOther {
		e.t.Fatalf("approve start: %d", r.status)
	}
	e.waitRequest(start, portal.StatusSucceeded)
	eventually(e.t, "the running task's switchover", func() bool {
		e.clock.Advance(time.Second)
		return strings.Contains(strings.Join(opButtons(req.get("/dr-tasks/"+id)), ","), "switchover")
	})
	return id
}

// approve posts the request page's decide form as an approval, with the
// cluster name and, when pw is not empty, the password typed into it.
func (e *env) approve(b *browser, id int64, confirm, pw string, hdr ...string) response {
	e.t.Helper()
	page := b.get(fmt.Sprintf("/requests/%d", id))
	form := url.Values{"_csrf": {page.attr(`[data-testid=decide-form] input[name=_csrf]`, "value")}, "decision": {"approve"},
		"payload_sha256": {page.text(`[data-testid=payload-hash]`)}, "confirm": {confirm}}
	if pw != "" {
		form.Set("step_up_password", pw)
	}
	req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/requests/%d/decide", e.srv.URL, id), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return b.do(req)
}

// approvalsOf counts the decisions recorded on a request.
func (e *env) approvalsOf(id int64) int {
	e.t.Helper()
	as, err := e.store.Approvals(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return len(as)
}

// stepUpDenials are the denials recorded for a missing step-up.
func (e *env) stepUpDenials() []audit.Event {
	var out []audit.Event
	for _, ev := range e.events(audit.ActionAccessDenied) {
		if strings.Contains(string(ev.Detail), `"reason":"step-up"`) {
			out = append(out, ev)
		}
	}
	return out
}

// throttleFailures is how many failures the sign-in throttle of account
// counts from any one address (0 when it has none).
func (e *env) throttleFailures(account string) int {
	e.t.Helper()
	var n int
	if err := e.store.Pool().QueryRow(context.Background(), `SELECT coalesce(max(failures), 0) FROM sign_in_throttles
		WHERE account = $1 AND address <> $2`, account, db.AllAddresses).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// noPasswordAnywhere fails when a password appears in the audit history,
// the handlers' logs or any of the responses.
func (e *env) noPasswordAnywhere(responses ...response) {
	e.t.Helper()
	var all strings.Builder
	if err := e.store.StreamAudit(context.Background(), db.AuditFilter{}, func(ev audit.Event) error {
		fmt.Fprintf(&all, "%s %s %s %s\n", ev.Action, ev.SubjectID, ev.CorrelationID, ev.Detail)
		return nil
	}); err != nil {
		e.t.Fatal(err)
	}
	for _, pw := range []string{password, wrongPassword} {
		if strings.Contains(all.String(), pw) {
			e.t.Errorf("the audit history holds the password %q", pw)
		}
		if strings.Contains(e.logs.String(), pw) {
			e.t.Errorf("the logs hold the password %q", pw)
		}
		for i, r := range responses {
			if strings.Contains(r.body, pw) || strings.Contains(r.header.Get("Location"), url.QueryEscape(pw)) ||
				strings.Contains(r.header.Get("HX-Replace-Url"), url.QueryEscape(pw)) {
				e.t.Errorf("response %d holds the password %q", i, pw)
			}
		}
	}
}

// TestApprovingASwitchoverNeedsThePasswordEnteredInTheLastFiveMinutes: six
// minutes after signing in, the approver's form asks for the password and
// says why; without it the approval is refused as a denial (step-up) and
// changes nothing; a wrong one is refused, counted by the sign-in throttle
// and audited like a failed sign-in; the right one is audited, renews the
// session's confirmation and approves in the same submit. The password
// is never recorded, logged or shown.
func TestApprovingASwitchoverNeedsThePasswordEnteredInTheLastFiveMinutes(t *testing.T) {
	e := newEnv(t)
	task := e.runningTask("dr_stepup1")
	sw, confirm := e.pendingOperation(e.signedIn("req@example.com"), task, "switchover", nil)
	admin := e.signedIn("admin@example.com")
	page := admin.get(fmt.Sprintf("/requests/%d", sw))
	if page.doc.Find(`[data-testid=step-up]`).Length() != 0 {
		t.Fatal("the password is asked for right after signing in")
	}

	e.signInClock.Advance(6 * time.Minute)
	page = admin.get(fmt.Sprintf("/requests/%d", sw))
	field := page.doc.Find(`[data-testid=decide-form] [data-testid=step-up] input[type=password][name=step_up_password]`)
	if field.Length() != 1 || field.AttrOr("autocomplete", "") != "current-password" || field.AttrOr("value", "") != "" {
		t.Fatalf("no empty current-password field in the decide form: %d", field.Length())
	}
	if why := page.text(`[data-testid=step-up-why]`); !strings.Contains(why, "Approving a switchover needs your password again: last entered 6 minutes ago") ||
		!strings.Contains(why, "Rejecting does not need it") {
		t.Errorf("the field says %q", why)
	}

	// Without the password: a 403 on the card, the field marked, nothing changed.
	head := e.head()
	missing := e.approve(admin, sw, confirm, "")
	if missing.status != http.StatusForbidden || !strings.Contains(missing.text(`[data-testid=step-up-error]`), "needs your password again") {
		t.Fatalf("an approval without the password: %d %q", missing.status, missing.text(`[data-testid=step-up-error]`))
	}
	if missing.attr(`#step_up_password`, "aria-invalid") != "true" || missing.doc.Find(`#step_up_password[autofocus]`).Length() != 1 {
		t.Errorf("the refusal does not lead to the password field")
	}
	if n := e.approvalsOf(sw); n != 0 {
		t.Fatalf("an approval without the password was recorded (%d)", n)
	}
	denied := e.deniedSince(head)
	if len(denied) != 1 || !strings.Contains(string(denied[0].Detail), `"reason":"step-up"`) ||
		!strings.Contains(string(denied[0].Detail), `"route":"/requests/:id/decide"`) {
		t.Errorf("the refusal is not recorded as a step-up denial: %+v", denied)
	}

	// A wrong password, with htmx: the card comes back, the field says so.
	wrong := e.approve(admin, sw, confirm, wrongPassword, "HX-Request", "true")
	if wrong.status != http.StatusUnprocessableEntity || wrong.doc.Find(`#request-card`).Length() != 1 ||
		!strings.Contains(wrong.text(`[data-testid=step-up-error]`), "That is not your password") ||
		wrong.attr(`#step_up_password`, "aria-invalid") != "true" {
		t.Fatalf("a wrong password: %d %q", wrong.status, wrong.text(`[data-testid=step-up-error]`))
	}
	if wrong.doc.Find(`html`).Length() != 0 && wrong.doc.Find(`nav`).Length() != 0 {
		t.Error("htmx got a whole page")
	}
	if n := e.approvalsOf(sw); n != 0 {
		t.Fatalf("an approval with a wrong password was recorded (%d)", n)
	}
	if n := e.throttleFailures("admin@example.com"); n != 1 {
		t.Errorf("the sign-in throttle counts %d failures after a wrong password, want 1", n)
	}
	failed := e.events(audit.ActionReauthenticationFailed)
	if len(failed) != 1 || failed[0].Outcome != audit.Failure || failed[0].Actor.Name != "admin@example.com" ||
		!strings.Contains(string(failed[0].Detail), `"reason":"wrong password"`) ||
		!strings.Contains(string(failed[0].Detail), fmt.Sprintf(`"for":"approve request #%d"`, sw)) {
		t.Errorf("the wrong password is not audited like a failed sign-in: %+v", failed)
	}

	// The right password approves in the same submit.
	right := e.approve(admin, sw, confirm, password)
	if right.status != http.StatusSeeOther || right.header.Get("Location") != fmt.Sprintf("/requests/%d", sw) {
		t.Fatalf("an approval with the password: %d %s", right.status, right.text(`[data-testid=card-error]`))
	}
	if n := e.approvalsOf(sw); n != 1 {
		t.Fatalf("the approval with the password was not recorded (%d)", n)
	}
	if ok := e.events(audit.ActionReauthenticated); len(ok) != 1 || ok[0].Actor.Name != "admin@example.com" || ok[0].Outcome != audit.Success {
		t.Errorf("the password entered again is not audited: %+v", ok)
	}
	if n := e.throttleFailures("admin@example.com"); n != 0 {
		t.Errorf("the right password left the throttle counting %d failures", n)
	}
	var confirmedAt time.Time
	if err := e.store.Pool().QueryRow(context.Background(), `SELECT max(password_confirmed_at) FROM sessions s
		JOIN users u ON u.id = s.user_id WHERE u.email = 'admin@example.com'`).Scan(&confirmedAt); err != nil {
		t.Fatal(err)
	}
	if d := e.signInClock.Now().Sub(confirmedAt); d < 0 || d > time.Minute {
		t.Errorf("the session's confirmation is %s old after entering the password", d)
	}
	e.noPasswordAnywhere(missing, wrong, right, page)
}

// TestRejectingAndApprovingWithinFiveMinutesNeedNoPassword: within five
// minutes of signing in, a high-risk approval shows no password field and
// goes through without one; rejecting a high-risk request never needs it.
func TestRejectingAndApprovingWithinFiveMinutesNeedNoPassword(t *testing.T) {
	e := newEnv(t)
	task := e.createTask("dr_stepup2")
	req := e.signedIn("req@example.com")
	del, _ := e.pendingOperation(req, task, "delete", nil)

	admin := e.signedIn("admin@example.com")
	e.signInClock.Advance(6 * time.Minute)
	if r := e.decide(admin, del, "reject", "not during the audit"); r.status != http.StatusSeeOther {
		t.Fatalf("a rejection six minutes after sign-in: %d %s", r.status, r.text(`[data-testid=card-error]`))
	}
	if r, _ := e.store.Request(context.Background(), del); r.Status != portal.StatusRejected {
		t.Errorf("the rejected delete is %s", r.Status)
	}

	del, confirm := e.pendingOperation(req, task, "delete", nil)
	admin = e.signedIn("admin@example.com")
	e.signInClock.Advance(4*time.Minute + 50*time.Second)
	page := admin.get(fmt.Sprintf("/requests/%d", del))
	if page.doc.Find(`[data-testid=decide-form]`).Length() != 1 || page.doc.Find(`[data-testid=step-up]`).Length() != 0 {
		t.Fatal("the password is asked for within five minutes of signing in")
	}
	if r := e.approve(admin, del, confirm, ""); r.status != http.StatusSeeOther {
		t.Fatalf("a high-risk approval within five minutes: %d %s", r.status, r.text(`[data-testid=card-error]`))
	}
	if n := e.approvalsOf(del); n != 1 {
		t.Errorf("the approval within five minutes was not recorded (%d)", n)
	}
	if d := e.stepUpDenials(); len(d) != 0 || len(e.events(audit.ActionReauthenticated)) != 0 {
		t.Errorf("a step-up was asked for: %+v", d)
	}
}

// TestLowRiskApprovalsNeedNoPassword: create, start, update and stop are
// approved long after signing in without a password.
func TestLowRiskApprovalsNeedNoPassword(t *testing.T) {
	e := newEnv(t)
	task := e.createTask("dr_stepup3")
	req, admin := e.signedIn("req@example.com"), e.signedIn("admin@example.com")
	e.signInClock.Advance(time.Hour)

	primary, standby := req.formPairExcluding(e.busyClusters()...)
	form := validForm(primary, standby)
	form.Set("name", "dr_stepup4")
	upd, _ := e.pendingOperation(req, task, "update", url.Values{"dr_sync_period": {"10m"}})
	start, _ := e.pendingOperation(req, task, "start", nil)
	for _, id := range []int64{e.fileCreate(req, form), upd} {
		if r := e.approve(admin, id, "", ""); r.status != http.StatusSeeOther {
			t.Errorf("a low-risk approval an hour after sign-in: %d %s", r.status, r.text(`[data-testid=card-error]`))
		}
	}
	e.waitRequest(upd, portal.StatusSucceeded)
	if r := e.approve(admin, start, "", ""); r.status != http.StatusSeeOther {
		t.Errorf("approving a start: %d %s", r.status, r.text(`[data-testid=card-error]`))
	}
	e.waitRequest(start, portal.StatusSucceeded)
	eventually(t, "the running task's stop", func() bool {
		e.clock.Advance(time.Second)
		return strings.Contains(strings.Join(opButtons(req.get("/dr-tasks/"+task)), ","), "stop")
	})
	stop, _ := e.pendingOperation(req, task, "stop", nil)
	if page := admin.get(fmt.Sprintf("/requests/%d", stop)); page.doc.Find(`[data-testid=step-up]`).Length() != 0 {
		t.Error("a stop's approval asks for the password")
	}
	if r := e.approve(admin, stop, "", ""); r.status != http.StatusSeeOther {
		t.Errorf("approving a stop: %d %s", r.status, r.text(`[data-testid=card-error]`))
	}
	if d := e.stepUpDenials(); len(d) != 0 {
		t.Errorf("a low-risk approval was refused for the password: %+v", d)
	}
}

// TestProposingAndDecidingAPolicyChangeNeedThePassword: six minutes after
// signing in, an admin proposing a policy, and the second admin approving
// or rejecting one, are asked for the password; without it nothing
// changes and the refusal is a step-up denial; with it the change goes on
// in the same submit.
func TestProposingAndDecidingAPolicyChangeNeedThePassword(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.addUser("admin2@example.com", auth.RoleAdmin)
	a, b := e.signedIn("admin@example.com"), e.signedIn("admin2@example.com")
	e.signInClock.Advance(6 * time.Minute)

	page := a.get("/admin/policy")
	if f := page.doc.Find(`[data-testid=policy-form] input[name=step_up_password][autocomplete=current-password]`); f.Length() != 1 ||
		!strings.Contains(page.text(`[data-testid=policy-form] [data-testid=step-up-why]`), "Changing the approval policy needs your password again: last entered 6 minutes ago") {
		t.Fatalf("the policy form does not ask for the password: %q", page.text(`[data-testid=step-up-why]`))
	}
	cur, err := e.store.CurrentPolicy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"pending_ttl": {"72h"}, "approval_ttl": {"24h"}}
	for _, op := range portal.Operations {
		form.Set("approvals_"+string(op), strconv.Itoa(cur.Approvals[op]))
	}
	form.Set("approvals_create", strconv.Itoa(cur.Approvals[portal.OpCreate]%portal.MaxApprovals+1))
	pending := func() []portal.AdminChange {
		cs, err := e.store.PendingAdminChanges(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}

	r := a.post("/admin/policy", form)
	if r.status != http.StatusForbidden || r.attr(`[data-testid=form-errors] a`, "href") != "#step_up_password-policy" ||
		r.attr(`[data-testid=approvals-create]`, "value") != form.Get("approvals_create") {
		t.Fatalf("a proposal without the password: %d %q", r.status, r.text(`[data-testid=form-errors]`))
	}
	if cs := pending(); len(cs) != 0 {
		t.Fatalf("a proposal without the password waits: %+v", cs)
	}
	if d := e.stepUpDenials(); len(d) != 1 || !strings.Contains(string(d[0].Detail), `"route":"/admin/policy"`) {
		t.Errorf("the refused proposal is not a step-up denial: %+v", d)
	}
	form.Set("step_up_password", wrongPassword)
	if r := a.post("/admin/policy", form); r.status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.text(`[data-testid=policy-form] [data-testid=step-up-error]`), "That is not your password") || len(pending()) != 0 {
		t.Fatalf("a proposal with a wrong password: %d", r.status)
	}
	form.Set("step_up_password", password)
	if r := a.post("/admin/policy", form); r.status != http.StatusSeeOther || len(pending()) != 1 {
		t.Fatalf("a proposal with the password: %d %s", r.status, r.text(`[data-testid=form-errors]`))
	}
	change := pending()[0].ID

	// The second admin: approving and rejecting ask too.
	card := b.get("/admin/policy")
	for _, f := range []string{"approve", "reject"} {
		if card.doc.Find(fmt.Sprintf(`form[action="/admin/changes/%d/%s"] input[name=step_up_password]`, change, f)).Length() != 1 {
			t.Errorf("the %s form of the change does not ask for the password", f)
		}
	}
	approve := fmt.Sprintf("/admin/changes/%d/approve", change)
	if r := b.post(approve, url.Values{}); r.status != http.StatusForbidden ||
		r.attr(`[data-testid=form-errors] a`, "href") != fmt.Sprintf("#step_up_password-approve-%d", change) {
		t.Fatalf("approving without the password: %d %q", r.status, r.text(`[data-testid=form-errors]`))
	}
	reject := fmt.Sprintf("/admin/changes/%d/reject", change)
	if r := b.post(reject, url.Values{"comment": {"not now"}}); r.status != http.StatusForbidden {
		t.Fatalf("rejecting without the password: %d", r.status)
	}
	if now, _ := e.store.CurrentPolicy(ctx); now.Version != cur.Version || len(pending()) != 1 {
		t.Fatal("a decision without the password changed something")
	}
	if d := e.stepUpDenials(); len(d) != 3 {
		t.Errorf("%d step-up denials, want 3", len(d))
	}
	if r := b.post(approve, url.Values{"step_up_password": {password}}); r.status != http.StatusSeeOther {
		t.Fatalf("approving with the password: %d %s", r.status, r.text(`[data-testid=form-errors]`))
	}
	if now, _ := e.store.CurrentPolicy(ctx); now.Version != cur.Version+1 || now.Approvals[portal.OpCreate] != cur.Approvals[portal.OpCreate]%portal.MaxApprovals+1 {
		t.Errorf("the approved policy is not in effect: version %d", now.Version)
	}
	e.noPasswordAnywhere(r)
}

// TestWrongStepUpPasswordsAreThrottledLikeSignIns: wrong passwords typed
// for a step-up count on the sign-in throttle of the account and address,
// so a session cannot be used to guess the password: after five, the next
// attempt waits and is not checked, even with the right password, and a
// sign-in from the same address waits too; once the wait is over the right
// password goes through and ends it.
func TestWrongStepUpPasswordsAreThrottledLikeSignIns(t *testing.T) {
	e := newEnv(t, withAuth(func(s *auth.Service) { s.Throttle.FirstDelay = time.Minute }))
	ctx := context.Background()
	e.addUser("admin2@example.com", auth.RoleAdmin)
	a := e.signedIn("admin@example.com")
	e.signInClock.Advance(6 * time.Minute)
	cur, err := e.store.CurrentPolicy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"pending_ttl": {"72h"}, "approval_ttl": {"24h"}, "step_up_password": {wrongPassword}}
	for _, op := range portal.Operations {
		form.Set("approvals_"+string(op), strconv.Itoa(cur.Approvals[op]))
	}
	form.Set("approvals_update", strconv.Itoa(cur.Approvals[portal.OpUpdate]%portal.MaxApprovals+1))
	for i := range 5 {
		if r := a.post("/admin/policy", form); r.status != http.StatusUnprocessableEntity {
			t.Fatalf("wrong password %d: %d", i+1, r.status)
		}
	}
	form.Set("step_up_password", password)
	r := a.post("/admin/policy", form)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" ||
		!strings.Contains(r.text(`[data-testid=step-up-error]`), "Too many wrong passwords") {
		t.Fatalf("the right password after five wrong ones: %d %q", r.status, r.text(`[data-testid=step-up-error]`))
	}
	if cs, _ := e.store.PendingAdminChanges(ctx); len(cs) != 0 {
		t.Fatal("a proposal went through while the throttle waits")
	}
	if s := e.browser().post("/signin", url.Values{"email": {"admin@example.com"}, "password": {password}}); s.status != http.StatusTooManyRequests {
		t.Errorf("a sign-in from the same address while the step-up's throttle waits: %d", s.status)
	}
	if n := len(e.events(audit.ActionReauthenticationFailed)); n != 6 {
		t.Errorf("%d failed step-ups audited, want 5 wrong and the first refusal of the wait", n)
	}
	e.signInClock.Advance(2 * time.Minute)
	if r := a.post("/admin/policy", form); r.status != http.StatusSeeOther {
		t.Fatalf("the right password after the wait: %d %s", r.status, r.text(`[data-testid=form-errors]`))
	}
	if n := e.throttleFailures("admin@example.com"); n != 0 {
		t.Errorf("the right password left %d failures counted", n)
	}
}

// TestStepUpNeverSaysTheLimitItself: a password entered 5½ minutes ago is
// past the 5-minute window, and the prompt does not say "5 minutes ago".
func TestStepUpNeverSaysTheLimitItself(t *testing.T) {
	e := newEnv(t)
	id := e.runningTask("dr_stepup_age")
	req := e.signedIn("req@example.com")
	sw, _ := e.pendingOperation(req, id, "switchover", nil)
	admin := e.signedIn("admin@example.com")
	e.signInClock.Advance(5*time.Minute + 30*time.Second)
	why := admin.get(fmt.Sprintf("/requests/%d", sw)).text(`[data-testid=decide-form]`)
	if strings.Contains(why, "last entered 5 minutes ago") || !strings.Contains(why, "last entered 6 minutes ago") {
		t.Errorf("the prompt says %q", why)
	}
}

// TestAStepUpRefusalIsSaidOnceByThePasswordField: an approval refused for
// the password says why once, in the field's error (not also at the top
// of the card, nor again in its hint), and in the words the change
// windows page uses for the same age.
func TestAStepUpRefusalIsSaidOnceByThePasswordField(t *testing.T) {
	e := newEnv(t)
	id := e.runningTask("dr_stepup_once")
	sw, confirm := e.pendingOperation(e.signedIn("req@example.com"), id, "switchover", nil)
	admin := e.signedIn("admin@example.com")
	e.signInClock.Advance(5*time.Minute + 10*time.Second)
	for _, hx := range [][]string{nil, {"HX-Request", "true"}} {
		res := e.approve(admin, sw, confirm, "", hx...)
		card := res.text(`#request-card`)
		if res.status != http.StatusForbidden || strings.Count(card, "needs your password again") != 1 ||
			!strings.Contains(res.text(`[data-testid=step-up-error]`), "Approving a switchover needs your password again: last entered 6 minutes ago") {
			t.Errorf("htmx %v: the refusal is said %d times: %q", hx != nil, strings.Count(card, "needs your password again"), card)
		}
		if res.doc.Find(`[data-testid=card-error]`).Length() != 0 {
			t.Errorf("htmx %v: the refusal is also at the top of the card", hx != nil)
		}
		if !strings.Contains(res.text(`[data-testid=step-up-why]`), "Rejecting does not need it") {
			t.Errorf("htmx %v: the hint lost its note: %q", hx != nil, res.text(`[data-testid=step-up-why]`))
		}
	}
	windows := admin.get("/admin/windows").text(`main`)
	if !strings.Contains(windows, "Changing the change windows needs your password again: last entered 6 minutes ago") {
		t.Errorf("the windows page says it otherwise: %q", windows)
	}
}
