package jobs_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"drportal/internal/audit"
	"drportal/internal/db"
	"drportal/internal/drtask"
	"drportal/internal/dws"
	"drportal/internal/jobs"
	"drportal/internal/portal"
	"drportal/internal/requests"
	"drportal/internal/testdb"
)

// A doomed replica is the executor in a process of its own, on the test's
// database and simulator, that freezes in the middle of its call and is
// then killed (SIGKILL) by the test: what a crash leaves behind, a River job
// "running" on a client that is gone and a lease nobody renews.
const (
	envDoomedDB    = "JOBS_TEST_DOOMED_DB"
	envDoomedSim   = "JOBS_TEST_DOOMED_SIM"
	envDoomedApply = "JOBS_TEST_DOOMED_APPLY" // "1": the call reaches the cloud before the freeze
	doomedFrozen   = "frozen in the call"
)

// testLease and testResumeEvery are the short lease of the tests, the same
// for every replica as in production.
const (
	testLease       = 2 * time.Second
	testResumeEvery = 100 * time.Millisecond
)

func shortLease(c *jobs.Config) { c.Lease, c.ResumeEvery = testLease, testResumeEvery }

// doomedReplica runs the executor until the test kills it. It reports on
// stdout once it froze in a call.
func doomedReplica() int {
	go func() {
		// Should the test itself die, its end of stdin closes: go too.
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(2)
	}()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv(envDoomedDB))
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	store := db.New(pool)
	appender := audit.NewAppender(store)
	appender.Start(ctx)
	store.SetAppender(appender)
	client, err := dws.New(dws.Config{Endpoint: os.Getenv(envDoomedSim), ProjectID: project, AK: ak, SK: sk,
		Recorder: &audit.CloudRecorder{Store: store}, AttemptTimeout: 2 * time.Second, BaseBackoff: time.Millisecond})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	outbox, err := jobs.NewOutbox(pool, jobs.OutboxConfig{})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	cfg := jobs.Config{Pool: pool, Store: store, Cloud: freezingCloud{Cloud: client, apply: os.Getenv(envDoomedApply) == "1"},
		Checks:   &drtask.Service{Cloud: client, Store: store, Now: time.Now, PageTimeout: 2 * time.Second},
		Requests: &requests.Service{Store: store, Now: time.Now, Outbox: outbox}, Now: time.Now,
		FollowInterval: 20 * time.Millisecond, RetryBase: 10 * time.Millisecond, RetryCap: 40 * time.Millisecond}
	shortLease(&cfg)
	j, err := jobs.New(cfg)
	if err == nil {
		err = j.Start(ctx)
	}
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	select {}
}

// freezingCloud makes the call (or not) and then never returns, whatever
// its context says: the process is about to die.
type freezingCloud struct {
	jobs.Cloud
	apply bool
}

func (f freezingCloud) Create(ctx context.Context, p portal.CreateSpec) (string, error) {
	if f.apply {
		if _, err := f.Cloud.Create(ctx, p); err != nil {
			fmt.Println("error:", err)
		}
	}
	fmt.Println(doomedFrozen)
	select {}
}

func (f freezingCloud) Operate(ctx context.Context, op portal.Operation, id string, body []byte) error {
	if f.apply {
		if err := f.Cloud.Operate(ctx, op, id, body); err != nil {
			fmt.Println("error:", err)
		}
	}
	fmt.Println(doomedFrozen)
	select {}
}

