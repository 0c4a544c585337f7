package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"drportal/internal/webhook"
)

const secret = "webhook-secret-for-tests"

var sent = time.Unix(1767225600, 0)

const (
	delivery = 42
	event    = "request.approved"
)

// signed is the headers the portal sends with body as delivery 42 of
// request.approved at ts.
func signed(ts int64, body []byte) http.Header {
	h := http.Header{}
	h.Set(webhook.HeaderEvent, event)
	h.Set(webhook.HeaderDelivery, strconv.Itoa(delivery))
	h.Set(webhook.HeaderTimestamp, strconv.FormatInt(ts, 10))
	h.Set(webhook.HeaderSignature, webhook.Sign(secret, ts, delivery, event, body))
	return h
}

// TestTheSignatureIsHMACOverTimestampDeliveryEventAndBody pins the signed
// message byte for byte: a receiver in another language builds exactly this.
func TestTheSignatureIsHMACOverTimestampDeliveryEventAndBody(t *testing.T) {
	body := []byte(`{"event":"request.filed"}`)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(`1767225600.42.request.filed.{"event":"request.filed"}`))
	want := "v1=" + hex.EncodeToString(m.Sum(nil))
	if got := webhook.Sign(secret, sent.Unix(), 42, "request.filed", body); got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
	h := http.Header{}
	h.Set(webhook.HeaderEvent, "request.filed")
	h.Set(webhook.HeaderDelivery, "42")
	h.Set(webhook.HeaderTimestamp, "1767225600")
	h.Set(webhook.HeaderSignature, want)
	if err := webhook.Verify(secret, h, body, sent, 0); err != nil {
		t.Errorf("Verify of the pinned signature = %v", err)
	}
}

// TestAReplayUnderAnotherDeliveryIDOrEventIsRefused: a captured delivery
// sent again within the tolerance verifies only with its own delivery id
// (which the receiver has seen, and de-duplicates) and its own event; with
// either header changed it fails Verify.
func TestAReplayUnderAnotherDeliveryIDOrEventIsRefused(t *testing.T) {
	body := []byte(`{"event":"request.approved","request":{"id":7}}`)
	captured := signed(sent.Unix(), body)
	replayAt := sent.Add(2 * time.Minute)
	if err := webhook.Verify(secret, captured, body, replayAt, 0); err != nil {
		t.Fatalf("the unchanged replay = %v; want nil, left to the receiver's de-duplication", err)
	}
	tests := []struct {
		name string
		set  map[string]string
	}{
		{"another delivery id", map[string]string{webhook.HeaderDelivery: "43"}},
		{"the delivery id with a leading zero", map[string]string{webhook.HeaderDelivery: "042"}},
		{"the delivery id taking part of the event", map[string]string{webhook.HeaderDelivery: "42.request", webhook.HeaderEvent: "approved"}},
		{"another event", map[string]string{webhook.HeaderEvent: "request.rejected"}},
		{"the event's case changed", map[string]string{webhook.HeaderEvent: "Request.Approved"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := captured.Clone()
			for k, v := range tt.set {
				h.Set(k, v)
			}
			if err := webhook.Verify(secret, h, body, replayAt, 0); !errors.Is(err, webhook.ErrBadSignature) {
				t.Errorf("replayed with %v: Verify = %v, want ErrBadSignature", tt.set, err)
			}
		})
	}
}

