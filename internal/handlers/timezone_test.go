package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"drportal/internal/portal"
)

// TestZoneLessDRTimesAreReadInTheConfiguredDWSZone: with DWS_TIME_ZONE set
// to Asia/Shanghai, the simulator's zone-less times are read as +08:00, so
// the task page and the failover warning show them 8 hours earlier in UTC,
// naming UTC.
func TestZoneLessDRTimesAreReadInTheConfiguredDWSZone(t *testing.T) {
	e := newEnv(t, withVar("DWS_TIME_ZONE", "Asia/Shanghai"))
	id := e.createTask("dr_zone01")
	req := e.signedIn("req@example.com")
	admin := e.signedIn("admin@example.com")
	asShanghai := func(at time.Time) string { // what the portal makes of at sent zone-less
		return at.UTC().Add(-8*time.Hour).Format("2006-01-02 15:04:05") + " UTC"
	}

	snap, _ := e.sim.Task(simProject, id)
	page := req.get("/dr-tasks/" + id)
	if got, want := page.text(`#task-panel [data-field=Created]`), asShanghai(snap.CreateTime); got != want {
		t.Errorf("created %q, want %q (%s read as +08:00)", got, want, snap.CreateTime.UTC().Format("2006-01-02T15:04:05"))
	}

	start := requestIDFrom(t, e.fileOperation(req, id, "start", url.Values{"justification": {"protect it"}}))
	e.decide(admin, start, "approve", "")
	e.waitRequest(start, portal.StatusSucceeded)
	eventually(t, "a successful sync", func() bool {
		e.clock.Advance(time.Minute)
		s, _ := e.sim.Task(simProject, id)
		return !s.LastSyncAt.IsZero()
	})
	snap, _ = e.sim.Task(simProject, id)
	e.sim.SetClusterFaulty(simProject, snap.PrimaryClusterName, true)
	// The simulator's clock stands still from here, so its last sync is the
	// one the portal's copy of the task comes to show.
	snap, _ = e.sim.Task(simProject, id)
	want := "the last successful sync at " + asShanghai(snap.LastSyncAt)
	var form response
	ok := false
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !ok; time.Sleep(100 * time.Millisecond) {
		form = req.get("/dr-tasks/" + id + "/operations/failover")
		ok = form.status == http.StatusOK && strings.Contains(form.text(`[data-testid=consequence]`), want)
	}
	if !ok {
		t.Errorf("failover warning %q lacks %q", form.text(`[data-testid=consequence]`), want)
	}
}

// TestTimesAreShownAndFilteredInTheDisplayZone: with DISPLAY_TIME_ZONE set,
// the portal's own times are shown in that zone, named, and the audit
// filter's times are read in it too.
func TestTimesAreShownAndFilteredInTheDisplayZone(t *testing.T) {
	e := newEnv(t, withVar("DISPLAY_TIME_ZONE", "Asia/Shanghai"))
	admin := e.signedIn("admin@example.com")
	page := admin.get("/audit")
	if h := page.text(`[data-testid=audit-table] th:nth-child(2)`); h != "Time (Asia/Shanghai)" {
		t.Errorf("time column headed %q", h)
	}
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	rows := page.doc.Find(`[data-testid=audit-row]`)
	first := strings.TrimSpace(rows.First().Find("td").Eq(1).Text())
	at, err := time.ParseInLocation("2006-01-02 15:04:05 Asia/Shanghai", first, shanghai)
	if err != nil || time.Since(at).Abs() > time.Minute {
		t.Errorf("newest event's time %q (%v): not now in Asia/Shanghai", first, err)
	}
	// An hour from now on a UTC clock is seven hours ago in Shanghai.
	to := time.Now().UTC().Add(time.Hour).Format("2006-01-02T15:04")
	if n := admin.get("/audit?to=" + to).doc.Find(`[data-testid=audit-row]`).Length(); n != 0 {
		t.Errorf("to=%s read in Asia/Shanghai is 7 hours ago, yet %d events are shown", to, n)
	}
	if n := admin.get("/audit?to=" + time.Now().In(shanghai).Add(time.Hour).Format("2006-01-02T15:04")).doc.Find(`[data-testid=audit-row]`).Length(); n == 0 {
		t.Error("no events before an hour from now in Asia/Shanghai")
	}
}
