package handlers

import (
	"encoding/json"
	"fmt"
	"maps"
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
	"drportal/internal/views"
)

// auditPageSize is how many events one audit page shows.
const auditPageSize = 50

// knownActions are offered in the action filter; a group's name matches
// every action in it.
var knownActions = audit.FilterActions()

// auditFilter reads the filter from the query and applies the user's scope:
// who may see only their own events gets only those, whatever they ask.
// hideCallsByDefault says whether the cloud calls are left out when the
// query does not say (hide_calls=1 hides them, hide_calls=0 shows them):
// the page leaves them out unless an action is chosen, as the task
// history does; an export keeps them, as it always has.
func (h *Handlers) auditFilter(c echo.Context, hideCallsByDefault bool) (db.AuditFilter, views.AuditFilter, bool, error) {
	f, vf, err := h.auditFilterAsked(c.QueryParams(), hideCallsByDefault)
	if err != nil {
		return f, vf, false, err
	}
	u := user(c)
	ownOnly := !Allowed(u, PermViewAllAudit)
	if ownOnly {
		f.ActorID = u.ID
		vf.Actor = ""
	}
	return f, vf, ownOnly, nil
}

// auditFilterAsked is the filter q asks for, whoever asks.
func (h *Handlers) auditFilterAsked(q url.Values, hideCallsByDefault bool) (db.AuditFilter, views.AuditFilter, error) {
	vf := views.AuditFilter{Action: q.Get("action"), Actor: q.Get("actor"), Task: strings.TrimSpace(q.Get("task")),
		Request: strings.TrimSpace(q.Get("request")), Outcome: q.Get("outcome"), From: q.Get("from"), To: q.Get("to"),
		Query: strings.TrimSpace(q.Get("q"))}
	bad := func(format string, a ...any) (db.AuditFilter, views.AuditFilter, error) {
		return db.AuditFilter{}, vf, apperr.New(apperr.Invalid, format, a...)
	}
	// A checked box sends 1 before the form's hidden 0: the first counts.
	switch q.Get("hide_calls") {
	case "1":
		vf.HideCalls = true
	case "0":
	case "":
		vf.HideCalls = hideCallsByDefault && vf.Action == ""
	default:
		return bad("hide_calls must be 1 (hide the cloud calls) or 0 (show them).")
	}
	f := db.AuditFilter{Action: vf.Action, Outcome: vf.Outcome, Query: vf.Query}
	if vf.HideCalls {
		f.ExcludeAction = audit.ActionCloudCall
	}
	if vf.Action != "" && !validAction(vf.Action) {
		return bad("The action filter may contain only lower-case letters, digits, . and _.")
	}
	switch vf.Actor {
	case "":
	case "system":
		f.ActorID = -1
	default:
		id, err := strconv.ParseInt(vf.Actor, 10, 64)
		if err != nil || id <= 0 {
			return bad("The actor filter must be a user id or \"system\".")
		}
		f.ActorID = id
	}
	if vf.Task != "" {
		if !drtask.ValidID(vf.Task) {
			return bad("The DR task filter must be a task id (a UUID).")
		}
		f.SubjectType, f.SubjectID = audit.SubjectDRTask, strings.ToLower(vf.Task)
	}
	if vf.Request != "" {
		id, err := strconv.ParseInt(strings.TrimPrefix(vf.Request, "#"), 10, 64)
		if err != nil || id <= 0 {
			return bad("The request filter must be a request number.")
		}
		f.RequestID = id
	}
	if vf.Outcome != "" && !slices.Contains(auditOutcomes, vf.Outcome) {
		return bad("The outcome filter must be one of %s.", strings.Join(auditOutcomes, ", "))
	}
	if len(vf.Query) > 200 {
		return bad("Keep the search text under 200 characters.")
	}
	for _, t := range []struct {
		name, val string
		dst       *time.Time
	}{{"from", vf.From, &f.From}, {"to", vf.To, &f.To}} {
		if t.val == "" {
			continue
		}
		parsed, err := parseFilterTime(t.val, h.Config.DisplayTimeZone)
		if err != nil {
			return bad("The %q time must look like 2026-11-22T10:42 (%s).", t.name, portal.ZoneName(h.Config.DisplayTimeZone))
		}
		*t.dst = parsed
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return bad("The time range is empty: \"from\" must be before \"to\".")
	}
	for _, p := range []struct {
		name string
		dst  *int64
	}{{"before", &f.Before}, {"after", &f.After}} {
		if s := q.Get(p.name); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n <= 0 {
				return bad("%s must be a positive event number.", p.name)
			}
			*p.dst = n
		}
	}
	return f, vf, nil
}

