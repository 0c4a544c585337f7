package handlers

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/db"
	"drportal/internal/drtask"
	"drportal/internal/portal"
	"drportal/internal/requests"
	"drportal/internal/views"
)

// taskListOpen is how many of the newest open requests the task list
// reads, for their rows and chips.
const taskListOpen = 200

func (h *Handlers) listTasks(c echo.Context) error {
	var list drtask.TaskList
	var err error
	if r, ok := c.Get(ctxRead).(*pageRead); ok && r.taskList != nil {
		list = r.taskList()
	} else if list, err = h.Tasks.List(c.Request().Context(), taskListOpen); err != nil {
		return err
	}
	p := views.TaskListPage{Base: h.base(c, "DR tasks", "tasks"), Stale: list.Stale, Flash: h.takeNote(c)}
	p.CloudErr = list.CloudErr
	if list.FetchedAt != nil {
		p.FetchedAt = h.formatTime(*list.FetchedAt)
	}
	ctx := c.Request().Context()
	open, approvals := list.Open, list.Approvals
	chips := map[string][]views.RequestLink{}
	now := h.Now()
	// An approved request may wait for its window or a freeze: its chip
	// says so, which needs the schedule.
	var sched portal.Schedule
	if slices.ContainsFunc(open, func(r portal.Request) bool { return r.EffectiveStatus(now) == portal.StatusApproved }) {
		if sched, err = h.Store.Schedule(ctx, now); err != nil {
			return err
		}
	}
	for i := len(open) - 1; i >= 0; i-- { // oldest first
		r := open[i]
		status := h.openStatus(r, approvals[r.ID], sched)
		if r.EffectiveStatus(now) == portal.StatusExpired {
			continue
		}
		if r.Operation == portal.OpCreate && r.DRTaskID == "" {
			p.Pending = append(p.Pending, views.PendingCreateRow{Name: r.TaskName, RequestURL: fmt.Sprintf("/requests/%d", r.ID),
				RequestID: strconv.FormatInt(r.ID, 10), Status: status, Primary: or(r.Summary.Primary.Name, "—"),
				Standby: or(r.Summary.Standby.Name, "—"), SyncPeriod: portal.PeriodWords(r.Summary.SyncPeriod), SyncPeriodRaw: r.Summary.SyncPeriod, Requester: r.RequesterEmail})
			continue
		}
		if r.DRTaskID != "" {
			chips[r.DRTaskID] = append(chips[r.DRTaskID], h.chipWith(r, status))
		}
	}
	for _, r := range list.Tasks {
		p.Rows = append(p.Rows, views.TaskRow{
			ID: r.ID, URL: "/dr-tasks/" + r.ID, Name: r.Name, Status: statusBadge(r.Status), DRType: portal.DRTypeLabel(r.DRType), DRTypeRaw: r.DRType,
			Primary: or(r.PrimaryClusterName, r.PrimaryClusterID), Standby: or(r.StandbyClusterName, r.StandbyClusterID),
			SyncPeriod: portal.PeriodWords(r.SyncPeriod), SyncPeriodRaw: r.SyncPeriod, LastSync: lastSyncWords(r.LastSync, h.zones()), Created: drTime(r.CreateTime, h.zones()), Unmanaged: !r.Managed,
			Requests: chips[r.ID],
		})
	}
	if len(p.Rows) == 0 && len(p.Pending) == 0 {
		if n, err := h.approverNotice(ctx, user(c), portal.OpCreate); err == nil {
			p.NoApprover = n.Short
		}
	}
	return h.render(c, http.StatusOK, views.TaskList(p))
}

// formFrom reads the create form from a request's body. The sync period
// comes as a number and a unit, joined into the API's value; a client that
// sends the API's value itself (dr_sync_period) is read as before.
func formFrom(c echo.Context) drtask.CreateForm {
	f := drtask.CreateForm{
		Name:             c.FormValue(drtask.FieldName),
		DRType:           c.FormValue(drtask.FieldDRType),
		PrimaryClusterID: c.FormValue(drtask.FieldPrimaryClusterID),
		StandbyClusterID: c.FormValue(drtask.FieldStandbyClusterID),
		SyncPeriod:       c.FormValue(drtask.FieldSyncPeriod),
		PrimaryOBSBucket: c.FormValue(drtask.FieldPrimaryOBSBucket),
		StandbyOBSBucket: c.FormValue(drtask.FieldStandbyOBSBucket),
		Justification:    c.FormValue(drtask.FieldJustification),
	}
	f.SyncPeriod, f.SyncProblem = syncPeriodFrom(c)
	f.Trim()
	return f
}

