package dwssim_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"drportal/internal/dwssim"
)

type actionView struct {
	Key             *string `json:"key"`
	ActionType      string  `json:"action_type"`
	UnrestoreKeys   string  `json:"unrestore_keys"`
	ActionStartTime *string `json:"action_start_time"`
	ActionEndTime   *string `json:"action_end_time"`
}

type progressView struct {
	Primary             actionView `json:"primary_cluster"`
	Standby             actionView `json:"standby_cluster"`
	LatestBarrierTime   *string    `json:"latest_barrier_time"`
	LastRecoverySpend   int64      `json:"last_recovery_spend"`
	RecoveryPointObject int64      `json:"recovery_point_object"`
	RecoveryTimeObject  int64      `json:"recovery_time_object"`
}

func (e *env) progress(id string) progressView {
	e.t.Helper()
	res := e.act("progress", id)
	if res.status != 200 {
		e.t.Fatalf("progress: %d %s", res.status, res.body)
	}
	var out struct {
		P *progressView `json:"disaster_recovery_progress"`
	}
	if err := json.Unmarshal(res.body, &out); err != nil || out.P == nil {
		e.t.Fatalf("progress body %s: %v", res.body, err)
	}
	return *out.P
}

func str(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

// The progress figures move with the sync cycles.
func TestProgress(t *testing.T) {
	e := newEnv(t)
	id := e.create("dr_demo01", dwssim.ClusterProd1, dwssim.ClusterDR1)

	// Shape: the keys of ClusterDisasterRecovery, integers as integers.
	res := e.act("progress", id)
	top := decodeObject(t, res.body)
	if got := keys(top); !slices.Equal(got, []string{"disaster_recovery_progress"}) {
		t.Fatalf("top keys %v", got)
	}
	p := top["disaster_recovery_progress"].(map[string]any)
	want := sorted("primary_cluster", "standby_cluster", "latest_barrier_time", "last_recovery_spend", "recovery_point_object", "recovery_time_object")
	if got := keys(p); !slices.Equal(got, want) {
		t.Errorf("keys %v\nwant %v", got, want)
	}
	for _, k := range []string{"last_recovery_spend", "recovery_point_object", "recovery_time_object"} {
		if n, ok := p[k].(json.Number); !ok || strings.ContainsAny(n.String(), ".eE") {
			t.Errorf("%s = %#v, want an integer", k, p[k])
		}
	}
	wantSide := sorted("key", "action_type", "unrestore_keys", "action_start_time", "action_end_time")
	for _, side := range []string{"primary_cluster", "standby_cluster"} {
		if got := keys(p[side].(map[string]any)); !slices.Equal(got, wantSide) {
			t.Errorf("%s keys %v", side, got)
		}
	}

	type figures struct {
		key, start, end, barrier, unrestore any
		spend, rpo, rto                     int64
	}
	look := func() figures {
		p := e.progress(id)
		if p.Primary.ActionType != "Backup" || p.Standby.ActionType != "Restore" || p.Primary.UnrestoreKeys != "0" ||
			str(p.Primary.Key) != str(p.Standby.Key) || str(p.Primary.ActionStartTime) != str(p.Standby.ActionStartTime) {
			t.Errorf("sides disagree: %+v", p)
		}
		return figures{str(p.Standby.Key), str(p.Standby.ActionStartTime), str(p.Standby.ActionEndTime), str(p.LatestBarrierTime),
			p.Standby.UnrestoreKeys, p.LastRecoverySpend, p.RecoveryPointObject, p.RecoveryTimeObject}
	}
	steps := []struct {
		name    string
		advance time.Duration
		act     string
		want    figures
	}{
		{"unstart: RPO since create", dCreating, "", figures{nil, nil, nil, nil, "0", 0, 3, 4}},
		{"starting: RPO since start", time.Second, "start", figures{nil, nil, nil, nil, "0", 0, 1, 4}},
		// Running from +6s; at +7s the first backup is 40% through its 2.5 s:
		// RTO = 4 s failover + 1.5 s of restore left.
		{"first cycle", 3 * time.Second, "", figures{"20240101120006_00001", "2024-01-01T12:00:06", nil, nil, "1", 0, 4, 6}},
		// +22s: synced at +11, +16, +21; cycle 4 is 40% through.
		{"fourth cycle", 15 * time.Second, "", figures{"20240101120021_00004", "2024-01-01T12:00:21", nil, "2024-01-01T12:00:21", "1", 3, 1, 6}},
		// +24s: cycle 4 waits; the last completed action is cycle 3's.
		{"waiting", 2 * time.Second, "", figures{"20240101120016_00003", "2024-01-01T12:00:16", "2024-01-01T12:00:18", "2024-01-01T12:00:21", "0", 3, 3, 4}},
		// Paused at +24s: the RPO grows, nothing else moves.
		{"paused", time.Minute, "pause", figures{"20240101120016_00003", "2024-01-01T12:00:16", "2024-01-01T12:00:18", "2024-01-01T12:00:21", "0", 3, 63, 4}},
	}
	for _, s := range steps {
		if s.act != "" {
			e.mustAct(s.act, id)
		}
		e.clock.Advance(s.advance)
		if got := look(); got != s.want {
			t.Errorf("%s (+%v):\n got %+v\nwant %+v", s.name, e.elapsed(), got, s.want)
		}
	}
	expectError(t, e.act("progress", "e59d6b86-9072-46eb-a996-13f8b44994c1"), 400, "DWS.10101")
	if n := e.sim.Calls(dwssim.RouteProgress); n != len(steps)+2 {
		t.Errorf("Calls(progress) = %d", n)
	}
}

// The injected faults work on the new routes as on the old ones.
func TestFaultsOnOperationRoutes(t *testing.T) {
	t.Run("5xx and 429 are not applied", func(t *testing.T) {
		e := newEnv(t)
		id := e.drive("unstart")
		e.sim.InjectFault(dwssim.Fault{Route: dwssim.RouteStart, Status: 503, Times: 1})
		e.sim.InjectFault(dwssim.Fault{Route: dwssim.RouteUpdate, Status: 429, Code: "APIG.0308",
			Message: "The throttling threshold has been reached: policy user over ratelimit,limit:60,time:1 minute", Times: 1})
		expectError(t, e.act("start", id), 503, "DWS.9999")
		expectError(t, e.act("update", id), 429, "APIG.0308")
		if s := e.snap(id); s.Status != "unstart" || s.SyncPeriod != "5m" || s.Operation != "" {
			t.Fatalf("applied: %+v", s)
		}
		e.mustAct("start", id)
		e.sim.InjectFault(dwssim.Fault{Route: dwssim.RouteProgress, Status: 500, Code: "DWS.9999", Times: 1})
		expectError(t, e.act("progress", id), 500, "DWS.9999")
	})

	t.Run("throttling", func(t *testing.T) {
		e := newEnv(t, func(o *dwssim.Options) { o.RateLimitPerMinute = 3 })
		id := e.create("dr_demo01", dwssim.ClusterProd1, dwssim.ClusterDR1)
		e.clock.Advance(dCreating)
		e.mustAct("start", id)
		e.act("progress", id)
		expectError(t, e.act("pause", id), 429, "APIG.0308")
		if s := e.snap(id); s.Status != "starting" {
			t.Errorf("a throttled pause applied: %s", s.Status)
		}
	})

	t.Run("bad signature is not applied", func(t *testing.T) {
		e := newEnv(t)
		id := e.drive("stopped")
		e.sim.InjectFault(dwssim.Fault{Route: dwssim.RouteDelete, BadSignature: true, Times: 1})
		expectError(t, e.act("delete", id), 401, "APIG.0301")
		expectError(t, e.do("POST", taskPath(id)+"/start", "", badSK), 401, "APIG.0301")
		e.expectStatus(id, "stopped")
	})

	t.Run("bad body is applied", func(t *testing.T) {
		e := newEnv(t)
		id := e.drive("running")
		e.sim.InjectFault(dwssim.Fault{Route: dwssim.RouteSwitchover, BadBody: true, Times: 1})
		res := e.act("switchover", id)
		var v any
		if res.status != 200 || json.Unmarshal(res.body, &v) == nil {
			t.Fatalf("%d %s", res.status, res.body)
		}
		e.expectStatus(id, "switchovering")
		// The retry a careless client sends is refused: the first was applied.
		expectError(t, e.act("switchover", id), 403, "DWS.7023")
	})

	t.Run("dropped response is applied", func(t *testing.T) {
		e := newEnv(t)
		srv := e.newServer()
		id := e.drive("running")
		e.sim.InjectFault(dwssim.Fault{Route: dwssim.RoutePause, DropResponse: true, Times: 1})
		resp, err := e.send(context.Background(), srv, "POST", taskPath(id)+"/pause", "")
		if err == nil {
			resp.Body.Close()
			t.Fatalf("got a response (%d)", resp.StatusCode)
		}
		e.expectStatus(id, "stopping")
	})

	t.Run("latency, and a hang the client abandons", func(t *testing.T) {
		e := newEnv(t)
		srv := e.newServer()
		id := e.drive("unstart")
		e.sim.InjectFault(dwssim.Fault{Route: dwssim.RouteProgress, Latency: time.Millisecond, Times: 1})
		resp, err := e.send(context.Background(), srv, "GET", "/v1/"+pid+"/disaster-recovery/"+id+"/show-progress", "")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("delayed progress: %d", resp.StatusCode)
		}

		e.sim.InjectFault(dwssim.Fault{Route: dwssim.RouteStart, Latency: time.Hour, Times: 1})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			resp, err := e.send(ctx, srv, "POST", taskPath(id)+"/start", "")
			if err == nil {
				resp.Body.Close()
			}
			done <- err
		}()
		for e.sim.Calls(dwssim.RouteStart) == 0 {
			time.Sleep(time.Millisecond) // wait until the request is in the simulator
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("client error %v", err)
		}
		srv.Close()
		e.expectStatus(id, "unstart")
	})
}

