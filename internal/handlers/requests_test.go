package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/db"
	"drportal/internal/portal"
	"drportal/internal/requests"
)

func TestDecisionsThroughThePages(t *testing.T) {
	e := newEnv(t)
	req := e.signedIn("req@example.com")
	admin := e.signedIn("admin@example.com")
	primary, standby := req.formPair()
	id := e.fileCreate(req, validForm(primary, standby))

	// Rejecting needs a comment; the page says so and nothing changes.
	res := e.decide(admin, id, "reject", "")
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.text(`[data-testid=card-error]`), "Say why") {
		t.Fatalf("reject without comment: %d %q", res.status, res.text(`[data-testid=card-error]`))
	}
	// A stale page (another payload hash) is refused.
	tok := admin.csrf(fmt.Sprintf("/requests/%d", id))
	stale := admin.postRaw(fmt.Sprintf("/requests/%d/decide", id), url.Values{"_csrf": {tok}, "decision": {"approve"},
		"payload_sha256": {strings.Repeat("0", 64)}})
	if stale.status != http.StatusConflict || !strings.Contains(stale.text(`[data-testid=card-error]`), "not what you were shown") {
		t.Errorf("stale approval: %d %q", stale.status, stale.text(`[data-testid=card-error]`))
	}
	if res := e.decide(admin, id, "reject", "wrong standby zone"); res.status != http.StatusSeeOther {
		t.Fatalf("reject: %d", res.status)
	}
	r, _ := e.store.Request(context.Background(), id)
	if r.Status != portal.StatusRejected || !strings.Contains(r.Outcome, "wrong standby zone") {
		t.Errorf("request %s %q", r.Status, r.Outcome)
	}
	e.hooks.received(t, requests.EventRejected, id)
	again := e.decide(e.signedIn("admin@example.com"), id, "approve", "")
	if again.status != http.StatusConflict && again.status != http.StatusOK {
		t.Errorf("deciding a rejected request: %d", again.status)
	}
	if e.sim.Calls("create") != 0 {
		t.Error("a rejected request reached the cloud")
	}

	// Cancel with htmx swaps the card.
	id2 := e.fileCreate(req, func() url.Values { f := validForm(primary, standby); f.Set("name", "dr_cancel1"); return f }())
	tok = req.csrf(fmt.Sprintf("/requests/%d", id2))
	hreq, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/requests/%d/cancel", e.srv.URL, id2), strings.NewReader(url.Values{"_csrf": {tok}}.Encode()))
	hreq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hreq.Header.Set("HX-Request", "true")
	card := req.do(hreq)
	if card.status != 200 || card.doc.Find(`[data-testid=request-card]`).AttrOr("data-status", "") != "cancelled" || strings.Contains(card.body, "<html") {
		t.Errorf("cancel with htmx: %d\n%s", card.status, card.body)
	}

	// Lists: mine for the requester, awaiting for approvers.
	if n := req.get("/requests?tab=mine").doc.Find(`[data-testid=request-row]`).Length(); n != 2 {
		t.Errorf("mine: %d", n)
	}
	if n := admin.get("/requests?tab=awaiting").doc.Find(`[data-testid=request-row]`).Length(); n != 0 {
		t.Errorf("awaiting after both ended: %d", n)
	}
	if n := admin.get("/requests?tab=all&status=rejected").doc.Find(`[data-testid=request-row]`).Length(); n != 1 {
		t.Errorf("all rejected: %d", n)
	}
	if r := admin.get("/requests?tab=bogus"); r.status != http.StatusUnprocessableEntity {
		t.Errorf("bad tab: %d", r.status)
	}
	if r := admin.get("/requests/count", "HX-Request", "true"); r.status != 200 || r.text(`[data-testid=awaiting-count]`) != "0" {
		t.Errorf("count fragment: %d %q", r.status, r.body)
	}
}

