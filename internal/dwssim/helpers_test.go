package dwssim_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"drportal/internal/aksk"
	"drportal/internal/dwssim"
)

// Fake keys of docs/dws-dr-api.md §6.4 (c).
const (
	testAK = "EXAMPLEAK0000000000"
	testSK = "EXAMPLEsk0000000000000000000000000000000"
	pid    = "0123456789abcdef0123456789abcdef"
	host   = "dws.cn-north-4.myhuaweicloud.com"
)

var t0 = time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)

var requestIDRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

type env struct {
	t     *testing.T
	sim   *dwssim.Simulator
	clock *dwssim.FakeClock
}

func newEnv(t *testing.T, mod ...func(*dwssim.Options)) *env {
	t.Helper()
	clock := dwssim.NewFakeClock(t0)
	opts := dwssim.Options{Credentials: map[string]string{testAK: testSK}, Clock: clock, Seed: 1}
	for _, m := range mod {
		m(&opts)
	}
	sim, err := dwssim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, sim: sim, clock: clock}
}

// result is a response read in full.
type result struct {
	status int
	header http.Header
	body   []byte
}

// errorCode decodes an error answer.
func (r result) errorCode() (code, msg, requestID string) {
	var e struct {
		Code      string `json:"error_code"`
		Msg       string `json:"error_msg"`
		RequestID string `json:"request_id"`
	}
	_ = json.Unmarshal(r.body, &e)
	return e.Code, e.Msg, e.RequestID
}

// requestOpt adjusts a request before it is signed (or replaces the
// signature afterwards, through after).
type requestOpt struct {
	before func(*http.Request)
	after  func(*http.Request)
	ak, sk string
}

// signedRequest builds a request signed the SDK way at the simulator's time.
func (e *env) signedRequest(method, path, body string, opts ...requestOpt) *http.Request {
	e.t.Helper()
	r := httptest.NewRequest(method, "http://"+host+path, strings.NewReader(body))
	r.Header.Set("User-Agent", "huaweicloud-usdk-go/3.0; dr-portal-test")
	r.Header.Set("X-Project-Id", pid)
	if method == http.MethodPost || method == http.MethodPut {
		r.Header.Set("Content-Type", "application/json;charset=UTF-8")
	} else {
		r.Header.Set("Content-Type", "application/json")
	}
	ak, sk := testAK, testSK
	for _, o := range opts {
		if o.before != nil {
			o.before(r)
		}
		if o.ak != "" {
			ak, sk = o.ak, o.sk
		}
	}
	if err := aksk.Sign(r, []byte(body), ak, sk, e.clock.Now()); err != nil {
		e.t.Fatal(err)
	}
	for _, o := range opts {
		if o.after != nil {
			o.after(r)
		}
	}
	return r
}

func (e *env) do(method, path, body string, opts ...requestOpt) result {
	e.t.Helper()
	return e.serve(e.signedRequest(method, path, body, opts...))
}

func (e *env) serve(r *http.Request) result {
	w := httptest.NewRecorder()
	e.sim.ServeHTTP(w, r)
	return result{status: w.Code, header: w.Header(), body: w.Body.Bytes()}
}

func (e *env) cluster(name string) dwssim.Cluster {
	e.t.Helper()
	c, ok := e.sim.Cluster(pid, name)
	if !ok {
		e.t.Fatalf("no cluster %s", name)
	}
	return c
}

func createBody(name, primaryID, standbyID, period string) string {
	return createBodyOfType("az", name, primaryID, standbyID, period)
}

func createBodyOfType(drType, name, primaryID, standbyID, period string) string {
	b, _ := json.Marshal(map[string]any{"disaster_recovery": map[string]string{
		"name": name, "dr_type": drType, "primary_cluster_id": primaryID,
		"standby_cluster_id": standbyID, "dr_sync_period": period,
	}})
	return string(b) + "\n" // the SDK's json.Encoder adds the newline
}

// create makes a task between two named clusters and returns its ID.
func (e *env) create(name, primary, standby string) string {
	e.t.Helper()
	res := e.do("POST", "/v2/"+pid+"/disaster-recoveries",
		createBody(name, e.cluster(primary).ID, e.cluster(standby).ID, "5m"))
	if res.status != http.StatusOK {
		e.t.Fatalf("create %s: %d %s", name, res.status, res.body)
	}
	var out struct {
		DR struct {
			ID string `json:"id"`
		} `json:"disaster_recovery"`
	}
	if err := json.Unmarshal(res.body, &out); err != nil || out.DR.ID == "" {
		e.t.Fatalf("create %s: body %s", name, res.body)
	}
	return out.DR.ID
}

func expectError(t *testing.T, res result, status int, code string) {
	t.Helper()
	if res.status != status {
		t.Fatalf("status %d, want %d; body %s", res.status, status, res.body)
	}
	if got, _, _ := res.errorCode(); got != code {
		t.Fatalf("error_code %q, want %q; body %s", got, code, res.body)
	}
}

// decodeObject decodes a JSON object keeping numbers as json.Number.
func decodeObject(t *testing.T, b []byte) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return m
}
