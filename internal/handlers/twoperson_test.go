package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"drportal/internal/auth"
	"drportal/internal/portal"
)

// TestRoleGrantsWaitForASecondAdmin: with two admins, a role one admin
// gives (to a new account or an existing one) takes effect only when the
// other approves it; the proposer cannot approve their own; roles taken
// away go at once.
func TestRoleGrantsWaitForASecondAdmin(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.addUser("admin2@example.com", auth.RoleAdmin)
	a, b := e.signedIn("admin@example.com"), e.signedIn("admin2@example.com")

	if r := a.post("/admin/users", url.Values{"email": {"eve@example.com"}, "display_name": {"Eve"},
		"password": {password}, "roles": {"approver", "requester"}}); r.status != http.StatusSeeOther {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	eve, err := e.store.UserByEmail(ctx, "eve@example.com")
	if err != nil || len(eve.Roles) != 0 {
		t.Fatalf("a new account's roles took effect on one admin's word: %+v %v", eve.Roles, err)
	}
	target := e.addUser("dan@example.com", auth.RoleRequester)
	if r := a.post(fmt.Sprintf("/admin/users/%d/roles", target.ID), url.Values{"roles": {"requester", "approver"}}); r.status != http.StatusSeeOther {
		t.Fatalf("grant: %d", r.status)
	}
	if dan, _ := e.store.UserByID(ctx, target.ID); dan.Has(auth.RoleApprover) {
		t.Fatal("a role grant took effect on one admin's word")
	}
	changes, err := e.store.PendingAdminChanges(ctx)
	if err != nil || len(changes) != 2 {
		t.Fatalf("waiting changes: %+v %v", changes, err)
	}
	danChange := changes[1]
	if danChange.UserID != target.ID {
		danChange = changes[0]
	}
	// The other admin is told on every page that changes wait for them;
	// the proposer is not.
	if n := b.get("/dr-tasks").text(`[data-testid=changes-waiting]`); n != "2" {
		t.Errorf("the second admin's header shows %q changes waiting, want 2", n)
	}
	if n := a.get("/dr-tasks").text(`[data-testid=changes-waiting]`); n != "" {
		t.Errorf("the proposer's header shows %q changes waiting for them", n)
	}
	// The proposer sees the change but cannot approve it.
	page := a.get("/admin/users")
	if page.doc.Find(`[data-testid=admin-change] [data-testid=withdraw-change]`).Length() != 2 ||
		page.doc.Find(`[data-testid=approve-change]`).Length() != 0 {
		t.Error("the proposer is offered to approve their own change")
	}
	// The waiting role shows unticked and marked on the account's row, and
	// saving the row again as it is keeps the same change waiting.
	row := page.doc.Find(`[data-testid=user-row][data-email="dan@example.com"]`)
	if row.Find(`[data-testid=role-waiting]`).Length() != 1 || row.Find(`input[type=checkbox][value=approver]:not([checked])`).Length() != 1 {
		t.Error("the row does not show the approver role as waiting")
	}
	if r := a.post(fmt.Sprintf("/admin/users/%d/roles", target.ID), url.Values{"roles": {"requester", "approver"}}); r.status != http.StatusSeeOther {
		t.Fatalf("save again: %d", r.status)
	}
	if again, _ := e.store.PendingAdminChanges(ctx); len(again) != 2 || (again[0].ID != danChange.ID && again[1].ID != danChange.ID) {
		t.Errorf("saving the row again replaced the waiting change: %+v", again)
	}
	if r := a.post(fmt.Sprintf("/admin/changes/%d/approve", danChange.ID), url.Values{}); r.status != http.StatusForbidden {
		t.Errorf("the proposer approved their own change: %d", r.status)
	}
	if d := e.events("access.denied"); len(d) != 1 || !strings.Contains(string(d[0].Detail), `"reason":"self-approval"`) ||
		!strings.Contains(string(d[0].Detail), `"route":"/admin/changes/:id/approve"`) {
		t.Errorf("the proposer's attempt to approve their own change is not audited as denied: %+v", d)
	}
	// The second admin's card: typing a reason is part of rejecting only;
	// the approve form holds nothing to type in, so Enter cannot approve.
	card := b.get("/admin/users")
	if card.doc.Find(`form[action$="/reject"] textarea[name=comment][required]`).Length() != 2 ||
		card.doc.Find(`form[action$="/approve"] input[type=text], form[action$="/approve"] textarea`).Length() != 0 {
		t.Error("the reason to reject is typed in the approve form, where Enter approves")
	}
	if r := b.post(fmt.Sprintf("/admin/changes/%d/reject", danChange.ID), url.Values{}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("a rejection without a reason: %d", r.status)
	}
	if r := b.post(fmt.Sprintf("/admin/changes/%d/approve", danChange.ID), url.Values{"comment": {"on call from Monday"}}); r.status != http.StatusSeeOther {
		t.Fatalf("second admin approves: %d %s", r.status, r.body)
	}
	dan, _ := e.store.UserByID(ctx, target.ID)
	if !dan.Has(auth.RoleApprover) || !dan.Has(auth.RoleRequester) {
		t.Errorf("after the second admin's approval: %v", dan.Roles)
	}
	if r := b.post(fmt.Sprintf("/admin/changes/%d/approve", danChange.ID), url.Values{}); r.status != http.StatusConflict {
		t.Errorf("a change applied twice: %d", r.status)
	}
	applied := e.events("user.roles_changed")
	last := applied[len(applied)-1]
	if last.SubjectID != "dan@example.com" || !strings.Contains(string(last.Detail), `"approved_by":"admin2@example.com"`) ||
		!strings.Contains(string(last.Detail), `"proposed_by":"admin@example.com"`) {
		t.Errorf("the grant's audit event does not name both admins: %s", last.Detail)
	}
	// Taking a role away needs nobody else.
	if r := a.post(fmt.Sprintf("/admin/users/%d/roles", target.ID), url.Values{"roles": {"requester"}}); r.status != http.StatusSeeOther {
		t.Fatalf("remove: %d", r.status)
	}
	if dan, _ := e.store.UserByID(ctx, target.ID); dan.Has(auth.RoleApprover) {
		t.Error("a removal waited for a second admin")
	}
	// Eve's grant is withdrawn by its proposer and never takes effect.
	var eveChange portal.AdminChange
	changes, _ = e.store.PendingAdminChanges(ctx)
	for _, c := range changes {
		if c.UserID == eve.ID {
			eveChange = c
		}
	}
	if r := a.post(fmt.Sprintf("/admin/changes/%d/reject", eveChange.ID), url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("withdraw: %d", r.status)
	}
	if r := b.post(fmt.Sprintf("/admin/changes/%d/approve", eveChange.ID), url.Values{}); r.status != http.StatusConflict {
		t.Errorf("a withdrawn change was approved: %d", r.status)
	}
	if len(e.events("change.proposed")) != 2 || len(e.events("change.withdrawn")) != 1 {
		t.Errorf("proposals %d, withdrawals %d", len(e.events("change.proposed")), len(e.events("change.withdrawn")))
	}
}

// TestASoleAdminSaysSoAndTheirGrantsAreMarked: with one admin, a grant
// takes effect at once (how the second admin comes to be) and its audit
// event says a sole admin made it; the pages say so and show the way to a
// second admin.
func TestASoleAdminSaysSoAndTheirGrantsAreMarked(t *testing.T) {
	e := newEnv(t)
	admin := e.signedIn("admin@example.com")
	for _, page := range []string{"/admin/users", "/admin/policy"} {
		if r := admin.get(page); !strings.Contains(r.text(`[data-testid=sole-admin]`), "only active admin") {
			t.Errorf("%s does not say the admin is the only one", page)
		}
	}
	target := e.addUser("dan@example.com", auth.RoleRequester)
	if r := admin.post(fmt.Sprintf("/admin/users/%d/roles", target.ID), url.Values{"roles": {"requester", "approver"}}); r.status != http.StatusSeeOther {
		t.Fatalf("grant: %d", r.status)
	}
	if dan, _ := e.store.UserByID(context.Background(), target.ID); !dan.Has(auth.RoleApprover) {
		t.Fatal("a sole admin's grant waits for an admin who does not exist")
	}
	ev := e.events("user.roles_changed")
	if len(ev) != 1 || !strings.Contains(string(ev[0].Detail), `"sole_admin":true`) {
		t.Errorf("the grant is not marked as a sole admin's: %+v", ev)
	}
}

// TestNoPolicyLetsOnePersonDoAHighRiskOperation: switchover, failover,
// recovery and delete need an approval whatever an admin proposes.
func TestNoPolicyLetsOnePersonDoAHighRiskOperation(t *testing.T) {
	e := newEnv(t)
	admin := e.signedIn("admin@example.com")
	form := url.Values{"pending_ttl": {"72h"}, "approval_ttl": {"24h"}}
	for _, op := range portal.Operations {
		form.Set("approvals_"+string(op), "0")
	}
	r := admin.post("/admin/policy", form)
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("a policy of no approvals: %d", r.status)
	}
	for _, op := range []string{"switchover", "failover", "recovery", "delete"} {
		if !strings.Contains(r.body, "A "+op+" needs at least 1 approval") {
			t.Errorf("no floor message for %s", op)
		}
	}
	// Every problem is named at once, the floor with a duration that does not parse.
	form.Set("approval_ttl", "soon")
	r = admin.post("/admin/policy", form)
	if r.status != http.StatusUnprocessableEntity || r.text(`[data-testid=error-approval_ttl]`) == "" ||
		!strings.Contains(r.body, "A failover needs at least 1 approval") {
		t.Errorf("a bad duration hid the floor: %d", r.status)
	}
	if cs, _ := e.store.PendingAdminChanges(context.Background()); len(cs) != 0 {
		t.Errorf("a refused policy was proposed: %+v", cs)
	}
}

