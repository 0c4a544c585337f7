package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"drportal/internal/jobs"
	"drportal/internal/portal"
	"drportal/internal/requests"
	"drportal/internal/webhook"
)

const hookSecret = "webhook-secret-for-tests"

// delivery is one POST a receiver got.
type delivery struct {
	header http.Header
	body   []byte
}

// receiver is a webhook endpoint that keeps what it got and answers with
// answer (200 when nil).
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []delivery
	answer func(w http.ResponseWriter, n int) // n: this delivery's number, from 1
}

func newReceiver(t *testing.T, answer func(w http.ResponseWriter, n int)) *receiver {
	t.Helper()
	rc := &receiver{answer: answer}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, delivery{header: r.Header.Clone(), body: body})
		n := len(rc.got)
		rc.mu.Unlock()
		if rc.answer != nil {
			rc.answer(w, n)
		}
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) deliveries() []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]delivery(nil), rc.got...)
}

// notifyTo makes the world's requests announce their transitions to url,
// and starts an executor that delivers them with the test secret.
func (w *world) notifyTo(url string) {
	w.t.Helper()
	outbox, err := jobs.NewOutbox(w.store.Pool(), jobs.OutboxConfig{BaseURL: "http://portal.test", WebhookURL: url})
	if err != nil {
		w.t.Fatal(err)
	}
	w.reqs = &requests.Service{Store: w.store, Now: time.Now, Outbox: outbox}
	w.start(w.client, func(c *jobs.Config) { c.WebhookURL, c.WebhookSecret = url, hookSecret })
}

// file files a request that nobody decides: its one notification is
// "filed".
func (w *world) file(name string) portal.Request {
	w.t.Helper()
	r, err := w.reqs.File(w.as("req"), w.users["req"], requests.Draft{Operation: portal.OpCreate, TaskName: name,
		Method: "POST", Path: "/v2/" + project + "/disaster-recoveries", Payload: []byte(`{}`), Justification: "webhook test run"})
	if err != nil {
		w.t.Fatal(err)
	}
	return r
}

// webhookJob is the queue's record of the one webhook job.
func (w *world) webhookJob() (state string, attempt int, lastError string) {
	w.t.Helper()
	err := w.store.Pool().QueryRow(context.Background(), `
		SELECT state::text, attempt, coalesce(errors[array_length(errors, 1)]->>'error', '')
		FROM river_job WHERE kind = 'webhook'`).Scan(&state, &attempt, &lastError)
	if err != nil {
		w.t.Fatal(err)
	}
	return state, attempt, lastError
}

// TestAWebhookIsNotRedirectedToAnotherHost: a receiver that answers with a
// redirect (307, which would re-post the body and its signature) gets a
// failed delivery that is retried; the host it points to never hears of the
// notification.
func TestAWebhookIsNotRedirectedToAnotherHost(t *testing.T) {
	w := newWorld(t)
	elsewhere := newReceiver(t, nil)
	redirecting := newReceiver(t, func(rw http.ResponseWriter, _ int) {
		rw.Header().Set("Location", elsewhere.srv.URL+"/collect")
		rw.WriteHeader(http.StatusTemporaryRedirect)
	})
	w.notifyTo(redirecting.srv.URL)
	w.file("dr_redirect")

	awaitAtLeast(t, "deliveries to the configured receiver", 1, func() int { return len(redirecting.deliveries()) })
	var state, lastError string
	// The attempt is over once the queue has its outcome (a retry due
	// soon is put back as available at once, with the attempt counted).
	awaitAtLeast(t, "finished attempts", 1, func() int {
		var attempt int
		state, attempt, lastError = w.webhookJob()
		if state == "running" {
			return 0
		}
		return attempt
	})
	if got := elsewhere.deliveries(); len(got) != 0 {
		t.Fatalf("the redirect was followed: the other host got %d deliveries, the first with signature %q",
			len(got), got[0].header.Get(webhook.HeaderSignature))
	}
	if (state != "retryable" && state != "available") || !strings.Contains(lastError, "redirected") || !strings.Contains(lastError, "redirects are not followed") {
		t.Errorf("webhook job %s, last error %q; want a retryable failure that says the receiver redirected", state, lastError)
	}
}

