package auth

import (
	"context"
	"fmt"
	"strings"
	"time"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/db"
	"drportal/internal/portal"
)

// The change windows and freezes follow the two-person rule by direction:
// a change that allows operations at fewer moments (a freeze, a first
// window for an operation, removing one of several windows, the stricter
// rule outside the windows) takes effect at once with one admin; one that
// allows more (lifting a freeze, removing an operation's last window,
// adding a window to an operation that has some, the extra-approval rule)
// waits for a second admin as an admin change (ChangeWindows).

// WindowResult is what ChangeWindows did.
type WindowResult struct {
	Change portal.WindowChange // with the window or freeze it names read in full
	// Applied: it took effect at once; otherwise ChangeID waits for a
	// second admin.
	Applied  bool
	ChangeID int64
}

// subjectWindows is the audit subject of the windows and freezes.
const subjectWindows = "windows"

// ChangeWindows makes change c to the windows, freezes or outside rules:
// at once when it tightens them, or as a change waiting for a second admin
// when it loosens them. Bad input is an Invalid error and changes nothing.
func (s *Service) ChangeWindows(ctx context.Context, admin portal.User, c portal.WindowChange) (WindowResult, error) {
	if err := requireAdmin(admin); err != nil {
		return WindowResult{}, apperr.New(apperr.Forbidden, "Only admins change the change windows.")
	}
	now := s.Now()
	var out WindowResult
	err := s.Store.InTx(ctx, func(tx *db.Tx) error {
		if err := tx.LockAdminChanges(ctx); err != nil {
			return err
		}
		if err := stillAdmin(ctx, tx, admin); err != nil {
			return err
		}
		if err := tx.LockSchedule(ctx); err != nil {
			return err
		}
		sched, err := tx.Schedule(ctx, now)
		if err != nil {
			return err
		}
		if c, err = resolveWindowChange(ctx, tx, c, sched, now); err != nil {
			return err
		}
		out.Change = c
		if !c.Loosens(sched) {
			out.Applied = true
			return s.applyWindowChange(ctx, tx, c, admin.ID, map[string]any{
				"made_by": admin.Email, "approved_by": "nobody needed: it allows operations at fewer moments"})
		}
		pending, err := tx.PendingAdminChanges(ctx)
		if err != nil {
			return err
		}
		for _, p := range pending {
			if p.Kind == portal.ChangeWindows && sameWindowChange(p.Windows, c) {
				out.ChangeID = p.ID // the same change already waits
				return nil
			}
		}
		ch := portal.AdminChange{Kind: portal.ChangeWindows, Windows: c, ProposedBy: admin.ID, ProposedByEmail: admin.Email, ProposedAt: now}
		if out.ChangeID, _, err = tx.ProposeAdminChange(ctx, ch); err != nil {
			return err
		}
		ch.ID = out.ChangeID
		e := s.changeEvent(ctx, audit.ActionChangeProposed, ch, map[string]any{"windows": c.Describe(nil),
			"why_it_waits": "it allows operations at more moments"})
		e.SubjectType, e.SubjectID = subjectWindows, string(c.Action)
		_, err = tx.AppendAudit(ctx, e)
		return err
	})
	return out, err
}

func sameWindowChange(a, b portal.WindowChange) bool {
	if a.Action != b.Action {
		return false
	}
	switch a.Action {
	case portal.AddWindow:
		x, y := a.Window, b.Window
		return x.Operation == y.Operation && x.Days == y.Days && x.Start == y.Start && x.End == y.End && x.Zone == y.Zone
	case portal.RemoveWindow:
		return a.Window.ID == b.Window.ID
	case portal.LiftFreeze:
		return a.Freeze.ID == b.Freeze.ID
	case portal.SetRule:
		return a.Operation == b.Operation && a.Rule == b.Rule
	}
	return false
}

