package main

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"drportal/internal/auth"
	"drportal/internal/db"
	"drportal/internal/testdb"
)

// TestHousekeepingForgetsTheOperationFormsReadLimitsOfADayAgo: the rows
// that space an operation form's live reads (one per person and task) are
// deleted by the housekeeping once their last read is more than a day old,
// or released; a recent one is kept, so is the limit of the cluster list,
// which is not a form's.
func TestHousekeepingForgetsTheOperationFormsReadLimitsOfADayAgo(t *testing.T) {
	store := db.New(testdb.New(t))
	ctx := context.Background()
	now := time.Now()
	claim := func(name string, at time.Time) {
		t.Helper()
		if ok, _, err := store.ClaimSyncRequest(ctx, name, at, 15*time.Second); err != nil || !ok {
			t.Fatalf("claim %s: %v %v", name, ok, err)
		}
	}
	claim(db.SyncOperationForm+"1/old", now.Add(-25*time.Hour))
	claim(db.SyncOperationForm+"1/recent", now.Add(-time.Hour))
	claim(db.SyncOperationForm+"2/released", now.Add(-time.Hour))
	if err := store.ReleaseSyncRequest(ctx, db.SyncOperationForm+"2/released"); err != nil {
		t.Fatal(err)
	}
	claim(db.SyncClusterList, now.Add(-25*time.Hour))

	housekeep(ctx, store, &auth.Service{Store: store, Now: func() time.Time { return now }}, time.Hour, now, slog.New(slog.DiscardHandler))

	rows, err := store.Pool().Query(ctx, `SELECT name FROM cloud_syncs ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{db.SyncClusterList, db.SyncOperationForm + "1/recent"}; !slices.Equal(names, want) {
		t.Errorf("after the housekeeping cloud_syncs holds %q; want %q", names, want)
	}
}
