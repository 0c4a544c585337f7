package jobs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/riverqueue/river"

	"drportal/internal/webhook"
)

type webhookWorker struct {
	river.WorkerDefaults[webhookArgs]
	cfg *Config
}

// webhookClient follows no redirect: a redirect would re-post the body and
// its signature to wherever the receiver points, another host included.
var webhookClient = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// Work delivers one notification; a failed delivery is retried by the
// queue with growing delays, up to the job's attempts. Each attempt is
// signed over its own timestamp, the delivery id and the event
// (webhook.Sign); the delivery id stays the same across attempts, for the
// receiver to de-duplicate on.
func (w *webhookWorker) Work(ctx context.Context, job *river.Job[webhookArgs]) error {
	if w.cfg.WebhookURL == "" {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.WebhookURL, bytes.NewReader(job.Args.Body))
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "dr-portal/1.0")
	ts := w.cfg.Now().Unix()
	req.Header.Set(webhook.HeaderEvent, job.Args.Event)
	req.Header.Set(webhook.HeaderDelivery, strconv.FormatInt(job.ID, 10))
	req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(webhook.HeaderSignature, webhook.Sign(w.cfg.WebhookSecret, ts, job.ID, job.Args.Event, job.Args.Body))
	res, err := webhookClient.Do(req)
	if err != nil {
		// The error is kept in the job's history and logged: it names the
		// receiver's host, never its path or query, which may hold a token.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("webhook %s to %s: %w", job.Args.Event, req.URL.Host, err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode >= 300 && res.StatusCode < 400 {
		return fmt.Errorf("webhook %s: the receiver redirected (%s); redirects are not followed: set WEBHOOK_URL to the address that accepts the delivery",
			job.Args.Event, res.Status)
	}
	if res.StatusCode < 200 || res.StatusCode >= 300 {
		return fmt.Errorf("webhook %s: receiver answered %s", job.Args.Event, res.Status)
	}
	return nil
}

// NextRetry retries a failed delivery after 2 s, 4 s, ... up to 10 minutes.
func (w *webhookWorker) NextRetry(job *river.Job[webhookArgs]) time.Time {
	return time.Now().Add(min(2*time.Second<<min(job.Attempt-1, 20), 10*time.Minute))
}
