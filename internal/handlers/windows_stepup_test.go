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

// Lifting a freeze loosens the windows: it waits for a second admin, whose
// decision is a policy change and needs the password entered in the last
// 5 minutes, asked for on the windows page itself.
func TestDecidingALooseningOfTheWindowsNeedsThePasswordEnteredRecently(t *testing.T) {
	e := newEnv(t)
	e.addUser("admin2@example.com", auth.RoleAdmin)
	a1, a2 := e.signedIn("admin@example.com"), e.signedIn("admin2@example.com")
	ctx := context.Background()
	start := time.Now().AddDate(0, 1, 0)
	f := e.freeze(start, start.Add(time.Hour), "quarter close")
	if res := a1.post("/admin/freezes/"+strconv.FormatInt(f.ID, 10)+"/lift", url.Values{}); res.status != http.StatusSeeOther {
		t.Fatalf("propose lifting the freeze: %d %q", res.status, res.text("main"))
	}
	e.signInClock.Advance(6 * time.Minute)
	page := a2.get("/admin/windows")
	change := page.attr(`[data-testid=admin-change]`, "data-change")
	if change == "" || page.doc.Find(`[data-testid=windows-step-up] input[name=step_up_password]`).Length() == 0 {
		t.Fatalf("the page with the waiting lift (change %q) asks for no password 6 minutes after signing in", change)
	}
	res := a2.post("/admin/changes/"+change+"/approve", url.Values{})
	if res.status != http.StatusForbidden || res.doc.Find(`[data-testid=freeze-form]`).Length() != 1 ||
		!strings.Contains(res.text("main"), "needs your password again") {
		t.Fatalf("approving without the password: %d, on the windows page: %v, %q", res.status,
			res.doc.Find(`[data-testid=freeze-form]`).Length() == 1, res.text("main"))
	}
	if sched, err := e.store.Schedule(ctx, time.Now()); err != nil || len(sched.Freezes) != 1 {
		t.Fatalf("the freeze was lifted without the password: %d freezes (%v)", len(sched.Freezes), err)
	}
	if res := a2.post("/admin/changes/"+change+"/approve", url.Values{"step_up_password": {password}}); res.status != http.StatusSeeOther {
		t.Fatalf("approving with the password: %d %q", res.status, res.text("main"))
	}
	if sched, err := e.store.Schedule(ctx, time.Now()); err != nil || len(sched.Freezes) != 0 {
		t.Fatalf("the freeze is still there after approval with the password: %d freezes (%v)", len(sched.Freezes), err)
	}
}

// A request approved while its window was closed runs as soon as a second
// admin removes the window, not at the opening it was scheduled for.
func TestARequestWaitingForAWindowRunsOnceTheWindowIsRemoved(t *testing.T) {
	e := newEnv(t)
	e.addUser("admin2@example.com", auth.RoleAdmin)
	id := e.createTask("dr_wake01")
	ctx := context.Background()
	now := time.Now().UTC()
	w := e.addWindow(portal.Window{Operation: portal.OpStart, Days: portal.Weekdays(1) << ((now.Weekday() + 3) % 7),
		Start: 120, End: 180, Zone: "UTC"})
	req, a1, a2 := e.signedIn("req@example.com"), e.signedIn("admin@example.com"), e.signedIn("admin2@example.com")
	waiting := requestIDFrom(t, e.fileOperation(req, id, "start", url.Values{"justification": {"start it in the window"}}))
	e.decide(a1, waiting, "approve", "")
	if r, err := e.store.Request(ctx, waiting); err != nil || r.Status != portal.StatusApproved {
		t.Fatalf("the start outside its window: %s %v; want approved and waiting", r.Status, err)
	}
	// The approver is told it waits, not that it is being executed.
	if note := a1.get(fmt.Sprintf("/requests/%d", waiting)).text("main"); !strings.Contains(note, "has all its approvals, and waits") ||
		!strings.Contains(note, "It is outside its change window") ||
		strings.Contains(note, "is being executed") {
		t.Errorf("the note after the last approval of a request outside its window: %q", note)
	}
	if res := a1.post("/admin/windows/"+strconv.FormatInt(w.ID, 10)+"/remove", url.Values{}); res.status != http.StatusSeeOther {
		t.Fatalf("propose removing the window: %d %q", res.status, res.text("main"))
	}
	change := a2.get("/admin/windows").attr(`[data-testid=admin-change]`, "data-change")
	if res := a2.post("/admin/changes/"+change+"/approve", url.Values{}); res.status != http.StatusSeeOther {
		t.Fatalf("approve removing the window: %d %q", res.status, res.text("main"))
	}
	if r := e.waitRequest(waiting, portal.StatusSucceeded, portal.StatusFailed); r.Status != portal.StatusSucceeded {
		t.Fatalf("the start once its window was removed: %s (%s)", r.Status, r.Outcome)
	}
}

// windowsState sums up the windows, freezes, rules and waiting changes,
// to tell whether a change to the windows changed anything.
func (e *env) windowsState() string {
	e.t.Helper()
	var sum string
	err := e.store.Pool().QueryRow(context.Background(), `SELECT
		(SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM change_windows t) ||
		(SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM change_freezes t) ||
		(SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM change_window_rules t) ||
		(SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM admin_changes t)`).Scan(&sum)
	if err != nil {
		e.t.Fatal(err)
	}
	return sum
}

