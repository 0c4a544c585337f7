package requests_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"drportal/internal/audit"
	"drportal/internal/db"
	"drportal/internal/portal"
)

// TestARequestApprovedWhileItsRequesterCancelsItIsCancelledAsApproved: the
// requester cancels a pending request while an approval of it is being
// committed. The withdrawal's guard finds it approved; the cancellation
// judges it again, as the approved request it now is, and cancels it with
// the approved request's own record.
func TestARequestApprovedWhileItsRequesterCancelsItIsCancelledAsApproved(t *testing.T) {
	f := newFixture(t)
	r := f.file(t, "req", "dr_cancel_race")
	ctx := context.Background()
	approving, release, approved := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	// However the test ends, the transaction it holds open is let go.
	var once sync.Once
	let := func() { once.Do(func() { close(release) }) }
	defer let()
	go func() {
		approved <- f.store.InTx(ctx, func(tx *db.Tx) error {
			if _, err := tx.ApproveRequest(ctx, r.ID, []portal.RequestStatus{portal.StatusPending}, f.clock(), f.clock().Add(time.Hour)); err != nil {
				return err
			}
			close(approving)
			<-release
			return nil
		})
	}()
	<-approving
	type result struct {
		r   portal.Request
		err error
	}
	cancelled := make(chan result, 1)
	go func() {
		got, err := f.svc.Cancel(f.as("req"), f.users["req"], r.ID, "")
		cancelled <- result{got, err}
	}()
	// The withdrawal reads the request as pending and waits on its row.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var n int
		if err := f.store.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'
			AND query LIKE 'UPDATE requests SET status = $4%'`).Scan(&n); err == nil && n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the cancellation never waited on the approval")
		}
	}
	let()
	if err := <-approved; err != nil {
		t.Fatal(err)
	}
	got := <-cancelled
	if got.err != nil || got.r.Status != portal.StatusCancelled || got.r.Outcome != "Cancelled by req@example.com." {
		t.Fatalf("the cancellation: %s %q, %v", got.r.Status, got.r.Outcome, got.err)
	}
	events, err := f.store.RequestTimeline(ctx, r.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	if last := events[len(events)-1]; last.Action != audit.ActionRequestCancelledApproved || last.Actor.Name != "req" {
		t.Errorf("the last event is %s by %s", last.Action, last.Actor.Name)
	}
}
