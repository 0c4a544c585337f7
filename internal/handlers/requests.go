package handlers

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/auth"
	"drportal/internal/db"
	"drportal/internal/drtask"
	"drportal/internal/portal"
	"drportal/internal/requests"
	"drportal/internal/views"
)

// EventRequestUpdated tells panels (the header counter, timelines) that a
// request changed.
const EventRequestUpdated = "request-updated"

func requestID64(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, apperr.New(apperr.NotFound, "There is no request %q.", c.Param("id"))
	}
	return id, nil
}

// requestListSize is how many requests the request list shows.
const requestListSize = 100

// requestListFilter is the request list's filter of the status and
// operation asked for; the tab's own condition is the caller's.
func requestListFilter(q url.Values) (db.RequestFilter, error) {
	f := db.RequestFilter{Status: portal.RequestStatus(q.Get("status")), Operation: portal.Operation(q.Get("operation"))}
	if f.Status != "" && !slices.Contains(portal.RequestStatuses, f.Status) {
		return f, apperr.New(apperr.Invalid, "Unknown status %q.", f.Status)
	}
	if f.Operation != "" && !slices.Contains(portal.Operations, f.Operation) {
		return f, apperr.New(apperr.Invalid, "Unknown operation %q.", f.Operation)
	}
	return f, nil
}

func (h *Handlers) listRequests(c echo.Context) error {
	u := user(c)
	q := c.QueryParams()
	tab := q.Get("tab")
	if tab == "" {
		tab = "mine"
		if u.Has(auth.RoleApprover) {
			tab = "awaiting"
		}
	}
	f, err := requestListFilter(q)
	if err != nil {
		return err
	}
	review := map[int64]bool{}
	switch tab {
	case "awaiting":
		f.AwaitingUser, f.Now = u.ID, h.Now()
		// The emergencies whose review awaits this approver are rows of
		// the tab too, so that it agrees with the header's count; the
		// session's read brought them.
		if s, ok := session(c); ok {
			for _, e := range reviewsAwaiting(s) {
				f.AwaitingReview, review[e.RequestID] = append(f.AwaitingReview, e.RequestID), true
			}
		}
	case "mine":
		f.RequesterID = u.ID
	case "all":
	default:
		return apperr.New(apperr.Invalid, "Unknown tab %q: use awaiting, mine or all.", tab)
	}
	var rows []portal.Request
	var states []db.RequestTaskState
	var approvals map[int64][]portal.Approval
	if r, ok := c.Get(ctxRead).(*pageRead); ok && r.requests != nil && r.tab == tab {
		rows, states, approvals = r.requests()
	} else if rows, states, approvals, err = h.Store.ListRequestsWithStates(c.Request().Context(), f, requestListSize); err != nil {
		return err
	}
	p := views.RequestListPage{Base: h.base(c, "Requests", "requests"), Flash: h.takeNote(c), Tab: tab, Status: string(f.Status), Operation: string(f.Operation)}
	for _, t := range []struct{ key, label string }{{"awaiting", "Awaiting my approval"}, {"mine", "Mine"}, {"all", "All"}} {
		v := url.Values{"tab": {t.key}}
		p.Tabs = append(p.Tabs, views.Tab{Key: t.key, Label: t.label, URL: "/requests?" + v.Encode(), Active: t.key == tab})
	}
	for _, s := range portal.RequestStatuses {
		p.Statuses = append(p.Statuses, views.Option{Value: string(s), Label: s.Label(), Selected: s == f.Status})
	}
	for _, o := range portal.Operations {
		p.Operations = append(p.Operations, views.Option{Value: string(o), Label: o.Label(), Selected: o == f.Operation})
	}
	now := h.Now()
	// Only a pending request is judged (and worded) whether it can run:
	// the rest of a page of 100 costs nothing.
	pending := make([]db.RequestTaskState, 0, len(states))
	for i, r := range rows {
		if r.EffectiveStatus(now) == portal.StatusPending && i < len(states) && states[i].RequestID == r.ID {
			pending = append(pending, states[i])
		}
	}
	blocked := requests.CannotRunOf(pending)
	for _, r := range rows {
		st := r.EffectiveStatus(now)
		p.Rows = append(p.Rows, views.RequestRow{
			ID: strconv.FormatInt(r.ID, 10), URL: fmt.Sprintf("/requests/%d", r.ID), Operation: r.Operation.Label(),
			OperationRaw: string(r.Operation),
			Task:         r.TaskName, Requester: r.RequesterEmail, Status: requestBadge(st),
			Approvals: approvalsCell(r, st, approvals[r.ID]), Created: h.formatTime(r.CreatedAt),
			CannotRun: blocked[r.ID], Incident: r.Incident, AwaitsReview: review[r.ID],
		})
		if st == portal.StatusCancelled {
			p.Rows[len(p.Rows)-1].Note = r.Outcome // who cancelled it, and why
		}
	}
	return h.render(c, http.StatusOK, views.RequestList(p))
}

