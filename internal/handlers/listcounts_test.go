package handlers_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"drportal/internal/auth"
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
