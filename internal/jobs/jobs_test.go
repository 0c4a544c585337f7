package jobs_test

import (
	"context"
	"encoding/hex"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"drportal/internal/audit"
	"drportal/internal/auth"
	"drportal/internal/db"
	"drportal/internal/drtask"
	"drportal/internal/dws"
	"drportal/internal/dwssim"
	"drportal/internal/jobs"
	"drportal/internal/portal"
	"drportal/internal/requests"
	"drportal/internal/testdb"
)

func TestMain(m *testing.M) {
	if os.Getenv(envDoomedDB) != "" {
		os.Exit(doomedReplica()) // a replica the test will kill, in a process of its own
	}
	os.Exit(testdb.Run(m))
}

const (
	ak      = "JOBSTESTAK0000000000"
	sk      = "jobstestsk000000000000000000000000000000"
	project = "0123456789abcdef0123456789abcd00"
)

// world is the executor on real components: PostgreSQL, River, the
// simulator over HTTP and the real client.
type world struct {
	t      *testing.T
	store  *db.Store
	sim    *dwssim.Simulator
	clock  *dwssim.FakeClock
	client *dws.Client
	tasks  *drtask.Service
	reqs   *requests.Service
	users  map[string]portal.User
	// offset moves the executor's clock (approval lapses, deadlines).
	offset atomic.Int64
	// dbURL and simURL reach the database and the simulator from another
	// process.
	dbURL, simURL string
}

func newWorld(t *testing.T) *world { return newWorldWith(t, dwssim.Options{}) }

