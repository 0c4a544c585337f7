package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"drportal/internal/portal"
)

// TestAnEmergencysPageHasNoDecisionsCard: nobody approved an emergency
// (break-glass bypassed the quorum), so its page shows its review card and
// no "Decisions" card saying that nobody has decided yet; a request filed
// for approval still shows its decisions.
func TestAnEmergencysPageHasNoDecisionsCard(t *testing.T) {
	e := newEnv(t)
	e.addUser("resp@example.com", portal.RoleResponder)
	id := e.createTask("dr_nodecide01")
	e.breakGlassOn(portal.OpStart)
	rid := e.emergencyStart(e.signedIn("resp@example.com"), id)
	admin := e.signedIn("admin@example.com")
	page := admin.get(fmt.Sprintf("/requests/%d", rid))
	if page.doc.Find(`[data-testid=emergency-panel]`).Length() != 1 {
		t.Fatalf("the emergency's page has no review card: %q", page.text("main"))
	}
	if page.doc.Find(`#request-card h2:contains("Decisions")`).Length() != 0 || page.doc.Find(`[data-testid=decisions]`).Length() != 0 {
		t.Errorf("the emergency's page shows a Decisions card: %q", page.text("#request-card"))
	}

	n := e.pendingCreate("dr_nodecide02")
	if page := admin.get(fmt.Sprintf("/requests/%d", n)); page.doc.Find(`[data-testid=decisions] h2:contains("Decisions")`).Length() != 1 {
		t.Errorf("a request filed for approval shows no Decisions card: %q", page.text("#request-card"))
	}
}

// TestTheRequestsBadgeCountsEmergenciesAwaitingTheApproversReview: while
// an emergency awaits an approver's post-incident review, the header's
// Requests count counts it, and its words and tooltip say so; the
// "Awaiting my approval" tab lists it. Once that approver has reviewed
// it, it is no longer counted for them.
func TestTheRequestsBadgeCountsEmergenciesAwaitingTheApproversReview(t *testing.T) {
	e := newEnv(t)
	e.addUser("resp@example.com", portal.RoleResponder)
	e.addUser("alice@example.com", portal.RoleApprover)
	id := e.createTask("dr_badgerev01")
	e.breakGlassOn(portal.OpStart)
	rid := e.emergencyStart(e.signedIn("resp@example.com"), id)
	alice := e.signedIn("alice@example.com")

	page := alice.get("/dr-tasks")
	if got := page.text(`[data-testid=awaiting-count]`); got != "1" {
		t.Errorf("the Requests count shows %q while an emergency awaits alice's review", got)
	}
	says := "0 requests await your approval; 1 emergency awaits your review"
	if got := strings.Join(strings.Fields(page.text(`[data-testid=awaiting-words]`)), " "); got != says {
		t.Errorf("the count reads %q", got)
	}
	if got := page.attr(`#awaiting-count`, "title"); got != says {
		t.Errorf("the count's tooltip: %q", got)
	}
	if got := alice.get("/requests/count", "HX-Request", "true").text(`[data-testid=awaiting-count]`); got != "1" {
		t.Errorf("the refreshed count shows %q", got)
	}
	list := alice.get("/requests")
	if href := list.attr(`[data-testid=request-row]:has([data-testid=awaits-review]) [data-testid=request-link]`, "href"); href != fmt.Sprintf("/requests/%d", rid) {
		t.Errorf("the awaiting tab links %q for the review: %q", href, list.text(`[data-testid=request-table]`))
	}

	if res := e.review(alice, rid, "acknowledge", "the power cut justified it"); res.status != http.StatusSeeOther {
		t.Fatalf("review: %d %q", res.status, res.text("main"))
	}
	page = alice.get("/dr-tasks")
	if got := page.text(`[data-testid=awaiting-count]`); got != "0" {
		t.Errorf("after reviewing, the count shows %q", got)
	}
	if page.attr(`#awaiting-count`, "title") != "0 requests await your approval" {
		t.Errorf("after reviewing, the tooltip: %q", page.attr(`#awaiting-count`, "title"))
	}
	if n := alice.get("/requests").doc.Find(`[data-testid=awaits-review]`).Length(); n != 0 {
		t.Errorf("after reviewing, the awaiting tab still links the review")
	}
}

