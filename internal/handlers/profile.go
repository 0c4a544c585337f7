package handlers

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"drportal/internal/apperr"
	"drportal/internal/auth"
	"drportal/internal/db"
	"drportal/internal/portal"
	"drportal/internal/views"
)

// signedInSession is the request's session; the routes here require one.
func signedInSession(c echo.Context) (db.Session, error) {
	sess, ok := session(c)
	if !ok {
		return db.Session{}, apperr.New(apperr.Unauthenticated, "Please sign in.")
	}
	return sess, nil
}

func (h *Handlers) showProfile(c echo.Context) error {
	return h.profilePage(c, http.StatusOK, h.takeNote(c), "")
}

// profilePage shows the user's account and live sessions; it only reads.
func (h *Handlers) profilePage(c echo.Context, status int, flash, errMsg string) error {
	sess, err := signedInSession(c)
	if err != nil {
		return err
	}
	u := sess.User
	list, err := h.Auth.Sessions(c.Request().Context(), u.ID)
	if err != nil {
		return err
	}
	roles := strings.Join(u.RoleNames(), ", ")
	if roles == "" {
		roles = "none"
	}
	p := views.ProfilePage{Base: h.base(c, "Your profile", "profile"), Name: u.DisplayName, Email: u.Email, Roles: roles,
		PasswordChanged: h.formatTime(u.PasswordChangedAt), Flash: flash, Error: errMsg, NoRoles: len(u.Roles) == 0}
	if p.NoRoles {
		changes, err := h.Store.PendingAdminChanges(c.Request().Context())
		if err != nil {
			return err
		}
		for _, ch := range changes {
			if ch.Kind == portal.ChangeRoles && ch.UserID == u.ID {
				p.Waiting = fmt.Sprintf("%s proposed giving you %s at %s; it waits for a second admin's approval.",
					ch.ProposedByEmail, portal.RolePhrase(ch.Grant), h.formatTime(ch.ProposedAt))
			}
		}
	}
	for _, s := range list {
		p.Sessions = append(p.Sessions, views.SessionRow{ID: strconv.FormatInt(s.ID, 10), Created: h.formatTime(s.CreatedAt),
			LastSeen: h.formatTime(s.LastSeenAt), IP: s.IP, Client: clientSummary(s.UserAgent), Current: s.ID == sess.ID})
	}
	return h.render(c, status, views.Profile(p))
}

func (h *Handlers) passwordPage(c echo.Context, status int, errs map[string]string, errMsg string) error {
	p := views.PasswordPage{Base: h.base(c, "Change your password", "profile"),
		Forced: user(c).MustChangePassword, MinLength: auth.MinPasswordLength, Errors: errs, Error: errMsg}
	if p.Forced {
		p.Next = goingTo(c)
	}
	return h.render(c, status, views.ChangePassword(p))
}

// goingTo is where someone sent to choose their password at first
// sign-in was going (the sign-in's next, carried by the form), when it
// is a page of this portal; "" otherwise.
func goingTo(c echo.Context) string {
	next := c.QueryParam("next")
	if c.Request().Method == http.MethodPost {
		next = c.FormValue("next")
	}
	if next == "" || safeNext(next) != next {
		return ""
	}
	return next
}

func (h *Handlers) passwordForm(c echo.Context) error {
	return h.passwordPage(c, http.StatusOK, nil, "")
}

// changePassword changes the user's own password. The form is never shown
// again with what was typed in it.
func (h *Handlers) changePassword(c echo.Context) error {
	sess, err := signedInSession(c)
	if err != nil {
		return err
	}
	token, errs, err := h.Auth.ChangePassword(c.Request().Context(), sess, auth.PasswordChange{
		Current: c.FormValue("current_password"), New: c.FormValue("new_password"), Repeat: c.FormValue("repeat_password")})
	if err != nil {
		status, ok := formStatus(err)
		if !ok || apperr.KindOf(err) == apperr.Unavailable {
			return err // a busy server: the error page's 503 with Retry-After, as at sign-in
		}
		setRetryAfter(c, err)
		return h.passwordPage(c, status, nil, apperr.Message(err))
	}
	if len(errs) > 0 {
		return h.passwordPage(c, http.StatusUnprocessableEntity, errs, "")
	}
	// This session continues under a new token; the CSRF token is not tied
	// to the session and stays as it is.
	h.setSessionCookie(c, token)
	if sess.User.MustChangePassword {
		// A first sign-in (or one after a reset): the person came to work,
		// not to see their profile, and goes where they were going. Someone
		// without a role yet could see no page but their profile, which says
		// which roles wait for an admin (and says so once: the note does
		// not repeat it).
		if len(sess.User.Roles) == 0 {
			return h.redirectWithNote(c, "/profile", "Your password is set: from now on you sign in with it.")
		}
		return h.redirectWithNote(c, safeNext(goingTo(c)), "Your password is set: from now on you sign in with it.")
	}
	return h.redirectWithNote(c, "/profile", "Your password is changed. Your other sessions have ended.")
}

// endSession ends one of the user's other sessions.
func (h *Handlers) endSession(c echo.Context) error {
	sess, err := signedInSession(c)
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return apperr.New(apperr.NotFound, "You have no such session.")
	}
	info, err := h.Auth.EndSession(c.Request().Context(), sess, id)
	if apperr.KindOf(err) == apperr.Conflict {
		return h.profilePage(c, http.StatusConflict, "", apperr.Message(err))
	}
	if err != nil {
		return err
	}
	done := fmt.Sprintf("Ended the session from %s (%s).", orUnknown(info.IP), clientSummary(info.UserAgent))
	return h.redirectWithNote(c, "/profile", done)
}

// signOutEverywhere ends all of the user's sessions, this one included.
func (h *Handlers) signOutEverywhere(c echo.Context) error {
	sess, err := signedInSession(c)
	if err != nil {
		return err
	}
	ended, err := h.Auth.SignOutEverywhere(c.Request().Context(), sess)
	if err != nil {
		return err
	}
	h.clearSessionCookie(c)
	return h.redirectWithNote(c, "/signin", fmt.Sprintf("You are signed out everywhere: %d %s ended.", ended, plural(int(ended), "session", "sessions")))
}

func orUnknown(s string) string {
	if s == "" {
		return "an unknown address"
	}
	return s
}

// clientSummary names the browser and system of a user agent ("Firefox on
// Linux"), or shows its start when it is none of the common ones.
func clientSummary(ua string) string {
	has := func(s string) bool { return strings.Contains(ua, s) }
	browser := ""
	switch {
	case has("Edg/"):
		browser = "Edge"
	case has("OPR/"):
		browser = "Opera"
	case has("Firefox/"):
		browser = "Firefox"
	case has("Chrome/"), has("Chromium/"):
		browser = "Chrome"
	case has("Safari/"):
		browser = "Safari"
	}
	system := ""
	switch {
	case has("Android"):
		system = "Android"
	case has("iPhone"), has("iPad"):
		system = "iOS"
	case has("CrOS"):
		system = "ChromeOS"
	case has("Windows"):
		system = "Windows"
	case has("Macintosh"), has("Mac OS X"):
		system = "macOS"
	case has("Linux"):
		system = "Linux"
	}
	switch {
	case browser != "" && system != "":
		return browser + " on " + system
	case browser != "":
		return browser
	case system != "":
		return "A browser on " + system
	case strings.TrimSpace(ua) == "":
		return "Unknown browser"
	}
	if r := []rune(ua); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return ua
}
