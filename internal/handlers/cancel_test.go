package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"drportal/internal/audit"
	"drportal/internal/auth"
	"drportal/internal/db"
	"drportal/internal/portal"
)

// waitingStart files a start on a new task outside its change window (a
// window on start that opens in three days) and has the admin approve it:
// the request is approved and waits, its job scheduled for the opening.
func (e *env) waitingStart(name string) (taskID string, id int64) {
	e.t.Helper()
	taskID = e.createTask(name)
	ctx := context.Background()
	now := time.Now().UTC()
	err := e.store.InTx(ctx, func(tx *db.Tx) error {
		admin, err := tx.UserByEmail(ctx, "admin@example.com")
		if err != nil {
			return err
		}
		_, err = tx.InsertWindow(ctx, portal.Window{Operation: portal.OpStart, Days: portal.Weekdays(1) << ((now.Weekday() + 3) % 7),
			Start: 120, End: 180, Zone: "UTC"}, admin.ID, now)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	id = requestIDFrom(e.t, e.fileOperation(e.signedIn("req@example.com"), taskID, "start", url.Values{"justification": {"start it in the window"}}))
	if res := e.decide(e.signedIn("admin@example.com"), id, "approve", ""); res.status != http.StatusSeeOther {
		e.t.Fatalf("approve: %d %s", res.status, res.text("main"))
	}
	if r, err := e.store.Request(ctx, id); err != nil || r.Status != portal.StatusApproved {
		e.t.Fatalf("the start outside its window is %s (%v), want approved and waiting", r.Status, err)
	}
	if states := e.jobStates(id); !slices.Equal(states, []string{"scheduled"}) {
		e.t.Fatalf("the waiting start's jobs are %v, want one scheduled", states)
	}
	return taskID, id
}

// jobStates are the states of request id's execution jobs, oldest first.
func (e *env) jobStates(id int64) []string {
	e.t.Helper()
	rows, err := e.store.Pool().Query(context.Background(), `SELECT state::text FROM river_job WHERE kind = 'execute_request'
		AND (args->>'request_id')::bigint = $1 ORDER BY id`, id)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// cancel posts the cancel form of request id, with the token of its page
// (every page carries one), as b.
func (e *env) cancel(b *browser, id int64, reason string, hdr ...string) response {
	e.t.Helper()
	tok := b.csrf(fmt.Sprintf("/requests/%d", id))
	req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/requests/%d/cancel", e.srv.URL, id),
		strings.NewReader(url.Values{"_csrf": {tok}, "reason": {reason}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return b.do(req)
}

// eventsOf are the audit events about request id, oldest first.
func (e *env) eventsOf(id int64) []audit.Event {
	e.t.Helper()
	events, err := e.store.RequestTimeline(context.Background(), id, 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	return events
}

// hookOutcome is the outcome announced with event for request id ("" when
// it was not announced).
func (h *hookReceiver) hookOutcome(event string, id int64) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range h.events {
		if e.Event == event && e.Request["id"] == float64(id) {
			out, _ := e.Request["outcome"].(string)
			return out, true
		}
	}
	return "", false
}

// TestTheRequesterCancelsAnApprovedRequestWaitingForItsWindow: the
// requester of a start approved outside its change window cancels it from
// its page, with a reason. It is cancelled and says by whom and why, on its
// page and in the list; the cancellation is audited with its own action and
// announced; its scheduled job is cancelled with it, and even run, the job
// does nothing: nothing is sent to the cloud.
func TestTheRequesterCancelsAnApprovedRequestWaitingForItsWindow(t *testing.T) {
	e := newEnv(t)
	taskID, id := e.waitingStart("dr_cancel01")
	req := e.signedIn("req@example.com")
	page := req.get(fmt.Sprintf("/requests/%d", id))
	if page.doc.Find(`[data-testid=cancel-form]`).Length() != 1 {
		t.Fatalf("the requester's page of an approved request offers no cancel form:\n%s", page.text("main"))
	}
	if says := page.text(`[data-testid=cancel-stops]`); !strings.Contains(says, "it will not run when its change window opens") {
		t.Errorf("the cancel form says %q", says)
	}
	if _, required := page.doc.Find(`#cancel-reason`).Attr("required"); required {
		t.Error("the requester is asked for a reason to cancel their own request")
	}

	res := e.cancel(req, id, "the release moved to next month")
	if res.status != http.StatusSeeOther {
		t.Fatalf("cancel: %d %s", res.status, res.text("main"))
	}
	const outcome = "Cancelled by req@example.com: the release moved to next month"
	r, err := e.store.Request(context.Background(), id)
	if err != nil || r.Status != portal.StatusCancelled || r.Outcome != outcome || r.FinishedAt == nil {
		t.Fatalf("after cancelling: %s %q (%v)", r.Status, r.Outcome, err)
	}
	page = req.get(fmt.Sprintf("/requests/%d", id))
	if got := page.attr(`[data-testid=request-card]`, "data-status"); got != "cancelled" || !strings.Contains(page.text(`[data-testid=outcome]`), outcome) {
		t.Errorf("the request page shows %s, outcome %q", got, page.text(`[data-testid=outcome]`))
	}
	if page.doc.Find(`[data-testid=cancel-form]`).Length() != 0 {
		t.Error("a cancelled request still offers to cancel it")
	}
	list := req.get("/requests?tab=mine")
	if got := list.text(fmt.Sprintf(`[data-testid=request-row][data-id="%d"] [data-testid=request-note]`, id)); got != outcome {
		t.Errorf("the list says %q of the cancelled request", got)
	}
	if got := list.text(fmt.Sprintf(`[data-testid=request-row][data-id="%d"] td[data-label=Approvals]`, id)); got != "1 of 1 ✓" {
		t.Errorf("the list counts the cancelled request's approvals as %q", got)
	}
	cancelled := e.events(audit.ActionRequestCancelledApproved)
	if len(cancelled) != 1 || cancelled[0].RequestID != id || cancelled[0].Actor.Name != "req@example.com" {
		t.Fatalf("the cancellation's events: %+v", cancelled)
	}
	var detail struct {
		Reason, Stopped, Note string
		Jobs                  int `json:"jobs_cancelled"`
	}
	if err := json.Unmarshal(cancelled[0].Detail, &detail); err != nil || detail.Reason != "the release moved to next month" ||
		!strings.Contains(detail.Stopped, "waiting for its change window") || detail.Jobs != 1 ||
		detail.Note != outcome+". "+detail.Stopped {
		t.Errorf("the cancellation's detail: %s", cancelled[0].Detail)
	}
	e.hooks.received(t, "request.cancelled", id)
	if got, _ := e.hooks.hookOutcome("request.cancelled", id); got != outcome {
		t.Errorf("the webhook announced the outcome %q", got)
	}
	if states := e.jobStates(id); !slices.Equal(states, []string{"cancelled"}) {
		t.Errorf("after cancelling, the request's jobs are %v, want one cancelled", states)
	}

	// Even run, the job finds the request cancelled and does nothing.
	if _, err := e.store.Pool().Exec(context.Background(), `UPDATE river_job SET state = 'available', scheduled_at = now(), finalized_at = NULL
		WHERE kind = 'execute_request' AND (args->>'request_id')::bigint = $1`, id); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the job run", func() bool { return slices.Equal(e.jobStates(id), []string{"completed"}) })
	if r, _ := e.store.Request(context.Background(), id); r.Status != portal.StatusCancelled {
		t.Errorf("after the job ran, the request is %s", r.Status)
	}
	for _, ev := range e.eventsOf(id) {
		if ev.ID > cancelled[0].ID {
			t.Errorf("after the cancellation, the request's history has %s by %s", ev.Action, ev.Actor.Name)
		}
	}
	if tk, err := e.client.Get(context.Background(), taskID); err != nil || tk.Status != portal.TaskUnstart {
		t.Errorf("the task in the cloud is %s (%v), want it never started", tk.Status, err)
	}
}

// TestAnAdminCancelsSomeoneElsesApprovedRequestWithAReason: an admin may
// cancel a requester's approved request that waits for its window, saying
// why in at least 10 characters; without a reason, or with too short a
// one, the form comes back saying so and nothing changes.
func TestAnAdminCancelsSomeoneElsesApprovedRequestWithAReason(t *testing.T) {
	e := newEnv(t)
	_, id := e.waitingStart("dr_cancel02")
	admin := e.signedIn("admin@example.com")
	page := admin.get(fmt.Sprintf("/requests/%d", id))
	if _, required := page.doc.Find(`#cancel-reason`).Attr("required"); !required {
		t.Fatalf("the admin's cancel form does not ask for a reason:\n%s", page.text("main"))
	}
	before := len(e.eventsOf(id))
	e.startOfMinute()
	for _, reason := range []string{"", "  ", "too late"} {
		res := e.cancel(admin, id, reason)
		if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.text(`[data-testid=card-error]`), "Say why") ||
			res.attr(`#cancel-reason`, "aria-invalid") != "true" {
			t.Errorf("cancel with the reason %q: %d %q", reason, res.status, res.text(`[data-testid=card-error]`))
		}
		if got := res.text(`#cancel-reason`); got != strings.TrimSpace(reason) && got != reason {
			t.Errorf("the reason field came back with %q, want %q", got, reason)
		}
	}
	// Each refusal is on record (request.cancel_refused, reason too
	// short); the three of one minute as one event and a count.
	refused := e.events(audit.ActionRequestCancelRefused)
	if len(refused) != 1 || refused[0].RequestID != id || refused[0].Actor.Name != "admin@example.com" ||
		!strings.Contains(string(refused[0].Detail), `"refused":"reason"`) {
		t.Errorf("the refused cancellations on record: %+v", refused)
	}
	if r, _ := e.store.Request(context.Background(), id); r.Status != portal.StatusApproved || len(e.eventsOf(id)) != before+1 {
		t.Fatalf("a refused cancellation changed the request: %s, %d events, were %d and one refusal", r.Status, len(e.eventsOf(id)), before)
	}

	res := e.cancel(admin, id, "CHG-90 was withdrawn by the change board", "HX-Request", "true")
	if res.status != http.StatusOK || res.attr(`[data-testid=request-card]`, "data-status") != "cancelled" {
		t.Fatalf("cancel as the admin (htmx): %d %s", res.status, res.text("main"))
	}
	const outcome = "Cancelled by admin@example.com: CHG-90 was withdrawn by the change board"
	if got := res.text(`[data-testid=outcome]`); !strings.Contains(got, outcome) {
		t.Errorf("the card's outcome says %q", got)
	}
	cancelled := e.events(audit.ActionRequestCancelledApproved)
	var detail struct {
		Reason, Requester string
		As                string `json:"cancelled_as"`
	}
	if len(cancelled) != 1 || cancelled[0].Actor.Name != "admin@example.com" || json.Unmarshal(cancelled[0].Detail, &detail) != nil ||
		detail.Reason != "CHG-90 was withdrawn by the change board" || detail.Requester != "req@example.com" || detail.As != "admin" {
		t.Errorf("the cancellation's events: %+v", cancelled)
	}
	if states := e.jobStates(id); !slices.Equal(states, []string{"cancelled"}) {
		t.Errorf("the request's jobs are %v, want one cancelled", states)
	}
	e.hooks.received(t, "request.cancelled", id)
}

// TestOnlyTheRequesterOrAnAdminCancelsAnApprovedRequest: an approver, an
// auditor, a responder and another requester see no cancel form on an
// approved request that waits, and are refused (403, on record) when they
// post one; the request stays approved.
func TestOnlyTheRequesterOrAnAdminCancelsAnApprovedRequest(t *testing.T) {
	e := newEnv(t)
	e.addUser("appr@example.com", auth.RoleApprover)
	e.addUser("req2@example.com", auth.RoleRequester)
	e.addUser("resp@example.com", portal.RoleResponder)
	_, id := e.waitingStart("dr_cancel03")
	for who, reason := range map[string]string{"appr@example.com": audit.ReasonRole, "audit@example.com": audit.ReasonRole,
		"resp@example.com": audit.ReasonRole, "req2@example.com": audit.ReasonNotRequester} {
		b := e.signedIn(who)
		if n := b.get(fmt.Sprintf("/requests/%d", id)).doc.Find(`[data-testid=cancel-form]`).Length(); n != 0 {
			t.Errorf("%s is offered the cancel form", who)
		}
		after := e.head()
		if res := e.cancel(b, id, "I would rather it did not run"); res.status != http.StatusForbidden {
			t.Errorf("cancel as %s: %d %s", who, res.status, res.text("main"))
		}
		denied := e.deniedSince(after)
		var d struct{ Reason, Route string }
		if len(denied) != 1 || denied[0].Actor.Name != who || json.Unmarshal(denied[0].Detail, &d) != nil ||
			d.Reason != reason || d.Route != "/requests/:id/cancel" {
			t.Errorf("the refusal of %s: %+v", who, denied)
		}
	}
	if r, _ := e.store.Request(context.Background(), id); r.Status != portal.StatusApproved {
		t.Errorf("after the refusals the request is %s", r.Status)
	}
	if len(e.events(audit.ActionRequestCancelledApproved)) != 0 || !slices.Equal(e.jobStates(id), []string{"scheduled"}) {
		t.Error("a refused cancellation cancelled something")
	}
}

// TestAnExecutingRequestCannotBeCancelled: once the executor has begun a
// request and recorded its call's intent, its requester and an admin are
// told it has already started; nothing changes.
func TestAnExecutingRequestCannotBeCancelled(t *testing.T) {
	e := newEnv(t)
	_, id := e.waitingStart("dr_cancel04")
	ctx := context.Background()
	if ok, err := e.store.HoldExecution(ctx, id, 0, "run-test", time.Hour); err != nil || !ok {
		t.Fatalf("hold: %v %v", ok, err)
	}
	err := e.store.InTx(ctx, func(tx *db.Tx) error {
		if _, err := tx.BeginExecution(ctx, id, []portal.RequestStatus{portal.StatusApproved}, time.Now()); err != nil {
			return err
		}
		_, err := tx.RecordIntent(ctx, id, "run-test", nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	before := len(e.eventsOf(id))
	for who, reason := range map[string]string{"req@example.com": "", "admin@example.com": "the change board said no"} {
		b := e.signedIn(who)
		if b.get(fmt.Sprintf("/requests/%d", id)).doc.Find(`[data-testid=cancel-form]`).Length() != 0 {
			t.Errorf("%s is offered to cancel an executing request", who)
		}
		res := e.cancel(b, id, reason)
		if res.status != http.StatusConflict || !strings.Contains(res.text(`[data-testid=card-error]`), "has already started") {
			t.Errorf("cancel as %s: %d %q", who, res.status, res.text(`[data-testid=card-error]`))
		}
	}
	// Both refusals are on record (request.cancel_refused, started), one
	// for each person.
	refused := e.events(audit.ActionRequestCancelRefused)
	if len(refused) != 2 {
		t.Fatalf("the refused cancellations on record: %+v", refused)
	}
	for _, ev := range refused {
		if ev.RequestID != id || ev.Outcome != audit.Denied || !strings.Contains(string(ev.Detail), `"refused":"started"`) ||
			!strings.Contains(string(ev.Detail), "has already started") {
			t.Errorf("a refused cancellation on record as %s %s", ev.Outcome, ev.Detail)
		}
	}
	r, _ := e.store.Request(ctx, id)
	if r.Status != portal.StatusExecuting || r.CallState != portal.CallIntent || len(e.eventsOf(id)) != before+2 {
		t.Errorf("a refused cancellation changed the request: %s %s, %d events, were %d and two refusals", r.Status, r.CallState, len(e.eventsOf(id)), before)
	}
}

// TestACancelRacingTheExecutorIsRefusedAtTheGuard: the cancellation reads
// the request as approved while the executor is moving it to executing in
// a transaction not yet committed; its guarded update waits on the row,
// then finds it executing, and the requester is told it has already
// started. Nothing of the cancellation is left: no event, the job kept.
func TestACancelRacingTheExecutorIsRefusedAtTheGuard(t *testing.T) {
	e := newEnv(t)
	_, id := e.waitingStart("dr_cancel05")
	ctx := context.Background()
	req := e.signedIn("req@example.com")
	tok := req.csrf(fmt.Sprintf("/requests/%d", id))
	began, release, executed := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	// However the test ends, the transaction it holds open is let go.
	var once sync.Once
	let := func() { once.Do(func() { close(release) }) }
	defer let()
	go func() {
		executed <- e.store.InTx(ctx, func(tx *db.Tx) error {
			if _, err := tx.BeginExecution(ctx, id, []portal.RequestStatus{portal.StatusApproved}, time.Now()); err != nil {
				return err
			}
			close(began)
			<-release
			return nil
		})
	}()
	<-began
	answered := make(chan *http.Response, 1)
	go func() {
		res, err := req.c.PostForm(fmt.Sprintf("%s/requests/%d/cancel", e.srv.URL, id), url.Values{"_csrf": {tok}, "reason": {"no longer needed"}})
		if err != nil {
			answered <- nil
			return
		}
		res.Body.Close()
		answered <- res
	}()
	eventually(t, "the cancellation waiting on the row the executor moves", func() bool {
		var n int
		err := e.store.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'
			AND query LIKE 'UPDATE requests SET status = ''cancelled''%'`).Scan(&n)
		return err == nil && n == 1
	})
	let()
	if err := <-executed; err != nil {
		t.Fatal(err)
	}
	res := <-answered
	if res == nil || res.StatusCode != http.StatusConflict {
		t.Fatalf("the cancellation that lost the race: %v", res)
	}
	page := req.get(fmt.Sprintf("/requests/%d", id))
	if got := page.attr(`[data-testid=request-card]`, "data-status"); got != "executing" {
		t.Errorf("the request is %s after the race, want executing", got)
	}
	// The refusal was shown on the answer; it is said in words by the
	// same error as a request found executing.
	again := e.cancel(req, id, "")
	if !strings.Contains(again.text(`[data-testid=card-error]`), "has already started") {
		t.Errorf("cancelling the executing request says %q", again.text(`[data-testid=card-error]`))
	}
	if n := len(e.events(audit.ActionRequestCancelledApproved)); n != 0 {
		t.Errorf("%d cancellations on record after losing the race", n)
	}
	if states := e.jobStates(id); !slices.Equal(states, []string{"scheduled"}) {
		t.Errorf("after losing the race, the request's jobs are %v, want the one scheduled kept", states)
	}
}

// TestCancellingAScheduledDrillStopsItBeforeItRuns: a drill approved to
// run in three hours is cancelled by its requester: its job is cancelled,
// the drill ends as cancelled and its history says so.
func TestCancellingAScheduledDrillStopsItBeforeItRuns(t *testing.T) {
	e := newEnv(t)
	e.addUser("appr2@example.com", auth.RoleApprover)
	taskID, confirm := e.runningSyncedTask("dr_cancel06")
	req := e.signedIn("req@example.com")
	runAt := time.Now().UTC().Add(3 * time.Hour).Truncate(time.Minute)
	id := requestIDFrom(t, e.fileOperation(req, taskID, "drill", url.Values{"justification": {"quarterly DR drill, CHG-91"},
		"confirm": {confirm}, "run_at": {runAt.Format("2006-01-02T15:04")}}))
	if r := e.approveDrill(id); r.Status != portal.StatusApproved {
		t.Fatalf("the scheduled drill is %s", r.Status)
	}
	page := req.get(fmt.Sprintf("/requests/%d", id))
	if says := page.text(`[data-testid=cancel-stops]`); !strings.Contains(says, "stops the drill scheduled for "+portal.FormatTime(runAt, time.UTC)) {
		t.Errorf("the cancel form says %q", says)
	}
	if res := e.cancel(req, id, ""); res.status != http.StatusSeeOther {
		t.Fatalf("cancel the drill: %d %s", res.status, res.text("main"))
	}
	if r, _ := e.store.Request(context.Background(), id); r.Status != portal.StatusCancelled || r.Outcome != "Cancelled by req@example.com." {
		t.Errorf("the drill request is %s %q", r.Status, r.Outcome)
	}
	d, err := e.store.Drill(context.Background(), id)
	if err != nil || d.Outcome != portal.DrillCancelled || d.StartedAt != nil || !strings.Contains(d.OutcomeDetail, "did not run") {
		t.Errorf("the drill: %+v (%v)", d, err)
	}
	if states := e.jobStates(id); !slices.Equal(states, []string{"cancelled"}) {
		t.Errorf("the drill's jobs are %v, want one cancelled", states)
	}
	row := req.get("/dr-tasks/" + taskID + "/drills").doc.Find(`[data-testid=drill-row]`).First()
	if got := strings.TrimSpace(row.Find(`td[data-label=Outcome] .badge`).Text()); got != "cancelled" {
		t.Errorf("the drill history shows %q", got)
	}
	finished := e.events(audit.ActionDrillFinished)
	if len(finished) != 1 || finished[0].RequestID != id {
		t.Errorf("drill.finished events: %+v", finished)
	}
}

// TestAResponderCannotWithdrawTheirEmergencyAnAdminCan: breaking glass
// supersedes the approved requests on the task that have not started, so
// its responder withdrawing the emergency before it runs would undo others'
// approved work with nothing run. They are refused (403, on record); an
// admin other than them can cancel it, saying why.
func TestAResponderCannotWithdrawTheirEmergencyAnAdminCan(t *testing.T) {
	e := newEnv(t)
	e.addUser("resp@example.com", portal.RoleResponder, portal.RoleRequester)
	e.breakGlassOn(portal.OpStart)
	task := e.createTask("dr_cancel_bg1")
	e.stopWorkers() // the emergency stays approved and not started
	resp := e.signedIn("resp@example.com")
	rid := requestIDFrom(t, e.breakGlass(resp, task, portal.OpStart, e.startForm(task, password)))
	if n := resp.get(fmt.Sprintf("/requests/%d", rid)).doc.Find(`[data-testid=cancel-form]`).Length(); n != 0 {
		t.Error("the responder is offered to cancel their emergency")
	}
	after := e.head()
	if res := e.cancel(resp, rid, "I changed my mind after all"); res.status != http.StatusForbidden ||
		!strings.Contains(res.text("main"), "an admin can") {
		t.Errorf("the responder's cancel: %d %q", res.status, res.text("main"))
	}
	denied := e.deniedSince(after)
	var d struct{ Reason string }
	if len(denied) != 1 || json.Unmarshal(denied[0].Detail, &d) != nil || d.Reason != audit.ReasonOwnEmergency {
		t.Errorf("the refusal is not on record as %s: %+v", audit.ReasonOwnEmergency, denied)
	}
	if r, _ := e.store.Request(context.Background(), rid); r.Status != portal.StatusApproved {
		t.Fatalf("after the refusal the emergency is %s", r.Status)
	}
	admin := e.signedIn("admin@example.com")
	if n := admin.get(fmt.Sprintf("/requests/%d", rid)).doc.Find(`[data-testid=cancel-form]`).Length(); n != 1 {
		t.Error("an admin is not offered to cancel the emergency")
	}
	if res := e.cancel(admin, rid, "filed on the wrong task by mistake"); res.status != http.StatusSeeOther {
		t.Errorf("the admin's cancel: %d %q", res.status, res.text("main"))
	}
	if r, _ := e.store.Request(context.Background(), rid); r.Status != portal.StatusCancelled {
		t.Errorf("after the admin's cancel the emergency is %s", r.Status)
	}
}
