package portal

import (
	"slices"
	"strings"
	"time"
)

// Role is what a user may do (design §2). A user may hold several.
type Role string

// Roles.
const (
	RoleRequester Role = "requester"
	RoleApprover  Role = "approver"
	RoleAuditor   Role = "auditor"
	RoleAdmin     Role = "admin"
	// RoleResponder may break glass: run an operation the break-glass
	// policy allows without the quorum, during an incident (BreakGlassPolicy).
	RoleResponder Role = "responder"
)

// Roles lists every role.
var Roles = []Role{RoleAdmin, RoleApprover, RoleAuditor, RoleRequester, RoleResponder}

// User is a person with an account. It carries no credentials: the
// password hash stays with sign-in.
type User struct {
	ID          int64
	Email       string
	DisplayName string
	Active      bool
	Roles       []Role
	CreatedAt   time.Time
	// ApproverSince is when u was given the approver role (zero when u
	// does not hold it).
	ApproverSince time.Time
	// MustChangePassword is set when an admin sets the password (a new
	// account's, or a reset): until the user has chosen their own, they may
	// do nothing else.
	MustChangePassword bool
	// PasswordChangedAt is when the password was last changed or reset
	// (zero: never since the account was created).
	PasswordChangedAt time.Time
}

// Has reports whether u holds role.
func (u User) Has(role Role) bool { return slices.Contains(u.Roles, role) }

// RoleNames returns u's roles as plain names, for display and forms.
func (u User) RoleNames() []string {
	out := make([]string, len(u.Roles))
	for i, r := range u.Roles {
		out[i] = string(r)
	}
	return out
}

// RolePhrase names roles in a sentence: "the approver role", "the admin
// and approver roles".
func RolePhrase(rs []Role) string {
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = string(r)
	}
	if len(rs) == 1 {
		return "the " + names[0] + " role"
	}
	return "the " + strings.Join(names, " and ") + " roles"
}
