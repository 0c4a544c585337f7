package requests

import (
	"context"
	"fmt"
	"slices"
	"time"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/db"
	"drportal/internal/portal"
)

// scheduleReader reads the windows: the store, or a transaction.
type scheduleReader interface {
	Schedule(ctx context.Context, now time.Time) (portal.Schedule, error)
}

// Gate is the one check of the change windows and freezes, made when a
// request is filed, when it is approved and right before its call: what
// they say about running r at at. A request that bypasses the policy (a
// break-glass request, portal.Request.BypassesPolicy) is let through: a
// freeze blocks everything but break-glass.
func (s *Service) Gate(ctx context.Context, q scheduleReader, r portal.Request, at time.Time) (portal.WindowGate, error) {
	sched, err := q.Schedule(ctx, at)
	if err != nil {
		return portal.WindowGate{}, err
	}
	return portal.WindowState(r.Operation, sched, at, r.BypassesPolicy()), nil
}

// frozen is the refusal of a filing during a freeze.
// Frozen is the refusal of a filing that freeze g holds, for a form that
// checks it before anything else.
func Frozen(g portal.WindowGate, zone *time.Location) error { return frozen(g, zone) }

func frozen(g portal.WindowGate, zone *time.Location) error {
	return apperr.New(apperr.Conflict, "The freeze “%s” is in force until %s: no request can be filed until it ends, and only break-glass (a responder's emergency) can act. Nothing was filed.",
		g.Freeze.Reason, portal.FormatTime(g.Freeze.End, zone))
}

// HeldBack says whether the windows and freezes hold approved request r
// back at at: in a freeze, or outside its windows without the extra
// approval its rule asks for (counted by portal.Quorum).
func (s *Service) HeldBack(ctx context.Context, r portal.Request, at time.Time) (portal.WindowGate, bool, error) {
	return s.heldBack(ctx, s.Store, r, at)
}

// gateReader reads the windows and a request's approvals: the store, or a
// transaction.
type gateReader interface {
	scheduleReader
	Approvals(ctx context.Context, requestID int64) ([]portal.Approval, error)
}

// heldBack is HeldBack, reading through q.
func (s *Service) heldBack(ctx context.Context, q gateReader, r portal.Request, at time.Time) (portal.WindowGate, bool, error) {
	g, err := s.Gate(ctx, q, r, at)
	if err != nil {
		return g, false, err
	}
	held, err := heldBy(g, r, func() ([]portal.Approval, error) { return q.Approvals(ctx, r.ID) })
	return g, held, err
}

// HeldBackOn is HeldBack judged on the schedule and the request's
// approvals as a page read them, in its one batch.
func HeldBackOn(sched portal.Schedule, approvals []portal.Approval, r portal.Request, at time.Time) (portal.WindowGate, bool) {
	g := portal.WindowState(r.Operation, sched, at, r.BypassesPolicy())
	held, _ := heldBy(g, r, func() ([]portal.Approval, error) { return approvals, nil })
	return g, held
}

// heldBy says whether gate g holds r back, reading its approvals only when
// the rule outside the windows counts them.
func heldBy(g portal.WindowGate, r portal.Request, approvals func() ([]portal.Approval, error)) (bool, error) {
	if g.Open() {
		return false, nil
	}
	if g.ExtraApprovals() == 0 {
		return true, nil
	}
	as, err := approvals()
	if err != nil {
		return false, err
	}
	n, err := portal.Quorum(r, as)
	if err != nil {
		return false, nil // the approval check that follows refuses it
	}
	return !g.MayRun(n, r.RequiredApprovals), nil
}

// gateDetail is what the audit history records of a gate that holds a
// request back.
func gateDetail(g portal.WindowGate) map[string]any {
	d := map[string]any{"runs_at": g.RunsAt}
	if g.Frozen {
		d["freeze"] = map[string]any{"reason": g.Freeze.Reason, "ends_at": g.Freeze.End}
	}
	if g.Restricted && !g.InWindow {
		d["window"] = g.Window.String()
		d["outside_rule"] = string(g.Rule)
	}
	return d
}

// Deferred records that the executor did not call the cloud for r because
// the windows or a freeze hold it back (g), and when it runs.
func (s *Service) Deferred(ctx context.Context, r portal.Request, g portal.WindowGate) error {
	d := gateDetail(g)
	d["note"] = "not sent: " + WaitReason(g, nil)
	_, err := s.Store.AppendAudit(context.WithoutCancel(ctx), Event(ctx, audit.ActionRequestDeferred, audit.Info, r, s.Now(), d))
	return err
}

// WaitReason says in words why a request waits, and until when.
func WaitReason(g portal.WindowGate, zone *time.Location) string {
	switch {
	case g.Frozen && g.Restricted && g.RunsAt.After(g.Freeze.End):
		return fmt.Sprintf("the freeze “%s” is in force until %s, and after it ends its change window next opens %s", g.Freeze.Reason,
			portal.FormatTime(g.Freeze.End, zone), portal.OpeningWithUTC(g.RunsAt, openingZone(g, zone)))
	case g.Frozen:
		return fmt.Sprintf("the freeze “%s” is in force until %s", g.Freeze.Reason, portal.FormatTime(g.Freeze.End, zone))
	case g.RunsAt.IsZero():
		return "no moment was found when its window is open and no freeze holds"
	}
	return fmt.Sprintf("it is outside its change window (%s); the window opens %s", g.Window, portal.FormatOpening(g.RunsAt, g.Window.Zone))
}

