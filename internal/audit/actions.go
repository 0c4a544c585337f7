package audit

// Every action the portal records, declared once. Names are
// "<group>.<verb>[.<detail>]"; the audit page's filter offers them from
// Catalogue, where a group's name also selects all of its actions.
const (
	ActionSignIn       = "auth.signin"
	ActionSignInFailed = "auth.signin.failed"
	ActionSignOut      = "auth.signout"
	// ActionSignInThrottleCleared: an admin ended a sign-in throttle.
	ActionSignInThrottleCleared = "auth.throttle_cleared"
	// ActionSessionEnded: a user ended one of their other sessions.
	ActionSessionEnded = "auth.session_ended"
	// ActionSignOutEverywhere: a user ended all of their sessions.
	ActionSignOutEverywhere = "auth.signout_everywhere"

	// A refused action (a 403, a refused decision or cancellation, a CSRF
	// failure): the first of its kind per actor, route and minute, then
	// one summary with the minute's count (see Denial).
	ActionAccessDenied         = "access.denied"
	ActionAccessDeniedRepeated = "access.denied.repeated"

	ActionUserBootstrap   = "user.bootstrap"
	ActionUserCreated     = "user.created"
	ActionUserRoles       = "user.roles_changed"
	ActionUserDeactivated = "user.deactivated"
	ActionUserReactivated = "user.reactivated"
	// ActionPasswordChanged: a user changed their own password.
	ActionPasswordChanged = "user.password_changed"
	// ActionPasswordChangeFailed: a change was refused because the current
	// password was wrong (failure) or there were too many such tries (denied).
	ActionPasswordChangeFailed = "user.password_change_failed"
	// ActionPasswordReset: an admin set a temporary password.
	ActionPasswordReset = "user.password_reset"

	ActionPolicyUpdated = "policy.updated"

	ActionChangeProposed  = "change.proposed"
	ActionChangeRejected  = "change.rejected"
	ActionChangeWithdrawn = "change.withdrawn"

	ActionRequestFiled     = "request.filed"
	ActionRequestDecision  = "request.decision"
	ActionRequestApproved  = "request.approved"
	ActionRequestRejected  = "request.rejected"
	ActionRequestCancelled = "request.cancelled"
	ActionRequestExpired   = "request.expired"
	ActionRequestChecked   = "request.checked"
	ActionRequestExecuting = "request.executing"
	ActionRequestIntent    = "request.intent"
	ActionRequestResumed   = "request.resumed"
	ActionRequestResult    = "request.result"
	ActionRequestRefused   = "request.refused"
	ActionRequestProgress  = "request.progress"
	ActionRequestSucceeded = "request.succeeded"
	ActionRequestFailed    = "request.failed"

	ActionCreateRejected    = "dr_task.create.rejected"
	ActionCreateFailed      = "dr_task.create.failed"
	ActionOperationRejected = "dr_task.operation.rejected"
	ActionTaskDrift         = "dr_task.drift"

	ActionCloudCall = "cloud.call"
	// ActionClustersRead: a person had the create form's copy of the
	// cluster list (and the chosen primary's standbys) read from the cloud now.
	ActionClustersRead = "cloud.clusters_read"

	// Break-glass (outage mode). ActionBreakGlass: a responder ran an
	// operation without the quorum (outcome bypassed; the incident and the
	// reason in the detail). ActionBreakGlassRefused: an attempt refused
	// (break-glass off, an operation it does not allow, an earlier
	// emergency not reviewed yet, a wrong password). ActionBreakGlassReview:
	// an approver acknowledged or flagged an emergency afterwards.
	// ActionBreakGlassPolicy: the break-glass settings changed.
	// ActionBreakGlassFlagCleared: an admin cleared the flag of a flagged
	// review, with a comment, so that its responder may break glass again.
	ActionBreakGlass            = "break_glass.bypass"
	ActionBreakGlassRefused     = "break_glass.refused"
	ActionBreakGlassReview      = "break_glass.review"
	ActionBreakGlassPolicy      = "break_glass.policy_changed"
	ActionBreakGlassFlagCleared = "break_glass.flag_cleared"
	// Break-glass forms that were refused before they changed anything,
	// on record like a DR task form that was not filed.
	// ActionBreakGlassRejected: the emergency form came back with errors
	// (no incident, a short reason, the wrong cluster name, no password),
	// nothing run; a wrong password is ActionBreakGlassRefused.
	// ActionBreakGlassReviewRefused: a review was not recorded (the
	// emergency has its two reviews already, the approver reviewed it
	// already, or the form had errors).
	ActionBreakGlassRejected      = "break_glass.rejected"
	ActionBreakGlassReviewRefused = "break_glass.review_refused"
	// Change windows and freezes (when operations may run) and what they
	// do to a request: the executor deferring it until the window opens or
	// the freeze ends (its detail says when it runs).
	ActionWindowAdded     = "window.added"
	ActionWindowRemoved   = "window.removed"
	ActionFreezeAdded     = "window.freeze_added"
	ActionFreezeLifted    = "window.freeze_lifted"
	ActionWindowRuleSet   = "window.rule_set"
	ActionRequestDeferred = "request.deferred"

	ActionVerify  = "audit.verify"
	ActionArchive = "audit.archive"
	ActionExport  = "audit.export"

	// Drills (a switchover and a switchback as one request): the drill
	// began, one step was seen done with its measurement, the drill ended.
	ActionDrillStarted  = "drill.started"
	ActionDrillStep     = "drill.step"
	ActionDrillFinished = "drill.finished"
)

