package dwssim_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"drportal/internal/aksk"
	"drportal/internal/dwssim"
)

// badSK signs with the wrong secret key.
var badSK = requestOpt{ak: testAK, sk: "not-the-secret-key"}

// X-Request-Id and Content-Type: application/json come on every kind of
// response, and request ids are unique.
func TestHeadersOnEveryResponse(t *testing.T) {
	e := newEnv(t, func(o *dwssim.Options) { o.RateLimitPerMinute = 1000 })
	e.create("dr_demo01", dwssim.ClusterProd1, dwssim.ClusterDR1)
	limited := newEnv(t, func(o *dwssim.Options) { o.RateLimitPerMinute = 1 })
	limited.do("GET", "/v1.0/"+pid+"/clusters", "")

	kinds := []struct {
		name   string
		res    func() result
		status int
	}{
		{"200 with body", func() result { return e.do("GET", "/v1.0/"+pid+"/clusters", "") }, 200},
		{"200 empty", func() result { return e.do("GET", "/v2/"+pid+"/disaster-recovery/check-name?dr_name=free_name", "") }, 200},
		{"400", func() result { return e.do("GET", "/v2/"+pid+"/disaster-recovery/nope", "") }, 400},
		{"401", func() result { return e.do("GET", "/v1.0/"+pid+"/clusters", "", badSK) }, 401},
		{"401 unsigned", func() result { return e.serve(httptest.NewRequest("GET", "/v1.0/"+pid+"/clusters", nil)) }, 401},
		{"404 unknown path", func() result { return e.do("GET", "/v3/"+pid+"/nothing", "") }, 404},
		{"409", func() result {
			return e.do("GET", "/v2/"+pid+"/disaster-recovery/check-name?dr_name=dr_demo01", "")
		}, 409},
		{"429", func() result { return limited.do("GET", "/v1.0/"+pid+"/clusters", "") }, 429},
		{"500", func() result {
			e.sim.InjectFault(dwssim.Fault{Route: dwssim.RouteList, Status: 500, Times: 1})
			return e.do("GET", "/v2/"+pid+"/disaster-recoveries", "")
		}, 500},
		{"503", func() result {
			e.sim.InjectFault(dwssim.Fault{Status: 503, Times: 1})
			return e.do("GET", "/v2/"+pid+"/disaster-recoveries", "")
		}, 503},
		{"200 bad body", func() result {
			e.sim.InjectFault(dwssim.Fault{BadBody: true, Times: 1})
			return e.do("GET", "/v2/"+pid+"/disaster-recoveries", "")
		}, 200},
		{"control endpoint", func() result { return e.serve(httptest.NewRequest("GET", "/_sim/stats", nil)) }, 200},
	}
	seen := map[string]bool{}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			res := k.res()
			if res.status != k.status {
				t.Fatalf("status %d, want %d: %s", res.status, k.status, res.body)
			}
			if ct := res.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			rid := res.header.Get("X-Request-Id")
			if !requestIDRE.MatchString(rid) {
				t.Errorf("X-Request-Id %q", rid)
			}
			if seen[rid] {
				t.Errorf("request id %s repeated", rid)
			}
			seen[rid] = true
			if res.status >= 400 {
				if code, _, _ := res.errorCode(); code == "" {
					t.Errorf("error without error_code: %s", res.body)
				}
			}
		})
	}
}

