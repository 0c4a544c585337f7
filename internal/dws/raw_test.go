package dws_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"drportal/internal/dws"
)

// answering is a DWS endpoint that answers every call with body, after
// answering the first `failFirst` calls with a 503.
func answering(t *testing.T, body []byte, failFirst int32) *dws.Client {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		if calls.Add(1) <= failFirst {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"error_code":"DWS.0001","error_msg":"busy","extra":null}`)
			return
		}
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	cl, err := dws.New(dws.Config{Endpoint: srv.URL, ProjectID: testProject, AK: testAK, SK: testSK,
		BaseBackoff: time.Millisecond, AttemptTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func TestTheDetailKeepsTheAnswerExactlyAsSent(t *testing.T) {
	// The API page's example, as printed (its nulls, its key order, its
	// spacing), with one field the SDK model does not have.
	example, err := os.ReadFile("testdata/dr-detail-example.json")
	if err != nil {
		t.Fatal(err)
	}
	cl := answering(t, example, 1) // the retried attempt's error body is not kept
	task, err := cl.Get(context.Background(), "b303b78d-438c-41dd-aaf6-c98eea1fc2a6")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(task.Raw, example) {
		t.Errorf("raw detail is not the answer as sent:\n got %s\nwant %s", task.Raw, example)
	}
	if task.Name != "dws-it-02" || task.Standby.AZ != "" || task.Primary.AZ != "cn-north-7c" {
		t.Errorf("parsed task: %+v", task)
	}
}

func TestAnOversizedDetailIsKeptTruncatedAndSaysSo(t *testing.T) {
	// A valid answer far over the bound, whose cut falls inside a
	// three-byte character.
	body := []byte(`{"disaster_recovery":{"id":"b303b78d-438c-41dd-aaf6-c98eea1fc2a6","name":"dws-it-02","note":"a` +
		strings.Repeat("容", dws.MaxRaw) + `"}}`)
	cl := answering(t, body, 0)
	task, err := cl.Get(context.Background(), "b303b78d-438c-41dd-aaf6-c98eea1fc2a6")
	if err != nil {
		t.Fatal(err)
	}
	marker := fmt.Sprintf("[truncated by the portal: the answer had %d bytes;", len(body))
	i := bytes.Index(task.Raw, []byte("\n[truncated"))
	if i < dws.MaxRaw-3 || i > dws.MaxRaw || !bytes.Equal(task.Raw[:i], body[:i]) ||
		!bytes.Contains(task.Raw[i:], []byte(marker)) || !utf8.Valid(task.Raw) || len(task.Raw) > dws.MaxRaw+200 {
		t.Errorf("kept %d bytes, marker at %d: ...%q", len(task.Raw), i, task.Raw[max(0, i-10):])
	}
	if task.Name != "dws-it-02" {
		t.Errorf("parsed name %q", task.Name)
	}
}
