package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"drportal/internal/auth"
	"drportal/internal/drtask"
	"drportal/internal/portal"
)

// What the outage-mode pages say must agree with itself and with what the
// portal will do: when a drill runs, which clusters a finished request
// ran on, an approval that would lapse, and what a responder can do during
// a freeze.

// berlinWindowIn3Days opens a change window of op in three days, 10:00 to
// 11:00 Berlin time, and returns its opening as the pages write it.
func (e *env) berlinWindowIn3Days(op portal.Operation) string {
	e.t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		e.t.Fatal(err)
	}
	day := time.Now().In(loc).AddDate(0, 0, 3)
	e.window(op, day.Format("Mon")+" 10:00-11:00 Europe/Berlin")
	return portal.FormatOpening(time.Date(day.Year(), day.Month(), day.Day(), 10, 0, 0, 0, loc), "Europe/Berlin")
}

// TestADrillHeldByTheSwitchoversWindowSaysItRunsWhenTheWindowOpens: a drill
// is held by the switchover's change windows, so neither its form nor its
// request page says it runs as soon as it is approved: both say it runs
// when the window opens, and when that is, as the window note beside them
// does.
func TestADrillHeldByTheSwitchoversWindowSaysItRunsWhenTheWindowOpens(t *testing.T) {
	e := newEnv(t)
	id, confirm := e.runningSyncedTask("dr_drillwin01")
	req := e.signedIn("req@example.com")
	// Without windows it does run once approved.
	if hint := req.get("/dr-tasks/" + id + "/operations/drill").text(`#run_at-hint`); !strings.Contains(hint, "as soon as it is approved") {
		t.Errorf("without windows the drill form's hint says %q", hint)
	}
	opening := e.berlinWindowIn3Days(portal.OpSwitchover)

	page := req.get("/dr-tasks/" + id + "/operations/drill")
	hint := page.text(`#run_at-hint`)
	if strings.Contains(hint, "as soon as it is approved;") || !strings.Contains(hint, "when the switchover's change window opens, "+opening) {
		t.Errorf("held by the switchover's window, the drill form's hint says %q; want when the window opens, %s", hint, opening)
	}
	// The window opens after an approval given now would lapse; a drill's
	// approval lasts from its time, so the form offers that way out.
	if says := page.text(`[data-testid=form-window]`); !strings.Contains(says, "lapses before then") || !strings.Contains(says, "Run at time in the window") {
		t.Errorf("the drill form's window note says %q", says)
	}
	rid := requestIDFrom(t, e.fileOperation(req, id, "drill",
		url.Values{"justification": {"quarterly DR drill, CHG-1100"}, "confirm": {confirm}, "run_at": {""}}))
	card := req.get(fmt.Sprintf("/requests/%d", rid))
	runs := card.text(`[data-testid=drill-runs-at]`)
	if strings.Contains(runs, "As soon as it is approved") || !strings.Contains(runs, "It runs when the window opens, once approved: "+opening) {
		t.Errorf("the drill's card says it runs %q; want when the window opens, %s", runs, opening)
	}
	if card.doc.Find(`[data-testid=request-window]`).Length() != 0 {
		t.Errorf("the window note says it again: %q", card.text(`[data-testid=request-window]`))
	}
}

