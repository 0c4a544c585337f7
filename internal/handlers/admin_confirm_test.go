package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"drportal/internal/auth"
	"drportal/internal/portal"
)

// confirm loads a confirmation page and submits its form as a browser
// would, with the values the page put in it.
func (b *browser) confirm(page string) response {
	b.e.t.Helper()
	res := b.get(page)
	form := res.doc.Find(`[data-testid=confirm-user] form`)
	action, ok := form.Attr("action")
	if res.status != http.StatusOK || !ok || form.Find(`[data-testid=confirm-action]`).Length() != 1 {
		b.e.t.Fatalf("no confirmation form on %s (%d): %s", page, res.status, res.text("main"))
	}
	return b.postRaw(action, formValues(form))
}

// formValues are the values a form's inputs send.
func formValues(form *goquery.Selection) url.Values {
	v := url.Values{}
	form.Find(`input[name]`).Each(func(_ int, in *goquery.Selection) {
		name, _ := in.Attr("name")
		value, _ := in.Attr("value")
		v.Add(name, value)
	})
	return v
}

// resetPassword resets the password of user id as the confirmation page
// does: confirmed, for the password the account has now.
func (b *browser) resetPassword(id int64) response {
	b.e.t.Helper()
	u, err := b.e.store.UserByID(context.Background(), id)
	if err != nil {
		b.e.t.Fatal(err)
	}
	return b.postFrom("/admin/users", fmt.Sprintf("/admin/users/%d/password", id),
		url.Values{"confirm": {"yes"}, "stamp": {auth.PasswordStamp(u)}})
}

// TestDeactivatingOrResettingAsksFirst: Deactivate and Reset password on
// the user list lead to a page that names the account and says what
// happens (sessions end, the requests waiting are cancelled, by number);
// a post that was not confirmed there goes to that page and changes
// nothing; confirming does it.
func TestDeactivatingOrResettingAsksFirst(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	req := e.signedIn("req@example.com")
	primary, standby := req.formPair()
	id := e.fileCreate(req, validForm(primary, standby))
	target, err := e.store.UserByEmail(ctx, "req@example.com")
	if err != nil {
		t.Fatal(err)
	}
	admin := e.signedIn("admin@example.com")
	row := admin.get("/admin/users").doc.Find(`[data-testid=user-row][data-email="req@example.com"]`)
	deactivate := fmt.Sprintf("/admin/users/%d/deactivate", target.ID)
	if href, _ := row.Find(`[data-testid=deactivate]`).Attr("href"); href != deactivate {
		t.Fatalf("Deactivate on the row leads to %q, want the confirmation page %s", href, deactivate)
	}
	page := admin.get(deactivate)
	heading, effects := page.text(`[data-testid=confirm-user] h2`), page.text(`[data-testid=confirm-effects]`)
	if page.status != http.StatusOK || !strings.Contains(heading, "req@example.com") ||
		!strings.Contains(effects, "1 open session ends now") || !strings.Contains(effects, fmt.Sprintf("#%d", id)) ||
		!strings.Contains(effects, "cancelled") {
		t.Errorf("the confirmation page: %d %q %q", page.status, heading, effects)
	}
	if r := admin.post(fmt.Sprintf("/admin/users/%d/active", target.ID), url.Values{"active": {"false"}}); r.status != http.StatusSeeOther ||
		r.header.Get("Location") != deactivate {
		t.Errorf("an unconfirmed deactivation: %d %s", r.status, r.header.Get("Location"))
	}
	if u, _ := e.store.UserByID(ctx, target.ID); !u.Active || req.signedOut() {
		t.Fatal("an unconfirmed deactivation deactivated")
	}
	if r := admin.confirm(deactivate); r.status != http.StatusSeeOther {
		t.Fatalf("confirmed deactivation: %d %s", r.status, r.text("main"))
	}
	if u, _ := e.store.UserByID(ctx, target.ID); u.Active {
		t.Error("the confirmed deactivation did not deactivate")
	}
	if r, _ := e.store.Request(ctx, id); r.Status != portal.StatusCancelled {
		t.Errorf("the deactivated requester's request is %s", r.Status)
	}

	auditor, err := e.store.UserByEmail(ctx, "audit@example.com")
	if err != nil {
		t.Fatal(err)
	}
	reset := fmt.Sprintf("/admin/users/%d/reset-password", auditor.ID)
	row = admin.get("/admin/users").doc.Find(`[data-testid=user-row][data-email="audit@example.com"]`)
	if href, _ := row.Find(`[data-testid=reset-password]`).Attr("href"); href != reset {
		t.Fatalf("Reset password on the row leads to %q, want the confirmation page %s", href, reset)
	}
	page = admin.get(reset)
	if effects := page.text(`[data-testid=confirm-effects]`); !strings.Contains(page.text(`[data-testid=confirm-user] h2`), "audit@example.com") ||
		!strings.Contains(effects, "stops working") || !strings.Contains(effects, "shown to you once") {
		t.Errorf("the reset's confirmation page: %q", effects)
	}
	before := e.passwordHash("audit@example.com")
	if r := admin.postFrom("/admin/users", fmt.Sprintf("/admin/users/%d/password", auditor.ID), url.Values{}); r.status != http.StatusSeeOther ||
		r.header.Get("Location") != reset || strings.Contains(r.body, "temporary-password") {
		t.Errorf("an unconfirmed reset: %d %s", r.status, r.header.Get("Location"))
	}
	if e.passwordHash("audit@example.com") != before {
		t.Fatal("an unconfirmed reset reset the password")
	}
	if r := admin.confirm(reset); r.status != http.StatusOK || r.text(`[data-testid=temporary-password]`) == "" {
		t.Errorf("confirmed reset: %d", r.status)
	}
}