// killMidCall starts a doomed replica, waits until it froze in the call of
// the request that is waiting to run, and kills it.
func (w *world) killMidCall(applied bool) {
	w.t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	apply := "0"
	if applied {
		apply = "1"
	}
	cmd.Env = append(os.Environ(), envDoomedDB+"="+w.dbURL, envDoomedSim+"="+w.simURL, envDoomedApply+"="+apply)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		w.t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe() // held open while it lives
	if err != nil {
		w.t.Fatal(err)
	}
	defer stdin.Close()
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	timeout := time.After(30 * time.Second)
	for frozen := false; !frozen; {
		select {
		case line, ok := <-lines:
			switch {
			case !ok:
				w.t.Fatalf("the doomed replica ended before its call: %s", stderr.String())
			case line == doomedFrozen:
				frozen = true
			default:
				w.t.Fatalf("the doomed replica: %s", line)
			}
		case <-timeout:
			w.t.Fatalf("the doomed replica never made its call: %s", stderr.String())
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		w.t.Fatal(err)
	}
	_ = cmd.Wait()
}

// executeJobStates are the states of the queue's jobs for request id.
func (w *world) executeJobStates(id int64) []string {
	w.t.Helper()
	rows, err := w.store.Pool().Query(context.Background(), `SELECT state::text FROM river_job
		WHERE kind = 'execute_request' AND (args->>'request_id')::bigint = $1 ORDER BY id`, id)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			w.t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		w.t.Fatal(err)
	}
	return out
}

// TestAnExecutionWhoseReplicaWasKilledIsResumedWithinTheLease kills the
// only replica (SIGKILL) in the middle of a call and starts a fresh one: the
// request is taken over within the lease, not after the queue's five-minute
// rescue, and the call is made exactly once, whether it had reached the
// cloud (its answer lost: the task is adopted) or not (it is sent).
func TestAnExecutionWhoseReplicaWasKilledIsResumedWithinTheLease(t *testing.T) {
	for _, tc := range []struct {
		name    string
		applied bool
		op      portal.Operation
	}{
		{"a create that reached the cloud", true, portal.OpCreate},
		{"a create that never left", false, portal.OpCreate},
		{"a switchover that reached the cloud", true, portal.OpSwitchover},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			var r portal.Request
			if tc.op == portal.OpCreate {
				r = w.fileAndApprove("dr_killed1")
			} else {
				setup := w.start(w.client, shortLease)
				id := w.wait(w.fileAndApprove("dr_killed2").ID, portal.StatusSucceeded).DRTaskID
				w.wait(w.fileOp(portal.OpStart, id, nil).ID, portal.StatusSucceeded)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if err := setup.StopAndCancel(ctx); err != nil {
					t.Fatal(err)
				}
				r = w.fileOp(tc.op, id, nil)
			}
			calls := w.sim.Calls(string(tc.op))
			w.killMidCall(tc.applied)

			mid, err := w.store.Request(context.Background(), r.ID)
			if err != nil {
				t.Fatal(err)
			}
			if mid.Status != portal.StatusExecuting || mid.CallState != portal.CallIntent || mid.ExecHolder == "" {
				t.Fatalf("after the kill: %s/%s, held by %q", mid.Status, mid.CallState, mid.ExecHolder)
			}
			if states := w.executeJobStates(r.ID); len(states) != 1 || states[0] != "running" {
				t.Fatalf("after the kill the job is %v, want one left running", states)
			}

			started := time.Now()
			j := w.start(w.client, shortLease) // the replica that comes back
			got := w.wait(r.ID, portal.StatusSucceeded, portal.StatusFailed)
			if got.Status != portal.StatusSucceeded {
				t.Fatalf("after the restart: %s (%s)", got.Status, got.Outcome)
			}
			if got.ResumedAt == nil || got.Resumes != 1 {
				t.Fatalf("resumed %d times, last at %v", got.Resumes, got.ResumedAt)
			}
			if took := got.ResumedAt.Sub(started); took > j.ResumeWithin() {
				t.Errorf("resumed %s after the replica started, more than the %s it promises", took, j.ResumeWithin())
			}
			if n := w.sim.Calls(string(tc.op)) - calls; n != 1 {
				t.Errorf("%s sent %d times", tc.op, n)
			}
			if tc.op == portal.OpCreate {
				if tasks := w.sim.Tasks(project); len(tasks) != 1 || tasks[0].ID != got.DRTaskID {
					t.Errorf("tasks %+v, request's %s", tasks, got.DRTaskID)
				}
			}
			ev := w.timeline(r.ID)
			if n := count(ev, audit.ActionRequestResumed, mid.ExecHolder); n != 1 {
				t.Errorf("%d takeovers of %q in the history", n, mid.ExecHolder)
			}
			if n, want := count(ev, audit.ActionRequestResult, "adopted"), map[bool]int{true: 1, false: 0}[tc.applied]; n != want {
				t.Errorf("%d adoptions in the history, want %d", n, want)
			}
			if n := count(ev, audit.ActionRequestExecuting, ""); n != 1 {
				t.Errorf("executing recorded %d times", n)
			}
			if rep, err := audit.VerifyChain(context.Background(), w.store, 0, 0); err != nil || rep.BrokenAt != 0 {
				t.Errorf("the audit chain: %+v %v", rep, err)
			}
		})
	}
}

