package dwssim

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"drportal/internal/aksk"
)

// Gateway limits (docs/dws-dr-api.md §6.5).
const (
	maxClockSkew = 15 * time.Minute
	lockAfter    = 5 // more than this many consecutive failures lock the AK
	lockFor      = 5 * time.Minute
)

const authPrefix = "Incorrect IAM authentication information: verify aksk signature fail, "

// akState is the gateway's per-AK bookkeeping: consecutive signature
// failures, the lockout, and the throttling token bucket.
type akState struct {
	failures    int
	lockedUntil time.Time
	tokens      float64
	refilledAt  time.Time // zero: the bucket has not been used yet
}

func (s *Simulator) lookupSK(ak string) (string, bool) {
	sk, ok := s.creds[ak]
	return sk, ok
}

// authenticate verifies the AK/SK signature against the simulator's clock
// and applies the lockout. It returns the AK.
func (s *Simulator) authenticate(r *http.Request, body []byte) (string, *apiError) {
	now := s.clock.Now()
	ak, err := aksk.Verify(r, body, s.lookupSK, now, maxClockSkew)

	s.mu.Lock()
	defer s.mu.Unlock()
	// Only known AKs are tracked, so junk AKs cannot grow the map.
	st := s.aks[ak]
	if st != nil && now.Before(st.lockedUntil) {
		return ak, &apiError{Status: http.StatusUnauthorized, Code: CodeAuth, Gateway: true,
			Message: "Incorrect IAM authentication information: AK access failed to reach the limit, forbidden."}
	}
	if err == nil {
		st.failures = 0
		return ak, nil
	}
	if st != nil {
		st.failures++
		if st.failures > lockAfter {
			st.failures = 0
			st.lockedUntil = now.Add(lockFor)
		}
	}
	return ak, &apiError{Status: http.StatusUnauthorized, Code: CodeAuth, Gateway: true, Message: authMessage(ak, err)}
}

// authMessage words a verification failure the way the gateway does; a
// mismatch echoes the server's canonical request with | for newlines.
func authMessage(ak string, err error) string {
	var me *aksk.MismatchError
	if errors.As(err, &me) {
		return authPrefix + "ak:" + ak + ", canonicalRequest:" + strings.ReplaceAll(me.CanonicalRequest, "\n", "|")
	}
	return authPrefix + strings.TrimPrefix(err.Error(), "aksk: ")
}

// throttle takes a token from the AK's bucket, which holds
// RateLimitPerMinute tokens and refills continuously over a minute.
func (s *Simulator) throttle(ak string) *apiError {
	limit := float64(s.opts.RateLimitPerMinute)
	if limit == 0 {
		return nil
	}
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.aks[ak]
	if st.refilledAt.IsZero() {
		st.tokens, st.refilledAt = limit, now
	}
	if elapsed := now.Sub(st.refilledAt); elapsed > 0 {
		st.tokens = min(limit, st.tokens+elapsed.Minutes()*limit)
		st.refilledAt = now
	}
	if st.tokens < 1 {
		return &apiError{Status: http.StatusTooManyRequests, Code: CodeThrottled, Gateway: true,
			Message: fmt.Sprintf("The throttling threshold has been reached: policy user over ratelimit,limit:%d,time:1 minute", s.opts.RateLimitPerMinute)}
	}
	st.tokens--
	return nil
}
