// Package testdb gives each test a real, fully migrated PostgreSQL database of
// its own.
//
// The server comes from TEST_DATABASE_URL when set (a superuser or CREATEDB
// role; tests create and drop their own databases there), otherwise from a
// throwaway local cluster (the installed PostgreSQL binaries, started once per
// test binary in its own temp folder), otherwise from a testcontainers-go
// container where Docker runs. With none of these the tests skip, or fail when
// CI=true.
//
// Migrations run once per server into a template database named after a hash
// of the migration files; each test's database is a copy of it, which takes
// milliseconds.
//
// A test package using it needs
//
//	func TestMain(m *testing.M) { os.Exit(testdb.Run(m)) }
package testdb

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"drportal/internal/db"
	"drportal/internal/localpg"
	"drportal/migrations"
)

// howToGetOne ends every "no database" message.
const howToGetOne = "set TEST_DATABASE_URL to a superuser or CREATEDB role's URL (e.g. postgres://postgres:secret@localhost:5432/postgres), " +
	"or install the PostgreSQL server (Debian/Ubuntu: apt-get install postgresql; initdb is looked up on PATH and in /usr/lib/postgresql/*/bin), " +
	"or start Docker"

// tempPrefix names throwaway cluster folders; the test binary's pid follows,
// so a later run can recognise the folders of a run that was killed.
const tempPrefix = "drportal-testdb-"

// templateLockKey serialises template creation among all test binaries
// sharing one server (pg_advisory_lock takes a bigint; any fixed value works).
const templateLockKey int64 = 0x647270746d706c // "drptmpl"

// setupTimeout bounds starting a server and migrating the template.
const setupTimeout = 2 * time.Minute

var (
	runCalled atomic.Bool

	setupOnce sync.Once
	mu        sync.Mutex // guards shared and setupErr after setupOnce
	shared    *server
	setupErr  error
)

// errUnavailable marks "no server at all", as opposed to a broken one.
var errUnavailable = errors.New("testdb: no PostgreSQL for tests")

type server struct {
	source   string        // one sentence: where the server came from
	baseURL  string        // connects to the maintenance database
	admin    *pgxpool.Pool // creates and drops the tests' databases
	template string
	stop     func(context.Context) error // releases a server we started
	tempDir  string                      // throwaway cluster folder to remove
}

// Run runs the tests and then stops the throwaway server, if one was
// started. Call it from TestMain: os.Exit(testdb.Run(m)).
func Run(m *testing.M) int {
	runCalled.Store(true)
	code := m.Run()
	mu.Lock()
	s := shared
	mu.Unlock()
	if s != nil {
		if err := s.close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// New gives the test a fresh, fully migrated database of its own and a pool
// to it; the pool is closed and the database dropped at cleanup.
func New(t testing.TB) *pgxpool.Pool {
	t.Helper()
	connString := NewURL(t)
	pool, err := pgxpool.New(context.Background(), connString)
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	// Cleanups run last-in first-out: the pool closes before NewURL's drop.
	t.Cleanup(pool.Close)
	return pool
}

// NewURL is like New but returns only the connection string, for tests that
// start the whole program. The database is dropped at cleanup, disconnecting
// whoever is still connected.
func NewURL(t testing.TB) string {
	t.Helper()
	s := get(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name, err := s.createDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The test's context is already cancelled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.dropDatabase(ctx, name); err != nil {
			t.Error(err)
		}
	})
	return withDatabase(s.baseURL, name)
}

// createDatabase copies the template into a database with a fresh name,
// unique across test binaries sharing the server.
func (s *server) createDatabase(ctx context.Context) (string, error) {
	name := "drportal_test_" + randomHex(6)
	if _, err := s.admin.Exec(ctx, "CREATE DATABASE "+ident(name)+" TEMPLATE "+ident(s.template)); err != nil {
		return "", fmt.Errorf("testdb: create database %s from %s: %w", name, s.template, err)
	}
	return name, nil
}

// dropDatabase drops a test's database, disconnecting whoever is still
// connected (a program under test that did not close its pool).
func (s *server) dropDatabase(ctx context.Context, name string) error {
	if _, err := s.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(name)+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("testdb: drop database %s: %w", name, err)
	}
	return nil
}

