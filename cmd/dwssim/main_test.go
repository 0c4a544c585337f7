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
