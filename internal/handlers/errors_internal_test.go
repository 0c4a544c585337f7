package handlers

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"testing"

	"drportal/internal/apperr"
	"drportal/internal/views"
)

// TestFormAnswersAreSwapped: every status a re-rendered form or card can
// carry is a 4xx that the htmx configuration swaps, so its message is shown
// with JavaScript on as well as off.
func TestFormAnswersAreSwapped(t *testing.T) {
	var cfg struct {
		ResponseHandling []struct {
			Code string `json:"code"`
			Swap bool   `json:"swap"`
		} `json:"responseHandling"`
	}
	if err := json.Unmarshal([]byte(views.HTMXConfig), &cfg); err != nil {
		t.Fatal(err)
	}
	swapped := func(status int) bool {
		for _, h := range cfg.ResponseHandling { // htmx takes the first match
			if regexp.MustCompile("^" + h.Code + "$").MatchString(strconv.Itoa(status)) {
				return h.Swap
			}
		}
		return false
	}
	shown := 0
	for k := apperr.Internal; k <= apperr.TooMany; k++ {
		status, ok := formStatus(apperr.New(k, "x"))
		if !ok {
			continue
		}
		shown++
		if status < 400 || status >= 500 {
			t.Errorf("%s: a re-rendered form answers %d, not a 4xx", k, status)
		}
		if !swapped(status) {
			t.Errorf("%s: htmx does not swap %d, so the form's message is lost with JavaScript on", k, status)
		}
	}
	if shown < 5 {
		t.Errorf("only %d kinds are shown on the form", shown)
	}
}

// TestTheClientIsThePeerUnlessAProxyIsTrusted: X-Forwarded-For is believed
// only from a configured proxy.
func TestTheClientIsThePeerUnlessAProxyIsTrusted(t *testing.T) {
	req := httptest.NewRequest(http.MethodPost, "/signin", nil)
	req.RemoteAddr = "127.0.0.1:5555"
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	req.Header.Set("X-Real-Ip", "203.0.113.10")
	if got := clientIP(nil)(req); got != "127.0.0.1" {
		t.Errorf("no trusted proxy: client %s, want the peer", got)
	}
	_, loopback, _ := net.ParseCIDR("127.0.0.0/8")
	if got := clientIP([]*net.IPNet{loopback})(req); got != "203.0.113.9" {
		t.Errorf("behind a trusted proxy: client %s, want the forwarded address", got)
	}
	_, other, _ := net.ParseCIDR("10.0.0.0/8")
	if got := clientIP([]*net.IPNet{other})(req); got != "127.0.0.1" {
		t.Errorf("peer is not the trusted proxy: client %s, want the peer", got)
	}
}
