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
	"drportal/internal/portal"
	"drportal/internal/views"
)

// TestTextPostgreSQLCannotStoreIsBadInput: a NUL byte or invalid UTF-8 in a
// query or form value is refused as bad input (422) before anything reads
// or writes it, instead of failing in the database as a 500.
func TestTextPostgreSQLCannotStoreIsBadInput(t *testing.T) {
	e := newEnv(t)
	e.stopWorkers() // the audit count below then moves only for what the test does
	aud := e.signedIn("audit@example.com")
	for _, q := range []string{"q=%00", "q=%ff%fe", "q=%C3%28", "task=a%00b"} {
		if r := aud.get("/audit?" + q); r.status != http.StatusUnprocessableEntity {
			t.Errorf("GET /audit?%s: %d", q, r.status)
		}
	}
	req := e.signedIn("req@example.com")
	primary, standby := req.formPair()
	anon := e.browser()
	tok := anon.csrf("/signin")
	createTok := req.csrf("/dr-tasks/new")
	events := e.auditCount()
	form := url.Values{"email": {"x\x00@example.com"}, "password": {"whatever"}, "_csrf": {tok}}
	if r := anon.postRaw("/signin", form); r.status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.text(`[data-testid=error-message]`), "does not accept") {
		t.Errorf("sign-in with a NUL byte: %d %q", r.status, r.text(`[data-testid=error-message]`))
	}
	bad := validForm(primary, standby)
	bad.Set("justification", "why\xff")
	bad.Set("_csrf", createTok)
	if r := req.postRaw("/dr-tasks", bad); r.status != http.StatusUnprocessableEntity {
		t.Errorf("create with invalid UTF-8: %d", r.status)
	}
	if got := e.auditCount() - events; got != 0 {
		t.Errorf("refused bad text changed the audit history by %d events", got)
	}
}

// TestAnOperationOnAnUnknownTaskAsksNoCloud: the id in an operation's
// address goes to the cloud only when the portal knows the task.
func TestAnOperationOnAnUnknownTaskAsksNoCloud(t *testing.T) {
	e := newEnv(t)
	e.stopWorkers()
	req := e.signedIn("req@example.com")
	calls := e.sim.TotalCalls()
	for _, id := range []string{"nope", "e59d6b86-9072-46eb-a996-13f8b44994c1", "' OR 1=1--"} {
		form := url.Values{"justification": {"quarterly DR drill"}, "_csrf": {req.csrf("/dr-tasks")}}
		if r := req.postRaw("/dr-tasks/"+url.PathEscape(id)+"/operations/start", form); r.status != http.StatusNotFound {
			t.Errorf("start on %q: %d %s", id, r.status, r.text(`[data-testid=error-message]`))
		}
	}
	if n := e.sim.TotalCalls() - calls; n != 0 {
		t.Errorf("operations on unknown tasks made %d cloud calls", n)
	}
}

// TestCorrelationIDsAreTheServers: a client's X-Request-Id is ignored; the
// audit events a request causes carry an id the server made.
func TestCorrelationIDsAreTheServers(t *testing.T) {
	e := newEnv(t)
	e.stopWorkers()
	anon := e.browser()
	form := url.Values{"email": {"someone@example.com"}, "password": {"wrong password"}, "_csrf": {anon.csrf("/signin")}}
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/signin", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Request-Id", "job-143")
	res := anon.do(req)
	if res.status != http.StatusUnprocessableEntity {
		t.Fatalf("sign-in: %d", res.status)
	}
	got := res.header.Get("X-Request-Id")
	if got == "job-143" || len(got) != 32 {
		t.Errorf("answered X-Request-Id %q", got)
	}
	failed := e.events("auth.signin.failed")
	if len(failed) != 1 || failed[0].CorrelationID != got {
		t.Fatalf("failed sign-ins: %+v", failed)
	}
}

// TestPagesAndExportsAreNotCached: what a signed-in person sees is never
// kept by a browser or proxy cache.
func TestPagesAndExportsAreNotCached(t *testing.T) {
	e := newEnv(t)
	aud := e.signedIn("audit@example.com")
	for _, p := range []string{"/dr-tasks", "/requests", "/audit", "/audit/export?format=ndjson", "/signin"} {
		if r := aud.get(p); r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: %d, Cache-Control %q", p, r.status, r.header.Get("Cache-Control"))
		}
	}
}

// TestDeactivatingARequesterCancelsTheirPendingRequests: nobody's change is
// approved and run in the name of an account that was switched off.
func TestDeactivatingARequesterCancelsTheirPendingRequests(t *testing.T) {
	e := newEnv(t)
	req := e.signedIn("req@example.com")
	primary, standby := req.formPair()
	id := e.fileCreate(req, validForm(primary, standby))
	u, err := e.store.UserByEmail(context.Background(), "req@example.com")
	if err != nil {
		t.Fatal(err)
	}
	admin := e.signedIn("admin@example.com")
	if r := admin.post(fmt.Sprintf("/admin/users/%d/active", u.ID), url.Values{"active": {"false"}, "confirm": {"yes"}}); r.status != http.StatusSeeOther {
		t.Fatalf("deactivate: %d", r.status)
	}
	r, err := e.store.Request(context.Background(), id)
	if err != nil || r.Status != portal.StatusCancelled || !strings.Contains(r.Outcome, "deactivated") {
		t.Fatalf("the deactivated requester's request is %s %q (%v)", r.Status, r.Outcome, err)
	}
	cancelled := e.events(audit.ActionRequestCancelled)
	if len(cancelled) != 1 || cancelled[0].RequestID != id || cancelled[0].Actor.Name != "admin@example.com" {
		t.Errorf("cancellation events: %+v", cancelled)
	}
}

