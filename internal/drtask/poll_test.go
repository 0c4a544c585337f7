package drtask_test

import (
	"context"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"drportal/internal/audit"
	"drportal/internal/db"
	"drportal/internal/drtask"
	"drportal/internal/dws"
	"drportal/internal/dwssim"
	"drportal/internal/portal"
	"drportal/internal/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Run(m)) }

// TestThePollerStaysWithinItsBudget checks the cloud-call budget of the
// shared poller: at most 12 reads a minute of a changing task, however
// many people watch it, and far fewer once it is at rest.
func TestThePollerStaysWithinItsBudget(t *testing.T) {
	ctx := context.Background()
	store := db.New(testdb.New(t))
	simClock := dwssim.NewFakeClock(time.Now())
	sim, err := dwssim.New(dwssim.Options{Credentials: map[string]string{"POLLAK00000000000000": "pollsk"}, Clock: simClock})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	defer srv.Close()
	client, err := dws.New(dws.Config{Endpoint: srv.URL, ProjectID: "0123456789abcdef0123456789abcdef", AK: "POLLAK00000000000000", SK: "pollsk"})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	tick := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	svc := &drtask.Service{Cloud: client, Store: store, Now: clock}

	p, _ := sim.Cluster("0123456789abcdef0123456789abcdef", dwssim.ClusterProd1)
	s, _ := sim.Cluster("0123456789abcdef0123456789abcdef", dwssim.ClusterDR1)
	id, err := client.Create(ctx, portal.CreateSpec{Name: "dr_poll01", DRType: "az", PrimaryClusterID: p.ID, StandbyClusterID: s.ID, SyncPeriod: "5m"})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.SyncList(ctx); err != nil {
		t.Fatal(err)
	}

	// A minute, second by second, with the task creating the whole time
	// (the simulator's clock is held) and 20 viewers a second.
	before := sim.Calls("detail")
	for i := 0; i < 60; i++ {
		if _, err := svc.PollDue(ctx); err != nil {
			t.Fatal(err)
		}
		for v := 0; v < 20; v++ {
			if _, err := svc.Status(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		tick(time.Second)
	}
	if n := sim.Calls("detail") - before; n > 12 || n < 10 {
		t.Errorf("a changing task was read %d times in a minute, want 10 to 12", n)
	}

	// At rest: about once a minute.
	simClock.Advance(time.Minute)
	tick(10 * time.Second)
	if _, err := svc.PollDue(ctx); err != nil {
		t.Fatal(err)
	}
	v, _ := svc.Status(ctx, id)
	if v.Row.Status != portal.TaskUnstart {
		t.Fatalf("status %s", v.Row.Status)
	}
	before = sim.Calls("detail")
	for i := 0; i < 120; i++ {
		if _, err := svc.PollDue(ctx); err != nil {
			t.Fatal(err)
		}
		tick(time.Second)
	}
	if n := sim.Calls("detail") - before; n > 2 {
		t.Errorf("a settled task was read %d times in two minutes", n)
	}
}

// TestDriftIsJudgedAgainstTheLastDetail: the list sync updates a task's
// status too, and must not hide a change made outside the portal from the
// poller that reports it.
func TestDriftIsJudgedAgainstTheLastDetail(t *testing.T) {
	ctx, store, svc, id := startedOutsideThePortal(t)
	// The list sees the change first.
	if err := svc.SyncList(ctx); err != nil {
		t.Fatal(err)
	}
	if err := store.SchedulePoll(ctx, id, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PollDue(ctx); err != nil {
		t.Fatal(err)
	}
	v, err := svc.Status(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := v.Drift["status"]; !ok || d != [2]string{string(portal.TaskUnstart), string(portal.TaskRunning)} {
		t.Errorf("drift %v after a start made outside the portal", v.Drift)
	}
}

// startedOutsideThePortal creates a task the portal has read at rest
// (unstart), then starts it in the cloud as someone in the console would,
// and lets it reach running. The portal has not read it since.
func startedOutsideThePortal(t *testing.T) (context.Context, *db.Store, *drtask.Service, string) {
	t.Helper()
	ctx := context.Background()
	store := db.New(testdb.New(t))
	simClock := dwssim.NewFakeClock(time.Now())
	sim, err := dwssim.New(dwssim.Options{Credentials: map[string]string{"DRIFTAK0000000000000": "driftsk"}, Clock: simClock})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	const project = "0123456789abcdef0123456789abcdef"
	client, err := dws.New(dws.Config{Endpoint: srv.URL, ProjectID: project, AK: "DRIFTAK0000000000000", SK: "driftsk"})
	if err != nil {
		t.Fatal(err)
	}
	svc := &drtask.Service{Cloud: client, Store: store, Now: time.Now}
	p, _ := sim.Cluster(project, dwssim.ClusterProd1)
	s, _ := sim.Cluster(project, dwssim.ClusterDR1)
	id, err := client.Create(ctx, portal.CreateSpec{Name: "dr_drift02", DRType: "az", PrimaryClusterID: p.ID, StandbyClusterID: s.ID, SyncPeriod: "5m"})
	if err != nil {
		t.Fatal(err)
	}
	phases := dwssim.DefaultDurations()
	simClock.Advance(phases.Creating) // creating -> unstart
	if err := svc.SyncList(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PollDue(ctx); err != nil {
		t.Fatal(err)
	}
	if row, err := store.Task(ctx, id); err != nil || row.Status != portal.TaskUnstart {
		t.Fatalf("before the start the portal has %+v, %v", row, err)
	}
	if err := client.Operate(ctx, portal.OpStart, id, nil); err != nil {
		t.Fatal(err)
	}
	simClock.Advance(phases.Starting) // starting -> running
	return ctx, store, svc, id
}

// TestALiveReadRecordsDriftOnce: a person's live read (Check now, filing an
// operation) that sees a change made outside the portal first records it as
// drift; the poller after it does not record it again.
func TestALiveReadRecordsDriftOnce(t *testing.T) {
	ctx, store, svc, id := startedOutsideThePortal(t)
	ctx = audit.WithActor(ctx, audit.Actor{ID: 1, Name: "checker@example.com"})
	state, err := svc.LiveState(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if state.Task.Status != portal.TaskRunning {
		t.Fatalf("live status %s", state.Task.Status)
	}
	v, err := svc.Status(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := v.Drift["status"]; !ok || d != [2]string{string(portal.TaskUnstart), string(portal.TaskRunning)} {
		t.Errorf("drift %v after a live read saw a start made outside the portal", v.Drift)
	}
	if err := store.SchedulePoll(ctx, id, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PollDue(ctx); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := store.Pool().QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE action = $1 AND subject_id = $2`,
		audit.ActionTaskDrift, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("%d drift events, want 1", n)
	}
}
