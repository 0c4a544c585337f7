package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/db"
	"drportal/internal/portal"
)

// The two-person rule for the portal's own settings: a role grant or a new
// approval policy takes effect only when a second admin approves it, so no
// single admin can make an identity able to approve, or waive approvals,
// alone. Until an install has had two active admins, a sole admin's role
// grants take effect at once (how else would the second admin come to be),
// and their audit events say a sole admin made them; policy changes wait for
// the second admin. Once it has had two, grants always wait: an admin who
// removed the others cannot then grant alone. The server's command line
// (GrantAdmin) adds an admin to an install left with one.

// MaxChangeComment is the longest comment on an admin change decision.
const MaxChangeComment = 1000

// RoleChange is what SetRoles or CreateUser did to an account's roles.
type RoleChange struct {
	User    portal.User   // the account, with the roles it holds now
	Removed []portal.Role // taken away at once
	Granted []portal.Role // given at once (a sole admin's grant)
	Waiting []portal.Role // waiting for a second admin's approval
	// ChangeID is the waiting change (0 when none waits).
	ChangeID int64
	// Withdrawn is a grant that waited and no longer does (0: none).
	Withdrawn int64
}

// grant gives u the roles of add it lacks: at once, marked, when admin is
// the only active admin; otherwise as a change waiting for a second admin.
// A change already waiting for u is superseded in either case: the admin's
// latest word on u's roles is the one that counts.
func (s *Service) grant(ctx context.Context, tx *db.Tx, admin, u portal.User, add []portal.Role, rc *RoleChange) error {
	now := s.Now()
	var missing []portal.Role
	for _, r := range add {
		if !u.Has(r) {
			missing = append(missing, r)
		}
	}
	if len(missing) == 0 {
		superseded, err := tx.SupersedeAdminChanges(ctx, portal.ChangeRoles, u.ID, now, admin.ID, "the roles were saved again without it")
		if err != nil || superseded == 0 {
			return err
		}
		rc.Withdrawn = superseded
		e := s.changeEvent(ctx, audit.ActionChangeWithdrawn, portal.AdminChange{ID: superseded, Kind: portal.ChangeRoles, UserEmail: u.Email},
			map[string]any{"reason": "the roles were saved again without it"})
		_, err = tx.AppendAudit(ctx, e)
		return err
	}
	admins, err := tx.CountActiveAdmins(ctx)
	if err != nil {
		return err
	}
	hadTwo, err := tx.HadTwoAdmins(ctx)
	if err != nil {
		return err
	}
	if admins <= 1 && !hadTwo {
		if _, err := tx.SupersedeAdminChanges(ctx, portal.ChangeRoles, u.ID, now, admin.ID, "the roles were changed at once"); err != nil {
			return err
		}
		if err := tx.GrantRoles(ctx, u.ID, missing, now); err != nil {
			return err
		}
		to := slices.Sorted(slices.Values(append(slices.Clone(u.Roles), missing...)))
		_, err := tx.AppendAudit(ctx, s.userEvent(ctx, audit.ActionUserRoles, u, map[string]any{
			"from": u.Roles, "to": to, "granted": missing,
			"sole_admin": true, "approved_by": "nobody: the install has one active admin",
		}))
		rc.Granted = missing
		rc.User.Roles = to
		if err != nil {
			return err
		}
		return tx.NoteAdmins(ctx, now)
	}
	// The same grant already waiting stays as it is: saving the roles again
	// does not restart it.
	pending, err := tx.PendingAdminChanges(ctx)
	if err != nil {
		return err
	}
	for _, p := range pending {
		if p.Kind == portal.ChangeRoles && p.UserID == u.ID &&
			slices.Equal(slices.Sorted(slices.Values(p.Grant)), slices.Sorted(slices.Values(missing))) {
			rc.Waiting, rc.ChangeID = missing, p.ID
			return nil
		}
	}
	c := portal.AdminChange{Kind: portal.ChangeRoles, UserID: u.ID, UserEmail: u.Email, Grant: missing,
		ProposedBy: admin.ID, ProposedAt: now}
	id, superseded, err := tx.ProposeAdminChange(ctx, c)
	if err != nil {
		return err
	}
	c.ID = id
	detail := map[string]any{"grant": missing, "roles_now": u.Roles}
	if superseded != 0 {
		detail["supersedes"] = superseded
		if _, err := tx.AppendAudit(ctx, s.changeEvent(ctx, audit.ActionChangeWithdrawn,
			portal.AdminChange{ID: superseded, Kind: portal.ChangeRoles, UserEmail: u.Email},
			map[string]any{"reason": fmt.Sprintf("replaced by change #%d", id)})); err != nil {
			return err
		}
		rc.Withdrawn = superseded
	}
	_, err = tx.AppendAudit(ctx, s.changeEvent(ctx, audit.ActionChangeProposed, c, detail))
	rc.Waiting, rc.ChangeID = missing, id
	return err
}

