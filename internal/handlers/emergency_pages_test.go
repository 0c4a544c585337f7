package handlers_test

import (
	"fmt"
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
