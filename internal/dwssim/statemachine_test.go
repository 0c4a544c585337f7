package dwssim_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"testing"
	"time"

	"drportal/internal/dwssim"
)

// Default phase durations at speed 1.
const (
	dCreating   = 3 * time.Second
	dStarting   = 3 * time.Second
	dStopping   = 2 * time.Second
	dSwitchover = 4 * time.Second
	dFailover   = 4 * time.Second
	dRecovery   = 6 * time.Second
	dDeleting   = 2 * time.Second
	dCycle      = 5 * time.Second // the default 5m period × 1/60
)

// The operations on an existing task, in the order of the API reference.
var taskOps = []string{"update", "start", "pause", "switchover", "failover", "recovery", "delete"}

func taskPath(id string) string { return "/v2/" + pid + "/disaster-recovery/" + id }

// act sends an operation on a task the way the SDK does: update with a
// period change, the actions with no body.
func (e *env) act(op, id string) result {
	e.t.Helper()
	switch op {
	case "update":
		return e.do("PUT", taskPath(id), `{"disaster_recovery":{"dr_sync_period":"10m"}}`+"\n")
	case "delete":
		return e.do("DELETE", taskPath(id), "")
	case "progress":
		return e.do("GET", "/v1/"+pid+"/disaster-recovery/"+id+"/show-progress", "")
	default:
		return e.do("POST", taskPath(id)+"/"+op, "")
	}
}

// mustAct expects the operation's 200 {"disaster_recovery":{"id":…}}.
func (e *env) mustAct(op, id string) {
	e.t.Helper()
	res := e.act(op, id)
	if res.status != http.StatusOK {
		e.t.Fatalf("%s %s: %d %s", op, id, res.status, res.body)
	}
	if want := `{"disaster_recovery":{"id":"` + id + `"}}`; string(res.body) != want {
		e.t.Fatalf("%s body %s, want %s", op, res.body, want)
	}
}

func (e *env) snap(id string) dwssim.TaskSnapshot {
	e.t.Helper()
	s, ok := e.sim.Task(pid, id)
	if !ok {
		e.t.Fatalf("task %s is gone", id)
	}
	return s
}

func (e *env) status(id string) string {
	e.t.Helper()
	return e.detail(id)["status"].(string)
}

// expectStatus checks the status the API shows.
func (e *env) expectStatus(id, want string) {
	e.t.Helper()
	if got := e.status(id); got != want {
		e.t.Fatalf("at +%v: status %q, want %q", e.elapsed(), got, want)
	}
}

func (e *env) elapsed() time.Duration { return e.clock.Now().Sub(t0) }

func (e *env) side(id, side string) map[string]any {
	e.t.Helper()
	return e.detail(id)[side].(map[string]any)
}

// drive makes a task between dws-prod-01 and dws-dr-01 and brings it into
// status through the API, with FailNext for the failure statuses.
func (e *env) drive(status string) string {
	e.t.Helper()
	var id string
	switch status {
	case "creating":
		return e.create("dr_demo01", dwssim.ClusterProd1, dwssim.ClusterDR1)
	case "create_failed":
		e.sim.FailNext("create", 1)
		id = e.create("dr_demo01", dwssim.ClusterProd1, dwssim.ClusterDR1)
		e.clock.Advance(dCreating)
	case "unstart":
		id = e.create("dr_demo01", dwssim.ClusterProd1, dwssim.ClusterDR1)
		e.clock.Advance(dCreating)
	case "starting":
		id = e.drive("unstart")
		e.mustAct("start", id)
	case "start_failed":
		id = e.drive("unstart")
		e.sim.FailNext("start", 1)
		e.mustAct("start", id)
		e.clock.Advance(dStarting)
	case "running":
		id = e.drive("starting")
		e.clock.Advance(dStarting)
	case "stopping":
		id = e.drive("running")
		e.mustAct("pause", id)
	case "stopped":
		id = e.drive("stopping")
		e.clock.Advance(dStopping)
	case "stop_failed":
		id = e.drive("running")
		e.sim.FailNext("pause", 1)
		e.mustAct("pause", id)
		e.clock.Advance(dStopping)
	case "switchovering":
		id = e.drive("running")
		e.mustAct("switchover", id)
	case "abnormal": // a failed switchover: abnormal with both clusters healthy
		id = e.drive("running")
		e.sim.FailNext("switchover", 1)
		e.mustAct("switchover", id)
		e.clock.Advance(dSwitchover)
	case "deleting":
		id = e.drive("stopped")
		e.mustAct("delete", id)
	default:
		e.t.Fatalf("cannot drive to %s", status)
	}
	e.expectStatus(id, status)
	return id
}

// outcome is what an allowed operation does from a status.
type outcome struct {
	transient string // "" for the synchronous update
	d         time.Duration
	target    string // "gone" for delete
	swapped   bool
}

// allowed is the §4 table (recovery needs a failover, so it is allowed
// from none of these statuses; see TestRecovery).
var allowed = map[string]map[string]outcome{
	"update": {"unstart": {target: "unstart"}, "stopped": {target: "stopped"}},
	"start": {
		"unstart":      {"starting", dStarting, "running", false},
		"start_failed": {"starting", dStarting, "running", false},
		"stopped":      {"starting", dStarting, "running", false},
	},
	"pause": {
		"running":     {"stopping", dStopping, "stopped", false},
		"stop_failed": {"stopping", dStopping, "stopped", false},
	},
	"switchover": {"running": {"switchovering", dSwitchover, "running", true}},
	"failover":   {"abnormal": {"switchovering", dFailover, "abnormal", true}},
	"delete": {
		"create_failed": {"deleting", dDeleting, "gone", false},
		"unstart":       {"deleting", dDeleting, "gone", false},
		"start_failed":  {"deleting", dDeleting, "gone", false},
		"stopped":       {"deleting", dDeleting, "gone", false},
		"stop_failed":   {"deleting", dDeleting, "gone", false},
		"abnormal":      {"deleting", dDeleting, "gone", false},
	},
}

