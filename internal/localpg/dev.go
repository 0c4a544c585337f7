package localpg

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
)

// DevDatabase is the name of the development database.
const DevDatabase = "drportal"

// EnsureDev starts, or reuses, the development cluster that `make run` uses
// when DATABASE_URL is not configured, with the database DevDatabase. The
// cluster lives in "postgres" inside dataDir (DATA_DIR), unless the server's
// account cannot reach that folder (see devClusterDir). describe is one
// sentence for the console saying what it did and where the cluster lives.
// Stop the server with its Stop method, which leaves a reused server running.
func EnsureDev(ctx context.Context, dataDir string, logf func(string, ...any)) (srv *Server, describe string, err error) {
	inData, err := filepath.Abs(filepath.Join(dataDir, "postgres"))
	if err != nil {
		return nil, "", errorf("%w", err)
	}
	u, err := lookupServerUser(filepath.Join(inData, "data"))
	if err != nil {
		return nil, "", err
	}
	dir, why, err := devClusterDir(inData, u)
	if err != nil {
		return nil, "", err
	}
	srv, err = Ensure(ctx, Options{Dir: dir, Database: DevDatabase, Logf: logf})
	if err != nil {
		return nil, "", err
	}
	verb := "reused running"
	if srv.Started {
		verb = "started"
	}
	describe = fmt.Sprintf("%s local PostgreSQL %s in %s (socket %s)", verb, srv.Version, srv.Dir, srv.SocketDir)
	if why != "" {
		describe += "; " + why
	}
	return srv, describe, nil
}

// devClusterDir picks the development cluster's folder: inData
// (DATA_DIR/postgres) whenever the server's account can reach it, which is
// always the case when we are not root. As root, the server runs as another
// account (postgres), which cannot reach a checkout under a private folder
// such as /root; then the cluster lives in that account's home directory
// (else the temporary directory), in a folder named after a hash of inData,
// so each checkout keeps its own data across runs. why says so, else it is
// empty.
func devClusterDir(inData string, u serverUser) (dir, why string, err error) {
	blocked, _, err := u.blockedAt(inData)
	if err != nil || blocked == "" {
		return inData, "", err
	}
	base := u.home
	if fi, err := os.Stat(base); base == "" || !filepath.IsAbs(base) || err != nil || !fi.IsDir() {
		base = os.TempDir()
	}
	sum := sha256.Sum256([]byte(inData))
	dir = filepath.Join(base, "drportal-"+hex.EncodeToString(sum[:6]))
	why = fmt.Sprintf("it lives there, not in %s, because PostgreSQL's user %s cannot enter %s", inData, u.name, blocked)
	return dir, why, nil
}