func TestAdminManagesUsersAndPolicy(t *testing.T) {
	e := newEnv(t)
	admin := e.signedIn("admin@example.com")

	bad := admin.post("/admin/users", url.Values{"email": {"not-an-email"}, "display_name": {""}, "password": {"short"}, "roles": {"king"}})
	if bad.status != http.StatusUnprocessableEntity {
		t.Fatalf("bad user: %d", bad.status)
	}
	for _, f := range []string{"email", "display_name", "password", "roles"} {
		if bad.text(`[data-testid=error-`+f+`]`) == "" {
			t.Errorf("no error for %s", f)
		}
	}
	ok := admin.post("/admin/users", url.Values{"email": {"Bo@Example.com"}, "display_name": {"Bo"},
		"password": {initialPassword}, "roles": {"approver", "auditor"}})
	if ok.status != http.StatusSeeOther {
		t.Fatalf("create user: %d %s", ok.status, ok.body)
	}
	bo, err := e.store.UserByEmail(context.Background(), "bo@example.com")
	if err != nil || strings.Join(bo.RoleNames(), ",") != "approver,auditor" {
		t.Fatalf("bo: %+v %v", bo, err)
	}
	if dup := admin.post("/admin/users", url.Values{"email": {"bo@example.com"}, "display_name": {"Bo"},
		"password": {password}}); dup.status != http.StatusUnprocessableEntity || !strings.Contains(dup.text(`[data-testid=error-email]`), "already exists") {
		t.Errorf("duplicate: %d", dup.status)
	}

	boBrowser := e.signedInFirstTime("bo@example.com")
	if r := admin.post(fmt.Sprintf("/admin/users/%d/roles", bo.ID), url.Values{"roles": {"requester"}}); r.status != http.StatusSeeOther {
		t.Fatalf("set roles: %d", r.status)
	}
	if r := boBrowser.get("/requests?tab=awaiting"); !strings.Contains(r.text(`[data-testid=current-user]`), "requester") {
		t.Errorf("new roles not in effect: %q", r.text(`[data-testid=current-user]`))
	}
	if r := admin.post(fmt.Sprintf("/admin/users/%d/active", bo.ID), url.Values{"active": {"false"}, "confirm": {"yes"}}); r.status != http.StatusSeeOther {
		t.Fatalf("deactivate: %d", r.status)
	}
	if r := boBrowser.get("/dr-tasks"); r.status != http.StatusSeeOther {
		t.Errorf("a deactivated user's session still works: %d", r.status)
	}
	if r := e.browser().post("/signin", url.Values{"email": {"bo@example.com"}, "password": {password}}); r.status != http.StatusForbidden {
		t.Errorf("deactivated sign-in: %d", r.status)
	}
	me, _ := e.store.UserByEmail(context.Background(), "admin@example.com")
	if r := admin.post(fmt.Sprintf("/admin/users/%d/active", me.ID), url.Values{"active": {"false"}, "confirm": {"yes"}}); r.status != http.StatusConflict {
		t.Errorf("deactivating oneself: %d", r.status)
	}
	if r := admin.post(fmt.Sprintf("/admin/users/%d/roles", me.ID), url.Values{"roles": {"approver"}}); r.status != http.StatusConflict ||
		!strings.Contains(r.text(`[data-testid=admin-error]`), "own admin role") {
		t.Errorf("dropping one's own admin role: %d", r.status)
	}

	// Policy: invalid input changes nothing; a save is a proposal that a
	// second admin approves into a new version.
	form := url.Values{"pending_ttl": {"72h"}, "approval_ttl": {"soon"}}
	for _, op := range portal.Operations {
		form.Set("approvals_"+string(op), "2")
	}
	form.Set("approvals_create", "9")
	if r := admin.post("/admin/policy", form); r.status != http.StatusUnprocessableEntity || r.text(`[data-testid=error-approval_ttl]`) == "" {
		t.Errorf("bad policy: %d", r.status)
	}
	form.Set("approvals_create", "2")
	form.Set("approval_ttl", "12h")
	if r := admin.post("/admin/policy", form); r.status != http.StatusSeeOther {
		t.Fatalf("propose policy: %d %s", r.status, r.body)
	}
	if p, _ := e.store.CurrentPolicy(context.Background()); p.Version != 1 {
		t.Fatalf("a proposal took effect alone as version %d", p.Version)
	}
	page := admin.get("/admin/policy")
	if page.text(`[data-testid=sole-admin]`) == "" || page.text(`[data-testid=admin-change]`) == "" {
		t.Errorf("the policy page of a sole admin does not say a second admin is needed, or hides the proposal")
	}
	if card := page.text(`[data-testid=admin-change]`); !strings.Contains(card, "Create: 1 → 2 approvals") ||
		strings.Contains(card, "Switchover") || !strings.Contains(card, "1 day → 12 hours") {
		t.Errorf("the proposal does not show what it changes: %q", card)
	}
	// A second admin (given the role at once by the sole admin) approves it.
	if r := admin.post("/admin/users", url.Values{"email": {"cy@example.com"}, "display_name": {"Cy"},
		"password": {initialPassword}, "roles": {"admin"}}); r.status != http.StatusSeeOther {
		t.Fatalf("second admin: %d", r.status)
	}
	cy := e.signedInFirstTime("cy@example.com")
	if r := cy.post("/admin/changes/"+page.attr(`[data-testid=admin-change]`, "data-change")+"/approve", url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("approve the policy: %d %s", r.status, r.body)
	}
	p, _ := e.store.CurrentPolicy(context.Background())
	cyUser, _ := e.store.UserByEmail(context.Background(), "cy@example.com")
	if p.Version != 2 || p.Approvals["create"] != 2 || p.ApprovalTTL.Hours() != 12 || p.CreatedBy != me.ID || p.ApprovedBy != cyUser.ID {
		t.Errorf("policy %+v", p)
	}
	if page := admin.get("/admin/policy"); !strings.Contains(page.body, "Version 2") || !strings.Contains(page.body, "approved by cy@example.com") {
		t.Error("the policy page does not show version 2 and who approved it")
	}
}

