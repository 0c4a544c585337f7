package jobs_test

import (
	"context"
	"testing"

	"drportal/internal/audit"
	"drportal/internal/jobs"
	"drportal/internal/portal"
)

// cancellingChecks cancels request id, as its requester, at the moment the
// executor checks its preconditions: the cancellation lands between the
// run's checks and its move to executing.
type cancellingChecks struct {
	jobs.Checker
	w  *world
	id int64
}

func (c cancellingChecks) CheckCreate(ctx context.Context, p portal.CreateSpec) ([]string, error) {
	if _, err := c.w.reqs.Cancel(c.w.as("req"), c.w.users["req"], c.id, "no longer needed, sorry"); err != nil {
		c.w.t.Errorf("cancel: %v", err)
	}
	return c.Checker.CheckCreate(ctx, p)
}

// TestARunThatFindsItsRequestCancelledEndsWithoutSending: the requester
// cancels an approved request while a run of the executor checks it. The
// run's move to executing is refused; it ends there, without an error to
// retry, and nothing is sent.
func TestARunThatFindsItsRequestCancelledEndsWithoutSending(t *testing.T) {
	w := newWorld(t)
	r := w.fileAndApprove("dr_cancelled_run")
	w.start(w.client, func(c *jobs.Config) { c.Checks = cancellingChecks{Checker: w.tasks, w: w, id: r.ID} })
	got := w.wait(r.ID, portal.StatusCancelled, portal.StatusExecuting, portal.StatusSucceeded, portal.StatusFailed)
	if got.Status != portal.StatusCancelled {
		t.Fatalf("the request is %s (%s)", got.Status, got.Outcome)
	}
	awaitAtLeast(t, "the job finished", 1, func() int {
		if states := w.executeJobStates(r.ID); len(states) == 1 && states[0] == "completed" {
			return 1
		}
		return 0
	})
	var attempts, errs int
	if err := w.store.Pool().QueryRow(context.Background(), `SELECT attempt, coalesce(array_length(errors, 1), 0) FROM river_job
		WHERE kind = 'execute_request' AND (args->>'request_id')::bigint = $1`, r.ID).Scan(&attempts, &errs); err != nil {
		t.Fatal(err)
	}
	if attempts != 1 || errs != 0 {
		t.Errorf("the run that found its request cancelled: %d attempts, %d errors; want one attempt, no error", attempts, errs)
	}
	if n := w.sim.Calls("create"); n != 0 {
		t.Errorf("%d creates sent for a cancelled request", n)
	}
	if n := count(w.timeline(r.ID), audit.ActionRequestExecuting, ""); n != 0 {
		t.Errorf("a cancelled request began executing %d times", n)
	}
}
