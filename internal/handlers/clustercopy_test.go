package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"drportal/internal/audit"
	"drportal/internal/dwssim"
)

// TestTheCreateFlowsPageViewsNeverReachTheCloud walks every GET of the
// create flow (the form, for a chosen primary and pair, the standby picker
// with and without htmx, the live checks of a free and a taken name and of
// a sync period) and the no-JS "Show standby clusters" post: the simulator
// receives no call and the audit history gains no event. They read the
// portal's copy of the clusters and of the tasks, and say when it was read.
func TestTheCreateFlowsPageViewsNeverReachTheCloud(t *testing.T) {
	e := newEnv(t)
	e.createTask("dr_pure01")
	b := e.signedIn("req@example.com")
	primary, standby := b.formPairExcluding(e.busyClusters()...)
	tok := b.csrf("/dr-tasks/new")
	e.stopWorkers() // every cloud call and event from here on is the pages'
	calls, events := e.sim.TotalCalls(), e.auditCount()

	hx := []string{"HX-Request", "true"}
	pages := []struct {
		path string
		hdr  []string
		want int
	}{
		{"/dr-tasks/new", nil, http.StatusOK},
		{"/dr-tasks/new?primary_cluster_id=" + url.QueryEscape(primary), nil, http.StatusOK},
		{"/dr-tasks/new?primary_cluster_id=" + url.QueryEscape(primary) + "&standby_cluster_id=" + url.QueryEscape(standby), nil, http.StatusOK},
		{"/dr-tasks/new/standbys?primary_cluster_id=" + url.QueryEscape(primary), hx, http.StatusOK},
		{"/dr-tasks/new/standbys?primary_cluster_id=" + url.QueryEscape(primary), nil, http.StatusSeeOther},
		{"/dr-tasks/new/check?name=dr_pure02", hx, http.StatusOK},
		{"/dr-tasks/new/check?name=DR_PURE01", hx, http.StatusOK},
		{"/dr-tasks/new/check?dr_sync_period_number=5&dr_sync_period_unit=m", hx, http.StatusOK},
	}
	var form response
	for _, p := range pages {
		r := b.get(p.path, p.hdr...)
		if r.status != p.want {
			t.Errorf("GET %s: %d, want %d", p.path, r.status, p.want)
		}
		if p.path == pages[2].path {
			form = r
		}
	}
	refresh := b.postRaw("/dr-tasks/new", url.Values{"_csrf": {tok}, "primary_cluster_id": {primary}, "name": {"dr_pure03"}})
	if refresh.status != http.StatusOK {
		t.Errorf("POST /dr-tasks/new: %d", refresh.status)
	}
	if n := e.sim.TotalCalls() - calls; n != 0 {
		t.Errorf("the create flow's page views made %d cloud calls", n)
	}
	if n := e.auditCount() - events; n != 0 {
		t.Errorf("the create flow's page views appended %d audit events", n)
	}

	// What they showed came from the copy, and says when it was read.
	if sel, _ := form.doc.Find(`#standby_cluster_id option[selected]`).Attr("value"); sel != standby {
		t.Errorf("the pair's form selected standby %q, want %q", sel, standby)
	}
	if got := form.text(`[data-testid=clusters-read-at]`); !strings.Contains(got, "last read them from the cloud, at ") || !strings.Contains(got, "UTC") {
		t.Errorf("the form does not say when the clusters were read: %q", got)
	}
	if got := form.text(`[data-testid=standbys-read-at]`); !strings.Contains(got, "UTC") {
		t.Errorf("the picker does not say when the standbys were read: %q", got)
	}
	if form.attr(`[data-testid=read-clusters]`, "formaction") != "/dr-tasks/new/read" {
		t.Error("the form offers no way to read the clusters now")
	}
}

