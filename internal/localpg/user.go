package localpg

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// serverUser is the account initdb and the server run as. PostgreSQL refuses
// to run as root, so root hands the cluster to another account.
type serverUser struct {
	name     string
	home     string
	uid, gid uint32
	groups   []uint32
	switchTo bool // we are root: start the tools under this account
}

// lookupServerUser picks the account for the cluster in dataDir: the current
// user when not root; as root, the owner of an existing cluster (so a folder
// made by a developer's own account keeps working under sudo), else the
// "postgres" system account.
func lookupServerUser(dataDir string) (serverUser, error) {
	if os.Geteuid() != 0 {
		u := serverUser{uid: uint32(os.Geteuid()), gid: uint32(os.Getegid())}
		if cur, err := user.Current(); err == nil {
			u.name, u.home = cur.Username, cur.HomeDir
		}
		return u, nil
	}
	var u *user.User
	var err error
	if fi, statErr := os.Stat(dataDir); statErr == nil && ownerOf(fi) != 0 {
		u, err = user.LookupId(strconv.Itoa(int(ownerOf(fi))))
	} else {
		u, err = user.Lookup("postgres")
	}
	if err != nil {
		return serverUser{}, errorf("running as root, and PostgreSQL refuses to run as root: need the account to run it as: %w"+
			" (install the postgresql package, which creates the postgres user, or run as a normal user)", err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	su := serverUser{name: u.Username, home: u.HomeDir, uid: uint32(uid), gid: uint32(gid), switchTo: true}
	if ids, err := u.GroupIds(); err == nil {
		for _, id := range ids {
			if g, err := strconv.ParseUint(id, 10, 32); err == nil {
				su.groups = append(su.groups, uint32(g))
			}
		}
	}
	if !slices.Contains(su.groups, su.gid) {
		su.groups = append(su.groups, su.gid)
	}
	return su, nil
}

// command prepares one of the PostgreSQL tools to run as the server user.
func (u serverUser) command(ctx context.Context, binDir, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, tool(binDir, name), args...)
	// The server user may not be allowed into our working directory, and
	// every path we pass is absolute.
	cmd.Dir = "/"
	cmd.Env = u.environ()
	if u.switchTo {
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Credential: &syscall.Credential{Uid: u.uid, Gid: u.gid, Groups: u.groups},
		}
	}
	return cmd
}

// environ is our environment without PG* variables (PGPORT, PGDATA, ... would
// change what the tools do) and with the server user's identity.
func (u serverUser) environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") {
			continue
		}
		if u.switchTo && (strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "USER=") || strings.HasPrefix(kv, "LOGNAME=")) {
			continue
		}
		env = append(env, kv)
	}
	if u.switchTo {
		env = append(env, "HOME="+u.home, "USER="+u.name, "LOGNAME="+u.name)
	}
	return env
}

// privateDir makes dir exist as a directory only the server user can use
// (mode 0700, owned by it): it holds the cluster or the socket, and trust
// authentication is safe only because nobody else can reach the socket.
func (u serverUser) privateDir(dir string) error {
	// Parents we create must stay enterable by the server user.
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return errorf("create %s: %w", filepath.Dir(dir), err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return errorf("create %s: %w", dir, err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return errorf("%w", err)
	}
	if !fi.IsDir() {
		return errorf("%s is not a directory", dir)
	}
	if ownerOf(fi) != u.uid {
		if !u.switchTo {
			return errorf("%s belongs to uid %d, not to us (uid %d): remove it or choose another folder", dir, ownerOf(fi), u.uid)
		}
		if err := os.Lchown(dir, int(u.uid), int(u.gid)); err != nil {
			return errorf("hand %s to the server user %s: %w", dir, u.name, err)
		}
	}
	if fi.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return errorf("make %s private: %w", dir, err)
		}
	}
	return nil
}

// checkTraverse reports, clearly, when the server user cannot reach dir
// because a parent directory denies it search (x) permission — for example a
// 0700 folder of root's. Only root needs this: for anyone else MkdirAll has
// already proved the path.
func (u serverUser) checkTraverse(dir string) error {
	d, fi, err := u.blockedAt(dir)
	if err != nil || d == "" {
		return err
	}
	return errorf("PostgreSQL runs as user %q (PostgreSQL refuses root), which cannot enter %s (mode %v, owner uid %d, gid %d): "+
		"allow it (chmod o+x %s) or put the cluster folder elsewhere", u.name, d, fi.Mode().Perm(), ownerOf(fi), groupOf(fi), d)
}

// blockedAt returns the nearest parent of dir that the server user cannot
// enter, or "" when it can reach dir (always, when we are not root).
func (u serverUser) blockedAt(dir string) (string, fs.FileInfo, error) {
	if !u.switchTo {
		return "", nil, nil
	}
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", nil, errorf("%w", err)
		}
		// A missing parent is created later, enterable (0755).
		if err == nil && !u.mayEnter(fi) {
			return d, fi, nil
		}
		if d == filepath.Dir(d) {
			return "", nil, nil
		}
	}
}

func (u serverUser) mayEnter(fi fs.FileInfo) bool {
	perm := fi.Mode().Perm()
	switch {
	case ownerOf(fi) == u.uid:
		return perm&0o100 != 0
	case slices.Contains(u.groups, groupOf(fi)):
		return perm&0o010 != 0
	default:
		return perm&0o001 != 0
	}
}

func ownerOf(fi fs.FileInfo) uint32 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Uid
	}
	return 0
}

func groupOf(fi fs.FileInfo) uint32 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Gid
	}
	return 0
}

// processAlive reports whether pid names a running process. EPERM means it
// exists but belongs to someone else. A zombie counts as gone: a postmaster
// detached by pg_ctl is reparented to PID 1, and where PID 1 does not reap
// children (some container and VM inits) it lingers as a zombie after exit.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true // no /proc: trust kill
	}
	// The state follows the parenthesised command name: "pid (comm) S ...".
	if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && i+2 < len(stat) {
		state := stat[i+2]
		return state != 'Z' && state != 'X'
	}
	return true
}

// isPostgres reports whether the live pid is a postgres process, so a
// postmaster.pid left by a crash whose pid was later reused by another
// program is recognised as stale. Without /proc we cannot tell, and trust it.
func isPostgres(pid int) bool {
	comm, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		return true
	}
	return strings.TrimSpace(string(comm)) == "postgres"
}
