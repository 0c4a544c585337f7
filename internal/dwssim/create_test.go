package dwssim_test

import (
	"net/http"
	"strings"
	"testing"

	"drportal/internal/dwssim"
)

func TestCreateValidation(t *testing.T) {
	e := newEnv(t)
	p1, d1 := e.cluster(dwssim.ClusterProd1).ID, e.cluster(dwssim.ClusterDR1).ID
	withField := func(field, value string) string {
		fields := map[string]string{
			"name": "dr_demo01", "dr_type": "az", "primary_cluster_id": p1,
			"standby_cluster_id": d1, "dr_sync_period": "5m",
		}
		if value == "<absent>" {
			delete(fields, field)
		} else {
			fields[field] = value
		}
		var parts []string
		for k, v := range fields {
			parts = append(parts, `"`+k+`":"`+v+`"`)
		}
		return `{"disaster_recovery":{` + strings.Join(parts, ",") + `}}`
	}

	tests := []struct {
		name   string
		body   string
		status int
		code   string
	}{
		{"malformed JSON", `{"disaster_recovery":`, 400, "DWS.5065"},
		{"trailing garbage", `{"disaster_recovery":{}} x`, 400, "DWS.5065"},
		{"empty body", ``, 400, "DWS.5065"},
		{"no disaster_recovery", `{}`, 400, "DWS.5065"},
		{"wrong field type", `{"disaster_recovery":{"name":5}}`, 400, "DWS.5065"},
		{"missing name", withField("name", "<absent>"), 400, "DWS.5065"},
		{"missing dr_type", withField("dr_type", "<absent>"), 400, "DWS.5065"},
		{"missing primary", withField("primary_cluster_id", "<absent>"), 400, "DWS.5065"},
		{"missing standby", withField("standby_cluster_id", "<absent>"), 400, "DWS.5065"},
		{"missing period", withField("dr_sync_period", "<absent>"), 400, "DWS.5065"},
		{"name too short", withField("name", "dr1"), 400, "DWS.5056"},
		{"name too long", withField("name", "d"+strings.Repeat("r", 64)), 400, "DWS.5056"},
		{"name starts with digit", withField("name", "1dr_demo"), 400, "DWS.5065"},
		{"name with dot", withField("name", "dr.demo"), 400, "DWS.5065"},
		{"name with space", withField("name", "dr demo"), 400, "DWS.5065"},
		{"bad dr_type", withField("dr_type", "cross"), 400, "DWS.5065"},
		{"period zero", withField("dr_sync_period", "0m"), 400, "DWS.5065"},
		{"period lower-case h", withField("dr_sync_period", "5h"), 400, "DWS.5065"},
		{"period upper-case M", withField("dr_sync_period", "5M"), 400, "DWS.5065"},
		{"period without unit", withField("dr_sync_period", "5"), 400, "DWS.5065"},
		{"period five digits", withField("dr_sync_period", "10000m"), 400, "DWS.5065"},
		{"period leading zero", withField("dr_sync_period", "05m"), 400, "DWS.5065"},
		{"period 3001", withField("dr_sync_period", "3001m"), 400, "DWS.5038"},
		{"period 9999 days", withField("dr_sync_period", "9999d"), 400, "DWS.5038"},
		{"primary not a UUID", withField("primary_cluster_id", "dws-prod-01"), 400, "DWS.0001"},
		{"standby not a UUID", withField("standby_cluster_id", "1234"), 400, "DWS.0001"},
		{"unknown primary", withField("primary_cluster_id", "11111111-1111-1111-1111-111111111111"), 404, "DWS.0047"},
		{"unknown standby", withField("standby_cluster_id", "22222222-2222-2222-2222-222222222222"), 404, "DWS.0047"},
		{"same cluster", withField("standby_cluster_id", p1), 400, "DWS.5065"},
		{"same cluster, other case", withField("standby_cluster_id", strings.ToUpper(p1)), 400, "DWS.5065"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectError(t, e.do("POST", "/v2/"+pid+"/disaster-recoveries", tt.body), tt.status, tt.code)
		})
	}
	if n := len(e.sim.Tasks(pid)); n != 0 {
		t.Errorf("%d tasks after only invalid creates", n)
	}

	for _, period := range []string{"1m", "3000m", "3000H", "3000d", "20m", "3H"} {
		t.Run("valid period "+period, func(t *testing.T) {
			e := newEnv(t)
			res := e.do("POST", "/v2/"+pid+"/disaster-recoveries", createBody("dr_"+period, p1, d1, period))
			if res.status != 200 {
				t.Fatalf("%d %s", res.status, res.body)
			}
			if got := e.sim.Tasks(pid)[0].SyncPeriod; got != period {
				t.Errorf("stored period %q", got)
			}
		})
	}
}

