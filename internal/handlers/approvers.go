package handlers

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"drportal/internal/drtask"
	"drportal/internal/portal"
	"drportal/internal/requests"
	"drportal/internal/views"
)

// personName names a user for people: their display name, else their e-mail.
func personName(u portal.User) string { return or(u.DisplayName, u.Email) }

// names lists users by name: "Bob", "Bob and Carol", "Bob, Carol and Dan".
func names(us []portal.User) string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = personName(u)
	}
	return listWords(out)
}

func listWords(ws []string) string {
	switch len(ws) {
	case 0:
		return ""
	case 1:
		return ws[0]
	}
	return strings.Join(ws[:len(ws)-1], ", ") + " and " + ws[len(ws)-1]
}

// count says "1 approval", "2 approvals".
func count(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// people says "nobody", "1 person", "2 people".
func people(n int) string {
	switch n {
	case 0:
		return "nobody"
	case 1:
		return "1 person"
	}
	return fmt.Sprintf("%d people", n)
}

// approverNotice says, before u files a request for op, who could approve
// it (the rules of the quorum: active approvers other than u, holding the
// role now) and whether they are enough for the current policy. A request
// filed without enough of them can never be approved: people who become
// approvers later do not count for it.
func (h *Handlers) approverNotice(ctx context.Context, u *portal.User, op portal.Operation) (views.ApproverNotice, error) {
	policy, err := h.Store.CurrentPolicy(ctx)
	if err != nil {
		return views.ApproverNotice{}, err
	}
	need := policy.Required(op)
	if need == 0 {
		return views.ApproverNotice{Text: "The approval policy needs no approval for this: it runs as soon as it is filed."}, nil
	}
	eligible, err := h.Requests.Approvers(ctx, u.ID, h.Now())
	if err != nil {
		return views.ApproverNotice{}, err
	}
	n := views.ApproverNotice{Short: len(eligible) < need, IsAdmin: Allowed(u, PermAdmin)}
	if n.Short && len(eligible) > 0 && len(eligible) >= op.MinApprovals() {
		// The approvers there are could give what a lower policy asks.
		n.LowerTo = len(eligible)
	}
	switch {
	case !n.Short:
		n.Text = fmt.Sprintf("It needs %s. Who can approve: %s.", fromOthers(need), names(eligible))
	case len(eligible) == 0:
		n.Text = fmt.Sprintf("Nobody could approve this request: it needs %s, and no one else holds the approver role. "+
			"Filed now, it would wait until it expires. A second person needs the approver role first.", fromOthers(need))
	default:
		n.Text = fmt.Sprintf("This request could never be approved: it needs %s from people other than you, and only %s can approve (%s). "+
			"Filed now, it would wait until it expires. Another person needs the approver role first.",
			count(need, "approval"), people(len(eligible)), names(eligible))
	}
	return n, nil
}

// redirectToFiled answers the filing of request r with its page and the
// note of what happens next: one that stays, for a request that needed no
// approval and runs at once; otherwise one that goes once it is decided.
func (h *Handlers) redirectToFiled(c echo.Context, r portal.Request) error {
	path, note := fmt.Sprintf("/requests/%d", r.ID), h.nextSteps(c.Request().Context(), r)
	if r.Status != portal.StatusPending {
		return h.redirectWithLastingNote(c, path, note)
	}
	return h.redirectWithNote(c, path, note)
}

// nextSteps is the note shown after filing request r: what happens next
// and who can approve it.
func (h *Handlers) nextSteps(ctx context.Context, r portal.Request) string {
	msg := fmt.Sprintf("Request #%d filed. Nothing has been sent to the cloud yet.", r.ID)
	if r.Status != portal.StatusPending {
		return fmt.Sprintf("Request #%d filed. The approval policy needs no approval for it, so it runs without waiting for one; its status below updates by itself.", r.ID)
	}
	eligible, err := h.Requests.Approvers(ctx, r.RequesterID, r.CreatedAt)
	if err != nil {
		return msg
	}
	switch {
	case len(eligible) < r.RequiredApprovals:
		return msg + fmt.Sprintf(" It needs %s, but %s can approve it: it cannot be approved and will expire. "+
			"Once another person has the approver role, cancel it and file it again.",
			fromOthers(r.RequiredApprovals), people(len(eligible)))
	}
	return msg + fmt.Sprintf(" It runs once it has %s; who can approve: %s. They see it under Requests, awaiting their approval.",
		fromOthers(r.RequiredApprovals), names(eligible))
}

// fromOthers says how many approvals a request needs, from whom: each from
// a different person, none from its requester.
func fromOthers(n int) string {
	if n == 1 {
		return "1 approval from someone other than you"
	}
	return count(n, "approval") + ", each from a different person other than you"
}

// progressOf says how far a pending request is, from its approvals:
// "0 of 1". It needs r's recorded payload hash and policy version, not its
// payload: lists read requests without them (portal.ApprovalsCounted).
func progressOf(r portal.Request, approvals []portal.Approval) string {
	n, err := portal.ApprovalsCounted(r, approvals)
	if err != nil {
		n = 0
	}
	return fmt.Sprintf("%d of %d", n, r.RequiredApprovals)
}

// whoCanApprove fills the card's list of the people who may still
// approve pending request r, and how many more approvals it needs.
func (h *Handlers) whoCanApprove(card *views.RequestCard, all []portal.User, r portal.Request, approvals []portal.Approval, approved int) {
	decided := map[int64]bool{}
	for _, a := range approvals {
		decided[a.ApproverID] = true
	}
	var left []portal.User
	for _, u := range requests.EligibleApprovers(all, r.RequesterID, r.CreatedAt) {
		if !decided[u.ID] {
			left = append(left, u)
		}
	}
	more := max(r.RequiredApprovals-approved, 0)
	card.MoreNeeded = more
	for _, u := range left {
		card.Approvers = append(card.Approvers, personName(u))
	}
	if more > len(left) {
		card.Stuck = fmt.Sprintf("It needs %s more, and %s can still give one: it cannot be approved and will expire at %s. "+
			"People who became approvers after it was filed do not count for it: once another person has the approver role, "+
			"its requester can cancel it and file it again.",
			count(more, "approval"), people(len(left)), h.formatTime(r.ExpiresAt))
	}
}

// clusterWords names a cluster for an approver: name · AZ · version ·
// short id.
func clusterWords(c portal.ClusterRef) string {
	var parts []string
	for _, p := range []string{c.Name, c.AZ, c.Version, shortID(c.ID)} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, " · ")
}

