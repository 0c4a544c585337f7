package portal

import "slices"

// Operation is what a request asks the cloud to do. The API calls stop
// "pause"; the portal uses the console's words.
type Operation string

// Operations, in the order pages list them.
const (
	OpCreate     Operation = "create"
	OpStart      Operation = "start"
	OpStop       Operation = "stop"
	OpUpdate     Operation = "update"
	OpSwitchover Operation = "switchover"
	OpFailover   Operation = "failover"
	OpRecovery   Operation = "recovery"
	OpDelete     Operation = "delete"
	// OpDrill is a switchover followed by a switchback, filed and approved
	// once (drill.go).
	OpDrill Operation = "drill"
)

// Operations lists every operation a request can be for.
var Operations = []Operation{OpCreate, OpStart, OpStop, OpUpdate, OpSwitchover, OpFailover, OpRecovery, OpDelete, OpDrill}

// Valid reports whether op is a known operation.
func (op Operation) Valid() bool { return slices.Contains(Operations, op) }

// MinApprovals is the fewest approvals op needs whatever the policy says.
// Switchover, failover, recovery and delete change which side serves or
// remove protection: one person never causes them alone.
func (op Operation) MinApprovals() int {
	switch op {
	case OpSwitchover, OpFailover, OpRecovery, OpDelete, OpDrill:
		return 1
	}
	return 0
}