// changeEvent is the audit event of a step of change c.
func (s *Service) changeEvent(ctx context.Context, action string, c portal.AdminChange, detail map[string]any) audit.Event {
	e := audit.FromContext(ctx, action, audit.Success)
	e.OccurredAt = s.Now()
	if c.Kind == portal.ChangeRoles {
		e.SubjectType, e.SubjectID = audit.SubjectUser, c.UserEmail
	} else {
		e.SubjectType, e.SubjectID = audit.SubjectPolicy, "proposal"
	}
	d := map[string]any{"change": c.ID, "kind": string(c.Kind)}
	for k, v := range detail {
		d[k] = v
	}
	e.Detail = audit.Detail(d)
	return e
}

func policyDetail(p portal.Policy) map[string]any {
	return map[string]any{"version": p.Version, "approvals": p.Approvals,
		"pending_ttl": p.PendingTTL.String(), "approval_ttl": p.ApprovalTTL.String()}
}

// ProposePolicy files a new approval policy; it takes effect when another
// admin approves it. Field problems come back as a map and change nothing.
func (s *Service) ProposePolicy(ctx context.Context, admin portal.User, p portal.Policy) (portal.AdminChange, map[string]string, error) {
	if err := requireAdmin(admin); err != nil {
		return portal.AdminChange{}, nil, apperr.New(apperr.Forbidden, "Only admins can change the approval policy.")
	}
	if errs := p.Validate(); len(errs) > 0 {
		return portal.AdminChange{}, errs, nil
	}
	c := portal.AdminChange{Kind: portal.ChangePolicy, Policy: p, ProposedBy: admin.ID, ProposedByEmail: admin.Email,
		ProposedAt: s.Now(), Status: portal.ChangePending}
	err := s.Store.InTx(ctx, func(tx *db.Tx) error {
		if err := tx.LockAdminChanges(ctx); err != nil {
			return err
		}
		if err := stillAdmin(ctx, tx, admin); err != nil {
			return err
		}
		cur, err := tx.CurrentPolicy(ctx)
		if err != nil {
			return err
		}
		if samePolicy(cur, p) {
			return errSamePolicy
		}
		id, superseded, err := tx.ProposeAdminChange(ctx, c)
		if err != nil {
			return err
		}
		c.ID, c.Supersedes = id, superseded
		detail := map[string]any{"from": policyDetail(cur), "to": policyDetail(p)}
		if superseded != 0 {
			detail["supersedes"] = superseded
			if _, err := tx.AppendAudit(ctx, s.changeEvent(ctx, audit.ActionChangeWithdrawn,
				portal.AdminChange{ID: superseded, Kind: portal.ChangePolicy},
				map[string]any{"reason": fmt.Sprintf("replaced by change #%d", id)})); err != nil {
				return err
			}
		}
		_, err = tx.AppendAudit(ctx, s.changeEvent(ctx, audit.ActionChangeProposed, c, detail))
		return err
	})
	if errors.Is(err, errSamePolicy) {
		return portal.AdminChange{}, map[string]string{"policy": "This is the policy in effect: change a number or a duration to propose a new one."}, nil
	}
	return c, nil, err
}

var errSamePolicy = errors.New("the proposed policy is the one in effect")

// samePolicy reports whether b asks for exactly what a does.
func samePolicy(a, b portal.Policy) bool {
	if a.PendingTTL != b.PendingTTL || a.ApprovalTTL != b.ApprovalTTL {
		return false
	}
	for _, op := range portal.Operations {
		if a.Approvals[op] != b.Approvals[op] {
			return false
		}
	}
	return true
}

