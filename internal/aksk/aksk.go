// Package aksk signs and verifies requests with Huawei Cloud's
// SDK-HMAC-SHA256 AK/SK scheme, the one the official SDK and the API gateway
// use (see docs/dws-dr-api.md §6). It depends on the standard library only,
// so the portal's signing path does not need the SDK.
package aksk

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
)

const (
	// Algorithm is the scheme name that starts the Authorization header.
	Algorithm = "SDK-HMAC-SHA256"
	// HeaderDate carries the signing time in DateLayout.
	HeaderDate = "X-Sdk-Date"
	// HeaderContentSHA256, when present, replaces the body hash (the SDK
	// sets it to UNSIGNED-PAYLOAD for non-JSON bodies).
	HeaderContentSHA256 = "X-Sdk-Content-Sha256"
	// DateLayout is the Go layout of X-Sdk-Date (always UTC).
	DateLayout = "20060102T150405Z"
	// EmptyPayloadHash is the SHA-256 of an empty body.
	EmptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// Verification failures. Verify wraps them with detail, so test them with
// errors.Is; a signature mismatch is a *MismatchError.
var (
	ErrMalformed         = errors.New("aksk: malformed authorization")
	ErrDateNotSigned     = errors.New("aksk: x-sdk-date is not a signed header")
	ErrExpired           = errors.New("aksk: signature expired")
	ErrUnknownAK         = errors.New("aksk: unknown access key")
	ErrSignatureMismatch = errors.New("aksk: signature mismatch")
)

// MismatchError reports a wrong signature together with the canonical
// request the verifier built, which is what a client needs to find out
// which part it signed differently.
type MismatchError struct {
	CanonicalRequest string
}

func (e *MismatchError) Error() string {
	return ErrSignatureMismatch.Error() + "; canonical request: " +
		strings.ReplaceAll(e.CanonicalRequest, "\n", "|")
}

// Unwrap makes errors.Is(err, ErrSignatureMismatch) true.
func (e *MismatchError) Unwrap() error { return ErrSignatureMismatch }

// Sign sets X-Sdk-Date (from now, UTC) and Authorization on r, signing every
// header present on r except names starting with "content-type" and names
// containing "_" (like the SDK) plus x-sdk-date; body is the exact bytes that
// will be sent.
//
// Host is signed only when r.Header has a "Host" entry; its canonical value
// is then r.Host (or r.URL.Host), which is what net/http actually sends.
func Sign(r *http.Request, body []byte, ak, sk string, now time.Time) error {
	r.Header.Set(HeaderDate, now.UTC().Format(DateLayout))
	return SignWithHeaders(r, body, ak, sk, now, DefaultSignedHeaders(r.Header))
}

// DefaultSignedHeaders returns the lower-case, sorted names Sign signs for h:
// all of them except names starting with "content-type" or containing "_",
// and except Authorization itself (left over when a request is re-signed).
func DefaultSignedHeaders(h http.Header) []string {
	var names []string
	for k := range h {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "content-type") || strings.Contains(lk, "_") || lk == "authorization" {
			continue
		}
		names = append(names, lk)
	}
	sort.Strings(names)
	return names
}

// SignWithHeaders is Sign with an explicit set of signed header names (for
// example the doc style "content-type;host;x-sdk-date"). It sets X-Sdk-Date
// from now and adds x-sdk-date to the set if missing.
func SignWithHeaders(r *http.Request, body []byte, ak, sk string, now time.Time, signedHeaders []string) error {
	if ak == "" || sk == "" {
		return errors.New("aksk: sign: empty access key or secret key")
	}
	date := now.UTC().Format(DateLayout)
	r.Header.Set(HeaderDate, date)

	names := make([]string, 0, len(signedHeaders)+1)
	for _, n := range signedHeaders {
		names = append(names, strings.ToLower(n))
	}
	if !slices.Contains(names, "x-sdk-date") {
		names = append(names, "x-sdk-date")
	}
	sort.Strings(names)
	names = slices.Compact(names)

	cr := CanonicalRequest(r, names, PayloadHash(r, body))
	r.Header.Set("Authorization", fmt.Sprintf("%s Access=%s, SignedHeaders=%s, Signature=%s",
		Algorithm, ak, strings.Join(names, ";"), Signature(cr, date, sk)))
	return nil
}