// Step-up: a signed-in person entering their password again before a
// high-risk approval or a policy change (auth.StepUpWindow).
const (
	// ActionReauthenticated: the password was right; the session's
	// confirmation starts again.
	ActionReauthenticated = "session.reauthenticated"
	// ActionReauthenticationFailed: the password was wrong (failure), or
	// too many were (denied, throttled), as with a failed sign-in.
	ActionReauthenticationFailed = "session.reauthentication_failed"
)

// Cancelling an approved request before it starts.
const (
	// ActionRequestCancelledApproved: an approved request that had not
	// started (waiting for its change window, a drill scheduled for later,
	// queued for the executor) was cancelled by its requester or an admin,
	// with the reason; nothing was sent for it. Filtering by
	// request.cancelled shows it with the cancellations of pending ones.
	ActionRequestCancelledApproved = "request.cancelled.approved"
)

// Refusals counted like denials: a refused form or action that has an
// event of its own (break_glass.refused, break_glass.rejected,
// break_glass.review_refused, request.cancel_refused) is appended for the
// first of its kind (person, action, reason) in a minute; the rest of that
// minute are counted, and summarised once as ActionRefusedRepeated
// (see Refusal).
const (
	// ActionRequestCancelRefused: a cancellation was refused and changed
	// nothing (the request has already started or ended, or the reason an
	// admin must give was missing or too short).
	ActionRequestCancelRefused = "request.cancel_refused"
	// ActionRefusedRepeated: how many refusals of one kind a closed minute
	// counted beyond the first, which has its own event.
	ActionRefusedRepeated = "access.refused.repeated"
)

// Further refusals counted like denials (see Refusal): a form or action
// answered 4xx that changed nothing, with the message shown and what was
// typed (cut to MaxRefusalText characters).
const (
	// ActionWindowRejected: a change window, freeze or window rule was not
	// saved (a form with errors, or one that no longer applies).
	ActionWindowRejected = "window.rejected"
	// ActionBreakGlassClearRefused: clearing the flag of an emergency was
	// refused (no flag stands, the review is not complete, no such
	// emergency, a comment missing or too short).
	ActionBreakGlassClearRefused = "break_glass.clear_refused"
	// ActionRequestDecisionRefused: an approval or rejection was not
	// recorded (no decision, a comment missing or too long, the cluster's
	// name mistyped; its typed text is never kept, only whether it
	// matched).
	ActionRequestDecisionRefused = "request.decision_refused"
	// ActionChangeDecisionRefused: approving or rejecting an admin change
	// was refused (a comment too long, a change no longer waiting).
	ActionChangeDecisionRefused = "change.decision_refused"
	// ActionOperationThrottled: an operation form was refused because the
	// person's last live read of the task was too recent (429).
	ActionOperationThrottled = "dr_task.operation.throttled"
)