// TestReadingTheClustersNowRefreshesTheCopyAtMostEvery15Seconds: the
// form's "Read the clusters from the cloud now" reads the list (and the
// chosen primary's standbys), shows the form again as typed with what it
// read, and is the person's audited action; asked again within 15 s, by
// anyone, it reads nothing, says when it can be asked again, and changes
// nothing.
func TestReadingTheClustersNowRefreshesTheCopyAtMostEvery15Seconds(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("req@example.com")
	primary, _ := b.formPair()
	tok := b.csrf("/dr-tasks/new")
	e.stopWorkers()
	e.sim.SetClusterStatus(simProject, dwssim.ClusterProd2, "UNAVAILABLE")
	offered := func(r response, name string) bool {
		found := false
		r.doc.Find(`#primary_cluster_id option`).Each(func(_ int, s *goquery.Selection) {
			if _, off := s.Attr("disabled"); !off && strings.HasPrefix(s.Text(), name+" ") {
				found = true
			}
		})
		return found
	}
	if !offered(b.get("/dr-tasks/new"), dwssim.ClusterProd2) {
		t.Fatal("before the read, the copy should still offer the cluster")
	}
	lists, standbys := e.sim.Calls(dwssim.RouteClusters), e.sim.Calls(dwssim.RouteAvailableClusters)
	res := b.postRaw("/dr-tasks/new/read", url.Values{"_csrf": {tok}, "primary_cluster_id": {primary}, "name": {"dr_typed01"}})
	if res.status != http.StatusOK || !strings.Contains(res.text(`[data-testid=read-note]`), "just now") {
		t.Fatalf("read now: %d %q", res.status, res.text(`[data-testid=read-note]`))
	}
	if res.attr(`#name`, "value") != "dr_typed01" {
		t.Error("the form did not keep what was typed")
	}
	if offered(res, dwssim.ClusterProd2) {
		t.Error("after the read, an unavailable cluster is still offered")
	}
	if e.sim.Calls(dwssim.RouteClusters) != lists+1 || e.sim.Calls(dwssim.RouteAvailableClusters) <= standbys {
		t.Errorf("read now made %d list and %d standby calls", e.sim.Calls(dwssim.RouteClusters)-lists,
			e.sim.Calls(dwssim.RouteAvailableClusters)-standbys)
	}
	reads := e.events(audit.ActionClustersRead)
	if len(reads) != 1 || reads[0].Actor.Name != "req@example.com" || reads[0].Outcome != audit.Success {
		t.Fatalf("audited reads: %+v", reads)
	}

	// Asked again at once, by someone else: refused, nothing read.
	other := e.signedIn("admin@example.com")
	calls, events := e.sim.TotalCalls(), e.auditCount()
	again := other.postRaw("/dr-tasks/new/read", url.Values{"_csrf": {other.csrf("/dr-tasks/new")}})
	if again.status != http.StatusTooManyRequests || !strings.Contains(again.text(`[data-testid=read-note]`), "you can ask again from") {
		t.Errorf("read again at once: %d %q", again.status, again.text(`[data-testid=read-note]`))
	}
	if e.sim.TotalCalls() != calls || e.auditCount() != events {
		t.Errorf("a refused read made %d calls and %d events", e.sim.TotalCalls()-calls, e.auditCount()-events)
	}
}

// TestTheCreateFormSaysItsCopyIsStale: when the background sync cannot
// read the cluster list, the form keeps offering the last copy and says
// as of when, and why it could not be read again.
func TestTheCreateFormSaysItsCopyIsStale(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("req@example.com")
	e.sim.InjectFault(dwssim.Fault{Route: dwssim.RouteClusters, Status: http.StatusServiceUnavailable})
	var page response
	eventually(t, "the stale warning", func() bool {
		page = b.get("/dr-tasks/new")
		return page.doc.Find(`[data-testid=cloud-error]`).Length() == 1
	})
	warn := page.text(`[data-testid=cloud-error]`)
	if !strings.Contains(warn, "may be stale") || !strings.Contains(warn, "503") || !strings.Contains(warn, "UTC") {
		t.Errorf("stale warning: %q", warn)
	}
	if page.doc.Find(`#primary_cluster_id option[value!=""]:not([disabled])`).Length() == 0 {
		t.Error("the last copy is no longer offered")
	}
}

// TestReadingTheClustersNowWhileTheCloudFailsSaysWhy: when the chosen
// primary's standbys cannot be read, the form comes back with the last copy
// and the reason on the standby picker, not an error page.
func TestReadingTheClustersNowWhileTheCloudFailsSaysWhy(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("req@example.com")
	primary, _ := b.formPair()
	tok := b.csrf("/dr-tasks/new")
	e.stopWorkers()
	e.sim.InjectFault(dwssim.Fault{Route: dwssim.RouteAvailableClusters, Status: http.StatusServiceUnavailable})
	res := b.postRaw("/dr-tasks/new/read", url.Values{"_csrf": {tok}, "primary_cluster_id": {primary}})
	if res.status != http.StatusOK || !strings.Contains(res.text(`[data-testid=standbys-stale]`), "503") {
		t.Fatalf("read now with the standby reads failing: %d %q", res.status, res.text(`[data-testid=standbys-stale]`))
	}
	if res.doc.Find(`#standby_cluster_id option[value!=""]:not([disabled])`).Length() == 0 {
		t.Error("the last copy of the standbys is no longer offered")
	}
}
