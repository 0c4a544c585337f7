package handlers

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
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
	"drportal/internal/auth"
	"drportal/internal/db"
	"drportal/internal/drtask"
	"drportal/internal/jobs"
	"drportal/internal/requests"
	"drportal/internal/views"
)

// auditPageSize is how many events one audit page shows.
const auditPageSize = 50

// knownActions are offered in the action filter; a dotted prefix matches
// every action below it.
var knownActions = []string{
	"auth", audit.ActionSignIn, audit.ActionSignInFailed, audit.ActionSignOut,
	"request", requests.ActionFiled, requests.ActionDecision, requests.ActionApproved, requests.ActionRejected,
	requests.ActionCancelled, requests.ActionExpired, jobs.ActionExecuting, jobs.ActionIntent, jobs.ActionResult,
	jobs.ActionRefused, jobs.ActionProgress, jobs.ActionSucceeded, jobs.ActionFailed,
	"dr_task", audit.ActionCreateRejected, audit.ActionCreateFailed, audit.ActionCloudCall,
	"user", audit.ActionUserBootstrap, auth.ActionUserCreated, auth.ActionUserRoles, auth.ActionUserDeactivated,
	auth.ActionUserReactivated, requests.ActionPolicyUpdated, audit.ActionExport,
}

// auditFilter reads the filter from the query and applies the user's scope:
// who may see only their own events gets only those, whatever they ask.
func (h *Handlers) auditFilter(c echo.Context) (db.AuditFilter, views.AuditFilter, bool, error) {
	u := user(c)
	q := c.QueryParams()
	vf := views.AuditFilter{Action: q.Get("action"), Actor: q.Get("actor"), Task: strings.TrimSpace(q.Get("task"))}
	f := db.AuditFilter{Action: vf.Action}
	if vf.Action != "" && !validAction(vf.Action) {
		return f, vf, false, apperr.New(apperr.Invalid, "The action filter may contain only lower-case letters, digits, . and _.")
	}
	switch vf.Actor {
	case "":
	case "system":
		f.ActorID = -1
	default:
		id, err := strconv.ParseInt(vf.Actor, 10, 64)
		if err != nil || id <= 0 {
			return f, vf, false, apperr.New(apperr.Invalid, "The actor filter must be a user id or \"system\".")
		}
		f.ActorID = id
	}
	if vf.Task != "" {
		if !drtask.ValidID(vf.Task) {
			return f, vf, false, apperr.New(apperr.Invalid, "The DR task filter must be a task id (a UUID).")
		}
		f.SubjectType, f.SubjectID = audit.SubjectDRTask, strings.ToLower(vf.Task)
	}
	ownOnly := !Allowed(u, PermViewAllAudit)
	if ownOnly {
		f.ActorID = u.ID
		vf.Actor = ""
	}
	for _, p := range []struct {
		name string
		dst  *int64
	}{{"before", &f.Before}, {"after", &f.After}} {
		if s := q.Get(p.name); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n <= 0 {
				return f, vf, false, apperr.New(apperr.Invalid, "%s must be a positive event number.", p.name)
			}
			*p.dst = n
		}
	}
	return f, vf, ownOnly, nil
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
	f, vf, ownOnly, err := h.auditFilter(c)
	if err != nil {
		return err
	}
	// One extra row tells whether there is another page in this direction.
	events, err := h.Store.ListAudit(c.Request().Context(), f, auditPageSize+1)
	if err != nil {
		return err
	}
	more := len(events) > auditPageSize
	if more {
		if f.After > 0 && f.Before == 0 {
			events = events[1:] // paging towards newer: the extra row is the newest
		} else {
			events = events[:auditPageSize]
		}
	}
	p := views.AuditPage{Base: h.base(c, "Audit history", "audit"), Filter: vf, OwnOnly: ownOnly}
	for _, e := range events {
		p.Rows = append(p.Rows, auditRow(e))
	}
	base := url.Values{}
	for k, v := range map[string]string{"action": vf.Action, "actor": vf.Actor, "task": vf.Task} {
		if v != "" {
			base.Set(k, v)
		}
	}
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
	exp := cloneValues(base)
	exp.Set("format", "ndjson")
	p.ExportURL = "/audit/export?" + exp.Encode()
	for _, a := range knownActions {
		p.Actions = append(p.Actions, views.Option{Value: a, Label: a, Selected: a == vf.Action})
	}
	if !ownOnly {
		users, err := h.Store.ListUsers(c.Request().Context())
		if err != nil {
			return err
		}
		p.Actors = append(p.Actors, views.Option{Value: "system", Label: "system", Selected: vf.Actor == "system"})
		for _, u := range users {
			id := strconv.FormatInt(u.ID, 10)
			p.Actors = append(p.Actors, views.Option{Value: id, Label: u.Email, Selected: vf.Actor == id})
		}
	}
	return h.render(c, http.StatusOK, views.Audit(p))
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// exportRecord is one NDJSON line: the event with its chain position and
// hashes, so an export can be checked without the database.
type exportRecord struct {
	ID            int64           `json:"id"`
	OccurredAt    string          `json:"occurred_at"`
	ActorID       int64           `json:"actor_id"`
	ActorName     string          `json:"actor_name"`
	Action        string          `json:"action"`
	SubjectType   string          `json:"subject_type"`
	SubjectID     string          `json:"subject_id"`
	RequestID     int64           `json:"request_id"`
	CorrelationID string          `json:"correlation_id"`
	Outcome       string          `json:"outcome"`
	Detail        json.RawMessage `json:"detail"`
	PrevHash      string          `json:"prev_hash"`
	Hash          string          `json:"hash"`
}

