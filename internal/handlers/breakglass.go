package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/auth"
	"drportal/internal/drtask"
	"drportal/internal/portal"
	"drportal/internal/requests"
	"drportal/internal/views"
)

// Break-glass: a responder's one-page emergency form, the banner every
// page shows while an emergency waits for its review, the review on the
// request page, and the admins' settings.

// emergencyNotes are the open emergencies for the banner, as read with the
// session (from the database only).
func (h *Handlers) emergencyNotes(c echo.Context) []views.EmergencyNote {
	sess, ok := session(c)
	if !ok {
		return nil
	}
	es := sess.OpenEmergencies
	now := h.Now()
	out := make([]views.EmergencyNote, len(es))
	for i, e := range es {
		out[i] = views.EmergencyNote{ID: strconv.FormatInt(e.RequestID, 10), URL: fmt.Sprintf("/requests/%d", e.RequestID),
			Responder: e.ResponderEmail, Operation: strings.ToLower(e.Operation.Label()), Task: e.TaskName, Incident: e.Incident,
			At: h.formatTime(e.CreatedAt), Due: h.formatTime(e.ReviewDueAt), Overdue: e.Overdue(now),
			Reviews: len(e.Reviews), Needed: portal.ReviewsNeeded}
	}
	return out
}

// emergencyPrefix marks an emergency request's chip.
func emergencyPrefix(r portal.Request) string {
	if r.BypassesPolicy() {
		return "Emergency " + r.Incident + " · "
	}
	return ""
}

// breakGlassButtons are the operations a responder may run on the task
// without the quorum now: the task's status and the break-glass policy
// allow them. None when break-glass is off.
func (h *Handlers) breakGlassButtons(c echo.Context, pg drtask.Page) (out []views.OpButton, notNow []string) {
	if !Allowed(user(c), PermBreakGlass) {
		return nil, nil
	}
	p := pg.BreakGlass
	for _, op := range portal.BreakGlassOps {
		if !p.Allows(op) {
			continue
		}
		if ok, _ := portal.Allowed(op, pg.State); !ok {
			// Allowed by break-glass, not by the task's state: say when
			// it is, so that a responder is not left guessing.
			notNow = append(notNow, fmt.Sprintf("%s: %s; this task is %s.", op.Label(), breakGlassWhen(op),
				strings.ToLower(pg.View.Row.Status.Label())))
			continue
		}
		out = append(out, views.OpButton{Op: string(op), Label: op.Label(), HighRisk: true,
			URL: "/dr-tasks/" + pg.View.Row.ID + "/break-glass/" + string(op)})
	}
	return out, notNow
}

// breakGlassWhen says, in a few words, in which state of a task op can
// run: what a responder needs to know in an outage.
func breakGlassWhen(op portal.Operation) string {
	switch op {
	case portal.OpFailover:
		return "only when the primary is down (a broken pair)"
	case portal.OpRecovery:
		return "only after a failover, to rebuild the pair"
	}
	spec, _ := portal.SpecOf(op)
	var when []string
	for _, st := range spec.AllowedFrom {
		when = append(when, strings.ToLower(st.Label()))
	}
	return "only when the task is " + strings.Join(when, " or ")
}

// responderID is the signed-in user's id when they may break glass, so
// that a task's page reads what bars them with the page (0: not a
// responder).
func (h *Handlers) responderID(c echo.Context) int64 {
	if u := user(c); Allowed(u, PermBreakGlass) {
		return u.ID
	}
	return 0
}

// breakGlassBarred tells a responder, on a task's page, that their own
// emergency pg.Bar bars them from breaking glass, and what clears it: the
// review by two approvers (how many so far, from the session's open
// emergencies), or, once flagged, an admin clearing the flag.
func (h *Handlers) breakGlassBarred(c echo.Context, pg drtask.Page) (string, *views.RequestLink) {
	id := pg.Bar.RequestID
	link := &views.RequestLink{URL: fmt.Sprintf("/requests/%d", id), Label: fmt.Sprintf("See request #%d.", id)}
	if pg.Bar.Flagged {
		msg := fmt.Sprintf("You cannot break glass now: a reviewer flagged your emergency #%d. An admin must clear the flag "+
			"(Admin → Break-glass) before you can break glass again", id)
		if len(pg.Admins) > 0 {
			msg += "; the admins: " + names(pg.Admins)
		}
		return msg + ". Until then, have a request filed for approval.", link
	}
	reviews := 0
	if s, ok := session(c); ok {
		for _, e := range s.OpenEmergencies {
			if e.RequestID == id {
				reviews = len(e.Reviews)
			}
		}
	}
	return fmt.Sprintf("You cannot break glass now: your emergency #%d has not been reviewed by two approvers yet (%d of %d so far). "+
		"Once two have and neither flagged it, you can break glass again; until then, have a request filed for approval.", id, reviews, portal.ReviewsNeeded), link
}

