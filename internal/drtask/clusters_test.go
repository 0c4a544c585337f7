package drtask_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"drportal/internal/db"
	"drportal/internal/drtask"
	"drportal/internal/dws"
	"drportal/internal/dwssim"
	"drportal/internal/testdb"
)

// TestTheClusterSyncAsksForStandbysOnlyWhenDue: each round reads the
// cluster list once; the eligible standbys of a primary are read again only
// once they are due (5 minutes on) or the list changed, never more than a
// round's budget of calls at a time; a failed read keeps the last answer,
// and the form says so.
func TestTheClusterSyncAsksForStandbysOnlyWhenDue(t *testing.T) {
	ctx := context.Background()
	const project, ak = "0123456789abcdef0123456789abcdef", "SYNCAK00000000000000"
	store := db.New(testdb.New(t))
	sim, err := dwssim.New(dwssim.Options{Credentials: map[string]string{ak: "syncsk"}, Clock: dwssim.NewFakeClock(time.Now())})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	defer srv.Close()
	client, err := dws.New(dws.Config{Endpoint: srv.URL, ProjectID: project, AK: ak, SK: "syncsk", BaseBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	tick := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	svc := &drtask.Service{Cloud: client, Store: store, Now: clock, StandbyEvery: 5 * time.Minute}
	round := func() (lists, standbys int) {
		t.Helper()
		l, s := sim.Calls(dwssim.RouteClusters), sim.Calls(dwssim.RouteAvailableClusters)
		if err := svc.SyncClusters(ctx); err != nil {
			t.Fatalf("sync: %v", err)
		}
		return sim.Calls(dwssim.RouteClusters) - l, sim.Calls(dwssim.RouteAvailableClusters) - s
	}
	prod1, _ := sim.Cluster(project, dwssim.ClusterProd1)

	if l, s := round(); l != 1 || s == 0 {
		t.Fatalf("first round: %d list and %d standby calls", l, s)
	}
	fo, err := svc.Options(ctx, prod1.ID, "")
	if err != nil || fo.ListAt == nil || fo.StandbysAt == nil || len(fo.Standbys) == 0 || !fo.Standbys[0].Usable {
		t.Fatalf("after the first round the form offers %+v (%v)", fo, err)
	}
	tick(time.Minute)
	if l, s := round(); l != 1 || s != 0 {
		t.Errorf("a minute on, nothing changed: %d list and %d standby calls", l, s)
	}
	sim.SetClusterStatus(project, dwssim.ClusterDR2, "UNAVAILABLE")
	tick(time.Minute)
	if _, s := round(); s == 0 {
		t.Error("the list changed but no standbys were read again")
	}
	tick(time.Minute)
	if _, s := round(); s != 0 {
		t.Errorf("standbys read again %d times a minute after the last read", s)
	}
	tick(5 * time.Minute)
	if _, s := round(); s == 0 {
		t.Error("5 minutes on, the standbys were not read again")
	}

	// A round's budget bounds the standby calls; the rest wait.
	svc.StandbyCalls = 1
	sim.SetClusterStatus(project, dwssim.ClusterDR2, "AVAILABLE")
	tick(time.Minute)
	if _, s := round(); s == 0 || s > 2 {
		t.Errorf("a round with a budget of 1 made %d standby calls (one primary has at most 2 other zones)", s)
	}
	if _, s := round(); s == 0 {
		t.Error("the primaries left over were not read in the next round")
	}

	// A failed read keeps the last answer and says why.
	svc.StandbyCalls = 0
	sim.InjectFault(dwssim.Fault{Route: dwssim.RouteAvailableClusters, Status: http.StatusServiceUnavailable})
	tick(10 * time.Minute)
	if err := svc.SyncClusters(ctx); err == nil {
		t.Error("a round whose standby reads failed reports no error")
	}
	if msg, at, err := store.LastSyncError(ctx, db.SyncStandbys); err != nil || at == nil || msg == "" {
		t.Errorf("the failure is not in cloud_syncs: %q %v %v", msg, at, err)
	}
	fo, err = svc.Options(ctx, prod1.ID, "")
	if err != nil || fo.StandbysErr == "" || len(fo.Standbys) == 0 || !fo.Standbys[0].Usable {
		t.Errorf("after a failed read the form offers %+v (%v)", fo, err)
	}
}
