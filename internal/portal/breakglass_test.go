package portal

import (
	"slices"
	"testing"
)

// TestAnEmergencyNeedsNoApprovalsButItsPayloadMustBeTheOneFiled: the rule
// checked right before the call lets an emergency request run without
// approvals, never one whose payload changed, and still counts the quorum
// of every other request.
func TestAnEmergencyNeedsNoApprovalsButItsPayloadMustBeTheOneFiled(t *testing.T) {
	payload := []byte(`{}`)
	r := Request{Operation: OpFailover, Payload: payload, PayloadSHA256: PayloadHash(payload), PolicyVersion: 1, RequiredApprovals: 1}
	if err := Authorized(r, nil, 1); err == nil {
		t.Error("an ordinary failover without approvals is authorized")
	}
	r.Incident = "INC-1234"
	if !r.BypassesPolicy() {
		t.Fatal("a request with an incident does not bypass the policy")
	}
	if err := Authorized(r, nil, 1); err != nil {
		t.Errorf("an emergency is refused for lacking approvals: %v", err)
	}
	r.Payload = []byte(`{"x":1}`)
	if err := Authorized(r, nil, 1); err == nil {
		t.Error("an emergency whose payload changed is authorized")
	}
}

func TestOnlyAStricterBreakGlassTakesEffectAtOnce(t *testing.T) {
	cur := BreakGlassPolicy{Enabled: true, Operations: []Operation{OpFailover, OpStart}, ReviewDays: 3}
	for _, c := range []struct {
		p    BreakGlassPolicy
		want bool
	}{
		{BreakGlassPolicy{Enabled: false, ReviewDays: 30}, true},
		{BreakGlassPolicy{Enabled: true, Operations: []Operation{OpFailover}, ReviewDays: 2}, true},
		{BreakGlassPolicy{Enabled: true, Operations: []Operation{OpFailover, OpRecovery}, ReviewDays: 3}, false},
		{BreakGlassPolicy{Enabled: true, Operations: []Operation{OpFailover}, ReviewDays: 4}, false},
	} {
		if got := c.p.Stricter(cur); got != c.want {
			t.Errorf("%+v stricter than %+v: %v, want %v", c.p, cur, got, c.want)
		}
	}
	if (BreakGlassPolicy{Enabled: true, Operations: []Operation{OpFailover}, ReviewDays: 1}).Stricter(BreakGlassPolicy{ReviewDays: 3}) {
		t.Error("turning break-glass on counts as stricter")
	}
	if errs := (BreakGlassPolicy{Enabled: true, Operations: []Operation{OpDelete}, ReviewDays: 3}).Validate(); errs["operations"] == "" {
		t.Error("break-glass may allow a delete")
	}
}

func TestIncidentReferences(t *testing.T) {
	for s, ok := range map[string]bool{"INC-1234": true, "sev1-7": true, "": false, "INC 1234": false, "1234": false,
		"INC-": false, "=HYPERLINK-1": false, "INC-12345678901234567890": false} {
		if got := CheckIncident(s) == ""; got != ok {
			t.Errorf("CheckIncident(%q) accepts: %v, want %v", s, got, ok)
		}
	}
}

// TestWideningIsJudgedOnTheSettingsOnOrOff: what new break-glass settings
// allow beyond others is the operations they add and a later review,
// whether either is on or off (turning on brings back the off settings).
func TestWideningIsJudgedOnTheSettingsOnOrOff(t *testing.T) {
	last := BreakGlassPolicy{Enabled: true, Operations: []Operation{OpStart}, ReviewDays: 3}
	for _, c := range []struct {
		p     BreakGlassPolicy
		ops   []Operation
		later bool
	}{
		{BreakGlassPolicy{Enabled: true, Operations: []Operation{OpStart}, ReviewDays: 3}, nil, false},
		{BreakGlassPolicy{Enabled: true, Operations: []Operation{OpSwitchover, OpStart, OpFailover}, ReviewDays: 30},
			[]Operation{OpFailover, OpSwitchover}, true},
		{BreakGlassPolicy{Enabled: false, Operations: []Operation{OpStart, OpRecovery}, ReviewDays: 2}, []Operation{OpRecovery}, false},
		{BreakGlassPolicy{Enabled: true, Operations: nil, ReviewDays: 4}, nil, true},
	} {
		ops, later := c.p.Widens(last)
		if !slices.Equal(ops, c.ops) || later != c.later {
			t.Errorf("%+v widens by %v, later %v; want %v, %v", c.p, ops, later, c.ops, c.later)
		}
	}
}