func TestAuthFailures(t *testing.T) {
	e := newEnv(t)
	path := "/v2/" + pid + "/disaster-recoveries"
	tests := []struct {
		name     string
		res      func() result
		msgParts []string
	}{
		{"wrong SK", func() result { return e.do("GET", path+"?id=x", "", badSK) },
			[]string{"verify aksk signature fail", "canonicalRequest:GET|" + path + "/|id=x|user-agent:huaweicloud-usdk-go/3.0; dr-portal-test|x-project-id:" + pid + "|x-sdk-date:20240101T120000Z||user-agent;x-project-id;x-sdk-date|" + aksk.EmptyPayloadHash}},
		{"body changed after signing", func() result {
			r := e.signedRequest("POST", path, `{"a":1}`)
			r.Body = io.NopCloser(strings.NewReader(`{"a":2}`))
			return e.serve(r)
		}, []string{"verify aksk signature fail", "canonicalRequest:POST|"}},
		{"date 16 minutes old", func() result {
			r := e.signedRequest("GET", path, "")
			e.clock.Advance(16 * time.Minute)
			defer e.clock.Advance(-16 * time.Minute)
			return e.serve(r)
		}, []string{"verify aksk signature fail", "signature expired"}},
		{"date 16 minutes ahead", func() result {
			e.clock.Advance(16 * time.Minute)
			r := e.signedRequest("GET", path, "")
			e.clock.Advance(-16 * time.Minute)
			return e.serve(r)
		}, []string{"signature expired"}},
		{"unsigned", func() result { return e.serve(httptest.NewRequest("GET", path, nil)) }, []string{"verify aksk signature fail"}},
		{"unknown AK", func() result { return e.do("GET", path, "", requestOpt{ak: "OTHERAK", sk: testSK}) }, []string{"verify aksk signature fail"}},
		{"x-sdk-date not signed", func() result {
			return e.do("GET", path, "", requestOpt{after: func(r *http.Request) {
				r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), ";x-sdk-date", "", 1))
			}})
		}, []string{"x-sdk-date is not a signed header"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := tt.res()
			expectError(t, res, 401, "APIG.0301")
			_, msg, rid := res.errorCode()
			if !strings.HasPrefix(msg, "Incorrect IAM authentication information: ") {
				t.Errorf("message %q", msg)
			}
			for _, part := range tt.msgParts {
				if !strings.Contains(msg, part) {
					t.Errorf("message %q lacks %q", msg, part)
				}
			}
			if rid == "" || rid != res.header.Get("X-Request-Id") {
				t.Errorf("body request_id %q, header %q", rid, res.header.Get("X-Request-Id"))
			}
		})
	}
	if n := e.sim.Calls(dwssim.RouteList); n != 6 {
		t.Errorf("list calls %d, want 6 (failures count)", n)
	}
	if n := len(e.sim.Tasks(pid)); n != 0 {
		t.Errorf("unauthenticated create applied: %d tasks", n)
	}

	t.Run("any signed header set with x-sdk-date", func(t *testing.T) {
		e := newEnv(t)
		for _, set := range [][]string{{"x-sdk-date"}, {"content-type", "host", "x-sdk-date"}, {"host"}} {
			r := httptest.NewRequest("GET", "http://"+host+path, nil)
			r.Header.Set("Content-Type", "application/json")
			if err := aksk.SignWithHeaders(r, nil, testAK, testSK, e.clock.Now(), set); err != nil {
				t.Fatal(err)
			}
			if res := e.serve(r); res.status != 200 {
				t.Errorf("%v: %d %s", set, res.status, res.body)
			}
		}
	})
	t.Run("14 minutes of skew is accepted", func(t *testing.T) {
		e := newEnv(t)
		r := e.signedRequest("GET", path, "")
		e.clock.Advance(14 * time.Minute)
		if res := e.serve(r); res.status != 200 {
			t.Errorf("%d %s", res.status, res.body)
		}
	})
}

func TestLockout(t *testing.T) {
	e := newEnv(t)
	path := "/v1.0/" + pid + "/clusters"
	lockMsg := "AK access failed to reach the limit"

	// Five failures and a success: the count starts again.
	for range 5 {
		expectError(t, e.do("GET", path, "", badSK), 401, "APIG.0301")
	}
	if res := e.do("GET", path, ""); res.status != 200 {
		t.Fatalf("after 5 failures: %d %s", res.status, res.body)
	}
	for range 5 {
		expectError(t, e.do("GET", path, "", badSK), 401, "APIG.0301")
	}
	if res := e.do("GET", path, ""); res.status != 200 {
		t.Fatalf("success did not reset the count: %d %s", res.status, res.body)
	}

	// The sixth consecutive failure locks the AK, even for good requests.
	for i := range 6 {
		res := e.do("GET", path, "", badSK)
		expectError(t, res, 401, "APIG.0301")
		if _, msg, _ := res.errorCode(); strings.Contains(msg, lockMsg) {
			t.Fatalf("locked already at failure %d", i+1)
		}
	}
	res := e.do("GET", path, "")
	expectError(t, res, 401, "APIG.0301")
	if _, msg, _ := res.errorCode(); !strings.Contains(msg, lockMsg) {
		t.Errorf("locked message %q", msg)
	}
	e.clock.Advance(5*time.Minute - time.Second)
	expectError(t, e.do("GET", path, ""), 401, "APIG.0301")
	e.clock.Advance(time.Second)
	if res := e.do("GET", path, ""); res.status != 200 {
		t.Errorf("after 5 minutes: %d %s", res.status, res.body)
	}
}

