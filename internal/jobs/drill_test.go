package jobs_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"drportal/internal/audit"
	"drportal/internal/dwssim"
	"drportal/internal/jobs"
	"drportal/internal/portal"
)

// A drill on the simulator, measured on the simulator's own clock: the
// executor reads the time from the fake clock, and every read of the task
// while following a step moves that clock on by pollStep. So a step's end
// is seen at the first read at or after it, and pollStep is the poll
// resolution on the clock the evidence is measured with.
const (
	drillLag        = 2 * time.Second // the cloud shows nothing for this long after accepting
	drillSwitchover = 9 * time.Second // then switchovering for this long
	pollStep        = 3 * time.Second
)

// clockedCloud moves the fake clock on by step before each read of a task,
// and can hold the nth switchover call (before it is sent) until its
// context ends, as a process that dies there.
type clockedCloud struct {
	jobs.Cloud
	clock *dwssim.FakeClock
	step  time.Duration

	holdNth  int // 0: hold none
	mu       sync.Mutex
	switches int
	held     chan struct{}
}

func (c *clockedCloud) Get(ctx context.Context, id string) (portal.Task, error) {
	c.clock.Advance(c.step)
	return c.Cloud.Get(ctx, id)
}

func (c *clockedCloud) Operate(ctx context.Context, op portal.Operation, id string, body []byte) error {
	if op == portal.OpSwitchover {
		c.mu.Lock()
		c.switches++
		hold := c.switches == c.holdNth
		c.mu.Unlock()
		if hold {
			close(c.held)
			<-ctx.Done()
			return ctx.Err()
		}
	}
	return c.Cloud.Operate(ctx, op, id, body)
}

// drillWorld is a world whose task is running and has synchronised, with
// the clock standing still: a sync cycle is 5 minutes, and the last one
// ended rpo before now.
func drillWorld(t *testing.T, rpo time.Duration, tweak ...func(*jobs.Config)) (*world, *clockedCloud, string) {
	t.Helper()
	w := newWorldWith(t, dwssim.Options{AcceptanceLag: drillLag, SyncScale: 1,
		Durations: dwssim.Durations{Switchover: drillSwitchover}})
	w.clock.Set(time.Now().Truncate(time.Second))
	cloud := &clockedCloud{Cloud: w.client, clock: w.clock, step: pollStep}
	w.start(cloud, append([]func(*jobs.Config){func(c *jobs.Config) { c.Now = w.clock.Now }}, tweak...)...)
	id := w.wait(w.fileAndApprove("dr_drill01").ID, portal.StatusSucceeded).DRTaskID
	w.wait(w.fileOp(portal.OpStart, id, nil).ID, portal.StatusSucceeded)
	// The first sync ends one cycle after the task began running.
	snap := w.simTask(id)
	for snap.LastSyncAt.IsZero() {
		w.clock.Advance(time.Second)
		snap = w.simTask(id)
	}
	w.clock.Advance(rpo)
	if _, err := w.tasks.LiveState(context.Background(), id); err != nil { // the portal's copy, as the poller keeps it
		t.Fatal(err)
	}
	return w, cloud, id
}

