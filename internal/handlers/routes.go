package handlers

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"golang.org/x/time/rate"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/auth"
	"drportal/internal/db"
	"drportal/internal/drtask"
	"drportal/internal/portal"
	"drportal/internal/views"
	"drportal/static"
)

// contentSecurityPolicy allows nothing inline: scripts and styles come only
// from the portal's own hashed files.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

// routes is the one route table.
func (h *Handlers) routes(e *echo.Echo) {
	e.Pre(middleware.RemoveTrailingSlash(), noTokenInURL)
	e.Use(
		serverRequestID,
		h.logRequests(),
		middleware.Recover(),
		middleware.SecureWithConfig(middleware.SecureConfig{
			ContentTypeNosniff:    "nosniff",
			XFrameOptions:         "DENY",
			HSTSMaxAge:            hstsMaxAge(h.Config.SecureCookies()),
			ContentSecurityPolicy: contentSecurityPolicy,
			ReferrerPolicy:        "same-origin",
		}),
		middleware.BodyLimit("256K"),
		refuseBadText,
	)

	// Outside sessions and CSRF: health and immutable assets.
	e.GET("/healthz", h.healthz)
	e.GET(static.Prefix+"*", echo.WrapHandler(h.Assets))

	app := e.Group("",
		h.csrf(middleware.CSRFWithConfig(middleware.CSRFConfig{
			TokenLookup:    "header:X-CSRF-Token,form:_csrf",
			CookieName:     csrfCookie,
			CookiePath:     "/",
			CookieHTTPOnly: true,
			CookieSecure:   h.Config.SecureCookies(),
			CookieSameSite: http.SameSiteLaxMode,
			ContextKey:     ctxCSRF,
		})),
		h.loadSession,
		h.auditContext,
		noStore,
		passwordChangeFirst,
	)
	app.GET("/signin", h.signInForm)
	app.POST("/signin", h.signIn, middleware.RateLimiterWithConfig(middleware.RateLimiterConfig{
		Store: middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
			// Per address, looser than the per-account limit: a team may share one.
			Rate: rate.Every(2 * time.Second), Burst: 30, ExpiresIn: 10 * time.Minute}),
		DenyHandler: func(c echo.Context, _ string, _ error) error {
			return apperr.New(apperr.TooMany, "Too many sign-in attempts from your address. Wait a minute and try again.")
		},
	}))
	app.POST("/signout", h.signOut, h.require(PermSignedIn))
	app.GET("/profile", h.showProfile, h.require(PermSignedIn))
	app.GET("/profile/password", h.passwordForm, h.require(PermSignedIn))
	app.POST("/profile/password", h.changePassword, h.require(PermSignedIn))
	app.POST("/profile/sessions/:id/end", h.endSession, h.require(PermSignedIn))
	app.POST("/profile/signout-everywhere", h.signOutEverywhere, h.require(PermSignedIn))

	app.GET("/", func(c echo.Context) error {
		// Someone whose roles still wait for an admin lands on their profile,
		// the one page they can use.
		if len(user(c).Roles) == 0 {
			return c.Redirect(http.StatusSeeOther, "/profile")
		}
		return c.Redirect(http.StatusSeeOther, "/dr-tasks")
	}, h.require(PermSignedIn))
	app.GET("/dr-tasks", h.listTasks, h.require(PermViewTasks))
	app.GET("/dr-tasks/new", h.newTaskForm, h.require(PermCreateTask))
	app.POST("/dr-tasks/new", h.refreshTaskForm, h.require(PermCreateTask))
	app.POST("/dr-tasks/new/read", h.readClusters, h.require(PermCreateTask))
	app.GET("/dr-tasks/new/standbys", h.standbyOptions, h.require(PermCreateTask))
	app.GET("/dr-tasks/new/check", h.checkField, h.require(PermCreateTask))
	app.POST("/dr-tasks", h.createTask, h.require(PermCreateTask))
	app.GET("/dr-tasks/:id", h.showTask, h.require(PermViewTasks))
	app.GET("/dr-tasks/:id/status", h.taskStatus, h.require(PermViewTasks))
	app.GET("/dr-tasks/:id/timeline", h.taskTimeline, h.require(PermViewTasks))
	app.GET("/dr-tasks/:id/drills", h.showDrills, h.require(PermViewTasks))
	app.GET("/dr-tasks/:id/drills/export", h.exportDrills, h.require(PermViewAllAudit))
	app.GET("/dr-tasks/:id/operations/:op", h.showOperation, h.require(PermFileRequest))
	app.POST("/dr-tasks/:id/operations/:op", h.fileOperation, h.require(PermFileRequest))
	app.GET("/requests", h.listRequests, h.require(PermViewRequests))
	app.GET("/requests/count", h.awaitingCount, h.require(PermViewRequests))
	app.GET("/requests/:id", h.showRequest, h.require(PermViewRequests))
	app.GET("/requests/:id/card", h.requestCardFragment, h.require(PermViewRequests))
	app.GET("/requests/:id/timeline", h.requestTimelineFragment, h.require(PermViewRequests))
	app.POST("/requests/:id/decide", h.decideRequest, h.require(PermDecide))
	app.POST("/requests/:id/cancel", h.cancelRequest, h.require(PermCancel))
	app.POST("/requests/:id/check", h.checkRequest, h.require(PermViewRequests))
	app.GET("/dr-tasks/:id/break-glass/:op", h.showBreakGlass, h.require(PermBreakGlass))
	app.POST("/dr-tasks/:id/break-glass/:op", h.breakGlass, h.require(PermBreakGlass))
	app.POST("/requests/:id/review", h.reviewEmergency, h.require(PermDecide))
	app.GET("/admin/break-glass", h.showBreakGlassAdmin, h.require(PermAdmin))
	app.POST("/admin/break-glass", h.saveBreakGlass, h.require(PermAdmin))
	app.POST("/admin/break-glass/:id/clear", h.clearFlag, h.require(PermAdmin))
	app.GET("/admin/users", h.listUsers, h.require(PermAdmin))
	app.POST("/admin/users", h.createUser, h.require(PermAdmin))
	app.POST("/admin/users/:id/roles", h.setUserRoles, h.require(PermAdmin))
	app.GET("/admin/users/:id/deactivate", h.confirmDeactivate, h.require(PermAdmin))
	app.POST("/admin/users/:id/active", h.setUserActive, h.require(PermAdmin))
	app.GET("/admin/users/:id/reset-password", h.confirmReset, h.require(PermAdmin))
	app.POST("/admin/users/:id/password", h.resetPassword, h.require(PermAdmin))
	app.GET("/admin/sign-ins", h.listThrottles, h.require(PermAdmin))
	app.POST("/admin/sign-ins/clear", h.clearThrottle, h.require(PermAdmin))
	app.GET("/admin/policy", h.showPolicy, h.require(PermAdmin))
	app.POST("/admin/policy", h.savePolicy, h.require(PermAdmin))
	app.GET("/admin/windows", h.showWindows, h.require(PermAdmin))
	app.POST("/admin/windows", h.addWindow, h.require(PermAdmin))
	app.POST("/admin/windows/rule", h.setWindowRule, h.require(PermAdmin))
	app.POST("/admin/windows/step-up", h.confirmWindowsPassword, h.require(PermAdmin))
	app.POST("/admin/windows/:id/remove", h.removeWindow, h.require(PermAdmin))
	app.POST("/admin/freezes", h.addFreeze, h.require(PermAdmin))
	app.POST("/admin/freezes/:id/lift", h.liftFreeze, h.require(PermAdmin))
	app.POST("/admin/changes/:id/approve", h.decideChange(true), h.require(PermAdmin))
	app.POST("/admin/changes/:id/reject", h.decideChange(false), h.require(PermAdmin))
	app.GET("/audit", h.auditPage, h.require(PermViewAudit))
	app.GET("/audit/export", h.auditExport, h.require(PermViewAudit))
	app.POST("/audit/verify", h.verifyAudit, h.require(PermViewAllAudit))
	app.POST("/audit/archive", h.archiveAudit, h.require(PermAdmin))
}