// ActionGroup is a group of actions about one kind of thing.
type ActionGroup struct {
	Name    string // also the prefix of its actions
	Actions []string
}

// Catalogue lists every action, by group, in the order the audit filter
// offers them. A test keeps it equal to the constants above.
var Catalogue = []ActionGroup{
	{"auth", []string{ActionSignIn, ActionSignInFailed, ActionSignOut, ActionSignInThrottleCleared, ActionSessionEnded, ActionSignOutEverywhere}},
	{"access", []string{ActionAccessDenied, ActionAccessDeniedRepeated, ActionRefusedRepeated}},
	{"user", []string{ActionUserBootstrap, ActionUserCreated, ActionUserRoles, ActionUserDeactivated, ActionUserReactivated,
		ActionPasswordChanged, ActionPasswordChangeFailed, ActionPasswordReset}},
	{"policy", []string{ActionPolicyUpdated}},
	{"change", []string{ActionChangeProposed, ActionChangeRejected, ActionChangeWithdrawn, ActionChangeDecisionRefused}},
	{"request", []string{ActionRequestFiled, ActionRequestDecision, ActionRequestApproved, ActionRequestRejected,
		ActionRequestCancelled, ActionRequestExpired, ActionRequestChecked, ActionRequestExecuting, ActionRequestIntent,
		ActionRequestResumed, ActionRequestResult, ActionRequestRefused, ActionRequestProgress, ActionRequestSucceeded, ActionRequestFailed,
		ActionRequestDeferred, ActionRequestCancelledApproved, ActionRequestCancelRefused, ActionRequestDecisionRefused}},
	{"dr_task", []string{ActionCreateRejected, ActionCreateFailed, ActionOperationRejected, ActionTaskDrift, ActionOperationThrottled}},
	{"cloud", []string{ActionCloudCall, ActionClustersRead}},
	{"window", []string{ActionWindowAdded, ActionWindowRemoved, ActionFreezeAdded, ActionFreezeLifted, ActionWindowRuleSet, ActionWindowRejected}},
	{"audit", []string{ActionVerify, ActionArchive, ActionExport}},
	{"session", []string{ActionReauthenticated, ActionReauthenticationFailed}},
	{"break_glass", []string{ActionBreakGlass, ActionBreakGlassRefused, ActionBreakGlassReview, ActionBreakGlassPolicy, ActionBreakGlassFlagCleared,
		ActionBreakGlassRejected, ActionBreakGlassReviewRefused, ActionBreakGlassClearRefused}},
	{"drill", []string{ActionDrillStarted, ActionDrillStep, ActionDrillFinished}},
}

// FilterActions is what the audit filter offers: each group's name (all
// of its actions) followed by its actions.
func FilterActions() []string {
	var out []string
	for _, g := range Catalogue {
		out = append(out, g.Name)
		out = append(out, g.Actions...)
	}
	return out
}

// RequestSteps are what a request's own life records (its filing,
// decisions, checks and execution), not a person's refused attempt to act
// on it: the events a task's history takes from the request that created
// it. Refusals are recorded about whatever request id was asked for, even
// one not filed yet, and are no part of the task's story.
var RequestSteps = []string{ActionRequestFiled, ActionRequestDecision, ActionRequestApproved, ActionRequestChecked,
	ActionRequestDeferred, ActionRequestExecuting, ActionRequestIntent, ActionRequestResumed, ActionRequestResult,
	ActionRequestRefused, ActionRequestProgress, ActionRequestSucceeded, ActionRequestFailed}