var allStatuses = []string{"creating", "create_failed", "unstart", "starting", "start_failed", "running",
	"stopping", "stopped", "stop_failed", "switchovering", "abnormal", "deleting"}

// Every operation from every status: allowed ones pass through their
// transient phase to their target; the others get 403 DWS.7023 and change
// nothing.
func TestEveryOperationFromEveryStatus(t *testing.T) {
	for _, from := range allStatuses {
		for _, op := range taskOps {
			t.Run(op+" from "+from, func(t *testing.T) {
				e := newEnv(t)
				id := e.drive(from)
				before := e.snap(id)
				detailBefore := e.do("GET", taskPath(id), "").body
				o, ok := allowed[op][from]
				if !ok {
					res := e.act(op, id)
					expectError(t, res, http.StatusForbidden, "DWS.7023")
					if _, msg, _ := res.errorCode(); msg != "Cluster status is not allowed to operation." {
						t.Errorf("message %q", msg)
					}
					if after := e.snap(id); !reflect.DeepEqual(after, before) {
						t.Errorf("refused %s changed the task:\n%+v\n%+v", op, before, after)
					}
					if after := e.do("GET", taskPath(id), "").body; !bytes.Equal(after, detailBefore) {
						t.Errorf("refused %s changed the detail:\n%s\n%s", op, detailBefore, after)
					}
					return
				}

				e.mustAct(op, id)
				if o.transient == "" { // update: synchronous, status unchanged
					if s := e.snap(id); s.Status != from || s.SyncPeriod != "10m" {
						t.Errorf("after update: %q %q", s.Status, s.SyncPeriod)
					}
					return
				}
				e.expectStatus(id, o.transient)
				if s := e.snap(id); s.Operation != op {
					t.Errorf("Operation %q during the phase", s.Operation)
				}
				e.clock.Advance(o.d - time.Millisecond)
				e.expectStatus(id, o.transient)
				e.clock.Advance(time.Millisecond)
				if o.target == "gone" {
					expectError(t, e.do("GET", taskPath(id), ""), 400, "DWS.10101")
					return
				}
				e.expectStatus(id, o.target)
				after := e.snap(id)
				if after.Operation != "" {
					t.Errorf("Operation %q after settling", after.Operation)
				}
				if swapped := after.PrimaryClusterID != before.PrimaryClusterID; swapped != o.swapped {
					t.Errorf("swapped = %v, want %v", swapped, o.swapped)
				}
			})
		}
	}
}

// An unknown or deleted ID gets 400 DWS.10101 on every per-task route; the
// name and both clusters are free again.
func TestDeletedTask(t *testing.T) {
	e := newEnv(t)
	id := e.drive("stopped")
	other := e.create("dr_other", dwssim.ClusterProd2, dwssim.ClusterDR2)
	e.mustAct("delete", id)
	availablePath := "/v2/" + pid + "/disaster-recovery-clusters?primary_cluster_id=" + e.cluster(dwssim.ClusterProd1).ID + "&standby_az_code=" + dwssim.AZ2

	// While deleting, the task still holds its name and clusters.
	e.clock.Advance(dDeleting - time.Millisecond)
	if items := e.list(""); len(items) != 2 || items[0]["status"] != "deleting" {
		t.Fatalf("list while deleting %v", items)
	}
	expectError(t, e.do("GET", "/v2/"+pid+"/disaster-recovery/check-name?dr_name=dr_demo01", ""), 409, "DWS.5050")
	expectError(t, e.do("GET", availablePath, ""), 403, "DWS.7023") // dws-prod-01 is still in DR
	if e.do("DELETE", taskPath(other), "").status != 403 {
		t.Error("delete of a creating task allowed")
	}

	e.clock.Advance(time.Millisecond)
	for _, id := range []string{id, "e59d6b86-9072-46eb-a996-13f8b44994c1"} {
		for _, op := range append([]string{"detail", "progress"}, taskOps...) {
			var res result
			if op == "detail" {
				res = e.do("GET", taskPath(id), "")
			} else {
				res = e.act(op, id)
			}
			expectError(t, res, 400, "DWS.10101")
		}
	}
	if items := e.list(""); len(items) != 1 || items[0]["id"] != other {
		t.Errorf("list after delete %v", items)
	}
	if items := e.list("?id=" + id); len(items) != 0 {
		t.Errorf("filtered list %v", items)
	}
	if tasks := e.sim.Tasks(pid); len(tasks) != 1 || tasks[0].ID != other {
		t.Errorf("Tasks %+v", tasks)
	}
	if _, ok := e.sim.Task(pid, id); ok {
		t.Error("Task still finds the deleted task")
	}
	if res := e.do("GET", "/v2/"+pid+"/disaster-recovery/check-name?dr_name=DR_DEMO01", ""); res.status != 200 {
		t.Errorf("name not freed: %d %s", res.status, res.body)
	}
	if got := availableNames(t, e.do("GET", availablePath, "")); len(got) != 1 || got[0] != dwssim.ClusterDR1 {
		t.Errorf("available standbys of dws-prod-01 %v, want dws-dr-01 (dws-dr-02 is taken)", got)
	}
	again := e.create("dr_demo01", dwssim.ClusterProd1, dwssim.ClusterDR1)
	if again == id {
		t.Error("a new task reused the deleted ID")
	}
}

