package audit_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/auth"
	"drportal/internal/db"
	"drportal/internal/portal"
	"drportal/internal/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Run(m)) }

// archivist is the user as the portal's authorisation sees them.
func archivist(u portal.User) audit.Archivist {
	return audit.Archivist{ID: u.ID, Admin: u.Active && u.Has(auth.RoleAdmin)}
}

func TestArchiveKeepsTheChainVerifiable(t *testing.T) {
	ctx := context.Background()
	pool := testdb.New(t)
	store := db.New(pool)
	var admin, viewer portal.User
	err := store.InTx(ctx, func(tx *db.Tx) error {
		var err error
		if admin, err = tx.CreateUser(ctx, "admin@example.com", "admin", "", auth.AllRoles); err != nil {
			return err
		}
		viewer, err = tx.CreateUser(ctx, "aud@example.com", "aud", "", []portal.Role{auth.RoleAuditor})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	old := now.Add(-100 * 24 * time.Hour)
	for i := 0; i < 30; i++ {
		at := old
		if i >= 20 {
			at = now
		}
		e := audit.Event{OccurredAt: at, Actor: audit.System, Action: fmt.Sprintf("test.e%d", i), Outcome: audit.Info}
		if _, err := store.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	svc := &audit.Service{Store: store, Now: func() time.Time { return now }, ArchiveDir: t.TempDir()}
	actx := audit.WithActor(ctx, audit.Actor{ID: admin.ID, Name: admin.Email})

	if _, err := svc.Archive(ctx, archivist(viewer), 90*24*time.Hour); apperr.KindOf(err) != apperr.Forbidden {
		t.Errorf("archive by an auditor: %v", err)
	}
	if cps, _ := store.Checkpoints(ctx); len(cps) != 0 {
		t.Errorf("a refused archive left checkpoints: %+v", cps)
	}
	res, err := svc.Archive(actx, archivist(admin), 90*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if res.FirstID != 1 || res.LastID != 20 || res.Events != 20 {
		t.Fatalf("archived %+v", res)
	}
	// The file verifies offline and holds exactly what left the table.
	f, err := os.Open(res.File)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := audit.VerifyFile(f)
	f.Close()
	if err != nil || rep.Problem != "" || rep.Events != 20 || !rep.Manifest.Contiguous {
		t.Fatalf("archive file: %+v %v", rep, err)
	}
	left, _ := store.ListAudit(ctx, db.AuditFilter{}, 100)
	if len(left) != 11 || left[len(left)-1].ID != 21 {
		t.Fatalf("%d events left, oldest %d", len(left), left[len(left)-1].ID)
	}
	// The rest still verifies from the checkpoint, and new events chain on.
	if _, err := store.AppendAudit(ctx, audit.Event{OccurredAt: now, Actor: audit.System, Action: "test.after", Outcome: audit.Info}); err != nil {
		t.Fatal(err)
	}
	chain, err := svc.Verify(actx, 0, 0)
	if err != nil || chain.BrokenAt != 0 || chain.FirstID != 21 {
		t.Errorf("after the archive: %+v %v", chain, err)
	}
	// Events are still not deletable by hand, archived range or not.
	for _, id := range []int64{21, 25} {
		_, err := pool.Exec(ctx, `DELETE FROM audit_events WHERE id = $1`, id)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
			t.Errorf("hand delete of %d: %v", id, err)
		}
	}
	if _, err := pool.Exec(ctx, `SELECT audit_delete_archived(25)`); err == nil {
		t.Error("the delete function removed events no checkpoint covers")
	}
	// A second archive of the same age finds nothing to do.
	if _, err := svc.Archive(actx, archivist(admin), 90*24*time.Hour); apperr.KindOf(err) != apperr.Invalid {
		t.Errorf("second archive: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(res.File)); len(entries) != 1 {
		t.Errorf("%d files in the archive dir", len(entries))
	}
}

func TestABrokenChainIsNotArchived(t *testing.T) {
	ctx := context.Background()
	pool := testdb.New(t)
	store := db.New(pool)
	var admin portal.User
	_ = store.InTx(ctx, func(tx *db.Tx) error {
		var err error
		admin, err = tx.CreateUser(ctx, "admin@example.com", "admin", "", auth.AllRoles)
		return err
	})
	old := time.Now().Add(-400 * 24 * time.Hour)
	for i := 0; i < 5; i++ {
		if _, err := store.AppendAudit(ctx, audit.Event{OccurredAt: old, Actor: audit.System, Action: "test.x", Outcome: audit.Info}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, `ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete;
		UPDATE audit_events SET action = 'test.y' WHERE id = 2;
		ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update_delete;`); err != nil {
		t.Fatal(err)
	}
	svc := &audit.Service{Store: store, Now: time.Now, ArchiveDir: t.TempDir()}
	if _, err := svc.Archive(ctx, archivist(admin), 30*24*time.Hour); apperr.KindOf(err) != apperr.Conflict {
		t.Fatalf("archive of a broken chain: %v", err)
	}
	if n, _ := store.ListAudit(ctx, db.AuditFilter{}, 10); len(n) != 5 {
		t.Errorf("%d events left", len(n))
	}
}

// TestTwoArchivesAtOnceKeepTheArchivedHistory: a double click on Archive
// runs one archive; the other is refused, and the committed checkpoint's
// file stays, complete.
func TestTwoArchivesAtOnceKeepTheArchivedHistory(t *testing.T) {
	ctx := context.Background()
	store := db.New(testdb.New(t))
	var admin portal.User
	if err := store.InTx(ctx, func(tx *db.Tx) error {
		var err error
		admin, err = tx.CreateUser(ctx, "admin@example.com", "admin", "", auth.AllRoles)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	for i := range 2000 {
		at := now.Add(-100 * 24 * time.Hour)
		if i >= 1900 {
			at = now
		}
		if _, err := store.AppendAudit(ctx, audit.Event{OccurredAt: at, Actor: audit.System, Action: fmt.Sprintf("test.e%d", i), Outcome: audit.Info}); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	svc := &audit.Service{Store: store, Now: func() time.Time { return now }, ArchiveDir: dir}
	actx := audit.WithActor(ctx, audit.Actor{ID: admin.ID, Name: admin.Email})
	var wg sync.WaitGroup
	errs := make([]error, 2)
	start := make(chan struct{})
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = svc.Archive(actx, archivist(admin), 90*24*time.Hour)
		}()
	}
	close(start)
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Fatalf("two archives at once: %v / %v; want exactly one to succeed", errs[0], errs[1])
	}
	cps, err := store.Checkpoints(ctx)
	if err != nil || len(cps) != 1 {
		t.Fatalf("checkpoints: %+v %v", cps, err)
	}
	path := filepath.Join(dir, cps[0].FileName)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the committed checkpoint's file is gone: %v", err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := audit.VerifyFile(f)
	if err != nil || rep.Problem != "" || rep.Events != 1900 {
		t.Errorf("the archived file: %+v %v", rep, err)
	}

	// Verify checks the archive's file too: the chain is broken at its
	// checkpoint once the file is missing or altered.
	if chain, err := svc.Verify(actx, 0, 0); err != nil || chain.BrokenAt != 0 {
		t.Fatalf("verify with the archive in place: %+v %v", chain, err)
	}
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if chain, err := svc.Verify(actx, 0, 0); err != nil || chain.BrokenAt != cps[0].ThroughID || !strings.Contains(chain.Problem, "cannot be read") {
		t.Errorf("verify with the archive file gone: %+v %v", chain, err)
	}
	if err := os.WriteFile(path, body[:len(body)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	if chain, err := svc.Verify(actx, 0, 0); err != nil || chain.BrokenAt != cps[0].ThroughID || !strings.Contains(chain.Problem, "does not verify") {
		t.Errorf("verify with half the archive file: %+v %v", chain, err)
	}
}
