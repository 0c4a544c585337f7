// Package views holds the portal's templ pages and fragments. Each takes a
// view model shaped like the screen: formatted strings, permitted actions as
// booleans, field errors. Views query nothing.
package views

import (
	"encoding/hex"
	"encoding/json"
)

// Base is what every full page needs.
type Base struct {
	Title     string
	Nav       string // active navigation item: "tasks", "audit"
	User      *User  // nil when signed out
	CSRF      string
	Simulated bool
	Assets    AssetURLs
	// Emergencies are the break-glass requests whose review is not
	// complete: a banner on every page names them.
	Emergencies []EmergencyNote
}

// AssetURLs are the hashed URLs of the static files.
type AssetURLs struct {
	HTMX string
	CSS  string
	JS   string
}

// User is the signed-in user as the header shows them.
type User struct {
	Email     string
	Name      string
	Roles     string
	CanCreate bool
	IsAdmin   bool
	// CanView: the user has a role, so may see the DR tasks, requests and
	// audit log; the header offers no link to a page that would refuse.
	CanView bool
	// MustChange: an admin reset the password, so the header offers
	// nothing but signing out until the user has chosen a new one.
	MustChange bool
	// Awaiting is the number of requests waiting for this user's decision
	// (approvers only; -1 hides the counter).
	Awaiting int
	// Reviews is how many emergencies await this approver's post-incident
	// review: the counter counts them too.
	Reviews int
	// ChangesWaiting is how many admin changes wait for this admin's
	// approval as the second admin.
	ChangesWaiting int
	// AdminURL is where the header's Admin link leads: the policy page
	// when the changes waiting are policy changes, the users otherwise.
	AdminURL string
}

// CSRFHeaders is the hx-headers value carrying the CSRF token.
func (b Base) CSRFHeaders() string {
	h, _ := json.Marshal(map[string]string{"X-CSRF-Token": b.CSRF})
	return string(h)
}

// BackgroundHeader marks a page's own background refreshes (polling):
// they do not count as the person's activity for the idle timeout.
const BackgroundHeader = "X-DR-Background"

// BackgroundHeaders is the hx-headers value of a polling element; htmx
// merges it with the CSRF header set on the body.
const BackgroundHeaders = `{"` + BackgroundHeader + `":"poll"}`

// HTMXConfig configures htmx for the strict CSP (no inline styles, no eval)
// and swaps the 4xx answers that carry a re-rendered form or card (422,
// 409, 403, 429) so they show their errors.
const HTMXConfig = `{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false,"historyCacheSize":0,` +
	`"responseHandling":[{"code":"204","swap":false},{"code":"[23]..","swap":true},{"code":"422","swap":true},` +
	`{"code":"409","swap":true},{"code":"403","swap":true},{"code":"429","swap":true},{"code":"424","swap":true},{"code":"[45]..","swap":false,"error":true}]}`

// SignInPage is the sign-in form.
type SignInPage struct {
	Base
	Email string
	Next  string
	Error string
	Flash string // a note left by the page before ("You are signed out.")
}

// ErrorPage explains a failed request.
type ErrorPage struct {
	Base
	Status    int
	Heading   string
	Message   string
	RequestID string
	// BackURL and BackText lead back to where the person was.
	BackURL  string
	BackText string
}

// TaskListPage is the DR task list.
type TaskListPage struct {
	Base
	Rows      []TaskRow
	Stale     bool
	CloudErr  string
	FetchedAt string

	// Pending are the creates waiting for approval: tasks to be.
	Pending []PendingCreateRow
	// NoApprover: nobody but the viewer can approve what they file, so
	// the empty state explains the second person.
	NoApprover bool
	// Flash is the note a change left for this page ("Your password is
	// set.").
	Flash string
}