// TestAJobLeftRunningWithNoRunHoldingItsRequestIsResumed: a replica killed
// between the queue starting a job and its run taking the request's lease,
// or between the run letting go and the queue recording it, leaves the job
// running with no lease to run out. The job itself gives the dead worker
// away, and the request is resumed within the same window.
func TestAJobLeftRunningWithNoRunHoldingItsRequestIsResumed(t *testing.T) {
	for _, tc := range []struct {
		name      string
		following bool
	}{
		{"before its run held the request", false},
		{"after its run let go, while following", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			ctx := context.Background()
			r := w.fileAndApprove("dr_orphan1")
			if tc.following {
				// Run it until the cloud accepted the create; the simulator's
				// clock stands still, so the task stays creating.
				first := w.start(w.client, shortLease)
				awaitAtLeast(t, "accepted calls", 1, func() int {
					cur, _ := w.store.Request(ctx, r.ID)
					return map[bool]int{true: 1}[cur.CallState == portal.CallAccepted]
				})
				stop, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				if err := first.StopAndCancel(stop); err != nil {
					t.Fatal(err)
				}
			}
			// What the killed process left behind: its job running, started a
			// while ago on a client that is gone, and no lease.
			tag, err := w.store.Pool().Exec(ctx, `UPDATE river_job SET state = 'running', attempt = attempt + 1,
				attempted_at = now() - interval '10 seconds', attempted_by = ARRAY['a-replica-that-was-killed'],
				scheduled_at = now() - interval '10 seconds'
				WHERE kind = 'execute_request' AND (args->>'request_id')::bigint = $1`, r.ID)
			if err != nil || tag.RowsAffected() != 1 {
				t.Fatalf("leave the job running: %v %d", err, tag.RowsAffected())
			}
			if mid, _ := w.store.Request(ctx, r.ID); mid.ExecHolder != "" {
				t.Fatalf("held by %q", mid.ExecHolder)
			}

			started := time.Now()
			j := w.start(w.client, shortLease)
			got := w.wait(r.ID, portal.StatusSucceeded, portal.StatusFailed)
			if got.Status != portal.StatusSucceeded || got.Resumes != 1 || got.ResumedAt == nil {
				t.Fatalf("after the restart: %s (%s), resumed %d times", got.Status, got.Outcome, got.Resumes)
			}
			if took := got.ResumedAt.Sub(started); took > j.ResumeWithin() {
				t.Errorf("resumed %s after the replica started, more than the %s it promises", took, j.ResumeWithin())
			}
			if n := w.sim.Calls("create"); n != 1 || len(w.sim.Tasks(project)) != 1 {
				t.Errorf("create sent %d times, %d tasks", n, len(w.sim.Tasks(project)))
			}
			if n := count(w.timeline(r.ID), audit.ActionRequestResumed, "which no run held"); n != 1 {
				t.Errorf("%d takeovers of the job in the history", n)
			}
		})
	}
}

