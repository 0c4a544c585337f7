package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"drportal/internal/audit"
	"drportal/internal/auth"
	"drportal/internal/portal"
)

// A lift of a freeze, or a removal of a window, that already waits for a
// second admin is not offered again on its row: the row says it waits, as
// which change, and links that change's card, for its proposer and for the
// admin who decides it alike.
func TestALiftOrRemovalThatAlreadyWaitsIsNotOfferedAgain(t *testing.T) {
	e := newEnv(t)
	e.addUser("admin2@example.com", auth.RoleAdmin)
	a1, a2 := e.signedIn("admin@example.com"), e.signedIn("admin2@example.com")
	ctx := context.Background()
	start := time.Now().AddDate(0, 1, 0)
	f := e.freeze(start, start.Add(time.Hour), "quarter close")
	// Stop's only window: removing it allows more, so it waits.
	e.addWindow(portal.Window{Operation: portal.OpStop, Days: portal.Weekdays(127), Start: 240, End: 540, Zone: "UTC"})
	var window int64
	if err := e.store.Pool().QueryRow(ctx, `SELECT id FROM change_windows WHERE operation = 'stop'`).Scan(&window); err != nil {
		t.Fatal(err)
	}
	page := a1.get("/admin/windows")
	if page.doc.Find(`[data-testid=lift-freeze]`).Length() != 1 || page.doc.Find(`[data-testid=remove-window]`).Length() != 1 {
		t.Fatalf("before anything waits, the freeze offers %d lifts and the window %d removals; want 1 each",
			page.doc.Find(`[data-testid=lift-freeze]`).Length(), page.doc.Find(`[data-testid=remove-window]`).Length())
	}
	if res := a1.post("/admin/freezes/"+strconv.FormatInt(f.ID, 10)+"/lift", url.Values{}); res.status != http.StatusSeeOther {
		t.Fatalf("propose lifting the freeze: %d %q", res.status, res.text("main"))
	}
	if res := a1.post("/admin/windows/"+strconv.FormatInt(window, 10)+"/remove", url.Values{}); res.status != http.StatusSeeOther {
		t.Fatalf("propose removing the window: %d %q", res.status, res.text("main"))
	}
	var lift, removal string
	if err := e.store.Pool().QueryRow(ctx, `SELECT
		(SELECT id::text FROM admin_changes WHERE status = 'pending' ORDER BY id LIMIT 1),
		(SELECT id::text FROM admin_changes WHERE status = 'pending' ORDER BY id DESC LIMIT 1)`).Scan(&lift, &removal); err != nil {
		t.Fatal(err)
	}
	for who, b := range map[string]*browser{"its proposer": a1, "the second admin": a2} {
		page := b.get("/admin/windows")
		if n := page.doc.Find(`[data-testid=lift-freeze]`).Length(); n != 0 {
			t.Errorf("%s is offered the lift that waits as change #%s again (%d buttons)", who, lift, n)
		}
		if n := page.doc.Find(`[data-testid=remove-window]`).Length(); n != 0 {
			t.Errorf("%s is offered the removal that waits as change #%s again (%d buttons)", who, removal, n)
		}
		for _, c := range []struct{ row, change, words string }{
			{`[data-testid=freeze]`, lift, "Lift waits for a second admin (change #" + lift + ")"},
			{`[data-testid=window-op-stop] [data-testid=window]`, removal, "Removal waits for a second admin (change #" + removal + ")"},
		} {
			link := page.doc.Find(c.row + ` a[data-testid=waits-for-change]`)
			if got := strings.Join(strings.Fields(link.Text()), " "); got != c.words {
				t.Errorf("%s: the row says %q; want %q", who, got, c.words)
			}
			if href, _ := link.Attr("href"); href != "#change-"+c.change || page.doc.Find(`#change-`+c.change+`[data-testid=admin-change]`).Length() != 1 {
				t.Errorf("%s: the row links %q, which is not change #%s's card", who, href, c.change)
			}
		}
	}
}

