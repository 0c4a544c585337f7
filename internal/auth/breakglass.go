package auth

import (
	"context"
	"errors"
	"fmt"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/db"
	"drportal/internal/portal"
)

// ErrWrongPassword is a password re-entered for break-glass that is not
// the account's.
var ErrWrongPassword = apperr.New(apperr.Invalid, "This is not your password. Nothing was done.")

// ConfirmPassword checks the password u re-entered to break glass. It
// counts like a wrong current password on the change-password form (one
// throttle per user, PasswordChangeAccount: a stolen session gets no more
// guesses by using both forms): counted before it is checked, refused
// without a check while the user must wait, and ended by a right password.
// A wrong password is audited (break_glass.refused, failure), and so is
// the first refusal of each wait (denied); nothing else changes. It returns
// ErrWrongPassword or the throttle's TooMany refusal.
func (s *Service) ConfirmPassword(ctx context.Context, u portal.User, pw string) error {
	if pw == "" || len(pw) > maxPasswordBytes {
		return s.wrongPassword(ctx, u, "no password entered")
	}
	now := s.Now()
	account := PasswordChangeAccount(u.ID)
	rows, err := s.Store.SignInThrottles(ctx, account, db.AllAddresses)
	if err != nil {
		return fmt.Errorf("confirm password of %s: %w", u.Email, err)
	}
	if w, refused := s.Throttle.withDefaults().verdict(rows, now); refused {
		return s.refuseConfirm(ctx, w, u)
	}
	turn, err := s.hasher().Begin(ctx)
	if err != nil {
		return err
	}
	defer turn.End()
	if w, refused, err := s.countChange(ctx, account, now); err != nil {
		return fmt.Errorf("confirm password of %s: %w", u.Email, err)
	} else if refused {
		return s.refuseConfirm(ctx, w, u)
	}
	hash, err := s.Store.PasswordHash(ctx, u.ID)
	if err != nil {
		return err
	}
	ok := false
	if hash != "" {
		if ok, err = turn.Compare(pw, hash); err != nil {
			return fmt.Errorf("confirm password of %s: %w", u.Email, err)
		}
	}
	turn.End()
	if !ok {
		return s.wrongPassword(ctx, u, "wrong password")
	}
	return s.Store.InTx(ctx, func(tx *db.Tx) error { return tx.ResetSignInThrottles(ctx, account, db.AllAddresses) })
}

func (s *Service) wrongPassword(ctx context.Context, u portal.User, reason string) error {
	if _, err := s.Store.AppendAudit(ctx, s.ownEvent(ctx, audit.ActionBreakGlassRefused, audit.Failure, u,
		map[string]any{"reason": reason})); err != nil {
		return err
	}
	return ErrWrongPassword
}

// refuseConfirm answers a password the throttle does not let be checked;
// the first refusal of each wait is audited.
func (s *Service) refuseConfirm(ctx context.Context, w waiting, u portal.User) error {
	now := s.Now()
	err := s.Store.InTx(ctx, func(tx *db.Tx) error {
		first, err := tx.MarkThrottleRefusalAudited(ctx, w.row.Account, w.row.Address, w.row.NextAllowedAt)
		if err != nil || !first {
			return err
		}
		_, err = tx.AppendAudit(ctx, s.ownEvent(ctx, audit.ActionBreakGlassRefused, audit.Denied, u,
			map[string]any{"reason": "throttled", "failures": w.row.Failures, "until": w.row.NextAllowedAt.UTC()}))
		return err
	})
	if err != nil {
		return fmt.Errorf("refuse password of %s: %w", u.Email, err)
	}
	wait := w.row.NextAllowedAt.Sub(now)
	return &apperr.Error{Kind: apperr.TooMany, RetryAfter: wait, Message: fmt.Sprintf(
		"Too many wrong passwords. Try again in %s (at %s), or ask an admin to clear the throttle. Nothing was done.",
		humanWait(wait), w.row.NextAllowedAt.UTC().Format("15:04:05 UTC"))}
}

