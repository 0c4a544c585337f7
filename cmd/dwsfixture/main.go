// Command dwsfixture serves the fixture server (internal/dwsfixture), the
// second, small implementation of the DWS disaster-recovery API built from
// the API pages' examples, so that the portal can be tried by hand against
// something that is not the simulator:
//
//	go run ./cmd/dwsfixture -addr 127.0.0.1:8090
//
// then start the portal with the DWS_* settings it prints. The keys are the
// fake ones of docs/dws-dr-api.md §6.4 (c) unless DWSFIXTURE_AK,
// DWSFIXTURE_SK and DWSFIXTURE_PROJECT_ID say otherwise; a secret key from
// the environment is never printed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"drportal/internal/dwsfixture"
)

const (
	demoAK      = "EXAMPLEAK0000000000"
	demoSK      = "EXAMPLEsk0000000000000000000000000000000"
	demoProject = "0123456789abcdef0123456789abcdef"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "dwsfixture:", err)
		os.Exit(1)
	}
}

// run serves until ctx is cancelled or SIGINT/SIGTERM arrives. Its first
// line names the bound address, so callers can pass port 0.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	fs := flag.NewFlagSet("dwsfixture", flag.ContinueOnError)
	fs.SetOutput(stdout)
	addr := fs.String("addr", "127.0.0.1:8090", "listen address")
	step := fs.Duration("step", 5*time.Second, "how long each transient status (creating, starting, ...) lasts")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *step <= 0 {
		return fmt.Errorf("-step must be above 0, got %s", *step)
	}
	ak, sk, project := getenv("DWSFIXTURE_AK"), getenv("DWSFIXTURE_SK"), getenv("DWSFIXTURE_PROJECT_ID")
	printSK := sk == ""
	if ak == "" && sk == "" && project == "" {
		ak, sk, project = demoAK, demoSK, demoProject
	}
	srv, err := dwsfixture.New(dwsfixture.Config{ProjectID: project, AK: ak, SK: sk, Step: *step})
	if err != nil {
		return fmt.Errorf("set all of DWSFIXTURE_AK, DWSFIXTURE_SK and DWSFIXTURE_PROJECT_ID, or none: %w", err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "DWS fixture server on %s\n", base)
	fmt.Fprintf(stdout, "start the portal with: DWS_ENDPOINT=%s DWS_PROJECT_ID=%s DWS_AK=%s", base, project, ak)
	if printSK {
		fmt.Fprintf(stdout, " DWS_SK=%s", sk)
	} else {
		fmt.Fprint(stdout, " DWS_SK=<your DWSFIXTURE_SK>")
	}
	// As against a real cloud, the portal makes up no first admin.
	fmt.Fprintln(stdout, " ADMIN_EMAIL=<you> ADMIN_PASSWORD=<12 characters or more> (on its first start)")
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
