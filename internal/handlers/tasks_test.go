package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"drportal/internal/audit"
	"drportal/internal/db"
	"drportal/internal/dws"
	"drportal/internal/dwssim"
	"drportal/internal/portal"
	"drportal/internal/requests"
)

// formPair reads the create form as a person would: the first primary it
// offers, then the first standby it offers for that primary.
func (b *browser) formPair() (primary, standby string) {
	b.e.t.Helper()
	res := b.get("/dr-tasks/new")
	if res.status != http.StatusOK {
		b.e.t.Fatalf("GET /dr-tasks/new: %d", res.status)
	}
	primary, _ = res.doc.Find(`#primary_cluster_id option[value!=""]:not([disabled])`).First().Attr("value")
	if primary != "" {
		res = b.get("/dr-tasks/new?primary_cluster_id=" + url.QueryEscape(primary))
		standby, _ = res.doc.Find(`#standby_cluster_id option[value!=""]:not([disabled])`).First().Attr("value")
	}
	if primary == "" || standby == "" {
		b.e.t.Fatalf("form offers no pair: primary %q standby %q\n%s", primary, standby, res.body)
	}
	return primary, standby
}

func validForm(primary, standby string) url.Values {
	return url.Values{"name": {"dr_demo01"}, "dr_type": {"az"}, "primary_cluster_id": {primary},
		"standby_cluster_id": {standby}, "dr_sync_period": {"5m"}, "justification": {"protect the sales warehouse"}}
}

