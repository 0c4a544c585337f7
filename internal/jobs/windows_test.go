package jobs_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"drportal/internal/audit"
	"drportal/internal/db"
	"drportal/internal/portal"
)

// at sets the portal's clock (filing, approval and the executor) to t.
func (w *world) at(t time.Time) {
	w.offset.Store(int64(time.Until(t)))
}

// windowFor stores a window of op (waiting outside it).
func (w *world) windowFor(op portal.Operation, spec string) {
	w.t.Helper()
	win, err := portal.ParseWindow(op, spec)
	if err != nil {
		w.t.Fatal(err)
	}
	err = w.store.InTx(context.Background(), func(tx *db.Tx) error {
		_, err := tx.InsertWindow(context.Background(), win, w.users["appr"].ID, w.now())
		return err
	})
	if err != nil {
		w.t.Fatal(err)
	}
}

// job is the request's execution job: its id, state and when it is due.
func (w *world) job(id int64) (int64, string, time.Time) {
	w.t.Helper()
	var jid int64
	var state string
	var at time.Time
	err := w.store.Pool().QueryRow(context.Background(), `SELECT id, state, scheduled_at FROM river_job
		WHERE kind = 'execute_request' AND (args->>'request_id')::bigint = $1`, id).Scan(&jid, &state, &at)
	if err != nil {
		w.t.Fatal(err)
	}
	return jid, state, at
}

// due makes the request's job due now, as the wall clock reaching its
// scheduled time would: the portal's clock is the test's, the queue's is
// the database's.
func (w *world) due(id int64) {
	w.t.Helper()
	jid, _, _ := w.job(id)
	if _, err := w.store.Pool().Exec(context.Background(),
		`UPDATE river_job SET state = 'available', scheduled_at = now() WHERE id = $1 AND state = 'scheduled'`, jid); err != nil {
		w.t.Fatal(err)
	}
}

// waitFor waits until the request's history holds action with contains.
func (w *world) waitFor(id int64, action, contains string) audit.Event {
	w.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, e := range w.timeline(id) {
			if e.Action == action && strings.Contains(string(e.Detail), contains) {
				return e
			}
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("request %d never recorded %s with %q", id, action, contains)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// nextMonday is a Monday at 10:00 UTC more than a year ahead: every time
// the tests set lies in the queue's future.
func nextMonday() time.Time {
	d := time.Now().UTC().AddDate(1, 1, 0)
	for d.Weekday() != time.Monday {
		d = d.AddDate(0, 0, 1)
	}
	return time.Date(d.Year(), d.Month(), d.Day(), 10, 0, 0, 0, time.UTC)
}

// TestAWaitingRequestRunsWhenTheClockReachesItsWindow: a create approved
// outside its window is scheduled at the opening; woken early, the
// executor calls nothing, records that it was deferred and until when, and
// puts itself off until then; once the clock reaches the opening it runs,
// through the simulator, exactly once.
func TestAWaitingRequestRunsWhenTheClockReachesItsWindow(t *testing.T) {
	w := newWorld(t)
	w.reqs.Now = w.now
	monday := nextMonday()
	opening := monday.Add(16 * time.Hour) // Tuesday 02:00 UTC
	w.at(monday)
	w.windowFor(portal.OpCreate, "Tue 02:00-05:00 UTC")
	w.start(w.client)
	r := w.fileAndApprove("dr_window1")
	if _, state, at := w.job(r.ID); state != "scheduled" || !at.Equal(opening) {
		t.Fatalf("the job is %s at %s, want scheduled at the opening %s", state, at, opening)
	}
	if n := count(w.timeline(r.ID), audit.ActionRequestApproved, opening.Format(time.RFC3339)); n != 1 {
		t.Error("the approval does not say when it runs")
	}

	// Woken before the opening (an hour before it), it calls nothing.
	w.at(opening.Add(-time.Hour))
	w.due(r.ID)
	e := w.waitFor(r.ID, audit.ActionRequestDeferred, opening.Format(time.RFC3339))
	if !strings.Contains(string(e.Detail), "Tue 02:00-05:00 UTC") {
		t.Errorf("the deferral does not name the window: %s", e.Detail)
	}
	waitState(t, w, r.ID, "scheduled")
	_, _, at := w.job(r.ID)
	if d := time.Until(at); d < 55*time.Minute || d > 61*time.Minute {
		t.Errorf("the deferred job is due in %s, want the hour until the opening", d)
	}
	if got, _ := w.store.Request(context.Background(), r.ID); got.Status != portal.StatusApproved || w.sim.Calls("create") != 0 {
		t.Fatalf("before the window: %s, %d creates", got.Status, w.sim.Calls("create"))
	}

	w.at(opening) // the opening minute
	w.due(r.ID)
	got := w.wait(r.ID, portal.StatusSucceeded, portal.StatusFailed)
	if got.Status != portal.StatusSucceeded || w.sim.Calls("create") != 1 {
		t.Fatalf("at the opening: %s (%s), %d creates", got.Status, got.Outcome, w.sim.Calls("create"))
	}
}

// TestTheExecutorDefersARequestWhoseWindowClosedAfterApproval: approved
// inside its window, the request's run starts on the closing minute; the
// executor re-checks right before the call, calls nothing and defers it to
// the next opening, audited.
func TestTheExecutorDefersARequestWhoseWindowClosedAfterApproval(t *testing.T) {
	w := newWorld(t)
	w.reqs.Now = w.now
	tuesday := nextMonday().Add(14 * time.Hour) // Tuesday 00:00
	w.windowFor(portal.OpCreate, "Tue-Wed 02:00-05:00 UTC")
	w.at(tuesday.Add(4*time.Hour + 59*time.Minute)) // Tuesday 04:59
	r := w.fileAndApprove("dr_closed1")
	if _, state, _ := w.job(r.ID); state != "available" {
		t.Fatalf("approved inside the window, its job is %s", state)
	}
	w.at(tuesday.Add(5 * time.Hour)) // Tuesday 05:00: closed
	w.start(w.client)
	next := tuesday.Add(26 * time.Hour) // Wednesday 02:00
	w.waitFor(r.ID, audit.ActionRequestDeferred, next.Format(time.RFC3339))
	waitState(t, w, r.ID, "scheduled")
	if got, _ := w.store.Request(context.Background(), r.ID); got.Status != portal.StatusApproved || got.CallAttempts != 0 || w.sim.Calls("create") != 0 {
		t.Fatalf("after the window closed: %s, %d attempts, %d creates", got.Status, got.CallAttempts, w.sim.Calls("create"))
	}
	if n := count(w.timeline(r.ID), audit.ActionRequestIntent, ""); n != 0 {
		t.Errorf("%d intents recorded", n)
	}
}

// waitState waits until the request's job is in state (the queue records
// a snooze once the run has ended).
func waitState(t *testing.T, w *world, id int64, state string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, s, _ := w.job(id); s == state {
			return
		}
		if time.Now().After(deadline) {
			_, s, _ := w.job(id)
			t.Fatalf("the job is %s, want %s", s, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
