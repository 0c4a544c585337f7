package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"drportal/internal/portal"
)

// TestADecidedRequestSaysItsStatusInWords: a request past pending tells an
// approver why it cannot be decided with the status as its badge says it.
func TestADecidedRequestSaysItsStatusInWords(t *testing.T) {
	e := newEnv(t)
	e.createTask("dr_said01")
	page := e.signedIn("admin@example.com").get("/requests/1")
	if got := page.text(`[data-testid=decide-why]`); got != "This request can no longer be decided: its status is Succeeded." {
		t.Errorf("a succeeded request says %q", got)
	}
}

// TestTheTaskPageSaysTheSyncPeriodInWords: "every 5 minutes", with the
// API's value in the tooltip like the other fields shown in words.
func TestTheTaskPageSaysTheSyncPeriodInWords(t *testing.T) {
	e := newEnv(t)
	id := e.createTask("dr_said02")
	eventually(t, "the task read", func() bool {
		row, err := e.store.Task(context.Background(), id)
		return err == nil && row.DetailFetchedAt != nil
	})
	page := e.signedIn("req@example.com").get("/dr-tasks/" + id)
	field := page.doc.Find(`#task-panel [data-field="Sync period"]`)
	if field.Text() != "every 5 minutes" || field.AttrOr("title", "") != "5m" || field.AttrOr("data-raw", "") != "5m" {
		t.Errorf("sync period field %q, title %q", field.Text(), field.AttrOr("title", ""))
	}
}

// TestAProposedPolicySaysDurationsAsThePolicyFormDoes: a waiting policy
// change words its durations as the form shows them ("1 day 12 hours"),
// with the one formatter the portal has.
func TestAProposedPolicySaysDurationsAsThePolicyFormDoes(t *testing.T) {
	e := newEnv(t)
	admin := e.signedIn("admin@example.com")
	cur, err := e.store.CurrentPolicy(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"pending_ttl": {"36h"}, "approval_ttl": {portal.FormatDuration(cur.ApprovalTTL)}}
	for _, op := range portal.Operations {
		form.Set("approvals_"+string(op), strconv.Itoa(cur.Approvals[op]))
	}
	if r := admin.post("/admin/policy", form); r.status != http.StatusSeeOther {
		t.Fatalf("propose: %d %s", r.status, r.text(`.error`))
	}
	waiting := admin.get("/admin/policy")
	if got := waiting.text(`[data-testid=admin-change]`); !strings.Contains(got, "expires after 7 days → 1 day 12 hours") {
		t.Errorf("the proposal reads %q", got)
	}
}

// TestNoPageShowsTheAPIsRawValues: the sync period, a task's status, the
// start of its history and the policy's operations are said in words on
// every page a newcomer reads (the raw value stays in a tooltip), and the
// sole admin's note on the policy page says where accounts are made.
func TestNoPageShowsTheAPIsRawValues(t *testing.T) {
	e := newEnv(t)
	id := e.createTask("dr_words01")
	e.pendingCreate("dr_words02")
	admin := e.signedIn("admin@example.com")

	list := admin.get("/dr-tasks")
	for _, sel := range []string{`[data-testid=task-row] td[data-label="Sync period"]`, `[data-testid=pending-create] td[data-label="Sync period"]`} {
		cell := list.doc.Find(sel)
		if cell.Text() != "5 minutes" || cell.AttrOr("title", "") != "5m" {
			t.Errorf("the task list's %s says %q (title %q), want 5 minutes", sel, cell.Text(), cell.AttrOr("title", ""))
		}
	}
	start := admin.get("/dr-tasks/" + id + "/operations/start")
	if got := start.text(`[data-testid=consequence]`); !strings.Contains(got, "every 5 minutes") {
		t.Errorf("the start form says %q", got)
	}
	update := admin.get("/dr-tasks/" + id + "/operations/update")
	if got := update.text("main"); strings.Contains(got, "5m") {
		t.Errorf("the update form shows 5m: %q", got)
	}
	if got := admin.get("/dr-tasks/new").text("main"); strings.Contains(got, "unstart") {
		t.Errorf("the create form shows unstart")
	}
	eventually(t, "the task read", func() bool {
		row, err := e.store.Task(context.Background(), id)
		return err == nil && row.DetailFetchedAt != nil
	})
	n := requestIDFrom(t, e.fileOperation(e.signedIn("req@example.com"), id, "start", url.Values{"justification": {"quarterly DR drill"}}))
	filed := admin.get(fmt.Sprintf("/requests/%d", n))
	if got := filed.text(`[data-testid=summary-status-now]`); !strings.HasPrefix(got, "Not started") {
		t.Errorf("the start request's status now is %q", got)
	}
	if got := filed.text(`[data-testid=summary-sync-period]`); got != "every 5 minutes" {
		t.Errorf("the start request's sync period is %q", got)
	}
	if got := admin.get("/requests/1").text(`[data-testid=timeline]`); strings.Contains(got, "(start)") || !strings.Contains(got, "(new) → ") {
		t.Errorf("the history's first step reads %q", got)
	}

	policy := admin.get("/admin/policy")
	if got := policy.text(`label[for=approvals_update]`); !strings.HasPrefix(got, "Change sync period") {
		t.Errorf("the policy labels the update operation %q", got)
	}
	if got := policy.text(`label[for=approvals_create]`); !strings.HasPrefix(got, "Create") {
		t.Errorf("the policy labels the create operation %q", got)
	}
	sole := policy.text(`[data-testid=sole-admin]`)
	if strings.Contains(sole, "below") || !strings.Contains(sole, "Admin → Users") || policy.attr(`[data-testid=sole-admin] a`, "href") != "/admin/users" {
		t.Errorf("the policy page's sole-admin note says %q", sole)
	}
	if got := admin.get("/admin/users").text(`[data-testid=sole-admin]`); !strings.Contains(got, "Add a second admin below") {
		t.Errorf("the users page's sole-admin note says %q", got)
	}
}