// SetBreakGlass changes the break-glass settings. A change that makes the
// portal no stricter than it is (turning it on, more operations, a later
// review) waits for a second admin as an admin change; one that makes it
// stricter (turning it off above all) takes effect at once, so that one
// admin can stop break-glass during an abuse. Field problems come back as
// a map and change nothing. applied says whether it is in effect.
func (s *Service) SetBreakGlass(ctx context.Context, admin portal.User, p portal.BreakGlassPolicy) (c portal.AdminChange, applied bool, errs map[string]string, err error) {
	if err := requireAdmin(admin); err != nil {
		return portal.AdminChange{}, false, nil, apperr.New(apperr.Forbidden, "Only admins can change the break-glass settings.")
	}
	p = p.Normalized()
	if errs := p.Validate(); len(errs) > 0 {
		return portal.AdminChange{}, false, errs, nil
	}
	now := s.Now()
	c = portal.AdminChange{Kind: portal.ChangeBreakGlass, BreakGlass: p, ProposedBy: admin.ID, ProposedByEmail: admin.Email,
		ProposedAt: now, Status: portal.ChangePending}
	err = s.Store.InTx(ctx, func(tx *db.Tx) error {
		if err := tx.LockAdminChanges(ctx); err != nil {
			return err
		}
		if err := stillAdmin(ctx, tx, admin); err != nil {
			return err
		}
		cur, err := tx.BreakGlassPolicy(ctx)
		if err != nil {
			return err
		}
		if p.Same(cur) {
			return errSameBreakGlass
		}
		// Saving what a waiting change proposes would replace it with
		// itself, under another proposer: it is approved (or rejected)
		// where it waits, not proposed again.
		waiting, err := tx.PendingAdminChanges(ctx)
		if err != nil {
			return err
		}
		for _, w := range waiting {
			if w.Kind == portal.ChangeBreakGlass && p.Same(w.BreakGlass) {
				return &sameAsWaiting{id: w.ID}
			}
		}
		if p.Stricter(cur) {
			// A waiting change that would widen it again is withdrawn: the
			// latest word is the stricter one.
			superseded, err := tx.SupersedeAdminChanges(ctx, portal.ChangeBreakGlass, 0, now, admin.ID,
				"withdrawn: the break-glass settings were made stricter at once")
			if err != nil {
				return err
			}
			if superseded != 0 {
				if _, err := tx.AppendAudit(ctx, s.changeEvent(ctx, audit.ActionChangeWithdrawn,
					portal.AdminChange{ID: superseded, Kind: portal.ChangeBreakGlass},
					map[string]any{"reason": "the break-glass settings were made stricter at once"})); err != nil {
					return err
				}
				c.Supersedes = superseded
			}
			p.CreatedBy, p.CreatedAt = admin.ID, now
			saved, err := tx.InsertBreakGlassPolicy(ctx, p)
			if err != nil {
				return err
			}
			applied = true
			return s.breakGlassEvent(ctx, tx, cur, saved, map[string]any{"approved_by": "nobody: a stricter setting takes effect at once"})
		}
		id, superseded, err := tx.ProposeAdminChange(ctx, c)
		if err != nil {
			return err
		}
		c.ID, c.Supersedes = id, superseded
		lastOn, err := lastOnDetail(ctx, tx)
		if err != nil {
			return err
		}
		detail := map[string]any{"from": breakGlassDetail(cur), "to": breakGlassDetail(p), "last_on": lastOn}
		if superseded != 0 {
			detail["supersedes"] = superseded
			if _, err := tx.AppendAudit(ctx, s.changeEvent(ctx, audit.ActionChangeWithdrawn,
				portal.AdminChange{ID: superseded, Kind: portal.ChangeBreakGlass},
				map[string]any{"reason": fmt.Sprintf("replaced by change #%d", id)})); err != nil {
				return err
			}
		}
		_, err = tx.AppendAudit(ctx, s.changeEvent(ctx, audit.ActionChangeProposed, c, detail))
		return err
	})
	if errors.Is(err, errSameBreakGlass) {
		return portal.AdminChange{}, false, map[string]string{"break_glass": "These are the settings in effect: change something to save."}, nil
	}
	var same *sameAsWaiting
	if errors.As(err, &same) {
		return portal.AdminChange{}, false, map[string]string{"break_glass": fmt.Sprintf("These are the settings of change #%d, which waits "+
			"for a second admin: nothing was saved. Another admin approves or rejects it above; change something to replace it.", same.id)}, nil
	}
	return c, applied, nil, err
}

var errSameBreakGlass = errors.New("the break-glass settings are the ones in effect")

// sameAsWaiting refuses new break-glass settings that are those of
// waiting change id.
type sameAsWaiting struct{ id int64 }

func (e *sameAsWaiting) Error() string {
	return fmt.Sprintf("the break-glass settings are those of waiting change #%d", e.id)
}

// lastOnDetail is, for the record of a change the second admin decides,
// the settings it is compared with: the last in effect while break-glass
// was on, or "never on".
func lastOnDetail(ctx context.Context, tx *db.Tx) (any, error) {
	last, ok, err := tx.LastBreakGlassOn(ctx)
	if err != nil || !ok {
		return "never on", err
	}
	return breakGlassDetail(last.Policy), nil
}

func breakGlassDetail(p portal.BreakGlassPolicy) map[string]any {
	return map[string]any{"version": p.Version, "enabled": p.Enabled, "operations": p.Operations, "review_days": p.ReviewDays}
}

// breakGlassEvent audits new break-glass settings in tx.
func (s *Service) breakGlassEvent(ctx context.Context, tx *db.Tx, from, to portal.BreakGlassPolicy, detail map[string]any) error {
	detail["from"], detail["to"] = breakGlassDetail(from), breakGlassDetail(to)
	e := audit.FromContext(ctx, audit.ActionBreakGlassPolicy, audit.Success)
	e.OccurredAt = s.Now()
	e.SubjectType, e.SubjectID = audit.SubjectPolicy, fmt.Sprintf("break-glass %d", to.Version)
	e.Detail = audit.Detail(detail)
	_, err := tx.AppendAudit(ctx, e)
	return err
}

// applyBreakGlass applies a waiting break-glass change c as admin, the
// second admin (ApproveChange).
func (s *Service) applyBreakGlass(ctx context.Context, tx *db.Tx, admin portal.User, c portal.AdminChange, who map[string]any) error {
	cur, err := tx.BreakGlassPolicy(ctx)
	if err != nil {
		return err
	}
	p := c.BreakGlass.Normalized()
	if errs := p.Validate(); len(errs) > 0 {
		return apperr.New(apperr.Conflict, "The proposed break-glass settings are no longer valid: reject them. Nothing was changed.")
	}
	lastOn, err := lastOnDetail(ctx, tx)
	if err != nil {
		return err
	}
	who["last_on"] = lastOn
	p.CreatedBy, p.ApprovedBy, p.CreatedAt = c.ProposedBy, admin.ID, s.Now()
	saved, err := tx.InsertBreakGlassPolicy(ctx, p)
	if err != nil {
		return err
	}
	return s.breakGlassEvent(ctx, tx, cur, saved, who)
}