// A switchover swaps the whole cluster objects, ends in running with RPO 0
// and keeps syncing in the new direction.
func TestSwitchover(t *testing.T) {
	e := newEnv(t)
	p1, d1 := e.cluster(dwssim.ClusterProd1), e.cluster(dwssim.ClusterDR1)
	body := `{"disaster_recovery":{"name":"dr_demo01","dr_type":"az","primary_cluster_id":"` + p1.ID +
		`","standby_cluster_id":"` + d1.ID + `","dr_sync_period":"5m","primary_obs_bucket":"obs-prod"}}`
	res := e.do("POST", "/v2/"+pid+"/disaster-recoveries", body)
	if res.status != 200 {
		t.Fatalf("%d %s", res.status, res.body)
	}
	id := e.sim.Tasks(pid)[0].ID
	e.clock.Advance(dCreating)
	e.mustAct("start", id)
	e.clock.Advance(dStarting + 7*time.Second) // +13s: one cycle done (+11s), the second under way
	before := e.detail(id)
	if before["primary_cluster"].(map[string]any)["last_success_time"] != "2024-01-01T12:00:11" {
		t.Fatalf("before: %v", before["primary_cluster"])
	}

	e.mustAct("switchover", id)
	e.expectStatus(id, "switchovering")
	e.clock.Advance(dSwitchover)
	after := e.detail(id)
	if after["status"] != "running" {
		t.Fatalf("status %v", after["status"])
	}
	pb, sb := before["primary_cluster"].(map[string]any), before["standby_cluster"].(map[string]any)
	pa, sa := after["primary_cluster"].(map[string]any), after["standby_cluster"].(map[string]any)
	for _, k := range []string{"id", "name", "cluster_az", "obs_bucket_name", "region"} {
		if pa[k] != sb[k] || sa[k] != pb[k] {
			t.Errorf("%s not swapped: primary %v→%v, standby %v→%v", k, pb[k], pa[k], sb[k], sa[k])
		}
	}
	if pa["id"] != d1.ID || pa["name"] != dwssim.ClusterDR1 || pa["cluster_az"] != dwssim.AZ2 || pa["role"] != "primary" ||
		sa["id"] != p1.ID || sa["name"] != dwssim.ClusterProd1 || sa["cluster_az"] != dwssim.AZ1 || sa["role"] != "standby" ||
		pa["obs_bucket_name"] != nil || sa["obs_bucket_name"] != "obs-prod" {
		t.Errorf("after switchover\nprimary %v\nstandby %v", pa, sa)
	}
	// RPO 0: everything up to the switchover is on the new primary.
	if pa["last_success_time"] != "2024-01-01T12:00:17" || sa["last_success_time"] != "2024-01-01T12:00:17" {
		t.Errorf("last_success_time %v %v", pa["last_success_time"], sa["last_success_time"])
	}
	if rpo := e.progress(id).RecoveryPointObject; rpo != 0 {
		t.Errorf("RPO %d after the switchover", rpo)
	}
	items := e.list("?primary_cluster_id=" + d1.ID)
	if len(items) != 1 || items[0]["standby_cluster_id"] != p1.ID || items[0]["primary_cluster_role"] != "primary" ||
		items[0]["last_disaster_time"] != "2024-01-01T12:00:17" {
		t.Errorf("list %v", items)
	}
	// Syncing resumes from the switchover, new primary backing up.
	if pa["status"] != "backuping" || sa["status"] != "restoring" {
		t.Errorf("cluster statuses %v %v", pa["status"], sa["status"])
	}
	e.clock.Advance(dCycle)
	if s := e.snap(id); !s.LastSyncAt.Equal(t0.Add(22*time.Second)) || s.PrimaryClusterName != dwssim.ClusterDR1 {
		t.Errorf("after a cycle: %+v", s)
	}

	// And back.
	e.mustAct("switchover", id)
	e.clock.Advance(dSwitchover)
	if s := e.snap(id); s.Status != "running" || s.PrimaryClusterID != p1.ID || s.StandbyClusterID != d1.ID {
		t.Errorf("second switchover: %+v", s)
	}
}

