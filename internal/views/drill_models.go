package views

// RunAtInput is a drill's optional run time on its request form, as a
// local date and time in the display zone.
type RunAtInput struct {
	Value string // as typed, or ""
	Zone  string // the zone it is read in, by its IANA name
	Min   string // the earliest value the picker offers (now)
	// Hint says when the drill runs with no time given and with one:
	// once approved, or, when its change windows hold it, when they open.
	Hint string
}

// DrillCard is what a drill's request page says of it: when it runs, which
// step it is at and what was measured.
type DrillCard struct {
	RunsAt     string // when it runs, in words
	Held       bool   // RunsAt says it waits for its change windows or a freeze
	Step       string // where the execution is, in words ("" before it starts)
	Evidence   string // "RTO 2 min 10 s, RPO 45 s", once measured
	Steps      []DrillStepRow
	HistoryURL string
	// Calls are the drill's two calls, switchover then switchback, as the
	// request page shows what is or was sent.
	Calls []DrillCall
}

// DrillCall is one of a drill's two calls: its step, whether and when it
// was sent, and what it sends.
type DrillCall struct {
	Step         string // "1. Switchover"
	State        string // "sent at …", "not sent yet", "never sent"
	Method, Path string
	Body         string // as sent ("" none)
	BodyPretty   string
}

// DrillStepRow is one step's measurement.
type DrillStepRow struct {
	Step, Accepted, Running, RTO string
}

// DrillSummary is the task page's line about its drills.
type DrillSummary struct {
	Last       string // the last drill's result in words; "" when none ran
	Outcome    string // succeeded, failed, running
	Class      string // ok, bad, idle
	When       string
	RequestURL string
	HistoryURL string
	Count      int
}

// DrillHistoryPage is a task's drills, newest first, with the exports.
type DrillHistoryPage struct {
	Base
	TaskName, TaskURL string
	Rows              []DrillRow
	// CanExport: the viewer may export the evidence (an auditor or an
	// admin); others are told who may.
	CanExport       bool
	CSVURL, JSONURL string
	Resolution      string // the poll resolution note
}

// DrillRow is one drill in the history.
type DrillRow struct {
	ID, URL                       string
	FiledBy, ApprovedBy           string
	RunAt, Started, Finished      string
	Outcome, Class                string
	SwitchoverRTO, SwitchbackRTO  string
	RPO, LastSync, PollResolution string
	Detail                        string
}
