package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"drportal/internal/audit"
	"drportal/internal/dwssim"
)

// formPair reads the create form as a person would: the preselected primary
// and the first standby the page offers for it.
func (b *browser) formPair() (primary, standby string) {
	b.e.t.Helper()
	res := b.get("/dr-tasks/new")
	if res.status != http.StatusOK {
		b.e.t.Fatalf("GET /dr-tasks/new: %d", res.status)
	}
	primary, _ = res.doc.Find(`#primary_cluster_id option[selected]`).Attr("value")
	standby, _ = res.doc.Find(`#standby_cluster_id option`).First().Attr("value")
	if primary == "" || standby == "" {
		b.e.t.Fatalf("form offers no pair: primary %q standby %q\n%s", primary, standby, res.body)
	}
	return primary, standby
}

func validForm(primary, standby string) url.Values {
	return url.Values{"name": {"dr_demo01"}, "dr_type": {"az"}, "primary_cluster_id": {primary},
		"standby_cluster_id": {standby}, "dr_sync_period": {"5m"}}
}

func TestCreateTaskThenWatchItSettle(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("req@example.com")
	primary, standby := b.formPair()

	res := b.post("/dr-tasks", validForm(primary, standby))
	if res.status != http.StatusSeeOther {
		t.Fatalf("create: status %d\n%s", res.status, res.body)
	}
	loc := res.header.Get("Location")
	id := strings.TrimPrefix(loc, "/dr-tasks/")
	if len(id) != 36 {
		t.Fatalf("redirect to %q", loc)
	}

	// The cloud has exactly one task, and the portal recorded it as its own.
	if tasks := e.sim.Tasks(simProject); len(tasks) != 1 || tasks[0].ID != id || tasks[0].SyncPeriod != "5m" {
		t.Fatalf("simulator tasks: %+v", tasks)
	}
	row, err := e.store.Task(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if !row.Managed || row.Name != "dr_demo01" || row.PrimaryClusterID != primary || row.StandbyClusterID != standby {
		t.Errorf("row: %+v", row)
	}
	created := e.events(audit.ActionCreated)
	if len(created) != 1 || created[0].SubjectID != id || created[0].Actor.Name != "req@example.com" ||
		!strings.Contains(string(created[0].Detail), `"dr_sync_period":"5m"`) {
		t.Errorf("created events: %+v", created)
	}
	if n := len(e.events(audit.ActionCreateSubmit)); n != 1 {
		t.Errorf("%d submitted events", n)
	}
	var createCalls int
	for _, ev := range e.events(audit.ActionCloudCall) {
		if strings.Contains(string(ev.Detail), `"operation":"create"`) {
			createCalls++
			if ev.SubjectID != id || ev.Outcome != audit.Success || ev.CorrelationID == "" ||
				!strings.Contains(string(ev.Detail), `"x_request_id"`) {
				t.Errorf("create call event: %+v %s", ev, ev.Detail)
			}
		}
		if strings.Contains(string(ev.Detail), simSK) || strings.Contains(strings.ToLower(string(ev.Detail)), "authorization") {
			t.Errorf("secret in audit detail: %s", ev.Detail)
		}
	}
	if createCalls != 1 {
		t.Errorf("%d create calls audited, want 1", createCalls)
	}

	// The task page shows it creating, polling; once the cloud settles the
	// panel shows unstart and stops polling.
	page := b.get(loc)
	if page.status != 200 || page.text(`#task-panel [data-testid=status]`) != "creating" {
		t.Fatalf("detail page: %d %q", page.status, page.text(`[data-testid=status]`))
	}
	if _, polling := page.doc.Find("#task-panel").Attr("hx-trigger"); !polling {
		t.Error("a creating task's panel does not poll")
	}
	if page.doc.Find(`[data-testid=timeline-event][data-action="dr_task.create.succeeded"]`).Length() != 1 {
		t.Errorf("timeline lacks the create event:\n%s", page.doc.Find("#timeline").Text())
	}
	e.clock.Advance(time.Minute)
	panel := b.get(loc+"/status", "HX-Request", "true")
	if panel.status != 200 || panel.text(`[data-testid=status]`) != "unstart" {
		t.Fatalf("status fragment: %d %q", panel.status, panel.text(`[data-testid=status]`))
	}
	if strings.Contains(panel.body, "<html") {
		t.Error("the status fragment is a whole page")
	}
	if _, polling := panel.doc.Find("#task-panel").Attr("hx-trigger"); polling {
		t.Error("a settled task's panel still polls")
	}
	if panel.header.Get("HX-Trigger") != "task-updated" {
		t.Errorf("HX-Trigger = %q", panel.header.Get("HX-Trigger"))
	}
	for _, want := range []string{primary, standby, "Progress", "Last successful sync"} {
		if !strings.Contains(panel.body, want) {
			t.Errorf("panel lacks %q", want)
		}
	}
	// Without htmx, the fragment URL sends the browser to the page.
	if res := b.get(loc + "/status"); res.status != http.StatusSeeOther || res.header.Get("Location") != loc {
		t.Errorf("status without HX-Request: %d %s", res.status, res.header.Get("Location"))
	}

	list := b.get("/dr-tasks")
	row1 := list.doc.Find(`[data-testid=task-row]`)
	if row1.Length() != 1 || !strings.Contains(row1.Text(), "dr_demo01") || !strings.Contains(row1.Text(), "unstart") ||
		!strings.Contains(row1.Text(), "5m") {
		t.Errorf("list row: %q", row1.Text())
	}
}

func TestCreateRejectsBadInputWithoutCallingTheCloud(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("req@example.com")
	primary, standby := b.formPair()
	// A task that already exists, to collide with.
	if res := b.post("/dr-tasks", validForm(primary, standby)); res.status != http.StatusSeeOther {
		t.Fatalf("seed task: %d", res.status)
	}
	primary2, standby2 := b.formPairExcluding(primary, standby)
	failed := e.cluster(dwssim.ClusterFailed).ID
	sameAZ := b.sameAZAs(primary2)

	tests := []struct {
		name  string
		edit  func(url.Values)
		field string
		says  string
	}{
		{"empty name", func(v url.Values) { v.Set("name", "") }, "name", "Enter a name"},
		{"short name", func(v url.Values) { v.Set("name", "abc") }, "name", "4 to 64"},
		{"name starting with a digit", func(v url.Values) { v.Set("name", "1abc") }, "name", "start with a letter"},
		{"name with a space", func(v url.Values) { v.Set("name", "dr demo") }, "name", "only letters"},
		{"duplicate name in another case", func(v url.Values) { v.Set("name", "DR_DEMO01") }, "name", "already exists"},
		{"sync period format", func(v url.Values) { v.Set("dr_sync_period", "5h") }, "dr_sync_period", "not a sync period"},
		{"sync period too long", func(v url.Values) { v.Set("dr_sync_period", "3001m") }, "dr_sync_period", "maximum"},
		{"missing primary", func(v url.Values) { v.Del("primary_cluster_id") }, "primary_cluster_id", "Choose the primary"},
		{"standby not a uuid", func(v url.Values) { v.Set("standby_cluster_id", "abc") }, "standby_cluster_id", "UUID"},
		{"same cluster twice", func(v url.Values) { v.Set("standby_cluster_id", v.Get("primary_cluster_id")) }, "standby_cluster_id", "different cluster"},
		{"cross-region", func(v url.Values) { v.Set("dr_type", "region") }, "dr_type", "Cross-region"},
		{"bad bucket", func(v url.Values) { v.Set("primary_obs_bucket", "Bad_Bucket") }, "primary_obs_bucket", "OBS bucket"},
		{"unknown primary", func(v url.Values) { v.Set("primary_cluster_id", "99999999-9999-9999-9999-999999999999") }, "primary_cluster_id", "does not exist"},
		{"failed primary", func(v url.Values) { v.Set("primary_cluster_id", failed) }, "primary_cluster_id", "cannot be a primary"},
		{"standby in the same zone", func(v url.Values) { v.Set("standby_cluster_id", sameAZ) }, "standby_cluster_id", "not eligible"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			createsBefore := e.sim.Calls("create")
			rejectedBefore := len(e.events(audit.ActionCreateRejected))
			form := validForm(primary2, standby2)
			form.Set("name", "dr_other02")
			tt.edit(form)
			res := b.post("/dr-tasks", form)
			if res.status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422\n%s", res.status, res.body)
			}
			msg := res.text(`[data-testid="error-` + tt.field + `"]`)
			if !strings.Contains(msg, tt.says) {
				t.Errorf("field %s says %q, want %q", tt.field, msg, tt.says)
			}
			if res.doc.Find(`[data-testid=create-form]`).Length() != 1 {
				t.Error("the form is not re-rendered")
			}
			if got, _ := res.doc.Find(`#name`).Attr("value"); got != form.Get("name") {
				t.Errorf("the name was not kept: %q", got)
			}
			if n := e.sim.Calls("create"); n != createsBefore {
				t.Errorf("the cloud got %d create calls", n-createsBefore)
			}
			if tasks := e.sim.Tasks(simProject); len(tasks) != 1 {
				t.Errorf("simulator has %d tasks", len(tasks))
			}
			rejected := e.events(audit.ActionCreateRejected)
			if len(rejected) != rejectedBefore+1 || !strings.Contains(string(rejected[len(rejected)-1].Detail), tt.field) {
				t.Errorf("rejection not audited: %d events", len(rejected)-rejectedBefore)
			}
		})
	}
	rows, err := e.store.ListTasks(context.Background())
	if err != nil || len(rows) != 1 {
		t.Errorf("task rows: %d, %v", len(rows), err)
	}
}