// With an acceptance lag, a switchover is invisible for a while after its
// 200: the pitfall a poller must not fall into.
func TestAcceptanceLag(t *testing.T) {
	const lag = 10 * time.Second
	e := newEnv(t, func(o *dwssim.Options) { o.AcceptanceLag = lag })
	id := e.create("dr_demo01", dwssim.ClusterProd1, dwssim.ClusterDR1)
	if e.status(id) != "creating" {
		t.Fatal("create has no pre-call status to keep: it must show creating at once")
	}
	e.clock.Advance(dCreating)

	e.mustAct("start", id)
	e.clock.Advance(lag - time.Millisecond)
	e.expectStatus(id, "unstart")
	if s := e.snap(id); s.Operation != "start" || !s.StartTime.IsZero() {
		t.Errorf("during the lag: %+v", s)
	}
	expectError(t, e.act("start", id), 403, "DWS.7023") // busy
	expectError(t, e.act("update", id), 403, "DWS.7023")
	e.clock.Advance(time.Millisecond)
	e.expectStatus(id, "starting")
	if s := e.snap(id); !s.StartTime.Equal(t0.Add(dCreating + lag)) {
		t.Errorf("start_time %v: set when the start takes effect", s.StartTime)
	}
	e.clock.Advance(dStarting)
	e.expectStatus(id, "running") // at +16s

	e.clock.Advance(6 * time.Second) // +22s: one cycle done at +21s
	primary := e.snap(id).PrimaryClusterID
	e.mustAct("switchover", id)
	e.clock.Advance(lag - time.Millisecond)
	if e.status(id) != "running" || e.side(id, "primary_cluster")["id"] != primary {
		t.Fatalf("the switchover showed before its lag ended")
	}
	expectError(t, e.act("pause", id), 403, "DWS.7023")
	// Sync cycles go on during the lag: cycles ended at +26s and +31s.
	if got := e.snap(id).LastSyncAt; !got.Equal(t0.Add(31 * time.Second)) {
		t.Errorf("last sync %v during the lag", got)
	}
	e.clock.Advance(time.Millisecond)
	e.expectStatus(id, "switchovering")
	e.clock.Advance(dSwitchover)
	e.expectStatus(id, "running")
	if e.side(id, "primary_cluster")["id"] == primary {
		t.Error("not swapped")
	}

	// A fault during the lag drops the operation.
	e.mustAct("pause", id)
	e.sim.SetClusterFaulty(pid, dwssim.ClusterDR1, true)
	e.clock.Advance(lag + dStopping)
	if s := e.snap(id); s.Status != "abnormal" || s.Operation != "" {
		t.Errorf("after a fault in the lag: %+v", s)
	}
}

// Sync cycles: backuping/restoring with climbing progress, then waiting;
// last_success_time advances at each cycle end and freezes when paused.
func TestSyncCycles(t *testing.T) {
	e := newEnv(t)
	id := e.drive("running") // running since +6s
	type view struct{ ps, pp, ss, sp, last, listLast any }
	look := func() view {
		d := e.detail(id)
		p, s := d["primary_cluster"].(map[string]any), d["standby_cluster"].(map[string]any)
		if p["last_success_time"] != s["last_success_time"] {
			t.Errorf("last_success_time differs: %v %v", p["last_success_time"], s["last_success_time"])
		}
		return view{p["status"], p["progress"], s["status"], s["progress"], p["last_success_time"], e.list("")[0]["last_disaster_time"]}
	}
	steps := []struct {
		advance time.Duration
		want    view
	}{
		{0, view{"backuping", "0", "restoring", "0", nil, nil}},
		{1250 * time.Millisecond, view{"backuping", "50", "restoring", "50", nil, nil}},
		{1249 * time.Millisecond, view{"backuping", "99", "restoring", "99", nil, nil}},
		{time.Millisecond, view{"waiting", "100", "waiting", "100", nil, nil}},
		{2499 * time.Millisecond, view{"waiting", "100", "waiting", "100", nil, nil}},
		{time.Millisecond, view{"backuping", "0", "restoring", "0", "2024-01-01T12:00:11", "2024-01-01T12:00:11"}},
		{3 * time.Second, view{"waiting", "100", "waiting", "100", "2024-01-01T12:00:11", "2024-01-01T12:00:11"}},
		{15 * time.Second, view{"waiting", "100", "waiting", "100", "2024-01-01T12:00:26", "2024-01-01T12:00:26"}},
	}
	for _, s := range steps {
		e.clock.Advance(s.advance)
		if got := look(); got != s.want {
			t.Errorf("at +%v: %v, want %v", e.elapsed(), got, s.want)
		}
	}
	if s := e.snap(id); s.SyncCycles != 4 || !s.LastSyncAt.Equal(t0.Add(26*time.Second)) {
		t.Errorf("snapshot %d cycles, last %v", s.SyncCycles, s.LastSyncAt)
	}

	e.mustAct("pause", id) // +29s
	e.clock.Advance(dStopping + time.Hour)
	if got, want := look(), (view{"stopped", "100", "stopped", "100", "2024-01-01T12:00:26", "2024-01-01T12:00:26"}); got != want {
		t.Errorf("paused: %v, want %v", got, want)
	}
	if s := e.snap(id); s.SyncCycles != 4 {
		t.Errorf("%d cycles after pausing", s.SyncCycles)
	}

	t.Run("speed and scale", func(t *testing.T) {
		e := newEnv(t, func(o *dwssim.Options) { o.Speed = 2; o.SyncScale = 1.0 / 30 })
		id := e.drive("unstart") // at speed 2, 1.5 s
		e.mustAct("start", id)
		e.clock.Advance(dStarting / 2) // running
		e.clock.Advance(5*time.Second - time.Millisecond)
		if s := e.snap(id); s.SyncCycles != 0 {
			t.Fatalf("a 5m cycle at 1/30 and speed 2 lasts 5s: %d cycles", s.SyncCycles)
		}
		e.clock.Advance(time.Millisecond)
		if s := e.snap(id); s.SyncCycles != 1 || !s.LastSyncAt.Equal(e.clock.Now()) {
			t.Errorf("after 5s: %+v", s)
		}
	})
	t.Run("never started", func(t *testing.T) {
		e := newEnv(t)
		id := e.drive("unstart")
		e.clock.Advance(time.Hour)
		if got, want := look2(e, id), [4]any{"stopped", "0", "stopped", nil}; got != want {
			t.Errorf("unstart: %v, want %v", got, want)
		}
	})
}