// settle waits, without moving the clock (the executor's reads do), until
// the request has finished.
func (w *world) settle(id int64) portal.Request {
	w.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r, err := w.store.Request(context.Background(), id)
		if err != nil {
			w.t.Fatal(err)
		}
		if r.Status.Final() {
			return r
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("request %d is %s/%s (%s)", id, r.Status, r.CallState, r.Outcome)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (w *world) drill(id int64) portal.Drill {
	w.t.Helper()
	d, err := w.store.Drill(context.Background(), id)
	if err != nil {
		w.t.Fatal(err)
	}
	return d
}

// TestADrillOnTheSimulatorMeasuresRTOAndRPO runs a drill through the real
// executor: the switchover and the switchback each take the simulator's
// acceptance lag plus its switchover time, and the portal's RTO for each
// is that within one poll; the RPO is exactly the time since the last sync
// the cloud reported when the switchover's call was made.
func TestADrillOnTheSimulatorMeasuresRTOAndRPO(t *testing.T) {
	w, _, id := drillWorld(t, 45*time.Second)
	before := w.simTask(id)
	callAt := w.clock.Now() // the clock stands still until the executor's first read
	r := w.settle(w.fileOp(portal.OpDrill, id, nil).ID)
	if r.Status != portal.StatusSucceeded {
		t.Fatalf("drill: %s %q", r.Status, r.Outcome)
	}
	after := w.simTask(id)
	if after.PrimaryClusterID != before.PrimaryClusterID || w.sim.Calls("switchover") != 2 {
		t.Fatalf("after the drill the primary is %s (was %s), after %d switchover calls",
			after.PrimaryClusterID, before.PrimaryClusterID, w.sim.Calls("switchover"))
	}
	d := w.drill(r.ID)
	truth := drillLag + drillSwitchover
	for _, step := range []int{portal.DrillSwitchover, portal.DrillSwitchback} {
		rto, ok := d.RTO(step)
		if !ok || rto < truth || rto >= truth+pollStep {
			t.Errorf("%s: RTO %v (measured: %v), want %v to within one poll (%v)", portal.DrillStepName(step), rto, ok, truth, pollStep)
		}
	}
	if d.Switchover.SentAt == nil || !d.Switchover.SentAt.Equal(callAt) {
		t.Errorf("the switchover's call is recorded at %v, it was made at %v", d.Switchover.SentAt, callAt)
	}
	// The API reports last_success_time to the second.
	wantRPO := callAt.Sub(before.LastSyncAt.Truncate(time.Second))
	if rpo, ok := d.RPO(); !ok || rpo != wantRPO || rpo < 45*time.Second || rpo >= 47*time.Second {
		t.Errorf("RPO %v (measured: %v), want %v", rpo, ok, wantRPO)
	}
	if d.Outcome != portal.DrillSucceeded || d.PrimaryBefore != before.PrimaryClusterName || len(d.ApprovedBy) != 2 ||
		d.FiledBy != "req@example.com" {
		t.Errorf("drill record %+v", d)
	}
	if !strings.Contains(r.Outcome, d.Summary()) {
		t.Errorf("the outcome %q does not give the evidence %q", r.Outcome, d.Summary())
	}
	ev := w.timeline(r.ID)
	if count(ev, audit.ActionDrillStarted, "") != 1 || count(ev, audit.ActionDrillStep, `"step":"switchover"`) != 1 ||
		count(ev, audit.ActionDrillStep, `"step":"switchback"`) != 1 || count(ev, audit.ActionDrillFinished, `"outcome":"succeeded"`) != 1 {
		t.Error("the drill's steps are not each audited once")
	}
	if count(ev, audit.ActionDrillStep, `"rpo_ms":`) != 1 || count(ev, audit.ActionDrillStep, `"rto_ms":`) != 2 {
		t.Error("the drill's measurements are not in its audit events")
	}
}

// TestAFailingSwitchoverIsNotSwitchedBack: a drill whose switchover ends
// abnormal, or does not finish in time, stops there; the switchback is
// never sent, and the drill says what state the task is in.
func TestAFailingSwitchoverIsNotSwitchedBack(t *testing.T) {
	t.Run("failed", func(t *testing.T) {
		w, _, id := drillWorld(t, 10*time.Second)
		w.sim.FailNext("switchover", 1)
		r := w.settle(w.fileOp(portal.OpDrill, id, nil).ID)
		if r.Status != portal.StatusFailed || w.sim.Calls("switchover") != 1 {
			t.Fatalf("drill: %s %q after %d switchover calls", r.Status, r.Outcome, w.sim.Calls("switchover"))
		}
		if !strings.Contains(r.Outcome, "Nothing was switched back") || !strings.Contains(r.Outcome, "the task is abnormal") {
			t.Errorf("the outcome does not say what state the task is in: %q", r.Outcome)
		}
		if d := w.drill(r.ID); d.Outcome != portal.DrillFailed || d.Step != portal.DrillSwitchover || d.Switchback.SentAt != nil {
			t.Errorf("drill record %+v", d)
		}
		if count(w.timeline(r.ID), audit.ActionDrillFinished, `"outcome":"failed"`) != 1 {
			t.Error("the drill's end is not audited")
		}
	})
	t.Run("timed out", func(t *testing.T) {
		w, _, id := drillWorld(t, 10*time.Second, func(c *jobs.Config) { c.FollowTimeout = 7 * time.Second })
		r := w.settle(w.fileOp(portal.OpDrill, id, nil).ID)
		if r.Status != portal.StatusFailed || w.sim.Calls("switchover") != 1 || !strings.Contains(r.Outcome, "timed out") {
			t.Fatalf("drill: %s %q after %d switchover calls", r.Status, r.Outcome, w.sim.Calls("switchover"))
		}
		if !strings.Contains(r.Outcome, "Nothing was switched back: the task is switching over") {
			t.Errorf("the outcome does not say what state the task is in: %q", r.Outcome)
		}
	})
}

// TestADrillThatDiesAfterItsSwitchoverResumesAtTheSwitchback: the run
// dies when its switchover is done and the switchback's call is about to
// go out; the next run sends the switchback, never the switchover again,
// and the switchover's evidence stays as it was measured.
func TestADrillThatDiesAfterItsSwitchoverResumesAtTheSwitchback(t *testing.T) {
	w := newWorldWith(t, dwssim.Options{AcceptanceLag: drillLag, SyncScale: 1, Durations: dwssim.Durations{Switchover: drillSwitchover}})
	w.clock.Set(time.Now().Truncate(time.Second))
	dying := &clockedCloud{Cloud: w.client, clock: w.clock, step: pollStep, holdNth: 2, held: make(chan struct{})}
	first := w.start(dying, func(c *jobs.Config) { c.Now = w.clock.Now })
	id := w.wait(w.fileAndApprove("dr_drill02").ID, portal.StatusSucceeded).DRTaskID
	w.wait(w.fileOp(portal.OpStart, id, nil).ID, portal.StatusSucceeded)
	for w.simTask(id).LastSyncAt.IsZero() {
		w.clock.Advance(time.Second)
	}
	if _, err := w.tasks.LiveState(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	original := w.simTask(id).PrimaryClusterID
	r := w.fileOp(portal.OpDrill, id, nil)
	select {
	case <-dying.held:
	case <-time.After(30 * time.Second):
		t.Fatal("the switchback's call was never made")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := first.StopAndCancel(ctx); err != nil {
		t.Fatal(err)
	}
	mid := w.drill(r.ID)
	if mid.Step != portal.DrillSwitchback || mid.Switchover.DoneAt == nil || w.sim.Calls("switchover") != 1 {
		t.Fatalf("when the run died: step %d, switchover done at %v, %d switchover calls", mid.Step, mid.Switchover.DoneAt,
			w.sim.Calls("switchover"))
	}
	w.start(&clockedCloud{Cloud: w.client, clock: w.clock, step: pollStep}, shortLease, func(c *jobs.Config) { c.Now = w.clock.Now })
	got := w.settle(r.ID)
	if got.Status != portal.StatusSucceeded || w.sim.Calls("switchover") != 2 || w.simTask(id).PrimaryClusterID != original {
		t.Fatalf("after the restart: %s %q, %d switchover calls, primary %s (was %s)", got.Status, got.Outcome,
			w.sim.Calls("switchover"), w.simTask(id).PrimaryClusterID, original)
	}
	d := w.drill(r.ID)
	if !d.Switchover.DoneAt.Equal(*mid.Switchover.DoneAt) || !d.Switchover.AcceptedAt.Equal(*mid.Switchover.AcceptedAt) {
		t.Errorf("the switchover's evidence changed: %+v, was %+v", d.Switchover, mid.Switchover)
	}
	if _, ok := d.RTO(portal.DrillSwitchback); !ok {
		t.Errorf("the switchback was not measured: %+v", d.Switchback)
	}
	if n := count(w.timeline(r.ID), audit.ActionDrillStep, `"step":"switchover"`); n != 1 {
		t.Errorf("the switchover was recorded done %d times", n)
	}
}
