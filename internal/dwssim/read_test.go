package dwssim_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/dws/v2/model"

	"drportal/internal/dwssim"
)

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sorted(s ...string) []string {
	sort.Strings(s)
	return s
}

func (e *env) detail(id string) map[string]any {
	e.t.Helper()
	res := e.do("GET", "/v2/"+pid+"/disaster-recovery/"+id, "")
	if res.status != 200 {
		e.t.Fatalf("detail %s: %d %s", id, res.status, res.body)
	}
	return decodeObject(e.t, res.body)["disaster_recovery"].(map[string]any)
}

// The detail has exactly the key set of the API reference example, with
// nulls (not absent keys) for unset values.
func TestDetailShape(t *testing.T) {
	e := newEnv(t)
	body := `{"disaster_recovery":{"name":"dr_demo01","dr_type":"az","primary_cluster_id":"` + e.cluster(dwssim.ClusterProd1).ID +
		`","standby_cluster_id":"` + e.cluster(dwssim.ClusterDR1).ID + `","dr_sync_period":"3H","primary_obs_bucket":"obs-prod","standby_obs_bucket":""}}`
	res := e.do("POST", "/v2/"+pid+"/disaster-recoveries", body)
	if res.status != 200 {
		t.Fatalf("%d %s", res.status, res.body)
	}
	top := decodeObject(t, res.body)
	id := top["disaster_recovery"].(map[string]any)["id"].(string)
	if !regexpUUID(id) {
		t.Fatalf("id %q", id)
	}

	d := e.detail(id)
	wantTop := sorted("id", "name", "status", "dr_type", "primary_cluster", "standby_cluster", "dr_sync_period", "start_time", "create_time")
	if got := keys(d); !slices.Equal(got, wantTop) {
		t.Errorf("detail keys %v\nwant %v", got, wantTop)
	}
	wantCluster := sorted("id", "name", "cluster_az", "role", "region", "status", "progress", "last_success_time", "obs_bucket_name")
	want := map[string]any{
		"id": id, "name": "dr_demo01", "status": "creating", "dr_type": "az", "dr_sync_period": "3H",
		"start_time": nil, "create_time": "2024-01-01T12:00:00",
	}
	for k, v := range want {
		if d[k] != v {
			t.Errorf("%s = %#v, want %#v", k, d[k], v)
		}
	}
	clusters := map[string]map[string]any{
		"primary_cluster": {"id": e.cluster(dwssim.ClusterProd1).ID, "name": dwssim.ClusterProd1, "cluster_az": dwssim.AZ1,
			"role": "primary", "region": "cn-north-4", "status": "stopped", "progress": "0", "last_success_time": nil, "obs_bucket_name": "obs-prod"},
		"standby_cluster": {"id": e.cluster(dwssim.ClusterDR1).ID, "name": dwssim.ClusterDR1, "cluster_az": dwssim.AZ2,
			"role": "standby", "region": "cn-north-4", "status": "stopped", "progress": "0", "last_success_time": nil, "obs_bucket_name": nil},
	}
	for side, wantC := range clusters {
		c, ok := d[side].(map[string]any)
		if !ok {
			t.Fatalf("%s is %T", side, d[side])
		}
		if got := keys(c); !slices.Equal(got, wantCluster) {
			t.Errorf("%s keys %v\nwant %v", side, got, wantCluster)
		}
		for k, v := range wantC {
			if c[k] != v {
				t.Errorf("%s.%s = %#v, want %#v", side, k, c[k], v)
			}
		}
	}

	t.Run("extended cluster fields", func(t *testing.T) {
		e := newEnv(t, func(o *dwssim.Options) { o.ExtendedClusterFields = true })
		id := e.create("dr_demo01", dwssim.ClusterProd1, dwssim.ClusterDR1)
		c := e.detail(id)["standby_cluster"].(map[string]any)
		want := sorted(append(slices.Clone(wantCluster), "datastore_version", "datastore_type", "disk_capacity", "disk_used")...)
		if got := keys(c); !slices.Equal(got, want) {
			t.Errorf("keys %v\nwant %v", got, want)
		}
		if c["datastore_type"] != "dws" || c["datastore_version"] != dwssim.EligibleVersion {
			t.Errorf("datastore %v %v", c["datastore_type"], c["datastore_version"])
		}
		for _, k := range []string{"disk_capacity", "disk_used"} {
			if _, ok := c[k].(string); !ok {
				t.Errorf("%s is %T, want string", k, c[k])
			}
		}
	})
}

