package handlers

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/auth"
	"drportal/internal/portal"
	"drportal/internal/requests"
	"drportal/internal/views"
)

// freezeLayout is how a datetime-local field sends a time.
const freezeLayout = "2006-01-02T15:04"

func (h *Handlers) displayZone() *time.Location {
	if h.Config.DisplayTimeZone != nil {
		return h.Config.DisplayTimeZone
	}
	return time.UTC
}

// windowsPage renders the change windows page; form holds the values as
// entered when a change was refused.
func (h *Handlers) windowsPage(c echo.Context, status int, form views.WindowsPage) error {
	return h.windowsPageStepUp(c, status, form, "", nil)
}

// windowsStepUp is what a change to the change windows is called where it
// asks for the password. Every change is a change of the policy of when
// operations may run: one that takes effect at once (it allows fewer
// moments) as much as proposing or deciding on a loosening.
const windowsStepUp = "Changing the change windows"

// windowsPageStepUp is windowsPage after a step-up of the form with key
// stepUpForm failed with stepUpErr (nil: none did). Whichever form it was,
// the error is shown at the one password field, at the top of the page.
func (h *Handlers) windowsPageStepUp(c echo.Context, status int, form views.WindowsPage, stepUpForm string, stepUpErr error) error {
	ctx := c.Request().Context()
	now := h.Now()
	sched, err := h.Store.Schedule(ctx, now)
	if err != nil {
		return err
	}
	p := form
	p.Base = h.base(c, "Change windows", "admin")
	p.Zone = portal.ZoneName(h.displayZone())
	atPage(c, "/admin/windows")
	for _, op := range portal.Operations {
		o := views.WindowOp{Operation: string(op), Label: op.Label(), Rule: string(sched.RuleOf(op)), RuleText: sched.RuleOf(op).Label()}
		for _, w := range sched.WindowsOf(op) {
			o.Windows = append(o.Windows, views.WindowRow{ID: strconv.FormatInt(w.ID, 10), Text: w.String()})
		}
		if len(o.Windows) > 0 {
			o.Next = nextWindowText(sched, op, now)
		}
		p.Ops = append(p.Ops, o)
		p.Operations = append(p.Operations, views.Option{Value: string(op), Label: op.Label(), Selected: string(op) == form.WindowOp})
	}
	changes, err := h.Store.PendingAdminChanges(ctx)
	if err != nil {
		return err
	}
	p.StepUp = windowsStepUpPrompt(h.stepUpPrompt(c, windowsStepUp), stepUpForm, stepUpErr)
	// A lift or removal that already waits is not offered again: its row
	// points at the waiting change instead.
	lifts, removals := map[int64]string{}, map[int64]string{}
	for _, ch := range changes {
		if ch.Kind == portal.ChangeWindows {
			switch id := strconv.FormatInt(ch.ID, 10); ch.Windows.Action {
			case portal.LiftFreeze:
				lifts[ch.Windows.Freeze.ID] = id
			case portal.RemoveWindow:
				removals[ch.Windows.Window.ID] = id
			}
			// The password is asked once, at the top of the page.
			row := h.changeRow(ch, user(c).ID, portal.Policy{})
			woke, err := h.Requests.WouldWake(ctx, ch.Windows)
			if err != nil {
				return err
			}
			for _, r := range woke {
				row.Wakes = append(row.Wakes, views.RequestLink{ID: strconv.FormatInt(r.ID, 10),
					URL: fmt.Sprintf("/requests/%d", r.ID), Label: wokenLabel(r)})
			}
			p.Pending = append(p.Pending, row)
		}
	}
	for i, o := range p.Ops {
		for j, w := range o.Windows {
			id, _ := strconv.ParseInt(w.ID, 10, 64)
			p.Ops[i].Windows[j].RemovalWaits = removals[id]
		}
	}
	for _, f := range sched.Freezes {
		p.Freezes = append(p.Freezes, views.FreezeRow{ID: strconv.FormatInt(f.ID, 10), Reason: f.Reason,
			From: h.formatTime(f.Start), To: h.formatTime(f.End), Active: f.Covers(now), LiftWaits: lifts[f.ID]})
	}
	if p.Decided, err = h.decidedChanges(ctx, portal.ChangeWindows, portal.Policy{}); err != nil {
		return err
	}
	return h.render(c, status, views.Windows(p))
}

