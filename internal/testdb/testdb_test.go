package testdb

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestMain(m *testing.M) { os.Exit(Run(m)) }

// insertAuditEvent adds a minimal valid row: the append-only trigger fires
// per row, so DELETE on an empty table would prove nothing.
func insertAuditEvent(t *testing.T, pool *pgxpool.Pool, action string) {
	t.Helper()
	_, err := pool.Exec(context.Background(), `
		INSERT INTO audit_events (id, occurred_at, actor_name, action, outcome, prev_hash, hash)
		VALUES (1, now(), 'test', $1, 'info', decode(repeat('00', 32), 'hex'), decode(repeat('11', 32), 'hex'))`, action)
	if err != nil {
		t.Fatal(err)
	}
}

func TestNewDatabasesAreMigratedAndIsolated(t *testing.T) {
	ctx := context.Background()
	a, b := New(t), New(t)

	insertAuditEvent(t, a, "only-in-a")
	var inB int
	if err := b.QueryRow(ctx, "SELECT count(*) FROM audit_events").Scan(&inB); err != nil {
		t.Fatal(err)
	}
	if inB != 0 {
		t.Fatalf("database b sees %d audit events written to a", inB)
	}
	var nameA, nameB string
	if err := a.QueryRow(ctx, "SELECT current_database()").Scan(&nameA); err != nil {
		t.Fatal(err)
	}
	if err := b.QueryRow(ctx, "SELECT current_database()").Scan(&nameB); err != nil {
		t.Fatal(err)
	}
	if nameA == nameB {
		t.Fatalf("both pools use database %s", nameA)
	}

	// The migration's trigger is there: audit history cannot be deleted.
	_, err := a.Exec(ctx, "DELETE FROM audit_events")
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
		t.Fatalf("DELETE FROM audit_events: err = %v, want insufficient_privilege from the append-only trigger", err)
	}
	var version int64
	if err := a.QueryRow(ctx, "SELECT max(version_id) FROM goose_db_version").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version < 1 {
		t.Fatalf("goose version %d, want migrations applied", version)
	}
}

func TestDatabasesAreDroppedAtCleanup(t *testing.T) {
	ctx := context.Background()
	var name, url string
	outer := t
	t.Run("uses a database", func(t *testing.T) {
		pool := New(t)
		url = NewURL(t)
		if err := pool.QueryRow(ctx, "SELECT current_database()").Scan(&name); err != nil {
			t.Fatal(err)
		}
		// NewURL's database accepts connections while the test runs.
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		// Left open until the parent test ends: the drop must disconnect it.
		outer.Cleanup(func() { _ = conn.Close(context.Background()) })
	})

	s := get(t)
	var left int
	err := s.admin.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1 OR datname = $2",
		name, databaseOf(t, url)).Scan(&left)
	if err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Fatalf("%d test databases still exist after cleanup", left)
	}
	var templates int
	if err := s.admin.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1 AND datistemplate", s.template).Scan(&templates); err != nil {
		t.Fatal(err)
	}
	if templates != 1 {
		t.Fatalf("template %s missing", s.template)
	}
}

func TestWithDatabase(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:p@h:5432/postgres?sslmode=disable":          "postgres://u:p@h:5432/x?sslmode=disable",
		"postgres://postgres@/postgres?host=%2Ftmp%2Fs&port=5432": "postgres://postgres@/x?host=%2Ftmp%2Fs&port=5432",
		"host=h user=u dbname=postgres":                           "host=h user=u dbname=postgres dbname=x",
	} {
		got := withDatabase(in, "x")
		if got != want {
			t.Errorf("withDatabase(%q) = %q, want %q", in, got, want)
		}
		cfg, err := pgx.ParseConfig(got)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Database != "x" {
			t.Errorf("%q parses to database %q", got, cfg.Database)
		}
	}
}

func databaseOf(t *testing.T, connString string) string {
	t.Helper()
	cfg, err := pgx.ParseConfig(connString)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Database
}

// BenchmarkDatabase measures what each test pays for its database: the copy
// of the template and the drop at cleanup.
func BenchmarkDatabase(b *testing.B) {
	s := get(b)
	ctx := context.Background()
	var create, drop time.Duration
	for b.Loop() {
		start := time.Now()
		name, err := s.createDatabase(ctx)
		if err != nil {
			b.Fatal(err)
		}
		create += time.Since(start)
		start = time.Now()
		if err := s.dropDatabase(ctx, name); err != nil {
			b.Fatal(err)
		}
		drop += time.Since(start)
	}
	b.ReportMetric(float64(create.Microseconds())/float64(b.N)/1000, "ms/create")
	b.ReportMetric(float64(drop.Microseconds())/float64(b.N)/1000, "ms/drop")
}
