package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"drportal/internal/audit"
	"drportal/internal/handlers"
)

const newPassword = "a brand new passphrase 42"

// signInWith signs a new browser in as email with pw and returns it with
// the answer to the sign-in.
func (e *env) signInWith(email, pw string) (*browser, response) {
	e.t.Helper()
	b := e.browser()
	return b, b.post("/signin", url.Values{"email": {email}, "password": {pw}})
}

// initialPassword is what tests type as a new account's password on the
// admin page: a temporary one, which the person replaces at first sign-in.
const initialPassword = "an initial password 7"

// signedInFirstTime returns a browser signed in as email, an account an
// admin created with initialPassword, after the forced change of its
// password to password (the one every test account has).
func (e *env) signedInFirstTime(email string) *browser {
	e.t.Helper()
	b, res := e.signInWith(email, initialPassword)
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/profile/password" {
		e.t.Fatalf("first sign-in of %s: status %d to %q, want the change form", email, res.status, res.header.Get("Location"))
	}
	if res := b.changePassword(initialPassword, password, password); res.status != http.StatusSeeOther {
		e.t.Fatalf("first password change of %s: status %d: %s", email, res.status, res.body)
	}
	return b
}

// changePassword posts the change-password form.
func (b *browser) changePassword(current, next, repeat string) response {
	b.e.t.Helper()
	form := url.Values{"current_password": {current}, "new_password": {next}, "repeat_password": {repeat},
		"_csrf": {b.csrf("/profile/password")}}
	return b.postRaw("/profile/password", form)
}

// postFrom posts a form with the CSRF token of page.
func (b *browser) postFrom(page, path string, form url.Values) response {
	b.e.t.Helper()
	form.Set("_csrf", b.csrf(page))
	return b.postRaw(path, form)
}

// sessionCookie is the session token b holds.
func (b *browser) sessionCookie() string {
	for _, c := range b.c.Jar.Cookies(mustURL(b.e.srv.URL)) {
		if c.Name == handlers.SessionCookie {
			return c.Value
		}
	}
	return ""
}

// signedOut reports whether b's session has ended: a page sends it to sign in.
func (b *browser) signedOut() bool {
	b.e.t.Helper()
	res := b.get("/dr-tasks")
	return res.status == http.StatusSeeOther && strings.HasPrefix(res.header.Get("Location"), "/signin")
}

func (e *env) passwordHash(email string) string {
	e.t.Helper()
	var h string
	if err := e.store.Pool().QueryRow(context.Background(), `SELECT password_hash FROM users WHERE email = $1`, email).Scan(&h); err != nil {
		e.t.Fatal(err)
	}
	return h
}

