package handlers_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"drportal/internal/audit"
)

// behindProxy is a portal whose reverse proxy is on loopback, so each
// test browser can come from an address of its own.
func behindProxy(t *testing.T) *env {
	return newEnv(t, withVar("TRUSTED_PROXIES", "127.0.0.1/32"))
}

// browserFrom is a browser whose requests the proxy forwards from addr.
func (e *env) browserFrom(addr string) *browser {
	b := e.browser()
	b.header = http.Header{"X-Forwarded-For": {addr}}
	return b
}

func (b *browser) signIn(email, pw string) response {
	b.e.t.Helper()
	return b.post("/signin", url.Values{"email": {email}, "password": {pw}})
}

// throttleOf reads the failures counted for an account from an address
// ("*": all addresses) and when its next attempt is checked.
func (e *env) throttleOf(account, address string) (int, time.Time) {
	e.t.Helper()
	var n int
	var next time.Time
	err := e.store.Pool().QueryRow(context.Background(), `SELECT failures, next_allowed_at FROM sign_in_throttles
		WHERE account = $1 AND address = $2`, account, address).Scan(&n, &next)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		e.t.Fatal(err)
	}
	return n, next
}

// throttledRefusals counts the sign-in refusals audited as throttled.
func (e *env) throttledRefusals() int {
	n := 0
	for _, ev := range e.events(audit.ActionSignInFailed) {
		if ev.Outcome == audit.Denied && strings.Contains(string(ev.Detail), `"reason":"throttled"`) {
			n++
		}
	}
	return n
}

// failUntil has b fail to sign in as email until n failures were checked,
// moving the sign-in clock past each wait it meets.
func (e *env) failUntil(b *browser, email string, n int) {
	e.t.Helper()
	for checked := 0; checked < n; {
		switch r := b.signIn(email, "a wrong guess"); r.status {
		case http.StatusUnprocessableEntity:
			checked++
		case http.StatusTooManyRequests:
			e.signInClock.Advance(40 * time.Second) // longer than any wait of the first ten failures
		default:
			e.t.Fatalf("failure %d: %d %s", checked+1, r.status, r.text(`[data-testid=form-error]`))
		}
	}
}

// TestAFloodFromOneAddressDoesNotLockTheOwnerOut: wrong passwords from
// address A, checked or refused, do not stop ana from signing in from B.
func TestAFloodFromOneAddressDoesNotLockTheOwnerOut(t *testing.T) {
	e := behindProxy(t)
	attacker := e.browserFrom("203.0.113.66")
	statuses := map[int]int{}
	for range 30 {
		r := attacker.signIn("req@example.com", "a wrong guess")
		statuses[r.status]++
		if r.status == http.StatusTooManyRequests {
			if msg := r.text(`[data-testid=form-error]`); !strings.Contains(msg, "Try again in") {
				t.Errorf("the refusal does not say when to try again: %q", msg)
			}
			if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
				t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
			}
		}
		e.signInClock.Advance(3 * time.Second)
	}
	if statuses[http.StatusUnprocessableEntity] < 5 || statuses[http.StatusTooManyRequests] < 10 ||
		statuses[http.StatusUnprocessableEntity]+statuses[http.StatusTooManyRequests] != 30 {
		t.Fatalf("the flood's answers: %v", statuses)
	}
	// Refusals are audited, but at most once per wait.
	if n := e.throttledRefusals(); n < 1 || n > statuses[http.StatusUnprocessableEntity] {
		t.Errorf("%d refusals audited for %d checked failures", n, statuses[http.StatusUnprocessableEntity])
	}

	ana := e.browserFrom("192.0.2.44")
	if r := ana.signIn("req@example.com", password); r.status != http.StatusSeeOther {
		t.Fatalf("the owner from another address: %d %s", r.status, r.text(`[data-testid=form-error]`))
	}
	// The attacker is still waiting.
	if r := attacker.signIn("req@example.com", password); r.status != http.StatusTooManyRequests {
		t.Errorf("the flooding address after the owner signed in: %d", r.status)
	}
}

// TestRefusedSignInsDoNotExtendTheWait: however many attempts a throttle
// refuses, the attempt after its wait is checked; only the first refusal
// of the wait is audited.
func TestRefusedSignInsDoNotExtendTheWait(t *testing.T) {
	e := behindProxy(t)
	from := e.browserFrom("198.51.100.23")
	e.failUntil(from, "audit@example.com", 10) // the tenth failure: a wait of 32 s
	failures, next := e.throttleOf("audit@example.com", "198.51.100.23")
	if failures != 10 {
		t.Fatalf("%d failures counted, want 10", failures)
	}
	audited := e.throttledRefusals()
	for i := range 10 {
		r := from.signIn("audit@example.com", password)
		if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
			t.Fatalf("attempt %d during the wait: %d, Retry-After %q", i, r.status, r.header.Get("Retry-After"))
		}
	}
	if n, at := e.throttleOf("audit@example.com", "198.51.100.23"); n != failures || !at.Equal(next) {
		t.Errorf("refused attempts changed the throttle: %d failures until %s, was %d until %s", n, at, failures, next)
	}
	if n := e.throttledRefusals() - audited; n != 1 {
		t.Errorf("%d refusals of one wait audited, want 1", n)
	}
	e.signInClock.Advance(33 * time.Second)
	if r := from.signIn("audit@example.com", password); r.status != http.StatusSeeOther {
		t.Fatalf("after the wait: %d %s", r.status, r.text(`[data-testid=form-error]`))
	}
	if n, _ := e.throttleOf("audit@example.com", "198.51.100.23"); n != 0 {
		t.Errorf("%d failures left after signing in", n)
	}
}

