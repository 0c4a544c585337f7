package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"drportal/internal/auth"
	"drportal/internal/db"
	"drportal/internal/portal"
)

// fileOperation posts an operation's form and returns the response.
func (e *env) fileOperation(b *browser, id, op string, form url.Values) response {
	e.t.Helper()
	page := fmt.Sprintf("/dr-tasks/%s/operations/%s", id, op)
	form.Set("_csrf", b.csrf("/dr-tasks/"+id))
	return b.postRaw(page, form)
}

func requestIDFrom(t *testing.T, res response) int64 {
	t.Helper()
	if res.status != http.StatusSeeOther || !strings.HasPrefix(res.header.Get("Location"), "/requests/") {
		t.Fatalf("filing: %d %s\n%s", res.status, res.header.Get("Location"), res.text("main"))
	}
	id, _ := strconv.ParseInt(strings.TrimPrefix(res.header.Get("Location"), "/requests/"), 10, 64)
	return id
}

func opButtons(r response) []string {
	var ops []string
	r.doc.Find(`[data-testid=operations] a`).Each(func(_ int, s *goquery.Selection) {
		ops = append(ops, strings.TrimPrefix(s.AttrOr("data-testid", ""), "op-"))
	})
	return ops
}

func TestOperationsThroughThePages(t *testing.T) {
	e := newEnv(t)
	e.addUser("appr@example.com", auth.RoleApprover)
	id := e.createTask("dr_ops01")
	req := e.signedIn("req@example.com")
	admin := e.signedIn("admin@example.com")
	appr := e.signedIn("appr@example.com")

	page := req.get("/dr-tasks/" + id)
	if got := strings.Join(opButtons(page), ","); got != "start,update,delete" {
		t.Errorf("an unstart task offers %q", got)
	}
	if r := req.get("/dr-tasks/" + id + "/operations/stop"); r.status != http.StatusConflict || !strings.Contains(r.text(`[data-testid=error-message]`), "not possible while the task is not started (unstart); it is possible when it is running or stop failed.") {
		t.Errorf("stop form on an unstart task: %d %q", r.status, r.text(`[data-testid=error-message]`))
	}
	if r := req.get("/dr-tasks/" + id + "/operations/explode"); r.status != http.StatusNotFound {
		t.Errorf("unknown operation: %d", r.status)
	}

	// Update: the period is checked; a valid one becomes a request.
	for period, want := range map[string]string{"5m": "already 5m", "5h": "not a sync period", "": "Enter a sync period"} {
		r := e.fileOperation(req, id, "update", url.Values{"dr_sync_period": {period}, "justification": {"tune the sync period"}})
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.text(`[data-testid=error-dr_sync_period]`), want) {
			t.Errorf("update to %q: %d %q", period, r.status, r.text(`[data-testid=error-dr_sync_period]`))
		}
	}
	upd := requestIDFrom(t, e.fileOperation(req, id, "update", url.Values{"dr_sync_period": {"10m"}, "justification": {"fewer cycles"}}))
	card := admin.get(fmt.Sprintf("/requests/%d", upd))
	if !strings.Contains(card.text(`[data-testid=consequence]`), "from 5 minutes to 10 minutes") || card.text(`[data-testid=call]`) != "PUT /v2/"+simProject+"/disaster-recovery/"+id {
		t.Errorf("update request shows %q / %q", card.text(`[data-testid=consequence]`), card.text(`[data-testid=call]`))
	}
	e.decide(admin, upd, "approve", "")
	e.waitRequest(upd, portal.StatusSucceeded)
	if row, _ := e.store.Task(context.Background(), id); row.SyncPeriod != "10m" {
		t.Errorf("sync period %q after the update", row.SyncPeriod)
	}

	start := requestIDFrom(t, e.fileOperation(req, id, "start", url.Values{"justification": {"protect it"}}))
	e.decide(admin, start, "approve", "")
	e.waitRequest(start, portal.StatusSucceeded)

	// A running task offers stop, switchover and a drill, and shows RPO and RTO.
	var running response
	eventually(t, "the running task's page", func() bool {
		e.clock.Advance(time.Second)
		running = req.get("/dr-tasks/" + id)
		return strings.Join(opButtons(running), ",") == "stop,switchover,drill" && running.text(`[data-testid=rpo]`) != ""
	})

	// Switchover is high risk: the affected cluster's name must be typed.
	form := req.get("/dr-tasks/" + id + "/operations/switchover")
	confirm := form.text(`label[for=confirm] .mono`)
	if confirm == "" || !strings.Contains(form.text(`[data-testid=consequence]`), "unavailable while the switchover runs") {
		t.Fatalf("switchover form: confirm %q, consequence %q", confirm, form.text(`[data-testid=consequence]`))
	}
	before, _ := e.store.CountRequests(context.Background(), db.RequestFilter{})
	wrong := e.fileOperation(req, id, "switchover", url.Values{"confirm": {"not-it"}, "justification": {"quarterly DR drill"}})
	if wrong.status != http.StatusUnprocessableEntity || !strings.Contains(wrong.text(`[data-testid=error-confirm]`), confirm) {
		t.Errorf("wrong confirmation: %d %q", wrong.status, wrong.text(`[data-testid=error-confirm]`))
	}
	if after, _ := e.store.CountRequests(context.Background(), db.RequestFilter{}); after != before {
		t.Error("a wrong confirmation filed a request")
	}
	sw := requestIDFrom(t, e.fileOperation(req, id, "switchover", url.Values{"confirm": {confirm}, "justification": {"quarterly DR drill"}}))
	// Each approver types it too.
	swPage := admin.get(fmt.Sprintf("/requests/%d", sw))
	if swPage.text(`label[for=confirm] .mono`) != confirm {
		t.Errorf("the approver is not asked to type %q", confirm)
	}
	if r := e.decide(admin, sw, "approve", ""); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.text(`[data-testid=card-error]`), confirm) {
		t.Errorf("approval without confirmation: %d %q", r.status, r.text(`[data-testid=card-error]`))
	}
	approveConfirmed := func(b *browser) {
		page := b.get(fmt.Sprintf("/requests/%d", sw))
		r := b.postRaw(fmt.Sprintf("/requests/%d/decide", sw), url.Values{
			"_csrf": {page.doc.Find(`[data-testid=decide-form] input[name=_csrf]`).AttrOr("value", "")}, "decision": {"approve"},
			"payload_sha256": {page.text(`[data-testid=payload-hash]`)}, "confirm": {confirm}})
		if r.status != http.StatusSeeOther {
			t.Fatalf("confirmed approval: %d %s", r.status, r.text(`[data-testid=card-error]`))
		}
	}
	approveConfirmed(admin)
	if r, _ := e.store.Request(context.Background(), sw); r.Status != portal.StatusPending {
		t.Fatalf("switchover needs two approvals; after one it is %s", r.Status)
	}
	approveConfirmed(appr)
	done := e.waitRequest(sw, portal.StatusSucceeded, portal.StatusFailed)
	if done.Status != portal.StatusSucceeded {
		t.Fatalf("switchover: %s %q", done.Status, done.Outcome)
	}

	// A task deleted behind the portal's back: filing is refused, nothing sent.
	ctx := context.Background()
	if err := e.client.Operate(ctx, portal.OpStop, id, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, "stopped in the cloud", func() bool {
		e.clock.Advance(time.Second)
		tk, _ := e.client.Get(ctx, id)
		return tk.Status == portal.TaskStopped
	})
	if err := e.client.Operate(ctx, portal.OpDelete, id, nil); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	r := e.fileOperation(req, id, "start", url.Values{"justification": {"start it again, please"}})
	if r.status != http.StatusConflict || !strings.Contains(r.text(`[data-testid=submit-error]`), "deleted") {
		t.Errorf("filing on a deleted task: %d %q", r.status, r.text(`[data-testid=submit-error]`))
	}
}