// TestARunThatJustLetGoIsNotTakenForDead: a run that took longer than a
// lease lets go of its request a moment before the queue records its end,
// so for that moment its job still looks running with nobody holding the
// request. That is no dead worker; only once it lasts a lease is it one.
func TestARunThatJustLetGoIsNotTakenForDead(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	r := w.fileAndApprove("dr_letgo01")
	// The job started long ago and its run let go just now; the queue has
	// not recorded its end yet (and, its process killed, never will).
	if _, err := w.store.Pool().Exec(ctx, `UPDATE river_job SET state = 'running', attempt = attempt + 1,
		attempted_at = now() - interval '10 seconds', attempted_by = ARRAY['a-replica-finishing-a-long-run']
		WHERE kind = 'execute_request' AND (args->>'request_id')::bigint = $1`, r.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.store.Pool().Exec(ctx, `UPDATE requests SET exec_released_at = now() WHERE id = $1`, r.ID); err != nil {
		t.Fatal(err)
	}
	w.start(w.client, shortLease)
	// Many looks for dead runs within the lease find none.
	for deadline := time.Now().Add(testLease / 2); time.Now().Before(deadline); time.Sleep(testResumeEvery) {
		if cur, _ := w.store.Request(ctx, r.ID); cur.Resumes != 0 {
			t.Fatalf("taken for dead %s after it let go", time.Since(deadline.Add(-testLease/2)))
		}
	}
	// A lease on, the job still looks running: now its worker is gone.
	got := w.wait(r.ID, portal.StatusSucceeded, portal.StatusFailed)
	if got.Status != portal.StatusSucceeded || got.Resumes != 1 || w.sim.Calls("create") != 1 {
		t.Fatalf("request %s (%s), resumed %d times, %d creates", got.Status, got.Outcome, got.Resumes, w.sim.Calls("create"))
	}
}

// slowCloud takes its time before each create, like a cloud that answers
// slowly, and tells when the first one began.
type slowCloud struct {
	jobs.Cloud
	delay time.Duration
	began chan struct{}
	once  sync.Once
}

func (s *slowCloud) Create(ctx context.Context, p portal.CreateSpec) (string, error) {
	s.once.Do(func() { close(s.began) })
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return s.Cloud.Create(ctx, p)
}

// TestASlowCallIsNotTakenOver: a replica whose call lasts several leases
// keeps its lease, so a second replica looking for dead runs all along
// never takes the request over, and the create is sent once.
func TestASlowCallIsNotTakenOver(t *testing.T) {
	w := newWorld(t)
	slow := &slowCloud{Cloud: w.client, delay: 3 * testLease, began: make(chan struct{})}
	w.start(slow, shortLease)
	r := w.fileAndApprove("dr_slow001")
	select {
	case <-slow.began:
	case <-time.After(20 * time.Second):
		t.Fatal("the slow replica never began its call")
	}
	w.start(w.client, shortLease) // a healthy replica, looking for dead runs
	got := w.wait(r.ID, portal.StatusSucceeded, portal.StatusFailed)
	if got.Status != portal.StatusSucceeded {
		t.Fatalf("request %s (%s)", got.Status, got.Outcome)
	}
	if got.Resumes != 0 || count(w.timeline(r.ID), audit.ActionRequestResumed, "") != 0 {
		t.Errorf("a live run was taken over %d times", got.Resumes)
	}
	// The slow call was let finish: one attempt, its outcome never in doubt.
	if got.CallAttempts != 1 || count(w.timeline(r.ID), audit.ActionRequestResult, "outcome unknown") != 0 {
		t.Errorf("%d attempts; the slow one was cut short", got.CallAttempts)
	}
	if n := w.sim.Calls("create"); n != 1 || len(w.sim.Tasks(project)) != 1 {
		t.Errorf("create sent %d times, %d tasks", n, len(w.sim.Tasks(project)))
	}
}

// TestByDefaultAnInterruptedExecutionIsResumedWithinAMinute: the defaults
// promise a takeover within a minute of a replica running again.
func TestByDefaultAnInterruptedExecutionIsResumedWithinAMinute(t *testing.T) {
	j, err := jobs.New(jobs.Config{Pool: testdb.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	if d := j.ResumeWithin(); d <= 0 || d > time.Minute {
		t.Errorf("an interrupted execution waits up to %s to be resumed", d)
	}
}
