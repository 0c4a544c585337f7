// Package handlers is the portal's HTTP layer: one route table, thin
// handlers, middleware (request ids, logging, security headers, CSRF,
// sessions, authorization) and the one place that maps errors to statuses.
package handlers

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/auth"
	"drportal/internal/config"
	"drportal/internal/db"
	"drportal/internal/drtask"
	"drportal/internal/portal"
	"drportal/internal/requests"
	"drportal/internal/views"
	"drportal/static"
)

// Deps are what the handlers are built from.
type Deps struct {
	Config   config.Config
	Store    *db.Store
	Auth     *auth.Service
	Tasks    *drtask.Service
	Requests *requests.Service
	AuditLog *audit.Service
	Assets   *static.Assets
	Logger   *slog.Logger
	Now      func() time.Time
	// NoteKey signs the page note (notes.go); shared by the replicas
	// (db.Store.PortalKey). Empty: a random key for this process.
	NoteKey []byte
}

// Handlers serves the portal's routes.
type Handlers struct {
	Deps
	// accepted are the sessions this portal accepted lately (pageReads).
	accepted acceptedSessions
}

// SessionCookie is the name of the session cookie.
const SessionCookie = "drp_session"

const (
	ctxUser    = "user"
	ctxCSRF    = "csrf"
	ctxChanges = "changes" // admin changes waiting for the user's approval, read with the session
	ctxSession = "session" // the signed-in session (db.Session)
	ctxRead    = "read"    // the page's reads that went with the session's (*pageRead)
)

// HX-Trigger event names the pages listen for.
const (
	EventTaskUpdated = "task-updated"
	// EventAnnounce carries a sentence for the layout's live region
	// (app.js says it), for a change a screen reader would not notice.
	EventAnnounce = "announce"
)

// announce has the page say sentence through its live region once this
// htmx response is swapped in.
func announce(c echo.Context, sentence string) {
	b, _ := json.Marshal(map[string]string{EventAnnounce: sentence})
	c.Response().Header().Set("HX-Trigger", string(b))
}

// New returns the portal's HTTP handler.
func New(d Deps) *echo.Echo {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if len(d.NoteKey) == 0 {
		d.NoteKey = make([]byte, 32)
		_, _ = rand.Read(d.NoteKey)
	}
	h := &Handlers{Deps: d}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = h.handleError
	e.IPExtractor = clientIP(d.Config.TrustedProxies)
	h.routes(e)
	return e
}