// windowsStepUpPrompt is the windows page's one password field (s, nil
// while the password is fresh), with the error of a step-up of the form
// with key form (err, nil: none failed). A change refused for want of the
// password is told to confirm it at the top first: its own form has no
// field.
func windowsStepUpPrompt(s *views.StepUp, form string, err error) *views.StepUp {
	if s == nil {
		return nil
	}
	s.Note = fmt.Sprintf("Confirm it here once: for %s after, the changes on this page need it no more.",
		portal.FormatDuration(auth.StepUpWindow))
	stepUpFailed(s, views.WindowsStepUpFormKey, err)
	if s.Error != "" && form != views.WindowsStepUpFormKey && apperr.KindOf(err) == apperr.Forbidden {
		s.Error = s.Why + ". Confirm it at the top of the page, then make the change again. Nothing was changed."
	}
	return s
}

// confirmWindowsPassword is the form at the top of the windows page: the
// password entered once (stepUp: checked, throttled and audited like any
// step-up) vouches for the changes of the next auth.StepUpWindow.
func (h *Handlers) confirmWindowsPassword(c echo.Context) error {
	if sess, ok := session(c); ok && h.Auth.StepUpFresh(sess) {
		return h.redirectWithNote(c, "/admin/windows", "Your password was entered lately: the changes on this page do not ask for it now.")
	}
	if err := h.stepUp(c, windowsStepUp, "change the change windows"); err != nil {
		status, ok := h.shownAgain(c, err)
		if !ok {
			return err
		}
		return h.windowsPageStepUp(c, status, views.WindowsPage{}, views.WindowsStepUpFormKey, err)
	}
	return h.redirectWithNote(c, "/admin/windows", fmt.Sprintf(
		"Your password is confirmed: for %s, the changes on this page need it no more.", portal.FormatDuration(auth.StepUpWindow)))
}

// wokenLabel names a request a loosening of the windows lets run at once:
// "request #6 Drill on sales-dr".
func wokenLabel(r portal.Request) string {
	return fmt.Sprintf("request #%d %s%s on %s", r.ID, emergencyPrefix(r), r.Operation.Label(), r.TaskName)
}

// wokeNote says which approved requests approving a change started at
// once ("" none).
func wokeNote(rs []portal.Request) string {
	if len(rs) == 0 {
		return ""
	}
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = wokenLabel(r)
	}
	return " It let these approved requests run now: " + strings.Join(names, ", ") + "."
}

// nextWindowText says whether op's window is open and until when ("Open
// now, until Wed 09:00 UTC (2026-12-02, in 3 hours)"), or when the next
// one opens ("Next opening: …"), each in the window's zone, in UTC when
// that is another, and how far off.
func nextWindowText(s portal.Schedule, op portal.Operation, now time.Time) string {
	at, w := s.NextWindow(op, now)
	if at.Equal(now) {
		if end, w := s.OpenUntil(op, now); !end.IsZero() {
			return "Open now, until " + portal.DescribeOpening(end, w.Zone, now)
		}
		return "Open now"
	}
	return "Next opening: " + portal.DescribeOpening(at, w.Zone, now)
}

func (h *Handlers) showWindows(c echo.Context) error {
	return h.windowsPage(c, http.StatusOK, views.WindowsPage{Flash: h.takeNote(c)})
}