// runnableAwaiting is how many of the requests awaiting the decision of
// the session's user can still run: one its task can no longer run can
// only be rejected or cancelled, so it does not call for an approval, in
// the header's count or on the landing page. The session's read brought
// the count and the task states, so this costs no query.
func runnableAwaiting(s db.Session) int {
	return max(s.Awaiting-(len(s.AwaitingStates)-requests.CountRunnable(s.AwaitingStates)), 0)
}

// reviewsAwaiting are the emergencies whose post-incident review awaits
// the session's user: the session's read brought the open emergencies and
// their reviews, so this costs no query.
func reviewsAwaiting(s db.Session) []portal.Emergency {
	var out []portal.Emergency
	for _, e := range s.OpenEmergencies {
		if ok, _ := requests.CanReview(s.User, e); ok {
			out = append(out, e)
		}
	}
	return out
}

// approvalsCell is a request's approvals as its list row shows them. A
// request only gets past pending with every approval it needs, so those
// past it show the full count, as does one cancelled once approved; a
// pending one shows how many of its decisions count so far, as its task's
// chips do (progressOf).
func approvalsCell(r portal.Request, st portal.RequestStatus, decided []portal.Approval) string {
	required, approved := r.RequiredApprovals, r.ApprovedAt != nil
	switch {
	case r.BypassesPolicy():
		return "bypassed: emergency"
	case required == 0:
		return "none needed"
	case st == portal.StatusApproved || st == portal.StatusExecuting || st == portal.StatusSucceeded || st == portal.StatusFailed,
		st == portal.StatusCancelled && approved:
		return fmt.Sprintf("%d of %d ✓", required, required)
	case st == portal.StatusPending:
		return progressOf(r, decided)
	}
	return "needed " + portal.Plural(required, "approval", "approvals")
}

// awaitingCount answers the header counter's refresh, from the session's
// read.
func (h *Handlers) awaitingCount(c echo.Context) error {
	s, ok := session(c)
	if !ok || !s.User.Has(auth.RoleApprover) {
		return c.NoContent(http.StatusNoContent)
	}
	return h.render(c, http.StatusOK, views.AwaitingCount(runnableAwaiting(s), len(reviewsAwaiting(s))))
}

func (h *Handlers) showRequest(c echo.Context) error {
	id, err := requestID64(c)
	if err != nil {
		return err
	}
	card, events, err := h.requestCardWith(c, id, timelineSize)
	if err != nil {
		return err
	}
	// What happens next, after filing; what a decision said, after the
	// redirect that follows it without JavaScript.
	// One worded to stay true while the card updates itself is kept
	// through its refreshes; the others while its status stays.
	card.Flash, card.FlashLasts = h.takeLastingNote(c)
	tl := h.requestTimelineOf(c, id, events)
	p := views.RequestPage{Base: h.base(c, card.Title, "requests"), Card: card, Timeline: tl}
	if card.Incident != "" {
		if p.Emergency, err = h.emergencyPanel(c, id); err != nil {
			return err
		}
	}
	return h.render(c, http.StatusOK, views.RequestView(p))
}

// requestCardFragment answers the card's polling.
func (h *Handlers) requestCardFragment(c echo.Context) error {
	id, err := requestID64(c)
	if err != nil {
		return err
	}
	if !isFragment(c) {
		return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/requests/%d", id))
	}
	card, err := h.requestCard(c, id)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, views.RequestCardView(card))
}

