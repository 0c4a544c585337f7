package views

// WindowsPage is the change windows and freezes, for admins.
type WindowsPage struct {
	Base
	// StepUp asks for the password again before any change to the
	// windows, freezes or rules, or an approval of a waiting one (nil:
	// entered recently enough): once, in the form at the top of the page
	// (WindowsStepUpFormKey), which vouches for the next changes for the
	// step-up window. The server still checks each change.
	StepUp *StepUp
	Flash  string
	Error  string
	Zone   string // the display zone freezes are entered and shown in
	Ops    []WindowOp
	// Freezes in force or coming.
	Freezes []FreezeRow
	// Pending are the loosening changes waiting for a second admin.
	Pending []ChangeRow
	// Decided are the latest window changes that no longer wait.
	Decided []DecidedChange
	// The forms' values as entered, shown again with the error.
	WindowOp, WindowSpec               string
	FreezeReason, FreezeFrom, FreezeTo string
	Operations                         []Option
}

// The keys of the windows page's forms, for the step-up field and its
// error.
const (
	WindowFormKey = "window"
	FreezeFormKey = "freeze"
	// WindowsStepUpFormKey is the form at the top of the page that asks
	// for the password once for all of them.
	WindowsStepUpFormKey = "windows"
)

// RemoveWindowFormKey is the key of the form that removes window id.
func RemoveWindowFormKey(id string) string { return "remove-" + id }

// LiftFreezeFormKey is the key of the form that lifts freeze id.
func LiftFreezeFormKey(id string) string { return "lift-" + id }

// RuleFormKey is the key of the form that sets op's rule outside its windows.
func RuleFormKey(op string) string { return "rule-" + op }

// WindowOp is one operation's windows and its rule outside them.
type WindowOp struct {
	Operation string
	Label     string
	Windows   []WindowRow
	Rule      string // wait or extra_approval
	RuleText  string
	// Next says when its next window opens, or until when the open one
	// lasts ("" with no windows).
	Next string
}

// WindowRow is one window.
type WindowRow struct {
	ID   string
	Text string
	// RemovalWaits is the waiting change that removes it ("" none):
	// its row offers no second removal.
	RemovalWaits string
}

// FreezeRow is one freeze.
type FreezeRow struct {
	ID     string
	Reason string
	From   string
	To     string
	Active bool
	// LiftWaits is the waiting change that lifts it ("" none): its row
	// offers no second lift.
	LiftWaits string
}

// ScheduleNotice is what the task and request pages say about the change
// windows and freezes.
type ScheduleNotice struct {
	// Freeze is the freeze in force or coming, in a sentence ("" none).
	Freeze       string
	FreezeActive bool
	// Windows are the operations' windows and when each opens next.
	Windows []string
}

// RequestWindow is what a request page says about the windows: when it
// runs, and whether its approval lapses first.
type RequestWindow struct {
	Waits   string // "Executes when the window opens: Tue 02:00 CET (Europe/Berlin, …)"
	Extra   string // the extra-approval rule, in a sentence
	Lapse   string // the approval would lapse before it can run
	Blocked bool   // a freeze holds it
}
