package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"drportal/internal/testdb"
)

// startPortal runs the whole program on env until the test ends, and
// returns its address and its output once it listens.
func startPortal(t *testing.T, env map[string]string) (string, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, []string{"web"}, func(k string) string { return env[k] }, out) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("run did not stop")
		}
	})
	base := waitFor(t, out, regexp.MustCompile(`listening on (http://\S+)`), errc)[1]
	return base, out
}

// simStats is what the simulator's own GET /_sim/stats reports.
type simStats struct {
	TotalCalls int               `json:"total_calls"`
	Faults     []json.RawMessage `json:"faults"`
	FailNext   map[string]int    `json:"fail_next"`
}

func readSimStats(t *testing.T, hc *http.Client, sim string) simStats {
	t.Helper()
	res, err := hc.Get(sim + "/_sim/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var s simStats
	if err := json.NewDecoder(res.Body).Decode(&s); err != nil || res.StatusCode != 200 {
		t.Fatalf("simulator stats: %d %v", res.StatusCode, err)
	}
	return s
}

// TestTheEmbeddedSimulatorsControlsAreNotReachableThroughThePortal: the
// simulator started when no cloud credentials are configured listens on
// loopback only, and its unsigned /_sim/ controls (reset, faults,
// fail-next, cluster faults) are not served by the portal's own listener:
// the portal answers 404 and the simulator's state does not change. The
// same requests sent to the simulator itself do change it, so the test
// would see them if the portal passed them on.
func TestTheEmbeddedSimulatorsControlsAreNotReachableThroughThePortal(t *testing.T) {
	_, out := startPortal(t, map[string]string{"DATABASE_URL": testdb.NewURL(t), "HTTP_ADDR": "127.0.0.1:0",
		"LOG_LEVEL": "warn", "SIM_SPEED": "100"})
	portal := regexp.MustCompile(`listening on (http://\S+)`).FindStringSubmatch(out.String())[1]
	m := regexp.MustCompile(`built-in DWS simulator at (http://\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("the output does not name the simulator's address:\n%s", out)
	}
	sim := m[1]
	su, err := url.Parse(sim)
	if err != nil {
		t.Fatal(err)
	}
	if ip := net.ParseIP(su.Hostname()); ip == nil || !ip.IsLoopback() {
		t.Errorf("the simulator listens on %s, not on a loopback address", su.Host)
	}
	if pu, _ := url.Parse(portal); pu.Host == su.Host {
		t.Fatalf("the portal and the simulator share %s", pu.Host)
	}

	hc := &http.Client{Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	before := readSimStats(t, hc, sim)
	if len(before.Faults) != 0 || len(before.FailNext) != 0 {
		t.Fatalf("the simulator starts with faults: %+v", before)
	}

	controls := []struct{ method, path, body string }{
		{"GET", "/_sim/stats", ""},
		{"GET", "/_sim/tasks?project_id=x", ""},
		{"POST", "/_sim/faults", `{"route":"","status":503}`},
		{"POST", "/_sim/fail-next", `{"operation":"create","n":3}`},
		{"POST", "/_sim/cluster-fault", `{"project_id":"x","name":"dws-prod-01","faulty":true}`},
		{"POST", "/_sim/cluster-status", `{"project_id":"x","name":"dws-dr-01","status":"FROZEN"}`},
		{"POST", "/_sim/reset", ""},
		{"DELETE", "/_sim/faults", ""},
		{"GET", "/_sim/", ""},
	}
	for _, c := range controls {
		// Sec-Fetch-Site as a browser on the portal's own pages sends it,
		// so the CSRF check lets the request through to the router.
		for _, site := range []string{"", "same-origin"} {
			req, _ := http.NewRequest(c.method, portal+c.path, strings.NewReader(c.body))
			req.Header.Set("Content-Type", "application/json")
			if site != "" {
				req.Header.Set("Sec-Fetch-Site", site)
			}
			res, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusNotFound && (site != "" || res.StatusCode/100 != 4) {
				t.Errorf("%s %s (Sec-Fetch-Site %q) through the portal: %d, want 404\n%.300s", c.method, c.path, site, res.StatusCode, body)
			}
			if strings.Contains(string(body), `"ok"`) || strings.Contains(string(body), "total_calls") {
				t.Errorf("%s %s through the portal answered like the simulator: %.300s", c.method, c.path, body)
			}
		}
	}

	after := readSimStats(t, hc, sim)
	if len(after.Faults) != 0 || len(after.FailNext) != 0 || after.TotalCalls < before.TotalCalls {
		t.Errorf("the simulator changed: before %+v, after %+v", before, after)
	}

	// The same control sent to the simulator itself takes effect: the
	// checks above would have seen it.
	res, err := hc.Post(sim+"/_sim/fail-next", "application/json", strings.NewReader(`{"operation":"create","n":3}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if direct := readSimStats(t, hc, sim); direct.FailNext["create"] != 3 {
		t.Errorf("fail-next sent to the simulator itself: %+v", direct)
	}
}
