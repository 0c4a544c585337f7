package auth

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/db"
	"drportal/internal/portal"
)

// MinPasswordLength is the shortest password an admin may set.
const MinPasswordLength = 12

// NewUser is an admin's new account.
type NewUser struct {
	Email       string
	DisplayName string
	Password    string
	Roles       []string
}

// Validate returns what is wrong, by field (email, display_name, password, roles).
func (n *NewUser) Validate() map[string]string {
	n.Email = strings.ToLower(strings.TrimSpace(n.Email))
	n.DisplayName = strings.TrimSpace(n.DisplayName)
	errs := map[string]string{}
	if !EmailShaped(n.Email) {
		errs["email"] = "Enter an e-mail address like ana@example.com."
	}
	if n.DisplayName == "" || utf8.RuneCountInString(n.DisplayName) > 100 {
		errs["display_name"] = "Enter a name of 1 to 100 characters."
	}
	if utf8.RuneCountInString(n.Password) < MinPasswordLength || len(n.Password) > 1000 {
		errs["password"] = fmt.Sprintf("The password needs at least %d characters.", MinPasswordLength)
	}
	if msg := checkRoles(n.Roles); msg != "" {
		errs["roles"] = msg
	}
	return errs
}

func checkRoles(roles []string) string {
	for _, r := range roles {
		if !slices.Contains(AllRoles, portal.Role(r)) {
			names := make([]string, len(AllRoles))
			for i, role := range AllRoles {
				names[i] = string(role)
			}
			return fmt.Sprintf("Unknown role %q; roles are %s.", r, strings.Join(names, ", "))
		}
	}
	return ""
}

// asRoles types checked role names.
func asRoles(names []string) []portal.Role {
	out := make([]portal.Role, len(names))
	for i, n := range names {
		out[i] = portal.Role(n)
	}
	return out
}

// stillAdmin re-reads, under the admin-changes lock, whether the acting
// admin is one still: another admin may have removed them a moment ago.
func stillAdmin(ctx context.Context, tx *db.Tx, admin portal.User) error {
	now, err := tx.UserForUpdate(ctx, admin.ID)
	if err != nil {
		return err
	}
	return requireAdmin(now)
}

func requireAdmin(u portal.User) error {
	if !u.Active || !u.Has(RoleAdmin) {
		return apperr.New(apperr.Forbidden, "Only admins manage users.")
	}
	return nil
}

func (s *Service) userEvent(ctx context.Context, action string, target portal.User, detail map[string]any) audit.Event {
	e := audit.FromContext(ctx, action, audit.Success)
	e.OccurredAt = s.Now()
	e.SubjectType, e.SubjectID = audit.SubjectUser, target.Email
	e.Detail = audit.Detail(detail)
	return e
}

// CreateUser creates an account; only admins may. Its password is
// temporary: the person chooses their own at their first sign-in. Its roles are granted
// as SetRoles grants them: at once by a sole admin, otherwise when a second
// admin approves. Field problems come back as a map and change nothing.
func (s *Service) CreateUser(ctx context.Context, admin portal.User, n NewUser) (RoleChange, map[string]string, error) {
	if err := requireAdmin(admin); err != nil {
		return RoleChange{}, nil, err
	}
	if errs := n.Validate(); len(errs) > 0 {
		return RoleChange{}, errs, nil
	}
	hash, err := s.HashPassword(n.Password)
	if err != nil {
		return RoleChange{}, nil, err
	}
	roles := asRoles(slices.Compact(slices.Sorted(slices.Values(n.Roles))))
	var rc RoleChange
	err = s.Store.InTx(ctx, func(tx *db.Tx) error {
		if err := tx.LockAdminChanges(ctx); err != nil {
			return err
		}
		if err := stillAdmin(ctx, tx, admin); err != nil {
			return err
		}
		u, err := tx.CreateUser(ctx, n.Email, n.DisplayName, hash, nil)
		if err != nil {
			return err
		}
		// The admin knows the initial password: it is a temporary one.
		if err := tx.RequirePasswordChange(ctx, u.ID); err != nil {
			return err
		}
		u.MustChangePassword = true
		rc.User = u
		if _, err := tx.AppendAudit(ctx, s.userEvent(ctx, audit.ActionUserCreated, u,
			map[string]any{"roles_asked": roles, "display_name": u.DisplayName})); err != nil {
			return err
		}
		return s.grant(ctx, tx, admin, u, roles, &rc)
	})
	if apperr.KindOf(err) == apperr.Conflict {
		return RoleChange{}, map[string]string{"email": "An account with this e-mail already exists."}, nil
	}
	return rc, nil, err
}

