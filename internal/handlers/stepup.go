package handlers

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/auth"
	"drportal/internal/portal"
	"drportal/internal/requests"
	"drportal/internal/views"
)

// Step-up (auth.StepUpWindow): approving a high-risk operation and every
// change to the approval policy (proposing one, approving, rejecting or
// withdrawing a proposal) need the person's password entered within the
// last five minutes. The forms ask for it only when the session's is
// older; the server checks it on every such POST, whatever the form
// showed. A setting of the policy added under /admin calls stepUp the same
// way before it changes anything.

// stepUpError marks the error of a step-up, so that the form it comes back
// to points at its password field.
type stepUpError struct{ err error }

func (e *stepUpError) Error() string { return e.err.Error() }
func (e *stepUpError) Unwrap() error { return e.err }

// isStepUp reports whether err is a step-up's.
func isStepUp(err error) bool {
	var s *stepUpError
	return errors.As(err, &s)
}

// stepUp lets the action go on when the session's password was entered
// within auth.StepUpWindow, or is entered right in this form (the field
// views.StepUpFieldName): a right one renews the session's confirmation
// and the action goes on in the same submit. Otherwise nothing changes and
// the form comes back: without the password, refused and recorded as a
// denial (reason step-up); with a wrong one, counted by the sign-in
// throttle and audited like a failed sign-in. what names the action for
// the person ("Approving a failover"), purpose for the audit ("approve
// request #12").
func (h *Handlers) stepUp(c echo.Context, what, purpose string) error {
	sess, ok := session(c)
	if !ok {
		return apperr.New(apperr.Unauthenticated, "Please sign in.")
	}
	if h.Auth.StepUpFresh(sess) {
		return nil
	}
	pw := c.FormValue(views.StepUpFieldName)
	if pw == "" {
		return &stepUpError{apperr.Deny(apperr.Forbidden, audit.ReasonStepUp,
			"%s. Enter it in the form and try again. Nothing was changed.", stepUpWhy(what, h.Auth.StepUpAge(sess)))}
	}
	err := h.Auth.Reauthenticate(c.Request().Context(), sess, pw,
		auth.Client{IP: c.RealIP(), UserAgent: c.Request().UserAgent()}, purpose)
	if err != nil {
		setRetryAfter(c, err)
		return &stepUpError{err}
	}
	// The page that follows, in this answer, no longer asks.
	sess.PasswordConfirmedAt = h.Auth.Now()
	c.Set(ctxSession, sess)
	return nil
}

// stepUpPrompt is the password field a form needing a step-up shows: nil
// while the session's password is fresh.
func (h *Handlers) stepUpPrompt(c echo.Context, what string) *views.StepUp {
	sess, ok := session(c)
	if !ok || h.Auth.StepUpFresh(sess) {
		return nil
	}
	return &views.StepUp{Why: stepUpWhy(what, h.Auth.StepUpAge(sess))}
}

// stepUpWhy says why the password is asked for, and when it was last
// entered.
func stepUpWhy(what string, age time.Duration) string {
	if next := auth.StepUpWindow.Truncate(time.Minute) + time.Minute; age > auth.StepUpWindow && age < next {
		// The first minute past the window says the next whole minute,
		// in the words of any other age ("6 minutes ago"), never
		// "5 minutes ago", which reads as within the window.
		age = next
	}
	return fmt.Sprintf("%s needs your password again: last entered %s", what, ago(age))
}

// stepUpFailed puts a step-up's error on the prompt of the form with key
// form (err from stepUp; nothing when it is not a step-up's).
func stepUpFailed(s *views.StepUp, form string, err error) {
	if s == nil || !isStepUp(err) {
		return
	}
	s.Error, s.ErrorIn = apperr.Message(err), form
}

// approving names the approval of an operation for people.
func approving(op portal.Operation) string {
	if op == portal.OpDelete {
		return "Approving the deletion of a DR task"
	}
	return "Approving a " + strings.ToLower(op.Label())
}

// decideStepUp is the step-up an approval of request id needs: only a
// high-risk one (requests.NeedsStepUp), and only from someone who may
// decide it at all (anyone else is refused by Decide for their own reason).
func (h *Handlers) decideStepUp(c echo.Context, id int64, d portal.Decision) error {
	if d != portal.Approve {
		return nil
	}
	ctx := c.Request().Context()
	r, err := h.Store.Request(ctx, id)
	if err != nil || !requests.NeedsStepUp(r, d) {
		return err
	}
	approvals, err := h.Store.Approvals(ctx, id)
	if err != nil {
		return err
	}
	if ok, _ := requests.CanDecide(*user(c), r, approvals, h.Now()); !ok {
		return nil
	}
	return h.stepUp(c, approving(r.Operation), fmt.Sprintf("approve request #%d", id))
}

// policyStepUp is what a change to the approval policy is called where it
// asks for the password.
const policyStepUp = "Changing the approval policy"

// changesPolicy reports whether an admin change of kind k changes the
// approval policy: every kind but a role grant, so a setting of the policy
// added as a kind of its own needs the step-up too.
func changesPolicy(k portal.ChangeKind) bool { return k != portal.ChangeRoles }

// declineNeedsStepUp reports whether rejecting or withdrawing a waiting
// admin change of kind k asks for the password: only an approval policy's.
// A break-glass or change-window change waits only when it allows more (a
// stricter one takes effect at once), so declining it leaves the portal as
// strict as it is, and needs nothing more than the session.
func declineNeedsStepUp(k portal.ChangeKind) bool {
	return k != portal.ChangeBreakGlass && k != portal.ChangeWindows
}

// changeStepUp is the step-up a decision on admin change id needs: one on
// a policy change that still waits, by an admin who may make it (the
// proposer's own approval is refused by ApproveChange for its own reason),
// but for declining a change that would only loosen the portal
// (declineNeedsStepUp).
// It returns the key of the form the decision came from (approve-<id>,
// reject-<id>, withdraw-<id>) and the change's kind (the page it is on).
func (h *Handlers) changeStepUp(c echo.Context, id int64, approve bool) (string, portal.ChangeKind, error) {
	changes, err := h.Store.PendingAdminChanges(c.Request().Context())
	if err != nil {
		return "", "", err
	}
	me := user(c)
	for _, ch := range changes {
		if ch.ID != id || !changesPolicy(ch.Kind) {
			continue
		}
		form, purpose := fmt.Sprintf("approve-%d", id), fmt.Sprintf("approve admin change #%d", id)
		switch {
		case approve && ch.ProposedBy == me.ID:
			return "", ch.Kind, nil
		case !approve && !declineNeedsStepUp(ch.Kind):
			return "", ch.Kind, nil
		case ch.ProposedBy == me.ID:
			form, purpose = fmt.Sprintf("withdraw-%d", id), fmt.Sprintf("withdraw admin change #%d", id)
		case !approve:
			form, purpose = fmt.Sprintf("reject-%d", id), fmt.Sprintf("reject admin change #%d", id)
		}
		what := policyStepUp
		switch ch.Kind {
		case portal.ChangeBreakGlass:
			what = breakGlassStepUp
		case portal.ChangeWindows:
			what = windowsStepUp
		}
		return form, ch.Kind, h.stepUp(c, what, purpose)
	}
	return "", "", nil
}
