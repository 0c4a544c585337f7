package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestSomeoneWithoutRolesLandsOnTheirProfileOnceTheirPasswordIsSet: a new
// person without a role yet, after choosing their own password at first
// sign-in, lands on their profile (which says that they have no role
// and which roles wait), not on a page they may not see.
func TestSomeoneWithoutRolesLandsOnTheirProfileOnceTheirPasswordIsSet(t *testing.T) {
	e := newEnv(t)
	admin := e.signedIn("admin@example.com")
	if r := admin.post("/admin/users", url.Values{"email": {"rita@example.com"}, "display_name": {"Rita"},
		"password": {initialPassword}}); r.status != http.StatusSeeOther {
		t.Fatalf("create: %d %s", r.status, r.text("main"))
	}
	b, _ := e.signInWith("rita@example.com", initialPassword)
	r := b.changePassword(initialPassword, newPassword, newPassword)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/profile" {
		t.Fatalf("the first change of password: %d to %q, want the profile", r.status, r.header.Get("Location"))
	}
	page := b.get("/profile")
	if page.status != http.StatusOK {
		t.Fatalf("the profile: %d %q", page.status, page.text("main"))
	}
	if got := page.text(`[data-testid=flash]`); !strings.Contains(got, "Your password is set") {
		t.Errorf("the profile's note says %q", got)
	}
	if n := strings.Count(page.text("main"), "no role yet"); n != 1 {
		t.Errorf("the profile says %d times that there is no role yet: %q", n, page.text("main"))
	}
}

// TestTheHeaderOffersSomeoneWithoutARoleOnlyWhatTheyMayUse: a person
// without a role is offered no link to the DR tasks, the requests or the
// audit log (each of which would refuse them), and their e-mail in the
// header is not followed by a separator with no roles after it.
func TestTheHeaderOffersSomeoneWithoutARoleOnlyWhatTheyMayUse(t *testing.T) {
	e := newEnv(t)
	admin := e.signedIn("admin@example.com")
	if r := admin.post("/admin/users", url.Values{"email": {"rita@example.com"}, "display_name": {"Rita"},
		"password": {initialPassword}}); r.status != http.StatusSeeOther {
		t.Fatalf("create: %d %s", r.status, r.text("main"))
	}
	b, _ := e.signInWith("rita@example.com", initialPassword)
	if r := b.changePassword(initialPassword, newPassword, newPassword); r.status != http.StatusSeeOther {
		t.Fatalf("the first change of password: %d", r.status)
	}
	page := b.get("/profile")
	for _, href := range []string{"/dr-tasks", "/requests", "/audit", "/dr-tasks/new", "/admin/users"} {
		if n := page.doc.Find(fmt.Sprintf(`header a[href=%q]`, href)).Length(); n != 0 {
			t.Errorf("the header of someone without a role links to %s", href)
		}
	}
	if who := strings.TrimSpace(page.text(`[data-testid=current-user]`)); who != "rita@example.com" {
		t.Errorf("the header names her %q", who)
	}
	if n := page.doc.Find(`header a[href="/profile"]`).Length(); n == 0 {
		t.Error("the header does not link to her profile")
	}
	// Someone with a role still has the links, and their roles after a dot.
	req := e.signedIn("req@example.com").get("/profile")
	for _, href := range []string{"/dr-tasks", "/requests", "/audit"} {
		if req.doc.Find(fmt.Sprintf(`header a[href=%q]`, href)).Length() == 0 {
			t.Errorf("the header of a requester has no link to %s", href)
		}
	}
	if who := req.text(`[data-testid=current-user]`); !strings.Contains(who, " · requester") {
		t.Errorf("the header names the requester %q", who)
	}
}

// TestAPersonGoesWhereTheyWereGoingOnceTheirPasswordIsSet: someone with a
// role who signed in on their way to a page of the portal is sent to
// choose their password first, and then on to that page; an address
// that is not the portal's is not carried along.
func TestAPersonGoesWhereTheyWereGoingOnceTheirPasswordIsSet(t *testing.T) {
	e := newEnv(t)
	admin := e.signedIn("admin@example.com")
	for _, email := range []string{"bea@example.com", "bob@example.com"} {
		if r := admin.post("/admin/users", url.Values{"email": {email}, "display_name": {"New approver"}, "password": {initialPassword}, "roles": {"approver"}}); r.status != http.StatusSeeOther {
			t.Fatalf("create %s: %d %s", email, r.status, r.text("main"))
		}
	}
	b := e.browser()
	res := b.post("/signin", url.Values{"email": {"bea@example.com"}, "password": {initialPassword}, "next": {"/requests?tab=all"}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/profile/password?next=%2Frequests%3Ftab%3Dall" {
		t.Fatalf("the first sign-in: %d to %q", res.status, res.header.Get("Location"))
	}
	form := b.get(res.header.Get("Location"))
	if got := form.attr(`[data-testid=password-form] input[name=next]`, "value"); got != "/requests?tab=all" {
		t.Errorf("the password form carries next %q", got)
	}
	r := b.postFrom("/profile/password", "/profile/password", url.Values{"current_password": {initialPassword},
		"new_password": {newPassword}, "repeat_password": {newPassword}, "next": {"/requests?tab=all"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/requests?tab=all" {
		t.Errorf("the first change of password: %d to %q, want where she was going", r.status, r.header.Get("Location"))
	}

	// Another site's address goes nowhere but the portal's own pages.
	o := e.browser()
	res = o.post("/signin", url.Values{"email": {"bob@example.com"}, "password": {initialPassword}, "next": {"//evil.example/x"}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/profile/password" {
		t.Fatalf("the first sign-in with another site as next: %d to %q", res.status, res.header.Get("Location"))
	}
	r = o.postFrom("/profile/password", "/profile/password", url.Values{"current_password": {initialPassword},
		"new_password": {newPassword}, "repeat_password": {newPassword}, "next": {"//evil.example/x"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/dr-tasks" {
		t.Errorf("the first change of password with another site as next: %d to %q", r.status, r.header.Get("Location"))
	}
}
