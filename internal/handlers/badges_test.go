package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"drportal/internal/auth"
	"drportal/internal/portal"
)

// TestTheHeaderBadgesSayWhatWaitsInWords: a screen reader hears the
// header's counts as sentences ("1 request awaits your approval", "1
// admin change awaits you"), not a bare number; the number stays visible.
// The Admin link leads to where the waiting change is: the policy page
// for a policy change, the users for a role grant.
func TestTheHeaderBadgesSayWhatWaitsInWords(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	n := e.pendingCreate("dr_badge01")
	admin := e.signedIn("admin@example.com")
	page := admin.get("/dr-tasks")
	if got := strings.Join(strings.Fields(page.text(`[data-testid=nav-requests]`)), " "); !strings.Contains(got, "1 request awaits your approval") {
		t.Errorf("the Requests link reads %q", got)
	}
	if got := page.text(`[data-testid=awaiting-count]`); got != "1" {
		t.Errorf("the visible count is %q", got)
	}
	e.decide(admin, n, "approve", "")
	if got := admin.get("/requests/count", "HX-Request", "true").text(`#awaiting-count`); !strings.Contains(strings.Join(strings.Fields(got), " "), "0 requests await your approval") {
		t.Errorf("the refreshed count reads %q", got)
	}

	// A second admin; the first proposes a policy change.
	e.addUser("admin2@example.com", auth.RoleAdmin)
	second := e.signedIn("admin2@example.com")
	cur, err := e.store.CurrentPolicy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"pending_ttl": {"3 days"}, "approval_ttl": {portal.FormatDuration(cur.ApprovalTTL)}}
	for _, op := range portal.Operations {
		form.Set("approvals_"+string(op), strconv.Itoa(cur.Approvals[op]))
	}
	if r := admin.post("/admin/policy", form); r.status != http.StatusSeeOther {
		t.Fatalf("propose: %d %s", r.status, r.text(`.error`))
	}
	page = second.get("/dr-tasks")
	if got := strings.Join(strings.Fields(page.text(`[data-testid=nav-admin]`)), " "); !strings.Contains(got, "1 admin change awaits you") {
		t.Errorf("the Admin link reads %q", got)
	}
	if href := page.attr(`[data-testid=nav-admin]`, "href"); href != "/admin/policy" {
		t.Errorf("with a policy change waiting, the Admin link leads to %q", href)
	}
	if href := admin.get("/dr-tasks").attr(`[data-testid=nav-admin]`, "href"); href != "/admin/users" {
		t.Errorf("the proposer's Admin link leads to %q", href)
	}

	// A role grant waits too: the users page has it.
	dan := e.addUser("dan@example.com", auth.RoleRequester)
	if r := admin.post(fmt.Sprintf("/admin/users/%d/roles", dan.ID), url.Values{"roles": {"requester", "approver"}}); r.status != http.StatusSeeOther {
		t.Fatalf("grant: %d", r.status)
	}
	page = second.get("/dr-tasks")
	if got := strings.Join(strings.Fields(page.text(`[data-testid=nav-admin]`)), " "); !strings.Contains(got, "2 admin changes await you") {
		t.Errorf("the Admin link reads %q", got)
	}
	if href := page.attr(`[data-testid=nav-admin]`, "href"); href != "/admin/users" {
		t.Errorf("with a role grant waiting, the Admin link leads to %q", href)
	}
}
