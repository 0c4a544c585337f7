package dwssim_test

import (
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/dws/v2/model"

	"drportal/internal/dwssim"
)

// The official SDK drives the whole life of a task: update, start,
// progress, switchover, failover, recovery, pause and delete.
func TestOfficialSDKOperations(t *testing.T) {
	// The SDK signs with the wall clock, so the fake clock starts there and
	// moves less than the 15-minute skew in total.
	start := time.Now().UTC().Truncate(time.Second)
	clock := dwssim.NewFakeClock(start)
	sim, err := dwssim.New(dwssim.Options{Credentials: map[string]string{testAK: testSK}, Clock: clock, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	defer srv.Close()
	client := sdkClient(t, srv.URL, testAK, testSK)
	prod, _ := sim.Cluster(pid, dwssim.ClusterProd1)
	dr, _ := sim.Cluster(pid, dwssim.ClusterDR1)

	created, err := client.CreateDisasterRecovery(&model.CreateDisasterRecoveryRequest{
		Body: &model.CreateDisasterRecoveryReq{DisasterRecovery: &model.CreateDisasterRecovery{
			Name: "dr_sdk02", DrType: "az", PrimaryClusterId: prod.ID, StandbyClusterId: dr.ID, DrSyncPeriod: "5m",
		}},
	})
	if err != nil {
		t.Fatalf("CreateDisasterRecovery: %v", err)
	}
	id := *created.DisasterRecovery.Id
	status := func() string {
		t.Helper()
		d, err := client.ShowDisasterDetail(&model.ShowDisasterDetailRequest{DisasterRecoveryId: id})
		if err != nil {
			t.Fatalf("ShowDisasterDetail: %v", err)
		}
		return *d.DisasterRecovery.Status
	}
	expectID := func(what string, got *model.DisasterRecoveryId, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if got == nil || got.Id == nil || *got.Id != id {
			t.Fatalf("%s answered %v", what, got)
		}
	}
	clock.Advance(dCreating)

	period := "10m"
	upd, err := client.UpdateDisasterInfo(&model.UpdateDisasterInfoRequest{DisasterRecoveryId: id,
		Body: &model.UpdateDisasterRecoveryRequest{DisasterRecovery: &model.UpdateDisasterRecoveryReq{DrSyncPeriod: &period}}})
	if err == nil {
		expectID("UpdateDisasterInfo", upd.DisasterRecovery, err)
	} else {
		t.Fatalf("UpdateDisasterInfo: %v", err)
	}
	bad := "5h"
	_, err = client.UpdateDisasterInfo(&model.UpdateDisasterInfoRequest{DisasterRecoveryId: id,
		Body: &model.UpdateDisasterRecoveryRequest{DisasterRecovery: &model.UpdateDisasterRecoveryReq{DrSyncPeriod: &bad}}})
	var sre *sdkerr.ServiceResponseError
	if !errors.As(err, &sre) || sre.StatusCode != 400 || sre.ErrorCode != "DWS.5065" {
		t.Errorf("bad period: %v", err)
	}

	st, err := client.StartDisasterRecovery(&model.StartDisasterRecoveryRequest{DisasterRecoveryId: id})
	expectID("StartDisasterRecovery", st.DisasterRecovery, err)
	if s := status(); s != "starting" {
		t.Fatalf("after start: %s", s)
	}
	// A 10m period syncs every 10 s: at +12 s one cycle is done and the
	// second 40% into its 5 s restore, so RTO = 4 s + 3 s.
	clock.Advance(dStarting + 12*time.Second)

	pr, err := client.ShowDisasterProgress(&model.ShowDisasterProgressRequest{DisasterRecoveryId: id})
	if err != nil {
		t.Fatalf("ShowDisasterProgress: %v", err)
	}
	p := pr.DisasterRecoveryProgress
	wantBarrier := start.Add(dCreating + dStarting + 10*time.Second).Format("2006-01-02T15:04:05")
	if p == nil || *p.RecoveryPointObject != 2 || *p.LastRecoverySpend != 5 || *p.RecoveryTimeObject != 7 ||
		*p.LatestBarrierTime != wantBarrier || *p.StandbyCluster.ActionType != "Restore" || *p.StandbyCluster.UnrestoreKeys != "1" ||
		*p.PrimaryCluster.ActionType != "Backup" || p.PrimaryCluster.Key == nil || p.StandbyCluster.ActionEndTime != nil {
		t.Errorf("progress %v", p)
	}

	sw, err := client.SwitchoverDisasterRecovery(&model.SwitchoverDisasterRecoveryRequest{DisasterRecoveryId: id})
	expectID("SwitchoverDisasterRecovery", sw.DisasterRecovery, err)
	clock.Advance(dSwitchover)
	d, err := client.ShowDisasterDetail(&model.ShowDisasterDetailRequest{DisasterRecoveryId: id})
	if err != nil {
		t.Fatal(err)
	}
	if dd := d.DisasterRecovery; *dd.Status != "running" || *dd.PrimaryCluster.Id != dr.ID || *dd.StandbyCluster.Id != prod.ID ||
		*dd.PrimaryCluster.Role != "primary" || *dd.StandbyCluster.ClusterAz != dwssim.AZ1 {
		t.Errorf("after switchover %v", dd)
	}

	// Failover refused while nothing is faulty, accepted after a fault.
	_, err = client.SwitchFailoverDisaster(&model.SwitchFailoverDisasterRequest{DisasterRecoveryId: id})
	if !errors.As(err, &sre) || sre.StatusCode != 403 || sre.ErrorCode != "DWS.7023" {
		t.Errorf("failover with nothing faulty: %v", err)
	}
	sim.SetClusterFaulty(pid, dwssim.ClusterDR1, true) // the current primary
	fo, err := client.SwitchFailoverDisaster(&model.SwitchFailoverDisasterRequest{DisasterRecoveryId: id})
	expectID("SwitchFailoverDisaster", fo.DisasterRecovery, err)
	clock.Advance(dFailover)
	if s := status(); s != "abnormal" {
		t.Fatalf("after failover: %s", s)
	}
	sim.SetClusterFaulty(pid, dwssim.ClusterDR1, false)
	rc, err := client.RestoreDisaster(&model.RestoreDisasterRequest{DisasterRecoveryId: id})
	expectID("RestoreDisaster", rc.DisasterRecovery, err)
	clock.Advance(dRecovery)
	if s := status(); s != "running" {
		t.Fatalf("after recovery: %s", s)
	}

	pa, err := client.PauseDisasterRecovery(&model.PauseDisasterRecoveryRequest{DisasterRecoveryId: id})
	expectID("PauseDisasterRecovery", pa.DisasterRecovery, err)
	clock.Advance(dStopping)
	if s := status(); s != "stopped" {
		t.Fatalf("after pause: %s", s)
	}

	if _, err := client.DeleteDisasterRecovery(&model.DeleteDisasterRecoveryRequest{DisasterRecoveryId: id}); err != nil {
		t.Fatalf("DeleteDisasterRecovery: %v", err)
	}
	if s := status(); s != "deleting" {
		t.Fatalf("after delete: %s", s)
	}
	clock.Advance(dDeleting)
	_, err = client.ShowDisasterDetail(&model.ShowDisasterDetailRequest{DisasterRecoveryId: id})
	if !errors.As(err, &sre) || sre.StatusCode != 400 || sre.ErrorCode != "DWS.10101" {
		t.Errorf("detail after delete: %v", err)
	}
	_, err = client.StartDisasterRecovery(&model.StartDisasterRecoveryRequest{DisasterRecoveryId: id})
	if !errors.As(err, &sre) || sre.StatusCode != 400 || sre.ErrorCode != "DWS.10101" {
		t.Errorf("start after delete: %v", err)
	}
	if list, err := client.ListDisasterRecover(&model.ListDisasterRecoverRequest{}); err != nil || len(*list.DisasterRecovery) != 0 {
		t.Errorf("list after delete: %v %v", list, err)
	}
	for route, want := range map[string]int{"update": 2, "start": 2, "progress": 1, "switchover": 1, "failover": 2,
		"recovery": 1, "pause": 1, "delete": 1} {
		if n := sim.Calls(route); n != want {
			t.Errorf("Calls(%s) = %d, want %d", route, n, want)
		}
	}
}
