package auth

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/db"
	"drportal/internal/portal"
)

// maxPasswordBytes bounds what is hashed: argon2id takes any length, but a
// megabyte "password" is no password.
const maxPasswordBytes = 1000

// Wrong current passwords on the change form slow further attempts as
// failed sign-ins do (see Throttle), so a stolen session cannot be used to
// guess the password: this many are free, then each further one doubles
// the wait before the next attempt is checked, up to the throttle's
// MaxDelay. They count per user in sign_in_throttles under
// PasswordChangeAccount across all addresses, so admins see and clear them
// with the sign-in throttles; a change with the right current password and
// an admin's password reset end the wait.
const MaxWrongCurrentPasswords = 5

// PasswordChangeAccount is the throttle account that counts a user's wrong
// current passwords. It is never shaped like an e-mail, so no sign-in
// counts against it.
func PasswordChangeAccount(userID int64) string {
	return fmt.Sprintf("password-change:%d", userID)
}

// PasswordChange is a person's change of their own password: the form's
// three fields.
type PasswordChange struct {
	Current string
	New     string
	Repeat  string
}

// Validate returns what is wrong with the form itself, by field
// (current_password, new_password, repeat_password), before any password
// is checked.
func (p PasswordChange) Validate() map[string]string {
	errs := map[string]string{}
	if p.Current == "" {
		errs["current_password"] = "Enter your current password."
	}
	switch n := utf8.RuneCountInString(p.New); {
	case n < MinPasswordLength:
		errs["new_password"] = fmt.Sprintf("The new password needs at least %d characters.", MinPasswordLength)
	case len(p.New) > maxPasswordBytes:
		errs["new_password"] = fmt.Sprintf("The new password may have at most %d characters.", maxPasswordBytes)
	case p.New == p.Current:
		errs["new_password"] = "Choose a new password that differs from the current one."
	}
	if p.Repeat != p.New {
		errs["repeat_password"] = "The two new passwords are not the same."
	}
	return errs
}

// ownEvent is an event a user causes about their own account.
func (s *Service) ownEvent(ctx context.Context, action string, outcome audit.Outcome, u portal.User, detail map[string]any) audit.Event {
	e := audit.FromContext(ctx, action, outcome)
	e.Actor = audit.Actor{ID: u.ID, Name: u.Email}
	e.OccurredAt = s.Now()
	e.SubjectType, e.SubjectID = audit.SubjectUser, u.Email
	e.Detail = audit.Detail(detail)
	return e
}