// breakGlassOff tells a responder, on a task's page, that break-glass is
// off, and who can turn it on: two of the admins, one proposing it at
// Admin → Break-glass and another approving. During a freeze (sched, now)
// nothing can run at all, not even with approvals, since nothing can be
// filed; turnOn is a proposed change turning it on, waiting for a second
// admin (nil: none).
func (h *Handlers) breakGlassOff(admins []portal.User, sched portal.Schedule, turnOn *portal.AdminChange) string {
	msg := "Break-glass is off: no operation can run here without its approvals."
	if f, ok := sched.FreezeAt(h.Now()); ok {
		msg = h.frozenBreakGlassOff(f)
	}
	msg += " It is turned on at Admin → Break-glass by one admin and approved by a second"
	if len(admins) == 0 {
		msg += "; nobody holds the admin role now."
	} else {
		msg += "; the admins: " + names(admins) + "."
	}
	return msg + turnOnWaits(turnOn)
}

// frozenBreakGlassOff says that freeze f stops everything while
// break-glass, the one thing that could act during it, is off.
func (h *Handlers) frozenBreakGlassOff(f portal.Freeze) string {
	return fmt.Sprintf("Break-glass is off, and a freeze is on: “%s”, until %s (%s). Until it ends nothing can be filed or run here; "+
		"only break-glass could act, and it is off.", f.Reason, h.formatTime(f.End), portal.Until(f.End.Sub(h.Now())))
}

// breakGlassTurnOn is the proposed change turning break-glass on that
// waits for a second admin's approval (nil: none waits).
func (h *Handlers) breakGlassTurnOn(ctx context.Context) (*portal.AdminChange, error) {
	changes, err := h.Store.PendingAdminChanges(ctx)
	if err != nil {
		return nil, err
	}
	return turnOnOf(changes), nil
}

// turnOnOf is the change among changes that turns break-glass on (nil:
// none waits).
func turnOnOf(changes []portal.AdminChange) *portal.AdminChange {
	for _, ch := range changes {
		if ch.Kind == portal.ChangeBreakGlass && ch.BreakGlass.Enabled {
			return &ch
		}
	}
	return nil
}

// turnOnWaits says that a change turning break-glass on waits for a
// second admin ("" when none does).
func turnOnWaits(ch *portal.AdminChange) string {
	if ch == nil {
		return ""
	}
	return fmt.Sprintf(" A change turning it on (change #%d, proposed by %s) waits for a second admin's approval: until one approves it, break-glass stays off.",
		ch.ID, ch.ProposedByEmail)
}

// breakGlassForm reads the emergency form; the password stays out of it,
// so that nothing that records or shows the form can hold it.
type breakGlassForm struct {
	op       portal.Operation
	taskID   string
	incident string
	reason   string
	confirm  string
}

func readBreakGlassForm(c echo.Context) breakGlassForm {
	return breakGlassForm{op: portal.Operation(c.Param("op")), taskID: c.Param("id"),
		incident: strings.TrimSpace(c.FormValue("incident")), reason: c.FormValue(drtask.FieldJustification),
		confirm: c.FormValue(drtask.FieldConfirm)}
}

