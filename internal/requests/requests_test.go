package requests_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"maps"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/auth"
	"drportal/internal/db"
	"drportal/internal/jobs"
	"drportal/internal/portal"
	"drportal/internal/requests"
	"drportal/internal/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Run(m)) }

type fixture struct {
	store *db.Store
	svc   *requests.Service
	now   time.Time
	mu    sync.Mutex
	users map[string]portal.User
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	store := db.New(testdb.New(t))
	// The clock starts after the accounts below are made: their roles date
	// from then, and an approver counts only on requests filed later.
	f := &fixture{store: store, now: time.Now().UTC().Truncate(time.Second).Add(2 * time.Second), users: map[string]portal.User{}}
	// The real outbox, with nothing working the queue: the tests count the
	// jobs it holds.
	q, err := jobs.NewOutbox(store.Pool(), jobs.OutboxConfig{})
	if err != nil {
		t.Fatal(err)
	}
	f.svc = &requests.Service{Store: store, Now: f.clock, Outbox: q}
	for name, roles := range map[string][]portal.Role{
		"req": {auth.RoleRequester}, "admin": auth.AllRoles,
		"a1": {auth.RoleApprover}, "a2": {auth.RoleApprover}, "a3": {auth.RoleApprover}, "a4": {auth.RoleApprover},
		"auditor": {auth.RoleAuditor},
	} {
		err := store.InTx(context.Background(), func(tx *db.Tx) error {
			u, err := tx.CreateUser(context.Background(), name+"@example.com", name, "", roles)
			f.users[name] = u
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// setPolicy stores a new policy version directly (the two-admin approval
// of policy changes is tested with the admin service).
func (f *fixture) setPolicy(t *testing.T, approvals map[portal.Operation]int) portal.Policy {
	t.Helper()
	var p portal.Policy
	err := f.store.InTx(context.Background(), func(tx *db.Tx) (err error) {
		p, err = tx.InsertPolicy(context.Background(), portal.Policy{Approvals: approvals, PendingTTL: 72 * time.Hour,
			ApprovalTTL: 24 * time.Hour, CreatedBy: f.users["admin"].ID, CreatedAt: f.clock()})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (f *fixture) file(t *testing.T, who, name string) portal.Request {
	t.Helper()
	payload := []byte(fmt.Sprintf(`{"disaster_recovery":{"name":%q}}`+"\n", name))
	r, err := f.svc.File(audit.WithActor(context.Background(), audit.Actor{ID: f.users[who].ID, Name: who}), f.users[who], requests.Draft{Operation: portal.OpCreate, TaskName: name,
		Method: "POST", Path: "/v2/p/disaster-recoveries", Payload: payload, Justification: "quarterly DR drill"})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// as is the context of who's action: the audit history names them.
func (f *fixture) as(who string) context.Context {
	return audit.WithActor(context.Background(), audit.Actor{ID: f.users[who].ID, Name: who})
}

func (f *fixture) decide(who string, r portal.Request, d portal.Decision, comment string) (portal.Request, error) {
	return f.svc.Decide(audit.WithActor(context.Background(), audit.Actor{ID: f.users[who].ID, Name: who}),
		f.users[who], r.ID, d, comment, hex.EncodeToString(r.PayloadSHA256), "")
}

func (f *fixture) jobsFor(t *testing.T, id int64) int {
	t.Helper()
	var n int
	err := f.store.Pool().QueryRow(context.Background(),
		`SELECT count(*) FROM river_job WHERE kind = 'execute_request' AND (args->>'request_id')::bigint = $1`, id).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (f *fixture) approvals(t *testing.T, id int64) []portal.Approval {
	t.Helper()
	a, err := f.store.Approvals(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestNobodyApprovesTheirOwnRequest(t *testing.T) {
	f := newFixture(t)
	r := f.file(t, "admin", "dr_self")
	_, err := f.decide("admin", r, portal.Approve, "")
	if apperr.KindOf(err) != apperr.Forbidden {
		t.Fatalf("self-approval by an admin: %v", err)
	}
	if a := f.approvals(t, r.ID); len(a) != 0 {
		t.Errorf("approvals recorded: %+v", a)
	}
	if _, err := f.decide("req", f.file(t, "req", "dr_other"), portal.Approve, ""); apperr.KindOf(err) != apperr.Forbidden {
		t.Errorf("self-approval by a requester: %v", err)
	}
	if _, err := f.decide("auditor", r, portal.Approve, ""); apperr.KindOf(err) != apperr.Forbidden {
		t.Errorf("approval by an auditor: %v", err)
	}
	got, _ := f.store.Request(context.Background(), r.ID)
	if got.Status != portal.StatusPending || f.jobsFor(t, r.ID) != 0 {
		t.Errorf("request %s with %d jobs", got.Status, f.jobsFor(t, r.ID))
	}
}

// TestConcurrentApprovalsExecuteOnce races every approver on the same
// request, many times: the quorum is reached once and one job exists.
func TestConcurrentApprovalsExecuteOnce(t *testing.T) {
	f := newFixture(t)
	for _, required := range []int{1, 2} {
		if required == 2 {
			approvals := map[portal.Operation]int{}
			for _, op := range portal.Operations {
				approvals[op] = 2
			}
			f.setPolicy(t, approvals)
		}
		for i := 0; i < 20; i++ {
			r := f.file(t, "req", fmt.Sprintf("dr_race_%d_%d", required, i))
			if r.RequiredApprovals != required {
				t.Fatalf("required %d, want %d", r.RequiredApprovals, required)
			}
			var wg sync.WaitGroup
			results := make(chan error, 4)
			for _, who := range []string{"a1", "a2", "a3", "a4"} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := f.decide(who, r, portal.Approve, "")
					results <- err
				}()
			}
			wg.Wait()
			close(results)
			ok := 0
			for err := range results {
				switch {
				case err == nil:
					ok++
				case apperr.KindOf(err) != apperr.Conflict:
					t.Fatalf("unexpected error: %v", err)
				}
			}
			got, _ := f.store.Request(context.Background(), r.ID)
			if ok != required || got.Status != portal.StatusApproved || f.jobsFor(t, r.ID) != 1 || len(f.approvals(t, r.ID)) != required {
				t.Fatalf("round %d: %d approvals accepted, status %s, %d jobs, want %d, approved, 1",
					i, ok, got.Status, f.jobsFor(t, r.ID), required)
			}
		}
	}
}

func TestADecisionIsOnThePayloadShown(t *testing.T) {
	f := newFixture(t)
	r := f.file(t, "req", "dr_hash")
	_, err := f.svc.Decide(f.as("a1"), f.users["a1"], r.ID, portal.Approve, "", hex.EncodeToString(make([]byte, 32)), "")
	if apperr.KindOf(err) != apperr.Conflict {
		t.Fatalf("approval of another payload: %v", err)
	}
	if len(f.approvals(t, r.ID)) != 0 {
		t.Error("an approval of another payload was recorded")
	}
	a, err := f.decide("a1", r, portal.Approve, "ok")
	if err != nil || a.Status != portal.StatusApproved {
		t.Fatalf("approve: %v %s", err, a.Status)
	}
	rec := f.approvals(t, r.ID)
	if len(rec) != 1 || string(rec[0].PayloadSHA256) != string(portal.PayloadHash(r.Payload)) || rec[0].PolicyVersion != 1 {
		t.Errorf("approval %+v", rec)
	}
}

func TestRejectAndCancel(t *testing.T) {
	f := newFixture(t)
	r := f.file(t, "req", "dr_reject")
	if _, err := f.decide("a1", r, portal.Reject, " "); apperr.KindOf(err) != apperr.Invalid {
		t.Errorf("reject without a comment: %v", err)
	}
	got, err := f.decide("a1", r, portal.Reject, "wrong standby")
	if err != nil || got.Status != portal.StatusRejected {
		t.Fatalf("reject: %v %s", err, got.Status)
	}
	if _, err := f.decide("a2", r, portal.Approve, ""); apperr.KindOf(err) != apperr.Conflict {
		t.Errorf("approve after reject: %v", err)
	}
	if f.jobsFor(t, r.ID) != 0 {
		t.Error("a rejected request was enqueued")
	}

	c := f.file(t, "req", "dr_cancel")
	if _, err := f.svc.Cancel(f.as("admin"), f.users["admin"], c.ID, "not needed any more"); apperr.KindOf(err) != apperr.Forbidden {
		t.Errorf("cancel by someone else: %v", err)
	}
	if got, err := f.svc.Cancel(f.as("req"), f.users["req"], c.ID, ""); err != nil || got.Status != portal.StatusCancelled {
		t.Fatalf("cancel: %v %s", err, got.Status)
	}
	if _, err := f.svc.Cancel(f.as("req"), f.users["req"], c.ID, ""); apperr.KindOf(err) != apperr.Conflict {
		t.Errorf("cancel twice: %v", err)
	}
	if _, err := f.decide("a1", c, portal.Approve, ""); apperr.KindOf(err) != apperr.Conflict {
		t.Errorf("approve after cancel: %v", err)
	}
	// Once the executor has begun a request, it has started: it can no
	// longer be cancelled.
	ap := f.file(t, "req", "dr_approved")
	ap, err = f.decide("a1", ap, portal.Approve, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.BeginExecution(audit.WithActor(context.Background(), audit.System), ap); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Cancel(f.as("req"), f.users["req"], ap.ID, ""); apperr.KindOf(err) != apperr.Conflict ||
		!strings.Contains(err.Error(), "already started") {
		t.Errorf("cancel once executing: %v", err)
	}
	if _, err := f.svc.File(f.as("req"), f.users["req"], requests.Draft{Operation: portal.OpCreate, TaskName: "x",
		Payload: []byte("{}"), Justification: "  "}); apperr.KindOf(err) != apperr.Invalid {
		t.Errorf("filing without justification: %v", err)
	}
	if _, err := f.svc.File(f.as("a1"), f.users["a1"], requests.Draft{Operation: portal.OpCreate, TaskName: "x",
		Payload: []byte("{}"), Justification: "a reason long enough"}); apperr.KindOf(err) != apperr.Forbidden {
		t.Errorf("filing by a non-requester: %v", err)
	}
}

func TestPendingRequestsExpire(t *testing.T) {
	f := newFixture(t)
	r := f.file(t, "req", "dr_expire")
	keep := f.file(t, "req", "dr_keep")
	f.advance(7*24*time.Hour - time.Minute)
	if n, err := f.svc.ExpireDue(context.Background()); err != nil || n != 0 {
		t.Fatalf("before the deadline: %d, %v", n, err)
	}
	f.advance(2 * time.Minute)
	if got := r.EffectiveStatus(f.clock()); got != portal.StatusExpired {
		t.Errorf("shown as %s before the sweep", got)
	}
	if _, err := f.decide("a1", r, portal.Approve, ""); apperr.KindOf(err) != apperr.Conflict {
		t.Errorf("approving an expired request: %v", err)
	}
	n, err := f.svc.ExpireDue(context.Background())
	if err != nil || n != 2 {
		t.Fatalf("sweep: %d, %v", n, err)
	}
	for _, id := range []int64{r.ID, keep.ID} {
		got, _ := f.store.Request(context.Background(), id)
		if got.Status != portal.StatusExpired || got.FinishedAt == nil {
			t.Errorf("request %d: %s", id, got.Status)
		}
	}
	events, err := f.store.RequestTimeline(context.Background(), r.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	last := events[len(events)-1]
	if last.Action != audit.ActionRequestExpired || last.Actor.Name != "system" {
		t.Errorf("last event %s by %s", last.Action, last.Actor.Name)
	}
	if n, _ := f.svc.ExpireDue(context.Background()); n != 0 {
		t.Errorf("second sweep expired %d", n)
	}
}

func TestPolicyIsVersionedAndZeroMeansApprovedOnFiling(t *testing.T) {
	f := newFixture(t)
	old := f.file(t, "req", "dr_v1")
	approvals := map[portal.Operation]int{}
	for _, op := range portal.Operations {
		approvals[op] = 1
	}
	approvals[portal.OpCreate] = 0
	if p := f.setPolicy(t, approvals); p.Version < 2 {
		t.Fatalf("saved as version %d", p.Version)
	}
	r := f.file(t, "req", "dr_v2")
	if r.PolicyVersion < 2 || r.Status != portal.StatusApproved || f.jobsFor(t, r.ID) != 1 {
		t.Errorf("under the new policy: version %d, status %s, %d jobs", r.PolicyVersion, r.Status, f.jobsFor(t, r.ID))
	}
	got, _ := f.store.Request(context.Background(), old.ID)
	if got.PolicyVersion != 1 || got.RequiredApprovals != 1 || got.Status != portal.StatusPending {
		t.Errorf("the old request changed: %+v", got)
	}
}

// TestOnlyActiveApproversCount: an approval counts only while its approver
// is an active user with the approver role, when others decide and again
// right before the call.
func TestOnlyActiveApproversCount(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	two := map[portal.Operation]int{}
	for _, op := range portal.Operations {
		two[op] = 2
	}
	f.setPolicy(t, two)
	r := f.file(t, "req", "dr_quorum1")
	if _, err := f.decide("a1", r, portal.Approve, ""); err != nil {
		t.Fatal(err)
	}
	// a1 is no longer an approver: their approval no longer counts.
	if err := f.store.InTx(ctx, func(tx *db.Tx) error {
		return tx.SetRoles(ctx, f.users["a1"].ID, []portal.Role{portal.RoleRequester}, time.Now())
	}); err != nil {
		t.Fatal(err)
	}
	got, err := f.decide("a2", r, portal.Approve, "")
	if err != nil || got.Status != portal.StatusPending {
		t.Fatalf("after a stripped approver and one more: %s %v; want still pending", got.Status, err)
	}
	got, err = f.decide("a3", r, portal.Approve, "")
	if err != nil || got.Status != portal.StatusApproved {
		t.Fatalf("after two active approvers: %s %v", got.Status, err)
	}
	if err := f.svc.VerifyApproval(ctx, got); err != nil {
		t.Fatalf("the quorum before the call: %v", err)
	}
	// a2 is deactivated before the call: the executor finds too few.
	if err := f.store.InTx(ctx, func(tx *db.Tx) error { return tx.SetActive(ctx, f.users["a2"].ID, false, time.Now()) }); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.VerifyApproval(ctx, got); err == nil || !strings.Contains(err.Error(), "1 of the 2") {
		t.Errorf("the quorum before the call, a2 deactivated: %v", err)
	}
}

// TestAPolicyBelowTheFloorStillNeedsAnApproval: a stored policy from before
// the floor (0 for failover and delete) does not let a failover or delete
// be approved on filing, nor run with no approval on record.
func TestAPolicyBelowTheFloorStillNeedsAnApproval(t *testing.T) {
	f := newFixture(t)
	zero := map[portal.Operation]int{}
	for _, op := range portal.Operations {
		zero[op] = 0
	}
	f.setPolicy(t, zero)
	for _, op := range []portal.Operation{portal.OpSwitchover, portal.OpFailover, portal.OpRecovery, portal.OpDelete} {
		r, err := f.svc.File(f.as("req"), f.users["req"], requests.Draft{Operation: op, DRTaskID: "task-" + string(op),
			TaskName: "dr_floor", Method: "POST", Path: "/v2/p/disaster-recovery/task-" + string(op) + "/x",
			Payload: []byte(`{}`), Justification: "quarterly DR drill"})
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != portal.StatusPending || r.RequiredApprovals != 1 || f.jobsFor(t, r.ID) != 0 {
			t.Errorf("%s under a policy of 0: %s, needs %d, %d jobs", op, r.Status, r.RequiredApprovals, f.jobsFor(t, r.ID))
		}
		r.RequiredApprovals = 0 // as a request filed before the floor
		if err := f.svc.VerifyApproval(context.Background(), r); err == nil {
			t.Errorf("%s runs with no approval on record", op)
		}
	}
	start, err := f.svc.File(f.as("req"), f.users["req"], requests.Draft{Operation: portal.OpStart, DRTaskID: "task-start",
		TaskName: "dr_floor", Method: "POST", Path: "/v2/p/disaster-recovery/task-start/start", Payload: []byte(`{}`), Justification: "quarterly DR drill"})
	if err != nil || start.Status != portal.StatusApproved {
		t.Errorf("a start under a policy of 0 is still approved on filing: %s %v", start.Status, err)
	}
}

// TestADeactivatedRequestersRequestNeitherFilesNorRuns: a requester
// deactivated a moment ago cannot file (the session's copy of them is
// stale), and an approved request whose requester was deactivated before
// the call does not pass the check right before it.
func TestADeactivatedRequestersRequestNeitherFilesNorRuns(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r := f.file(t, "req", "dr_deact")
	got, err := f.decide("a1", r, portal.Approve, "")
	if err != nil || got.Status != portal.StatusApproved {
		t.Fatalf("approve: %s %v", got.Status, err)
	}
	if err := f.store.InTx(ctx, func(tx *db.Tx) error { return tx.SetActive(ctx, f.users["req"].ID, false, time.Now()) }); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.VerifyApproval(ctx, got); err == nil || !strings.Contains(err.Error(), "deactivated") {
		t.Errorf("an approved request of a deactivated requester passes the check before the call: %v", err)
	}
	_, err = f.svc.File(f.as("req"), f.users["req"], requests.Draft{Operation: portal.OpCreate, TaskName: "dr_deact2",
		Method: "POST", Path: "/v2/p/disaster-recoveries", Payload: []byte(`{}`), Justification: "quarterly DR drill"})
	if apperr.KindOf(err) != apperr.Forbidden {
		t.Errorf("a deactivated requester filed a request: %v", err)
	}
}

// The header's count of requests that can run (one query, CountRunnable)
// agrees with CannotRunEach, which the request pages use, whatever the
// task's state: a failover on a running task runs only with its primary
// faulty, one on a gone task never, a stop on a stopped task never.
func TestTheRunnableCountAgreesWithCannotRun(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	task := func(id string, st portal.TaskStatus, primary string) {
		t.Helper()
		if err := f.store.UpsertTaskDetail(ctx, portal.Task{ID: id, Name: "dr_" + id[:4], Status: st,
			Primary: portal.TaskSide{ID: "p", Status: primary}}, f.clock()); err != nil {
			t.Fatal(err)
		}
	}
	const healthy, faulty, stopped, gone = "aaaaaaaa-0000-4000-8000-000000000001", "bbbbbbbb-0000-4000-8000-000000000002",
		"cccccccc-0000-4000-8000-000000000003", "dddddddd-0000-4000-8000-000000000004"
	task(healthy, portal.TaskRunning, "waiting")
	task(faulty, portal.TaskRunning, "abnormal")
	task(stopped, portal.TaskStopped, "stopped")
	task(gone, portal.TaskStopped, "stopped")
	for _, d := range []struct {
		op   portal.Operation
		task string
	}{{portal.OpFailover, healthy}, {portal.OpFailover, faulty}, {portal.OpStop, stopped}, {portal.OpStart, stopped}, {portal.OpStart, gone}} {
		if _, err := f.svc.File(f.as("req"), f.users["req"], requests.Draft{Operation: d.op, DRTaskID: d.task, TaskName: "dr_x",
			Method: "POST", Path: "/v2/p/disaster-recovery/x/" + string(d.op), Justification: "quarterly DR drill"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.store.MarkTaskGone(ctx, gone, f.clock()); err != nil {
		t.Fatal(err)
	}
	filter := db.RequestFilter{Status: portal.StatusPending}
	rs, err := f.store.ListRequests(ctx, filter, 100)
	if err != nil {
		t.Fatal(err)
	}
	// The request page's rule, one request at a time, from the whole task.
	blocked := map[int64]string{}
	for _, r := range rs {
		why, err := f.svc.CannotRun(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if why != "" {
			blocked[r.ID] = why
		}
	}
	each, err := f.svc.CannotRunEach(ctx, rs)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(each, blocked) {
		t.Errorf("the lists' reasons %v, the request pages' %v", each, blocked)
	}
	_, states, _, err := f.store.ListRequestsWithStates(ctx, filter, 100)
	if err != nil {
		t.Fatal(err)
	}
	if n := requests.CountRunnable(states); len(rs) != 5 || n != len(rs)-len(blocked) || n != 2 {
		t.Errorf("%d requests, %d cannot run (%v); CountRunnable says %d run, want 2 (the faulty failover and the start)", len(rs), len(blocked), blocked, n)
	}
}

// Text people read to decide is refused with invisible control or
// text-direction characters: a justification, a break-glass reason, a
// freeze's reason.
func TestFreeTextWithHiddenCharactersIsRefused(t *testing.T) {
	if requests.CheckJustification("CHG-1234: protect the sales warehouse") != "" {
		t.Fatal("a plain justification is refused")
	}
	for _, s := range []string{"CHG-1234: protect \x1b[2J the warehouse", "CHG-1234: protect the \u202ewarehouse"} {
		if requests.CheckJustification(s) == "" {
			t.Errorf("justification %q accepted", s)
		}
		if requests.CheckReason(s) == "" {
			t.Errorf("break-glass reason %q accepted", s)
		}
	}
	now := time.Now()
	if err := (portal.Freeze{Reason: "year-end \u202eclose", Start: now, End: now.Add(time.Hour)}).Validate(); err == nil {
		t.Error("a freeze reason with a text-direction override accepted")
	}
}

// One admin adds a freeze at once and lifting it takes two: a freeze
// lasts at most 90 days.
func TestAFreezeLastsAtMostNinetyDays(t *testing.T) {
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	if err := (portal.Freeze{Reason: "year-end close", Start: start, End: start.Add(portal.MaxFreeze)}).Validate(); err != nil {
		t.Errorf("a 90-day freeze refused: %v", err)
	}
	if err := (portal.Freeze{Reason: "forever", Start: start, End: time.Date(9999, 12, 31, 23, 59, 0, 0, time.UTC)}).Validate(); err == nil {
		t.Error("a freeze to the year 9999 accepted")
	}
}