// TaskRow is one line of the task list.
type TaskRow struct {
	ID         string
	URL        string
	Name       string
	Status     Status
	DRType     string
	DRTypeRaw  string
	Primary    string
	Standby    string
	SyncPeriod string
	LastSync   string
	Created    string
	Unmanaged  bool

	// SyncPeriodRaw is the sync period as the API has it (SyncPeriod
	// says it in words).
	SyncPeriodRaw string
	// Requests are the task's open requests, as chips.
	Requests []RequestLink
}

// PendingCreateRow is a create request waiting for approval, shown in the
// task list where its task will appear.
type PendingCreateRow struct {
	Name       string
	RequestURL string
	RequestID  string
	Status     string // "Awaiting approval 0 of 1"
	Primary    string
	Standby    string
	SyncPeriod string
	Requester  string

	// SyncPeriodRaw is the sync period as the API has it.
	SyncPeriodRaw string
}

// ApproverNotice says, on a form, who could approve the request it files
// and whether they are enough for the policy.
type ApproverNotice struct {
	Text    string
	Short   bool // too few: the request could never be approved
	IsAdmin bool // link to the users page; others are told to ask an admin
	// LowerTo, when above 0, is how many approvals the policy could ask
	// for instead, which the approvers there are could give.
	LowerTo int
}

// Status is a status badge: the label in the console's words, the raw
// value (the API's or the portal's) kept in a tooltip and a data attribute.
type Status struct {
	Text  string
	Raw   string
	Class string // ok, changing, bad, idle, warn
}

// TaskFormPage is the create form.
type TaskFormPage struct {
	Base
	Form TaskForm
	// Primaries can be chosen; PrimariesOff cannot, and say why.
	Primaries    []Option
	PrimariesOff []Option
	Standby      StandbyPicker
	// NoPair is one plain sentence when no pair is possible at all.
	NoPair string
	Errors map[string]string
	// Clusters says how fresh the portal's copy of the cluster list is.
	Clusters  ClusterCopy
	SubmitErr string // the create failed in the cloud
	// TwinURL links the pending request that a refused duplicate repeats.
	TwinURL   string
	Approvers ApproverNotice
	// Sync is the sync period's number and unit.
	Sync SyncPeriodInput
}

// ClusterCopy is how fresh the create form's copy of the cluster list is.
type ClusterCopy struct {
	ReadAt string // when it was last read from the cloud ("": not yet)
	Stale  string // why the last read failed, when it is newer
	// Note answers "Read the clusters from the cloud now"; Refused: it was
	// not read (asked again too soon).
	Note    string
	Refused bool
}

// TaskForm holds the submitted values.
type TaskForm struct {
	Name             string
	DRType           string
	PrimaryClusterID string
	StandbyClusterID string
	SyncPeriod       string
	PrimaryOBSBucket string
	StandbyOBSBucket string
	Justification    string
}

// SyncPeriodInput is a sync period asked as a number and a unit (the
// create form and the change of a task's period share it), with what is
// wrong with it or, when valid, the RPO target it implies.
type SyncPeriodInput struct {
	Label  string // "Sync period: every"
	Number string
	Units  []Option
	Error  string
	OK     string
	Hint   string
}

// Option is a picker entry.
type Option struct {
	Value    string
	Label    string
	Selected bool
	Disabled bool
}

// StandbyPicker is the standby <select> fragment.
type StandbyPicker struct {
	// Options can be chosen; Off cannot, and say why.
	Options []Option
	Off     []Option
	// NoPrimary: no primary is chosen yet, so there is nothing to offer.
	NoPrimary bool
	Error     string
	// CloudErr says in words why the cloud offered no standby;
	// CloudDetail is its code, message and request id.
	CloudErr    string
	CloudDetail string
	// ReadAt is when the standbys were read from the cloud; Unread: not
	// yet; Stale says why the last read failed, when it is newer.
	ReadAt string
	Unread bool
	Stale  string
}

// ErrorItem is one entry of a form's error summary: a field's message,
// linked to the field.
type ErrorItem struct {
	Field   string // the id of the field's input
	Label   string
	Message string
}

// FieldCheck is the inline check message under a field.
type FieldCheck struct {
	Field string
	Error string
	OK    string
}