func look2(e *env, id string) [4]any {
	p, s := e.side(id, "primary_cluster"), e.side(id, "standby_cluster")
	return [4]any{p["status"], p["progress"], s["status"], p["last_success_time"]}
}

// Update: only from unstart and stopped, validated like create, stored at
// once and used from the next start.
func TestUpdate(t *testing.T) {
	e := newEnv(t)
	id := e.drive("unstart")
	put := func(body string) result { return e.do("PUT", taskPath(id), body) }
	bad := []struct {
		name, body string
		status     int
		code       string
	}{
		{"malformed JSON", `{"disaster_recovery":`, 400, "DWS.5065"},
		{"wrong type", `{"disaster_recovery":{"dr_sync_period":5}}`, 400, "DWS.5065"},
		{"send_request as a string", `{"disaster_recovery":{"send_request":"1"}}`, 400, "DWS.5065"},
		{"empty period", `{"disaster_recovery":{"dr_sync_period":""}}`, 400, "DWS.5065"},
		{"lower-case h", `{"disaster_recovery":{"dr_sync_period":"5h"}}`, 400, "DWS.5065"},
		{"no unit", `{"disaster_recovery":{"dr_sync_period":"5"}}`, 400, "DWS.5065"},
		{"3001", `{"disaster_recovery":{"dr_sync_period":"3001m"}}`, 400, "DWS.5038"},
		{"9999d", `{"disaster_recovery":{"dr_sync_period":"9999d"}}`, 400, "DWS.5038"},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) { expectError(t, put(b.body), b.status, b.code) })
	}
	if p := e.snap(id).SyncPeriod; p != "5m" {
		t.Fatalf("a refused update changed the period to %q", p)
	}

	// No body, an empty object and the ignored repair fields change nothing.
	for _, body := range []string{"", "{}\n", `{"disaster_recovery":{}}`,
		`{"disaster_recovery":{"send_request":1,"primary_to_role":"standby","standby_to_role":"primary","reset_action":"DR_RUNNING","dr_status":"running","future":[1]}}`} {
		if res := put(body); res.status != 200 || string(res.body) != `{"disaster_recovery":{"id":"`+id+`"}}` {
			t.Errorf("update %s: %d %s", body, res.status, res.body)
		}
	}
	if s := e.snap(id); s.Status != "unstart" || s.SyncPeriod != "5m" || s.PrimaryClusterID != e.cluster(dwssim.ClusterProd1).ID {
		t.Errorf("after no-op updates %+v", s)
	}

	// Stored at once, echoed as sent, used from the next start.
	if res := put(`{"disaster_recovery":{"dr_sync_period":"10m","send_request":0}}`); res.status != 200 {
		t.Fatalf("%d %s", res.status, res.body)
	}
	if d := e.detail(id); d["dr_sync_period"] != "10m" || d["status"] != "unstart" {
		t.Errorf("detail %v %v", d["dr_sync_period"], d["status"])
	}
	e.mustAct("start", id)
	e.clock.Advance(dStarting + 10*time.Second - time.Millisecond)
	if n := e.snap(id).SyncCycles; n != 0 {
		t.Fatalf("%d cycles: a 10m period syncs every 10s", n)
	}
	e.clock.Advance(time.Millisecond)
	if n := e.snap(id).SyncCycles; n != 1 {
		t.Fatalf("%d cycles after 10s", n)
	}
	expectError(t, put(`{"disaster_recovery":{"dr_sync_period":"1m"}}`), 403, "DWS.7023")

	// In stopped: shown at once, used only from the restart.
	e.mustAct("pause", id)
	e.clock.Advance(dStopping)
	if res := put(`{"disaster_recovery":{"dr_sync_period":"1m"}}`); res.status != 200 {
		t.Fatalf("%d %s", res.status, res.body)
	}
	if s := e.snap(id); s.SyncPeriod != "1m" || s.Status != "stopped" || s.SyncCycles != 1 {
		t.Errorf("after update in stopped %+v", s)
	}
	e.mustAct("start", id)
	e.clock.Advance(dStarting + time.Second)
	if n := e.snap(id).SyncCycles; n != 2 {
		t.Errorf("%d cycles: a 1m period syncs every second", n)
	}

	// Update refuses bad periods before it looks at the status.
	expectError(t, put(`{"disaster_recovery":{"dr_sync_period":"0m"}}`), 400, "DWS.5065")
}

