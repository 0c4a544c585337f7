// Command dwssim serves the DWS disaster-recovery API simulator
// (internal/dwssim) on a local port, for demos and for running the portal
// without a cloud account.
//
//	go run ./cmd/dwssim -addr 127.0.0.1:8089 -speed 10
//
// Point the portal (or the official SDK, via WithEndpoints) at the printed
// base URL with the printed AK and project ID. The simulator accepts any
// project ID in the path; -project only says which one to print.
// Simulator-only controls live under /_sim/; -h lists them
// (dwssim.ControlUsage).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"drportal/internal/dwssim"
)

// Demo defaults: the fake keys of docs/dws-dr-api.md §6.4 (c), so a fresh
// checkout works without configuration.
const (
	defaultAK      = "EXAMPLEAK0000000000"
	defaultSK      = "EXAMPLEsk0000000000000000000000000000000"
	defaultProject = "0123456789abcdef0123456789abcdef"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "dwssim:", err)
		os.Exit(1)
	}
}

// run serves until ctx is cancelled or SIGINT/SIGTERM arrives, then shuts
// down gracefully. Its first line on stdout names the bound address, so
// callers can pass port 0.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	envOr := func(key, def string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return def
	}
	fs := flag.NewFlagSet("dwssim", flag.ContinueOnError)
	fs.SetOutput(stdout)
	addr := fs.String("addr", "127.0.0.1:8089", "listen address (port 0 picks a free port)")
	ak := fs.String("ak", envOr("DWSSIM_AK", defaultAK), "access key clients sign with (env DWSSIM_AK; default: the docs' fake demo key)")
	// The SK has no printed default, so that -h cannot show one taken from
	// the environment.
	sk := fs.String("sk", "", "secret key for -ak (env DWSSIM_SK; default: the docs' fake demo key); never printed")
	project := fs.String("project", envOr("DWSSIM_PROJECT", defaultProject), "project ID to print for clients (env DWSSIM_PROJECT); any project ID is served")
	speed := fs.Float64("speed", 1, "speed factor: task phases and sync cycles take their base duration divided by this")
	rateLimit := fs.Int("rate-limit", 0, "requests per minute per AK before 429 APIG.0308 (0 = off)")
	seed := fs.Int64("seed", 0, "seed for task and request IDs (0 = random)")
	extended := fs.Bool("extended-fields", false, "include datastore_* and disk_* fields in the DR detail")
	var durations dwssim.Durations
	fs.Func("durations", "phase durations at speed 1, comma-separated, e.g. starting=10s,switchover=1m\n"+
		"(phases: creating starting stopping switchover failover recovery deleting;\n"+
		"defaults: 3s 3s 2s 4s 4s 6s 2s)", func(v string) error { return parseDurations(v, &durations) })
	syncScale := dwssim.DefaultSyncScale
	fs.Func("sync-scale", "simulated sync cycle per unit of dr_sync_period, as a number or a fraction\n"+
		"(default 1/60: a 5m period syncs every 5s at speed 1)", func(v string) (err error) {
		syncScale, err = parseRatio(v)
		return err
	})
	lag := fs.Duration("acceptance-lag", 0, "keep a task's pre-call status this long after an accepted operation\n"+
		"(wall time, not divided by -speed; exercises the switchover pitfall)")
	verbose := fs.Bool("v", false, "log every request")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: dwssim [flags]\n\nServes the DWS disaster-recovery API simulator.\n\nFlags:\n")
		fs.PrintDefaults()
		fmt.Fprintf(fs.Output(), "\n%s", dwssim.ControlUsage)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *sk == "" {
		*sk = envOr("DWSSIM_SK", defaultSK)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stdout, &slog.HandlerOptions{Level: level}))
	sim, err := dwssim.New(dwssim.Options{
		Credentials:           map[string]string{*ak: *sk},
		Speed:                 *speed,
		Seed:                  *seed,
		RateLimitPerMinute:    *rateLimit,
		ExtendedClusterFields: *extended,
		Logger:                logger,
		Durations:             durations,
		SyncScale:             syncScale,
		AcceptanceLag:         *lag,
	})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "dwssim listening on http://%s project=%s ak=%s speed=%g\n", ln.Addr(), *project, *ak, *speed)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close() // a request hung by an injected latency fault
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	fmt.Fprintln(stdout, "dwssim stopped")
	return nil
}

// parseDurations reads "phase=duration,…" into d.
func parseDurations(v string, d *dwssim.Durations) error {
	for item := range strings.SplitSeq(v, ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			return fmt.Errorf("%q is not phase=duration", item)
		}
		dur, err := time.ParseDuration(value)
		if err != nil || dur <= 0 {
			return fmt.Errorf("%s: %q is not a positive duration", name, value)
		}
		if err := d.Set(name, dur); err != nil {
			return err
		}
	}
	return nil
}

// parseRatio reads a positive number or fraction ("0.5", "1/60").
func parseRatio(v string) (float64, error) {
	num, den, frac := strings.Cut(v, "/")
	n, err := strconv.ParseFloat(num, 64)
	d := 1.0
	if err == nil && frac {
		d, err = strconv.ParseFloat(den, 64)
	}
	if err != nil || n <= 0 || d <= 0 {
		return 0, fmt.Errorf("%q is not a positive number or fraction", v)
	}
	return n / d, nil
}
