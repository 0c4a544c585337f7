package handlers_test

import (
	"context"
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

// TestRefusalsThatChangeNothingAreOnRecordCountedPerMinute: an invalid
// change window or freeze (422), clearing the flag of a request that is
// no emergency (404) or of an emergency nobody flagged (409), a decision
// that is none or has a comment of 5000 characters (422), rejecting an
// admin change with such a comment (422), and an operation form past the
// live-read limit (429) each change nothing and are on record under an
// action of their own, with the person, the message shown and at most 200
// characters of what was typed; a second of a kind in the same minute is
// only counted.
func TestRefusalsThatChangeNothingAreOnRecordCountedPerMinute(t *testing.T) {
	e := newEnv(t)
	e.addUser("resp@example.com", portal.RoleResponder)
	e.addUser("admin2@example.com", auth.RoleAdmin)
	e.addUser("appr@example.com", auth.RoleApprover)
	e.tasks.FormReadInterval = time.Hour
	e.breakGlassOn(portal.OpStart)
	long := strings.Repeat("the primary is down ", 250) // 5000 characters
	admin, admin2 := e.signedIn("admin@example.com"), e.signedIn("admin2@example.com")
	req, appr := e.signedIn("req@example.com"), e.signedIn("appr@example.com")
	id := e.createTask("dr_refrec1")
	pending := requestIDFrom(t, e.fileOperation(req, id, "start", url.Values{"justification": {"start it now, CHG-1"}}))
	emergency := e.emergencyStart(e.signedIn("resp@example.com"), e.createTask("dr_refrec2"))
	if res := admin.post("/admin/break-glass", url.Values{"enabled": {"on"}, "operations": {"start", "failover"}, "review_days": {"3"}}); res.status != http.StatusSeeOther {
		t.Fatalf("propose a break-glass change: %d %q", res.status, res.text("main"))
	}
	changes, err := e.store.PendingAdminChanges(context.Background())
	if err != nil || len(changes) != 1 {
		t.Fatalf("%d changes wait (%v)", len(changes), err)
	}
	change := changes[0].ID
	// A form refused after its live read spends it: the next one within
	// the interval is refused with 429.
	if res := e.fileOperation(req, id, "stop", url.Values{"justification": {"stop it now, CHG-2"}}); res.status != http.StatusConflict {
		t.Fatalf("a stop of a task not started: %d %q", res.status, res.text("main"))
	}

	cases := []struct {
		name, action, actor string
		status              int
		requestID           int64
		do                  func() response
	}{
		{"an invalid change window", audit.ActionWindowRejected, "admin@example.com", http.StatusUnprocessableEntity, 0, func() response {
			return admin.post("/admin/windows", url.Values{"operation": {"switchover"}, "window": {long}})
		}},
		{"an invalid freeze", audit.ActionWindowRejected, "admin2@example.com", http.StatusUnprocessableEntity, 0, func() response {
			return admin2.postTo("/admin/windows", "/admin/freezes", url.Values{"reason": {long}, "starts": {"soon"}, "ends": {"later"}})
		}},
		{"clearing the flag of a request that is no emergency", audit.ActionBreakGlassClearRefused, "admin@example.com", http.StatusNotFound, pending,
			func() response {
				return e.clearFlag(admin, "/admin/break-glass", pending, url.Values{"comment": {"nothing to clear here"}})
			}},
		{"clearing the flag of an emergency nobody flagged", audit.ActionBreakGlassClearRefused, "admin2@example.com", http.StatusConflict, emergency,
			func() response {
				return e.clearFlag(admin2, "/admin/break-glass", emergency, url.Values{"comment": {"nothing to clear here"}})
			}},
		{"a decision that is none", audit.ActionRequestDecisionRefused, "admin@example.com", http.StatusUnprocessableEntity, pending, func() response {
			return e.decide(admin, pending, "maybe", "")
		}},
		{"a rejection with a comment of 5000 characters", audit.ActionRequestDecisionRefused, "appr@example.com", http.StatusUnprocessableEntity, pending,
			func() response { return e.decide(appr, pending, "reject", long) }},
		{"rejecting an admin change with a comment of 5000 characters", audit.ActionChangeDecisionRefused, "admin2@example.com",
			http.StatusUnprocessableEntity, 0, func() response {
				return admin2.postTo("/admin/break-glass", fmt.Sprintf("/admin/changes/%d/reject", change), url.Values{"comment": {long}})
			}},
		{"an operation form past the live-read limit", audit.ActionOperationThrottled, "req@example.com", http.StatusTooManyRequests, 0, func() response {
			return e.fileOperation(req, id, "stop", url.Values{"justification": {long[:300]}})
		}},
	}
	for _, c := range cases {
		before := len(e.events(c.action))
		if res := c.do(); res.status != c.status {
			t.Errorf("%s: %d, want %d: %q", c.name, res.status, c.status, res.text("main"))
			continue
		}
		got := e.events(c.action)
		if len(got) != before+1 {
			t.Errorf("%s: %d events of %s, want %d", c.name, len(got), c.action, before+1)
			continue
		}
		ev := got[len(got)-1]
		if ev.Actor.Name != c.actor || ev.Outcome != audit.Denied || ev.RequestID != c.requestID ||
			!strings.Contains(string(ev.Detail), `"error":"`) || !strings.Contains(string(ev.Detail), fmt.Sprintf(`"status":%d`, c.status)) {
			t.Errorf("%s: on record as %s by %s (%s), request %d: %s", c.name, ev.Action, ev.Actor.Name, ev.Outcome, ev.RequestID, ev.Detail)
		}
		if n, s := longestString(t, ev.Detail); n > audit.MaxRefusalText+1 {
			t.Errorf("%s: the event keeps a string of %d characters: %.60q…", c.name, n, s)
		}
	}
	if r, err := e.store.Request(context.Background(), pending); err != nil || r.Status != portal.StatusPending {
		t.Errorf("the refused decisions left the request %s (%v)", r.Status, err)
	}
	if cs, _ := e.store.PendingAdminChanges(context.Background()); len(cs) != 1 {
		t.Errorf("the refused rejection left %d changes waiting", len(cs))
	}

	// The same refusal again within the minute is counted, not appended.
	now := e.pageClock.Now()
	e.pageClock.Advance(now.Truncate(time.Minute).Add(time.Minute + time.Second).Sub(now))
	before := len(e.events(audit.ActionWindowRejected))
	for range 3 {
		if res := admin.post("/admin/windows", url.Values{"operation": {"switchover"}, "window": {"whenever"}}); res.status != http.StatusUnprocessableEntity {
			t.Fatalf("another invalid window: %d", res.status)
		}
	}
	if n := len(e.events(audit.ActionWindowRejected)) - before; n != 1 {
		t.Errorf("3 invalid windows within a minute are %d events, want 1", n)
	}
}

// postTo posts form to path with the CSRF token of page.
func (b *browser) postTo(page, path string, form url.Values) response {
	b.e.t.Helper()
	form.Set("_csrf", b.csrf(page))
	return b.postRaw(path, form)
}
