package drtask

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/db"
	"drportal/internal/dws"
	"drportal/internal/portal"
	"drportal/internal/requests"
)

// Operation form fields.
const (
	FieldConfirm = "confirm"
	FieldPeriod  = "dr_sync_period"
	FieldRunAt   = "run_at"
)

// OperationForm is an operation request as submitted.
type OperationForm struct {
	Op     portal.Operation
	TaskID string
	Period string // update only
	// PeriodProblem says why the form's number and unit make no period
	// (update only).
	PeriodProblem string
	Confirm       string // high-risk only
	Justification string
	// RunAt is when a drill may run (nil: once approved); RunAtProblem
	// says why the form's value is no time (drill only).
	RunAt        *time.Time
	RunAtProblem string
	// Emergency: the form is a break-glass form, whose errors its handler
	// records with the rest of the emergency form's
	// (requests.Service.BreakGlassNotFiled), not as an operation not filed.
	Emergency bool
}

// OperationPlan is a validated operation: the exact call a request carries.
type OperationPlan struct {
	Task        portal.Task
	Method      string
	Path        string
	Body        []byte
	Consequence string
	ConfirmName string
}

// PrepareOperation checks an operation request against the task's live
// state without changing anything in the cloud: the status must allow it,
// a high-risk one needs the affected cluster's name typed, an update a new
// valid period. Field problems come back as FieldErrors (audited, but for
// an emergency's); a task whose state no longer allows the operation is a
// Conflict.
//
// What the database can judge comes first, so that a form refused on it
// costs no cloud call: the task is known, no freeze holds (but for an
// emergency, which break-glass allows in one), and the form's own fields
// are right against the state the form showed. Only then is the task read
// live: a person causes at most one such read of a task per
// FormReadInterval, and one more within it is refused (TooMany, with when
// to try again) rather than sent.
func (s *Service) PrepareOperation(ctx context.Context, f OperationForm) (OperationPlan, FieldErrors, error) {
	spec, ok := portal.SpecOf(f.Op)
	if !ok {
		return OperationPlan{}, nil, apperr.New(apperr.NotFound, "There is no operation %q.", f.Op)
	}
	// Only a task the portal knows is asked about: an id from the address
	// bar goes to the cloud only once the database has it.
	v, err := s.Task(ctx, f.TaskID)
	if err != nil {
		return OperationPlan{}, nil, err
	}
	if !f.Emergency {
		if err := s.refuseFrozen(ctx, f); err != nil {
			return OperationPlan{}, nil, err
		}
	}
	if errs := s.fieldErrors(f, spec, v.Task); len(errs) > 0 {
		return s.rejected(ctx, f, errs)
	}
	state, err := s.formState(ctx, f)
	switch {
	case dws.TaskMissing(err):
		return OperationPlan{}, nil, apperr.New(apperr.Conflict, "The DR task no longer exists in the cloud: it was deleted. Nothing was filed.")
	case apperr.KindOf(err) == apperr.TooMany:
		return OperationPlan{}, nil, err
	case err != nil:
		return OperationPlan{}, nil, cloudError(err, "The task's live state could not be read")
	}
	if ok, why := portal.Allowed(f.Op, state); !ok {
		return OperationPlan{}, nil, apperr.New(apperr.Conflict, "%s Nothing was filed.", why)
	}
	if f.Op == portal.OpDrill {
		if ok, why := portal.DrillReady(state.Task, s.Zones.DWS); !ok {
			return OperationPlan{}, nil, apperr.New(apperr.Conflict, "%s Nothing was filed.", why)
		}
	}
	t := state.Task
	if errs := s.fieldErrors(f, spec, t); len(errs) > 0 {
		return s.rejected(ctx, f, errs)
	}
	plan := OperationPlan{Task: t}
	if f.Op == portal.OpUpdate {
		plan.Body = dws.UpdateBody(strings.TrimSpace(f.Period))
	}
	if spec.HighRisk {
		plan.ConfirmName = portal.ConfirmCluster(f.Op, t)
	}
	plan.Method, plan.Path, err = s.Cloud.OperationCall(f.Op, f.TaskID)
	if err != nil {
		return OperationPlan{}, nil, err
	}
	var progress *portal.Progress
	if row, err := s.Store.Task(ctx, f.TaskID); err == nil {
		progress = viewOf(row).Progress
	}
	plan.Consequence = portal.Consequence(f.Op, t, progress, strings.TrimSpace(f.Period), s.Zones)
	return plan, nil, nil
}

// fieldErrors checks the form's own fields against the task t.
func (s *Service) fieldErrors(f OperationForm, spec portal.Spec, t portal.Task) FieldErrors {
	errs := FieldErrors{}
	if msg := requests.CheckJustification(f.Justification); msg != "" {
		errs[FieldJustification] = msg
	}
	if f.Op == portal.OpUpdate {
		period := strings.TrimSpace(f.Period)
		if msg := cmp.Or(f.PeriodProblem, CheckSyncPeriod(period)); msg != "" {
			errs[FieldPeriod] = msg
		} else if period == t.SyncPeriod {
			errs[FieldPeriod] = fmt.Sprintf("The sync period is already %s; enter a different one.", period)
		}
	}
	if msg := cmp.Or(f.RunAtProblem, requests.CheckRunAt(f.Op, f.RunAt, s.Now())); msg != "" {
		errs[FieldRunAt] = msg
	}
	if spec.HighRisk {
		if name := portal.ConfirmCluster(f.Op, t); strings.TrimSpace(f.Confirm) != name {
			errs[FieldConfirm] = fmt.Sprintf("Type the name of the affected cluster, %s, exactly as shown.", name)
		}
	}
	return errs
}