func regexpUUID(s string) bool {
	return len(s) == 36 && strings.Count(s, "-") == 4 && strings.ToLower(s) == s
}

func TestUnknownTask(t *testing.T) {
	e := newEnv(t)
	e.create("dr_demo01", dwssim.ClusterProd1, dwssim.ClusterDR1)
	for _, id := range []string{"e59d6b86-9072-46eb-a996-13f8b44994c1", "not-a-uuid"} {
		expectError(t, e.do("GET", "/v2/"+pid+"/disaster-recovery/"+id, ""), 400, "DWS.10101")
	}
	// Tasks are per project.
	id := e.sim.Tasks(pid)[0].ID
	expectError(t, e.do("GET", "/v2/fedcba9876543210fedcba9876543210/disaster-recovery/"+id, ""), 400, "DWS.10101")
}

// creating settles into unstart (or create_failed) lazily, from the clock.
func TestCreateTransition(t *testing.T) {
	t.Run("speed 1", func(t *testing.T) {
		e := newEnv(t)
		id := e.create("dr_demo01", dwssim.ClusterProd1, dwssim.ClusterDR1)
		if s := e.detail(id)["status"]; s != "creating" {
			t.Fatalf("status %v", s)
		}
		e.clock.Advance(2999 * time.Millisecond)
		if s := e.detail(id)["status"]; s != "creating" {
			t.Fatalf("after 2.999s: %v", s)
		}
		e.clock.Advance(time.Millisecond)
		if s := e.detail(id)["status"]; s != "unstart" {
			t.Fatalf("after 3s: %v", s)
		}
		if s := e.sim.Tasks(pid)[0].Status; s != "unstart" {
			t.Errorf("Tasks status %q", s)
		}
	})

	t.Run("speed 3", func(t *testing.T) {
		e := newEnv(t, func(o *dwssim.Options) { o.Speed = 3 })
		e.create("dr_demo01", dwssim.ClusterProd1, dwssim.ClusterDR1)
		e.clock.Advance(999 * time.Millisecond)
		if s := e.sim.Tasks(pid)[0].Status; s != "creating" {
			t.Fatalf("after 0.999s: %v", s)
		}
		e.clock.Advance(time.Millisecond)
		if s := e.sim.Tasks(pid)[0].Status; s != "unstart" {
			t.Fatalf("after 1s: %v", s)
		}
	})

	t.Run("failure injection", func(t *testing.T) {
		e := newEnv(t)
		e.sim.FailNext("create", 1)
		failed := e.create("dr_demo01", dwssim.ClusterProd1, dwssim.ClusterDR1)
		ok := e.create("dr_demo02", dwssim.ClusterProd2, dwssim.ClusterDR2)
		e.clock.Advance(3 * time.Second)
		d := e.detail(failed)
		if d["status"] != "create_failed" {
			t.Errorf("failed task: %v", d["status"])
		}
		if s := d["primary_cluster"].(map[string]any)["status"]; s != "abnormal" {
			t.Errorf("cluster status of a failed create: %v", s)
		}
		if s := e.detail(ok)["status"]; s != "unstart" {
			t.Errorf("next task: %v", s)
		}
	})
}

func (e *env) list(query string) []map[string]any {
	e.t.Helper()
	res := e.do("GET", "/v2/"+pid+"/disaster-recoveries"+query, "")
	if res.status != 200 {
		e.t.Fatalf("list: %d %s", res.status, res.body)
	}
	raw, ok := decodeObject(e.t, res.body)["disaster_recovery"].([]any)
	if !ok {
		e.t.Fatalf("list body %s", res.body)
	}
	out := []map[string]any{}
	for _, it := range raw {
		out = append(out, it.(map[string]any))
	}
	return out
}

