package localpg

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// clusterDir returns a fresh cluster folder (not yet created) whose parent the
// server user can enter: t.TempDir and os.MkdirTemp make 0700 directories,
// which the postgres account cannot enter when the tests run as root.
func clusterDir(t *testing.T) string {
	t.Helper()
	if _, err := FindBinaries(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	parent, err := os.MkdirTemp("", "localpg-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = StopDir(context.Background(), filepath.Join(parent, "pg")) // in case a test failed half-way
		_ = os.RemoveAll(parent)
	})
	return filepath.Join(parent, "pg")
}

func ensure(t *testing.T, opts Options) *Server {
	t.Helper()
	opts.Logf = t.Logf
	start := time.Now()
	s, err := Ensure(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Ensure took %v (started=%v, initialized=%v)", time.Since(start), s.Started, s.Initialized)
	return s
}

func query(t *testing.T, connString, sql string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var out string
	if err := conn.QueryRow(ctx, sql).Scan(&out); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}

func execSQL(t *testing.T, connString, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func TestEnsureStartReuseStopRestart(t *testing.T) {
	dir := clusterDir(t)
	ctx := context.Background()

	first := ensure(t, Options{Dir: dir, Database: "drportal"})
	t.Cleanup(func() { _ = first.Stop(ctx) })
	if !first.Started || !first.Initialized {
		t.Fatalf("first Ensure: Started=%v Initialized=%v, want both", first.Started, first.Initialized)
	}
	if got := query(t, first.ConnString, "SELECT current_database()"); got != "drportal" {
		t.Fatalf("current_database() = %q", got)
	}
	if got := query(t, first.ConnString, "SHOW listen_addresses"); got != "" {
		t.Fatalf("listen_addresses = %q, want no TCP", got)
	}
	if got := query(t, first.ConnString, "SELECT current_user"); got != "postgres" {
		t.Fatalf("current_user = %q", got)
	}
	fi, err := os.Stat(first.SocketDir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("socket dir mode %v, want 0700", fi.Mode().Perm())
	}
	if !strings.HasPrefix(first.SocketDir, dir) {
		t.Errorf("socket dir %s is not inside %s", first.SocketDir, dir)
	}
	execSQL(t, first.ConnString, "CREATE TABLE survivor (id int)")

	second := ensure(t, Options{Dir: dir, Database: "drportal"})
	if second.Started || second.Initialized {
		t.Fatalf("second Ensure: Started=%v Initialized=%v, want reuse", second.Started, second.Initialized)
	}
	if second.PID != first.PID || second.ConnString != first.ConnString {
		t.Fatalf("second Ensure found pid %d / %s, want pid %d / %s", second.PID, second.ConnString, first.PID, first.ConnString)
	}
	if err := second.Stop(ctx); err != nil { // a reused server is left running
		t.Fatal(err)
	}
	query(t, first.ConnString, "SELECT 'still running'")

	if err := first.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if processAlive(first.PID) {
		t.Fatalf("pid %d still alive after Stop", first.PID)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "postmaster.pid")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("postmaster.pid after Stop: %v", err)
	}

	third := ensure(t, Options{Dir: dir, Database: "drportal"})
	t.Cleanup(func() { _ = third.Stop(ctx) })
	if !third.Started || third.Initialized {
		t.Fatalf("third Ensure: Started=%v Initialized=%v, want a restart without initdb", third.Started, third.Initialized)
	}
	if got := query(t, third.ConnString, "SELECT to_regclass('public.survivor')::text"); got != "survivor" {
		t.Fatalf("table after restart: %q", got)
	}
}

func TestEnsureReplacesStalePidFile(t *testing.T) {
	dir := clusterDir(t)
	ctx := context.Background()
	s := ensure(t, Options{Dir: dir, Ephemeral: true})
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	// A crash leaves postmaster.pid behind with a pid that no longer runs.
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	pidPath := filepath.Join(dir, "data", "postmaster.pid")
	stale := strconv.Itoa(dead.Process.Pid) + "\n" + filepath.Join(dir, "data") + "\n"
	if err := os.WriteFile(pidPath, []byte(stale), 0o600); err != nil {
		t.Fatal(err)
	}

	again := ensure(t, Options{Dir: dir, Ephemeral: true})
	t.Cleanup(func() { _ = again.Stop(ctx) })
	if !again.Started {
		t.Fatal("Ensure reused a dead server")
	}
	if got := query(t, again.ConnString, "SHOW fsync"); got != "off" {
		t.Fatalf("ephemeral server has fsync=%s", got)
	}
}

func TestEnsureLongPathUsesShortSocketDir(t *testing.T) {
	dir := filepath.Join(clusterDir(t), strings.Repeat("d", 100))
	s := ensure(t, Options{Dir: dir, Ephemeral: true})
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	if strings.HasPrefix(s.SocketDir, dir) {
		t.Fatalf("socket dir %s is inside the long folder", s.SocketDir)
	}
	query(t, s.ConnString, "SELECT 'reachable'")
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.SocketDir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("fallback socket dir left behind: %v", err)
	}
}

func TestEnsureExplainsUnreachableFolder(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root hands the cluster to another account")
	}
	locked := filepath.Dir(clusterDir(t))
	if err := os.Chmod(locked, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := Ensure(context.Background(), Options{Dir: filepath.Join(locked, "pg")})
	if err == nil || !strings.Contains(err.Error(), "cannot enter "+locked) {
		t.Fatalf("err = %v, want it to name %s", err, locked)
	}
}
