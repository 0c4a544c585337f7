// Package localpg starts, reuses and stops a private PostgreSQL cluster made
// from the server binaries installed on the machine. It is the one place that
// starts PostgreSQL: for `make run` (EnsureDev), the tests' throwaway servers
// (internal/testdb) and make bench.
//
// The server listens only on a unix socket in a private directory (mode
// 0700, owned by the server's account), so there is no TCP port to collide
// with and trust authentication reaches nobody else. Its superuser is always
// "postgres".
package localpg

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

const (
	// port only names the socket file (.s.PGSQL.5432): there is no TCP listener.
	port = 5432
	// superuser is the role initdb creates, whatever account runs the server.
	superuser = "postgres"
	// maxSocketPath is sun_path's 108 bytes less the terminating NUL.
	maxSocketPath = 107
	// startTimeout bounds pg_ctl start and stop, and waiting for a server
	// that another process is starting.
	startTimeout = 60 * time.Second
)

// Options says where the cluster lives and how to run it.
type Options struct {
	// Dir is the cluster folder, e.g. "<project>/.data/postgres". It holds the
	// data directory (data/), the server log (postgres.log) and, when the path
	// is short enough, the socket directory (socket/).
	Dir string
	// Database is created if missing; empty means only the "postgres" database.
	Database string
	// Ephemeral trades durability for speed (fsync, synchronous_commit and
	// full_page_writes off): for throwaway test servers only. It applies when
	// this call starts the server, not to a reused one.
	Ephemeral bool
	// Logf, if set, receives progress messages.
	Logf func(format string, args ...any)
}

// Server is a running local cluster.
type Server struct {
	// ConnString connects to Database over the unix socket as "postgres".
	ConnString string
	// Started says this Ensure started the server; false means an already
	// running one was reused, and Stop leaves it running.
	Started bool
	// Initialized says this Ensure ran initdb.
	Initialized bool
	// Version is the cluster's major version, e.g. "15".
	Version string
	// Dir is the absolute cluster folder.
	Dir string
	// SocketDir holds the server's unix socket.
	SocketDir string
	// PID is the postmaster's process id.
	PID int

	binDir  string
	dataDir string
	user    serverUser
	// tempSocket: the socket directory is the short fallback under
	// os.TempDir, removed by Stop.
	tempSocket bool
	logf       func(string, ...any)

	stopOnce sync.Once
	stopErr  error
}

// Ensure makes the cluster in opts.Dir run: it runs initdb if the folder holds
// no cluster yet, reuses a server already running there (postmaster.pid with a
// live postgres pid) or starts one, waits until it accepts connections, and
// creates opts.Database if missing.
func Ensure(ctx context.Context, opts Options) (*Server, error) {
	if opts.Dir == "" {
		return nil, errorf("Options.Dir is empty")
	}
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, errorf("%w", err)
	}
	binDir, err := FindBinaries()
	if err != nil {
		return nil, err
	}
	s := &Server{Dir: dir, binDir: binDir, dataDir: filepath.Join(dir, "data"), logf: logf}
	if s.user, err = lookupServerUser(s.dataDir); err != nil {
		return nil, err
	}
	if err := s.user.checkTraverse(dir); err != nil {
		return nil, err
	}
	if err := s.user.privateDir(dir); err != nil {
		return nil, err
	}
	// One Ensure at a time per folder: two `make run`s must not both start it.
	unlock, err := lockDir(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer unlock()

	if err := s.initdbIfNeeded(ctx, opts.Ephemeral); err != nil {
		return nil, err
	}
	version, err := os.ReadFile(filepath.Join(s.dataDir, "PG_VERSION"))
	if err != nil {
		return nil, errorf("%w", err)
	}
	s.Version = strings.TrimSpace(string(version))

	reused, err := s.reuseRunning(ctx)
	if err != nil {
		return nil, err
	}
	if !reused {
		if err := s.start(ctx, opts.Ephemeral); err != nil {
			return nil, err
		}
	}
	if opts.Database != "" {
		if err := s.createDatabase(ctx, opts.Database); err != nil {
			return nil, errors.Join(err, s.Stop(context.WithoutCancel(ctx)))
		}
	}
	s.ConnString = s.connString(cmp.Or(opts.Database, "postgres"))
	return s, nil
}

