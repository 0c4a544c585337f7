package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"drportal/internal/audit"
	"drportal/internal/auth"
)

// TestTheBreakGlassFormStartsFromTheWaitingChangeWhichSavingReplacesOnRecord:
// while a change of the break-glass settings waits, the settings form on
// Admin → Break-glass is filled with that change, not the settings in
// effect, and its button says it replaces it. Saving it unchanged is
// refused and leaves it waiting; saving something else replaces it, the
// note says so and the audit records its withdrawal in favour of the new
// one. The page says "never been on" once, and heads the reject form
// apart from the Approve button.
func TestTheBreakGlassFormStartsFromTheWaitingChangeWhichSavingReplacesOnRecord(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.addUser("admin2@example.com", auth.RoleAdmin)
	a1, a2 := e.signedIn("admin@example.com"), e.signedIn("admin2@example.com")
	proposal := url.Values{"enabled": {"on"}, "operations": {"failover", "switchover"}, "review_days": {"5"}}
	if res := a1.post("/admin/break-glass", proposal); res.status != http.StatusSeeOther {
		t.Fatalf("propose break-glass on: %d %q", res.status, res.text("main"))
	}
	cs, err := e.store.PendingAdminChanges(ctx)
	if err != nil || len(cs) != 1 {
		t.Fatalf("%d changes wait (%v)", len(cs), err)
	}
	first := strconv.FormatInt(cs[0].ID, 10)

	page := a2.get("/admin/break-glass")
	form := `[data-testid=break-glass-settings] `
	if page.doc.Find(form+`[data-testid=break-glass-enabled]:checked`).Length() != 1 {
		t.Error("the form shows break-glass off, as in effect, not on, as the waiting change")
	}
	for op, want := range map[string]bool{"failover": true, "switchover": true, "recovery": false, "start": false} {
		if got := page.doc.Find(form+`[data-testid=break-glass-op-`+op+`]:checked`).Length() == 1; got != want {
			t.Errorf("the form ticks %s: %v, want %v", op, got, want)
		}
	}
	if got := page.attr(form+`#review_days`, "value"); got != "5" {
		t.Errorf("the form's review days: %q, want the waiting change's 5", got)
	}
	if got := page.text(`[data-testid=save-break-glass]`); got != "Save, replacing change #"+first {
		t.Errorf("the save button reads %q", got)
	}
	if n := strings.Count(page.text("main"), "never been on"); n != 1 {
		t.Errorf(`the page says "never been on" %d times, want once: %q`, n, page.text(`[data-testid=admin-change]`))
	}
	if got := page.text(`[data-testid=reject-part] label`); got != "Or reject, with a reason:" {
		t.Errorf("the reject form is headed %q", got)
	}

	// Saving the waiting change's settings as they are replaces nothing.
	proposal.Set("step_up_password", password)
	res := a2.post("/admin/break-glass", proposal)
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.text(`[data-testid=error-break_glass]`), "change #"+first+", which waits") {
		t.Errorf("saving the waiting change unchanged: %d %q", res.status, res.text(`[data-testid=error-break_glass]`))
	}
	if cs, _ := e.store.PendingAdminChanges(ctx); len(cs) != 1 || strconv.FormatInt(cs[0].ID, 10) != first {
		t.Fatalf("after saving it unchanged, the changes waiting: %+v", cs)
	}
	if n := len(e.events(audit.ActionChangeWithdrawn)); n != 0 {
		t.Errorf("saving it unchanged put %d withdrawals on record", n)
	}

	// Saving something else replaces it, and says so.
	proposal.Set("review_days", "3")
	res = a2.post("/admin/break-glass", proposal)
	if res.status != http.StatusSeeOther {
		t.Fatalf("save instead of the waiting change: %d %q", res.status, res.text("main"))
	}
	cs, _ = e.store.PendingAdminChanges(ctx)
	if len(cs) != 1 || strconv.FormatInt(cs[0].ID, 10) == first {
		t.Fatalf("after replacing it, the changes waiting: %+v", cs)
	}
	second := strconv.FormatInt(cs[0].ID, 10)
	if note := a2.get(res.header.Get("Location")).text(`[data-testid=flash]`); !strings.Contains(note, "change #"+second) ||
		!strings.Contains(note, "It replaces change #"+first+", which waited: that one is withdrawn") {
		t.Errorf("the note after replacing it: %q", note)
	}
	withdrawn := e.events(audit.ActionChangeWithdrawn)
	if len(withdrawn) != 1 || withdrawn[0].Actor.Name != "admin2@example.com" ||
		!strings.Contains(string(withdrawn[0].Detail), `"change":`+first) ||
		!strings.Contains(string(withdrawn[0].Detail), "replaced by change #"+second) {
		t.Errorf("the withdrawal on record: %+v", withdrawn)
	}
	// The replaced change keeps who replaced it and with what, and its
	// proposer sees that among the decided changes.
	var decidedBy, comment string
	if err := e.store.Pool().QueryRow(ctx, `SELECT u.email, c.comment FROM admin_changes c JOIN users u ON u.id = c.decided_by
		WHERE c.id::text = $1 AND c.status = 'superseded'`, first).Scan(&decidedBy, &comment); err != nil || decidedBy != "admin2@example.com" ||
		comment != "replaced by change #"+second {
		t.Errorf("the replaced change's decider and comment: %q, %q (%v)", decidedBy, comment, err)
	}
	card := a1.get("/admin/break-glass").doc.Find(`[data-testid=decided-change][data-change="` + first + `"]`)
	if card.Length() != 1 || strings.TrimSpace(card.Find(`[data-testid=decided-by]`).Text()) != "admin2@example.com" ||
		!strings.Contains(card.Find(`[data-testid=decided-reason]`).Text(), "replaced by change #"+second) ||
		strings.TrimSpace(card.Find(`[data-testid=decided-outcome]`).Text()) != "replaced" {
		t.Errorf("its proposer sees the replaced change as %q", strings.Join(strings.Fields(card.Text()), " "))
	}
}

