package handlers_test

import (
	"cmp"
	"context"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"drportal/internal/auth"
	"drportal/internal/db"
	"drportal/internal/dwssim"
	"drportal/internal/handlers"
	"drportal/internal/portal"
	"drportal/static"
)

// roles are the kinds of user the permission matrix tries every route as.
// "requester" owns the request the request routes act on; "other" is a
// second requester; "deactivated" holds every role but was deactivated
// while signed in; "none" is signed in without any role.
var roles = []string{"anonymous", "deactivated", "none", "requester", "other", "approver", "auditor", "admin"}

var roleEmails = map[string]string{
	"deactivated": "gone@example.com",
	"none":        "norole@example.com",
	"requester":   "req@example.com",
	"other":       "req2@example.com",
	"approver":    "appr@example.com",
	"auditor":     "audit@example.com",
	"admin":       "admin@example.com",
}

// statuses lists the expected status for each role, in the order of roles.
func statuses(anonymous, deactivated, none, requester, other, approver, auditor, admin int) map[string]int {
	return map[string]int{"anonymous": anonymous, "deactivated": deactivated, "none": none, "requester": requester,
		"other": other, "approver": approver, "auditor": auditor, "admin": admin}
}

// route is a route as Echo knows it.
type route struct{ method, path string }

func (r route) String() string { return r.method + " " + r.path }

// probe is one way of calling a route and the status each role gets.
type probe struct {
	what   string         // "" for the route's main probe; else the variant (own request, unknown id)
	method string         // the HTTP method, when the route's is not one (Echo's catch-alls)
	want   map[string]int // role -> status; the main probe lists every role
	hx     bool           // an htmx request (the route answers htmx with a fragment)
	// fresh: each role calls with a new session of its own, because the
	// call ends the session (sign-out).
	fresh bool
	// endsAll: the call ends every session of the user, so each role's
	// browser is given a new one afterwards (sign out everywhere).
	endsAll bool
	// refusalAudited: a refusal is itself audited and counted (a failed
	// sign-in), so only the audit log and the sign-in throttles may change
	// when it is refused.
	refusalAudited bool
	// showsOnly: a POST that only shows a form again (so that what was
	// typed stays out of the address), and must change nothing even when
	// permitted.
	showsOnly bool
	// exported: a GET that hands out a copy of the audit history, which is
	// itself on record (audit.export); it is no page view.
	exported bool
	// call returns the path (with query) to call and, for a POST, the form
	// (without the CSRF token). permitted says whether the role is expected
	// to get through, so a decision can be one that does no harm.
	call func(who string, permitted bool) (path string, form url.Values)
}