// TestAResetSentAgainResetsNothingAndShowsNoPassword: the answer to a
// reset shows the temporary password; the same form posted again (a reload
// of that answer without JavaScript) is refused with a full page that
// shows no password, and the first temporary password still works. The
// password has no look-alike characters.
func TestAResetSentAgainResetsNothingAndShowsNoPassword(t *testing.T) {
	e := newEnv(t)
	target, err := e.store.UserByEmail(context.Background(), "req@example.com")
	if err != nil {
		t.Fatal(err)
	}
	admin := e.signedIn("admin@example.com")
	page := admin.get(fmt.Sprintf("/admin/users/%d/reset-password", target.ID))
	form := formValues(page.doc.Find(`[data-testid=confirm-user] form`))
	action := page.attr(`[data-testid=confirm-user] form`, "action")
	first := admin.postRaw(action, form)
	temporary := first.text(`[data-testid=temporary-password]`)
	if first.status != http.StatusOK || !regexp.MustCompile(`^([2-9a-km-np-zA-HJ-NP-Z]{4}-){4}[2-9a-km-np-zA-HJ-NP-Z]{4}$`).MatchString(temporary) {
		t.Fatalf("reset: %d, temporary password %q", first.status, temporary)
	}
	hash := e.passwordHash("req@example.com")
	again := admin.postRaw(action, form)
	if again.status != http.StatusConflict || strings.Contains(again.body, temporary) ||
		again.doc.Find(`[data-testid=temporary-password]`).Length() != 0 ||
		!strings.Contains(again.text(`[data-testid=admin-error]`), "shown once") || again.doc.Find(`[data-testid=user-table]`).Length() != 1 {
		t.Errorf("the reset posted again: %d %q", again.status, again.text(`[data-testid=admin-error]`))
	}
	if e.passwordHash("req@example.com") != hash || len(e.events("user.password_reset")) != 1 {
		t.Error("the reset posted again reset the password again")
	}
	if _, r := e.signInWith("req@example.com", temporary); r.status != http.StatusSeeOther {
		t.Errorf("the temporary password shown first no longer works: %d", r.status)
	}
}

