package views

// EmergencyNote is one open emergency as the banner on every page says it.
type EmergencyNote struct {
	ID        string
	URL       string
	Responder string
	Operation string // in words
	Task      string
	Incident  string
	At        string
	Due       string
	Overdue   bool
	Reviews   int // reviews so far, of ReviewsNeeded
	Needed    int
}

// BreakGlassPage is the one-page emergency form of an operation.
type BreakGlassPage struct {
	Base
	TaskID      string
	TaskName    string
	TaskURL     string
	Op          string
	Label       string
	Status      Status
	Consequence string
	ConfirmName string
	PostURL     string
	ReviewDays  int
	// Refusal says why break-glass is refused now (off, an operation the
	// policy does not allow, an emergency not reviewed yet); the form is
	// not offered then.
	Refusal string
	// Unreviewed links the responder's emergency that bars them: one that
	// waits for review, or one flagged in review whose flag stands.
	Unreviewed *RequestLink
	Incident   string
	Reason     string
	Confirm    string // the cluster's name as typed, kept when the form comes back
	Errors     map[string]string
	SubmitErr  string
}

// EmergencyPanel is an emergency request's break-glass record and review,
// on the request page.
type EmergencyPanel struct {
	ID        string
	Responder string
	Incident  string
	Reason    string
	At        string
	Due       string
	Overdue   bool
	Complete  bool
	Flagged   bool
	Reviews   []ReviewRow
	Needed    int
	// CanReview: the viewer may review it now; ReviewWhy says why not
	// (for approvers).
	CanReview bool
	ReviewWhy string
	PostURL   string
	Verdict   string
	Comment   string
	Error     string
	CSRF      string
}

// ReviewRow is one approver's review of an emergency.
type ReviewRow struct {
	Reviewer string
	Verdict  string
	Comment  string
	At       string
	Flagged  bool
}

// BreakGlassAdminPage is the admins' page of break-glass: its settings,
// a change waiting for a second admin, and the emergencies.
type BreakGlassAdminPage struct {
	Base
	// StepUp asks for the password again before the settings change (nil:
	// entered recently enough).
	StepUp *StepUp
	// ClearStepUp asks for it before a flag is cleared (nil: entered
	// recently enough).
	ClearStepUp *StepUp
	Flash       string
	Error       string
	Summary     string // the settings in effect, in a sentence
	Version     int
	Enabled     bool
	Ops         []RoleBox // the operations it may allow, ticked when allowed
	ReviewDays  string
	Errors      map[string]string
	Pending     *ChangeRow
	// Decided are the latest break-glass changes that no longer wait:
	// applied, rejected, withdrawn or replaced, by whom and why.
	Decided      []DecidedChange
	Admins       int
	HadTwoAdmins bool
	Overdue      []EmergencyRow
	Flagged      []EmergencyRow
	Recent       []EmergencyRow
	Responders   []string
}

// EmergencyRow is one emergency in the admins' lists.
type EmergencyRow struct {
	ID        string
	URL       string
	Responder string
	Operation string
	Task      string
	Incident  string
	Status    Status
	At        string
	Due       string // "" once the review is complete and its flag cleared
	Review    string // in words: "1 of 2", "complete", "overdue"
	Overdue   bool
	Flagged   bool
	Flags     []string // the flagging reviews' comments, with their reviewer
	// Cleared says who cleared the flag, when and why ("": it stands).
	Cleared string
	// CanClear: the review is complete and its flag stands, so an admin
	// may clear it at ClearURL; ClearError and ClearComment are a refused
	// attempt's message and what was typed.
	CanClear     bool
	ClearURL     string
	ClearError   string
	ClearComment string
}

// joinComma joins names with commas.
func joinComma(names []string) string {
	out := ""
	for i, n := range names {
		if i > 0 {
			out += ", "
		}
		out += n
	}
	return out
}