// TaskDetailPage is one DR task.
type TaskDetailPage struct {
	Base
	Panel    TaskPanel
	Timeline Timeline
	Schedule ScheduleNotice // the change windows and freezes
	Drill    DrillSummary   // the last drill and the link to the task's drills
}

// TaskPoll is how often a task's panel asks for itself again, and why:
// Kind "true" while the task changes (every 2 s), "waiting" while a
// request on it waits for decisions or to run (5 s: an approval shows, and
// the buttons follow), "idle" while it is settled (30 s: what others file
// or run shows on a page left open); none for a task the cloud deleted.
type TaskPoll struct{ Every, Kind string }

// TaskPanel is the live part of the task page, refreshed while it is
// open.
type TaskPanel struct {
	ID        string
	Name      string
	Status    Status
	Changing  bool // the task is changing: followed live
	Poll      TaskPoll
	PollURL   string
	Fields    []Field // every top-level field of the detail response
	Primary   ClusterCard
	Standby   ClusterCard
	HasDetail bool
	Stale     bool
	CloudErr  string
	FetchedAt string
	// ConfigErr: the DWS API answers as if the portal's endpoint or region
	// were wrong; the panel shows the last known state.
	ConfigErr string
	Gone      bool
	Unmanaged bool
	// RawJSON is the detail answer exactly as received; FormattedJSON the
	// same indented, when it came on one line.
	RawJSON       string
	FormattedJSON string
	// ZoneNote says how the zone-less times of the answer are read.
	ZoneNote string
	// Operations are the ones the task's status allows, for a requester.
	Operations []OpButton
	// BreakGlass are the operations a responder may run without the
	// quorum now (the status and the break-glass policy allow them).
	BreakGlass []OpButton
	// BreakGlassNotNow are the operations break-glass allows that the
	// task's state does not, each with when it does ("Failover: only when
	// the primary is down (a broken pair); this task is running.").
	BreakGlassNotNow []string
	// BreakGlassOff tells a responder that break-glass is off and who can
	// turn it on ("" for everyone else, and while it is on).
	BreakGlassOff string
	// BreakGlassBarred tells a responder whose own emergency bars them
	// why they cannot break glass now and what clears it, in place of the
	// buttons; BarredBy links that emergency.
	BreakGlassBarred string
	BarredBy         *RequestLink
	// FreezeLine says, by the operation buttons, that a freeze is in force
	// and until when ("" when none is).
	FreezeLine string
	// BusyNote says, in place of the operation buttons, that an approved
	// request holds the task and until when no other can be filed ("" when
	// none does).
	BusyNote string
	// Requests open on this task (pending, approved, executing).
	Requests []RequestLink
	RPO      string
	RTO      string
	Drift    []DriftRow
	DriftAt  string
	// Summary is the line under the heading: type, clusters, sync period.
	Summary string
	// Announce is what the page's live region says when the panel comes
	// back with another status ("sales-dw-dr is now Running").
	Announce string
	// DeletedOnRequest: the task is gone because a request deleted it.
	DeletedOnRequest bool
}

// Field is a label and a value.
type Field struct {
	Label string
	Value string
	Mono  bool
	Raw   string // the API's value behind a label shown in words ("" when the value is raw)
}

// ClusterCard is one side of a DR task.
type ClusterCard struct {
	Heading     string
	Fields      []Field
	Progress    int // 0-100
	HasProgress bool
	// ProgressText is a progress that is not a whole percentage from 0 to
	// 100, shown as the cloud sent it (no bar).
	ProgressText string
}

// Timeline is a list of audit events about one subject.
type Timeline struct {
	URL    string // refresh URL
	Events []AuditRow
	// MoreURL, when set, is the audit history filtered to this timeline:
	// the page shows only the newest events.
	MoreURL string
	// A task's history: whether it shows the cloud calls, how many there
	// are, the link that shows or hides them, and the audit history
	// filtered to the task.
	ShowCalls bool
	// CloudCalls counts the task's cloud calls; -1 when the viewer may not
	// see them all, so the count would tell of calls they cannot see.
	CloudCalls int
	ToggleURL  string
	AuditURL   string
	// Partial: the viewer sees only their own events and the system's.
	Partial bool
}