// clientIP decides who the client is: the connection's peer, unless the peer
// is one of the configured reverse proxies, whose X-Forwarded-For is then
// believed. Forwarding headers from anyone else are ignored: they would let a
// client choose the address the sign-in limit counts and the audit records.
func clientIP(proxies []*net.IPNet) echo.IPExtractor {
	if len(proxies) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range proxies {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// user returns the signed-in user, or nil.
func user(c echo.Context) *portal.User {
	u, _ := c.Get(ctxUser).(*portal.User)
	return u
}

// session returns the signed-in session; ok is false when nobody is
// signed in.
func session(c echo.Context) (db.Session, bool) {
	s, ok := c.Get(ctxSession).(db.Session)
	return s, ok
}

func requestID(c echo.Context) string {
	return c.Response().Header().Get(echo.HeaderXRequestID)
}

// csrfToken is the request's CSRF token, for forms.
func csrfToken(c echo.Context) string {
	s, _ := c.Get(ctxCSRF).(string)
	return s
}

// base fills what every page needs.
func (h *Handlers) base(c echo.Context, title, nav string) views.Base {
	b := views.Base{
		Title:     title,
		Nav:       nav,
		Simulated: h.Config.Simulated,
		Assets: views.AssetURLs{
			HTMX: h.Assets.URL("htmx-2.0.11.min.js"),
			CSS:  h.Assets.URL("app.css"),
			JS:   h.Assets.URL("app.js"),
		},
	}
	b.CSRF = csrfToken(c)
	if u := user(c); u != nil && !u.MustChangePassword && len(u.Roles) > 0 {
		b.Emergencies = h.emergencyNotes(c)
	}
	if u := user(c); u != nil {
		b.User = &views.User{Email: u.Email, Name: u.DisplayName, Roles: strings.Join(u.RoleNames(), ", "),
			CanCreate: Allowed(u, PermCreateTask), IsAdmin: Allowed(u, PermAdmin), Awaiting: -1, MustChange: u.MustChangePassword,
			CanView: Allowed(u, PermViewTasks) && Allowed(u, PermViewRequests) && Allowed(u, PermViewAudit)}
		if s, ok := session(c); ok && Allowed(u, PermDecide) && title != "" && !u.MustChangePassword {
			b.User.Awaiting = runnableAwaiting(s)
			b.User.Reviews = len(reviewsAwaiting(s))
		}
		b.User.AdminURL = "/admin/users"
		if n, ok := c.Get(ctxChanges).(int); ok && Allowed(u, PermAdmin) && !u.MustChangePassword {
			b.User.ChangesWaiting = n
			// The link leads to what waits: a role grant on the users
			// page, a policy change (and nothing else) on the policy's.
			if s, ok := session(c); ok && n > 0 && s.PolicyWaiting == n {
				b.User.AdminURL = "/admin/policy"
			}
		}
	}
	return b
}

// isFragment reports whether to answer with a fragment rather than a full
// page: an htmx request that is neither boosted nor a history restore.
func isFragment(c echo.Context) bool {
	r := c.Request().Header
	return r.Get("HX-Request") == "true" && r.Get("HX-Boosted") == "" && r.Get("HX-History-Restore-Request") == ""
}

// render renders into a buffer first, so a failing component still becomes
// a clean error page instead of half a page.
func (h *Handlers) render(c echo.Context, status int, comp templ.Component) error {
	buf := pageBuffers.Get().(*bytes.Buffer)
	defer putPageBuffer(buf)
	if err := comp.Render(c.Request().Context(), buf); err != nil {
		return fmt.Errorf("render: %w", err)
	}
	c.Response().Header().Add("Vary", "HX-Request")
	return c.HTMLBlob(status, buf.Bytes())
}

// pageBuffers are the buffers pages render into, reused: a list page is
// some hundred kilobytes, and growing a fresh buffer to that size for every
// view was a third of all the memory pages asked for, which the collector
// then had to reclaim while other pages waited.
var pageBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBuffer is the largest buffer kept for reuse: one rare huge page
// does not pin its memory for good.
const maxPooledBuffer = 1 << 20

func putPageBuffer(b *bytes.Buffer) {
	if b.Cap() > maxPooledBuffer {
		return
	}
	b.Reset()
	pageBuffers.Put(b)
}

// handleError is the one place that turns an error into a status and a page.
func (h *Handlers) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status := http.StatusInternalServerError
	heading, msg := "Something went wrong", apperr.Message(err)
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		status = he.Code
		heading = http.StatusText(status)
		msg = httpErrorMessage(he)
	default:
		k := apperr.KindOf(err)
		status, heading = statusOf(k), headingOf(k)
		h.auditDenial(c, err)
	}
	if errors.Is(err, context.DeadlineExceeded) && status == http.StatusInternalServerError {
		status, heading, msg = http.StatusServiceUnavailable, "Temporarily unavailable", "The request took too long and was stopped. Please try again."
	}
	setRetryAfter(c, err)
	if status == http.StatusUnauthorized {
		next := "/signin?next=" + url.QueryEscape(c.Request().URL.RequestURI())
		if c.Request().Header.Get("HX-Request") == "true" {
			c.Response().Header().Set("HX-Redirect", next)
			_ = c.NoContent(http.StatusUnauthorized)
			return
		}
		if c.Request().Method == http.MethodGet {
			_ = c.Redirect(http.StatusSeeOther, next)
			return
		}
	}
	if status >= 500 {
		h.Logger.Error("request failed", "status", status, "method", c.Request().Method,
			"path", c.Request().URL.Path, "request_id", requestID(c), "err", err)
	}
	p := views.ErrorPage{Base: h.base(c, heading, ""), Status: status, Heading: heading, Message: msg, RequestID: requestID(c)}
	p.BackURL, p.BackText = wayBack(c, status)
	var rerr error
	if isFragment(c) {
		rerr = h.render(c, status, views.ErrorFragment(p))
	} else {
		rerr = h.render(c, status, views.ErrorView(p))
	}
	if rerr != nil {
		h.Logger.Error("render error page", "err", rerr)
		_ = c.String(status, msg)
	}
}

