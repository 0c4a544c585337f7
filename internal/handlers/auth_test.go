package handlers_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/PuerkitoBio/goquery"
	"github.com/jackc/pgx/v5"

	"drportal/internal/audit"
	"drportal/internal/handlers"
)

func TestSignInAndOut(t *testing.T) {
	e := newEnv(t)
	b := e.browser()

	// Anonymous visitors are sent to sign in, keeping where they were going.
	res := b.get("/dr-tasks")
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/signin?next=%2Fdr-tasks" {
		t.Fatalf("anonymous: %d %s", res.status, res.header.Get("Location"))
	}

	bad := b.post("/signin", url.Values{"email": {"req@example.com"}, "password": {"wrong"}})
	if bad.status != http.StatusUnprocessableEntity || !strings.Contains(bad.text(`[data-testid=form-error]`), "not right") {
		t.Fatalf("wrong password: %d %q", bad.status, bad.text(`[data-testid=form-error]`))
	}
	if v, _ := bad.doc.Find("#email").Attr("value"); v != "req@example.com" {
		t.Errorf("e-mail not kept: %q", v)
	}
	unknown := b.post("/signin", url.Values{"email": {"nobody@example.com"}, "password": {"x"}})
	if unknown.status != http.StatusUnprocessableEntity || unknown.text(`[data-testid=form-error]`) != bad.text(`[data-testid=form-error]`) {
		t.Errorf("unknown e-mail must look like a wrong password: %d %q", unknown.status, unknown.text(`[data-testid=form-error]`))
	}
	failed := e.events(audit.ActionSignInFailed)
	if len(failed) != 2 || failed[0].SubjectID != "req@example.com" || !strings.Contains(string(failed[0].Detail), "wrong password") {
		t.Fatalf("failed sign-ins: %+v", failed)
	}

	ok := b.post("/signin", url.Values{"email": {"  REQ@example.com "}, "password": {password}, "next": {"/audit"}})
	if ok.status != http.StatusSeeOther || ok.header.Get("Location") != "/audit" {
		t.Fatalf("sign in: %d %s", ok.status, ok.header.Get("Location"))
	}
	var cookie *http.Cookie
	for _, c := range ok.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, handlers.SessionCookie+"=") {
			cookie, _ = http.ParseSetCookie(c)
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie: %+v", cookie)
	}
	signins := e.events(audit.ActionSignIn)
	if len(signins) != 1 || signins[0].Actor.Name != "req@example.com" || signins[0].Outcome != audit.Success {
		t.Errorf("sign-in events: %+v", signins)
	}
	if strings.Contains(cookie.Value, "") && len(cookie.Value) < 40 {
		t.Errorf("session token too short: %d", len(cookie.Value))
	}
	page := b.get("/dr-tasks")
	if page.status != 200 || !strings.Contains(page.text(`[data-testid=current-user]`), "req@example.com") {
		t.Fatalf("signed in page: %d", page.status)
	}
	if page.doc.Find(`[data-testid=simulated-banner]`).Length() != 1 {
		t.Error("no simulated-cloud banner")
	}

	// An offsite next is ignored.
	b2 := e.browser()
	if r := b2.post("/signin", url.Values{"email": {"req@example.com"}, "password": {password}, "next": {"//evil.example"}}); r.header.Get("Location") != "/dr-tasks" {
		t.Errorf("offsite next followed: %s", r.header.Get("Location"))
	}

	out := b.post("/signout", url.Values{})
	if out.status != http.StatusSeeOther || out.header.Get("Location") != "/signin" {
		t.Fatalf("sign out: %d", out.status)
	}
	if n := len(e.events(audit.ActionSignOut)); n != 1 {
		t.Errorf("%d sign-out events", n)
	}
	if res := b.get("/dr-tasks"); res.status != http.StatusSeeOther {
		t.Errorf("after sign-out: %d", res.status)
	}
	// The old token is dead even if replayed.
	replay := e.browser()
	replay.c.Jar.SetCookies(mustURL(e.srv.URL), []*http.Cookie{{Name: handlers.SessionCookie, Value: cookie.Value}})
	if res := replay.get("/dr-tasks"); res.status != http.StatusSeeOther {
		t.Errorf("replayed session: %d", res.status)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func TestPostsNeedTheCSRFToken(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("req@example.com")
	primary, standby := b.formPair()
	res := b.postRaw("/dr-tasks", validForm(primary, standby))
	if res.status != http.StatusBadRequest && res.status != http.StatusForbidden {
		t.Fatalf("create without token: %d", res.status)
	}
	form := validForm(primary, standby)
	form.Set("_csrf", "forged")
	if res := b.postRaw("/dr-tasks", form); res.status != http.StatusForbidden && res.status != http.StatusBadRequest {
		t.Errorf("create with a forged token: %d", res.status)
	}
	// A browser's cross-site request is refused outright.
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/dr-tasks", strings.NewReader(validForm(primary, standby).Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if res := b.do(req); res.status != http.StatusForbidden {
		t.Errorf("cross-site post: %d", res.status)
	}
	if e.sim.Calls("create") != 0 || len(e.sim.Tasks(simProject)) != 0 {
		t.Error("a forged request reached the cloud")
	}
}

