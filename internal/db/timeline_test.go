package db_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"drportal/internal/audit"
	"drportal/internal/db"
	"drportal/internal/testdb"
)

// TestTaskTimelineIsItsEventsAndTheirCorrelatedOnes compares a task's
// timeline and its cloud-call count with their definition, computed here
// from the events appended: the task's newest limit events (without the
// cloud calls, unless asked for), with every event that shares a
// correlation id with one of them (not the background jobs'), newest
// limit of the lot. The task's own events include the steps of the
// request that created it (audit.RequestSteps, recorded about the request
// before the task had an id: its filing and decisions), and not the
// refusals recorded about it, nor any other request's events. The histories are random:
// correlated events under other subjects, newer and older than the task's
// own, the task's own older events brought back by a correlation, jobs
// touching other tasks.
func TestTaskTimelineIsItsEventsAndTheirCorrelatedOnes(t *testing.T) {
	ctx := context.Background()
	store := db.New(testdb.New(t))
	const task, other = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
	// Requests 1 to 4: the task's create (2), a start on it (3), another
	// task's create (4) and a create that has no task yet (1).
	if _, err := store.Pool().Exec(ctx, `
		WITH u AS (INSERT INTO users (email, display_name) VALUES ('r@example.com', 'r') RETURNING id)
		INSERT INTO requests (operation, dr_task_id, task_name, target_key, method, path, payload, payload_sha256,
			requester_id, justification, status, required_approvals, policy_version, created_at, expires_at)
		SELECT op, NULLIF(tid, ''), 'x', 'k' || n, 'POST', '/', '{}', sha256(''), u.id, 'because', 'succeeded', 1, 1, now(), now()
		FROM u, (VALUES (1, 'create', ''), (2, 'create', $1), (3, 'start', $1), (4, 'create', $2)) v(n, op, tid) ORDER BY n`,
		task, other); err != nil {
		t.Fatal(err)
	}
	const createdBy = "2"
	var all []audit.Event
	for seed := range uint64(6) {
		r := rand.New(rand.NewPCG(seed, 7))
		var batch []audit.Event
		for i := range 80 {
			e := event([]string{audit.ActionCloudCall, audit.ActionRequestFiled, audit.ActionTaskDrift, audit.ActionRequestDecisionRefused}[r.IntN(4)])
			switch r.IntN(4) {
			case 0, 1:
				e.SubjectType, e.SubjectID = audit.SubjectDRTask, task
			case 2:
				e.SubjectType, e.SubjectID = audit.SubjectDRTask, other
			default:
				n := r.IntN(6)
				e.SubjectType, e.SubjectID = audit.SubjectRequest, fmt.Sprint(n)
				if r.IntN(3) > 0 {
					e.RequestID = int64(n)
				}
			}
			e.CorrelationID = []string{"", "poller", "list-sync", fmt.Sprintf("c%d-%d", seed, r.IntN(12)), fmt.Sprintf("u%d-%d", seed, i)}[r.IntN(5)]
			batch = append(batch, e)
		}
		appended, err := store.AppendAudits(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, appended...)
		for _, limit := range []int{1, 3, 7, 20, 200} {
			for _, calls := range []bool{false, true} {
				got, err := store.TaskTimeline(ctx, task, limit, calls)
				if err != nil {
					t.Fatal(err)
				}
				if want := timelineOf(all, task, createdBy, limit, calls); !slices.Equal(ids(got), want) {
					t.Errorf("seed %d, limit %d, calls %v: timeline %v, want %v", seed, limit, calls, ids(got), want)
				}
			}
			n, err := store.TaskCloudCalls(ctx, task, limit)
			if err != nil {
				t.Fatal(err)
			}
			want := 0
			for _, id := range timelineOf(all, task, createdBy, limit, true) {
				if all[slices.IndexFunc(all, func(e audit.Event) bool { return e.ID == id })].Action == audit.ActionCloudCall {
					want++
				}
			}
			if n != want {
				t.Errorf("seed %d, limit %d: %d cloud calls counted, the timeline with them shows %d", seed, limit, n, want)
			}
		}
	}
}

// timelineOf is the definition of a task's timeline, newest first; the
// task was created by request createdBy.
func timelineOf(all []audit.Event, task, createdBy string, limit int, calls bool) []int64 {
	shown := func(e audit.Event) bool { return calls || e.Action != audit.ActionCloudCall }
	newest := slices.Clone(all)
	slices.Reverse(newest)
	corr := map[string]bool{}
	var own []int64
	for _, e := range newest {
		mine := e.SubjectType == audit.SubjectDRTask && e.SubjectID == task ||
			e.SubjectType == audit.SubjectRequest && e.SubjectID == createdBy && fmt.Sprint(e.RequestID) == createdBy &&
				slices.Contains(audit.RequestSteps, e.Action)
		if mine && shown(e) && len(own) < limit {
			own = append(own, e.ID)
			if e.CorrelationID != "" && e.CorrelationID != "poller" && e.CorrelationID != "list-sync" {
				corr[e.CorrelationID] = true
			}
		}
	}
	var out []int64
	for _, e := range newest {
		if (slices.Contains(own, e.ID) || corr[e.CorrelationID]) && shown(e) && len(out) < limit {
			out = append(out, e.ID)
		}
	}
	return out
}

func ids(events []audit.Event) []int64 {
	out := make([]int64, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}