// AuditPage is the audit history.
type AuditPage struct {
	Base
	Filter     AuditFilter
	Actions    []Option
	Actors     []Option
	Rows       []AuditRow
	NewerURL   string
	OlderURL   string
	ExportURLs []Option // Value: URL, Label: format
	// ShowCallsURL is this filter with the cloud calls shown ("" when
	// they are).
	ShowCallsURL string
	Outcomes     []Option
	CanVerify    bool
	CanArchive   bool
	Checkpoints  []string
	VerifyOK     string
	VerifyError  string
	OwnOnly      bool   // the user sees only their own events
	Zone         string // the zone times are shown and filtered in (DISPLAY_TIME_ZONE)
}

// AuditFilter is the filter form's state.
type AuditFilter struct {
	Action  string
	Actor   string
	Task    string
	Request string
	Outcome string
	From    string
	To      string
	Query   string
	// HideCalls leaves the cloud calls out (the audit page's default).
	HideCalls bool
}

// AuditRow is one audit event.
type AuditRow struct {
	ID          int64
	Time        string
	Actor       string
	Action      string // the raw action, e.g. request.approved
	ActionLabel string // the action in words, e.g. Request approved
	Subject     string
	SubjectURL  string
	// SubjectID is the subject's id, shown small under its name when the
	// subject is named ("" when Subject says the id itself).
	SubjectID string
	// Request is "request #N" when the event is about an approval request
	// (audit.Event.RequestID), linked to RequestURL; "" when none.
	Request     string
	RequestURL  string
	Outcome     string
	Summary     string
	Detail      string // indented JSON
	Correlation string
}

// RequestListPage is the requests page.
type RequestListPage struct {
	Base
	// Flash is the note a change left for this page ("Your password is
	// set", after a sign-in that led here).
	Flash      string
	Tabs       []Tab
	Tab        string
	Status     string
	Operation  string
	Statuses   []Option
	Operations []Option
	Rows       []RequestRow
}

// Tab is one tab of a tabbed list.
type Tab struct {
	Key    string
	Label  string
	URL    string
	Active bool
}

// RequestRow is one line of the requests list.
type RequestRow struct {
	ID           string
	URL          string
	Operation    string // in words
	OperationRaw string
	Task         string
	Requester    string
	Status       Status
	Approvals    string
	Created      string
	// CannotRun says why a pending request can no longer run ("" when it can).
	CannotRun string
	// Incident marks an emergency request (break-glass) with its incident.
	Incident string
	// Note is a cancelled request's outcome: who cancelled it, and why.
	Note string
	// AwaitsReview marks an emergency whose post-incident review awaits
	// the viewer.
	AwaitsReview bool
}

// RequestPage is one request.
type RequestPage struct {
	Base
	Card     RequestCard
	Timeline Timeline
	// Emergency is the break-glass record and review of an emergency
	// request (nil for any other).
	Emergency *EmergencyPanel
}