func TestAuditPageFiltersAndExport(t *testing.T) {
	e := newEnv(t)
	id := e.createTask("dr_audit01")
	req := e.signedIn("req@example.com")
	req.post("/dr-tasks", url.Values{"name": {"x"}})

	aud := e.signedIn("audit@example.com")
	all := aud.get("/audit")
	if all.status != 200 || all.doc.Find(`[data-testid=audit-row]`).Length() < 5 {
		t.Fatalf("audit page: %d, %d rows", all.status, all.doc.Find(`[data-testid=audit-row]`).Length())
	}
	byAction := aud.get("/audit?action=request")
	byAction.doc.Find(`[data-testid=audit-row]`).Each(func(_ int, s *goquery.Selection) {
		if a, _ := s.Attr("data-action"); !strings.HasPrefix(a, "request.") {
			t.Errorf("action filter let %s through", a)
		}
	})
	if n := byAction.doc.Find(`[data-testid=audit-row]`).Length(); n < 8 {
		t.Errorf("request.* rows: %d, want the whole workflow", n)
	}
	if n := aud.get("/audit?action=dr_task.create.rejected").doc.Find(`[data-testid=audit-row]`).Length(); n != 1 {
		t.Errorf("rejected rows: %d", n)
	}
	byTask := aud.get("/audit?task=" + id)
	if n := byTask.doc.Find(`[data-testid=audit-row]`).Length(); n < 2 {
		t.Errorf("task filter rows: %d", n)
	}
	if r := aud.get("/audit?task=nonsense"); r.status != http.StatusUnprocessableEntity {
		t.Errorf("bad task filter: %d", r.status)
	}
	if r := aud.get("/audit?before=-1"); r.status != http.StatusUnprocessableEntity {
		t.Errorf("bad before: %d", r.status)
	}

	// A requester sees only their own actions, whatever they ask for.
	own := req.get("/audit?actor=1")
	own.doc.Find(`[data-testid=audit-row] td:nth-child(3)`).Each(func(_ int, s *goquery.Selection) {
		if s.Text() != "req@example.com" {
			t.Errorf("requester sees an event by %q", s.Text())
		}
	})

	exp := aud.get("/audit/export?format=ndjson&action=request.filed")
	if exp.status != 200 || !strings.HasPrefix(exp.header.Get("Content-Type"), "application/x-ndjson") {
		t.Fatalf("export: %d %s", exp.status, exp.header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(strings.NewReader(exp.body))
	lines := 0
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("line %d: %v", lines, err)
		}
		if m, ok := rec["manifest"].(map[string]any); ok {
			if m["count"] != float64(1) || m["contiguous"] != true {
				t.Errorf("manifest %v", m)
			}
			continue
		}
		if rec["action"] != "request.filed" || len(rec["hash"].(string)) != 64 || len(rec["prev_hash"].(string)) != 64 {
			t.Errorf("record %v", rec)
		}
		lines++
	}
	if lines != 1 {
		t.Errorf("exported %d lines, want 1", lines)
	}
	if n := len(e.events(audit.ActionExport)); n != 1 {
		t.Errorf("%d export events", n)
	}
	if r := aud.get("/audit/export?format=xml"); r.status != http.StatusUnprocessableEntity {
		t.Errorf("unknown format: %d", r.status)
	}

	// The chain is intact after all of it.
	rep, err := audit.VerifyChain(t.Context(), e.store, 0, 0)
	if err != nil || rep.BrokenAt != 0 || rep.Checked < 10 {
		t.Errorf("chain: %+v, %v", rep, err)
	}
}

