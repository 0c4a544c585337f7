package requests

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/db"
	"drportal/internal/portal"
)

// Cancelling withdraws a request before it starts. A pending request is
// withdrawn by its requester (an approver rejects it instead). An approved
// one that has not started (waiting for its change window, a drill
// scheduled for later, queued for the executor) may be cancelled by its
// requester or by an admin: an admin is not above the approval rules, but
// withdrawing a change makes things safer, not less safe. An admin who
// cancels someone else's request says why. Once the executor has moved a
// request to executing it has started and can no longer be cancelled.

// MinCancelReason is the shortest reason an admin gives for cancelling
// someone else's request, in characters.
const MinCancelReason = 10

// CanCancel says whether u may cancel r now: its requester while it is
// pending or approved and not started, an admin while it is approved and
// not started. An emergency (break-glass) only an admin other than its
// responder may cancel.
func CanCancel(u portal.User, r portal.Request, now time.Time) bool {
	if r.BypassesPolicy() && u.ID == r.RequesterID {
		return false // an emergency's responder: see mayCancel
	}
	switch r.EffectiveStatus(now) {
	case portal.StatusPending:
		return u.ID == r.RequesterID
	case portal.StatusApproved:
		return r.CallState == portal.CallNone && (u.ID == r.RequesterID || u.Has(portal.RoleAdmin))
	}
	return false
}

// NeedsCancelReason says whether u must say why to cancel r: someone
// else's request, cancelled by an admin.
func NeedsCancelReason(u portal.User, r portal.Request) bool { return u.ID != r.RequesterID }

// CheckCancelReason returns what is wrong with a cancellation's reason, or
// "". required: an admin cancelling someone else's request must give one.
func CheckCancelReason(s string, required bool) string {
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	switch {
	case s == "" && required:
		return "Say why you cancel someone else's request: its requester and the audit history rely on it."
	case n < MinCancelReason && required:
		return fmt.Sprintf("Say why in at least %d characters (this has %d): its requester and the audit history rely on it.", MinCancelReason, n)
	case n > MaxJustification:
		return fmt.Sprintf("Keep the reason under %d characters.", MaxJustification)
	case portal.HasHiddenText(s):
		return portal.HiddenTextProblem
	}
	return ""
}

// mayCancel refuses u the cancellation of r when it is not theirs to
// cancel, whatever r's status.
func mayCancel(u portal.User, r portal.Request) error {
	switch {
	case r.BypassesPolicy() && u.ID == r.RequesterID:
		// Filing it superseded the approved requests on its task that had
		// not started: withdrawing it would undo others' approved work
		// with nothing run.
		return apperr.Deny(apperr.Forbidden, audit.ReasonOwnEmergency, "Request #%d is your emergency: breaking glass superseded "+
			"the approved requests on its task that had not started, so you cannot withdraw it; an admin can, saying why. Nothing was changed.", r.ID)
	case u.ID == r.RequesterID:
		return nil
	case u.Has(portal.RoleAdmin) && r.Status == portal.StatusPending:
		return apperr.Deny(apperr.Forbidden, audit.ReasonNotRequester, "Request #%d waits for its approvals: only its requester can "+
			"withdraw it (an approver can reject it). An admin can cancel it once it is approved, before it starts. Nothing was changed.", r.ID)
	case u.Has(portal.RoleAdmin):
		return nil
	}
	return apperr.Deny(apperr.Forbidden, audit.ReasonNotRequester, "Only its requester or an admin can cancel request #%d. Nothing was changed.", r.ID)
}

// alreadyStarted refuses the cancellation of r, which the executor has
// begun.
func alreadyStarted(r portal.Request, zone *time.Location) error {
	when := ""
	if r.StartedAt != nil {
		when = " at " + portal.FormatTime(*r.StartedAt, zone)
	}
	return apperr.New(apperr.Conflict, "Request #%d has already started: the executor began it%s, so it can no longer be cancelled. "+
		"Follow it on its page. Nothing was changed.", r.ID, when)
}

// cancelledBy is a cancelled request's outcome: who cancelled it and why.
func cancelledBy(u portal.User, reason string) string {
	if reason == "" {
		return "Cancelled by " + u.Email + "."
	}
	return "Cancelled by " + u.Email + ": " + reason
}

