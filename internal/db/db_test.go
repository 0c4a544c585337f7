package db_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/db"
	"drportal/internal/portal"
	"drportal/internal/testdb"
)

func TestMain(m *testing.M) {
	// TestTwoProcessesKeepOneChain starts this binary again as a second
	// portal process that only appends.
	if url := os.Getenv("DRPORTAL_APPENDER_URL"); url != "" {
		if err := appendFromAnotherProcess(url); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(testdb.Run(m))
}

// newStore is a store on pool with its group commit, as the portal runs it.
func newStore(t *testing.T, pool *pgxpool.Pool) *db.Store {
	store := db.New(pool)
	appender := audit.NewAppender(store)
	appender.Start(t.Context())
	t.Cleanup(appender.Close)
	store.SetAppender(appender)
	return store
}

func event(action string) audit.Event {
	return audit.Event{OccurredAt: time.Now(), Actor: audit.System, Action: action, Outcome: audit.Info,
		Detail: audit.Detail(map[string]any{"n": action})}
}

func TestAuditAppendsFormOneChain(t *testing.T) {
	ctx := context.Background()
	store := newStore(t, testdb.New(t))
	const writers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if _, err := store.AppendAudit(ctx, event(fmt.Sprintf("test.w%d.e%d", w, i))); err != nil {
					errs <- err
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	rep, err := audit.VerifyChain(ctx, store, 0, 0)
	if err != nil || rep.BrokenAt != 0 || rep.Checked != writers*each {
		t.Fatalf("verify: %+v, %v", rep, err)
	}
	events, err := store.ListAudit(ctx, db.AuditFilter{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range events {
		if want := int64(writers*each - i); e.ID != want {
			t.Fatalf("event %d has id %d, want %d (no gaps, newest first)", i, e.ID, want)
		}
	}
}

func TestAuditIsAppendOnly(t *testing.T) {
	ctx := context.Background()
	pool := testdb.New(t)
	store := db.New(pool)
	if _, err := store.AppendAudit(ctx, event("test.one")); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`UPDATE audit_events SET action = 'x'`,
		`DELETE FROM audit_events`,
		`TRUNCATE audit_events`,
	} {
		_, err := pool.Exec(ctx, stmt)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
			t.Errorf("%s: %v, want the append-only trigger's refusal", stmt, err)
		}
	}
}

// tamper runs SQL behind the portal's back, with the append-only trigger
// off, as someone with the table owner's rights could.
func tamper(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	for _, stmt := range []string{`ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete`, sql,
		`ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update_delete`} {
		a := args
		if stmt != sql {
			a = nil
		}
		if _, err := tx.Exec(ctx, stmt, a...); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyFindsTheFirstBrokenLink(t *testing.T) {
	cases := []struct {
		name    string
		sql     string
		broken  int64
		problem string
	}{
		{"changed detail", `UPDATE audit_events SET detail = '{"n":"forged"}' WHERE id = 6`, 6, "content was changed"},
		{"changed actor", `UPDATE audit_events SET actor_name = 'someone else' WHERE id = 3`, 3, "content was changed"},
		{"deleted row", `DELETE FROM audit_events WHERE id = 4`, 4, "missing"},
		{"reordered rows", `UPDATE audit_events a SET occurred_at = b.occurred_at, action = b.action, detail = b.detail,
			prev_hash = b.prev_hash, hash = b.hash FROM audit_events b WHERE (a.id, b.id) IN ((2, 3), (3, 2))`, 2, ""},
		{"recomputed own hash", "", 5, "does not link"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			pool := testdb.New(t)
			store := db.New(pool)
			for i := 0; i < 10; i++ {
				if _, err := store.AppendAudit(ctx, event(fmt.Sprintf("test.e%d", i))); err != nil {
					t.Fatal(err)
				}
			}
			switch tc.sql {
			case "":
				// A forger who rewrites an event and recomputes its own
				// hash still breaks the link to the next one.
				evs, _ := store.ListAudit(ctx, db.AuditFilter{After: 4, Before: 6}, 1)
				e := evs[0]
				e.Detail = []byte(`{"n":"forged"}`)
				e.Hash = audit.ChainHash(e.PrevHash, e)
				tamper(t, pool, `UPDATE audit_events SET detail = $1, hash = $2 WHERE id = 5`, string(e.Detail), e.Hash)
				tc.broken = 6
			default:
				tamper(t, pool, tc.sql)
			}
			rep, err := audit.VerifyChain(ctx, store, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			if rep.BrokenAt != tc.broken || !strings.Contains(rep.Problem, tc.problem) {
				t.Errorf("broken at %d (%s), want %d (%s)", rep.BrokenAt, rep.Problem, tc.broken, tc.problem)
			}
		})
	}
}

func TestStateChangeAndAuditCommitTogether(t *testing.T) {
	ctx := context.Background()
	store := db.New(testdb.New(t))
	boom := errors.New("boom")
	err := store.InTx(ctx, func(tx *db.Tx) error {
		if _, err := tx.CreateUser(ctx, "ana@example.com", "ana", "", []portal.Role{portal.RoleRequester}); err != nil {
			return err
		}
		if _, err := tx.AppendAudit(ctx, event("test.user")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if _, err := store.UserByEmail(ctx, "ana@example.com"); apperr.KindOf(err) != apperr.NotFound {
		t.Errorf("user survived a rolled-back transaction: %v", err)
	}
	if ev, _ := store.ListAudit(ctx, db.AuditFilter{}, 10); len(ev) != 0 {
		t.Errorf("audit event survived a rolled-back transaction: %+v", ev)
	}
	// The chain continues from the last committed event.
	if e, err := store.AppendAudit(ctx, event("test.after")); err != nil || e.ID != 1 {
		t.Errorf("next event id %d, %v", e.ID, err)
	}
}

// TestATransactionTakesTheChainLockOnlyToCommit: a transaction that records
// its audit event early and then does other work (as filing a request
// inserts jobs after its event) does not hold the chain lock meanwhile, so
// other transactions append and commit in between.
func TestATransactionTakesTheChainLockOnlyToCommit(t *testing.T) {
	ctx := context.Background()
	store := db.New(testdb.New(t))
	inside, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- store.InTx(ctx, func(tx *db.Tx) error {
			if _, err := tx.AppendAudit(ctx, event("test.first")); err != nil {
				return err
			}
			close(inside)
			<-release
			_, err := tx.CreateUser(ctx, "ana@example.com", "ana", "", []portal.Role{portal.RoleRequester})
			return err
		})
	}()
	<-inside
	// Were the lock taken at the AppendAudit call, this append would wait for
	// the first transaction, which waits for release: lock_timeout turns
	// that deadlock into a failure.
	err := store.InTx(ctx, func(tx *db.Tx) error {
		if _, err := tx.Pgx().Exec(ctx, `SET LOCAL lock_timeout = '10s'`); err != nil {
			return err
		}
		_, err := tx.AppendAudit(ctx, event("test.second"))
		return err
	})
	close(release)
	if err != nil {
		t.Errorf("a second transaction could not append while the first was open: %v", err)
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	evs, err := store.ListAudit(ctx, db.AuditFilter{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, fmt.Sprintf("%d %s", e.ID, e.Action))
	}
	if fmt.Sprint(got) != "[2 test.first 1 test.second]" {
		t.Errorf("events %q: the first transaction's event should be chained at its commit, after the second's", got)
	}
	if _, err := store.UserByEmail(ctx, "ana@example.com"); err != nil {
		t.Errorf("the first transaction's other work: %v", err)
	}
	if rep, err := audit.VerifyChain(ctx, store, 0, 0); err != nil || rep.BrokenAt != 0 || rep.Checked != 2 {
		t.Errorf("verify: %+v %v", rep, err)
	}
}

func TestATransactionRefusesABadEventAtOnce(t *testing.T) {
	ctx := context.Background()
	store := db.New(testdb.New(t))
	var callErr error
	err := store.InTx(ctx, func(tx *db.Tx) error {
		_, callErr = tx.AppendAudit(ctx, audit.Event{Actor: audit.System, Action: "test.bad", Outcome: "perhaps"})
		return nil
	})
	if callErr == nil || !strings.Contains(callErr.Error(), "unknown outcome") || err != nil {
		t.Errorf("AppendAudit: %v; InTx: %v", callErr, err)
	}
	if evs, _ := store.ListAudit(ctx, db.AuditFilter{}, 10); len(evs) != 0 {
		t.Errorf("a refused event was written: %+v", evs)
	}
}

// A task the list no longer has is not marked gone by the list alone: it is
// due for a detail read at once, whose "no such DR task" (confirmed by a
// list) marks it gone (drtask.confirmGone).
func TestTaskListSyncReadsMissingTasksAtOnce(t *testing.T) {
	ctx := context.Background()
	store := db.New(testdb.New(t))
	now := time.Now().UTC().Truncate(time.Microsecond)
	a := portal.TaskSummary{ID: "11111111-1111-1111-1111-111111111111", Name: "dr_a", Status: "running", Raw: []byte(`{}`)}
	b := portal.TaskSummary{ID: "22222222-2222-2222-2222-222222222222", Name: "dr_b", Status: "unstart", Raw: []byte(`{}`)}
	if err := store.SyncTaskList(ctx, []portal.TaskSummary{a, b}, now); err != nil {
		t.Fatal(err)
	}
	if err := store.SchedulePoll(ctx, b.ID, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := store.SyncTaskList(ctx, []portal.TaskSummary{a}, now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	rows, err := store.ListTasks(ctx)
	if err != nil || len(rows) != 2 {
		t.Fatalf("rows %+v, %v", rows, err)
	}
	missing, err := store.Task(ctx, b.ID)
	if err != nil || missing.GoneAt != nil || missing.NextPollAt == nil || !missing.NextPollAt.Equal(now.Add(time.Second)) {
		t.Errorf("b: gone %v, next read %v (%v)", missing.GoneAt, missing.NextPollAt, err)
	}
	due, err := store.DueForPoll(ctx, now.Add(time.Second), time.Minute, 50)
	if err != nil || !slices.ContainsFunc(due, func(r db.TaskRow) bool { return r.ID == b.ID }) {
		t.Errorf("b is not due for a read: %+v %v", due, err)
	}
	last, err := store.LastSync(ctx, db.SyncTaskList)
	if err != nil || last == nil || !last.Equal(now.Add(time.Second)) {
		t.Errorf("last sync %v, %v", last, err)
	}
}

func TestAuditTimeNeverGoesBackAndFiltersWork(t *testing.T) {
	ctx := context.Background()
	store := db.New(testdb.New(t))
	base := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	for i, at := range []time.Duration{0, time.Minute, 30 * time.Second, 2 * time.Minute} {
		e := event(fmt.Sprintf("test.t%d", i))
		e.OccurredAt = base.Add(at)
		e.Outcome = audit.Success
		if i == 2 {
			e.Outcome = audit.Failure
			e.Detail = audit.Detail(map[string]any{"note": "disk quota exceeded on standby"})
		}
		if _, err := store.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	all, _ := store.ListAudit(ctx, db.AuditFilter{}, 10)
	for i := 0; i+1 < len(all); i++ {
		if all[i].OccurredAt.Before(all[i+1].OccurredAt) {
			t.Errorf("event %d is older than event %d", all[i].ID, all[i+1].ID)
		}
	}
	ids := func(f db.AuditFilter) []int64 {
		evs, err := store.ListAudit(ctx, f, 10)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, e := range evs {
			out = append(out, e.ID)
		}
		return out
	}
	if got := fmt.Sprint(ids(db.AuditFilter{From: base.Add(time.Minute), To: base.Add(2 * time.Minute)})); got != "[3 2]" {
		t.Errorf("time range: %s", got)
	}
	if got := fmt.Sprint(ids(db.AuditFilter{From: base.Add(time.Hour)})); got != "[]" {
		t.Errorf("future range: %s", got)
	}
	if got := fmt.Sprint(ids(db.AuditFilter{Outcome: "failure"})); got != "[3]" {
		t.Errorf("outcome: %s", got)
	}
	if got := fmt.Sprint(ids(db.AuditFilter{Query: "quota standby"})); got != "[3]" {
		t.Errorf("free text: %s", got)
	}
	if got := fmt.Sprint(ids(db.AuditFilter{Query: `"quota exceeded" -disk`})); got != "[]" {
		t.Errorf("free text with exclusion: %s", got)
	}
}

// TestPagingSeesEveryEventOnceWhileEventsArrive pages back through the
// history with keyset links while another writer keeps appending.
func TestPagingSeesEveryEventOnceWhileEventsArrive(t *testing.T) {
	ctx := context.Background()
	store := newStore(t, testdb.New(t))
	for i := 0; i < 230; i++ {
		if _, err := store.AppendAudit(ctx, event("test.old")); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				_, _ = store.AppendAudit(ctx, event("test.new"))
			}
		}
	}()
	seen := map[int64]int{}
	var before int64
	first := true
	for {
		f := db.AuditFilter{Action: "test.old", Before: before}
		page, err := store.ListAudit(ctx, f, 25)
		if err != nil {
			t.Fatal(err)
		}
		if first && len(page) != 25 {
			t.Fatalf("first page has %d events", len(page))
		}
		first = false
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			seen[e.ID]++
		}
		before = page[len(page)-1].ID
	}
	close(stop)
	wg.Wait()
	if len(seen) != 230 {
		t.Errorf("saw %d distinct events, want 230", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("event %d seen %d times", id, n)
		}
	}
}

// appendFromAnotherProcess appends 150 events as a separate process would.
func appendFromAnotherProcess(url string) error {
	pool, err := db.Open(context.Background(), url)
	if err != nil {
		return err
	}
	defer pool.Close()
	store := db.New(pool)
	appender := audit.NewAppender(store)
	appender.Start(context.Background())
	defer appender.Close()
	store.SetAppender(appender)
	for i := 0; i < 150; i++ {
		if _, err := store.AppendAudit(context.Background(), event(fmt.Sprintf("test.proc.%d", os.Getpid()))); err != nil {
			return err
		}
	}
	return nil
}

func TestTwoProcessesKeepOneChain(t *testing.T) {
	url := testdb.NewURL(t)
	var cmds []*exec.Cmd
	for i := 0; i < 2; i++ {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), "DRPORTAL_APPENDER_URL="+url)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	pool, err := db.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	store := newStore(t, pool)
	for i := 0; i < 100; i++ {
		if _, err := store.AppendAudit(context.Background(), event("test.here")); err != nil {
			t.Fatal(err)
		}
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("appender process: %v", err)
		}
	}
	rep, err := audit.VerifyChain(context.Background(), store, 0, 0)
	if err != nil || rep.BrokenAt != 0 || rep.Checked != 400 {
		t.Fatalf("after two processes and this one: %+v %v", rep, err)
	}
}