func hstsMaxAge(https bool) int {
	if https {
		return 31536000
	}
	return 0
}

// logRequests logs one line per request: never bodies, cookies or headers
// that could hold a secret.
func (h *Handlers) logRequests() echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus: true, LogMethod: true, LogURIPath: true, LogLatency: true, LogRequestID: true, LogError: true,
		HandleError: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			h.Logger.Info("http", "method", v.Method, "path", v.URIPath, "status", v.Status,
				"latency_ms", v.Latency.Milliseconds(), "request_id", v.RequestID)
			return nil
		},
	})
}

// loadSession puts the signed-in user, if any, into the context. A session
// that ended is cleared; the route decides whether a user is required.
func (h *Handlers) loadSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ck, err := c.Cookie(SessionCookie)
		if err != nil || ck.Value == "" {
			return next(c)
		}
		var reads db.Reads
		var read *pageRead
		key := string(auth.HashToken(ck.Value)) // as the session is stored
		if last, known := h.accepted.get(key); known && last.pages {
			reads, read = h.pageReads(c, last.allAudit)
		}
		background := c.Request().Header.Get(views.BackgroundHeader) != ""
		sess, err := h.Auth.AuthenticateReading(c.Request().Context(), ck.Value, background, reads)
		switch {
		case apperr.KindOf(err) == apperr.Unauthenticated:
			h.clearSessionCookie(c)
		case err != nil:
			return err
		default:
			u := sess.User
			c.Set(ctxUser, &u)
			c.Set(ctxChanges, sess.ChangesWaiting)
			c.Set(ctxSession, sess)
			h.accepted.add(key, acceptedSession{pages: Allowed(&u, PermViewTasks) && !u.MustChangePassword,
				allAudit: Allowed(&u, PermViewAllAudit)})
			if read != nil && sess.ReadsErr == nil { // else the page reads again, and says what failed
				c.Set(ctxRead, read)
			}
		}
		return next(c)
	}
}

