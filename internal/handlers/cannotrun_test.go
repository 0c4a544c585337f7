package handlers_test

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"drportal/internal/auth"
	"drportal/internal/db"
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

// TestTheHeaderCountsEveryAwaitingRequestBeyondThoseJudged: the session's
// read judges the newest db.MaxAwaitingStates awaiting requests one by one,
// but counts them all.
func TestTheHeaderCountsEveryAwaitingRequestBeyondThoseJudged(t *testing.T) {
	e := newEnv(t)
	e.addUser("bob@example.com", auth.RoleApprover)
	req := e.signedIn("req@example.com")
	task := e.createTask("dr_count02")
	start := requestIDFrom(t, e.fileOperation(req, task, "start", url.Values{"justification": {"protect the warehouse"}}))
	// Copies of the pending start, each its own target, as if filed on as
	// many tasks: a backlog larger than the judged window.
	extra := db.MaxAwaitingStates + 10
	if _, err := e.store.Pool().Exec(context.Background(), `
		INSERT INTO requests (operation, dr_task_id, task_name, target_key, method, path, payload, payload_sha256,
			requester_id, justification, status, required_approvals, policy_version, created_at, expires_at)
		SELECT operation, dr_task_id, task_name, target_key || '#' || n, method, path, payload, payload_sha256,
			requester_id, justification, status, required_approvals, policy_version, created_at, expires_at
		FROM requests, generate_series(1, $2) AS n WHERE id = $1`, start, extra); err != nil {
		t.Fatal(err)
	}
	bob := e.signedIn("bob@example.com")
	want := strconv.Itoa(extra + 1)
	if got := bob.get("/dr-tasks").text(`[data-testid=awaiting-count]`); got != want {
		t.Errorf("header count %q, want %s", got, want)
	}
}
