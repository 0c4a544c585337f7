package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"drportal/internal/audit"
	"drportal/internal/auth"
	"drportal/internal/portal"
)

// TestAnApproverMadeAfterAnEmergencyDoesNotReviewIt: like a decision, a
// post-incident review is for approvers who held the role when the
// emergency was filed. One made an approver after it is offered no review
// form, told why, and refused if they post one (403, a denial on record,
// nothing recorded); the page says who reviews; an approver from before
// still can.
func TestAnApproverMadeAfterAnEmergencyDoesNotReviewIt(t *testing.T) {
	e := newEnv(t)
	e.addUser("resp@example.com", portal.RoleResponder)
	e.addUser("appr1@example.com", auth.RoleApprover)
	id := e.createTask("dr_latereview1")
	e.breakGlassOn(portal.OpStart)
	rid := e.emergencyStart(e.signedIn("resp@example.com"), id)
	emergency, err := e.store.Emergency(context.Background(), rid)
	if err != nil {
		t.Fatal(err)
	}
	late := e.addUser("late@example.com", auth.RoleApprover)
	if _, err := e.store.Pool().Exec(context.Background(), `UPDATE user_roles SET granted_at = $1 WHERE user_id = $2 AND role = 'approver'`,
		emergency.CreatedAt.Add(time.Second), late.ID); err != nil {
		t.Fatal(err)
	}

	b := e.signedIn("late@example.com")
	page := b.get(fmt.Sprintf("/requests/%d", rid))
	if page.doc.Find(`[data-testid=review-form]`).Length() != 0 ||
		!strings.Contains(page.text(`[data-testid=review-why]`), "You became an approver after this emergency was filed") {
		t.Errorf("the late approver is offered the review: form %d, why %q", page.doc.Find(`[data-testid=review-form]`).Length(),
			page.text(`[data-testid=review-why]`))
	}
	if who := page.text(`[data-testid=who-reviews]`); !strings.Contains(who, "approvers who held the role when it was filed") {
		t.Errorf("the page says of who reviews: %q", who)
	}
	before := e.deniedRows()
	if res := e.review(b, rid, "acknowledge", "looked at the incident ticket"); res.status != http.StatusForbidden {
		t.Errorf("a review by an approver made after the emergency: %d %q", res.status, res.text("main"))
	}
	if got, _ := e.store.Emergency(context.Background(), rid); len(got.Reviews) != 0 {
		t.Errorf("the late approver's review is recorded: %+v", got.Reviews)
	}
	if e.deniedRows() == before {
		t.Error("the refused review is not on record as a denial")
	}
	denied := e.events(audit.ActionAccessDenied)
	if len(denied) == 0 || !strings.Contains(string(denied[len(denied)-1].Detail), `"reason":"`+audit.ReasonApproverAfterFiling+`"`) {
		t.Errorf("the denial on record: %+v", denied)
	}

	if res := e.review(e.signedIn("appr1@example.com"), rid, "acknowledge", "looked at the incident ticket"); res.status != http.StatusSeeOther {
		t.Errorf("a review by an approver from before: %d %q", res.status, res.text("main"))
	}
}
