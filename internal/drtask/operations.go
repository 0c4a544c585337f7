package drtask

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"drportal/internal/apperr"
	"drportal/internal/audit"
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
func (s *Service) PrepareOperation(ctx context.Context, f OperationForm) (OperationPlan, FieldErrors, error) {
	spec, ok := portal.SpecOf(f.Op)
	if !ok {
		return OperationPlan{}, nil, apperr.New(apperr.NotFound, "There is no operation %q.", f.Op)
	}
	// Only a task the portal knows is asked about: an id from the address
	// bar goes to the cloud only once the database has it.
	if _, err := s.Task(ctx, f.TaskID); err != nil {
		return OperationPlan{}, nil, err
	}
	state, err := s.LiveState(ctx, f.TaskID)
	switch {
	case dws.TaskMissing(err):
		return OperationPlan{}, nil, apperr.New(apperr.Conflict, "The DR task no longer exists in the cloud: it was deleted. Nothing was filed.")
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
	errs := FieldErrors{}
	if msg := requests.CheckJustification(f.Justification); msg != "" {
		errs[FieldJustification] = msg
	}
	plan := OperationPlan{Task: t}
	if f.Op == portal.OpUpdate {
		f.Period = strings.TrimSpace(f.Period)
		if msg := cmp.Or(f.PeriodProblem, CheckSyncPeriod(f.Period)); msg != "" {
			errs[FieldPeriod] = msg
		} else if f.Period == t.SyncPeriod {
			errs[FieldPeriod] = fmt.Sprintf("The sync period is already %s; enter a different one.", f.Period)
		}
		plan.Body = dws.UpdateBody(f.Period)
	}
	if msg := cmp.Or(f.RunAtProblem, requests.CheckRunAt(f.Op, f.RunAt, s.Now())); msg != "" {
		errs[FieldRunAt] = msg
	}
	if spec.HighRisk {
		plan.ConfirmName = portal.ConfirmCluster(f.Op, t)
		if strings.TrimSpace(f.Confirm) != plan.ConfirmName {
			errs[FieldConfirm] = fmt.Sprintf("Type the name of the affected cluster, %s, exactly as shown.", plan.ConfirmName)
		}
	}
	if len(errs) > 0 && f.Emergency {
		return OperationPlan{}, errs, nil
	}
	if len(errs) > 0 {
		e := audit.FromContext(ctx, audit.ActionOperationRejected, audit.Denied)
		e.OccurredAt = s.Now()
		e.SubjectType, e.SubjectID = audit.SubjectDRTask, f.TaskID
		detail := map[string]any{"operation": f.Op, "errors": errs, "dr_sync_period": f.Period,
			"justification": f.Justification, "run_at": f.RunAt}
		if spec.HighRisk {
			// Whether the cluster's name matched, never what was typed:
			// it may be a password typed into the wrong field.
			for k, v := range portal.ConfirmRecord(f.Confirm, plan.ConfirmName) {
				detail[k] = v
			}
		}
		e.Detail = audit.Detail(detail)
		if _, err := s.Store.AppendAudit(ctx, e); err != nil {
			return OperationPlan{}, nil, err
		}
		return OperationPlan{}, errs, nil
	}
	plan.Method, plan.Path, err = s.Cloud.OperationCall(f.Op, f.TaskID)
	if err != nil {
		return OperationPlan{}, nil, err
	}
	var progress *portal.Progress
	if row, err := s.Store.Task(ctx, f.TaskID); err == nil {
		progress = viewOf(row).Progress
	}
	plan.Consequence = portal.Consequence(f.Op, t, progress, f.Period, s.Zones)
	return plan, nil, nil
}
