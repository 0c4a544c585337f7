package handlers_test

import (
	"context"
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
