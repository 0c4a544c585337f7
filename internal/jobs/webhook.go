package jobs

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/riverqueue/river"
)

// Webhook headers.
const (
	HeaderEvent     = "X-DR-Portal-Event"
	HeaderDelivery  = "X-DR-Portal-Delivery"
	HeaderSignature = "X-DR-Portal-Signature" // "sha256=" + hex HMAC-SHA256 of the body with the shared secret
)

// Sign returns the signature header value for a body.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

type webhookWorker struct {
	river.WorkerDefaults[webhookArgs]
	cfg *Config
}

var webhookClient = &http.Client{Timeout: 10 * time.Second}

// Work delivers one notification; a failed delivery is retried by the
// queue with growing delays, up to the job's attempts.
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
	req.Header.Set(HeaderEvent, job.Args.Event)
	req.Header.Set(HeaderDelivery, strconv.FormatInt(job.ID, 10))
	req.Header.Set(HeaderSignature, Sign(w.cfg.WebhookSecret, job.Args.Body))
	res, err := webhookClient.Do(req)
	if err != nil {
		return fmt.Errorf("webhook %s: %w", job.Args.Event, err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode < 200 || res.StatusCode >= 300 {
		return fmt.Errorf("webhook %s: receiver answered %s", job.Args.Event, res.Status)
	}
	return nil
}

// NextRetry retries a failed delivery after 2 s, 4 s, ... up to 10 minutes.
func (w *webhookWorker) NextRetry(job *river.Job[webhookArgs]) time.Time {
	return time.Now().Add(min(2*time.Second<<min(job.Attempt-1, 20), 10*time.Minute))
}
