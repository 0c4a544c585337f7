package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"drportal/internal/dwssim"
	"drportal/internal/portal"
)

// A 404 of the API gateway ("API does not exist", APIG.0101, no DWS error
// code) means a wrong endpoint, region or project, not a deleted task: the
// portal keeps its copy, writes no "deleted" drift, and says it is a
// configuration error on the task page and in /healthz.
func TestAGateway404IsAConfigurationErrorNotADeletedTask(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := e.createTask("dr_route01")
	b := e.signedIn("req@example.com")
	loc := "/dr-tasks/" + id
	eventually(t, "the task read", func() bool {
		row, err := e.store.Task(ctx, id)
		return err == nil && row.DetailFetchedAt != nil && row.Status == portal.TaskUnstart
	})
	drifts := len(e.events("dr_task.drift"))

	e.sim.InjectFault(dwssim.Fault{Route: "detail", Status: http.StatusNotFound, Code: dwssim.CodeNoSuchAPI,
		Message: "The API does not exist or has not been published in the environment."})
	polls := e.sim.Calls("detail")
	var page response
	eventually(t, "a configuration error on the task page", func() bool {
		page = b.get(loc)
		return page.doc.Find(`[data-testid=config-error]`).Length() == 1
	})
	// Let the poller read the task a few more times through the fault.
	eventually(t, "more polls", func() bool { return e.sim.Calls("detail") >= polls+3 })
	page = b.get(loc)
	box := page.text(`[data-testid=config-error]`)
	if page.status != http.StatusOK || !strings.Contains(box, "Configuration error") || !strings.Contains(box, "DWS_ENDPOINT") ||
		!strings.Contains(box, "region") || !strings.Contains(box, "APIG.0101") {
		t.Errorf("configuration error box: %d %q", page.status, box)
	}
	if page.doc.Find(`[data-testid=gone]`).Length() != 0 || page.attr(`#task-panel [data-testid=status]`, "data-status") != "unstart" {
		t.Errorf("the task is shown deleted: %q, status %q", page.text(`[data-testid=gone]`), page.attr(`#task-panel [data-testid=status]`, "data-status"))
	}
	row, err := e.store.Task(ctx, id)
	if err != nil || row.GoneAt != nil || row.Status != portal.TaskUnstart {
		t.Errorf("the portal's copy changed: %+v %v", row, err)
	}
	if n := len(e.events("dr_task.drift")); n != drifts {
		t.Errorf("%d drift events were written for a gateway 404", n-drifts)
	}
	list := b.get("/dr-tasks")
	if list.doc.Find(`[data-testid=task-row][data-id="`+id+`"]`).Length() != 1 {
		t.Error("the task left the list")
	}
	health := e.browser().get("/healthz")
	if health.status != http.StatusOK || !strings.HasPrefix(health.body, "ok\n") ||
		!strings.Contains(health.body, "configuration error") || !strings.Contains(health.body, "APIG.0101") ||
		!strings.Contains(health.body, "DWS_ENDPOINT") {
		t.Errorf("/healthz: %d %q", health.status, health.body)
	}

	// Once the call is answered again, the error is gone from both.
	e.sim.ClearFaults()
	eventually(t, "the configuration error cleared", func() bool {
		return b.get(loc).doc.Find(`[data-testid=config-error]`).Length() == 0
	})
	if health := e.browser().get("/healthz"); health.body != "ok\n" {
		t.Errorf("/healthz after the fix: %q", health.body)
	}
}

