package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"drportal/internal/audit"
	"drportal/internal/auth"
	"drportal/internal/config"
	"drportal/internal/db"
	"drportal/internal/drtask"
	"drportal/internal/dws"
	"drportal/internal/dwssim"
	"drportal/internal/handlers"
	"drportal/internal/jobs"
	"drportal/internal/localpg"
	"drportal/internal/portal"
	"drportal/internal/requests"
	"drportal/static"
)

const usage = `usage: web [serve | migrate | grant-admin EMAIL | audit verify [-from N] [-to N] | audit verify -file PATH]

  serve         run the portal (the default)
  migrate       apply the database migrations and exit
  grant-admin EMAIL
                give an existing account the admin role, audited: how an install
                left with one admin gets its second (in the portal, a grant waits
                for a second admin once the install has had two)
  audit verify  recompute the audit hash chain (all of it, or events N to M)
                and report the first broken link; exits non-zero when broken
  audit verify -file PATH
                check an exported NDJSON or CSV file offline (no database)

Configuration comes from the environment; see the README.`

// run is the whole program, callable from tests: it returns when ctx ends
// (serve) or when the sub-command is done.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cmd, rest := "serve", []string(nil)
	switch {
	case len(args) > 2 && args[1] == "audit":
		cmd, rest = "audit "+args[2], args[3:]
	case len(args) > 1:
		cmd, rest = args[1], args[2:]
	}
	var verifyFrom, verifyTo int64
	switch cmd {
	case "serve", "migrate":
		if len(rest) > 0 {
			return fmt.Errorf("%s takes no arguments\n%s", cmd, usage)
		}
	case "grant-admin":
		if len(rest) != 1 || strings.TrimSpace(rest[0]) == "" {
			return fmt.Errorf("grant-admin takes the account's e-mail\n%s", usage)
		}
	case "audit verify":
		fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
		fs.SetOutput(stdout)
		fs.Int64Var(&verifyFrom, "from", 0, "first event to check (default: the start)")
		fs.Int64Var(&verifyTo, "to", 0, "last event to check (default: the end)")
		file := fs.String("file", "", "an exported NDJSON or CSV file to check offline")
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if *file != "" {
			return verifyFile(*file, stdout)
		}
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	default:
		return fmt.Errorf("unknown command %q\n%s", strings.Join(args[1:], " "), usage)
	}

	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel}))
	say := func(format string, a ...any) { fmt.Fprintf(stdout, format+"\n", a...) }

	dbURL := cfg.DatabaseURL
	if dbURL == "" {
		srv, describe, err := localpg.EnsureDev(ctx, cfg.DataDir, func(f string, a ...any) { logger.Debug(fmt.Sprintf(f, a...)) })
		if err != nil {
			return fmt.Errorf("DATABASE_URL is not set and no local database could be started: %w", err)
		}
		say("database: %s (DATABASE_URL is not set)", describe)
		defer func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
			defer cancel()
			if err := srv.Stop(sctx); err != nil {
				logger.Error("stop local database", "err", err)
			}
		}()
		dbURL = srv.ConnString
	}
	pool, err := db.Open(ctx, dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	store := db.New(pool)
	// Events appended in a transaction of their own (cloud calls, sign-ins,
	// job steps) share commits. Deferred here, it closes after serve has
	// stopped the server and the jobs, and before the pool.
	appender := audit.NewAppender(store)
	appender.Start(ctx)
	defer appender.Close()
	store.SetAppender(appender)

	if cmd == "audit verify" {
		svc := &audit.Service{Store: store, Now: time.Now, ArchiveDir: cfg.ArchiveDir}
		rep, err := svc.Verify(audit.WithCorrelation(audit.WithActor(ctx, audit.System), "cli"), verifyFrom, verifyTo)
		if err != nil {
			return err
		}
		if rep.BrokenAt != 0 {
			return fmt.Errorf("audit chain broken at event %d: %s (%d events checked)", rep.BrokenAt, rep.Problem, rep.Checked)
		}
		say("audit chain intact: %d events verified (%d to %d)", rep.Checked, rep.FirstID, rep.LastID)
		return nil
	}

	n, err := db.Migrate(ctx, pool, nil)
	if err != nil {
		return err
	}
	say("database: %d migration(s) applied", n)
	if cmd == "migrate" {
		return nil
	}
	if cmd == "grant-admin" {
		svc := &auth.Service{Store: store, Now: time.Now}
		u, err := svc.GrantAdmin(audit.WithCorrelation(audit.WithActor(ctx, audit.System), "cli"), rest[0])
		if err != nil {
			return err
		}
		say("%s is an admin (roles: %s)", u.Email, strings.Join(u.RoleNames(), ", "))
		return nil
	}
	return serve(ctx, cfg, store, logger, say)
}

