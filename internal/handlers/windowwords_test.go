package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"drportal/internal/auth"
	"drportal/internal/db"
	"drportal/internal/portal"
)

// addWindow adds window w straight to the schedule, as an admin would.
func (e *env) addWindow(w portal.Window) portal.Window {
	e.t.Helper()
	ctx := context.Background()
	err := e.store.InTx(ctx, func(tx *db.Tx) error {
		admin, err := tx.UserByEmail(ctx, "admin@example.com")
		if err != nil {
			return err
		}
		w, err = tx.InsertWindow(ctx, w, admin.ID, time.Now())
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return w
}

// TestAnOpenChangeWindowSaysWhenItCloses: a window open now is said to be
// open until its close, in its own zone, in UTC and how far off, on the
// task page, the change windows page and the operation's form.
func TestAnOpenChangeWindowSaysWhenItCloses(t *testing.T) {
	e := newEnv(t)
	id := e.createTask("dr_openuntil1")
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().In(berlin)
	// Open from the hour before now to two hours after it (past midnight
	// when it must be).
	start, end := (now.Hour()+23)%24, (now.Hour()+2)%24
	spec := fmt.Sprintf("every day %02d:00-%02d:00 Europe/Berlin", start, end)
	if end == 0 {
		spec = fmt.Sprintf("every day %02d:00-24:00 Europe/Berlin", start)
	}
	e.window(portal.OpStart, spec)
	closes := time.Date(now.Year(), now.Month(), now.Day(), now.Hour()+2, 0, 0, 0, berlin)
	want := []string{"Open now, until " + closes.Format("Mon 15:04 MST"), closes.UTC().Format("2006-01-02 15:04") + " UTC", ", in "}

	task := e.signedIn("req@example.com").get("/dr-tasks/" + id)
	windows := e.signedIn("admin@example.com").get("/admin/windows")
	for name, says := range map[string]string{"the task page": task.text(`[data-testid=schedule-notice]`), "the windows page": windows.text("main")} {
		for _, w := range want {
			if !strings.Contains(says, w) {
				t.Errorf("%s says %q; it does not say %q", name, says, w)
			}
		}
	}
	form := e.signedIn("req@example.com").get("/dr-tasks/" + id + "/operations/start").text(`[data-testid=form-window]`)
	for _, w := range []string{"open now, until " + closes.Format("Mon 15:04 MST"), closes.UTC().Format("2006-01-02 15:04") + " UTC"} {
		if !strings.Contains(form, w) {
			t.Errorf("the start form says %q; it does not say %q", form, w)
		}
	}
}

// TestAnOpenUTCWindowSaysUntilWhenOnceWithoutNextOpening: a window in UTC
// that is open now reads "Open now, until Wed 09:00 UTC (2026-12-02, in 3
// hours)" on the task page and the change windows page: not "next
// opening", and UTC named once.
func TestAnOpenUTCWindowSaysUntilWhenOnceWithoutNextOpening(t *testing.T) {
	e := newEnv(t)
	id := e.createTask("dr_openutc1")
	now := time.Now().UTC()
	start, end := (now.Hour()+23)%24, (now.Hour()+3)%24
	spec := fmt.Sprintf("every day %02d:00-%02d:00 UTC", start, end)
	if end == 0 {
		spec = fmt.Sprintf("every day %02d:00-24:00 UTC", start)
	}
	e.window(portal.OpStart, spec)
	closes := time.Date(now.Year(), now.Month(), now.Day(), now.Hour()+3, 0, 0, 0, time.UTC)
	want := "Open now, until " + closes.Format("Mon 15:04") + " UTC (" + closes.Format("2006-01-02") + ", in "
	task := e.signedIn("req@example.com").get("/dr-tasks/" + id).text(`[data-testid=schedule-notice]`)
	windows := e.signedIn("admin@example.com").get("/admin/windows").text(`[data-testid=window-op-start] [data-testid=next-window]`)
	for name, says := range map[string]string{"the task page": task, "the windows page": windows} {
		if !strings.Contains(says, want) {
			t.Errorf("%s says %q; it does not say %q", name, says, want)
		}
		for _, bad := range []string{"next opening", "Next opening", "(UTC, ", "UTC (UTC"} {
			if strings.Contains(says, bad) {
				t.Errorf("%s says %q", name, says)
			}
		}
	}
}

// TestCancellingARequestHeldByAFreezeAndThenItsWindowNamesBoth: an
// approved request that waits for a freeze to end and then for its change
// window: the cancel sentence names both, each with when and how far off.
func TestCancellingARequestHeldByAFreezeAndThenItsWindowNamesBoth(t *testing.T) {
	e := newEnv(t)
	_, id := e.waitingStart("dr_freezewin1")
	f := e.freeze(time.Now().Add(-time.Minute), time.Now().Add(3*time.Hour), "quarter close")
	page := e.signedIn("req@example.com").get(fmt.Sprintf("/requests/%d", id))
	says := page.text(`[data-testid=cancel-stops]`)
	for _, want := range []string{"after the freeze “quarter close” ends " + shown(f.End) + " (in 2 hours)", "at the next window opening", " UTC", "days"} {
		if !strings.Contains(says, want) {
			t.Errorf("the cancel sentence says %q; it does not say %q", says, want)
		}
	}
}

// TestAPendingDrillsLapseWarningMeasuresFromItsRunTime: a drill filed to
// run a little before its window opens keeps an approval from its run
// time, so its request page does not warn that an approval given now
// lapses before the window, as it would for a drill that runs once
// approved.
func TestAPendingDrillsLapseWarningMeasuresFromItsRunTime(t *testing.T) {
	e := newEnv(t)
	taskID, confirm := e.runningSyncedTask("dr_lapse01")
	now := time.Now().UTC()
	// The drill's window (the switchover's) opens between one and two days and two hours from
	// now, beyond an approval's day.
	e.addWindow(portal.Window{Operation: portal.OpSwitchover, Days: portal.Weekdays(1) << ((now.Weekday() + 2) % 7), Start: 120, End: 180, Zone: "UTC"})
	opens := time.Date(now.Year(), now.Month(), now.Day()+2, 2, 0, 0, 0, time.UTC)
	runAt := opens.Add(-2 * time.Hour)
	req := e.signedIn("req@example.com")
	id := requestIDFrom(t, e.fileOperation(req, taskID, "drill", url.Values{"justification": {"quarterly DR drill, CHG-92"},
		"confirm": {confirm}, "run_at": {runAt.Format("2006-01-02T15:04")}}))
	page := req.get(fmt.Sprintf("/requests/%d", id))
	if page.status != http.StatusOK {
		t.Fatalf("the drill's page: %d", page.status)
	}
	if lapse := page.text(`[data-testid=request-window-lapse]`); lapse != "" {
		t.Errorf("a drill to run %s, two hours before its window, warns %q", shown(runAt), lapse)
	}
}

// TestADrillCancelledBeforeItStartedSaysWhoApprovedItAndThatItNeverStarted:
// the drill history of a drill approved, then cancelled while it waited
// for its window, names its approvers (from the request's approvals: it
// never began), says it was cancelled before it started, and gives the
// opening it waited for in UTC as well; its export has no poll resolution.
func TestADrillCancelledBeforeItStartedSaysWhoApprovedItAndThatItNeverStarted(t *testing.T) {
	e := newEnv(t)
	e.addUser("appr2@example.com", auth.RoleApprover)
	e.addUser("aud@example.com", auth.RoleAuditor)
	taskID, confirm := e.runningSyncedTask("dr_cancel09")
	now := time.Now().UTC()
	e.addWindow(portal.Window{Operation: portal.OpSwitchover, Days: portal.Weekdays(1) << ((now.Weekday() + 3) % 7), Start: 120, End: 180,
		Zone: "Europe/Berlin"})
	req := e.signedIn("req@example.com")
	id := requestIDFrom(t, e.fileOperation(req, taskID, "drill", url.Values{"justification": {"quarterly DR drill, CHG-93"}, "confirm": {confirm}}))
	if r := e.approveDrill(id); r.Status != portal.StatusApproved {
		t.Fatalf("the drill is %s", r.Status)
	}
	if res := e.cancel(req, id, ""); res.status != http.StatusSeeOther {
		t.Fatalf("cancel the drill: %d %s", res.status, res.text("main"))
	}
	row := e.signedIn("aud@example.com").get("/dr-tasks/" + taskID + "/drills").doc.Find(`[data-testid=drill-row]`).First()
	cell := func(label string) string { return strings.TrimSpace(row.Find(`td[data-label="` + label + `"]`).Text()) }
	if got := cell("Approved by"); !strings.Contains(got, "admin@example.com") || !strings.Contains(got, "appr2@example.com") {
		t.Errorf("approved by %q", got)
	}
	if got := cell("Started"); got != "Cancelled before it started" {
		t.Errorf("started %q", got)
	}
	if got := cell("Outcome"); !strings.Contains(got, "window to open") || !strings.Contains(got, " UTC") {
		t.Errorf("the outcome says %q; want the opening it waited for in UTC too", got)
	}
	js := e.signedIn("aud@example.com").get("/dr-tasks/" + taskID + "/drills/export?format=json")
	var doc struct {
		Drills []map[string]json.RawMessage `json:"drills"`
	}
	if err := json.Unmarshal([]byte(js.body), &doc); err != nil || len(doc.Drills) != 1 {
		t.Fatalf("JSON export: %v, %d drills", err, len(doc.Drills))
	}
	if got := string(doc.Drills[0]["poll_resolution_ms"]); got != "null" {
		t.Errorf("the cancelled drill's poll resolution is exported as %s", got)
	}
	if got := string(doc.Drills[0]["approved_by"]); !strings.Contains(got, "appr2@example.com") {
		t.Errorf("the cancelled drill's approvers are exported as %s", got)
	}
}