func TestThrottling(t *testing.T) {
	const otherAK, otherSK = "OTHERAK000000000000", "OTHERsk"
	e := newEnv(t, func(o *dwssim.Options) {
		o.RateLimitPerMinute = 3
		o.Credentials[otherAK] = otherSK
	})
	path := "/v2/" + pid + "/disaster-recoveries"
	for i := range 3 {
		if res := e.do("GET", path, ""); res.status != 200 {
			t.Fatalf("request %d: %d", i+1, res.status)
		}
	}
	res := e.do("GET", path, "")
	expectError(t, res, 429, "APIG.0308")
	_, msg, rid := res.errorCode()
	if msg != "The throttling threshold has been reached: policy user over ratelimit,limit:3,time:1 minute" {
		t.Errorf("message %q", msg)
	}
	if rid != res.header.Get("X-Request-Id") {
		t.Errorf("request_id %q", rid)
	}
	if res := e.do("GET", path, "", requestOpt{ak: otherAK, sk: otherSK}); res.status != 200 {
		t.Errorf("another AK was throttled: %d", res.status)
	}

	e.clock.Advance(20 * time.Second) // one token back
	if res := e.do("GET", path, ""); res.status != 200 {
		t.Errorf("after refill: %d", res.status)
	}
	expectError(t, e.do("GET", path, ""), 429, "APIG.0308")
	e.clock.Advance(time.Hour) // the bucket holds at most the limit
	for range 3 {
		if res := e.do("GET", path, ""); res.status != 200 {
			t.Errorf("full bucket: %d", res.status)
		}
	}
	expectError(t, e.do("GET", path, ""), 429, "APIG.0308")
	if n := e.sim.Calls(dwssim.RouteList); n != 11 {
		t.Errorf("list calls %d, want 11 (throttled ones count)", n)
	}

	off := newEnv(t)
	for range 100 {
		if res := off.do("GET", path, ""); res.status != 200 {
			t.Fatalf("throttled with the limit off: %d", res.status)
		}
	}
}

func TestStatusFaults(t *testing.T) {
	e := newEnv(t)
	p1, d1 := e.cluster(dwssim.ClusterProd1).ID, e.cluster(dwssim.ClusterDR1).ID
	create := func(name string) result {
		return e.do("POST", "/v2/"+pid+"/disaster-recoveries", createBody(name, p1, d1, "5m"))
	}

	e.sim.InjectFault(dwssim.Fault{Route: dwssim.RouteCreate, Status: 500, Code: "DWS.9999", Message: "Internal error. DWS.0015", Times: 2})
	for range 2 {
		res := create("dr_demo01")
		expectError(t, res, 500, "DWS.9999")
		if _, msg, _ := res.errorCode(); msg != "Internal error. DWS.0015" {
			t.Errorf("message %q", msg)
		}
	}
	if n := len(e.sim.Tasks(pid)); n != 0 {
		t.Fatalf("a 500 fault applied the create: %d tasks", n)
	}
	if res := e.do("GET", "/v2/"+pid+"/disaster-recoveries", ""); res.status != 200 {
		t.Errorf("a create fault hit list: %d", res.status)
	}
	if res := create("dr_demo01"); res.status != 200 {
		t.Fatalf("fault outlived its Times: %d %s", res.status, res.body)
	}

	e.sim.InjectFault(dwssim.Fault{Status: 503}) // every route, until cleared
	for _, path := range []string{"/v2/" + pid + "/disaster-recoveries", "/v1.0/" + pid + "/clusters", "/v2/" + pid + "/disaster-recovery/x"} {
		for range 3 {
			res := e.do("GET", path, "")
			expectError(t, res, 503, "DWS.9999")
			if _, msg, _ := res.errorCode(); msg != "Service Unavailable" {
				t.Errorf("default message %q", msg)
			}
		}
	}
	e.sim.ClearFaults()
	if res := e.do("GET", "/v1.0/"+pid+"/clusters", ""); res.status != 200 {
		t.Errorf("after ClearFaults: %d", res.status)
	}
}

