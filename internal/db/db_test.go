package db_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/db"
	"drportal/internal/dws"
	"drportal/internal/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Run(m)) }

func event(action string) audit.Event {
	return audit.Event{OccurredAt: time.Now(), Actor: audit.System, Action: action, Outcome: audit.Info,
		Detail: audit.Detail(map[string]any{"n": action})}
}

func TestAuditAppendsFormOneChain(t *testing.T) {
	ctx := context.Background()
	store := db.New(testdb.New(t))
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
	broken, checked, err := store.VerifyAuditChain(ctx)
	if err != nil || broken != 0 || checked != writers*each {
		t.Fatalf("verify: broken %d, checked %d, %v", broken, checked, err)
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

func TestVerifyFindsTheFirstAlteredEvent(t *testing.T) {
	ctx := context.Background()
	pool := testdb.New(t)
	store := db.New(pool)
	for i := 0; i < 5; i++ {
		if _, err := store.AppendAudit(ctx, event(fmt.Sprintf("test.e%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	// Tamper behind the portal's back, with the trigger disabled.
	_, err := pool.Exec(ctx, `
		ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete;
		UPDATE audit_events SET detail = '{"n":"forged"}' WHERE id = 3;
		ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update_delete;`)
	if err != nil {
		t.Fatal(err)
	}
	broken, _, err := store.VerifyAuditChain(ctx)
	if err != nil || broken != 3 {
		t.Fatalf("broken at %d (%v), want 3", broken, err)
	}
}

func TestStateChangeAndAuditCommitTogether(t *testing.T) {
	ctx := context.Background()
	store := db.New(testdb.New(t))
	boom := errors.New("boom")
	err := store.InTx(ctx, func(tx *db.Tx) error {
		if _, err := tx.CreateUser(ctx, "ana@example.com", "ana", "", []string{"requester"}); err != nil {
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

func TestTaskListSyncMarksMissingTasksGone(t *testing.T) {
	ctx := context.Background()
	store := db.New(testdb.New(t))
	now := time.Now().UTC().Truncate(time.Microsecond)
	a := dws.TaskSummary{ID: "11111111-1111-1111-1111-111111111111", Name: "dr_a", Status: "running", Raw: []byte(`{}`)}
	b := dws.TaskSummary{ID: "22222222-2222-2222-2222-222222222222", Name: "dr_b", Status: "unstart", Raw: []byte(`{}`)}
	if err := store.SyncTaskList(ctx, []dws.TaskSummary{a, b}, now); err != nil {
		t.Fatal(err)
	}
	if err := store.SyncTaskList(ctx, []dws.TaskSummary{a}, now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	rows, err := store.ListTasks(ctx)
	if err != nil || len(rows) != 1 || rows[0].ID != a.ID || rows[0].Managed {
		t.Fatalf("rows %+v, %v", rows, err)
	}
	gone, err := store.Task(ctx, b.ID)
	if err != nil || gone.GoneAt == nil {
		t.Errorf("b not marked gone: %+v %v", gone, err)
	}
	last, err := store.LastSync(ctx, db.SyncTaskList)
	if err != nil || last == nil || !last.Equal(now.Add(time.Second)) {
		t.Errorf("last sync %v, %v", last, err)
	}
}