// TestABarredResponderSeesWhyOnTheTaskPageNotABreakGlassButton: while a
// responder's own emergency waits for its review, or after a reviewer
// flagged it, the task page shows them no "Break glass" button (it would
// only lead to the refusal) but why they cannot and what clears it: the
// reviews so far, or an admin clearing the flag. Once the flag is
// cleared, the buttons are back.
func TestABarredResponderSeesWhyOnTheTaskPageNotABreakGlassButton(t *testing.T) {
	e := newEnv(t)
	e.addUser("resp@example.com", portal.RoleResponder)
	e.addUser("alice@example.com", portal.RoleApprover)
	id := e.createTask("dr_barred01")
	e.breakGlassOn(portal.OpStart, portal.OpSwitchover)
	resp := e.signedIn("resp@example.com")
	rid := e.emergencyStart(resp, id)
	see := fmt.Sprintf("See request #%d.", rid)
	barred := func(want ...string) {
		t.Helper()
		page := resp.get("/dr-tasks/" + id)
		if n := page.doc.Find(`[data-testid=break-glass-ops] a`).Length(); n != 0 {
			t.Errorf("the barred responder is offered %d break-glass buttons", n)
		}
		got := page.text(`[data-testid=break-glass-barred]`)
		for _, w := range append(want, see) {
			if !strings.Contains(got, w) {
				t.Errorf("the task page says %q, want %q in it", got, w)
			}
		}
		if href := page.attr(`[data-testid=barred-link]`, "href"); href != fmt.Sprintf("/requests/%d", rid) {
			t.Errorf("the note links %q", href)
		}
	}
	barred(fmt.Sprintf("your emergency #%d has not been reviewed by two approvers yet (0 of 2 so far)", rid))
	if res := e.review(e.signedIn("alice@example.com"), rid, "acknowledge", "the power cut justified it"); res.status != http.StatusSeeOther {
		t.Fatalf("review: %d %q", res.status, res.text("main"))
	}
	barred("(1 of 2 so far)", "neither flagged it")
	admin := e.signedIn("admin@example.com")
	if res := e.review(admin, rid, "flag", "no incident ticket was open at the time"); res.status != http.StatusSeeOther {
		t.Fatalf("flag: %d %q", res.status, res.text("main"))
	}
	barred(fmt.Sprintf("a reviewer flagged your emergency #%d", rid), "An admin must clear the flag", "the admins: admin.")

	if res := e.clearFlag(admin, "/admin/break-glass", rid, url.Values{"comment": {"the ticket was opened late; it was real"}}); res.status != http.StatusSeeOther {
		t.Fatalf("clear the flag: %d %q", res.status, res.text("main"))
	}
	page := resp.get("/dr-tasks/" + id)
	if page.doc.Find(`[data-testid=break-glass-switchover]`).Length() != 1 || page.doc.Find(`[data-testid=break-glass-barred]`).Length() != 0 {
		t.Errorf("once the flag is cleared, the task page: %q", page.text(`[data-testid=break-glass-ops]`)+page.text(`[data-testid=break-glass-barred]`))
	}
}

// TestTheAwaitingTabListsTheEmergenciesTheBadgeCounts: an emergency
// awaiting an approver's post-incident review is a row of their "Awaiting
// my approval" tab, marked "awaits your review", so that the tab is never
// "No requests here" while the header's count says 1; someone who has
// reviewed it, or may not, does not see it there.
func TestTheAwaitingTabListsTheEmergenciesTheBadgeCounts(t *testing.T) {
	e := newEnv(t)
	e.addUser("resp@example.com", portal.RoleResponder)
	e.addUser("alice@example.com", portal.RoleApprover)
	id := e.createTask("dr_tabrev01")
	e.breakGlassOn(portal.OpStart)
	rid := e.emergencyStart(e.signedIn("resp@example.com"), id)
	alice := e.signedIn("alice@example.com")

	list := alice.get("/requests?tab=awaiting")
	rows := list.doc.Find(`[data-testid=request-row]`)
	if got := list.text(`[data-testid=awaiting-count]`); got != "1" || rows.Length() != 1 {
		t.Fatalf("the count shows %q and the tab %d rows: %q", got, rows.Length(), list.text(`main`))
	}
	if rows.AttrOr("data-id", "") != fmt.Sprint(rid) || rows.Find(`[data-testid=awaits-review]`).Text() != "awaits your review" {
		t.Errorf("the row is %s, marked %q", rows.AttrOr("data-id", ""), rows.Find(`[data-testid=awaits-review]`).Text())
	}
	// The responder, who may not review it, does not have it awaiting.
	if n := e.signedIn("resp@example.com").get("/requests?tab=awaiting").doc.Find(`[data-testid=request-row]`).Length(); n != 0 {
		t.Errorf("the responder's awaiting tab lists %d rows", n)
	}
	if res := e.review(alice, rid, "acknowledge", "the power cut justified it"); res.status != http.StatusSeeOther {
		t.Fatalf("review: %d %q", res.status, res.text("main"))
	}
	if n := alice.get("/requests?tab=awaiting").doc.Find(`[data-testid=request-row]`).Length(); n != 0 {
		t.Errorf("after reviewing, the awaiting tab lists %d rows", n)
	}
}