// sentences joins two sentences, ending the first with a full stop when
// it has none (a reason typed without one).
func sentences(a, b string) string {
	if !strings.HasSuffix(a, ".") && !strings.HasSuffix(a, "!") && !strings.HasSuffix(a, "?") {
		a += "."
	}
	return a + " " + b
}

// Cancel withdraws request id before it starts, as u, with reason (kept
// as the request's outcome and in the audit history; required of an admin
// cancelling someone else's request). A pending request is withdrawn
// (pending → cancelled), an approved one that has not started is cancelled
// (approved → cancelled, CancelApproved) and its waiting execution job
// with it. One that has started, or ended, is refused and nothing changes.
//
// The request is read without a lock: each move is one guarded update,
// and that is what races with the executor (a request it has moved to
// executing meanwhile is refused as already started) and with a decision
// (a pending request approved meanwhile is judged again as approved).
//
// A refusal that is not a denial (the request has started or ended, the
// reason an admin must give is missing or short) is audited
// (request.cancel_refused), counted like a denial.
func (s *Service) Cancel(ctx context.Context, u portal.User, id int64, reason string) (portal.Request, error) {
	out, err := s.cancel(ctx, id, u, reason)
	if k := apperr.KindOf(err); k == apperr.Conflict || k == apperr.Invalid {
		if aerr := s.cancelRefused(ctx, id, reason, err); aerr != nil {
			return out, aerr
		}
	}
	return out, err
}

// Why a cancellation was refused, for the audit (reason).
const (
	cancelStarted = "started" // the executor has begun it
	cancelEnded   = "ended"   // it has ended (or was never to run)
	cancelReason  = "reason"  // the reason required of an admin is missing or short
)

// cancelRefused records that a cancellation of request id was refused
// (refused, the error shown) and changed nothing, with the start of the
// reason typed. The first of its kind (the person and why) in a minute is
// appended, the rest that minute counted (db.Store.RecordRefusal).
func (s *Service) cancelRefused(ctx context.Context, id int64, reason string, refused error) error {
	ctx = context.WithoutCancel(ctx)
	r, err := s.Store.Request(ctx, id)
	if err != nil {
		return err
	}
	why := cancelEnded
	switch st := r.EffectiveStatus(s.Now()); {
	case apperr.KindOf(refused) == apperr.Invalid:
		why = cancelReason
	case st == portal.StatusApproved || st == portal.StatusExecuting:
		why = cancelStarted
	}
	e := Event(ctx, audit.ActionRequestCancelRefused, audit.Denied, r, s.Now(), map[string]any{
		"refused": why, "error": apperr.Message(refused), "status": string(r.Status),
		"reason": audit.Clip(strings.TrimSpace(reason), maxRecordedText)})
	return s.Store.RecordRefusal(ctx, audit.Refusal{First: e, Reason: why})
}

func (s *Service) cancel(ctx context.Context, id int64, u portal.User, reason string) (portal.Request, error) {
	now := s.Now()
	reason = strings.TrimSpace(reason)
	var out portal.Request
	err := s.Store.InTx(ctx, func(tx *db.Tx) error {
		for again := true; ; again = false {
			r, err := tx.Request(ctx, id, false)
			if err != nil {
				return err
			}
			if err := mayCancel(u, r); err != nil {
				return err
			}
			if msg := CheckCancelReason(reason, NeedsCancelReason(u, r)); msg != "" {
				return apperr.New(apperr.Invalid, "%s Nothing was changed.", msg)
			}
			switch st := r.EffectiveStatus(now); {
			case st == portal.StatusPending:
				out, err = s.cancelPending(ctx, tx, u, r, reason, now)
				if apperr.KindOf(err) == apperr.Conflict && again {
					continue // decided meanwhile: judged again as it is now
				}
				return err
			case st == portal.StatusApproved && r.CallState == portal.CallNone:
				out, err = s.cancelApproved(ctx, tx, u, r, reason, now)
				return err
			case st == portal.StatusApproved || st == portal.StatusExecuting:
				return alreadyStarted(r, s.DisplayZone)
			default:
				return apperr.New(apperr.Conflict, "Request #%d is %s, so it can no longer be cancelled. Nothing was changed.",
					id, strings.ToLower(st.Label()))
			}
		}
	})
	return out, err
}