func TestBadSignatureFault(t *testing.T) {
	e := newEnv(t)
	e.sim.InjectFault(dwssim.Fault{Route: dwssim.RouteCreate, BadSignature: true, Times: 7})
	body := createBody("dr_demo01", e.cluster(dwssim.ClusterProd1).ID, e.cluster(dwssim.ClusterDR1).ID, "5m")
	for range 7 {
		res := e.do("POST", "/v2/"+pid+"/disaster-recoveries", body)
		expectError(t, res, 401, "APIG.0301")
		if _, msg, _ := res.errorCode(); !strings.Contains(msg, "verify aksk signature fail") {
			t.Errorf("message %q", msg)
		}
	}
	if n := len(e.sim.Tasks(pid)); n != 0 {
		t.Fatalf("applied despite the 401: %d tasks", n)
	}
	// Injected failures do not lock the AK.
	if res := e.do("POST", "/v2/"+pid+"/disaster-recoveries", body); res.status != 200 {
		t.Errorf("after the fault: %d %s", res.status, res.body)
	}
}

func TestBadBodyFault(t *testing.T) {
	e := newEnv(t)
	e.sim.InjectFault(dwssim.Fault{Route: dwssim.RouteCreate, BadBody: true, Times: 1})
	res := e.do("POST", "/v2/"+pid+"/disaster-recoveries",
		createBody("dr_demo01", e.cluster(dwssim.ClusterProd1).ID, e.cluster(dwssim.ClusterDR1).ID, "5m"))
	if res.status != 200 {
		t.Fatalf("status %d", res.status)
	}
	var v any
	if err := json.Unmarshal(res.body, &v); err == nil {
		t.Errorf("body %s decodes", res.body)
	}
	if tasks := e.sim.Tasks(pid); len(tasks) != 1 || tasks[0].Name != "dr_demo01" {
		t.Errorf("the create was not applied: %+v", tasks)
	}
}

// newServer serves the simulator over real HTTP, for faults that act on
// the connection.
func (e *env) newServer() *httptest.Server {
	srv := httptest.NewServer(e.sim)
	e.t.Cleanup(srv.Close)
	return srv
}

func (e *env) send(ctx context.Context, srv *httptest.Server, method, path, body string) (*http.Response, error) {
	e.t.Helper()
	r, err := http.NewRequestWithContext(ctx, method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/json;charset=UTF-8")
	if err := aksk.Sign(r, []byte(body), testAK, testSK, e.clock.Now()); err != nil {
		e.t.Fatal(err)
	}
	return srv.Client().Do(r)
}

func TestDropResponseFault(t *testing.T) {
	e := newEnv(t)
	srv := e.newServer()
	e.sim.InjectFault(dwssim.Fault{Route: dwssim.RouteCreate, DropResponse: true, Times: 1})
	body := createBody("dr_demo01", e.cluster(dwssim.ClusterProd1).ID, e.cluster(dwssim.ClusterDR1).ID, "5m")
	resp, err := e.send(context.Background(), srv, "POST", "/v2/"+pid+"/disaster-recoveries", body)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got a response (%d), want a dropped connection", resp.StatusCode)
	}
	if tasks := e.sim.Tasks(pid); len(tasks) != 1 || tasks[0].Name != "dr_demo01" {
		t.Fatalf("the create was not applied: %+v", tasks)
	}
	// The retry of an applied create sees the duplicate.
	resp, err = e.send(context.Background(), srv, "POST", "/v2/"+pid+"/disaster-recoveries", body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("retry: %d", resp.StatusCode)
	}
}