func serve(ctx context.Context, cfg config.Config, store *db.Store, logger *slog.Logger, say func(string, ...any)) error {
	for _, w := range cfg.Warnings() {
		logger.Warn("insecure configuration: " + w)
	}
	if cfg.Simulated {
		stopSim, err := startSimulator(ctx, &cfg, logger)
		if err != nil {
			return err
		}
		defer stopSim()
		say("cloud: built-in DWS simulator at %s (no DWS_AK/DWS_SK configured)", cfg.DWS.Endpoint)
	} else {
		say("cloud: DWS API at %s, project %s", cfg.DWS.Endpoint, cfg.DWS.ProjectID)
	}

	client, err := dws.New(dws.Config{
		Endpoint: cfg.DWS.Endpoint, ProjectID: cfg.DWS.ProjectID, AK: cfg.DWS.AK, SK: cfg.DWS.SK,
		Recorder:       &audit.CloudRecorder{Store: store, Logger: logger},
		AttemptTimeout: cfg.CloudTimeout,
	})
	if err != nil {
		return err
	}
	tasks := &drtask.Service{Cloud: client, Store: store, Now: time.Now, Logger: logger, PageTimeout: cfg.CloudTimeout,
		Zones: portal.TimeZones{DWS: cfg.DWSTimeZone, Display: cfg.DisplayTimeZone}}
	outbox, err := jobs.NewOutbox(store.Pool(), jobs.OutboxConfig{BaseURL: strings.TrimSuffix(cfg.BaseURL.String(), "/"),
		WebhookURL: cfg.WebhookURL})
	if err != nil {
		return err
	}
	reqs := &requests.Service{Store: store, Now: time.Now, Outbox: outbox, Checker: tasks, DisplayZone: cfg.DisplayTimeZone}
	authSvc := &auth.Service{Store: store, Now: time.Now, IdleTimeout: cfg.SessionIdleTimeout, MaxAge: cfg.SessionMaxAge,
		OnDeactivate: reqs.CancelOnDeactivate, OnWindowsLoosened: reqs.WakeWaiting}
	if err := bootstrapAdmin(ctx, cfg, store, authSvc, logger, say); err != nil {
		return err
	}
	work, err := jobs.New(jobs.Config{Pool: store.Pool(), Store: store, Cloud: client, Checks: tasks, Requests: reqs,
		Poller: tasks, Clusters: tasks, Now: time.Now, Logger: logger,
		WebhookURL: cfg.WebhookURL, WebhookSecret: cfg.WebhookSecret, FollowTimeout: cfg.ExecutionTimeout, DWSZone: cfg.DWSTimeZone})
	if err != nil {
		return err
	}
	// The create form reads the portal's copy of the clusters: read them
	// once before serving, so that the form offers them from the start.
	// A failure is recorded for the form and the background sync tries again.
	if err := tasks.SyncClusters(audit.WithCorrelation(audit.WithActor(ctx, audit.System), "cluster-sync")); err != nil {
		logger.Warn("read the clusters at start", "err", err)
	}
	if err := work.Start(ctx); err != nil {
		return fmt.Errorf("start background jobs: %w", err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := work.Stop(sctx); err != nil {
			logger.Warn("stop background jobs", "err", err)
		}
	}()

	noteKey, err := store.PortalKey(ctx, "page-note")
	if err != nil {
		return err
	}
	h := handlers.New(handlers.Deps{
		NoteKey:  noteKey,
		Config:   cfg,
		Store:    store,
		Auth:     authSvc,
		Tasks:    tasks,
		Requests: reqs,
		AuditLog: &audit.Service{Store: store, Now: time.Now, ArchiveDir: cfg.ArchiveDir},
		Assets:   static.Load(),
		Logger:   logger,
		Now:      time.Now,
	})
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      cfg.CloudTimeout*3 + 30*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("HTTP_ADDR %s: %w", cfg.HTTPAddr, err)
	}
	say("listening on http://%s", displayAddr(ln.Addr()))

	go cleanSessions(ctx, store, authSvc, cfg.SessionIdleTimeout, logger)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	say("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// startSimulator runs the DWS simulator in-process on a loopback port with
// random credentials. The portal reaches it over real HTTP with AK/SK
// signing, through the same client as the real cloud.
func startSimulator(ctx context.Context, cfg *config.Config, logger *slog.Logger) (stop func(), err error) {
	ak, sk, project := randomHex(10), randomHex(20), randomHex(16)
	sim, err := dwssim.New(dwssim.Options{
		Credentials: map[string]string{strings.ToUpper(ak): sk},
		Speed:       cfg.SimSpeed,
		Logger:      logger.With("component", "dwssim"),
	})
	if err != nil {
		return nil, fmt.Errorf("start simulator: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start simulator: %w", err)
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	cfg.DWS = config.DWS{Region: cfg.DWS.Region, ProjectID: project, AK: strings.ToUpper(ak), SK: sk,
		Endpoint: "http://" + ln.Addr().String()}
	return func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}, nil
}

// bootstrapAdmin creates the first admin from ADMIN_EMAIL/ADMIN_PASSWORD,
// or, on the embedded defaults with no account yet, a generated one whose
// password is printed this once.
func bootstrapAdmin(ctx context.Context, cfg config.Config, store *db.Store, a *auth.Service, logger *slog.Logger, say func(string, ...any)) error {
	ctx = audit.WithCorrelation(audit.WithActor(ctx, audit.System), "startup")
	if cfg.AdminEmail != "" {
		created, err := a.Bootstrap(ctx, cfg.AdminEmail, cfg.AdminPassword)
		if err != nil {
			return fmt.Errorf("bootstrap admin %s: %w", cfg.AdminEmail, err)
		}
		if created {
			say("accounts: created admin %s from ADMIN_EMAIL", cfg.AdminEmail)
		}
		return nil
	}
	n, err := store.CountUsers(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if !cfg.Simulated {
		logger.Warn("no accounts exist, so nobody can sign in: against a real cloud the first admin is not made up; set ADMIN_EMAIL and ADMIN_PASSWORD (at least 12 characters) and start again")
		return nil
	}
	const email = "admin@localhost"
	password := auth.TemporaryPassword() // no look-alike characters: it is copied by hand
	created, err := a.Bootstrap(ctx, email, password)
	if err != nil {
		return fmt.Errorf("bootstrap admin: %w", err)
	}
	if created {
		say("accounts: created admin %s with password %s (shown only now; set ADMIN_EMAIL/ADMIN_PASSWORD to choose your own)", email, password)
	}
	return nil
}

// cleanSessions deletes, every few minutes, what has run its course
// (housekeep).
func cleanSessions(ctx context.Context, store *db.Store, a *auth.Service, idle time.Duration, logger *slog.Logger) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			housekeep(ctx, store, a, idle, time.Now(), logger)
		}
	}
}

