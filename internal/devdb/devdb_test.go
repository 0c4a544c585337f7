package devdb

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"drportal/internal/localpg"
)

func TestOpenUsesLocalBinaries(t *testing.T) {
	if _, err := localpg.FindBinaries(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	parent, err := os.MkdirTemp("", "devdb-test-")
	if err != nil {
		t.Fatal(err)
	}
	// Enterable by the postgres account when the tests run as root.
	if err := os.Chmod(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(parent, ".data", "postgres")
	t.Cleanup(func() {
		_ = localpg.StopDir(context.Background(), dir) // in case the test failed half-way
		_ = os.RemoveAll(parent)
	})
	ctx := context.Background()

	connString, describe, stop, err := Open(ctx, dir, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stop(ctx) })
	if !strings.HasPrefix(describe, "started local PostgreSQL 15 in "+dir) {
		t.Errorf("describe = %q", describe)
	}
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		t.Fatal(err)
	}
	var database string
	err = conn.QueryRow(ctx, "SELECT current_database()").Scan(&database)
	conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if database != Database {
		t.Errorf("connected to %q, want %q", database, Database)
	}

	// A second `make run` while the first still runs shares its server.
	again, describeAgain, stopAgain, err := Open(ctx, dir, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	if again != connString || !strings.HasPrefix(describeAgain, "reused running local PostgreSQL") {
		t.Errorf("second Open: %q, %q", again, describeAgain)
	}
	if err := stopAgain(ctx); err != nil {
		t.Fatal(err)
	}
	if err := ping(ctx, connString); err != nil {
		t.Fatalf("the reusing Open's stop stopped the server: %v", err)
	}

	if err := stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := ping(ctx, connString); err == nil {
		t.Fatal("server still accepts connections after stop")
	}
}

func ping(ctx context.Context, connString string) error {
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}