// cancelPending: pending → cancelled, by its requester.
func (s *Service) cancelPending(ctx context.Context, tx *db.Tx, u portal.User, r portal.Request, reason string, now time.Time) (portal.Request, error) {
	outcome := cancelledBy(u, reason)
	steps := []step{{
		move: func(tx *db.Tx) (portal.Request, error) {
			return tx.EndRequest(ctx, r.ID, []portal.RequestStatus{portal.StatusPending}, portal.StatusCancelled, now, outcome, db.CloudError{})
		},
		notify: EventCancelled, action: audit.ActionRequestCancelled, outcome: audit.Success,
		detail: map[string]any{"reason": reason, "cancelled_by": u.Email},
	}}
	drill, err := s.drillCancelled(ctx, tx, r, sentences(outcome, "It was never approved; nothing was switched."), now)
	if err != nil {
		return portal.Request{}, err
	}
	return s.applyAll(ctx, tx, append(steps, drill...))
}

// cancelApproved: approved → cancelled (CancelApproved), before the
// executor has begun it, by its requester or an admin. Its execution jobs
// that wait are cancelled in the same transaction; a run of the executor
// already looking at it finds it cancelled and sends nothing.
func (s *Service) cancelApproved(ctx context.Context, tx *db.Tx, u portal.User, r portal.Request, reason string, now time.Time) (portal.Request, error) {
	g, held, err := s.heldBack(ctx, tx, r, now)
	if err != nil {
		return portal.Request{}, err
	}
	runAt, err := tx.RequestNotBefore(ctx, r.ID)
	if err != nil {
		return portal.Request{}, err
	}
	_, stopped := CancelStops(r, g, held, runAt, now, s.DisplayZone)
	outcome := cancelledBy(u, reason)
	detail := map[string]any{"reason": reason, "cancelled_by": u.Email, "stopped": stopped,
		"note": sentences(outcome, stopped)}
	if u.ID != r.RequesterID {
		detail["requester"] = r.RequesterEmail
		detail["cancelled_as"] = "admin"
	}
	steps := []step{{
		move: func(tx *db.Tx) (portal.Request, error) {
			out, err := tx.CancelApproved(ctx, r.ID, now, outcome)
			if apperr.KindOf(err) != apperr.Conflict {
				return out, err
			}
			// The executor moved it on first (the guard above refused).
			cur, rerr := tx.Request(ctx, r.ID, false)
			if rerr != nil {
				return portal.Request{}, rerr
			}
			if cur.Status == portal.StatusExecuting || cur.Status == portal.StatusApproved {
				return portal.Request{}, alreadyStarted(cur, s.DisplayZone)
			}
			return portal.Request{}, apperr.New(apperr.Conflict, "Request #%d is %s now, so it can no longer be cancelled. Nothing was changed.",
				r.ID, strings.ToLower(cur.Status.Label()))
		},
		also: func(tx *db.Tx, r portal.Request) error {
			n, err := s.Outbox.CancelExecution(ctx, tx, r.ID)
			detail["jobs_cancelled"] = n
			if err != nil {
				return fmt.Errorf("cancel the execution of request %d: %w", r.ID, err)
			}
			return nil
		},
		notify: EventCancelled, action: audit.ActionRequestCancelledApproved, outcome: audit.Success, detail: detail,
	}}
	drill, err := s.drillCancelled(ctx, tx, r, sentences(outcome, stopped), now)
	if err != nil {
		return portal.Request{}, err
	}
	return s.applyAll(ctx, tx, append(steps, drill...))
}

// applyAll makes the steps in tx, in order, and returns the request as the
// last left it.
func (s *Service) applyAll(ctx context.Context, tx *db.Tx, steps []step) (portal.Request, error) {
	var out portal.Request
	for _, st := range steps {
		var err error
		if out, err = s.apply(ctx, tx, st); err != nil {
			return portal.Request{}, err
		}
	}
	return out, nil
}

