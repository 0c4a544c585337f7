package requests

import "drportal/internal/portal"

// NeedsStepUp reports whether deciding r with d needs the decider's
// password entered lately (auth.StepUpWindow): approving a high-risk
// operation (portal.Spec.HighRisk: switchover, failover, recovery,
// delete). Rejecting never does: it can only stop a change.
func NeedsStepUp(r portal.Request, d portal.Decision) bool {
	if d != portal.Approve {
		return false
	}
	spec, ok := portal.SpecFor(r.Operation)
	return ok && spec.HighRisk
}