// TestAnApproverMadeAfterFilingCannotApproveIt: an account made an
// approver after a request was filed cannot decide it, does not see it as
// awaiting them, and would not count towards its quorum.
func TestAnApproverMadeAfterFilingCannotApproveIt(t *testing.T) {
	e := newEnv(t)
	req := e.signedIn("req@example.com")
	primary, standby := req.formPair()
	id := e.fileCreate(req, validForm(primary, standby))

	// The sole admin makes a new approver: at once, but too late for this request.
	admin := e.signedIn("admin@example.com")
	if r := admin.post("/admin/users", url.Values{"email": {"late@example.com"}, "display_name": {"Late"},
		"password": {initialPassword}, "roles": {"approver"}}); r.status != http.StatusSeeOther {
		t.Fatalf("create: %d", r.status)
	}
	late := e.signedInFirstTime("late@example.com")
	if r := late.get("/requests?tab=awaiting"); r.doc.Find(`[data-testid=request-row]`).Length() != 0 {
		t.Error("the request awaits an approver made after it was filed")
	}
	if r := e.decide(late, id, "approve", ""); r.status != http.StatusForbidden || !strings.Contains(r.body, "after this request was filed") {
		t.Errorf("an approver made after filing decided: %d", r.status)
	}
	if got, _ := e.store.Request(context.Background(), id); got.Status != portal.StatusPending {
		t.Errorf("request is %s", got.Status)
	}
	// One who was an approver when it was filed can.
	if r := e.decide(admin, id, "approve", ""); r.status != http.StatusSeeOther {
		t.Errorf("an approver from before: %d", r.status)
	}
}