// Once the password is older than the step-up window, the windows page
// asks for it once, in one labelled form at the top, not in every row and
// form; a wrong one confirms nothing; the right one, entered there once,
// lets the changes below go through without it, and is audited as a
// step-up.
func TestTheWindowsPageAsksForThePasswordOnce(t *testing.T) {
	e := newEnv(t)
	e.addUser("admin2@example.com", auth.RoleAdmin)
	a1, a2 := e.signedIn("admin@example.com"), e.signedIn("admin2@example.com")
	start := time.Now().AddDate(0, 1, 0)
	e.freeze(start, start.Add(time.Hour), "quarter close")
	for _, m := range []int{240, 600} {
		e.addWindow(portal.Window{Operation: portal.OpStop, Days: portal.Weekdays(127), Start: m, End: m + 60, Zone: "UTC"})
	}
	e.addWindow(portal.Window{Operation: portal.OpSwitchover, Days: portal.Weekdays(127), Start: 120, End: 300, Zone: "Europe/Berlin"})
	// A change waiting for the second admin, whose card would ask too.
	if res := a1.post("/admin/windows", url.Values{"operation": {"switchover"}, "window": {"Sat 01:00-02:00 UTC"}}); res.status != http.StatusSeeOther {
		t.Fatalf("propose a second switchover window: %d %q", res.status, res.text("main"))
	}
	e.signInClock.Advance(7 * time.Minute)
	page := a2.get("/admin/windows")
	fields := page.doc.Find(`input[name=step_up_password]`)
	if fields.Length() != 1 || page.doc.Find(`form[data-testid=windows-step-up] input[name=step_up_password]`).Length() != 1 {
		t.Fatalf("7 minutes after signing in the page asks for the password in %d fields; want 1, in the form at the top", fields.Length())
	}
	id, _ := fields.Attr("id")
	if label := strings.TrimSpace(page.text(`label[for="` + id + `"]`)); label != "Your password" {
		t.Errorf("the password field is labelled %q", label)
	}
	if why := page.text(`form[data-testid=windows-step-up] [data-testid=step-up-why]`); !strings.Contains(why, "last entered 7 minutes ago") ||
		!strings.Contains(why, "for 5 minutes after, the changes on this page need it no more") {
		t.Errorf("the form says: %q", why)
	}
	// A change without it is refused, and told where to enter it.
	before := e.windowsState()
	remove := "/admin/windows/" + page.attr(`[data-testid=window-op-stop] [data-testid=window] form`, "action")[len("/admin/windows/"):]
	res := a2.post(remove, url.Values{})
	if res.status != http.StatusForbidden || !strings.Contains(res.text("#step_up_password-windows-error"), "Confirm it at the top of the page") ||
		e.windowsState() != before {
		t.Fatalf("a removal without the password: %d, at the field %q, changed: %v", res.status, res.text("#step_up_password-windows-error"),
			e.windowsState() != before)
	}
	res = a2.post("/admin/windows/step-up", url.Values{"step_up_password": {"not-the-password"}})
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.text("#step_up_password-windows-error"), "not your password") {
		t.Fatalf("a wrong password: %d, at the field %q", res.status, res.text("#step_up_password-windows-error"))
	}
	if n := a2.get("/admin/windows").doc.Find(`input[name=step_up_password]`).Length(); n != 1 {
		t.Fatalf("after a wrong password the page asks in %d fields; want still 1", n)
	}
	res = a2.post("/admin/windows/step-up", url.Values{"step_up_password": {password}})
	if res.status != http.StatusSeeOther {
		t.Fatalf("confirming the password: %d %q", res.status, res.text("main"))
	}
	confirmed := false
	for _, ev := range e.events(audit.ActionReauthenticated) {
		confirmed = confirmed || ev.Actor.Name == "admin2@example.com" && strings.Contains(string(ev.Detail), `"for":"change the change windows"`)
	}
	if !confirmed {
		t.Error("the password confirmed at the top of the windows page is not on record as a step-up")
	}
	page = a2.get("/admin/windows")
	if n := page.doc.Find(`input[name=step_up_password]`).Length(); n != 0 {
		t.Errorf("just after confirming, the page still asks in %d fields", n)
	}
	if !strings.Contains(page.text(`[data-testid=flash]`), "Your password is confirmed") {
		t.Errorf("the note after confirming: %q", page.text(`[data-testid=flash]`))
	}
	// The row's change and the waiting change's approval now go through
	// without it.
	if res := a2.post(remove, url.Values{}); res.status != http.StatusSeeOther || e.windowsState() == before {
		t.Fatalf("removing one of stop's windows after confirming: %d %q", res.status, res.text("main"))
	}
	change := page.attr(`[data-testid=admin-change]`, "data-change")
	if res := a2.post("/admin/changes/"+change+"/approve", url.Values{}); res.status != http.StatusSeeOther {
		t.Fatalf("approving the waiting change after confirming: %d %q", res.status, res.text("main"))
	}
}