// TestPermissionMatrix calls every route the router knows as every kind of
// user, through the real router with a signed-in cookie jar and a real CSRF
// token, and checks the status. A refused POST must change nothing (the
// domain tables, the audit log apart from the refusal's own access.denied
// record, the cloud); a permitted one must change something. A page view
// (GET) changes nothing either: it reads only the database, so a person's
// GET leaves no audit event (not even a cloud call's). A route without an entry here fails
// the test, so a new route cannot be added without deciding who may call it.
func TestPermissionMatrix(t *testing.T) {
	fx := newMatrixFixture(t)
	const (
		redirect = http.StatusSeeOther
		ok       = http.StatusOK
		noBody   = http.StatusNoContent
		signIn   = http.StatusUnauthorized
		refused  = http.StatusForbidden
		missing  = http.StatusNotFound
		invalid  = http.StatusUnprocessableEntity
		conflict = http.StatusConflict
	)
	get := func(path string) func(string, bool) (string, url.Values) {
		return func(string, bool) (string, url.Values) { return path, nil }
	}
	post := func(path string, form url.Values) func(string, bool) (string, url.Values) {
		return func(string, bool) (string, url.Values) { return path, maps.Clone(form) }
	}
	task := "/dr-tasks/" + fx.taskID
	const unknownTask = "/dr-tasks/e59d6b86-9072-46eb-a996-13f8b44994c1"
	request := func(path string) func(string, bool) (string, url.Values) {
		return func(string, bool) (string, url.Values) {
			return fmt.Sprintf("/requests/%d%s", fx.pending("requester"), path), nil
		}
	}

	matrix := map[route][]probe{
		// statuses(anonymous, deactivated, none, requester, other, approver, auditor, admin)
		{echo.GET, "/healthz"}: {{want: statuses(ok, ok, ok, ok, ok, ok, ok, ok), call: get("/healthz")}},
		{echo.GET, static.Prefix + "*"}: {{want: statuses(ok, ok, ok, ok, ok, ok, ok, ok),
			call: get(static.Load().URL("app.css"))}},
		// The session group's catch-alls: unknown pages, and other methods
		// on "/".
		{echo.RouteNotFound, "/*"}: {
			{method: echo.GET, want: statuses(missing, missing, missing, missing, missing, missing, missing, missing),
				call: get("/no/such/page")},
			{what: "a form posted to it", method: echo.POST, want: statuses(missing, missing, missing, missing, missing, missing, missing, missing),
				call: post("/no/such/page", url.Values{})},
		},
		{echo.RouteNotFound, "/"}: {{method: echo.POST, want: statuses(missing, missing, missing, missing, missing, missing, missing, missing),
			call: post("/", url.Values{})}},

		{echo.GET, "/signin"}: {{want: statuses(ok, ok, redirect, redirect, redirect, redirect, redirect, redirect),
			call: get("/signin")}},
		// Everyone signs in with their own e-mail; the anonymous visitor
		// with one that has no account.
		{echo.POST, "/signin"}: {{want: statuses(invalid, refused, redirect, redirect, redirect, redirect, redirect, redirect),
			refusalAudited: true,
			call: func(who string, _ bool) (string, url.Values) {
				email := cmp.Or(roleEmails[who], "nobody@example.com")
				return "/signin", url.Values{"email": {email}, "password": {fx.password(who)}}
			}}},
		{echo.POST, "/signout"}: {{want: statuses(signIn, signIn, redirect, redirect, redirect, redirect, redirect, redirect),
			fresh: true, call: post("/signout", url.Values{})}},
		{echo.GET, "/"}: {{want: statuses(redirect, redirect, redirect, redirect, redirect, redirect, redirect, redirect),
			call: get("/")}},

		// One's own profile: anyone signed in, whatever their roles.
		{echo.GET, "/profile"}: {{want: statuses(redirect, redirect, ok, ok, ok, ok, ok, ok), call: get("/profile")}},
		{echo.GET, "/profile/password"}: {{want: statuses(redirect, redirect, ok, ok, ok, ok, ok, ok),
			call: get("/profile/password")}},
		{echo.POST, "/profile/password"}: {{want: statuses(signIn, signIn, redirect, redirect, redirect, redirect, redirect, redirect),
			call: func(who string, permitted bool) (string, url.Values) {
				return "/profile/password", fx.passwordForm(who, permitted)
			}}},
		{echo.POST, "/profile/sessions/:id/end"}: {
			{want: statuses(signIn, signIn, redirect, redirect, redirect, redirect, redirect, redirect),
				call: func(who string, _ bool) (string, url.Values) {
					return fmt.Sprintf("/profile/sessions/%d/end", fx.otherSession(cmp.Or(map[string]string{"anonymous": "requester"}[who], who))), url.Values{}
				}},
			{what: "someone else's session", want: map[string]int{"none": missing, "requester": missing, "other": missing,
				"approver": missing, "auditor": missing, "admin": missing},
				call: func(string, bool) (string, url.Values) {
					return fmt.Sprintf("/profile/sessions/%d/end", fx.otherSession("target")), url.Values{}
				}},
		},
		{echo.POST, "/profile/signout-everywhere"}: {{want: statuses(signIn, signIn, redirect, redirect, redirect, redirect, redirect, redirect),
			fresh: true, endsAll: true, call: post("/profile/signout-everywhere", url.Values{})}},

		{echo.GET, "/dr-tasks"}: {{want: statuses(redirect, redirect, refused, ok, ok, ok, ok, ok), call: get("/dr-tasks")}},
		{echo.GET, "/dr-tasks/new"}: {{want: statuses(redirect, redirect, refused, ok, ok, refused, refused, ok),
			call: get("/dr-tasks/new")}},
		// The form shown again for another primary, without JavaScript.
		{echo.POST, "/dr-tasks/new"}: {{want: statuses(signIn, signIn, refused, ok, ok, refused, refused, ok), showsOnly: true,
			call: post("/dr-tasks/new", url.Values{"primary_cluster_id": {fx.primary}, "justification": {"why it is needed"}})}},
		// Any requester may have the clusters read now; the rate limit
		// (one read every 15 s, whoever asks) is lifted between the calls.
		{echo.POST, "/dr-tasks/new/read"}: {{want: statuses(signIn, signIn, refused, ok, ok, refused, refused, ok),
			call: func(string, bool) (string, url.Values) {
				fx.liftReadNowLimit()
				return "/dr-tasks/new/read", url.Values{"primary_cluster_id": {fx.primary}}
			}}},
		{echo.GET, "/dr-tasks/new/standbys"}: {{want: statuses(signIn, signIn, refused, ok, ok, refused, refused, ok), hx: true,
			call: get("/dr-tasks/new/standbys?primary_cluster_id=" + url.QueryEscape(fx.primary))}},
		{echo.GET, "/dr-tasks/new/check"}: {{want: statuses(signIn, signIn, refused, ok, ok, refused, refused, ok), hx: true,
			call: get("/dr-tasks/new/check?name=abcd")}},
		{echo.POST, "/dr-tasks"}: {{want: statuses(signIn, signIn, refused, redirect, redirect, refused, refused, redirect),
			call: func(string, bool) (string, url.Values) { return "/dr-tasks", fx.createForm() }}},
		{echo.GET, "/dr-tasks/:id"}: {
			{want: statuses(redirect, redirect, refused, ok, ok, ok, ok, ok), call: get(task)},
			{what: "unknown task", want: statuses(redirect, redirect, refused, missing, missing, missing, missing, missing),
				call: get(unknownTask)},
		},
		{echo.GET, "/dr-tasks/:id/status"}: {{want: statuses(signIn, signIn, refused, ok, ok, ok, ok, ok), hx: true,
			call: get(task + "/status")}},
		{echo.GET, "/dr-tasks/:id/timeline"}: {{want: statuses(signIn, signIn, refused, ok, ok, ok, ok, ok), hx: true,
			call: get(task + "/timeline")}},
		{echo.GET, "/dr-tasks/:id/drills"}: {
			{want: statuses(redirect, redirect, refused, ok, ok, ok, ok, ok), call: get(task + "/drills")},
			{what: "unknown task", want: statuses(redirect, redirect, refused, missing, missing, missing, missing, missing),
				call: get(unknownTask + "/drills")},
		},
		// Handing out a copy of the drills' evidence is itself on record.
		{echo.GET, "/dr-tasks/:id/drills/export"}: {{want: statuses(redirect, redirect, refused, refused, refused, refused, ok, ok),
			exported: true, call: get(task + "/drills/export?format=csv")}},
		{echo.GET, "/dr-tasks/:id/operations/:op"}: {{want: statuses(redirect, redirect, refused, ok, ok, refused, refused, ok),
			call: get(task + "/operations/update")}},
		{echo.POST, "/dr-tasks/:id/operations/:op"}: {{want: statuses(signIn, signIn, refused, redirect, redirect, refused, refused, redirect),
			call: func(_ string, permitted bool) (string, url.Values) {
				// A second pending update of the task would be refused as a
				// duplicate: the one the previous role filed is withdrawn.
				if permitted {
					fx.withdrawPending("update")
				}
				return task + "/operations/update", url.Values{"dr_sync_period": {"10m"}, "justification": {"fewer sync cycles"}}
			}}},

		{echo.GET, "/requests"}: {{want: statuses(redirect, redirect, refused, ok, ok, ok, ok, ok), call: get("/requests")}},
		// Only approvers have a count; the others get an empty answer.
		{echo.GET, "/requests/count"}: {{want: statuses(signIn, signIn, refused, noBody, noBody, ok, noBody, ok), hx: true,
			call: get("/requests/count")}},
		{echo.GET, "/requests/:id"}: {
			{want: statuses(redirect, redirect, refused, ok, ok, ok, ok, ok), call: request("")},
			{what: "unknown request", want: statuses(redirect, redirect, refused, missing, missing, missing, missing, missing),
				call: get("/requests/999999")},
		},
		{echo.GET, "/requests/:id/card"}: {{want: statuses(signIn, signIn, refused, ok, ok, ok, ok, ok), hx: true,
			call: request("/card")}},
		{echo.GET, "/requests/:id/timeline"}: {{want: statuses(signIn, signIn, refused, ok, ok, ok, ok, ok), hx: true,
			call: request("/timeline")}},
		// Those expected to be refused try to approve; those expected to get
		// through reject, so nothing runs in the cloud meanwhile.
		{echo.POST, "/requests/:id/decide"}: {
			{want: statuses(signIn, signIn, refused, refused, refused, redirect, refused, redirect),
				call: func(_ string, permitted bool) (string, url.Values) {
					return fx.decision(fx.pending("requester"), permitted)
				}},
			// An admin holds every role and still cannot decide their own request.
			{what: "own request", want: map[string]int{"requester": refused, "other": refused, "admin": refused},
				call: func(who string, permitted bool) (string, url.Values) { return fx.decision(fx.pending(who), permitted) }},
		},
		{echo.POST, "/requests/:id/check"}: {{want: statuses(signIn, signIn, refused, redirect, redirect, redirect, refused, redirect),
			call: func(string, bool) (string, url.Values) {
				fx.e.later.Advance(time.Minute) // past the per-request check interval
				return fmt.Sprintf("/requests/%d/check", fx.pending("requester")), url.Values{}
			}}},
		{echo.POST, "/requests/:id/cancel"}: {
			{want: statuses(signIn, signIn, refused, redirect, refused, refused, refused, refused),
				call: func(string, bool) (string, url.Values) {
					return fmt.Sprintf("/requests/%d/cancel", fx.pending("requester")), url.Values{}
				}},
			{what: "own request", want: map[string]int{"requester": redirect, "other": redirect, "admin": redirect},
				call: func(who string, _ bool) (string, url.Values) {
					return fmt.Sprintf("/requests/%d/cancel", fx.pending(who)), url.Values{}
				}},
			// The refusal is itself on record (request.cancel_refused).
			{what: "rejected request", want: map[string]int{"requester": conflict}, refusalAudited: true,
				call: func(string, bool) (string, url.Values) {
					return fmt.Sprintf("/requests/%d/cancel", fx.rejected("requester")), url.Values{}
				}},
			// Approved and not started: its requester, or an admin saying why.
			{what: "approved request, not started", want: statuses(signIn, signIn, refused, redirect, refused, refused, refused, redirect),
				call: func(string, bool) (string, url.Values) {
					return fmt.Sprintf("/requests/%d/cancel", fx.approvedNotStarted("requester")), url.Values{"reason": {"the change board withdrew it"}}
				}},
		},

		{echo.GET, "/admin/users"}: {{want: statuses(redirect, redirect, refused, refused, refused, refused, refused, ok),
			call: get("/admin/users")}},
		{echo.POST, "/admin/users"}: {{want: statuses(signIn, signIn, refused, refused, refused, refused, refused, redirect),
			call: func(string, bool) (string, url.Values) { return "/admin/users", fx.newUserForm() }}},
		{echo.POST, "/admin/users/:id/roles"}: {{want: statuses(signIn, signIn, refused, refused, refused, refused, refused, redirect),
			call: post(fmt.Sprintf("/admin/users/%d/roles", fx.target.ID), url.Values{"roles": {string(auth.RoleAuditor)}})}},
		{echo.GET, "/admin/users/:id/deactivate"}: {{want: statuses(redirect, redirect, refused, refused, refused, refused, refused, ok),
			call: get(fmt.Sprintf("/admin/users/%d/deactivate", fx.target.ID))}},
		{echo.POST, "/admin/users/:id/active"}: {{want: statuses(signIn, signIn, refused, refused, refused, refused, refused, redirect),
			call: post(fmt.Sprintf("/admin/users/%d/active", fx.target.ID), url.Values{"active": {"false"}, "confirm": {"yes"}})}},
		{echo.GET, "/admin/users/:id/reset-password"}: {{want: statuses(redirect, redirect, refused, refused, refused, refused, refused, ok),
			call: get(fmt.Sprintf("/admin/users/%d/reset-password", fx.target.ID))}},
		// The temporary password is shown in the answer itself.
		{echo.POST, "/admin/users/:id/password"}: {{want: statuses(signIn, signIn, refused, refused, refused, refused, refused, ok),
			call: func(string, bool) (string, url.Values) {
				u, err := fx.e.store.UserByID(context.Background(), fx.target.ID)
				if err != nil {
					t.Fatal(err)
				}
				return fmt.Sprintf("/admin/users/%d/password", fx.target.ID),
					url.Values{"confirm": {"yes"}, "stamp": {auth.PasswordStamp(u)}}
			}}},
		{echo.GET, "/admin/sign-ins"}: {{want: statuses(redirect, redirect, refused, refused, refused, refused, refused, ok),
			call: get("/admin/sign-ins")}},
		{echo.POST, "/admin/sign-ins/clear"}: {{want: statuses(signIn, signIn, refused, refused, refused, refused, refused, redirect),
			call: func(string, bool) (string, url.Values) {
				fx.throttle("target@example.com", "198.51.100.9")
				return "/admin/sign-ins/clear", url.Values{"account": {"target@example.com"}, "address": {"198.51.100.9"}}
			}}},
		{echo.GET, "/admin/policy"}: {{want: statuses(redirect, redirect, refused, refused, refused, refused, refused, ok),
			call: get("/admin/policy")}},
		{echo.POST, "/admin/policy"}: {{want: statuses(signIn, signIn, refused, refused, refused, refused, refused, redirect),
			call: func(string, bool) (string, url.Values) { return "/admin/policy", fx.policyForm() }}},
		{echo.GET, "/admin/windows"}: {{want: statuses(redirect, redirect, refused, refused, refused, refused, refused, ok),
			call: get("/admin/windows")}},
		{echo.POST, "/admin/windows"}: {{want: statuses(signIn, signIn, refused, refused, refused, refused, refused, redirect),
			call: func(string, bool) (string, url.Values) { return "/admin/windows", fx.windowForm() }}},
		{echo.POST, "/admin/windows/rule"}: {{want: statuses(signIn, signIn, refused, refused, refused, refused, refused, redirect),
			call: post("/admin/windows/rule", url.Values{"operation": {"recovery"}, "rule": {"extra_approval"}})}},
		// The sessions here entered their password just now: the admin is
		// told the page asks for nothing and nothing changes (confirming an
		// older one: TestTheWindowsPageAsksForThePasswordOnce).
		{echo.POST, "/admin/windows/step-up"}: {{want: statuses(signIn, signIn, refused, refused, refused, refused, refused, redirect), showsOnly: true,
			call: post("/admin/windows/step-up", url.Values{"step_up_password": {password}})}},
		{echo.POST, "/admin/windows/:id/remove"}: {{want: statuses(signIn, signIn, refused, refused, refused, refused, refused, redirect),
			call: func(string, bool) (string, url.Values) {
				return fmt.Sprintf("/admin/windows/%d/remove", fx.window()), url.Values{}
			}}},
		{echo.POST, "/admin/freezes"}: {{want: statuses(signIn, signIn, refused, refused, refused, refused, refused, redirect),
			call: func(string, bool) (string, url.Values) { return "/admin/freezes", fx.freezeForm() }}},
		{echo.POST, "/admin/freezes/:id/lift"}: {{want: statuses(signIn, signIn, refused, refused, refused, refused, refused, redirect),
			call: func(string, bool) (string, url.Values) {
				return fmt.Sprintf("/admin/freezes/%d/lift", fx.freeze()), url.Values{}
			}}},
		{echo.POST, "/admin/changes/:id/approve"}: {{want: statuses(signIn, signIn, refused, refused, refused, refused, refused, redirect),
			call: func(string, bool) (string, url.Values) {
				return fmt.Sprintf("/admin/changes/%d/approve", fx.change()), url.Values{}
			}}},
		{echo.POST, "/admin/changes/:id/reject"}: {{want: statuses(signIn, signIn, refused, refused, refused, refused, refused, redirect),
			call: func(string, bool) (string, url.Values) {
				return fmt.Sprintf("/admin/changes/%d/reject", fx.change()), url.Values{"comment": {"not now"}}
			}}},

		// Break-glass: responders only (the admin holds every role). It
		// starts off, so the admin's attempt is refused, and audited.
		{echo.GET, "/dr-tasks/:id/break-glass/:op"}: {{want: statuses(redirect, redirect, refused, refused, refused, refused, refused, ok),
			call: get(task + "/break-glass/start")}},
		{echo.POST, "/dr-tasks/:id/break-glass/:op"}: {{want: statuses(signIn, signIn, refused, refused, refused, refused, refused, conflict),
			refusalAudited: true, call: post(task+"/break-glass/start", url.Values{"incident": {"INC-1"}, "justification": {"the site is down"},
				"confirm": {"x"}, "password": {password}})}},
		// Only an emergency request is reviewed: the request of this probe is none.
		// A review of a request that is no emergency is on record (break_glass.review_refused).
		{echo.POST, "/requests/:id/review"}: {{want: statuses(signIn, signIn, refused, refused, refused, missing, refused, missing),
			refusalAudited: true, call: func(string, bool) (string, url.Values) {
				return fmt.Sprintf("/requests/%d/review", fx.pending("requester")), url.Values{"verdict": {"acknowledge"}, "comment": {"the site was down"}}
			}}},
		{echo.GET, "/admin/break-glass"}: {{want: statuses(redirect, redirect, refused, refused, refused, refused, refused, ok),
			call: get("/admin/break-glass")}},
		{echo.POST, "/admin/break-glass"}: {{want: statuses(signIn, signIn, refused, refused, refused, refused, refused, redirect),
			call: func(string, bool) (string, url.Values) {
				// Off, with another review period: stricter, so at once.
				return "/admin/break-glass", url.Values{"operations": {"failover"}, "review_days": {strconv.Itoa(fx.next()%portal.MaxReviewDays + 1)}}
			}}},
		// Only an emergency's flag is cleared: the request of this probe is
		// none, and the refusal is on record (break_glass.clear_refused).
		{echo.POST, "/admin/break-glass/:id/clear"}: {{want: statuses(signIn, signIn, refused, refused, refused, refused, refused, missing),
			refusalAudited: true, call: func(string, bool) (string, url.Values) {
				return fmt.Sprintf("/admin/break-glass/%d/clear", fx.pending("requester")), url.Values{"comment": {"settled with the team"}}
			}}},

		{echo.GET, "/audit"}: {{want: statuses(redirect, redirect, refused, ok, ok, ok, ok, ok), call: get("/audit")}},
		{echo.GET, "/audit/export"}: {{want: statuses(redirect, redirect, refused, ok, ok, ok, ok, ok),
			exported: true, call: get("/audit/export?format=ndjson")}},
		{echo.POST, "/audit/verify"}: {{want: statuses(signIn, signIn, refused, refused, refused, refused, ok, ok),
			call: post("/audit/verify", url.Values{})}},
		// Nothing is old enough: the admin gets through and is told so.
		{echo.POST, "/audit/archive"}: {{want: statuses(signIn, signIn, refused, refused, refused, refused, refused, invalid),
			call: post("/audit/archive", url.Values{"older_than_days": {"30"}})}},
	}

	known := map[route]bool{}
	for _, r := range fx.e.router.Routes() {
		known[route{r.Method, r.Path}] = true
	}
	for r := range matrix {
		if !known[r] {
			t.Errorf("the permission matrix has an entry for %s, which the router does not have", r)
		}
	}
	routes := slices.SortedFunc(maps.Keys(known), func(a, b route) int { return strings.Compare(a.path+a.method, b.path+b.method) })
	cases := 0
	for _, r := range routes {
		probes, listed := matrix[r]
		if !listed {
			t.Errorf("route %s has no entry in the permission matrix: add one saying what each role gets", r)
			continue
		}
		for _, p := range probes {
			for _, who := range roles {
				want, listed := p.want[who]
				if !listed {
					if p.what == "" {
						t.Errorf("%s: no expected status for %s", r, who)
					}
					continue
				}
				fx.check(r, p, who, want)
				cases++
			}
		}
	}
	t.Logf("%d routes, %d route×role cases", len(routes), cases)

	// Only the task the fixture created ever reached the cloud as a change.
	if n := fx.e.sim.Calls("create"); n != 1 {
		t.Errorf("%d creates reached the cloud, want only the fixture's", n)
	}
}