// PayloadHash is the X-Sdk-Content-Sha256 header when present, otherwise the
// lower-case hex SHA-256 of body.
func PayloadHash(r *http.Request, body []byte) string {
	if v := r.Header.Get(HeaderContentSHA256); v != "" {
		return v
	}
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// Signature computes the hex HMAC-SHA256, keyed with the raw SK, of the
// string to sign built from a canonical request and its X-Sdk-Date value.
func Signature(canonicalRequest, sdkDate, sk string) string {
	crHash := sha256.Sum256([]byte(canonicalRequest))
	sts := Algorithm + "\n" + sdkDate + "\n" + hex.EncodeToString(crHash[:])
	mac := hmac.New(sha256.New, []byte(sk))
	mac.Write([]byte(sts))
	return hex.EncodeToString(mac.Sum(nil))
}

// CanonicalRequest builds the canonical request string for the given signed
// header names (lower-case) and payload hash.
func CanonicalRequest(r *http.Request, signedHeaders []string, payloadHash string) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(canonicalURI(r.URL.Path))
	b.WriteByte('\n')
	// A malformed pair is dropped by ParseQuery on both sides alike, so
	// its error does not change the outcome.
	q, _ := url.ParseQuery(r.URL.RawQuery)
	b.WriteString(canonicalQuery(q))
	b.WriteByte('\n')
	for _, name := range signedHeaders {
		for _, v := range headerValues(r, name) {
			b.WriteString(name)
			b.WriteByte(':')
			b.WriteString(v)
			b.WriteByte('\n')
		}
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signedHeaders, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

// headerValues returns the trimmed, sorted values of a signed header. Host
// is not in r.Header on either side of net/http, so it comes from r.Host.
func headerValues(r *http.Request, name string) []string {
	if strings.EqualFold(name, "host") {
		h := r.Host
		if h == "" && r.URL != nil {
			h = r.URL.Host
		}
		return []string{strings.TrimSpace(h)}
	}
	vs := make([]string, 0, 1)
	for _, v := range r.Header.Values(name) {
		vs = append(vs, strings.TrimSpace(v))
	}
	sort.Strings(vs)
	return vs
}

// canonicalURI escapes each path segment and appends the trailing slash the
// scheme requires (for signing only; the request is sent without it).
func canonicalURI(path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		segs[i] = escape(s)
	}
	p := strings.Join(segs, "/")
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p
}

func canonicalQuery(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var pairs []string
	for _, k := range keys {
		vs := slices.Clone(q[k])
		sort.Strings(vs)
		for _, v := range vs {
			pairs = append(pairs, escape(k)+"="+escape(v))
		}
	}
	return strings.Join(pairs, "&")
}

// escape percent-encodes every byte except A-Z a-z 0-9 - _ . ~ with
// upper-case hex, which differs from url.QueryEscape (space is %20, not +).
func escape(s string) string {
	const hexdigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexdigits[c>>4])
		b.WriteByte(hexdigits[c&15])
	}
	return b.String()
}

// authorization is a parsed Authorization header.
type authorization struct {
	ak            string
	signedHeaders []string
	signature     string
}

func parseAuthorization(v string) (authorization, error) {
	var a authorization
	rest, ok := strings.CutPrefix(v, Algorithm+" ")
	if !ok {
		return a, fmt.Errorf("%w: not %s", ErrMalformed, Algorithm)
	}
	seen := map[string]bool{}
	for part := range strings.SplitSeq(rest, ",") {
		key, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || val == "" || seen[key] {
			return a, fmt.Errorf("%w: bad element %q", ErrMalformed, part)
		}
		seen[key] = true
		switch key {
		case "Access":
			a.ak = val
		case "SignedHeaders":
			a.signedHeaders = strings.Split(val, ";")
			if slices.Contains(a.signedHeaders, "") {
				return a, fmt.Errorf("%w: empty signed header name", ErrMalformed)
			}
		case "Signature":
			a.signature = val
		default:
			return a, fmt.Errorf("%w: unknown element %q", ErrMalformed, key)
		}
	}
	if a.ak == "" || a.signedHeaders == nil || a.signature == "" {
		return a, fmt.Errorf("%w: Access, SignedHeaders and Signature are required", ErrMalformed)
	}
	return a, nil
}

// Verify checks r's signature; lookup returns the SK for an AK. It returns
// the AK on success.
//
// On failure it still returns the AK when the Authorization header could be
// parsed, so that callers can count failures per AK. The checks run in the
// gateway's order: format, x-sdk-date signed, clock skew (|now-date| >
// maxSkew is ErrExpired), AK known, signature. The server rebuilds exactly
// the headers the client listed, so any set that includes x-sdk-date works.
func Verify(r *http.Request, body []byte, lookup func(ak string) (sk string, ok bool), now time.Time, maxSkew time.Duration) (ak string, err error) {
	a, err := parseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		return "", err
	}
	if !slices.Contains(a.signedHeaders, "x-sdk-date") {
		return a.ak, ErrDateNotSigned
	}
	date := r.Header.Get(HeaderDate)
	t, err := time.Parse(DateLayout, date)
	if err != nil {
		return a.ak, fmt.Errorf("%w: bad %s %q", ErrMalformed, HeaderDate, date)
	}
	if skew := now.Sub(t); skew > maxSkew || skew < -maxSkew {
		return a.ak, fmt.Errorf("%w: %s %s is %s away from server time %s",
			ErrExpired, HeaderDate, date, skew.Abs(), now.UTC().Format(DateLayout))
	}
	sk, ok := lookup(a.ak)
	if !ok {
		return a.ak, ErrUnknownAK
	}
	cr := CanonicalRequest(r, a.signedHeaders, PayloadHash(r, body))
	if !hmac.Equal([]byte(Signature(cr, date, sk)), []byte(a.signature)) {
		return a.ak, &MismatchError{CanonicalRequest: cr}
	}
	return a.ak, nil
}