// acceptedSessions are the sessions (their tokens' hashes) this portal
// accepted lately, at most maxAccepted, with what their person could do
// then: when full it forgets them all, and each one's next page reads in
// two round trips again. A session is forgotten when it is refused or
// signed out (clearSessionCookie), so one that ended costs at most one
// more page's reads; one whose person's roles changed since is still
// judged before anything it read is used.
type acceptedSessions struct {
	mu   sync.Mutex
	seen map[string]acceptedSession
}

// acceptedSession is what a session's person could do when it was last
// accepted: see pages (not waiting for roles or a new password), read the
// whole audit history.
type acceptedSession struct{ pages, allAudit bool }

const maxAccepted = 10_000

func (a *acceptedSessions) get(k string) (acceptedSession, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.seen[k]
	return s, ok
}

func (a *acceptedSessions) add(k string, s acceptedSession) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.seen == nil || len(a.seen) >= maxAccepted {
		a.seen = make(map[string]acceptedSession)
	}
	a.seen[k] = s
}

func (a *acceptedSessions) forget(k string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.seen, k)
}

// pageRead is what the page asked for read with the session (pageReads),
// with what it was read for.
type pageRead struct {
	taskID      string // the page of one task
	calls       bool
	taskPage    func() (drtask.Page, error)
	taskList    func() drtask.TaskList // the task list
	tab         string                 // the request list's All or Mine tab
	requests    func() ([]portal.Request, []db.RequestTaskState, map[int64][]portal.Approval)
	requestID   int64 // the page of one request
	timeline    int
	requestPage func() (db.RequestPage, error)
	auditFilter db.AuditFilter // the audit page, as one who reads all of it sees it
	audit       func() db.AuditPage
}