func TestVerifyAcceptsOnlyAGenuineFreshDelivery(t *testing.T) {
	body := []byte(`{"event":"request.approved","request":{"id":7}}`)
	good := signed(sent.Unix(), body)
	with := func(name, value string) http.Header {
		h := good.Clone()
		h.Set(name, value)
		return h
	}
	tests := []struct {
		name   string
		secret string
		header http.Header
		body   []byte
		now    time.Time
		tol    time.Duration
		want   error
	}{
		{"genuine", secret, good, body, sent.Add(30 * time.Second), 0, nil},
		{"at the edge of the default tolerance", secret, good, body, sent.Add(5 * time.Minute), 0, nil},
		{"receiver's clock behind", secret, good, body, sent.Add(-4 * time.Minute), 0, nil},
		{"replayed after the default tolerance", secret, good, body, sent.Add(5*time.Minute + time.Second), 0, webhook.ErrStale},
		{"from the future", secret, good, body, sent.Add(-6 * time.Minute), 0, webhook.ErrStale},
		{"replayed after a tighter tolerance", secret, good, body, sent.Add(2 * time.Minute), time.Minute, webhook.ErrStale},
		{"body changed", secret, good, []byte(`{"event":"request.approved","request":{"id":8}}`), sent, 0, webhook.ErrBadSignature},
		{"timestamp refreshed by a replayer", secret, with(webhook.HeaderTimestamp, strconv.FormatInt(sent.Unix()+600, 10)), body, sent.Add(10 * time.Minute), 0, webhook.ErrBadSignature},
		{"timestamp not canonical", secret, with(webhook.HeaderTimestamp, "+"+strconv.FormatInt(sent.Unix(), 10)), body, sent, 0, webhook.ErrBadSignature},
		{"timestamp not a number", secret, with(webhook.HeaderTimestamp, "yesterday"), body, sent, 0, webhook.ErrBadSignature},
		{"other secret", "another-secret-of-16+", good, body, sent, 0, webhook.ErrBadSignature},
		{"old body-only signature", secret, with(webhook.HeaderSignature, "sha256="+hex.EncodeToString(hmacOf(body))), body, sent, 0, webhook.ErrBadSignature},
		{"signature not hex", secret, with(webhook.HeaderSignature, "v1=zz"), body, sent, 0, webhook.ErrBadSignature},
		{"no signature", secret, with(webhook.HeaderSignature, ""), body, sent, 0, webhook.ErrNoSignature},
		{"no timestamp", secret, with(webhook.HeaderTimestamp, ""), body, sent, 0, webhook.ErrNoSignature},
		{"no delivery id", secret, with(webhook.HeaderDelivery, ""), body, sent, 0, webhook.ErrNoSignature},
		{"no event", secret, with(webhook.HeaderEvent, ""), body, sent, 0, webhook.ErrNoSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := webhook.Verify(tt.secret, tt.header, tt.body, tt.now, tt.tol)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func hmacOf(body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return m.Sum(nil)
}

// FuzzVerify: whatever the headers and body, Verify does not panic, and it
// accepts a delivery only when its signature is the one Sign makes of its
// timestamp, delivery id, event and body.
func FuzzVerify(f *testing.F) {
	f.Add("1767225600", "42", event, "v1=00", []byte(`{}`), int64(0))
	f.Add("1767225600", "42", event, webhook.Sign(secret, 1767225600, 42, event, []byte(`{}`)), []byte(`{}`), int64(10))
	f.Add("1767225600", "42.request", "approved", webhook.Sign(secret, 1767225600, 42, event, []byte(`{}`)), []byte(`{}`), int64(10))
	f.Add("9223372036854775807", "9223372036854775807", "", "v1=", []byte(nil), int64(-1<<62))
	f.Fuzz(func(t *testing.T, ts, id, ev, sig string, body []byte, skew int64) {
		h := http.Header{}
		h.Set(webhook.HeaderTimestamp, ts)
		h.Set(webhook.HeaderDelivery, id)
		h.Set(webhook.HeaderEvent, ev)
		h.Set(webhook.HeaderSignature, sig)
		err := webhook.Verify(secret, h, body, sent.Add(time.Duration(skew)), 0)
		if err != nil {
			return
		}
		n, perr := strconv.ParseInt(ts, 10, 64)
		d, derr := strconv.ParseInt(id, 10, 64)
		if perr != nil || derr != nil || strconv.FormatInt(d, 10) != h.Get(webhook.HeaderDelivery) ||
			!strings.EqualFold(h.Get(webhook.HeaderSignature), webhook.Sign(secret, n, d, h.Get(webhook.HeaderEvent), body)) {
			t.Fatalf("accepted ts=%q delivery=%q event=%q sig=%q body=%q", ts, id, ev, sig, body)
		}
	})
}
