package handlers_test

import (
	"context"
	"fmt"
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
