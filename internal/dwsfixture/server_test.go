package dwsfixture_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"regexp"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"drportal/internal/dws"
	"drportal/internal/dwsfixture"
	"drportal/internal/portal"
)

const (
	project       = "0123456789abcdef0123456789abcdef"
	ak            = "FIXTUREAK0000000000"
	sk            = "FIXTUREsk000000000000000000000000000000"
	exampleTaskID = "b303b78d-438c-41dd-aaf6-c98eea1fc2a6"
	salesDW       = "a6c2f0f1-7a8e-4a0e-9d62-2f1c6b1f7a01" // cn-north-7a
	salesStandby  = "b7d3a1e2-8b9f-4b1f-8e73-3a2d7c2a8b02" // cn-north-7b
	legacyDW      = "c8e4b2f3-9ca0-4c20-9f84-4b3e8d3b9c03" // cn-north-7b, kernel 8.0.3
)

// fixture is a fixture server on a clock the test moves, and the portal's
// real client of it.
type fixture struct {
	client *dws.Client
	url    string
	now    atomic.Int64
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{}
	f.now.Store(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC).UnixNano())
	srv, err := dwsfixture.New(dwsfixture.Config{ProjectID: project, AK: ak, SK: sk, Step: 10 * time.Second,
		Now: func() time.Time { return time.Unix(0, f.now.Load()) }})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	f.url = hs.URL
	f.client = f.clientWith(t, sk)
	return f
}