func TestList(t *testing.T) {
	e := newEnv(t)
	if items := e.list(""); len(items) != 0 {
		t.Fatalf("empty project lists %v", items)
	}
	if res := e.do("GET", "/v2/"+pid+"/disaster-recoveries", ""); string(res.body) != `{"disaster_recovery":[]}` {
		t.Errorf("empty list body %s", res.body)
	}

	id1 := e.create("dr_demo01", dwssim.ClusterProd1, dwssim.ClusterDR1)
	e.clock.Advance(time.Minute)
	id2 := e.create("dr_demo02", dwssim.ClusterProd2, dwssim.ClusterDR2)

	items := e.list("")
	if len(items) != 2 || items[0]["id"] != id1 || items[1]["id"] != id2 {
		t.Fatalf("list %v", items)
	}
	wantKeys := sorted("id", "name", "status", "dr_type",
		"primary_cluster_id", "primary_cluster_name", "primary_cluster_role", "primary_cluster_status", "primary_cluster_region", "primary_cluster_project_id",
		"standby_cluster_id", "standby_cluster_name", "standby_cluster_role", "standby_cluster_status", "standby_cluster_region", "standby_cluster_project_id",
		"last_disaster_time", "start_time", "create_time")
	for _, it := range items {
		if got := keys(it); !slices.Equal(got, wantKeys) {
			t.Errorf("item keys %v\nwant %v", got, wantKeys)
		}
		// Flat: every value is a string or null.
		for k, v := range it {
			if _, ok := v.(string); !ok && v != nil {
				t.Errorf("%s is %T", k, v)
			}
		}
		d := e.detail(it["id"].(string))
		pc, sc := d["primary_cluster"].(map[string]any), d["standby_cluster"].(map[string]any)
		pairs := map[string]any{
			"name": d["name"], "status": d["status"], "dr_type": d["dr_type"], "create_time": d["create_time"], "start_time": d["start_time"],
			"primary_cluster_id": pc["id"], "primary_cluster_name": pc["name"], "primary_cluster_role": pc["role"],
			"primary_cluster_status": pc["status"], "primary_cluster_region": pc["region"], "primary_cluster_project_id": pid,
			"standby_cluster_id": sc["id"], "standby_cluster_name": sc["name"], "standby_cluster_role": sc["role"],
			"standby_cluster_status": sc["status"], "standby_cluster_region": sc["region"], "standby_cluster_project_id": pid,
			"last_disaster_time": pc["last_success_time"],
		}
		for k, v := range pairs {
			if it[k] != v {
				t.Errorf("list %s = %#v, detail says %#v", k, it[k], v)
			}
		}
	}
	if items[1]["create_time"] != "2024-01-01T12:01:00" {
		t.Errorf("create_time %v", items[1]["create_time"])
	}

	filters := []struct {
		query string
		want  []string
	}{
		{"?primary_cluster_id=" + e.cluster(dwssim.ClusterProd1).ID, []string{id1}},
		{"?standby_cluster_id=" + e.cluster(dwssim.ClusterDR2).ID, []string{id2}},
		{"?id=" + id2, []string{id2}},
		{"?primary_cluster_id=" + e.cluster(dwssim.ClusterProd1).ID + "&standby_cluster_id=" + e.cluster(dwssim.ClusterDR2).ID, nil},
		{"?primary_cluster_id=" + e.cluster(dwssim.ClusterDR1).ID, nil},
		{"?unknown=1", []string{id1, id2}},
	}
	for _, f := range filters {
		var got []string
		for _, it := range e.list(f.query) {
			got = append(got, it["id"].(string))
		}
		if !slices.Equal(got, f.want) {
			t.Errorf("list%s = %v, want %v", f.query, got, f.want)
		}
	}
}