var auditOutcomes = []string{string(audit.Success), string(audit.Failure), string(audit.Denied), string(audit.Error), string(audit.Info), string(audit.Bypassed)}

// parseFilterTime reads a filter time in the display zone (nil: UTC), as
// a datetime-local input or RFC 3339 sends it.
func parseFilterTime(s string, zone *time.Location) (time.Time, error) {
	if zone == nil {
		zone = time.UTC
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", time.RFC3339, "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, zone); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("bad time %q", s)
}

// filterValues is the filter as URL parameters, for links that keep it.
func filterValues(vf views.AuditFilter) url.Values {
	v := url.Values{}
	for k, val := range map[string]string{"action": vf.Action, "actor": vf.Actor, "task": vf.Task, "request": vf.Request,
		"outcome": vf.Outcome, "from": vf.From, "to": vf.To, "q": vf.Query} {
		if val != "" {
			v.Set(k, val)
		}
	}
	if vf.HideCalls {
		v.Set("hide_calls", "1")
	} else {
		v.Set("hide_calls", "0")
	}
	return v
}

func validAction(s string) bool {
	if len(s) > 100 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_') {
			return false
		}
	}
	return true
}

func (h *Handlers) auditPage(c echo.Context) error {
	p, err := h.currentAuditPage(c)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, views.Audit(p))
}