// formPairExcluding finds another free pair than the one in use.
func (b *browser) formPairExcluding(used ...string) (string, string) {
	b.e.t.Helper()
	res := b.get("/dr-tasks/new")
	var primaries []string
	res.doc.Find(`#primary_cluster_id option:not([disabled])`).Each(func(_ int, s *goquery.Selection) {
		v, _ := s.Attr("value")
		primaries = append(primaries, v)
	})
	for _, p := range primaries {
		if contains(used, p) {
			continue
		}
		page := b.get("/dr-tasks/new?primary_cluster_id=" + url.QueryEscape(p))
		var found string
		page.doc.Find(`#standby_cluster_id option`).Each(func(_ int, s *goquery.Selection) {
			v, _ := s.Attr("value")
			if found == "" && v != "" && !contains(used, v) {
				found = v
			}
		})
		if found != "" {
			return p, found
		}
	}
	b.e.t.Fatal("no second free pair")
	return "", ""
}

// sameAZAs returns another usable cluster in the same zone as id: never an
// eligible standby for a cross-AZ task.
func (b *browser) sameAZAs(id string) string {
	b.e.t.Helper()
	p := b.e.clusterByID(id)
	for _, c := range b.e.sim.Clusters(simProject) {
		if c.ID != id && c.AZ == p.AZ && c.Status == "AVAILABLE" && c.TaskStatus == "" {
			return c.ID
		}
	}
	b.e.t.Fatal("no second cluster in the zone")
	return ""
}