// Stop stops the server if this Ensure started it (fast shutdown: sessions
// are disconnected) and waits until it is gone. It does nothing for a reused
// server, and nothing the second time.
func (s *Server) Stop(ctx context.Context) error {
	if s == nil || !s.Started {
		return nil
	}
	s.stopOnce.Do(func() {
		s.logf("stopping PostgreSQL %s in %s", s.Version, s.Dir)
		s.stopErr = stopCluster(ctx, s.user, s.binDir, s.dataDir)
		if s.tempSocket && s.stopErr == nil {
			_ = os.Remove(s.SocketDir) // empty once the server is gone
		}
	})
	return s.stopErr
}

// StopDir stops whatever server runs in the cluster folder dir, whoever
// started it (fast shutdown), and waits until it is gone. No running server is
// not an error. It is for tidying up, e.g. after a killed test run.
func StopDir(ctx context.Context, dir string) error {
	binDir, err := FindBinaries()
	if err != nil {
		return err
	}
	dataDir := filepath.Join(dir, "data")
	u, err := lookupServerUser(dataDir)
	if err != nil {
		return err
	}
	return stopCluster(ctx, u, binDir, dataDir)
}

func (s *Server) initdbIfNeeded(ctx context.Context, ephemeral bool) error {
	_, err := os.Stat(filepath.Join(s.dataDir, "PG_VERSION"))
	if err == nil {
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return errorf("%w", err)
	}
	s.logf("initdb %s (as user %s)", s.dataDir, cmp.Or(s.user.name, strconv.Itoa(int(s.user.uid))))
	args := []string{
		"--pgdata=" + s.dataDir,
		"--username=" + superuser,
		// Only the private socket is reachable; host lines never match.
		"--auth-local=trust", "--auth-host=reject",
		"--encoding=UTF8", "--locale=C.UTF-8",
	}
	if ephemeral {
		args = append(args, "--no-sync")
	}
	if out, err := s.user.command(ctx, s.binDir, "initdb", args...).CombinedOutput(); err != nil {
		return errorf("initdb %s as user %s: %w\n%s", s.dataDir, s.user.name, err, tail(out))
	}
	s.Initialized = true
	return nil
}