func (h *Handlers) requestTimelineFragment(c echo.Context) error {
	id, err := requestID64(c)
	if err != nil {
		return err
	}
	if !isFragment(c) {
		return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/requests/%d", id))
	}
	tl, err := h.requestTimeline(c, id)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, views.RequestTimelineView(tl))
}

func (h *Handlers) requestTimeline(c echo.Context, id int64) (views.Timeline, error) {
	events, err := h.Store.RequestTimeline(c.Request().Context(), id, timelineSize)
	if err != nil {
		return views.Timeline{}, err
	}
	return h.requestTimelineOf(c, id, events), nil
}

// requestTimelineOf is request id's history from its newest events, as
// the viewer may see it.
func (h *Handlers) requestTimelineOf(c echo.Context, id int64, events []audit.Event) views.Timeline {
	tl := views.Timeline{URL: fmt.Sprintf("/requests/%d/timeline", id), Partial: !Allowed(user(c), PermViewAllAudit)}
	for _, e := range visibleEvents(user(c), events) {
		tl.Events = append(tl.Events, h.auditRow(e))
	}
	if len(events) == timelineSize {
		tl.MoreURL = fmt.Sprintf("/audit?request=%d", id)
	}
	return tl
}

// requestCard shapes a request for its card, from the database alone.
func (h *Handlers) requestCard(c echo.Context, id int64) (views.RequestCard, error) {
	card, _, err := h.requestCardWith(c, id, 0)
	return card, err
}

// requestCardWith is requestCard, with the request's newest timeline
// events read in the same batch when timeline > 0.
func (h *Handlers) requestCardWith(c echo.Context, id int64, timeline int) (views.RequestCard, []audit.Event, error) {
	card, pg, err := h.requestCardOf(c, id, timeline)
	return card, pg.Timeline, err
}

// requestPage is request id's page with its newest timeline events, as
// read with the session when it was (pageReads).
func (h *Handlers) requestPage(c echo.Context, id int64, timeline int) (db.RequestPage, error) {
	if r, ok := c.Get(ctxRead).(*pageRead); ok && r.requestPage != nil && r.requestID == id && r.timeline == timeline {
		return r.requestPage()
	}
	return h.Store.RequestPage(c.Request().Context(), id, h.Now(), timeline)
}

