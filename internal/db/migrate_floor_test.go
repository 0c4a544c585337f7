package db_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"drportal/internal/db"
	"drportal/internal/portal"
	"drportal/internal/testdb"
	"drportal/migrations"
)

// TestMigrationRaisesAPolicyBelowTheFloor: a policy saved before migration
// 7 with no approval for failover and delete is followed, after it, by a
// version that needs one, other numbers kept; existing roles date from
// their account's creation.
func TestMigrationRaisesAPolicyBelowTheFloor(t *testing.T) {
	ctx := context.Background()
	pool := testdb.New(t)
	sqlDB := stdlib.OpenDBFromPool(pool)
	defer sqlDB.Close()
	provider, err := goose.NewProvider(goose.DialectPostgres, sqlDB, migrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provider.DownTo(ctx, 6); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO approval_policies (version, approvals, pending_ttl_seconds, approval_ttl_seconds)
		VALUES (2, '{"create":0,"start":0,"stop":0,"update":0,"switchover":3,"failover":0,"recovery":1,"delete":0}', 3600, 600)`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `WITH u AS (INSERT INTO users (email, display_name, created_at)
		VALUES ('old@example.com', 'old', '2025-01-02T03:04:05Z') RETURNING id)
		INSERT INTO user_roles (user_id, role) SELECT id, 'approver' FROM u`); err != nil {
		t.Fatal(err)
	}
	if _, err := provider.Up(ctx); err != nil {
		t.Fatal(err)
	}
	store := db.New(pool)
	p, err := store.CurrentPolicy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A policy from before drills reads a drill's count as its switchover's.
	want := map[portal.Operation]int{"create": 0, "start": 0, "stop": 0, "update": 0, "switchover": 3, "failover": 1, "recovery": 1, "delete": 1,
		"drill": 3}
	if p.Version != 3 || len(p.Approvals) != len(want) {
		t.Fatalf("policy after the migration: %+v", p)
	}
	for op, n := range want {
		if p.Approvals[op] != n {
			t.Errorf("%s needs %d, want %d", op, p.Approvals[op], n)
		}
	}
	u, err := store.UserByEmail(ctx, "old@example.com")
	if err != nil || !u.ApproverSince.Equal(u.CreatedAt) {
		t.Errorf("an existing approver's role dates from %v, account made %v (%v)", u.ApproverSince, u.CreatedAt, err)
	}
	// Down and up again: the migration can be undone.
	if _, err := provider.DownTo(ctx, 6); err != nil {
		t.Fatal(err)
	}
	if _, err := provider.Up(ctx); err != nil {
		t.Fatal(err)
	}
}