// Cluster faults: FAILED in ClusterInfo, running tasks abnormal; healing
// brings the cluster back but not the task.
func TestClusterFaults(t *testing.T) {
	e := newEnv(t)
	running := e.drive("running")
	stopped := e.create("dr_demo02", dwssim.ClusterProd2, dwssim.ClusterDR2)
	e.clock.Advance(dCreating)
	e.mustAct("start", stopped)
	e.clock.Advance(dStarting)
	e.mustAct("pause", stopped)
	e.clock.Advance(dStopping)

	e.sim.SetClusterFaulty(pid, dwssim.ClusterDR1, true) // the standby of running
	e.sim.SetClusterFaulty(pid, dwssim.ClusterProd2, true)
	e.sim.SetClusterFaulty(pid, "no-such-cluster", true) // ignored
	for _, name := range []string{dwssim.ClusterDR1, dwssim.ClusterProd2} {
		if c := e.cluster(name); c.Status != "FAILED" {
			t.Errorf("%s status %q", name, c.Status)
		}
	}
	e.expectStatus(running, "abnormal")
	if got := look2(e, running); got[0] != "abnormal" || got[2] != "abnormal" {
		t.Errorf("cluster DR statuses %v", got)
	}
	if s := e.snap(running); !s.StandbyFaulty || s.PrimaryFaulty {
		t.Errorf("faulty flags %+v", s)
	}
	e.expectStatus(stopped, "stopped") // only running tasks break
	expectError(t, e.act("start", stopped), 403, "DWS.7023")

	res := e.do("GET", "/v1.0/"+pid+"/clusters", "")
	var list struct {
		Clusters []struct {
			Name, Status  string
			FailedReasons *struct{} `json:"failed_reasons"`
		} `json:"clusters"`
	}
	if err := json.Unmarshal(res.body, &list); err != nil {
		t.Fatal(err)
	}
	for _, c := range list.Clusters {
		if c.Name == dwssim.ClusterDR1 && (c.Status != "FAILED" || c.FailedReasons == nil) {
			t.Errorf("ClusterInfo %+v", c)
		}
	}

	e.sim.SetClusterFaulty(pid, dwssim.ClusterDR1, false)
	e.sim.SetClusterFaulty(pid, dwssim.ClusterProd2, false)
	if c := e.cluster(dwssim.ClusterDR1); c.Status != "AVAILABLE" {
		t.Errorf("healed status %q", c.Status)
	}
	e.expectStatus(running, "abnormal") // until failover or recovery
	e.mustAct("start", stopped)

	t.Run("a fault during starting", func(t *testing.T) {
		e := newEnv(t)
		id := e.drive("starting")
		e.sim.SetClusterFaulty(pid, dwssim.ClusterProd1, true)
		e.expectStatus(id, "starting")
		e.clock.Advance(dStarting)
		e.expectStatus(id, "abnormal")
	})
	t.Run("an unnoticed FAILED status", func(t *testing.T) {
		e := newEnv(t)
		id := e.drive("running")
		e.sim.SetClusterStatus(pid, dwssim.ClusterProd1, "FAILED")
		e.clock.Advance(time.Minute)
		e.expectStatus(id, "running")
		if s := e.snap(id); !s.PrimaryFaulty || s.SyncCycles != 12 {
			t.Errorf("%+v", s)
		}
	})
}

// Failover promotes the standby after a fault; the writes made after its
// last_success_time are lost.
func TestFailover(t *testing.T) {
	e := newEnv(t)
	id := e.drive("running") // +6s
	prod, dr := e.cluster(dwssim.ClusterProd1), e.cluster(dwssim.ClusterDR1)
	expectError(t, e.act("failover", id), 403, "DWS.7023") // nothing is faulty

	e.clock.Advance(12 * time.Second) // +18s: synced at +11s and +16s
	e.sim.SetClusterFaulty(pid, dwssim.ClusterProd1, true)
	e.expectStatus(id, "abnormal")
	e.clock.Advance(10 * time.Second) // +28s: writes at +16..+18s are gone with prod
	expectError(t, e.act("recovery", id), 403, "DWS.7023")
	e.mustAct("failover", id)
	e.expectStatus(id, "switchovering")
	e.clock.Advance(dFailover - time.Millisecond)
	if s := e.snap(id); s.PrimaryClusterID != prod.ID || s.FailedOver {
		t.Fatalf("swapped before the failover ended: %+v", s)
	}
	e.clock.Advance(time.Millisecond) // +32s
	e.expectStatus(id, "abnormal")
	d := e.detail(id)
	p, s := d["primary_cluster"].(map[string]any), d["standby_cluster"].(map[string]any)
	if p["id"] != dr.ID || p["name"] != dwssim.ClusterDR1 || p["cluster_az"] != dwssim.AZ2 || p["role"] != "primary" ||
		s["id"] != prod.ID || s["name"] != dwssim.ClusterProd1 || s["role"] != "standby" {
		t.Errorf("roles after failover\nprimary %v\nstandby %v", p, s)
	}
	if p["last_success_time"] != "2024-01-01T12:00:16" || p["status"] != "abnormal" {
		t.Errorf("primary after failover %v", p)
	}
	snap := e.snap(id)
	lost := t0.Add(17 * time.Second) // a write between the last sync and the fault
	if !snap.FailedOver || !snap.Watermark.Equal(t0.Add(16*time.Second)) || !snap.FailoverAt.Equal(t0.Add(32*time.Second)) ||
		!lost.After(snap.Watermark) || snap.PrimaryFaulty || !snap.StandbyFaulty {
		t.Errorf("snapshot %+v", snap)
	}
	// The old production cluster is still down: no recovery yet, and no
	// failover back onto it.
	expectError(t, e.act("recovery", id), 403, "DWS.7023")
	expectError(t, e.act("failover", id), 403, "DWS.7023")

	t.Run("refused when the standby is faulty", func(t *testing.T) {
		e := newEnv(t)
		id := e.drive("running")
		e.sim.SetClusterFaulty(pid, dwssim.ClusterDR1, true)
		e.expectStatus(id, "abnormal")
		before := e.snap(id)
		expectError(t, e.act("failover", id), 403, "DWS.7023")
		if after := e.snap(id); !reflect.DeepEqual(after, before) {
			t.Errorf("changed: %+v", after)
		}
		// Healed, the task is still abnormal and may fail over.
		e.sim.SetClusterFaulty(pid, dwssim.ClusterDR1, false)
		e.mustAct("failover", id)
	})
	t.Run("from running with the production cluster down", func(t *testing.T) {
		e := newEnv(t)
		id := e.drive("running") // +6s
		e.clock.Advance(7 * time.Second)
		e.sim.SetClusterStatus(pid, dwssim.ClusterProd1, "FAILED") // DR has not noticed
		e.expectStatus(id, "running")
		e.mustAct("failover", id) // +13s
		e.clock.Advance(dFailover)
		if s := e.snap(id); s.Status != "abnormal" || s.PrimaryClusterID != e.cluster(dwssim.ClusterDR1).ID ||
			!s.Watermark.Equal(t0.Add(11*time.Second)) || !s.LastSyncAt.Equal(t0.Add(11*time.Second)) {
			t.Errorf("%+v", s)
		}
	})
	t.Run("refused from running when only the standby is down", func(t *testing.T) {
		e := newEnv(t)
		id := e.drive("running")
		e.sim.SetClusterStatus(pid, dwssim.ClusterDR1, "FAILED")
		expectError(t, e.act("failover", id), 403, "DWS.7023")
	})
	t.Run("never synced", func(t *testing.T) {
		e := newEnv(t)
		id := e.drive("starting")
		e.sim.SetClusterFaulty(pid, dwssim.ClusterProd1, true)
		e.clock.Advance(dStarting)
		e.mustAct("failover", id)
		e.clock.Advance(dFailover)
		if s := e.snap(id); !s.FailedOver || !s.Watermark.IsZero() || s.PrimaryClusterName != dwssim.ClusterDR1 {
			t.Errorf("%+v", s)
		}
	})
}

