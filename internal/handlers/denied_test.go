package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"drportal/internal/audit"
	"drportal/internal/auth"
)

// deniedSince returns the access.denied events after chain position after.
func (e *env) deniedSince(after int64) []audit.Event {
	e.t.Helper()
	var out []audit.Event
	for _, ev := range e.events(audit.ActionAccessDenied) {
		if ev.ID > after {
			out = append(out, ev)
		}
	}
	return out
}

// head is the audit chain's last position.
func (e *env) head() int64 {
	e.t.Helper()
	var id int64
	if err := e.store.Pool().QueryRow(context.Background(), `SELECT coalesce(max(id), 0) FROM audit_events`).Scan(&id); err != nil {
		e.t.Fatal(err)
	}
	return id
}

func detailOf(t *testing.T, ev audit.Event) map[string]any {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		t.Fatalf("detail of event %d: %v", ev.ID, err)
	}
	return d
}

// verifyChain fails the test unless the whole audit chain verifies.
func (e *env) verifyChain() {
	e.t.Helper()
	rep, err := audit.VerifyChain(context.Background(), e.store, 0, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	if rep.BrokenAt != 0 || rep.Checked == 0 {
		e.t.Fatalf("audit chain: broken at %d (%s), %d checked", rep.BrokenAt, rep.Problem, rep.Checked)
	}
}

// TestEveryRefusalIsAuditedAsDenied: each kind of refusal (a route the
// roles do not allow, GET included; approving one's own request; approving
// with a stale payload hash; cancelling someone else's request; a post
// without, with a wrong, or with a cross-site CSRF token) leaves exactly
// one access.denied event naming the actor, the route's pattern and the
// reason, and never a form value, a token or the query string.
func TestEveryRefusalIsAuditedAsDenied(t *testing.T) {
	e := newEnv(t)
	e.addUser("both@example.com", auth.RoleRequester, auth.RoleApprover)
	e.addUser("req2@example.com", auth.RoleRequester)
	e.addUser("norole@example.com")
	req := e.signedIn("req@example.com")
	both := e.signedIn("both@example.com")
	admin := e.signedIn("admin@example.com")
	other := e.signedIn("req2@example.com")
	norole := e.signedIn("norole@example.com")
	user := func(email string) int64 {
		u, err := e.store.UserByEmail(context.Background(), email)
		if err != nil {
			t.Fatal(err)
		}
		return u.ID
	}
	primary, standby := req.formPair()
	own := e.fileCreate(both, validForm(primary, standby))
	reqs := func() url.Values { f := validForm(primary, standby); f.Set("name", "dr_denied02"); return f }()
	theirs := e.fileCreate(req, reqs)
	ownHash := e.requestHash(own)

	type want struct {
		actorID    int64  // 0: anonymous
		actorName  string // the e-mail, or "anonymous"
		method     string
		route      string
		id         string
		reason     string
		status     int
		mustNotSee []string // what the event must not hold
	}
	cases := []struct {
		name string
		do   func() response
		want want
	}{
		{"a requester opens the user administration", func() response { return req.get("/admin/users") },
			want{user("req@example.com"), "req@example.com", http.MethodGet, "/admin/users", "", audit.ReasonRole, http.StatusForbidden, nil}},
		{"someone without a role opens the audit page", func() response { return norole.get("/audit?q=payroll&action=request") },
			want{user("norole@example.com"), "norole@example.com", http.MethodGet, "/audit", "", audit.ReasonRole, http.StatusForbidden,
				[]string{"payroll", "action=request"}}},
		{"a requester verifies the audit chain", func() response {
			return req.postRaw("/audit/verify", url.Values{"_csrf": {req.csrf("/audit")}})
		},
			want{user("req@example.com"), "req@example.com", http.MethodPost, "/audit/verify", "", audit.ReasonRole, http.StatusForbidden, nil}},
		{"an approver approves their own request", func() response { return e.decide(both, own, "approve", "looks fine to me") },
			want{user("both@example.com"), "both@example.com", http.MethodPost, "/requests/:id/decide", fmt.Sprint(own),
				audit.ReasonSelfApproval, http.StatusForbidden, []string{"looks fine", ownHash}}},
		{"an approver approves with a stale payload hash", func() response {
			tok := admin.csrf(fmt.Sprintf("/requests/%d", theirs))
			return admin.postRaw(fmt.Sprintf("/requests/%d/decide", theirs), url.Values{"_csrf": {tok}, "decision": {"approve"},
				"payload_sha256": {strings.Repeat("7", 64)}})
		}, want{user("admin@example.com"), "admin@example.com", http.MethodPost, "/requests/:id/decide", fmt.Sprint(theirs),
			audit.ReasonStaleHash, http.StatusConflict, []string{"7777777"}}},
		{"a requester cancels someone else's request", func() response {
			tok := other.csrf(fmt.Sprintf("/requests/%d", theirs))
			return other.postRaw(fmt.Sprintf("/requests/%d/cancel", theirs), url.Values{"_csrf": {tok}})
		}, want{user("req2@example.com"), "req2@example.com", http.MethodPost, "/requests/:id/cancel", fmt.Sprint(theirs),
			audit.ReasonNotRequester, http.StatusForbidden, nil}},
		{"a signed-in post without the CSRF token", func() response {
			return req.postRaw("/dr-tasks", validForm(primary, standby))
		}, want{user("req@example.com"), "req@example.com", http.MethodPost, "/dr-tasks", "", audit.ReasonCSRFMissing,
			http.StatusBadRequest, []string{"protect the sales warehouse", primary}}},
		{"a signed-in post with a wrong CSRF token", func() response {
			f := validForm(primary, standby)
			f.Set("_csrf", "forged-token-value")
			return req.postRaw("/dr-tasks", f)
		}, want{user("req@example.com"), "req@example.com", http.MethodPost, "/dr-tasks", "", audit.ReasonCSRFInvalid,
			http.StatusForbidden, []string{"forged-token-value", "protect the sales warehouse"}}},
		{"a cross-site post", func() response {
			r, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/dr-tasks", strings.NewReader(validForm(primary, standby).Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set("Sec-Fetch-Site", "cross-site")
			return req.do(r)
		}, want{user("req@example.com"), "req@example.com", http.MethodPost, "/dr-tasks", "", audit.ReasonCSRFCrossSite,
			http.StatusForbidden, nil}},
		{"an anonymous sign-in without the CSRF token", func() response {
			return e.browser().postRaw("/signin", url.Values{"email": {"req@example.com"}, "password": {password}})
		}, want{0, "anonymous", http.MethodPost, "/signin", "", audit.ReasonCSRFMissing, http.StatusBadRequest,
			[]string{password, "req@example.com"}}},
	}
	for _, tc := range cases {
		before := e.head()
		res := tc.do()
		w := tc.want
		if res.status != w.status {
			t.Errorf("%s: status %d, want %d", tc.name, res.status, w.status)
			continue
		}
		got := e.deniedSince(before)
		if len(got) != 1 {
			t.Errorf("%s: %d access.denied events, want exactly 1", tc.name, len(got))
			continue
		}
		ev := got[0]
		d := detailOf(t, ev)
		if ev.Actor.ID != w.actorID || ev.Actor.Name != w.actorName || ev.Outcome != audit.Denied {
			t.Errorf("%s: actor %d %q, outcome %s; want %d %q, denied", tc.name, ev.Actor.ID, ev.Actor.Name, ev.Outcome,
				w.actorID, w.actorName)
		}
		if d["method"] != w.method || d["route"] != w.route || d["reason"] != w.reason || d["ip"] != "127.0.0.1" {
			t.Errorf("%s: detail %s, want %s %s for %s from 127.0.0.1", tc.name, ev.Detail, w.method, w.route, w.reason)
		}
		if id, _ := d["id"].(string); id != w.id {
			t.Errorf("%s: id %q, want %q", tc.name, id, w.id)
		}
		if ev.CorrelationID == "" || ev.CorrelationID != res.header.Get("X-Request-Id") {
			t.Errorf("%s: correlation %q, the response's request id %q", tc.name, ev.CorrelationID, res.header.Get("X-Request-Id"))
		}
		for _, s := range append(w.mustNotSee, "_csrf", "csrf=", "?") {
			if strings.Contains(string(ev.Detail), s) {
				t.Errorf("%s: the event holds %q: %s", tc.name, s, ev.Detail)
			}
		}
	}
	// The audit page offers the new actions in its filter, and filters by
	// them.
	page := admin.get("/audit?action=access")
	for _, a := range []string{"access", audit.ActionAccessDenied, audit.ActionAccessDeniedRepeated} {
		if page.doc.Find(fmt.Sprintf(`select#action option[value=%q]`, a)).Length() != 1 {
			t.Errorf("the audit filter does not offer %s", a)
		}
	}
	if n := page.doc.Find(`[data-testid=audit-row][data-action="access.denied"]`).Length(); n != len(cases) {
		t.Errorf("the audit page filtered by access shows %d denied events, want %d", n, len(cases))
	}
	e.verifyChain()
}

// requestHash is the payload hash the request's page shows.
func (e *env) requestHash(id int64) string {
	e.t.Helper()
	r, err := e.store.Request(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return fmt.Sprintf("%x", r.PayloadSHA256)
}

// TestAFloodOfRefusalsIsCountedNotAuditedOneByOne: 500 refused requests by
// one user on one route within a minute append one event at once and,
// once the minute is closed, one summary with the count of 500; the
// counting table holds one row meanwhile and none after; the chain
// verifies.
func TestAFloodOfRefusalsIsCountedNotAuditedOneByOne(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("req@example.com")
	u, err := e.store.UserByEmail(context.Background(), "req@example.com")
	if err != nil {
		t.Fatal(err)
	}
	// The flood must fit in one minute of the wall clock the portal counts
	// by: start it early in a minute.
	if left := time.Until(time.Now().Truncate(time.Minute).Add(time.Minute)); left < 20*time.Second {
		time.Sleep(left + 100*time.Millisecond)
	}
	before := e.head()
	const flood, workers = 500, 4
	start := time.Now()
	var wg sync.WaitGroup
	statuses := make(chan int, flood)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < flood; i += workers {
				res, err := b.c.Get(e.srv.URL + "/admin/users")
				if err != nil {
					statuses <- 0
					continue
				}
				res.Body.Close()
				statuses <- res.StatusCode
			}
		}()
	}
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != http.StatusForbidden {
			t.Fatalf("a flood request answered %d, want 403", s)
		}
	}
	if time.Now().Truncate(time.Minute) != start.Truncate(time.Minute) {
		t.Fatalf("the flood took %s and crossed a minute", time.Since(start))
	}

	mine := func() (denied, repeated []audit.Event) {
		for _, ev := range e.events(audit.ActionAccessDenied) {
			if ev.ID > before && ev.Actor.ID == u.ID {
				denied = append(denied, ev)
			}
		}
		for _, ev := range e.events(audit.ActionAccessDeniedRepeated) {
			if ev.ID > before && ev.Actor.ID == u.ID {
				repeated = append(repeated, ev)
			}
		}
		return denied, repeated
	}
	denied, repeated := mine()
	if len(denied) != 1 || len(repeated) != 0 {
		t.Fatalf("during the minute: %d denied and %d summary events, want 1 and 0", len(denied), len(repeated))
	}
	if n := e.deniedRows(); n != 1 {
		t.Errorf("%d denied_actions rows for %d refusals, want 1", n, flood)
	}

	// What the periodic job does once the minute has closed.
	if _, err := e.store.FlushDenials(context.Background(), start.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	denied, repeated = mine()
	if len(denied) != 1 || len(repeated) != 1 {
		t.Fatalf("after the minute: %d denied and %d summary events, want 1 and 1", len(denied), len(repeated))
	}
	d := detailOf(t, repeated[0])
	if d["count"] != float64(flood) || d["repeats"] != float64(flood-1) || d["route"] != "/admin/users" ||
		d["reason"] != audit.ReasonRole || repeated[0].Outcome != audit.Denied {
		t.Errorf("summary: %s, want a count of %d", repeated[0].Detail, flood)
	}
	if repeated[0].CorrelationID != denied[0].CorrelationID {
		t.Errorf("summary correlation %q, first event's %q", repeated[0].CorrelationID, denied[0].CorrelationID)
	}
	if n := e.deniedRows(); n != 0 {
		t.Errorf("%d denied_actions rows left after the flush, want 0", n)
	}
	// Flushing again adds nothing.
	if n, err := e.store.FlushDenials(context.Background(), start.Add(time.Minute)); err != nil || n != 0 {
		t.Errorf("second flush: %d summaries, %v", n, err)
	}
	e.verifyChain()
}

