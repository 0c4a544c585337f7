package audit

import (
	"context"
	"log/slog"
	"time"

	"drportal/internal/dws"
)

// CloudRecorder writes one audit event for every HTTP attempt the DWS
// client makes: it implements dws.AttemptRecorder, the bridge the entry
// point wires between internal/dws (which knows no audit log) and the
// audit history.
type CloudRecorder struct {
	Store  Writer
	Logger *slog.Logger
}

// RecordAttempt writes the attempt as a cloud.call event. It outlives the
// caller's cancellation: an attempt that happened is recorded even when the
// page that caused it has gone away.
func (r *CloudRecorder) RecordAttempt(ctx context.Context, a dws.Attempt) {
	e := FromContext(ctx, ActionCloudCall, cloudOutcome(a))
	e.OccurredAt = a.Started
	if a.TaskID != "" {
		e.SubjectType, e.SubjectID = SubjectDRTask, a.TaskID
	}
	e.Detail = Detail(cloudDetail(a))
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := r.Store.AppendAudit(wctx, e); err != nil && r.Logger != nil {
		r.Logger.Error("audit cloud call", "operation", a.Operation, "status", a.StatusCode,
			"x_request_id", a.RequestID, "err", err)
	}
}

// cloudOutcome classifies an attempt: a 2xx is a success, any other answer
// a failure, and no answer at all an error.
func cloudOutcome(a dws.Attempt) Outcome {
	switch {
	case a.StatusCode >= 200 && a.StatusCode < 300:
		return Success
	case a.StatusCode > 0:
		return Failure
	}
	return Error
}

// cloudDetail is the audited description of an attempt, with the request
// body's secret-looking fields redacted.
func cloudDetail(a dws.Attempt) map[string]any {
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
		d["request_body"] = string(RedactJSON(a.RequestBody))
	}
	for k, v := range map[string]string{"error_code": a.ErrorCode, "error_msg": a.ErrorMsg,
		"x_request_id": a.RequestID, "error": a.Error} {
		if v != "" {
			d[k] = v
		}
	}
	return d
}