func (h *Handlers) requestCardOf(c echo.Context, id int64, timeline int) (views.RequestCard, db.RequestPage, error) {
	ctx := c.Request().Context()
	pg, err := h.requestPage(c, id, timeline)
	if err != nil {
		return views.RequestCard{}, pg, err
	}
	r, approvals, policy := pg.Request, pg.Approvals, pg.Policy
	u := user(c)
	now := h.Now()
	status := r.EffectiveStatus(now)
	card := views.RequestCard{
		ID: strconv.FormatInt(r.ID, 10), Title: fmt.Sprintf("Request #%d: %s %s", r.ID, r.Operation.Label(), r.TaskName),
		Status:  requestBadge(status),
		PollURL: fmt.Sprintf("/requests/%d/card", r.ID), Requester: r.RequesterEmail, Created: h.formatTime(r.CreatedAt),
		Expires: h.formatTime(r.ExpiresAt), Justification: r.Justification,
		Policy: fmt.Sprintf("version %d: %s needs %s; an approval lapses after %s unless executed",
			r.PolicyVersion, r.Operation.Label(), portal.Plural(r.RequiredApprovals, "approval", "approvals"),
			portal.FormatDuration(policy.ApprovalTTL)),
		Method: r.Method, Path: r.Path, Body: string(r.Payload), PayloadHash: hex.EncodeToString(r.PayloadSHA256),
		DecideURL: fmt.Sprintf("/requests/%d/decide", r.ID), CancelURL: fmt.Sprintf("/requests/%d/cancel", r.ID),
		Outcome: r.Outcome, ErrorCode: r.ErrorCode, ErrorMsg: r.ErrorMsg, ErrorRequestID: r.ErrorRequestID,
		Consequence: r.Consequence, ConfirmName: r.ConfirmName,
		CSRF: csrfToken(c), Incident: r.Incident,
	}
	// Only an undecided request can expire; a request is told in the past
	// once its call was attempted, or once it ended without one.
	if status != portal.StatusPending {
		card.Expires = ""
	}
	switch {
	case r.CallAttempts > 0:
		card.CallHeading = "What was sent"
	case status.Final():
		card.CallHeading = "What was asked (never sent)"
	default:
		card.CallHeading = "What will be sent"
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, r.Payload, "", "  ") == nil {
		card.BodyPretty = pretty.String()
	} else {
		card.BodyPretty = string(r.Payload)
	}
	approved := 0
	for _, a := range approvals {
		if a.Decision == portal.Approve {
			approved++
		}
		card.Approvals = append(card.Approvals, views.ApprovalRow{Approver: a.ApproverEmail, Decision: string(a.Decision),
			Comment: a.Comment, At: h.formatTime(a.DecidedAt), Policy: fmt.Sprintf("policy version %d", a.PolicyVersion)})
	}
	card.ApprovalsSummary = fmt.Sprintf("%d of %d", approved, r.RequiredApprovals)
	approvalsWords := fmt.Sprintf("%d of %s", approved, portal.Plural(r.RequiredApprovals, "approval", "approvals"))
	if approved > r.RequiredApprovals {
		// One extra, to run outside its change window.
		card.ApprovalsSummary = fmt.Sprintf("%d (the policy needs %d; one more runs it outside its change window)", approved, r.RequiredApprovals)
		approvalsWords = fmt.Sprintf("%d approvals (the policy's %d plus one)", approved, r.RequiredApprovals)
	}
	if r.BypassesPolicy() {
		card.ApprovalsSummary = "none: break-glass bypassed the approval policy (reviewed afterwards)"
		approvalsWords = "emergency: no approvals, reviewed afterwards"
	}
	card.Byline = strings.TrimSpace(r.Operation.Label()+" "+r.TaskName) + fmt.Sprintf(" · filed by %s · %s",
		r.RequesterEmail, approvalsWords)
	card.Announce = fmt.Sprintf("Request #%d %s", r.ID, strings.ToLower(status.Label()))
	if r.DRTaskID != "" {
		card.TaskID, card.TaskURL, card.TaskName = r.DRTaskID, "/dr-tasks/"+r.DRTaskID, or(r.TaskName, r.DRTaskID)
	}
	if status == portal.StatusPending {
		h.whoCanApprove(&card, pg.Users, r, approvals, approved)
		card.CannotRun = requests.CannotRunOf(pg.State)[r.ID]
	}
	card.Interruption = h.interruption(r)
	var runAt *time.Time
	if r.Operation == portal.OpDrill {
		d, err := h.Store.Drill(ctx, r.ID)
		if err != nil && apperr.KindOf(err) != apperr.NotFound {
			return views.RequestCard{}, pg, err
		}
		runAt = d.RunAt
	}
	card.Window = h.requestWindow(pg.Schedule, r, approvals, policy, status, runAt)
	if r.Operation == portal.OpDrill {
		if card.Drill, err = h.drillCard(ctx, r, card.BodyPretty, pg.Schedule, approvals); err != nil {
			return views.RequestCard{}, pg, err
		}
		if card.Drill != nil && card.Drill.Held {
			// Its "Runs" says why it waits and until when: once.
			card.Window.Waits, card.Window.Blocked = "", false
		}
	}
	card.CanDecide, card.DecideWhy = requests.CanDecide(*u, r, approvals, now)
	if card.CanDecide && card.CannotRun != "" {
		card.DecideWhy = "It cannot be approved: it can no longer run. You can still reject it."
	}
	if card.CanCancel = requests.CanCancel(*u, r, now); card.CanCancel {
		if card.CancelStops, err = h.cancelStops(ctx, r, pg.Schedule, approvals, status, now); err != nil {
			return views.RequestCard{}, pg, err
		}
		card.CancelNeedsReason = requests.NeedsCancelReason(*u, r)
	}
	if card.CanDecide && card.CannotRun == "" && requests.NeedsStepUp(r, portal.Approve) {
		if card.StepUp = h.stepUpPrompt(c, approving(r.Operation)); card.StepUp != nil {
			card.StepUp.Note = "Rejecting does not need it."
		}
	}
	switch {
	case status == portal.StatusApproved || status == portal.StatusExecuting:
		card.Refresh = "2s"
	case status == portal.StatusPending && !card.CanDecide:
		// The requester and onlookers see decisions arrive; an approver's
		// half-typed comment is never swapped away.
		card.Refresh = "5s"
	}
	// Preconditions come from what the database holds: the last live check
	// (filing, or someone's "Check now") and the poller's copy of the task.
	// A page view never asks the cloud.
	if status == portal.StatusPending || status == portal.StatusApproved {
		card.ShowPreconditions = true
		card.CanCheck = requests.CanCheck(*u, r, now)
		card.CheckURL = fmt.Sprintf("/requests/%d/check", r.ID)
		card.PreconditionsOK = preconditionsOK(r.Operation)
		if r.CheckedAt != nil {
			card.CheckedAt, card.CheckedAgo = h.formatTime(*r.CheckedAt), ago(now.Sub(*r.CheckedAt))
		}
		card.CheckProblems, card.CheckErr = r.CheckProblems, r.CheckError
	}
	card.Summary, card.SummaryHeading = h.requestSummary(r, nil), summaryHeading(r, status)
	if r.DRTaskID != "" && r.Operation != portal.OpCreate && pg.Task != nil {
		v := drtask.ViewOf(*pg.Task)
		card.Summary = h.requestSummary(r, &v)
		card.LiveStatus, card.LiveStatusRaw = v.Row.Status.Label(), string(v.Row.Status)
		if fa := v.Row.FetchedAt(); !fa.IsZero() {
			card.StatusAge = ago(now.Sub(fa))
		}
		if card.ShowPreconditions {
			if ok, why := portal.Allowed(r.Operation, drtask.StateOf(v, pg.LastSucceeded)); !ok {
				card.StoredProblems = []string{why}
			}
		}
	}
	return card, pg, nil
}

