package main

import (
	"bufio"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"github.com/valyala/fasthttp"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	httppprof "net/http/pprof"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/alexedwards/argon2id"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"drportal/internal/audit"
	"drportal/internal/auth"
	"drportal/internal/config"
	"drportal/internal/db"
	"drportal/internal/drtask"
	"drportal/internal/dws"
	"drportal/internal/dwssim"
	"drportal/internal/handlers"
	"drportal/internal/localpg"
	"drportal/internal/portal"
	"drportal/internal/requests"
	"drportal/static"
)

type bench struct {
	out    io.Writer
	dir    string
	keep   bool
	server *localpg.Server
	pool   *pgxpool.Pool
	store  *db.Store
	// appender is the store's group commit, as cmd/web runs it.
	appender *audit.Appender
	rows     []row
}

type row struct {
	what, measured, budget string
	ok                     bool
}

func (b *bench) report(what, measured, budget string, ok bool) {
	b.rows = append(b.rows, row{what, measured, budget, ok})
	verdict := "ok"
	if !ok {
		verdict = "MISSED"
	}
	fmt.Fprintf(b.out, "  %-58s %-28s %s\n", what, measured, verdict)
}

func setup(ctx context.Context, out io.Writer, keep bool, reuse string) (*bench, error) {
	dir, err := reuse, error(nil)
	if dir == "" {
		dir, err = os.MkdirTemp("", "drportal-bench-")
	}
	if err != nil {
		return nil, err
	}
	// The server runs as the postgres user when we are root: it must reach the folder.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "starting a durable PostgreSQL (fsync on) in %s\n", dir)
	srv, err := localpg.Ensure(ctx, localpg.Options{Dir: filepath.Join(dir, "pg"), Database: "drportal"})
	if err != nil {
		return nil, err
	}
	b := &bench{out: out, dir: dir, keep: keep, server: srv}
	if b.pool, err = db.Open(ctx, srv.ConnString); err != nil {
		b.close()
		return nil, err
	}
	if _, err := db.Migrate(ctx, b.pool, nil); err != nil {
		b.close()
		return nil, err
	}
	b.store = db.New(b.pool)
	b.appender = audit.NewAppender(b.store)
	b.appender.Start(ctx)
	b.store.SetAppender(b.appender)
	return b, nil
}

func (b *bench) close() {
	if b.appender != nil {
		b.appender.Close()
	}
	if b.pool != nil {
		b.pool.Close()
	}
	_ = b.server.Stop(context.Background())
	if b.keep {
		fmt.Fprintf(b.out, "kept %s\n", b.dir)
		return
	}
	os.RemoveAll(b.dir)
}

// stepNames are the measurements in the order they run.
var stepNames = []string{"pages", "audit", "export", "verify", "append", "poller", "start", "signin"}

// all generates the history (unless the folder holds it from an earlier
// run) and runs the steps named (every step when none is).
func (b *bench) all(ctx context.Context, n int, only []string) error {
	seed, err := b.seeded(ctx)
	if err != nil {
		return err
	}
	if seed != nil {
		fmt.Fprintf(b.out, "measuring the history already in %s\n", b.dir)
	} else {
		if seed, err = b.seed(ctx); err != nil {
			return err
		}
		if err := b.generate(ctx, n, seed); err != nil {
			return err
		}
		if err := b.seedRequests(ctx, seed); err != nil {
			return err
		}
	}
	fmt.Fprintln(b.out, "\nmeasurements")
	steps := map[string]func(context.Context, *seedData) error{"pages": b.pages, "audit": b.auditQueries, "export": b.export,
		"verify": b.verify, "append": b.appendRate, "poller": b.poller, "start": b.startToReady, "signin": b.signInFlood}
	for _, name := range stepNames {
		if len(only) > 0 && !slices.Contains(only, name) {
			continue
		}
		if err := steps[name](ctx, seed); err != nil {
			return err
		}
	}
	fmt.Fprintln(b.out)
	tw := tabwriter.NewWriter(b.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "what\tmeasured\tbudget\tverdict")
	fmt.Fprintln(tw, "----\t--------\t------\t-------")
	missed := 0
	for _, r := range b.rows {
		v := "ok"
		if !r.ok {
			v, missed = "MISSED", missed+1
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.what, r.measured, r.budget, v)
	}
	tw.Flush()
	if missed > 0 {
		return fmt.Errorf("%d budget(s) missed", missed)
	}
	return nil
}

// seedData is what the generated history refers to.
type seedData struct {
	users   []portal.User
	token   string // a signed-in session of an account with every role (the header reads the most)
	taskIDs []string
}