// TestAFinishedRequestShowsTheClustersAsTheyWereWhenItRan: a switchover
// swaps the clusters' roles; once it has run, its page still says which
// cluster was the primary when it was filed and ran, not the roles of
// today, and heads the table in the past tense ("What was run"), not as a
// decision to make.
func TestAFinishedRequestShowsTheClustersAsTheyWereWhenItRan(t *testing.T) {
	e := newEnv(t)
	e.addUser("appr2@example.com", auth.RoleApprover)
	id, _ := e.runningSyncedTask("dr_asthen01")
	ctx := context.Background()
	before, err := e.client.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	req := e.signedIn("req@example.com")
	confirm := req.get("/dr-tasks/" + id + "/operations/switchover").text(`label[for=confirm] .mono`)
	rid := requestIDFrom(t, e.fileOperation(req, id, "switchover", url.Values{"confirm": {confirm}, "justification": {"switch to the DR site"}}))
	field := func(page response, label string) string {
		t.Helper()
		var v string
		page.doc.Find(`[data-testid=request-summary] dt`).Each(func(_ int, dt *goquery.Selection) {
			if strings.TrimSpace(dt.Text()) == label {
				v = strings.TrimSpace(dt.Next().Text())
			}
		})
		return v
	}
	pending := req.get(fmt.Sprintf("/requests/%d", rid))
	if got := field(pending, "Primary cluster"); !strings.HasPrefix(got, before.Primary.Name) {
		t.Fatalf("the pending switchover's primary is %q, want %s", got, before.Primary.Name)
	}
	e.approveDrill(rid) // two approvals, the cluster's name typed
	e.waitRequest(rid, portal.StatusSucceeded)
	eventually(t, "the portal's copy with the roles swapped", func() bool {
		e.clock.Advance(time.Second)
		row, err := e.store.Task(ctx, id)
		return err == nil && drtask.ViewOf(row).Task.Primary.Name == before.Standby.Name
	})

	page := req.get(fmt.Sprintf("/requests/%d", rid))
	if got := field(page, "Primary cluster"); !strings.HasPrefix(got, before.Primary.Name) {
		t.Errorf("the finished switchover's primary is %q, want %s as it was when it ran", got, before.Primary.Name)
	}
	if got := field(page, "Standby cluster"); !strings.HasPrefix(got, before.Standby.Name) {
		t.Errorf("the finished switchover's standby is %q, want %s as it was when it ran", got, before.Standby.Name)
	}
	if got := page.text(`[data-testid=request-summary] h2`); got != "What was run" {
		t.Errorf("the finished switchover heads what it did %q", got)
	}
}

// TestTheSwitchoverFormWarnsBeforeFilingThatAnApprovalWouldLapse: outside
// its window, when the window opens later than an approval lasts, the form
// says before anyone files what the request page would say after: an
// approval given now lapses before the window opens. A window that opens
// within an approval's life draws no such warning.
func TestTheSwitchoverFormWarnsBeforeFilingThatAnApprovalWouldLapse(t *testing.T) {
	e := newEnv(t)
	id, _ := e.runningSyncedTask("dr_lapse01")
	req := e.signedIn("req@example.com")
	form := func() string {
		t.Helper()
		res := req.get("/dr-tasks/" + id + "/operations/switchover")
		if res.status != http.StatusOK {
			t.Fatalf("the switchover form: %d %s", res.status, res.text("main"))
		}
		return res.text(`[data-testid=form-window]`)
	}
	// Only a window in three days: an approval given now lapses first.
	opening := e.berlinWindowIn3Days(portal.OpSwitchover)
	says := form()
	for _, want := range []string{"executes when the window opens, " + opening, "an approval lasts 1 day", "an approval given now lapses before then"} {
		if !strings.Contains(says, want) {
			t.Errorf("with the window in 3 days the form says %q; it does not say %q", says, want)
		}
	}
	// Another window, opening within the day an approval lasts: no warning.
	soon := time.Now().UTC().Add(3 * time.Hour)
	e.window(portal.OpSwitchover, fmt.Sprintf("every day %02d:00-%02d:30 UTC", soon.Hour(), soon.Hour()))
	if says := form(); !strings.Contains(says, "executes when the window opens") || strings.Contains(says, "lapses") {
		t.Errorf("with a window opening within an approval's life the form says %q", says)
	}
}