// auditExport streams every event matching the filter as NDJSON, oldest
// first, without holding them in memory. The export itself is audited.
func (h *Handlers) auditExport(c echo.Context) error {
	f, _, _, err := h.auditFilter(c)
	if err != nil {
		return err
	}
	if format := c.QueryParam("format"); format != "ndjson" {
		return apperr.New(apperr.Invalid, "Unknown export format %q: use format=ndjson.", format)
	}
	f.Before, f.After = 0, 0
	ctx := h.ctx(c)
	ev := audit.FromContext(ctx, audit.ActionExport, audit.Success)
	ev.OccurredAt = h.Now()
	ev.SubjectType = audit.SubjectAudit
	ev.Detail = audit.Detail(map[string]any{"format": "ndjson", "filter": c.QueryParams()})
	if _, err := h.Store.AppendAudit(ctx, ev); err != nil {
		return err
	}

	// A large export outlives the server's write timeout.
	_ = http.NewResponseController(c.Response().Writer).SetWriteDeadline(time.Time{})
	res := c.Response()
	res.Header().Set(echo.HeaderContentType, "application/x-ndjson")
	res.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="audit-%s.ndjson"`, h.Now().UTC().Format("20060102T150405Z")))
	res.WriteHeader(http.StatusOK)
	w := bufio.NewWriterSize(res, 64<<10)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	err = h.Store.StreamAudit(ctx, f, func(e audit.Event) error {
		return enc.Encode(exportRecord{
			ID: e.ID, OccurredAt: e.OccurredAt.UTC().Format(time.RFC3339Nano), ActorID: e.Actor.ID, ActorName: e.Actor.Name,
			Action: e.Action, SubjectType: e.SubjectType, SubjectID: e.SubjectID, RequestID: e.RequestID,
			CorrelationID: e.CorrelationID, Outcome: string(e.Outcome), Detail: json.RawMessage(e.Detail),
			PrevHash: hex.EncodeToString(e.PrevHash), Hash: hex.EncodeToString(e.Hash),
		})
	})
	if err != nil {
		// The status is sent; end the body with a line that says it is cut short.
		h.Logger.Error("audit export interrupted", "request_id", requestID(c), "err", err)
		_, _ = w.WriteString(`{"error":"export interrupted; this file is incomplete"}` + "\n")
	}
	return w.Flush()
}

// auditRow shapes an event for the audit page and timelines.
func auditRow(e audit.Event) views.AuditRow {
	r := views.AuditRow{ID: e.ID, Time: formatTime(e.OccurredAt), Actor: e.Actor.Name, Action: e.Action,
		Outcome: string(e.Outcome), Correlation: e.CorrelationID}
	switch e.SubjectType {
	case audit.SubjectDRTask:
		r.Subject, r.SubjectURL = "DR task "+e.SubjectID, "/dr-tasks/"+e.SubjectID
	case "":
	default:
		r.Subject = strings.TrimSpace(e.SubjectType + " " + e.SubjectID)
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, e.Detail, "", "  ") == nil {
		r.Detail = pretty.String()
	} else {
		r.Detail = string(e.Detail)
	}
	r.Summary = summarize(e)
	return r
}

// summarize is a one-line description of an event's detail.
func summarize(e audit.Event) string {
	var d map[string]any
	_ = json.Unmarshal(e.Detail, &d)
	s := func(k string) string {
		switch v := d[k].(type) {
		case string:
			return v
		case float64:
			return strconv.FormatFloat(v, 'f', -1, 64)
		}
		return ""
	}
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
		if errs, ok := d["errors"].(map[string]any); ok {
			var parts []string
			for k, v := range errs {
				parts = append(parts, fmt.Sprintf("%s: %v", k, v))
			}
			slices.Sort(parts)
			return strings.Join(parts, "; ")
		}
	case audit.ActionSignInFailed:
		return s("reason")
	case audit.ActionCreateFailed:
		return s("error")
	case requests.ActionFiled, requests.ActionDecision, requests.ActionRejected:
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
	case jobs.ActionFailed, jobs.ActionRefused:
		return s("reason")
	case jobs.ActionProgress:
		return fmt.Sprintf("%s → %s", or(s("from"), "(start)"), s("to"))
	case jobs.ActionResult:
		if n := s("note"); n != "" {
			return n
		}
		if a := s("adopted"); a != "" {
			return a
		}
		return "accepted: DR task " + s("dr_task_id")
	}
	return ""
}