func (f *fixture) clientWith(t *testing.T, secret string) *dws.Client {
	t.Helper()
	cl, err := dws.New(dws.Config{Endpoint: f.url, ProjectID: project, AK: ak, SK: secret, MaxAttempts: 1,
		Now: func() time.Time { return time.Unix(0, f.now.Load()) }})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func (f *fixture) wait(d time.Duration) { f.now.Add(int64(d)) }

var ctx = context.Background()

func TestTheExampleTaskIsAnsweredExactlyAsThePagePrintsIt(t *testing.T) {
	f := newFixture(t)
	task, err := f.client.Get(ctx, exampleTaskID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(task.Raw, dwsfixture.DetailExample) {
		t.Errorf("the example task's detail is not the page's example:\n%s", task.Raw)
	}
	list, err := f.client.List(ctx)
	if err != nil || len(list) != 1 || list[0].ID != exampleTaskID || list[0].Name != "dws-it-02" ||
		list[0].PrimaryClusterID != "3de21046-e65e-4fcf-86bf-583115b39c27" || list[0].Status != portal.TaskRunning {
		t.Errorf("list: %+v, %v", list, err)
	}
}

// keys returns the keys of a detail answer in the order its text has them,
// with the nulls it writes.
func keys(b []byte) (order []string, nulls []string) {
	for _, m := range regexp.MustCompile(`"([a-z_]+)" : (null)?`).FindAllSubmatch(b, -1) {
		order = append(order, string(m[1]))
		if m[2] != nil {
			nulls = append(nulls, string(m[1]))
		}
	}
	return order, nulls
}

func TestACreatedTaskIsDescribedInTheExamplesOwnText(t *testing.T) {
	f := newFixture(t)
	spec := portal.CreateSpec{Name: "sales_dr", DRType: "az", PrimaryClusterID: salesDW, StandbyClusterID: salesStandby, SyncPeriod: "15m"}
	id, err := f.client.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if id != "e59d6b86-9072-46eb-a996-13f8b44994c1" {
		t.Errorf("the first create is answered with id %s, not the create page's example", id)
	}
	task, err := f.client.Get(ctx, id)
	if err != nil || task.Status != portal.TaskCreating {
		t.Fatalf("just created: %s, %v", task.Status, err)
	}
	f.wait(10 * time.Second)
	task, err = f.client.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if task.Status != portal.TaskUnstart || task.Name != "sales_dr" || task.DRType != "az" || task.SyncPeriod != "15m" ||
		task.Primary.ID != salesDW || task.Primary.AZ != "cn-north-7a" || task.Standby.AZ != "cn-north-7b" ||
		task.CreateTime != "2026-12-01T10:00:00" || task.StartTime != "" {
		t.Errorf("created task: %+v", task)
	}
	gotKeys, gotNulls := keys(task.Raw)
	wantKeys, _ := keys(dwsfixture.DetailExample)
	if !slices.Equal(gotKeys, wantKeys) {
		t.Errorf("keys %v, the example has %v", gotKeys, wantKeys)
	}
	// Never started: no start time, no sync, no cluster DR status yet; the
	// OBS buckets stay null as printed.
	if want := []string{"status", "progress", "last_success_time", "obs_bucket_name", "status", "progress",
		"last_success_time", "obs_bucket_name", "start_time"}; !slices.Equal(gotNulls, want) {
		t.Errorf("nulls %v, want %v", gotNulls, want)
	}
	if !json.Valid(task.Raw) || bytes.Count(task.Raw, []byte("\n")) != bytes.Count(dwsfixture.DetailExample, []byte("\n")) {
		t.Errorf("the detail is not the example's text:\n%s", task.Raw)
	}

	// A second create gets an id of its own.
	id2, err := f.client.Create(ctx, portal.CreateSpec{Name: "other_dr", DRType: "az", PrimaryClusterID: "3de21046-e65e-4fcf-86bf-583115b39c27",
		StandbyClusterID: salesStandby, SyncPeriod: "1H"})
	if !dws.IsKind(err, dws.KindIneligible) {
		t.Errorf("pairing a cluster already in a DR task: %q, %v", id2, err)
	}
}

func TestOperationsFollowTheAPIsStateMachine(t *testing.T) {
	f := newFixture(t)
	id, err := f.client.Create(ctx, portal.CreateSpec{Name: "sales_dr", DRType: "az", PrimaryClusterID: salesDW,
		StandbyClusterID: salesStandby, SyncPeriod: "15m"})
	if err != nil {
		t.Fatal(err)
	}
	status := func(want portal.TaskStatus) portal.Task {
		t.Helper()
		task, err := f.client.Get(ctx, id)
		if err != nil || task.Status != want {
			t.Fatalf("status %q (%v), want %q", task.Status, err, want)
		}
		return task
	}
	if err := f.client.Operate(ctx, portal.OpStart, id, nil); !dws.IsKind(err, dws.KindBusy) {
		t.Errorf("start while creating: %v", err)
	}
	f.wait(10 * time.Second)
	if err := f.client.Operate(ctx, portal.OpUpdate, id, dws.UpdateBody("2H")); err != nil {
		t.Fatal(err)
	}
	if err := f.client.Operate(ctx, portal.OpStart, id, nil); err != nil {
		t.Fatal(err)
	}
	status(portal.TaskStarting)
	f.wait(10 * time.Second)
	running := status(portal.TaskRunning)
	if running.SyncPeriod != "2H" || running.StartTime != "2026-12-01T10:00:10" || running.Primary.Status != "waiting" ||
		running.Standby.LastSuccessTime == "" || running.Standby.Progress != "100" {
		t.Errorf("running: %+v", running)
	}
	if err := f.client.Operate(ctx, portal.OpSwitchover, id, nil); err != nil {
		t.Fatal(err)
	}
	status(portal.TaskSwitchovering)
	f.wait(10 * time.Second)
	if sw := status(portal.TaskRunning); sw.Primary.ID != salesStandby || sw.Standby.ID != salesDW || sw.Primary.Role != "primary" {
		t.Errorf("after the switchover: primary %s, standby %s", sw.Primary.ID, sw.Standby.ID)
	}
	if err := f.client.Operate(ctx, portal.OpDelete, id, nil); !dws.IsKind(err, dws.KindBusy) {
		t.Errorf("delete while running: %v", err)
	}
	if err := f.client.Operate(ctx, portal.OpStop, id, nil); err != nil {
		t.Fatal(err)
	}
	f.wait(10 * time.Second)
	status(portal.TaskStopped)
	if err := f.client.Operate(ctx, portal.OpDelete, id, nil); err != nil {
		t.Fatal(err)
	}
	status(portal.TaskDeleting)
	f.wait(10 * time.Second)
	if _, err := f.client.Get(ctx, id); !dws.IsKind(err, dws.KindNotFound) {
		t.Errorf("a deleted task's detail: %v", err)
	}
	if e, _ := dws.AsError(err); e != nil && (e.StatusCode != 400 || e.Code != "DWS.10101") {
		t.Errorf("a deleted task is answered %d %s, want 400 DWS.10101", e.StatusCode, e.Code)
	}
	if list, _ := f.client.List(ctx); len(list) != 1 {
		t.Errorf("the list still has the deleted task: %+v", list)
	}
	if free, err := f.client.CheckName(ctx, "SALES_DR"); !free || err != nil {
		t.Errorf("a deleted task's name is free again: %v %v", free, err)
	}
}

// TestTheFixtureServerAnswersDifferentlyFromTheSimulator: where the API is
// silent the fixture server makes other choices than the simulator, and
// the client reads both: a taken name said in words with another code, an
// ineligible pair as 403 DWS.7023 with its cause, a route nobody serves as
// the gateway's 404 without a DWS code, a bad signature as 401.
func TestTheFixtureServerAnswersDifferentlyFromTheSimulator(t *testing.T) {
	f := newFixture(t)
	if free, err := f.client.CheckName(ctx, "DWS-IT-02"); free || err != nil {
		t.Errorf("the example task's name, in other case: free %v, %v", free, err)
	}
	if free, err := f.client.CheckName(ctx, "fresh_name"); !free || err != nil {
		t.Errorf("a free name: free %v, %v", free, err)
	}
	refs, err := f.client.AvailableStandbys(ctx, salesDW, "cn-north-7b")
	if err != nil || len(refs) != 1 || refs[0].ID != salesStandby {
		t.Errorf("standbys for sales-dw in cn-north-7b (legacy-dw's kernel is too old): %+v, %v", refs, err)
	}
	_, err = f.client.Create(ctx, portal.CreateSpec{Name: "old_dr", DRType: "az", PrimaryClusterID: salesDW, StandbyClusterID: legacyDW, SyncPeriod: "1H"})
	if !dws.IsKind(err, dws.KindIneligible) {
		t.Errorf("pairing with a kernel 8.0.3 cluster: %v", err)
	}
	clusters, err := f.client.ListClusters(ctx)
	if err != nil || len(clusters) != 4 {
		t.Errorf("clusters: %+v, %v", clusters, err)
	}

	wrong, err := dws.New(dws.Config{Endpoint: f.url + "/", ProjectID: "fedcba9876543210fedcba9876543210", AK: ak, SK: sk, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wrong.Get(ctx, exampleTaskID); dws.IsKind(err, dws.KindNotFound) {
		t.Errorf("another project's request reads as a missing task: %v", err)
	}
	if _, err := f.clientWith(t, "wrong secret").List(ctx); !dws.IsKind(err, dws.KindAuth) {
		t.Errorf("a bad signature: %v", err)
	}
}
