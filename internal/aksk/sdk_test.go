package aksk_test

import (
	"bytes"
	"net/http"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/signer"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"

	"drportal/internal/aksk"
)

// Our signer and the official SDK's signer produce the same Authorization
// for the same request, and ours verifies the SDK's.
func TestAgreesWithSDKSigner(t *testing.T) {
	const ak, sk = "EXAMPLEAK0000000000", "EXAMPLEsk0000000000000000000000000000000"
	now := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	body := []byte(`{"disaster_recovery":{"dr_sync_period":"3H","note":"a & b <c>"}}` + "\n")
	u, err := url.Parse("https://dws.cn-north-4.myhuaweicloud.com/v2/0123456789abcdef0123456789abcdef/disaster-recoveries")
	if err != nil {
		t.Fatal(err)
	}
	query := map[string]string{"primary_cluster_id": "11111111-1111-1111-1111-111111111111", "dr_name": "dr one/(x)*", "type": "az"}
	headers := map[string]string{
		"User-Agent":      "huaweicloud-usdk-go/3.0; dr-portal-test",
		"X-Project-Id":    "0123456789abcdef0123456789abcdef",
		"Content-Type":    "application/json;charset=UTF-8",
		"X-Custom_Header": "unsigned because of the underscore",
	}

	// The SDK's request, built as §7.5 of the API reference describes.
	b := request.NewHttpRequestBuilder().WithEndpoint(u.Scheme + "://" + u.Host).WithPath(u.Path).WithMethod("PUT")
	for k, v := range query {
		b.AddQueryParam(k, reflect.ValueOf(v))
	}
	for k, v := range headers {
		b.AddHeaderParam(k, v)
	}
	b.AddHeaderParam(aksk.HeaderDate, now.Format(aksk.DateLayout))
	b.WithBody("json", string(body))
	sdkHeaders, err := signer.Sign(b.Build(), ak, sk)
	if err != nil {
		t.Fatal(err)
	}

	q := url.Values{}
	for k, v := range query {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	r, err := http.NewRequest("PUT", u.String(), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		r.Header.Set(k, v)
	}
	if err := aksk.Sign(r, body, ak, sk, now); err != nil {
		t.Fatal(err)
	}
	if got, want := r.Header.Get("Authorization"), sdkHeaders["Authorization"]; got != want {
		t.Errorf("ours %q\nSDK  %q", got, want)
	}
	if got, want := r.Header.Get(aksk.HeaderDate), sdkHeaders["X-Sdk-Date"]; got != want {
		t.Errorf("X-Sdk-Date ours %q, SDK %q", got, want)
	}

	r.Header.Set("Authorization", sdkHeaders["Authorization"])
	lookup := func(a string) (string, bool) { return sk, a == ak }
	if _, err := aksk.Verify(r, body, lookup, now, 15*time.Minute); err != nil {
		t.Errorf("SDK signature does not verify: %v", err)
	}
}