func TestClusterList(t *testing.T) {
	e := newEnv(t)
	res := e.do("GET", "/v1.0/"+pid+"/clusters", "")
	if res.status != 200 {
		t.Fatalf("%d %s", res.status, res.body)
	}
	top := decodeObject(t, res.body)
	count, ok := top["count"].(json.Number)
	if !ok {
		t.Fatalf("count is %T, want a number", top["count"])
	}
	list := top["clusters"].([]any)
	if n, _ := count.Int64(); int(n) != len(list) || n != 11 {
		t.Errorf("count %v, %d clusters", count, len(list))
	}

	// Every json field of the SDK's ClusterInfo is present.
	var sdkKeys []string
	ct := reflect.TypeFor[model.ClusterInfo]()
	for i := range ct.NumField() {
		name, _, _ := strings.Cut(ct.Field(i).Tag.Get("json"), ",")
		sdkKeys = append(sdkKeys, name)
	}
	sort.Strings(sdkKeys)
	byName := map[string]map[string]any{}
	for _, raw := range list {
		c := raw.(map[string]any)
		if got := keys(c); !slices.Equal(got, sdkKeys) {
			t.Errorf("%v keys %v\nwant %v", c["name"], got, sdkKeys)
		}
		for _, k := range []string{"created", "updated"} {
			if _, err := time.Parse(time.RFC3339, c[k].(string)); err != nil || !strings.HasSuffix(c[k].(string), "Z") {
				t.Errorf("%s %v: %v", k, c[k], err)
			}
		}
		byName[c["name"].(string)] = c
	}

	want := map[string]struct{ status, sub, version, az, task string }{
		dwssim.ClusterProd1:      {"AVAILABLE", "NORMAL", dwssim.EligibleVersion, dwssim.AZ1, ""},
		dwssim.ClusterProd2:      {"AVAILABLE", "NORMAL", dwssim.EligibleVersion, dwssim.AZ1, ""},
		dwssim.ClusterDR1:        {"AVAILABLE", "NORMAL", dwssim.EligibleVersion, dwssim.AZ2, ""},
		dwssim.ClusterDR2:        {"AVAILABLE", "UNBALANCED", dwssim.EligibleVersion, dwssim.AZ2, ""},
		dwssim.ClusterFailed:     {"FAILED", "NORMAL", dwssim.EligibleVersion, dwssim.AZ2, ""},
		dwssim.ClusterOldVersion: {"AVAILABLE", "NORMAL", "8.0.3.100", dwssim.AZ2, ""},
		dwssim.ClusterBusy:       {"AVAILABLE", "NORMAL", dwssim.EligibleVersion, dwssim.AZ2, "SNAPSHOTTING"},
	}
	for name, w := range want {
		c := byName[name]
		if c == nil {
			t.Errorf("%s missing", name)
			continue
		}
		got := [5]any{c["status"], c["sub_status"], c["version"], c["availability_zone"], c["task_status"]}
		if got != [5]any{w.status, w.sub, w.version, w.az, w.task} {
			t.Errorf("%s: %v, want %v", name, got, w)
		}
		if c["id"] != dwssim.ClusterID(pid, name) {
			t.Errorf("%s id %v, want %s", name, c["id"], dwssim.ClusterID(pid, name))
		}
	}
	if ap := byName[dwssim.ClusterBusy]["action_progress"].(map[string]any); ap["SNAPSHOTTING"] != "20%" {
		t.Errorf("busy action_progress %v", ap)
	}
	if byName[dwssim.ClusterOtherVPC]["vpc_id"] == byName[dwssim.ClusterProd1]["vpc_id"] {
		t.Error("other-VPC cluster shares the main VPC")
	}

	// IDs are stable across simulators and differ between projects.
	e2 := newEnv(t, func(o *dwssim.Options) { o.Seed = 99 })
	if e2.cluster(dwssim.ClusterDR1).ID != e.cluster(dwssim.ClusterDR1).ID {
		t.Error("cluster ID changed across simulators")
	}
	other, _ := e.sim.Cluster("fedcba9876543210fedcba9876543210", dwssim.ClusterDR1)
	if other.ID == e.cluster(dwssim.ClusterDR1).ID {
		t.Error("cluster IDs shared between projects")
	}
	if c := e.cluster(dwssim.ClusterEncrypted); !c.Encrypted {
		t.Errorf("%+v", c)
	}
	if c := e.cluster(dwssim.ClusterDWS3); c.DatastoreType != "dws3.0" {
		t.Errorf("%+v", c)
	}
}

func (e *env) available(query string) result {
	e.t.Helper()
	return e.do("GET", "/v2/"+pid+"/disaster-recovery-clusters"+query, "")
}

