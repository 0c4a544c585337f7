// Package apperr holds the handful of error kinds the portal distinguishes.
// Domain and store code wrap them with %w; the HTTP layer maps a kind to a
// status code in one place.
package apperr

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an error by what the caller can do about it.
type Kind int

// The kinds, from the caller's point of view.
const (
	Internal        Kind = iota // a bug or an unexpected failure: 500
	NotFound                    // the thing does not exist: 404
	Invalid                     // bad input: 422
	Conflict                    // the state changed underneath: 409
	Forbidden                   // not allowed for this user: 403
	Unauthenticated             // not signed in: 401
	Unavailable                 // a dependency (the cloud, the database) is down or slow: 503
	TooMany                     // rate limited: 429
)

func (k Kind) String() string {
	switch k {
	case NotFound:
		return "not found"
	case Invalid:
		return "invalid"
	case Conflict:
		return "conflict"
	case Forbidden:
		return "forbidden"
	case Unauthenticated:
		return "unauthenticated"
	case Unavailable:
		return "unavailable"
	case TooMany:
		return "too many requests"
	}
	return "internal"
}

// Error is an error of a known kind with a message safe to show a user.
type Error struct {
	Kind    Kind
	Message string // shown to the user
	Err     error  // the cause, for logs; never shown
	// Denial, when set, marks a refusal the audit log records as a denied
	// action, with this short fixed reason (e.g. "self-approval"). Every
	// Forbidden error is a denial; Deny marks a refusal of another kind (a
	// stale approval is a Conflict).
	Denial string
	// RetryAfter, when set, is how long the caller should wait before
	// trying again (a rate limit, a busy server): the HTTP layer sends it
	// as Retry-After.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error of kind k with a user-facing message.
func New(k Kind, format string, args ...any) error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an error of kind k with a user-facing message and a cause.
func Wrap(k Kind, cause error, format string, args ...any) error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...), Err: cause}
}

// Deny returns an error of kind k that the audit log records as a denied
// action, for reason: a short fixed text, never user input.
func Deny(k Kind, reason, format string, args ...any) error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...), Denial: reason}
}

// DenialOf returns why err is a denied action, and whether it is one: an
// error made by Deny, or any Forbidden error (reason "forbidden" when it
// names none).
func DenialOf(err error) (string, bool) {
	var e *Error
	if !errors.As(err, &e) {
		return "", false
	}
	switch {
	case e.Denial != "":
		return e.Denial, true
	case e.Kind == Forbidden:
		return "forbidden", true
	}
	return "", false
}

// RetryAfter returns how long the caller of the first *Error in err's chain
// should wait before trying again, or 0 when it does not say.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// KindOf returns the kind of the first *Error in err's chain, or Internal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// Message returns the user-facing message of err, or a generic one for
// errors of no known kind, whose text may hold internals.
func Message(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Something went wrong on our side. The error was logged; please try again."
}