func (e *env) deniedRows() int64 {
	e.t.Helper()
	var n int64
	if err := e.store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM denied_actions`).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// TestInventedMethodsDoNotMakeNewKindsOfDenial: someone not signed in who
// sends each request with a method of its own making (every one refused for
// its missing CSRF token) is counted under one kind, not audited each time.
func TestInventedMethodsDoNotMakeNewKindsOfDenial(t *testing.T) {
	e := newEnv(t)
	if left := time.Until(time.Now().Truncate(time.Minute).Add(time.Minute)); left < 10*time.Second {
		time.Sleep(left + 100*time.Millisecond)
	}
	before := e.head()
	for i := range 200 {
		req, _ := http.NewRequest(fmt.Sprintf("X%d", i), e.srv.URL+"/x", nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode < 400 {
			t.Fatalf("method X%d answered %d", i, res.StatusCode)
		}
	}
	n := 0
	for _, ev := range e.events(audit.ActionAccessDenied) {
		if ev.ID > before {
			n++
			if d := detailOf(t, ev); d["method"] != "OTHER" {
				t.Errorf("recorded method %v, want OTHER", d["method"])
			}
		}
	}
	if n != 1 {
		t.Errorf("200 refusals with invented methods made %d audit events, want 1", n)
	}
}
