package drtask_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"drportal/internal/audit"
	"drportal/internal/db"
	"drportal/internal/drtask"
	"drportal/internal/dws"
	"drportal/internal/testdb"
)

const (
	hAK   = "ODDAK0000000000000"
	hSK   = "oddsk"
	hProj = "0123456789abcdef0123456789abcdef"
	hA    = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
	hB    = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
)

// oddCloud answers list and detail calls as the test says.
type oddCloud struct {
	mu     sync.Mutex
	list   string            // body of a list answer
	detail map[string]string // per id: body of a detail answer (status 200)
	status map[string]int    // per id: HTTP status of the detail answer (default 200)
	header map[string]string // per id: X-Request-Id of the detail answer
}

func (h *oddCloud) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case strings.HasSuffix(r.URL.Path, "/disaster-recoveries"):
		w.Write([]byte(h.list))
	case strings.Contains(r.URL.Path, "/show-progress"):
		w.Write([]byte(`{"disaster_recovery_progress":{}}`))
	case strings.Contains(r.URL.Path, "/disaster-recovery/"):
		id := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		if v := h.header[id]; v != "" {
			w.Header().Set("X-Request-Id", v)
		}
		if st := h.status[id]; st != 0 {
			w.WriteHeader(st)
		}
		w.Write([]byte(h.detail[id]))
	default:
		w.WriteHeader(404)
	}
}

func (h *oddCloud) set(f func(h *oddCloud)) { h.mu.Lock(); f(h); h.mu.Unlock() }

func item(id, name, status string) string {
	return `{"id":"` + id + `","name":"` + name + `","status":"` + status + `","primary_cluster_id":"11111111-1111-4111-8111-111111111111","standby_cluster_id":"22222222-2222-4222-8222-222222222222"}`
}

func detail(id, name, status string) string {
	return `{"disaster_recovery":{"id":"` + id + `","name":"` + name + `","status":"` + status + `","primary_cluster":{"id":"11111111-1111-4111-8111-111111111111","name":"p"},"standby_cluster":{"id":"22222222-2222-4222-8222-222222222222","name":"s"}}}`
}

func oddWorld(t *testing.T) (*oddCloud, *drtask.Service, *db.Store) {
	t.Helper()
	h := &oddCloud{detail: map[string]string{}, status: map[string]int{}, header: map[string]string{},
		list: `{"disaster_recovery":[` + item(hA, "dr_a", "stopped") + `,` + item(hB, "dr_b", "running") + `]}`}
	h.detail[hA] = detail(hA, "dr_a", "stopped")
	h.detail[hB] = detail(hB, "dr_b", "running")
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	store := db.New(testdb.New(t))
	client, err := dws.New(dws.Config{Endpoint: srv.URL, ProjectID: hProj, AK: hAK, SK: hSK, MaxAttempts: 1,
		Recorder: &audit.CloudRecorder{Store: store}})
	if err != nil {
		t.Fatal(err)
	}
	svc := &drtask.Service{Cloud: client, Store: store, Now: time.Now}
	if err := svc.SyncList(context.Background()); err != nil {
		t.Fatal(err)
	}
	return h, svc, store
}