// ChangePassword changes the password of the session's user, who must give
// their current one. Problems with the form, and a wrong current password,
// come back by field and change nothing; a wrong current password is
// audited and counted before it is checked, so attempts in parallel cannot
// pass the allowance together (see MaxWrongCurrentPasswords). An attempt
// made while the user must wait is neither checked nor counted, and only
// the first of each wait is audited. Checking and hashing take one turn of
// the service's Hasher, as at sign-in.
// On success every other session of the user ends and this one continues
// under a new token, which is returned; the change, the ended sessions, the
// end of the wait and the audit event commit together. No password is ever
// recorded.
func (s *Service) ChangePassword(ctx context.Context, sess db.Session, p PasswordChange) (token string, errs map[string]string, err error) {
	u := sess.User
	if errs := p.Validate(); len(errs) > 0 {
		return "", errs, nil
	}
	now := s.Now()
	account := PasswordChangeAccount(u.ID)
	// A waiting throttle refuses before the attempt takes a hasher's turn,
	// so a flood that is refused costs no hashing.
	rows, err := s.Store.SignInThrottles(ctx, account, db.AllAddresses)
	if err != nil {
		return "", nil, fmt.Errorf("change password of %s: %w", u.Email, err)
	}
	if w, refused := s.Throttle.withDefaults().verdict(rows, now); refused {
		return "", nil, s.refuseChange(ctx, w, u, now)
	}
	turn, err := s.hasher().Begin(ctx)
	if err != nil {
		return "", nil, err
	}
	defer turn.End()
	if w, refused, err := s.countChange(ctx, account, now); err != nil {
		return "", nil, fmt.Errorf("change password of %s: %w", u.Email, err)
	} else if refused {
		return "", nil, s.refuseChange(ctx, w, u, now)
	}
	oldHash, err := s.Store.PasswordHash(ctx, u.ID)
	if err != nil {
		return "", nil, err
	}
	ok := false
	if oldHash != "" {
		if ok, err = turn.Compare(p.Current, oldHash); err != nil {
			return "", nil, fmt.Errorf("change password of %s: %w", u.Email, err)
		}
	}
	if !ok {
		turn.End()
		if _, err := s.Store.AppendAudit(ctx, s.ownEvent(ctx, audit.ActionPasswordChangeFailed, audit.Failure, u,
			map[string]any{"reason": "wrong current password"})); err != nil {
			return "", nil, err
		}
		return "", map[string]string{"current_password": "This is not your current password. Nothing was changed."}, nil
	}
	newHash, err := turn.Create(p.New, s.params())
	if err != nil {
		return "", nil, err
	}
	turn.End()
	token, tokenHash := NewToken()
	err = s.Store.InTx(ctx, func(tx *db.Tx) error {
		if err := tx.ChangePassword(ctx, u.ID, oldHash, newHash, s.Now()); err != nil {
			return err
		}
		if err := tx.ResetSignInThrottles(ctx, account, db.AllAddresses); err != nil {
			return err
		}
		ended, err := tx.EndSessionsOf(ctx, u.ID, sess.TokenHash)
		if err != nil {
			return err
		}
		if err := tx.RotateSession(ctx, sess.TokenHash, tokenHash); err != nil {
			if apperr.KindOf(err) == apperr.NotFound {
				return apperr.New(apperr.Unauthenticated, "Your session has ended. Please sign in again.")
			}
			return err
		}
		// required: the password replaced was a temporary one an admin set
		// (a new account's or a reset's).
		_, err = tx.AppendAudit(ctx, s.ownEvent(ctx, audit.ActionPasswordChanged, audit.Success, u,
			map[string]any{"other_sessions_ended": ended, "required": u.MustChangePassword}))
		return err
	})
	if err != nil {
		return "", nil, fmt.Errorf("change password of %s: %w", u.Email, err)
	}
	return token, nil, nil
}

// countChange counts a wrong current password on a user's throttle before
// the password is checked, under the throttle's lock, so that attempts in
// parallel cannot pass one wait together; a right password removes it
// afterwards. It returns the throttle that refuses the attempt instead, if
// one does by now.
func (s *Service) countChange(ctx context.Context, account string, now time.Time) (waiting, bool, error) {
	t := s.Throttle.withDefaults()
	var w waiting
	refused := false
	err := s.Store.InTx(ctx, func(tx *db.Tx) error {
		rows, err := tx.LockSignInThrottles(ctx, account, db.AllAddresses)
		if err != nil {
			return err
		}
		if w, refused = t.verdict(rows, now); refused {
			return nil
		}
		r := db.SignInThrottle{Account: account, Address: db.AllAddresses}
		for _, x := range rows {
			if x.Address == db.AllAddresses && x.LastFailureAt.After(now.Add(-t.Forget)) {
				r = x // else forgotten: counts as none
			}
		}
		r.Failures++
		r.LastFailureAt, r.NextAllowedAt, r.RefusalAudited = now, now.Add(t.delay(r.Failures, MaxWrongCurrentPasswords)), false
		return tx.SaveSignInThrottle(ctx, r)
	})
	if err != nil {
		return waiting{}, false, fmt.Errorf("count password change attempt: %w", err)
	}
	return w, refused, nil
}

// refuseChange answers a password change the throttle refuses. The first
// refusal of each wait is audited (denied, "throttled"); the rest of a
// flood is not, and it changes nothing.
func (s *Service) refuseChange(ctx context.Context, w waiting, u portal.User, now time.Time) error {
	err := s.Store.InTx(ctx, func(tx *db.Tx) error {
		first, err := tx.MarkThrottleRefusalAudited(ctx, w.row.Account, w.row.Address, w.row.NextAllowedAt)
		if err != nil || !first {
			return err
		}
		_, err = tx.AppendAudit(ctx, s.ownEvent(ctx, audit.ActionPasswordChangeFailed, audit.Denied, u,
			map[string]any{"reason": "throttled", "failures": w.row.Failures, "until": w.row.NextAllowedAt.UTC()}))
		return err
	})
	if err != nil {
		return fmt.Errorf("refuse password change of %s: %w", u.Email, err)
	}
	wait := w.row.NextAllowedAt.Sub(now)
	return &apperr.Error{Kind: apperr.TooMany, RetryAfter: wait, Message: fmt.Sprintf(
		"Too many wrong current passwords. Try again in %s (at %s), or ask an admin to reset your password. Nothing was changed.",
		humanWait(wait), w.row.NextAllowedAt.UTC().Format("15:04:05 UTC"))}
}