// matrixFixture is the world the matrix runs in: a DR task, a browser per
// role, and requests made as they are used up.
type matrixFixture struct {
	t        *testing.T
	e        *env
	browsers map[string]*browser
	users    map[string]portal.User
	target   portal.User // the user the admin routes change
	admin2   portal.User // a second admin, who proposes changes
	taskID   string
	primary  string
	standby  string
	n        int              // numbers the names of things the probes create
	open     map[string]int64 // a pending request of each requester, while it lasts
	refused  map[string]int64 // a rejected request of each requester
	// passwords holds the password of each role that changed theirs.
	passwords map[string]string
}

func newMatrixFixture(t *testing.T) *matrixFixture {
	e := newEnv(t)
	fx := &matrixFixture{t: t, e: e, browsers: map[string]*browser{}, users: map[string]portal.User{},
		open: map[string]int64{}, refused: map[string]int64{}, passwords: map[string]string{}}
	e.addUser("appr@example.com", auth.RoleApprover)
	e.addUser("req2@example.com", auth.RoleRequester)
	e.addUser("norole@example.com")
	e.addUser("gone@example.com", auth.AllRoles...)
	fx.target = e.addUser("target@example.com", auth.RoleRequester)
	// A second admin proposes the changes the admin routes decide on.
	fx.admin2 = e.addUser("admin2@example.com", auth.RoleAdmin)
	for who, email := range roleEmails {
		u, err := e.store.UserByEmail(context.Background(), email)
		if err != nil {
			t.Fatal(err)
		}
		fx.users[who] = u
	}
	fx.users["target"] = fx.target
	fx.taskID = e.createTask("dr_matrix")
	fx.browsers["anonymous"] = e.browser()
	for who, email := range roleEmails {
		if who != "deactivated" {
			fx.browsers[who] = e.signedIn(email)
		}
	}
	// The deactivated user was signed in when an admin switched them off
	// behind the portal's back: the session row is still there, and each
	// probe plants a new one.
	if _, err := e.store.Pool().Exec(context.Background(), `UPDATE users SET active = false WHERE email = $1`,
		roleEmails["deactivated"]); err != nil {
		t.Fatal(err)
	}
	fx.browsers["deactivated"] = e.browser()
	// A planted session is as good as a signed-in one while its user is
	// active, so the deactivated user's refusals are about deactivation.
	control := e.browser()
	fx.plantSession(control, "requester")
	if res := control.get("/dr-tasks"); res.status != http.StatusOK {
		t.Fatalf("a planted session of an active user: %d", res.status)
	}
	fx.primary, fx.standby = fx.browsers["requester"].formPairExcluding(e.busyClusters()...)
	return fx
}

