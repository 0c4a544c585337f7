package handlers

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/portal"
)

// Denied actions are audited: a 403 of the permission check, a refused
// decision (one's own request, a payload other than the one shown), a
// refused cancellation (someone else's request), a CSRF failure. This holds
// for a refused GET too, the one exception to "a page view only reads": a
// refusal is not a page view, and an account probing pages it may not see
// is what an auditor needs to know. The store counts repeats (per actor,
// route, reason and minute) instead of appending an event each, so a flood
// stays bounded (see db.Store.RecordDenial).

// auditDenial records err as a denied action when it is one
// (apperr.DenialOf). The error page (handleError) and every form or card
// shown again with a refusal (shownAgain) call it, before answering.
func (h *Handlers) auditDenial(c echo.Context, err error) {
	if reason, ok := apperr.DenialOf(err); ok {
		h.recordDenial(c, user(c), reason)
	}
}

// shownAgain is formStatus for a form or request card shown again with err
// instead of the error page, auditing err first when it is a refusal.
// Sign-in keeps formStatus: its failures have their own audit events.
func (h *Handlers) shownAgain(c echo.Context, err error) (int, bool) {
	h.auditDenial(c, err)
	return formStatus(err)
}

// denialTimeout bounds recording a denial: it never holds a refusal long.
const denialTimeout = 5 * time.Second

// recordDenial records that u (nil: someone not signed in) was refused the
// route c matched, for reason. Only the route's pattern and its :id go on
// record: never the URL as sent, a form value or a token. A failure to
// record is logged; the refusal stands either way.
func (h *Handlers) recordDenial(c echo.Context, u *portal.User, reason string) {
	actor := audit.Anonymous
	if u != nil {
		actor = audit.Actor{ID: u.ID, Name: u.Email}
	}
	route := c.Path()
	if route == "" {
		route = "/*"
	}
	d := audit.Denial{At: h.Now(), Actor: actor, IP: c.RealIP(), Method: c.Request().Method, Route: route,
		ID: c.Param("id"), Reason: reason, CorrelationID: requestID(c)}
	// Written even when the client has gone: the refusal happened.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), denialTimeout)
	defer cancel()
	if err := h.Store.RecordDenial(ctx, d); err != nil {
		h.Logger.Error("audit a denied action", "method", d.Method, "route", d.Route, "reason", reason,
			"request_id", d.CorrelationID, "err", err)
	}
}

// csrf wraps Echo's CSRF middleware so that its refusals (a missing or
// wrong token, a cross-site form) are audited as denied actions. They
// happen before the session is read, so the session cookie is looked up
// here to name the actor, without counting as activity; without a valid
// session the actor is the client's address.
func (h *Handlers) csrf(mw echo.MiddlewareFunc) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			passed := false
			err := mw(func(c echo.Context) error {
				passed = true
				return next(c)
			})(c)
			if err != nil && !passed {
				h.recordDenial(c, h.sessionUser(c), csrfReason(err))
			}
			return err
		}
	}
}

// csrfReason says why the CSRF middleware refused a request.
func csrfReason(err error) string {
	var he *echo.HTTPError
	switch {
	case errors.Is(err, middleware.ErrCSRFInvalid):
		return audit.ReasonCSRFInvalid
	case errors.As(err, &he) && he.Code == http.StatusForbidden:
		return audit.ReasonCSRFCrossSite
	}
	return audit.ReasonCSRFMissing
}

// sessionUser is the user of the request's session cookie, or nil, read
// without recording activity: for naming the actor of a refusal that came
// before the session was loaded.
func (h *Handlers) sessionUser(c echo.Context) *portal.User {
	ck, err := c.Cookie(SessionCookie)
	if err != nil || ck.Value == "" {
		return nil
	}
	sess, err := h.Auth.AuthenticateBackground(c.Request().Context(), ck.Value)
	if err != nil {
		return nil
	}
	return &sess.User
}