func TestLatencyFault(t *testing.T) {
	e := newEnv(t)
	srv := e.newServer()
	body := createBody("dr_demo01", e.cluster(dwssim.ClusterProd1).ID, e.cluster(dwssim.ClusterDR1).ID, "5m")

	// A short delay, then the request succeeds.
	e.sim.InjectFault(dwssim.Fault{Route: dwssim.RouteClusters, Latency: time.Millisecond, Times: 1})
	resp, err := e.send(context.Background(), srv, "GET", "/v1.0/"+pid+"/clusters", "")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("delayed request: %d", resp.StatusCode)
	}

	// A hang that outlasts the client: the client gives up, the handler
	// returns (srv.Close in Cleanup would block otherwise) and the create is
	// not applied.
	e.sim.InjectFault(dwssim.Fault{Route: dwssim.RouteCreate, Latency: time.Hour, Times: 1})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		resp, err := e.send(ctx, srv, "POST", "/v2/"+pid+"/disaster-recoveries", body)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	for e.sim.Calls(dwssim.RouteCreate) == 0 {
		time.Sleep(time.Millisecond) // wait until the request is in the simulator
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("client error %v, want context.Canceled", err)
	}
	srv.Close() // returns only once the hanging handler has returned
	if n := len(e.sim.Tasks(pid)); n != 0 {
		t.Errorf("a cancelled request was applied: %d tasks", n)
	}
}

func TestControlEndpoints(t *testing.T) {
	e := newEnv(t)
	ctl := func(method, path, body string) result {
		return e.serve(httptest.NewRequest(method, path, strings.NewReader(body)))
	}
	if res := ctl("POST", "/_sim/faults", `{"route":"list","status":503,"times":1,"latency":"1ms"}`); res.status != 200 {
		t.Fatalf("inject: %d %s", res.status, res.body)
	}
	for _, bad := range []string{`{"route":"nope","status":500}`, `{"latency":"soon"}`, `{"status":200}`, `{`} {
		expectError(t, ctl("POST", "/_sim/faults", bad), 400, "DWS.5065")
	}
	stats := decodeObject(t, ctl("GET", "/_sim/stats", "").body)
	faults := stats["faults"].([]any)
	if len(faults) != 1 || faults[0].(map[string]any)["route"] != "list" || faults[0].(map[string]any)["latency"] != "1ms" {
		t.Errorf("stats faults %v", faults)
	}
	expectError(t, e.do("GET", "/v2/"+pid+"/disaster-recoveries", ""), 503, "DWS.9999")

	ctl("POST", "/_sim/faults", `{"status":500}`)
	if res := ctl("DELETE", "/_sim/faults", ""); res.status != 200 {
		t.Fatalf("clear: %d", res.status)
	}
	if res := e.do("GET", "/v2/"+pid+"/disaster-recoveries", ""); res.status != 200 {
		t.Errorf("after clear: %d", res.status)
	}

	if res := ctl("POST", "/_sim/fail-next", `{"operation":"create","n":1}`); res.status != 200 {
		t.Fatalf("fail-next: %d", res.status)
	}
	e.create("dr_demo01", dwssim.ClusterProd1, dwssim.ClusterDR1)
	e.clock.Advance(time.Minute)
	if s := e.sim.Tasks(pid)[0].Status; s != "create_failed" {
		t.Errorf("status %q", s)
	}
	var tasks struct{ Tasks []dwssim.TaskSnapshot }
	if err := json.Unmarshal(ctl("GET", "/_sim/tasks?project_id="+pid, "").body, &tasks); err != nil || len(tasks.Tasks) != 1 || tasks.Tasks[0].Name != "dr_demo01" {
		t.Errorf("tasks %+v %v", tasks, err)
	}

	if res := ctl("POST", "/_sim/cluster-status", `{"project_id":"`+pid+`","name":"dws-dr-02","status":"FAILED"}`); res.status != 200 {
		t.Fatalf("cluster-status: %d %s", res.status, res.body)
	}
	if s := e.cluster(dwssim.ClusterDR2).Status; s != "FAILED" {
		t.Errorf("status %q", s)
	}
	expectError(t, ctl("POST", "/_sim/cluster-status", `{"project_id":"`+pid+`","name":"nope","status":"FAILED"}`), 404, "DWS.0047")

	stats = decodeObject(t, ctl("GET", "/_sim/stats", "").body)
	if calls := stats["calls"].(map[string]any); calls["list"] != json.Number("2") || calls["create"] != json.Number("1") {
		t.Errorf("stats calls %v", calls)
	}
	if stats["total_calls"] != json.Number("3") {
		t.Errorf("total_calls %v (control requests must not count)", stats["total_calls"])
	}

	if res := ctl("POST", "/_sim/reset", ""); res.status != 200 {
		t.Fatalf("reset: %d", res.status)
	}
	if n := len(e.sim.Tasks(pid)); n != 0 || e.sim.TotalCalls() != 0 || e.cluster(dwssim.ClusterDR2).Status != "AVAILABLE" {
		t.Errorf("after reset: %d tasks, %d calls", n, e.sim.TotalCalls())
	}
	// Control routes are not DWS routes and need no signature; DWS routes
	// under other methods are unknown APIs.
	expectError(t, e.do("DELETE", "/v2/"+pid+"/disaster-recoveries", ""), 404, "APIG.0101")
}

