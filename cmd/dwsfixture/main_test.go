package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestItServesTheFixtureServerAndSaysHowToUseIt: the first line names the
// address, the second the portal's settings; an unsigned call is refused
// as the gateway refuses it.
func TestItServesTheFixtureServerAndSaysHowToUseIt(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, []string{"-addr", "127.0.0.1:0"}, func(string) string { return "" }, pw) }()
	lines := bufio.NewScanner(pr)
	lines.Scan()
	first := lines.Text()
	lines.Scan()
	second := lines.Text()
	go io.Copy(io.Discard, pr)
	base := strings.TrimPrefix(first, "DWS fixture server on ")
	if !strings.HasPrefix(base, "http://127.0.0.1:") || !strings.Contains(second, "DWS_ENDPOINT="+base+" ") {
		t.Fatalf("output:\n%s\n%s", first, second)
	}
	res, err := http.Get(base + "/v2/" + demoProject + "/disaster-recoveries")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), "APIG.0301") {
		t.Errorf("unsigned call: %d %s", res.StatusCode, body)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("run: %v", err)
	}
}

func TestAnIncompleteKeySetIsRefused(t *testing.T) {
	env := map[string]string{"DWSFIXTURE_AK": "AK"}
	err := run(context.Background(), []string{"-addr", "127.0.0.1:0"}, func(k string) string { return env[k] }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "DWSFIXTURE_SK") {
		t.Errorf("run: %v", err)
	}
}