// Every change to the windows is a change of the policy of when operations
// may run, and needs the password entered in the last 5 minutes, whether
// it takes effect at once (a freeze, a first window, removing one of
// several, the stricter rule) or waits for a second admin (a second
// window, the lenient rule, lifting a freeze, removing the last window).
// The page asks for it once, at the top, when the session's is older;
// without it the change is refused (403, a step-up denial, said at that
// field) and nothing changes; with it, sent with the change, it goes
// through.
func TestEveryChangeToTheWindowsNeedsThePasswordEnteredRecently(t *testing.T) {
	e := newEnv(t)
	admin := e.signedIn("admin@example.com")
	ctx := context.Background()
	day := time.Now().UTC().AddDate(0, 0, 2).Format("Mon")
	from := time.Now().UTC().AddDate(0, 1, 0).Truncate(time.Minute)
	// Failover has two windows and the lenient rule, to be tightened at
	// once (the rule is offered only to an operation with windows).
	var failover portal.Window
	err := e.store.InTx(ctx, func(tx *db.Tx) error {
		a, err := tx.UserByEmail(ctx, "admin@example.com")
		if err != nil {
			return err
		}
		for _, start := range []int{60, 600} {
			if failover, err = tx.InsertWindow(ctx, portal.Window{Operation: portal.OpFailover, Days: portal.Weekdays(127),
				Start: start, End: start + 60, Zone: "UTC"}, a.ID, time.Now()); err != nil {
				return err
			}
		}
		return tx.SetOutsideRule(ctx, portal.OpFailover, portal.OutsideExtraApproval, a.ID, time.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
	id := func(query string) string {
		t.Helper()
		var id int64
		if err := e.store.Pool().QueryRow(ctx, query).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return strconv.FormatInt(id, 10)
	}
	freeze := func() string { return id(`SELECT id FROM change_freezes`) }
	switchover := func() string { return id(`SELECT id FROM change_windows WHERE operation = 'switchover'`) }
	failoverID := strconv.FormatInt(failover.ID, 10)
	for _, c := range []struct {
		what    string
		route   string            // its route, as a refusal records it
		path    func() string     // where it posts
		values  func() url.Values // what it posts
		applied bool              // it takes effect at once (else it waits for a second admin)
	}{
		{"add a freeze", "/admin/freezes", func() string { return "/admin/freezes" }, func() url.Values {
			return url.Values{"reason": {"quarter close"}, "starts": {from.Format("2006-01-02T15:04")},
				"ends": {from.Add(24 * time.Hour).Format("2006-01-02T15:04")}}
		}, true},
		{"add the first window of switchover", "/admin/windows", func() string { return "/admin/windows" }, func() url.Values {
			return url.Values{"operation": {"switchover"}, "window": {day + " 01:00-03:00 UTC"}}
		}, true},
		{"remove one of the two windows of failover", "/admin/windows/:id/remove", func() string { return "/admin/windows/" + failoverID + "/remove" },
			func() url.Values { return url.Values{} }, true},
		{"set the stricter rule for failover", "/admin/windows/rule", func() string { return "/admin/windows/rule" },
			func() url.Values { return url.Values{"operation": {"failover"}, "rule": {"wait"}} }, true},
		{"add a second window of switchover", "/admin/windows", func() string { return "/admin/windows" }, func() url.Values {
			return url.Values{"operation": {"switchover"}, "window": {day + " 04:00-05:00 UTC"}}
		}, false},
		{"set the lenient rule for switchover", "/admin/windows/rule", func() string { return "/admin/windows/rule" },
			func() url.Values { return url.Values{"operation": {"switchover"}, "rule": {"extra_approval"}} }, false},
		{"lift the freeze", "/admin/freezes/:id/lift", func() string { return "/admin/freezes/" + freeze() + "/lift" },
			func() url.Values { return url.Values{} }, false},
		{"remove the last window of switchover", "/admin/windows/:id/remove", func() string { return "/admin/windows/" + switchover() + "/remove" },
			func() url.Values { return url.Values{} }, false},
	} {
		e.signInClock.Advance(6 * time.Minute)
		if page := admin.get("/admin/windows"); page.doc.Find("#step_up_password-windows").Length() != 1 {
			t.Errorf("%s: the page asks for no password 6 minutes after it was entered", c.what)
		}
		path, before := c.path(), e.windowsState()
		res := admin.post(path, c.values())
		if res.status != http.StatusForbidden || !strings.Contains(res.text("#step_up_password-windows-error"), "needs your password again") {
			t.Errorf("%s without the password: %d, at the field: %q", c.what, res.status, res.text("#step_up_password-windows-error"))
		}
		if e.windowsState() != before {
			t.Errorf("%s without the password changed the windows", c.what)
		}
		// The first refusal of a kind in a minute is an event; the rest
		// of that minute are counted (db.Store.RecordDenial).
		recorded := false
		for _, d := range e.events(audit.ActionAccessDenied) {
			recorded = recorded || strings.Contains(string(d.Detail), `"reason":"step-up"`) && strings.Contains(string(d.Detail), `"route":"`+c.route+`"`)
		}
		if !recorded {
			t.Errorf("%s without the password: the refusal is not on record as a step-up denial", c.what)
		}
		v := c.values()
		v.Set("step_up_password", password)
		if res := admin.post(path, v); res.status != http.StatusSeeOther {
			t.Fatalf("%s with the password: %d %q", c.what, res.status, res.text("main"))
		}
		if e.windowsState() == before {
			t.Errorf("%s with the password changed nothing", c.what)
		}
		if note := admin.get("/admin/windows").text("[data-testid=flash]"); strings.Contains(note, "It is in effect") != c.applied {
			t.Errorf("%s: %q", c.what, note)
		}
	}
	// Within 5 minutes of entering it, no form asks.
	if n := admin.get("/admin/windows").doc.Find("input[name=step_up_password]").Length(); n != 0 {
		t.Errorf("%d forms ask for the password just entered", n)
	}
}