// TestAnAdminClearsASignInThrottle: the admin sees who waits, from where
// and until when, clears it, and the user signs in at once; the clearing
// is audited.
func TestAnAdminClearsASignInThrottle(t *testing.T) {
	e := behindProxy(t)
	user := e.browserFrom("198.51.100.77")
	e.failUntil(user, "audit@example.com", 10)
	if r := user.signIn("audit@example.com", password); r.status != http.StatusTooManyRequests {
		t.Fatalf("before clearing: %d", r.status)
	}

	admin := e.signedIn("admin@example.com")
	if r := admin.get("/admin/users"); r.doc.Find(`a[href="/admin/sign-ins"]`).Length() == 0 {
		t.Error("the users page does not link to the sign-in throttles")
	}
	page := admin.get("/admin/sign-ins")
	if page.status != http.StatusOK {
		t.Fatalf("throttles page: %d", page.status)
	}
	row := page.doc.Find(`[data-testid=throttle-row][data-account="audit@example.com"][data-address="198.51.100.77"]`)
	if row.Length() != 1 || row.Find(`[data-testid=throttle-failures]`).Text() != "10" ||
		!strings.Contains(row.Find(`[data-testid=throttle-next]`).Text(), "waiting") {
		t.Fatalf("throttle row: %q", row.Text())
	}
	if page.doc.Find(`[data-testid=throttle-row][data-account="audit@example.com"][data-address="*"]`).Length() != 1 {
		t.Error("the account's count across addresses is not shown")
	}

	form := url.Values{"account": {"audit@example.com"}, "address": {"198.51.100.77"}}
	r := admin.post("/admin/sign-ins/clear", form)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/admin/sign-ins" {
		t.Fatalf("clear: %d %s", r.status, r.header.Get("Location"))
	}
	cleared := e.events(audit.ActionSignInThrottleCleared)
	if len(cleared) != 1 || cleared[0].Actor.Name != "admin@example.com" || cleared[0].SubjectID != "audit@example.com" ||
		!strings.Contains(string(cleared[0].Detail), `"address":"198.51.100.77"`) || !strings.Contains(string(cleared[0].Detail), `"failures":10`) {
		t.Fatalf("clearing audited as %+v", cleared)
	}
	after := admin.get(r.header.Get("Location"))
	if !strings.Contains(after.text(`[data-testid=flash]`), "Cleared") ||
		after.doc.Find(`[data-testid=throttle-row][data-address="198.51.100.77"]`).Length() != 0 {
		t.Errorf("after clearing: flash %q", after.text(`[data-testid=flash]`))
	}

	// The user signs in at once, with no time passing.
	if r := user.signIn("audit@example.com", password); r.status != http.StatusSeeOther {
		t.Fatalf("after clearing: %d %s", r.status, r.text(`[data-testid=form-error]`))
	}

	// Clearing what is no longer there says so and changes nothing.
	again := admin.post("/admin/sign-ins/clear", form)
	if again.status != http.StatusConflict || !strings.Contains(again.text(`[data-testid=admin-error]`), "Nothing was changed") {
		t.Errorf("clearing again: %d %q", again.status, again.text(`[data-testid=admin-error]`))
	}
	if n := len(e.events(audit.ActionSignInThrottleCleared)); n != 1 {
		t.Errorf("%d clearings audited, want 1", n)
	}
}

// TestOnlyAdminsClearSignInThrottles: anyone else is refused and the
// throttle stays.
func TestOnlyAdminsClearSignInThrottles(t *testing.T) {
	e := behindProxy(t)
	e.failUntil(e.browserFrom("198.51.100.88"), "admin@example.com", 6)
	before, next := e.throttleOf("admin@example.com", "198.51.100.88")

	for _, who := range []string{"req@example.com", "audit@example.com"} {
		b := e.signedIn(who)
		if r := b.get("/admin/sign-ins"); r.status != http.StatusForbidden {
			t.Errorf("%s sees the throttles: %d", who, r.status)
		}
		form := url.Values{"account": {"admin@example.com"}, "address": {"198.51.100.88"}, "_csrf": {b.csrf("/dr-tasks")}}
		if r := b.postRaw("/admin/sign-ins/clear", form); r.status != http.StatusForbidden {
			t.Errorf("%s clears a throttle: %d", who, r.status)
		}
	}
	if n, at := e.throttleOf("admin@example.com", "198.51.100.88"); n != before || !at.Equal(next) {
		t.Errorf("the throttle changed: %d until %s, was %d until %s", n, at, before, next)
	}
	if n := len(e.events(audit.ActionSignInThrottleCleared)); n != 0 {
		t.Errorf("%d clearings audited", n)
	}
}