// TestRecentlyDecidedAdminChangesAreListed: below the changes waiting, the
// users page lists the role grants that were applied, rejected (with the
// reason) and withdrawn, each with who proposed and who decided; the policy
// page lists decided policy changes.
func TestRecentlyDecidedAdminChangesAreListed(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.addUser("admin2@example.com", auth.RoleAdmin)
	a, b := e.signedIn("admin@example.com"), e.signedIn("admin2@example.com")
	grant := func(email string) int64 {
		t.Helper()
		u := e.addUser(email, auth.RoleRequester)
		if r := a.post(fmt.Sprintf("/admin/users/%d/roles", u.ID), url.Values{"roles": {"requester", "auditor"}}); r.status != http.StatusSeeOther {
			t.Fatalf("grant: %d", r.status)
		}
		cs, _ := e.store.PendingAdminChanges(ctx)
		for _, c := range cs {
			if c.UserID == u.ID {
				return c.ID
			}
		}
		t.Fatalf("no change waits for %s", email)
		return 0
	}
	applied, rejected, withdrawn := grant("ann@example.com"), grant("ben@example.com"), grant("cat@example.com")
	if r := b.post(fmt.Sprintf("/admin/changes/%d/approve", applied), url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("approve: %d", r.status)
	}
	if r := b.post(fmt.Sprintf("/admin/changes/%d/reject", rejected), url.Values{"comment": {"Ben is not on the audit rota."}}); r.status != http.StatusSeeOther {
		t.Fatalf("reject: %d", r.status)
	}
	if r := a.post(fmt.Sprintf("/admin/changes/%d/reject", withdrawn), url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("withdraw: %d", r.status)
	}
	page := a.get("/admin/users")
	want := map[int64]struct{ outcome, decider, reason string }{
		applied:   {"approved and applied", "admin2@example.com", ""},
		rejected:  {"rejected", "admin2@example.com", "Ben is not on the audit rota."},
		withdrawn: {"withdrawn", "admin@example.com", ""},
	}
	if n := page.doc.Find(`[data-testid=decided-change]`).Length(); n != 3 {
		t.Fatalf("%d decided changes listed, want 3", n)
	}
	for id, w := range want {
		li := page.doc.Find(fmt.Sprintf(`[data-testid=decided-change][data-change="%d"]`, id))
		get := func(sel string) string { return strings.TrimSpace(li.Find(sel).Text()) }
		if get(`[data-testid=decided-outcome]`) != w.outcome || get(`[data-testid=decided-proposer]`) != "admin@example.com" ||
			get(`[data-testid=decided-by]`) != w.decider || !strings.Contains(get(`[data-testid=decided-reason]`), w.reason) {
			t.Errorf("change #%d listed as %q", id, strings.Join(strings.Fields(li.Text()), " "))
		}
	}
	policyForm := formValues(a.get("/admin/policy").doc.Find(`[data-testid=policy-form]`))
	policyForm.Set("approvals_create", "2")
	if r := a.postRaw("/admin/policy", policyForm); r.status != http.StatusSeeOther {
		t.Fatalf("propose a policy: %d %s", r.status, r.text("main"))
	}
	cs, _ := e.store.PendingAdminChanges(ctx)
	if len(cs) != 1 {
		t.Fatalf("%d changes wait", len(cs))
	}
	if r := b.post(fmt.Sprintf("/admin/changes/%d/approve", cs[0].ID), url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("approve the policy: %d", r.status)
	}
	policy := a.get("/admin/policy")
	if li := policy.doc.Find(`[data-testid=decided-change]`); li.Length() != 1 || !strings.Contains(li.Text(), "Create 2") ||
		strings.TrimSpace(li.Find(`[data-testid=decided-by]`).Text()) != "admin2@example.com" {
		t.Errorf("the policy page lists %q", policy.text(`[data-testid=decided-changes]`))
	}
}

// TestAWaitingRoleIsNotShownAsHeld: a role waiting for a second admin is
// unticked on the account's row with a badge saying so, and saving the row
// keeps the same grant waiting.
func TestAWaitingRoleIsNotShownAsHeld(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.addUser("admin2@example.com", auth.RoleAdmin)
	a := e.signedIn("admin@example.com")
	dan := e.addUser("dan@example.com", auth.RoleRequester)
	if r := a.post(fmt.Sprintf("/admin/users/%d/roles", dan.ID), url.Values{"roles": {"requester", "approver"}}); r.status != http.StatusSeeOther {
		t.Fatalf("grant: %d", r.status)
	}
	waiting, _ := e.store.PendingAdminChanges(ctx)
	page := a.get("/admin/users")
	row := page.doc.Find(`[data-testid=user-row][data-email="dan@example.com"]`)
	box := row.Find(`input[type=checkbox][value=approver]`)
	if _, ticked := box.Attr("checked"); box.Length() != 1 || ticked {
		t.Error("the approver role waiting for a second admin shows ticked")
	}
	if badge := row.Find(`[data-testid=role-waiting]`).Text(); badge != "waiting for a second admin" {
		t.Errorf("the waiting role's badge says %q", badge)
	}
	form := row.Find(`form[action$="/roles"]`)
	action, _ := form.Attr("action")
	values := url.Values{}
	form.Find(`input[name]`).Each(func(_ int, in *goquery.Selection) {
		if typ, _ := in.Attr("type"); typ == "checkbox" {
			if _, on := in.Attr("checked"); !on {
				return
			}
		}
		name, _ := in.Attr("name")
		value, _ := in.Attr("value")
		values.Add(name, value)
	})
	if r := a.postRaw(action, values); r.status != http.StatusSeeOther {
		t.Fatalf("save the row as shown: %d %s", r.status, r.text("main"))
	}
	if again, _ := e.store.PendingAdminChanges(ctx); len(again) != 1 || len(waiting) != 1 || again[0].ID != waiting[0].ID {
		t.Errorf("saving the row as shown did not keep the grant waiting: %+v", again)
	}
}