// breakGlassPage builds the emergency form of f from the task's last known
// state and says what stands in its way now.
func (h *Handlers) breakGlassPage(c echo.Context, f breakGlassForm, errs map[string]string) (views.BreakGlassPage, drtask.TaskView, error) {
	if !slices.Contains(portal.BreakGlassOps, f.op) {
		return views.BreakGlassPage{}, drtask.TaskView{}, apperr.New(apperr.NotFound, "Break-glass runs a failover, switchover, recovery or start; there is no break-glass %q.", f.op)
	}
	ctx := c.Request().Context()
	v, err := h.Tasks.Task(ctx, f.taskID)
	if err != nil {
		return views.BreakGlassPage{}, v, err
	}
	t := v.Task
	t.ID, t.Status = v.Row.ID, v.Row.Status
	label := f.op.Label()
	p := views.BreakGlassPage{Base: h.base(c, "Break glass: "+label+" of "+v.Row.Name, "tasks"), TaskID: v.Row.ID, TaskName: v.Row.Name,
		TaskURL: "/dr-tasks/" + v.Row.ID, Op: string(f.op), Label: label, Status: statusBadge(v.Row.Status),
		Consequence: portal.Consequence(f.op, t, v.Progress, "", h.zones()), ConfirmName: portal.BreakGlassConfirm(f.op, t),
		PostURL: "/dr-tasks/" + v.Row.ID + "/break-glass/" + string(f.op), Incident: f.incident, Reason: f.reason, Confirm: f.confirm, Errors: errs}
	why, policy, err := h.Requests.CanBreakGlass(ctx, *user(c), f.op)
	if err != nil {
		return p, v, err
	}
	p.ReviewDays = policy.ReviewDays
	if err := h.explainRefusal(ctx, &p, why); err != nil {
		return p, v, err
	}
	return p, v, nil
}

// explainRefusal shows why break-glass is refused. When it is off, it
// also says what is true besides: that a freeze stops every filing (so
// no request can be filed for approval either), and that a change turning
// it on waits for a second admin. From the database alone.
func (h *Handlers) explainRefusal(ctx context.Context, p *views.BreakGlassPage, why requests.BreakGlassRefusal) error {
	p.Refusal = why.Message
	if why.Off() {
		sched, err := h.Store.Schedule(ctx, h.Now())
		if err != nil {
			return err
		}
		if f, ok := sched.FreezeAt(h.Now()); ok {
			p.Refusal = h.frozenBreakGlassOff(f) + " Two admins turn it on at Admin → Break-glass: one proposes it, a second approves."
		}
		turnOn, err := h.breakGlassTurnOn(ctx)
		if err != nil {
			return err
		}
		p.Refusal += turnOnWaits(turnOn)
	}
	if id := max(why.Unreviewed, why.Flagged); id != 0 {
		p.Unreviewed = &views.RequestLink{URL: fmt.Sprintf("/requests/%d", id), Label: fmt.Sprintf("See request #%d.", id)}
	}
	return nil
}

// showBreakGlass is the emergency form of an operation; when break-glass
// is refused now, the page says why instead of offering the form.
func (h *Handlers) showBreakGlass(c echo.Context) error {
	f := breakGlassForm{op: portal.Operation(c.Param("op")), taskID: c.Param("id")}
	p, v, err := h.breakGlassPage(c, f, nil)
	if err != nil {
		return err
	}
	state, err := h.Tasks.StoredState(c.Request().Context(), v)
	if err != nil {
		return err
	}
	if ok, why := portal.Allowed(f.op, state); !ok {
		return apperr.New(apperr.Conflict, "%s", why)
	}
	return h.render(c, http.StatusOK, views.BreakGlassForm(p))
}

