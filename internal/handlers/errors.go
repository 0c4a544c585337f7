package handlers

import (
	"math"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"drportal/internal/apperr"
)

// statusOf is the one mapping from an error kind to an HTTP status.
func statusOf(k apperr.Kind) int {
	switch k {
	case apperr.NotFound:
		return http.StatusNotFound
	case apperr.Invalid:
		return http.StatusUnprocessableEntity
	case apperr.Conflict:
		return http.StatusConflict
	case apperr.Forbidden:
		return http.StatusForbidden
	case apperr.Unauthenticated:
		return http.StatusUnauthorized
	case apperr.Unavailable:
		return http.StatusServiceUnavailable
	case apperr.TooMany:
		return http.StatusTooManyRequests
	}
	return http.StatusInternalServerError
}

// headingOf is the error page's heading for a kind.
func headingOf(k apperr.Kind) string {
	switch k {
	case apperr.NotFound:
		return "Not found"
	case apperr.Invalid:
		return "Invalid request"
	case apperr.Conflict:
		return "Conflict"
	case apperr.Forbidden:
		return "Not allowed"
	case apperr.Unauthenticated:
		return "Please sign in"
	case apperr.Unavailable:
		return "Temporarily unavailable"
	case apperr.TooMany:
		return "Too many requests"
	}
	return "Something went wrong"
}

// formStatus is the status of a form (or a request card) shown again with
// err's message, and whether err is one to show there at all: bad input,
// a refusal, a conflict, a rate limit, or a dependency (the cloud) that did
// not answer. A re-rendered form is always a 4xx: the answer is the form
// with what to do next, not an error page, and htmx swaps it (it swaps no
// 5xx). A dependency's failure is therefore 424 Failed Dependency. Other
// kinds (not found, not signed in, internal) go to the error page.
// Handlers call it through shownAgain, which first audits a refusal.
func formStatus(err error) (int, bool) {
	switch k := apperr.KindOf(err); k {
	case apperr.Invalid, apperr.Conflict, apperr.Forbidden, apperr.TooMany:
		return statusOf(k), true
	case apperr.Unavailable:
		return http.StatusFailedDependency, true
	}
	return 0, false
}

// setRetryAfter tells the client when to try again (Retry-After, in whole
// seconds) when the error says: a throttled sign-in, a busy server.
func setRetryAfter(c echo.Context, err error) {
	if d := apperr.RetryAfter(err); d > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(d.Seconds()))))
	}
}
