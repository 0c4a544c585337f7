package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"drportal/internal/auth"
	"drportal/internal/portal"
)

// TestListsCountTheApprovalsGivenAsTheTaskPageDoes: after one of two
// approvals, the task list's chip and the request list's row say "1 of 2",
// as the task page's chip does, not "0 of 2" or only what it needs.
func TestListsCountTheApprovalsGivenAsTheTaskPageDoes(t *testing.T) {
	e := newEnv(t)
	e.addUser("bob@example.com", auth.RoleApprover)
	id := e.runningTask("dr_count01")
	req := e.signedIn("req@example.com")
	sw, confirm := e.pendingOperation(req, id, "switchover", nil)
	if r := e.approve(e.signedIn("bob@example.com"), sw, confirm, password); r.status != http.StatusSeeOther {
		t.Fatalf("approve: %d %q", r.status, r.text("main"))
	}
	want := fmt.Sprintf("Switchover · Awaiting approval 1 of 2 · request #%d", sw)
	if chip := req.get("/dr-tasks").text(`[data-testid=request-chip]`); chip != want {
		t.Errorf("task list chip %q, want %q", chip, want)
	}
	row := req.get("/requests?tab=all").text(fmt.Sprintf(`[data-testid=request-row][data-id="%d"] [data-label=Approvals]`, sw))
	if !strings.Contains(row, "1 of 2") {
		t.Errorf("request list's approvals cell %q, want it to say 1 of 2", row)
	}
}