// windowsResult answers a change to the windows: back to the page with a
// note, or the page again with the refusal, the values entered and
// nothing changed.
func (h *Handlers) windowsResult(c echo.Context, res auth.WindowResult, err error, form views.WindowsPage) error {
	switch apperr.KindOf(err) {
	case apperr.Conflict, apperr.Invalid, apperr.NotFound:
		status, ok := h.shownAgain(c, err)
		if !ok {
			status = http.StatusNotFound
		}
		detail := map[string]any{"route": c.Path(), "id": c.Param("id")}
		for k, v := range map[string]string{"operation": form.WindowOp, "window": form.WindowSpec, "freeze_reason": form.FreezeReason,
			"starts": form.FreezeFrom, "ends": form.FreezeTo} {
			if v != "" {
				detail[k] = v
			}
		}
		if rerr := h.recordRefused(c, audit.ActionWindowRejected, 0, "", "", detail, err); rerr != nil {
			return rerr
		}
		form.Error = apperr.Message(err)
		return h.windowsPage(c, status, form)
	}
	if err != nil {
		return err
	}
	note := "Done: " + res.Change.Describe(h.displayZone()) + " It is in effect."
	if !res.Applied {
		note = fmt.Sprintf("Proposed (change #%d): %s It allows operations at more moments, so it takes effect when another admin approves it.",
			res.ChangeID, res.Change.Describe(h.displayZone()))
	}
	return h.redirectWithNote(c, "/admin/windows", note)
}

// changeWindows makes change ch to the windows from the form with key
// formKey (form: its values as entered), once the password was entered
// lately: every change to the windows asks for it, whether it takes effect
// at once or waits for a second admin. purpose says what for, for the
// audit of the step-up.
func (h *Handlers) changeWindows(c echo.Context, ch portal.WindowChange, form views.WindowsPage, formKey, purpose string) error {
	if err := h.stepUp(c, windowsStepUp, purpose); err != nil {
		status, ok := h.shownAgain(c, err)
		if !ok {
			return err
		}
		return h.windowsPageStepUp(c, status, form, formKey, err)
	}
	res, err := h.Auth.ChangeWindows(c.Request().Context(), *user(c), ch)
	return h.windowsResult(c, res, err, form)
}

func (h *Handlers) addWindow(c echo.Context) error {
	op, spec := portal.Operation(c.FormValue("operation")), strings.TrimSpace(c.FormValue("window"))
	form := views.WindowsPage{WindowOp: string(op), WindowSpec: spec}
	if !op.Valid() {
		return h.windowsResult(c, auth.WindowResult{}, apperr.New(apperr.Invalid, "Choose an operation. Nothing was changed."), form)
	}
	w, err := portal.ParseWindow(op, spec)
	if err != nil {
		return h.windowsResult(c, auth.WindowResult{}, apperr.New(apperr.Invalid, "The window was not added: %s. Nothing was changed.", err), form)
	}
	return h.changeWindows(c, portal.WindowChange{Action: portal.AddWindow, Window: w}, form, views.WindowFormKey,
		"add a change window for "+strings.ToLower(op.Label()))
}

func formID(c echo.Context, what string) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, apperr.New(apperr.NotFound, "There is no such %s.", what)
	}
	return id, nil
}

func (h *Handlers) removeWindow(c echo.Context) error {
	id, err := formID(c, "window")
	if err != nil {
		return err
	}
	return h.changeWindows(c, portal.WindowChange{Action: portal.RemoveWindow, Window: portal.Window{ID: id}}, views.WindowsPage{},
		views.RemoveWindowFormKey(strconv.FormatInt(id, 10)), fmt.Sprintf("remove change window #%d", id))
}

func (h *Handlers) setWindowRule(c echo.Context) error {
	ch := portal.WindowChange{Action: portal.SetRule, Operation: portal.Operation(c.FormValue("operation")),
		Rule: portal.OutsideRule(c.FormValue("rule"))}
	return h.changeWindows(c, ch, views.WindowsPage{}, views.RuleFormKey(string(ch.Operation)),
		"set the rule outside the change windows of "+strings.ToLower(ch.Operation.Label()))
}

