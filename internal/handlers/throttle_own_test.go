package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"drportal/internal/audit"
	"drportal/internal/views"
)

// addThrottle gives an account a waiting sign-in throttle from an address.
func (e *env) addThrottle(account, address string) {
	e.t.Helper()
	now := time.Now()
	if _, err := e.store.Pool().Exec(context.Background(), `INSERT INTO sign_in_throttles
		(account, address, failures, last_failure_at, next_allowed_at) VALUES ($1, $2, 7, $3, $4)`,
		account, address, now, now.Add(time.Hour)); err != nil {
		e.t.Fatal(err)
	}
}

// deniedFor says whether a refusal of route for reason is on record.
func (e *env) deniedFor(route, reason string) bool {
	for _, d := range e.events(audit.ActionAccessDenied) {
		if strings.Contains(string(d.Detail), `"reason":"`+reason+`"`) && strings.Contains(string(d.Detail), `"route":"`+route+`"`) {
			return true
		}
	}
	return false
}

// TestAnAdminCannotClearTheThrottlesOfTheirOwnAccount: a stolen admin
// session cannot lift the wait on guessing its own password (the sign-in
// throttle, or the change form's), whatever the case of the address; the
// refusal says another admin must, changes nothing and is on record.
func TestAnAdminCannotClearTheThrottlesOfTheirOwnAccount(t *testing.T) {
	e := newEnv(t)
	admin := e.signedIn("admin@example.com")
	var id int64
	if err := e.store.Pool().QueryRow(context.Background(), `SELECT id FROM users WHERE email = 'admin@example.com'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	own := []string{"admin@example.com", "Admin@Example.com", "password-change:" + strconv.FormatInt(id, 10)}
	for _, account := range own {
		e.addThrottle(account, "198.51.100.9")
	}
	for _, account := range own {
		res := admin.post("/admin/sign-ins/clear", url.Values{"account": {account}, "address": {"198.51.100.9"}})
		if res.status != http.StatusForbidden || !strings.Contains(res.text(`[data-testid=admin-error]`), "another admin must clear it") {
			t.Errorf("clearing %s: %d %q", account, res.status, res.text(`[data-testid=admin-error]`))
		}
		if n, _ := e.throttleOf(account, "198.51.100.9"); n != 7 {
			t.Errorf("clearing %s changed its throttle: %d failures", account, n)
		}
	}
	if n := len(e.events(audit.ActionSignInThrottleCleared)); n != 0 {
		t.Errorf("%d clearings audited", n)
	}
	if !e.deniedFor("/admin/sign-ins/clear", audit.ReasonOwnThrottle) {
		t.Error("the refusal is not on record")
	}
	// Another account's throttle still clears.
	e.addThrottle("audit@example.com", "198.51.100.9")
	if res := admin.post("/admin/sign-ins/clear", url.Values{"account": {"audit@example.com"}, "address": {"198.51.100.9"}}); res.status != http.StatusSeeOther {
		t.Errorf("clearing another's: %d", res.status)
	}
}

// TestClearingASignInThrottleNeedsThePasswordEnteredRecently: like the
// other admin changes, an open session alone does not clear a throttle.
func TestClearingASignInThrottleNeedsThePasswordEnteredRecently(t *testing.T) {
	e := newEnv(t)
	admin := e.signedIn("admin@example.com")
	e.addThrottle("audit@example.com", "198.51.100.9")
	form := url.Values{"account": {"audit@example.com"}, "address": {"198.51.100.9"}}
	field := "#step_up_password-" + views.ThrottleFormKey("audit@example.com", "198.51.100.9")

	e.signInClock.Advance(6 * time.Minute)
	page := admin.get("/admin/sign-ins")
	if page.doc.Find(field).Length() != 1 {
		t.Fatal("the Clear form asks for no password 6 minutes after it was entered")
	}
	res := admin.post("/admin/sign-ins/clear", form)
	if res.status != http.StatusForbidden || !strings.Contains(res.text(field+"-error"), "needs your password again") {
		t.Errorf("without the password: %d, at its field %q", res.status, res.text(field+"-error"))
	}
	if n, _ := e.throttleOf("audit@example.com", "198.51.100.9"); n != 7 {
		t.Errorf("without the password the throttle changed: %d failures", n)
	}
	if !e.deniedFor("/admin/sign-ins/clear", audit.ReasonStepUp) {
		t.Error("the refusal is not on record as a step-up denial")
	}
	wrong := url.Values{"account": form["account"], "address": form["address"], "step_up_password": {"not my password"}}
	if res := admin.post("/admin/sign-ins/clear", wrong); res.status != http.StatusUnprocessableEntity {
		t.Errorf("with a wrong password: %d", res.status)
	}
	if n := len(e.events(audit.ActionSignInThrottleCleared)); n != 0 {
		t.Errorf("%d clearings before the password was entered", n)
	}
	right := url.Values{"account": form["account"], "address": form["address"], "step_up_password": {password}}
	if res := admin.post("/admin/sign-ins/clear", right); res.status != http.StatusSeeOther {
		t.Fatalf("with the password: %d %q", res.status, res.text("main"))
	}
	if n, _ := e.throttleOf("audit@example.com", "198.51.100.9"); n != 0 {
		t.Errorf("with the password the throttle stays: %d failures", n)
	}
}