// TestAnApprovedRequestThatWaitsSaysForWhatAndUntilWhen: an approved
// request outside its change window is not "about to run": its chips on
// the task list and the task page say it waits for the window and when
// that opens, or for a freeze to end; the task page says why no operation
// can be filed, and shows the freeze line though there are no buttons.
func TestAnApprovedRequestThatWaitsSaysForWhatAndUntilWhen(t *testing.T) {
	e := newEnv(t)
	taskID, id := e.waitingStart("dr_waits01")
	req := e.signedIn("req@example.com")
	r, err := e.store.Request(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	sched, err := e.store.Schedule(context.Background(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	g := portal.WindowState(portal.OpStart, sched, time.Now(), false)
	want := fmt.Sprintf("Start · Approved, waits for the window: %s · request #%d", portal.FormatOpening(g.RunsAt, "UTC"), r.ID)
	if chip := req.get("/dr-tasks").text(`[data-testid=request-chip]`); chip != want {
		t.Errorf("task list chip %q, want %q", chip, want)
	}
	page := req.get("/dr-tasks/" + taskID)
	if chip := page.text(`[data-testid=request-chip]`); chip != want {
		t.Errorf("task page chip %q, want %q", chip, want)
	}
	if note := page.text(`[data-testid=busy-note]`); note != fmt.Sprintf("Request #%d is approved and waits to run; no other operation can be filed until it runs or is cancelled.", id) {
		t.Errorf("the task page's note by the missing buttons says %q", note)
	}

	e.freeze(time.Now().Add(-time.Minute), time.Now().Add(time.Hour), "quarter close")
	page = req.get("/dr-tasks/" + taskID)
	if chip := page.text(`[data-testid=request-chip]`); !strings.Contains(chip, "Approved, waits for the freeze to end (") ||
		!strings.Contains(chip, "then for the window: "+portal.FormatOpening(g.RunsAt, "UTC")) {
		t.Errorf("task page chip in a freeze %q", chip)
	}
	if line := page.text(`[data-testid=freeze-line]`); !strings.Contains(line, "quarter close") {
		t.Errorf("the task page's freeze line %q, want the freeze", line)
	}
}

// TestAFreezeRefusalOnTheFormIsSaidOnceLinkingTheFreeze: an operation
// filed during a freeze all the same comes back refused once, at the top,
// linking an admin to the freeze; no second box or note by the button
// says it again.
func TestAFreezeRefusalOnTheFormIsSaidOnceLinkingTheFreeze(t *testing.T) {
	e := newEnv(t)
	id := e.createTask("dr_frozenonce1")
	now := time.Now()
	e.freeze(now.Add(-time.Minute), now.Add(3*time.Hour), "storage migration")
	admin := e.signedIn("admin@example.com")
	res := e.fileOperation(admin, id, "start", url.Values{"justification": {"start it for the migration test"}})
	if res.status != http.StatusConflict || !strings.Contains(res.text(`[data-testid=submit-error]`), "storage migration") {
		t.Fatalf("a start filed during the freeze: %d %q", res.status, res.text(`[data-testid=submit-error]`))
	}
	if href := res.attr(`[data-testid=submit-error] a`, "href"); href != "/admin/windows" {
		t.Errorf("the refusal links %q, want the freeze under Admin → Change windows", href)
	}
	for _, sel := range []string{`[data-testid=form-window]`, `[data-testid=file-operation-frozen]`} {
		if n := res.doc.Find(sel).Length(); n != 0 {
			t.Errorf("the refused form still says it by the button: %s %q", sel, res.text(sel))
		}
	}
	if res.attr(`[data-testid=file-operation]`, "aria-describedby") != "submit-error" {
		t.Errorf("the disabled button is described by %q", res.attr(`[data-testid=file-operation]`, "aria-describedby"))
	}
	// A requester, who cannot open the admin pages, is not linked there.
	res = e.fileOperation(e.signedIn("req@example.com"), id, "start", url.Values{"justification": {"start it for the migration test"}})
	if n := res.doc.Find(`[data-testid=submit-error] a`).Length(); res.status != http.StatusConflict || n != 0 {
		t.Errorf("a requester's refusal: %d, %d links", res.status, n)
	}
}

// TestTheProposerOfAGrantIsToldWhatTheApprovingAdminIsWarnedOf: the
// warning that the proposer chose the account's first password is for
// the admin who decides; the proposer reads that that admin is warned,
// not a warning addressed to them.
func TestTheProposerOfAGrantIsToldWhatTheApprovingAdminIsWarnedOf(t *testing.T) {
	e := newEnv(t)
	e.addUser("admin2@example.com", auth.RoleAdmin)
	a := e.signedIn("admin@example.com")
	if r := a.post("/admin/users", url.Values{"email": {"rita@example.com"}, "display_name": {"Rita"},
		"password": {initialPassword}}); r.status != http.StatusSeeOther {
		t.Fatalf("create: %d", r.status)
	}
	rita, _ := e.store.UserByEmail(context.Background(), "rita@example.com")
	if r := a.post(fmt.Sprintf("/admin/users/%d/roles", rita.ID), url.Values{"roles": {"approver"}}); r.status != http.StatusSeeOther {
		t.Fatalf("propose: %d", r.status)
	}
	w := a.get("/admin/users").text(`[data-testid=change-warning]`)
	if strings.Contains(w, "You chose the first password") || strings.Contains(w, "Make sure with") ||
		!strings.Contains(w, "The approving admin is warned that you chose the first password of rita@example.com") {
		t.Errorf("the proposer reads %q", w)
	}
	if w := e.signedIn("admin2@example.com").get("/admin/users").text(`[data-testid=change-warning]`); !strings.Contains(w, "admin@example.com chose the first password of rita@example.com") {
		t.Errorf("the second admin reads %q", w)
	}
}

// TestTheRequestListSaysThePasswordIsSetAfterADeepLink: someone who
// signed in on a link to the request list, and chose their password on
// the way, reads there that it is set, as they would on the task list.
func TestTheRequestListSaysThePasswordIsSetAfterADeepLink(t *testing.T) {
	e := newEnv(t)
	admin := e.signedIn("admin@example.com")
	if r := admin.post("/admin/users", url.Values{"email": {"bea@example.com"}, "display_name": {"Bea"}, "password": {initialPassword}, "roles": {"approver"}}); r.status != http.StatusSeeOther {
		t.Fatalf("create: %d %s", r.status, r.text("main"))
	}
	b := e.browser()
	if res := b.post("/signin", url.Values{"email": {"bea@example.com"}, "password": {initialPassword}, "next": {"/requests?tab=all"}}); res.status != http.StatusSeeOther {
		t.Fatalf("the first sign-in: %d", res.status)
	}
	r := b.postFrom("/profile/password", "/profile/password", url.Values{"current_password": {initialPassword},
		"new_password": {newPassword}, "repeat_password": {newPassword}, "next": {"/requests?tab=all"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/requests?tab=all" {
		t.Fatalf("the first change of password: %d to %q", r.status, r.header.Get("Location"))
	}
	if got := b.get("/requests?tab=all").text(`[data-testid=flash]`); !strings.Contains(got, "Your password is set") {
		t.Errorf("the request list's note says %q", got)
	}
}
