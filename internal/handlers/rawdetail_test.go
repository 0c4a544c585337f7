package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"drportal/internal/dws"
	"drportal/internal/portal"
)

func TestTheTaskPageShowsTheDetailAnswerAsTheAPISentIt(t *testing.T) {
	e := newEnv(t)
	// The API page's example with its nulls and key order, and a field the
	// SDK model lacks, read through the real client.
	example, err := os.ReadFile("../dws/testdata/dr-detail-example.json")
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		w.Write(example)
	}))
	defer api.Close()
	cl, err := dws.New(dws.Config{Endpoint: api.URL, ProjectID: simProject, AK: simAK, SK: simSK})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const id = "b303b78d-438c-41dd-aaf6-c98eea1fc2a6"
	task, err := cl.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.UpsertTaskDetail(ctx, task, time.Now()); err != nil {
		t.Fatal(err)
	}
	row, err := e.store.Task(ctx, id)
	if err != nil || !bytes.Equal(row.DetailRaw, example) {
		t.Fatalf("stored raw detail (%v):\n%s", err, row.DetailRaw)
	}

	page := e.signedIn("req@example.com").get("/dr-tasks/" + id)
	var want bytes.Buffer
	if err := json.Indent(&want, example, "", "  "); err != nil {
		t.Fatal(err)
	}
	got := page.text(`[data-testid=raw-detail]`)
	if page.status != http.StatusOK || got != strings.TrimSpace(want.String()) {
		t.Errorf("shown raw detail (%d):\n%s\nwant\n%s", page.status, got, want.String())
	}
	for _, s := range []string{`"cluster_az": null`, `"obs_bucket_name": null`, `"note": null`} {
		if !strings.Contains(got, s) {
			t.Errorf("shown raw detail lacks %s", s)
		}
	}
}

func TestATruncatedDetailAnswerIsShownAsTextWithItsMarker(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const id = "b303b78d-438c-41dd-aaf6-c98eea1fc2a6"
	big := []byte(`{"disaster_recovery":{"id":"` + id + `","note":"` + strings.Repeat("x", dws.MaxRaw) + `"}}`)
	task := portal.Task{ID: id, Name: "dws-it-02", Status: portal.TaskRunning, Raw: dws.KeepRaw(big)}
	if err := e.store.UpsertTaskDetail(ctx, task, time.Now()); err != nil {
		t.Fatal(err)
	}
	got := e.signedIn("req@example.com").get("/dr-tasks/" + id).text(`[data-testid=raw-detail]`)
	if !strings.HasPrefix(got, `{"disaster_recovery":{"id":"`+id) || !strings.Contains(got, "[truncated by the portal") {
		t.Errorf("shown truncated detail: %.80q ... %q", got, got[max(0, len(got)-120):])
	}
}
