package handlers

import (
	"encoding/json"
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
