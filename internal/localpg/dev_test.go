package localpg

import (
	"context"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestEnsureDevStartsReusesAndStops(t *testing.T) {
	dataDir := filepath.Join(clusterDirParent(t), ".data")
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

// TestDevClusterDirChoice checks the decision alone, as any user: a fake
// server account that owns nothing stands for postgres under root.
func TestDevClusterDirChoice(t *testing.T) {
	private := t.TempDir() // 0700, ours
	if err := os.Chmod(private, 0o700); err != nil {
		t.Fatal(err)
	}
	inData := filepath.Join(private, "dr", ".data", "postgres")
	open := filepath.Join(clusterDirParent(t), "dr", ".data", "postgres") // parents 0755
	home := t.TempDir()
	other := serverUser{name: "pgfake", home: home, uid: uint32(os.Geteuid()) + 12345, gid: 12345, switchTo: true}

	if dir, why, err := devClusterDir(inData, serverUser{uid: uint32(os.Geteuid())}); err != nil || dir != inData || why != "" {
		t.Errorf("not root: dir %q, why %q, err %v; want %s", dir, why, err, inData)
	}
	if dir, why, err := devClusterDir(open, other); err != nil || dir != open || why != "" {
		t.Errorf("root, enterable checkout: dir %q, why %q, err %v; want %s", dir, why, err, open)
	}

	dir, why, err := devClusterDir(inData, other)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(dir) != home || !strings.HasPrefix(filepath.Base(dir), "drportal-") {
		t.Errorf("root, private checkout: dir %q, want drportal-<hash> in the server user's home %s", dir, home)
	}
	if !strings.Contains(why, "pgfake cannot enter "+private) || !strings.Contains(why, inData) {
		t.Errorf("why = %q, want it to name %s and %s", why, private, inData)
	}
	again, _, _ := devClusterDir(inData, other)
	elsewhere, _, _ := devClusterDir(filepath.Join(private, "dr2", ".data", "postgres"), other)
	if again != dir || elsewhere == dir {
		t.Errorf("same checkout -> %q and %q (want equal); another checkout -> %q (want different)", dir, again, elsewhere)
	}

	homeless := other
	homeless.home = filepath.Join(home, "missing")
	if dir, _, _ := devClusterDir(inData, homeless); filepath.Dir(dir) != os.TempDir() {
		t.Errorf("no home: dir %q, want it in %s", dir, os.TempDir())
	}
}

// clusterDirParent is a fresh folder that any account may enter.
func clusterDirParent(t *testing.T) string {
	t.Helper()
	return filepath.Dir(clusterDir(t))
}

// TestEnsureDevFromPrivateCheckout is make run as root in a checkout under a
// 0700 folder such as /root: the cluster must start where postgres can reach
// it, and keep its data across runs.
func TestEnsureDevFromPrivateCheckout(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("this test needs root (the server then runs as another account); CI runs as root")
		}
		t.Skip("only root hands the cluster to another account")
	}
	clusterDir(t) // binaries present, else skip or fail as the other tests do
	private := t.TempDir()
	if err := os.Chmod(private, 0o700); err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(private, "dr", ".data")
	ctx := context.Background()

	srv, describe, err := EnsureDev(ctx, dataDir, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = StopDir(context.Background(), srv.Dir)
		_ = os.RemoveAll(srv.Dir)
	})
	t.Log(describe)
	if strings.HasPrefix(srv.Dir, private) {
		t.Fatalf("cluster in %s, inside the private folder", srv.Dir)
	}
	want := os.TempDir() // where an account without a home directory gets it
	if pg, err := user.Lookup("postgres"); err == nil {
		if fi, err := os.Stat(pg.HomeDir); err == nil && fi.IsDir() {
			want = pg.HomeDir
		}
	}
	if filepath.Dir(srv.Dir) != want {
		t.Errorf("cluster in %s, want it in %s", srv.Dir, want)
	}
	if !srv.Started || !strings.Contains(describe, "in "+srv.Dir) || !strings.Contains(describe, "cannot enter "+private) {
		t.Errorf("Started=%v, describe = %q: want a started server, its folder and the reason", srv.Started, describe)
	}
	execSQL(t, srv.ConnString, "CREATE TABLE survivor (id int)")
	if err := srv.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	again, _, err := EnsureDev(ctx, dataDir, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = again.Stop(ctx) })
	if again.Dir != srv.Dir || !again.Started || again.Initialized {
		t.Fatalf("second run: dir %s (first %s), Started=%v, Initialized=%v; want a restart of the same cluster", again.Dir, srv.Dir, again.Started, again.Initialized)
	}
	if got := query(t, again.ConnString, "SELECT to_regclass('public.survivor')::text"); got != "survivor" {
		t.Fatalf("table after restart: %q", got)
	}
}
