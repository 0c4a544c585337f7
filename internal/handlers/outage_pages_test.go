package handlers_test

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"drportal/internal/db"
	"drportal/internal/portal"
)

// What the outage-mode pages say: a freeze, the change windows, break-glass
// and drills, in words a person new to the portal reads right.

// freeze adds a freeze from start to end, as an admin would.
func (e *env) freeze(start, end time.Time, reason string) portal.Freeze {
	e.t.Helper()
	var f portal.Freeze
	err := e.store.InTx(context.Background(), func(tx *db.Tx) error {
		admin, err := tx.UserByEmail(context.Background(), "admin@example.com")
		if err != nil {
			return err
		}
		f, err = tx.InsertFreeze(context.Background(), portal.Freeze{Start: start, End: end, Reason: reason}, admin.ID, time.Now())
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return f
}

// window adds a change window of op, written as people write it, as an
// admin would.
func (e *env) window(op portal.Operation, spec string) portal.Window {
	e.t.Helper()
	w, err := portal.ParseWindow(op, spec)
	if err != nil {
		e.t.Fatal(err)
	}
	err = e.store.InTx(context.Background(), func(tx *db.Tx) error {
		admin, err := tx.UserByEmail(context.Background(), "admin@example.com")
		if err != nil {
			return err
		}
		w, err = tx.InsertWindow(context.Background(), w, admin.ID, time.Now())
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return w
}

// shown is a time as the pages show it (the display zone is UTC here).
func shown(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") + " UTC" }

// TestDuringAFreezeARequestPageSaysTheFreezeIsOnAndOnlyBreakGlassCanAct: a
// request filed before a freeze, for an operation without change windows,
// is held by the freeze alone: its page names the freeze, its reason and its
// end, says that only break-glass can act until then, and does not blame a
// change window it does not have.
func TestDuringAFreezeARequestPageSaysTheFreezeIsOnAndOnlyBreakGlassCanAct(t *testing.T) {
	e := newEnv(t)
	id := e.createTask("dr_freeze01")
	req := e.signedIn("req@example.com")
	rid := requestIDFrom(t, e.fileOperation(req, id, "start", url.Values{"justification": {"start it before the close"}}))
	now := time.Now()
	f := e.freeze(now.Add(-time.Minute), now.Add(3*time.Hour), "quarter close")

	page := req.get(fmt.Sprintf("/requests/%d", rid))
	says := page.text(`[data-testid=request-window]`)
	for _, want := range []string{"A freeze is on", "quarter close", shown(f.End), "only break-glass", "It executes when the freeze ends."} {
		if !strings.Contains(says, want) {
			t.Errorf("the request page says %q; it does not say %q", says, want)
		}
	}
	if strings.Contains(strings.ToLower(says), "window") {
		t.Errorf("the request page blames a change window the start does not have: %q", says)
	}
	// The task page says it in the same words.
	if task := req.get("/dr-tasks/" + id); !strings.Contains(task.text(`[data-testid=freeze-notice]`), "only break-glass") {
		t.Errorf("the task page says of the freeze %q", task.text(`[data-testid=freeze-notice]`))
	}
}

// TestAWindowsOpeningIsAlsoShownInUTCAndHowFarOff: where a page says when a
// change window opens (the request that waits for it, the task page, the
// admins' windows page), it gives the opening in the window's zone, the
// same moment in UTC, which reads the same for every viewer, and how far
// off it is, from the server's clock when the page is read.
func TestAWindowsOpeningIsAlsoShownInUTCAndHowFarOff(t *testing.T) {
	e := newEnv(t)
	id := e.createTask("dr_opening01")
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	day := time.Now().In(loc).AddDate(0, 0, 3)
	opening := time.Date(day.Year(), day.Month(), day.Day(), 10, 0, 0, 0, loc)
	e.window(portal.OpStart, day.Format("Mon")+" 10:00-11:00 Europe/Berlin")
	req := e.signedIn("req@example.com")
	rid := requestIDFrom(t, e.fileOperation(req, id, "start", url.Values{"justification": {"start it in the window"}}))

	inUTC := opening.UTC().Format("2006-01-02 15:04") + " UTC"
	far := regexp.MustCompile(`, in [23] days`)
	check := func(where, says string) {
		t.Helper()
		if !strings.Contains(says, portal.FormatOpening(opening, "Europe/Berlin")) || !strings.Contains(says, inUTC) || !far.MatchString(says) {
			t.Errorf("%s says %q; want the opening in Berlin, %s and how far off it is", where, says, inUTC)
		}
	}
	check("the request page", req.get(fmt.Sprintf("/requests/%d", rid)).text(`[data-testid=request-window]`))
	check("the task page", req.get("/dr-tasks/"+id).text(`[data-testid=window-notice]`))
	check("the windows page", e.signedIn("admin@example.com").get("/admin/windows").text(`[data-testid=window-op-start] [data-testid=next-window]`))
}
