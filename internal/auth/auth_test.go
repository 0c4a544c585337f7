package auth_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"
	"github.com/jackc/pgx/v5"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/auth"
	"drportal/internal/db"
	"drportal/internal/portal"
	"drportal/internal/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Run(m)) }

const password = "correct horse battery staple"

// clock is the time the service sees; it moves only when a test says so.
// The audit chain never lets time run backwards, so it starts now and only
// moves forward.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type fixture struct {
	t     *testing.T
	store *db.Store
	clock *clock
	svc   *auth.Service
}

// newFixture is the service on a migrated database of its own, with a
// held clock and the limits and timeouts set explicitly.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	store := db.New(testdb.New(t))
	c := &clock{now: time.Now().UTC().Truncate(time.Microsecond)}
	svc := &auth.Service{Store: store, Now: c.Now,
		Params:      &argon2id.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32},
		IdleTimeout: 30 * time.Minute, MaxAge: 2 * time.Hour}
	return &fixture{t: t, store: store, clock: c, svc: svc}
}

func (f *fixture) addUser(email string, roles ...portal.Role) portal.User {
	f.t.Helper()
	hash, err := f.svc.HashPassword(password)
	if err != nil {
		f.t.Fatal(err)
	}
	var u portal.User
	err = f.store.InTx(context.Background(), func(tx *db.Tx) error {
		u, err = tx.CreateUser(context.Background(), email, email, hash, roles)
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return u
}

func (f *fixture) signIn(email, pw string, c auth.Client) (string, error) {
	f.t.Helper()
	// As the HTTP layer does: nobody is signed in yet.
	ctx := audit.WithActor(context.Background(), audit.Actor{Name: "anonymous"})
	token, _, err := f.svc.SignIn(ctx, email, pw, c)
	return token, err
}

func (f *fixture) mustSignIn(email string, c auth.Client) string {
	f.t.Helper()
	token, err := f.signIn(email, password, c)
	if err != nil {
		f.t.Fatalf("sign in %s: %v", email, err)
	}
	return token
}

// count runs a count query.
func (f *fixture) count(query string, args ...any) int {
	f.t.Helper()
	var n int
	if err := f.store.Pool().QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

func (f *fixture) sessions(userID int64) int {
	return f.count(`SELECT count(*) FROM sessions WHERE user_id = $1`, userID)
}

// failures counts the audited failed sign-ins for an e-mail by outcome.
func (f *fixture) failures(email string, outcome audit.Outcome) int {
	return f.count(`SELECT count(*) FROM audit_events WHERE action = $1 AND subject_id = $2 AND outcome = $3`,
		audit.ActionSignInFailed, email, string(outcome))
}

func wantKind(t *testing.T, what string, err error, k apperr.Kind) {
	t.Helper()
	if apperr.KindOf(err) != k {
		t.Fatalf("%s: got %v (%s), want %s", what, err, apperr.KindOf(err), k)
	}
}

// throttle reads the failures counted and the next attempt allowed for an
// account from an address ("*": all addresses); none is 0 failures.
func (f *fixture) throttle(account, address string) (int, time.Time) {
	f.t.Helper()
	var n int
	var next time.Time
	err := f.store.Pool().QueryRow(context.Background(), `SELECT failures, next_allowed_at FROM sign_in_throttles
		WHERE account = $1 AND address = $2`, account, address).Scan(&n, &next)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		f.t.Fatal(err)
	}
	return n, next
}

// throttled counts the refusals audited as throttled for an account.
func (f *fixture) throttled(email string) int {
	return f.count(`SELECT count(*) FROM audit_events WHERE action = $1 AND subject_id = $2 AND outcome = 'denied'
		AND detail::jsonb->>'reason' = 'throttled'`, audit.ActionSignInFailed, email)
}

// TestFailedSignInsSlowTheNextAttemptWithGrowingDelays: after five
// failures from one address the next attempt waits 1 s, then 2 s, 4 s …
// up to 15 minutes; the right password then ends the wait.
func TestFailedSignInsSlowTheNextAttemptWithGrowingDelays(t *testing.T) {
	f := newFixture(t)
	u := f.addUser("slow@example.com", auth.RoleRequester)
	from := auth.Client{IP: "192.0.2.1"}

	for i := range 5 {
		if _, err := f.signIn("slow@example.com", "guess", from); !errors.Is(err, auth.ErrBadCredentials) {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	// The right password is not even checked while the wait lasts.
	_, err := f.signIn("SLOW@example.com ", password, from)
	wantKind(t, "the right password during the wait", err, apperr.TooMany)
	if d := apperr.RetryAfter(err); d != time.Second {
		t.Errorf("retry after %s, want 1s", d)
	}
	if !strings.Contains(apperr.Message(err), "Try again in 1 second") {
		t.Errorf("the refusal does not say when: %q", apperr.Message(err))
	}
	if n := f.sessions(u.ID); n != 0 {
		t.Errorf("a refused sign-in left %d sessions", n)
	}

	// Each checked failure doubles the wait, up to 15 minutes; a
	// millisecond before a wait ends, the attempt is still refused.
	wait := time.Second
	f.clock.Advance(wait - time.Millisecond)
	for i := 6; i <= 20; i++ {
		_, err := f.signIn("slow@example.com", password, from)
		wantKind(t, fmt.Sprintf("a millisecond before the wait after failure %d ends", i-1), err, apperr.TooMany)
		f.clock.Advance(time.Millisecond)
		if _, err := f.signIn("slow@example.com", "guess", from); !errors.Is(err, auth.ErrBadCredentials) {
			t.Fatalf("failure %d, after the wait: %v", i, err)
		}
		wait = min(2*wait, 15*time.Minute)
		n, next := f.throttle("slow@example.com", "192.0.2.1")
		if n != i || next.Sub(f.clock.Now()) != wait {
			t.Fatalf("after failure %d: %d failures, wait %s, want %d and %s", i, n, next.Sub(f.clock.Now()), i, wait)
		}
		f.clock.Advance(wait - time.Millisecond)
	}
	if n, _ := f.throttle("slow@example.com", "192.0.2.1"); n != 20 {
		t.Errorf("%d failures counted, want 20: refused attempts were counted", n)
	}

	// The right password after the wait signs in and ends the throttle:
	// the next mistake is free again.
	f.clock.Advance(time.Millisecond)
	f.mustSignIn("slow@example.com", from)
	if n, _ := f.throttle("slow@example.com", "192.0.2.1"); n != 0 {
		t.Errorf("%d failures left after a sign-in", n)
	}
	if _, err := f.signIn("slow@example.com", "guess", from); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("a mistake after signing in: %v", err)
	}
	f.mustSignIn("slow@example.com", from)
}

// TestRefusedAttemptsDoNotExtendTheWait: a flood of attempts during a wait
// is refused without being counted, and only its first refusal is
// audited; once the wait has passed, the next attempt is checked.
func TestRefusedAttemptsDoNotExtendTheWait(t *testing.T) {
	f := newFixture(t)
	f.addUser("target@example.com", auth.RoleApprover)
	attacker := auth.Client{IP: "198.51.100.66"}
	for checked := 0; checked < 8; { // 5 free, then waits of 1, 2 and 4 s
		if _, err := f.signIn("target@example.com", "guess", attacker); errors.Is(err, auth.ErrBadCredentials) {
			checked++
			continue
		} else if apperr.KindOf(err) != apperr.TooMany {
			t.Fatal(err)
		}
		f.clock.Advance(4 * time.Second)
	}
	n, next := f.throttle("target@example.com", "198.51.100.66")
	if n != 8 {
		t.Fatalf("%d failures, want 8", n)
	}
	before := f.throttled("target@example.com")
	for i := range 50 {
		_, err := f.signIn("target@example.com", "guess", attacker)
		wantKind(t, fmt.Sprintf("refused attempt %d", i), err, apperr.TooMany)
		f.clock.Advance(time.Millisecond)
	}
	if n2, next2 := f.throttle("target@example.com", "198.51.100.66"); n2 != n || !next2.Equal(next) {
		t.Errorf("50 refused attempts changed the throttle: %d failures until %s, was %d until %s", n2, next2, n, next)
	}
	if got := f.throttled("target@example.com") - before; got != 1 {
		t.Errorf("%d refusals of one wait audited, want 1", got)
	}
	f.clock.Advance(next.Sub(f.clock.Now()))
	f.mustSignIn("target@example.com", attacker)
}

// TestAFloodFromOneAddressLeavesTheOwnerFree: however many failures one
// address makes, the account's owner signs in from another at once. Only
// failures from many addresses slow everyone, with growing waits too.
func TestAFloodFromOneAddressLeavesTheOwnerFree(t *testing.T) {
	f := newFixture(t)
	f.addUser("ana@example.com", auth.RoleRequester)
	attacker, ana := auth.Client{IP: "203.0.113.9"}, auth.Client{IP: "192.0.2.10"}
	checked := 0
	for range 200 {
		_, err := f.signIn("ana@example.com", "guess", attacker)
		switch {
		case errors.Is(err, auth.ErrBadCredentials):
			checked++
		case apperr.KindOf(err) != apperr.TooMany:
			t.Fatal(err)
		}
		f.clock.Advance(17 * time.Second)
	}
	if checked < 15 {
		t.Fatalf("only %d of the flood's attempts were checked", checked)
	}
	f.mustSignIn("ana@example.com", ana)

	// Failures from many addresses (five each) make every address wait.
	f.svc.Throttle = auth.Throttle{PerAccount: 15}
	for a := range 3 {
		for range 5 {
			_, err := f.signIn("ana@example.com", "guess", auth.Client{IP: fmt.Sprintf("198.51.100.%d", a)})
			if !errors.Is(err, auth.ErrBadCredentials) {
				t.Fatalf("address %d: %v", a, err)
			}
		}
	}
	_, err := f.signIn("ana@example.com", password, ana)
	wantKind(t, "after failures from three addresses", err, apperr.TooMany)
	if !strings.Contains(apperr.Message(err), "several addresses") {
		t.Errorf("refusal: %q", apperr.Message(err))
	}
	f.clock.Advance(time.Second)
	f.mustSignIn("ana@example.com", ana)
	if n, _ := f.throttle("ana@example.com", "*"); n != 0 {
		t.Errorf("the account-wide throttle holds %d failures after a sign-in", n)
	}
}

func TestUnknownAndBadInputLookLikeAWrongPassword(t *testing.T) {
	f := newFixture(t)
	f.addUser("known@example.com", auth.RoleAuditor)

	if _, err := f.signIn("nobody@example.com", password, auth.Client{}); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("unknown e-mail: %v", err)
	}
	if n := f.failures("nobody@example.com", audit.Failure); n != 1 {
		t.Errorf("unknown e-mail: %d failures audited", n)
	}
	for _, in := range [][2]string{{"", password}, {"known@example.com", ""}, {"  ", " "}} {
		_, err := f.signIn(in[0], in[1], auth.Client{})
		wantKind(t, "empty field", err, apperr.Invalid)
	}
	if n := f.count(`SELECT count(*) FROM sessions`); n != 0 {
		t.Errorf("%d sessions after failed sign-ins", n)
	}
}

func TestSignInRotatesTheSession(t *testing.T) {
	f := newFixture(t)
	u := f.addUser("ana@example.com", auth.RoleApprover)
	ctx := context.Background()

	first := f.mustSignIn("ana@example.com", auth.Client{IP: "192.0.2.7", UserAgent: "test"})
	if len(first) < 40 {
		t.Fatalf("token %q is too short", first)
	}
	// The database holds only the token's hash.
	if n := f.count(`SELECT count(*) FROM sessions WHERE token_hash = $1`, []byte(first)); n != 0 {
		t.Error("the raw token is stored")
	}
	if n := f.count(`SELECT count(*) FROM sessions WHERE token_hash = $1`, auth.HashToken(first)); n != 1 {
		t.Fatal("no session under the token's hash")
	}

	// Signing in again from a browser that has a session ends that session
	// and starts a new one: a planted token does not survive sign-in.
	second := f.mustSignIn("ana@example.com", auth.Client{OldToken: first})
	if second == first {
		t.Fatal("the token was not rotated")
	}
	_, err := f.svc.Authenticate(ctx, first)
	wantKind(t, "the replaced token", err, apperr.Unauthenticated)
	if _, err := f.svc.Authenticate(ctx, second); err != nil {
		t.Fatalf("the new token: %v", err)
	}
	if n := f.sessions(u.ID); n != 1 {
		t.Errorf("%d sessions after rotation, want 1", n)
	}

	// A sign-in elsewhere (no old token) leaves the other device signed in.
	third := f.mustSignIn("ana@example.com", auth.Client{})
	if n := f.sessions(u.ID); n != 2 {
		t.Errorf("%d sessions after a second device, want 2", n)
	}
	if n := f.count(`SELECT count(*) FROM audit_events WHERE action = $1 AND actor_id = $2`, audit.ActionSignIn, u.ID); n != 3 {
		t.Errorf("%d sign-ins audited, want 3", n)
	}

	// Sign-out ends that session only, audited once.
	if err := f.svc.SignOut(ctx, third, u); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.SignOut(ctx, third, u); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Authenticate(ctx, third)
	wantKind(t, "after sign-out", err, apperr.Unauthenticated)
	if _, err := f.svc.Authenticate(ctx, second); err != nil {
		t.Errorf("the other device after sign-out: %v", err)
	}
	if n := f.count(`SELECT count(*) FROM audit_events WHERE action = $1`, audit.ActionSignOut); n != 1 {
		t.Errorf("%d sign-outs audited, want 1", n)
	}
	_, err = f.svc.Authenticate(ctx, "")
	wantKind(t, "empty token", err, apperr.Unauthenticated)
	_, err = f.svc.Authenticate(ctx, "made-up")
	wantKind(t, "unknown token", err, apperr.Unauthenticated)
}

func TestSessionsEndWhenIdle(t *testing.T) {
	f := newFixture(t)
	u := f.addUser("idle@example.com", auth.RoleRequester)
	ctx := context.Background()
	token := f.mustSignIn("idle@example.com", auth.Client{})
	hash := auth.HashToken(token)
	start := f.clock.Now()

	lastSeen := func() time.Time {
		t.Helper()
		s, err := f.store.SessionByToken(ctx, hash, f.clock.Now(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return s.LastSeenAt
	}

	// Activity within a minute is not written down; after a minute it is.
	f.clock.Advance(30 * time.Second)
	if _, err := f.svc.Authenticate(ctx, token); err != nil {
		t.Fatal(err)
	}
	if got := lastSeen(); !got.Equal(start) {
		t.Errorf("last seen %v after 30 s, want %v", got, start)
	}
	f.clock.Advance(29 * time.Minute) // 29.5 min idle: still alive
	if _, err := f.svc.Authenticate(ctx, token); err != nil {
		t.Fatalf("29.5 minutes idle: %v", err)
	}
	if got := lastSeen(); !got.Equal(f.clock.Now()) {
		t.Errorf("last seen %v, want %v", got, f.clock.Now())
	}
	// Activity kept it alive past the first half hour...
	f.clock.Advance(29 * time.Minute)
	if _, err := f.svc.Authenticate(ctx, token); err != nil {
		t.Fatalf("after activity: %v", err)
	}
	// ...and 30 minutes without any ends it, and removes the row.
	f.clock.Advance(30 * time.Minute)
	_, err := f.svc.Authenticate(ctx, token)
	wantKind(t, "30 minutes idle", err, apperr.Unauthenticated)
	if n := f.sessions(u.ID); n != 0 {
		t.Errorf("%d sessions after the idle timeout", n)
	}
}

func TestSessionsEndAtTheirMaximumAge(t *testing.T) {
	f := newFixture(t)
	u := f.addUser("busy@example.com", auth.RoleRequester)
	ctx := context.Background()
	token := f.mustSignIn("busy@example.com", auth.Client{})
	s, err := f.store.SessionByToken(ctx, auth.HashToken(token), f.clock.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := f.clock.Now().Add(2 * time.Hour); !s.ExpiresAt.Equal(want) {
		t.Errorf("expires %v, want %v", s.ExpiresAt, want)
	}
	// Busy every 20 minutes: never idle, still ended at two hours.
	for elapsed := 20 * time.Minute; elapsed < 2*time.Hour; elapsed += 20 * time.Minute {
		f.clock.Advance(20 * time.Minute)
		if _, err := f.svc.Authenticate(ctx, token); err != nil {
			t.Fatalf("after %s: %v", elapsed, err)
		}
	}
	f.clock.Advance(20 * time.Minute)
	_, err = f.svc.Authenticate(ctx, token)
	wantKind(t, "at two hours", err, apperr.Unauthenticated)
	if n := f.sessions(u.ID); n != 0 {
		t.Errorf("%d sessions after the maximum age", n)
	}
}

func TestDeactivatedUsersAreRefused(t *testing.T) {
	f := newFixture(t)
	admin := f.addUser("admin@example.com", auth.AllRoles...)
	u := f.addUser("gone@example.com", auth.RoleRequester)
	ctx := audit.WithActor(context.Background(), audit.Actor{ID: admin.ID, Name: admin.Email})
	token := f.mustSignIn("gone@example.com", auth.Client{})

	// Deactivating ends the sessions at once.
	if _, err := f.svc.SetActive(ctx, admin, u.ID, false); err != nil {
		t.Fatal(err)
	}
	if n := f.sessions(u.ID); n != 0 {
		t.Errorf("%d sessions after deactivation", n)
	}
	_, err := f.svc.Authenticate(ctx, token)
	wantKind(t, "session of a deactivated user", err, apperr.Unauthenticated)

	// The right password is refused and audited as denied; a wrong one
	// gets the usual answer, so the form does not tell them apart from
	// guesses.
	_, err = f.signIn("gone@example.com", password, auth.Client{})
	wantKind(t, "deactivated sign-in", err, apperr.Forbidden)
	if _, err := f.signIn("gone@example.com", "guess", auth.Client{}); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("wrong password of a deactivated account: %v", err)
	}
	if n := f.sessions(u.ID); n != 0 {
		t.Errorf("a deactivated user got %d sessions", n)
	}
	if n := f.failures("gone@example.com", audit.Denied); n != 1 {
		t.Errorf("%d denied sign-ins audited, want 1", n)
	}

	// A session whose user is deactivated behind the service's back (another
	// replica, a database edit) is refused and removed on its next use.
	f.addUser("later@example.com", auth.RoleAuditor)
	later := f.mustSignIn("later@example.com", auth.Client{})
	if _, err := f.store.Pool().Exec(ctx, `UPDATE users SET active = false WHERE email = 'later@example.com'`); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Authenticate(ctx, later)
	wantKind(t, "deactivated behind the service's back", err, apperr.Unauthenticated)
	if n := f.count(`SELECT count(*) FROM sessions WHERE token_hash = $1`, auth.HashToken(later)); n != 0 {
		t.Error("the session of a deactivated user was kept")
	}
}

// TestTwoAdminsCannotRemoveEachOther: two admins demoting or deactivating
// each other at the same moment leave one admin, never none.
func TestTwoAdminsCannotRemoveEachOther(t *testing.T) {
	f := newFixture(t)
	for round := range 12 {
		a := f.addUser(fmt.Sprintf("a%d@example.com", round), auth.AllRoles...)
		b := f.addUser(fmt.Sprintf("b%d@example.com", round), auth.AllRoles...)
		// Only a and b are active admins in this round.
		if err := f.store.InTx(context.Background(), func(tx *db.Tx) error {
			_, err := tx.Pgx().Exec(context.Background(), `UPDATE users SET active = false WHERE id <> ALL($1)`, []int64{a.ID, b.ID})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		ctxOf := func(u portal.User) context.Context {
			return audit.WithActor(context.Background(), audit.Actor{ID: u.ID, Name: u.Email})
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			if round%2 == 0 {
				_, _ = f.svc.SetRoles(ctxOf(a), a, b.ID, []string{string(auth.RoleApprover)})
			} else {
				_, _ = f.svc.SetActive(ctxOf(a), a, b.ID, false)
			}
		}()
		go func() {
			defer wg.Done()
			<-start
			if round%2 == 0 {
				_, _ = f.svc.SetRoles(ctxOf(b), b, a.ID, []string{string(auth.RoleApprover)})
			} else {
				_, _ = f.svc.SetActive(ctxOf(b), b, a.ID, false)
			}
		}()
		close(start)
		wg.Wait()
		var admins int
		if err := f.store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM users u JOIN user_roles r
			ON r.user_id = u.id WHERE r.role = 'admin' AND u.active`).Scan(&admins); err != nil {
			t.Fatal(err)
		}
		if admins != 1 {
			t.Fatalf("round %d: %d active admins left, want 1", round, admins)
		}
	}
}

// TestWhatIsTypedAsAnEmailIsRecordedOnlyIfItIsOne: a password pasted into
// the e-mail box does not land in the audit history.
func TestWhatIsTypedAsAnEmailIsRecordedOnlyIfItIsOne(t *testing.T) {
	f := newFixture(t)
	const pasted = "Tr0ub4dor&3 my secret"
	if _, err := f.signIn(pasted, "whatever", auth.Client{}); !errors.Is(err, auth.ErrBadCredentials) {
		t.Fatalf("sign-in: %v", err)
	}
	if n := f.failures(auth.NotAnEmail, audit.Failure); n != 1 {
		t.Errorf("%d failures recorded as not an e-mail", n)
	}
	if n := f.count(`SELECT count(*) FROM audit_events WHERE subject_id ILIKE '%secret%' OR detail::text ILIKE '%secret%'`); n != 0 {
		t.Errorf("the pasted text is in %d audit events", n)
	}
	if _, err := f.signIn("nobody@example.com", "whatever", auth.Client{}); !errors.Is(err, auth.ErrBadCredentials) {
		t.Fatalf("sign-in: %v", err)
	}
	if n := f.failures("nobody@example.com", audit.Failure); n != 1 {
		t.Errorf("an e-mail-shaped unknown address is not recorded as typed (%d)", n)
	}
}

// TestAccountAddressesArePlain: no formula-leading or look-alike
// (non-ASCII, mixed-script) addresses for new accounts.
func TestAccountAddressesArePlain(t *testing.T) {
	for _, email := range []string{"=cmd@example.com", "+1@example.com", "-x@example.com", "@x@example.com",
		"\u0430dmin@example.com", "admin@ex\u0430mple.com", "Ana <ana@example.com>"} {
		n := auth.NewUser{Email: email, DisplayName: "x", Password: "a long enough password", Roles: []string{"requester"}}
		if errs := n.Validate(); errs["email"] == "" {
			t.Errorf("%q accepted", email)
		}
	}
	n := auth.NewUser{Email: "Ana.Lopez+dr@Example.com", DisplayName: "Ana", Password: "a long enough password", Roles: []string{"requester"}}
	if errs := n.Validate(); errs["email"] != "" {
		t.Errorf("a plain address refused: %s", errs["email"])
	}
}

// TestOneIPv6HostIsOneAddress: the addresses of one IPv6 /64 are one
// address to the throttle, so a host cannot spread its guesses over the
// addresses it holds and make the whole account wait.
func TestOneIPv6HostIsOneAddress(t *testing.T) {
	f := newFixture(t)
	f.addUser("ana@example.com", auth.RoleRequester)
	f.svc.Throttle = auth.Throttle{PerAccount: 15}
	for a := range 30 {
		_, err := f.signIn("ana@example.com", "guess", auth.Client{IP: fmt.Sprintf("2001:db8:1:2::%x", a+1)})
		if !errors.Is(err, auth.ErrBadCredentials) && apperr.KindOf(err) != apperr.TooMany {
			t.Fatal(err)
		}
	}
	if n, _ := f.throttle("ana@example.com", "*"); n > 5 {
		t.Errorf("one /64 counted %d failures towards the account, at most 5 (one address's allowance)", n)
	}
	f.mustSignIn("ana@example.com", auth.Client{IP: "192.0.2.10"})
}

// TestAFailureWithoutAWaitDoesNotHoldBackAnAttemptBegunJustBefore: a
// failure within the free allowance sets no wait, so an attempt that began
// a moment before it was counted (parallel sign-ins) is not refused.
func TestAFailureWithoutAWaitDoesNotHoldBackAnAttemptBegunJustBefore(t *testing.T) {
	f := newFixture(t)
	f.addUser("ana@example.com", auth.RoleRequester)
	if _, err := f.signIn("ana@example.com", "guess", auth.Client{IP: "192.0.2.1"}); !errors.Is(err, auth.ErrBadCredentials) {
		t.Fatal(err)
	}
	f.clock.Advance(-time.Millisecond) // began before the failure was counted
	f.mustSignIn("ana@example.com", auth.Client{IP: "192.0.2.2"})
}

// The first admin may try the whole portal but cannot act without the
// quorum: responder is granted like any role, once a second admin agrees.
func TestTheFirstAdminIsNoResponder(t *testing.T) {
	f := newFixture(t)
	created, err := f.svc.Bootstrap(context.Background(), "first@example.com", "a long enough password")
	if err != nil || !created {
		t.Fatalf("bootstrap: %v %v", created, err)
	}
	u, err := f.store.UserByEmail(context.Background(), "first@example.com")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []portal.Role{portal.RoleAdmin, portal.RoleApprover, portal.RoleAuditor, portal.RoleRequester} {
		if !u.Has(r) {
			t.Errorf("the first admin lacks %s", r)
		}
	}
	if u.Has(portal.RoleResponder) {
		t.Error("the first admin is a responder: they could break glass alone")
	}
}
