package dws_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"drportal/internal/dws"
	"drportal/internal/dwssim"
	"drportal/internal/portal"
)

const (
	testAK      = "TESTAK0000000000TEST"
	testSK      = "testsk0000000000000000000000000000000000"
	testProject = "0123456789abcdef0123456789abcdef"
)

// attempts collects what the client reports.
type attempts struct {
	mu   sync.Mutex
	list []dws.Attempt
}

func (a *attempts) RecordAttempt(_ context.Context, at dws.Attempt) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.list = append(a.list, at)
}

func (a *attempts) all() []dws.Attempt {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]dws.Attempt(nil), a.list...)
}

type fixture struct {
	sim   *dwssim.Simulator
	clock *dwssim.FakeClock
	cl    *dws.Client
	rec   *attempts
	url   string
}

func newFixture(t *testing.T, tweak ...func(*dws.Config)) *fixture {
	t.Helper()
	// The SDK signs with the real clock, so the simulator's fake clock starts
	// at the real time and is only moved by less than the 15-minute skew.
	clock := dwssim.NewFakeClock(time.Now())
	sim, err := dwssim.New(dwssim.Options{Credentials: map[string]string{testAK: testSK}, Clock: clock, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	rec := &attempts{}
	cfg := dws.Config{Endpoint: srv.URL, ProjectID: testProject, AK: testAK, SK: testSK, Recorder: rec,
		BaseBackoff: time.Millisecond, AttemptTimeout: 5 * time.Second}
	for _, f := range tweak {
		f(&cfg)
	}
	cl, err := dws.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{sim: sim, clock: clock, cl: cl, rec: rec, url: srv.URL}
}

// eligiblePair finds a primary and a standby the simulator accepts.
func (f *fixture) eligiblePair(t *testing.T) (primary dws.Cluster, standby dws.ClusterRef) {
	t.Helper()
	ctx := context.Background()
	clusters, err := f.cl.ListClusters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range clusters {
		if !p.Usable() {
			continue
		}
		for _, q := range clusters {
			if q.AZ == p.AZ {
				continue
			}
			refs, err := f.cl.AvailableStandbys(ctx, p.ID, q.AZ)
			if err != nil {
				t.Fatal(err)
			}
			if len(refs) > 0 {
				return p, refs[0]
			}
		}
	}
	t.Fatal("no eligible pair in the simulator")
	return
}

func TestClientCreateShowListCheckName(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p, s := f.eligiblePair(t)

	free, err := f.cl.CheckName(ctx, "dr_demo01")
	if err != nil || !free {
		t.Fatalf("CheckName free = %v, %v", free, err)
	}
	id, err := f.cl.Create(ctx, portal.CreateSpec{Name: "dr_demo01", DRType: "az", PrimaryClusterID: p.ID,
		StandbyClusterID: s.ID, SyncPeriod: "5m", PrimaryOBSBucket: "bucket-a"})
	if err != nil {
		t.Fatal(err)
	}
	if len(id) != 36 {
		t.Fatalf("id %q", id)
	}
	free, err = f.cl.CheckName(ctx, "DR_DEMO01")
	if err != nil || free {
		t.Fatalf("CheckName taken (other case) = %v, %v", free, err)
	}

	task, err := f.cl.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if task.Status != portal.TaskCreating || task.Name != "dr_demo01" || task.Primary.ID != p.ID || task.Standby.ID != s.ID ||
		task.SyncPeriod != "5m" || task.Primary.OBSBucket != "bucket-a" || len(task.Raw) == 0 {
		t.Errorf("detail right after create: %+v", task)
	}
	f.clock.Advance(time.Minute)
	task, err = f.cl.Get(ctx, id)
	if err != nil || task.Status != portal.TaskUnstart {
		t.Fatalf("after a minute: %q, %v", task.Status, err)
	}

	list, err := f.cl.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != id || list[0].PrimaryClusterID != p.ID || list[0].StandbyClusterID != s.ID ||
		list[0].Status != portal.TaskUnstart || list[0].PrimaryClusterName != p.Name {
		t.Errorf("list: %+v", list)
	}

	// Every call was reported, with the create's body and the new id.
	var sawCreate bool
	for _, a := range f.rec.all() {
		wantStatus := 200
		if a.Operation == "check-name" && strings.Contains(a.Query, "DR_DEMO01") {
			wantStatus = 409 // the taken name
		}
		if a.StatusCode != wantStatus || a.RequestID == "" || a.Number != 1 || a.Method == "" {
			t.Errorf("attempt %+v", a)
		}
		if a.Operation == "create" {
			sawCreate = true
			if a.TaskID != id || !strings.Contains(string(a.RequestBody), `"name":"dr_demo01"`) || a.Path != "/v2/"+testProject+"/disaster-recoveries" {
				t.Errorf("create attempt %+v", a)
			}
		}
		if a.Operation == "detail" && a.TaskID != id {
			t.Errorf("detail attempt without task id: %+v", a)
		}
	}
	if !sawCreate {
		t.Error("create attempt not reported")
	}
}

func TestClientMapsErrors(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()

	_, err := f.cl.Get(ctx, "e59d6b86-9072-46eb-a996-13f8b44994c1")
	e, ok := dws.AsError(err)
	if !ok || e.Kind != dws.KindNotFound || e.StatusCode != 400 || e.Code != "DWS.10101" || e.RequestID == "" {
		t.Fatalf("unknown task: %#v", err)
	}
	if !strings.Contains(err.Error(), "DWS.10101") || !strings.Contains(err.Error(), e.RequestID) {
		t.Errorf("message %q lacks code or request id", err)
	}

	p, s := f.eligiblePair(t)
	_, err = f.cl.Create(ctx, portal.CreateSpec{Name: "x", DRType: "az", PrimaryClusterID: p.ID, StandbyClusterID: s.ID, SyncPeriod: "5m"})
	if e, ok := dws.AsError(err); !ok || e.Kind != dws.KindInvalid || e.Code == "" {
		t.Errorf("bad name: %#v", err)
	}
	if _, err := f.cl.Create(ctx, portal.CreateSpec{Name: "taken1", DRType: "az", PrimaryClusterID: p.ID, StandbyClusterID: s.ID, SyncPeriod: "5m"}); err != nil {
		t.Fatal(err)
	}
	_, err = f.cl.Create(ctx, portal.CreateSpec{Name: "TAKEN1", DRType: "az", PrimaryClusterID: p.ID, StandbyClusterID: s.ID, SyncPeriod: "5m"})
	if !dws.IsKind(err, dws.KindConflict) {
		t.Errorf("duplicate name: %#v", err)
	}
}

func TestClientRetriesReadsButNeverACreate(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p, s := f.eligiblePair(t)
	before := len(f.rec.all())

	f.sim.InjectFault(dwssim.Fault{Route: "list", Status: 503, Times: 2})
	if _, err := f.cl.List(ctx); err != nil {
		t.Fatalf("list after two 503s: %v", err)
	}
	got := f.rec.all()[before:]
	if len(got) != 3 || got[0].StatusCode != 503 || got[1].StatusCode != 503 || got[2].StatusCode != 200 ||
		got[0].Number != 1 || got[2].Number != 3 {
		t.Fatalf("attempts: %+v", got)
	}

	f.sim.InjectFault(dwssim.Fault{Route: "create", Status: 500, Code: "DWS.9999", Message: "internal", Times: 1})
	before = len(f.rec.all())
	_, err := f.cl.Create(ctx, portal.CreateSpec{Name: "once_only", DRType: "az", PrimaryClusterID: p.ID, StandbyClusterID: s.ID, SyncPeriod: "5m"})
	e, ok := dws.AsError(err)
	if !ok || e.StatusCode != 500 || e.Code != "DWS.9999" || !e.Ambiguous() {
		t.Fatalf("create with 500: %#v", err)
	}
	if n := len(f.rec.all()) - before; n != 1 {
		t.Errorf("create was attempted %d times, want 1", n)
	}
}

func TestClientAuthFailureIsNotRetried(t *testing.T) {
	f := newFixture(t, func(c *dws.Config) { c.SK = "wrong" + testSK[5:] })
	_, err := f.cl.List(context.Background())
	e, ok := dws.AsError(err)
	if !ok || e.Kind != dws.KindAuth || e.StatusCode != 401 || e.Code != "APIG.0301" {
		t.Fatalf("wrong SK: %#v", err)
	}
	if n := len(f.rec.all()); n != 1 {
		t.Errorf("%d attempts for a 401, want 1", n)
	}
}

func TestClientGivesUpWithinTheCallersDeadline(t *testing.T) {
	f := newFixture(t)
	f.sim.InjectFault(dwssim.Fault{Route: "list", Latency: 10 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := f.cl.List(ctx)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("call took %v despite a 300 ms deadline", took)
	}
	e, ok := dws.AsError(err)
	if !ok || e.Kind != dws.KindUnavailable || e.StatusCode != 0 || !errors.Is(e.Err, context.DeadlineExceeded) {
		t.Fatalf("slow cloud: %#v", err)
	}
	at := f.rec.all()
	if len(at) == 0 || at[0].StatusCode != 0 || at[0].Error == "" {
		t.Errorf("timed-out attempt not reported: %+v", at)
	}
}

func TestClientReportsAnUnreadableAcceptedCreate(t *testing.T) {
	f := newFixture(t)
	p, s := f.eligiblePair(t)
	f.sim.InjectFault(dwssim.Fault{Route: "create", BadBody: true, Times: 1})
	_, err := f.cl.Create(context.Background(), portal.CreateSpec{Name: "garbled", DRType: "az", PrimaryClusterID: p.ID,
		StandbyClusterID: s.ID, SyncPeriod: "5m"})
	e, ok := dws.AsError(err)
	if !ok || e.Kind != dws.KindUnreadable || !e.Ambiguous() {
		t.Fatalf("garbled 200: %#v", err)
	}
	// The create was applied: the task exists.
	if tasks := f.sim.Tasks(testProject); len(tasks) != 1 || tasks[0].Name != "garbled" {
		t.Errorf("simulator tasks: %+v", tasks)
	}
}

// TestANameIsTakenOnlyWhenTheCloudSaysSo: a name counts as taken on the
// documented duplicate code or on an answer that says the name exists,
// whatever its code; any other refusal is "could not check", never "free".
func TestANameIsTakenOnlyWhenTheCloudSaysSo(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, tc := range []struct {
		fault   dwssim.Fault
		free    bool
		failure bool
	}{
		{dwssim.Fault{Status: 409, Code: "DWS.5050", Message: "The DR name already exists."}, false, false},
		{dwssim.Fault{Status: 400, Code: "DWS.5999", Message: "The disaster recovery name already exists."}, false, false},
		{dwssim.Fault{Status: 400, Code: "DWS.5065", Message: "Parameter dr_name is invalid."}, false, true},
		{dwssim.Fault{Status: 403, Code: "DWS.0001", Message: "You do not have required permissions."}, false, true},
	} {
		tc.fault.Route, tc.fault.Times = dwssim.RouteCheckName, 1
		f.sim.InjectFault(tc.fault)
		free, err := f.cl.CheckName(ctx, "dr_free_name")
		if free != tc.free || (err != nil) != tc.failure {
			t.Errorf("%d %s %q: free %v, error %v", tc.fault.Status, tc.fault.Code, tc.fault.Message, free, err)
		}
	}
	if free, err := f.cl.CheckName(ctx, "dr_free_name"); !free || err != nil {
		t.Errorf("a free name: %v %v", free, err)
	}
}

// TestAPermanentRefusalIsNeverRetried: a cluster refused for a cause that
// cannot change (another VPC, encryption, an unsupported type or version)
// is ineligible and asked once; a refusal for its state is retried.
func TestAPermanentRefusalIsNeverRetried(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p, _ := f.eligiblePair(t)
	for _, tc := range []struct {
		fault    dwssim.Fault
		kind     dws.Kind
		attempts int
	}{
		{dwssim.Fault{Status: 403, Code: "DWS.7023", Message: "Cluster status is not allowed to operation: the clusters are in different VPCs."}, dws.KindIneligible, 1},
		{dwssim.Fault{Status: 403, Code: "DWS.7023", Message: "Cluster status is not allowed to operation: the cluster is encrypted."}, dws.KindIneligible, 1},
		{dwssim.Fault{Status: 400, Code: "DWS.5005", Message: "Database type or version not supported."}, dws.KindIneligible, 1},
		{dwssim.Fault{Status: 403, Code: "DWS.7023", Message: "Cluster status is not allowed to operation."}, dws.KindBusy, 3},
	} {
		tc.fault.Route, tc.fault.Times = dwssim.RouteAvailableClusters, 3
		f.sim.InjectFault(tc.fault)
		before := len(f.rec.all())
		_, err := f.cl.AvailableStandbys(ctx, p.ID, "")
		if !dws.IsKind(err, tc.kind) {
			t.Errorf("%q: %v, want %s", tc.fault.Message, err, tc.kind)
		}
		if n := len(f.rec.all()) - before; n != tc.attempts {
			t.Errorf("%q: %d attempts, want %d", tc.fault.Message, n, tc.attempts)
		}
		f.sim.ClearFaults()
	}
}

// TestTheSimulatorsFinalRefusalsAreIneligible: against the simulator, an
// encrypted primary is refused for good, asked once; a busy one is refused
// for now.
func TestTheSimulatorsFinalRefusalsAreIneligible(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for name, kind := range map[string]dws.Kind{dwssim.ClusterEncrypted: dws.KindIneligible, dwssim.ClusterBusy: dws.KindBusy} {
		c, ok := f.sim.Cluster(testProject, name)
		if !ok {
			t.Fatalf("no cluster %s", name)
		}
		other := "cn-north-4b"
		if c.AZ == other {
			other = "cn-north-4a"
		}
		before := len(f.rec.all())
		_, err := f.cl.AvailableStandbys(ctx, c.ID, other)
		if !dws.IsKind(err, kind) {
			t.Errorf("%s as primary: %v, want %s", name, err, kind)
		}
		if n := len(f.rec.all()) - before; kind == dws.KindIneligible && n != 1 {
			t.Errorf("%s: asked %d times", name, n)
		}
	}
}