// sessionIDs returns the public ids of a user's sessions, oldest first.
func (e *env) sessionIDs(email string) []int64 {
	e.t.Helper()
	rows, err := e.store.Pool().Query(context.Background(),
		`SELECT s.id FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = $1 ORDER BY s.id`, email)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			e.t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// peopleEvents counts the audit events people caused: not the background
// jobs' events, nor cloud calls, which go on by themselves.
func (e *env) peopleEvents() int {
	e.t.Helper()
	var n int
	if err := e.store.Pool().QueryRow(context.Background(),
		`SELECT count(*) FROM audit_events WHERE actor_name <> 'system' AND action <> 'cloud.call'`).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) requestCount() int {
	e.t.Helper()
	var n int
	if err := e.store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM requests`).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func TestChangingThePasswordNeedsTheCurrentOne(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("req@example.com")
	hash := e.passwordHash("req@example.com")

	page := b.get("/profile/password")
	if page.status != http.StatusOK || page.doc.Find(`[data-testid=password-form] label[for=current_password]`).Length() != 1 {
		t.Fatalf("change-password form: %d", page.status)
	}

	const wrong = "not my password at all"
	res := b.changePassword(wrong, newPassword, newPassword)
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.text(`[data-testid=error-current_password]`), "not your current password") {
		t.Fatalf("wrong current password: %d %q", res.status, res.text(`[data-testid=error-current_password]`))
	}
	if res.doc.Find(`[data-testid=form-errors]`).Length() != 1 {
		t.Error("no error summary above the form")
	}
	if strings.Contains(res.body, wrong) || strings.Contains(res.body, newPassword) {
		t.Error("the form shows a typed password again")
	}
	failed := e.events(audit.ActionPasswordChangeFailed)
	if len(failed) != 1 || failed[0].Outcome != audit.Failure || failed[0].SubjectID != "req@example.com" {
		t.Fatalf("wrong current password audited as %+v", failed)
	}

	for _, c := range []struct {
		what, current, next, repeat, field string
	}{
		{"no current password", "", newPassword, newPassword, "current_password"},
		{"too short", password, "short", "short", "new_password"},
		{"not repeated", password, newPassword, newPassword + "!", "repeat_password"},
		{"the same as before", password, password, password, "new_password"},
	} {
		res := b.changePassword(c.current, c.next, c.repeat)
		if res.status != http.StatusUnprocessableEntity || res.text(`[data-testid=error-`+c.field+`]`) == "" {
			t.Errorf("%s: %d, %s error %q", c.what, res.status, c.field, res.text(`[data-testid=error-`+c.field+`]`))
		}
	}
	if e.passwordHash("req@example.com") != hash {
		t.Fatal("a refused change changed the password")
	}
	if n := len(e.events(audit.ActionPasswordChanged)); n != 0 {
		t.Errorf("%d password changes audited", n)
	}
	if _, r := e.signInWith("req@example.com", password); r.status != http.StatusSeeOther {
		t.Errorf("the password still in force does not work: %d", r.status)
	}
}

func TestAPasswordChangeEndsTheOtherSessionsAndKeepsThisOne(t *testing.T) {
	e := newEnv(t)
	here := e.signedIn("req@example.com")
	elsewhere := e.signedIn("req@example.com")
	someoneElse := e.signedIn("audit@example.com")
	oldToken := here.sessionCookie()

	res := here.changePassword(password, newPassword, newPassword)
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/profile" {
		t.Fatalf("change: %d %s: %s", res.status, res.header.Get("Location"), res.text("main"))
	}
	if tok := here.sessionCookie(); tok == "" || tok == oldToken {
		t.Error("the session was not given a new token")
	}
	profile := here.get(res.header.Get("Location"))
	if profile.status != http.StatusOK || !strings.Contains(profile.text(`[data-testid=flash]`), "password is changed") {
		t.Fatalf("profile after the change: %d %q", profile.status, profile.text(`[data-testid=flash]`))
	}
	if n := profile.doc.Find(`[data-testid=session-row]`).Length(); n != 1 {
		t.Errorf("%d sessions listed after the change, want this one", n)
	}
	if !elsewhere.signedOut() {
		t.Error("the other session still works after the change")
	}
	if someoneElse.signedOut() {
		t.Error("another user's session ended")
	}
	replay := e.browser()
	replay.c.Jar.SetCookies(mustURL(e.srv.URL), []*http.Cookie{{Name: handlers.SessionCookie, Value: oldToken}})
	if !replay.signedOut() {
		t.Error("the session's old token still works")
	}

	// The old password is dead, the new one works.
	if _, r := e.signInWith("req@example.com", password); r.status != http.StatusUnprocessableEntity {
		t.Errorf("old password: %d", r.status)
	}
	third, r := e.signInWith("req@example.com", newPassword)
	if r.status != http.StatusSeeOther {
		t.Fatalf("new password: %d", r.status)
	}

	// This session goes on, forms included: the CSRF token still works.
	ids := e.sessionIDs("req@example.com")
	if len(ids) != 2 {
		t.Fatalf("sessions %v, want this one and the new sign-in", ids)
	}
	end := here.postFrom("/profile", fmt.Sprintf("/profile/sessions/%d/end", ids[1]), url.Values{})
	if end.status != http.StatusSeeOther {
		t.Fatalf("a form after the change: %d: %s", end.status, end.text("main"))
	}
	if !third.signedOut() || here.signedOut() {
		t.Error("ending the newest session ended the wrong one")
	}

	changed := e.events(audit.ActionPasswordChanged)
	if len(changed) != 1 || changed[0].Outcome != audit.Success || changed[0].Actor.Name != "req@example.com" ||
		!strings.Contains(string(changed[0].Detail), `"other_sessions_ended":1`) {
		t.Errorf("password change audited as %+v", changed)
	}
}

func TestTheProfileListsYourSessionsAndOnlyReads(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("req@example.com")
	e.signedIn("req@example.com")
	e.signedIn("audit@example.com")

	before := e.peopleEvents()
	res := b.get("/profile")
	if res.status != http.StatusOK {
		t.Fatalf("profile: %d", res.status)
	}
	if e.peopleEvents() != before {
		t.Error("viewing the profile wrote to the audit history")
	}
	if res.text(`[data-testid=profile-email]`) != "req@example.com" || res.text(`[data-testid=profile-roles]`) != "requester" {
		t.Errorf("account: %q %q", res.text(`[data-testid=profile-email]`), res.text(`[data-testid=profile-roles]`))
	}
	rows := res.doc.Find(`[data-testid=session-row]`)
	if rows.Length() != 2 || res.doc.Find(`[data-testid=session-row][data-current=true] [data-testid=this-session]`).Length() != 1 ||
		res.doc.Find(`[data-testid=session-row][data-current=false] [data-testid=end-session]`).Length() != 1 {
		t.Errorf("session rows: %d", rows.Length())
	}
	if ip := res.text(`[data-testid=session-row] td.mono`); !strings.Contains(ip, "127.0.0.1") {
		t.Errorf("address %q", ip)
	}
	var hash []byte
	if err := e.store.Pool().QueryRow(context.Background(), `SELECT token_hash FROM sessions LIMIT 1`).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(res.body, fmt.Sprintf("%x", hash)) || strings.Contains(res.body, b.sessionCookie()) {
		t.Error("the page shows a session token or its hash")
	}
	if link := b.get("/dr-tasks").doc.Find(`header a[href="/profile"]`); link.Length() != 1 {
		t.Error("the header does not link to the profile")
	}
}

func TestEndingASessionEndsOnlyOneOfYourOwn(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("req@example.com")
	other := e.signedIn("req@example.com")
	theirs := e.signedIn("audit@example.com")
	mine := e.sessionIDs("req@example.com")
	their := e.sessionIDs("audit@example.com")

	// Someone else's session is not found, and stays.
	before := e.peopleEvents()
	if r := b.postFrom("/profile", fmt.Sprintf("/profile/sessions/%d/end", their[0]), url.Values{}); r.status != http.StatusNotFound {
		t.Errorf("ending another user's session: %d", r.status)
	}
	if theirs.signedOut() || len(e.sessionIDs("audit@example.com")) != 1 {
		t.Fatal("another user's session was ended")
	}
	for _, id := range []string{"0", "abc", "999999"} {
		if r := b.postFrom("/profile", "/profile/sessions/"+id+"/end", url.Values{}); r.status != http.StatusNotFound {
			t.Errorf("session %s: %d", id, r.status)
		}
	}
	// The session in use is ended by signing out.
	if r := b.postFrom("/profile", fmt.Sprintf("/profile/sessions/%d/end", mine[0]), url.Values{}); r.status != http.StatusConflict ||
		r.text(`[data-testid=profile-error]`) == "" {
		t.Errorf("ending this session: %d %q", r.status, r.text(`[data-testid=profile-error]`))
	}
	if e.peopleEvents() != before || len(e.sessionIDs("req@example.com")) != 2 {
		t.Fatal("a refused end changed something")
	}

	res := b.postFrom("/profile", fmt.Sprintf("/profile/sessions/%d/end", mine[1]), url.Values{})
	if res.status != http.StatusSeeOther {
		t.Fatalf("ending my other session: %d: %s", res.status, res.text("main"))
	}
	if !other.signedOut() || b.signedOut() {
		t.Error("the wrong session ended")
	}
	ended := e.events(audit.ActionSessionEnded)
	if len(ended) != 1 || ended[0].Actor.Name != "req@example.com" || !strings.Contains(string(ended[0].Detail), fmt.Sprintf(`"session":%d`, mine[1])) {
		t.Errorf("ending a session audited as %+v", ended)
	}
}

func TestSignOutEverywhereEndsAllSessions(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("req@example.com")
	other := e.signedIn("req@example.com")
	someoneElse := e.signedIn("audit@example.com")
	res := b.postFrom("/profile", "/profile/signout-everywhere", url.Values{})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/signin" {
		t.Fatalf("sign out everywhere: %d %s", res.status, res.header.Get("Location"))
	}
	if !b.signedOut() || !other.signedOut() {
		t.Error("a session survived signing out everywhere")
	}
	if ids := e.sessionIDs("req@example.com"); len(ids) != 0 {
		t.Errorf("sessions left: %v", ids)
	}
	if someoneElse.signedOut() {
		t.Error("another user's session ended")
	}
	ev := e.events(audit.ActionSignOutEverywhere)
	if len(ev) != 1 || !strings.Contains(string(ev[0].Detail), `"sessions_ended":2`) {
		t.Errorf("audited as %+v", ev)
	}
}

func TestAnAdminResetForcesAPasswordChangeAtTheNextSignIn(t *testing.T) {
	e := newEnv(t)
	target, err := e.store.UserByEmail(context.Background(), "req@example.com")
	if err != nil {
		t.Fatal(err)
	}
	before := e.signedIn("req@example.com")
	admin := e.signedIn("admin@example.com")
	if admin.get("/admin/users").doc.Find(`[data-testid=user-row][data-email="req@example.com"] [data-testid=reset-password]`).Length() != 1 {
		t.Fatal("no Reset password button on the user's row")
	}

	res := admin.confirm(fmt.Sprintf("/admin/users/%d/reset-password", target.ID))
	temporary := res.text(`[data-testid=temporary-password]`)
	if res.status != http.StatusOK || len(temporary) < 20 {
		t.Fatalf("reset: %d, temporary password %q: %s", res.status, temporary, res.text("main"))
	}
	if res.header.Get("Cache-Control") != "no-store" || res.header.Get("Location") != "" || res.header.Get("HX-Replace-Url") != "/admin/users" {
		t.Errorf("the answer may be kept: %v", res.header)
	}
	if again := admin.get("/admin/users"); strings.Contains(again.body, temporary) {
		t.Error("the temporary password is shown a second time")
	} else if again.doc.Find(`[data-testid=user-row][data-email="req@example.com"] [data-testid=must-change-badge]`).Length() != 1 {
		t.Error("the list does not show that the password was reset")
	}
	if !before.signedOut() {
		t.Error("the user's session survived the reset")
	}
	resets := e.events(audit.ActionPasswordReset)
	if len(resets) != 1 || resets[0].Actor.Name != "admin@example.com" || resets[0].SubjectID != "req@example.com" {
		t.Errorf("reset audited as %+v", resets)
	}
	if _, r := e.signInWith("req@example.com", password); r.status != http.StatusUnprocessableEntity {
		t.Errorf("the old password still works: %d", r.status)
	}

	// Signed in with the temporary password, the user gets the form and nothing else.
	b, r := e.signInWith("req@example.com", temporary)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/profile/password" {
		t.Fatalf("sign in with the temporary password: %d %s", r.status, r.header.Get("Location"))
	}
	form := b.get("/profile/password")
	if form.status != http.StatusOK || form.doc.Find(`[data-testid=must-change]`).Length() != 1 || form.doc.Find(`header nav a`).Length() != 0 {
		t.Fatalf("forced form: %d", form.status)
	}
	for _, path := range []string{"/", "/dr-tasks", "/dr-tasks/new", "/requests", "/audit", "/profile", "/admin/users", "/no/such/page"} {
		if r := b.get(path); r.status != http.StatusSeeOther || r.header.Get("Location") != "/profile/password" {
			t.Errorf("GET %s before the change: %d %s", path, r.status, r.header.Get("Location"))
		}
	}
	if r := b.get("/requests/count", "HX-Request", "true"); r.status != http.StatusForbidden {
		t.Errorf("an htmx request before the change: %d", r.status)
	}
	requestsBefore := e.requestCount()
	if r := b.postFrom("/profile/password", "/dr-tasks", url.Values{"name": {"dr_forced01"}}); r.status != http.StatusSeeOther ||
		r.header.Get("Location") != "/profile/password" {
		t.Errorf("POST before the change: %d %s", r.status, r.header.Get("Location"))
	}
	if r := b.postFrom("/profile/password", "/profile/signout-everywhere", url.Values{}); r.status != http.StatusSeeOther ||
		r.header.Get("Location") != "/profile/password" {
		t.Errorf("sign out everywhere before the change: %d %s", r.status, r.header.Get("Location"))
	}
	if e.requestCount() != requestsBefore {
		t.Error("something was filed before the change")
	}

	// Signing out still works.
	leaving, _ := e.signInWith("req@example.com", temporary)
	if r := leaving.postFrom("/profile/password", "/signout", url.Values{}); r.status != http.StatusSeeOther || r.header.Get("Location") != "/signin" {
		t.Errorf("sign out before the change: %d %s", r.status, r.header.Get("Location"))
	}

	// After the change, the portal is open again.
	if r := b.changePassword(temporary, newPassword, newPassword); r.status != http.StatusSeeOther {
		t.Fatalf("change: %d: %s", r.status, r.text("main"))
	}
	if r := b.get("/dr-tasks"); r.status != http.StatusOK {
		t.Errorf("after the change: %d", r.status)
	}
	if _, r := e.signInWith("req@example.com", temporary); r.status != http.StatusUnprocessableEntity {
		t.Errorf("the temporary password still works: %d", r.status)
	}
	if _, r := e.signInWith("req@example.com", newPassword); r.status != http.StatusSeeOther || r.header.Get("Location") != "/dr-tasks" {
		t.Errorf("the new password: %d %s", r.status, r.header.Get("Location"))
	}
	changed := e.events(audit.ActionPasswordChanged)
	if len(changed) != 1 || !strings.Contains(string(changed[0].Detail), `"required":true`) {
		t.Errorf("the forced change audited as %+v", changed)
	}
}

func TestOnlyAdminsResetPasswordsAndNotTheirOwn(t *testing.T) {
	e := newEnv(t)
	admin, err := e.store.UserByEmail(context.Background(), "admin@example.com")
	if err != nil {
		t.Fatal(err)
	}
	target, err := e.store.UserByEmail(context.Background(), "audit@example.com")
	if err != nil {
		t.Fatal(err)
	}
	hashes := func() string { return e.passwordHash("admin@example.com") + e.passwordHash("audit@example.com") }
	before := hashes()
	var audited int

	req := e.signedIn("req@example.com")
	audited = e.peopleEvents() // with the sign-in
	if r := req.postFrom("/profile", fmt.Sprintf("/admin/users/%d/password", target.ID), url.Values{}); r.status != http.StatusForbidden {
		t.Errorf("a requester resets a password: %d", r.status)
	}
	// The refusal itself is audited (access.denied), and nothing else is.
	if hashes() != before || e.peopleEvents() != audited+1 || len(e.events(audit.ActionAccessDenied)) != 1 {
		t.Errorf("a requester's refused reset changed something: %d new events", e.peopleEvents()-audited)
	}
	a := e.signedIn("admin@example.com")
	audited = e.peopleEvents()
	own := a.postFrom("/admin/users", fmt.Sprintf("/admin/users/%d/password", admin.ID), url.Values{"confirm": {"yes"}, "stamp": {"0"}})
	if own.status != http.StatusConflict || !strings.Contains(own.text(`[data-testid=admin-error]`), "profile") ||
		own.doc.Find(`[data-testid=temporary-password]`).Length() != 0 {
		t.Errorf("an admin resets their own password: %d %q", own.status, own.text(`[data-testid=admin-error]`))
	}
	if r := a.postFrom("/admin/users", "/admin/users/999999/password", url.Values{"confirm": {"yes"}, "stamp": {"0"}}); r.status != http.StatusNotFound {
		t.Errorf("unknown user: %d", r.status)
	}
	if hashes() != before || e.peopleEvents() != audited || len(e.events(audit.ActionPasswordReset)) != 0 {
		t.Error("a refused reset changed something")
	}
	if a.signedOut() || req.signedOut() {
		t.Error("a refused reset ended a session")
	}
}

// TestNoPasswordReachesTheAuditOrTheLogs goes through every way a password
// is typed or made (a wrong current one, a change, a reset, a forced
// change) and then searches every column of every audit event, and the
// handlers' log, for each of them.
func TestNoPasswordReachesTheAuditOrTheLogs(t *testing.T) {
	e := newEnv(t)
	const wrong = "wrong-current-pw-0001"
	const changed = "changed-pw-0002-long-enough"
	const forced = "forced-pw-0003-long-enough"
	b := e.signedIn("req@example.com")
	if r := b.changePassword(wrong, changed, changed); r.status != http.StatusUnprocessableEntity {
		t.Fatalf("wrong current: %d", r.status)
	}
	if r := b.changePassword(password, changed, changed); r.status != http.StatusSeeOther {
		t.Fatalf("change: %d", r.status)
	}
	target, err := e.store.UserByEmail(context.Background(), "req@example.com")
	if err != nil {
		t.Fatal(err)
	}
	res := e.signedIn("admin@example.com").resetPassword(target.ID)
	temporary := res.text(`[data-testid=temporary-password]`)
	if res.status != http.StatusOK || temporary == "" {
		t.Fatalf("reset: %d", res.status)
	}
	fb, r := e.signInWith("req@example.com", temporary)
	if r.status != http.StatusSeeOther {
		t.Fatalf("sign in with the temporary password: %d", r.status)
	}
	if r := fb.changePassword(temporary, forced, forced); r.status != http.StatusSeeOther {
		t.Fatalf("forced change: %d", r.status)
	}
	if n := len(e.events(audit.ActionPasswordChanged)) + len(e.events(audit.ActionPasswordChangeFailed)) + len(e.events(audit.ActionPasswordReset)); n != 4 {
		t.Fatalf("%d password events, want 4", n)
	}

	logs := e.logs.String()
	if !strings.Contains(logs, "/profile/password") {
		t.Fatal("the handlers' log is empty: the search below would prove nothing")
	}
	for _, pw := range []string{password, wrong, changed, temporary, forced} {
		var n int
		if err := e.store.Pool().QueryRow(context.Background(),
			`SELECT count(*) FROM audit_events t WHERE strpos(t::text, $1) > 0`, pw).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%d audit events hold the password %q", n, pw)
		}
		if strings.Contains(logs, pw) {
			t.Errorf("the log holds the password %q", pw)
		}
	}
}

// TestANewAccountChoosesItsOwnPasswordFirst: the password an admin types
// for a new account is temporary. Signing in with it lands on the change
// form, every other page leads there, and once the person has chosen their
// own the portal opens and the admin's password no longer works.
func TestANewAccountChoosesItsOwnPasswordFirst(t *testing.T) {
	e := newEnv(t)
	admin := e.signedIn("admin@example.com")
	page := admin.get("/admin/users")
	if hint := page.text(`[data-testid=initial-password-hint]`); !strings.Contains(hint, "chooses their own") {
		t.Errorf("the initial password's hint says %q", hint)
	}
	if r := admin.post("/admin/users", url.Values{"email": {"new@example.com"}, "display_name": {"New"},
		"password": {initialPassword}, "roles": {"requester"}}); r.status != http.StatusSeeOther {
		t.Fatalf("create: %d %s", r.status, r.text("main"))
	}
	if admin.get("/admin/users").doc.Find(`[data-testid=user-row][data-email="new@example.com"] [data-testid=must-change-badge]`).Length() != 1 {
		t.Error("the list does not show that the new account's password is temporary")
	}

	b, r := e.signInWith("new@example.com", initialPassword)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/profile/password" {
		t.Fatalf("first sign-in: %d to %q, want the change form", r.status, r.header.Get("Location"))
	}
	form := b.get("/profile/password")
	if form.status != http.StatusOK || form.doc.Find(`[data-testid=must-change]`).Length() != 1 || form.doc.Find(`header nav a`).Length() != 0 {
		t.Fatalf("the change form: %d", form.status)
	}
	for _, path := range []string{"/", "/dr-tasks", "/dr-tasks/new", "/requests", "/audit", "/profile"} {
		if r := b.get(path); r.status != http.StatusSeeOther || r.header.Get("Location") != "/profile/password" {
			t.Errorf("GET %s before the change: %d %s", path, r.status, r.header.Get("Location"))
		}
	}
	if r := b.get("/requests/count", "HX-Request", "true"); r.status != http.StatusForbidden {
		t.Errorf("an htmx request before the change: %d", r.status)
	}

	if r := b.changePassword(initialPassword, newPassword, newPassword); r.status != http.StatusSeeOther {
		t.Fatalf("change: %d: %s", r.status, r.text("main"))
	}
	if r := b.get("/dr-tasks"); r.status != http.StatusOK {
		t.Errorf("after the change: %d", r.status)
	}
	if _, r := e.signInWith("new@example.com", initialPassword); r.status != http.StatusUnprocessableEntity {
		t.Errorf("the admin's password still works: %d", r.status)
	}
	if _, r := e.signInWith("new@example.com", newPassword); r.status != http.StatusSeeOther || r.header.Get("Location") != "/dr-tasks" {
		t.Errorf("the person's own password: %d %s", r.status, r.header.Get("Location"))
	}
	if changed := e.events(audit.ActionPasswordChanged); len(changed) != 1 || !strings.Contains(string(changed[0].Detail), `"required":true`) {
		t.Errorf("the first change audited as %+v", changed)
	}
}

// TestANewPersonLandsOnTheirWorkOnceTheirPasswordIsSet: after choosing
// their own password at first sign-in, a new approver lands on the task
// list, which says their password is set and what awaits them, not on
// their profile.
func TestANewPersonLandsOnTheirWorkOnceTheirPasswordIsSet(t *testing.T) {
	e := newEnv(t)
	admin := e.signedIn("admin@example.com")
	if r := admin.post("/admin/users", url.Values{"email": {"bea@example.com"}, "display_name": {"Bea"},
		"password": {initialPassword}, "roles": {"approver"}}); r.status != http.StatusSeeOther {
		t.Fatalf("create: %d %s", r.status, r.text("main"))
	}
	e.pendingCreate("dr_first01")
	b, _ := e.signInWith("bea@example.com", initialPassword)
	r := b.changePassword(initialPassword, newPassword, newPassword)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/dr-tasks" {
		t.Fatalf("the first change of password: %d to %q, want the task list", r.status, r.header.Get("Location"))
	}
	list := b.get("/dr-tasks")
	if got := list.text(`[data-testid=flash]`); !strings.Contains(got, "Your password is set") {
		t.Errorf("the task list's note says %q", got)
	}
	if got := list.text(`[data-testid=awaiting-banner]`); !strings.Contains(got, "1 request awaits your approval") {
		t.Errorf("the task list's banner says %q", got)
	}
	if got := b.get("/dr-tasks").text(`[data-testid=flash]`); got != "" {
		t.Errorf("the note shows again: %q", got)
	}
	// A later change of password is made from the profile, and goes back there.
	if r := b.changePassword(newPassword, newPassword+"2", newPassword+"2"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/profile" {
		t.Errorf("a later change: %d to %q", r.status, r.header.Get("Location"))
	}
}

// TestTheForcedPasswordPageHasNoEmptyNavigation: while a person must
// choose their password there is nowhere to go, so the header has no
// navigation landmark at all (an empty one is announced as a landmark
// with nothing in it).
func TestTheForcedPasswordPageHasNoEmptyNavigation(t *testing.T) {
	e := newEnv(t)
	admin := e.signedIn("admin@example.com")
	if r := admin.post("/admin/users", url.Values{"email": {"nav@example.com"}, "display_name": {"Nav"},
		"password": {initialPassword}, "roles": {"requester"}}); r.status != http.StatusSeeOther {
		t.Fatalf("create: %d", r.status)
	}
	b, _ := e.signInWith("nav@example.com", initialPassword)
	form := b.get("/profile/password")
	if form.doc.Find(`[data-testid=must-change]`).Length() != 1 {
		t.Fatal("not the forced change form")
	}
	if n := form.doc.Find(`nav, [role=navigation]`).Length(); n != 0 {
		t.Errorf("the forced change form has %d navigation landmarks", n)
	}
	if form.text(`[data-testid=current-user]`) == "" {
		t.Error("the header no longer says who is signed in")
	}
}