// pageReads are the reads of the page asked for that go with its
// session's, in one round trip to the database instead of two (the pages
// viewed most, at 3 a.m. most of all). They depend on the request, not on
// who makes it: what depends on the viewer, the handler judges once the
// session is, as it does for every other page, which reads after it.
// Only a session accepted lately has them: a made-up cookie costs the
// database the session's read alone, as before. The audit page is read
// with the session when its person could read all of it last time.
func (h *Handlers) pageReads(c echo.Context, allAudit bool) (db.Reads, *pageRead) {
	if c.Request().Method != http.MethodGet {
		return nil, nil
	}
	switch c.Path() {
	case "/dr-tasks":
		reads, list := h.Tasks.ListReads(taskListOpen)
		return reads, &pageRead{taskList: list}
	case "/dr-tasks/:id":
		r := &pageRead{taskID: c.Param("id"), calls: showCalls(c)}
		var reads db.Reads
		reads, r.taskPage = h.Tasks.PageReads(r.taskID, timelineSize, r.calls)
		return reads, r
	case "/requests":
		// The Awaiting tab's rows depend on the session's emergencies: it
		// reads after the session.
		q := c.QueryParams()
		f, err := requestListFilter(q)
		if tab := q.Get("tab"); err == nil && (tab == "all" || tab == "mine") {
			r := &pageRead{tab: tab}
			var reads db.Reads
			reads, r.requests = db.RequestListReads(f, tab == "mine", requestListSize)
			return reads, r
		}
	case "/requests/:id":
		if id, err := requestID64(c); err == nil {
			r := &pageRead{requestID: id, timeline: timelineSize}
			var reads db.Reads
			reads, r.requestPage = db.RequestPageReads(id, h.Now(), timelineSize)
			return reads, r
		}
	case "/audit":
		if f, _, err := h.auditFilterAsked(c.QueryParams(), true); err == nil && allAudit {
			r := &pageRead{auditFilter: f}
			reads, page := db.AuditPageReads(f, auditPageSize+1, true, true)
			if reads != nil {
				r.audit = page
				return reads, r
			}
		}
	}
	return nil, nil
}

// passwordChangeFirst keeps a user whose password an admin set (a new
// account's, or a reset's) on the change-password form until they have chosen a new one: every other page
// sends them there, and an htmx fragment or background request is refused.
// Signing out, and signing in as someone else, still work.
func passwordChangeFirst(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		u := user(c)
		if u == nil || !u.MustChangePassword {
			return next(c)
		}
		switch c.Path() {
		case "/profile/password", "/signout", "/signin":
			return next(c)
		}
		if isFragment(c) {
			return apperr.New(apperr.Forbidden, "Your password was set by an admin: choose your own first, at /profile/password.")
		}
		return c.Redirect(http.StatusSeeOther, "/profile/password")
	}
}

// csrfCookie holds the CSRF token.
const csrfCookie = "drp_csrf"

// noTokenInURL drops a CSRF token put in the address: the token is taken
// from the form body or the X-CSRF-Token header only, never from a URL that
// logs, history and Referer headers keep.
func noTokenInURL(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if q := c.Request().URL.Query(); q.Has("_csrf") {
			q.Del("_csrf")
			c.Request().URL.RawQuery = q.Encode()
		}
		return next(c)
	}
}

// noStore keeps the portal's pages and exports out of every cache: they
// show who may do what, requests and the audit history. Only the hashed
// static files are cached.
func noStore(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "no-store")
		return next(c)
	}
}

// serverRequestID gives every request an id of the server's own making,
// answered in X-Request-Id. It becomes the audit events' correlation id, so
// a client's X-Request-Id is ignored: otherwise anyone could place their
// events in any job's or task's timeline, with an id of any length.
func serverRequestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Request().Header.Del(echo.HeaderXRequestID)
		c.Response().Header().Set(echo.HeaderXRequestID, randomID())
		return next(c)
	}
}

// randomID is 16 random bytes in hex.
func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on Linux
	return hex.EncodeToString(b[:])
}

// refuseBadText refuses a query or form value that is not valid UTF-8 or
// holds a NUL byte: PostgreSQL cannot store such text, so without this the
// request would fail late, as a 500, instead of as bad input.
func refuseBadText(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		values := c.QueryParams()
		if c.Request().Method == http.MethodPost {
			form, err := c.FormParams()
			if err != nil {
				return apperr.Wrap(apperr.Invalid, err, "The form could not be read. Nothing was changed.")
			}
			values = form
		}
		for k, vs := range values {
			for _, v := range append(vs, k) {
				if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
					return apperr.New(apperr.Invalid, "The request holds a character the portal does not accept (a NUL byte or invalid UTF-8). Nothing was changed.")
				}
			}
		}
		return next(c)
	}
}