// get returns the shared server, starting it on first use, or ends the test.
func get(t testing.TB) *server {
	t.Helper()
	if !runCalled.Load() {
		// Without Run nobody stops the throwaway server after the tests.
		t.Fatal("testdb: call testdb.Run from TestMain: func TestMain(m *testing.M) { os.Exit(testdb.Run(m)) }")
	}
	setupOnce.Do(func() {
		s, err := setup()
		mu.Lock()
		shared, setupErr = s, err
		mu.Unlock()
		if err == nil {
			t.Logf("testdb: %s", s.source)
		}
	})
	mu.Lock()
	defer mu.Unlock()
	switch {
	case setupErr == nil:
		return shared
	case errors.Is(setupErr, errUnavailable) && os.Getenv("CI") != "true":
		t.Skip(setupErr)
	default:
		t.Fatal(setupErr)
	}
	return nil
}

func setup() (*server, error) {
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	start := time.Now()
	s, err := startServer(ctx)
	if err != nil {
		return nil, err
	}
	started := time.Now()
	if err := s.connect(ctx); err != nil {
		return nil, errors.Join(err, s.close())
	}
	if err := s.ensureTemplate(ctx); err != nil {
		return nil, errors.Join(err, s.close())
	}
	s.source += fmt.Sprintf(" (%v); template %s ready in %v", started.Sub(start).Round(time.Millisecond),
		s.template, time.Since(started).Round(time.Millisecond))
	return s, nil
}

// startServer picks the server: TEST_DATABASE_URL, local binaries, Docker.
func startServer(ctx context.Context) (*server, error) {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return &server{source: "using TEST_DATABASE_URL", baseURL: u}, nil
	}
	if _, binErr := localpg.FindBinaries(); binErr == nil {
		sweepStale(ctx)
		dir, err := os.MkdirTemp(tempBase(), tempPrefix+strconv.Itoa(os.Getpid())+"-")
		if err != nil {
			return nil, fmt.Errorf("testdb: %w", err)
		}
		// MkdirTemp makes it 0700; the server's account (postgres, when we
		// are root) must enter it. The cluster folder inside stays private.
		if err := os.Chmod(dir, 0o755); err != nil {
			return nil, errors.Join(fmt.Errorf("testdb: %w", err), os.RemoveAll(dir))
		}
		srv, err := localpg.Ensure(ctx, localpg.Options{Dir: filepath.Join(dir, "pg"), Ephemeral: true})
		if err != nil {
			return nil, errors.Join(fmt.Errorf("testdb: throwaway server: %w", err), os.RemoveAll(dir))
		}
		return &server{
			source:  fmt.Sprintf("started throwaway PostgreSQL %s in %s", srv.Version, srv.Dir),
			baseURL: srv.ConnString, stop: srv.Stop, tempDir: dir,
		}, nil
	}
	if dockerErr := dockerAvailable(ctx); dockerErr != nil {
		return nil, fmt.Errorf("%w: %s (Docker: %v)", errUnavailable, howToGetOne, dockerErr)
	}
	connString, id, stop, err := startContainer(ctx)
	if err != nil {
		return nil, err
	}
	return &server{source: fmt.Sprintf("started container %s (%.12s)", containerImage, id), baseURL: connString, stop: stop}, nil
}

func (s *server) connect(ctx context.Context) error {
	cfg, err := pgxpool.ParseConfig(s.baseURL)
	if err != nil {
		return fmt.Errorf("testdb: parse server URL: %w", err)
	}
	cfg.MaxConns = 4 // creates and drops only; leave connections to the tests
	if s.admin, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return fmt.Errorf("testdb: connect (%s): %w", s.source, err)
	}
	if err := s.admin.Ping(ctx); err != nil {
		return fmt.Errorf("testdb: connect (%s): %w", s.source, err)
	}
	return nil
}