// summaryHeading heads what a request does: while it awaits approval,
// what an approver decides on; once its call was made, what was run; when
// it ended without one, what it was to run; otherwise (approved, or an
// emergency (break-glass), which nobody decides on) what it runs.
func summaryHeading(r portal.Request, status portal.RequestStatus) string {
	switch {
	case r.CallAttempts > 0:
		return "What was run"
	case status.Final():
		return "What it was to run"
	case status == portal.StatusPending && !r.BypassesPolicy():
		return "What you decide on"
	}
	return "What it runs"
}

// cancelStops is the cancel form's sentence: what cancelling r stops.
func (h *Handlers) cancelStops(ctx context.Context, r portal.Request, sched portal.Schedule, approvals []portal.Approval,
	status portal.RequestStatus, now time.Time) (string, error) {
	if status == portal.StatusPending {
		return "Cancelling withdraws it: nobody can approve it any more, and nothing is sent to the cloud.", nil
	}
	g, held := requests.HeldBackOn(sched, approvals, r, now)
	var runAt time.Time
	if r.Operation == portal.OpDrill {
		d, err := h.Store.Drill(ctx, r.ID)
		switch {
		case err == nil && d.RunAt != nil:
			runAt = *d.RunAt
		case err != nil && apperr.KindOf(err) != apperr.NotFound:
			return "", err
		}
	}
	will, _ := requests.CancelStops(r, g, held, runAt, now, h.displayZone())
	return will, nil
}

// interruption tells, from the request as stored, that the run executing
// it died mid-way (the portal restarted or was killed) and that it is
// being, or was, resumed.
func (h *Handlers) interruption(r portal.Request) string {
	switch {
	case r.Interrupted():
		msg := "The portal restarted during this call; it is being resumed — the cloud is checked first so nothing is sent twice."
		if r.ResumedAt != nil {
			msg += " Taken over at " + h.formatTime(*r.ResumedAt) + "."
		}
		return msg
	case r.ResumedAt != nil:
		return "The portal restarted during this call and resumed it at " + h.formatTime(*r.ResumedAt) +
			"; the cloud was checked first, so nothing was sent twice."
	}
	return ""
}

