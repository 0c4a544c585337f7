package auth_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/auth"
	"drportal/internal/db"
	"drportal/internal/portal"
)

func (f *fixture) session(token string) db.Session {
	f.t.Helper()
	s, err := f.svc.Authenticate(context.Background(), token)
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

// TestTwoPasswordChangesAtOnceLetOneThrough: two tabs changing the same
// password at once, both with the right current one, end with exactly one
// new password in force, never a mix.
func TestTwoPasswordChangesAtOnceLetOneThrough(t *testing.T) {
	f := newFixture(t)
	u := f.addUser("ana@example.com", auth.RoleRequester)
	sessions := []db.Session{f.session(f.mustSignIn("ana@example.com", auth.Client{})), f.session(f.mustSignIn("ana@example.com", auth.Client{}))}
	news := []string{"first new password", "second new password"}
	var wg sync.WaitGroup
	results := make([]error, 2)
	fieldErrs := make([]map[string]string, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, fieldErrs[i], results[i] = f.svc.ChangePassword(context.Background(), sessions[i],
				auth.PasswordChange{Current: password, New: news[i], Repeat: news[i]})
		}()
	}
	wg.Wait()
	won := -1
	for i := range 2 {
		ok := results[i] == nil && len(fieldErrs[i]) == 0
		if ok && won >= 0 {
			t.Fatal("both changes went through")
		}
		if ok {
			won = i
		} else if k := apperr.KindOf(results[i]); results[i] != nil && k != apperr.Conflict && k != apperr.Unauthenticated {
			t.Errorf("the losing change failed with %v", results[i])
		}
	}
	if won < 0 {
		t.Fatalf("no change went through: %v %v", results, fieldErrs)
	}
	if _, err := f.signIn("ana@example.com", news[won], auth.Client{}); err != nil {
		t.Errorf("the winning password does not work: %v", err)
	}
	if _, err := f.signIn("ana@example.com", news[1-won], auth.Client{}); err == nil {
		t.Error("the losing password works too")
	}
	if n := f.count(`SELECT count(*) FROM audit_events WHERE action = $1`, audit.ActionPasswordChanged); n != 1 {
		t.Errorf("%d changes audited", n)
	}

	// The guard that decides it: a change checked against a hash that is
	// no longer the stored one changes nothing.
	var stored string
	if err := f.store.Pool().QueryRow(context.Background(), `SELECT password_hash FROM users WHERE id = $1`, u.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	err := f.store.InTx(context.Background(), func(tx *db.Tx) error {
		return tx.ChangePassword(context.Background(), u.ID, stored+"stale", "$argon2id$not-a-hash", f.clock.Now())
	})
	wantKind(t, "a change against a stale hash", err, apperr.Conflict)
	if n := f.count(`SELECT count(*) FROM users WHERE id = $1 AND password_hash = $2`, u.ID, stored); n != 1 {
		t.Error("a change against a stale hash replaced the password")
	}
}

// TestWrongCurrentPasswordsAreLimitedLikeSignIns: a stolen session cannot
// be used to guess the password through the change form.
func TestWrongCurrentPasswordsAreLimitedLikeSignIns(t *testing.T) {
	f := newFixture(t)
	f.addUser("ana@example.com", auth.RoleRequester)
	sess := f.session(f.mustSignIn("ana@example.com", auth.Client{}))
	ctx := context.Background()
	change := func(current string) (map[string]string, error) {
		_, errs, err := f.svc.ChangePassword(ctx, sess, auth.PasswordChange{Current: current, New: "a new password here", Repeat: "a new password here"})
		return errs, err
	}
	for i := range auth.MaxWrongCurrentPasswords {
		errs, err := change("guess number one")
		if err != nil || errs["current_password"] == "" {
			t.Fatalf("wrong current password %d: %v %v", i+1, errs, err)
		}
	}
	_, err := change(password)
	wantKind(t, "the right password after too many wrong ones", err, apperr.TooMany)
	if n := f.count(`SELECT count(*) FROM audit_events WHERE action = $1 AND outcome = 'denied'`, audit.ActionPasswordChangeFailed); n != 1 {
		t.Errorf("%d denied changes audited", n)
	}
	f.clock.Advance(auth.WrongCurrentPasswordWindow + time.Second)
	if errs, err := change(password); err != nil || len(errs) > 0 {
		t.Fatalf("after the window: %v %v", errs, err)
	}
}

// TestAResetWaitsForAGrantBeingApplied: a reset that starts while a grant
// of the approver role to its account is being applied waits for it and is
// then refused, instead of missing the grant and handing over the new
// approver's password.
func TestAResetWaitsForAGrantBeingApplied(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	admin := f.addUser("admin@example.com", auth.RoleAdmin)
	x := f.addUser("x@example.com", auth.RoleRequester)
	granting, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- f.store.InTx(ctx, func(tx *db.Tx) error {
			if err := tx.LockAdminChanges(ctx); err != nil {
				return err
			}
			if err := tx.GrantRoles(ctx, x.ID, []portal.Role{auth.RoleApprover}, f.clock.Now()); err != nil {
				return err
			}
			close(granting)
			<-release
			return nil
		})
	}()
	<-granting
	reset := make(chan error, 1)
	go func() {
		_, _, err := f.svc.ResetPassword(audit.WithActor(ctx, audit.Actor{ID: admin.ID, Name: admin.Email}), admin, x.ID)
		reset <- err
	}()
	time.Sleep(200 * time.Millisecond) // the reset is waiting now
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	err := <-reset
	wantKind(t, "a reset racing a grant of approver", err, apperr.Conflict)
	if u, _ := f.store.UserByID(ctx, x.ID); u.MustChangePassword {
		t.Error("the new approver's password was reset")
	}
}
