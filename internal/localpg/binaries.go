package localpg

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
)

// serverTools are the programs a cluster folder needs; they must sit together
// because pg_ctl finds postgres next to itself.
var serverTools = []string{"initdb", "pg_ctl", "postgres"}

// debianBinGlob is where Debian and Ubuntu install the server binaries; they
// are not on PATH there by default.
const debianBinGlob = "/usr/lib/postgresql/*/bin"

// ErrNoBinaries reports that no PostgreSQL server binaries were found.
var ErrNoBinaries = errors.New("localpg: no PostgreSQL server binaries (initdb, pg_ctl, postgres) on PATH or in " + debianBinGlob +
	"; install them (Debian/Ubuntu: apt-get install postgresql)")

// FindBinaries returns the directory holding initdb, pg_ctl and postgres:
// the one initdb on PATH resolves to, else the highest version in
// /usr/lib/postgresql/*/bin. The error wraps ErrNoBinaries when there is none.
func FindBinaries() (binDir string, err error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		// Resolve symlinks: /usr/local/bin/initdb may point into the real
		// bin directory, and only that one also holds pg_ctl's postgres.
		if real, err := filepath.EvalSymlinks(p); err == nil {
			if dir := filepath.Dir(real); hasServerTools(dir) {
				return dir, nil
			}
		}
	}
	dirs, _ := filepath.Glob(debianBinGlob) // the pattern is valid
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, dir := range dirs {
		if hasServerTools(dir) {
			return dir, nil
		}
	}
	return "", ErrNoBinaries
}

func hasServerTools(dir string) bool {
	for _, name := range serverTools {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}

// versionOf reads the major version from /usr/lib/postgresql/<version>/bin.
func versionOf(binDir string) float64 {
	v, err := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	if err != nil {
		return -1
	}
	return v
}

func tool(binDir, name string) string { return filepath.Join(binDir, name) }

// errorf prefixes the package name once, at the package boundary.
func errorf(format string, args ...any) error {
	return fmt.Errorf("localpg: "+format, args...)
}