// plantSession gives b a new session of the user's, as if they had signed
// in with it.
func (fx *matrixFixture) plantSession(b *browser, who string) {
	fx.t.Helper()
	token, hash := auth.NewToken()
	now := time.Now()
	err := fx.e.store.InTx(context.Background(), func(tx *db.Tx) error {
		return tx.CreateSession(context.Background(), hash, fx.users[who].ID, now, now.Add(time.Hour), "", "matrix")
	})
	if err != nil {
		fx.t.Fatal(err)
	}
	b.c.Jar.SetCookies(mustURL(fx.e.srv.URL), []*http.Cookie{{Name: handlers.SessionCookie, Value: token, Path: "/"}})
}

// otherSession plants a new session of who's and returns its public id.
func (fx *matrixFixture) otherSession(who string) int64 {
	fx.t.Helper()
	b := fx.e.browser()
	fx.plantSession(b, who)
	var id int64
	token := ""
	for _, c := range b.c.Jar.Cookies(mustURL(fx.e.srv.URL)) {
		if c.Name == handlers.SessionCookie {
			token = c.Value
		}
	}
	if err := fx.e.store.Pool().QueryRow(context.Background(), `SELECT id FROM sessions WHERE token_hash = $1`,
		auth.HashToken(token)).Scan(&id); err != nil {
		fx.t.Fatal(err)
	}
	return id
}