// syncPeriodFrom reads the sync period: the form's number and unit, joined,
// or the API's value when the request carries that instead.
func syncPeriodFrom(c echo.Context) (period, problem string) {
	number, unit := c.FormValue(drtask.FieldSyncNumber), c.FormValue(drtask.FieldSyncUnit)
	if number == "" && unit == "" {
		return c.FormValue(drtask.FieldSyncPeriod), ""
	}
	return drtask.JoinSyncPeriod(number, unit)
}

// taskForm builds the create form page with its pickers filled from the
// portal's copy of the clusters (the database only) for the form's primary.
func (h *Handlers) taskForm(c echo.Context, f drtask.CreateForm, errs drtask.FieldErrors) (views.TaskFormPage, error) {
	opts, err := h.Tasks.Options(c.Request().Context(), f.PrimaryClusterID, f.StandbyClusterID)
	if err != nil {
		return views.TaskFormPage{}, err
	}
	p := views.TaskFormPage{
		Base: h.base(c, "New DR task", "new"),
		Form: views.TaskForm{Name: f.Name, DRType: f.DRType, PrimaryClusterID: opts.PrimaryID,
			StandbyClusterID: f.StandbyClusterID, SyncPeriod: f.SyncPeriod, PrimaryOBSBucket: f.PrimaryOBSBucket,
			StandbyOBSBucket: f.StandbyOBSBucket, Justification: f.Justification},
		Errors: errs,
		NoPair: opts.NoPair,
	}
	p.Sync = syncInput(f.SyncPeriod, errs[drtask.FieldSyncPeriod])
	p.Sync.Label = "Sync period: every"
	p.Sync.Hint = "How often the standby catches up: 1 to 3000 minutes, hours or days. " + rpoHint
	p.Clusters = h.clusterCopy(opts)
	if n, err := h.approverNotice(c.Request().Context(), user(c), portal.OpCreate); err == nil {
		p.Approvers = n
	}
	for _, o := range opts.Primaries {
		opt := views.Option{Value: o.ID, Label: clusterLabel(o), Selected: o.Selected, Disabled: !o.Usable}
		if o.Usable {
			p.Primaries = append(p.Primaries, opt)
		} else {
			p.PrimariesOff = append(p.PrimariesOff, opt)
		}
	}
	p.Standby = h.standbyPicker(opts)
	p.Standby.Error = errs[drtask.FieldStandbyClusterID]
	return p, nil
}

// clusterCopy says how fresh the form's copy of the cluster list is.
func (h *Handlers) clusterCopy(opts drtask.FormOptions) views.ClusterCopy {
	cc := views.ClusterCopy{Stale: opts.ListErr}
	if opts.ListAt != nil {
		cc.ReadAt = h.formatTime(*opts.ListAt)
	}
	return cc
}

// rpoHint says what a sync period means for the data at risk.
const rpoHint = "It is also the RPO target: after losing the primary, the standby's data is at most about one period old."

// syncInput shapes a sync period (the API's value, as far as it was
// given) for the number-and-unit field, with its error, or the RPO target
// it implies when it is valid.
func syncInput(period, problem string) views.SyncPeriodInput {
	in := views.SyncPeriodInput{Error: problem}
	number, unit := splitPeriod(period)
	in.Number = number
	for _, u := range drtask.SyncUnits {
		in.Units = append(in.Units, views.Option{Value: u.Letter, Label: u.Name, Selected: u.Letter == unit})
	}
	if period != "" && problem == "" && drtask.CheckSyncPeriod(period) == "" {
		in.OK = syncOK(period)
	}
	return in
}

// splitPeriod splits an API sync period (15m) into the form's number and
// unit; anything else keeps its digits and the default unit, minutes.
func splitPeriod(p string) (number, unit string) {
	if drtask.CheckSyncPeriod(p) == "" {
		return p[:len(p)-1], p[len(p)-1:]
	}
	return strings.TrimRight(p, "mHd"), "m"
}

