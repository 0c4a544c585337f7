package handlers

import "testing"

// TestSafeNextKeepsSignInOnThePortal: after sign-in the portal only ever
// redirects to one of its own paths; everything a browser could turn into
// another site's address goes home instead.
func TestSafeNextKeepsSignInOnThePortal(t *testing.T) {
	for _, next := range []string{
		"/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example", "/ /evil.example",
		"//evil.example", "/\\evil.example", "/\\/evil.example", "https://evil.example", "evil.example",
		"/signin?next=/x", "", "javascript:alert(1)", "/\x00/evil.example", "/\u2028/evil.example",
		"/\u00a0/evil.example",
	} {
		if got := safeNext(next); got != "/dr-tasks" {
			t.Errorf("safeNext(%q) = %q, want /dr-tasks", next, got)
		}
	}
	for _, next := range []string{"/requests/12", "/audit?action=request.filed&before=10", "/dr-tasks/abc/operations/start"} {
		if got := safeNext(next); got != next {
			t.Errorf("safeNext(%q) = %q, want it kept", next, got)
		}
	}
}