// TestNoAdminLearnsAnApproversPassword: an admin cannot reset the password
// of an approver or an admin, or of an account a grant of either waits
// for, and a grant waits while its account has a temporary password, so no
// admin can sign in as someone who approves.
func TestNoAdminLearnsAnApproversPassword(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.addUser("admin2@example.com", auth.RoleAdmin)
	a, b := e.signedIn("admin@example.com"), e.signedIn("admin2@example.com")
	appr := e.addUser("appr@example.com", auth.RoleApprover)
	before := e.auditCount()
	r := a.resetPassword(appr.ID)
	if r.status != http.StatusConflict || !strings.Contains(r.text(`[data-testid=admin-error]`), "holds the approver role") {
		t.Errorf("an approver's password reset: %d %q", r.status, r.text(`[data-testid=admin-error]`))
	}
	if got := e.auditCount(); got != before+1 {
		t.Errorf("a refused reset added %d audit events, want its access.denied only", got-before)
	}
	if d := e.events("access.denied"); len(d) != 1 || !strings.Contains(string(d[0].Detail), `"reason":"privileged-reset"`) {
		t.Errorf("the refused reset is not audited as denied: %+v", d)
	}
	if row := a.get("/admin/users").doc.Find(`[data-testid=user-row][data-email="appr@example.com"]`); row.Find(`[data-testid=reset-password]`).Length() != 0 ||
		!strings.Contains(row.Find(`[data-testid=reset-unavailable]`).Text(), "the approver role") {
		t.Error("an approver's row offers a password reset that would be refused")
	}
	// A requester with a grant of approver waiting is not reset either.
	dan := e.addUser("dan@example.com", auth.RoleRequester)
	if r := a.post(fmt.Sprintf("/admin/users/%d/roles", dan.ID), url.Values{"roles": {"requester", "approver"}}); r.status != http.StatusSeeOther {
		t.Fatalf("grant: %d", r.status)
	}
	if r := a.resetPassword(dan.ID); r.status != http.StatusConflict ||
		r.header.Get("HX-Replace-Url") != "/admin/users" {
		t.Errorf("a reset while a grant of approver waits: %d, address %q", r.status, r.header.Get("HX-Replace-Url"))
	}
	// Reset first, then the grant waits until dan has chosen a password.
	cs, _ := e.store.PendingAdminChanges(ctx)
	if r := a.post(fmt.Sprintf("/admin/changes/%d/reject", cs[0].ID), url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("withdraw: %d", r.status)
	}
	if r := a.resetPassword(dan.ID); r.status != http.StatusOK {
		t.Fatalf("a requester's reset: %d", r.status)
	}
	if r := a.post(fmt.Sprintf("/admin/users/%d/roles", dan.ID), url.Values{"roles": {"requester", "approver"}}); r.status != http.StatusSeeOther {
		t.Fatalf("grant: %d", r.status)
	}
	cs, _ = e.store.PendingAdminChanges(ctx)
	if w := b.get("/admin/users").text(`[data-testid=change-warning]`); !strings.Contains(w, "admin@example.com reset the password of dan@example.com") {
		t.Errorf("the second admin is not told the account's password was reset by an admin: %q", w)
	}
	if r := b.post(fmt.Sprintf("/admin/changes/%d/approve", cs[0].ID), url.Values{}); r.status != http.StatusConflict ||
		!strings.Contains(r.text(`[data-testid=admin-error]`), "temporary password") {
		t.Errorf("a grant of approver to an account with a temporary password: %d", r.status)
	}
	if u, _ := e.store.UserByID(ctx, dan.ID); u.Has(auth.RoleApprover) {
		t.Error("the grant took effect")
	}
}

