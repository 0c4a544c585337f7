package handlers_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"drportal/internal/audit"
	"drportal/internal/auth"
)

// longestString is the longest string (key or value, in characters)
// anywhere in a JSON detail.
func longestString(t *testing.T, detail []byte) (int, string) {
	t.Helper()
	var v any
	if err := json.Unmarshal(detail, &v); err != nil {
		t.Fatal(err)
	}
	n, longest := 0, ""
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			if m := utf8.RuneCountInString(v); m > n {
				n, longest = m, v
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		case map[string]any:
			for k, x := range v {
				walk(k)
				walk(x)
			}
		}
	}
	walk(v)
	return n, longest
}

// TestNoFieldOfARejectedFormPutsMoreThan200CharactersOnRecord: 5000
// characters typed into any one field of the create form or of an
// operation form (the sync period's number too, which its error message
// quotes) send the form back, and no string of the event that records it,
// the errors included, is longer than audit.MaxRefusalText characters
// (and its "…").
func TestNoFieldOfARejectedFormPutsMoreThan200CharactersOnRecord(t *testing.T) {
	e := newEnv(t)
	id := e.createTask("dr_clipall1")
	long := strings.Repeat("9", 5000) + "\u202e<b>x"
	// One person a field: each one's first rejected form of the minute is
	// the one recorded in full.
	person := 0
	signedIn := func() *browser {
		person++
		email := fmt.Sprintf("clip%d@example.com", person)
		e.addUser(email, auth.RoleRequester)
		return e.signedIn(email)
	}
	check := func(what, action string, res response) {
		t.Helper()
		if res.status != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d, want 422", what, res.status)
			return
		}
		got := e.events(action)
		if len(got) == 0 {
			t.Errorf("%s: not on record", what)
			return
		}
		last := got[len(got)-1]
		if last.Actor.Name != fmt.Sprintf("clip%d@example.com", person) {
			t.Errorf("%s: the last %s is %s's", what, action, last.Actor.Name)
		}
		if n, s := longestString(t, last.Detail); n > audit.MaxRefusalText+1 {
			t.Errorf("%s: the event keeps a string of %d characters: %.60q…", what, n, s)
		}
	}

	primary, standby := e.signedIn("req@example.com").formPair()
	for _, field := range []string{"name", "dr_type", "primary_cluster_id", "standby_cluster_id", "dr_sync_period",
		"dr_sync_period_number", "dr_sync_period_unit", "primary_obs_bucket", "standby_obs_bucket", "justification"} {
		form := validForm(primary, standby)
		form.Set("name", fmt.Sprintf("dr_clip%02d", person))
		if strings.HasPrefix(field, "dr_sync_period_") {
			form.Del("dr_sync_period")
			form.Set("dr_sync_period_number", "5")
			form.Set("dr_sync_period_unit", "m")
		}
		form.Set(field, long)
		check("create form, "+field, audit.ActionCreateRejected, signedIn().post("/dr-tasks", form))
	}

	for _, c := range []struct{ op, field string }{{"update", "justification"}, {"update", "dr_sync_period"},
		{"update", "dr_sync_period_number"}, {"update", "dr_sync_period_unit"}, {"delete", "confirm"}, {"drill", "run_at"}} {
		form := url.Values{"justification": {"the nightly load moved"}}
		if c.op == "update" && c.field != "dr_sync_period" {
			form.Set("dr_sync_period_number", "7")
			form.Set("dr_sync_period_unit", "m")
		}
		form.Set(c.field, long)
		check(c.op+" form, "+c.field, audit.ActionOperationRejected, e.fileOperation(signedIn(), id, c.op, form))
	}
}