// fileCreate files a create request through the form and returns its id.
func (e *env) fileCreate(b *browser, form url.Values) int64 {
	e.t.Helper()
	res := b.post("/dr-tasks", form)
	if res.status != http.StatusSeeOther || !strings.HasPrefix(res.header.Get("Location"), "/requests/") {
		e.t.Fatalf("file create: %d %s\n%s", res.status, res.header.Get("Location"), res.body)
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(res.header.Get("Location"), "/requests/"), 10, 64)
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

// decide posts a decision from the request's page, as its form would.
func (e *env) decide(b *browser, id int64, decision, comment string, hdr ...string) response {
	e.t.Helper()
	page := b.get(fmt.Sprintf("/requests/%d", id))
	tok, _ := page.doc.Find(`[data-testid=decide-form] input[name="_csrf"]`).Attr("value")
	hash, _ := page.doc.Find(`[data-testid=decide-form] input[name="payload_sha256"]`).Attr("value")
	if tok == "" {
		tok = b.csrf(fmt.Sprintf("/requests/%d", id))
		hash = page.text(`[data-testid=payload-hash]`)
	}
	req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/requests/%d/decide", e.srv.URL, id),
		strings.NewReader(url.Values{"_csrf": {tok}, "decision": {decision}, "comment": {comment}, "payload_sha256": {hash}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return b.do(req)
}

// createTask runs the whole flow (file, approve, execute) and returns the
// new DR task's id.
func (e *env) createTask(name string) string {
	e.t.Helper()
	req := e.signedIn("req@example.com")
	primary, standby := req.formPairExcluding(e.busyClusters()...)
	form := validForm(primary, standby)
	form.Set("name", name)
	id := e.fileCreate(req, form)
	if res := e.decide(e.signedIn("admin@example.com"), id, "approve", ""); res.status != http.StatusSeeOther {
		e.t.Fatalf("approve: %d %s", res.status, res.body)
	}
	return e.waitRequest(id, portal.StatusSucceeded).DRTaskID
}

// busyClusters are the clusters already in a DR task.
func (e *env) busyClusters() []string {
	var out []string
	for _, t := range e.sim.Tasks(simProject) {
		out = append(out, t.PrimaryClusterID, t.StandbyClusterID)
	}
	return out
}

func TestCreateIsARequestThatRunsOnceApproved(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("req@example.com")
	primary, standby := b.formPair()

	id := e.fileCreate(b, validForm(primary, standby))
	// Filing sends nothing to the cloud.
	if n := e.sim.Calls("create"); n != 0 || len(e.sim.Tasks(simProject)) != 0 {
		t.Fatalf("filing reached the cloud: %d creates", n)
	}
	page := b.get(fmt.Sprintf("/requests/%d", id))
	if page.status != 200 || page.doc.Find(`[data-testid=request-card]`).AttrOr("data-status", "") != "pending" {
		t.Fatalf("request page: %d\n%s", page.status, page.body)
	}
	r, err := e.store.Request(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	wantBody := dws.CreateBody(portal.CreateSpec{Name: "dr_demo01", DRType: "az", PrimaryClusterID: primary,
		StandbyClusterID: standby, SyncPeriod: "5m"})
	if string(r.Payload) != string(wantBody) || page.text(`[data-testid=payload-raw]`) != strings.TrimSpace(string(wantBody)) {
		t.Errorf("payload %q, page shows %q", r.Payload, page.text(`[data-testid=payload-raw]`))
	}
	if call := page.text(`[data-testid=call]`); call != "POST /v2/"+simProject+"/disaster-recoveries" {
		t.Errorf("call shown: %q", call)
	}
	if page.doc.Find(`[data-testid=preconditions-ok]`).Length() != 1 {
		t.Errorf("preconditions: %s", page.text(`[data-testid=preconditions]`))
	}
	if page.doc.Find(`[data-testid=decide-form]`).Length() != 0 || !strings.Contains(page.text(`[data-testid=decide-why]`), "own request") {
		t.Error("the requester is offered to decide their own request")
	}
	if page.doc.Find(`[data-testid=cancel]`).Length() != 1 {
		t.Error("the requester cannot cancel")
	}
	e.hooks.received(t, requests.EventFiled, id)

	// The approver sees it waiting, approves with htmx and gets the card back.
	admin := e.signedIn("admin@example.com")
	if n := admin.get("/requests").doc.Find(`[data-testid=request-row]`).Length(); n != 1 {
		t.Errorf("awaiting tab lists %d requests", n)
	}
	if c := admin.get("/dr-tasks").text(`[data-testid=awaiting-count]`); c != "1" {
		t.Errorf("header counter %q", c)
	}
	card := e.decide(admin, id, "approve", "looks right", "HX-Request", "true")
	if card.status != 200 || strings.Contains(card.body, "<html") || card.header.Get("HX-Trigger") != "request-updated" ||
		!strings.Contains(card.text(`[data-testid=flash]`), "approval is recorded") {
		t.Fatalf("approve: %d %q\n%s", card.status, card.header.Get("HX-Trigger"), card.body)
	}

	r = e.waitRequest(id, portal.StatusSucceeded, portal.StatusFailed)
	if r.Status != portal.StatusSucceeded || r.DRTaskID == "" {
		t.Fatalf("request ended %s: %s %s", r.Status, r.Outcome, r.ErrorMsg)
	}
	tasks := e.sim.Tasks(simProject)
	if len(tasks) != 1 || tasks[0].ID != r.DRTaskID || tasks[0].Status != "unstart" || e.sim.Calls("create") != 1 {
		t.Fatalf("simulator: %+v, %d creates", tasks, e.sim.Calls("create"))
	}
	row, err := e.store.Task(context.Background(), r.DRTaskID)
	if err != nil || !row.Managed || row.Status != "unstart" {
		t.Errorf("task row %+v %v", row, err)
	}

	// Every step is in the request's history, the call's exact bytes too.
	events, err := e.store.RequestTimeline(context.Background(), id, 100)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, ev := range events {
		actions = append(actions, ev.Action)
		if ev.Action == audit.ActionCloudCall && strings.Contains(string(ev.Detail), `"operation":"create"`) {
			var d struct {
				Body string `json:"request_body"`
			}
			_ = json.Unmarshal(ev.Detail, &d)
			if d.Body != string(wantBody) {
				t.Errorf("the call sent %s, approved %s", d.Body, wantBody)
			}
		}
	}
	want := []string{"request.filed", "request.decision", "request.approved", "request.executing", "request.intent",
		"cloud.call", "request.result", "request.progress", "request.succeeded"}
	if !containsInOrder(actions, want) {
		t.Errorf("history %v lacks %v in order", actions, want)
	}
	e.hooks.received(t, requests.EventApproved, id)
	e.hooks.received(t, requests.EventExecuted, id)

	// The request page shows the outcome; the task page shows the task.
	done := b.get(fmt.Sprintf("/requests/%d", id))
	if done.doc.Find(`[data-testid=request-card]`).AttrOr("data-status", "") != "succeeded" ||
		done.attr(`[data-testid=task-link]`, "href") != "/dr-tasks/"+r.DRTaskID || done.text(`[data-testid=task-link]`) != r.TaskName {
		t.Errorf("finished request page:\n%s", done.text(`[data-testid=request-card]`))
	}
	task := b.get("/dr-tasks/" + r.DRTaskID)
	if task.attr(`#task-panel [data-testid=status]`, "data-status") != "unstart" {
		t.Errorf("task page status %q", task.attr(`#task-panel [data-testid=status]`, "data-status"))
	}
	if got := task.attr("#task-panel", "hx-trigger"); got != "every 30s" {
		t.Errorf("a settled task's panel polls %q, not now and then", got)
	}
	panel := b.get("/dr-tasks/"+r.DRTaskID+"/status", "HX-Request", "true")
	if panel.status != 200 || strings.Contains(panel.body, "<html") || panel.header.Get("HX-Trigger") != "task-updated" {
		t.Errorf("status fragment: %d %q", panel.status, panel.header.Get("HX-Trigger"))
	}
	for _, want := range []string{primary, standby, "Progress", "Last successful sync"} {
		if !strings.Contains(panel.body, want) {
			t.Errorf("panel lacks %q", want)
		}
	}
	if res := b.get("/dr-tasks/" + r.DRTaskID + "/status"); res.status != http.StatusSeeOther {
		t.Errorf("status without HX-Request: %d", res.status)
	}
	list := b.get("/dr-tasks")
	if row := list.doc.Find(`[data-testid=task-row]`); row.Length() != 1 || !strings.Contains(row.Text(), "dr_demo01") {
		t.Errorf("list: %q", row.Text())
	}
}

func containsInOrder(have, want []string) bool {
	i := 0
	for _, h := range have {
		if i < len(want) && h == want[i] {
			i++
		}
	}
	return i == len(want)
}

func TestCreateRejectsBadInputWithoutCallingTheCloud(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("req@example.com")
	// A task that already exists, to collide with.
	e.createTask("dr_demo01")
	primary2, standby2 := b.formPairExcluding(e.busyClusters()...)
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
		{"no justification", func(v url.Values) { v.Set("justification", "  ") }, "justification", "Say why"},
		{"unknown primary", func(v url.Values) { v.Set("primary_cluster_id", "99999999-9999-9999-9999-999999999999") }, "primary_cluster_id", "does not exist"},
		{"failed primary", func(v url.Values) { v.Set("primary_cluster_id", failed) }, "primary_cluster_id", "cannot be a primary"},
		{"standby in the same zone", func(v url.Values) { v.Set("standby_cluster_id", sameAZ) }, "standby_cluster_id", "not eligible"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			createsBefore := e.sim.Calls("create")
			filedBefore, _ := e.store.CountRequests(context.Background(), db.RequestFilter{})
			rejectedBefore := e.formRejections(audit.ActionCreateRejected, "/dr-tasks")
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
			if filed, _ := e.store.CountRequests(context.Background(), db.RequestFilter{}); filed != filedBefore {
				t.Errorf("bad input filed %d requests", filed-filedBefore)
			}
			// The first of a minute is an event; the rest are counted.
			if n := e.formRejections(audit.ActionCreateRejected, "/dr-tasks") - rejectedBefore; n != 1 {
				t.Errorf("rejection not on record: %d", n)
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
	res.doc.Find(`#primary_cluster_id option[value!=""]:not([disabled])`).Each(func(_ int, s *goquery.Selection) {
		v, _ := s.Attr("value")
		primaries = append(primaries, v)
	})
	for _, p := range primaries {
		if contains(used, p) {
			continue
		}
		page := b.get("/dr-tasks/new?primary_cluster_id=" + url.QueryEscape(p))
		var found string
		page.doc.Find(`#standby_cluster_id option:not([disabled])`).Each(func(_ int, s *goquery.Selection) {
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

func TestARefusedCallFailsTheRequestWithTheCloudsError(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("req@example.com")
	primary, standby := b.formPair()
	id := e.fileCreate(b, validForm(primary, standby))
	e.sim.InjectFault(dwssim.Fault{Route: "create", Status: 400, Code: "DWS.5065", Message: "Invalid parameter.", Times: 1})
	e.decide(e.signedIn("admin@example.com"), id, "approve", "")
	r := e.waitRequest(id, portal.StatusFailed, portal.StatusSucceeded)
	if r.Status != portal.StatusFailed || r.ErrorCode != "DWS.5065" || r.ErrorRequestID == "" {
		t.Fatalf("request %+v", r)
	}
	if e.sim.Calls("create") != 1 || len(e.sim.Tasks(simProject)) != 0 {
		t.Errorf("a refused create was retried or created something")
	}
	page := b.get(fmt.Sprintf("/requests/%d", id))
	msg := page.text(`[data-testid=cloud-error]`)
	for _, want := range []string{"DWS.5065", "Invalid parameter", r.ErrorRequestID} {
		if !strings.Contains(msg, want) {
			t.Errorf("cloud error %q lacks %q", msg, want)
		}
	}
	if rows, _ := e.store.ListTasks(context.Background()); len(rows) != 0 {
		t.Errorf("%d task rows after a refused create", len(rows))
	}
	e.hooks.received(t, requests.EventFailed, id)
}

func TestAnAnswerLostInTransitIsAdoptedNotResent(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("req@example.com")
	primary, standby := b.formPair()
	id := e.fileCreate(b, validForm(primary, standby))
	e.sim.InjectFault(dwssim.Fault{Route: "create", DropResponse: true, Times: 1})
	e.decide(e.signedIn("admin@example.com"), id, "approve", "")
	r := e.waitRequest(id, portal.StatusSucceeded, portal.StatusFailed)
	tasks := e.sim.Tasks(simProject)
	if r.Status != portal.StatusSucceeded || len(tasks) != 1 || r.DRTaskID != tasks[0].ID || e.sim.Calls("create") != 1 {
		t.Fatalf("request %s (%s), tasks %+v, %d creates", r.Status, r.Outcome, tasks, e.sim.Calls("create"))
	}
	var adopted bool
	events, _ := e.store.RequestTimeline(context.Background(), id, 100)
	for _, ev := range events {
		if ev.Action == "request.result" && strings.Contains(string(ev.Detail), "adopted") {
			adopted = true
		}
	}
	if !adopted {
		t.Error("the adoption is not in the history")
	}
}

func TestListAndDetailFallBackToTheLastKnownState(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("req@example.com")
	loc := "/dr-tasks/" + e.createTask("dr_demo01")
	eventually(t, "a fresh list", func() bool {
		l := b.get("/dr-tasks")
		return l.doc.Find(`[data-testid=stale]`).Length() == 0 && l.doc.Find(`[data-testid=task-row]`).Length() == 1
	})

	e.sim.InjectFault(dwssim.Fault{Status: 503})
	var list response
	eventually(t, "the list marked stale", func() bool {
		list = b.get("/dr-tasks")
		return list.doc.Find(`[data-testid=stale]`).Length() == 1
	})
	stale := list.text(`[data-testid=stale]`)
	if list.status != 200 || !strings.Contains(stale, "last known list") || !strings.Contains(stale, "503") || !strings.Contains(stale, "request id") {
		t.Errorf("stale notice: %d %q", list.status, stale)
	}
	if list.doc.Find(`[data-testid=task-row]`).Length() != 1 {
		t.Error("the last known task is not listed")
	}
	var detail response
	eventually(t, "the task marked stale", func() bool {
		detail = b.get(loc)
		return detail.doc.Find(`[data-testid=stale]`).Length() == 1
	})
	if detail.status != 200 || !strings.Contains(detail.text(`[data-testid=stale]`), "last known state") ||
		detail.attr(`#task-panel [data-testid=status]`, "data-status") != "unstart" {
		t.Errorf("detail with the cloud down: %d %q", detail.status, detail.text(`[data-testid=stale]`))
	}

	// An unknown task is a clear 404 from the database alone: a page view
	// never asks the cloud, down or not.
	miss := b.get("/dr-tasks/e59d6b86-9072-46eb-a996-13f8b44994c1")
	if miss.status != http.StatusNotFound || !strings.Contains(miss.text(`[data-testid=error-message]`), "knows no DR task") {
		t.Errorf("unknown task, cloud down: %d %q", miss.status, miss.text(`[data-testid=error-message]`))
	}
	e.sim.ClearFaults()
	if gone := b.get("/dr-tasks/e59d6b86-9072-46eb-a996-13f8b44994c1"); gone.status != http.StatusNotFound {
		t.Errorf("unknown task: %d", gone.status)
	}
	if bad := b.get("/dr-tasks/not-an-id"); bad.status != http.StatusNotFound {
		t.Errorf("malformed id: %d", bad.status)
	}
	eventually(t, "the list fresh again", func() bool {
		return b.get("/dr-tasks").doc.Find(`[data-testid=stale]`).Length() == 0
	})
}

func TestASlowCloudDoesNotSlowThePages(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("req@example.com")
	e.sim.InjectFault(dwssim.Fault{Route: "list", Latency: 30 * time.Second})
	start := time.Now()
	list := b.get("/dr-tasks")
	if took := time.Since(start); took > 2*time.Second || list.status != 200 {
		t.Errorf("list with a slow cloud: %d in %v", list.status, took)
	}
	// The background read gives up within its timeout and says so.
	eventually(t, "the timeout reported", func() bool {
		return strings.Contains(b.get("/dr-tasks").text(`[data-testid=stale]`), "did not answer in time")
	})
}

// TestWatchersCostNoCloudCalls loads a task's status 50 times at once: the
// pages read the poller's state, so the cloud sees no more calls than it
// would for one viewer.
func TestWatchersCostNoCloudCalls(t *testing.T) {
	e := newEnv(t)
	id := e.createTask("dr_watch01")
	b := e.signedIn("audit@example.com")
	// Stop the background poller so that any cloud call is the pages' own.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.jobs.StopAndCancel(ctx); err != nil {
		t.Fatal(err)
	}
	before := e.sim.TotalCalls()
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := b.get("/dr-tasks/"+id+"/status", "HX-Request", "true"); r.status != 200 {
				t.Errorf("status fragment: %d", r.status)
			}
			if r := b.get("/dr-tasks/" + id); r.status != 200 {
				t.Errorf("task page: %d", r.status)
			}
		}()
	}
	wg.Wait()
	if extra := e.sim.TotalCalls() - before; extra != 0 {
		t.Errorf("100 page loads cost %d cloud calls", extra)
	}
}

func TestStandbyPickerFollowsThePrimary(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("req@example.com")
	primary, _ := b.formPair()
	frag := b.get("/dr-tasks/new/standbys?primary_cluster_id="+primary, "HX-Request", "true")
	offered := `#standby_cluster_id option[value!=""]:not([disabled])`
	if frag.status != 200 || strings.Contains(frag.body, "<html") || frag.doc.Find(offered).Length() == 0 {
		t.Fatalf("fragment: %d\n%s", frag.status, frag.body)
	}
	p := e.clusterByID(primary)
	frag.doc.Find(offered).Each(func(_ int, s *goquery.Selection) {
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
	// The name is looked up in the portal's copy of the tasks, never in
	// the cloud: filing asks the cloud.
	before := e.sim.Calls("check-name")
	if r := check("name=good_name"); !strings.Contains(r.text(`[data-testid=ok-name]`), "no DR task in the portal's copy has this name") ||
		!strings.Contains(r.text(`[data-testid=ok-name]`), "the cloud checks it again when you file") {
		t.Errorf("free name: %s", r.body)
	}
	if n := e.sim.Calls("check-name") - before; n != 0 {
		t.Errorf("the inline name check asked the cloud %d times", n)
	}
	e.createTask("dr_taken01") // filing asks the cloud
	before = e.sim.Calls("check-name")
	if r := check("name=DR_TAKEN01"); !strings.Contains(r.text(`[data-testid=error-name]`), "already exists") {
		t.Errorf("a name the portal's copy has: %s", r.body)
	}
	if n := e.sim.Calls("check-name") - before; n != 0 {
		t.Errorf("the inline name check asked the cloud %d times", n)
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

// TestCreateWithTheCloudDownSaysNothingWasFiled: when the cloud cannot be
// asked, the form comes back as a 4xx that htmx swaps (424, not a 5xx whose
// body htmx drops), saying nothing was filed.
func TestCreateWithTheCloudDownSaysNothingWasFiled(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("req@example.com")
	primary, standby := b.formPair()
	form := validForm(primary, standby)
	form.Set("_csrf", b.csrf("/dr-tasks/new"))
	e.sim.InjectFault(dwssim.Fault{Status: 503})
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/dr-tasks", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("HX-Request", "true")
	req.Header.Set("HX-Boosted", "true")
	res := b.do(req)
	if res.status != http.StatusFailedDependency || !strings.Contains(res.text(`[data-testid=submit-error]`), "Nothing was filed") {
		t.Fatalf("create with the cloud down: %d %q", res.status, res.text(`[data-testid=submit-error]`))
	}
	if n, err := e.store.CountRequests(context.Background(), db.RequestFilter{}); err != nil || n != 0 {
		t.Errorf("%d requests filed (%v)", n, err)
	}
}

// TestACreateRefusedForItsNameFailsSayingSo: a name taken between filing
// and the call is refused by the cloud (whatever code it uses for that);
// the request fails with that reason, nothing is retried or created.
func TestACreateRefusedForItsNameFailsSayingSo(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("req@example.com")
	primary, standby := b.formPair()
	id := e.fileCreate(b, validForm(primary, standby))
	e.sim.InjectFault(dwssim.Fault{Route: dwssim.RouteCreate, Status: 400, Code: "DWS.5999",
		Message: "The disaster recovery name already exists.", Times: 1})
	e.decide(e.signedIn("admin@example.com"), id, "approve", "")
	r := e.waitRequest(id, portal.StatusFailed, portal.StatusSucceeded)
	if r.Status != portal.StatusFailed || !strings.Contains(r.Outcome, "refused the name") || !strings.Contains(r.Outcome, "another name") {
		t.Fatalf("request %s: %q", r.Status, r.Outcome)
	}
	if e.sim.Calls(dwssim.RouteCreate) != 1 || len(e.sim.Tasks(simProject)) != 0 {
		t.Error("a create refused for its name was retried or created something")
	}
}

// TestThePrimaryPickerSaysWhichClustersCannotBePrimaries: before anyone
// picks, a cluster whose kernel is too old for DR, or that is already in a
// DR task, is offered disabled with the reason.
func TestThePrimaryPickerSaysWhichClustersCannotBePrimaries(t *testing.T) {
	e := newEnv(t)
	taskID := e.createTask("dr_taken_pair")
	task, err := e.store.Task(context.Background(), taskID)
	if err != nil {
		t.Fatal(err)
	}
	page := e.signedIn("req@example.com").get("/dr-tasks/new")
	option := func(name string) (label string, disabled bool) {
		o := page.doc.Find(`#primary_cluster_id option`).FilterFunction(func(_ int, s *goquery.Selection) bool {
			return strings.HasPrefix(s.Text(), name+" ")
		})
		_, disabled = o.Attr("disabled")
		return o.Text(), disabled
	}
	if label, disabled := option(dwssim.ClusterOldVersion); !disabled || !strings.Contains(label, "DR needs 8.1.1 or later") {
		t.Errorf("an 8.0 cluster is offered as %q (disabled %v)", label, disabled)
	}
	if label, disabled := option(task.PrimaryClusterName); !disabled || !strings.Contains(label, "already in DR task dr_taken_pair") {
		t.Errorf("a cluster already in a DR task is offered as %q (disabled %v)", label, disabled)
	}
}

// TestATaskPageLooksAgainWhileARequestWaitsOnIt: a task page left open
// while a request on it waits for decisions reloads its panel every 5 s
// (2 s while the task changes), so an approval shows and the buttons
// follow it; a settled task's panel every 30 s, so that what someone
// else files shows. The operation waiting is not offered a second time.
func TestATaskPageLooksAgainWhileARequestWaitsOnIt(t *testing.T) {
	e := newEnv(t)
	id := e.createTask("dr_waiting_page")
	e.stopWorkers() // the approved start stays approved: nothing runs it
	req := e.signedIn("req@example.com")
	if got := req.get("/dr-tasks/"+id).attr("#task-panel", "hx-trigger"); got != "every 30s" {
		t.Errorf("a settled task's panel polls %q", got)
	}
	form := req.get("/dr-tasks/" + id + "/operations/start")
	if button := form.doc.Find(`[data-testid=file-operation]`); button.Length() != 1 || button.Is("[else]") {
		t.Errorf("the operation form's submit button: %s", form.body[strings.Index(form.body, `data-testid="file-operation"`)-80:][:240])
	}
	start := requestIDFrom(t, e.fileOperation(req, id, "start", url.Values{"justification": {"CHG-9: protect the warehouse"}}))
	open := func() (trigger, kind string, panel response) {
		panel = req.get("/dr-tasks/" + id)
		tag := panel.body[strings.Index(panel.body, `id="task-panel"`):]
		tag = tag[:strings.Index(tag, ">")]
		if n := strings.Count(tag, "hx-trigger="); n > 1 {
			t.Errorf("the panel has %d triggers: %s", n, tag)
		}
		return panel.attr("#task-panel", "hx-trigger"), panel.attr("#task-panel", "data-polling"), panel
	}
	if trigger, kind, _ := open(); trigger != "every 5s" || kind != "waiting" {
		t.Errorf("with the start pending, the panel polls %q (%q)", trigger, kind)
	}
	// The start waiting is not offered again; the other operations are.
	pending := req.get("/dr-tasks/" + id)
	if pending.doc.Find(`[data-testid=op-start]`).Length() != 0 || pending.doc.Find(`[data-testid^=op-]`).Length() == 0 {
		t.Errorf("operations offered while a start is pending: %q", pending.text(`[data-testid=task-panel] .actions`))
	}
	e.decide(e.signedIn("admin@example.com"), start, "approve", "")
	trigger, kind, page := open()
	if trigger != "every 5s" || kind != "waiting" {
		t.Errorf("with the start approved, the panel polls %q (%q)", trigger, kind)
	}
	fragment := req.get(page.attr("#task-panel", "hx-get"), "HX-Request", "true")
	if fragment.doc.Find(`[data-testid=request-chip]`).Length() != 1 || fragment.doc.Find(`[data-testid^=op-]`).Length() != 0 ||
		!strings.Contains(fragment.text(`[data-testid=task-panel]`), fmt.Sprintf("Request #%d is approved", start)) {
		t.Errorf("the refreshed panel after the approval: %q", strings.Join(strings.Fields(fragment.text(`[data-testid=task-panel]`)), " "))
	}
}
