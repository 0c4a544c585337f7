package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"drportal/internal/audit"
	"drportal/internal/auth"
)

// TestTurningBreakGlassOnShowsWhatItAllowsBeyondTheSettingsLastOn: while
// break-glass is off, one admin may change its settings at once (they
// allow nothing while it is off), so the second admin deciding on turning
// it on is shown the settings it brings into effect compared with the last
// that were in effect while it was on, each widening marked, on the
// break-glass page and on the users page alike, and warned; the first
// turn-on is marked as new. The proposal's record names the settings it
// was compared with.
func TestTurningBreakGlassOnShowsWhatItAllowsBeyondTheSettingsLastOn(t *testing.T) {
	e := newEnv(t)
	e.addUser("admin2@example.com", auth.RoleAdmin)
	a1, a2 := e.signedIn("admin@example.com"), e.signedIn("admin2@example.com")
	save := func(on bool, days string, ops ...string) {
		t.Helper()
		v := url.Values{"operations": ops, "review_days": {days}}
		if on {
			v.Set("enabled", "on")
		}
		if res := a1.post("/admin/break-glass", v); res.status != http.StatusSeeOther {
			t.Fatalf("save the break-glass settings: %d %q", res.status, res.text("main"))
		}
	}
	card := func(page string) response {
		t.Helper()
		res := a2.get(page)
		if res.doc.Find(`[data-testid=admin-change]`).Length() != 1 {
			t.Fatalf("%s shows no waiting change: %q", page, res.text("main"))
		}
		return res
	}
	approve := func() {
		t.Helper()
		change := card("/admin/break-glass").attr(`[data-testid=admin-change]`, "data-change")
		if res := a2.post("/admin/changes/"+change+"/approve", url.Values{}); res.status != http.StatusSeeOther {
			t.Fatalf("approve change %s: %d %q", change, res.status, res.text("main"))
		}
	}

	// The first turn-on: nothing to compare with, all of it new.
	save(true, "3", "start")
	if got := card("/admin/break-glass").text(`[data-testid=change-warning]`); !strings.Contains(got, "Break-glass has never been on") ||
		!strings.Contains(got, "start") {
		t.Errorf("the first turn-on warns %q", got)
	}
	approve()

	// Off at once, then widened at once while off, then on again.
	save(false, "3", "start")
	save(false, "30", "start", "failover", "switchover")
	save(true, "30", "start", "failover", "switchover")
	for _, page := range []string{"/admin/break-glass", "/admin/users"} {
		res := card(page)
		if got := res.text(`[data-testid=change-compare]`); !strings.Contains(got, "last in effect while break-glass was on (version 2") {
			t.Errorf("%s compares the turn-on with %q", page, got)
		}
		wider := res.doc.Find(`[data-testid=change-diff][data-wider=true]`)
		if wider.Length() != 2 || !strings.Contains(wider.First().Text(), "adds failover, switchover") ||
			!strings.Contains(wider.Last().Text(), "3 days → 30 days") {
			t.Errorf("%s marks %d widenings: %q", page, wider.Length(), wider.Text())
		}
		if got := res.text(`[data-testid=change-warning]`); !strings.Contains(got, "allow more than break-glass did when it was last on") ||
			!strings.Contains(got, "failover, switchover") || !strings.Contains(got, "30 days") {
			t.Errorf("%s warns %q", page, got)
		}
	}
	proposed := e.events(audit.ActionChangeProposed)
	if last := proposed[len(proposed)-1]; !strings.Contains(string(last.Detail), `"last_on":{`) ||
		!strings.Contains(string(last.Detail), `"review_days":3`) {
		t.Errorf("the turn-on's proposal on record: %s", last.Detail)
	}

	// A turn-on that allows no more than last time marks nothing.
	save(false, "2", "start")
	save(true, "2", "start")
	res := card("/admin/break-glass")
	if n := res.doc.Find(`[data-testid=change-diff][data-wider=true]`).Length(); n != 0 || res.doc.Find(`[data-testid=change-warning]`).Length() != 0 {
		t.Errorf("a narrower turn-on is marked as wider (%d) or warned: %q", n, res.text(`[data-testid=admin-change]`))
	}
}