// TestAnAdminWhoRemovedTheOthersCannotGrantAlone: once an install has had
// two admins, an admin who takes the admin role from the other is the only
// one left, but their grants still wait for a second admin; the pages say
// how the server's command line adds one.
func TestAnAdminWhoRemovedTheOthersCannotGrantAlone(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.signedIn("admin@example.com")
	if r := a.post("/admin/users", url.Values{"email": {"bea@example.com"}, "display_name": {"Bea"},
		"password": {password}, "roles": {"admin"}}); r.status != http.StatusSeeOther {
		t.Fatalf("second admin: %d", r.status)
	}
	bea, _ := e.store.UserByEmail(ctx, "bea@example.com")
	if !bea.Has(auth.RoleAdmin) {
		t.Fatal("the sole admin's grant of the second admin waited")
	}
	if r := a.post(fmt.Sprintf("/admin/users/%d/roles", bea.ID), url.Values{"roles": {"requester"}}); r.status != http.StatusSeeOther {
		t.Fatalf("take the admin role away: %d", r.status)
	}
	dan := e.addUser("dan@example.com", auth.RoleRequester)
	if r := a.post(fmt.Sprintf("/admin/users/%d/roles", dan.ID), url.Values{"roles": {"requester", "approver"}}); r.status != http.StatusSeeOther {
		t.Fatalf("grant: %d", r.status)
	}
	if u, _ := e.store.UserByID(ctx, dan.ID); u.Has(auth.RoleApprover) {
		t.Error("an admin who removed the other admin granted the approver role alone")
	}
	if r := a.get("/admin/users"); !strings.Contains(r.text(`[data-testid=sole-admin]`), "web grant-admin") {
		t.Errorf("the page does not say how to add an admin: %q", r.text(`[data-testid=sole-admin]`))
	}
}