// clusterLabel shows a cluster as the DWS console does: name, AZ, kernel
// version and size, and why it cannot be chosen.
func clusterLabel(o drtask.ClusterOption) string {
	parts := []string{o.Name}
	for _, s := range []string{o.AZ, o.Version} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	if o.Nodes > 0 {
		parts = append(parts, fmt.Sprintf("%d %s", o.Nodes, plural(o.Nodes, "node", "nodes")))
	}
	label := strings.Join(parts, " · ")
	if o.Why != "" {
		label += " — " + o.Why
	}
	return label
}

// standbyPicker shapes the standby picker: the eligible standbys, the
// others with their reasons, what the cloud said when it offered none, and
// when they were read.
func (h *Handlers) standbyPicker(opts drtask.FormOptions) views.StandbyPicker {
	p := views.StandbyPicker{NoPrimary: opts.PrimaryID == "", CloudErr: opts.StandbyErr, CloudDetail: opts.StandbyDetail,
		Stale: opts.StandbysErr}
	if opts.PrimaryID != "" && opts.StandbyErr == "" {
		if opts.StandbysAt != nil {
			p.ReadAt = h.formatTime(*opts.StandbysAt)
		} else {
			p.Unread = true
		}
	}
	for _, o := range opts.Standbys {
		opt := views.Option{Value: o.ID, Label: clusterLabel(o), Selected: o.Selected, Disabled: !o.Usable}
		if o.Usable {
			p.Options = append(p.Options, opt)
		} else {
			p.Off = append(p.Off, opt)
		}
	}
	return p
}

// newTaskForm shows the create form. Its address carries at most the
// chosen clusters (the standby picker's link without JavaScript), never
// free text: an address ends up in histories and access logs.
func (h *Handlers) newTaskForm(c echo.Context) error {
	f := drtask.CreateForm{DRType: "az", PrimaryClusterID: strings.TrimSpace(c.QueryParam(drtask.FieldPrimaryClusterID)),
		StandbyClusterID: strings.TrimSpace(c.QueryParam(drtask.FieldStandbyClusterID))}
	p, err := h.taskForm(c, f, nil)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, views.TaskFormView(p))
}

// refreshTaskForm is the create form shown again, as typed, with the
// standby picker for the chosen primary: the form's "Show standby
// clusters" button without JavaScript. It posts, so that nothing typed
// goes into an address, and it changes nothing.
func (h *Handlers) refreshTaskForm(c echo.Context) error {
	f := formFrom(c)
	if f.DRType == "" {
		f.DRType = "az"
	}
	p, err := h.taskForm(c, f, nil)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, views.TaskFormView(p))
}

// readClusters is the form's "Read the clusters from the cloud now": the
// portal's copy of the cluster list (and the chosen primary's standbys) is
// read from the cloud at once, and the form is shown again as typed. At
// most one such read every 15 s, whoever asks: a refused one says when the
// last was, and changes nothing.
func (h *Handlers) readClusters(c echo.Context) error {
	f := formFrom(c)
	if f.DRType == "" {
		f.DRType = "az"
	}
	status := http.StatusOK
	note := ""
	if err := h.Tasks.ReadClustersNow(c.Request().Context(), f.PrimaryClusterID); err != nil {
		st, ok := h.shownAgain(c, err)
		if !ok {
			return err
		}
		status, note = st, apperr.Message(err)
	}
	p, err := h.taskForm(c, f, nil)
	if err != nil {
		return err
	}
	if note != "" {
		p.Clusters.Note, p.Clusters.Refused = note, true
	} else if p.Clusters.Stale == "" {
		p.Clusters.Note = "Read from the cloud just now."
	}
	return h.render(c, status, views.TaskFormView(p))
}

// standbyOptions answers the primary picker's change with the standby
// picker for that primary. Without htmx it sends the browser to the form.
func (h *Handlers) standbyOptions(c echo.Context) error {
	primary := strings.TrimSpace(c.QueryParam(drtask.FieldPrimaryClusterID))
	if !isFragment(c) {
		return c.Redirect(http.StatusSeeOther, "/dr-tasks/new?"+url.Values{drtask.FieldPrimaryClusterID: {primary}}.Encode())
	}
	picker := views.StandbyPicker{}
	if msg := drtask.CheckClusterID(primary, "primary"); msg != "" {
		picker.Error = msg
		return h.render(c, http.StatusOK, views.StandbySelect(picker))
	}
	opts, err := h.Tasks.Options(c.Request().Context(), primary, "")
	if err != nil {
		return err
	}
	picker = h.standbyPicker(opts)
	// The new list is swapped in silently: say what it offers.
	name := primary
	for _, o := range opts.Primaries {
		if o.ID == primary {
			name = o.Name
		}
	}
	announce(c, fmt.Sprintf("%s offered for %s", portal.Plural(len(picker.Options), "standby cluster", "standby clusters"), name))
	return h.render(c, http.StatusOK, views.StandbySelect(picker))
}

