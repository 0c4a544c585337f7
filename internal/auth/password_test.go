package auth_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

// wrongChange tries a password change of sess with current as the current
// password, and reports whether it was checked (and found wrong), or the
// error that refused it.
func (f *fixture) wrongChange(sess db.Session, current string) (checked bool, err error) {
	f.t.Helper()
	_, errs, err := f.svc.ChangePassword(context.Background(), sess,
		auth.PasswordChange{Current: current, New: "a new password here", Repeat: "a new password here"})
	if err == nil && errs["current_password"] == "" {
		f.t.Fatalf("a change with current password %q went through or failed otherwise: %v", current, errs)
	}
	return err == nil, err
}

// changeFailures counts the audited failed password changes by outcome.
func (f *fixture) changeFailures(outcome audit.Outcome) int {
	return f.count(`SELECT count(*) FROM audit_events WHERE action = $1 AND outcome = $2`,
		audit.ActionPasswordChangeFailed, string(outcome))
}

// TestWrongCurrentPasswordsAreLimitedLikeSignIns: a stolen session cannot
// be used to guess the password through the change form: after five wrong
// current passwords the next attempt waits 1 s, then 2 s, 4 s …, and the
// right password after a wait changes it and ends the wait.
func TestWrongCurrentPasswordsAreLimitedLikeSignIns(t *testing.T) {
	f := newFixture(t)
	u := f.addUser("ana@example.com", auth.RoleRequester)
	sess := f.session(f.mustSignIn("ana@example.com", auth.Client{}))
	account := auth.PasswordChangeAccount(u.ID)
	for i := range auth.MaxWrongCurrentPasswords {
		if checked, err := f.wrongChange(sess, "guess number one"); !checked {
			t.Fatalf("wrong current password %d: %v", i+1, err)
		}
	}
	_, _, err := f.svc.ChangePassword(context.Background(), sess, auth.PasswordChange{Current: password, New: "a new password here", Repeat: "a new password here"})
	wantKind(t, "the right password during the wait", err, apperr.TooMany)
	if d := apperr.RetryAfter(err); d != time.Second || !strings.Contains(apperr.Message(err), "Try again in 1 second") {
		t.Errorf("the refusal says %q, retry after %s", apperr.Message(err), d)
	}
	wait := time.Second
	for i := auth.MaxWrongCurrentPasswords + 1; i <= 8; i++ {
		f.clock.Advance(wait)
		if checked, err := f.wrongChange(sess, "guess"); !checked {
			t.Fatalf("wrong current password %d after the wait: %v", i, err)
		}
		wait *= 2
		if n, next := f.throttle(account, db.AllAddresses); n != i || next.Sub(f.clock.Now()) != wait {
			t.Fatalf("after %d wrong passwords: %d counted, wait %s, want %s", i, n, next.Sub(f.clock.Now()), wait)
		}
	}
	f.clock.Advance(wait)
	if _, errs, err := f.svc.ChangePassword(context.Background(), sess, auth.PasswordChange{Current: password, New: "a new password here", Repeat: "a new password here"}); err != nil || len(errs) > 0 {
		t.Fatalf("the right password after the wait: %v %v", errs, err)
	}
	if n, _ := f.throttle(account, db.AllAddresses); n != 0 {
		t.Errorf("%d wrong passwords still counted after the change", n)
	}
}

// TestParallelWrongCurrentPasswordsGetNoMoreThanTheAllowanceChecked: many
// wrong current passwords posted at once are counted one at a time before
// any is checked, so no more than the free allowance is checked, and each
// refused one is neither checked nor counted.
func TestParallelWrongCurrentPasswordsGetNoMoreThanTheAllowanceChecked(t *testing.T) {
	f := newFixture(t)
	u := f.addUser("ana@example.com", auth.RoleRequester)
	sess := f.session(f.mustSignIn("ana@example.com", auth.Client{}))
	// Room for every attempt at once, each hash slow enough that all of
	// them are in flight together.
	var hashed atomic.Int64
	f.svc.Hasher = &auth.Hasher{Running: 20, Waiting: 20, Wait: 30 * time.Second, Hook: func() {
		hashed.Add(1)
		time.Sleep(100 * time.Millisecond)
	}}
	const attempts = 20
	var wg sync.WaitGroup
	var checked, refused atomic.Int64
	for range attempts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := f.wrongChange(sess, "guess")
			switch {
			case ok:
				checked.Add(1)
			case apperr.KindOf(err) == apperr.TooMany:
				refused.Add(1)
			default:
				t.Errorf("an attempt failed: %v", err)
			}
		}()
	}
	wg.Wait()
	if checked.Load() != auth.MaxWrongCurrentPasswords || refused.Load() != attempts-auth.MaxWrongCurrentPasswords {
		t.Errorf("%d attempts checked and %d refused, want %d and %d", checked.Load(), refused.Load(),
			auth.MaxWrongCurrentPasswords, attempts-auth.MaxWrongCurrentPasswords)
	}
	if hashed.Load() != auth.MaxWrongCurrentPasswords {
		t.Errorf("%d hashes ran, want %d", hashed.Load(), auth.MaxWrongCurrentPasswords)
	}
	if n, _ := f.throttle(auth.PasswordChangeAccount(u.ID), db.AllAddresses); n != auth.MaxWrongCurrentPasswords {
		t.Errorf("%d wrong passwords counted, want %d", n, auth.MaxWrongCurrentPasswords)
	}
	if fail, denied := f.changeFailures(audit.Failure), f.changeFailures(audit.Denied); fail != auth.MaxWrongCurrentPasswords || denied != 1 {
		t.Errorf("audited %d wrong and %d refused attempts, want %d and 1", fail, denied, auth.MaxWrongCurrentPasswords)
	}
}

