package dws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"time"
)

// Attempt is one HTTP attempt to the DWS API, as the audit log records it.
// It never holds a secret: no Authorization, no security token, no SK.
type Attempt struct {
	Operation   string // e.g. "create", "detail"
	TaskID      string // the DR task concerned, when known
	Number      int    // 1 for the first attempt of a call, 2 for its first retry, ...
	Method      string
	Path        string
	Query       string
	RequestBody []byte // exact bytes sent (JSON), before redaction by the recorder
	StatusCode  int    // 0 when no response arrived
	ErrorCode   string
	ErrorMsg    string
	RequestID   string // X-Request-Id of the response
	Error       string // transport error, when no response arrived
	Started     time.Time
	Latency     time.Duration
}

// AttemptRecorder receives every HTTP attempt when it ends. The entry point
// wires it to the audit log; ctx is the context of the call that made it.
type AttemptRecorder interface {
	RecordAttempt(ctx context.Context, a Attempt)
}

// maxResponseBody bounds what the client reads of a response: DR answers
// are small, and a runaway body must not exhaust memory.
const maxResponseBody = 8 << 20

// attemptTransport reports every attempt of one call. One is made per call
// so it carries the call's context: the SDK's methods take none, so this is
// where cancellation and the audit correlation enter.
type attemptTransport struct {
	ctx       context.Context
	base      http.RoundTripper
	recorder  AttemptRecorder
	operation string
	taskID    string
	number    int
	timeout   time.Duration // per attempt; enforced here so a timeout is reported as one
	now       func() time.Time
	// created receives the id of a created task from its response.
	created *string
	// body, when set, receives the exact bytes of a successful (2xx)
	// response, for keeping the answer as read.
	body *[]byte
}

var taskIDInPath = regexp.MustCompile(`/disaster-recovery/([0-9a-fA-F-]{36})(?:/|$)`)

func (t *attemptTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		body, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
	}

	// Cancel the attempt when either the SDK's per-attempt timeout or the
	// caller's context ends.
	ctx, cancel := context.WithCancelCause(req.Context())
	stop := context.AfterFunc(t.ctx, func() { cancel(context.Cause(t.ctx)) })
	defer func() { stop(); cancel(nil) }()
	if t.timeout > 0 {
		var cancelT context.CancelFunc
		ctx, cancelT = context.WithTimeoutCause(ctx, t.timeout,
			fmt.Errorf("no answer within %s: %w", t.timeout, context.DeadlineExceeded))
		defer cancelT()
	}
	req = req.WithContext(ctx)

	a := Attempt{
		Operation:   t.operation,
		TaskID:      t.taskID,
		Number:      t.number,
		Method:      req.Method,
		Path:        req.URL.Path,
		Query:       req.URL.RawQuery,
		RequestBody: body,
		Started:     t.now(),
	}
	if a.TaskID == "" {
		if m := taskIDInPath.FindStringSubmatch(a.Path); m != nil {
			a.TaskID = m[1]
		}
	}
	resp, err := t.base.RoundTrip(req)
	if err == nil {
		// Read the whole body now, while the context is alive, so the
		// recorded outcome is the one the SDK will see.
		var data []byte
		data, err = io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(data))
		if err == nil {
			a.StatusCode = resp.StatusCode
			a.RequestID = cleanRequestID(resp.Header.Get("X-Request-Id"))
			if resp.StatusCode >= 300 {
				a.ErrorCode, a.ErrorMsg = parseErrorBody(data)
			} else if t.body != nil {
				*t.body = data
			}
			if resp.StatusCode < 300 && t.created != nil {
				var r struct {
					DR struct {
						ID string `json:"id"`
					} `json:"disaster_recovery"`
				}
				if json.Unmarshal(data, &r) == nil && ValidID(r.DR.ID) {
					*t.created = r.DR.ID
					a.TaskID = r.DR.ID
				}
			}
		} else {
			resp = nil
		}
	}
	if err != nil {
		a.Error = err.Error()
		if c := context.Cause(ctx); c != nil && ctx.Err() != nil {
			a.Error = c.Error()
		}
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
			a.Error = "timed out waiting for the DWS API: " + a.Error
		}
		a.Error = clean(a.Error, maxMessage)
	}
	a.Latency = t.now().Sub(a.Started)
	if t.recorder != nil {
		t.recorder.RecordAttempt(t.ctx, a)
	}
	return resp, err
}

// parseErrorBody reads an error body the way the SDK does: error_code with
// error_msg, then code with message, then a nested "error" object, and
// finally the raw body as the message.
func parseErrorBody(data []byte) (code, msg string) {
	code, msg = parseErrorFields(data)
	return clean(code, maxField), clean(msg, maxMessage)
}

func parseErrorFields(data []byte) (code, msg string) {
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return "", truncate(string(data), 2000)
	}
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	code, msg = str(m, "error_code"), str(m, "error_msg")
	if code == "" && msg == "" {
		code, msg = str(m, "code"), str(m, "message")
	}
	if code == "" && msg == "" {
		if inner, ok := m["error"].(map[string]any); ok {
			code, msg = str(inner, "code"), str(inner, "message")
		}
	}
	if code == "" && msg == "" {
		msg = truncate(string(data), 2000)
	}
	return code, msg
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
