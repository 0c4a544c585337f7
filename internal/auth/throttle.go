package auth

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/db"
	"drportal/internal/portal"
)

// Throttle is how failed sign-ins slow further attempts. Nothing locks an
// account for good: each failure past a free allowance doubles the wait
// before the next attempt is checked, up to MaxDelay, and a sign-in with
// the right password ends the wait. Attempts refused while waiting are not
// checked and do not count, so a flood cannot extend a wait.
//
// Failures count per account and client address, so a flood from one
// address leaves the account's owner free to sign in from another. Across
// all addresses an account counts only the failures each address makes
// within its free allowance: one address alone can never slow the account
// for everyone, many (a distributed guess) can.
type Throttle struct {
	PerAddress int           // failures of one account from one address before it waits (default 5)
	PerAccount int           // failures of one account from all addresses before every address waits (default 25)
	FirstDelay time.Duration // the first wait (default 1 s), doubled after each further failure
	MaxDelay   time.Duration // the longest wait (default 15 min)
	Forget     time.Duration // failures this old no longer count (default 24 h)
}

func (t Throttle) withDefaults() Throttle {
	t.PerAddress = cmp.Or(t.PerAddress, 5)
	t.PerAccount = cmp.Or(t.PerAccount, 25)
	t.FirstDelay = cmp.Or(t.FirstDelay, time.Second)
	t.MaxDelay = cmp.Or(t.MaxDelay, 15*time.Minute)
	t.Forget = cmp.Or(t.Forget, 24*time.Hour)
	return t
}

// delay is the wait after the n-th failure when free failures are free.
func (t Throttle) delay(n, free int) time.Duration {
	if n < free {
		return 0
	}
	d := t.FirstDelay
	for i := free; i < n && d < t.MaxDelay; i++ {
		d *= 2
	}
	return min(d, t.MaxDelay)
}

// throttleAccount is the account a sign-in counts against: the e-mail as
// typed when it is shaped like one (known or not, so the throttle does not
// tell which accounts exist), else one placeholder for everything else, so
// that a password pasted into the e-mail box is never stored.
func throttleAccount(email string) string {
	if EmailShaped(email) {
		return email
	}
	return NotAnEmail
}

// throttleAddress is the address a sign-in counts against: an IPv6
// address's /64, which one host holds whole (audit.ClientNetwork).
func throttleAddress(ip string) string {
	return truncate(audit.ClientNetwork(ip), 100)
}

// waiting is a throttle that refuses attempts until a time.
type waiting struct {
	row db.SignInThrottle
}

// verdict returns the throttle that makes an attempt wait at now, if any,
// from an account's throttles for the address and across addresses.
func (t Throttle) verdict(rows []db.SignInThrottle, now time.Time) (waiting, bool) {
	var w waiting
	found := false
	for _, r := range rows {
		// A row imposes a wait only when its failure set one: with no delay
		// its next allowed time is its failure's own time, which an attempt
		// that began a moment earlier would otherwise take for a wait.
		if r.LastFailureAt.After(now.Add(-t.Forget)) && r.NextAllowedAt.After(r.LastFailureAt) && r.NextAllowedAt.After(now) &&
			(!found || r.NextAllowedAt.After(w.row.NextAllowedAt)) {
			w, found = waiting{row: r}, true
		}
	}
	return w, found
}

// refusal is the answer to an attempt a throttle refuses.
func (w waiting) refusal(now time.Time) error {
	wait := w.row.NextAllowedAt.Sub(now)
	when := fmt.Sprintf("Try again in %s (at %s)", humanWait(wait), w.row.NextAllowedAt.UTC().Format("15:04:05 UTC"))
	msg := "Too many failed sign-ins for this account from your address. " + when + "."
	if w.row.Address == db.AllAddresses {
		msg = "Too many failed sign-ins for this account from several addresses. " + when + ", or ask an admin to clear the throttle."
	}
	return &apperr.Error{Kind: apperr.TooMany, Message: msg, RetryAfter: wait}
}

// humanWait says a wait in whole seconds or minutes, rounded up.
func humanWait(d time.Duration) string {
	if d <= 90*time.Second {
		s := int((d + time.Second - 1) / time.Second)
		if s <= 1 {
			return "1 second"
		}
		return fmt.Sprintf("%d seconds", s)
	}
	return fmt.Sprintf("%d minutes", int((d+time.Minute-1)/time.Minute))
}

