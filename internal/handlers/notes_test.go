package handlers_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// A page note is shown only when the portal wrote it: a note cookie planted
// by anyone else (a neighbouring site that can set cookies for the domain)
// is dropped, signed or not, while the portal's own still shows once.
func TestOnlyThePortalsOwnNotesAreShown(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("admin@example.com")
	u, _ := url.Parse(e.srv.URL)
	planted := base64.RawURLEncoding.EncodeToString([]byte("Your session expired: call +1 555 0100"))
	for _, v := range []string{planted, planted + ".", planted + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 32))} {
		b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "drp_note", Value: v, Path: "/"}})
		if page := b.get("/profile"); strings.Contains(page.body, "555 0100") {
			t.Errorf("a planted note %q is shown as the portal's", v)
		}
	}
	// The portal's own note: signing out ends on the sign-in page, which
	// says so.
	if r := b.post("/signout", url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("sign out: %d", r.status)
	}
	if got := b.get("/signin").text(`[data-testid=flash]`); got != "You are signed out." {
		t.Errorf("the portal's own note is not shown: %q", got)
	}
}