// checkField validates one field as the user types: rules first, then, for
// the name, whether the portal's copy of the tasks has it (the database
// only: the cloud checks the name when the request is filed).
func (h *Handlers) checkField(c echo.Context) error {
	if !isFragment(c) {
		return c.Redirect(http.StatusSeeOther, "/dr-tasks/new")
	}
	q := c.QueryParams()
	var res views.FieldCheck
	switch {
	case q.Has(drtask.FieldName):
		res.Field = drtask.FieldName
		name := strings.TrimSpace(q.Get(drtask.FieldName))
		msg, err := h.Tasks.CheckNameAvailable(c.Request().Context(), name)
		switch {
		case err != nil:
			return err
		case msg != "":
			res.Error = msg
		default:
			res.OK = fmt.Sprintf("%q: no DR task in the portal's copy has this name; the cloud checks it again when you file.", name)
		}
	case q.Has(drtask.FieldSyncPeriod) || q.Has(drtask.FieldSyncNumber) || q.Has(drtask.FieldSyncUnit):
		res.Field = drtask.FieldSyncPeriod
		p, problem := syncPeriodFrom(c)
		p = strings.TrimSpace(p)
		res.Error = cmp.Or(problem, drtask.CheckSyncPeriod(p))
		if res.Error == "" {
			res.OK = syncOK(p)
		}
	default:
		return apperr.New(apperr.Invalid, "Say which field to check: name or dr_sync_period.")
	}
	return h.render(c, http.StatusOK, views.FieldCheckResult(res))
}

// syncOK describes a valid sync period and the RPO target it implies.
func syncOK(p string) string {
	d := portal.PeriodWords(p)
	return "Syncs every " + d + ": if the primary is lost, the standby's data is at most about " + d + " old (the RPO target)."
}

// createTask files a create request: the form is checked (with the cloud,
// read-only) and, when valid, becomes a request awaiting approval. Nothing
// is sent to the cloud until the request is approved.
func (h *Handlers) createTask(c echo.Context) error {
	f := formFrom(c)
	ctx := c.Request().Context()
	plan, errs, err := h.Tasks.PrepareCreate(ctx, f)
	if err != nil {
		status, ok := h.shownAgain(c, err)
		if !ok {
			return err
		}
		p, ferr := h.taskForm(c, f, nil)
		if ferr != nil {
			return ferr
		}
		p.SubmitErr = apperr.Message(err) + ". Nothing was filed; you can submit again."
		return h.render(c, status, views.TaskFormView(p))
	}
	if len(errs) > 0 {
		p, err := h.taskForm(c, f, errs)
		if err != nil {
			return err
		}
		return h.render(c, http.StatusUnprocessableEntity, views.TaskFormView(p))
	}
	r, err := h.Requests.File(ctx, *user(c), requests.Draft{Operation: portal.OpCreate, TaskName: plan.Params.Name,
		Method: plan.Method, Path: plan.Path, Payload: plan.Body, Justification: f.Justification,
		Summary: portal.RequestSummary{Primary: plan.Primary, Standby: plan.Standby, SyncPeriod: plan.Params.SyncPeriod}})
	if twin, ok := errors.AsType[*requests.DuplicateError](err); ok {
		p, ferr := h.taskForm(c, f, nil)
		if ferr != nil {
			return ferr
		}
		p.SubmitErr, p.TwinURL = apperr.Message(err), fmt.Sprintf("/requests/%d", twin.ID)
		return h.render(c, http.StatusConflict, views.TaskFormView(p))
	}
	if err != nil {
		// Refused (a freeze): the form again, as typed, with why.
		status, ok := h.shownAgain(c, err)
		if !ok || status == http.StatusForbidden {
			return err
		}
		p, ferr := h.taskForm(c, f, nil)
		if ferr != nil {
			return err
		}
		p.SubmitErr = apperr.Message(err)
		return h.render(c, status, views.TaskFormView(p))
	}
	c.Response().Header().Set("HX-Trigger", EventRequestUpdated)
	return h.redirectToFiled(c, r)
}