// decideRequest records an approve or reject; with htmx it answers with the
// card swapped in place and announces the change.
func (h *Handlers) decideRequest(c echo.Context) error {
	id, err := requestID64(c)
	if err != nil {
		return err
	}
	d := portal.Decision(c.FormValue("decision"))
	comment, confirm := c.FormValue("comment"), c.FormValue("confirm")
	var r portal.Request
	err = h.decideStepUp(c, id, d)
	if err == nil {
		r, err = h.Requests.Decide(c.Request().Context(), *user(c), id, d, comment, c.FormValue("payload_sha256"), confirm)
	}
	flash := ""
	if apperr.KindOf(err) == apperr.Invalid && !isStepUp(err) {
		// Not recorded, and on record as such: what was typed, of the
		// cluster's name only whether it matched (see refused.go).
		r, rerr := h.Store.Request(c.Request().Context(), id)
		want := ""
		if rerr == nil {
			want = r.ConfirmName
		}
		detail := map[string]any{"decision": audit.Clip(string(d), 32), "comment": strings.TrimSpace(comment)}
		maps.Copy(detail, portal.ConfirmRecord(confirm, want))
		if rerr := h.recordRefused(c, audit.ActionRequestDecisionRefused, id, "", "", detail, err); rerr != nil {
			return rerr
		}
	}
	if err != nil {
		// The card comes back with what was typed, and the field the
		// refusal is about marked.
		return h.afterRequestAction(c, id, "", false, err, func(card *views.RequestCard) {
			card.Comment, card.Confirm = comment, confirm
			if isStepUp(err) {
				// Said once, by the password field (focused), not also
				// at the top of the card.
				card.ErrorField = views.StepUpFieldID("")
				stepUpFailed(card.StepUp, "", err)
				if card.StepUp != nil {
					card.Error = ""
				}
				return
			}
			if apperr.KindOf(err) == apperr.Invalid {
				switch {
				case d == portal.Reject || utf8.RuneCountInString(strings.TrimSpace(comment)) > requests.MaxJustification:
					card.ErrorField = "comment"
				case d == portal.Approve && card.ConfirmName != "":
					card.ErrorField = "confirm"
				}
			}
		})
	}
	if err == nil {
		flash = "You rejected this request."
		if d == portal.Approve {
			flash = "Your approval is recorded."
			if r.Status == portal.StatusApproved {
				flash += " The request has all its approvals, so it runs; its status below updates by itself."
				// Held back counts the approvals given: with the extra one
				// its rule asks for outside the window, it runs at once.
				_, held, gerr := h.Requests.HeldBack(c.Request().Context(), r, h.Now())
				if gerr == nil && held {
					// When it runs is said once, below (the card's
					// window or drill box), and stays true there.
					flash = "Your approval is recorded. The request has all its approvals, and waits: when it runs is said below."
				}
			}
		}
	}
	return h.afterRequestAction(c, id, flash, true, err, nil)
}

// cancelRequest withdraws a request before it starts: a pending one, or
// an approved one waiting for its window, its time or the executor. The
// reason is optional for its requester and required of an admin
// cancelling someone else's.
func (h *Handlers) cancelRequest(c echo.Context) error {
	id, err := requestID64(c)
	if err != nil {
		return err
	}
	reason := c.FormValue("reason")
	_, err = h.Requests.Cancel(c.Request().Context(), *user(c), id, reason)
	return h.afterRequestAction(c, id, "You cancelled this request: it will not run.", true, err, func(card *views.RequestCard) {
		// The form comes back with what was typed, the reason marked
		// when it is what was wrong, and the card holds still so that
		// the message stays.
		card.CancelReason, card.Refresh = reason, ""
		if apperr.KindOf(err) == apperr.Invalid {
			card.ErrorField = "cancel-reason"
		}
	})
}