// resolveWindowChange checks c against the schedule in force and reads
// the window or freeze it removes.
func resolveWindowChange(ctx context.Context, tx *db.Tx, c portal.WindowChange, sched portal.Schedule, now time.Time) (portal.WindowChange, error) {
	bad := func(format string, args ...any) error {
		return apperr.New(apperr.Invalid, "%s. Nothing was changed.", upperFirst(fmt.Sprintf(format, args...)))
	}
	switch c.Action {
	case portal.AddWindow:
		if err := c.Window.Validate(); err != nil {
			return c, bad("%s", err)
		}
		for _, w := range sched.WindowsOf(c.Window.Operation) {
			if w.Days == c.Window.Days && w.Start == c.Window.Start && w.End == c.Window.End && w.Zone == c.Window.Zone {
				return c, bad("%s already has the window %s", c.Window.Operation.Label(), w)
			}
		}
	case portal.RemoveWindow:
		w, err := tx.Window(ctx, c.Window.ID)
		if err != nil {
			return c, err
		}
		c.Window = w
	case portal.AddFreeze:
		c.Freeze.Reason = strings.TrimSpace(c.Freeze.Reason)
		if err := c.Freeze.Validate(); err != nil {
			return c, bad("%s", err)
		}
		if !c.Freeze.End.After(now) {
			return c, bad("that freeze would have ended already, at %s", c.Freeze.End.UTC().Format(time.RFC3339))
		}
	case portal.LiftFreeze:
		f, err := tx.Freeze(ctx, c.Freeze.ID)
		if err != nil {
			return c, err
		}
		c.Freeze = f
	case portal.SetRule:
		if !c.Operation.Valid() {
			return c, bad("unknown operation %q", c.Operation)
		}
		if !c.Rule.Valid() {
			return c, bad("choose what a request outside the windows does: wait, or run with one extra approval")
		}
		if sched.RuleOf(c.Operation) == c.Rule {
			return c, bad("outside its windows, %s %s already", c.Operation.Label(), c.Rule.Label())
		}
	default:
		return c, bad("unknown change to the windows %q", c.Action)
	}
	return c, nil
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// applyWindowChange makes c in tx and records it: by proposed it, who
// says who made and who approved it.
func (s *Service) applyWindowChange(ctx context.Context, tx *db.Tx, c portal.WindowChange, by int64, who map[string]any) error {
	now := s.Now()
	var action string
	detail := map[string]any{"change": c.Describe(nil)}
	switch c.Action {
	case portal.AddWindow:
		w, err := tx.InsertWindow(ctx, c.Window, by, now)
		if err != nil {
			return err
		}
		action, detail["window"], detail["window_id"], detail["operation"] = audit.ActionWindowAdded, w.String(), w.ID, w.Operation
	case portal.RemoveWindow:
		if err := tx.DeleteWindow(ctx, c.Window.ID); err != nil {
			return err
		}
		action, detail["window"], detail["window_id"], detail["operation"] = audit.ActionWindowRemoved, c.Window.String(), c.Window.ID, c.Window.Operation
	case portal.AddFreeze:
		f, err := tx.InsertFreeze(ctx, c.Freeze, by, now)
		if err != nil {
			return err
		}
		action, detail["freeze_id"], detail["starts_at"], detail["ends_at"], detail["reason"] = audit.ActionFreezeAdded, f.ID, f.Start, f.End, f.Reason
	case portal.LiftFreeze:
		if err := tx.DeleteFreeze(ctx, c.Freeze.ID); err != nil {
			return err
		}
		action, detail["freeze_id"], detail["starts_at"], detail["ends_at"], detail["reason"] = audit.ActionFreezeLifted, c.Freeze.ID, c.Freeze.Start, c.Freeze.End, c.Freeze.Reason
	case portal.SetRule:
		if err := tx.SetOutsideRule(ctx, c.Operation, c.Rule, by, now); err != nil {
			return err
		}
		action, detail["operation"], detail["rule"] = audit.ActionWindowRuleSet, c.Operation, c.Rule
	default:
		return apperr.New(apperr.Invalid, "Unknown change to the windows %q. Nothing was changed.", c.Action)
	}
	for k, v := range who {
		detail[k] = v
	}
	e := audit.FromContext(ctx, action, audit.Success)
	e.OccurredAt = now
	e.SubjectType, e.SubjectID = subjectWindows, string(c.Action)
	e.Detail = audit.Detail(detail)
	_, err := tx.AppendAudit(ctx, e)
	return err
}
