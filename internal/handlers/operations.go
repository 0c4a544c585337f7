package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/drtask"
	"drportal/internal/portal"
	"drportal/internal/requests"
	"drportal/internal/views"
)

// operationPage builds an operation's request form from the task's last
// known state (kept fresh by the poller).
func (h *Handlers) operationPage(c echo.Context, f drtask.OperationForm, errs drtask.FieldErrors) (views.OperationPage, drtask.TaskView, error) {
	spec, ok := portal.SpecOf(f.Op)
	if !ok {
		return views.OperationPage{}, drtask.TaskView{}, apperr.New(apperr.NotFound, "There is no operation %q.", f.Op)
	}
	v, err := h.Tasks.Task(c.Request().Context(), f.TaskID)
	if err != nil {
		return views.OperationPage{}, v, err
	}
	t := v.Task
	t.ID, t.Status = v.Row.ID, v.Row.Status
	p := views.OperationPage{
		Base: h.base(c, spec.Label+": "+v.Row.Name, "tasks"), TaskID: v.Row.ID, TaskName: v.Row.Name,
		TaskURL: "/dr-tasks/" + v.Row.ID, Op: string(f.Op), Label: spec.Label, Status: statusBadge(v.Row.Status),
		Consequence: portal.Consequence(f.Op, t, v.Progress, f.Period, h.zones()), HighRisk: spec.HighRisk,
		ConfirmName: portal.ConfirmCluster(f.Op, t), ShowPeriod: f.Op == portal.OpUpdate,
		Justification: f.Justification, Confirm: f.Confirm, Errors: errs,
		PostURL: "/dr-tasks/" + v.Row.ID + "/operations/" + string(f.Op),
	}
	if p.ShowPeriod {
		p.Sync = syncInput(f.Period, errs[drtask.FieldPeriod])
		p.Sync.Label = "New sync period: every"
		p.Sync.Hint = "Now " + or(everyPeriod(or(t.SyncPeriod, v.Row.SyncPeriod)), "unknown") + ". 1 to 3000 minutes, hours or days. " + rpoHint
	}
	ctx := c.Request().Context()
	sched, err := h.Store.Schedule(ctx, h.Now())
	if err != nil {
		return p, v, err
	}
	gate := portal.WindowState(f.Op, sched, h.Now(), false)
	if f.Op == portal.OpDrill {
		p.RunAt = h.runAtInput(c, gate)
	}
	if p.Approvers, err = h.approverNotice(ctx, user(c), f.Op); err != nil {
		return p, v, err
	}
	twin, err := h.Store.PendingTwin(ctx, requests.TargetKey(v.Row.ID, v.Row.Name), f.Op, h.Now())
	if err != nil {
		return p, v, err
	}
	if twin != 0 {
		p.Twin = &views.RequestLink{URL: fmt.Sprintf("/requests/%d", twin), Label: fmt.Sprintf("request #%d", twin)}
	}
	if p.Window, err = h.formWindow(c, f.Op, v.Row.ID, sched, gate); err != nil {
		return p, v, err
	}
	return p, v, nil
}