// TestDuringAFreezeWithBreakGlassOffAResponderIsToldNothingCanBeFiled: a
// freeze refuses every filing, so with break-glass off nothing can run at
// all: the task page and the break-glass page say so, with the freeze's
// end, instead of pointing the responder to approvals or to filing a
// request; and once an admin has proposed turning break-glass on, both say
// that the change waits for a second admin.
func TestDuringAFreezeWithBreakGlassOffAResponderIsToldNothingCanBeFiled(t *testing.T) {
	e := newEnv(t)
	e.addUser("resp@example.com", portal.RoleRequester, portal.RoleResponder)
	id := e.createTask("dr_frozenoff01")
	resp := e.signedIn("resp@example.com")
	// Without a freeze, break-glass off: approvals are the way.
	if says := resp.get("/dr-tasks/" + id).text(`[data-testid=break-glass-off]`); !strings.Contains(says, "without its approvals") {
		t.Errorf("without a freeze the task page says %q", says)
	}
	now := time.Now()
	f := e.freeze(now.Add(-time.Minute), now.Add(5*time.Hour), "year-end close")

	task := func() string { return resp.get("/dr-tasks/" + id).text(`[data-testid=break-glass-off]`) }
	glass := func() string {
		res := resp.get("/dr-tasks/" + id + "/break-glass/start")
		return res.text(`main`)
	}
	for where, says := range map[string]string{"the task page": task(), "the break-glass page": glass()} {
		for _, want := range []string{"freeze is on", "year-end close", shown(f.End), "nothing can be filed or run", "only break-glass could act, and it is off"} {
			if !strings.Contains(says, want) {
				t.Errorf("during the freeze %s says %q; it does not say %q", where, says, want)
			}
		}
		for _, wrong := range []string{"have a request filed", "without its approvals", "waits for a second admin"} {
			if strings.Contains(says, wrong) {
				t.Errorf("during the freeze %s says %q, which says %q", where, says, wrong)
			}
		}
	}

	// An admin proposes turning it on: it waits for a second one.
	admin := e.signedIn("admin@example.com")
	if res := admin.post("/admin/break-glass", url.Values{"enabled": {"on"}, "operations": {"start"}, "review_days": {"5"}}); res.status != http.StatusSeeOther {
		t.Fatalf("propose: %d %s", res.status, res.text("main"))
	}
	for where, says := range map[string]string{"the task page": task(), "the break-glass page": glass()} {
		if !strings.Contains(says, "A change turning it on") || !strings.Contains(says, "waits for a second admin's approval") {
			t.Errorf("with a turn-on waiting %s says %q", where, says)
		}
	}
}

// TestAFilingRefusedByAFreezeIsLabelledSoInTheAuditAndHistory: a filing a
// freeze refused had nothing wrong in its form, so the audit page and the
// task's history label it "refused, a freeze is in force", not "the form
// had errors"; a form that did have errors keeps that label.
func TestAFilingRefusedByAFreezeIsLabelledSoInTheAuditAndHistory(t *testing.T) {
	e := newEnv(t)
	id := e.createTask("dr_frozenlabel01")
	req := e.signedIn("req@example.com")
	if res := e.fileOperation(req, id, "start", url.Values{"justification": {"short"}}); res.status != http.StatusUnprocessableEntity {
		t.Fatalf("a start with a short justification: %d", res.status)
	}
	now := time.Now()
	e.freeze(now.Add(-time.Minute), now.Add(2*time.Hour), "data centre move")
	if res := e.fileOperation(req, id, "start", url.Values{"justification": {"start it for the move"}}); res.status != http.StatusConflict {
		t.Fatalf("a start filed during the freeze: %d", res.status)
	}
	labels := func(page response, sel string) []string {
		var out []string
		page.doc.Find(sel).Each(func(_ int, s *goquery.Selection) { out = append(out, strings.TrimSpace(s.Text())) })
		return out
	}
	admin := e.signedIn("admin@example.com")
	for where, got := range map[string][]string{
		"the audit page":     labels(admin.get("/audit"), `[data-testid=audit-row][data-action="dr_task.operation.rejected"] td.card-title`),
		"the task's history": labels(admin.get("/dr-tasks/"+id), `strong[title="dr_task.operation.rejected"]`),
	} {
		joined := strings.Join(got, " | ")
		if len(got) != 2 || !strings.Contains(joined, "Operation not filed: refused, a freeze is in force") ||
			strings.Count(joined, "the form had errors") != 1 {
			t.Errorf("%s labels the two filings not filed %q; want one refused by the freeze, one with form errors", where, joined)
		}
	}
}
