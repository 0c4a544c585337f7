package dws

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
)

// Kind classifies a cloud error by what the portal can do about it.
type Kind int

// The kinds of cloud errors.
const (
	KindInternal    Kind = iota // anything not listed: an unexpected answer
	KindNotFound                // the DR task or cluster does not exist (DWS.10101, DWS.0047, ...)
	KindInvalid                 // the request was refused as malformed (400)
	KindConflict                // the name is taken (409 DWS.5050, or an answer saying so)
	KindBusy                    // the cluster or task is in a state that refuses it for now (403 DWS.7023)
	KindIneligible              // a cluster can never be used so (other VPC, encrypted, already paired, type or version): never retried
	KindForbidden               // permission refused (403)
	KindAuth                    // the AK/SK or the clock is wrong (401): never retried
	KindThrottled               // the gateway throttled us (429)
	KindUnavailable             // 5xx, a transport failure or a timeout: the outcome is unknown
	KindUnreadable              // a 2xx whose body did not decode: accepted, response unreadable
	KindBadConfig               // 404 without a DWS code (gateway "API does not exist"): wrong endpoint, region or project
)

func (k Kind) String() string {
	return [...]string{"internal", "not found", "invalid", "conflict", "busy", "ineligible", "forbidden", "authentication",
		"throttled", "unavailable", "unreadable response", "configuration"}[k]
}

// Error is a failed cloud call, keeping what support needs: HTTP status,
// the API's error_code and error_msg, and the X-Request-Id.
type Error struct {
	Op         string // e.g. "create DR task"
	Kind       Kind
	StatusCode int    // 0 when no response arrived
	Code       string // error_code, e.g. DWS.10101
	Message    string // error_msg
	RequestID  string // X-Request-Id of the response
	Err        error  // the transport error, when there was no response
}

// Fields are the cloud's answer as the audit history records it, under the
// names every event uses: status, error_code, error_msg, x_request_id.
func (e *Error) Fields() map[string]any {
	return map[string]any{"status": e.StatusCode, "error_code": e.Code, "error_msg": e.Message, "x_request_id": e.RequestID}
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: ", e.Op)
	switch {
	case e.StatusCode == 0 && e.Err != nil:
		fmt.Fprintf(&b, "no response from the DWS API: %s", clean(e.Err.Error(), maxMessage))
	case e.Kind == KindUnreadable:
		fmt.Fprintf(&b, "the DWS API answered %d but its response could not be read", e.StatusCode)
	default:
		fmt.Fprintf(&b, "DWS API answered %d", e.StatusCode)
		if e.Code != "" {
			fmt.Fprintf(&b, " %s", e.Code)
		}
		if e.Message != "" {
			fmt.Fprintf(&b, ": %s", e.Message)
		}
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (request id %s)", e.RequestID)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Transient reports whether trying again later may succeed: throttling,
// unavailability, timeouts and a busy cluster.
func (e *Error) Transient() bool {
	switch e.Kind {
	case KindThrottled, KindUnavailable, KindBusy:
		return true
	}
	return false
}

// Ambiguous reports whether the call may have taken effect although it did
// not report success: no response, a 5xx, or an unreadable 2xx. After such
// an outcome a non-idempotent call must not be re-sent blindly.
func (e *Error) Ambiguous() bool {
	return e.Kind == KindUnavailable || e.Kind == KindUnreadable || (e.Kind == KindInternal && e.StatusCode >= 500)
}

// AsError returns the *Error in err's chain.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// IsKind reports whether err is a cloud error of kind k.
func IsKind(err error, k Kind) bool {
	e, ok := AsError(err)
	return ok && e.Kind == k
}

// mapError turns what the SDK returned into an *Error.
func mapError(op string, err error) error {
	if err == nil {
		return nil
	}
	var sre *sdkerr.ServiceResponseError
	if errors.As(err, &sre) {
		e := &Error{Op: op, StatusCode: sre.StatusCode, Code: clean(sre.ErrorCode, maxField),
			Message: clean(sre.ErrorMessage, maxMessage), RequestID: cleanRequestID(sre.RequestId)}
		e.Kind = kindOf(sre.StatusCode, sre.ErrorCode, sre.ErrorMessage)
		if sre.StatusCode < 300 {
			// The SDK reports a 2xx it could not decode as an error with an
			// empty code: the call was accepted (dws-dr-api.md §7.3).
			e.Kind = KindUnreadable
			e.Message = ""
		}
		return e
	}
	e := &Error{Op: op, Kind: KindUnavailable, Err: err}
	var ue *url.Error
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		e.Err = context.Canceled
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		e.Err = fmt.Errorf("timed out: %w", context.DeadlineExceeded)
	case errors.As(err, &ue):
		e.Err = ue.Err
	}
	return e
}

// kindOf classifies an HTTP status, error_code and error_msg
// (dws-dr-api.md §5). The codes for a taken name and for a cluster that
// can never be paired are not documented for DR, so their answers are also
// recognised by what they say.
func kindOf(status int, code, msg string) Kind {
	switch {
	case code == "DWS.10101", code == "DWS.0047", code == "DWS.3027", code == "DWS.0015":
		return KindNotFound
	case nameTaken(status, code, msg):
		return KindConflict
	case code == "DWS.5005", (code == "DWS.7023" || status == 403) && permanentRefusal(msg):
		return KindIneligible
	case code == "DWS.7023":
		return KindBusy
	case status == 401 || strings.HasSuffix(code, ".0301"):
		return KindAuth
	case status == 429 || strings.HasSuffix(code, ".0308"):
		return KindThrottled
	case status == 403:
		return KindForbidden
	case status == 404 && strings.HasPrefix(code, "DWS."):
		return KindNotFound
	case status == 404:
		// The gateway's "API does not exist" (APIG.0101) or any other route
		// nobody serves: the request never reached DWS, so it says nothing
		// about the task; the endpoint, region or project is wrong.
		return KindBadConfig
	case status >= 500:
		return KindUnavailable
	case status >= 400:
		return KindInvalid
	}
	return KindInternal
}

// TaskMissing reports whether err is the API's documented answer that the
// DR task asked about does not exist (400 DWS.10101). No other answer
// means that: not a gateway's 404 (KindBadConfig), not "cluster does not
// exist", not a 404 with another code. Even this answer makes a task gone
// only once the task list confirms it is absent.
func TaskMissing(err error) bool {
	e, ok := AsError(err)
	return ok && e.Code == "DWS.10101"
}

// nameTaken reports whether an answer says a name is already in use: the
// documented code for a taken name (DWS.5050, 409), or a message saying so
// ("The DR name already exists.").
func nameTaken(status int, code, msg string) bool {
	if code == "DWS.5050" || status == 409 {
		return true
	}
	m := strings.ToLower(msg)
	return strings.Contains(m, "name") && (strings.Contains(m, "already exist") || strings.Contains(m, "duplicate") ||
		strings.Contains(m, "in use"))
}

// permanentCauses are what an answer names when a cluster can never be used
// as asked, whatever its state later: trying again cannot help.
var permanentCauses = []string{"vpc", "encrypt", "already in a dr", "already in dr", "already paired", "another dr task",
	"version", "not supported", "logical cluster", "storage-compute", "decoupled"}

// permanentRefusal reports whether an error message names a permanent
// cause.
func permanentRefusal(msg string) bool {
	m := strings.ToLower(msg)
	for _, c := range permanentCauses {
		if strings.Contains(m, c) {
			return true
		}
	}
	return false
}