func row(t *testing.T, store *db.Store, id string) db.TaskRow {
	t.Helper()
	r, err := store.Task(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// the detail of task A answered with task B's id overwrites B's row.
func TestADetailAnswerForAnotherTaskChangesNoTask(t *testing.T) {
	h, svc, store := oddWorld(t)
	ctx := context.Background()
	h.set(func(h *oddCloud) { h.detail[hA] = detail(hB, "hijacked", "deleting") })
	if err := svc.Refresh(ctx, row(t, store, hA)); err != nil {
		t.Logf("refresh: %v", err)
	}
	b := row(t, store, hB)
	if b.Name == "hijacked" || b.Status == "deleting" {
		t.Errorf("reading task A rewrote task B's row: name %q status %q", b.Name, b.Status)
	}
	state, err := svc.LiveState(ctx, hA)
	if err == nil && state.Task.ID != hA {
		t.Errorf("LiveState(A) judged operations on a task with id %s", state.Task.ID)
	}
}

// a list answered 200 without the list (an error body) marks every task gone.
func TestAListAnswerWithoutTheListMarksNoTaskGone(t *testing.T) {
	h, svc, store := oddWorld(t)
	ctx := context.Background()
	h.set(func(h *oddCloud) { h.list = `{"error_code":"APIG.0999","error_msg":"backend unavailable"}` })
	err := svc.SyncList(ctx)
	tasks, _ := store.ListTasks(ctx)
	if len(tasks) != 2 {
		t.Errorf("after a list answer without a list (SyncList err %v), the portal knows %d of 2 tasks; task A gone_at %v",
			err, len(tasks), row(t, store, hA).GoneAt)
	}
}

// "no such task" from detail plus a list answer without a list confirms the task deleted.
func TestAListAnswerWithoutTheListConfirmsNoDeletion(t *testing.T) {
	h, svc, store := oddWorld(t)
	ctx := context.Background()
	h.set(func(h *oddCloud) {
		h.status[hA] = 400
		h.detail[hA] = `{"error_code":"DWS.10101","error_msg":"The DR task does not exist."}`
		h.list = `{}`
	})
	if err := svc.Refresh(ctx, row(t, store, hA)); err != nil {
		t.Fatal(err)
	}
	if a := row(t, store, hA); a.GoneAt != nil {
		t.Errorf("task A marked gone (drift %s) on a list answer that listed nothing", a.Drift)
	}
}

// one task name with invalid UTF-8 (or NUL) in the list stops the list sync for every task, silently.
func TestOddTextInTheListDoesNotStopTheSync(t *testing.T) {
	h, svc, store := oddWorld(t)
	ctx := context.Background()
	const hC = "cccccccc-cccc-4ccc-8ccc-cccccccccccc"
	h.set(func(h *oddCloud) {
		h.list = `{"disaster_recovery":[` + item(hA, "dr_a", "stopped") + `,` + item(hB, "dr_b\xff", "running") + `,` + item(hC, "dr_c", "unstart") + `]}`
	})
	err := svc.SyncList(ctx)
	if _, gerr := store.Task(ctx, hC); gerr != nil {
		msg, at, _ := store.LastSyncError(ctx, db.SyncTaskList)
		t.Errorf("a new task C never appears: SyncList: %v; the list page's sync error: %q at %v", err, msg, at)
	}
}

// a NUL in one task's detail aborts the poller's round: other due tasks are not read, and no error is shown.
func TestOddTextInADetailDoesNotStopThePoller(t *testing.T) {
	h, svc, store := oddWorld(t)
	ctx := context.Background()
	now := time.Now()
	_ = store.SchedulePoll(ctx, hA, now.Add(-2*time.Second))
	_ = store.SchedulePoll(ctx, hB, now.Add(-1*time.Second))
	h.set(func(h *oddCloud) { h.detail[hA] = detail(hA, `dr_a\u0000`, "stopped") })
	n, err := svc.PollDue(ctx)
	a, b := row(t, store, hA), row(t, store, hB)
	if err != nil || b.DetailFetchedAt == nil {
		t.Errorf("poll round: read %d, err %v; task B read: %v; task A refresh_error %q", n, err, b.DetailFetchedAt != nil, a.RefreshError)
	}
	// the same with invalid UTF-8 in an error message
	h.set(func(h *oddCloud) {
		h.status[hA] = 500
		h.detail[hA] = "{\"error_code\":\"DWS.9999\",\"error_msg\":\"boom\xff\"}"
	})
	if err := svc.Refresh(ctx, row(t, store, hA)); err != nil || row(t, store, hA).RefreshError == "" {
		t.Errorf("a 500 whose message has invalid UTF-8: refresh error not recorded: %v", err)
	}
}

// megabytes of X-Request-Id and error_msg are stored in the task row and the audit history.
func TestAHugeErrorIsStoredBounded(t *testing.T) {
	h, svc, store := oddWorld(t)
	ctx := audit.WithActor(context.Background(), audit.System)
	big := strings.Repeat("R", 1<<20)
	h.set(func(h *oddCloud) {
		h.status[hA] = 500
		h.header[hA] = big
		h.detail[hA] = `{"error_code":"DWS.9999","error_msg":"` + big + `"}`
	})
	if err := svc.Refresh(ctx, row(t, store, hA)); err != nil {
		t.Fatal(err)
	}
	a := row(t, store, hA)
	var longest int
	if err := store.Pool().QueryRow(ctx, `SELECT COALESCE(max(length(detail)),0) FROM audit_events WHERE action = 'cloud.call'`).Scan(&longest); err != nil {
		t.Fatal(err)
	}
	if len(a.RefreshError) > 10000 || longest > 20000 {
		t.Errorf("stored: refresh_error %d bytes (shown on the task page and every status poll); largest cloud.call audit detail %d bytes", len(a.RefreshError), longest)
	}
}

// an error message of many words makes the cloud call's audit event unstorable: the call goes unaudited.
func TestAWordyErrorIsStillAudited(t *testing.T) {
	h, svc, store := oddWorld(t)
	ctx := audit.WithActor(context.Background(), audit.System)
	var b strings.Builder
	for i := 0; b.Len() < 3<<20; i++ {
		fmt.Fprintf(&b, "w%x ", i)
	}
	var before int
	_ = store.Pool().QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE action = 'cloud.call'`).Scan(&before)
	h.set(func(h *oddCloud) {
		h.status[hA] = 500
		h.detail[hA] = `{"error_code":"DWS.9999","error_msg":"` + b.String() + `"}`
	})
	if err := svc.Refresh(ctx, row(t, store, hA)); err != nil {
		t.Logf("refresh: %v", err)
	}
	var after int
	_ = store.Pool().QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE action = 'cloud.call'`).Scan(&after)
	if after != before+1 {
		t.Errorf("the cloud call answered with a %d-byte error message left %d audit events, want 1", b.Len(), after-before)
	}
	// the same event, appended directly: what PostgreSQL says
	e := audit.FromContext(ctx, audit.ActionCloudCall, audit.Failure)
	e.OccurredAt = time.Now()
	e.Detail = audit.Detail(map[string]any{"error_msg": b.String()})
	if _, err := store.AppendAudit(ctx, e); err != nil {
		t.Logf("append: %v", err)
	}
}
