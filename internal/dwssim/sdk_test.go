package dwssim_test

import (
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/config"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
	dws "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/dws/v2"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/dws/v2/model"

	"drportal/internal/dwssim"
)

func sdkClient(t *testing.T, endpoint, ak, sk string) *dws.DwsClient {
	t.Helper()
	cred, err := basic.NewCredentialsBuilder().WithAk(ak).WithSk(sk).WithProjectId(pid).SafeBuild()
	if err != nil {
		t.Fatal(err)
	}
	hc, err := dws.DwsClientBuilder().
		WithEndpoints([]string{endpoint}).
		WithCredential(cred).
		WithHttpConfig(config.DefaultHttpConfig().WithUserAgent("dr-portal-test").WithTimeout(10 * time.Second)).
		SafeBuild()
	if err != nil {
		t.Fatal(err)
	}
	return dws.NewDwsClient(hc)
}

// The official SDK, over real HTTP, is a client of the simulator.
func TestOfficialSDK(t *testing.T) {
	// The SDK signs with the wall clock, so the fake clock starts there.
	clock := dwssim.NewFakeClock(time.Now())
	sim, err := dwssim.New(dwssim.Options{Credentials: map[string]string{testAK: testSK}, Clock: clock, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	defer srv.Close()
	client := sdkClient(t, srv.URL, testAK, testSK)
	prod, _ := sim.Cluster(pid, dwssim.ClusterProd1)
	dr, _ := sim.Cluster(pid, dwssim.ClusterDR2)

	clusters, err := client.ListClusters(&model.ListClustersRequest{})
	if err != nil {
		t.Fatalf("ListClusters: %v", err)
	}
	if clusters.Count == nil || int(*clusters.Count) != len(*clusters.Clusters) || len(*clusters.Clusters) != 11 {
		t.Fatalf("ListClusters count %v", clusters.Count)
	}
	var got model.ClusterInfo
	for _, c := range *clusters.Clusters {
		if c.Name == dwssim.ClusterDR2 {
			got = c
		}
	}
	if got.Id != dr.ID || got.Status != "AVAILABLE" || got.SubStatus != "UNBALANCED" || got.AvailabilityZone != dwssim.AZ2 ||
		got.Version != dwssim.EligibleVersion || got.VpcId != dr.VPCID || got.Port != 8000 || len(got.Nodes) != 3 || got.PublicIp == nil {
		t.Errorf("ClusterInfo %+v", got)
	}

	avail, err := client.ListAvailableDisasterClusters(&model.ListAvailableDisasterClustersRequest{
		PrimaryClusterId: prod.ID, StandbyAzCode: dwssim.AZ2,
	})
	if err != nil {
		t.Fatalf("ListAvailableDisasterClusters: %v", err)
	}
	if l := *avail.DisasterRecoveryClusters; len(l) != 2 || *l[0].Name != dwssim.ClusterDR1 || *l[1].Id != dr.ID {
		t.Errorf("available %v", avail)
	}

	if _, err := client.CheckDisasterName(&model.CheckDisasterNameRequest{DrName: "dr_sdk01"}); err != nil {
		t.Fatalf("CheckDisasterName (free): %v", err)
	}

	created, err := client.CreateDisasterRecovery(&model.CreateDisasterRecoveryRequest{
		Body: &model.CreateDisasterRecoveryReq{DisasterRecovery: &model.CreateDisasterRecovery{
			Name: "dr_sdk01", DrType: "az", PrimaryClusterId: prod.ID, StandbyClusterId: dr.ID, DrSyncPeriod: "5m",
		}},
	})
	if err != nil {
		t.Fatalf("CreateDisasterRecovery: %v", err)
	}
	id := *created.DisasterRecovery.Id
	if tasks := sim.Tasks(pid); len(tasks) != 1 || tasks[0].ID != id {
		t.Fatalf("tasks %+v, created %s", tasks, id)
	}

	_, err = client.CheckDisasterName(&model.CheckDisasterNameRequest{DrName: "DR_SDK01"})
	var sre *sdkerr.ServiceResponseError
	if !errors.As(err, &sre) || sre.StatusCode != 409 || sre.ErrorCode != "DWS.5050" || sre.ErrorMessage != "The DR name already exists." {
		t.Errorf("CheckDisasterName (taken): %v", err)
	}

	detail, err := client.ShowDisasterDetail(&model.ShowDisasterDetailRequest{DisasterRecoveryId: id})
	if err != nil {
		t.Fatalf("ShowDisasterDetail: %v", err)
	}
	d := detail.DisasterRecovery
	if *d.Id != id || *d.Name != "dr_sdk01" || *d.Status != "creating" || *d.DrType != "az" || *d.DrSyncPeriod != "5m" ||
		d.StartTime != nil || *d.PrimaryCluster.Id != prod.ID || *d.PrimaryCluster.Role != "primary" ||
		*d.StandbyCluster.Name != dwssim.ClusterDR2 || *d.StandbyCluster.ClusterAz != dwssim.AZ2 ||
		*d.StandbyCluster.Progress != "0" || d.StandbyCluster.ObsBucketName != nil {
		t.Errorf("detail %v", d)
	}
	if _, err := time.Parse("2006-01-02T15:04:05", *d.CreateTime); err != nil {
		t.Errorf("create_time %q: %v", *d.CreateTime, err)
	}

	clock.Advance(3 * time.Second)
	list, err := client.ListDisasterRecover(&model.ListDisasterRecoverRequest{PrimaryClusterId: &prod.ID})
	if err != nil {
		t.Fatalf("ListDisasterRecover: %v", err)
	}
	if l := *list.DisasterRecovery; len(l) != 1 || *l[0].Id != id || *l[0].Status != "unstart" ||
		*l[0].StandbyClusterId != dr.ID || *l[0].PrimaryClusterName != dwssim.ClusterProd1 || *l[0].CreateTime != *d.CreateTime {
		t.Errorf("list %v", list)
	}
	other := "11111111-1111-1111-1111-111111111111"
	if list, err := client.ListDisasterRecover(&model.ListDisasterRecoverRequest{Id: &other}); err != nil || len(*list.DisasterRecovery) != 0 {
		t.Errorf("filtered list %v, %v", list, err)
	}

	_, err = client.ShowDisasterDetail(&model.ShowDisasterDetailRequest{DisasterRecoveryId: other})
	if !errors.As(err, &sre) || sre.StatusCode != 400 || sre.ErrorCode != "DWS.10101" || sre.RequestId == "" {
		t.Errorf("unknown id: %v", err)
	}

	// The trap of §7.3: an undecodable 200 is also a ServiceResponseError.
	sim.InjectFault(dwssim.Fault{Route: dwssim.RouteDetail, BadBody: true, Times: 1})
	_, err = client.ShowDisasterDetail(&model.ShowDisasterDetailRequest{DisasterRecoveryId: id})
	if !errors.As(err, &sre) || sre.StatusCode != 200 || sre.ErrorCode != "" {
		t.Errorf("bad body: %v", err)
	}

	t.Run("wrong SK", func(t *testing.T) {
		bad := sdkClient(t, srv.URL, testAK, "wrong-secret-key")
		_, err := bad.ListClusters(&model.ListClustersRequest{})
		var sre *sdkerr.ServiceResponseError
		if !errors.As(err, &sre) {
			t.Fatalf("err %T %v, want *sdkerr.ServiceResponseError", err, err)
		}
		if sre.StatusCode != 401 || sre.ErrorCode != "APIG.0301" || sre.RequestId == "" {
			t.Errorf("%+v", sre)
		}
	})

	for route, want := range map[string]int{"create": 1, "detail": 3, "list": 2, "check-name": 2, "available-clusters": 1, "clusters": 2} {
		if n := sim.Calls(route); n != want {
			t.Errorf("Calls(%s) = %d, want %d", route, n, want)
		}
	}
}
