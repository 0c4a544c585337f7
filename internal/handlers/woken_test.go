package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"drportal/internal/auth"
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
	w := e.addWindow(portal.Window{Operation: portal.OpStart, Days: portal.Weekdays(1) << ((now.Weekday() + 3) % 7),
		Start: 120, End: 180, Zone: "UTC"})
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

// TestALooseningNeitherListsNorWakesARequestWhoseApprovalLapsed: two
// approved starts wait for the same window; the approval of the first
// lapses while it waits (a day passes), the second is approved after. The
// card of the change that removes the window lists only the second, the
// note after approving it names only the second as woken, and the first
// is not woken: its job stays scheduled for the time it waited for, when
// it fails without calling the cloud, as any lapsed approval.
func TestALooseningNeitherListsNorWakesARequestWhoseApprovalLapsed(t *testing.T) {
	e := newEnv(t)
	e.addUser("admin2@example.com", auth.RoleAdmin)
	ctx := context.Background()
	lapsedTask, freshTask := e.createTask("dr_lapsed01"), e.createTask("dr_fresh01")
	now := time.Now().UTC()
	w := e.addWindow(portal.Window{Operation: portal.OpStart, Days: portal.Weekdays(1) << ((now.Weekday() + 3) % 7),
		Start: 120, End: 180, Zone: "UTC"})
	req, a1, a2 := e.signedIn("req@example.com"), e.signedIn("admin@example.com"), e.signedIn("admin2@example.com")
	waitingStart := func(task string) int64 {
		t.Helper()
		id := requestIDFrom(t, e.fileOperation(req, task, "start", url.Values{"justification": {"start it in the window"}}))
		e.decide(a1, id, "approve", "")
		if r, err := e.store.Request(ctx, id); err != nil || r.Status != portal.StatusApproved {
			t.Fatalf("the start outside its window: %s %v; want approved and waiting", r.Status, err)
		}
		return id
	}
	lapsed := waitingStart(lapsedTask)
	e.later.Advance(25 * time.Hour) // an approval lasts a day
	fresh := waitingStart(freshTask)
	if r, err := e.store.Request(ctx, lapsed); err != nil || !r.ApprovalLapsed(e.later.Now()) {
		t.Fatalf("the first start's approval has not lapsed: %+v %v", r.ApprovalExpiresAt, err)
	}

	if res := a1.post("/admin/windows/"+strconv.FormatInt(w.ID, 10)+"/remove", url.Values{}); res.status != http.StatusSeeOther {
		t.Fatalf("propose removing the window: %d %q", res.status, res.text("main"))
	}
	page := a2.get("/admin/windows")
	change := page.attr(`[data-testid=admin-change]`, "data-change")
	var listed []string
	page.doc.Find(`[data-testid=change-wake]`).Each(func(_ int, s *goquery.Selection) { listed = append(listed, s.AttrOr("href", "")) })
	if want := []string{fmt.Sprintf("/requests/%d", fresh)}; !slices.Equal(listed, want) {
		t.Errorf("the card of the removal lists %v; want only the request whose approval holds, %v", listed, want)
	}
	res := a2.post("/admin/changes/"+change+"/approve", url.Values{})
	if res.status != http.StatusSeeOther {
		t.Fatalf("approve removing the window: %d %q", res.status, res.text("main"))
	}
	note := a2.get(res.header.Get("Location")).text(`[data-testid=flash]`)
	if !strings.Contains(note, fmt.Sprintf("request #%d Start", fresh)) || strings.Contains(note, fmt.Sprintf("request #%d ", lapsed)) {
		t.Errorf("the note after approving: %q; want it to name #%d and not #%d", note, fresh, lapsed)
	}
	e.waitRequest(fresh, portal.StatusSucceeded, portal.StatusFailed)
	if states := e.jobStates(lapsed); !slices.Equal(states, []string{"scheduled"}) {
		t.Errorf("the lapsed start's jobs are %v; want its one job still scheduled, not woken", states)
	}
	if r, err := e.store.Request(ctx, lapsed); err != nil || r.Status != portal.StatusApproved {
		t.Errorf("the lapsed start is %s (%v); want it left to its job", r.Status, err)
	}
}
