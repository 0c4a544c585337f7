package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/alexedwards/argon2id"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"

	"drportal/internal/audit"
	"drportal/internal/auth"
	"drportal/internal/config"
	"drportal/internal/db"
	"drportal/internal/drtask"
	"drportal/internal/dws"
	"drportal/internal/dwssim"
	"drportal/internal/handlers"
	"drportal/internal/jobs"
	"drportal/internal/portal"
	"drportal/internal/requests"
	"drportal/internal/testdb"
	"drportal/internal/webhook"
	"drportal/static"
)

func TestMain(m *testing.M) { os.Exit(testdb.Run(m)) }

const (
	simAK      = "HANDLERTESTAK0000000"
	simSK      = "handlertestsk00000000000000000000000000"
	simProject = "abcdefabcdefabcdefabcdefabcdef01"
	password   = "correct horse battery staple"
)

// env is the whole portal on real components: a migrated PostgreSQL, the
// simulator over real HTTP, the real client, the real router.
type env struct {
	t      *testing.T
	store  *db.Store
	sim    *dwssim.Simulator
	clock  *dwssim.FakeClock
	srv    *httptest.Server
	router *echo.Echo // for the routes it knows
	jobs   *jobs.Jobs
	reqs   *requests.Service
	tasks  *drtask.Service
	hooks  *hookReceiver
	client *dws.Client
	// later moves the request workflow's clock forward.
	later *laterClock
	// signInClock moves the sign-in service's clock (throttles, sessions).
	signInClock *laterClock
	// pageClock moves the handlers' own clock (the export limit).
	pageClock *laterClock
	// logs holds everything the handlers logged, at every level.
	logs *logBuffer
}

// logBuffer is what the handlers log, readable while they write to it.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// laterClock is the wall clock plus an offset a test may advance.
type laterClock struct{ offset atomic.Int64 }

