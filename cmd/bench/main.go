// Command bench measures the portal against the budgets of its design
// (design.md §10) on this machine and prints a table: pages under 32
// concurrent clients, the audit page and export at a million events, audit
// appends with the hash chain, verification, start to ready, and memory
// under a flood of sign-ins.
//
// It starts its own PostgreSQL (durable: fsync on) from the installed
// binaries in a temporary folder and removes it afterwards.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"drportal/internal/config"
)

func main() {
	// The portal's collector target, as cmd/web sets it: the pages step
	// serves from this process. The load generator (this binary again, in
	// a child process standing for 32 browsers) gets it too, so that its
	// own collector weighs less in the latencies it measures.
	config.TuneGC(os.Getenv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) > 0 && args[0] == "load" {
		return loadMain(args[1:], out)
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	events := fs.Int("events", 1_000_000, "audit events to generate")
	keep := fs.Bool("keep", false, "keep the database folder (printed) for inspection")
	dir := fs.String("dir", "", "a folder kept by -keep to measure again, without generating the history anew (implies -keep)")
	only := fs.String("steps", "", "comma-separated steps to run (default all): "+strings.Join(stepNames, ","))
	serve := fs.String("serve", "", "serve the pages the bench measures on this address (with -dir) until interrupted, for profiling")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *serve != "" && *dir == "" {
		return fmt.Errorf("-serve needs -dir, a folder kept by -keep")
	}
	var steps []string
	if *only != "" {
		steps = strings.Split(*only, ",")
		for _, s := range steps {
			if !slices.Contains(stepNames, s) {
				return fmt.Errorf("no step %q (the steps: %s)", s, strings.Join(stepNames, ", "))
			}
		}
	}
	b, err := setup(ctx, out, *keep || *dir != "", *dir)
	if err != nil {
		return err
	}
	defer b.close()
	if *serve != "" {
		return b.serve(ctx, *serve)
	}
	return b.all(ctx, *events, steps)
}
