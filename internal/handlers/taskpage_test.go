package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"drportal/internal/dws"
	"drportal/internal/dwsfixture"
	"drportal/internal/portal"
)

func TestTheTaskPageShowsTheDetailAnswerAsTheAPISentIt(t *testing.T) {
	e := newEnv(t)
	// The API page's example with its nulls and key order, and a field the
	// SDK model lacks, read through the real client.
	example := bytes.Clone(dwsfixture.DetailExample)
	const last = `"create_time" : "2023-04-28T08:51:54"`
	example = bytes.Replace(example, []byte(last), []byte(last+",\n    \"field_the_sdk_lacks\" : {\n      \"note\" : null\n    }"), 1)
	if !bytes.Contains(example, []byte("field_the_sdk_lacks")) {
		t.Fatal("the example no longer ends with create_time")
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
	got := page.doc.Find(`[data-testid=raw-detail]`).Text()
	if page.status != http.StatusOK || got != string(example) {
		t.Errorf("shown raw detail (%d):\n%q\nwant, as received:\n%q", page.status, got, example)
	}
	for _, s := range []string{`"cluster_az" : null`, `"obs_bucket_name" : null`, `"note" : null`} {
		if !strings.Contains(got, s) {
			t.Errorf("shown raw detail lacks %s", s)
		}
	}
	// Already on several lines: nothing to indent.
	if page.doc.Find(`[data-testid=formatted-detail]`).Length() != 0 {
		t.Error("an answer on several lines is shown indented too")
	}
	if note := page.text(`[data-testid=zone-note]`); !strings.Contains(note, "without a zone") || !strings.Contains(note, "UTC (DWS_TIME_ZONE)") {
		t.Errorf("zone note %q", note)
	}

	// An answer on one line is shown as received and, below, indented.
	var compact bytes.Buffer
	if err := json.Compact(&compact, example); err != nil {
		t.Fatal(err)
	}
	task.Raw = compact.Bytes()
	if err := e.store.UpsertTaskDetail(ctx, task, time.Now()); err != nil {
		t.Fatal(err)
	}
	page = e.signedIn("req@example.com").get("/dr-tasks/" + id)
	var indented bytes.Buffer
	_ = json.Indent(&indented, compact.Bytes(), "", "  ")
	if got := page.doc.Find(`[data-testid=raw-detail]`).Text(); got != compact.String() {
		t.Errorf("compact answer shown as %q", got)
	}
	if got := page.doc.Find(`[data-testid=formatted-detail]`).Text(); got != indented.String() || !strings.Contains(got, `"note": null`) {
		t.Errorf("formatted view %q, want %q", got, indented.String())
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

// showTask stores task as the cloud's last detail and opens its page.
func (e *env) showTask(task portal.Task) response {
	e.t.Helper()
	if err := e.store.UpsertTaskDetail(context.Background(), task, time.Now()); err != nil {
		e.t.Fatal(err)
	}
	return e.signedIn("req@example.com").get("/dr-tasks/" + task.ID)
}

func exampleTask() portal.Task {
	return portal.Task{ID: "b303b78d-438c-41dd-aaf6-c98eea1fc2a6", Name: "dws-it-02", Status: portal.TaskRunning,
		Raw:     []byte(`{}`),
		Primary: portal.TaskSide{ID: "3de21046-e65e-4fcf-86bf-583115b39c27", Name: "dws-203-primary", Progress: "100"},
		Standby: portal.TaskSide{ID: "5d946c51-9ffa-49e3-9129-2bea4d23d3fd", Name: "dws-205-standby", Progress: "100"}}
}

func TestProgressIsShownWhateverItsForm(t *testing.T) {
	e := newEnv(t)
	task := exampleTask()
	task.Primary.Progress, task.Standby.Progress = "99.5", "40"
	page := e.showTask(task)
	primary, standby := page.doc.Find(`[data-testid=cluster-primary]`), page.doc.Find(`[data-testid=cluster-standby]`)
	if got := strings.TrimSpace(primary.Find(`[data-testid=progress-text]`).Text()); got != "99.5" ||
		primary.Find(`[data-testid=progress]`).Length() != 0 {
		t.Errorf("non-integer progress: text %q, bars %d", got, primary.Find(`[data-testid=progress]`).Length())
	}
	if v, _ := standby.Find(`[data-testid=progress]`).Attr("value"); v != "40" ||
		standby.Find(`[data-testid=progress-text]`).Length() != 0 {
		t.Errorf("integer progress: bar %q", v)
	}

	// Neither a word nor an out-of-range number gets a bar or vanishes.
	task.Primary.Progress, task.Standby.Progress = "N/A", "150"
	page = e.showTask(task)
	if got := page.text(`[data-testid=cluster-primary] [data-testid=progress-text]`); got != "N/A" {
		t.Errorf("progress N/A shown as %q", got)
	}
	if got := page.text(`[data-testid=cluster-standby] [data-testid=progress-text]`); got != "150" ||
		page.doc.Find(`[data-testid=progress]`).Length() != 0 {
		t.Errorf("progress 150 shown as %q with %d bars", got, page.doc.Find(`[data-testid=progress]`).Length())
	}
}

func TestDiskUsedIsShownAsAUsagePercentage(t *testing.T) {
	e := newEnv(t)
	task := exampleTask()
	task.Primary.DiskCapacity, task.Primary.DiskUsed = "1200", "3.25"
	page := e.showTask(task)
	labels := map[string]string{}
	page.doc.Find(`[data-testid=cluster-primary] dt`).Each(func(_ int, dt *goquery.Selection) {
		labels[strings.TrimSpace(dt.Text())] = strings.TrimSpace(dt.Next().Text())
	})
	if labels["Disk usage"] != "3.25%" || labels["Disk used"] != "" || labels["Disk capacity"] != "1200" {
		t.Errorf("disk fields: %q", labels)
	}
}
