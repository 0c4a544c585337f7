package handlers_test

import (
	"context"
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