// auditContext puts the actor (the signed-in user, or "anonymous") and the
// correlation id (the request id) on the request's context, so every audit
// event and cloud call a handler causes names who and which request,
// without a handler having to remember to.
func (h *Handlers) auditContext(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := audit.WithCorrelation(c.Request().Context(), requestID(c))
		if u := user(c); u != nil {
			ctx = audit.WithActor(ctx, audit.Actor{ID: u.ID, Name: u.Email})
		} else {
			ctx = audit.WithActor(ctx, audit.Anonymous)
		}
		c.SetRequest(c.Request().WithContext(ctx))
		return next(c)
	}
}

func (h *Handlers) setSessionCookie(c echo.Context, token string) {
	c.SetCookie(&http.Cookie{Name: SessionCookie, Value: token, Path: "/", HttpOnly: true,
		Secure: h.Config.SecureCookies(), SameSite: http.SameSiteLaxMode,
		MaxAge: int(h.Config.SessionMaxAge.Seconds())})
}

func (h *Handlers) clearSessionCookie(c echo.Context) {
	if ck, err := c.Cookie(SessionCookie); err == nil && ck.Value != "" {
		h.accepted.forget(string(auth.HashToken(ck.Value)))
	}
	h.clearNote(c)
	c.SetCookie(&http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true,
		Secure: h.Config.SecureCookies(), SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// Permission is something a route requires.
type Permission int

// The permissions routes require.
const (
	PermSignedIn     Permission = iota // any signed-in user
	PermViewTasks                      // see DR tasks: any role
	PermCreateTask                     // file a create request: requester
	PermViewRequests                   // see requests: any role
	PermFileRequest                    // file a request: requester
	PermDecide                         // approve or reject: approver (never one's own)
	PermViewAudit                      // see the audit page: any role (scoped to own events)
	PermViewAllAudit                   // see everyone's events: auditor, admin
	PermAdmin                          // manage users and the approval policy: admin
	PermBreakGlass                     // run an operation without the quorum: responder
	PermCancel                         // cancel a request: requester (own only), admin (approved, not started)
)

// needs says, in a sentence, what p requires, for the refusal page.
func (p Permission) needs() string {
	switch p {
	case PermCreateTask, PermFileRequest:
		return "This needs the requester role"
	case PermDecide:
		return "This needs the approver role"
	case PermAdmin:
		return "Only admins can do this"
	case PermViewAllAudit:
		return "This needs the auditor or admin role"
	case PermBreakGlass:
		return "Breaking glass needs the responder role"
	case PermCancel:
		return "Cancelling a request needs the requester or admin role"
	}
	return "Your roles do not allow this"
}

// Allowed is the one place that decides what a user may do.
func Allowed(u *portal.User, p Permission) bool {
	if u == nil || !u.Active {
		return false
	}
	switch p {
	case PermSignedIn:
		return true
	case PermViewTasks, PermViewAudit, PermViewRequests:
		return len(u.Roles) > 0
	case PermCreateTask, PermFileRequest:
		return u.Has(auth.RoleRequester)
	case PermDecide:
		return u.Has(auth.RoleApprover)
	case PermAdmin:
		return u.Has(auth.RoleAdmin)
	case PermViewAllAudit:
		return u.Has(auth.RoleAuditor) || u.Has(auth.RoleAdmin)
	case PermBreakGlass:
		return u.Has(portal.RoleResponder)
	case PermCancel:
		return u.Has(auth.RoleRequester) || u.Has(auth.RoleAdmin)
	}
	return false
}

// require refuses a route to users without permission p. The refusal is
// audited as a denied action (handleError), whatever the method.
func (h *Handlers) require(p Permission) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			u := user(c)
			if u == nil {
				return apperr.New(apperr.Unauthenticated, "Please sign in.")
			}
			if !Allowed(u, p) {
				if len(u.Roles) == 0 {
					return apperr.Deny(apperr.Forbidden, audit.ReasonRole,
						"Your account has no role yet. An admin gives roles; with two admins, a grant takes effect when the second approves it.")
				}
				return apperr.Deny(apperr.Forbidden, audit.ReasonRole, "%s; you have %s.", p.needs(), portal.RolePhrase(u.Roles))
			}
			return next(c)
		}
	}
}