// Lenient input: both content types, a trailing newline, unknown fields and
// 64-character names are accepted.
func TestCreateLenient(t *testing.T) {
	e := newEnv(t)
	p1, d1 := e.cluster(dwssim.ClusterProd1).ID, e.cluster(dwssim.ClusterDR1).ID
	name64 := "D" + strings.Repeat("r-_9", 15) + "abc"
	body := `{"disaster_recovery":{"name":"` + name64 + `","dr_type":"az","primary_cluster_id":"` + strings.ToUpper(p1) +
		`","standby_cluster_id":"` + d1 + `","dr_sync_period":"5m","primary_obs_bucket":"obs-a","cluster_role":"x","future_field":{"a":[1]}},"extra":true}` + "\n"
	res := e.do("POST", "/v2/"+pid+"/disaster-recoveries", body, requestOpt{before: func(r *http.Request) {
		r.Header.Set("Content-Type", "application/json")
	}})
	if res.status != 200 {
		t.Fatalf("%d %s", res.status, res.body)
	}
	tasks := e.sim.Tasks(pid)
	if len(tasks) != 1 || tasks[0].Name != name64 || tasks[0].PrimaryClusterID != p1 || tasks[0].StandbyClusterID != d1 {
		t.Errorf("tasks %+v", tasks)
	}
}

func TestDuplicateName(t *testing.T) {
	e := newEnv(t)
	e.create("dr_demo01", dwssim.ClusterProd1, dwssim.ClusterDR1)
	for _, name := range []string{"dr_demo01", "DR_DEMO01", "Dr_Demo01"} {
		res := e.do("POST", "/v2/"+pid+"/disaster-recoveries",
			createBody(name, e.cluster(dwssim.ClusterProd2).ID, e.cluster(dwssim.ClusterDR2).ID, "5m"))
		expectError(t, res, http.StatusConflict, "DWS.5050")
		if _, msg, _ := res.errorCode(); msg != "The DR name already exists." {
			t.Errorf("message %q", msg)
		}
	}
	// Names are unique per project only.
	other := "fedcba9876543210fedcba9876543210"
	c1, _ := e.sim.Cluster(other, dwssim.ClusterProd1)
	c2, _ := e.sim.Cluster(other, dwssim.ClusterDR1)
	res := e.do("POST", "/v2/"+other+"/disaster-recoveries", createBody("DR_DEMO01", c1.ID, c2.ID, "5m"))
	if res.status != 200 {
		t.Errorf("same name in another project: %d %s", res.status, res.body)
	}
	if n := len(e.sim.Tasks(pid)); n != 1 {
		t.Errorf("%d tasks in %s", n, pid)
	}
}

func TestCheckName(t *testing.T) {
	e := newEnv(t)
	path := "/v2/" + pid + "/disaster-recovery/check-name?dr_name="

	free := e.do("GET", path+"dr_demo01&type=az", "")
	if free.status != 200 || len(free.body) != 0 {
		t.Fatalf("free name: %d %q", free.status, free.body)
	}
	if free.header.Get("Content-Type") != "application/json" || !requestIDRE.MatchString(free.header.Get("X-Request-Id")) {
		t.Errorf("headers of the empty 200: %v", free.header)
	}

	e.create("dr_demo01", dwssim.ClusterProd1, dwssim.ClusterDR1)
	for _, name := range []string{"dr_demo01", "DR_Demo01"} {
		res := e.do("GET", path+name, "")
		expectError(t, res, http.StatusConflict, "DWS.5050")
		if _, msg, _ := res.errorCode(); msg != "The DR name already exists." {
			t.Errorf("message %q", msg)
		}
	}
	expectError(t, e.do("GET", "/v2/"+pid+"/disaster-recovery/check-name", ""), 400, "DWS.5065")
	expectError(t, e.do("GET", path+"ab", ""), 400, "DWS.5056")
	expectError(t, e.do("GET", path+"9abc", ""), 400, "DWS.5065")
	if got := e.do("GET", path+"dr_demo02", ""); got.status != 200 {
		t.Errorf("other name: %d %s", got.status, got.body)
	}
	if n := e.sim.Calls(dwssim.RouteCheckName); n != 7 {
		t.Errorf("check-name calls %d, want 7", n)
	}
	if n := e.sim.Calls(dwssim.RouteDetail); n != 0 {
		t.Errorf("check-name was routed to detail %d times", n)
	}
}

// ineligible lists every seeded cluster that breaks a DR rule on its own,
// with the answer a create gets.
var ineligible = []struct {
	name   string
	status int
	code   string
}{
	{dwssim.ClusterDWS3, 400, "DWS.5005"},
	{dwssim.ClusterOldVersion, 400, "DWS.5005"},
	{dwssim.ClusterVersionMismatch, 400, "DWS.5005"},
	{dwssim.ClusterFailed, 403, "DWS.7023"},
	{dwssim.ClusterBusy, 403, "DWS.7023"},
	{dwssim.ClusterOtherVPC, 403, "DWS.7023"},
	{dwssim.ClusterEncrypted, 403, "DWS.7023"},
}