// formWindow is what an operation's request form says, by its submit
// button, of the change windows and freezes now: a freeze refuses the
// filing (and, for a responder whom break-glass allows it, links their
// emergency form); outside its window the operation waits for the opening
// or needs an extra approval; inside, it runs once approved. Nil for an
// operation without windows while no freeze is on; when the window opens
// later than an approval lasts, it warns that an approval given now lapses
// before then, as the request page would once it is filed. From the
// database only; g is the operation's gate now.
func (h *Handlers) formWindow(c echo.Context, op portal.Operation, taskID string, sched portal.Schedule, g portal.WindowGate) (*views.FormWindow, error) {
	ctx, now := c.Request().Context(), h.Now()
	switch {
	case g.Frozen:
		w := &views.FormWindow{Class: "error", Text: h.freezeOn(g.Freeze) + " Filing this request now is refused.", Frozen: true}
		if u := user(c); slices.Contains(portal.BreakGlassOps, op) && Allowed(u, PermBreakGlass) {
			why, _, err := h.Requests.CanBreakGlass(ctx, *u, op)
			if err != nil {
				return nil, err
			}
			if why.Message == "" {
				w.Text += " You are a responder, and break-glass allows you this " + strings.ToLower(op.Label()) + ":"
				w.BreakGlass = &views.RequestLink{URL: "/dr-tasks/" + taskID + "/break-glass/" + string(op), Label: "Break glass: " + op.Label()}
			}
		}
		return w, nil
	case !g.Restricted:
		return nil, nil
	case g.InWindow:
		text := "Its change window is open now: approved while it is open, it runs at once."
		if end, w := gatesOpenUntil(sched, op, now); !end.IsZero() {
			text = fmt.Sprintf("Its change window is open now, until %s: approved while it is open, it runs at once.",
				portal.DescribeOpening(end, w.Zone, now))
		}
		return &views.FormWindow{Class: "info", Text: text}, nil
	case g.RunsAt.IsZero():
		return &views.FormWindow{Class: "warn", Text: "Outside its change window, and no moment was found when the window is open and no freeze holds: it cannot run as the windows stand."}, nil
	}
	opens := portal.DescribeOpening(g.RunsAt, windowZone(g, h.displayZone()), now)
	text := fmt.Sprintf("Outside its change window %s now: once approved, it executes when the window opens, %s.", g.Window, opens)
	if g.ExtraApprovals() > 0 {
		text = fmt.Sprintf("Outside its change window %s now: it needs one extra approval, beyond the policy's, to run at once; "+
			"with the policy's approvals it executes when the window opens, %s.", g.Window, opens)
	}
	policy, err := h.Store.CurrentPolicy(ctx)
	if err != nil {
		return nil, err
	}
	if !g.RunsAt.Before(now.Add(policy.ApprovalTTL)) {
		// The request page's judgement (requestWindow), before filing.
		text += fmt.Sprintf(" But an approval lasts %s, and it can run only from %s: an approval given now lapses before then, and the request fails without calling the cloud. "+
			"File it closer to the window.", portal.FormatDuration(policy.ApprovalTTL), h.formatTime(g.RunsAt))
		if op == portal.OpDrill {
			text += " Or give it a Run at time in the window: a drill's approval lasts from its time."
		}
		if g.ExtraApprovals() > 0 {
			text += " With the extra approval it runs at once instead."
		}
	}
	return &views.FormWindow{Class: "warn", Text: text}, nil
}

// refusedAgain puts refusal err on the form p shown again. A freeze's
// refusal is said once, above the form, linking the freeze for an admin
// (who can see it under Admin → Change windows): the box and the note by
// the submit button, which said the same before, go, but for the link to
// break-glass when there was one.
func refusedAgain(p *views.OperationPage, err error, admin bool) {
	p.SubmitErr = apperr.Message(err)
	if p.Window != nil && p.Window.Frozen && apperr.KindOf(err) == apperr.Conflict {
		p.FreezeRefused = true
		if admin {
			p.SubmitLink = &views.RequestLink{URL: "/admin/windows", Label: "See the freeze under Admin → Change windows."}
		}
		p.Window.Text, p.Window.Class = "", "info"
		if p.Window.BreakGlass != nil {
			p.Window.Text = "Break-glass allows you this operation:"
		}
	}
}

// gatesOpenUntil is when the windows that hold op (portal.Operation.GatedBy:
// a drill's own and the switchover's), open at now, first close, and the
// window that closes then; the zero time when none has windows.
func gatesOpenUntil(s portal.Schedule, op portal.Operation, now time.Time) (time.Time, portal.Window) {
	var end time.Time
	var win portal.Window
	for _, gate := range op.GatedBy() {
		if e, w := s.OpenUntil(gate, now); !e.IsZero() && (end.IsZero() || e.Before(end)) {
			end, win = e, w
		}
	}
	return end, win
}

// operationForm reads an operation request from a request's body; a new
// sync period comes as the create form's number and unit (or, from a
// client that sends it, as the API's value).
func operationForm(c echo.Context) drtask.OperationForm {
	f := drtask.OperationForm{Op: portal.Operation(c.Param("op")), TaskID: c.Param("id"),
		Confirm: c.FormValue(drtask.FieldConfirm), Justification: c.FormValue(drtask.FieldJustification)}
	if f.Op == portal.OpUpdate {
		f.Period, f.PeriodProblem = syncPeriodFrom(c)
	}
	return f
}