// TestSigningOutSaysSo: signing out (or out everywhere) lands on the
// sign-in page, which says so once.
func TestSigningOutSaysSo(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("req@example.com")
	r := b.post("/signout", url.Values{})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/signin" {
		t.Fatalf("sign out: %d %s", r.status, r.header.Get("Location"))
	}
	if got := b.get("/signin").text(`[data-testid=flash]`); got != "You are signed out." {
		t.Errorf("the sign-in page after signing out says %q", got)
	}
	if got := b.get("/signin").text(`[data-testid=flash]`); got != "" {
		t.Errorf("the note shows again: %q", got)
	}
	c := e.signedIn("req@example.com")
	e.signedIn("req@example.com")
	if r := c.postFrom("/profile", "/profile/signout-everywhere", url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("sign out everywhere: %d", r.status)
	}
	if got := c.get("/signin").text(`[data-testid=flash]`); !strings.HasPrefix(got, "You are signed out everywhere") {
		t.Errorf("the sign-in page after signing out everywhere says %q", got)
	}
}

// TestThePasswordFormLinksItsErrors: the change-password form comes back
// with an error summary that takes the focus and links each error to its
// field, and each field names its error.
func TestThePasswordFormLinksItsErrors(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("req@example.com")
	r := b.changePassword(password, "short", "other")
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("a bad change: %d", r.status)
	}
	summary := r.doc.Find(`#error-summary[tabindex="-1"][autofocus]`)
	if summary.Length() != 1 {
		t.Fatal("no error summary that takes the focus")
	}
	links := 0
	summary.Find(`a[href^="#"]`).Each(func(_ int, a *goquery.Selection) {
		href, _ := a.Attr("href")
		field := r.doc.Find(href)
		described, _ := field.Attr("aria-describedby")
		invalid, _ := field.Attr("aria-invalid")
		if field.Length() != 1 || invalid != "true" || !strings.Contains(described, strings.TrimPrefix(href, "#")+"-error") {
			t.Errorf("the summary's link %s leads to %d fields (aria-invalid %q, described by %q)", href, field.Length(), invalid, described)
		}
		links++
	})
	if links == 0 {
		t.Errorf("the summary links no field: %q", summary.Text())
	}
}

// TestARefusedFormLeadsBackToItsPage: a refused post without JavaScript
// answers with a full page whose link leads back to the page the form was
// on, when the person may still see it, and to their profile when they
// have no role.
func TestARefusedFormLeadsBackToItsPage(t *testing.T) {
	e := newEnv(t)
	req := e.signedIn("req@example.com")
	primary, standby := req.formPair()
	id := e.fileCreate(req, validForm(primary, standby))
	e.addUser("appr@example.com", auth.RoleApprover)
	appr := e.signedIn("appr@example.com")
	r := appr.postFrom(fmt.Sprintf("/requests/%d", id), fmt.Sprintf("/requests/%d/cancel", id), url.Values{})
	if r.status != http.StatusForbidden || r.doc.Find(`header nav`).Length() == 0 ||
		r.attr(`[data-testid=error-back]`, "href") != fmt.Sprintf("/requests/%d", id) {
		t.Errorf("an approver's refused cancel: %d, back to %q", r.status, r.attr(`[data-testid=error-back]`, "href"))
	}
	admin := e.signedIn("admin@example.com")
	r = admin.postRaw("/admin/policy", url.Values{"_csrf": {"forged"}})
	if r.status != http.StatusForbidden || r.attr(`[data-testid=error-back]`, "href") != "/admin/policy" {
		t.Errorf("a forged policy post: %d, back to %q", r.status, r.attr(`[data-testid=error-back]`, "href"))
	}
	e.addUser("new@example.com")
	none := e.signedIn("new@example.com")
	r = none.postFrom("/profile", "/dr-tasks", url.Values{})
	if r.status != http.StatusForbidden || r.attr(`[data-testid=error-back]`, "href") != "/profile" {
		t.Errorf("a refused post of someone without a role: %d, back to %q", r.status, r.attr(`[data-testid=error-back]`, "href"))
	}
}

// A refused form's address may be anybody's (a cross-site form refused
// before the session is read): only an id of the right shape goes into the
// error page's way back, never the address's own words.
func TestARefusedFormsAddressDoesNotBecomeThePortalsWords(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	for _, path := range []string{
		"/requests/" + url.PathEscape("1 - SESSION EXPIRED. Call +1 555 0100") + "/decide",
		"/dr-tasks/" + url.PathEscape("x SESSION EXPIRED") + "/operations/start",
	} {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader("decision=approve"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		res := b.do(req)
		back := res.doc.Find(`[data-testid=error-back]`)
		href, _ := back.Attr("href")
		if res.status < 400 || back.Length() != 1 || strings.Contains(back.Text(), "SESSION") || strings.Contains(href, "SESSION") {
			t.Errorf("%s: %d, way back %q → %q", path, res.status, back.Text(), href)
		}
	}
	// A number of the right shape still leads back to its request.
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/requests/7/decide", strings.NewReader("decision=approve"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if back := b.do(req).doc.Find(`[data-testid=error-back]`); back.AttrOr("href", "") != "/requests/7" {
		t.Errorf("a refused decision on request 7 leads back to %q", back.AttrOr("href", ""))
	}
}
