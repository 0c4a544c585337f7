// Package devdb finds a PostgreSQL for development when DATABASE_URL is not
// configured: a local cluster from the installed server binaries, else a
// container where Docker runs.
package devdb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/testcontainers/testcontainers-go"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"

	"drportal/internal/localpg"
)

// Database is the name of the development database.
const Database = "drportal"

// ContainerImage is the PostgreSQL image started when Docker is the only way;
// it matches the installed binaries' major version.
const ContainerImage = "postgres:15-alpine"

// ErrNoPostgres reports that neither PostgreSQL binaries nor Docker are
// available. Its text says how to get a database.
var ErrNoPostgres = errors.New("devdb: no PostgreSQL for development: set DATABASE_URL, " +
	"or install the PostgreSQL server (Debian/Ubuntu: apt-get install postgresql; " +
	"initdb is looked up on PATH and in /usr/lib/postgresql/*/bin), or start Docker")

// Open returns a connection string for a development database when
// DATABASE_URL is not configured: a local cluster in dir from the installed
// PostgreSQL binaries, else a testcontainers-go PostgreSQL where Docker runs,
// else an error wrapping ErrNoPostgres that says how to get one.
// describe is one human sentence saying which it did. stop releases what Open
// started; it is a no-op when Open reused a running server.
func Open(ctx context.Context, dir string, logf func(string, ...any)) (connString, describe string, stop func(context.Context) error, err error) {
	if _, binErr := localpg.FindBinaries(); binErr == nil {
		// Binaries are present: a failure here is a real problem to report,
		// not a reason to try Docker behind the developer's back.
		srv, err := localpg.Ensure(ctx, localpg.Options{Dir: dir, Database: Database, Logf: logf})
		if err != nil {
			return "", "", nil, fmt.Errorf("devdb: %w", err)
		}
		verb := "reused running"
		if srv.Started {
			verb = "started"
		}
		describe = fmt.Sprintf("%s local PostgreSQL %s in %s (socket %s)", verb, srv.Version, dir, srv.SocketDir)
		return srv.ConnString, describe, srv.Stop, nil
	}
	if dockerErr := DockerAvailable(ctx); dockerErr != nil {
		return "", "", nil, fmt.Errorf("%w (Docker: %v)", ErrNoPostgres, dockerErr)
	}
	connString, id, stop, err := StartContainer(ctx, Database)
	if err != nil {
		return "", "", nil, err
	}
	return connString, fmt.Sprintf("started PostgreSQL container %s (%.12s); it is removed on exit", ContainerImage, id), stop, nil
}

// DockerAvailable reports, quickly and without panicking, whether
// testcontainers can reach a healthy Docker engine. It is the non-test
// counterpart of testcontainers.SkipIfProviderIsNotHealthy.
func DockerAvailable(ctx context.Context) (err error) {
	defer func() {
		// testcontainers panics in some corners of engine discovery.
		if r := recover(); r != nil {
			err = fmt.Errorf("docker provider: %v", r)
		}
	}()
	provider, err := testcontainers.ProviderDocker.GetProvider()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return provider.Health(ctx) // also closes the provider
}

// StartContainer starts a PostgreSQL container with the given database and
// returns a connection string to it, the container id, and a function that
// removes the container. Call DockerAvailable first to fail fast.
func StartContainer(ctx context.Context, database string) (connString, id string, stop func(context.Context) error, err error) {
	ctr, err := tcpostgres.Run(ctx, ContainerImage,
		tcpostgres.WithDatabase(database),
		tcpostgres.WithUsername("postgres"),
		tcpostgres.WithPassword("postgres"),
		tcpostgres.BasicWaitStrategies(),
	)
	if err != nil {
		return "", "", nil, errors.Join(fmt.Errorf("devdb: start container %s: %w", ContainerImage, err), testcontainers.TerminateContainer(ctr))
	}
	connString, err = ctr.ConnectionString(ctx, "sslmode=disable")
	if err != nil {
		return "", "", nil, errors.Join(fmt.Errorf("devdb: container connection string: %w", err), testcontainers.TerminateContainer(ctr))
	}
	stop = func(ctx context.Context) error {
		if err := ctr.Terminate(ctx); err != nil {
			return fmt.Errorf("devdb: remove container %.12s: %w", ctr.GetContainerID(), err)
		}
		return nil
	}
	return connString, ctr.GetContainerID(), stop, nil
}
