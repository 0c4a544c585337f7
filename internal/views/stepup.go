package views

// StepUp is a form's "Your password" field, shown when the action needs
// the password entered lately (auth.StepUpWindow) and the session's is
// older: why it is asked for, and what was wrong with the last attempt.
type StepUp struct {
	// Why says what needs it and when the password was last entered
	// ("Approving a failover needs your password again: last entered 12
	// minutes ago").
	Why string
	// Note is what else the person should know (rejecting does not need it).
	Note string
	// Error is the last attempt's problem; ErrorIn is the key of the form
	// it was made in (several forms on a page may ask), "" for the only one.
	Error   string
	ErrorIn string
}

// StepUpFieldName is the name of the password field of a step-up.
const StepUpFieldName = "step_up_password"

// StepUpNoticeID is the id of a page's StepUpNotice.
const StepUpNoticeID = "step-up-notice"

// StepUpFieldID is the id of the step-up field of the form with key form.
func StepUpFieldID(form string) string {
	if form == "" {
		return StepUpFieldName
	}
	return StepUpFieldName + "-" + form
}

// errorIn is the error to show in the form with key form.
func (s *StepUp) errorIn(form string) string {
	if s == nil || s.ErrorIn != form {
		return ""
	}
	return s.Error
}
