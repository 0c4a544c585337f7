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

// TestALooseningsCardAndItsApprovalNameTheRequestsItLetsRunAtOnce: an
// approved request waits for its window; the card of the change that
// removes that window lists it (linked) before a second admin approves,
// and the note after approving names it as woken. A request its window
// does not hold back is not listed.
func TestALooseningsCardAndItsApprovalNameTheRequestsItLetsRunAtOnce(t *testing.T) {
	e := newEnv(t)
	e.addUser("admin2@example.com", auth.RoleAdmin)
	id := e.createTask("dr_woken01")
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
	if res := a1.post("/admin/windows/"+strconv.FormatInt(w.ID, 10)+"/remove", url.Values{}); res.status != http.StatusSeeOther {
		t.Fatalf("propose removing the window: %d %q", res.status, res.text("main"))
	}
	page := a2.get("/admin/windows")
	change := page.attr(`[data-testid=admin-change]`, "data-change")
	wakes := page.text(`[data-testid=admin-change] [data-testid=change-wakes]`)
	want := fmt.Sprintf("request #%d Start on dr_woken01", waiting)
	if !strings.HasPrefix(wakes, "Approving it lets these run now:") || !strings.Contains(wakes, want) {
		t.Errorf("the card of the removal says %q; want it to list %q", wakes, want)
	}
	if href := page.attr(`[data-testid=change-wake]`, "href"); href != fmt.Sprintf("/requests/%d", waiting) {
		t.Errorf("the woken request links to %q", href)
	}
	if n := page.doc.Find(`[data-testid=change-wake]`).Length(); n != 1 {
		t.Errorf("the card lists %d requests; want the one waiting", n)
	}
	res := a2.post("/admin/changes/"+change+"/approve", url.Values{})
	if res.status != http.StatusSeeOther {
		t.Fatalf("approve removing the window: %d %q", res.status, res.text("main"))
	}
	note := a2.get(res.header.Get("Location")).text(`[data-testid=flash]`)
	if !strings.HasPrefix(note, "Change #"+change+" approved: it is in effect.") || !strings.Contains(note, "run now: "+want+".") {
		t.Errorf("the note after approving: %q; want it to name %q", note, want)
	}
	e.waitRequest(waiting, portal.StatusSucceeded, portal.StatusFailed)
}