func (h *Handlers) showTask(c echo.Context) error {
	id := c.Param("id")
	calls := showCalls(c)
	pg, err := h.taskPage(c, id, calls)
	if err != nil {
		return err
	}
	notice := h.scheduleNotice(pg.Schedule)
	drill := h.drillSummary(pg.View.Row.ID, pg.Drills, pg.LastDrill)
	panel := h.panel(c, pg)
	return h.render(c, http.StatusOK, views.TaskDetail(views.TaskDetailPage{
		Base: h.base(c, pg.View.Row.Name, "tasks"), Panel: panel, Schedule: notice,
		Timeline: h.timelineOf(user(c), id, pg.Timeline, calls, pg.CloudCalls),
		Drill:    drill}))
}

// taskPage is the page of task id with its newest events, as read with
// the session when it was (pageReads), the responder's parts kept for a
// responder only.
func (h *Handlers) taskPage(c echo.Context, id string, calls bool) (drtask.Page, error) {
	r, ok := c.Get(ctxRead).(*pageRead)
	if !ok || r.taskPage == nil || r.taskID != id || r.calls != calls {
		return h.Tasks.Page(c.Request().Context(), id, timelineSize, calls, h.responderID(c))
	}
	pg, err := r.taskPage()
	if h.responderID(c) == 0 {
		pg.Admins, pg.BreakGlassChanges, pg.Bar = nil, nil, db.Bar{}
	}
	return pg, err
}

// taskStatus answers the status panel's polling, and announces the update
// so the timeline refreshes too.
func (h *Handlers) taskStatus(c echo.Context) error {
	id := c.Param("id")
	if !isFragment(c) {
		return c.Redirect(http.StatusSeeOther, "/dr-tasks/"+url.PathEscape(id))
	}
	pg, err := h.Tasks.Page(c.Request().Context(), id, 0, false, h.responderID(c))
	if err != nil {
		return err
	}
	panel := h.panel(c, pg)
	c.Response().Header().Set("HX-Trigger", EventTaskUpdated)
	return h.render(c, http.StatusOK, views.TaskPanelView(panel))
}

func (h *Handlers) taskTimeline(c echo.Context) error {
	id := c.Param("id")
	if !isFragment(c) {
		return c.Redirect(http.StatusSeeOther, "/dr-tasks/"+url.PathEscape(id))
	}
	if !drtask.ValidID(id) {
		return apperr.New(apperr.NotFound, "There is no DR task with id %q.", id)
	}
	tl, err := h.timeline(c, id)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, views.TimelineView(tl))
}

// timelineSize is how many of a task's newest events its page shows.
const timelineSize = 25

func (h *Handlers) timeline(c echo.Context, id string) (views.Timeline, error) {
	ctx := c.Request().Context()
	calls := showCalls(c)
	events, err := h.Store.TaskTimeline(ctx, id, timelineSize, calls)
	if err != nil {
		return views.Timeline{}, err
	}
	n, err := h.Store.TaskCloudCalls(ctx, id, timelineSize)
	if err != nil {
		return views.Timeline{}, err
	}
	return h.timelineOf(user(c), id, events, calls, n), nil
}

// visibleCount is a count of a task's cloud calls for u: the count for
// those who see the whole audit history, -1 (no count) for the others,
// whose history leaves out other people's events.
func visibleCount(u *portal.User, n int) int {
	if Allowed(u, PermViewAllAudit) {
		return n
	}
	return -1
}

// showCalls says whether a task's history is asked for with its cloud
// calls (?calls=1): by default it shows what people did and what changed.
func showCalls(c echo.Context) bool { return c.QueryParam("calls") == "1" }

// visibleEvents is what of a timeline u may see: everything for those who
// see the whole audit history (auditors, admins); for everyone else, as on
// the audit page, their own events, plus the system's (the executor's
// steps and the cloud calls they made).
func visibleEvents(u *portal.User, events []audit.Event) []audit.Event {
	if Allowed(u, PermViewAllAudit) {
		return events
	}
	out := events[:0:0]
	for _, e := range events {
		if (u != nil && e.Actor.ID == u.ID) || (e.Actor.ID == 0 && e.Actor.Name == audit.System.Name) {
			out = append(out, e)
		}
	}
	return out
}

