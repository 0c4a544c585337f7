// Command web is the DR Portal: it serves the pages and runs the background
// work. Sub-commands: "serve" (the default), "migrate", "audit verify".
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "web:", err)
		os.Exit(1)
	}
}

// gcPercent trades memory for CPU: a page allocates little that survives, and
// collecting at four times the live heap instead of twice halves the
// collector's share of two cores (measured by make bench). GOGC, when set,
// wins. It is set here, not in run, because it is process-wide: tests that
// call run must not change their own binary's collector.
const gcPercent = 400