// breakGlass runs an operation without the quorum: the policy must allow
// it, the form be complete (incident, reason, the cluster's name), and the
// password right. Then the request is filed and approved at once, and
// everyone is told.
func (h *Handlers) breakGlass(c echo.Context) error {
	f := readBreakGlassForm(c)
	ctx, u := c.Request().Context(), *user(c)
	p, _, err := h.breakGlassPage(c, f, map[string]string{})
	if err != nil {
		return err
	}
	draft := requests.Draft{Operation: f.op, DRTaskID: p.TaskID, TaskName: p.TaskName}
	if p.Refusal != "" {
		why, _, err := h.Requests.CanBreakGlass(ctx, u, f.op)
		if err != nil {
			return err
		}
		if err := h.Requests.BreakGlassRefused(ctx, u, draft, why); err != nil {
			return err
		}
		return h.render(c, http.StatusConflict, views.BreakGlassForm(p))
	}
	if msg := portal.CheckIncident(f.incident); msg != "" {
		p.Errors["incident"] = msg
	}
	if msg := requests.CheckReason(f.reason); msg != "" {
		p.Errors[drtask.FieldJustification] = msg
	}
	password := c.FormValue("password")
	if password == "" {
		p.Errors["password"] = "Enter your password: break-glass asks for it every time."
	}
	// A form that comes back with errors ran nothing, and is on record
	// (what was typed, never the password).
	notFiled := func() error {
		draft.Justification = f.reason
		if err := h.Requests.BreakGlassNotFiled(ctx, u, draft, f.incident, f.confirm, p.ConfirmName, p.Errors); err != nil {
			return err
		}
		return h.render(c, http.StatusUnprocessableEntity, views.BreakGlassForm(p))
	}
	if len(p.Errors) > 0 {
		return notFiled()
	}
	// The password (and its throttle) before anything reaches the cloud:
	// a taken session cannot make the portal call DWS again and again.
	if err := h.Auth.ConfirmPassword(ctx, u, password); err != nil {
		switch {
		case errors.Is(err, auth.ErrWrongPassword):
			// On record already, as a refusal (break_glass.refused).
			p.Errors["password"] = apperr.Message(err)
			return h.render(c, http.StatusUnprocessableEntity, views.BreakGlassForm(p))
		case apperr.KindOf(err) == apperr.TooMany:
			setRetryAfter(c, err)
			p.SubmitErr = apperr.Message(err)
			return h.render(c, http.StatusTooManyRequests, views.BreakGlassForm(p))
		}
		return err
	}
	// The live state, the operation's call and the cluster's name, as for
	// any request of the operation.
	plan, ferrs, err := h.Tasks.PrepareOperation(ctx, drtask.OperationForm{Op: f.op, TaskID: f.taskID,
		Confirm: f.confirm, Justification: f.reason, Emergency: true})
	if err != nil {
		status, ok := h.shownAgain(c, err)
		if !ok {
			return err
		}
		p.SubmitErr = apperr.Message(err)
		return h.render(c, status, views.BreakGlassForm(p))
	}
	for k, v := range ferrs {
		p.Errors[k] = v
	}
	if want := portal.BreakGlassConfirm(f.op, plan.Task); len(ferrs) == 0 && strings.TrimSpace(f.confirm) != want {
		p.Errors[drtask.FieldConfirm] = fmt.Sprintf("Type the name of the affected cluster, %s, exactly as shown.", want)
	}
	if len(p.Errors) > 0 {
		return notFiled()
	}
	draft.Method, draft.Path, draft.Payload = plan.Method, plan.Path, plan.Body
	draft.Justification, draft.Consequence = f.reason, plan.Consequence
	draft.ConfirmName = portal.BreakGlassConfirm(f.op, plan.Task)
	draft.TaskName = plan.Task.Name
	draft.Summary = portal.RequestSummary{Primary: portal.SideRef(plan.Task.Primary), Standby: portal.SideRef(plan.Task.Standby),
		SyncPeriod: plan.Task.SyncPeriod}
	r, err := h.Requests.BreakGlass(ctx, u, draft, f.incident)
	var refused *requests.RefusedError
	switch {
	case errors.As(err, &refused):
		if err := h.explainRefusal(ctx, &p, refused.BreakGlassRefusal); err != nil {
			return err
		}
		return h.render(c, http.StatusConflict, views.BreakGlassForm(p))
	case err != nil:
		status, ok := h.shownAgain(c, err)
		if !ok || status == http.StatusForbidden {
			return err
		}
		p.SubmitErr = apperr.Message(err)
		return h.render(c, status, views.BreakGlassForm(p))
	}
	c.Response().Header().Set("HX-Trigger", EventRequestUpdated)
	return h.redirectWithLastingNote(c, fmt.Sprintf("/requests/%d", r.ID), fmt.Sprintf(
		"You broke glass: the %s of %s was started without approvals (incident %s); its status below updates by itself. Every approver and admin has been told; "+
			"two approvers review it within %s.", strings.ToLower(f.op.Label()), r.TaskName, f.incident,
		portal.Plural(p.ReviewDays, "day", "days")))
}

// emergencyPanel is an emergency request's record and review for the
// viewer.
func (h *Handlers) emergencyPanel(c echo.Context, id int64) (*views.EmergencyPanel, error) {
	e, err := h.Store.Emergency(c.Request().Context(), id)
	if err != nil {
		return nil, err
	}
	u := user(c)
	p := &views.EmergencyPanel{ID: strconv.FormatInt(id, 10), Responder: e.ResponderEmail, Incident: e.Incident, Reason: e.Reason,
		At: h.formatTime(e.CreatedAt), Due: h.formatTime(e.ReviewDueAt), Overdue: e.Overdue(h.Now()), Complete: e.ReviewedAt != nil,
		Flagged: e.Flagged(), Needed: portal.ReviewsNeeded, PostURL: fmt.Sprintf("/requests/%d/review", id), CSRF: csrfToken(c)}
	for _, v := range e.Reviews {
		p.Reviews = append(p.Reviews, views.ReviewRow{Reviewer: v.ReviewerEmail, Verdict: verdictWords(v.Verdict),
			Comment: v.Comment, At: h.formatTime(v.At), Flagged: v.Verdict == portal.VerdictFlag})
	}
	if Allowed(u, PermDecide) {
		p.CanReview, p.ReviewWhy = requests.CanReview(*u, e)
	}
	return p, nil
}