// timelineOf is task id's history from its newest events (and the count
// of its cloud calls), as u may see it.
func (h *Handlers) timelineOf(u *portal.User, id string, events []audit.Event, calls bool, cloudCalls int) views.Timeline {
	tl := views.Timeline{URL: "/dr-tasks/" + id + "/timeline", CloudCalls: visibleCount(u, cloudCalls), ShowCalls: calls,
		AuditURL: "/audit?task=" + url.QueryEscape(id), ToggleURL: "/dr-tasks/" + id + "?calls=1",
		Partial: !Allowed(u, PermViewAllAudit)}
	if calls {
		tl.URL += "?calls=1"
		tl.ToggleURL = "/dr-tasks/" + id
	}
	// The newest events were read, then those the viewer may not see left
	// out: fewer shown than read still means more in the audit history.
	if len(events) == timelineSize {
		tl.MoreURL = tl.AuditURL
	}
	for _, e := range visibleEvents(u, events) {
		tl.Events = append(tl.Events, h.auditRow(e))
	}
	return tl
}

// panel is taskPanel with what depends on the viewer and on other rows:
// the operations they may request now, the open requests.
func (h *Handlers) panel(c echo.Context, pg drtask.Page) views.TaskPanel {
	v := pg.View
	p := taskPanel(v, h.zones())
	if v.Gone && pg.State.LastSucceededOp == portal.OpDelete {
		p.DeletedOnRequest = true
		p.Status.Class = "idle"
	}
	// busy: a request is approved or executing on the task, so no other
	// can be filed; executing: one runs, which even an emergency waits for
	// (an approved one that has not started is superseded by it).
	busy, executing := false, false
	// waiting: operations pending on the task, not offered again (a second
	// would be refused as the same request; its chip links to it). A sync
	// period change may differ in its period, so it stays offered.
	waiting := map[portal.Operation]bool{}
	now := h.Now()
	for _, r := range pg.Open {
		st := r.EffectiveStatus(now)
		if st != portal.StatusPending && st != portal.StatusApproved && st != portal.StatusExecuting {
			continue
		}
		busy = busy || st != portal.StatusPending
		if st == portal.StatusPending && r.Operation != portal.OpUpdate {
			waiting[r.Operation] = true
		}
		p.Requests = append(p.Requests, h.chipWith(r, h.openStatus(r, pg.Approvals[r.ID], pg.Schedule)))
		if st == portal.StatusApproved && p.BusyNote == "" {
			p.BusyNote = fmt.Sprintf("Request #%d is approved and about to run; no other operation can be filed until it runs or is cancelled.", r.ID)
			if h.approvedWaits(r, pg.Approvals[r.ID], pg.Schedule) != "" {
				p.BusyNote = fmt.Sprintf("Request #%d is approved and waits to run; no other operation can be filed until it runs or is cancelled.", r.ID)
			}
		}
		if st == portal.StatusExecuting {
			p.Changing = true // follow the operation live
			executing = true
		}
	}
	// How often the panel looks again: a decision or the run may come at
	// any moment while a request waits; someone else may file or run one
	// while it is settled.
	switch {
	case v.Gone:
	case p.Changing:
		p.Poll = views.TaskPoll{Every: "2s", Kind: "true"}
	case len(p.Requests) > 0:
		p.Poll = views.TaskPoll{Every: "5s", Kind: "waiting"}
	default:
		p.Poll = views.TaskPoll{Every: "30s", Kind: "idle"}
	}
	if !v.Gone && !executing && v.HasDetail {
		p.BreakGlass, p.BreakGlassNotNow = h.breakGlassButtons(c, pg)
		if len(p.BreakGlass) > 0 && pg.Bar.RequestID != 0 {
			// The buttons would only lead to the refusal: say why instead.
			p.BreakGlass, p.BreakGlassNotNow = nil, nil
			p.BreakGlassBarred, p.BarredBy = h.breakGlassBarred(c, pg)
		}
	}
	if !v.Gone && Allowed(user(c), PermBreakGlass) && !pg.BreakGlass.Enabled {
		p.BreakGlassOff = h.breakGlassOff(pg.Admins, pg.Schedule, turnOnOf(pg.BreakGlassChanges))
	}
	freeze, frozen := pg.Schedule.FreezeAt(now)
	if frozen {
		p.FreezeLine = h.frozenLine(freeze)
	}
	if executing || v.Gone || !Allowed(user(c), PermFileRequest) || !v.HasDetail {
		p.BusyNote = "" // a running operation says so itself; nobody else files
	}
	if v.Gone || !Allowed(user(c), PermFileRequest) || busy || !v.HasDetail {
		return p
	}
	for _, spec := range portal.Specs {
		if waiting[spec.Op] {
			continue
		}
		if ok, _ := portal.Allowed(spec.Op, pg.State); ok {
			if ready, _ := portal.DrillReady(pg.State.Task, h.zones().DWS); spec.Op == portal.OpDrill && !ready {
				continue // filing would refuse it: no sync yet, or a cluster abnormal
			}
			p.Operations = append(p.Operations, views.OpButton{Op: string(spec.Op), Label: spec.Label, HighRisk: spec.HighRisk,
				URL: "/dr-tasks/" + v.Row.ID + "/operations/" + string(spec.Op), Frozen: frozen})
		}
	}
	return p
}

