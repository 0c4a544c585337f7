// Command web is the DR Portal: it serves the pages and runs the background
// work. Sub-commands: "serve" (the default), "migrate", "audit verify".
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"drportal/internal/config"
)

func main() {
	// Process-wide, so here and not in run: tests that call run must not
	// change their own binary's collector.
	config.TuneGC(os.Getenv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "web:", err)
		os.Exit(1)
	}
}