func verdictWords(v portal.Verdict) string {
	if v == portal.VerdictFlag {
		return "flagged"
	}
	return "acknowledged"
}

// reviewEmergency records an approver's review of an emergency and goes
// back to its request; a refused review shows the page again with why.
func (h *Handlers) reviewEmergency(c echo.Context) error {
	id, err := requestID64(c)
	if err != nil {
		return err
	}
	verdict, comment := portal.Verdict(c.FormValue("verdict")), c.FormValue("comment")
	e, err := h.Requests.Review(c.Request().Context(), *user(c), id, verdict, comment)
	if err != nil {
		status, ok := h.shownAgain(c, err)
		if !ok || status == http.StatusForbidden {
			return err
		}
		card, cerr := h.requestCard(c, id)
		if cerr != nil {
			return err
		}
		tl, terr := h.requestTimeline(c, id)
		if terr != nil {
			return err
		}
		p := views.RequestPage{Base: h.base(c, card.Title, "requests"), Card: card, Timeline: tl}
		if p.Emergency, cerr = h.emergencyPanel(c, id); cerr != nil {
			return err
		}
		p.Emergency.Error, p.Emergency.Verdict, p.Emergency.Comment = apperr.Message(err), string(verdict), comment
		atPage(c, fmt.Sprintf("/requests/%d", id))
		return h.render(c, status, views.RequestView(p))
	}
	note := fmt.Sprintf("Your review of request #%d is recorded (%s).", id, verdictWords(verdict))
	switch {
	case e.ReviewedAt != nil && e.FlagStands():
		note += fmt.Sprintf(" The review is complete and flagged: %s may not break glass again until an admin clears the flag "+
			"(Admin → Break-glass).", e.ResponderEmail)
	case e.ReviewedAt != nil:
		note += " The review is complete: " + e.ResponderEmail + " may break glass again."
	}
	return h.redirectWithNote(c, fmt.Sprintf("/requests/%d", id), note)
}

// recentEmergencies is how many emergencies the admins' page lists.
const recentEmergencies = 20

// breakGlassAdminPage renders the admins' page; raw holds what was typed
// when a proposal comes back with errs.
func (h *Handlers) breakGlassAdminPage(c echo.Context, status int, raw *portal.BreakGlassPolicy, errs map[string]string, flash, errMsg string) error {
	return h.breakGlassAdminPageStepUp(c, status, raw, errs, flash, errMsg, "", nil, nil)
}

// flagClearing is a refused attempt to clear the flag of an emergency:
// what was typed and why it was refused, shown at its row.
type flagClearing struct {
	id      int64
	comment string
	err     string
}

// breakGlassStepUp is what a change of the break-glass settings is called
// where it asks for the password: it changes the approval policy.
const breakGlassStepUp = "Changing the break-glass settings"

