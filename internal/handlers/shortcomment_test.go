package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"drportal/internal/audit"
	"drportal/internal/auth"
	"drportal/internal/portal"
)

// TestAReviewOrAFlagClearedNeedsACommentOfTenCharacters: a post-incident
// review, and an admin's clearing of a flag, with a comment of fewer than
// 10 characters other than spaces ("ok", or nine letters spread out with
// spaces) come back with a clear form error and change nothing; 10 do.
func TestAReviewOrAFlagClearedNeedsACommentOfTenCharacters(t *testing.T) {
	e := newEnv(t)
	e.addUser("resp@example.com", portal.RoleResponder)
	e.addUser("appr1@example.com", auth.RoleApprover)
	e.addUser("appr2@example.com", auth.RoleApprover)
	id := e.createTask("dr_shortc1")
	e.breakGlassOn(portal.OpStart)
	rid := e.emergencyStart(e.signedIn("resp@example.com"), id)
	a1, a2 := e.signedIn("appr1@example.com"), e.signedIn("appr2@example.com")
	reviews := func() int {
		got, err := e.store.Emergency(context.Background(), rid)
		if err != nil {
			t.Fatal(err)
		}
		return len(got.Reviews)
	}
	for _, short := range []string{"x", "ok", "a b c d e f g h i"} {
		res := e.review(a1, rid, "flag", short)
		if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.text(`[data-testid=review-error]`), "at least 10 characters") {
			t.Errorf("a review commented %q: %d %q", short, res.status, res.text(`[data-testid=review-error]`))
		}
	}
	if n := reviews(); n != 0 || len(e.events(audit.ActionBreakGlassReview)) != 0 {
		t.Fatalf("short comments recorded %d reviews", n)
	}
	if res := e.review(a1, rid, "flag", "a b c d e f g h i j"); res.status != http.StatusSeeOther {
		t.Fatalf("a review of 10 characters: %d %q", res.status, res.text(`[data-testid=review-error]`))
	}
	if res := e.review(a2, rid, "flag", "no incident ticket at the time"); res.status != http.StatusSeeOther {
		t.Fatalf("the second review: %d %q", res.status, res.text(`[data-testid=review-error]`))
	}

	admin := e.signedIn("admin@example.com")
	for _, short := range []string{"ok", "a b c d e f g h i"} {
		res := e.clearFlag(admin, "/admin/break-glass", rid, url.Values{"comment": {short}})
		if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.text(`[data-testid=clear-flag-error]`), "at least 10 characters") {
			t.Errorf("clearing the flag commented %q: %d %q", short, res.status, res.text(`[data-testid=clear-flag-error]`))
		}
	}
	if got, _ := e.store.Emergency(context.Background(), rid); got.FlagClearedAt != nil || len(e.events(audit.ActionBreakGlassFlagCleared)) != 0 {
		t.Fatal("a short comment cleared the flag")
	}
	if res := e.clearFlag(admin, "/admin/break-glass", rid, url.Values{"comment": {"talked it through"}}); res.status != http.StatusSeeOther {
		t.Fatalf("clearing the flag: %d %q", res.status, res.text("main"))
	}
}