// PasswordStamp names the password an account has now: when it was last
// set ("0": never since the account was created). The reset form carries
// it, so that a reset is of the password the admin saw, and the same form
// posted again (a reload of the answer) resets nothing.
func PasswordStamp(u portal.User) string {
	if u.PasswordChangedAt.IsZero() {
		return "0"
	}
	return strconv.FormatInt(u.PasswordChangedAt.UnixMicro(), 10)
}

// temporaryAlphabet has no characters people mix up when reading a
// password aloud or copying it by hand: no 0/O/o, no 1/l/I.
const temporaryAlphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// TemporaryPassword returns a password for an admin to hand over: 20
// characters of temporaryAlphabet (about 116 bits), in groups of four.
func TemporaryPassword() string {
	var b strings.Builder
	buf := make([]byte, 1)
	for n := 0; n < 20; {
		_, _ = rand.Read(buf) // crypto/rand never fails on Linux
		// Rejection sampling: an even spread over the alphabet.
		if int(buf[0]) >= 256-256%len(temporaryAlphabet) {
			continue
		}
		if n > 0 && n%4 == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(temporaryAlphabet[int(buf[0])%len(temporaryAlphabet)])
		n++
	}
	return b.String()
}

// ResetPassword gives a user a temporary password, returned to show to the
// admin this once, ends their sessions and any wait for a password change,
// and requires them to choose a new password at their next sign-in. Only admins may, and not for themselves:
// they change their own on their profile, with their current password.
// stamp is the PasswordStamp the admin's form was shown with: a password
// set since (by this very reset, posted again) is a Conflict.
func (s *Service) ResetPassword(ctx context.Context, admin portal.User, userID int64, stamp string) (string, portal.User, error) {
	if err := requireAdmin(admin); err != nil {
		return "", portal.User{}, err
	}
	if userID == admin.ID {
		return "", portal.User{}, apperr.New(apperr.Conflict,
			"You cannot reset your own password here: change it on your profile page. Nothing was changed.")
	}
	temporary := TemporaryPassword()
	hash, err := s.HashPassword(temporary)
	if err != nil {
		return "", portal.User{}, err
	}
	var out portal.User
	err = s.Store.InTx(ctx, func(tx *db.Tx) error {
		// Under the lock grants are applied under: a grant committing while
		// this reset waits would otherwise be unseen by its checks.
		if err := tx.LockAdminChanges(ctx); err != nil {
			return err
		}
		if err := stillAdmin(ctx, tx, admin); err != nil {
			return err
		}
		u, err := tx.UserForUpdate(ctx, userID)
		if err != nil {
			return err
		}
		if stamp != PasswordStamp(u) {
			return apperr.New(apperr.Conflict, "The password of %s was set at %s, after this form was shown (by a reset, possibly this same one "+
				"sent again). Nothing was changed. A temporary password is shown once, in the answer to its reset: if it was lost, reset again.",
				u.Email, u.PasswordChangedAt.UTC().Format("2006-01-02 15:04:05 UTC"))
		}
		if err := resettable(ctx, tx, u); err != nil {
			return err
		}
		if err := tx.ResetPassword(ctx, u.ID, hash, s.Now()); err != nil {
			return err
		}
		ended, err := tx.EndSessionsOf(ctx, u.ID, nil)
		if err != nil {
			return err
		}
		// The wrong current passwords counted against the old password no
		// longer say anything: the user chooses a new one at once.
		detail := map[string]any{"sessions_ended": ended}
		cleared, err := tx.ClearSignInThrottle(ctx, PasswordChangeAccount(u.ID), db.AllAddresses)
		switch {
		case err == nil:
			detail["wrong_current_passwords_cleared"] = cleared.Failures
		case apperr.KindOf(err) != apperr.NotFound:
			return err
		}
		out = u
		out.MustChangePassword = true
		_, err = tx.AppendAudit(ctx, s.userEvent(ctx, audit.ActionPasswordReset, u, detail))
		return err
	})
	if err != nil {
		return "", portal.User{}, err
	}
	return temporary, out, nil
}