// The documented "DR task does not exist" answer (400 DWS.10101) marks a
// task gone only when a successful read of the task list confirms that it
// is absent: while the list still has it, the portal keeps its copy.
func TestATaskIsGoneOnlyWhenTheListConfirmsIt(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := e.createTask("dr_gone01")
	b := e.signedIn("req@example.com")
	loc := "/dr-tasks/" + id
	eventually(t, "the task read", func() bool {
		row, err := e.store.Task(ctx, id)
		return err == nil && row.DetailFetchedAt != nil && row.Status == portal.TaskUnstart
	})
	drifts := len(e.events("dr_task.drift"))

	e.sim.InjectFault(dwssim.Fault{Route: "detail", Status: http.StatusBadRequest, Code: dwssim.CodeNoSuchTask,
		Message: "The disaster recovery does not exist."})
	var page response
	eventually(t, "the unconfirmed answer shown", func() bool {
		page = b.get(loc)
		return strings.Contains(page.text(`[data-testid=stale]`), "still has it")
	})
	polls := e.sim.Calls("detail")
	eventually(t, "more polls", func() bool { return e.sim.Calls("detail") >= polls+3 })
	page = b.get(loc)
	row, err := e.store.Task(ctx, id)
	if err != nil || row.GoneAt != nil || page.doc.Find(`[data-testid=gone]`).Length() != 0 {
		t.Fatalf("the task was marked gone on DWS.10101 alone: %+v %v", row, err)
	}
	if n := len(e.events("dr_task.drift")); n != drifts {
		t.Errorf("%d drift events were written before the list confirmed", n-drifts)
	}
	if page.doc.Find(`[data-testid=config-error]`).Length() != 0 {
		t.Error("a DWS answer is shown as a configuration error")
	}

	// Deleted in the console: the list no longer has it, so it is gone.
	if err := e.client.Operate(ctx, portal.OpDelete, id, nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(45 * time.Second)
	for {
		e.clock.Advance(time.Minute)
		if _, ok := e.sim.Task(simProject, id); !ok && b.get(loc).doc.Find(`[data-testid=gone]`).Length() == 1 {
			break
		}
		if time.Now().After(deadline) {
			row, _ := e.store.Task(ctx, id)
			_, still := e.sim.Task(simProject, id)
			t.Fatalf("the deleted task is not shown gone: gone at %v, next read %v, refresh error %q; the simulator has it: %v",
				row.GoneAt, row.NextPollAt, row.RefreshError, still)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// An approved operation whose task the cloud says it does not know is
// refused only when the task list confirms the task is gone: while the
// list still has it ("no such DR task" alone), or when the answer is about
// a cluster (DWS.0047), the executor keeps trying, and the operation runs
// once the detail reads again. Nothing marks the task gone.
func TestAnApprovedOperationIsNotDroppedOnANotFoundTheListDoesNotConfirm(t *testing.T) {
	for _, f := range []dwssim.Fault{
		{Route: "detail", Status: http.StatusBadRequest, Code: dwssim.CodeNoSuchTask, Message: "The disaster recovery does not exist."},
		{Route: "detail", Status: http.StatusNotFound, Code: "DWS.0047", Message: "The cluster does not exist."},
	} {
		t.Run(f.Code, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			id := e.createTask("dr_nf_" + strings.ToLower(strings.ReplaceAll(f.Code, ".", "")))
			req, admin := e.signedIn("req@example.com"), e.signedIn("admin@example.com")
			start := requestIDFrom(t, e.fileOperation(req, id, "start", url.Values{"justification": {"protect the warehouse"}}))

			e.sim.InjectFault(f)
			before := e.sim.Calls("detail")
			e.decide(admin, start, "approve", "")
			eventually(t, "the executor reading through the fault", func() bool {
				e.clock.Advance(500 * time.Millisecond)
				return e.sim.Calls("detail") >= before+4
			})
			if r, err := e.store.Request(ctx, start); err != nil || r.Status.Final() {
				t.Fatalf("while the list still has the task, the request ended: %s (%s) %v", r.Status, r.Outcome, err)
			}
			e.sim.ClearFaults()
			e.waitRequest(start, portal.StatusSucceeded)
			if row, err := e.store.Task(ctx, id); err != nil || row.GoneAt != nil {
				t.Errorf("the task was marked gone: %+v %v", row, err)
			}
		})
	}
}
