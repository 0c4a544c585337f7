package jobs_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"drportal/internal/dws"
	"drportal/internal/jobs"
	"drportal/internal/portal"
)

// unapplied is a cloud that accepts one operation without applying it, as
// a 200 whose body the client could not tell from an acceptance would.
type unapplied struct {
	jobs.Cloud
	op portal.Operation
}

func (u *unapplied) Operate(ctx context.Context, op portal.Operation, id string, body []byte) error {
	if op == u.op {
		return nil
	}
	return u.Cloud.Operate(ctx, op, id, body)
}

// An update is recorded as succeeded only once the task has the new sync
// period: an accepted answer while the old period stays ends, at the
// deadline, as not done.
func TestAnUpdateTheCloudDidNotApplyIsNotRecordedSucceeded(t *testing.T) {
	w := newWorld(t)
	w.start(&unapplied{Cloud: w.client, op: portal.OpUpdate}, func(c *jobs.Config) { c.FollowTimeout = 2 * time.Second })
	id := w.wait(w.fileAndApprove("dr_unapp1").ID, portal.StatusSucceeded).DRTaskID
	r := w.wait(w.fileOp(portal.OpUpdate, id, dws.UpdateBody("10m")).ID, portal.StatusSucceeded, portal.StatusFailed)
	if r.Status != portal.StatusFailed || !strings.Contains(r.Outcome, "timed out") || w.simTask(id).SyncPeriod == "10m" {
		t.Errorf("an update the cloud did not apply: %s (%q); the cloud's period is %s", r.Status, r.Outcome, w.simTask(id).SyncPeriod)
	}
}