// showOperation is an operation's request form. An operation the task's
// status does not allow is refused with the reason.
func (h *Handlers) showOperation(c echo.Context) error {
	f := drtask.OperationForm{Op: portal.Operation(c.Param("op")), TaskID: c.Param("id")}
	p, v, err := h.operationPage(c, f, nil)
	if err != nil {
		return err
	}
	state, err := h.Tasks.StoredState(c.Request().Context(), v)
	if err != nil {
		return err
	}
	if ok, why := portal.Allowed(f.Op, state); !ok {
		return apperr.New(apperr.Conflict, "%s", why)
	}
	return h.render(c, http.StatusOK, views.OperationForm(p))
}

// fileOperation checks the request against the task's live state and files
// it; nothing reaches the cloud until it is approved.
func (h *Handlers) fileOperation(c echo.Context) error {
	f := operationForm(c)
	if f.Op == portal.OpDrill {
		f.RunAt, f.RunAtProblem = h.runAtFrom(c)
	}
	ctx := c.Request().Context()
	plan, errs, err := h.Tasks.PrepareOperation(ctx, f)
	if err != nil {
		setRetryAfter(c, err)
		status, ok := h.shownAgain(c, err)
		if !ok {
			return err
		}
		if apperr.KindOf(err) == apperr.TooMany {
			if rerr := h.recordRefused(c, audit.ActionOperationThrottled, 0, audit.SubjectDRTask, f.TaskID,
				map[string]any{"operation": string(f.Op), "justification": strings.TrimSpace(f.Justification)}, err); rerr != nil {
				return rerr
			}
		}
		p, _, perr := h.operationPage(c, f, nil)
		if perr != nil {
			return err
		}
		refusedAgain(&p, err, Allowed(user(c), PermAdmin))
		return h.render(c, status, views.OperationForm(p))
	}
	if len(errs) > 0 {
		p, _, err := h.operationPage(c, f, errs)
		if err != nil {
			return err
		}
		return h.render(c, http.StatusUnprocessableEntity, views.OperationForm(p))
	}
	summary := portal.RequestSummary{Primary: portal.SideRef(plan.Task.Primary), Standby: portal.SideRef(plan.Task.Standby),
		SyncPeriod: plan.Task.SyncPeriod}
	if f.Op == portal.OpUpdate {
		summary.SyncPeriod = f.Period
	}
	r, err := h.Requests.File(ctx, *user(c), requests.Draft{Operation: f.Op, DRTaskID: plan.Task.ID, TaskName: plan.Task.Name,
		Method: plan.Method, Path: plan.Path, Payload: plan.Body, Justification: f.Justification,
		Consequence: plan.Consequence, ConfirmName: plan.ConfirmName, Summary: summary, RunAt: f.RunAt})
	if twin, ok := errors.AsType[*requests.DuplicateError](err); ok {
		p, _, perr := h.operationPage(c, f, nil)
		if perr != nil {
			return err
		}
		// Said once, in the twin's notice, with its link.
		p.Twin = &views.RequestLink{URL: fmt.Sprintf("/requests/%d", twin.ID), Label: fmt.Sprintf("request #%d", twin.ID)}
		p.TwinRefused = true
		return h.render(c, http.StatusConflict, views.OperationForm(p))
	}
	if err != nil {
		// Refused (a freeze): the form again, as typed, with why.
		status, ok := h.shownAgain(c, err)
		if !ok || status == http.StatusForbidden {
			return err
		}
		p, _, perr := h.operationPage(c, f, nil)
		if perr != nil {
			return err
		}
		refusedAgain(&p, err, Allowed(user(c), PermAdmin))
		return h.render(c, status, views.OperationForm(p))
	}
	if err := h.Tasks.FormFiled(ctx, plan.Task.ID); err != nil {
		// Filed all the same: the next form waits out the interval.
		h.Logger.Warn("give back a form's live read", "task", plan.Task.ID, "err", err)
	}
	c.Response().Header().Set("HX-Trigger", EventRequestUpdated)
	return h.redirectToFiled(c, r)
}