// wayBack is the link an error page offers: for a refused form, the page
// the form was on; for an operation's form its task's state refuses, the
// task; when the person may still see it (someone refused by
// the CSRF check is not known yet: the page itself sends them on);
// otherwise their home page (the profile for someone without a role, the
// sign-in page for someone not signed in).
func wayBack(c echo.Context, status int) (string, string) {
	u := user(c)
	if status == http.StatusUnauthorized || (u == nil && c.Request().Method == http.MethodGet) {
		return "/signin", "Sign in"
	}
	if c.Request().Method == http.MethodGet && u != nil {
		// An operation's or break-glass form refused for the task's state
		// leads back to that task.
		switch id := c.Param("id"); c.Path() {
		case "/dr-tasks/:id/operations/:op", "/dr-tasks/:id/break-glass/:op":
			if drtask.ValidID(id) && Allowed(u, PermViewTasks) && status != http.StatusNotFound {
				return "/dr-tasks/" + id, "Back to the DR task"
			}
		}
	}
	if c.Request().Method != http.MethodGet {
		// Only an id of the right shape goes into the link: the address
		// may be anybody's (a refused cross-site form), and its text must
		// not become the portal's words.
		id := c.Param("id")
		var page, text string
		var need Permission
		switch c.Path() {
		case "/requests/:id/decide", "/requests/:id/cancel", "/requests/:id/check", "/requests/:id/review":
			if n, err := strconv.ParseInt(id, 10, 64); err == nil && n > 0 {
				page, text, need = fmt.Sprintf("/requests/%d", n), fmt.Sprintf("Back to request #%d", n), PermViewRequests
			}
		case "/dr-tasks/:id/operations/:op", "/dr-tasks/:id/break-glass/:op":
			if drtask.ValidID(id) {
				page, text, need = "/dr-tasks/"+id, "Back to the DR task", PermViewTasks
			}
		case "/dr-tasks", "/dr-tasks/new":
			page, text, need = "/dr-tasks/new", "Back to the new DR task form", PermCreateTask
		case "/admin/users", "/admin/users/:id/roles", "/admin/users/:id/active", "/admin/users/:id/password",
			"/admin/changes/:id/approve", "/admin/changes/:id/reject":
			page, text, need = "/admin/users", "Back to the users", PermAdmin
		case "/admin/policy":
			page, text, need = "/admin/policy", "Back to the approval policy", PermAdmin
		case "/admin/break-glass":
			page, text, need = "/admin/break-glass", "Back to break-glass", PermAdmin
		case "/admin/sign-ins/clear":
			page, text, need = "/admin/sign-ins", "Back to the sign-in throttles", PermAdmin
		case "/audit/verify", "/audit/archive":
			page, text, need = "/audit", "Back to the audit log", PermViewAudit
		case "/profile/password", "/profile/sessions/:id/end", "/profile/signout-everywhere":
			page, text, need = "/profile", "Back to your profile", PermSignedIn
		case "/signin", "/signout":
			page, text, need = "/signin", "Back to the sign-in page", PermSignedIn
		}
		if page != "" && (u == nil || Allowed(u, need)) {
			return page, text
		}
	}
	switch {
	case u == nil:
		return "/signin", "Sign in"
	case len(u.Roles) == 0:
		return "/profile", "Back to your profile"
	}
	return "/dr-tasks", "Back to the DR tasks"
}

func httpErrorMessage(he *echo.HTTPError) string {
	switch he.Code {
	case http.StatusNotFound:
		return "There is no page at this address."
	case http.StatusMethodNotAllowed:
		return "This address does not accept that kind of request."
	case http.StatusRequestEntityTooLarge:
		return "The request is too large."
	case http.StatusForbidden:
		return "The request was refused: it did not come from a page of this portal. Reload the page and try again."
	case http.StatusBadRequest:
		if s, ok := he.Message.(string); ok && strings.Contains(s, "csrf") {
			return "The form's security token is missing or expired. Reload the page and try again."
		}
		return "The request could not be understood."
	case http.StatusTooManyRequests:
		return "Too many requests. Wait a minute and try again."
	}
	return http.StatusText(he.Code)
}

// formatTime formats a time for people: in the display zone, to the
// second, naming the zone.
func (h *Handlers) formatTime(t time.Time) string {
	return portal.FormatTime(t, h.Config.DisplayTimeZone)
}

// zones are the time zones DR timestamps are read in and times are shown in.
func (h *Handlers) zones() portal.TimeZones {
	return portal.TimeZones{DWS: h.Config.DWSTimeZone, Display: h.Config.DisplayTimeZone}
}
