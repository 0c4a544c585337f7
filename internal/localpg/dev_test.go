package localpg

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestEnsureDevStartsReusesAndStops(t *testing.T) {
	dataDir := filepath.Join(filepath.Dir(clusterDir(t)), ".data")
	dir := filepath.Join(dataDir, "postgres")
	t.Cleanup(func() { _ = StopDir(context.Background(), dir) }) // in case the test failed half-way
	ctx := context.Background()

	srv, describe, err := EnsureDev(ctx, dataDir, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop(ctx) })
	if !strings.HasPrefix(describe, "started local PostgreSQL 15 in "+dir) {
		t.Errorf("describe = %q", describe)
	}
	if got := query(t, srv.ConnString, "SELECT current_database()"); got != DevDatabase {
		t.Errorf("connected to %q, want %q", got, DevDatabase)
	}

	// A second `make run` while the first still runs shares its server.
	again, describeAgain, err := EnsureDev(ctx, dataDir, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	if again.ConnString != srv.ConnString || !strings.HasPrefix(describeAgain, "reused running local PostgreSQL") {
		t.Errorf("second EnsureDev: %q, %q", again.ConnString, describeAgain)
	}
	if err := again.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := ping(ctx, srv.ConnString); err != nil {
		t.Fatalf("the reusing EnsureDev's Stop stopped the server: %v", err)
	}

	if err := srv.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := ping(ctx, srv.ConnString); err == nil {
		t.Fatal("server still accepts connections after Stop")
	}
}

func ping(ctx context.Context, connString string) error {
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}
