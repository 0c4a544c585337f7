package handlers_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"drportal/internal/auth"
	"drportal/internal/portal"
)

// TestARequestThatCannotRunDoesNotCountAsAwaiting: the header's count and
// the landing banner count only requests an approval could still run;
// one its task can no longer run is listed, marked "cannot run", for an
// approver to reject.
func TestARequestThatCannotRunDoesNotCountAsAwaiting(t *testing.T) {
	e := newEnv(t)
	e.addUser("bob@example.com", auth.RoleApprover)
	req := e.signedIn("req@example.com")
	admin := e.signedIn("admin@example.com")
	task := e.createTask("dr_count01")
	start := requestIDFrom(t, e.fileOperation(req, task, "start", url.Values{"justification": {"protect the warehouse"}}))
	update := requestIDFrom(t, e.fileOperation(req, task, "update", url.Values{"dr_sync_period": {"10m"}, "justification": {"tune the sync period"}}))
	e.decide(admin, start, "approve", "")
	e.waitRequest(start, portal.StatusSucceeded)
	// Running: the update can no longer run; a stop can.
	stop := requestIDFrom(t, e.fileOperation(req, task, "stop", url.Values{"justification": {"maintenance window"}}))

	bob := e.signedIn("bob@example.com")
	landing := bob.get("/dr-tasks")
	if got := landing.text(`[data-testid=awaiting-count]`); got != "1" {
		t.Errorf("header count %q, want 1 (the stop, not the update)", got)
	}
	if got := landing.text(`[data-testid=awaiting-banner]`); !strings.Contains(got, "1 request awaits your approval") {
		t.Errorf("landing banner %q", got)
	}
	if got := bob.get("/requests/count", "HX-Request", "true").text(`[data-testid=awaiting-count]`); got != "1" {
		t.Errorf("refreshed count %q", got)
	}
	list := bob.get("/requests?tab=awaiting")
	row := func(id int64) string {
		return fmt.Sprintf(`[data-testid=request-row][data-id="%d"]`, id)
	}
	if b := list.doc.Find(row(update) + ` [data-testid=cannot-run-badge]`); b.Length() != 1 || !strings.Contains(b.AttrOr("title", ""), "running") {
		t.Errorf("the update's row is not marked: %q", list.text(row(update)))
	}
	if list.doc.Find(row(stop)+` [data-testid=cannot-run-badge]`).Length() != 0 || list.doc.Find(row(stop)).Length() != 1 {
		t.Errorf("the stop's row: %q", list.text(row(stop)))
	}
}
