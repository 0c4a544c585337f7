package db_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"drportal/internal/db"
	"drportal/internal/testdb"
)

// TestExportClaimsAtOnceGetNoMoreThanTheBurst: exports claimed at the same
// moment, as from several tabs or replicas, get no more than the burst
// between them; the refused ones learn when the next is allowed (one
// interval after the first), and a refusal changes nothing.
func TestExportClaimsAtOnceGetNoMoreThanTheBurst(t *testing.T) {
	ctx := context.Background()
	store := db.New(testdb.New(t))
	var user int64
	if err := store.Pool().QueryRow(ctx, `INSERT INTO users (email, display_name) VALUES ('x@example.com', 'x') RETURNING id`).
		Scan(&user); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	const burst, tries = 5, 20
	var allowed atomic.Int32
	var wg sync.WaitGroup
	froms := make(chan time.Time, tries)
	for range tries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, from, err := store.ClaimExport(ctx, user, now, time.Minute, burst)
			if err != nil {
				t.Error(err)
				return
			}
			if ok {
				allowed.Add(1)
			} else {
				froms <- from
			}
		}()
	}
	wg.Wait()
	close(froms)
	if n := allowed.Load(); n != burst {
		t.Fatalf("%d of %d exports claimed at once went ahead; want %d", n, tries, burst)
	}
	for from := range froms {
		if !from.Equal(now.Add(time.Minute)) {
			t.Errorf("a refused export may go ahead from %v; want %v", from, now.Add(time.Minute))
		}
	}
	if ok, _, _ := store.ClaimExport(ctx, user, now.Add(59*time.Second), time.Minute, burst); ok {
		t.Error("an export before the minute went ahead")
	}
	if ok, _, _ := store.ClaimExport(ctx, user, now.Add(time.Minute), time.Minute, burst); !ok {
		t.Error("an export a minute later was refused")
	}
}
