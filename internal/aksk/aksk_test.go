package aksk

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Fake keys and request data of docs/dws-dr-api.md §6.4 (c).
const (
	drAK      = "EXAMPLEAK0000000000"
	drSK      = "EXAMPLEsk0000000000000000000000000000000"
	drProject = "0123456789abcdef0123456789abcdef"
	drHost    = "https://dws.cn-north-4.myhuaweicloud.com"
	drBody    = `{"disaster_recovery":{"name":"dr_demo01","dr_type":"az","primary_cluster_id":"11111111-1111-1111-1111-111111111111","standby_cluster_id":"22222222-2222-2222-2222-222222222222","dr_sync_period":"5m"}}` + "\n"
)

var drDate = time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)

func newRequest(t *testing.T, method, target string, body []byte, headers map[string]string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, target, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		r.Header.Set(k, v)
	}
	return r
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func lookupOf(ak, sk string) func(string) (string, bool) {
	return func(a string) (string, bool) {
		if a == ak {
			return sk, true
		}
		return "", false
	}
}

// Vector (a): the official signing guide's example.
func TestVectorSigningGuide(t *testing.T) {
	const sk = "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc"
	wantCR := "GET\n" +
		"/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs/\n" +
		"limit=2&marker=13551d6b-755d-4757-b956-536f674975c0\n" +
		"content-type:application/json\n" +
		"host:service.region.example.com\n" +
		"x-sdk-date:20191115T033655Z\n" +
		"\n" +
		"content-type;host;x-sdk-date\n" +
		EmptyPayloadHash
	const wantSig = "7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe"
	now := time.Date(2019, 11, 15, 3, 36, 55, 0, time.UTC)

	r := newRequest(t, "GET", "https://service.region.example.com/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs?limit=2&marker=13551d6b-755d-4757-b956-536f674975c0",
		nil, map[string]string{"Content-Type": "application/json", HeaderDate: "20191115T033655Z"})
	cr := CanonicalRequest(r, []string{"content-type", "host", "x-sdk-date"}, PayloadHash(r, nil))
	if cr != wantCR {
		t.Fatalf("canonical request:\n%q\nwant\n%q", cr, wantCR)
	}
	if got := sha256Hex(cr); got != "b25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a" {
		t.Errorf("canonical request hash = %s", got)
	}
	if got := Signature(cr, "20191115T033655Z", sk); got != wantSig {
		t.Errorf("signature = %s, want %s", got, wantSig)
	}

	if err := SignWithHeaders(r, nil, "AK", sk, now, []string{"content-type", "host"}); err != nil {
		t.Fatal(err)
	}
	if want := "SDK-HMAC-SHA256 Access=AK, SignedHeaders=content-type;host;x-sdk-date, Signature=" + wantSig; r.Header.Get("Authorization") != want {
		t.Errorf("Authorization = %q, want %q", r.Header.Get("Authorization"), want)
	}
	ak, err := Verify(r, nil, lookupOf("AK", sk), now.Add(time.Minute), 15*time.Minute)
	if err != nil || ak != "AK" {
		t.Errorf("Verify = %q, %v", ak, err)
	}
}

// Vector (b): the Go SDK's own unit tests.
func TestVectorSDK(t *testing.T) {
	now := time.Date(2006, 1, 2, 15, 4, 5, 0, time.UTC)
	tests := []struct {
		name, method, target string
		body                 string
		headers              map[string]string
		wantAuth             string
	}{
		{
			name: "GET", method: "GET", target: "https://example.huaweicloud.com/path?limit=1",
			headers:  map[string]string{"TEST_UNDERSCORE": "TEST_VALUE"},
			wantAuth: "SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=x-sdk-date, Signature=5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c3166c03d58d02ac79624",
		},
		{
			name: "POST", method: "POST", target: "https://example.huaweicloud.com/path?key=value",
			body:     `{"Name":"test","Id":1}` + "\n",
			headers:  map[string]string{"TEST_UNDERSCORE": "TEST_VALUE", "Content-Type": "application/json"},
			wantAuth: "SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=x-sdk-date, Signature=cecc2af119b18ab70b4d094c0750f3b42c02f254903179a0fc2cc72fc9db4f59",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRequest(t, tt.method, tt.target, []byte(tt.body), tt.headers)
			if err := Sign(r, []byte(tt.body), "AccessKey", "SecretKey", now); err != nil {
				t.Fatal(err)
			}
			if got := r.Header.Get(HeaderDate); got != "20060102T150405Z" {
				t.Errorf("X-Sdk-Date = %q", got)
			}
			if got := r.Header.Get("Authorization"); got != tt.wantAuth {
				t.Errorf("Authorization = %q\nwant %q", got, tt.wantAuth)
			}
			ak, err := Verify(r, []byte(tt.body), lookupOf("AccessKey", "SecretKey"), now, 15*time.Minute)
			if err != nil || ak != "AccessKey" {
				t.Errorf("Verify = %q, %v", ak, err)
			}
		})
	}

	t.Run("GET canonical request", func(t *testing.T) {
		r := newRequest(t, "GET", "https://example.huaweicloud.com/path?limit=1", nil,
			map[string]string{HeaderDate: "20060102T150405Z"})
		cr := CanonicalRequest(r, []string{"x-sdk-date"}, PayloadHash(r, nil))
		want := "GET\n/path/\nlimit=1\nx-sdk-date:20060102T150405Z\n\nx-sdk-date\n" + EmptyPayloadHash
		if cr != want {
			t.Errorf("canonical request %q, want %q", cr, want)
		}
		if got := sha256Hex(cr); got != "85c3b7730f308aee452b16138a42a914397e43a8f0d732dfa521c0ef2afa98a4" {
			t.Errorf("hash = %s", got)
		}
	})
}

