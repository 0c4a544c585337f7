package testdb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/testcontainers/testcontainers-go"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
)

// containerImage is the PostgreSQL image started when Docker is the only way;
// it matches the installed binaries' major version. Only tests start
// containers: the portal itself never links testcontainers.
const containerImage = "postgres:15-alpine"

// dockerAvailable reports, quickly and without panicking, whether
// testcontainers can reach a healthy Docker engine.
func dockerAvailable(ctx context.Context) (err error) {
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

// startContainer starts a PostgreSQL container and returns a connection
// string to its "postgres" database, the container id, and a function that
// removes the container. Call dockerAvailable first to fail fast.
func startContainer(ctx context.Context) (connString, id string, stop func(context.Context) error, err error) {
	ctr, err := tcpostgres.Run(ctx, containerImage,
		tcpostgres.WithDatabase("postgres"),
		tcpostgres.WithUsername("postgres"),
		tcpostgres.WithPassword("postgres"),
		tcpostgres.BasicWaitStrategies(),
	)
	if err != nil {
		return "", "", nil, errors.Join(fmt.Errorf("testdb: start container %s: %w", containerImage, err), testcontainers.TerminateContainer(ctr))
	}
	connString, err = ctr.ConnectionString(ctx, "sslmode=disable")
	if err != nil {
		return "", "", nil, errors.Join(fmt.Errorf("testdb: container connection string: %w", err), testcontainers.TerminateContainer(ctr))
	}
	stop = func(ctx context.Context) error {
		if err := ctr.Terminate(ctx); err != nil {
			return fmt.Errorf("testdb: remove container %.12s: %w", ctr.GetContainerID(), err)
		}
		return nil
	}
	return connString, ctr.GetContainerID(), stop, nil
}