func newWorldWith(t *testing.T, opts dwssim.Options) *world {
	t.Helper()
	dbURL := testdb.NewURL(t)
	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close) // before the database is dropped
	store := db.New(pool)
	appender := audit.NewAppender(store)
	appender.Start(t.Context())
	t.Cleanup(appender.Close) // after the jobs, whose cleanups run first
	store.SetAppender(appender)
	clock := dwssim.NewFakeClock(time.Now())
	opts.Credentials, opts.Clock, opts.Seed = map[string]string{ak: sk}, clock, 3
	sim, err := dwssim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	client, err := dws.New(dws.Config{Endpoint: srv.URL, ProjectID: project, AK: ak, SK: sk,
		Recorder: &audit.CloudRecorder{Store: store}, AttemptTimeout: 500 * time.Millisecond, BaseBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, store: store, sim: sim, clock: clock, client: client, users: map[string]portal.User{},
		dbURL: dbURL, simURL: srv.URL}
	w.tasks = &drtask.Service{Cloud: client, Store: store, Now: time.Now, PageTimeout: 2 * time.Second}
	w.client = client
	// Approvals enqueue into the database; nothing works the queue until a
	// test starts an executor.
	outbox, err := jobs.NewOutbox(store.Pool(), jobs.OutboxConfig{})
	if err != nil {
		t.Fatal(err)
	}
	w.reqs = &requests.Service{Store: store, Now: time.Now, Outbox: outbox}
	for name, roles := range map[string][]portal.Role{"req": {auth.RoleRequester}, "appr": {auth.RoleApprover}, "appr2": {auth.RoleApprover}} {
		err := store.InTx(context.Background(), func(tx *db.Tx) error {
			u, err := tx.CreateUser(context.Background(), name+"@example.com", name, "", roles)
			w.users[name] = u
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// as is the context of a person's action: the audit history names them.
func (w *world) as(who string) context.Context {
	u := w.users[who]
	return audit.WithActor(context.Background(), audit.Actor{ID: u.ID, Name: u.Email})
}

func (w *world) now() time.Time { return time.Now().Add(time.Duration(w.offset.Load())) }

// start runs an executor on cloud until the test ends (or stop is called).
func (w *world) start(cloud jobs.Cloud, tweak ...func(*jobs.Config)) *jobs.Jobs {
	w.t.Helper()
	cfg := jobs.Config{Pool: w.store.Pool(), Store: w.store, Cloud: cloud, Checks: w.tasks, Requests: w.reqs,
		Now: w.now, FollowInterval: 20 * time.Millisecond, RetryBase: 10 * time.Millisecond, RetryCap: 40 * time.Millisecond}
	for _, f := range tweak {
		f(&cfg)
	}
	j, err := jobs.New(cfg)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := j.Start(context.Background()); err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = j.StopAndCancel(ctx)
	})
	return j
}

// fileAndApprove files a create for an eligible pair and approves it.
func (w *world) fileAndApprove(name string) portal.Request {
	w.t.Helper()
	ctx := context.Background()
	p1, _ := w.sim.Cluster(project, dwssim.ClusterProd1)
	p2, _ := w.sim.Cluster(project, dwssim.ClusterDR1)
	plan, errs, err := w.tasks.PrepareCreate(ctx, drtask.CreateForm{Name: name, DRType: "az", PrimaryClusterID: p1.ID,
		StandbyClusterID: p2.ID, SyncPeriod: "5m", Justification: "executor test run"})
	if err != nil || len(errs) > 0 {
		w.t.Fatalf("prepare: %v %v", errs, err)
	}
	r, err := w.reqs.File(w.as("req"), w.users["req"], requests.Draft{Operation: portal.OpCreate, TaskName: name,
		Method: plan.Method, Path: plan.Path, Payload: plan.Body, Justification: "executor test run"})
	if err != nil {
		w.t.Fatal(err)
	}
	r, err = w.reqs.Decide(w.as("appr"), w.users["appr"], r.ID, portal.Approve, "", hex.EncodeToString(r.PayloadSHA256), "")
	if err != nil || r.Status != portal.StatusApproved {
		w.t.Fatalf("approve: %v %s", err, r.Status)
	}
	return r
}

func (w *world) wait(id int64, statuses ...portal.RequestStatus) portal.Request {
	w.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r, err := w.store.Request(context.Background(), id)
		if err != nil {
			w.t.Fatal(err)
		}
		for _, s := range statuses {
			if r.Status == s {
				return r
			}
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("request %d is %s/%s (%s %s), want %v", id, r.Status, r.CallState, r.Outcome, r.ErrorMsg, statuses)
		}
		w.clock.Advance(500 * time.Millisecond)
		time.Sleep(20 * time.Millisecond)
	}
}

func (w *world) timeline(id int64) []audit.Event {
	w.t.Helper()
	ev, err := w.store.RequestTimeline(context.Background(), id, 1000)
	if err != nil {
		w.t.Fatal(err)
	}
	return ev
}

func count(events []audit.Event, action, contains string) int {
	n := 0
	for _, e := range events {
		if e.Action == action && strings.Contains(string(e.Detail), contains) {
			n++
		}
	}
	return n
}

func TestExecutesAndFollowsToUnstart(t *testing.T) {
	w := newWorld(t)
	w.start(w.client)
	r := w.wait(w.fileAndApprove("dr_exec1").ID, portal.StatusSucceeded, portal.StatusFailed)
	if r.Status != portal.StatusSucceeded || r.LastSeenStatus != "unstart" || r.CallAttempts != 1 {
		t.Fatalf("request %+v", r)
	}
	if tasks := w.sim.Tasks(project); len(tasks) != 1 || tasks[0].ID != r.DRTaskID {
		t.Fatalf("tasks %+v", tasks)
	}
}

// TestTamperedPayloadIsRefused changes a payload in the database after its
// approval: the executor refuses it without calling the cloud.
func TestTamperedPayloadIsRefused(t *testing.T) {
	w := newWorld(t)
	r := w.fileAndApprove("dr_tamper1")
	if _, err := w.store.Pool().Exec(context.Background(),
		`UPDATE requests SET payload = replace(payload, 'dr_tamper1', 'dr_evil01') WHERE id = $1`, r.ID); err != nil {
		t.Fatal(err)
	}
	w.start(w.client)
	got := w.wait(r.ID, portal.StatusFailed, portal.StatusSucceeded)
	if got.Status != portal.StatusFailed || !strings.Contains(got.Outcome, "changed after filing") {
		t.Fatalf("tampered request: %s %q", got.Status, got.Outcome)
	}
	if n := w.sim.Calls("create"); n != 0 {
		t.Errorf("the cloud got %d creates", n)
	}
	if count(w.timeline(r.ID), audit.ActionRequestRefused, "payload") != 1 {
		t.Error("the refusal is not audited")
	}
}

// hangingCloud makes the create call for real and then never answers, as a
// worker that dies between the call and recording its result.
type hangingCloud struct {
	jobs.Cloud
	sent chan struct{}
	once sync.Once
}

func (h *hangingCloud) Create(ctx context.Context, p portal.CreateSpec) (string, error) {
	if _, err := h.Cloud.Create(ctx, p); err != nil {
		return "", err
	}
	h.once.Do(func() { close(h.sent) })
	<-ctx.Done()
	return "", ctx.Err()
}

func TestCrashBetweenIntentAndResultCreatesExactlyOneTask(t *testing.T) {
	w := newWorld(t)
	hang := &hangingCloud{Cloud: w.client, sent: make(chan struct{})}
	first := w.start(hang)
	r := w.fileAndApprove("dr_crash1")
	select {
	case <-hang.sent:
	case <-time.After(20 * time.Second):
		t.Fatal("the first worker never sent the create")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := first.StopAndCancel(ctx); err != nil {
		t.Fatal(err)
	}
	mid, _ := w.store.Request(context.Background(), r.ID)
	if mid.Status != portal.StatusExecuting || mid.CallState != portal.CallIntent {
		t.Fatalf("after the crash: %s/%s", mid.Status, mid.CallState)
	}

	w.start(w.client) // the restarted worker
	got := w.wait(r.ID, portal.StatusSucceeded, portal.StatusFailed)
	tasks := w.sim.Tasks(project)
	if got.Status != portal.StatusSucceeded || len(tasks) != 1 || tasks[0].ID != got.DRTaskID {
		t.Fatalf("after restart: %s (%s), tasks %+v", got.Status, got.Outcome, tasks)
	}
	if n := w.sim.Calls("create"); n != 1 {
		t.Errorf("create sent %d times", n)
	}
	if count(w.timeline(r.ID), audit.ActionRequestResult, "adopted") != 1 {
		t.Error("the adoption is not in the history")
	}
}

func TestTransientFaultsAreRetriedAndEveryAttemptAudited(t *testing.T) {
	t.Run("throttled", func(t *testing.T) {
		w := newWorld(t)
		w.start(w.client)
		// Throttled twice: sent again, three attempts on record.
		w.sim.InjectFault(dwssim.Fault{Route: "create", Status: 429, Code: "APIG.0308", Message: "throttled", Times: 2})
		r := w.wait(w.fileAndApprove("dr_throttle").ID, portal.StatusSucceeded, portal.StatusFailed)
		if r.Status != portal.StatusSucceeded || r.CallAttempts != 3 {
			t.Fatalf("throttled: %s after %d attempts (%s)", r.Status, r.CallAttempts, r.ErrorMsg)
		}
		ev := w.timeline(r.ID)
		if n := count(ev, audit.ActionCloudCall, `"operation":"create"`); n != 3 {
			t.Errorf("%d create attempts audited, want 3", n)
		}
		if n := count(ev, audit.ActionCloudCall, `"status":429`); n != 2 {
			t.Errorf("%d throttled attempts audited", n)
		}
		if n := len(w.sim.Tasks(project)); n != 1 {
			t.Errorf("%d tasks", n)
		}
		// The throttled attempts' error is history once a later one was
		// accepted: a succeeded request shows no cloud error.
		if r.ErrorCode != "" || r.ErrorMsg != "" || r.ErrorRequestID != "" {
			t.Errorf("succeeded request still carries the throttled attempt's error: %q %q %q", r.ErrorCode, r.ErrorMsg, r.ErrorRequestID)
		}
	})
	t.Run("unavailable", func(t *testing.T) {
		// A 503 leaves the outcome unknown: the task list is read before the
		// create is sent again.
		w := newWorld(t)
		w.start(w.client)
		w.sim.InjectFault(dwssim.Fault{Route: "create", Status: 503, Times: 1})
		r := w.wait(w.fileAndApprove("dr_unavail").ID, portal.StatusSucceeded, portal.StatusFailed)
		if r.Status != portal.StatusSucceeded || w.sim.Calls("create") != 2 || w.sim.Calls("list") == 0 || len(w.sim.Tasks(project)) != 1 {
			t.Fatalf("503: %s, %d creates, %d lists", r.Status, w.sim.Calls("create"), w.sim.Calls("list"))
		}
		if n := count(w.timeline(r.ID), audit.ActionRequestResult, "outcome unknown"); n != 1 {
			t.Errorf("%d unknown outcomes recorded", n)
		}
	})
	t.Run("slow", func(t *testing.T) {
		// A slow cloud times the attempt out: the same as unknown.
		w := newWorld(t)
		w.start(w.client)
		w.sim.InjectFault(dwssim.Fault{Route: "create", Latency: 3 * time.Second, Times: 1})
		r := w.wait(w.fileAndApprove("dr_slowly").ID, portal.StatusSucceeded, portal.StatusFailed)
		if r.Status != portal.StatusSucceeded || len(w.sim.Tasks(project)) != 1 {
			t.Fatalf("slow: %s %s, %d tasks", r.Status, r.ErrorMsg, len(w.sim.Tasks(project)))
		}
		if n := count(w.timeline(r.ID), audit.ActionCloudCall, "timed out"); n < 1 {
			for _, e := range w.timeline(r.ID) {
				t.Logf("%s %s", e.Action, e.Detail)
			}
			t.Errorf("the timed-out attempt is not audited")
		}
	})
}

func TestAnApprovalLapsesWhileTheCloudIsDown(t *testing.T) {
	w := newWorld(t)
	r := w.fileAndApprove("dr_lapse1")
	w.sim.InjectFault(dwssim.Fault{Status: 503})
	w.start(w.client)
	// A few failed attempts: the executor ran and the cloud refused it,
	// more than once, before the approval lapses.
	awaitAtLeast(t, "refused runs before the lapse", 3, func() int { return refusedReads(w.timeline(r.ID), "503") })
	if got, _ := w.store.Request(context.Background(), r.ID); got.Status == portal.StatusFailed || got.Status == portal.StatusSucceeded {
		t.Fatalf("the request ended before its approval lapsed: %s %q", got.Status, got.Outcome)
	}
	w.offset.Store(int64(25 * time.Hour))
	got := w.wait(r.ID, portal.StatusFailed, portal.StatusSucceeded)
	if got.Status != portal.StatusFailed || !strings.Contains(got.Outcome, "approval lapsed") {
		t.Fatalf("request %s %q", got.Status, got.Outcome)
	}
	if n := w.sim.Calls("create"); n != 0 {
		t.Errorf("%d creates sent", n)
	}
}

func TestAnOperationThatNeverSettlesTimesOut(t *testing.T) {
	w := newWorld(t)
	w.start(w.client, func(c *jobs.Config) { c.FollowTimeout = 200 * time.Millisecond })
	r := w.fileAndApprove("dr_stuck1")
	// Leave the simulator's clock alone: the task stays creating.
	deadline := time.Now().Add(20 * time.Second)
	var got portal.Request
	for time.Now().Before(deadline) {
		got, _ = w.store.Request(context.Background(), r.ID)
		if got.Status == portal.StatusFailed || got.Status == portal.StatusSucceeded {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got.Status != portal.StatusFailed || !strings.Contains(got.Outcome, "timed out") || !strings.Contains(got.Outcome, "creating") {
		t.Fatalf("request %s %q", got.Status, got.Outcome)
	}
}

func TestRefusedWhenThePreconditionsNoLongerHold(t *testing.T) {
	w := newWorld(t)
	r := w.fileAndApprove("dr_precond")
	w.sim.SetClusterStatus(project, dwssim.ClusterDR1, "FAILED")
	w.start(w.client)
	got := w.wait(r.ID, portal.StatusFailed, portal.StatusSucceeded)
	if got.Status != portal.StatusFailed || !strings.Contains(got.Outcome, "preconditions") || w.sim.Calls("create") != 0 {
		t.Fatalf("request %s %q, %d creates", got.Status, got.Outcome, w.sim.Calls("create"))
	}
}

// TestTwoReplicasAndAnOutageStillExecuteOnce runs two executors on one
// database through a cloud outage: the request waits, then runs once.
func TestTwoReplicasAndAnOutageStillExecuteOnce(t *testing.T) {
	w := newWorld(t)
	r := w.fileAndApprove("dr_replicas")
	w.sim.InjectFault(dwssim.Fault{Status: 503})
	w.start(w.client)
	w.start(w.client)
	// The replicas run into the outage again and again; the request waits.
	runs := awaitAtLeast(t, "refused runs during the outage", 4, func() int { return refusedReads(w.timeline(r.ID), "503") })
	if got, _ := w.store.Request(context.Background(), r.ID); got.Status == portal.StatusFailed || got.Status == portal.StatusSucceeded ||
		w.sim.Calls("create") != 0 {
		t.Fatalf("the request ended during the outage, after %d refused runs: %s %q, %d creates",
			runs, got.Status, got.Outcome, w.sim.Calls("create"))
	}
	w.sim.ClearFaults()
	got := w.wait(r.ID, portal.StatusSucceeded, portal.StatusFailed)
	if got.Status != portal.StatusSucceeded || w.sim.Calls("create") != 1 || len(w.sim.Tasks(project)) != 1 {
		t.Fatalf("after the outage: %s (%s), %d creates", got.Status, got.Outcome, w.sim.Calls("create"))
	}
	if n := count(w.timeline(r.ID), audit.ActionRequestExecuting, ""); n != 1 {
		t.Errorf("executing recorded %d times", n)
	}
}

// fileOp files an operation on a task directly (as if the form's checks had
// passed) and has it approved by as many approvers as the policy wants.
func (w *world) fileOp(op portal.Operation, taskID string, body []byte) portal.Request {
	w.t.Helper()
	method, path, err := w.client.OperationCall(op, taskID)
	if err != nil {
		w.t.Fatal(err)
	}
	r, err := w.reqs.File(w.as("req"), w.users["req"], requests.Draft{Operation: op, DRTaskID: taskID, TaskName: "task",
		Method: method, Path: path, Payload: body, Justification: "lifecycle test"})
	if err != nil {
		w.t.Fatal(err)
	}
	for _, who := range []string{"appr", "appr2"} {
		if r.Status != portal.StatusPending {
			break
		}
		if r, err = w.reqs.Decide(w.as(who), w.users[who], r.ID, portal.Approve, "", hex.EncodeToString(r.PayloadSHA256), ""); err != nil {
			w.t.Fatalf("approve %s: %v", op, err)
		}
	}
	return r
}

func (w *world) simTask(id string) dwssim.TaskSnapshot {
	w.t.Helper()
	for _, t := range w.sim.Tasks(project) {
		if t.ID == id {
			return t
		}
	}
	return dwssim.TaskSnapshot{}
}

// TestTheWholeLifecycle runs every operation from a status that allows it
// through approval and execution, and refuses one that is no longer
// allowed without calling the cloud.
func TestTheWholeLifecycle(t *testing.T) {
	w := newWorld(t)
	w.start(w.client)
	id := w.wait(w.fileAndApprove("dr_life01").ID, portal.StatusSucceeded).DRTaskID
	primary0 := w.simTask(id).PrimaryClusterID

	run := func(op portal.Operation, body []byte, wantStatus string) portal.Request {
		t.Helper()
		r := w.wait(w.fileOp(op, id, body).ID, portal.StatusSucceeded, portal.StatusFailed)
		if r.Status != portal.StatusSucceeded {
			t.Fatalf("%s: %s (%s %s)", op, r.Status, r.Outcome, r.ErrorMsg)
		}
		// What the approvers were shown is what went on the wire: the
		// request's method and path (from the SDK's request definitions)
		// equal the audited attempt's.
		attempts := 0
		for _, e := range w.timeline(r.ID) {
			if e.Action != audit.ActionCloudCall || !strings.Contains(string(e.Detail), `"operation":"`+string(op)+`"`) {
				continue
			}
			attempts++
			if d := string(e.Detail); !strings.Contains(d, `"method":"`+r.Method+`"`) || !strings.Contains(d, `"path":"`+r.Path+`"`) {
				t.Errorf("%s: shown %s %s, sent %s", op, r.Method, r.Path, d)
			}
		}
		if attempts == 0 {
			t.Errorf("%s: no audited attempt", op)
		}
		if wantStatus != "" {
			if got := w.simTask(id).Status; got != wantStatus {
				t.Fatalf("after %s the task is %s, want %s", op, got, wantStatus)
			}
		}
		return r
	}
	run(portal.OpUpdate, dws.UpdateBody("10m"), "unstart")
	if got := w.simTask(id).SyncPeriod; got != "10m" {
		t.Errorf("sync period %s after update", got)
	}
	run(portal.OpStart, nil, "running")

	// Not allowed any more: refused before any call, and audited. The
	// portal's copy lags behind (it still says stopped, so the start can
	// be approved): the executor goes by the live state.
	if _, err := w.store.Pool().Exec(context.Background(), `UPDATE dr_tasks SET status = 'stopped' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	starts := w.sim.Calls("start")
	refused := w.wait(w.fileOp(portal.OpStart, id, nil).ID, portal.StatusFailed, portal.StatusSucceeded)
	if refused.Status != portal.StatusFailed || !strings.Contains(refused.Outcome, "no longer allows") || w.sim.Calls("start") != starts {
		t.Errorf("start while running: %s %q, %d calls", refused.Status, refused.Outcome, w.sim.Calls("start")-starts)
	}
	if count(w.timeline(refused.ID), audit.ActionRequestRefused, "preconditions") != 1 {
		t.Error("the refusal is not audited")
	}

	run(portal.OpSwitchover, nil, "running")
	if got := w.simTask(id).PrimaryClusterID; got == primary0 {
		t.Fatalf("the switchover did not swap the roles")
	}
	// A fault on the production cluster breaks the pair; fail over.
	prodName := ""
	for _, c := range w.sim.Clusters(project) {
		if c.ID == w.simTask(id).PrimaryClusterID {
			prodName = c.Name
		}
	}
	w.sim.SetClusterFaulty(project, prodName, true)
	deadline := time.Now().Add(10 * time.Second)
	for w.simTask(id).Status != "abnormal" && time.Now().Before(deadline) {
		w.clock.Advance(time.Second)
		time.Sleep(10 * time.Millisecond)
	}
	// The portal's copy sees the fault, as the poller (or filing through
	// the page, which reads the task live) would make it: a request its
	// copy says cannot run is not approved.
	if _, err := w.tasks.LiveState(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	before := w.simTask(id).PrimaryClusterID
	run(portal.OpFailover, nil, "")
	if w.simTask(id).PrimaryClusterID == before {
		t.Fatal("the failover did not promote the standby")
	}
	w.sim.SetClusterFaulty(project, prodName, false)
	run(portal.OpRecovery, nil, "running")
	run(portal.OpStop, nil, "stopped")
	run(portal.OpDelete, nil, "")
	if got := w.simTask(id); got.ID != "" {
		t.Errorf("the task still exists: %+v", got)
	}
	row, err := w.store.Task(context.Background(), id)
	if err != nil || row.GoneAt == nil {
		t.Errorf("the portal still shows the task: %+v %v", row, err)
	}
}

func TestAFailedOperationShowsItsEndState(t *testing.T) {
	w := newWorld(t)
	w.start(w.client)
	id := w.wait(w.fileAndApprove("dr_fail01").ID, portal.StatusSucceeded).DRTaskID
	w.sim.FailNext("start", 1)
	r := w.wait(w.fileOp(portal.OpStart, id, nil).ID, portal.StatusFailed, portal.StatusSucceeded)
	if r.Status != portal.StatusFailed || !strings.Contains(r.Outcome, "start_failed") {
		t.Fatalf("start into start_failed: %s %q", r.Status, r.Outcome)
	}
	// Start is allowed again from start_failed.
	if r := w.wait(w.fileOp(portal.OpStart, id, nil).ID, portal.StatusFailed, portal.StatusSucceeded); r.Status != portal.StatusSucceeded {
		t.Fatalf("second start: %s %q", r.Status, r.Outcome)
	}
}

func TestTheSwitchoverPitfall(t *testing.T) {
	w := newWorldWith(t, dwssim.Options{AcceptanceLag: 2 * time.Second})
	w.start(w.client)
	id := w.wait(w.fileAndApprove("dr_pitfall").ID, portal.StatusSucceeded).DRTaskID
	w.wait(w.fileOp(portal.OpStart, id, nil).ID, portal.StatusSucceeded)
	before := w.simTask(id).PrimaryClusterID
	sw := w.fileOp(portal.OpSwitchover, id, nil)
	// With the simulator's clock held, the task stays running (the cloud
	// accepted the call but shows nothing yet): that is not success, however
	// often the executor looks.
	followReads := func() int {
		n, accepted := 0, false
		for _, e := range w.timeline(sw.ID) {
			switch {
			case e.Action == audit.ActionRequestResult && e.Outcome == audit.Success:
				accepted = true
			case accepted && e.Action == audit.ActionCloudCall && strings.Contains(string(e.Detail), `"operation":"detail"`):
				n++
			}
		}
		return n
	}
	reads := awaitAtLeast(t, "reads of the task after the switchover was accepted", 3, followReads)
	if got, _ := w.store.Request(context.Background(), sw.ID); got.Status != portal.StatusExecuting || got.CallState != portal.CallAccepted ||
		got.LastSeenStatus != portal.TaskRunning {
		t.Fatalf("after %d reads in the acceptance lag the request is %s/%s, last seen %s (%s)",
			reads, got.Status, got.CallState, got.LastSeenStatus, got.Outcome)
	}
	r := w.wait(sw.ID, portal.StatusSucceeded, portal.StatusFailed)
	if r.Status != portal.StatusSucceeded || w.simTask(id).PrimaryClusterID == before {
		t.Fatalf("switchover reported %s with primary %s (before %s)", r.Status, w.simTask(id).PrimaryClusterID, before)
	}
}

// TestTheFlushJobSummarisesClosedMinutesOfDenials: the periodic job turns
// a closed minute's count of denied actions into one summary event and
// empties the counting table; an open minute is left alone.
func TestTheFlushJobSummarisesClosedMinutesOfDenials(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	d := audit.Denial{At: time.Now(), Actor: audit.Actor{ID: w.users["req"].ID, Name: "req@example.com"}, IP: "10.1.2.3",
		Method: "GET", Route: "/admin/users", Reason: audit.ReasonRole, CorrelationID: "flood"}
	for range 3 {
		if err := w.store.RecordDenial(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	summaries := func() []audit.Event {
		var out []audit.Event
		err := w.store.StreamAudit(ctx, db.AuditFilter{Action: audit.ActionAccessDeniedRepeated}, func(e audit.Event) error {
			out = append(out, e)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	w.start(w.client, func(c *jobs.Config) { c.DeniedFlushEvery = 20 * time.Millisecond })
	time.Sleep(300 * time.Millisecond) // several rounds while the minute is open
	if got := summaries(); len(got) != 0 && time.Now().Truncate(time.Minute).Equal(d.At.Truncate(time.Minute)) {
		t.Fatalf("an open minute was summarised: %s", got[0].Detail)
	}
	w.offset.Store(int64(2 * time.Minute))
	awaitAtLeast(t, "the closed minute's summary", 1, func() int { return len(summaries()) })
	got := summaries()
	if len(got) != 1 || got[0].Actor.ID != d.Actor.ID || !strings.Contains(string(got[0].Detail), `"count":3`) {
		t.Fatalf("summaries: %+v", got)
	}
	var rows int
	if err := w.store.Pool().QueryRow(ctx, `SELECT count(*) FROM denied_actions`).Scan(&rows); err != nil || rows != 0 {
		t.Errorf("%d rows left (%v)", rows, err)
	}
}

// TestTheQueuesRoutineChatterStaysOffAnInfoConsole: River's info lines
// (its producer's job counts every 5 seconds, while jobs run) are written
// at debug level, so a console at info level shows none of them; a debug
// console still has them.
func TestTheQueuesRoutineChatterStaysOffAnInfoConsole(t *testing.T) {
	w := newWorld(t)
	var info, debug syncBuffer
	logger := slog.New(multiHandler{
		slog.NewTextHandler(&info, &slog.HandlerOptions{Level: slog.LevelInfo}),
		slog.NewTextHandler(&debug, &slog.HandlerOptions{Level: slog.LevelDebug}),
	})
	w.start(w.client, func(c *jobs.Config) { c.Logger = logger; c.PollEvery = 200 * time.Millisecond })
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(debug.String(), "Producer job counts") {
		if time.Now().After(deadline) {
			t.Fatalf("River never logged its job counts, even at debug level:\n%s", debug.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if s := info.String(); strings.Contains(s, "component=river") {
		t.Errorf("an info console shows the queue's routine lines:\n%s", s)
	}
}

// syncBuffer is a log's text, written by several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// multiHandler writes each record to every handler that takes its level.
type multiHandler []slog.Handler

func (m multiHandler) Enabled(ctx context.Context, l slog.Level) bool {
	for _, h := range m {
		if h.Enabled(ctx, l) {
			return true
		}
	}
	return false
}

func (m multiHandler) Handle(ctx context.Context, r slog.Record) error {
	for _, h := range m {
		if h.Enabled(ctx, r.Level) {
			if err := h.Handle(ctx, r.Clone()); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m multiHandler) WithAttrs(as []slog.Attr) slog.Handler {
	out := make(multiHandler, len(m))
	for i, h := range m {
		out[i] = h.WithAttrs(as)
	}
	return out
}

func (m multiHandler) WithGroup(name string) slog.Handler {
	out := make(multiHandler, len(m))
	for i, h := range m {
		out[i] = h.WithGroup(name)
	}
	return out
}