func TestEligibilityOnCreate(t *testing.T) {
	for _, tt := range ineligible {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			bad := e.cluster(tt.name).ID
			asStandby := e.do("POST", "/v2/"+pid+"/disaster-recoveries", createBody("dr_demo01", e.cluster(dwssim.ClusterProd1).ID, bad, "5m"))
			expectError(t, asStandby, tt.status, tt.code)
			// Every ineligible cluster sits in AZ2: its partner is in AZ1,
			// so only the rule it breaks can refuse the pair.
			asPrimary := e.do("POST", "/v2/"+pid+"/disaster-recoveries", createBody("dr_demo01", bad, e.cluster(dwssim.ClusterProd2).ID, "5m"))
			expectError(t, asPrimary, tt.status, tt.code)
			if tt.code == "DWS.5005" {
				if _, msg, _ := asStandby.errorCode(); msg != "Database type or version not supported." {
					t.Errorf("message %q", msg)
				}
			}
		})
	}

	t.Run("already in a DR task", func(t *testing.T) {
		e := newEnv(t)
		e.create("dr_demo01", dwssim.ClusterProd1, dwssim.ClusterDR1)
		res := e.do("POST", "/v2/"+pid+"/disaster-recoveries",
			createBody("dr_demo02", e.cluster(dwssim.ClusterProd2).ID, e.cluster(dwssim.ClusterDR1).ID, "5m"))
		expectError(t, res, 403, "DWS.7023")
		res = e.do("POST", "/v2/"+pid+"/disaster-recoveries",
			createBody("dr_demo03", e.cluster(dwssim.ClusterDR2).ID, e.cluster(dwssim.ClusterProd1).ID, "5m"))
		expectError(t, res, 403, "DWS.7023")
	})

	t.Run("status set by a test", func(t *testing.T) {
		e := newEnv(t)
		e.sim.SetClusterStatus(pid, dwssim.ClusterDR1, "FROZEN")
		res := e.do("POST", "/v2/"+pid+"/disaster-recoveries",
			createBody("dr_demo01", e.cluster(dwssim.ClusterProd1).ID, e.cluster(dwssim.ClusterDR1).ID, "5m"))
		expectError(t, res, 403, "DWS.7023")
		if got := e.cluster(dwssim.ClusterDR1).Status; got != "FROZEN" {
			t.Errorf("status %q", got)
		}
	})

	t.Run("unbalanced standby is allowed", func(t *testing.T) {
		newEnv(t).create("dr_unbalanced", dwssim.ClusterProd1, dwssim.ClusterDR2)
	})
}

// A cross-AZ task is two AZs of one region; a cross-region task is two
// regions. A pair of the wrong shape for its dr_type is refused with 400
// DWS.5065 and creates nothing.
func TestDRTypeMustMatchWhereTheClustersAre(t *testing.T) {
	e := newEnv(t)
	prod1, prod2, dr1 := e.cluster(dwssim.ClusterProd1).ID, e.cluster(dwssim.ClusterProd2).ID, e.cluster(dwssim.ClusterDR1).ID
	remote := e.cluster(dwssim.ClusterRemote).ID
	tests := []struct {
		name, drType, primary, standby, says string
	}{
		{"az, both in one AZ", "az", prod1, prod2, "different availability zones"},
		{"az, standby in another region", "az", prod1, remote, "use dr_type region"},
		{"az, primary in another region", "az", remote, dr1, "use dr_type region"},
		{"region, both in one region", "region", prod1, dr1, "different regions"},
		{"region, both in one AZ", "region", prod1, prod2, "different regions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.do("POST", "/v2/"+pid+"/disaster-recoveries", createBodyOfType(tt.drType, "dr_demo01", tt.primary, tt.standby, "5m"))
			expectError(t, res, 400, "DWS.5065")
			if _, msg, _ := res.errorCode(); !strings.Contains(msg, tt.says) {
				t.Errorf("message %q does not say %q", msg, tt.says)
			}
		})
	}
	if n := len(e.sim.Tasks(pid)); n != 0 {
		t.Errorf("%d tasks after only refused creates", n)
	}

	for _, tt := range []struct{ drType, primary, standby string }{
		{"az", prod1, dr1},
		{"region", prod1, remote},
	} {
		t.Run("valid "+tt.drType, func(t *testing.T) {
			e := newEnv(t)
			res := e.do("POST", "/v2/"+pid+"/disaster-recoveries", createBodyOfType(tt.drType, "dr_demo01", tt.primary, tt.standby, "5m"))
			if res.status != 200 {
				t.Fatalf("%d %s", res.status, res.body)
			}
			if tasks := e.sim.Tasks(pid); len(tasks) != 1 || tasks[0].DRType != tt.drType {
				t.Errorf("tasks %+v", tasks)
			}
		})
	}
}