// TestAnAccountWithoutRolesIsToldWhy: someone whose roles still wait for a
// second admin lands on their profile and, anywhere else, is told why they
// see nothing.
func TestAnAccountWithoutRolesIsToldWhy(t *testing.T) {
	e := newEnv(t)
	e.addUser("new@example.com")
	b := e.signedIn("new@example.com")
	if r := b.get("/"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/profile" {
		t.Errorf("home of an account without roles: %d %s", r.status, r.header.Get("Location"))
	}
	if r := b.get("/dr-tasks"); r.status != http.StatusForbidden || !strings.Contains(r.body, "no role yet") || strings.Contains(r.body, "[]") {
		t.Errorf("an account without roles on the task list: %d", r.status)
	}
	// Its profile says so, and names a grant that waits for it.
	e.addUser("admin2@example.com", auth.RoleAdmin)
	nu, _ := e.store.UserByEmail(context.Background(), "new@example.com")
	if r := e.signedIn("admin@example.com").post(fmt.Sprintf("/admin/users/%d/roles", nu.ID), url.Values{"roles": {"approver"}}); r.status != http.StatusSeeOther {
		t.Fatalf("propose: %d", r.status)
	}
	p := b.get("/profile")
	if p.text(`[data-testid=no-roles]`) == "" || !strings.Contains(p.text(`[data-testid=roles-waiting]`), "admin@example.com proposed giving you the approver role") {
		t.Errorf("the profile of an account without roles: %q", p.text(`[data-testid=no-roles]`))
	}
}