// TestAWaitingBreakGlassChangeSaysWhatItKeepsInWordsNotAsThen: a turn-on
// that keeps an operation or the review days of the settings last in
// effect while break-glass was on says so with the moment it was turned
// off, not "as then".
func TestAWaitingBreakGlassChangeSaysWhatItKeepsInWordsNotAsThen(t *testing.T) {
	e := newEnv(t)
	e.addUser("admin2@example.com", auth.RoleAdmin)
	a1, a2 := e.signedIn("admin@example.com"), e.signedIn("admin2@example.com")
	save := func(on bool, ops ...string) {
		t.Helper()
		v := url.Values{"operations": ops, "review_days": {"3"}}
		if on {
			v.Set("enabled", "on")
		}
		if res := a1.post("/admin/break-glass", v); res.status != http.StatusSeeOther {
			t.Fatalf("save the break-glass settings: %d %q", res.status, res.text("main"))
		}
	}
	save(true, "start")
	change := a2.get("/admin/break-glass").attr(`[data-testid=admin-change]`, "data-change")
	if res := a2.post("/admin/changes/"+change+"/approve", url.Values{}); res.status != http.StatusSeeOther {
		t.Fatalf("approve change %s: %d %q", change, res.status, res.text("main"))
	}
	save(false, "start")
	save(true, "start")
	page := a2.get("/admin/break-glass")
	diffs := page.doc.Find(`[data-testid=change-diff]`)
	if diffs.Length() != 2 {
		t.Fatalf("the waiting change shows %d lines: %q", diffs.Length(), page.text(`[data-testid=admin-change]`))
	}
	for i, d := range []string{"Operations a responder may run alone: start, ", "Review due within: 3 days, "} {
		got := strings.Join(strings.Fields(diffs.Eq(i).Text()), " ")
		if !strings.HasPrefix(got, d+"the same as the settings last in effect while it was on (") || strings.Contains(got, "as then") {
			t.Errorf("the waiting change says %q", got)
		}
	}
}
