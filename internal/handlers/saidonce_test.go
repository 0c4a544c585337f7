package handlers_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"drportal/internal/audit"
	"drportal/internal/auth"
	"drportal/internal/portal"
)

// TestTheDrillFormsRunAtHintIsShortSentencesOnTheSwitchoversWindows: held
// by the switchover's change windows, the drill form's "Run at" hint names
// them as the switchover's, not "its change window", in sentences short
// enough to read at a glance.
func TestTheDrillFormsRunAtHintIsShortSentencesOnTheSwitchoversWindows(t *testing.T) {
	e := newEnv(t)
	id, _ := e.runningSyncedTask("dr_drillhint1")
	opening := e.berlinWindowIn3Days(portal.OpSwitchover)
	hint := e.signedIn("req@example.com").get("/dr-tasks/" + id + "/operations/drill").text(`#run_at-hint`)
	if strings.Contains(hint, "its change window") || !strings.Contains(hint, "the switchover's change window opens, "+opening) ||
		!strings.Contains(hint, "the switchover's change windows") {
		t.Errorf("the hint says %q", hint)
	}
	for _, s := range strings.Split(hint, ". ") {
		if n := len(strings.Fields(s)); n > 30 {
			t.Errorf("a sentence of %d words: %q", n, s)
		}
	}
}

// TestAnApprovedDrillSaysOnceWhenItRuns: the last approval of a drill
// held by the switchover's window leaves a note that does not repeat when
// it runs, and the card says it once, in its "Runs", not again in a
// window box (what cancelling would stop aside).
func TestAnApprovedDrillSaysOnceWhenItRuns(t *testing.T) {
	e := newEnv(t)
	e.addUser("appr2@example.com", auth.RoleApprover)
	id, confirm := e.runningSyncedTask("dr_drillonce1")
	opening := e.berlinWindowIn3Days(portal.OpSwitchover)
	req := e.signedIn("req@example.com")
	rid := requestIDFrom(t, e.fileOperation(req, id, "drill",
		url.Values{"justification": {"quarterly DR drill, CHG-1101"}, "confirm": {confirm}, "run_at": {""}}))
	// The first approval directly, the last one through the page.
	u, err := e.store.UserByEmail(context.Background(), "appr2@example.com")
	if err != nil {
		t.Fatal(err)
	}
	cur, err := e.store.Request(context.Background(), rid)
	if err != nil {
		t.Fatal(err)
	}
	ctx := audit.WithActor(context.Background(), audit.Actor{ID: u.ID, Name: u.Email})
	if _, err := e.reqs.Decide(ctx, u, rid, portal.Approve, "drill agreed", hex.EncodeToString(cur.PayloadSHA256), cur.ConfirmName); err != nil {
		t.Fatal(err)
	}
	admin := e.signedIn("admin@example.com")
	if res := e.approve(admin, rid, cur.ConfirmName, ""); res.status != http.StatusSeeOther {
		t.Fatalf("the last approval: %d %q", res.status, res.text("main"))
	}
	page := admin.get(fmt.Sprintf("/requests/%d", rid))
	if r, _ := e.store.Request(context.Background(), rid); r.Status != portal.StatusApproved {
		t.Fatalf("the drill is %s, want approved and waiting", r.Status)
	}
	flash := page.text(`[data-testid=flash]`)
	if !strings.Contains(flash, "has all its approvals, and waits") || strings.Contains(flash, opening) {
		t.Errorf("the note says %q", flash)
	}
	// Once, besides what cancelling would stop.
	if n := strings.Count(page.text(`#request-card`), opening) - strings.Count(page.text(`[data-testid=cancel-form]`), opening); n != 1 {
		t.Errorf("the card says when it runs %d times: %q", n, page.text(`#request-card`))
	}
	if runs := page.text(`[data-testid=drill-runs-at]`); !strings.Contains(runs, opening) {
		t.Errorf("its Runs says %q", runs)
	}
}

// TestTheNotesAfterApprovingAndBreakingGlassStayTrueAndStay: the note a
// request page opens with after the last approval or after breaking glass
// is kept while the card refreshes itself whatever its status becomes,
// and so says nothing the card's status can later contradict ("is being
// executed", "runs now").
func TestTheNotesAfterApprovingAndBreakingGlassStayTrueAndStay(t *testing.T) {
	e := newEnv(t)
	e.addUser("resp@example.com", portal.RoleResponder)
	id := e.createTask("dr_notestay1")
	req, admin := e.signedIn("req@example.com"), e.signedIn("admin@example.com")
	start, _ := e.pendingOperation(req, id, "start", nil)
	if r := e.decide(admin, start, "approve", ""); r.status != http.StatusSeeOther {
		t.Fatalf("approve start: %d", r.status)
	}
	approved := admin.get(fmt.Sprintf("/requests/%d", start))
	if note := approved.text(`[data-testid=flash]`); !strings.Contains(note, "its status below updates by itself") ||
		strings.Contains(note, "being executed") || approved.attr(`[data-testid=flash]`, "data-keep-while") != "*" {
		t.Errorf("after the last approval the note says %q, kept while %q", note, approved.attr(`[data-testid=flash]`, "data-keep-while"))
	}
	e.waitRequest(start, portal.StatusSucceeded)

	id2 := e.createTask("dr_notestay2")
	e.breakGlassOn(portal.OpStart)
	resp := e.signedIn("resp@example.com")
	rid := requestIDFrom(t, e.breakGlass(resp, id2, portal.OpStart, e.startForm(id2, password)))
	page := resp.get(fmt.Sprintf("/requests/%d", rid))
	if note := page.text(`[data-testid=flash]`); !strings.Contains(note, "You broke glass") || strings.Contains(note, "runs now") ||
		!strings.Contains(note, "its status below updates by itself") || page.attr(`[data-testid=flash]`, "data-keep-while") != "*" {
		t.Errorf("after breaking glass the note says %q, kept while %q", note, page.attr(`[data-testid=flash]`, "data-keep-while"))
	}
}
