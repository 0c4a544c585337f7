// Package webhook is the signature of the portal's webhook deliveries: how
// the sender signs a delivery and how a receiver checks it. It uses the
// standard library only, so a receiver written in Go can copy this file.
//
// A delivery is signed over its timestamp, its delivery id, its event and
// its raw body, joined with dots:
//
//	X-DR-Portal-Event:     request.filed
//	X-DR-Portal-Delivery:  42
//	X-DR-Portal-Timestamp: 1767225600
//	X-DR-Portal-Signature: v1=<hex HMAC-SHA256(secret, "1767225600" + "." + "42" + "." + "request.filed" + "." + body)>
//
// The receiver recomputes the HMAC over those three headers and the body
// exactly as received, compares it in constant time, refuses a timestamp
// more than a few minutes from its own clock (an old delivery replayed),
// and de-duplicates on X-DR-Portal-Delivery, which stays the same across
// the retries of one notification while the timestamp and signature are
// made anew for each attempt. Because the delivery id is signed, a replay
// within the tolerance cannot dodge the de-duplication by changing it, and
// because the event is signed, it cannot be relabelled.
//
// The timestamp and the delivery id are decimal digits, so the first two
// dots of the message are always separators; Verify refuses anything else.
// The event has dots of its own ("request.filed"): moving its last part
// into the body ("request" and "filed." + body) keeps the message and the
// delivery id, so the receiver's de-duplication still catches it, and the
// body is no longer the JSON object the receiver parses.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The headers of a delivery.
const (
	HeaderEvent     = "X-DR-Portal-Event"     // the notification's event, as in its body
	HeaderDelivery  = "X-DR-Portal-Delivery"  // one notification's id, the same on every retry
	HeaderTimestamp = "X-DR-Portal-Timestamp" // Unix seconds when this attempt was sent
	HeaderSignature = "X-DR-Portal-Signature" // "v1=" + hex HMAC-SHA256 of timestamp.delivery.event.body
)

// SignaturePrefix names the signing scheme: HMAC-SHA256 over
// timestamp + "." + delivery + "." + event + "." + body.
const SignaturePrefix = "v1="

// DefaultTolerance is how far a delivery's timestamp may be from the
// receiver's clock when Verify is given no tolerance.
const DefaultTolerance = 5 * time.Minute

// Errors of Verify.
var (
	ErrNoSignature  = errors.New("webhook: missing one of the " + HeaderSignature + ", " + HeaderTimestamp + ", " + HeaderDelivery + " and " + HeaderEvent + " headers")
	ErrBadSignature = errors.New("webhook: signature does not match")
	ErrStale        = errors.New("webhook: timestamp outside the tolerance (an old delivery replayed, or a clock off)")
)

// Sign returns the signature header value of body sent at timestamp (Unix
// seconds) as delivery (the notification's id) of event, with the shared
// secret.
func Sign(secret string, timestamp, delivery int64, event string, body []byte) string {
	return SignaturePrefix + hex.EncodeToString(mac(secret, strconv.FormatInt(timestamp, 10), strconv.FormatInt(delivery, 10), event, body))
}

// message is what a delivery's signature is the HMAC of:
// timestamp + "." + delivery + "." + event + "." + body.
func message(timestamp, delivery, event string, body []byte) []byte {
	m := make([]byte, 0, len(timestamp)+len(delivery)+len(event)+len(body)+3)
	m = append(m, timestamp...)
	m = append(m, '.')
	m = append(m, delivery...)
	m = append(m, '.')
	m = append(m, event...)
	m = append(m, '.')
	return append(m, body...)
}

func mac(secret, timestamp, delivery, event string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(message(timestamp, delivery, event, body))
	return m.Sum(nil)
}

// Verify checks a received delivery: the signature over the timestamp,
// delivery and event headers and the raw body, compared in constant time,
// and a timestamp no further than tolerance (DefaultTolerance when 0 or
// less) from now in either direction. It returns nil only for a genuine,
// fresh delivery; the receiver still de-duplicates on HeaderDelivery.
func Verify(secret string, header http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	ts, sig := header.Get(HeaderTimestamp), header.Get(HeaderSignature)
	delivery, event := header.Get(HeaderDelivery), header.Get(HeaderEvent)
	if ts == "" || sig == "" || delivery == "" || event == "" {
		return ErrNoSignature
	}
	hexSig, ok := strings.CutPrefix(sig, SignaturePrefix)
	if !ok {
		return fmt.Errorf("%w: expected %s<hex>", ErrBadSignature, SignaturePrefix)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return fmt.Errorf("%w: not hex", ErrBadSignature)
	}
	sent, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || strconv.FormatInt(sent, 10) != ts {
		// Only the canonical decimal form: "+1767225600" or "01767225600"
		// would be another message with the same meaning.
		return fmt.Errorf("%w: timestamp %q is not Unix seconds", ErrBadSignature, ts)
	}
	if id, err := strconv.ParseInt(delivery, 10, 64); err != nil || id <= 0 || strconv.FormatInt(id, 10) != delivery {
		// Digits only: a dot in the id would let "7.request" + "filed"
		// pass for "7" + "request.filed", a new id for the same message.
		return fmt.Errorf("%w: delivery id %q is not a positive decimal", ErrBadSignature, delivery)
	}
	if !hmac.Equal(got, mac(secret, ts, delivery, event, body)) {
		return ErrBadSignature
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	if d := now.Sub(time.Unix(sent, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: sent %s, now %s", ErrStale, time.Unix(sent, 0).UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return nil
}
