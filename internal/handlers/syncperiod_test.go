package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"drportal/internal/db"
)

// TestChangingTheSyncPeriodAsksForANumberAndAUnit: the "Change sync
// period" form asks like the create form does (a number, a unit, the RPO
// target a valid period implies), says the current period in words, and
// files the API's value the two make.
func TestChangingTheSyncPeriodAsksForANumberAndAUnit(t *testing.T) {
	e := newEnv(t)
	id := e.createTask("dr_period01")
	req := e.signedIn("req@example.com")
	page := req.get("/dr-tasks/" + id + "/operations/update")
	if page.attr(`#dr_sync_period`, "type") != "number" || page.attr(`#dr_sync_period`, "name") != "dr_sync_period_number" ||
		page.attr(`#dr_sync_period`, "max") != "3000" {
		t.Errorf("the period is not asked as a number: type %q name %q", page.attr(`#dr_sync_period`, "type"), page.attr(`#dr_sync_period`, "name"))
	}
	var units []string
	for _, n := range page.doc.Find(`#dr_sync_period_unit option`).Nodes {
		for _, a := range n.Attr {
			if a.Key == "value" {
				units = append(units, a.Val)
			}
		}
	}
	if strings.Join(units, ",") != "m,H,d" {
		t.Errorf("units %v", units)
	}
	if hint := page.text(`#dr_sync_period-hint`); !strings.Contains(hint, "Now every 5 minutes.") || !strings.Contains(hint, "RPO target") {
		t.Errorf("hint %q", hint)
	}

	// A wrong number is said as the create form says it; nothing is filed.
	before, _ := e.store.CountRequests(context.Background(), db.RequestFilter{})
	bad := e.fileOperation(req, id, "update", url.Values{"dr_sync_period_number": {"0"}, "dr_sync_period_unit": {"H"}, "justification": {"tune the sync period"}})
	if bad.status != http.StatusUnprocessableEntity || !strings.Contains(bad.text(`[data-testid=error-dr_sync_period]`), "not a whole number") ||
		bad.attr(`#dr_sync_period`, "aria-invalid") != "true" {
		t.Errorf("period 0: %d %q", bad.status, bad.text(`[data-testid=error-dr_sync_period]`))
	}
	// A valid period shown again (another field is wrong) keeps its
	// number and unit and says the RPO target it implies.
	again := e.fileOperation(req, id, "update", url.Values{"dr_sync_period_number": {"2"}, "dr_sync_period_unit": {"H"}, "justification": {"x"}})
	if again.status != http.StatusUnprocessableEntity || again.attr(`#dr_sync_period`, "value") != "2" ||
		again.attr(`#dr_sync_period_unit option[selected]`, "value") != "H" ||
		!strings.Contains(again.text(`[data-testid=ok-dr_sync_period]`), "at most about 2 hours old (the RPO target)") {
		t.Errorf("shown again: %d value %q unit %q ok %q", again.status, again.attr(`#dr_sync_period`, "value"),
			again.attr(`#dr_sync_period_unit option[selected]`, "value"), again.text(`[data-testid=ok-dr_sync_period]`))
	}
	if after, _ := e.store.CountRequests(context.Background(), db.RequestFilter{}); after != before {
		t.Error("a wrong form filed a request")
	}

	n := requestIDFrom(t, e.fileOperation(req, id, "update", url.Values{"dr_sync_period_number": {"2"}, "dr_sync_period_unit": {"H"}, "justification": {"tune the sync period"}}))
	r, err := e.store.Request(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(r.Payload), `"dr_sync_period":"2H"`) {
		t.Errorf("payload %s", r.Payload)
	}
}