// Recovery: only after a failover and once the old production cluster is
// healthy; it wipes the DR side and resyncs.
func TestRecovery(t *testing.T) {
	e := newEnv(t)
	id := e.drive("running")
	prod, dr := e.cluster(dwssim.ClusterProd1), e.cluster(dwssim.ClusterDR1)
	e.clock.Advance(12 * time.Second) // +18s, synced at +16s
	e.sim.SetClusterFaulty(pid, dwssim.ClusterProd1, true)
	expectError(t, e.act("recovery", id), 403, "DWS.7023") // abnormal, but no failover yet
	e.mustAct("failover", id)
	e.clock.Advance(dFailover) // +22s
	expectError(t, e.act("recovery", id), 403, "DWS.7023")
	e.clock.Advance(8 * time.Second) // +30s
	e.sim.SetClusterFaulty(pid, dwssim.ClusterProd1, false)

	e.mustAct("recovery", id)
	e.expectStatus(id, "starting")
	for _, side := range []string{"primary_cluster", "standby_cluster"} {
		c := e.side(id, side)
		if c["last_success_time"] != nil || c["progress"] != "0" {
			t.Errorf("%s not wiped: %v", side, c)
		}
	}
	if d := e.detail(id); d["start_time"] != "2024-01-01T12:00:30" {
		t.Errorf("start_time %v", d["start_time"])
	}
	if p := e.progress(id); p.LatestBarrierTime != nil || p.RecoveryPointObject != 0 {
		t.Errorf("progress after the wipe %+v", p)
	}
	e.clock.Advance(dRecovery - time.Millisecond)
	e.expectStatus(id, "starting")
	e.clock.Advance(time.Millisecond) // +36s
	e.expectStatus(id, "running")
	s := e.snap(id)
	if s.PrimaryClusterID != dr.ID || s.StandbyClusterID != prod.ID || s.FailedOver || !s.LastSyncAt.IsZero() ||
		!s.Watermark.Equal(t0.Add(16*time.Second)) {
		t.Errorf("after recovery %+v", s)
	}
	e.clock.Advance(dCycle)
	if s := e.snap(id); !s.LastSyncAt.Equal(t0.Add(41 * time.Second)) {
		t.Errorf("resync: last %v", s.LastSyncAt)
	}
	// A second recovery needs a second failover.
	e.sim.SetClusterFaulty(pid, dwssim.ClusterDR1, true)
	e.sim.SetClusterFaulty(pid, dwssim.ClusterDR1, false)
	e.expectStatus(id, "abnormal")
	expectError(t, e.act("recovery", id), 403, "DWS.7023")

	t.Run("refused when the new primary is faulty", func(t *testing.T) {
		e := newEnv(t)
		id := e.drive("running")
		e.sim.SetClusterFaulty(pid, dwssim.ClusterProd1, true)
		e.mustAct("failover", id)
		e.clock.Advance(dFailover)
		e.sim.SetClusterFaulty(pid, dwssim.ClusterProd1, false)
		e.sim.SetClusterFaulty(pid, dwssim.ClusterDR1, true)
		expectError(t, e.act("recovery", id), 403, "DWS.7023")
	})
}