func TestDriftAndUnmanagedTasksAreShown(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := e.createTask("dr_drift01")
	b := e.signedIn("audit@example.com")

	// Started outside the portal: the poller notices and the page says so.
	if err := e.client.Operate(ctx, portal.OpStart, id, nil); err != nil {
		t.Fatal(err)
	}
	var page response
	deadline := time.Now().Add(20 * time.Second)
	for {
		e.clock.Advance(time.Second)
		page = b.get("/dr-tasks/" + id)
		if page.doc.Find(`[data-testid=drift]`).Length() == 1 {
			break
		}
		if time.Now().After(deadline) {
			row, err := e.store.Task(ctx, id)
			t.Fatalf("no drift shown; row %+v %v; drift events %d", row, err, len(e.events("dr_task.drift")))
		}
		time.Sleep(25 * time.Millisecond)
	}
	if d := page.text(`[data-testid=drift]`); !strings.Contains(d, "recorded unstart") {
		t.Errorf("drift notice %q", d)
	}
	if n := len(e.events("dr_task.drift")); n < 1 {
		t.Error("the drift is not audited")
	}

	// A task created outside the portal is listed as unmanaged.
	p2, _ := e.sim.Cluster(simProject, "dws-prod-02")
	s2, _ := e.sim.Cluster(simProject, "dws-dr-02")
	other, err := e.client.Create(ctx, portal.CreateSpec{Name: "dr_elsewhere", DRType: "az", PrimaryClusterID: p2.ID,
		StandbyClusterID: s2.ID, SyncPeriod: "1H"})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the unmanaged task listed", func() bool {
		row := b.get("/dr-tasks").doc.Find(fmt.Sprintf(`[data-testid=task-row][data-id="%s"]`, other))
		return row.Length() == 1 && strings.Contains(row.Text(), "unmanaged")
	})
}