// TestAnInterruptedExecutionSaysItIsBeingResumed: the request page tells a
// run that is working from one that died mid-call (the portal was killed),
// says the latter is being resumed, from the database alone, and goes on
// saying so once a replica took it over.
func TestAnInterruptedExecutionSaysItIsBeingResumed(t *testing.T) {
	e := newEnv(t)
	e.stopWorkers() // nothing runs or resumes the request but the test
	ctx := context.Background()
	req := e.signedIn("req@example.com")
	primary, standby := req.formPair()
	id := e.fileCreate(req, validForm(primary, standby))
	if res := e.decide(e.signedIn("admin@example.com"), id, "approve", ""); res.status != http.StatusSeeOther {
		t.Fatalf("approve: %d", res.status)
	}
	const run = "web-2 pid 4242 job 7 attempt 1 0a1b2c3d4e5f"
	const said = "The portal restarted during this call; it is being resumed — the cloud is checked first so nothing is sent twice."
	// A run in the middle of its call, renewing its lease: nothing to say.
	if _, err := e.store.Pool().Exec(ctx, `UPDATE requests SET status = 'executing', started_at = now(), call_state = 'intent',
		call_attempts = 1, exec_holder = $2, exec_lease_until = now() + interval '1 minute' WHERE id = $1`, id, run); err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/requests/%d", id)
	if res := req.get(path); res.status != http.StatusOK || res.doc.Find(`[data-testid=interrupted]`).Length() != 0 {
		t.Fatalf("a working run: %d %q", res.status, res.text(`[data-testid=interrupted]`))
	}
	// The same run killed: its lease ran out and nobody renews it.
	if _, err := e.store.Pool().Exec(ctx, `UPDATE requests SET exec_lease_until = now() - interval '3 seconds' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	calls, events := e.sim.TotalCalls(), e.auditCount()
	for _, res := range []response{req.get(path), req.get(path+"/card", "HX-Request", "true")} {
		if got := res.text(`[data-testid=interrupted]`); res.status != http.StatusOK || got != said {
			t.Errorf("an interrupted run: %d %q", res.status, got)
		}
	}
	if r, _ := e.store.Request(ctx, id); r.ExecHolder != run || r.Resumes != 0 || e.sim.TotalCalls() != calls || e.auditCount() != events {
		t.Errorf("viewing the page changed something: held by %q, %d resumes, %d calls, %d events",
			r.ExecHolder, r.Resumes, e.sim.TotalCalls()-calls, e.auditCount()-events)
	}
	// A replica takes it over: the page still says so, with when, and the
	// history names the run that died.
	system := audit.WithActor(ctx, audit.System)
	r, err := e.reqs.Resume(system, db.LapsedExecution{RequestID: id, Holder: run})
	if err != nil {
		t.Fatal(err)
	}
	res := req.get(path)
	if got := res.text(`[data-testid=interrupted]`); !strings.HasPrefix(got, said) || !strings.Contains(got, "Taken over at "+r.ResumedAt.UTC().Format("2006-01-02 15:04:05")) {
		t.Errorf("a resumed run: %q", got)
	}
	if n := res.doc.Find(`[data-testid=timeline-event][data-action="request.resumed"]`).Length(); n != 1 {
		t.Errorf("%d takeovers on the timeline", n)
	}
	if _, err := e.reqs.Resume(system, db.LapsedExecution{RequestID: id, Holder: run}); apperr.KindOf(err) != apperr.Conflict {
		t.Errorf("a second takeover of the same run: %v", err)
	}
	// Once it has ended, the page says it was resumed.
	if _, err := e.reqs.Succeed(system, r, "Created", portal.TaskUnstart, nil); err != nil {
		t.Fatal(err)
	}
	if got := req.get(path).text(`[data-testid=interrupted]`); !strings.HasPrefix(got, "The portal restarted during this call and resumed it at ") {
		t.Errorf("an ended request: %q", got)
	}
}