// Sessions returns a user's live sessions, the most recently used first.
func (s *Service) Sessions(ctx context.Context, userID int64) ([]db.SessionInfo, error) {
	now := s.Now()
	return s.Store.SessionsOf(ctx, userID, now, now.Add(-cmp.Or(s.IdleTimeout, 2*time.Hour)))
}

// EndSession ends session id of the session's user: one of their other
// sessions. The session in use is ended by signing out; anyone else's
// session is NotFound and stays.
func (s *Service) EndSession(ctx context.Context, sess db.Session, id int64) (db.SessionInfo, error) {
	if id == sess.ID {
		return db.SessionInfo{}, apperr.New(apperr.Conflict, "This is the session you are using: sign out to end it. Nothing was changed.")
	}
	var out db.SessionInfo
	err := s.Store.InTx(ctx, func(tx *db.Tx) error {
		info, err := tx.EndSessionOf(ctx, sess.User.ID, id, sess.TokenHash)
		if err != nil {
			return err
		}
		out = info
		_, err = tx.AppendAudit(ctx, s.ownEvent(ctx, audit.ActionSessionEnded, audit.Success, sess.User,
			map[string]any{"session": info.ID, "ip": info.IP, "user_agent": truncate(info.UserAgent, 200)}))
		return err
	})
	return out, err
}

// SignOutEverywhere ends every session of the session's user, this one
// included, and reports how many ended.
func (s *Service) SignOutEverywhere(ctx context.Context, sess db.Session) (int64, error) {
	var ended int64
	err := s.Store.InTx(ctx, func(tx *db.Tx) error {
		var err error
		if ended, err = tx.EndSessionsOf(ctx, sess.User.ID, nil); err != nil {
			return err
		}
		_, err = tx.AppendAudit(ctx, s.ownEvent(ctx, audit.ActionSignOutEverywhere, audit.Success, sess.User,
			map[string]any{"sessions_ended": ended}))
		return err
	})
	return ended, err
}

// resettable refuses a reset that would let the admin who sees the
// temporary password act as an approver or an admin: of an account
// holding either role, or one a grant of either waits for. Such a user's
// way back is to lose the role, be reset, and be given it again, which a
// second admin approves.
func resettable(ctx context.Context, tx *db.Tx, u portal.User) error {
	if held := PrivilegedRoles(u); len(held) > 0 {
		it := "it"
		if len(held) > 1 {
			it = "them"
		}
		return apperr.Deny(apperr.Conflict, audit.ReasonPrivilegedReset, "%s holds %s, and whoever sees a temporary password could act as them. "+
			"Take %s away first, reset the password, then give %s back (another admin approves that; as a new approver they decide only requests filed after). Nothing was changed.",
			u.Email, portal.RolePhrase(held), it, it)
	}
	changes, err := tx.PendingAdminChanges(ctx)
	if err != nil {
		return err
	}
	for _, c := range changes {
		if c.UserID == u.ID && slices.ContainsFunc(c.Grant, privileged) {
			return apperr.Deny(apperr.Conflict, audit.ReasonPrivilegedReset, "A grant of roles to %s waits for a second admin (change #%d): withdraw or reject it before resetting the password. Nothing was changed.", u.Email, c.ID)
		}
	}
	return nil
}

// privilegedRoles can each cause a change without a second person's
// say: whoever sees a temporary password of their holder must not be able
// to act as them.
var privilegedRoles = []portal.Role{RoleAdmin, RoleApprover, portal.RoleResponder}

func privileged(r portal.Role) bool { return slices.Contains(privilegedRoles, r) }

// PrivilegedRoles are the roles u holds that keep an admin from resetting
// u's password: approver, admin and responder (who may break glass alone).
func PrivilegedRoles(u portal.User) []portal.Role {
	var out []portal.Role
	for _, r := range privilegedRoles {
		if u.Has(r) {
			out = append(out, r)
		}
	}
	return out
}
