package handlers

import (
	"context"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"drportal/internal/apperr"
	"drportal/internal/audit"
)

// Why a form or action answered with a 4xx changed nothing, as its refusal
// is counted (audit.Refusal's Reason).
const (
	refusedForm      = "form"      // the form had errors (422)
	refusedConflict  = "conflict"  // the state stands in its way (409)
	refusedNotFound  = "not-found" // there is no such thing (404)
	refusedThrottled = audit.ReasonThrottled
)

// refusalStatus is the HTTP status a refusal err is answered with.
func refusalStatus(err error) int {
	switch apperr.KindOf(err) {
	case apperr.Conflict:
		return http.StatusConflict
	case apperr.NotFound:
		return http.StatusNotFound
	case apperr.TooMany:
		return http.StatusTooManyRequests
	}
	return http.StatusUnprocessableEntity
}

// refusalReason is the reason a refusal err is counted under.
func refusalReason(err error) string {
	switch apperr.KindOf(err) {
	case apperr.Conflict:
		return refusedConflict
	case apperr.NotFound:
		return refusedNotFound
	case apperr.TooMany:
		return refusedThrottled
	}
	return refusedForm
}

// recordRefused puts on record that the signed-in person's form or
// action (its event action, about request requestID when not 0, or
// subject) was refused with err and changed nothing: the message shown,
// and detail, each text cut to audit.MaxRefusalText characters. It is
// counted like a denial (db.Store.RecordRefusal): the first of a person's
// refusals of the kind (action and reason) in a minute is appended, the
// rest of that minute counted and summarised once.
func (h *Handlers) recordRefused(c echo.Context, action string, requestID int64, subjectType, subjectID string, detail map[string]any, err error) error {
	ctx := context.WithoutCancel(c.Request().Context())
	e := audit.FromContext(ctx, action, audit.Denied)
	e.OccurredAt = h.Now()
	e.RequestID = requestID
	e.SubjectType, e.SubjectID = subjectType, subjectID
	if requestID != 0 && subjectType == "" {
		e.SubjectType, e.SubjectID = audit.SubjectRequest, strconv.FormatInt(requestID, 10)
	}
	d := make(map[string]any, len(detail)+2)
	for k, v := range detail {
		if s, ok := v.(string); ok {
			v = audit.Clip(s, audit.MaxRefusalText)
		}
		d[k] = v
	}
	reason := refusalReason(err)
	d["error"], d["refused"] = audit.Clip(apperr.Message(err), audit.MaxRefusalText), reason
	d["status"] = refusalStatus(err)
	e.Detail = audit.Detail(d)
	return h.Store.RecordRefusal(ctx, audit.Refusal{First: e, Reason: reason})
}