// breakGlassAdminPageStepUp is breakGlassAdminPage after a step-up of the
// form with key form failed with stepUpErr (nil: none did), or after a
// refused clearing of a flag (nil: none was).
func (h *Handlers) breakGlassAdminPageStepUp(c echo.Context, status int, raw *portal.BreakGlassPolicy, errs map[string]string, flash, errMsg string,
	form string, stepUpErr error, clearing *flagClearing) error {
	ctx := c.Request().Context()
	cur, err := h.Store.BreakGlassPolicy(ctx)
	if err != nil {
		return err
	}
	atPage(c, "/admin/break-glass")
	p := views.BreakGlassAdminPage{Base: h.base(c, "Break-glass", "admin"), Flash: flash, Error: errMsg, Summary: cur.Describe(),
		Version: cur.Version, Errors: errs}
	p.StepUp = h.stepUpPrompt(c, breakGlassStepUp)
	p.ClearStepUp = h.stepUpPrompt(c, clearFlagStepUp)
	if strings.HasPrefix(form, "clear-") {
		stepUpFailed(p.ClearStepUp, form, stepUpErr)
	} else {
		stepUpFailed(p.StepUp, form, stepUpErr)
	}
	shown := cur
	changes, err := h.Store.PendingAdminChanges(ctx)
	if err != nil {
		return err
	}
	for _, ch := range changes {
		if ch.Kind == portal.ChangeBreakGlass {
			row, err := h.breakGlassChange(ctx, ch, user(c).ID)
			if err != nil {
				return err
			}
			row.StepUp = p.StepUp
			p.Pending = &row
			// The form starts from the waiting change, which saving
			// replaces, so that nobody undoes it unseen by saving the
			// settings in effect.
			shown = ch.BreakGlass
		}
	}
	if p.Decided, err = h.decidedChanges(ctx, portal.ChangeBreakGlass, portal.Policy{}); err != nil {
		return err
	}
	if raw != nil {
		shown = *raw
	}
	p.Enabled, p.ReviewDays = shown.Enabled, strconv.Itoa(shown.ReviewDays)
	for _, op := range portal.BreakGlassOps {
		p.Ops = append(p.Ops, views.RoleBox{Name: string(op), Checked: slices.Contains(shown.Operations, op)})
	}
	if p.Admins, err = h.Store.CountActiveAdmins(ctx); err != nil {
		return err
	}
	if p.HadTwoAdmins, err = h.Store.HadTwoAdmins(ctx); err != nil {
		return err
	}
	users, err := h.Store.ListUsers(ctx)
	if err != nil {
		return err
	}
	for _, u := range users {
		if u.Active && u.Has(portal.RoleResponder) {
			p.Responders = append(p.Responders, u.Email)
		}
	}
	es, err := h.Store.RecentEmergencies(ctx, recentEmergencies)
	if err != nil {
		return err
	}
	open, err := h.Store.OpenEmergencies(ctx)
	if err != nil {
		return err
	}
	// The flagged list: every flag that stands, however old, and the
	// recent flags that were cleared.
	standing, err := h.Store.FlaggedEmergencies(ctx)
	if err != nil {
		return err
	}
	now := h.Now()
	for _, e := range open {
		if e.Overdue(now) {
			p.Overdue = append(p.Overdue, h.emergencyRow(e))
		}
	}
	listed := map[int64]bool{}
	flagged := func(e portal.Emergency) {
		if !e.Flagged() || listed[e.RequestID] {
			return
		}
		listed[e.RequestID] = true
		row := h.emergencyRow(e)
		if row.CanClear && clearing != nil && clearing.id == e.RequestID {
			row.ClearError, row.ClearComment = clearing.err, clearing.comment
		}
		p.Flagged = append(p.Flagged, row)
	}
	for _, e := range standing {
		flagged(e)
	}
	for _, e := range es {
		flagged(e)
		p.Recent = append(p.Recent, h.emergencyRow(e))
	}
	return h.render(c, status, views.BreakGlassAdmin(p))
}