func TestSecurityHeadersAndAssets(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	res := b.get("/signin")
	csp := res.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP %q", csp)
	}
	if res.header.Get("X-Frame-Options") != "DENY" || res.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers %v", res.header)
	}
	if res.doc.Find("script:not([src])").Length() != 0 || res.doc.Find("[style]").Length() != 0 {
		t.Error("inline script or style on the page")
	}
	src, _ := res.doc.Find(`script[src*="htmx"]`).Attr("src")
	asset := b.get(src)
	if asset.status != 200 || !strings.Contains(asset.header.Get("Cache-Control"), "immutable") || !strings.Contains(asset.body, "htmx") {
		t.Errorf("asset %s: %d %s", src, asset.status, asset.header.Get("Cache-Control"))
	}
	if r := b.get("/static/htmx.min.js"); r.status != 404 {
		t.Errorf("unhashed asset: %d", r.status)
	}
	if r := b.get("/no/such/page"); r.status != 404 || !strings.Contains(r.text(`[data-testid=error-message]`), "no page") {
		t.Errorf("404 page: %d", r.status)
	}
}

// TestASignInSucceedsWhateverTheUserAgent: a User-Agent that is not UTF-8,
// or whose cut for the sessions table or the audit falls inside a
// character, still signs in with the right password: what is stored is
// valid text, cut between characters.
func TestASignInSucceedsWhateverTheUserAgent(t *testing.T) {
	e := newEnv(t)
	for name, ua := range map[string]string{
		"not UTF-8":                 "Mozilla/5.0 (X11; Linux) \xff\xfe Firefox/128.0",
		"a character across 300":    strings.Repeat("a", 299) + "é and more",
		"a character across 200":    strings.Repeat("b", 199) + "€ and more",
		"non-ASCII and a bad byte":  "Navigateur «spécial» \xc3",
		"only bytes that are not":   "\xff\xff\xff",
		"exactly 300 then too much": strings.Repeat("c", 300) + "\xe2\x82",
	} {
		b := e.browser()
		b.header = http.Header{"User-Agent": {ua}}
		if r := b.post("/signin", url.Values{"email": {"req@example.com"}, "password": {password}}); r.status != http.StatusSeeOther {
			t.Errorf("%s: sign-in answered %d: %s", name, r.status, r.text("main"))
			continue
		}
		if r := b.get("/profile"); r.status != http.StatusOK || r.doc.Find(`[data-testid=this-session]`).Length() != 1 {
			t.Errorf("%s: the profile answered %d", name, r.status)
		}
	}
	rows, err := e.store.Pool().Query(t.Context(), `SELECT user_agent FROM sessions`)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(stored) != 6 {
		t.Fatalf("%d sessions stored: %v", len(stored), err)
	}
	for _, s := range stored {
		if !utf8.ValidString(s) || len(s) > 300 {
			t.Errorf("stored user agent %q (%d bytes)", s, len(s))
		}
	}
	for _, ev := range e.events(audit.ActionSignIn) {
		var d struct {
			UserAgent string `json:"user_agent"`
		}
		if err := json.Unmarshal(ev.Detail, &d); err != nil || strings.ContainsRune(d.UserAgent, utf8.RuneError) || len(d.UserAgent) > 200 {
			t.Errorf("audited user agent %q (%d bytes): %v", d.UserAgent, len(d.UserAgent), err)
		}
	}
}