// shortID is the first block of a UUID, enough to tell clusters apart.
func shortID(id string) string {
	if i := strings.IndexByte(id, '-'); i > 0 {
		return id[:i]
	}
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// everyPeriod says how often a sync period syncs ("every 5 minutes"), or
// "" for no period.
func everyPeriod(p string) string {
	if p == "" {
		return ""
	}
	return "every " + portal.PeriodWords(p)
}

// span says a duration in words, roughly: "90 seconds", "5 minutes".
func span(d time.Duration) string {
	switch {
	case d < 2*time.Minute:
		return count(int(d/time.Second), "second")
	case d < 2*time.Hour:
		return count(int(d/time.Minute), "minute")
	case d < 48*time.Hour:
		return count(int(d/time.Hour), "hour")
	}
	return count(int(d/(24*time.Hour)), "day")
}

// requestSummary is what request r does, in names: the operation, the
// task, both clusters, the sync period and, for an operation on a task the
// portal knows (v), its status and RPO/RTO as the portal's copy has them.
// While r is open (pending or approved) the clusters are the task's roles
// now, what an approver decides on; once it executes or has ended, they
// are as they were when it was filed (its stored summary) or, for a
// request filed before that was kept, when its call was made (the primary
// the executor saw): never the roles of today, which it may have swapped.
// From the database alone.
func (h *Handlers) requestSummary(r portal.Request, v *drtask.TaskView) []views.Field {
	label := string(r.Operation)
	if spec, ok := portal.SpecFor(r.Operation); ok {
		label = spec.Label
	}
	out := []views.Field{{Label: "Operation", Value: label}, {Label: "DR task", Value: r.TaskName}}
	sum := r.Summary
	st := r.EffectiveStatus(h.Now())
	open := st == portal.StatusPending || st == portal.StatusApproved
	switch {
	case v == nil || !v.HasDetail:
	case open:
		sum.Primary, sum.Standby = portal.SideRef(v.Task.Primary), portal.SideRef(v.Task.Standby)
	case sum.Primary.ID == "" && sum.Standby.ID == "" && r.PrePrimaryID != "" && r.Operation != portal.OpDrill:
		// (A drill's second call, the switchback, saw the swapped roles.)
		sum.Primary, sum.Standby = portal.SideRef(v.Task.Primary), portal.SideRef(v.Task.Standby)
		if v.Task.Standby.ID == r.PrePrimaryID {
			sum.Primary, sum.Standby = sum.Standby, sum.Primary
		}
	}
	if c := clusterWords(sum.Primary); c != "" {
		out = append(out, views.Field{Label: "Primary cluster", Value: c})
	}
	if c := clusterWords(sum.Standby); c != "" {
		out = append(out, views.Field{Label: "Standby cluster", Value: c})
	}
	period := everyPeriod(sum.SyncPeriod)
	if r.Operation == portal.OpUpdate && v != nil && period != "" && open {
		period = "from " + everyPeriod(or(v.Task.SyncPeriod, v.Row.SyncPeriod)) + " to " + period
	} else if period == "" && v != nil {
		period = everyPeriod(or(v.Task.SyncPeriod, v.Row.SyncPeriod))
	}
	if period != "" {
		out = append(out, views.Field{Label: "Sync period", Value: period})
	}
	if v == nil {
		return out
	}
	status := v.Row.Status.Label()
	if v.Gone {
		status = portal.TaskDeleted.Label()
	}
	if fa := v.Row.FetchedAt(); !fa.IsZero() {
		status += ", as last read from the cloud " + ago(h.Now().Sub(fa))
	}
	out = append(out, views.Field{Label: "Status now", Value: status})
	if v.Progress != nil && v.HasDetail && !portal.Synced(v.Task) {
		out = append(out, views.Field{Label: "RPO / RTO", Value: "no RPO yet: no sync has completed, so no data has been synchronised to the standby"})
	} else if v.Progress != nil {
		out = append(out, views.Field{Label: "RPO / RTO", Value: span(time.Duration(v.Progress.RPOSeconds)*time.Second) + " / " +
			span(time.Duration(v.Progress.RTOSeconds)*time.Second)})
	}
	return out
}

// openStatus says where an open request stands, in words, by the same
// judgement as its page: "Awaiting approval 0 of 1" (counting approvals,
// progressOf), "Approved, about to run", "Approved, waits for the window:
// Tue 02:00 CET (Europe/Berlin, 2026-03-03)" (sched's windows or freezes
// hold it back, requests.HeldBackOn), "Executing".
func (h *Handlers) openStatus(r portal.Request, approvals []portal.Approval, sched portal.Schedule) string {
	now := h.Now()
	switch st := r.EffectiveStatus(now); st {
	case portal.StatusPending:
		return "Awaiting approval " + progressOf(r, approvals)
	case portal.StatusApproved:
		if w := h.approvedWaits(r, approvals, sched); w != "" {
			return "Approved, " + w
		}
		return "Approved, about to run"
	case portal.StatusExecuting:
		return "Executing"
	default:
		return string(st)
	}
}

// approvedWaits says what approved request r waits for and until when,
// "waits for the window: Tue 02:00 CET (Europe/Berlin, 2026-03-03)", or ""
// when nothing holds it back (it is about to run).
func (h *Handlers) approvedWaits(r portal.Request, approvals []portal.Approval, sched portal.Schedule) string {
	g, held := requests.HeldBackOn(sched, approvals, r, h.Now())
	switch {
	case !held:
		return ""
	case g.Frozen && g.Restricted && g.RunsAt.After(g.Freeze.End):
		return fmt.Sprintf("waits for the freeze to end (%s), then for the window: %s", h.formatTime(g.Freeze.End),
			portal.FormatOpening(g.RunsAt, windowZone(g, h.displayZone())))
	case g.Frozen && !g.RunsAt.IsZero():
		return "waits for the freeze to end: " + h.formatTime(g.RunsAt)
	case g.Frozen:
		return fmt.Sprintf("waits for the freeze to end (%s), and no window opening after it was found", h.formatTime(g.Freeze.End))
	case g.RunsAt.IsZero():
		return "waits for a window, and no opening was found"
	}
	return "waits for the window: " + portal.FormatOpening(g.RunsAt, windowZone(g, h.displayZone()))
}

// chipWith is an open request on a task, as a chip:
// "Stop DR · Awaiting approval 0 of 1 · #5".
func (h *Handlers) chipWith(r portal.Request, status string) views.RequestLink {
	return views.RequestLink{ID: strconv.FormatInt(r.ID, 10), URL: fmt.Sprintf("/requests/%d", r.ID),
		Label:  emergencyPrefix(r) + fmt.Sprintf("%s · %s · request #%d", r.Operation.Label(), status, r.ID),
		Status: requestBadge(r.EffectiveStatus(h.Now()))}
}

// policyWarnings marks the policy rows that need more approvals than
// there are active approvers (no request of that kind could be approved),
// or exactly as many (an approver's own requests could not).
func (h *Handlers) policyWarnings(ctx context.Context, p *views.PolicyPage) error {
	all, err := h.Store.ListUsers(ctx)
	if err != nil {
		return err
	}
	for _, u := range all {
		if u.Active && u.Has(portal.RoleApprover) {
			p.Approvers++
		}
	}
	for i, row := range p.Rows {
		n, err := strconv.Atoi(row.Value)
		if err != nil || n == 0 {
			continue
		}
		switch {
		case n > p.Approvers:
			p.Rows[i].Warning = fmt.Sprintf("Needs %s, but there %s %s: no %s request could be approved. Add approvers in Users.",
				count(n, "approval"), isAre(p.Approvers), count(p.Approvers, "active approver"), strings.ToLower(row.Label))
		case n == p.Approvers:
			p.Rows[i].Warning = fmt.Sprintf("Needs %s, as many as there are active approvers: a %s request filed by one of them could not be approved, as nobody approves their own request.",
				count(n, "approval"), strings.ToLower(row.Label))
		}
	}
	return nil
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}
