package handlers_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"drportal/internal/audit"
)

// auditCount is the number of events in the audit history.
func (e *env) auditCount() int {
	e.t.Helper()
	var n int
	if err := e.store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM audit_events`).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// stopWorkers stops the background jobs (poller, list sync, executor), so
// that every cloud call after it was caused by the test.
func (e *env) stopWorkers() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.jobs.StopAndCancel(ctx); err != nil {
		e.t.Fatal(err)
	}
}

// TestPendingRequestPagesNeverReachTheCloud is the 32-viewer probe: many
// people watching pending requests cause no cloud call, no write and no
// audit event. Before, every view checked the preconditions live.
func TestPendingRequestPagesNeverReachTheCloud(t *testing.T) {
	e := newEnv(t)
	taskID := e.createTask("dr_probe01")
	req := e.signedIn("req@example.com")
	opID := requestIDFrom(t, e.fileOperation(req, taskID, "start", url.Values{"justification": {"resume protection"}}))
	primary, standby := req.formPairExcluding(e.busyClusters()...)
	form := validForm(primary, standby)
	form.Set("name", "dr_probe02")
	createID := e.fileCreate(req, form)
	e.stopWorkers()

	viewers := []*browser{e.signedIn("admin@example.com"), req, e.signedIn("audit@example.com")}
	paths := []string{fmt.Sprintf("/requests/%d", createID), fmt.Sprintf("/requests/%d", opID),
		fmt.Sprintf("/requests/%d/card", opID), "/dr-tasks/" + taskID, "/requests"}
	calls, events := e.sim.TotalCalls(), e.auditCount()

	const clients, rounds = 32, 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	served, failures := 0, []string{}
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := viewers[i%len(viewers)]
			for range rounds {
				for _, p := range paths {
					hreq, _ := http.NewRequest(http.MethodGet, e.srv.URL+p, nil)
					if strings.HasSuffix(p, "/card") {
						hreq.Header.Set("HX-Request", "true")
					}
					res, err := b.c.Do(hreq)
					mu.Lock()
					switch {
					case err != nil:
						failures = append(failures, err.Error())
					case res.StatusCode != http.StatusOK:
						failures = append(failures, fmt.Sprintf("GET %s: %d", p, res.StatusCode))
					default:
						served++
					}
					mu.Unlock()
					if res != nil {
						_, _ = io.Copy(io.Discard, res.Body)
						res.Body.Close()
					}
				}
			}
		}()
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d page views failed, first: %s", len(failures), failures[0])
	}
	if want := clients * rounds * len(paths); served != want {
		t.Fatalf("served %d page views, want %d", served, want)
	}
	if got := e.sim.TotalCalls() - calls; got != 0 {
		t.Errorf("%d page views made %d cloud calls, want 0", served, got)
	}
	if got := e.auditCount() - events; got != 0 {
		t.Errorf("%d page views appended %d audit events, want 0", served, got)
	}
}

// TestCheckNow: a person asks the cloud explicitly; the answer is kept and
// shown, audited once, and a second ask within the interval is refused
// without a call, whoever asks.
func TestCheckNow(t *testing.T) {
	e := newEnv(t)
	req := e.signedIn("req@example.com")
	primary, standby := req.formPair()
	id := e.fileCreate(req, validForm(primary, standby))
	e.stopWorkers()
	page := fmt.Sprintf("/requests/%d", id)
	check := func(b *browser, hdr ...string) response {
		t.Helper()
		form := url.Values{"_csrf": {b.csrf(page)}}
		hreq, _ := http.NewRequest(http.MethodPost, e.srv.URL+page+"/check", strings.NewReader(form.Encode()))
		hreq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for i := 0; i+1 < len(hdr); i += 2 {
			hreq.Header.Set(hdr[i], hdr[i+1])
		}
		return b.do(hreq)
	}

	// Filing checked them: the page says so without asking again.
	if res := req.get(page); res.doc.Find(`[data-testid=preconditions-ok]`).Length() != 1 ||
		res.doc.Find(`[data-testid=check-now]`).Length() != 1 {
		t.Fatalf("pending request page: %s", res.text(`[data-testid=preconditions]`))
	}
	// The requester's card reloads itself while it waits for decisions (so
	// an approval shows up); an approver's, which holds the decision form,
	// does not (a half-typed comment is never swapped away).
	if got := req.get(page).doc.Find(`[data-testid=request-card]`).AttrOr("hx-trigger", ""); got != "every 5s" {
		t.Errorf("requester's pending card refreshes %q", got)
	}
	if got := e.signedIn("admin@example.com").get(page).doc.Find(`[data-testid=request-card]`).AttrOr("hx-trigger", "none"); got != "none" {
		t.Errorf("approver's pending card refreshes %q", got)
	}

	// The primary becomes unusable outside the portal; the page cannot know.
	name := e.clusterByID(primary).Name
	e.sim.SetClusterStatus(simProject, name, "UNAVAILABLE")

	e.later.Advance(time.Minute) // past the interval since filing checked them
	calls := e.sim.TotalCalls()
	res := check(req)
	if res.status != http.StatusSeeOther {
		t.Fatalf("check now: %d %s", res.status, res.text("main"))
	}
	if e.sim.TotalCalls() == calls {
		t.Fatal("check now did not ask the cloud")
	}
	checked := e.events(audit.ActionRequestChecked)
	if len(checked) != 1 || checked[0].RequestID != id || checked[0].Actor.Name != "req@example.com" {
		t.Fatalf("check events: %+v", checked)
	}
	res = req.get(page)
	if got := res.text(`[data-testid=check-problems]`); !strings.Contains(got, name) {
		t.Errorf("the page does not show the problem found: %q", got)
	}

	// Anyone else asking within the interval gets the recorded answer and
	// a clear refusal; nothing reaches the cloud, nothing is audited.
	admin := e.signedIn("admin@example.com")
	calls, events := e.sim.TotalCalls(), e.auditCount()
	res = check(admin, "HX-Request", "true")
	if res.status != http.StatusTooManyRequests || !strings.Contains(res.text(`[data-testid=check-notice]`), "checked at") {
		t.Errorf("second check: %d %q", res.status, res.text(`[data-testid=check-notice]`))
	}
	if e.sim.TotalCalls() != calls || e.auditCount() != events {
		t.Errorf("a refused check made %d calls and %d events", e.sim.TotalCalls()-calls, e.auditCount()-events)
	}

	// An auditor reads; it does not make the portal call the cloud.
	if res := check(e.signedIn("audit@example.com")); res.status != http.StatusForbidden {
		t.Errorf("auditor check: %d", res.status)
	}
	if res := e.signedIn("audit@example.com").get(page); res.doc.Find(`[data-testid=check-now]`).Length() != 0 {
		t.Error("the auditor is offered Check now")
	}
}