// noRPOYet stands for the RPO while no sync has completed.
const noRPOYet = "none yet: no sync has completed, so no data has been synchronised to the standby"

// taskPanel shapes a task for its page: every field of the detail
// response, both clusters, and whether to keep polling.
func taskPanel(v drtask.TaskView, z portal.TimeZones) views.TaskPanel {
	r, t := v.Row, v.Task
	p := views.TaskPanel{
		ID: r.ID, Name: r.Name, Status: statusBadge(r.Status), Changing: !v.Settled() && !v.Stale && v.ConfigErr == "",
		PollURL: "/dr-tasks/" + r.ID + "/status", HasDetail: v.HasDetail, Stale: v.Stale, Gone: v.Gone,
		Unmanaged: !r.Managed,
	}
	if v.Gone {
		p.Status = statusBadge(portal.TaskDeleted)
	}
	p.Announce = r.Name + " is now " + p.Status.Text
	var parts []string
	if ty := or(t.DRType, r.DRType); ty != "" {
		parts = append(parts, portal.DRTypeLabel(ty))
	}
	if pri, sb := or(t.Primary.Name, r.PrimaryClusterName), or(t.Standby.Name, r.StandbyClusterName); pri != "" || sb != "" {
		parts = append(parts, or(pri, "?")+" → "+or(sb, "?"))
	}
	if sp := or(t.SyncPeriod, r.SyncPeriod); sp != "" {
		parts = append(parts, "syncs every "+portal.PeriodWords(sp))
	}
	p.Summary = strings.Join(parts, " · ")
	p.CloudErr, p.ConfigErr = v.CloudErr, v.ConfigErr
	if fa := r.FetchedAt(); !fa.IsZero() {
		p.FetchedAt = portal.FormatTime(fa, z.Display)
	}
	p.Fields = []views.Field{
		{Label: "ID", Value: r.ID, Mono: true},
		{Label: "Name", Value: r.Name},
		{Label: "Status", Value: r.Status.Label(), Raw: string(r.Status)},
		{Label: "Type", Value: portal.DRTypeLabel(or(t.DRType, r.DRType)), Raw: or(t.DRType, r.DRType)},
		{Label: "Sync period", Value: everyPeriod(or(t.SyncPeriod, r.SyncPeriod)), Raw: or(t.SyncPeriod, r.SyncPeriod)},
		{Label: "Started", Value: or(drTime(t.StartTime, z), "not started")},
		{Label: "Created", Value: drTime(or(t.CreateTime, r.CreateTime), z)},
		{Label: "Managed by the portal", Value: yesNo(r.Managed)},
	}
	if v.Progress != nil {
		p.RPO = portal.FormatDuration(time.Duration(v.Progress.RPOSeconds) * time.Second)
		p.RTO = portal.FormatDuration(time.Duration(v.Progress.RTOSeconds) * time.Second)
		if v.HasDetail && !portal.Synced(t) {
			// Before the first sync no data is protected: a figure
			// would suggest the standby lags by only that much.
			p.RPO = noRPOYet
		}
	}
	for _, field := range []string{"status", "dr_sync_period", "primary_cluster"} {
		if d, ok := v.Drift[field]; ok {
			p.Drift = append(p.Drift, views.DriftRow{Field: field, Recorded: d[0], Live: d[1]})
		}
	}
	if r.DriftAt != nil {
		p.DriftAt = portal.FormatTime(*r.DriftAt, z.Display)
	}
	if v.HasDetail {
		p.Primary = clusterCard("Primary", t.Primary, z)
		p.Standby = clusterCard("Standby", t.Standby, z)
		p.RawJSON, p.FormattedJSON = rawDetail(t.Raw)
		p.ZoneNote = fmt.Sprintf("The DWS API sends these times without a zone: the portal reads them as %s (DWS_TIME_ZONE) and shows them in %s.",
			z.DWS, z.Display)
	}
	return p
}