func (h *Handlers) addFreeze(c echo.Context) error {
	reason, from, to := strings.TrimSpace(c.FormValue("reason")), strings.TrimSpace(c.FormValue("starts")), strings.TrimSpace(c.FormValue("ends"))
	form := views.WindowsPage{FreezeReason: reason, FreezeFrom: from, FreezeTo: to}
	start, err1 := time.ParseInLocation(freezeLayout, from, h.displayZone())
	end, err2 := time.ParseInLocation(freezeLayout, to, h.displayZone())
	if err1 != nil || err2 != nil {
		return h.windowsResult(c, auth.WindowResult{}, apperr.New(apperr.Invalid,
			"Give the freeze's start and end as a date and time (2026-12-20T00:00), in %s. Nothing was changed.", portal.ZoneName(h.displayZone())), form)
	}
	return h.changeWindows(c, portal.WindowChange{Action: portal.AddFreeze, Freeze: portal.Freeze{Start: start, End: end, Reason: reason}},
		form, views.FreezeFormKey, "add a freeze")
}

func (h *Handlers) liftFreeze(c echo.Context) error {
	id, err := formID(c, "freeze")
	if err != nil {
		return err
	}
	return h.changeWindows(c, portal.WindowChange{Action: portal.LiftFreeze, Freeze: portal.Freeze{ID: id}}, views.WindowsPage{},
		views.LiftFreezeFormKey(strconv.FormatInt(id, 10)), fmt.Sprintf("lift freeze #%d", id))
}

// scheduleNotice is what the task page says of the windows and freezes:
// a freeze in force or the next one, and each operation's next window.
func (h *Handlers) scheduleNotice(sched portal.Schedule) views.ScheduleNotice {
	now := h.Now()
	var n views.ScheduleNotice
	if f, ok := sched.FreezeAt(now); ok {
		n.Freeze, n.FreezeActive = h.freezeOn(f), true
	} else if f, ok := sched.NextFreeze(now); ok {
		n.Freeze = fmt.Sprintf("Coming freeze “%s” from %s to %s: nothing runs then, and no request can be filed.", f.Reason, h.formatTime(f.Start), h.formatTime(f.End))
	}
	for _, spec := range portal.Specs {
		ws := sched.WindowsOf(spec.Op)
		if len(ws) == 0 {
			continue
		}
		texts := make([]string, len(ws))
		for i, w := range ws {
			texts[i] = w.String()
		}
		n.Windows = append(n.Windows, fmt.Sprintf("%s: %s. %s. Outside the windows it %s.",
			spec.Label, strings.Join(texts, ", "), nextWindowText(sched, spec.Op, now), sched.RuleOf(spec.Op).Label()))
	}
	return n
}