// reuseRunning adopts a server already running in the folder. A
// postmaster.pid whose process is gone, or is no longer postgres, is stale:
// it is removed so that the start that follows is not refused.
func (s *Server) reuseRunning(ctx context.Context) (bool, error) {
	pf, err := readPidFile(s.dataDir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if processAlive(pf.pid) && isPostgres(pf.pid) {
		s.SocketDir, s.PID = pf.socketDir, pf.pid
		if s.SocketDir == "" { // still starting: the line is not written yet
			s.SocketDir, s.tempSocket = socketDirFor(s.Dir)
		}
		s.logf("reusing running PostgreSQL %s (pid %d) in %s", s.Version, pf.pid, s.Dir)
		err := s.waitReady(ctx, pf.pid)
		if err == nil {
			return true, nil
		}
		if processAlive(pf.pid) {
			return false, errorf("server pid %d in %s runs but does not accept connections: %w", pf.pid, s.Dir, err)
		}
		// It was shutting down: start a fresh one.
	}
	s.logf("removing stale %s (pid %d is not a running postgres)", filepath.Join(s.dataDir, "postmaster.pid"), pf.pid)
	if err := os.Remove(filepath.Join(s.dataDir, "postmaster.pid")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, errorf("remove stale postmaster.pid: %w", err)
	}
	return false, nil
}

func (s *Server) start(ctx context.Context, ephemeral bool) error {
	s.SocketDir, s.tempSocket = socketDirFor(s.Dir)
	if len(s.SocketDir)+len("/.s.PGSQL.")+len(strconv.Itoa(port)) > maxSocketPath {
		return errorf("socket path under %s would exceed %d bytes: set TMPDIR to a shorter directory", s.SocketDir, maxSocketPath)
	}
	if err := s.user.checkTraverse(s.SocketDir); err != nil {
		return err
	}
	if err := s.user.privateDir(s.SocketDir); err != nil {
		return err
	}
	logFile := filepath.Join(s.Dir, "postgres.log")
	var logStart int64
	if fi, err := os.Stat(logFile); err == nil {
		logStart = fi.Size()
	}
	serverArgs := []string{
		"-p", strconv.Itoa(port),
		"-k", s.SocketDir,
		"-c", "listen_addresses=",
	}
	if ephemeral {
		serverArgs = append(serverArgs, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	s.logf("starting PostgreSQL %s in %s (socket %s)", s.Version, s.Dir, s.SocketDir)
	cmd := s.user.command(ctx, s.binDir, "pg_ctl", "start",
		"--pgdata="+s.dataDir,
		"--log="+logFile,
		"--wait", "--timeout="+strconv.Itoa(int(startTimeout.Seconds())), "--silent",
		// pg_ctl hands -o to the shell that runs postgres.
		"-o", shellJoin(serverArgs))
	if out, err := cmd.CombinedOutput(); err != nil {
		return errorf("start PostgreSQL %s in %s: %w\n%s\nserver log %s:\n%s",
			s.Version, s.Dir, err, strings.TrimSpace(string(out)), logFile, logTail(logFile, logStart))
	}
	s.Started = true
	if pf, err := readPidFile(s.dataDir); err == nil {
		s.PID = pf.pid
	}
	return nil
}

// waitReady waits until the server accepts connections, giving up early when
// its process exits.
func (s *Server) waitReady(ctx context.Context, pid int) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	for {
		attempt, cancelAttempt := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgconn.Connect(attempt, s.connString("postgres"))
		cancelAttempt()
		if err == nil {
			return conn.Close(ctx)
		}
		if !processAlive(pid) {
			return fmt.Errorf("server pid %d exited: %w", pid, err)
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s *Server) createDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, s.connString("postgres"))
	if err != nil {
		return errorf("connect to %s: %w", s.Dir, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return errorf("look up database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	s.logf("creating database %s", name)
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database: someone else won the race
		return nil
	}
	if err != nil {
		return errorf("create database %s: %w", name, err)
	}
	return nil
}

// connString connects to database over the socket as the superuser.
func (s *Server) connString(database string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(superuser),
		Path:     "/" + database,
		RawQuery: url.Values{"host": {s.SocketDir}, "port": {strconv.Itoa(port)}}.Encode(),
	}
	return u.String()
}

// socketDirFor keeps the socket in the cluster folder unless that path would
// not fit in a unix socket address; then it uses a short directory under
// os.TempDir named after the folder, so every folder keeps its own.
func socketDirFor(dir string) (path string, temp bool) {
	inside := filepath.Join(dir, "socket")
	if len(inside)+len("/.s.PGSQL.")+len(strconv.Itoa(port)) <= maxSocketPath {
		return inside, false
	}
	sum := sha256.Sum256([]byte(dir))
	return filepath.Join(os.TempDir(), "localpg-"+hex.EncodeToString(sum[:8])), true
}

func stopCluster(ctx context.Context, u serverUser, binDir, dataDir string) error {
	pf, err := readPidFile(dataDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !processAlive(pf.pid) {
		return nil
	}
	out, err := u.command(ctx, binDir, "pg_ctl", "stop",
		"--pgdata="+dataDir, "--mode=fast",
		"--wait", "--timeout="+strconv.Itoa(int(startTimeout.Seconds())), "--silent").CombinedOutput()
	if err != nil {
		return errorf("stop PostgreSQL (pid %d) in %s: %w\n%s", pf.pid, dataDir, err, tail(out))
	}
	// pg_ctl returns once the server removed its pid file, a moment
	// before its process ends: wait for that, so that "stopped" means gone.
	for deadline := time.Now().Add(startTimeout); processAlive(pf.pid) && time.Now().Before(deadline); {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	if processAlive(pf.pid) {
		return errorf("stop PostgreSQL (pid %d) in %s: still running after pg_ctl stop", pf.pid, dataDir)
	}
	return nil
}

type pidFile struct {
	pid       int
	socketDir string
}

// readPidFile reads postmaster.pid: line 1 is the pid, line 5 the first
// socket directory. The server writes it in steps while it starts.
func readPidFile(dataDir string) (pidFile, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return pidFile{}, err
	}
	lines := strings.Split(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil {
		// Garbage (e.g. a crash mid-write) holds no live server.
		return pidFile{}, nil
	}
	pf := pidFile{pid: pid}
	if len(lines) > 4 {
		pf.socketDir = strings.TrimSpace(lines[4])
	}
	return pf, nil
}

// lockDir takes an exclusive lock on the folder's lock file, waiting for
// another Ensure on the same folder to finish.
func lockDir(ctx context.Context, dir string) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(dir, ".localpg.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, errorf("lock %s: %w", dir, err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil // closing releases the lock
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, errorf("lock %s: %w", dir, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, errorf("lock %s: %w", dir, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// logTail returns the end of what the server logged after offset.
func logTail(path string, offset int64) string {
	f, err := os.Open(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return "(" + err.Error() + ")"
	}
	b, _ := io.ReadAll(f)
	return tail(b)
}

// tail keeps the last 2 KB of command or log output: enough for the error.
func tail(b []byte) string {
	const max = 2048
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return strings.TrimSpace(string(b))
}

// shellJoin quotes args for the shell pg_ctl runs postgres with.
func shellJoin(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(quoted, " ")
}