func TestCallCountersForOperations(t *testing.T) {
	e := newEnv(t)
	id := e.drive("running")
	e.act("pause", id)
	e.act("switchover", id) // refused, still counted
	e.act("progress", id)
	e.act("failover", "nope")
	e.act("recovery", id)
	e.act("update", id)
	e.act("delete", id)
	want := map[string]int{"create": 1, "start": 1, "pause": 1, "switchover": 1, "failover": 1, "recovery": 1,
		"update": 1, "delete": 1, "progress": 1}
	for route, n := range want {
		if got := e.sim.Calls(route); got != n {
			t.Errorf("Calls(%q) = %d, want %d", route, got, n)
		}
	}
}

func TestOperationControlEndpoints(t *testing.T) {
	e := newEnv(t)
	ctl := func(method, path, body string) result {
		return e.serve(httptest.NewRequest(method, path, strings.NewReader(body)))
	}
	id := e.drive("running")

	expectError(t, ctl("POST", "/_sim/cluster-fault", `{"project_id":"`+pid+`","name":"dws-prod-01"}`), 400, "DWS.5065")
	expectError(t, ctl("POST", "/_sim/cluster-fault", `{"project_id":"`+pid+`","name":"nope","faulty":true}`), 404, "DWS.0047")
	if res := ctl("POST", "/_sim/cluster-fault", `{"project_id":"`+pid+`","name":"dws-prod-01","faulty":true}`); res.status != 200 {
		t.Fatalf("cluster-fault: %d %s", res.status, res.body)
	}
	e.expectStatus(id, "abnormal")
	if c := e.cluster(dwssim.ClusterProd1); c.Status != "FAILED" {
		t.Errorf("status %q", c.Status)
	}

	for _, bad := range []string{`{"operation":"reboot","n":1}`, `{"operation":"start","n":-1}`, `{"n":1}`} {
		expectError(t, ctl("POST", "/_sim/fail-next", bad), 400, "DWS.5065")
	}
	if res := ctl("POST", "/_sim/fail-next", `{"operation":"failover","n":1}`); res.status != 200 {
		t.Fatalf("fail-next: %d %s", res.status, res.body)
	}
	if res := ctl("POST", "/_sim/faults", `{"route":"switchover","status":503,"times":1}`); res.status != 200 {
		t.Fatalf("faults: %d %s", res.status, res.body)
	}
	stats := decodeObject(t, ctl("GET", "/_sim/stats", "").body)
	if fn := stats["fail_next"].(map[string]any); fn["failover"] != json.Number("1") {
		t.Errorf("stats fail_next %v", fn)
	}
	e.mustAct("failover", id)
	e.clock.Advance(dFailover)
	if s := e.snap(id); s.Status != "abnormal" || s.FailedOver {
		t.Errorf("after the injected failover failure %+v", s)
	}
	ctl("POST", "/_sim/cluster-fault", `{"project_id":"`+pid+`","name":"dws-prod-01","faulty":false}`)
	if c := e.cluster(dwssim.ClusterProd1); c.Status != "AVAILABLE" {
		t.Errorf("healed status %q", c.Status)
	}

	var tasks struct{ Tasks []dwssim.TaskSnapshot }
	if err := json.Unmarshal(ctl("GET", "/_sim/tasks?project_id="+pid, "").body, &tasks); err != nil ||
		len(tasks.Tasks) != 1 || tasks.Tasks[0].PrimaryClusterName != dwssim.ClusterProd1 || tasks.Tasks[0].SyncCycles != 0 {
		t.Errorf("tasks %+v %v", tasks, err)
	}
	if !strings.Contains(dwssim.ControlUsage, "/_sim/cluster-fault") || !strings.Contains(dwssim.ControlUsage, "fail-next") {
		t.Error("ControlUsage does not document the fault endpoints")
	}
}