// TestRefusedPasswordChangesDoNotExtendTheWait: a flood of attempts during
// a wait is refused without being checked or counted, only its first
// refusal is audited, and once the wait has passed the next attempt is
// checked. An admin sees the wait with the sign-in throttles and clears it.
func TestRefusedPasswordChangesDoNotExtendTheWait(t *testing.T) {
	f := newFixture(t)
	admin := f.addUser("admin@example.com", auth.AllRoles...)
	u := f.addUser("ana@example.com", auth.RoleRequester)
	sess := f.session(f.mustSignIn("ana@example.com", auth.Client{}))
	account := auth.PasswordChangeAccount(u.ID)
	for checked, tries := 0, 0; checked < 8; tries++ { // 5 free, then waits of 1, 2 and 4 s
		if tries == 20 {
			t.Fatalf("only %d of 20 attempts checked, waiting 4 s after each refusal", checked)
		}
		if ok, err := f.wrongChange(sess, "guess"); ok {
			checked++
		} else if apperr.KindOf(err) != apperr.TooMany {
			t.Fatal(err)
		} else {
			f.clock.Advance(4 * time.Second)
		}
	}
	n, next := f.throttle(account, db.AllAddresses)
	if n != 8 || next.Sub(f.clock.Now()) != 8*time.Second {
		t.Fatalf("%d wrong passwords, wait %s; want 8 and 8s", n, next.Sub(f.clock.Now()))
	}
	fail, denied := f.changeFailures(audit.Failure), f.changeFailures(audit.Denied)
	for i := range 400 {
		ok, err := f.wrongChange(sess, "guess")
		if ok || apperr.KindOf(err) != apperr.TooMany {
			t.Fatalf("attempt %d during the wait: checked %v, %v", i, ok, err)
		}
		f.clock.Advance(10 * time.Microsecond)
	}
	if n2, next2 := f.throttle(account, db.AllAddresses); n2 != n || !next2.Equal(next) {
		t.Errorf("400 refused attempts changed the wait: %d until %s, was %d until %s", n2, next2, n, next)
	}
	if got := f.changeFailures(audit.Failure) - fail; got != 0 {
		t.Errorf("%d refused attempts audited as checked", got)
	}
	if got := f.changeFailures(audit.Denied) - denied; got != 1 {
		t.Errorf("%d refusals of one wait audited, want 1", got)
	}
	f.clock.Advance(next.Sub(f.clock.Now()))
	if ok, err := f.wrongChange(sess, "guess"); !ok {
		t.Fatalf("the attempt after the wait: %v", err)
	}

	// The admin's page of sign-in throttles lists it, and clearing it lets
	// the next attempt be checked at once.
	rows, err := f.svc.SignInThrottles(context.Background())
	if err != nil || len(rows) != 1 || rows[0].Account != account || !rows[0].Waiting {
		t.Fatalf("the admin sees %+v, %v", rows, err)
	}
	ctx := audit.WithActor(context.Background(), audit.Actor{ID: admin.ID, Name: admin.Email})
	if _, err := f.svc.ClearThrottle(ctx, admin, account, db.AllAddresses); err != nil {
		t.Fatal(err)
	}
	if ok, err := f.wrongChange(sess, "guess"); !ok {
		t.Fatalf("the attempt after the admin cleared the wait: %v", err)
	}
}

// TestAnAdminResetLetsTheUserChangeThePasswordAtOnce: a user who mistyped
// their current password until they must wait, then had it reset, chooses
// a new password with the temporary one at once: the reset ends the wait,
// and says so in its audit event.
func TestAnAdminResetLetsTheUserChangeThePasswordAtOnce(t *testing.T) {
	f := newFixture(t)
	admin := f.addUser("admin@example.com", auth.AllRoles...)
	u := f.addUser("ana@example.com", auth.RoleRequester)
	sess := f.session(f.mustSignIn("ana@example.com", auth.Client{}))
	for range auth.MaxWrongCurrentPasswords {
		if ok, err := f.wrongChange(sess, "guess"); !ok {
			t.Fatal(err)
		}
	}
	if _, err := f.wrongChange(sess, "guess"); apperr.KindOf(err) != apperr.TooMany {
		t.Fatalf("after %d wrong passwords: %v", auth.MaxWrongCurrentPasswords, err)
	}
	ctx := audit.WithActor(context.Background(), audit.Actor{ID: admin.ID, Name: admin.Email})
	cur, err := f.store.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	temporary, _, err := f.svc.ResetPassword(ctx, admin, u.ID, auth.PasswordStamp(cur))
	if err != nil {
		t.Fatal(err)
	}
	token, err := f.signIn("ana@example.com", temporary, auth.Client{})
	if err != nil {
		t.Fatal(err)
	}
	if _, errs, err := f.svc.ChangePassword(context.Background(), f.session(token),
		auth.PasswordChange{Current: temporary, New: "ana's own new password", Repeat: "ana's own new password"}); err != nil || len(errs) > 0 {
		t.Fatalf("the change right after the reset: %v %v", errs, err)
	}
	if n := f.count(`SELECT count(*) FROM audit_events WHERE action = $1 AND detail::jsonb->>'wrong_current_passwords_cleared' = $2`,
		audit.ActionPasswordReset, strconv.Itoa(auth.MaxWrongCurrentPasswords)); n != 1 {
		t.Errorf("the reset's audit event does not say it ended the wait (%d)", n)
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
		_, _, err := f.svc.ResetPassword(audit.WithActor(ctx, audit.Actor{ID: admin.ID, Name: admin.Email}), admin, x.ID, auth.PasswordStamp(x))
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