func (c *laterClock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *laterClock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// cheapArgon keeps the tests fast; production uses argon2id.DefaultParams.
var cheapArgon = &argon2id.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// envOption changes the portal a test runs before it starts.
type envOption func(*envSetup)

type envSetup struct {
	vars map[string]string   // the portal's configuration (environment variables)
	auth func(*auth.Service) // changes the sign-in service
	sim  dwssim.Options      // the simulator's options (credentials, clock and seed are the env's)
	// tracer sees everything the portal sends the database (nil: nothing does).
	tracer pgx.QueryTracer
}

// withTracer has tr see everything the portal sends the database.
func withTracer(tr pgx.QueryTracer) envOption {
	return func(s *envSetup) { s.tracer = tr }
}

// withSim sets options of the simulator, such as its timing.
func withSim(f func(*dwssim.Options)) envOption {
	return func(s *envSetup) { f(&s.sim) }
}

// withVar sets one of the portal's configuration variables.
func withVar(name, value string) envOption {
	return func(s *envSetup) { s.vars[name] = value }
}

// withAuth changes the sign-in service.
func withAuth(f func(*auth.Service)) envOption {
	return func(s *envSetup) { s.auth = f }
}

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	setup := envSetup{vars: map[string]string{}}
	for _, o := range opts {
		o(&setup)
	}
	var pool *pgxpool.Pool
	if setup.tracer == nil {
		pool = testdb.New(t)
	} else {
		cfg, err := pgxpool.ParseConfig(testdb.NewURL(t))
		if err != nil {
			t.Fatal(err)
		}
		cfg.ConnConfig.Tracer = setup.tracer
		if pool, err = pgxpool.NewWithConfig(context.Background(), cfg); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
	}
	store := db.New(pool)
	appender := audit.NewAppender(store)
	appender.Start(t.Context())
	t.Cleanup(appender.Close) // after the jobs and the server, whose cleanups run first
	store.SetAppender(appender)
	clock := dwssim.NewFakeClock(time.Now())
	simOpts := setup.sim
	simOpts.Credentials, simOpts.Clock, simOpts.Seed = map[string]string{simAK: simSK}, clock, 7
	sim, err := dwssim.New(simOpts)
	if err != nil {
		t.Fatal(err)
	}
	simSrv := httptest.NewServer(sim)
	t.Cleanup(simSrv.Close)
	client, err := dws.New(dws.Config{Endpoint: simSrv.URL, ProjectID: simProject, AK: simAK, SK: simSK,
		Recorder: &audit.CloudRecorder{Store: store}, BaseBackoff: time.Millisecond, AttemptTimeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(func(k string) string { return setup.vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	tasks := &drtask.Service{Cloud: client, Store: store, Now: time.Now, PageTimeout: 2 * time.Second,
		PollChanging: 50 * time.Millisecond, PollSettled: 200 * time.Millisecond,
		// Tests file one operation after another at once; the limit has a
		// test of its own (TestOperationFormsCannotBurnTheCloudQuota).
		FormReadInterval: -1}
	hooks := newHookReceiver(t)
	later := &laterClock{}
	outbox, err := jobs.NewOutbox(store.Pool(), jobs.OutboxConfig{BaseURL: "http://portal.test", WebhookURL: hooks.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	reqs := &requests.Service{Store: store, Now: later.Now, Outbox: outbox, Checker: tasks}
	signInClock := &laterClock{}
	authSvc := &auth.Service{Store: store, Now: signInClock.Now, Params: cheapArgon, OnDeactivate: reqs.CancelOnDeactivate, OnWindowsLoosened: reqs.WakeWaiting}
	if setup.auth != nil {
		setup.auth(authSvc)
	}
	work, err := jobs.New(jobs.Config{Pool: store.Pool(), Store: store, Cloud: client, Checks: tasks, Requests: reqs,
		Poller: tasks, PollEvery: 50 * time.Millisecond, ListEvery: 100 * time.Millisecond,
		Clusters: tasks, ClusterEvery: 200 * time.Millisecond,
		Now: time.Now, WebhookURL: hooks.srv.URL, WebhookSecret: hookSecret,
		FollowInterval: 20 * time.Millisecond, RetryBase: 10 * time.Millisecond, RetryCap: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// As at the portal's start: the form's copy of the clusters is read
	// before the first page.
	if err := tasks.SyncClusters(audit.WithActor(context.Background(), audit.System)); err != nil {
		t.Fatal(err)
	}
	if err := work.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = work.StopAndCancel(ctx)
	})
	logs := &logBuffer{}
	pageClock := &laterClock{}
	h := handlers.New(handlers.Deps{
		Config: cfg, Store: store, Auth: authSvc, Tasks: tasks, Requests: reqs,
		AuditLog: &audit.Service{Store: store, Now: time.Now, ArchiveDir: t.TempDir()},
		Assets:   static.Load(), Now: pageClock.Now,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	e := &env{t: t, store: store, sim: sim, clock: clock, srv: srv, jobs: work, reqs: reqs, tasks: tasks, hooks: hooks, client: client, later: later,
		signInClock: signInClock, pageClock: pageClock, logs: logs}
	e.addUser("admin@example.com", auth.AllRoles...)
	e.addUser("req@example.com", auth.RoleRequester)
	e.addUser("audit@example.com", auth.RoleAuditor)
	e.router = h
	return e
}

func (e *env) addUser(email string, roles ...portal.Role) portal.User {
	e.t.Helper()
	hash, err := argon2id.CreateHash(password, cheapArgon)
	if err != nil {
		e.t.Fatal(err)
	}
	var u portal.User
	err = e.store.InTx(context.Background(), func(tx *db.Tx) error {
		u, err = tx.CreateUser(context.Background(), email, strings.Split(email, "@")[0], hash, roles)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// browser is a cookie-keeping client that does not follow redirects, so
// tests see the 303s.
type browser struct {
	e *env
	c *http.Client
	// header is sent with every request (a proxy's X-Forwarded-For).
	header http.Header
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// signedIn returns a browser signed in as email.
func (e *env) signedIn(email string) *browser {
	b := e.browser()
	res := b.post("/signin", url.Values{"email": {email}, "password": {password}})
	if res.status != http.StatusSeeOther {
		e.t.Fatalf("sign in %s: status %d: %s", email, res.status, res.body)
	}
	return b
}

type response struct {
	status int
	header http.Header
	body   string
	doc    *goquery.Document
}

func (r response) text(sel string) string {
	return strings.TrimSpace(r.doc.Find(sel).Text())
}

// attr is the attribute name of the first element sel finds ("" if none).
func (r response) attr(sel, name string) string {
	v, _ := r.doc.Find(sel).First().Attr(name)
	return v
}

func (b *browser) do(req *http.Request) response {
	b.e.t.Helper()
	for k, v := range b.header {
		req.Header[k] = v
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(string(body)))
	if err != nil {
		b.e.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: string(body), doc: doc}
}

func (b *browser) get(path string, hdr ...string) response {
	b.e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.e.srv.URL+path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return b.do(req)
}

// csrf fetches a page and scrapes the token of its forms.
func (b *browser) csrf(page string) string {
	b.e.t.Helper()
	res := b.get(page)
	tok, ok := res.doc.Find(`input[name="_csrf"]`).First().Attr("value")
	if !ok || tok == "" {
		b.e.t.Fatalf("no CSRF token on %s (status %d)", page, res.status)
	}
	return tok
}

// post submits a form the way a browser would: after loading a page that
// carries the CSRF token.
func (b *browser) post(path string, form url.Values) response {
	b.e.t.Helper()
	page := path
	switch path {
	case "/dr-tasks":
		page = "/dr-tasks/new"
	case "/signout":
		page = "/dr-tasks"
	}
	form.Set("_csrf", b.csrf(page))
	return b.postRaw(path, form)
}

func (b *browser) postRaw(path string, form url.Values) response {
	b.e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// events returns the audit events with exactly this action, oldest first.
func (e *env) events(action string) []audit.Event {
	e.t.Helper()
	var out []audit.Event
	err := e.store.StreamAudit(context.Background(), db.AuditFilter{Action: action}, func(ev audit.Event) error {
		if ev.Action == action {
			out = append(out, ev)
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *env) cluster(name string) dwssim.Cluster {
	e.t.Helper()
	c, ok := e.sim.Cluster(simProject, name)
	if !ok {
		e.t.Fatalf("no simulator cluster %s", name)
	}
	return c
}

const hookSecret = "webhook-secret-for-tests"

// hookReceiver is a webhook endpoint that keeps what it received, after
// checking it the way the README tells a receiver to (webhook.Verify: the
// signature over the timestamp, delivery id, event and body, and the
// timestamp's age; then each delivery id processed once), and that the
// body's event is the header's.
type hookReceiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	events []hookEvent
	seen   map[string]bool // delivery ids processed
}

type hookEvent struct {
	Event   string
	Request map[string]any
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{seen: map[string]bool{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify(hookSecret, r.Header, body, time.Now(), 0); err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var n struct {
			Event   string         `json:"event"`
			Request map[string]any `json:"request"`
		}
		if err := json.Unmarshal(body, &n); err != nil || n.Event != r.Header.Get(webhook.HeaderEvent) {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		if id := r.Header.Get(webhook.HeaderDelivery); !h.seen[id] {
			h.seen[id] = true
			h.events = append(h.events, hookEvent{Event: n.Event, Request: n.Request})
		}
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// received waits until the receiver got event for request id.
func (h *hookReceiver) received(t *testing.T, event string, id int64) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		h.mu.Lock()
		for _, e := range h.events {
			if e.Event == event && e.Request["id"] == float64(id) {
				h.mu.Unlock()
				return
			}
		}
		h.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("webhook %s for request %d never arrived", event, id)
}

// waitRequest advances the simulator's clock until the request reaches one
// of the statuses, and returns it.
func (e *env) waitRequest(id int64, statuses ...portal.RequestStatus) portal.Request {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r, err := e.store.Request(context.Background(), id)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, s := range statuses {
			if r.Status == s {
				return r
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("request %d is %s (%s), want %v", id, r.Status, r.Outcome, statuses)
		}
		e.clock.Advance(500 * time.Millisecond)
		time.Sleep(20 * time.Millisecond)
	}
}

// eventually retries check until it holds or time runs out.
func eventually(t *testing.T, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: never happened", what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}