// breakGlassChange describes waiting break-glass change ch for viewer,
// compared with the settings last in effect while break-glass was on (the
// settings in effect, while it is on), each widening marked. While it is
// off, one admin may widen the off settings at once, and turning it on
// brings them into effect: the second admin approving the turn-on sees
// what it allows beyond what was last allowed, not only the off settings
// it starts from.
func (h *Handlers) breakGlassChange(ctx context.Context, ch portal.AdminChange, viewer int64) (views.ChangeRow, error) {
	row := h.changeRow(ch, viewer, portal.Policy{})
	last, wasOn, err := h.Store.LastBreakGlassOn(ctx)
	if err != nil {
		return row, err
	}
	p := ch.BreakGlass.Normalized()
	names := func(ops []portal.Operation) string {
		if len(ops) == 0 {
			return "none"
		}
		out := make([]string, len(ops))
		for i, op := range ops {
			out[i] = strings.ToLower(op.Label())
		}
		return strings.Join(out, ", ")
	}
	if !wasOn {
		// Said once: as the warning when approving turns it on, else
		// as the comparison.
		if p.Enabled {
			row.Warnings = append(row.Warnings, fmt.Sprintf("Break-glass has never been on: approving lets responders run %s alone, "+
				"without approvals, for the first time, with the review due within %s.", names(p.Operations), portal.Plural(p.ReviewDays, "day", "days")))
		} else {
			row.Compare = "Break-glass has never been on: everything these settings allow is new."
		}
		return row, nil
	}
	q := last.Policy
	row.Compare = fmt.Sprintf("Compared with the settings in effect now (version %d):", q.Version)
	same := "the same as the settings in effect now"
	if last.Until != nil {
		row.Compare = fmt.Sprintf("Compared with the settings last in effect while break-glass was on (version %d, until it was turned off at %s):",
			q.Version, h.formatTime(*last.Until))
		same = fmt.Sprintf("the same as the settings last in effect while it was on (%s)", h.formatTime(*last.Until))
	}
	added, later := p.Widens(q)
	var dropped []portal.Operation
	for _, op := range q.Operations {
		if !slices.Contains(p.Operations, op) {
			dropped = append(dropped, op)
		}
	}
	ops := fmt.Sprintf("Operations a responder may run alone: %s → %s", names(q.Operations), names(p.Operations))
	switch {
	case len(added) > 0:
		ops += " (adds " + names(added) + ")"
	case len(dropped) > 0:
		ops += " (fewer)"
	default:
		ops = "Operations a responder may run alone: " + names(p.Operations) + ", " + same
	}
	row.Diffs = append(row.Diffs, views.ChangeDiff{Text: ops, Wider: len(added) > 0})
	review := fmt.Sprintf("Review due within: %s → %s", portal.Plural(q.ReviewDays, "day", "days"), portal.Plural(p.ReviewDays, "day", "days"))
	switch {
	case later:
		review += " (later)"
	case p.ReviewDays < q.ReviewDays:
		review += " (sooner)"
	default:
		review = "Review due within: " + portal.Plural(p.ReviewDays, "day", "days") + ", " + same
	}
	row.Diffs = append(row.Diffs, views.ChangeDiff{Text: review, Wider: later})
	if p.Enabled && (len(added) > 0 || later) {
		var more []string
		if len(added) > 0 {
			more = append(more, "it adds "+names(added))
		}
		if later {
			more = append(more, fmt.Sprintf("the review is due later (%s, not %d)", portal.Plural(p.ReviewDays, "day", "days"), q.ReviewDays))
		}
		row.Warnings = append(row.Warnings, fmt.Sprintf("These settings allow more than break-glass did when it was last on: %s. "+
			"Approving puts that in effect.", strings.Join(more, "; ")))
	}
	return row, nil
}

func (h *Handlers) emergencyRow(e portal.Emergency) views.EmergencyRow {
	row := views.EmergencyRow{ID: strconv.FormatInt(e.RequestID, 10), URL: fmt.Sprintf("/requests/%d", e.RequestID),
		Responder: e.ResponderEmail, Operation: strings.ToLower(e.Operation.Label()), Task: e.TaskName, Incident: e.Incident,
		Status: requestBadge(e.Status), At: h.formatTime(e.CreatedAt), Due: h.formatTime(e.ReviewDueAt),
		Overdue: e.Overdue(h.Now()), Flagged: e.Flagged()}
	switch {
	case e.ReviewedAt != nil:
		row.Review = "reviewed"
	case row.Overdue:
		row.Review = fmt.Sprintf("overdue, %d of %d reviews", len(e.Reviews), portal.ReviewsNeeded)
	default:
		row.Review = fmt.Sprintf("%d of %d reviews", len(e.Reviews), portal.ReviewsNeeded)
	}
	if row.Flagged {
		row.Review += ", flagged"
	}
	for _, v := range e.Reviews {
		if v.Verdict == portal.VerdictFlag {
			row.Flags = append(row.Flags, fmt.Sprintf("Flagged by %s: %s", v.ReviewerEmail, v.Comment))
		}
	}
	if e.FlagClearedAt != nil {
		row.Cleared = fmt.Sprintf("Cleared by %s at %s: %s", e.FlagClearedBy, h.formatTime(*e.FlagClearedAt), e.FlagClearComment)
		row.Review += ", flag cleared"
	}
	if e.FlagClearedAt != nil && e.ReviewedAt != nil {
		// Settled: nothing is due and nothing bars the responder, so the
		// badge is neutral and says who settled it.
		row.Review, row.Overdue, row.Flagged, row.Due = "reviewed · flag cleared by "+e.FlagClearedBy, false, false, ""
	}
	row.CanClear = e.FlagStands() && e.ReviewedAt != nil
	row.ClearURL = fmt.Sprintf("/admin/break-glass/%d/clear", e.RequestID)
	return row
}

