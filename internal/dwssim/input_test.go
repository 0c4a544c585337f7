package dwssim_test

import (
	"net/http"
	"strings"
	"testing"

	"drportal/internal/dwssim"
)

// withContentType sets (or, for "", removes) the Content-Type of a request.
func withContentType(ct string) requestOpt {
	return requestOpt{before: func(r *http.Request) {
		if ct == "" {
			r.Header.Del("Content-Type")
		} else {
			r.Header.Set("Content-Type", ct)
		}
	}}
}

// A create or update body must be declared as JSON, as the SDK does
// (application/json;charset=UTF-8). Anything else is refused with 400
// DWS.5065 and changes nothing.
func TestCreateAndUpdateRefuseABodyNotSentAsJSON(t *testing.T) {
	e := newEnv(t)
	p1, d1 := e.cluster(dwssim.ClusterProd1).ID, e.cluster(dwssim.ClusterDR1).ID
	refused := []string{"", "text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded", "application/jsonx", "json"}
	for _, ct := range refused {
		t.Run("create "+ct, func(t *testing.T) {
			res := e.do("POST", "/v2/"+pid+"/disaster-recoveries", createBody("dr_demo01", p1, d1, "5m"), withContentType(ct))
			expectError(t, res, 400, "DWS.5065")
			if _, msg, _ := res.errorCode(); !strings.Contains(msg, "Content-Type application/json") {
				t.Errorf("message %q", msg)
			}
		})
	}
	if n := len(e.sim.Tasks(pid)); n != 0 {
		t.Fatalf("%d tasks after only refused creates", n)
	}
	for i, ct := range []string{"application/json;charset=UTF-8", "application/json", "Application/JSON; charset=utf-8"} {
		t.Run("create accepts "+ct, func(t *testing.T) {
			e := newEnv(t)
			res := e.do("POST", "/v2/"+pid+"/disaster-recoveries", createBody("dr_demo0"+string(rune('1'+i)), p1, d1, "5m"), withContentType(ct))
			if res.status != 200 {
				t.Fatalf("%d %s", res.status, res.body)
			}
		})
	}

	id := e.drive("unstart")
	for _, ct := range refused {
		t.Run("update "+ct, func(t *testing.T) {
			res := e.do("PUT", taskPath(id), `{"disaster_recovery":{"dr_sync_period":"10m"}}`+"\n", withContentType(ct))
			expectError(t, res, 400, "DWS.5065")
		})
	}
	if p := e.snap(id).SyncPeriod; p != "5m" {
		t.Fatalf("a refused update changed the period to %q", p)
	}
	if res := e.do("PUT", taskPath(id), `{"disaster_recovery":{"dr_sync_period":"10m"}}`, withContentType("application/json")); res.status != 200 {
		t.Fatalf("update as application/json: %d %s", res.status, res.body)
	}
	if p := e.snap(id).SyncPeriod; p != "10m" {
		t.Errorf("period %q after the update", p)
	}
	// An update without a body has nothing to declare.
	if res := e.do("PUT", taskPath(id), "", withContentType("")); res.status != 200 {
		t.Errorf("empty update without Content-Type: %d %s", res.status, res.body)
	}
}

// The OBS bucket fields follow OBS naming: 3 to 63 characters (DWS.5056),
// lowercase letters, digits, - and ., starting and ending with a letter or
// digit, no two dots in a row (DWS.5065).
func TestOBSBucketNamesFollowTheOBSRule(t *testing.T) {
	e := newEnv(t)
	p1, d1 := e.cluster(dwssim.ClusterProd1).ID, e.cluster(dwssim.ClusterDR1).ID
	body := func(field, bucket string) string {
		return `{"disaster_recovery":{"name":"dr_demo01","dr_type":"az","primary_cluster_id":"` + p1 +
			`","standby_cluster_id":"` + d1 + `","dr_sync_period":"5m","` + field + `":"` + bucket + `"}}`
	}
	bad := []struct {
		bucket string
		code   string
	}{
		{"ab", "DWS.5056"},
		{strings.Repeat("a", 64), "DWS.5056"},
		{"Bad_Bucket", "DWS.5065"},
		{"obs-Prod", "DWS.5065"},
		{"obs_prod", "DWS.5065"},
		{"-obs", "DWS.5065"},
		{"obs-", "DWS.5065"},
		{".obs", "DWS.5065"},
		{"obs..prod", "DWS.5065"},
		{"obs prod", "DWS.5065"},
		{"obs/prod", "DWS.5065"},
	}
	for _, field := range []string{"primary_obs_bucket", "standby_obs_bucket"} {
		for _, b := range bad {
			t.Run(field+" "+b.bucket, func(t *testing.T) {
				res := e.do("POST", "/v2/"+pid+"/disaster-recoveries", body(field, b.bucket))
				expectError(t, res, 400, b.code)
				if _, msg, _ := res.errorCode(); !strings.Contains(msg, field) {
					t.Errorf("message %q does not name %s", msg, field)
				}
			})
		}
	}
	if n := len(e.sim.Tasks(pid)); n != 0 {
		t.Fatalf("%d tasks after only refused creates", n)
	}

	for _, bucket := range []string{"abc", "obs-prod.01", "9" + strings.Repeat("a", 61) + "9"} {
		t.Run("valid "+bucket, func(t *testing.T) {
			e := newEnv(t)
			res := e.do("POST", "/v2/"+pid+"/disaster-recoveries", body("standby_obs_bucket", bucket))
			if res.status != 200 {
				t.Fatalf("%d %s", res.status, res.body)
			}
			id := decodeObject(t, res.body)["disaster_recovery"].(map[string]any)["id"].(string)
			if got := e.detail(id)["standby_cluster"].(map[string]any)["obs_bucket_name"]; got != bucket {
				t.Errorf("obs_bucket_name %v", got)
			}
		})
	}
}

// DR task IDs match in either case, like cluster IDs: an upper-cased ID
// finds the task on every per-task route and in the list's id filter, and
// the answers carry the ID as created.
func TestTaskIDsMatchInEitherCase(t *testing.T) {
	e := newEnv(t)
	id := e.drive("unstart")
	upper := strings.ToUpper(id)
	if upper == id {
		t.Fatalf("id %s has no letters", id)
	}
	if got := e.detail(upper)["id"]; got != id {
		t.Errorf("detail id %v, want %s", got, id)
	}
	if items := e.list("?id=" + upper); len(items) != 1 || items[0]["id"] != id {
		t.Errorf("list by upper-case id %v", items)
	}
	if res := e.act("progress", upper); res.status != 200 {
		t.Errorf("progress: %d %s", res.status, res.body)
	}
	want := `{"disaster_recovery":{"id":"` + id + `"}}`
	if res := e.act("update", upper); res.status != 200 || string(res.body) != want {
		t.Errorf("update: %d %s", res.status, res.body)
	}
	if res := e.act("start", upper); res.status != 200 || string(res.body) != want {
		t.Errorf("start: %d %s", res.status, res.body)
	}
	if s := e.snap(id); s.SyncPeriod != "10m" || s.Operation != "start" {
		t.Errorf("after update and start by upper-case id: %+v", s)
	}
}
