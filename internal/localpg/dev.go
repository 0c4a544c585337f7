package localpg

import (
	"context"
	"fmt"
	"path/filepath"
)

// DevDatabase is the name of the development database.
const DevDatabase = "drportal"

// EnsureDev starts, or reuses, the development cluster that `make run` uses
// when DATABASE_URL is not configured: the cluster folder "postgres" inside
// dataDir (DATA_DIR), with the database DevDatabase. describe is one sentence
// for the console saying what it did and where the cluster lives. Stop the
// server with its Stop method, which leaves a reused server running.
func EnsureDev(ctx context.Context, dataDir string, logf func(string, ...any)) (srv *Server, describe string, err error) {
	dir, err := filepath.Abs(filepath.Join(dataDir, "postgres"))
	if err != nil {
		return nil, "", errorf("%w", err)
	}
	srv, err = Ensure(ctx, Options{Dir: dir, Database: DevDatabase, Logf: logf})
	if err != nil {
		return nil, "", err
	}
	verb := "reused running"
	if srv.Started {
		verb = "started"
	}
	return srv, fmt.Sprintf("%s local PostgreSQL %s in %s (socket %s)", verb, srv.Version, srv.Dir, srv.SocketDir), nil
}