func (h *Handlers) showBreakGlassAdmin(c echo.Context) error {
	return h.breakGlassAdminPage(c, http.StatusOK, nil, nil, h.takeNote(c), "")
}

// saveBreakGlass changes the break-glass settings: at once when stricter,
// otherwise as a change a second admin approves.
func (h *Handlers) saveBreakGlass(c echo.Context) error {
	form, err := c.FormParams()
	if err != nil {
		return apperr.Wrap(apperr.Invalid, err, "The form could not be read. Nothing was changed.")
	}
	in := portal.BreakGlassPolicy{Enabled: c.FormValue("enabled") == "on"}
	for _, op := range form["operations"] {
		in.Operations = append(in.Operations, portal.Operation(op))
	}
	errs := map[string]string{}
	days, err := strconv.Atoi(strings.TrimSpace(c.FormValue("review_days")))
	if err != nil {
		errs["review_days"] = fmt.Sprintf("Enter a number of days from 1 to %d.", portal.MaxReviewDays)
	}
	in.ReviewDays = days
	if len(errs) == 0 {
		if err := h.stepUp(c, breakGlassStepUp, "change the break-glass settings"); err != nil {
			status, ok := h.shownAgain(c, err)
			if !ok {
				return err
			}
			return h.breakGlassAdminPageStepUp(c, status, &in, nil, "", "", "break-glass", err, nil)
		}
		ch, applied, verrs, err := h.Auth.SetBreakGlass(c.Request().Context(), *user(c), in)
		if err != nil {
			return err
		}
		if len(verrs) == 0 {
			note := fmt.Sprintf("Proposed new break-glass settings (change #%d). They take effect when another admin approves them.", ch.ID)
			if applied {
				note = "The break-glass settings are in effect now: " + in.Normalized().Describe()
			}
			switch {
			case ch.Supersedes != 0 && applied:
				note += fmt.Sprintf(" They replace change #%d, which waited: it is withdrawn.", ch.Supersedes)
			case ch.Supersedes != 0:
				note += fmt.Sprintf(" It replaces change #%d, which waited: that one is withdrawn.", ch.Supersedes)
			}
			return h.redirectWithNote(c, "/admin/break-glass", note)
		}
		errs = verrs
	}
	return h.breakGlassAdminPage(c, http.StatusUnprocessableEntity, &in, errs, "", "")
}

// clearFlagStepUp is what clearing a flag is called where it asks for the
// password: it gives a responder back the right to bypass the quorum.
const clearFlagStepUp = "Clearing the flag of an emergency"

// clearFlag is an admin's decision, with a comment, that a flagged
// emergency needs nothing more: its responder may break glass again. It
// asks for the password like the other break-glass settings; a refusal
// shows the admins' page again with why, at the emergency's row.
func (h *Handlers) clearFlag(c echo.Context) error {
	id, err := requestID64(c)
	if err != nil {
		return err
	}
	comment := c.FormValue("comment")
	clearing := &flagClearing{id: id, comment: comment}
	if err := h.stepUp(c, clearFlagStepUp, "clear the flag of an emergency"); err != nil {
		status, ok := h.shownAgain(c, err)
		if !ok {
			return err
		}
		return h.breakGlassAdminPageStepUp(c, status, nil, nil, "", "", fmt.Sprintf("clear-%d", id), err, clearing)
	}
	e, err := h.Requests.ClearFlag(c.Request().Context(), *user(c), id, comment)
	if err != nil {
		status, ok := h.shownAgain(c, err)
		if k := apperr.KindOf(err); k == apperr.Invalid || k == apperr.Conflict || k == apperr.NotFound {
			if rerr := h.recordRefused(c, audit.ActionBreakGlassClearRefused, id, "", "", map[string]any{"comment": comment}, err); rerr != nil {
				return rerr
			}
		}
		if !ok || status == http.StatusForbidden {
			return err
		}
		clearing.err = apperr.Message(err)
		return h.breakGlassAdminPageStepUp(c, status, nil, nil, "", "", "", nil, clearing)
	}
	return h.redirectWithNote(c, "/admin/break-glass", fmt.Sprintf("The flag of request #%d is cleared: %s may break glass again.",
		id, e.ResponderEmail))
}