// ensureTemplate makes the migrated template database exist. Several test
// binaries may share one server, so it is built under an advisory lock, under
// a scratch name, and renamed only once complete: a killed build leaves no
// half-migrated template behind.
func (s *server) ensureTemplate(ctx context.Context) error {
	sum, err := migrationsHash()
	if err != nil {
		return err
	}
	s.template = "drportal_tmpl_" + sum
	conn, err := s.admin.Acquire(ctx) // the lock belongs to this session
	if err != nil {
		return fmt.Errorf("testdb: template: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", templateLockKey); err != nil {
		return fmt.Errorf("testdb: template lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", templateLockKey)

	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", s.template).Scan(&exists); err != nil {
		return fmt.Errorf("testdb: template: %w", err)
	}
	if exists {
		return nil
	}
	building := s.template + "_build"
	for _, sql := range []string{
		"DROP DATABASE IF EXISTS " + ident(building) + " WITH (FORCE)",
		"CREATE DATABASE " + ident(building),
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			return fmt.Errorf("testdb: template: %s: %w", sql, err)
		}
	}
	if err := migrate(ctx, withDatabase(s.baseURL, building)); err != nil {
		return err
	}
	for _, sql := range []string{
		"ALTER DATABASE " + ident(building) + " RENAME TO " + ident(s.template),
		// A template may be copied by any CREATEDB role, not only its owner.
		"ALTER DATABASE " + ident(s.template) + " WITH IS_TEMPLATE true",
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			return fmt.Errorf("testdb: template: %s: %w", sql, err)
		}
	}
	return nil
}

func migrate(ctx context.Context, connString string) error {
	pool, err := pgxpool.New(ctx, connString)
	if err != nil {
		return fmt.Errorf("testdb: template: %w", err)
	}
	// Closed before the rename: a database with sessions cannot be renamed
	// or copied.
	defer pool.Close()
	if _, err := db.Migrate(ctx, pool, nil); err != nil {
		return fmt.Errorf("testdb: template: %w", err)
	}
	return nil
}

// close stops what setup started: the admin pool, the server, its folder.
func (s *server) close() error {
	if s.admin != nil {
		s.admin.Close()
	}
	var err error
	if s.stop != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		err = s.stop(ctx)
	}
	if s.tempDir != "" && err == nil {
		err = os.RemoveAll(s.tempDir)
	}
	if err != nil {
		return fmt.Errorf("testdb: release server (%s): %w", s.source, err)
	}
	return nil
}

// migrationsHash names the template after the migration files' names and
// contents, so a changed migration gets a fresh template.
func migrationsHash() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", path, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("testdb: hash migrations: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// shmDir is a memory file system on most Linux machines.
const shmDir = "/dev/shm"

// tempBase is where throwaway clusters live: /dev/shm when it is a tmpfs with
// room to spare, because on a slow disk creating a database's ~1,000 files
// takes 10 times as long (measured: 250 ms against 25 ms per test database,
// initdb 1.5 s against 0.6 s); else os.TempDir. Containers often mount a 64 MB
// /dev/shm, too small, hence the free-space check.
func tempBase() string {
	const tmpfsMagic = 0x01021994
	const minFree = 1 << 30
	var st syscall.Statfs_t
	if err := syscall.Statfs(shmDir, &st); err == nil && st.Type == tmpfsMagic &&
		st.Bavail*uint64(st.Bsize) >= minFree && syscall.Access(shmDir, 2 /* W_OK */) == nil {
		return shmDir
	}
	return os.TempDir()
}

// sweepStale stops and removes throwaway clusters left by test binaries that
// were killed before Run could clean up (a -timeout panic, ^C).
func sweepStale(ctx context.Context) {
	dirs, _ := filepath.Glob(filepath.Join(shmDir, tempPrefix+"*"))
	more, _ := filepath.Glob(filepath.Join(os.TempDir(), tempPrefix+"*"))
	dirs = append(dirs, more...)
	for _, dir := range dirs {
		pidText, _, _ := strings.Cut(strings.TrimPrefix(filepath.Base(dir), tempPrefix), "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid == os.Getpid() || processExists(pid) {
			continue
		}
		if err := localpg.StopDir(ctx, filepath.Join(dir, "pg")); err == nil {
			_ = os.RemoveAll(dir)
		}
	}
}

// processExists is a cheap liveness test; a reused pid merely postpones the
// sweep of that folder. EPERM means it exists but is someone else's.
func processExists(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// withDatabase returns connString pointing at database instead: URLs get a
// new path, keyword/value strings a dbname (the last one wins).
func withDatabase(connString, database string) string {
	if strings.HasPrefix(connString, "postgres://") || strings.HasPrefix(connString, "postgresql://") {
		if u, err := url.Parse(connString); err == nil {
			u.Path = "/" + database
			u.RawPath = ""
			return u.String()
		}
	}
	return connString + " dbname=" + database
}

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return hex.EncodeToString(b)
}
