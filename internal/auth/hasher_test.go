package auth_test

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/auth"
)

// TestEveryPasswordHashTakesATurn: no code of the portal calls argon2id
// except through the hasher, whose turns bound the memory hashing takes.
// (The benchmark's seeding of accounts, outside any request, may.)
func TestEveryPasswordHashTakesATurn(t *testing.T) {
	root := filepath.Join("..", "..")
	allowed := map[string]bool{filepath.Join("internal", "auth", "hasher.go"): true}
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if (rel != "." && strings.HasPrefix(d.Name(), ".")) || rel == filepath.Join("cmd", "bench") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || allowed[rel] {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		checked++
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if p == "github.com/alexedwards/argon2id" || p == "golang.org/x/crypto/argon2" {
				f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
				if err != nil {
					return err
				}
				ast.Inspect(f, func(n ast.Node) bool {
					sel, ok := n.(*ast.SelectorExpr)
					if !ok {
						return true
					}
					if x, ok := sel.X.(*ast.Ident); ok && (x.Name == "argon2id" || x.Name == "argon2") &&
						sel.Sel.Name != "Params" && sel.Sel.Name != "DefaultParams" {
						t.Errorf("%s calls %s.%s outside the hasher: take a turn (auth.Hasher) instead", rel, x.Name, sel.Sel.Name)
					}
					return true
				})
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("only %d files checked", checked)
	}
}

// TestNeverMoreThanTheBoundHashAtOnce: a flood of sign-ins runs at most
// the hasher's bound of hashes at once; those beyond its short queue are
// told the portal is busy, with nothing checked, counted or audited.
func TestNeverMoreThanTheBoundHashAtOnce(t *testing.T) {
	f := newFixture(t)
	f.addUser("ana@example.com", auth.RoleRequester)
	var running, most atomic.Int64
	f.svc.Hasher = &auth.Hasher{Running: 2, Waiting: 2, Wait: 10 * time.Millisecond, Hook: func() {
		n := running.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(40 * time.Millisecond)
		running.Add(-1)
	}}

	const flood = 40
	var wg sync.WaitGroup
	var wrong, busy atomic.Int64
	start := make(chan struct{})
	for i := range flood {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			// Every attempt its own account and address: no throttle
			// stands in the way, only the hasher.
			email := fmt.Sprintf("guess%02d@example.com", i)
			if i%2 == 0 {
				email = "ana@example.com"
			}
			_, err := f.signIn(email, "guess", auth.Client{IP: fmt.Sprintf("198.51.100.%d", i)})
			switch {
			case errors.Is(err, auth.ErrBadCredentials):
				wrong.Add(1)
			case errors.Is(err, auth.ErrBusy):
				if apperr.KindOf(err) != apperr.Unavailable || apperr.RetryAfter(err) <= 0 {
					t.Errorf("busy: %s, retry after %s", apperr.KindOf(err), apperr.RetryAfter(err))
				}
				busy.Add(1)
			default:
				t.Errorf("sign-in %d: %v", i, err)
			}
		}()
	}
	close(start)
	wg.Wait()

	if m := most.Load(); m > 2 {
		t.Errorf("%d hashes ran at once, the bound is 2", m)
	}
	if busy.Load() == 0 || wrong.Load() == 0 || busy.Load()+wrong.Load() != flood {
		t.Fatalf("%d wrong, %d busy of %d", wrong.Load(), busy.Load(), flood)
	}
	// Only the checked attempts are audited and counted.
	audited := f.count(`SELECT count(*) FROM audit_events WHERE action = $1`, audit.ActionSignInFailed)
	counted := f.count(`SELECT count(*) FROM sign_in_throttles WHERE address <> '*'`)
	if int64(audited) != wrong.Load() || int64(counted) != wrong.Load() {
		t.Errorf("%d failures audited and %d counted, want the %d checked", audited, counted, wrong.Load())
	}
}

// TestCreatingAUserWaitsForTheHasherToo: hashing a new account's password
// takes a turn like a sign-in; when none is free, the admin is told so and
// nothing is created.
func TestCreatingAUserWaitsForTheHasherToo(t *testing.T) {
	f := newFixture(t)
	admin := f.addUser("admin@example.com", auth.AllRoles...)
	held, release := make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	f.svc.Hasher = &auth.Hasher{Running: 1, Waiting: -1, Hook: func() {
		if first.CompareAndSwap(false, true) {
			held <- struct{}{}
			<-release
		}
	}}
	done := make(chan error)
	go func() {
		_, err := f.svc.HashPassword("another long password")
		done <- err
	}()
	<-held // the one turn is taken
	ctx := audit.WithActor(t.Context(), audit.Actor{ID: admin.ID, Name: admin.Email})
	_, errs, err := f.svc.CreateUser(ctx, admin, auth.NewUser{Email: "new@example.com", DisplayName: "New",
		Password: "a long enough password", Roles: []string{"requester"}})
	if !errors.Is(err, auth.ErrBusy) || len(errs) != 0 {
		t.Errorf("create while the hasher is busy: %v %v", errs, err)
	}
	if n := f.count(`SELECT count(*) FROM users WHERE email = 'new@example.com'`); n != 0 {
		t.Error("the user was created")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, errs, err := f.svc.CreateUser(ctx, admin, auth.NewUser{Email: "new@example.com", DisplayName: "New",
		Password: "a long enough password", Roles: []string{"requester"}}); err != nil || len(errs) != 0 {
		t.Errorf("create once the turn is free: %v %v", errs, err)
	}
}
