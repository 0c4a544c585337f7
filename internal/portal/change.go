package portal

import "time"

// ChangeKind is what an admin change changes.
type ChangeKind string

// Change kinds.
const (
	ChangeRoles  ChangeKind = "roles"  // roles granted to one account
	ChangePolicy ChangeKind = "policy" // a new approval policy
	// ChangeBreakGlass is a break-glass policy that makes the portal less
	// strict (turning it on, more operations, a later review).
	ChangeBreakGlass ChangeKind = "break_glass"
	// ChangeWindows loosens the change windows (window.go): lifts a freeze,
	// removes a window, or chooses the lenient rule outside the windows.
	ChangeWindows ChangeKind = "windows"
)

// ChangeStatus is where an admin change is.
type ChangeStatus string

// Change statuses: a change waits (pending) until a second admin applies
// or rejects it, its proposer withdraws it, or a newer proposal for the
// same account or the policy supersedes it.
const (
	ChangePending    ChangeStatus = "pending"
	ChangeApplied    ChangeStatus = "applied"
	ChangeRejected   ChangeStatus = "rejected"
	ChangeWithdrawn  ChangeStatus = "withdrawn"
	ChangeSuperseded ChangeStatus = "superseded"
)

// AdminChange is a change to who may do what (a role grant) or to the
// approval policy. One admin proposes it; it takes effect only when another
// admin approves it, so no single admin can make themselves, or an
// identity they control, able to cause a high-risk change alone.
type AdminChange struct {
	ID     int64
	Kind   ChangeKind
	UserID int64 // the account whose roles change (ChangeRoles)
	// UserEmail is that account's e-mail, for display.
	UserEmail string
	// Grant is the roles added (ChangeRoles); Policy the proposed policy
	// (ChangePolicy; its Version and CreatedAt are unset).
	Grant  []Role
	Policy Policy
	// BreakGlass is the proposed break-glass policy (ChangeBreakGlass; its
	// Version and CreatedAt are unset).
	BreakGlass BreakGlassPolicy
	// Windows is the loosening of the change windows (ChangeWindows).
	Windows WindowChange

	Status          ChangeStatus
	ProposedBy      int64
	ProposedByEmail string
	ProposedAt      time.Time
	DecidedBy       int64
	DecidedByEmail  string
	DecidedAt       time.Time
	Comment         string
	// Supersedes is the change this one replaced when it was proposed (0:
	// none was waiting).
	Supersedes int64
	// Woke are the approved requests that approving this loosening of the
	// windows started at once (set by auth.Service.ApproveChange; not
	// stored).
	Woke []Request
}