// ApproveChange applies a waiting change as its second admin. The proposer
// cannot approve their own change, and a change whose proposer is no longer
// an active admin, or whose account was deactivated, is not applied.
func (s *Service) ApproveChange(ctx context.Context, admin portal.User, id int64, comment string) (portal.AdminChange, error) {
	comment = strings.TrimSpace(comment)
	if err := requireAdmin(admin); err != nil {
		return portal.AdminChange{}, err
	}
	if utf8.RuneCountInString(comment) > MaxChangeComment {
		return portal.AdminChange{}, apperr.New(apperr.Invalid, "Keep the comment under %d characters. Nothing was changed.", MaxChangeComment)
	}
	var out portal.AdminChange
	err := s.Store.InTx(ctx, func(tx *db.Tx) error {
		if err := tx.LockAdminChanges(ctx); err != nil {
			return err
		}
		if err := stillAdmin(ctx, tx, admin); err != nil {
			return err
		}
		c, err := tx.AdminChangeForUpdate(ctx, id)
		if err != nil {
			return err
		}
		out = c
		if c.Status != portal.ChangePending {
			return apperr.New(apperr.Conflict, "That change is %s: it is no longer waiting. Nothing was changed.", c.Status)
		}
		if c.ProposedBy == admin.ID {
			return apperr.Deny(apperr.Forbidden, audit.ReasonSelfApproval, "You proposed this change: another admin must approve it. Nothing was changed.")
		}
		proposer, err := tx.UserForUpdate(ctx, c.ProposedBy)
		if err != nil {
			return err
		}
		if requireAdmin(proposer) != nil {
			return apperr.New(apperr.Conflict, "%s, who proposed this change, is no longer an active admin: reject it. Nothing was changed.", proposer.Email)
		}
		now := s.Now()
		who := map[string]any{"change": c.ID, "proposed_by": c.ProposedByEmail, "approved_by": admin.Email, "comment": comment}
		switch c.Kind {
		case portal.ChangeRoles:
			u, err := tx.UserForUpdate(ctx, c.UserID)
			if err != nil {
				return err
			}
			if !u.Active {
				return apperr.New(apperr.Conflict, "%s is deactivated: reject the change. Nothing was changed.", u.Email)
			}
			if u.MustChangePassword && slices.ContainsFunc(c.Grant, privileged) {
				return apperr.Deny(apperr.Conflict, audit.ReasonTemporaryPassword, "%s still has a temporary password an admin set: they choose their own before they are given this. Nothing was changed.", u.Email)
			}
			if err := tx.GrantRoles(ctx, u.ID, c.Grant, now); err != nil {
				return err
			}
			to := slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(u.Roles), c.Grant...))))
			who["from"], who["to"], who["granted"] = u.Roles, to, c.Grant
			if _, err := tx.AppendAudit(ctx, s.userEvent(ctx, audit.ActionUserRoles, u, who)); err != nil {
				return err
			}
			if err := tx.NoteAdmins(ctx, now); err != nil {
				return err
			}
		case portal.ChangePolicy:
			cur, err := tx.CurrentPolicy(ctx)
			if err != nil {
				return err
			}
			p := c.Policy
			if errs := p.Validate(); len(errs) > 0 {
				return apperr.New(apperr.Conflict, "The proposed policy is no longer valid: reject it. Nothing was changed.")
			}
			p.CreatedBy, p.ApprovedBy, p.CreatedAt = c.ProposedBy, admin.ID, now
			saved, err := tx.InsertPolicy(ctx, p)
			if err != nil {
				return err
			}
			who["from"], who["to"] = policyDetail(cur), policyDetail(saved)
			e := audit.FromContext(ctx, audit.ActionPolicyUpdated, audit.Success)
			e.OccurredAt = now
			e.SubjectType, e.SubjectID = audit.SubjectPolicy, fmt.Sprint(saved.Version)
			e.Detail = audit.Detail(who)
			if _, err := tx.AppendAudit(ctx, e); err != nil {
				return err
			}
		case portal.ChangeBreakGlass:
			if err := s.applyBreakGlass(ctx, tx, admin, c, who); err != nil {
				return err
			}
		}
		if c.Kind == portal.ChangeWindows {
			if err := tx.LockSchedule(ctx); err != nil {
				return err
			}
			if err := s.applyWindowChange(ctx, tx, c.Windows, c.ProposedBy, who); err != nil {
				return err
			}
			if s.OnWindowsLoosened != nil {
				woke, err := s.OnWindowsLoosened(ctx, tx)
				if err != nil {
					return err
				}
				out.Woke = woke
			}
		}
		if err := tx.EndAdminChange(ctx, c.ID, portal.ChangeApplied, admin.ID, now, comment); err != nil {
			return err
		}
		out.Status, out.DecidedBy, out.DecidedByEmail, out.DecidedAt, out.Comment = portal.ChangeApplied, admin.ID, admin.Email, now, comment
		return nil
	})
	return out, err
}

