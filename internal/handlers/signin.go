package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/labstack/echo/v4"

	"drportal/internal/apperr"
	"drportal/internal/auth"
	"drportal/internal/db"
	"drportal/internal/views"
)

// healthz answers 200 "ok" while the database answers. Its detail lines
// name what the background jobs recorded about the DWS configuration (an
// API the gateway says does not exist: wrong endpoint, region or project).
// Such an error leaves the status 200: every replica shares it, and the
// pages still serve the last known state. It reads only the database.
func (h *Handlers) healthz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := h.Store.Ping(ctx); err != nil {
		h.Logger.Warn("health check: database does not answer", "err", err)
		return c.String(http.StatusServiceUnavailable, "database unavailable\n")
	}
	var b strings.Builder
	b.WriteString("ok\n")
	errs, err := h.Store.SyncErrors(ctx, db.SyncDWSConfig)
	if err != nil {
		h.Logger.Warn("health check: the recorded cloud errors could not be read", "err", err)
	}
	for _, e := range errs {
		fmt.Fprintf(&b, "dws %s: %s (since %s)\n", strings.TrimPrefix(e.Name, db.SyncDWSConfig), e.Message,
			e.At.UTC().Format(time.RFC3339))
	}
	return c.String(http.StatusOK, b.String())
}

// safeNext keeps a post-sign-in redirect on this site.
func safeNext(next string) string {
	const home = "/dr-tasks"
	// Only a path of this portal: one leading slash, no scheme or host, and
	// nothing a browser would drop or rewrite (whitespace and control
	// characters, backslashes) to turn it into another site's address.
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsRune(next, '\\') ||
		strings.IndexFunc(next, func(r rune) bool { return r <= ' ' || r == 0x7f || unicode.IsSpace(r) || !unicode.IsPrint(r) }) >= 0 {
		return home
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") ||
		strings.HasPrefix(u.Path, "//") || strings.HasPrefix(u.Path, "/signin") {
		return home
	}
	return next
}

func (h *Handlers) signInForm(c echo.Context) error {
	if user(c) != nil {
		return c.Redirect(http.StatusSeeOther, safeNext(c.QueryParam("next")))
	}
	return h.render(c, http.StatusOK, views.SignIn(views.SignInPage{
		Base: h.base(c, "Sign in", ""), Next: c.QueryParam("next"), Flash: h.takeNote(c)}))
}

func (h *Handlers) signIn(c echo.Context) error {
	email, password, next := c.FormValue("email"), c.FormValue("password"), c.FormValue("next")
	var old string
	if ck, err := c.Cookie(SessionCookie); err == nil {
		old = ck.Value
	}
	token, u, err := h.Auth.SignIn(c.Request().Context(), email, password, auth.Client{
		IP: c.RealIP(), UserAgent: c.Request().UserAgent(), OldToken: old})
	if err != nil {
		status, ok := formStatus(err)
		if !ok || apperr.KindOf(err) == apperr.Unavailable {
			return err
		}
		setRetryAfter(c, err)
		return h.render(c, status, views.SignIn(views.SignInPage{
			Base: h.base(c, "Sign in", ""), Email: email, Next: next, Error: apperr.Message(err)}))
	}
	h.setSessionCookie(c, token)
	h.clearNote(c)
	// A new session gets a new CSRF token: the next page issues one.
	c.SetCookie(&http.Cookie{Name: csrfCookie, Value: "", Path: "/", HttpOnly: true,
		Secure: h.Config.SecureCookies(), SameSite: http.SameSiteLaxMode, MaxAge: -1})
	if u.MustChangePassword {
		// Where they were going waits until they have chosen their password.
		to := "/profile/password"
		if next != "" && safeNext(next) == next {
			to += "?" + url.Values{"next": {next}}.Encode()
		}
		return c.Redirect(http.StatusSeeOther, to)
	}
	return c.Redirect(http.StatusSeeOther, safeNext(next))
}

func (h *Handlers) signOut(c echo.Context) error {
	if ck, err := c.Cookie(SessionCookie); err == nil {
		if err := h.Auth.SignOut(c.Request().Context(), ck.Value, *user(c)); err != nil {
			return err
		}
	}
	h.clearSessionCookie(c)
	return h.redirectWithNote(c, "/signin", "You are signed out.")
}