// SetRoles makes a user's roles the ones named. Roles taken away go at
// once; roles given are granted by a second admin (see grant). An admin
// cannot take the admin role from themselves, and the last active admin
// keeps it, so the portal always has someone who can manage it.
func (s *Service) SetRoles(ctx context.Context, admin portal.User, userID int64, names []string) (RoleChange, error) {
	if err := requireAdmin(admin); err != nil {
		return RoleChange{}, err
	}
	if msg := checkRoles(names); msg != "" {
		return RoleChange{}, apperr.New(apperr.Invalid, "%s", msg)
	}
	roles := asRoles(slices.Compact(slices.Sorted(slices.Values(names))))
	var rc RoleChange
	err := s.Store.InTx(ctx, func(tx *db.Tx) error {
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
		var kept []portal.Role
		for _, r := range u.Roles {
			if slices.Contains(roles, r) {
				kept = append(kept, r)
			} else {
				rc.Removed = append(rc.Removed, r)
			}
		}
		if u.Has(RoleAdmin) && !slices.Contains(roles, RoleAdmin) {
			if u.ID == admin.ID {
				return apperr.New(apperr.Conflict, "You cannot remove your own admin role; ask another admin. Nothing was changed.")
			}
			if n, err := tx.CountActiveAdmins(ctx); err != nil {
				return err
			} else if n <= 1 && u.Active {
				return apperr.New(apperr.Conflict, "%s is the last active admin. Nothing was changed.", u.Email)
			}
		}
		if len(rc.Removed) > 0 {
			if err := tx.SetRoles(ctx, userID, kept, s.Now()); err != nil {
				return err
			}
			if _, err := tx.AppendAudit(ctx, s.userEvent(ctx, audit.ActionUserRoles, u,
				map[string]any{"from": u.Roles, "to": kept, "removed": rc.Removed})); err != nil {
				return err
			}
			u.Roles = kept
		}
		rc.User = u
		return s.grant(ctx, tx, admin, u, roles, &rc)
	})
	return rc, err
}

// SetActive deactivates (ending their sessions) or reactivates a user. An
// admin cannot deactivate themselves.
func (s *Service) SetActive(ctx context.Context, admin portal.User, userID int64, active bool) (portal.User, error) {
	if err := requireAdmin(admin); err != nil {
		return portal.User{}, err
	}
	var out portal.User
	err := s.Store.InTx(ctx, func(tx *db.Tx) error {
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
		if u.ID == admin.ID && !active {
			return apperr.New(apperr.Conflict, "You cannot deactivate your own account. Nothing was changed.")
		}
		if !active && u.Active && u.Has(RoleAdmin) {
			if n, err := tx.CountActiveAdmins(ctx); err != nil {
				return err
			} else if n <= 1 {
				return apperr.New(apperr.Conflict, "%s is the last active admin. Nothing was changed.", u.Email)
			}
		}
		if u.Active == active {
			out = u
			return nil
		}
		if err := tx.SetActive(ctx, userID, active, s.Now()); err != nil {
			return err
		}
		action := audit.ActionUserReactivated
		if !active {
			action = audit.ActionUserDeactivated
			if s.OnDeactivate != nil {
				if err := s.OnDeactivate(ctx, tx, u); err != nil {
					return err
				}
			}
		}
		_, err = tx.AppendAudit(ctx, s.userEvent(ctx, action, u, nil))
		out = u
		out.Active = active
		return err
	})
	return out, err
}