// checkRequest asks the cloud, once, whether the request's preconditions
// still hold, and shows the answer on the card.
func (h *Handlers) checkRequest(c echo.Context) error {
	id, err := requestID64(c)
	if err != nil {
		return err
	}
	r, err := h.Requests.Check(c.Request().Context(), *user(c), id)
	flash := ""
	switch {
	case err != nil:
	case r.CheckError != "":
		flash = "The cloud could not be asked; the result below says why."
	case len(r.CheckProblems) > 0:
		flash = "Checked with the cloud just now: some preconditions no longer hold."
	default:
		flash = "Checked with the cloud just now: " + preconditionsOK(r.Operation)
	}
	return h.afterRequestAction(c, id, flash, false, err, nil)
}

// preconditionsOK says what holds when nothing stands in a request's way,
// in the words of each operation.
func preconditionsOK(op portal.Operation) string {
	switch op {
	case portal.OpCreate:
		return "the name is free and both clusters are eligible."
	case portal.OpStart:
		return "DR is not running (not started, stopped, or its last start failed), so it can be started."
	case portal.OpStop:
		return "DR is running (or its last stop failed), so it can be stopped."
	case portal.OpUpdate:
		return "DR is not running (not started or stopped), so its sync period can be changed."
	case portal.OpSwitchover:
		return "DR is running, so the two clusters can swap roles."
	case portal.OpFailover:
		return "the pair is broken (the task is abnormal or its production cluster faulty), so the standby can be promoted."
	case portal.OpRecovery:
		return "the task is abnormal after a failover, so the pair can be rebuilt."
	case portal.OpDelete:
		return "DR is not running and the task is not changing, so it can be deleted."
	}
	return "the task's status allows " + string(op) + "."
}

// ago says how long ago something happened, roughly, for people.
func ago(d time.Duration) string {
	switch {
	case d < 2*time.Second:
		return "just now"
	case d < 2*time.Minute:
		return fmt.Sprintf("%d seconds ago", int(d/time.Second))
	case d < 2*time.Hour:
		return fmt.Sprintf("%d minutes ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d hours ago", int(d/time.Hour))
	}
	return fmt.Sprintf("%d days ago", int(d/(24*time.Hour)))
}

// afterRequestAction answers a decision or cancellation: the card in place
// for htmx, otherwise a redirect whose page shows the flash once (or the
// page with the error). A refused action changes nothing and says why;
// refused, when set, marks up the card it comes back with.
func (h *Handlers) afterRequestAction(c echo.Context, id int64, flash string, lasting bool, actionErr error, refused func(*views.RequestCard)) error {
	status := http.StatusOK
	if actionErr != nil {
		var ok bool
		if status, ok = h.shownAgain(c, actionErr); !ok {
			return actionErr
		}
	}
	if actionErr == nil && !isFragment(c) {
		if lasting {
			return h.redirectWithLastingNote(c, fmt.Sprintf("/requests/%d", id), flash)
		}
		return h.redirectWithNote(c, fmt.Sprintf("/requests/%d", id), flash)
	}
	card, err := h.requestCard(c, id)
	if err != nil {
		return err
	}
	switch {
	case apperr.KindOf(actionErr) == apperr.TooMany && card.ShowPreconditions && !isStepUp(actionErr):
		// A check asked for too soon: say so next to the button, not as
		// an error at the top of the page.
		card.CheckNotice = apperr.Message(actionErr)
	case actionErr != nil:
		card.Error = apperr.Message(actionErr)
		if refused != nil {
			refused(&card)
		}
	default:
		card.Flash, card.FlashLasts = flash, lasting
		c.Response().Header().Set("HX-Trigger", EventRequestUpdated)
	}
	if isFragment(c) {
		return h.render(c, status, views.RequestCardView(card))
	}
	tl, err := h.requestTimeline(c, id)
	if err != nil {
		return err
	}
	return h.render(c, status, views.RequestView(views.RequestPage{Base: h.base(c, card.Title, "requests"), Card: card, Timeline: tl}))
}

// requestBadge colours a request status, in words.
func requestBadge(st portal.RequestStatus) views.Status {
	b := views.Status{Text: st.Label(), Raw: string(st), Class: "idle"}
	switch st {
	case portal.StatusSucceeded:
		b.Class = "ok"
	case portal.StatusFailed:
		b.Class = "bad"
	case portal.StatusPending:
		b.Class = "warn"
	case portal.StatusApproved, portal.StatusExecuting:
		b.Class = "changing"
	}
	return b
}