// seeded is the seed data of a folder kept from an earlier run, with a new
// session, or nil when the database holds no bench history yet.
func (b *bench) seeded(ctx context.Context) (*seedData, error) {
	users, err := b.store.ListUsers(ctx)
	if err != nil || len(users) == 0 {
		return nil, err
	}
	slices.SortFunc(users, func(a, c portal.User) int { return int(a.ID - c.ID) })
	s := &seedData{users: users}
	rows, err := b.pool.Query(ctx, `SELECT id FROM dr_tasks WHERE name LIKE 'dr\_bench\_%' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	if s.taskIDs, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		return nil, err
	}
	if len(s.taskIDs) < 6 {
		return nil, fmt.Errorf("%s holds users but not the bench's DR tasks: measure a folder kept by -keep", b.dir)
	}
	token, th := auth.NewToken()
	now := time.Now()
	if err := b.store.InTx(ctx, func(tx *db.Tx) error {
		return tx.CreateSession(ctx, th, users[0].ID, now, now.Add(24*time.Hour), "", "bench")
	}); err != nil {
		return nil, err
	}
	s.token = token
	return s, nil
}

func (b *bench) seed(ctx context.Context) (*seedData, error) {
	s := &seedData{}
	cheap := &argon2id.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}
	hash, _ := argon2id.CreateHash("bench password", cheap)
	err := b.store.InTx(ctx, func(tx *db.Tx) error {
		for i := 0; i < 50; i++ {
			roles := []portal.Role{auth.RoleRequester}
			if i == 0 {
				roles = auth.AllRoles
			} else if i%3 == 0 {
				roles = []portal.Role{auth.RoleApprover}
			}
			u, err := tx.CreateUser(ctx, fmt.Sprintf("user%02d@example.com", i), fmt.Sprintf("User %d", i), hash, roles)
			if err != nil {
				return err
			}
			s.users = append(s.users, u)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	token, th := auth.NewToken()
	now := time.Now()
	if err := b.store.InTx(ctx, func(tx *db.Tx) error {
		return tx.CreateSession(ctx, th, s.users[0].ID, now, now.Add(24*time.Hour), "", "bench")
	}); err != nil {
		return nil, err
	}
	s.token = token
	// DR tasks as the poller would have stored them, and requests on them.
	for i := 0; i < 60; i++ {
		id := fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
		s.taskIDs = append(s.taskIDs, id)
		t := portal.Task{ID: id, Name: fmt.Sprintf("dr_bench_%02d", i), Status: portal.TaskRunning, DRType: "az", SyncPeriod: "5m",
			StartTime: "2026-11-01T10:00:00", CreateTime: "2026-11-01T09:00:00",
			Primary: portal.TaskSide{ID: "p-" + id, Name: fmt.Sprintf("prod-%02d", i), Role: "primary", Status: "waiting", Progress: "100"},
			Standby: portal.TaskSide{ID: "s-" + id, Name: fmt.Sprintf("dr-%02d", i), Role: "standby", Status: "waiting", Progress: "100"}}
		t.Raw = []byte(fmt.Sprintf(`{"id":%q,"name":%q,"status":"running","dr_type":"az","dr_sync_period":"5m",`+
			`"primary_cluster":{"id":"p-%s","name":"prod-%02d","role":"primary","status":"waiting","progress":"100"},`+
			`"standby_cluster":{"id":"s-%s","name":"dr-%02d","role":"standby","status":"waiting","progress":"100"}}`, id, t.Name, id, i, id, i))
		if err := b.store.UpsertTaskDetail(ctx, t, now); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// seedRequests files requests on the tasks (after the generated history,
// whose times go back a year): one pending per task at the end, and the
// earlier ones on each task cancelled by their requesters, since a task
// holds one pending request per operation.
func (b *bench) seedRequests(ctx context.Context, s *seedData) error {
	reqs := &requests.Service{Store: b.store, Now: time.Now, Outbox: noQueue{}}
	type filed struct {
		id int64
		by portal.User
	}
	var all []filed
	for i := 0; i < 200; i++ {
		u := s.users[1+i%40]
		if !u.Has(auth.RoleRequester) {
			u = s.users[0]
		}
		if i >= len(s.taskIDs) {
			prev := all[i-len(s.taskIDs)]
			if _, err := reqs.Cancel(audit.WithActor(ctx, audit.Actor{ID: prev.by.ID, Name: prev.by.Email}), prev.by, prev.id, ""); err != nil {
				return err
			}
		}
		r, err := reqs.File(audit.WithActor(ctx, audit.Actor{ID: u.ID, Name: u.Email}), u, requests.Draft{Operation: portal.OpStart, DRTaskID: s.taskIDs[i%len(s.taskIDs)], TaskName: "dr_bench",
			Method: "POST", Path: "/v2/p/disaster-recovery/x/start", Justification: "benchmark seed request"})
		if err != nil {
			return err
		}
		all = append(all, filed{r.ID, u})
	}
	return nil
}

type noQueue struct{}

func (noQueue) EnqueueExecution(context.Context, *db.Tx, int64, int) error { return nil }

func (noQueue) ScheduleExecution(context.Context, *db.Tx, int64, int, time.Time) error { return nil }
func (noQueue) WakeExecution(context.Context, *db.Tx, int64) (int, error)              { return 0, nil }
func (noQueue) CancelExecution(context.Context, *db.Tx, int64) (int, error)            { return 0, nil }

func (noQueue) Notify(context.Context, *db.Tx, string, portal.Request) error { return nil }

// generate appends n chained events with COPY, the way a year of a busy
// team's history looks: mostly cloud calls, then the workflow and sign-ins.
func (b *bench) generate(ctx context.Context, n int, s *seedData) error {
	var lastID int64
	prev := audit.GenesisHash
	var lastAt time.Time
	err := b.pool.QueryRow(ctx, `SELECT id, hash, occurred_at FROM audit_events ORDER BY id DESC LIMIT 1`).Scan(&lastID, &prev, &lastAt)
	if err != nil && err != pgx.ErrNoRows {
		return err
	}
	start := time.Now()
	src := &eventSource{n: n, id: lastID, prev: prev, seed: s, rng: rand.New(rand.NewPCG(1, 2)),
		at: time.Now().Add(-365 * 24 * time.Hour), step: 365 * 24 * time.Hour / time.Duration(n+1)}
	if src.at.Before(lastAt) {
		src.at = lastAt
	}
	cols := []string{"id", "occurred_at", "actor_id", "actor_name", "action", "subject_type", "subject_id", "request_id",
		"correlation_id", "outcome", "detail", "prev_hash", "hash"}
	conn, err := b.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	// The portal's statement timeout is for pages, not for loading a year.
	if _, err := conn.Exec(ctx, `SET statement_timeout = 0`); err != nil {
		return err
	}
	copied, err := conn.CopyFrom(ctx, pgx.Identifier{"audit_events"}, cols, src)
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	if _, err := conn.Exec(ctx, `VACUUM ANALYZE audit_events`); err != nil {
		return err
	}
	// Start the measurements from a quiet machine: no dirty pages left to
	// flush, in the server or in the kernel.
	if _, err := conn.Exec(ctx, `CHECKPOINT`); err != nil {
		return err
	}
	syscall.Sync()
	time.Sleep(3 * time.Second)
	took := time.Since(start)
	fmt.Fprintf(b.out, "generated %d chained audit events in %s (%.0f/s, COPY and index build)\n", copied, took.Round(time.Millisecond),
		float64(copied)/took.Seconds())
	return nil
}

type eventSource struct {
	n, i int
	id   int64
	prev []byte
	at   time.Time
	step time.Duration
	seed *seedData
	rng  *rand.Rand
	row  []any
}

var words = []string{"primary", "standby", "quota", "sync", "backup", "restore", "timeout", "throttled", "drill", "migration"}

func (s *eventSource) Next() bool {
	if s.i >= s.n {
		return false
	}
	s.i++
	s.id++
	s.at = s.at.Add(s.step)
	r := s.rng
	e := audit.Event{ID: s.id, OccurredAt: s.at, CorrelationID: fmt.Sprintf("%016x", r.Uint64()), Outcome: audit.Success}
	task := s.seed.taskIDs[r.IntN(len(s.seed.taskIDs))]
	u := s.seed.users[r.IntN(len(s.seed.users))]
	switch p := r.IntN(100); {
	case p < 60:
		e.Actor, e.Action = audit.System, audit.ActionCloudCall
		e.SubjectType, e.SubjectID = audit.SubjectDRTask, task
		status := 200
		if r.IntN(50) == 0 {
			status, e.Outcome = 503, audit.Failure
		}
		e.Detail = audit.Detail(map[string]any{"operation": "detail", "method": "GET", "path": "/v2/p/disaster-recovery/" + task,
			"status": status, "latency_ms": r.IntN(300), "attempt": 1, "x_request_id": fmt.Sprintf("%032x", r.Uint64())})
	case p < 85:
		e.Actor = audit.Actor{ID: u.ID, Name: u.Email}
		e.Action = []string{audit.ActionRequestFiled, audit.ActionRequestDecision, audit.ActionRequestApproved, "request.executing", "request.succeeded"}[r.IntN(5)]
		e.SubjectType, e.SubjectID, e.RequestID = audit.SubjectDRTask, task, int64(1+r.IntN(200))
		e.Detail = audit.Detail(map[string]any{"operation": "start", "comment": words[r.IntN(len(words))] + " " + words[r.IntN(len(words))]})
	default:
		e.Actor, e.Action = audit.Actor{ID: u.ID, Name: u.Email}, audit.ActionSignIn
		e.SubjectType, e.SubjectID = audit.SubjectUser, u.Email
		if r.IntN(10) == 0 {
			e.Action, e.Outcome = audit.ActionSignInFailed, audit.Failure
		}
		e.Detail = audit.Detail(map[string]any{"ip": fmt.Sprintf("10.0.%d.%d", r.IntN(255), r.IntN(255))})
	}
	e.Normalize()
	e.PrevHash = s.prev
	e.Hash = audit.ChainHash(e.PrevHash, e)
	s.prev = e.Hash
	var actorID, requestID any
	if e.Actor.ID != 0 {
		actorID = e.Actor.ID
	}
	if e.RequestID != 0 {
		requestID = e.RequestID
	}
	s.row = []any{e.ID, e.OccurredAt, actorID, e.Actor.Name, e.Action, e.SubjectType, e.SubjectID, requestID,
		e.CorrelationID, string(e.Outcome), string(e.Detail), e.PrevHash, e.Hash}
	return true
}

func (s *eventSource) Values() ([]any, error) { return s.row, nil }
func (s *eventSource) Err() error             { return nil }

// timings runs f repeatedly and returns its latency percentiles.
func timings(runs int, f func() error) (p50, p99 time.Duration, err error) {
	var d []time.Duration
	for i := 0; i < runs; i++ {
		start := time.Now()
		if err := f(); err != nil {
			return 0, 0, err
		}
		d = append(d, time.Since(start))
	}
	slices.Sort(d)
	return d[len(d)/2], d[len(d)*99/100], nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

func (b *bench) auditQueries(ctx context.Context, s *seedData) error {
	var maxID int64
	if err := b.pool.QueryRow(ctx, `SELECT max(id) FROM audit_events`).Scan(&maxID); err != nil {
		return err
	}
	mid := time.Now().Add(-200 * 24 * time.Hour)
	cases := []struct {
		name string
		f    db.AuditFilter
	}{
		{"audit page 1, no filter", db.AuditFilter{}},
		{"audit page 1, action request.decision", db.AuditFilter{Action: audit.ActionRequestDecision}},
		{"audit page 1, one actor", db.AuditFilter{ActorID: s.users[7].ID}},
		{"audit page 1, one DR task", db.AuditFilter{SubjectType: audit.SubjectDRTask, SubjectID: s.taskIDs[3]}},
		{"audit page 1, outcome failure", db.AuditFilter{Outcome: "failure"}},
		{"audit page 1, free text \"quota drill\"", db.AuditFilter{Query: "quota drill"}},
		{"audit page 1, one day 200 days ago", db.AuditFilter{From: mid, To: mid.Add(24 * time.Hour)}},
		{"audit page 10,000 (before event N-500,000)", db.AuditFilter{Before: maxID - 500_000}},
		{"audit deep page, action filter", db.AuditFilter{Action: audit.ActionRequestDecision, Before: maxID / 10}},
		{"audit deep page, one DR task", db.AuditFilter{SubjectType: audit.SubjectDRTask, SubjectID: s.taskIDs[3], Before: maxID / 10}},
	}
	for _, c := range cases {
		// 300 runs: the p99 is then the third slowest, not the slowest of
		// a few dozen (one stall of the machine's).
		p50, p99, err := timings(300, func() error {
			evs, err := b.store.ListAudit(ctx, c.f, 51)
			if err == nil && len(evs) == 0 {
				err = fmt.Errorf("%s: no events", c.name)
			}
			return err
		})
		if err != nil {
			return err
		}
		b.report(c.name, fmt.Sprintf("p50 %s, p99 %s", ms(p50), ms(p99)), "< 20 ms", p99 < 20*time.Millisecond)
	}
	return nil
}

// handler is the real router on the bench database, with the cloud a
// simulator (pages do not call it).
func (b *bench) handler() (http.Handler, error) {
	h, _, err := b.handlerWithSim()
	return h, err
}

// handlerWithSim is handler and the simulator behind it, whose call count
// shows whether pages reach the cloud.
func (b *bench) handlerWithSim() (http.Handler, *dwssim.Simulator, error) {
	sim, err := dwssim.New(dwssim.Options{Credentials: map[string]string{"BENCHAK0000000000000": "benchsk"}})
	if err != nil {
		return nil, nil, err
	}
	simSrv := httptest.NewServer(sim)
	client, err := dws.New(dws.Config{Endpoint: simSrv.URL, ProjectID: "0123456789abcdef0123456789abcdef", AK: "BENCHAK0000000000000", SK: "benchsk"})
	if err != nil {
		return nil, nil, err
	}
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		return nil, nil, err
	}
	tasks := &drtask.Service{Cloud: client, Store: b.store, Now: time.Now}
	return handlers.New(handlers.Deps{Config: cfg, Store: b.store, Auth: &auth.Service{Store: b.store, Now: time.Now},
		Tasks: tasks, Requests: &requests.Service{Store: b.store, Now: time.Now, Outbox: noQueue{}},
		AuditLog: &audit.Service{Store: b.store, Now: time.Now, ArchiveDir: filepath.Join(b.dir, "archive")},
		Assets:   static.Load(), Now: time.Now}), sim, nil
}

func (b *bench) client(base string, s *seedData) *http.Client {
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(base)
	jar.SetCookies(u, []*http.Cookie{{Name: handlers.SessionCookie, Value: s.token}})
	return &http.Client{Jar: jar, Timeout: 10 * time.Minute,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
}

func (b *bench) pages(ctx context.Context, s *seedData) error {
	h, sim, err := b.handlerWithSim()
	if err != nil {
		return err
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	if path := os.Getenv("BENCH_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	if path := os.Getenv("BENCH_TRACE"); path != "" {
		// What the slowest views wait on: go tool trace.
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := trace.Start(f); err != nil {
			return err
		}
		defer func() { trace.Stop(); f.Close() }()
	}
	if path := os.Getenv("BENCH_MEMPROFILE"); path != "" {
		// The allocations of the pages step, what the collector works on:
		// path.base is the profile before it, for pprof's -diff_base.
		if f, err := os.Create(path + ".base"); err == nil {
			_ = pprof.Lookup("allocs").WriteTo(f, 0)
			f.Close()
		}
		defer func() {
			if f, err := os.Create(path); err == nil {
				_ = pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		}()
	}
	b.machineSpeed("before the pages")
	defer b.machineSpeed("after the pages")
	for _, page := range []string{"/dr-tasks", "/dr-tasks/" + s.taskIDs[5], "/requests?tab=all", "/audit"} {
		name := strings.SplitN(page, "?", 2)[0]
		if strings.HasPrefix(name, "/dr-tasks/") {
			name = "/dr-tasks/{id}"
		}
		// The clients run in a process of their own, as browsers would: 32
		// people each asking for a page every 100 ms (ten times a busy
		// person's pace, far above a live panel's 2-second polling), after a
		// second of warm-up. Ten seconds (about 3,000 views) make the p99
		// the 30th slowest view, not one stall's.
		lat, err := b.loadProcess(ctx, srv.URL+page, s.token, 32, 10*time.Second, 100*time.Millisecond)
		if err != nil {
			return fmt.Errorf("%s: %w", page, err)
		}
		p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
		b.report("page "+name+", 32 clients, a request each per 100 ms", fmt.Sprintf("p50 %s, p99 %s", ms(p50), ms(p99)),
			"p99 < 10 ms", p99 < 10*time.Millisecond)
		// And with no pause at all: the server's saturation throughput
		// (latency is then 32 divided by it).
		sat, err := b.loadProcess(ctx, srv.URL+page, s.token, 32, 2*time.Second, 0)
		if err != nil {
			return fmt.Errorf("%s: %w", page, err)
		}
		b.report("page "+name+", 32 clients flat out (saturation)", fmt.Sprintf("%.0f pages/s", float64(len(sat))/2),
			"(information)", true)
	}
	return b.pendingRequestPage(ctx, srv.URL, s, sim)
}

// machineSpeed reports how long a fixed piece of CPU work takes (hashing
// 1 MiB 64 times, two million map updates; the best of three): on a shared machine
// the same build's pages take longer, and their tail grows, when it does.
func (b *bench) machineSpeed(when string) {
	buf := make([]byte, 1<<20)
	best := time.Duration(math.MaxInt64)
	for range 3 {
		start := time.Now()
		for range 64 {
			sha256.Sum256(buf)
		}
		m := make(map[int]int)
		for i := range 2_000_000 {
			m[i*7919%100_003] += i
		}
		best = min(best, time.Since(start))
	}
	b.report("machine speed "+when+": fixed CPU work, best of 3", best.Round(time.Millisecond).String(), "(information)", true)
}

// serve serves the pages the bench measures on addr until ctx ends, and
// prints a session token and the pages, to load or profile them by hand
// (go tool pprof http://ADDR/debug/pprof/profile?seconds=5).
func (b *bench) serve(ctx context.Context, addr string) error {
	s, err := b.seeded(ctx)
	if err != nil || s == nil {
		return cmp.Or(err, fmt.Errorf("%s holds no bench history", b.dir))
	}
	h, err := b.handler()
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.HandleFunc("/debug/pprof/", httppprof.Index)
	mux.HandleFunc("/debug/pprof/profile", httppprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", httppprof.Trace)
	srv := &http.Server{Addr: addr, Handler: mux}
	go func() { <-ctx.Done(); srv.Close() }()
	fmt.Fprintf(b.out, "serving on http://%s: session cookie %s=%s\n  /dr-tasks  /dr-tasks/%s  /requests?tab=all  /audit\n",
		addr, handlers.SessionCookie, s.token, s.taskIDs[5])
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// pendingRequestPage has 32 people watch one pending request's page for
// 10 s: a page view reads the database only, so it costs no cloud call and
// appends no audit event, however many watch.
func (b *bench) pendingRequestPage(ctx context.Context, base string, s *seedData, sim *dwssim.Simulator) error {
	var id int64
	if err := b.pool.QueryRow(ctx, `SELECT min(id) FROM requests WHERE status = 'pending'`).Scan(&id); err != nil {
		return fmt.Errorf("a pending request: %w", err)
	}
	lastEvent := func() (int64, error) {
		var n int64
		err := b.pool.QueryRow(ctx, `SELECT COALESCE(max(id), 0) FROM audit_events`).Scan(&n)
		return n, err
	}
	calls := sim.TotalCalls()
	before, err := lastEvent()
	if err != nil {
		return err
	}
	lat, err := b.loadProcess(ctx, fmt.Sprintf("%s/requests/%d", base, id), s.token, 32, 10*time.Second, 100*time.Millisecond)
	if err != nil {
		return fmt.Errorf("pending request page: %w", err)
	}
	after, err := lastEvent()
	if err != nil {
		return err
	}
	cloud, events := sim.TotalCalls()-calls, after-before
	p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
	b.report("page /requests/{id} (pending), 32 clients, a request each per 100 ms", fmt.Sprintf("p50 %s, p99 %s", ms(p50), ms(p99)),
		"p99 < 10 ms", p99 < 10*time.Millisecond)
	b.report(fmt.Sprintf("pending request page, 32 clients for 10 s (%d views)", len(lat)),
		fmt.Sprintf("%d cloud calls, %d audit events", cloud, events), "0 and 0", cloud == 0 && events == 0)
	return nil
}

// loadProcess runs the load generator in a child process and returns the
// sorted latencies it measured.
func (b *bench) loadProcess(ctx context.Context, u, token string, clients int, d, pause time.Duration) ([]time.Duration, error) {
	cmd := exec.CommandContext(ctx, os.Args[0], "load", "-url", u, "-token", token, "-clients", strconv.Itoa(clients),
		"-duration", d.String(), "-pause", pause.String())
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("load generator: %w", err)
	}
	var lat []time.Duration
	for _, f := range strings.Fields(string(out)) {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("load generator output: %w", err)
		}
		lat = append(lat, time.Duration(n))
	}
	if len(lat) == 0 {
		return nil, fmt.Errorf("load generator measured nothing")
	}
	slices.Sort(lat)
	return lat, nil
}

// loadMain is the child process: it loads one URL and prints every
// latency (nanoseconds), after a second of warm-up that is not counted.
//
// Its client is fasthttp's, not net/http's: the load generator shares the
// machine's cores with the portal and PostgreSQL it measures (the budget
// is on loopback), and fasthttp's client takes about half the CPU a
// request (0.4 ms against 0.7, most of it the kernel's), so the clients
// weigh less in the latencies they measure. Each request still reads the
// whole page, as a browser would.
func loadMain(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	u := fs.String("url", "", "page to load")
	token := fs.String("token", "", "session token")
	clients := fs.Int("clients", 32, "concurrent clients")
	d := fs.Duration("duration", 5*time.Second, "how long to measure")
	pause := fs.Duration("pause", 0, "mean pause between a client's requests")
	if err := fs.Parse(args); err != nil {
		return err
	}
	l := &loader{url: *u, client: &fasthttp.Client{MaxConnsPerHost: 2 * *clients, ReadBufferSize: 64 << 10,
		ReadTimeout: time.Minute, WriteTimeout: time.Minute}}
	l.cookies = map[string]string{handlers.SessionCookie: *token}
	// A first view gets the form token cookie a browser would send back.
	if _, err := l.fetch(l.request(), true); err != nil {
		return err
	}
	if _, err := l.run(*clients, time.Second, *pause); err != nil {
		return err
	}
	lat, err := l.run(*clients, *d, *pause)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(out)
	for _, l := range lat {
		fmt.Fprintln(w, int64(l))
	}
	return w.Flush()
}

// loader fetches one page as signed-in clients.
type loader struct {
	url     string
	client  *fasthttp.Client
	cookies map[string]string // sent with every request; set by the first response's
}

// request is a GET of the page with the cookies.
func (l *loader) request() *fasthttp.Request {
	req := fasthttp.AcquireRequest()
	req.SetRequestURI(l.url)
	for k, v := range l.cookies {
		req.Header.SetCookie(k, v)
	}
	return req
}

// fetch gets the page once and returns how long it took; a status other
// than 200 is an error. keep: the cookies it sets are sent from then on
// (only before the clients start: they share the loader).
func (l *loader) fetch(req *fasthttp.Request, keep bool) (time.Duration, error) {
	res := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(res)
	start := time.Now()
	if err := l.client.Do(req, res); err != nil {
		return 0, err
	}
	took := time.Since(start)
	if res.StatusCode() != fasthttp.StatusOK {
		return 0, fmt.Errorf("%s: status %d", l.url, res.StatusCode())
	}
	if keep {
		for k, v := range res.Header.Cookies() {
			var c fasthttp.Cookie
			if c.ParseBytes(v) == nil {
				l.cookies[string(k)] = string(c.Value())
			}
		}
	}
	return took, nil
}

// run has n clients fetch the page for d and returns every latency.
func (l *loader) run(n int, d, pause time.Duration) ([]time.Duration, error) {
	var mu sync.Mutex
	var all []time.Duration
	var firstErr error
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	for range n {
		req := l.request()
		wg.Go(func() {
			defer fasthttp.ReleaseRequest(req)
			var mine []time.Duration
			if pause > 0 {
				time.Sleep(rand.N(pause)) // arrive at random, not all at once
			}
			for time.Now().Before(deadline) {
				took, err := l.fetch(req, false)
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
				mine = append(mine, took)
				if pause > 0 {
					// Jitter, so the clients do not march in step.
					time.Sleep(pause/2 + rand.N(pause))
				}
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	return all, firstErr
}

func (b *bench) export(ctx context.Context, s *seedData) error {
	h, err := b.handler()
	if err != nil {
		return err
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	c := b.client(srv.URL, s)
	base := rss()
	var peak atomic.Int64
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if r := rss(); r > peak.Load() {
					peak.Store(r)
				}
			}
		}
	}()
	start := time.Now()
	res, err := c.Get(srv.URL + "/audit/export?format=ndjson")
	if err != nil {
		return err
	}
	lines := 0
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	h256 := sha256.New()
	for sc.Scan() {
		lines++
		h256.Write(sc.Bytes())
	}
	res.Body.Close()
	took := time.Since(start)
	close(done)
	if err := sc.Err(); err != nil {
		return err
	}
	rate := float64(lines-1) / took.Seconds()
	b.report(fmt.Sprintf("export NDJSON, %d events", lines-1), fmt.Sprintf("%.0f events/s in %s", rate, took.Round(time.Millisecond)),
		">= 100,000 events/s", rate >= 100_000)
	grow := peak.Load() - base
	b.report("export memory (process RSS growth, server and client)", fmt.Sprintf("%d MB (RSS peak %d MB)", grow>>20, peak.Load()>>20),
		"flat, < 100 MB RSS", grow < 100<<20)
	_ = hex.EncodeToString(h256.Sum(nil))
	return nil
}

// rss is the process's resident memory in bytes (Linux).
func rss() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		return 0
	}
	n, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return n << 10
}

func (b *bench) appendRate(ctx context.Context, s *seedData) error {
	for _, writers := range []int{1, 16, 64} {
		if err := b.appendWith(ctx, writers); err != nil {
			return err
		}
	}
	return nil
}

// appendWith measures durable appends of single events by concurrent
// writers, as cloud calls, sign-ins and jobs append them.
func (b *bench) appendWith(ctx context.Context, writers int) error {
	d := 3 * time.Second
	var n atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	var firstErr atomic.Value
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				e := audit.Event{OccurredAt: time.Now(), Actor: audit.System, Action: audit.ActionCloudCall, Outcome: audit.Success,
					Detail: audit.Detail(map[string]any{"method": "GET", "status": 200})}
				if _, err := b.store.AppendAudit(ctx, e); err != nil {
					firstErr.Store(err)
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return err
	}
	rate := float64(n.Load()) / d.Seconds()
	if writers == 1 {
		// One writer waits for every commit's flush: the disk's pace.
		b.report("audit append with the chain, 1 writer, durable", fmt.Sprintf("%.0f events/s", rate), "(information)", true)
		return nil
	}
	b.report(fmt.Sprintf("audit append with the chain, %d writers, durable", writers), fmt.Sprintf("%.0f events/s", rate),
		">= 2,000 events/s", rate >= 2000)
	return nil
}

func (b *bench) verify(ctx context.Context, s *seedData) error {
	start := time.Now()
	rep, err := audit.VerifyChain(ctx, b.store, 0, 0)
	if err != nil {
		return err
	}
	took := time.Since(start)
	if rep.BrokenAt != 0 {
		return fmt.Errorf("verify: chain broken at %d: %s", rep.BrokenAt, rep.Problem)
	}
	b.report(fmt.Sprintf("verify the whole chain, %d events", rep.Checked), took.Round(time.Millisecond).String(),
		"seconds, not minutes", took < time.Minute)
	return nil
}

// poller runs the shared poller for a simulated minute on a changing task
// watched by 50 viewers a second, and counts the cloud reads.
func (b *bench) poller(ctx context.Context, s *seedData) error {
	clock := dwssim.NewFakeClock(time.Now())
	sim, err := dwssim.New(dwssim.Options{Credentials: map[string]string{"POLLBENCH00000000000": "sk"}, Clock: clock})
	if err != nil {
		return err
	}
	srv := httptest.NewServer(sim)
	defer srv.Close()
	const project = "0123456789abcdef0123456789abcdef"
	client, err := dws.New(dws.Config{Endpoint: srv.URL, ProjectID: project, AK: "POLLBENCH00000000000", SK: "sk"})
	if err != nil {
		return err
	}
	var mu sync.Mutex
	now := time.Now()
	svc := &drtask.Service{Cloud: client, Store: b.store, Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }}
	p, _ := sim.Cluster(project, dwssim.ClusterProd2)
	st, _ := sim.Cluster(project, dwssim.ClusterDR2)
	id, err := client.Create(ctx, portal.CreateSpec{Name: "dr_pollbench", DRType: "az", PrimaryClusterID: p.ID, StandbyClusterID: st.ID, SyncPeriod: "5m"})
	if err != nil {
		return err
	}
	t, err := client.Get(ctx, id)
	if err != nil {
		return err
	}
	if err := b.store.UpsertTaskDetail(ctx, t, now); err != nil {
		return err
	}
	// Only this task is due during the simulated minute.
	if _, err := b.pool.Exec(ctx, `UPDATE dr_tasks SET next_poll_at = $1 WHERE id <> $2`, now.Add(time.Hour), id); err != nil {
		return err
	}
	before := sim.Calls("detail")
	for i := 0; i < 60; i++ {
		if _, err := svc.PollDue(ctx); err != nil {
			return err
		}
		for v := 0; v < 50; v++ {
			if _, err := svc.Status(ctx, id); err != nil {
				return err
			}
		}
		mu.Lock()
		now = now.Add(time.Second)
		mu.Unlock()
	}
	calls := sim.Calls("detail") - before
	b.report("cloud reads of one changing task, 50 viewers/s, 1 minute", fmt.Sprintf("%d calls", calls), "<= 12 a minute", calls <= 12)
	return nil
}

// startToReady builds the portal and times a start on the migrated
// database until /healthz answers.
func (b *bench) startToReady(ctx context.Context, s *seedData) error {
	bin := filepath.Join(b.dir, "web")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/web")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	var best time.Duration
	for i := 0; i < 3; i++ {
		d, err := startOnce(ctx, bin, b.server.ConnString)
		if err != nil {
			return err
		}
		if best == 0 || d < best {
			best = d
		}
	}
	b.report("start to ready on a migrated database (best of 3)", best.Round(time.Millisecond).String(), "< 2 s", best < 2*time.Second)
	return nil
}

func startOnce(ctx context.Context, bin, dbURL string) (time.Duration, error) {
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "HTTP_ADDR=127.0.0.1:0", "LOG_LEVEL=warn")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() }()
	sc := bufio.NewScanner(out)
	re := regexp.MustCompile(`listening on (http://\S+)`)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			for time.Since(start) < 30*time.Second {
				if res, err := http.Get(m[1] + "/healthz"); err == nil {
					res.Body.Close()
					if res.StatusCode == 200 {
						d := time.Since(start)
						go func() { _, _ = io.Copy(io.Discard, out) }()
						return d, nil
					}
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
	}
	return 0, fmt.Errorf("the portal did not start")
}