// TestANoteIsThePortalsOwnAndShowsOnce: the note a page shows after a
// change comes from the change, once; text put in the address is not shown
// as the portal's word.
func TestANoteIsThePortalsOwnAndShowsOnce(t *testing.T) {
	e := newEnv(t)
	admin := e.signedIn("admin@example.com")
	for _, page := range []string{"/admin/users", "/admin/policy", "/admin/sign-ins", "/profile"} {
		if r := admin.get(page + "?done=Security+notice:+sign+in+again+at+evil.example"); strings.Contains(r.body, "evil.example") {
			t.Errorf("%s shows text from its address as a note", page)
		}
	}
	target := e.addUser("dan@example.com", auth.RoleRequester)
	if r := admin.post(fmt.Sprintf("/admin/users/%d/roles", target.ID), url.Values{"roles": {"requester", "auditor"}}); r.status != http.StatusSeeOther ||
		r.header.Get("Location") != "/admin/users" {
		t.Fatalf("save roles: %d %s", r.status, r.header.Get("Location"))
	}
	if n := admin.get("/admin/users").text(`[data-testid=flash]`); !strings.Contains(n, "Roles of dan@example.com") {
		t.Errorf("the note after saving roles: %q", n)
	}
	if n := admin.get("/admin/users").text(`[data-testid=flash]`); n != "" {
		t.Errorf("the note shows again: %q", n)
	}
	// A note not yet shown does not outlive the session: the next person
	// to sign in on this browser does not see it.
	if r := admin.post(fmt.Sprintf("/admin/users/%d/roles", target.ID), url.Values{"roles": {"requester"}}); r.status != http.StatusSeeOther {
		t.Fatalf("save roles: %d", r.status)
	}
	if r := admin.post("/signout", url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("sign out: %d", r.status)
	}
	e.addUser("admin2@example.com", auth.RoleAdmin)
	if r := admin.post("/signin", url.Values{"email": {"admin2@example.com"}, "password": {password}}); r.status != http.StatusSeeOther {
		t.Fatalf("sign in: %d", r.status)
	}
	if n := admin.get("/admin/users").text(`[data-testid=flash]`); n != "" {
		t.Errorf("the next person sees the last one's note: %q", n)
	}
}

// TestADeactivatedSecondAdminCountsAsHavingHadTwo: the admin role given to
// a deactivated account, which can be reactivated at once, makes the
// install one that has had two admins: the admin who takes it away again
// does not grant alone.
func TestADeactivatedSecondAdminCountsAsHavingHadTwo(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.signedIn("admin@example.com")
	bob := e.addUser("bob@example.com", auth.RoleRequester)
	for _, step := range []struct{ path, key, value string }{
		{fmt.Sprintf("/admin/users/%d/active", bob.ID), "active", "false"},
		{fmt.Sprintf("/admin/users/%d/roles", bob.ID), "roles", "admin"},
		{fmt.Sprintf("/admin/users/%d/active", bob.ID), "active", "true"},
		{fmt.Sprintf("/admin/users/%d/active", bob.ID), "active", "false"},
	} {
		if r := a.post(step.path, url.Values{step.key: {step.value}, "confirm": {"yes"}}); r.status != http.StatusSeeOther {
			t.Fatalf("%s %s=%s: %d", step.path, step.key, step.value, r.status)
		}
	}
	mallory := e.addUser("mallory@example.com", auth.RoleRequester)
	if r := a.post(fmt.Sprintf("/admin/users/%d/roles", mallory.ID), url.Values{"roles": {"requester", "approver"}}); r.status != http.StatusSeeOther {
		t.Fatalf("grant: %d", r.status)
	}
	if u, _ := e.store.UserByID(ctx, mallory.ID); u.Has(auth.RoleApprover) {
		t.Error("after a second admin came and went, one admin granted the approver role alone")
	}
}

// TestTheSecondAdminIsWarnedWhenTheProposerChoseTheFirstPassword: an admin
// who creates an account types its first password, so could sign in as
// its owner before they do. When that admin proposes the approver role
// for it, the second admin is told.
func TestTheSecondAdminIsWarnedWhenTheProposerChoseTheFirstPassword(t *testing.T) {
	e := newEnv(t)
	e.addUser("admin2@example.com", auth.RoleAdmin)
	a, b := e.signedIn("admin@example.com"), e.signedIn("admin2@example.com")
	if r := a.post("/admin/users", url.Values{"email": {"eve@example.com"}, "display_name": {"Eve"},
		"password": {initialPassword}}); r.status != http.StatusSeeOther {
		t.Fatalf("create: %d", r.status)
	}
	e.signedInFirstTime("eve@example.com") // whoever knew the first password
	eve, _ := e.store.UserByEmail(context.Background(), "eve@example.com")
	if r := a.post(fmt.Sprintf("/admin/users/%d/roles", eve.ID), url.Values{"roles": {"approver"}}); r.status != http.StatusSeeOther {
		t.Fatalf("propose: %d", r.status)
	}
	if w := b.get("/admin/users").text(`[data-testid=change-warning]`); !strings.Contains(w, "admin@example.com chose the first password of eve@example.com") {
		t.Errorf("the second admin is not warned that the proposer chose the first password: %q", w)
	}
}