// drillCancelled is the step that finishes drill request r as cancelled
// (why says by whom and what it stopped), in the cancellation's
// transaction; none for another request, or a drill already finished.
func (s *Service) drillCancelled(ctx context.Context, tx *db.Tx, r portal.Request, why string, now time.Time) ([]step, error) {
	if r.Operation != portal.OpDrill {
		return nil, nil
	}
	d, err := tx.Drill(ctx, r.ID)
	if apperr.KindOf(err) == apperr.NotFound {
		return nil, nil // filed before drills were recorded
	}
	if err != nil || d.Outcome != "" {
		return nil, err
	}
	return []step{{
		move: func(tx *db.Tx) (portal.Request, error) {
			if err := tx.FinishDrill(ctx, r.ID, now, portal.DrillCancelled, why); err != nil {
				return portal.Request{}, err
			}
			return tx.Request(ctx, r.ID, false)
		},
		action: audit.ActionDrillFinished, outcome: audit.Info,
		detail: map[string]any{"outcome": portal.DrillCancelled, "summary": why},
	}}, nil
}

// openingZone is the zone a request's opening is said in: its window's,
// or zone (the display zone) when the gate names none.
func openingZone(g portal.WindowGate, zone *time.Location) string {
	if g.Window.Zone != "" {
		return g.Window.Zone
	}
	return portal.ZoneName(zone)
}

// CancelStops says what cancelling approved request r at now stops, as
// the confirmation says it (will) and as the record keeps it (did): a
// drill waiting for its time (runAt, zero when none), a request the change
// windows or a freeze hold back (g, held: as HeldBack says), or one queued
// for the executor. Nothing has been sent for it either way.
func CancelStops(r portal.Request, g portal.WindowGate, held bool, runAt, now time.Time, zone *time.Location) (will, did string) {
	what := "it"
	if r.Operation == portal.OpDrill {
		what = "the drill"
	}
	switch {
	case r.Operation == portal.OpDrill && runAt.After(now):
		at := portal.TimeWithUTC(runAt, zone)
		will = fmt.Sprintf("Cancelling stops the drill scheduled for %s (%s): neither its switchover nor its switchback will be sent.", at, portal.Until(runAt.Sub(now)))
		did = fmt.Sprintf("The drill scheduled for %s did not run: neither its switchover nor its switchback was sent.", at)
	case held && g.Frozen && g.Restricted && g.RunsAt.After(g.Freeze.End):
		// The freeze, then the window: both hold it, both are named.
		ends, opens := portal.TimeWithUTC(g.Freeze.End, zone), openingZone(g, zone)
		will = fmt.Sprintf("Cancelling stops %s for good: it will not run after the freeze “%s” ends %s (%s), at the next window opening %s. Nothing has been sent to the cloud.",
			what, g.Freeze.Reason, ends, portal.Until(g.Freeze.End.Sub(now)), portal.DescribeOpening(g.RunsAt, opens, now))
		did = fmt.Sprintf("It was held by the freeze “%s”, until %s, and then by its change window, next open %s, and did not run; nothing was sent to the cloud.",
			g.Freeze.Reason, ends, portal.OpeningWithUTC(g.RunsAt, opens))
	case held && g.Frozen:
		ends := portal.TimeWithUTC(g.Freeze.End, zone)
		will = fmt.Sprintf("Cancelling stops %s for good: it will not run when the freeze “%s” ends, %s (%s). Nothing has been sent to the cloud.",
			what, g.Freeze.Reason, ends, portal.Until(g.Freeze.End.Sub(now)))
		did = fmt.Sprintf("It was held by the freeze “%s”, until %s, and did not run; nothing was sent to the cloud.", g.Freeze.Reason, ends)
	case held && !g.RunsAt.IsZero():
		will = fmt.Sprintf("Cancelling stops %s for good: it will not run when its change window opens: %s. Nothing has been sent to the cloud.",
			what, portal.DescribeOpening(g.RunsAt, g.Window.Zone, now))
		did = fmt.Sprintf("It was waiting for its change window to open, %s, and did not run; nothing was sent to the cloud.", portal.OpeningWithUTC(g.RunsAt, g.Window.Zone))
	default:
		will = fmt.Sprintf("Cancelling stops %s before the executor starts it: nothing has been sent to the cloud. Once it has started, it can no longer be cancelled.", what)
		did = "It was waiting for the executor and did not run; nothing was sent to the cloud."
	}
	return will, did
}