// rawDetail returns the detail answer exactly as read (as text; invalid
// UTF-8 shown as U+FFFD), and, when it is JSON on one line, the same
// indented for reading (json.Indent only adds white space, so key order,
// nulls and fields the portal does not know stay as sent).
func rawDetail(raw []byte) (exact, formatted string) {
	exact = strings.ToValidUTF8(string(raw), "\uFFFD")
	var pretty bytes.Buffer
	if !bytes.Contains(bytes.TrimSpace(raw), []byte("\n")) && json.Indent(&pretty, raw, "", "  ") == nil {
		formatted = pretty.String()
	}
	return exact, formatted
}

func clusterCard(heading string, c portal.TaskSide, z portal.TimeZones) views.ClusterCard {
	card := views.ClusterCard{Heading: heading + ": " + or(c.Name, "unknown")}
	card.Fields = []views.Field{
		{Label: "Cluster ID", Value: c.ID, Mono: true},
		{Label: "Name", Value: c.Name},
		{Label: "Role", Value: c.Role},
		{Label: "Availability zone", Value: or(c.AZ, "—")},
		{Label: "Region", Value: c.Region},
		{Label: "DR status", Value: portal.ClusterStatusLabel(c.Status), Raw: c.Status},
		{Label: "Last successful sync", Value: lastSyncWords(c.LastSuccessTime, z)},
		{Label: "OBS bucket", Value: or(c.OBSBucket, "—")},
	}
	// disk_used is a usage rate (the SDK's 磁盘使用率), a percentage.
	diskUsage := c.DiskUsed
	if diskUsage != "" && !strings.HasSuffix(diskUsage, "%") {
		diskUsage += "%"
	}
	for _, f := range []views.Field{{Label: "Datastore type", Value: c.DatastoreType}, {Label: "Datastore version", Value: c.DatastoreVersion},
		{Label: "Disk capacity", Value: c.DiskCapacity}, {Label: "Disk usage", Value: diskUsage}} {
		if f.Value != "" {
			card.Fields = append(card.Fields, f)
		}
	}
	// progress is a free string: a whole percentage gets a bar, anything
	// else is shown as sent.
	if n, err := strconv.Atoi(strings.TrimSuffix(c.Progress, "%")); err == nil && n >= 0 && n <= 100 {
		card.HasProgress, card.Progress = true, n
	} else if c.Progress != "" {
		card.ProgressText = c.Progress
	}
	return card
}

// statusBadge colours a task status, in the console's words: green
// running, grey at rest, blue changing, red failed.
func statusBadge(st portal.TaskStatus) views.Status {
	b := views.Status{Text: st.Label(), Raw: string(st)}
	switch {
	case st == portal.TaskRunning:
		b.Class = "ok"
	case st.Failed():
		b.Class = "bad"
	case st == portal.TaskDeleted:
		b.Class = "warn"
	case st.Settled():
		b.Class = "idle"
	default:
		b.Class = "changing"
	}
	if b.Raw == "" {
		b.Raw = "unknown"
	}
	return b
}

// drTime shows a DR timestamp, read in the DWS zone unless it has an
// offset, in the display zone; an unparseable value is shown raw.
func drTime(s string, z portal.TimeZones) string {
	if t, ok := portal.ParseTime(s, z.DWS); ok {
		return portal.FormatTime(t, z.Display)
	}
	if s == "null" {
		return ""
	}
	return s
}

// lastSyncWords is when a task or cluster last synced successfully, as the
// task list and the task page both say it: a time, or "never".
func lastSyncWords(s string, z portal.TimeZones) string {
	return or(drTime(s, z), "never")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no (created outside the portal)"
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