// RequestCard is the part of a request's page that its buttons replace.
type RequestCard struct {
	ID     string
	Window RequestWindow // when it executes, as the change windows say
	Title  string
	Status Status
	// Refresh is how often the card reloads itself ("" never): quickly
	// while it runs, slowly while it waits for decisions (for viewers with
	// no form on it to lose).
	Refresh   string
	PollURL   string
	Requester string
	Created   string
	Expires   string // "" once decided: no expiry line
	// CallHeading names the call: what will be sent, was sent, or was
	// asked for and never sent.
	CallHeading       string
	Justification     string
	Policy            string
	ApprovalsSummary  string
	Approvals         []ApprovalRow
	Method            string
	Path              string
	Body              string
	BodyPretty        string
	PayloadHash       string
	ShowPreconditions bool
	// The last live check (filing, or a "Check now"), from the database.
	CheckedAt       string
	CheckedAgo      string
	CheckProblems   []string
	CheckErr        string
	PreconditionsOK string
	CanCheck        bool
	CheckURL        string
	CheckNotice     string // why a check asked for just now was not made
	// StoredProblems: what the poller's copy of the task says stands in the way.
	StoredProblems []string
	StatusAge      string // how old LiveStatus is
	TaskURL        string
	TaskID         string
	CanDecide      bool
	DecideWhy      string
	CanCancel      bool
	DecideURL      string
	Consequence    string
	ConfirmName    string
	LiveStatus     string // in words
	LiveStatusRaw  string
	CancelURL      string
	Outcome        string
	ErrorCode      string
	ErrorMsg       string
	ErrorRequestID string
	// Interruption says that the run executing the request died mid-way
	// and that it is being (or was) resumed; "" when it never was.
	Interruption string
	// Drill is a drill's schedule, step and evidence (nil for other requests).
	Drill *DrillCard
	Flash string
	Error string
	// FlashLasts: the note stays on the card while it refreshes, whatever
	// its status becomes (a decision is still recorded once the request
	// has run); otherwise it goes when the status changes.
	FlashLasts bool
	// ErrorField is the decide form's field Error is about ("confirm",
	// "comment"), "" when none; Comment and Confirm are what was typed.
	ErrorField string
	Comment    string
	Confirm    string
	CSRF       string
	// StepUp asks for the password before approving (a high-risk
	// operation, the session's password older than the step-up window).
	StepUp *StepUp

	// TaskName names the linked task (TaskURL).
	TaskName string
	// Summary is what the request does, in names, above the call, under
	// SummaryHeading: what an approver decides on, or, for an emergency
	// that nobody decides on, what it runs or ran.
	Summary        []Field
	SummaryHeading string
	// Approvers are the people who may still approve a pending request,
	// MoreNeeded how many more approvals it needs; Stuck says it cannot
	// get them.
	Approvers  []string
	MoreNeeded int
	Stuck      string
	// CannotRun says why the request can no longer run (its task was
	// deleted, or its status no longer allows the operation): it cannot
	// be approved.
	CannotRun string
	// Byline is the line under the heading: who filed it and the approvals.
	Byline string
	// Announce is what the live region says when the card comes back
	// with another status ("Request #3 succeeded").
	Announce string
	// Incident marks an emergency request (break-glass) with its incident.
	Incident string

	// CancelStops says, next to the cancel button, what cancelling stops;
	// CancelNeedsReason asks for the reason (an admin cancelling someone
	// else's request), CancelReason is what was typed.
	CancelStops       string
	CancelNeedsReason bool
	CancelReason      string
}

// ApprovalRow is one approver's decision.
type ApprovalRow struct {
	Approver string
	Decision string
	Comment  string
	At       string
	Policy   string
}

// UsersPage is user administration.
type UsersPage struct {
	Base
	Users  []UserRow
	Form   NewUserForm
	Errors map[string]string
	Flash  string
	Error  string
	// Admins is how many active admins there are: with one, role grants
	// take effect at once; with more, a second admin approves them.
	Admins int
	// HadTwoAdmins says the install has had two active admins: from then
	// on grants wait for a second admin even when one is left.
	HadTwoAdmins bool
	// Changes are the role grants waiting for a second admin.
	Changes []ChangeRow
	// Reset is the answer to a password reset.
	Reset *TemporaryPassword
	// Decided are the latest role grants that no longer wait.
	Decided []DecidedChange
}

// DecidedChange is an admin change that no longer waits: applied,
// rejected, withdrawn or replaced.
type DecidedChange struct {
	ID         string
	Summary    string // what it would do, in a sentence
	Outcome    string // "applied", "rejected", …
	Class      string // the outcome's badge colour
	ProposedBy string
	ProposedAt string
	DecidedBy  string // "" when nobody decided (a change replaced before its replacing admin was recorded)
	DecidedAt  string
	Reason     string // the deciding admin's comment
}

