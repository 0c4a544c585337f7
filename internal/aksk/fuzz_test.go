package aksk

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// FuzzVerify feeds Verify arbitrary requests and headers: it must never
// panic, must only return its documented errors, and a request we signed
// must verify whatever its path, query, header value and body.
func FuzzVerify(f *testing.F) {
	f.Add("POST", "/v2/p/disaster-recoveries", "x=1", "SDK-HMAC-SHA256 Access=AK, SignedHeaders=x-sdk-date, Signature=00", "20240101T120000Z", "v", []byte(drBody))
	f.Add("GET", "/", "", "", "", "", []byte(nil))
	f.Add("GET", "/a b/一", "test=%E4%B8%80+%28%26&multi=1&multi=2", "SDK-HMAC-SHA256 Access=AK,SignedHeaders=host;x-sdk-date,Signature=zz", "20240101T121600Z", " padded ", []byte("{}"))
	f.Add("DELETE", "//x//", ";;&&==%zz", "SDK-HMAC-SHA256 ,,,", "garbage", "\t", []byte{0xff, 0x00})
	f.Add("PUT", "/p", "a=b", "SDK-HMAC-SHA256 Access=AK, SignedHeaders=;, Signature=1", "20240101T120000Z", "", []byte("x"))
	f.Add("GET", "/p", "", "SDK-HMAC-SHA256 Access=AK, Access=AK, SignedHeaders=x-sdk-date, Signature=1", "20240101T120000Z", "", []byte(nil))

	lookup := func(ak string) (string, bool) { return "sk", ak == "AK" }
	now := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, method, path, rawQuery, auth, date, hv string, body []byte) {
		r := &http.Request{
			Method: method,
			URL:    &url.URL{Path: path, RawQuery: rawQuery},
			Host:   "dws.example.com",
			Header: http.Header{"Authorization": {auth}, HeaderDate: {date}, "X-Fuzz": {hv}},
		}
		_, err := Verify(r, body, lookup, now, 15*time.Minute)
		if err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrDateNotSigned) &&
			!errors.Is(err, ErrExpired) && !errors.Is(err, ErrUnknownAK) && !errors.Is(err, ErrSignatureMismatch) {
			t.Fatalf("undocumented error %v", err)
		}

		r.Header.Del("Authorization")
		if err := Sign(r, body, "AK", "sk", now); err != nil {
			t.Fatal(err)
		}
		ak, err := Verify(r, bytes.Clone(body), lookup, now, 15*time.Minute)
		if err != nil || ak != "AK" {
			t.Fatalf("own signature rejected: %q, %v", ak, err)
		}
	})
}