func availableNames(t *testing.T, res result) []string {
	t.Helper()
	if res.status != 200 {
		t.Fatalf("%d %s", res.status, res.body)
	}
	var out struct {
		Clusters []struct{ ID, Name string } `json:"disaster_recovery_clusters"`
	}
	if err := json.Unmarshal(res.body, &out); err != nil || out.Clusters == nil {
		t.Fatalf("body %s: %v", res.body, err)
	}
	var names []string
	for _, c := range out.Clusters {
		if c.ID != dwssim.ClusterID(pid, c.Name) {
			t.Errorf("%s has id %s", c.Name, c.ID)
		}
		names = append(names, c.Name)
	}
	return names
}

func TestAvailableClusters(t *testing.T) {
	e := newEnv(t)
	q := func(primary, az string) string {
		return "?primary_cluster_id=" + e.cluster(primary).ID + "&standby_az_code=" + az
	}

	// Every ineligible cluster sits in AZ2, so this also shows each is left out.
	if got := availableNames(t, e.available(q(dwssim.ClusterProd1, dwssim.AZ2)+"&dr_type=az&datastore_type=dws")); !slices.Equal(got, []string{dwssim.ClusterDR1, dwssim.ClusterDR2}) {
		t.Errorf("AZ2 standbys %v", got)
	}
	// The primary's own AZ has no cross-AZ standby, though dws-prod-02
	// would be eligible on every other count.
	if got := availableNames(t, e.available(q(dwssim.ClusterProd1, dwssim.AZ1))); len(got) != 0 {
		t.Errorf("AZ1 standbys of an AZ1 primary %v", got)
	}
	if got := availableNames(t, e.available(q(dwssim.ClusterProd1, "cn-north-4c"))); len(got) != 0 {
		t.Errorf("empty AZ %v", got)
	}
	// These two may take part in DR, but have no partner: no other cluster
	// runs 8.1.3 or sits in the other VPC.
	for _, name := range []string{dwssim.ClusterVersionMismatch, dwssim.ClusterOtherVPC} {
		if got := availableNames(t, e.available(q(name, dwssim.AZ2))); len(got) != 0 {
			t.Errorf("standbys for %s: %v", name, got)
		}
	}

	for _, tt := range ineligible {
		if tt.name == dwssim.ClusterVersionMismatch || tt.name == dwssim.ClusterOtherVPC {
			continue // pair rules: eligible on their own
		}
		t.Run("primary "+tt.name, func(t *testing.T) {
			expectError(t, e.available(q(tt.name, dwssim.AZ1)), tt.status, tt.code)
		})
	}

	errorsTable := []struct {
		name, query string
		status      int
		code        string
	}{
		{"no parameters", "", 400, "DWS.5065"},
		{"no AZ", "?primary_cluster_id=" + e.cluster(dwssim.ClusterProd1).ID, 400, "DWS.5065"},
		{"no primary", "?standby_az_code=" + dwssim.AZ2, 400, "DWS.5065"},
		{"primary not a UUID", "?primary_cluster_id=abc&standby_az_code=" + dwssim.AZ2, 400, "DWS.0001"},
		{"unknown primary", "?primary_cluster_id=11111111-1111-1111-1111-111111111111&standby_az_code=" + dwssim.AZ2, 404, "DWS.0047"},
		{"DWS 3.0 requested", q(dwssim.ClusterProd1, dwssim.AZ2) + "&datastore_type=dws3.0", 400, "DWS.5005"},
	}
	for _, tt := range errorsTable {
		t.Run(tt.name, func(t *testing.T) {
			expectError(t, e.available(tt.query), tt.status, tt.code)
		})
	}

	t.Run("clusters in a task", func(t *testing.T) {
		e := newEnv(t)
		e.create("dr_demo01", dwssim.ClusterProd1, dwssim.ClusterDR1)
		if got := availableNames(t, e.available("?primary_cluster_id="+e.cluster(dwssim.ClusterProd2).ID+"&standby_az_code="+dwssim.AZ2)); !slices.Equal(got, []string{dwssim.ClusterDR2}) {
			t.Errorf("standbys %v", got)
		}
		expectError(t, e.available("?primary_cluster_id="+e.cluster(dwssim.ClusterProd1).ID+"&standby_az_code="+dwssim.AZ2), 403, "DWS.7023")
	})

	t.Run("status set by a test", func(t *testing.T) {
		e := newEnv(t)
		e.sim.SetClusterStatus(pid, dwssim.ClusterDR2, "FAILED")
		if got := availableNames(t, e.available("?primary_cluster_id="+e.cluster(dwssim.ClusterProd1).ID+"&standby_az_code="+dwssim.AZ2)); !slices.Equal(got, []string{dwssim.ClusterDR1}) {
			t.Errorf("standbys %v", got)
		}
	})

	if n := e.sim.Calls(dwssim.RouteAvailableClusters); n != 5+len(ineligible)-2+len(errorsTable) {
		t.Errorf("available-clusters calls %d", n)
	}
}