// RejectChange ends a waiting change without applying it: rejected by
// another admin (with a reason), or withdrawn by its proposer.
func (s *Service) RejectChange(ctx context.Context, admin portal.User, id int64, comment string) (portal.AdminChange, error) {
	comment = strings.TrimSpace(comment)
	if err := requireAdmin(admin); err != nil {
		return portal.AdminChange{}, err
	}
	if utf8.RuneCountInString(comment) > MaxChangeComment {
		return portal.AdminChange{}, apperr.New(apperr.Invalid, "Keep the comment under %d characters. Nothing was changed.", MaxChangeComment)
	}
	var out portal.AdminChange
	err := s.Store.InTx(ctx, func(tx *db.Tx) error {
		if err := tx.LockAdminChanges(ctx); err != nil {
			return err
		}
		if err := stillAdmin(ctx, tx, admin); err != nil {
			return err
		}
		c, err := tx.AdminChangeForUpdate(ctx, id)
		if err != nil {
			return err
		}
		out = c
		if c.Status != portal.ChangePending {
			return apperr.New(apperr.Conflict, "That change is %s: it is no longer waiting. Nothing was changed.", c.Status)
		}
		status, action := portal.ChangeRejected, audit.ActionChangeRejected
		if c.ProposedBy == admin.ID {
			status, action = portal.ChangeWithdrawn, audit.ActionChangeWithdrawn
		} else if comment == "" {
			return apperr.New(apperr.Invalid, "Say why you reject the change: %s needs to know. Nothing was changed.", c.ProposedByEmail)
		}
		now := s.Now()
		if err := tx.EndAdminChange(ctx, c.ID, status, admin.ID, now, comment); err != nil {
			return err
		}
		_, err = tx.AppendAudit(ctx, s.changeEvent(ctx, action, c, map[string]any{"comment": comment, "proposed_by": c.ProposedByEmail}))
		out.Status, out.DecidedBy, out.DecidedByEmail, out.DecidedAt, out.Comment = status, admin.ID, admin.Email, now, comment
		return err
	})
	return out, err
}

// GrantAdmin gives an account the admin role at the request of whoever
// runs the portal's server (web grant-admin), who is trusted with the
// database anyway: the way to a second admin for an install left with
// one. It is audited as the system's, saying so.
func (s *Service) GrantAdmin(ctx context.Context, email string) (portal.User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	var out portal.User
	err := s.Store.InTx(ctx, func(tx *db.Tx) error {
		if err := tx.LockAdminChanges(ctx); err != nil {
			return err
		}
		u, err := tx.UserByEmail(ctx, email)
		if err != nil {
			return err
		}
		if u, err = tx.UserForUpdate(ctx, u.ID); err != nil {
			return err
		}
		if !u.Active {
			return apperr.New(apperr.Conflict, "%s is deactivated. Nothing was changed.", u.Email)
		}
		if u.Has(RoleAdmin) {
			out = u
			return nil
		}
		now := s.Now()
		if err := tx.GrantRoles(ctx, u.ID, []portal.Role{RoleAdmin}, now); err != nil {
			return err
		}
		to := slices.Sorted(slices.Values(append(slices.Clone(u.Roles), RoleAdmin)))
		if _, err := tx.AppendAudit(ctx, s.userEvent(ctx, audit.ActionUserRoles, u, map[string]any{
			"from": u.Roles, "to": to, "granted": []portal.Role{RoleAdmin}, "approved_by": "the server's command line (web grant-admin)",
		})); err != nil {
			return err
		}
		out = u
		out.Roles = to
		return tx.NoteAdmins(ctx, now)
	})
	return out, err
}