// rulesExtraApproval reports whether some operation gating op
// (portal.Operation.GatedBy) with windows has the extra-approval rule: its
// requests may wait pending for a window to open.
func rulesExtraApproval(s portal.Schedule, op portal.Operation) bool {
	for _, gate := range op.GatedBy() {
		if len(s.WindowsOf(gate)) > 0 && s.RuleOf(gate) == portal.OutsideExtraApproval {
			return true
		}
	}
	return false
}

// ApproveInWindow approves the pending requests that the opening of a
// window lets through: under the extra-approval rule, a request decided
// outside its windows by the policy's number of approvers (not one more)
// waits pending; once its window is open, those approvals are enough.
// Each approval is its own transaction, audited as the system's.
func (s *Service) ApproveInWindow(ctx context.Context) (int, error) {
	now := s.Now()
	sched, err := s.Store.Schedule(ctx, now)
	if err != nil {
		return 0, err
	}
	var ops []portal.Operation
	for _, op := range portal.Operations {
		if g := portal.WindowState(op, sched, now, false); g.Restricted && g.InWindow && rulesExtraApproval(sched, op) {
			ops = append(ops, op)
		}
	}
	if len(ops) == 0 {
		return 0, nil
	}
	ids, err := s.Store.PendingRequestsFor(ctx, ops, now, 500)
	if err != nil {
		return 0, err
	}
	ctx = audit.WithActor(ctx, audit.System)
	n := 0
	for _, id := range ids {
		done := false
		err := s.Store.InTx(context.WithoutCancel(ctx), func(tx *db.Tx) error {
			r, err := tx.Request(ctx, id, true)
			if err != nil || r.EffectiveStatus(now) != portal.StatusPending {
				return err
			}
			approvals, err := tx.Approvals(ctx, id)
			if err != nil {
				return err
			}
			count, err := portal.Quorum(r, approvals)
			if err != nil || count < r.RequiredApprovals {
				return nil // a payload that changed is refused when someone decides
			}
			g, err := s.Gate(ctx, tx, r, now)
			if err != nil || !g.MayRun(count, r.RequiredApprovals) {
				return err
			}
			policy, err := tx.Policy(ctx, r.PolicyVersion)
			if err != nil {
				return err
			}
			_, err = s.approve(ctx, tx, r, policy, fmt.Sprintf("%d of %d approvals; its change window opened", count, r.RequiredApprovals), g, count)
			done = err == nil
			return err
		})
		if err != nil && apperr.KindOf(err) != apperr.Conflict {
			return n, err
		}
		if done {
			n++
		}
	}
	return n, nil
}

// maxWoken bounds how many approved requests one loosening wakes.
const maxWoken = 500

// WakeWaiting starts at once, in tx, the execution of every approved request
// the change windows and freezes now let run: one that waited for a window a
// second admin just widened or removed, or for a freeze just lifted, runs
// now rather than at the time it was scheduled for. The executor checks
// the windows again right before its call, so a request woken too early
// defers itself again. A request whose approval lapsed while it waited is
// not woken: its job, at the time it was scheduled for, fails it without
// calling the cloud, as any lapsed approval. It returns the requests whose
// waiting execution it woke, for the admin who approved the change to be
// told.
func (s *Service) WakeWaiting(ctx context.Context, tx *db.Tx) ([]portal.Request, error) {
	now := s.Now()
	ids, err := tx.ApprovedRequestIDs(ctx, maxWoken)
	if err != nil {
		return nil, err
	}
	var woken []portal.Request
	for _, id := range ids {
		r, err := tx.Request(ctx, id, false)
		if err != nil {
			return nil, err
		}
		if r.ApprovalLapsed(now) {
			continue
		}
		approvals, err := tx.Approvals(ctx, id)
		if err != nil {
			return nil, err
		}
		count, err := portal.Quorum(r, approvals)
		if err != nil {
			continue // the executor refuses a payload that changed
		}
		if r.BypassesPolicy() {
			count = r.RequiredApprovals
		}
		g, err := s.Gate(ctx, tx, r, now)
		if err != nil {
			return nil, err
		}
		if !g.MayRun(count, r.RequiredApprovals) {
			continue
		}
		n, err := s.Outbox.WakeExecution(ctx, tx, r.ID)
		if err != nil {
			return nil, fmt.Errorf("wake request %d: %w", r.ID, err)
		}
		if n > 0 {
			woken = append(woken, r)
		}
	}
	return woken, nil
}

// WouldWake returns the approved requests that change c, made now, lets
// run at once: held back by the windows and freezes in force, and not by
// them once c is made (what WakeWaiting then wakes). It only reads: the
// card of a waiting change says it before an admin approves it.
func (s *Service) WouldWake(ctx context.Context, c portal.WindowChange) ([]portal.Request, error) {
	now := s.Now()
	sched, err := s.Store.Schedule(ctx, now)
	if err != nil {
		return nil, err
	}
	after := c.Apply(sched)
	approved, err := s.Store.ListRequests(ctx, db.RequestFilter{Status: portal.StatusApproved, Now: now}, maxWoken)
	if err != nil {
		return nil, err
	}
	var out []portal.Request
	for _, r := range approved {
		if r.ApprovalLapsed(now) {
			continue // not woken: it fails without calling the cloud
		}
		approvals := func() ([]portal.Approval, error) { return s.Store.Approvals(ctx, r.ID) }
		heldNow, err := heldBy(portal.WindowState(r.Operation, sched, now, r.BypassesPolicy()), r, approvals)
		if err != nil {
			return nil, err
		}
		if !heldNow {
			continue
		}
		heldAfter, err := heldBy(portal.WindowState(r.Operation, after, now, r.BypassesPolicy()), r, approvals)
		if err != nil {
			return nil, err
		}
		if !heldAfter {
			out = append(out, r)
		}
	}
	slices.Reverse(out) // oldest first, as WakeWaiting wakes them
	return out, nil
}