// Failover and recovery need 8.1.2; create accepts 8.1.1.
func TestFailoverVersion(t *testing.T) {
	e := newEnv(t)
	e.sim.SetClusterVersion(pid, dwssim.ClusterProd1, "8.1.1.300")
	e.sim.SetClusterVersion(pid, dwssim.ClusterDR1, "8.1.1.300")
	id := e.drive("running")
	e.sim.SetClusterFaulty(pid, dwssim.ClusterProd1, true)
	for _, op := range []string{"failover", "recovery"} {
		res := e.act(op, id)
		expectError(t, res, 400, "DWS.5005")
		if _, msg, _ := res.errorCode(); msg != "Database type or version not supported." {
			t.Errorf("message %q", msg)
		}
	}
	if s := e.snap(id); s.Status != "abnormal" || s.PrimaryClusterID != e.cluster(dwssim.ClusterProd1).ID {
		t.Errorf("%+v", s)
	}
	// The version check comes before the status check.
	e2 := newEnv(t)
	e2.sim.SetClusterVersion(pid, dwssim.ClusterDR1, "8.1.1.100")
	e2.sim.SetClusterVersion(pid, dwssim.ClusterProd1, "8.1.1.100")
	id2 := e2.drive("unstart")
	expectError(t, e2.act("failover", id2), 400, "DWS.5005")
	e2.mustAct("start", id2) // other operations do not care
}

// FailNext makes the next accepted runs of each operation fail; refused
// calls do not use them up.
func TestFailNextPerOperation(t *testing.T) {
	tests := []struct {
		op, from, want string
		d              time.Duration
	}{
		{"start", "unstart", "start_failed", dStarting},
		{"start", "stopped", "start_failed", dStarting},
		{"pause", "running", "stop_failed", dStopping},
		{"switchover", "running", "abnormal", dSwitchover},
		{"failover", "abnormal", "abnormal", dFailover},
		{"delete", "stopped", "stopped", dDeleting},
		{"delete", "abnormal", "abnormal", dDeleting},
		{"delete", "create_failed", "create_failed", dDeleting},
	}
	for _, tt := range tests {
		t.Run(tt.op+" from "+tt.from, func(t *testing.T) {
			e := newEnv(t)
			id := e.drive(tt.from)
			before := e.snap(id)
			e.sim.FailNext(tt.op, 1)
			e.mustAct(tt.op, id)
			e.clock.Advance(tt.d)
			s := e.snap(id)
			if s.Status != tt.want || s.PrimaryClusterID != before.PrimaryClusterID || s.FailedOver {
				t.Errorf("after a failed %s: %+v", tt.op, s)
			}
		})
	}

	t.Run("recovery", func(t *testing.T) {
		e := newEnv(t)
		id := e.drive("running")
		e.sim.SetClusterFaulty(pid, dwssim.ClusterProd1, true)
		e.mustAct("failover", id)
		e.clock.Advance(dFailover)
		e.sim.SetClusterFaulty(pid, dwssim.ClusterProd1, false)
		e.sim.FailNext("recovery", 1)
		e.mustAct("recovery", id)
		e.clock.Advance(dRecovery)
		if s := e.snap(id); s.Status != "abnormal" || !s.FailedOver || s.PrimaryClusterName != dwssim.ClusterDR1 {
			t.Fatalf("after a failed recovery: %+v", s)
		}
		e.mustAct("recovery", id) // retry
		e.clock.Advance(dRecovery)
		e.expectStatus(id, "running")
	})

	t.Run("counts", func(t *testing.T) {
		e := newEnv(t)
		id := e.drive("creating")
		e.sim.FailNext("start", 2)
		expectError(t, e.act("start", id), 403, "DWS.7023") // refused: not used up
		e.clock.Advance(dCreating)
		for range 2 {
			e.mustAct("start", id)
			e.clock.Advance(dStarting)
			e.expectStatus(id, "start_failed")
		}
		e.mustAct("start", id)
		e.clock.Advance(dStarting)
		e.expectStatus(id, "running")
		e.sim.FailNext("pause", 3)
		e.sim.FailNext("pause", 0) // cancels
		e.mustAct("pause", id)
		e.clock.Advance(dStopping)
		e.expectStatus(id, "stopped")
	})
}

// Phase durations come from Options.Durations, divided by the speed.
func TestPhaseDurations(t *testing.T) {
	e := newEnv(t, func(o *dwssim.Options) {
		o.Speed = 2
		o.Durations = dwssim.Durations{Starting: time.Minute, Deleting: 10 * time.Second}
	})
	id := e.create("dr_demo01", dwssim.ClusterProd1, dwssim.ClusterDR1)
	e.clock.Advance(dCreating / 2) // default creating, halved
	e.expectStatus(id, "unstart")
	e.mustAct("start", id)
	e.clock.Advance(30*time.Second - time.Millisecond)
	e.expectStatus(id, "starting")
	e.clock.Advance(time.Millisecond)
	e.expectStatus(id, "running")
	e.mustAct("pause", id)
	e.clock.Advance(dStopping / 2)
	e.expectStatus(id, "stopped")
	e.mustAct("delete", id)
	e.clock.Advance(5*time.Second - time.Millisecond)
	e.expectStatus(id, "deleting")
	e.clock.Advance(time.Millisecond)
	expectError(t, e.do("GET", taskPath(id), ""), 400, "DWS.10101")

	d := dwssim.DefaultDurations()
	if d != (dwssim.Durations{Creating: dCreating, Starting: dStarting, Stopping: dStopping, Switchover: dSwitchover,
		Failover: dFailover, Recovery: dRecovery, Deleting: dDeleting}) {
		t.Errorf("DefaultDurations %+v", d)
	}
	if err := d.Set("recovery", time.Minute); err != nil || d.Recovery != time.Minute {
		t.Errorf("Set: %v %v", err, d.Recovery)
	}
	if err := d.Set("nope", time.Minute); err == nil {
		t.Error("Set accepted an unknown phase")
	}
}