// TestGrantingTheResponderRoleWarnsLikeApprover: a responder may break
// glass alone, so proposing the role for an account whose first password
// the proposer chose warns the second admin as approver does, and one
// that still has its temporary password is said to be refused until its
// owner chooses their own.
func TestGrantingTheResponderRoleWarnsLikeApprover(t *testing.T) {
	e := newEnv(t)
	e.addUser("admin2@example.com", auth.RoleAdmin)
	a, b := e.signedIn("admin@example.com"), e.signedIn("admin2@example.com")
	if r := a.post("/admin/users", url.Values{"email": {"rita@example.com"}, "display_name": {"Rita"},
		"password": {initialPassword}}); r.status != http.StatusSeeOther {
		t.Fatalf("create: %d", r.status)
	}
	rita, _ := e.store.UserByEmail(context.Background(), "rita@example.com")
	if r := a.post(fmt.Sprintf("/admin/users/%d/roles", rita.ID), url.Values{"roles": {"responder"}}); r.status != http.StatusSeeOther {
		t.Fatalf("propose: %d", r.status)
	}
	w := b.get("/admin/users").text(`[data-testid=change-warning]`)
	if !strings.Contains(w, "admin@example.com chose the first password of rita@example.com") {
		t.Errorf("the second admin is not warned that the proposer chose the first password: %q", w)
	}
	if !strings.Contains(w, "rita@example.com still has a temporary password an admin set: approving is refused") {
		t.Errorf("the second admin is not told the grant is refused while the password is temporary: %q", w)
	}
}

// TestAPolicyProposalNeitherRepeatsThePolicyNorSilentlyReplacesOne: a
// proposal of the policy in effect is refused; while a change waits, the
// form starts from it, and a new proposal says it replaces it, which is
// audited as withdrawn.
func TestAPolicyProposalNeitherRepeatsThePolicyNorSilentlyReplacesOne(t *testing.T) {
	e := newEnv(t)
	admin := e.signedIn("admin@example.com")
	cur, _ := e.store.CurrentPolicy(context.Background())
	form := url.Values{"pending_ttl": {cur.PendingTTL.String()}, "approval_ttl": {cur.ApprovalTTL.String()}}
	for _, op := range portal.Operations {
		form.Set("approvals_"+string(op), fmt.Sprint(cur.Approvals[op]))
	}
	if r := admin.post("/admin/policy", form); r.status != http.StatusUnprocessableEntity || r.text(`[data-testid=error-policy]`) == "" {
		t.Errorf("a proposal of the policy in effect: %d", r.status)
	}
	form.Set("approvals_failover", "1")
	if r := admin.post("/admin/policy", form); r.status != http.StatusSeeOther {
		t.Fatalf("propose: %d", r.status)
	}
	page := admin.get("/admin/policy")
	if v, _ := page.doc.Find(`[data-testid=approvals-failover]`).Attr("value"); v != "1" ||
		!strings.Contains(page.text(`[data-testid=save-policy]`), "instead of change #") {
		t.Errorf("the form does not start from the waiting change: failover %q, button %q", v, page.text(`[data-testid=save-policy]`))
	}
	form.Set("approvals_delete", "1")
	if r := admin.post("/admin/policy", form); r.status != http.StatusSeeOther {
		t.Fatalf("propose again: %d", r.status)
	}
	if n := admin.get("/admin/policy").text(`[data-testid=flash]`); !strings.Contains(n, "replaces change #") {
		t.Errorf("the note does not say the waiting change was replaced: %q", n)
	}
	if w := e.events("change.withdrawn"); len(w) != 1 || !strings.Contains(string(w[0].Detail), "replaced by change #") {
		t.Errorf("the replaced change is not audited as withdrawn: %+v", w)
	}
}
