package audit

// actionLabels are the actions in words, for history lists and the audit
// filter. A test keeps every action of the Catalogue labelled.
var actionLabels = map[string]string{
	ActionSignIn:                "Signed in",
	ActionSignInFailed:          "Sign-in failed",
	ActionSignOut:               "Signed out",
	ActionSignInThrottleCleared: "Sign-in throttle cleared",
	ActionSessionEnded:          "Session ended",
	ActionSignOutEverywhere:     "Signed out everywhere",

	ActionAccessDenied:         "Access denied",
	ActionAccessDeniedRepeated: "Access denied again",
	ActionRefusedRepeated:      "Refused again",
	ActionRequestCancelRefused: "Cancellation refused",
	// Refusals of forms and actions that changed nothing.
	ActionWindowRejected:         "Change window or freeze not saved",
	ActionBreakGlassClearRefused: "Clearing of a flag refused",
	ActionRequestDecisionRefused: "Decision not recorded",
	ActionChangeDecisionRefused:  "Admin change decision refused",
	ActionOperationThrottled:     "Operation form refused: too soon",

	ActionUserBootstrap:        "First admin set up",
	ActionUserCreated:          "User created",
	ActionUserRoles:            "Roles changed",
	ActionUserDeactivated:      "User deactivated",
	ActionUserReactivated:      "User reactivated",
	ActionPasswordChanged:      "Password changed",
	ActionPasswordChangeFailed: "Password change refused",
	ActionPasswordReset:        "Password reset",

	ActionPolicyUpdated: "Approval policy changed",

	ActionChangeProposed:  "Admin change proposed",
	ActionChangeRejected:  "Admin change rejected",
	ActionChangeWithdrawn: "Admin change withdrawn",

	ActionRequestFiled:     "Request filed",
	ActionRequestDecision:  "Decision recorded",
	ActionRequestApproved:  "Request approved",
	ActionRequestRejected:  "Request rejected",
	ActionRequestCancelled: "Request cancelled",
	ActionRequestExpired:   "Request expired",
	ActionRequestChecked:   "Preconditions checked",
	ActionRequestExecuting: "Execution started",
	ActionRequestIntent:    "About to call the cloud",
	ActionRequestResumed:   "Execution resumed",
	ActionRequestResult:    "Cloud answered",
	ActionRequestRefused:   "Refused before the call",
	ActionRequestProgress:  "Status changed",
	ActionRequestSucceeded: "Request succeeded",
	ActionRequestFailed:    "Request failed",

	ActionCreateRejected:    "Create not filed: the form had errors",
	ActionCreateFailed:      "Create failed",
	ActionOperationRejected: "Operation not filed: the form had errors",
	ActionTaskDrift:         "Changed outside the portal",

	ActionCloudCall:    "Cloud call",
	ActionClustersRead: "Clusters read from the cloud",

	ActionWindowAdded:     "Change window added",
	ActionWindowRemoved:   "Change window removed",
	ActionFreezeAdded:     "Freeze added",
	ActionFreezeLifted:    "Freeze lifted",
	ActionWindowRuleSet:   "Rule outside the windows set",
	ActionRequestDeferred: "Deferred until the window opens",

	ActionVerify:  "History verified",
	ActionArchive: "History archived",
	ActionExport:  "History exported",

	ActionReauthenticated:         "Password entered again",
	ActionReauthenticationFailed:  "Password entered again: wrong",
	ActionBreakGlass:              "Emergency: break-glass bypassed the approval policy",
	ActionBreakGlassRefused:       "Break-glass refused",
	ActionBreakGlassReview:        "Emergency reviewed",
	ActionBreakGlassPolicy:        "Break-glass settings changed",
	ActionBreakGlassFlagCleared:   "Emergency flag cleared",
	ActionBreakGlassRejected:      "Break-glass not filed: the form had errors",
	ActionBreakGlassReviewRefused: "Emergency review refused",
	ActionDrillStarted:            "Drill started",
	ActionDrillStep:               "Drill step measured",
	ActionDrillFinished:           "Drill finished",

	ActionRequestCancelledApproved: "Approved request cancelled before it started",
}

// groupLabels name the Catalogue's groups in the audit filter.
var groupLabels = map[string]string{
	"auth": "Sign-ins (all)", "access": "Refusals (all)", "user": "Users (all)", "policy": "Policy (all)",
	"change": "Admin changes (all)", "request": "Requests (all)", "dr_task": "DR tasks (all)",
	"cloud": "Cloud calls (all)", "window": "Change windows (all)", "audit": "Audit history (all)",
	"session":     "Step-up (all)",
	"break_glass": "Break-glass (all)",
	"drill":       "Drills (all)",
}

// ActionLabel is an action, or an action group's name, in words; an
// unknown one is returned as it is.
func ActionLabel(action string) string {
	if l, ok := actionLabels[action]; ok {
		return l
	}
	if l, ok := groupLabels[action]; ok {
		return l
	}
	return action
}