func (e *env) clusterByID(id string) dwssim.Cluster {
	for _, c := range e.sim.Clusters(simProject) {
		if c.ID == id {
			return c
		}
	}
	e.t.Fatalf("no cluster %s", id)
	return dwssim.Cluster{}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestCreateShowsTheCloudsErrorAndCreatesNothing(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("req@example.com")
	primary, standby := b.formPair()
	e.sim.InjectFault(dwssim.Fault{Route: "create", Status: 403, Code: "DWS.7023", Message: "Cluster status is not allowed to operation.", Times: 1})
	res := b.post("/dr-tasks", validForm(primary, standby))
	if res.status != http.StatusConflict {
		t.Fatalf("status %d\n%s", res.status, res.body)
	}
	msg := res.text(`[data-testid=submit-error]`)
	for _, want := range []string{"DWS.7023", "not allowed", "request id"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if rows, _ := e.store.ListTasks(context.Background()); len(rows) != 0 {
		t.Errorf("%d task rows after a refused create", len(rows))
	}
	failed := e.events(audit.ActionCreateFailed)
	if len(failed) != 1 || !strings.Contains(string(failed[0].Detail), "DWS.7023") {
		t.Errorf("failure events: %+v", failed)
	}
}

func TestCreateAdoptsATaskWhoseAnswerWasLost(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("req@example.com")
	primary, standby := b.formPair()
	e.sim.InjectFault(dwssim.Fault{Route: "create", DropResponse: true, Times: 1})
	res := b.post("/dr-tasks", validForm(primary, standby))
	if res.status != http.StatusSeeOther {
		t.Fatalf("status %d\n%s", res.status, res.body)
	}
	tasks := e.sim.Tasks(simProject)
	if len(tasks) != 1 || res.header.Get("Location") != "/dr-tasks/"+tasks[0].ID {
		t.Fatalf("tasks %+v, redirect %s", tasks, res.header.Get("Location"))
	}
	if n := e.sim.Calls("create"); n != 1 {
		t.Errorf("create sent %d times", n)
	}
	created := e.events(audit.ActionCreated)
	if len(created) != 1 || !strings.Contains(string(created[0].Detail), "adopted") {
		t.Errorf("created events: %+v", created)
	}
}

func TestListAndDetailFallBackToTheLastKnownState(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("req@example.com")
	primary, standby := b.formPair()
	res := b.post("/dr-tasks", validForm(primary, standby))
	loc := res.header.Get("Location")
	if list := b.get("/dr-tasks"); list.doc.Find(`[data-testid=stale]`).Length() != 0 {
		t.Fatal("a fresh list is marked stale")
	}
	b.get(loc)

	e.sim.InjectFault(dwssim.Fault{Status: 503})
	list := b.get("/dr-tasks")
	if list.status != 200 {
		t.Fatalf("list with the cloud down: %d", list.status)
	}
	stale := list.text(`[data-testid=stale]`)
	if !strings.Contains(stale, "last known list") || !strings.Contains(stale, "503") || !strings.Contains(stale, "request id") {
		t.Errorf("stale notice: %q", stale)
	}
	if list.doc.Find(`[data-testid=task-row]`).Length() != 1 {
		t.Error("the last known task is not listed")
	}
	detail := b.get(loc)
	if detail.status != 200 || !strings.Contains(detail.text(`[data-testid=stale]`), "last known state") {
		t.Errorf("detail with the cloud down: %d %q", detail.status, detail.text(`[data-testid=stale]`))
	}
	if detail.text(`#task-panel [data-testid=status]`) == "" {
		t.Error("no status shown from the last known state")
	}

	// An unknown task while the cloud is down is a clear 503, not a 500.
	miss := b.get("/dr-tasks/e59d6b86-9072-46eb-a996-13f8b44994c1")
	if miss.status != http.StatusServiceUnavailable || !strings.Contains(miss.text(`[data-testid=error-message]`), "503") {
		t.Errorf("unknown task, cloud down: %d %q", miss.status, miss.text(`[data-testid=error-message]`))
	}
	e.sim.ClearFaults()
	if gone := b.get("/dr-tasks/e59d6b86-9072-46eb-a996-13f8b44994c1"); gone.status != http.StatusNotFound {
		t.Errorf("unknown task: %d", gone.status)
	}
	if bad := b.get("/dr-tasks/not-an-id"); bad.status != http.StatusNotFound {
		t.Errorf("malformed id: %d", bad.status)
	}
}

func TestSlowCloudGivesAClearMessageWithinTheTimeout(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("req@example.com")
	e.sim.InjectFault(dwssim.Fault{Route: "list", Latency: 30 * time.Second})
	start := time.Now()
	list := b.get("/dr-tasks")
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("list took %v", took)
	}
	if list.status != 200 || !strings.Contains(list.text(`[data-testid=stale]`), "did not answer in time") {
		t.Errorf("slow cloud: %d %q", list.status, list.text(`[data-testid=stale]`))
	}
}

func TestStandbyPickerFollowsThePrimary(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("req@example.com")
	primary, _ := b.formPair()
	frag := b.get("/dr-tasks/new/standbys?primary_cluster_id="+primary, "HX-Request", "true")
	if frag.status != 200 || strings.Contains(frag.body, "<html") || frag.doc.Find(`#standby_cluster_id option`).Length() == 0 {
		t.Fatalf("fragment: %d\n%s", frag.status, frag.body)
	}
	p := e.clusterByID(primary)
	frag.doc.Find(`#standby_cluster_id option`).Each(func(_ int, s *goquery.Selection) {
		v, _ := s.Attr("value")
		if c := e.clusterByID(v); c.AZ == p.AZ {
			t.Errorf("standby %s offered in the primary's zone %s", c.Name, c.AZ)
		}
	})
	// Without JavaScript the same URL leads to the form for that primary.
	full := b.get("/dr-tasks/new/standbys?primary_cluster_id=" + primary)
	if full.status != http.StatusSeeOther || !strings.Contains(full.header.Get("Location"), primary) {
		t.Errorf("without htmx: %d %s", full.status, full.header.Get("Location"))
	}
	page := b.get(full.header.Get("Location"))
	if sel, _ := page.doc.Find(`#primary_cluster_id option[selected]`).Attr("value"); sel != primary {
		t.Errorf("the form did not keep the primary: %q", sel)
	}
}

func TestInlineChecks(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("req@example.com")
	check := func(q string) response {
		return b.get("/dr-tasks/new/check?"+q, "HX-Request", "true")
	}
	if r := check("name=ab"); !strings.Contains(r.text(`[data-testid=error-name]`), "4 to 64") {
		t.Errorf("short name: %s", r.body)
	}
	before := e.sim.Calls("check-name")
	if r := check("name=good_name"); !strings.Contains(r.text(`[data-testid=ok-name]`), "available") {
		t.Errorf("free name: %s", r.body)
	}
	if e.sim.Calls("check-name") != before+1 {
		t.Error("the name was not checked with the cloud")
	}
	if r := check("dr_sync_period=7H"); !strings.Contains(r.text(`[data-testid=ok-dr_sync_period]`), "7 hours") {
		t.Errorf("period ok: %s", r.body)
	}
	if r := check("dr_sync_period=0m"); !strings.Contains(r.text(`[data-testid=error-dr_sync_period]`), "not a sync period") {
		t.Errorf("period bad: %s", r.body)
	}
	if r := check("other=1"); r.status != http.StatusUnprocessableEntity {
		t.Errorf("unknown field: %d", r.status)
	}
}
