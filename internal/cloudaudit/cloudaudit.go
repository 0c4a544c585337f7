// Package cloudaudit writes one audit event for every HTTP attempt the DWS
// client makes. It is the bridge the entry point wires between internal/dws
// (which knows no audit log) and the audit history in the database.
package cloudaudit

import (
	"context"
	"log/slog"
	"time"

	"drportal/internal/audit"
	"drportal/internal/dws"
)

// Appender stores an audit event in a transaction of its own.
type Appender interface {
	AppendAudit(ctx context.Context, e audit.Event) (audit.Event, error)
}

// Recorder implements dws.AttemptRecorder on an Appender.
type Recorder struct {
	Store  Appender
	Logger *slog.Logger
}

// RecordAttempt writes the attempt as a cloud.call event. It outlives the
// caller's cancellation: an attempt that happened is recorded even when the
// page that caused it has gone away.
func (r *Recorder) RecordAttempt(ctx context.Context, a dws.Attempt) {
	e := audit.FromContext(ctx, audit.ActionCloudCall, Outcome(a))
	e.OccurredAt = a.Started
	if a.TaskID != "" {
		e.SubjectType, e.SubjectID = audit.SubjectDRTask, a.TaskID
	}
	e.Detail = audit.Detail(Detail(a))
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := r.Store.AppendAudit(wctx, e); err != nil && r.Logger != nil {
		r.Logger.Error("audit cloud call", "operation", a.Operation, "status", a.StatusCode,
			"x_request_id", a.RequestID, "err", err)
	}
}

// Outcome classifies an attempt: a 2xx is a success, any other answer a
// failure, and no answer at all an error.
func Outcome(a dws.Attempt) audit.Outcome {
	switch {
	case a.StatusCode >= 200 && a.StatusCode < 300:
		return audit.Success
	case a.StatusCode > 0:
		return audit.Failure
	}
	return audit.Error
}

// Detail is the audited description of an attempt, with the request body's
// secret-looking fields redacted.
func Detail(a dws.Attempt) map[string]any {
	d := map[string]any{
		"operation":  a.Operation,
		"attempt":    a.Number,
		"method":     a.Method,
		"path":       a.Path,
		"query":      a.Query,
		"status":     a.StatusCode,
		"latency_ms": a.Latency.Milliseconds(),
	}
	if len(a.RequestBody) > 0 {
		// The exact bytes sent, as a string: re-encoding them as JSON would
		// reorder the keys and lose the proof of what went on the wire.
		d["request_body"] = string(audit.RedactJSON(a.RequestBody))
	}
	for k, v := range map[string]string{"error_code": a.ErrorCode, "error_msg": a.ErrorMsg,
		"x_request_id": a.RequestID, "error": a.Error} {
		if v != "" {
			d[k] = v
		}
	}
	return d
}
