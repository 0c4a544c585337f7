package handlers_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"drportal/internal/portal"
)

// TestAnOpenDisclosureStaysOpenWhenItsPanelRefreshes: on a request page
// whose card and history poll, "Exact bytes" and an event's details that
// the reader opened are still open after both have refreshed.
func TestAnOpenDisclosureStaysOpenWhenItsPanelRefreshes(t *testing.T) {
	e := newEnv(t)
	n := e.pendingCreate("dr_open01")
	ctx := headless(t, 1280, 900)
	e.signInBrowser(t, ctx, "req@example.com")
	browse(t, ctx, "open the pending request",
		chromedp.Navigate(fmt.Sprintf("%s/requests/%d", e.srv.URL, n)),
		chromedp.WaitVisible(chromedp.CSS(`#exact-bytes`)))
	until(t, ctx, "htmx wires the card", `!!document.getElementById('request-card')['htmx-internal-data']`, 10*time.Second)
	browse(t, ctx, "open the disclosures",
		chromedp.Click(chromedp.CSS(`#exact-bytes`)),
		chromedp.Click(chromedp.CSS(`#request-timeline details[id] summary`)))
	event := eval[string](t, ctx, `document.querySelector('#request-timeline details[id]').id`)
	if !eval[bool](t, ctx, `document.getElementById('exact-bytes-disclosure').open && document.getElementById('`+event+`').open`) {
		t.Fatal("the disclosures did not open")
	}
	eval[bool](t, ctx, `window.oldCard = document.getElementById('request-card'); window.oldTimeline = document.getElementById('request-timeline'); true`)
	until(t, ctx, "both refresh", `document.getElementById('request-card') !== window.oldCard && document.getElementById('request-timeline') !== window.oldTimeline`, 15*time.Second)
	time.Sleep(300 * time.Millisecond)
	if !eval[bool](t, ctx, `document.getElementById('exact-bytes-disclosure').open`) {
		t.Error("Exact bytes closed when the card refreshed")
	}
	if !eval[bool](t, ctx, `document.getElementById('`+event+`').open`) {
		t.Errorf("the event's details (%s) closed when the history refreshed", event)
	}
}

// TestTheNoteAfterFilingStaysWhileTheRequestIsPending: the note that says
// what happens next stays on the requester's card through its refreshes
// while the request is pending, and goes once the request moves on.
func TestTheNoteAfterFilingStaysWhileTheRequestIsPending(t *testing.T) {
	e := newEnv(t)
	id := e.createTask("dr_note01")
	ctx := headless(t, 1280, 900)
	e.signInBrowser(t, ctx, "req@example.com")
	browse(t, ctx, "file a change of the sync period",
		chromedp.Navigate(e.srv.URL+"/dr-tasks/"+id+"/operations/update"),
		chromedp.WaitVisible(chromedp.CSS(`#dr_sync_period`)),
		chromedp.SendKeys(chromedp.CSS(`#dr_sync_period`), "10"),
		chromedp.SendKeys(chromedp.CSS(`#justification`), "fewer sync cycles at night"),
		chromedp.Click(chromedp.CSS(`[data-testid=file-operation]`)),
		chromedp.WaitVisible(chromedp.CSS(`#request-card [data-testid=flash]`)))
	note := eval[string](t, ctx, `document.querySelector('[data-testid=flash]').textContent`)
	if !strings.Contains(note, "filed") {
		t.Fatalf("after filing the note says %q", note)
	}
	until(t, ctx, "htmx wires the card", `!!document.getElementById('request-card')['htmx-internal-data']`, 10*time.Second)
	eval[bool](t, ctx, `window.oldCard = document.getElementById('request-card'); true`)
	until(t, ctx, "the card refreshes", `document.getElementById('request-card') !== window.oldCard`, 15*time.Second)
	time.Sleep(300 * time.Millisecond)
	if got := eval[string](t, ctx, `(document.querySelector('#request-card [data-testid=flash]') || {}).textContent || ''`); got != note {
		t.Errorf("after the card's refresh the note is %q, was %q", got, note)
	}

	var n int64
	if _, err := fmt.Sscanf(eval[string](t, ctx, `location.pathname`), "/requests/%d", &n); err != nil {
		t.Fatal(err)
	}
	e.decide(e.signedIn("admin@example.com"), n, "approve", "")
	e.waitRequest(n, portal.StatusSucceeded)
	until(t, ctx, "the card shows the request moved on", `document.getElementById('request-card').getAttribute('data-status') !== 'pending'`, 15*time.Second)
	if eval[bool](t, ctx, `!!document.querySelector('[data-testid=flash]')`) {
		t.Error("the note stayed after the request left pending")
	}
}