// requestWindow is what a request page says of its windows: when it
// executes, the extra approval that runs it at once, and an approval that
// would lapse before its window opens. A drill with a run time (runAt,
// nil for none) is judged at that time, when it would run, and an
// approval lasts from then. From the database alone.
func (h *Handlers) requestWindow(sched portal.Schedule, r portal.Request, approvals []portal.Approval, policy portal.Policy,
	status portal.RequestStatus, runAt *time.Time) views.RequestWindow {
	var out views.RequestWindow
	if status != portal.StatusPending && status != portal.StatusApproved {
		return out
	}
	now := h.Now()
	at := now
	if runAt != nil && runAt.After(now) {
		at = *runAt
	}
	g, held := requests.HeldBackOn(sched, approvals, r, at)
	if g.Open() {
		return out
	}
	if status == portal.StatusApproved && !held {
		return out // it has the extra approval: it runs now
	}
	switch {
	case g.Frozen:
		out.Blocked = true
		out.Waits = h.freezeOn(g.Freeze) + " " + h.afterFreeze(g)
	case g.RunsAt.IsZero():
		out.Waits = "No moment was found when its change window is open and no freeze holds: it cannot run as the windows stand."
	default:
		out.Waits = fmt.Sprintf("Executes when the window opens: %s. It is outside its change window %s.",
			portal.DescribeOpening(g.RunsAt, g.Window.Zone, now), g.Window)
	}
	if status == portal.StatusPending && g.ExtraApprovals() > 0 {
		out.Extra = fmt.Sprintf("Outside its window it runs at once with %s (the policy's %d plus one); with %d it waits for the window.",
			portal.Plural(r.RequiredApprovals+g.ExtraApprovals(), "approval", "approvals"), r.RequiredApprovals, r.RequiredApprovals)
	}
	if g.RunsAt.IsZero() {
		return out
	}
	switch {
	case status == portal.StatusApproved && r.ApprovalExpiresAt != nil && !g.RunsAt.Before(*r.ApprovalExpiresAt):
		out.Lapse = fmt.Sprintf("Its approval lapses at %s, before it can run: it will then fail without calling the cloud. File it again closer to the window.",
			h.formatTime(*r.ApprovalExpiresAt))
	case status == portal.StatusPending && at.After(now) && !g.RunsAt.Before(at.Add(policy.ApprovalTTL)):
		out.Lapse = fmt.Sprintf("An approval lasts %s from its run time, %s, and it can run only from %s: an approval given now lapses before then. File it again with a run time closer to the window.",
			portal.FormatDuration(policy.ApprovalTTL), h.formatTime(at), h.formatTime(g.RunsAt))
	case status == portal.StatusPending && !at.After(now) && !g.RunsAt.Before(now.Add(policy.ApprovalTTL)):
		out.Lapse = fmt.Sprintf("An approval lasts %s, and it can run only from %s: an approval given now lapses before then. Approve it closer to the window, or file it again then.",
			portal.FormatDuration(policy.ApprovalTTL), h.formatTime(g.RunsAt))
	}
	return out
}

// freezeOn says that freeze f is on, with its reason and its end, and who
// can act until then: the same words wherever a freeze stops something.
func (h *Handlers) freezeOn(f portal.Freeze) string {
	return fmt.Sprintf("A freeze is on: “%s”, until %s (%s). Until it ends nothing runs and no request can be filed; only break-glass (a responder's emergency) can act.",
		f.Reason, h.formatTime(f.End), portal.Until(f.End.Sub(h.Now())))
}

// frozenLine is the short line by a task's operation buttons while freeze
// f is in force: until when, why, and who can act.
func (h *Handlers) frozenLine(f portal.Freeze) string {
	return fmt.Sprintf("Frozen until %s (%s): %s. Only break-glass can act.", h.formatTime(f.End), portal.Until(f.End.Sub(h.Now())), f.Reason)
}

// afterFreeze says when a request held by a freeze (g) runs: when the
// freeze ends, or, when its change window is closed then, at the first
// moment after the freeze that the window is open.
func (h *Handlers) afterFreeze(g portal.WindowGate) string {
	now := h.Now()
	switch {
	case g.RunsAt.IsZero():
		return "No moment was found after it when its change window is open: it cannot run as the windows stand."
	case !g.RunsAt.After(g.Freeze.End):
		return "It executes when the freeze ends."
	case !g.Restricted:
		return fmt.Sprintf("Another freeze follows it: it executes when that one ends, %s (%s).", h.formatTime(g.RunsAt), portal.Until(g.RunsAt.Sub(now)))
	}
	return fmt.Sprintf("Its change window is closed when the freeze ends: it executes after the freeze ends %s (%s), at the next window opening, %s.",
		h.formatTime(g.Freeze.End), portal.Until(g.Freeze.End.Sub(now)), portal.DescribeOpening(g.RunsAt, windowZone(g, h.displayZone()), now))
}

// windowZone is the zone an opening is said in: its window's, or the
// display zone for an operation without windows.
func windowZone(g portal.WindowGate, display *time.Location) string {
	if g.Window.Zone != "" {
		return g.Window.Zone
	}
	return display.String()
}
