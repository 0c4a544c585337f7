package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"drportal/internal/db"
	"drportal/internal/portal"
)

// Outbox puts jobs into the caller's transaction: the execution of a
// request whose approval completes its quorum, and the webhook
// notifications of its transitions. It is an insert-only River client, so
// it is built before the request service that uses it and the workers that
// run its jobs, and neither has to be patched in after the other.
type Outbox struct {
	client *river.Client[pgx.Tx]
	cfg    OutboxConfig
}

// OutboxConfig configures an Outbox.
type OutboxConfig struct {
	BaseURL    string // links in notifications
	WebhookURL string // "" sends no notifications
	Now        func() time.Time
}

// NewOutbox returns an Outbox on pool.
func NewOutbox(pool *pgxpool.Pool, cfg OutboxConfig) (*Outbox, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	if err != nil {
		return nil, fmt.Errorf("job outbox: %w", err)
	}
	return &Outbox{client: client, cfg: cfg}, nil
}

// EnqueueExecution implements requests.Outbox: the job commits with the
// approval that completes the quorum, or with the takeover of a run that
// died.
// A request scheduled for later (a drill's run time) is a job scheduled
// for then.
func (o *Outbox) EnqueueExecution(ctx context.Context, tx *db.Tx, requestID int64, resumes int) error {
	notBefore, err := tx.RequestNotBefore(ctx, requestID)
	if err != nil {
		return err
	}
	var opts *river.InsertOpts
	if !notBefore.IsZero() {
		opts = &river.InsertOpts{ScheduledAt: notBefore}
	}
	_, err = o.client.InsertTx(ctx, tx.Pgx(), executeArgs{RequestID: requestID, Resume: resumes}, opts)
	return err
}

// ScheduleExecution implements requests.Outbox: the job commits with the
// approval and becomes available at at (the change window's opening, or
// the end of a freeze).
func (o *Outbox) ScheduleExecution(ctx context.Context, tx *db.Tx, requestID int64, resumes int, at time.Time) error {
	_, err := o.client.InsertTx(ctx, tx.Pgx(), executeArgs{RequestID: requestID, Resume: resumes}, &river.InsertOpts{ScheduledAt: at})
	return err
}

// WakeExecution implements requests.Outbox: the request's execution job
// that waits for a later time (scheduled, or waiting to retry) is made
// available now, in tx. A job already running is left alone.
func (o *Outbox) WakeExecution(ctx context.Context, tx *db.Tx, requestID int64) (int, error) {
	ids, err := tx.WaitingJobs(ctx, executeArgs{}.Kind(), "request_id", requestID)
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		if _, err := o.client.JobRetryTx(ctx, tx.Pgx(), id); err != nil {
			return 0, fmt.Errorf("wake job %d of request %d: %w", id, requestID, err)
		}
	}
	return len(ids), nil
}

// CancelExecution implements requests.Outbox: the request's execution
// jobs that have not started (queued, scheduled for its window's opening
// or a drill's time, waiting to retry) are cancelled in tx, the
// transaction that cancels the request, so none of them is left to run.
// A job that runs meanwhile finds the request cancelled and does nothing.
// It returns how many it cancelled.
func (o *Outbox) CancelExecution(ctx context.Context, tx *db.Tx, requestID int64) (int, error) {
	ids, err := tx.JobsNotStarted(ctx, executeArgs{}.Kind(), "request_id", requestID)
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		if _, err := o.client.JobCancelTx(ctx, tx.Pgx(), id); err != nil {
			return 0, fmt.Errorf("cancel job %d of request %d: %w", id, requestID, err)
		}
	}
	return len(ids), nil
}

// Notify implements requests.Outbox: the notification is queued in the
// transaction of the transition it announces.
func (o *Outbox) Notify(ctx context.Context, tx *db.Tx, event string, r portal.Request) error {
	if o.cfg.WebhookURL == "" {
		return nil
	}
	body, err := json.Marshal(notification{
		Event:      event,
		OccurredAt: o.cfg.Now().UTC(),
		Request: notifiedRequest{
			ID: r.ID, Operation: string(r.Operation), TaskName: r.TaskName, DRTaskID: r.DRTaskID, Status: string(r.Status),
			Requester: r.RequesterEmail, Justification: r.Justification, RequiredApprovals: r.RequiredApprovals,
			Outcome: r.Outcome, ErrorCode: r.ErrorCode, ErrorMsg: r.ErrorMsg, ErrorRequestID: r.ErrorRequestID,
			URL: fmt.Sprintf("%s/requests/%d", o.cfg.BaseURL, r.ID), Emergency: r.BypassesPolicy(), Incident: r.Incident,
		},
	})
	if err != nil {
		return err
	}
	_, err = o.client.InsertTx(ctx, tx.Pgx(), webhookArgs{Event: event, Body: body}, nil)
	return err
}