// OperationRoute is the route of an operation form's post, as its
// rejections are counted.
const OperationRoute = "/dr-tasks/:id/operations/:op"

// rejected records a form returned with errs (an emergency's are its
// handler's to record) and returns them. The first of a person's rejected
// operation forms in a minute is audited in full; the others of that
// minute are counted into one summary (db.Store.RecordRefusal), so posts
// cannot flood the audit log.
func (s *Service) rejected(ctx context.Context, f OperationForm, errs FieldErrors) (OperationPlan, FieldErrors, error) {
	if f.Emergency {
		return OperationPlan{}, errs, nil
	}
	e := audit.FromContext(ctx, audit.ActionOperationRejected, audit.Denied)
	e.OccurredAt = s.Now()
	e.SubjectType, e.SubjectID = audit.SubjectDRTask, f.TaskID
	detail := map[string]any{"operation": f.Op, "errors": errs.Recorded(), "dr_sync_period": audit.Clip(f.Period, audit.MaxRefusalText),
		"justification": audit.Clip(f.Justification, audit.MaxRefusalText), "run_at": f.RunAt}
	if _, wrong := errs[FieldConfirm]; wrong || f.Confirm != "" {
		// Whether the cluster's name matched, never what was typed: it
		// may be a password typed into the wrong field.
		detail["confirm_matches"] = !wrong && f.Confirm != ""
		detail["confirm_length"] = utf8.RuneCountInString(f.Confirm)
	}
	e.Detail = audit.Detail(detail)
	if err := s.Store.RecordRefusal(ctx, rejection(e, OperationRoute, errs)); err != nil {
		return OperationPlan{}, nil, err
	}
	return OperationPlan{}, errs, nil
}

// rejection is a form sent back with errs, whose event is e, as it is
// counted: by its person, the route of its post (route) and its subject,
// and the minute.
func rejection(e audit.Event, route string, errs FieldErrors) audit.Refusal {
	reason := audit.ReasonFormErrors
	if _, frozen := errs["freeze"]; frozen {
		reason = audit.ReasonFrozen // counted apart: a person sees both kinds on record
	}
	return audit.Refusal{First: e, Reason: reason, Route: route}
}

// refuseFrozen refuses, from the database alone, an operation a freeze
// holds now (requests.Service.File refuses it again when filing), and
// records the rejection like a form's.
func (s *Service) refuseFrozen(ctx context.Context, f OperationForm) error {
	now := s.Now()
	sched, err := s.Store.Schedule(ctx, now)
	if err != nil {
		return err
	}
	g := portal.WindowState(f.Op, sched, now, false)
	if !g.Frozen {
		return nil
	}
	why := map[string]string{"freeze": fmt.Sprintf("the freeze “%s” is in force until %s", g.Freeze.Reason,
		portal.FormatTime(g.Freeze.End, s.Zones.Display))}
	if _, _, err := s.rejected(ctx, f, FieldErrors(why)); err != nil {
		return err
	}
	return requests.Frozen(g, s.Zones.Display)
}

// formReadName is the cloud_syncs row that limits a person's live reads of
// a task for forms.
func formReadName(userID int64, taskID string) string {
	return fmt.Sprintf("%s%d/%s", db.SyncOperationForm, userID, taskID)
}

// FormFiled gives back the live read a form spent once it has filed its
// request: the limit is on reads that file nothing (a flood of posts), not
// on a person filing one operation after another on a task.
func (s *Service) FormFiled(ctx context.Context, taskID string) error {
	return s.Store.ReleaseSyncRequest(ctx, formReadName(audit.ActorFrom(ctx).ID, taskID))
}

// formState reads the task live for a form, at most once per person, task
// and FormReadInterval unless the form filed its request (FormFiled): one
// more read within it is refused (TooMany, with when to try again), not
// sent. An emergency's read is not limited: its
// responder acts in an outage.
func (s *Service) formState(ctx context.Context, f OperationForm) (portal.TaskState, error) {
	now := s.Now()
	interval := cmp.Or(s.FormReadInterval, 15*time.Second)
	if !f.Emergency && interval > 0 {
		who := audit.ActorFrom(ctx)
		ok, last, err := s.Store.ClaimSyncRequest(ctx, formReadName(who.ID, f.TaskID), now, interval)
		if err != nil {
			return portal.TaskState{}, err
		}
		if !ok {
			return portal.TaskState{}, &apperr.Error{Kind: apperr.TooMany, RetryAfter: last.Add(interval).Sub(now),
				Message: fmt.Sprintf("The task was read from the cloud for your last form at %s; it is read at most once every %s for each person: "+
					"you can submit again from %s. Nothing was filed.",
					portal.FormatTime(last, s.Zones.Display), interval, portal.FormatTime(last.Add(interval), s.Zones.Display))}
		}
	}
	return s.LiveState(ctx, f.TaskID)
}
