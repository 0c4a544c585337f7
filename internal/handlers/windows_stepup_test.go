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
	var f portal.Freeze
	err := e.store.InTx(ctx, func(tx *db.Tx) error {
		admin, err := tx.UserByEmail(ctx, "admin@example.com")
		if err != nil {
			return err
		}
		f, err = tx.InsertFreeze(ctx, portal.Freeze{Start: start, End: start.Add(time.Hour), Reason: "quarter close"}, admin.ID, time.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if res := a1.post("/admin/freezes/"+strconv.FormatInt(f.ID, 10)+"/lift", url.Values{}); res.status != http.StatusSeeOther {
		t.Fatalf("propose lifting the freeze: %d %q", res.status, res.text("main"))
	}
	e.signInClock.Advance(6 * time.Minute)
	page := a2.get("/admin/windows")
	change := page.attr(`[data-testid=admin-change]`, "data-change")
	if change == "" || page.doc.Find(`[data-testid=admin-change] input[name=step_up_password]`).Length() == 0 {
		t.Fatalf("the waiting lift (change %q) asks for no password 6 minutes after signing in", change)
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
	var w portal.Window
	err := e.store.InTx(ctx, func(tx *db.Tx) error {
		admin, err := tx.UserByEmail(ctx, "admin@example.com")
		if err != nil {
			return err
		}
		w, err = tx.InsertWindow(ctx, portal.Window{Operation: portal.OpStart, Days: portal.Weekdays(1) << ((now.Weekday() + 3) % 7),
			Start: 120, End: 180, Zone: "UTC"}, admin.ID, now)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	req, a1, a2 := e.signedIn("req@example.com"), e.signedIn("admin@example.com"), e.signedIn("admin2@example.com")
	waiting := requestIDFrom(t, e.fileOperation(req, id, "start", url.Values{"justification": {"start it in the window"}}))
	e.decide(a1, waiting, "approve", "")
	if r, err := e.store.Request(ctx, waiting); err != nil || r.Status != portal.StatusApproved {
		t.Fatalf("the start outside its window: %s %v; want approved and waiting", r.Status, err)
	}
	// The approver is told it waits, not that it is being executed.
	if note := a1.get(fmt.Sprintf("/requests/%d", waiting)).text("main"); !strings.Contains(note, "has all its approvals, and waits: it is outside its change window") ||
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