// count counts a failure on an account's throttles before the password is
// checked, so that attempts in parallel cannot pass one wait together; a
// right password resets them afterwards. It returns the throttle that
// refuses the attempt instead, if one does by now.
func (s *Service) count(ctx context.Context, account, address string, now time.Time) (waiting, bool, error) {
	t := s.Throttle.withDefaults()
	var w waiting
	refused := false
	err := s.Store.InTx(ctx, func(tx *db.Tx) error {
		rows, err := tx.LockSignInThrottles(ctx, account, address)
		if err != nil {
			return err
		}
		if w, refused = t.verdict(rows, now); refused {
			return nil
		}
		mine := db.SignInThrottle{Account: account, Address: address}
		all := db.SignInThrottle{Account: account, Address: db.AllAddresses}
		for _, r := range rows {
			if !r.LastFailureAt.After(now.Add(-t.Forget)) {
				continue // forgotten: counts as none
			}
			if r.Address == db.AllAddresses {
				all = r
			} else {
				mine = r
			}
		}
		mine.Failures++
		mine.LastFailureAt, mine.NextAllowedAt, mine.RefusalAudited = now, now.Add(t.delay(mine.Failures, t.PerAddress)), false
		if err := tx.SaveSignInThrottle(ctx, mine); err != nil {
			return err
		}
		if mine.Failures > t.PerAddress {
			return nil // past its allowance, an address no longer counts for the whole account
		}
		all.Failures++
		all.LastFailureAt, all.NextAllowedAt, all.RefusalAudited = now, now.Add(t.delay(all.Failures, t.PerAccount)), false
		return tx.SaveSignInThrottle(ctx, all)
	})
	if err != nil {
		return waiting{}, false, fmt.Errorf("count sign-in attempt: %w", err)
	}
	return w, refused, nil
}

// refuse answers an attempt a throttle refuses. The first refusal of each
// wait is audited (denied, "throttled"); the rest of a flood is not, so it
// cannot fill the audit history, and it changes nothing.
func (s *Service) refuse(ctx context.Context, w waiting, typed string, c Client, now time.Time) error {
	err := s.Store.InTx(ctx, func(tx *db.Tx) error {
		first, err := tx.MarkThrottleRefusalAudited(ctx, w.row.Account, w.row.Address, w.row.NextAllowedAt)
		if err != nil || !first {
			return err
		}
		scope := "address"
		if w.row.Address == db.AllAddresses {
			scope = "account"
		}
		e := signInFailed(ctx, typed, now, audit.Denied, map[string]any{"reason": "throttled", "ip": c.IP, "user_id": 0,
			"throttle": scope, "failures": w.row.Failures, "until": w.row.NextAllowedAt.UTC()})
		_, err = tx.AppendAudit(ctx, e)
		return err
	})
	if err != nil {
		return fmt.Errorf("refuse sign-in: %w", err)
	}
	return w.refusal(now)
}

// ThrottleRow is a sign-in throttle as an admin sees it.
type ThrottleRow struct {
	db.SignInThrottle
	// Waiting: attempts are refused until NextAllowedAt.
	Waiting bool
}

// MaxListedThrottles bounds the admin page.
const MaxListedThrottles = 200

// SignInThrottles lists the throttles that still hold failures, those
// making someone wait first.
func (s *Service) SignInThrottles(ctx context.Context) ([]ThrottleRow, error) {
	t := s.Throttle.withDefaults()
	now := s.Now()
	rows, err := s.Store.ListSignInThrottles(ctx, now, now.Add(-t.Forget), MaxListedThrottles)
	if err != nil {
		return nil, err
	}
	out := make([]ThrottleRow, len(rows))
	for i, r := range rows {
		out[i] = ThrottleRow{SignInThrottle: r, Waiting: r.NextAllowedAt.After(now)}
	}
	return out, nil
}

// ClearThrottle removes one throttle, so the next attempt it covers is
// checked at once; only admins may. It is audited in the same transaction.
func (s *Service) ClearThrottle(ctx context.Context, admin portal.User, account, address string) (db.SignInThrottle, error) {
	if err := requireAdmin(admin); err != nil {
		return db.SignInThrottle{}, err
	}
	account, address = strings.TrimSpace(account), strings.TrimSpace(address)
	if account == "" || len(account) > 254 || len(address) > 100 {
		return db.SignInThrottle{}, apperr.New(apperr.Invalid, "Choose a throttle from the list. Nothing was changed.")
	}
	// An admin's own throttle is another admin's to clear: a stolen admin
	// session must not lift the wait on guessing its own password (the
	// step-up's throttle).
	if strings.EqualFold(account, admin.Email) || account == PasswordChangeAccount(admin.ID) {
		return db.SignInThrottle{}, apperr.Deny(apperr.Forbidden, audit.ReasonOwnThrottle,
			"You cannot clear a throttle of your own account: another admin must clear it. Nothing was changed.")
	}
	var out db.SignInThrottle
	err := s.Store.InTx(ctx, func(tx *db.Tx) error {
		r, err := tx.ClearSignInThrottle(ctx, account, address)
		if apperr.KindOf(err) == apperr.NotFound {
			return apperr.New(apperr.Conflict, "There is no such throttle any more (it was cleared, or a sign-in ended it). Nothing was changed.")
		}
		if err != nil {
			return err
		}
		out = r
		e := audit.FromContext(ctx, audit.ActionSignInThrottleCleared, audit.Success)
		e.OccurredAt = s.Now()
		e.SubjectType, e.SubjectID = audit.SubjectUser, r.Account
		e.Detail = audit.Detail(map[string]any{"address": r.Address, "failures": r.Failures,
			"next_allowed_at": r.NextAllowedAt.UTC(), "last_failure_at": r.LastFailureAt.UTC()})
		_, err = tx.AppendAudit(ctx, e)
		return err
	})
	return out, err
}

// PruneThrottles removes throttles whose failures are forgotten.
func (s *Service) PruneThrottles(ctx context.Context) (int64, error) {
	return s.Store.DeleteForgottenSignInThrottles(ctx, s.Now().Add(-s.Throttle.withDefaults().Forget))
}
