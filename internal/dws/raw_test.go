package dws_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"drportal/internal/dws"
	"drportal/internal/dwsfixture"
	"drportal/internal/portal"
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
	example := bytes.Clone(dwsfixture.DetailExample)
	example = withFieldTheSDKLacks(t, example)
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

// withFieldTheSDKLacks adds to the detail example a field the SDK model does
// not have, with a null in it, after the example's last field.
func withFieldTheSDKLacks(t *testing.T, example []byte) []byte {
	t.Helper()
	const last = `"create_time" : "2023-04-28T08:51:54"`
	if bytes.Count(example, []byte(last)) != 1 {
		t.Fatalf("the example no longer ends with %s", last)
	}
	return bytes.Replace(example, []byte(last), []byte(last+",\n    \"field_the_sdk_lacks\" : {\n      \"note\" : null\n    }"), 1)
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

// TestTheCreatePagesExampleAnswerIsRead: the create page's example answer,
// byte for byte, gives the task id it carries.
func TestTheCreatePagesExampleAnswerIsRead(t *testing.T) {
	example := bytes.Clone(dwsfixture.CreateExample)
	cl := answering(t, example, 0)
	id, err := cl.Create(context.Background(), portal.CreateSpec{Name: "test_dr4", DRType: "az",
		PrimaryClusterID: "3ef5daaa-d017-4354-80b3-8a69caf2e09a", StandbyClusterID: "e7fed7fe-f4a7-499a-afed-1fdb5c1978cb", SyncPeriod: "5m"})
	if err != nil || id != "e59d6b86-9072-46eb-a996-13f8b44994c1" {
		t.Errorf("create answered with the page's example: id %q, %v", id, err)
	}
}

// TestTheDetailPagesExampleMeansWhatThePageSays: the detail page's example,
// byte for byte, reads as a cross-region task with a region per side, the
// standby's AZ and the OBS buckets unset, and its times as printed.
func TestTheDetailPagesExampleMeansWhatThePageSays(t *testing.T) {
	example := bytes.Clone(dwsfixture.DetailExample)
	task, err := answering(t, example, 0).Get(context.Background(), "b303b78d-438c-41dd-aaf6-c98eea1fc2a6")
	if err != nil {
		t.Fatal(err)
	}
	want := portal.Task{ID: "b303b78d-438c-41dd-aaf6-c98eea1fc2a6", Name: "dws-it-02", Status: portal.TaskRunning, DRType: "region",
		SyncPeriod: "3H", StartTime: "2023-04-28T09:23:38", CreateTime: "2023-04-28T08:51:54",
		Primary: portal.TaskSide{ID: "3de21046-e65e-4fcf-86bf-583115b39c27", Name: "dws-203-primary", AZ: "cn-north-7c", Role: "primary",
			Region: "cn-north-7", Status: "waiting", Progress: "100", LastSuccessTime: "2023-04-29T06:39:56"},
		Standby: portal.TaskSide{ID: "5d946c51-9ffa-49e3-9129-2bea4d23d3fd", Name: "dws-205-standby", Role: "standby",
			Region: "cn-north-208", Status: "waiting", Progress: "100", LastSuccessTime: "2023-04-29T06:39:56"}}
	if task.ID != want.ID || task.Name != want.Name || task.Status != want.Status || task.DRType != want.DRType ||
		task.SyncPeriod != want.SyncPeriod || task.StartTime != want.StartTime || task.CreateTime != want.CreateTime {
		t.Errorf("task %+v", task)
	}
	if task.Primary != want.Primary || task.Standby != want.Standby {
		t.Errorf("sides:\n got %+v\n     %+v\nwant %+v\n     %+v", task.Primary, task.Standby, want.Primary, want.Standby)
	}
}