// TestEachWebhookAttemptIsSignedOverItsTimestamp: every attempt carries the
// time it was sent, the signature covers timestamp.delivery.event.body and
// verifies with webhook.Verify, a retry keeps the delivery id and gets a new
// timestamp, a delivery replayed later than the tolerance fails Verify, and
// so does one replayed in time under another delivery id or event.
func TestEachWebhookAttemptIsSignedOverItsTimestamp(t *testing.T) {
	w := newWorld(t)
	rc := newReceiver(t, func(rw http.ResponseWriter, n int) {
		if n == 1 {
			http.Error(rw, "not now", http.StatusServiceUnavailable)
		}
	})
	w.notifyTo(rc.srv.URL)
	before := time.Now().Unix()
	r := w.file("dr_signed")

	awaitAtLeast(t, "attempts (the first refused)", 2, func() int { return len(rc.deliveries()) })
	after := time.Now().Unix()
	got := rc.deliveries()
	var stamps []int64
	for i, d := range got[:2] {
		ts, err := strconv.ParseInt(d.header.Get(webhook.HeaderTimestamp), 10, 64)
		if err != nil || ts < before || ts > after {
			t.Fatalf("attempt %d: %s %q, want Unix seconds between %d and %d", i+1, webhook.HeaderTimestamp,
				d.header.Get(webhook.HeaderTimestamp), before, after)
		}
		stamps = append(stamps, ts)
		sent := time.Unix(ts, 0)
		if err := webhook.Verify(hookSecret, d.header, d.body, sent.Add(time.Second), 0); err != nil {
			t.Errorf("attempt %d does not verify: %v", i+1, err)
		}
		id, _ := strconv.ParseInt(d.header.Get(webhook.HeaderDelivery), 10, 64)
		if !strings.HasPrefix(d.header.Get(webhook.HeaderSignature), "v1=") ||
			d.header.Get(webhook.HeaderSignature) != webhook.Sign(hookSecret, ts, id, d.header.Get(webhook.HeaderEvent), d.body) {
			t.Errorf("attempt %d: signature %q is not v1 over timestamp.delivery.event.body", i+1, d.header.Get(webhook.HeaderSignature))
		}
		var n struct {
			Event   string `json:"event"`
			Request struct {
				ID int64 `json:"id"`
			} `json:"request"`
		}
		if err := json.Unmarshal(d.body, &n); err != nil || n.Event != requests.EventFiled ||
			d.header.Get(webhook.HeaderEvent) != n.Event || n.Request.ID != r.ID {
			t.Errorf("attempt %d: event %q body %s", i+1, d.header.Get(webhook.HeaderEvent), d.body)
		}
		// The same bytes sent again later are refused for their age.
		if err := webhook.Verify(hookSecret, d.header, d.body, sent.Add(webhook.DefaultTolerance+time.Minute), 0); !errors.Is(err, webhook.ErrStale) {
			t.Errorf("attempt %d replayed six minutes later: Verify = %v, want ErrStale", i+1, err)
		}
		// Sent again in time under a new id (to pass the receiver's
		// de-duplication) or as another event, they are refused.
		for name, value := range map[string]string{
			webhook.HeaderDelivery: strconv.FormatInt(id+1, 10),
			webhook.HeaderEvent:    requests.EventApproved,
		} {
			h := d.header.Clone()
			h.Set(name, value)
			if err := webhook.Verify(hookSecret, h, d.body, sent.Add(time.Second), 0); !errors.Is(err, webhook.ErrBadSignature) {
				t.Errorf("attempt %d replayed with %s %s: Verify = %v, want ErrBadSignature", i+1, name, value, err)
			}
		}
	}
	if stamps[1] <= stamps[0] {
		t.Errorf("the retry kept the first attempt's timestamp %d (got %d)", stamps[0], stamps[1])
	}
	if a, b := got[0].header.Get(webhook.HeaderDelivery), got[1].header.Get(webhook.HeaderDelivery); a == "" || a != b {
		t.Errorf("delivery ids %q and %q: a retry keeps its notification's id", a, b)
	}
}