// ConfirmUserPage asks an admin to confirm a change to an account that
// cannot be undone by another click: a deactivation or a password reset.
type ConfirmUserPage struct {
	Base
	Heading string   // the question, naming the account
	Effects []string // what happens, one sentence each
	Action  string   // the form's target
	Active  string   // the "active" value a deactivation posts ("" for a reset)
	Stamp   string   // the password a reset replaces (auth.PasswordStamp)
	Button  string
	// Refused says why it cannot be done now; the page then has no form.
	Refused string
}

// ChangeRow is an admin change waiting for a second admin.
type ChangeRow struct {
	ID         string
	Summary    string   // what it does, in a sentence
	Lines      []string // details (a policy's differences)
	ProposedBy string
	ProposedAt string
	Mine       bool // proposed by the viewer: they may withdraw it, not approve it
	// Warnings are what the deciding admin should know first (the
	// account's password was reset by an admin; new break-glass settings
	// allow more than the last that were on).
	Warnings []string
	// Compare says what Diffs compare the change with ("" none): for
	// break-glass, the settings last in effect while it was on.
	Compare string
	Diffs   []ChangeDiff
	// Wakes are the approved requests held back by the windows that
	// approving the change lets run at once (a loosening of the windows).
	Wakes []RequestLink
	// StepUp asks for the password before approving (a policy change, the
	// session's password older than the step-up window); DeclineStepUp
	// before rejecting or withdrawing (only an approval policy's change).
	StepUp        *StepUp
	DeclineStepUp *StepUp
}

// ChangeDiff is one difference a change makes, marked when it allows more.
type ChangeDiff struct {
	Text  string
	Wider bool
}

// UserRow is one account.
type UserRow struct {
	ID         string
	Email      string
	Name       string
	Roles      []RoleBox
	Active     bool
	Self       bool
	MustChange bool // a reset password not yet replaced
	// Privileged names the roles that rule out a password reset ("the
	// approver role"), "" when none.
	Privileged string
}

// TemporaryPassword is a reset's temporary password, shown to the admin
// in the answer to the reset and never again.
type TemporaryPassword struct {
	Email    string
	Password string
}

// ThrottlesPage lists the sign-in throttles, for admins to clear.
type ThrottlesPage struct {
	Base
	Rows      []ThrottleRow
	Truncated bool // there are more than the page shows
	Flash     string
	Error     string
	// StepUp asks for the password with each Clear (nil: entered lately).
	StepUp *StepUp
}

// ThrottleFormKey is the step-up key of the Clear form of one throttle.
func ThrottleFormKey(account, address string) string {
	return "clear-" + hex.EncodeToString([]byte(account+"\x00"+address))
}

// ThrottleRow is one throttle: an account's failed sign-ins from one
// address, or from all of them.
type ThrottleRow struct {
	Account     string
	Address     string // the form's value ("*": all addresses)
	AddressText string
	Failures    string
	LastFailure string
	NextAllowed string // "now" unless Waiting
	Waiting     bool
}

// RoleBox is a role checkbox.
type RoleBox struct {
	Name    string
	Checked bool
	Waiting bool // a grant of it waits for a second admin
}

// NewUserForm holds the new-account form's values.
type NewUserForm struct {
	Email       string
	DisplayName string
	Roles       []RoleBox
}

// PolicyPage is the approval policy editor.
type PolicyPage struct {
	Base
	Version   int
	UpdatedBy string
	UpdatedAt string
	// InEffect are the values of the version in effect, whatever waits
	// and whatever the form holds.
	InEffect    []Field
	Rows        []PolicyRow
	PendingTTL  string
	ApprovalTTL string
	Errors      map[string]string
	Flash       string
	Error       string
	// Admins is how many active admins there are: a policy change waits
	// for a second one.
	Admins       int
	HadTwoAdmins bool
	Pending      *ChangeRow // the policy change waiting for a second admin
	// Decided are the latest policy changes that no longer wait.
	Decided []DecidedChange
	// Approvers is how many active approvers there are.
	Approvers int
	// Replaces is the number of the waiting change the form's values come
	// from and a proposal replaces ("" when none waits).
	Replaces string
	// StepUp asks for the password before proposing (the session's is
	// older than the step-up window).
	StepUp *StepUp
}