// TestCSRFTokenOnlyFromTheBodyAndNewPerSession: a token in the address is
// not accepted, and signing in starts a new token.
func TestCSRFTokenOnlyFromTheBodyAndNewPerSession(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	before := b.csrf("/signin")
	form := url.Values{"email": {"req@example.com"}, "password": {password}}
	if r := b.postRaw("/signin?_csrf="+url.QueryEscape(before), form); r.status != http.StatusBadRequest {
		t.Errorf("sign-in with the token in the address: %d, want 400", r.status)
	}
	form.Set("_csrf", before)
	if r := b.postRaw("/signin", form); r.status != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", r.status)
	}
	if after := b.csrf("/dr-tasks"); after == before {
		t.Error("the CSRF token outlived the sign-in")
	}
}

// TestTimelinesShowOthersEventsOnlyToWhoSeesTheWholeHistory: a requester
// whose audit view is their own does not read another person's events (a
// rejected justification, a typed confirmation) in a task's or request's
// timeline; an auditor does.
func TestTimelinesShowOthersEventsOnlyToWhoSeesTheWholeHistory(t *testing.T) {
	e := newEnv(t)
	e.addUser("req2@example.com", portal.RoleRequester)
	taskID := e.createTask("dr_timeline1")
	req := e.signedIn("req@example.com")
	id := requestIDFrom(t, e.fileOperation(req, taskID, "start", url.Values{"justification": {"a private reason"}}))
	actors := func(b *browser, path string) map[string]int {
		out := map[string]int{}
		b.get(path, "HX-Request", "true").doc.Find(`[data-testid=timeline-event] .muted`).Each(func(_ int, s *goquery.Selection) {
			parts := strings.Split(s.Text(), "·")
			out[strings.TrimSpace(parts[len(parts)-1])]++
		})
		return out
	}
	other, aud := e.signedIn("req2@example.com"), e.signedIn("audit@example.com")
	for _, path := range []string{"/dr-tasks/" + taskID + "/timeline", fmt.Sprintf("/requests/%d/timeline", id)} {
		got := actors(other, path)
		if got["req@example.com"] != 0 || got["admin@example.com"] != 0 || (strings.HasPrefix(path, "/dr-tasks") && got["system"] == 0) {
			t.Errorf("another requester sees on %s: %v", path, got)
		}
		if got := actors(aud, path); got["req@example.com"] == 0 {
			t.Errorf("the auditor does not see the requester's events on %s: %v", path, got)
		}
	}
}

// TestForwardedAddressesAreNotBelievedByDefault: a client cannot choose the
// address the sign-in limit counts and the audit history records.
func TestForwardedAddressesAreNotBelievedByDefault(t *testing.T) {
	e := newEnv(t)
	anon := e.browser()
	form := url.Values{"email": {"someone@example.com"}, "password": {"wrong password"}, "_csrf": {anon.csrf("/signin")}}
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/signin", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	req.Header.Set("X-Real-Ip", "203.0.113.9")
	if r := anon.do(req); r.status != http.StatusUnprocessableEntity {
		t.Fatalf("sign-in: %d", r.status)
	}
	failed := e.events(audit.ActionSignInFailed)
	if len(failed) != 1 || !strings.Contains(string(failed[0].Detail), `"ip":"127.0.0.1"`) {
		t.Fatalf("failed sign-in recorded: %+v", failed)
	}
}

// TestPollingIsNotActivity: a page's own background refreshes do not keep a
// session alive; what the person does does.
func TestPollingIsNotActivity(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("admin@example.com") // an approver: the header counter polls
	ctx := context.Background()
	lastSeen := func() time.Time {
		var at time.Time
		if err := e.store.Pool().QueryRow(ctx, `SELECT max(s.last_seen_at) FROM sessions s JOIN users u ON u.id = s.user_id
			WHERE u.email = 'admin@example.com'`).Scan(&at); err != nil {
			t.Fatal(err)
		}
		return at
	}
	age := func() {
		if _, err := e.store.Pool().Exec(ctx, `UPDATE sessions SET last_seen_at = last_seen_at - interval '5 minutes'`); err != nil {
			t.Fatal(err)
		}
	}
	page := b.get("/requests")
	if !strings.Contains(page.body, views.BackgroundHeader) {
		t.Error("the page's polling elements do not mark themselves as background")
	}
	age()
	before := lastSeen()
	if r := b.get("/requests/count", "HX-Request", "true", views.BackgroundHeader, "poll"); r.status != http.StatusOK {
		t.Fatalf("poll: %d", r.status)
	}
	if got := lastSeen(); !got.Equal(before) {
		t.Errorf("a background refresh moved last_seen_at from %s to %s", before, got)
	}
	b.get("/requests")
	if got := lastSeen(); !got.After(before) {
		t.Errorf("a page the person opened did not count as activity (%s)", got)
	}
}
