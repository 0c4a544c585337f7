package handlers_test

import (
	"net/http"
	"testing"

	"drportal/internal/portal"
)

// TestATaskPageSaysWhichBreakGlassOperationsItsStateRulesOut: beside the
// break-glass buttons, a responder reads which operations break-glass
// allows that the task's state does not, and when they are possible; the
// refused form's address leads back to the task, not to the task list.
func TestATaskPageSaysWhichBreakGlassOperationsItsStateRulesOut(t *testing.T) {
	e := newEnv(t)
	e.addUser("resp@example.com", portal.RoleResponder)
	id := e.runningTask("dr_bgnotnow1")
	e.breakGlassOn(portal.OpFailover, portal.OpSwitchover)
	resp := e.signedIn("resp@example.com")
	page := resp.get("/dr-tasks/" + id)
	if page.doc.Find(`[data-testid=break-glass-switchover]`).Length() != 1 || page.doc.Find(`[data-testid=break-glass-failover]`).Length() != 0 {
		t.Fatalf("the break-glass buttons: %q", page.text(`[data-testid=break-glass-ops]`))
	}
	if got := page.text(`[data-testid=break-glass-ops] [data-testid=break-glass-not-now]`); got != "Failover: only when the primary is down (a broken pair); this task is running." {
		t.Errorf("beside the buttons: %q", got)
	}
	refused := resp.get("/dr-tasks/" + id + "/break-glass/failover")
	if refused.status != http.StatusConflict || refused.attr(`[data-testid=error-back]`, "href") != "/dr-tasks/"+id ||
		refused.text(`[data-testid=error-back]`) != "Back to the DR task" {
		t.Errorf("the refused failover form: %d, back to %q (%q)", refused.status, refused.attr(`[data-testid=error-back]`, "href"), refused.text(`[data-testid=error-back]`))
	}
}