// PolicyRow is one operation's number of approvals.
type PolicyRow struct {
	Operation string
	Label     string // the operation in words
	Value     string
	Min       int // the floor no policy may go below
	Max       int // the most a policy may require
	Error     string
	// Warning: the count exceeds the approvers there are.
	Warning string
}

// OpButton links to an operation's request form.
type OpButton struct {
	Op       string
	Label    string
	URL      string
	HighRisk bool
	// Frozen: a freeze in force refuses filing it now (the panel's
	// FreezeLine says why); the button says so.
	Frozen bool
}

// RequestLink is a short reference to a request.
type RequestLink struct {
	ID     string
	URL    string
	Label  string
	Status Status
}

// DriftRow is one field changed outside the portal.
type DriftRow struct {
	Field    string
	Recorded string
	Live     string
}

// OperationPage is the request form of one operation on a task.
type OperationPage struct {
	Base
	TaskID        string
	TaskName      string
	TaskURL       string
	Op            string
	Label         string
	Status        Status
	Consequence   string
	HighRisk      bool
	ConfirmName   string
	ShowPeriod    bool
	Sync          SyncPeriodInput // the new period, when ShowPeriod
	Justification string
	// Confirm is the cluster's name as typed, shown again with an error.
	Confirm   string
	Errors    map[string]string
	SubmitErr string
	// SubmitLink follows SubmitErr (nil: none); FreezeRefused says that
	// SubmitErr is a freeze's refusal, said there alone.
	SubmitLink    *RequestLink
	FreezeRefused bool
	PostURL       string
	// Twin links a pending request for the same operation on the task;
	// TwinRefused: a filing was just refused because of it.
	Twin        *RequestLink
	TwinRefused bool
	Approvers   ApproverNotice
	// RunAt is a drill's optional run time (nil for other operations).
	RunAt *RunAtInput
	// Window is what the change windows and freezes say of filing the
	// operation now, shown by the submit button (nil: it has no windows
	// and no freeze is on).
	Window *FormWindow
}

// FormWindow is the window state of an operation on its request form: its
// change window open now or closed (and when it opens), the extra approval
// it needs outside it, or a freeze that refuses the filing.
type FormWindow struct {
	Text  string
	Class string // the alert's kind: info, warn or error
	// BreakGlass links the responder's emergency form of the operation
	// during a freeze, when break-glass allows it to them now.
	BreakGlass *RequestLink
	// Frozen: a freeze refuses the filing now, so the submit button is
	// disabled, with this text next to it as the reason.
	Frozen bool
}

// ProfilePage is the signed-in user's own account and sessions.
type ProfilePage struct {
	Base
	Name            string
	Email           string
	Roles           string
	PasswordChanged string // when, or "" if never since the account was created
	// NoRoles says the account holds no role yet; Waiting describes a grant
	// of roles waiting for a second admin ("" when none).
	NoRoles  bool
	Waiting  string
	Sessions []SessionRow
	Flash    string
	Error    string
}

// SessionRow is one of the user's sessions.
type SessionRow struct {
	ID       string
	Created  string
	LastSeen string
	IP       string
	Client   string // a short summary of the user agent
	Current  bool   // the session showing this page
}

// PasswordPage is the change-password form. Passwords are never put back
// into it.
type PasswordPage struct {
	Base
	Forced    bool // an admin reset the password: nothing else until it is changed
	MinLength int  // the shortest new password
	// Next is where a forced change goes on to: the page the person was
	// going to when they signed in ("": their work).
	Next   string
	Errors map[string]string
	Error  string
}
