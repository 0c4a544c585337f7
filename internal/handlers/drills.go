package handlers

import (
	"context"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
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

// runAtLayout is the value of a datetime-local input.
const runAtLayout = "2006-01-02T15:04"

// runAtFrom reads a drill form's optional run time, a local date and time
// in the display zone. It returns why the value is no time, if it is not.
func (h *Handlers) runAtFrom(c echo.Context) (*time.Time, string) {
	v := strings.TrimSpace(c.FormValue(drtask.FieldRunAt))
	if v == "" {
		return nil, ""
	}
	zone := h.Config.DisplayTimeZone
	if zone == nil {
		zone = time.UTC
	}
	for _, layout := range []string{runAtLayout, runAtLayout + ":05"} {
		if t, err := time.ParseInLocation(layout, v, zone); err == nil {
			return &t, ""
		}
	}
	return nil, fmt.Sprintf("Enter a date and time such as %s, or leave it empty.", h.Now().In(zone).Add(time.Hour).Format(runAtLayout))
}

// runAtInput is the drill form's run time field, with what was typed and
// when the drill runs, in the words of the change windows' gate g now: as
// soon as it is approved, or, when its windows hold it, when they open.
func (h *Handlers) runAtInput(c echo.Context, g portal.WindowGate) *views.RunAtInput {
	zone := h.Config.DisplayTimeZone
	if zone == nil {
		zone = time.UTC
	}
	// Short sentences: what leaving it empty does, what a time does, and
	// the check before it runs. A drill's windows are the switchover's.
	const checks = " Before it runs, the portal checks again that the task is running and synchronised."
	hint := "Leave it empty to run the drill as soon as it is approved. With a time, it runs then, or once approved if that is later." + checks
	if g.Restricted {
		const at = " With a time, it runs then if the switchover's change windows are open, or else when one next opens; never before it is approved."
		switch {
		case g.Frozen:
			hint = "Leave it empty to run the drill once approved, when no freeze holds and the switchover's change windows are open." + at + checks
		case g.InWindow:
			hint = "Leave it empty to run the drill as soon as it is approved while the switchover's change window is open, or else when one next opens." + at + checks
		case g.RunsAt.IsZero():
			hint = "The switchover's change windows hold it. No moment was found when one is open and no freeze holds, so it cannot run as the windows stand."
		default:
			hint = fmt.Sprintf("Leave it empty to run the drill when the switchover's change window opens, %s, once approved. It does not run at once: the switchover's change window %s is closed now.",
				portal.DescribeOpening(g.RunsAt, windowZone(g, zone), h.Now()), g.Window)
			if g.ExtraApprovals() > 0 {
				hint += " With one approval beyond the policy's, it runs as soon as it is approved."
			}
			hint += at + checks
		}
	}
	return &views.RunAtInput{Value: strings.TrimSpace(c.FormValue(drtask.FieldRunAt)), Zone: zone.String(),
		Min: h.Now().In(zone).Format(runAtLayout), Hint: hint}
}

// drillsURL is a task's drill history.
func drillsURL(taskID string) string { return "/dr-tasks/" + taskID + "/drills" }

// drillCard is what a drill's request page says of it, from the database;
// bodyPretty is the call's body as the page shows it; sched and approvals
// are the windows in force and its decisions, which say whether its
// change windows hold it back.
func (h *Handlers) drillCard(ctx context.Context, r portal.Request, bodyPretty string, sched portal.Schedule,
	approvals []portal.Approval) (*views.DrillCard, error) {
	d, err := h.Store.Drill(ctx, r.ID)
	if apperr.KindOf(err) == apperr.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	card := &views.DrillCard{RunsAt: "As soon as it is approved.", HistoryURL: drillsURL(d.TaskID)}
	if d.RunAt != nil {
		card.RunsAt = fmt.Sprintf("At %s, or as soon as it is approved after that.", h.formatTime(*d.RunAt))
	}
	if st := r.EffectiveStatus(h.Now()); d.StartedAt == nil && d.Outcome == "" && (st == portal.StatusPending || st == portal.StatusApproved) {
		if held := h.drillHeld(sched, approvals, r, d.RunAt, st); held != "" {
			card.RunsAt, card.Held = held, true
		}
	}
	switch {
	case d.StartedAt == nil && d.Outcome != "":
		card.RunsAt = fmt.Sprintf("It did not run: it was %s at %s.", d.Outcome, h.formatTime(*d.FinishedAt))
	case d.StartedAt == nil:
	case d.Outcome != "":
		card.RunsAt = "Started at " + h.formatTime(*d.StartedAt) + "."
		card.Step = "Finished at " + h.formatTime(*d.FinishedAt) + ": " + d.Outcome + "."
	default:
		card.RunsAt = "Started at " + h.formatTime(*d.StartedAt) + "."
		card.Step = fmt.Sprintf("Step %d of 2: the %s.", d.Step, portal.DrillStepName(d.Step))
	}
	if d.StartedAt != nil {
		card.Evidence = d.Summary() + fmt.Sprintf(" (measured by polling every %s).", portal.DrillDuration(d.PollResolution))
	}
	ended := r.EffectiveStatus(h.Now()).Final()
	for _, step := range []int{portal.DrillSwitchover, portal.DrillSwitchback} {
		st := d.StepTimes(step)
		call := views.DrillCall{Step: fmt.Sprintf("%d. %s", step, upper(portal.DrillStepName(step))), Method: r.Method, Path: r.Path,
			Body: string(r.Payload), BodyPretty: bodyPretty}
		switch {
		case st.SentAt != nil:
			call.State = "sent at " + h.formatTime(*st.SentAt)
		case ended:
			call.State = "never sent"
		case step == portal.DrillSwitchover:
			call.State = "not sent yet: first, once the drill runs"
		default:
			call.State = "not sent yet: once the switchover is seen done"
		}
		card.Calls = append(card.Calls, call)
		if st.AcceptedAt == nil {
			continue
		}
		row := views.DrillStepRow{Step: upper(portal.DrillStepName(step)), Accepted: h.formatTime(*st.AcceptedAt), Running: "not yet", RTO: "–"}
		if st.DoneAt != nil {
			row.Running = h.formatTime(*st.DoneAt)
		}
		if v, ok := d.RTO(step); ok {
			row.RTO = rtoWords(v, d.PollResolution)
		}
		card.Steps = append(card.Steps, row)
	}
	return card, nil
}

// drillHeld says when drill r, not started, runs when its change windows
// or a freeze hold it back at its time (runAt, or now when none or past):
// the same judgement as the request page's (requests.HeldBackOn). "" when
// nothing holds it.
func (h *Handlers) drillHeld(sched portal.Schedule, approvals []portal.Approval, r portal.Request, runAt *time.Time,
	status portal.RequestStatus) string {
	now := h.Now()
	at := now
	if runAt != nil && runAt.After(now) {
		at = *runAt
	}
	g, held := requests.HeldBackOn(sched, approvals, r, at)
	if !held {
		return ""
	}
	var out string
	switch {
	case runAt != nil && g.Frozen:
		out = fmt.Sprintf("Not at %s: a freeze holds it then (“%s”, until %s).", h.formatTime(at), g.Freeze.Reason, h.formatTime(g.Freeze.End))
	case runAt != nil:
		out = fmt.Sprintf("Not at %s: its change window %s is closed then.", h.formatTime(at), g.Window)
	case g.Frozen:
		out = fmt.Sprintf("Not at once: a freeze holds it (“%s”, until %s).", g.Freeze.Reason, h.formatTime(g.Freeze.End))
	default:
		out = fmt.Sprintf("Not at once: it is outside its change window %s.", g.Window)
	}
	once := ""
	if status == portal.StatusPending {
		once = ", once approved"
	}
	switch {
	case g.RunsAt.IsZero():
		out += " No moment was found when its change window is open and no freeze holds: it cannot run as the windows stand."
	case g.Frozen && !g.Restricted:
		out += fmt.Sprintf(" It runs when the freeze ends%s: %s.", once, portal.DescribeOpening(g.RunsAt, windowZone(g, h.displayZone()), now))
	case g.Frozen:
		out += fmt.Sprintf(" It runs at the first moment after the freeze that its change window is open%s: %s.", once,
			portal.DescribeOpening(g.RunsAt, windowZone(g, h.displayZone()), now))
	default:
		out += fmt.Sprintf(" It runs when the window opens%s: %s.", once, portal.DescribeOpening(g.RunsAt, windowZone(g, h.displayZone()), now))
	}
	if status == portal.StatusPending && g.ExtraApprovals() > 0 {
		out += " With one approval beyond the policy's, it runs as soon as it is approved."
	}
	return out
}

// rtoWords is a step's measured RTO with what it is known to within: the
// poll interval it was measured at ("2 min 10 s (±5 s)"), for each step
// alike.
func rtoWords(rto, resolution time.Duration) string {
	if resolution <= 0 {
		return portal.DrillDuration(rto)
	}
	return portal.DrillDuration(rto) + " (±" + portal.DrillDuration(resolution) + ")"
}

func upper(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// drillSummary is the task page's line about its last drill.
func (h *Handlers) drillSummary(taskID string, count int, last *portal.Drill) views.DrillSummary {
	out := views.DrillSummary{HistoryURL: drillsURL(taskID), Count: count}
	if last == nil {
		return out
	}
	d := *last
	out.RequestURL = fmt.Sprintf("/requests/%d", d.RequestID)
	out.Last = d.Summary()
	switch d.Outcome {
	case portal.DrillSucceeded:
		out.Outcome, out.Class, out.When = "succeeded", "ok", h.formatTime(*d.FinishedAt)
	case portal.DrillFailed:
		out.Outcome, out.Class, out.When = "failed", "bad", h.formatTime(*d.FinishedAt)
	case portal.DrillCancelled:
		out.Outcome, out.Class, out.When = "cancelled", "idle", h.formatTime(*d.FinishedAt)
	default:
		out.Outcome, out.Class, out.When = "running", "idle", "started "+h.formatTime(*d.StartedAt)
	}
	return out
}

// drillHistorySize bounds the drills a task's pages and exports list.
const drillHistorySize = 500

// showDrills is a task's drill history, from the database alone.
func (h *Handlers) showDrills(c echo.Context) error {
	id := c.Param("id")
	ctx := c.Request().Context()
	t, err := h.drillTask(ctx, id)
	if err != nil {
		return err
	}
	drills, err := h.Store.TaskDrills(ctx, t.ID, drillHistorySize)
	if err != nil {
		return err
	}
	p := views.DrillHistoryPage{Base: h.base(c, "Drills: "+t.Name, "tasks"), TaskName: t.Name, TaskURL: "/dr-tasks/" + t.ID,
		CanExport: Allowed(user(c), PermViewAllAudit),
		CSVURL:    drillsURL(t.ID) + "/export?format=csv", JSONURL: drillsURL(t.ID) + "/export?format=json",
		Resolution: "RTO: from the cloud accepting a switchover call until the task was first seen running the other way, " +
			"measured by reading the task at the poll interval shown, so it is known to within that interval. RPO: from the last " +
			"successful sync the cloud reported right before the switchover to the switchover's call."}
	for _, d := range drills {
		row := views.DrillRow{ID: strconv.FormatInt(d.RequestID, 10), URL: fmt.Sprintf("/requests/%d", d.RequestID),
			FiledBy: d.FiledBy, ApprovedBy: strings.Join(d.ApprovedBy, ", "), Outcome: "waiting", Class: "idle",
			SwitchoverRTO: "–", SwitchbackRTO: "–", RPO: "–", Started: "not yet", Detail: d.OutcomeDetail}
		switch {
		case d.StartedAt != nil:
			row.Started, row.Outcome = h.formatTime(*d.StartedAt), "running"
		case d.Outcome == portal.DrillCancelled:
			row.Started = "Cancelled before it started"
		case d.Outcome != "":
			row.Started = "Never started"
		}
		switch d.Outcome {
		case portal.DrillSucceeded:
			row.Outcome, row.Class = "succeeded", "ok"
		case portal.DrillFailed:
			row.Outcome, row.Class = "failed", "bad"
		case portal.DrillCancelled:
			row.Outcome, row.Class = "cancelled", "idle"
		}
		if v, ok := d.RTO(portal.DrillSwitchover); ok {
			row.SwitchoverRTO = rtoWords(v, d.PollResolution)
		}
		if v, ok := d.RTO(portal.DrillSwitchback); ok {
			row.SwitchbackRTO = rtoWords(v, d.PollResolution)
		}
		if v, ok := d.RPO(); ok {
			row.RPO = portal.DrillDuration(v)
		}
		p.Rows = append(p.Rows, row)
	}
	return h.render(c, http.StatusOK, views.DrillHistory(p))
}

// drillTask is the task a drill page is about: one the portal knows.
func (h *Handlers) drillTask(ctx context.Context, id string) (db.TaskRow, error) {
	if !drtask.ValidID(id) {
		return db.TaskRow{}, apperr.New(apperr.NotFound, "There is no DR task with id %q.", id)
	}
	t, err := h.Store.Task(ctx, id)
	if apperr.KindOf(err) == apperr.NotFound {
		return t, apperr.New(apperr.NotFound, "There is no DR task with id %q.", id)
	}
	return t, err
}

// DrillExportColumns are the drill export's columns, in order: the CSV's
// header and the JSON objects' keys. They do not change: a new column is
// added at the end.
var DrillExportColumns = []string{"request_id", "dr_task_id", "task_name", "filed_by", "approved_by", "run_at",
	"started_at", "finished_at", "outcome", "outcome_detail", "primary_before", "standby_before",
	"last_sync_at", "switchover_call_started_at", "switchover_accepted_at", "switchover_running_other_way_at", "switchover_rto_ms",
	"switchback_call_started_at", "switchback_accepted_at", "switchback_running_other_way_at", "switchback_rto_ms",
	"rpo_ms", "poll_resolution_ms", "audit_event_ids", "audit_event_hashes"}

// drillEvidence is one drill as exported.
type drillEvidence struct {
	RequestID      int64              `json:"request_id"`
	TaskID         string             `json:"dr_task_id"`
	TaskName       string             `json:"task_name"`
	FiledBy        string             `json:"filed_by"`
	ApprovedBy     []string           `json:"approved_by"`
	RunAt          *time.Time         `json:"run_at"`
	StartedAt      *time.Time         `json:"started_at"`
	FinishedAt     *time.Time         `json:"finished_at"`
	Outcome        string             `json:"outcome"`
	OutcomeDetail  string             `json:"outcome_detail"`
	PrimaryBefore  string             `json:"primary_before"`
	StandbyBefore  string             `json:"standby_before"`
	LastSyncAt     *time.Time         `json:"last_sync_at"`
	SwitchoverSent *time.Time         `json:"switchover_call_started_at"`
	SwitchoverAcc  *time.Time         `json:"switchover_accepted_at"`
	SwitchoverDone *time.Time         `json:"switchover_running_other_way_at"`
	SwitchoverRTO  *int64             `json:"switchover_rto_ms"`
	SwitchbackSent *time.Time         `json:"switchback_call_started_at"`
	SwitchbackAcc  *time.Time         `json:"switchback_accepted_at"`
	SwitchbackDone *time.Time         `json:"switchback_running_other_way_at"`
	SwitchbackRTO  *int64             `json:"switchback_rto_ms"`
	RPO            *int64             `json:"rpo_ms"`
	PollResolution *int64             `json:"poll_resolution_ms"` // nil: the drill never started, so was never polled
	EventIDs       []int64            `json:"audit_event_ids"`
	EventHashes    []string           `json:"audit_event_hashes"`
	Events         []drillEventExport `json:"-"`
}

type drillEventExport struct {
	ID     int64
	Action string
	Hash   string
}

func ms(v time.Duration, ok bool) *int64 {
	if !ok {
		return nil
	}
	n := v.Milliseconds()
	return &n
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func evidenceOf(d portal.Drill, taskName string, events []db.DrillEvent) drillEvidence {
	e := drillEvidence{RequestID: d.RequestID, TaskID: d.TaskID, TaskName: taskName, FiledBy: d.FiledBy, ApprovedBy: d.ApprovedBy,
		RunAt: utc(d.RunAt), StartedAt: utc(d.StartedAt), FinishedAt: utc(d.FinishedAt), Outcome: d.Outcome,
		OutcomeDetail: d.OutcomeDetail, PrimaryBefore: d.PrimaryBefore, StandbyBefore: d.StandbyBefore, LastSyncAt: utc(d.LastSyncAt),
		SwitchoverSent: utc(d.Switchover.SentAt), SwitchoverAcc: utc(d.Switchover.AcceptedAt), SwitchoverDone: utc(d.Switchover.DoneAt),
		SwitchoverRTO:  ms(d.RTO(portal.DrillSwitchover)),
		SwitchbackSent: utc(d.Switchback.SentAt), SwitchbackAcc: utc(d.Switchback.AcceptedAt), SwitchbackDone: utc(d.Switchback.DoneAt),
		SwitchbackRTO: ms(d.RTO(portal.DrillSwitchback)), RPO: ms(d.RPO()), PollResolution: ms(d.PollResolution, d.StartedAt != nil),
		EventIDs: []int64{}, EventHashes: []string{}}
	if e.ApprovedBy == nil {
		e.ApprovedBy = []string{}
	}
	for _, ev := range events {
		e.EventIDs = append(e.EventIDs, ev.ID)
		e.EventHashes = append(e.EventHashes, hex.EncodeToString(ev.Hash))
	}
	return e
}

// record is e as a CSV row, in DrillExportColumns' order.
func (e drillEvidence) record() []string {
	t := func(v *time.Time) string {
		if v == nil {
			return ""
		}
		return v.Format(time.RFC3339Nano)
	}
	n := func(v *int64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatInt(*v, 10)
	}
	ids := make([]string, len(e.EventIDs))
	for i, id := range e.EventIDs {
		ids[i] = strconv.FormatInt(id, 10)
	}
	// Every string cell is defused as the audit export's are: a task, a
	// cluster or a person may be named, and an outcome may read, like a
	// spreadsheet formula.
	c := audit.Cell
	return []string{strconv.FormatInt(e.RequestID, 10), c(e.TaskID), c(e.TaskName), c(e.FiledBy), c(strings.Join(e.ApprovedBy, ";")),
		t(e.RunAt), t(e.StartedAt), t(e.FinishedAt), c(e.Outcome), c(e.OutcomeDetail), c(e.PrimaryBefore), c(e.StandbyBefore),
		t(e.LastSyncAt), t(e.SwitchoverSent), t(e.SwitchoverAcc), t(e.SwitchoverDone), n(e.SwitchoverRTO),
		t(e.SwitchbackSent), t(e.SwitchbackAcc), t(e.SwitchbackDone), n(e.SwitchbackRTO),
		n(e.RPO), n(e.PollResolution), strings.Join(ids, ";"), c(strings.Join(e.EventHashes, ";"))}
}

// exportDrills hands out a task's drill history for auditors, as CSV or
// JSON with the stable DrillExportColumns: to those who may read the whole
// audit (auditors and admins; the route requires PermViewAllAudit), since
// it carries people's names and the hashes of the chain's events. Like
// the audit export, handing out a copy is itself on record (audit.export),
// and counts against the same per-person limit (claimExport).
func (h *Handlers) exportDrills(c echo.Context) error {
	id := c.Param("id")
	format := c.QueryParam("format")
	if format != "csv" && format != "json" {
		return apperr.New(apperr.Invalid, "Unknown export format %q: use format=csv or format=json.", format)
	}
	ctx := c.Request().Context()
	t, err := h.drillTask(ctx, id)
	if err != nil {
		return err
	}
	if err := h.claimExport(c); err != nil {
		return err
	}
	drills, err := h.Store.TaskDrills(ctx, t.ID, drillHistorySize)
	if err != nil {
		return err
	}
	ids := make([]int64, len(drills))
	for i, d := range drills {
		ids[i] = d.RequestID
	}
	events, err := h.Store.DrillEvents(ctx, ids)
	if err != nil {
		return err
	}
	ev := audit.FromContext(ctx, audit.ActionExport, audit.Success)
	ev.OccurredAt = h.Now()
	ev.SubjectType, ev.SubjectID = audit.SubjectDRTask, t.ID
	ev.Detail = audit.Detail(map[string]any{"format": format, "export": "drills", "drills": len(drills)})
	if _, err := h.Store.AppendAudit(ctx, ev); err != nil {
		return err
	}
	rows := make([]drillEvidence, len(drills))
	for i, d := range drills {
		rows[i] = evidenceOf(d, t.Name, events[d.RequestID])
	}
	res := c.Response()
	res.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="drills-%s-%s.%s"`, t.Name,
		h.Now().UTC().Format("20060102T150405Z"), format))
	if format == "json" {
		res.Header().Set(echo.HeaderContentType, "application/json")
		res.WriteHeader(http.StatusOK)
		enc := json.NewEncoder(res)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"columns": DrillExportColumns, "drills": rows})
	}
	res.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	res.WriteHeader(http.StatusOK)
	w := csv.NewWriter(res)
	if err := w.Write(DrillExportColumns); err != nil {
		return err
	}
	for _, r := range rows {
		if err := w.Write(r.record()); err != nil {
			return err
		}
	}
	w.Flush()
	return w.Error()
}