func (h *Handlers) auditPageModel(c echo.Context, f db.AuditFilter, vf views.AuditFilter, ownOnly bool) (views.AuditPage, error) {
	ctx := c.Request().Context()
	u := user(c)
	canVerify := Allowed(u, PermViewAllAudit)
	// One extra row tells whether there is another page in this direction.
	var page db.AuditPage
	var err error
	if r, ok := c.Get(ctxRead).(*pageRead); ok && r.audit != nil && r.auditFilter == f && !ownOnly && canVerify {
		page = r.audit()
	} else if page, err = h.Store.AuditPage(ctx, f, auditPageSize+1, !ownOnly, canVerify); err != nil {
		return views.AuditPage{}, err
	}
	events := page.Events
	more := len(events) > auditPageSize
	if more {
		if f.After > 0 && f.Before == 0 {
			events = events[1:] // paging towards newer: the extra row is the newest
		} else {
			events = events[:auditPageSize]
		}
	}
	p := views.AuditPage{Base: h.base(c, "Audit history", "audit"), Filter: vf, OwnOnly: ownOnly, Zone: portal.ZoneName(h.Config.DisplayTimeZone),
		CanVerify: canVerify, CanArchive: Allowed(u, PermAdmin)}
	for _, e := range events {
		p.Rows = append(p.Rows, h.auditRowNamed(e, page.TaskNames))
	}
	base := filterValues(vf)
	if len(events) > 0 {
		newest, oldest := events[0].ID, events[len(events)-1].ID
		if (f.After > 0 && more) || f.Before > 0 {
			v := cloneValues(base)
			v.Set("after", strconv.FormatInt(newest, 10))
			p.NewerURL = "/audit?" + v.Encode()
		}
		if more || (f.After > 0 && f.Before == 0) {
			v := cloneValues(base)
			v.Set("before", strconv.FormatInt(oldest, 10))
			p.OlderURL = "/audit?" + v.Encode()
		}
	}
	if vf.HideCalls {
		v := cloneValues(base)
		v.Set("hide_calls", "0")
		p.ShowCallsURL = "/audit?" + v.Encode()
	}
	for _, format := range []string{audit.FormatNDJSON, audit.FormatCSV} {
		exp := cloneValues(base)
		if c.QueryParam("hide_calls") == "" {
			// Hidden here only by default: an export keeps everything, as
			// it always has, unless someone chose to leave the calls out.
			exp.Del("hide_calls")
		}
		exp.Set("format", format)
		p.ExportURLs = append(p.ExportURLs, views.Option{Value: "/audit/export?" + exp.Encode(), Label: strings.ToUpper(format)})
	}
	for _, a := range knownActions {
		p.Actions = append(p.Actions, views.Option{Value: a, Label: audit.ActionLabel(a) + " (" + a + ")", Selected: a == vf.Action})
	}
	for _, o := range auditOutcomes {
		p.Outcomes = append(p.Outcomes, views.Option{Value: o, Label: o, Selected: o == vf.Outcome})
	}
	if !ownOnly {
		p.Actors = append(p.Actors, views.Option{Value: "system", Label: "system", Selected: vf.Actor == "system"})
		for _, u := range page.Actors {
			id := strconv.FormatInt(u.ID, 10)
			p.Actors = append(p.Actors, views.Option{Value: id, Label: u.Email, Selected: vf.Actor == id})
		}
	}
	if p.CanVerify {
		for _, cp := range page.Checkpoints {
			p.Checkpoints = append(p.Checkpoints, fmt.Sprintf("events %d to %d (%d) archived to %s on %s, last hash %x",
				cp.FirstID, cp.ThroughID, cp.Events, cp.FileName, h.formatTime(cp.CreatedAt), cp.ThroughHash))
		}
	}
	return p, nil
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// Exports of the history, the audit export and a task's drill evidence
// alike, are limited per person: exportBurst in a row, then one every
// exportInterval. Each hands out a copy of the history and appends its own
// audit.export event, so an unlimited loop of them would fill the chain.
const (
	exportBurst    = 5
	exportInterval = time.Minute
)

// claimExport counts an export by the person against their limit, or
// refuses it: 429 with Retry-After and nothing exported, recorded as a
// denial (reason throttled), so that a loop of refused exports adds one
// event a minute, not one an attempt (db.Store.RecordDenial).
func (h *Handlers) claimExport(c echo.Context) error {
	now := h.Now()
	ok, from, err := h.Store.ClaimExport(c.Request().Context(), user(c).ID, now, exportInterval, exportBurst)
	if err != nil || ok {
		return err
	}
	wait := max(from.Sub(now), time.Second)
	return &apperr.Error{Kind: apperr.TooMany, Denial: audit.ReasonThrottled, RetryAfter: wait, Message: fmt.Sprintf(
		"Too many exports: each person may export %d times in a row, then once a minute. You can export again in %s (at %s). Nothing was exported.",
		exportBurst, portal.FormatDuration(wait.Round(time.Second)), h.formatTime(now.Add(wait)))}
}

// auditExport streams every event matching the filter as NDJSON or CSV,
// oldest first, without holding them in memory, each with its chain
// position and hashes and a closing manifest. The export is audited.
func (h *Handlers) auditExport(c echo.Context) error {
	f, vf, _, err := h.auditFilter(c, false)
	if err != nil {
		return err
	}
	format := c.QueryParam("format")
	if format != audit.FormatNDJSON && format != audit.FormatCSV {
		return apperr.New(apperr.Invalid, "Unknown export format %q: use format=ndjson or format=csv.", format)
	}
	f.Before, f.After = 0, 0
	if err := h.claimExport(c); err != nil {
		return err
	}
	ctx := c.Request().Context()
	filter := map[string]string{}
	for k, v := range filterValues(vf) {
		filter[k] = v[0]
	}
	if !vf.HideCalls {
		delete(filter, "hide_calls") // everything, as an export without the filter has always said
	}
	if f.ActorID > 0 {
		filter["actor"] = strconv.FormatInt(f.ActorID, 10) // what the scope forced
	}
	ev := audit.FromContext(ctx, audit.ActionExport, audit.Success)
	ev.OccurredAt = h.Now()
	ev.SubjectType = audit.SubjectAudit
	ev.Detail = audit.Detail(map[string]any{"format": format, "filter": filter})
	if _, err := h.Store.AppendAudit(ctx, ev); err != nil {
		return err
	}

	// A large export outlives the server's write timeout.
	_ = http.NewResponseController(c.Response().Writer).SetWriteDeadline(time.Time{})
	res := c.Response()
	ctype := "application/x-ndjson"
	if format == audit.FormatCSV {
		ctype = "text/csv; charset=utf-8"
	}
	res.Header().Set(echo.HeaderContentType, ctype)
	res.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="audit-%s.%s"`, h.Now().UTC().Format("20060102T150405Z"), format))
	res.WriteHeader(http.StatusOK)
	x, err := audit.NewExporter(res, format, filter, h.Now())
	if err != nil {
		return err
	}
	if err := h.Store.StreamAudit(ctx, f, x.Write); err != nil {
		// The status is sent: the file ends without its manifest, which is
		// how a reader (and audit verify --file) knows it is incomplete.
		h.Logger.Error("audit export interrupted", "request_id", requestID(c), "err", err)
		return nil
	}
	return x.Close()
}

// currentAuditPage is the audit page for the request's filter.
func (h *Handlers) currentAuditPage(c echo.Context) (views.AuditPage, error) {
	f, vf, ownOnly, err := h.auditFilter(c, true)
	if err != nil {
		return views.AuditPage{}, err
	}
	return h.auditPageModel(c, f, vf, ownOnly)
}

// verifyAudit recomputes the whole chain and shows the result on the audit page.
func (h *Handlers) verifyAudit(c echo.Context) error {
	rep, err := h.AuditLog.Verify(c.Request().Context(), 0, 0)
	if err != nil {
		return err
	}
	p, err := h.currentAuditPage(c)
	if err != nil {
		return err
	}
	if rep.BrokenAt != 0 {
		p.VerifyError = fmt.Sprintf("The history does NOT verify: %s. %d events were checked before it.", rep.Problem, rep.Checked-1)
		return h.render(c, http.StatusOK, views.Audit(p))
	}
	p.VerifyOK = fmt.Sprintf("The history is intact: %d events verified, %d to %d.", rep.Checked, rep.FirstID, rep.LastID)
	return h.render(c, http.StatusOK, views.Audit(p))
}

// archiveAudit moves old history to a file with a checkpoint.
func (h *Handlers) archiveAudit(c echo.Context) error {
	days, err := strconv.Atoi(strings.TrimSpace(c.FormValue("older_than_days")))
	if err != nil || days < 1 || days > 36500 {
		return apperr.New(apperr.Invalid, "Enter the age in days (at least 1) of the events to archive.")
	}
	u := user(c)
	res, err := h.AuditLog.Archive(c.Request().Context(), audit.Archivist{ID: u.ID, Admin: Allowed(u, PermAdmin)},
		time.Duration(days)*24*time.Hour)
	p, perr := h.currentAuditPage(c)
	if perr != nil {
		return perr
	}
	switch k := apperr.KindOf(err); {
	case err == nil:
		p.VerifyOK = fmt.Sprintf("Archived events %d to %d (%d) to %s; the rest of the chain starts from its checkpoint.",
			res.FirstID, res.LastID, res.Events, res.File)
	case k == apperr.Invalid || k == apperr.Conflict:
		p.VerifyError = apperr.Message(err)
		status, _ := formStatus(err)
		return h.render(c, status, views.Audit(p))
	default:
		return err
	}
	return h.render(c, http.StatusOK, views.Audit(p))
}

// auditRow shapes an event for the timelines, which are about one subject.
func (h *Handlers) auditRow(e audit.Event) views.AuditRow { return h.auditRowNamed(e, nil) }

// auditRowNamed shapes an event for the audit page: a DR task it is about
// is named by taskNames (read with the page), its id under the name.
func (h *Handlers) auditRowNamed(e audit.Event, taskNames map[string]string) views.AuditRow {
	r := views.AuditRow{ID: e.ID, Time: h.formatTime(e.OccurredAt), Actor: e.Actor.Name, Action: e.Action,
		ActionLabel: audit.ActionLabel(e.Action), Outcome: string(e.Outcome), Correlation: e.CorrelationID}
	switch e.SubjectType {
	case audit.SubjectDRTask:
		r.Subject, r.SubjectURL = "DR task "+e.SubjectID, "/dr-tasks/"+e.SubjectID
		if name := taskNames[e.SubjectID]; name != "" {
			r.Subject, r.SubjectID = "DR task "+name, e.SubjectID
		}
	case "":
	default:
		r.Subject = strings.TrimSpace(e.SubjectType + " " + e.SubjectID)
	}
	if e.RequestID > 0 {
		r.Request, r.RequestURL = fmt.Sprintf("request #%d", e.RequestID), fmt.Sprintf("/requests/%d", e.RequestID)
	}
	r.Detail = string(e.Detail) // compact: the page wraps it, and a long timeline stays cheap
	r.Summary = summarize(e)
	if refusedByFreeze(e) {
		r.ActionLabel = strings.TrimSuffix(r.ActionLabel, ": the form had errors") + ": refused, a freeze is in force"
	}
	return r
}

// refusedByFreeze reports whether e is a filing that a freeze refused:
// recorded as a form that was not filed, though nothing in the form was
// wrong.
func refusedByFreeze(e audit.Event) bool {
	if e.Action != audit.ActionOperationRejected && e.Action != audit.ActionCreateRejected {
		return false
	}
	var d struct {
		Errors map[string]string `json:"errors"`
	}
	if json.Unmarshal(e.Detail, &d) != nil {
		return false
	}
	_, ok := d.Errors["freeze"]
	return ok
}

// summarize is a one-line description of an event's detail.
// detailFields are the detail fields summaries use: decoding into a struct
// keeps long timelines cheap.
type detailFields struct {
	Method, Path, Error, Operation, Decision, Comment, Justification, Reason, From, To, Note, Adopted string
	Verdict, Incident, Route, ID, Action                                                              string
	Count                                                                                             json.Number       `json:"count"`
	ErrorCode                                                                                         string            `json:"error_code"`
	ErrorMsg                                                                                          string            `json:"error_msg"`
	XRequestID                                                                                        string            `json:"x_request_id"`
	TaskName                                                                                          string            `json:"task_name"`
	DRTaskID                                                                                          string            `json:"dr_task_id"`
	Status                                                                                            json.Number       `json:"status"`
	LatencyMS                                                                                         json.Number       `json:"latency_ms"`
	Attempt                                                                                           json.Number       `json:"attempt"`
	Errors                                                                                            map[string]string `json:"errors"`
	Form                                                                                              map[string]string `json:"form"`
}

// notFiled says what a form that came back with errors asked for and why
// it was not filed: its error messages, in the order of their fields.
func notFiled(what string, errs map[string]string) string {
	keys := slices.Sorted(maps.Keys(errs))
	msgs := make([]string, 0, len(keys))
	for _, k := range keys {
		msgs = append(msgs, errs[k])
	}
	out := what + " not filed"
	if len(msgs) > 0 {
		out += ": " + strings.Join(msgs, " ")
	}
	return out
}

func (d detailFields) get(k string) string {
	switch k {
	case "method":
		return d.Method
	case "path":
		return d.Path
	case "error":
		return d.Error
	case "operation":
		return d.Operation
	case "decision":
		return d.Decision
	case "comment":
		return d.Comment
	case "justification":
		return d.Justification
	case "reason":
		return d.Reason
	case "from":
		return d.From
	case "to":
		return d.To
	case "note":
		return d.Note
	case "adopted":
		return d.Adopted
	case "verdict":
		return d.Verdict
	case "route":
		return d.Route
	case "id":
		return d.ID
	case "action":
		return d.Action
	case "count":
		return d.Count.String()
	case "incident":
		return d.Incident
	case "error_code":
		return d.ErrorCode
	case "error_msg":
		return d.ErrorMsg
	case "x_request_id":
		return d.XRequestID
	case "task_name":
		return d.TaskName
	case "dr_task_id":
		return d.DRTaskID
	case "status":
		return d.Status.String()
	case "latency_ms":
		return d.LatencyMS.String()
	case "attempt":
		return d.Attempt.String()
	}
	return ""
}

func summarize(e audit.Event) string {
	var d detailFields
	_ = json.Unmarshal(e.Detail, &d)
	s := d.get
	switch e.Action {
	case audit.ActionCloudCall:
		out := fmt.Sprintf("%s %s → %s", s("method"), s("path"), or(s("status"), "no response"))
		if c := s("error_code"); c != "" {
			out += " " + c
		}
		if m := s("error_msg"); m != "" {
			out += ": " + m
		}
		if e := s("error"); e != "" {
			out += ": " + e
		}
		if id := s("x_request_id"); id != "" {
			out += " (X-Request-Id " + id + ")"
		}
		return out + fmt.Sprintf(" in %s ms, attempt %s", s("latency_ms"), s("attempt"))
	case audit.ActionCreateRejected:
		what := "Create"
		if n := strings.TrimSpace(d.Form["name"]); n != "" {
			what += " of " + n
		}
		return notFiled(what, d.Errors)
	case audit.ActionOperationRejected:
		return notFiled(portal.Operation(s("operation")).Label(), d.Errors)
	case audit.ActionBreakGlassRejected:
		return notFiled("Break-glass "+strings.ToLower(portal.Operation(s("operation")).Label()), d.Errors)
	case audit.ActionBreakGlassReviewRefused:
		out := "Review"
		switch portal.Verdict(s("verdict")) {
		case portal.VerdictAcknowledge:
			out = "Acknowledgement"
		case portal.VerdictFlag:
			out = "Flag"
		}
		if inc := s("incident"); inc != "" {
			out += " of the emergency of incident " + inc
		}
		return out + " not recorded: " + s("error")
	case audit.ActionBreakGlassReview:
		out := "Acknowledged"
		if s("verdict") == string(portal.VerdictFlag) {
			out = "Flagged"
		}
		if inc := s("incident"); inc != "" {
			out += " the emergency of incident " + inc
		}
		if c := s("comment"); c != "" {
			out += ": " + c
		}
		return out
	case audit.ActionSignInFailed:
		return s("reason")
	case audit.ActionAccessDenied, audit.ActionAccessDeniedRepeated:
		out := s("method") + " " + s("route")
		if id := s("id"); id != "" {
			out += " (" + id + ")"
		}
		out += " refused: " + s("reason")
		if n := s("count"); n != "" {
			out += ", " + n + " times that minute"
		}
		return out
	case audit.ActionRefusedRepeated:
		out := audit.ActionLabel(s("action"))
		if id := s("id"); id != "" {
			out += " (" + id + ")"
		}
		return out + ": " + s("reason") + ", " + s("count") + " times that minute"
	case audit.ActionRequestCancelRefused, audit.ActionWindowRejected, audit.ActionBreakGlassClearRefused,
		audit.ActionRequestDecisionRefused, audit.ActionChangeDecisionRefused, audit.ActionOperationThrottled:
		return s("error")
	case audit.ActionCreateFailed:
		return s("error")
	case audit.ActionRequestFiled, audit.ActionRequestDecision, audit.ActionRequestRejected:
		parts := []string{s("operation") + " " + s("task_name")}
		if d := s("decision"); d != "" {
			parts = append(parts, d)
		}
		if c := s("comment"); c != "" {
			parts = append(parts, "“"+c+"”")
		}
		if j := s("justification"); j != "" {
			parts = append(parts, "“"+j+"”")
		}
		return strings.Join(parts, ": ")
	case audit.ActionRequestFailed, audit.ActionRequestRefused:
		return s("reason")
	case audit.ActionRequestProgress:
		from := "(new)"
		if f := s("from"); f != "" {
			from = portal.TaskStatus(f).Label()
		}
		return fmt.Sprintf("%s → %s", from, portal.TaskStatus(s("to")).Label())
	case audit.ActionRequestResumed, audit.ActionRequestCancelledApproved:
		return s("note")
	case audit.ActionRequestResult:
		if n := s("note"); n != "" {
			return n
		}
		if a := s("adopted"); a != "" {
			return a
		}
		if id := s("dr_task_id"); id != "" {
			return "accepted: DR task " + id
		}
		return "accepted by the cloud"
	case audit.ActionRequestIntent, audit.ActionDrillStarted, audit.ActionDrillStep, audit.ActionDrillFinished,
		audit.ActionChangeProposed, audit.ActionChangeRejected, audit.ActionChangeWithdrawn,
		audit.ActionWindowAdded, audit.ActionWindowRemoved, audit.ActionFreezeAdded, audit.ActionFreezeLifted, audit.ActionWindowRuleSet,
		audit.ActionExport, audit.ActionBreakGlassPolicy:
		return summarizeOutage(e)
	}
	return ""
}