func TestCallCounters(t *testing.T) {
	e := newEnv(t)
	e.create("dr_demo01", dwssim.ClusterProd1, dwssim.ClusterDR1)
	id := e.sim.Tasks(pid)[0].ID
	e.do("GET", "/v2/"+pid+"/disaster-recovery/"+id, "")
	e.do("GET", "/v2/"+pid+"/disaster-recovery/"+id, "", badSK)
	e.do("GET", "/v2/"+pid+"/disaster-recoveries", "")
	e.do("GET", "/v2/"+pid+"/disaster-recovery/check-name?dr_name=abcd", "")
	e.do("GET", "/v2/"+pid+"/disaster-recovery-clusters", "")
	e.do("GET", "/v1.0/"+pid+"/clusters", "")
	e.do("GET", "/v1/"+pid+"/unknown", "")
	want := map[string]int{"create": 1, "detail": 2, "list": 1, "check-name": 1, "available-clusters": 1, "clusters": 1, "start": 0}
	for route, n := range want {
		if got := e.sim.Calls(route); got != n {
			t.Errorf("Calls(%q) = %d, want %d", route, got, n)
		}
	}
	if got := e.sim.TotalCalls(); got != 8 {
		t.Errorf("TotalCalls = %d, want 8", got)
	}
}

// Concurrent creates of one name: exactly one wins. Run with -race.
func TestConcurrentUse(t *testing.T) {
	e := newEnv(t)
	body := createBody("dr_demo01", e.cluster(dwssim.ClusterProd1).ID, e.cluster(dwssim.ClusterDR1).ID, "5m")
	var wg sync.WaitGroup
	statuses := make(chan int, 40)
	for i := range 20 {
		wg.Go(func() {
			statuses <- e.do("POST", "/v2/"+pid+"/disaster-recoveries", body).status
		})
		wg.Go(func() {
			e.clock.Advance(time.Second)
			if i%2 == 0 {
				statuses <- e.do("GET", "/v2/"+pid+"/disaster-recoveries", "").status
			} else {
				_ = e.sim.Tasks(pid)
				statuses <- 200
			}
		})
	}
	wg.Wait()
	close(statuses)
	counts := map[int]int{}
	for s := range statuses {
		counts[s]++
	}
	if counts[200] != 21 || counts[409] != 19 {
		t.Errorf("statuses %v, want 21×200 and 19×409", counts)
	}
}

func TestNewValidatesOptions(t *testing.T) {
	bad := []dwssim.Options{
		{},
		{Credentials: map[string]string{"": "sk"}},
		{Credentials: map[string]string{"ak": ""}},
		{Credentials: map[string]string{"ak": "sk"}, Speed: -1},
		{Credentials: map[string]string{"ak": "sk"}, RateLimitPerMinute: -1},
	}
	for _, o := range bad {
		if _, err := dwssim.New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}

// With the same seed, two simulators hand out the same task IDs.
func TestSeededIDs(t *testing.T) {
	a, b := newEnv(t), newEnv(t)
	idA := a.create("dr_demo01", dwssim.ClusterProd1, dwssim.ClusterDR1)
	idB := b.create("dr_demo01", dwssim.ClusterProd1, dwssim.ClusterDR1)
	if idA != idB {
		t.Errorf("ids %s and %s differ", idA, idB)
	}
	c := newEnv(t, func(o *dwssim.Options) { o.Seed = 2 })
	if idC := c.create("dr_demo01", dwssim.ClusterProd1, dwssim.ClusterDR1); idC == idA {
		t.Errorf("seed 2 repeats seed 1's id %s", idC)
	}
}