func TestNewValidatesTimingOptions(t *testing.T) {
	creds := map[string]string{"ak": "sk"}
	bad := []dwssim.Options{
		{Credentials: creds, SyncScale: -1},
		{Credentials: creds, SyncScale: math.NaN()},
		{Credentials: creds, SyncScale: math.Inf(1)},
		{Credentials: creds, AcceptanceLag: -time.Second},
		{Credentials: creds, Durations: dwssim.Durations{Switchover: -time.Second}},
	}
	for _, o := range bad {
		if _, err := dwssim.New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}

// Operations, reads and faults at once, on several tasks. Run with -race.
func TestConcurrentOperations(t *testing.T) {
	e := newEnv(t)
	pairs := [][2]string{{dwssim.ClusterProd1, dwssim.ClusterDR1}, {dwssim.ClusterProd2, dwssim.ClusterDR2}}
	var ids []string
	for i, p := range pairs {
		ids = append(ids, e.create("dr_conc0"+string(rune('1'+i)), p[0], p[1]))
	}
	e.clock.Advance(dCreating)
	known := map[string]bool{}
	for _, s := range allStatuses {
		known[s] = true
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for i := range 40 {
		wg.Go(func() {
			id := ids[i%len(ids)]
			op := []string{"start", "pause", "switchover", "failover", "progress", "update"}[i%6]
			res := e.act(op, id)
			mu.Lock()
			codes[res.status]++
			mu.Unlock()
		})
		wg.Go(func() {
			e.clock.Advance(500 * time.Millisecond)
			if i%10 == 0 {
				e.sim.SetClusterFaulty(pid, dwssim.ClusterDR2, i%20 == 0)
			}
			for _, s := range e.sim.Tasks(pid) {
				if !known[s.Status] {
					t.Errorf("status %q", s.Status)
				}
			}
		})
	}
	wg.Wait()
	for code := range codes {
		if code != 200 && code != 403 {
			t.Errorf("status codes %v", codes)
		}
	}
}
