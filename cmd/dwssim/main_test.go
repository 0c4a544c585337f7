package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"drportal/internal/aksk"
	"drportal/internal/dwssim"
)

// run starts on port 0, reports its address, answers one signed request and
// stops when its context is cancelled.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	env := map[string]string{"DWSSIM_AK": "ENVAK", "DWSSIM_SK": "env-secret"}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-project", "p123", "-speed", "5"},
			func(k string) string { return env[k] }, pw)
		pw.Close()
	}()

	out := bufio.NewReader(pr)
	first, err := out.ReadString('\n')
	if err != nil {
		t.Fatalf("first line: %v", err)
	}
	rest := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(out)
		rest <- string(b)
	}()
	m := regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+) project=p123 ak=ENVAK speed=5\n$`).FindStringSubmatch(first)
	if m == nil {
		t.Fatalf("first line %q", first)
	}
	if strings.Contains(first, "env-secret") {
		t.Fatal("the SK was printed")
	}
	base := m[1]

	r, err := http.NewRequest("GET", base+"/v1.0/p123/clusters", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("X-Project-Id", "p123")
	if err := aksk.Sign(r, nil, "ENVAK", "env-secret", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Count int `json:"count"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 || body.Count != 11 {
		t.Fatalf("status %d, count %d, err %v", resp.StatusCode, body.Count, err)
	}
	if rid := resp.Header.Get("X-Request-Id"); len(rid) != 32 {
		t.Errorf("X-Request-Id %q", rid)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	if r := <-rest; !strings.Contains(r, "dwssim stopped") || strings.Contains(r, "env-secret") {
		t.Errorf("output after start: %q", r)
	}
}

func TestHelpHidesTheSK(t *testing.T) {
	var out strings.Builder
	getenv := func(k string) string { return map[string]string{"DWSSIM_SK": "env-secret"}[k] }
	if err := run(context.Background(), []string{"-h"}, getenv, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "-rate-limit") || strings.Contains(out.String(), "env-secret") {
		t.Errorf("help %q", out.String())
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	getenv := func(string) string { return "" }
	for _, args := range [][]string{{"-speed", "-1"}, {"-rate-limit", "-5"}, {"-nope"}, {"extra"}, {"-addr", "256.0.0.1:99999"}} {
		if err := run(context.Background(), args, getenv, io.Discard); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}

func TestHelpListsTheControlEndpoints(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), []string{"-h"}, func(string) string { return "" }, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"-durations", "-sync-scale", "-acceptance-lag", "/_sim/cluster-fault", "/_sim/fail-next",
		"switchover failover recovery delete progress"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

func TestTimingFlags(t *testing.T) {
	var d dwssim.Durations
	if err := parseDurations("starting=10s, switchover=1m,deleting=1ms", &d); err != nil {
		t.Fatal(err)
	}
	if d != (dwssim.Durations{Starting: 10 * time.Second, Switchover: time.Minute, Deleting: time.Millisecond}) {
		t.Errorf("durations %+v", d)
	}
	for _, bad := range []string{"starting", "starting=soon", "starting=-1s", "starting=0s", "rebooting=1s", ""} {
		if err := parseDurations(bad, &d); err == nil {
			t.Errorf("parseDurations(%q) accepted", bad)
		}
	}
	for in, want := range map[string]float64{"1/60": 1.0 / 60, "0.5": 0.5, "2": 2, "1/0.5": 2} {
		if got, err := parseRatio(in); err != nil || got != want {
			t.Errorf("parseRatio(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "0", "-1", "1/0", "a/b", "1/-2", "x"} {
		if _, err := parseRatio(bad); err == nil {
			t.Errorf("parseRatio(%q) accepted", bad)
		}
	}
	getenv := func(string) string { return "" }
	for _, args := range [][]string{{"-durations", "nope=1s"}, {"-sync-scale", "0"}, {"-acceptance-lag", "-1s"}} {
		if err := run(context.Background(), args, getenv, io.Discard); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}

// The timing flags reach the simulator: with creating=1ns a new task is
// unstart by the next request, and a one-hour acceptance lag keeps it
// there after a start. Neither depends on how fast the test runs.
func TestTimingFlagsReachTheSimulator(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-project", "p123", "-ak", "AK1", "-sk", "sk1",
			"-durations", "creating=1ns", "-acceptance-lag", "1h", "-sync-scale", "1/60"}, func(string) string { return "" }, pw)
		pw.Close()
	}()
	out := bufio.NewReader(pr)
	first, err := out.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	m := regexp.MustCompile(`listening on (http://\S+) `).FindStringSubmatch(first)
	if m == nil {
		t.Fatalf("first line %q", first)
	}
	base := m[1]
	call := func(method, path, body string) (int, []byte) {
		t.Helper()
		r, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Content-Type", "application/json")
		if !strings.HasPrefix(path, "/_sim/") {
			if err := aksk.Sign(r, []byte(body), "AK1", "sk1", time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}

	body := `{"disaster_recovery":{"name":"dr_flags","dr_type":"az","primary_cluster_id":"` + dwssim.ClusterID("p123", dwssim.ClusterProd1) +
		`","standby_cluster_id":"` + dwssim.ClusterID("p123", dwssim.ClusterDR1) + `","dr_sync_period":"5m"}}`
	status, b := call("POST", "/v2/p123/disaster-recoveries", body)
	var created struct {
		DR struct{ ID string } `json:"disaster_recovery"`
	}
	if err := json.Unmarshal(b, &created); status != 200 || err != nil {
		t.Fatalf("create: %d %s", status, b)
	}
	taskStatus := func() (string, string) {
		_, b := call("GET", "/_sim/tasks?project_id=p123", "")
		var tasks struct{ Tasks []dwssim.TaskSnapshot }
		if err := json.Unmarshal(b, &tasks); err != nil || len(tasks.Tasks) != 1 {
			t.Fatalf("tasks %s", b)
		}
		return tasks.Tasks[0].Status, tasks.Tasks[0].Operation
	}
	if s, _ := taskStatus(); s != "unstart" {
		t.Fatalf("status %q: -durations creating=1ns not applied", s)
	}
	if status, b := call("POST", "/v2/p123/disaster-recovery/"+created.DR.ID+"/start", ""); status != 200 {
		t.Fatalf("start: %d %s", status, b)
	}
	if s, op := taskStatus(); s != "unstart" || op != "start" {
		t.Errorf("status %q, operation %q: -acceptance-lag not applied", s, op)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
