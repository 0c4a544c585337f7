package auth

import (
	"context"
	"fmt"
	"time"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/db"
)

// Step-up: approving a high-risk operation and changing the approval policy
// need the person at the keyboard to have entered their password lately,
// not only a session that may have been left open or taken. Signing in
// counts; so does entering the password again in the form that asks for it.
// With single sign-on this would be a fresh sign-in at the identity
// provider (a login forced within the window, e.g. OpenID Connect's max_age
// or prompt=login) instead of the portal's own password.

// StepUpWindow is how long an entered password vouches for the person
// using the session.
const StepUpWindow = 5 * time.Minute

// StepUpAge is how long ago the session's person last entered their
// password, on the service's clock.
func (s *Service) StepUpAge(sess db.Session) time.Duration {
	return max(s.Now().Sub(sess.PasswordConfirmedAt), 0)
}

// StepUpFresh reports whether the session's password was entered within
// StepUpWindow.
func (s *Service) StepUpFresh(sess db.Session) bool {
	return s.StepUpAge(sess) < StepUpWindow
}

// ErrWrongStepUpPassword is the answer to a wrong password entered for a
// step-up.
var ErrWrongStepUpPassword = apperr.New(apperr.Invalid, "That is not your password. Nothing was changed.")

// Reauthenticate checks the password of the session's user for a step-up
// (purpose says what for, e.g. "approve request #12", for the audit) and,
// when it is right, records in the session that it was entered now. It
// counts against the sign-in throttle of the user's e-mail and the
// client's address, exactly like a sign-in, so a session cannot be used to
// guess the password: an attempt made while the throttle waits is neither
// checked nor counted (TooMany, the first of each wait audited), a wrong
// password is audited as a failure and comes back as
// ErrWrongStepUpPassword, and the right one ends the wait. The password
// is never recorded.
func (s *Service) Reauthenticate(ctx context.Context, sess db.Session, password string, c Client, purpose string) error {
	u := sess.User
	if password == "" {
		return apperr.New(apperr.Invalid, "Enter your password. Nothing was changed.")
	}
	now := s.Now()
	account, address := throttleAccount(u.Email), throttleAddress(c.IP)
	rows, err := s.Store.SignInThrottles(ctx, account, address)
	if err != nil {
		return fmt.Errorf("reauthenticate %s: %w", u.Email, err)
	}
	if w, refused := s.Throttle.withDefaults().verdict(rows, now); refused {
		return s.refuseStepUp(ctx, w, sess, c, purpose, now)
	}
	turn, err := s.hasher().Begin(ctx)
	if err != nil {
		return err
	}
	defer turn.End()
	if w, refused, err := s.count(ctx, account, address, now); err != nil {
		return fmt.Errorf("reauthenticate %s: %w", u.Email, err)
	} else if refused {
		return s.refuseStepUp(ctx, w, sess, c, purpose, now)
	}
	hash, err := s.Store.PasswordHash(ctx, u.ID)
	if err != nil {
		return fmt.Errorf("reauthenticate %s: %w", u.Email, err)
	}
	ok := false
	if hash != "" && len(password) <= maxPasswordBytes {
		if ok, err = turn.Compare(password, hash); err != nil {
			return fmt.Errorf("reauthenticate %s: %w", u.Email, err)
		}
	}
	turn.End()
	if !ok {
		if _, err := s.Store.AppendAudit(ctx, s.stepUpEvent(ctx, audit.ActionReauthenticationFailed, audit.Failure, sess, now,
			map[string]any{"reason": "wrong password", "for": purpose, "ip": c.IP})); err != nil {
			return err
		}
		return ErrWrongStepUpPassword
	}
	err = s.Store.InTx(ctx, func(tx *db.Tx) error {
		if err := tx.ResetSignInThrottles(ctx, account, address); err != nil {
			return err
		}
		if err := tx.ConfirmSessionPassword(ctx, sess.TokenHash, now); err != nil {
			if apperr.KindOf(err) == apperr.NotFound {
				return apperr.New(apperr.Unauthenticated, "Your session has ended. Please sign in again.")
			}
			return err
		}
		_, err := tx.AppendAudit(ctx, s.stepUpEvent(ctx, audit.ActionReauthenticated, audit.Success, sess, now,
			map[string]any{"for": purpose, "ip": c.IP, "last_entered": sess.PasswordConfirmedAt.UTC()}))
		return err
	})
	if err != nil {
		return fmt.Errorf("reauthenticate %s: %w", u.Email, err)
	}
	return nil
}

// stepUpEvent is an event of a step-up in the session's name.
func (s *Service) stepUpEvent(ctx context.Context, action string, outcome audit.Outcome, sess db.Session, now time.Time,
	detail map[string]any) audit.Event {
	e := audit.FromContext(ctx, action, outcome)
	e.Actor = audit.Actor{ID: sess.User.ID, Name: sess.User.Email}
	e.OccurredAt = now
	e.SubjectType, e.SubjectID = audit.SubjectUser, sess.User.Email
	detail["session"] = sess.ID
	e.Detail = audit.Detail(detail)
	return e
}

// refuseStepUp answers a step-up the sign-in throttle refuses. The first
// refusal of each wait is audited (denied, "throttled"); the rest of a
// flood is not, and it changes nothing.
func (s *Service) refuseStepUp(ctx context.Context, w waiting, sess db.Session, c Client, purpose string, now time.Time) error {
	err := s.Store.InTx(ctx, func(tx *db.Tx) error {
		first, err := tx.MarkThrottleRefusalAudited(ctx, w.row.Account, w.row.Address, w.row.NextAllowedAt)
		if err != nil || !first {
			return err
		}
		scope := "address"
		if w.row.Address == db.AllAddresses {
			scope = "account"
		}
		_, err = tx.AppendAudit(ctx, s.stepUpEvent(ctx, audit.ActionReauthenticationFailed, audit.Denied, sess, now,
			map[string]any{"reason": "throttled", "for": purpose, "ip": c.IP, "throttle": scope,
				"failures": w.row.Failures, "until": w.row.NextAllowedAt.UTC()}))
		return err
	})
	if err != nil {
		return fmt.Errorf("refuse step-up of %s: %w", sess.User.Email, err)
	}
	wait := w.row.NextAllowedAt.Sub(now)
	return &apperr.Error{Kind: apperr.TooMany, RetryAfter: wait, Message: fmt.Sprintf(
		"Too many wrong passwords for your account. Try again in %s (at %s), or ask an admin to clear the sign-in throttle. Nothing was changed.",
		humanWait(wait), w.row.NextAllowedAt.UTC().Format("15:04:05 UTC"))}
}