// Vector (b), escaping: the query survives Go's URL encoding and comes out
// in the canonical form the SDK produces.
func TestVectorQueryEscaping(t *testing.T) {
	q := url.Values{
		"limit":  {"1"},
		"enable": {"true"},
		"test":   {"一 (&=?!#%.*)"},
		"path":   {"/tmp/123"},
		"multi":  {"3", "1", "2"},
	}
	const want = "enable=true&limit=1&multi=1&multi=2&multi=3&path=%2Ftmp%2F123&test=%E4%B8%80%20%28%26%3D%3F%21%23%25.%2A%29"
	if got := canonicalQuery(q); got != want {
		t.Errorf("canonicalQuery = %s\nwant %s", got, want)
	}
	r := newRequest(t, "GET", "https://example.huaweicloud.com/path?"+q.Encode(), nil, nil)
	lines := strings.Split(CanonicalRequest(r, nil, EmptyPayloadHash), "\n")
	if lines[2] != want {
		t.Errorf("query line = %s\nwant %s", lines[2], want)
	}
}

// Vector (c): DR requests with fake keys.
func TestVectorDR(t *testing.T) {
	t.Run("create, SDK style", func(t *testing.T) {
		if got := sha256Hex(drBody); got != "af7b6fa0fa60cf5960ce1a7d12382aaf025bc5b26c187989ba917d3d2d992c44" {
			t.Fatalf("body hash = %s", got)
		}
		r := newRequest(t, "POST", drHost+"/v2/"+drProject+"/disaster-recoveries", []byte(drBody), map[string]string{
			"User-Agent":   "huaweicloud-usdk-go/3.0",
			"X-Project-Id": drProject,
			"Content-Type": "application/json;charset=UTF-8",
		})
		if err := Sign(r, []byte(drBody), drAK, drSK, drDate); err != nil {
			t.Fatal(err)
		}
		const want = "SDK-HMAC-SHA256 Access=EXAMPLEAK0000000000, SignedHeaders=user-agent;x-project-id;x-sdk-date, Signature=64a09808da34ed132bf516d26cb724f36020d69816e9dd78a50aa6d74ad08934"
		if got := r.Header.Get("Authorization"); got != want {
			t.Errorf("Authorization = %q\nwant %q", got, want)
		}
		cr := CanonicalRequest(r, []string{"user-agent", "x-project-id", "x-sdk-date"}, PayloadHash(r, []byte(drBody)))
		if got := sha256Hex(cr); got != "728a650cdcf89d77ceb56f01f2222cc8f7a84bff35c63da3165857c2a7529a5a" {
			t.Errorf("canonical request hash = %s", got)
		}
		if _, err := Verify(r, []byte(drBody), lookupOf(drAK, drSK), drDate, 15*time.Minute); err != nil {
			t.Errorf("Verify: %v", err)
		}
	})

	tests := []struct {
		name, target string
		headers      map[string]string
		signed       []string
		wantSig      string
	}{
		{
			name:    "detail, doc style",
			target:  drHost + "/v2/" + drProject + "/disaster-recovery/e59d6b86-9072-46eb-a996-13f8b44994c1",
			headers: map[string]string{"Content-Type": "application/json"},
			signed:  []string{"content-type", "host", "x-sdk-date"},
			wantSig: "6ab59e4fe85c5db5f941aff51c0f18fe4664873e3cbb7c016c573fc16341c93b",
		},
		{
			name:    "list with filter",
			target:  drHost + "/v2/" + drProject + "/disaster-recoveries?primary_cluster_id=11111111-1111-1111-1111-111111111111",
			signed:  []string{"host", "x-sdk-date"},
			wantSig: "d6a1dd12c3841cbdd0b44ee641aa1c1f57faedf7589cf470beaa12d46763a2ad",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRequest(t, "GET", tt.target, nil, tt.headers)
			if err := SignWithHeaders(r, nil, drAK, drSK, drDate, tt.signed); err != nil {
				t.Fatal(err)
			}
			want := "SDK-HMAC-SHA256 Access=" + drAK + ", SignedHeaders=" + strings.Join(tt.signed, ";") + ", Signature=" + tt.wantSig
			if got := r.Header.Get("Authorization"); got != want {
				t.Errorf("Authorization = %q\nwant %q", got, want)
			}
			if _, err := Verify(r, nil, lookupOf(drAK, drSK), drDate, 15*time.Minute); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}

// signedDR returns the create vector, signed, and its body.
func signedDR(t *testing.T) (*http.Request, []byte) {
	t.Helper()
	body := []byte(drBody)
	r := newRequest(t, "POST", drHost+"/v2/"+drProject+"/disaster-recoveries?x=1", body, map[string]string{
		"User-Agent": "huaweicloud-usdk-go/3.0", "X-Project-Id": drProject, "Content-Type": "application/json",
	})
	if err := Sign(r, body, drAK, drSK, drDate); err != nil {
		t.Fatal(err)
	}
	return r, body
}

func TestVerifyFailures(t *testing.T) {
	lookup := lookupOf(drAK, drSK)
	tests := []struct {
		name    string
		mutate  func(r *http.Request, body *[]byte)
		now     time.Time
		wantErr error
		wantAK  string
	}{
		{"no authorization", func(r *http.Request, _ *[]byte) { r.Header.Del("Authorization") }, drDate, ErrMalformed, ""},
		{"other algorithm", func(r *http.Request, _ *[]byte) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "SDK-HMAC-SHA256", "AWS4-HMAC-SHA256", 1))
		}, drDate, ErrMalformed, ""},
		{"missing signature", func(r *http.Request, _ *[]byte) {
			r.Header.Set("Authorization", "SDK-HMAC-SHA256 Access="+drAK+", SignedHeaders=x-sdk-date")
		}, drDate, ErrMalformed, ""},
		{"unknown element", func(r *http.Request, _ *[]byte) {
			r.Header.Set("Authorization", r.Header.Get("Authorization")+", Foo=bar")
		}, drDate, ErrMalformed, ""},
		{"bad date", func(r *http.Request, _ *[]byte) { r.Header.Set(HeaderDate, "2024-01-01T12:00:00Z") }, drDate, ErrMalformed, drAK},
		{"date not signed", func(r *http.Request, _ *[]byte) {
			r.Header.Set("Authorization", "SDK-HMAC-SHA256 Access="+drAK+", SignedHeaders=host;user-agent, Signature=00")
		}, drDate, ErrDateNotSigned, drAK},
		{"16 min late", func(*http.Request, *[]byte) {}, drDate.Add(16 * time.Minute), ErrExpired, drAK},
		{"16 min early", func(*http.Request, *[]byte) {}, drDate.Add(-16 * time.Minute), ErrExpired, drAK},
		{"unknown AK", func(r *http.Request, _ *[]byte) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), drAK, "OTHERAK", 1))
		}, drDate, ErrUnknownAK, "OTHERAK"},
		{"body changed", func(_ *http.Request, b *[]byte) { *b = bytes.TrimSuffix(*b, []byte("\n")) }, drDate, ErrSignatureMismatch, drAK},
		{"query changed", func(r *http.Request, _ *[]byte) { r.URL.RawQuery = "x=2" }, drDate, ErrSignatureMismatch, drAK},
		{"path changed", func(r *http.Request, _ *[]byte) { r.URL.Path += "x" }, drDate, ErrSignatureMismatch, drAK},
		{"signed header changed", func(r *http.Request, _ *[]byte) { r.Header.Set("X-Project-Id", "other") }, drDate, ErrSignatureMismatch, drAK},
		{"signed header missing", func(r *http.Request, _ *[]byte) { r.Header.Del("User-Agent") }, drDate, ErrSignatureMismatch, drAK},
		{"wrong SK", func(r *http.Request, b *[]byte) {
			if err := Sign(r, *b, drAK, "wrong", drDate); err != nil {
				panic(err)
			}
		}, drDate, ErrSignatureMismatch, drAK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, body := signedDR(t)
			tt.mutate(r, &body)
			ak, err := Verify(r, body, lookup, tt.now, 15*time.Minute)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if ak != tt.wantAK {
				t.Errorf("ak = %q, want %q", ak, tt.wantAK)
			}
		})
	}

	t.Run("just inside the skew", func(t *testing.T) {
		r, body := signedDR(t)
		if _, err := Verify(r, body, lookup, drDate.Add(15*time.Minute), 15*time.Minute); err != nil {
			t.Errorf("15 min skew rejected: %v", err)
		}
	})

	t.Run("mismatch carries the canonical request", func(t *testing.T) {
		r, body := signedDR(t)
		body = append(body, ' ')
		_, err := Verify(r, body, lookup, drDate, 15*time.Minute)
		var me *MismatchError
		if !errors.As(err, &me) {
			t.Fatalf("err = %v, want *MismatchError", err)
		}
		want := "POST\n/v2/" + drProject + "/disaster-recoveries/\nx=1\n" +
			"user-agent:huaweicloud-usdk-go/3.0\nx-project-id:" + drProject + "\nx-sdk-date:20240101T120000Z\n\n" +
			"user-agent;x-project-id;x-sdk-date\n" + sha256Hex(string(body))
		if me.CanonicalRequest != want {
			t.Errorf("canonical request %q\nwant %q", me.CanonicalRequest, want)
		}
		if !strings.Contains(err.Error(), "POST|/v2/") {
			t.Errorf("error text %q does not show the request with | for newlines", err)
		}
	})
}