// A cross-region task has the shape of the API reference example (§2.2):
// each side shows its own region, and the standby, in the other region,
// has a null cluster_az. The list carries each side's region and project.
func TestCrossRegionTaskHasTheReferenceShape(t *testing.T) {
	e := newEnv(t)
	prod, remote := e.cluster(dwssim.ClusterProd1), e.cluster(dwssim.ClusterRemote)
	// The remote cluster is not in this region's cluster list, but the
	// standby lookup finds it when asked for its region.
	res := e.do("GET", "/v1.0/"+pid+"/clusters", "")
	if res.status != 200 {
		t.Fatalf("clusters: %d %s", res.status, res.body)
	}
	if strings.Contains(string(res.body), remote.ID) || strings.Contains(string(res.body), dwssim.RemoteRegion) {
		t.Errorf("the cluster list of %s shows the %s cluster", dwssim.Region, dwssim.RemoteRegion)
	}
	regionQuery := "?primary_cluster_id=" + prod.ID + "&standby_az_code=" + dwssim.RemoteAZ + "&standby_region=" + dwssim.RemoteRegion
	if got := availableNames(t, e.available(regionQuery+"&dr_type=region")); !slices.Equal(got, []string{dwssim.ClusterRemote}) {
		t.Errorf("cross-region standbys %v", got)
	}
	if got := availableNames(t, e.available(regionQuery+"&dr_type=az")); len(got) != 0 {
		t.Errorf("cross-AZ standbys in another region %v", got)
	}
	if got := availableNames(t, e.available("?primary_cluster_id="+prod.ID+"&standby_az_code="+dwssim.AZ2+"&dr_type=region")); len(got) != 0 {
		t.Errorf("cross-region standbys in the primary's region %v", got)
	}

	res = e.do("POST", "/v2/"+pid+"/disaster-recoveries", createBodyOfType("region", "dws-it-02", prod.ID, remote.ID, "3H"))
	if res.status != 200 {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	id := decodeObject(t, res.body)["disaster_recovery"].(map[string]any)["id"].(string)
	d := e.detail(id)
	if d["dr_type"] != "region" {
		t.Errorf("dr_type %v", d["dr_type"])
	}
	pc, sc := d["primary_cluster"].(map[string]any), d["standby_cluster"].(map[string]any)
	if pc["region"] != dwssim.Region || pc["cluster_az"] != dwssim.AZ1 || pc["id"] != prod.ID {
		t.Errorf("primary_cluster %v", pc)
	}
	az, present := sc["cluster_az"]
	if sc["region"] != dwssim.RemoteRegion || !present || az != nil || sc["id"] != remote.ID || sc["name"] != dwssim.ClusterRemote {
		t.Errorf("standby_cluster %v (cluster_az present %v)", sc, present)
	}

	items := e.list("")
	if len(items) != 1 {
		t.Fatalf("list %v", items)
	}
	it := items[0]
	if it["primary_cluster_region"] != dwssim.Region || it["primary_cluster_project_id"] != pid ||
		it["standby_cluster_region"] != dwssim.RemoteRegion ||
		it["standby_cluster_project_id"] != dwssim.RegionProjectID(pid, dwssim.RemoteRegion) || it["standby_cluster_project_id"] == pid {
		t.Errorf("list item %v", it)
	}
}