// password is who's password now.
// withdrawPending ends the task's pending requests for op, as if their
// requesters had cancelled them.
func (fx *matrixFixture) withdrawPending(op portal.Operation) {
	fx.t.Helper()
	if _, err := fx.e.store.Pool().Exec(context.Background(), `UPDATE requests SET status = 'cancelled', finished_at = now()
		WHERE dr_task_id = $1 AND operation = $2 AND status = 'pending'`, fx.taskID, string(op)); err != nil {
		fx.t.Fatal(err)
	}
}

func (fx *matrixFixture) password(who string) string {
	return cmp.Or(fx.passwords[who], password)
}

// passwordForm changes who's password to a new one, remembered when the
// change is expected to go through.
func (fx *matrixFixture) passwordForm(who string, permitted bool) url.Values {
	next := fmt.Sprintf("changed password %02d", fx.next())
	form := url.Values{"current_password": {fx.password(who)}, "new_password": {next}, "repeat_password": {next}}
	if permitted {
		fx.passwords[who] = next
	}
	return form
}

// check calls route r as who the way probe p says and checks the status
// and what changed.
func (fx *matrixFixture) check(r route, p probe, who string, want int) {
	t := fx.t
	t.Helper()
	name := r.String()
	if p.what != "" {
		name += " (" + p.what + ")"
	}
	path, form := p.call(who, want < 400)
	b := fx.browsers[who]
	if p.fresh {
		b = fx.e.browser()
		if who != "anonymous" {
			fx.plantSession(b, who)
		}
	}
	var tok string
	if form != nil {
		page := "/audit" // even a refusal page carries the sign-out form's token
		if who == "anonymous" || who == "deactivated" {
			page = "/signin"
		}
		tok = b.csrf(page)
	}
	if who == "deactivated" {
		fx.plantSession(b, who)
	}
	before := fx.fingerprint()
	method := cmp.Or(p.method, r.method)
	var req *http.Request
	if form == nil {
		req, _ = http.NewRequest(method, fx.e.srv.URL+path, nil)
	} else {
		form.Set("_csrf", tok)
		req, _ = http.NewRequest(method, fx.e.srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if p.hx {
		req.Header.Set("HX-Request", "true")
	}
	res := b.do(req)
	if p.endsAll && who != "anonymous" && who != "deactivated" {
		fx.plantSession(fx.browsers[who], who)
	}
	if res.status != want {
		t.Errorf("%s as %s (%s %s): %d, want %d: %.200s", name, who, method, path, res.status, want, res.text("main"))
		return
	}
	after := fx.fingerprint()
	if form == nil {
		for part := range before {
			if part == "audit" && (p.refusalAudited || p.exported) {
				continue
			}
			if before[part] != after[part] {
				t.Errorf("%s as %s is a page view but changed %s", name, who, part)
			}
		}
		return
	}
	if res.status >= 400 || p.showsOnly {
		for part := range before {
			if (part == "audit" || part == "sign_in_throttles") && p.refusalAudited {
				continue
			}
			if before[part] != after[part] {
				t.Errorf("%s as %s answered %d but changed %s", name, who, res.status, part)
			}
		}
	} else if maps.Equal(before, after) {
		t.Errorf("%s as %s answered %d but changed nothing", name, who, res.status)
	}
}

// fingerprint sums up everything a request could change: the domain
// tables, the audit events people caused (their cloud calls included; not
// the background work's, and not the record of a refusal itself,
// access.denied), and the changes sent to the cloud. Sessions and the
// copies of the tasks and clusters are left out: the background syncs and
// session expiry change them by themselves.
func (fx *matrixFixture) fingerprint() map[string]string {
	fx.t.Helper()
	parts := map[string]string{}
	rows, err := fx.e.store.Pool().Query(context.Background(), `
		SELECT 'users', md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM users t
		UNION ALL SELECT 'user_roles', md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM user_roles t
		UNION ALL SELECT 'requests', md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM requests t
		UNION ALL SELECT 'approvals', md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM approvals t
		UNION ALL SELECT 'admin_changes', md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM admin_changes t
		UNION ALL SELECT 'approval_policies', md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM approval_policies t
		UNION ALL SELECT 'sign_in_throttles', md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM sign_in_throttles t
		UNION ALL SELECT 'break_glass', md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM break_glass t
		UNION ALL SELECT 'break_glass_policies', md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM break_glass_policies t
		UNION ALL SELECT 'break_glass_reviews', md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM break_glass_reviews t
		UNION ALL SELECT 'audit_checkpoints', md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM audit_checkpoints t
		UNION ALL SELECT 'audit', md5(coalesce(string_agg(t.id::text, ',' ORDER BY t.id), '')) FROM audit_events t
			WHERE t.actor_name <> 'system' AND t.action NOT LIKE 'access.denied%' AND t.action <> 'access.refused.repeated'`)
	if err != nil {
		fx.t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var part, sum string
		if err := rows.Scan(&part, &sum); err != nil {
			fx.t.Fatal(err)
		}
		parts[part] = sum
	}
	if err := rows.Err(); err != nil {
		fx.t.Fatal(err)
	}
	for _, route := range []string{dwssim.RouteCreate, dwssim.RouteUpdate, dwssim.RouteStart, dwssim.RoutePause,
		dwssim.RouteSwitchover, dwssim.RouteFailover, dwssim.RouteRecovery, dwssim.RouteDelete} {
		parts["cloud "+route] = strconv.Itoa(fx.e.sim.Calls(route))
	}
	return parts
}

// throttle makes sure an account has a sign-in throttle from an address.
func (fx *matrixFixture) throttle(account, address string) {
	fx.t.Helper()
	now := time.Now()
	if _, err := fx.e.store.Pool().Exec(context.Background(), `INSERT INTO sign_in_throttles
		(account, address, failures, last_failure_at, next_allowed_at) VALUES ($1, $2, 7, $3, $4)
		ON CONFLICT DO NOTHING`, account, address, now, now.Add(4*time.Second)); err != nil {
		fx.t.Fatal(err)
	}
}

// liftReadNowLimit forgets the last "Read the clusters from the cloud
// now", as if its 15 s had passed.
func (fx *matrixFixture) liftReadNowLimit() {
	fx.t.Helper()
	if _, err := fx.e.store.Pool().Exec(context.Background(),
		`UPDATE cloud_syncs SET requested_at = NULL WHERE name = 'cluster_list'`); err != nil {
		fx.t.Fatal(err)
	}
}

func (fx *matrixFixture) next() int {
	fx.n++
	return fx.n
}

func (fx *matrixFixture) createForm() url.Values {
	f := validForm(fx.primary, fx.standby)
	f.Set("name", fmt.Sprintf("dr_matrix%02d", fx.next()))
	return f
}

// pending returns a pending request filed by who, filing a new one when
// the last was decided or cancelled.
func (fx *matrixFixture) pending(who string) int64 {
	fx.t.Helper()
	if id, ok := fx.open[who]; ok {
		r, err := fx.e.store.Request(context.Background(), id)
		if err != nil {
			fx.t.Fatal(err)
		}
		if r.Status == portal.StatusPending {
			return id
		}
	}
	id := fx.e.fileCreate(fx.browsers[who], fx.createForm())
	fx.open[who] = id
	return id
}

// approvedNotStarted returns a new request filed by who and approved, with
// no execution queued: it waits, as for its change window.
func (fx *matrixFixture) approvedNotStarted(who string) int64 {
	fx.t.Helper()
	id := fx.e.fileCreate(fx.browsers[who], fx.createForm())
	if _, err := fx.e.store.Pool().Exec(context.Background(), `UPDATE requests SET status = 'approved', approved_at = now(),
		approval_expires_at = now() + interval '1 day' WHERE id = $1`, id); err != nil {
		fx.t.Fatal(err)
	}
	return id
}

// rejected returns a request filed by who and rejected by the approver.
func (fx *matrixFixture) rejected(who string) int64 {
	fx.t.Helper()
	if id, ok := fx.refused[who]; ok {
		return id
	}
	id := fx.e.fileCreate(fx.browsers[who], fx.createForm())
	if res := fx.e.decide(fx.browsers["approver"], id, "reject", "not in this quarter"); res.status != http.StatusSeeOther {
		fx.t.Fatalf("reject request %d: %d", id, res.status)
	}
	fx.refused[who] = id
	return id
}

// decision is the decide form for request id, with the hash of its payload
// as the page shows it: an approval when the caller is expected to be
// refused, a rejection when they are expected to get through.
func (fx *matrixFixture) decision(id int64, permitted bool) (string, url.Values) {
	fx.t.Helper()
	r, err := fx.e.store.Request(context.Background(), id)
	if err != nil {
		fx.t.Fatal(err)
	}
	form := url.Values{"decision": {"approve"}, "payload_sha256": {hex.EncodeToString(r.PayloadSHA256)}}
	if permitted {
		form = url.Values{"decision": {"reject"}, "comment": {"not in this quarter"}, "payload_sha256": form["payload_sha256"]}
	}
	return fmt.Sprintf("/requests/%d/decide", id), form
}

func (fx *matrixFixture) newUserForm() url.Values {
	n := fx.next()
	return url.Values{"email": {fmt.Sprintf("new%02d@example.com", n)}, "display_name": {fmt.Sprintf("New %d", n)},
		"password": {password}, "roles": {string(auth.RoleRequester)}}
}

// change returns a policy change the second admin proposed that still
// waits, proposing a new one when the last was decided.
func (fx *matrixFixture) change() int64 {
	fx.t.Helper()
	ctx := context.Background()
	if cs, err := fx.e.store.PendingAdminChanges(ctx); err != nil {
		fx.t.Fatal(err)
	} else {
		for _, c := range cs {
			if c.Kind == portal.ChangePolicy {
				return c.ID
			}
		}
	}
	p, err := fx.e.store.CurrentPolicy(ctx)
	if err != nil {
		fx.t.Fatal(err)
	}
	var id int64
	err = fx.e.store.InTx(ctx, func(tx *db.Tx) error {
		id, _, err = tx.ProposeAdminChange(ctx, portal.AdminChange{Kind: portal.ChangePolicy, Policy: p,
			ProposedBy: fx.admin2.ID, ProposedAt: time.Now()})
		return err
	})
	if err != nil {
		fx.t.Fatal(err)
	}
	return id
}

// policyForm proposes the current policy with one number changed.
func (fx *matrixFixture) policyForm() url.Values {
	fx.t.Helper()
	p, err := fx.e.store.CurrentPolicy(context.Background())
	if err != nil {
		fx.t.Fatal(err)
	}
	f := url.Values{"pending_ttl": {p.PendingTTL.String()}, "approval_ttl": {p.ApprovalTTL.String()}}
	for _, op := range portal.Operations {
		f.Set("approvals_"+string(op), strconv.Itoa(p.Approvals[op]))
	}
	// One number differs: a proposal of the policy in effect is refused.
	f.Set("approvals_create", strconv.Itoa(p.Approvals[portal.OpCreate]%portal.MaxApprovals+1))
	return f
}