func TestSignRejectsEmptyKeys(t *testing.T) {
	r := newRequest(t, "GET", "https://h/p", nil, nil)
	if err := Sign(r, nil, "", "sk", drDate); err == nil {
		t.Error("empty AK accepted")
	}
	if err := Sign(r, nil, "ak", "", drDate); err == nil {
		t.Error("empty SK accepted")
	}
}

// Re-signing a request (a retry) must not sign the old Authorization.
func TestResignIgnoresOldAuthorization(t *testing.T) {
	r, body := signedDR(t)
	later := drDate.Add(time.Minute)
	if err := Sign(r, body, drAK, drSK, later); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.Header.Get("Authorization"), "authorization") {
		t.Errorf("Authorization signs itself: %s", r.Header.Get("Authorization"))
	}
	if _, err := Verify(r, body, lookupOf(drAK, drSK), later, time.Minute); err != nil {
		t.Error(err)
	}
}

// Multi-valued headers give one canonical line per value, sorted.
func TestMultiValueHeader(t *testing.T) {
	r := newRequest(t, "GET", "https://h/p", nil, nil)
	r.Header.Add("X-Multi", " b ")
	r.Header.Add("X-Multi", "a")
	cr := CanonicalRequest(r, []string{"x-multi"}, EmptyPayloadHash)
	if !strings.Contains(cr, "\nx-multi:a\nx-multi:b\n\n") {
		t.Errorf("canonical request %q", cr)
	}
}

// The request as a server receives it (r.Host, decoded path, the body read
// from the wire) verifies.
func TestVerifyOverHTTP(t *testing.T) {
	type result struct {
		ak  string
		err error
	}
	got := make(chan result, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ak, err := Verify(r, body, lookupOf(drAK, drSK), time.Now(), 15*time.Minute)
		got <- result{ak, err}
	}))
	defer srv.Close()

	body := []byte(`{"a":"b"}` + "\n")
	q := url.Values{"name": {"a b/c"}, "x": {"2", "1"}}
	r := newRequest(t, "POST", srv.URL+"/v2/p%20q/x:y?"+q.Encode(), body, map[string]string{
		"Content-Type": "application/json", "X-Project-Id": drProject, "Host": "",
	})
	if err := Sign(r, body, drAK, drSK, time.Now()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Header.Get("Authorization"), "SignedHeaders=host;x-project-id;x-sdk-date") {
		t.Fatalf("Authorization %q", r.Header.Get("Authorization"))
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if res := <-got; res.err != nil || res.ak != drAK {
		t.Errorf("server Verify = %q, %v", res.ak, res.err)
	}
}