// formReadsKept is how long an operation form's read limit is kept after
// its last read: it spaces reads 15 s apart, so a day is long past its use.
const formReadsKept = 24 * time.Hour

// housekeep deletes, as of now, ended sessions, sign-in throttles whose
// failures are forgotten, and the operation forms' read limits of a day
// ago (db.Store.PruneFormReads). None of it is audited: these rows record
// no one's action, only what limits the next.
func housekeep(ctx context.Context, store *db.Store, a *auth.Service, idle time.Duration, now time.Time, logger *slog.Logger) {
	if _, err := store.DeleteExpiredSessions(ctx, now, idle); err != nil && ctx.Err() == nil {
		logger.Warn("clean sessions", "err", err)
	}
	if _, err := a.PruneThrottles(ctx); err != nil && ctx.Err() == nil {
		logger.Warn("clean sign-in throttles", "err", err)
	}
	if _, err := store.PruneFormReads(ctx, now.Add(-formReadsKept)); err != nil && ctx.Err() == nil {
		logger.Warn("clean the operation forms' read limits", "err", err)
	}
}

func displayAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if ok && tcp.IP.IsUnspecified() {
		return fmt.Sprintf("localhost:%d", tcp.Port)
	}
	return a.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// verifyFile checks an exported file offline.
func verifyFile(path string, stdout io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	rep, err := audit.VerifyFile(f)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if rep.Problem != "" {
		return fmt.Errorf("%s: %s (%d events checked)", path, rep.Problem, rep.Events)
	}
	fmt.Fprintf(stdout, "%s intact: %d events (%s), %d to %d, last hash %s\n", path, rep.Events, rep.Format,
		rep.Manifest.FirstID, rep.Manifest.LastID, rep.Manifest.LastHash)
	return nil
}
