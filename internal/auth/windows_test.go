package auth_test

import (
	"context"
	"testing"
	"time"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/auth"
	"drportal/internal/portal"
)

func (f *fixture) schedule() portal.Schedule {
	f.t.Helper()
	s, err := f.store.Schedule(context.Background(), f.clock.Now())
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

func asAdmin(u portal.User) context.Context {
	return audit.WithActor(context.Background(), audit.Actor{ID: u.ID, Name: u.Email})
}

// TestLooseningTheWindowsWaitsForASecondAdminTighteningDoesNot: a first
// window, a freeze, removing one of two windows and the stricter rule take
// effect at once with one admin; lifting a freeze, a second window,
// removing the last and the extra-approval rule wait, change nothing until
// a second admin approves, and the proposer cannot approve them.
func TestLooseningTheWindowsWaitsForASecondAdminTighteningDoesNot(t *testing.T) {
	f := newFixture(t)
	a1, a2 := f.addUser("a1@example.com", auth.RoleAdmin), f.addUser("a2@example.com", auth.RoleAdmin)
	now := f.clock.Now()
	change := func(c portal.WindowChange) auth.WindowResult {
		t.Helper()
		res, err := f.svc.ChangeWindows(asAdmin(a1), a1, c)
		if err != nil {
			t.Fatalf("%s: %v", c.Action, err)
		}
		return res
	}
	approve := func(res auth.WindowResult) {
		t.Helper()
		if _, err := f.svc.ApproveChange(asAdmin(a1), a1, res.ChangeID, ""); apperr.KindOf(err) != apperr.Forbidden {
			t.Fatalf("the proposer approved their own loosening: %v", err)
		}
		if _, err := f.svc.ApproveChange(asAdmin(a2), a2, res.ChangeID, "ok"); err != nil {
			t.Fatalf("second admin: %v", err)
		}
	}
	w1, _ := portal.ParseWindow(portal.OpSwitchover, "Tue-Thu 02:00-05:00 Europe/Berlin")
	if res := change(portal.WindowChange{Action: portal.AddWindow, Window: w1}); !res.Applied {
		t.Fatal("a first window (fewer moments) waited")
	}
	freeze := portal.Freeze{Start: now.Add(time.Hour), End: now.Add(48 * time.Hour), Reason: "year-end close"}
	if res := change(portal.WindowChange{Action: portal.AddFreeze, Freeze: freeze}); !res.Applied {
		t.Fatal("a freeze waited")
	}
	s := f.schedule()
	if len(s.WindowsOf(portal.OpSwitchover)) != 1 || len(s.Freezes) != 1 {
		t.Fatalf("schedule after tightening: %+v", s)
	}
	events := f.count(`SELECT count(*) FROM audit_events WHERE action IN ('window.added', 'window.freeze_added')`)
	if events != 2 {
		t.Errorf("%d tightening events audited, want 2", events)
	}

	// Loosening: each waits and changes nothing.
	w2, _ := portal.ParseWindow(portal.OpSwitchover, "Sat 10:00-12:00 UTC")
	widen := change(portal.WindowChange{Action: portal.AddWindow, Window: w2})
	lift := change(portal.WindowChange{Action: portal.LiftFreeze, Freeze: portal.Freeze{ID: s.Freezes[0].ID}})
	lenient := change(portal.WindowChange{Action: portal.SetRule, Operation: portal.OpSwitchover, Rule: portal.OutsideExtraApproval})
	last := change(portal.WindowChange{Action: portal.RemoveWindow, Window: portal.Window{ID: s.WindowsOf(portal.OpSwitchover)[0].ID}})
	for _, res := range []auth.WindowResult{widen, lift, lenient, last} {
		if res.Applied || res.ChangeID == 0 {
			t.Fatalf("a loosening took effect at once: %+v", res)
		}
	}
	if again := change(portal.WindowChange{Action: portal.LiftFreeze, Freeze: portal.Freeze{ID: s.Freezes[0].ID}}); again.ChangeID != lift.ChangeID {
		t.Errorf("lifting the same freeze twice proposed change #%d beside #%d", again.ChangeID, lift.ChangeID)
	}
	if s2 := f.schedule(); len(s2.Windows) != 1 || len(s2.Freezes) != 1 || s2.RuleOf(portal.OpSwitchover) != portal.OutsideWait {
		t.Fatalf("a waiting loosening changed the schedule: %+v", s2)
	}

	approve(lift)
	approve(widen)
	approve(lenient)
	s = f.schedule()
	if len(s.Freezes) != 0 || len(s.WindowsOf(portal.OpSwitchover)) != 2 || s.RuleOf(portal.OpSwitchover) != portal.OutsideExtraApproval {
		t.Fatalf("after the second admin: %+v", s)
	}
	// Removing the last window was proposed when it was the last; now that
	// there are two, removing one of them allows fewer moments: at once.
	if res := change(portal.WindowChange{Action: portal.RemoveWindow, Window: portal.Window{ID: s.WindowsOf(portal.OpSwitchover)[1].ID}}); !res.Applied {
		t.Error("removing one of two windows waited")
	}
	if res := change(portal.WindowChange{Action: portal.SetRule, Operation: portal.OpSwitchover, Rule: portal.OutsideWait}); !res.Applied {
		t.Error("the stricter rule waited")
	}
	approve(last)
	if s := f.schedule(); len(s.WindowsOf(portal.OpSwitchover)) != 0 {
		t.Errorf("the last window is still there: %+v", s.Windows)
	}
	if n := f.count(`SELECT count(*) FROM audit_events WHERE action = 'window.freeze_lifted' AND detail::jsonb->>'approved_by' = 'a2@example.com'`); n != 1 {
		t.Errorf("the lifted freeze is audited %d times with its approver", n)
	}
}

// TestBadWindowChangesAreRefusedAndChangeNothing: a window that does not
// parse, a freeze without a reason or already over, and the rule in force
// are refused with a message; nothing is stored or audited.
func TestBadWindowChangesAreRefusedAndChangeNothing(t *testing.T) {
	f := newFixture(t)
	a1 := f.addUser("a1@example.com", auth.RoleAdmin)
	req := f.addUser("req@example.com", auth.RoleRequester)
	now := f.clock.Now()
	before := f.count(`SELECT count(*) FROM audit_events`)
	for _, c := range []portal.WindowChange{
		{Action: portal.AddWindow, Window: portal.Window{Operation: portal.OpStop, Days: 4, Start: 60, End: 60, Zone: "UTC"}},
		{Action: portal.AddWindow, Window: portal.Window{Operation: portal.OpStop, Days: 4, Start: 60, End: 120, Zone: "Nowhere/Else"}},
		{Action: portal.AddFreeze, Freeze: portal.Freeze{Start: now, End: now.Add(time.Hour), Reason: "  "}},
		{Action: portal.AddFreeze, Freeze: portal.Freeze{Start: now.Add(-2 * time.Hour), End: now.Add(-time.Hour), Reason: "over"}},
		{Action: portal.AddFreeze, Freeze: portal.Freeze{Start: now.Add(time.Hour), End: now, Reason: "backwards"}},
		{Action: portal.SetRule, Operation: portal.OpStop, Rule: portal.OutsideWait},
		{Action: portal.SetRule, Operation: portal.OpStop, Rule: "sometimes"},
	} {
		if _, err := f.svc.ChangeWindows(asAdmin(a1), a1, c); apperr.KindOf(err) != apperr.Invalid || apperr.Message(err) == "" {
			t.Errorf("%+v: %v", c, err)
		}
	}
	if _, err := f.svc.ChangeWindows(asAdmin(a1), a1, portal.WindowChange{Action: portal.LiftFreeze, Freeze: portal.Freeze{ID: 999}}); apperr.KindOf(err) != apperr.NotFound {
		t.Errorf("lifting no freeze: %v", err)
	}
	if _, err := f.svc.ChangeWindows(asAdmin(req), req, portal.WindowChange{Action: portal.AddFreeze,
		Freeze: portal.Freeze{Start: now, End: now.Add(time.Hour), Reason: "mine"}}); apperr.KindOf(err) != apperr.Forbidden {
		t.Errorf("a requester changed the windows: %v", err)
	}
	if s := f.schedule(); len(s.Windows)+len(s.Freezes)+len(s.Rules) != 0 {
		t.Errorf("stored: %+v", s)
	}
	if after := f.count(`SELECT count(*) FROM audit_events`); after != before {
		t.Errorf("%d events audited", after-before)
	}
}
