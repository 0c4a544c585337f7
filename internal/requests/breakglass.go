package requests

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/db"
	"drportal/internal/portal"
)

// Webhook events of break-glass.
const (
	// EventBreakGlass announces an emergency request: a responder ran an
	// operation without the quorum. Every approver and admin is to know.
	EventBreakGlass = "request.break_glass"
	// EventBreakGlassReviewed announces that two approvers reviewed it.
	EventBreakGlassReviewed = "request.break_glass_reviewed"
)

// Why break-glass is refused, for the form and the audit (reason).
const (
	refusedOff        = "off"
	refusedOperation  = "operation"
	refusedUnreviewed = "unreviewed"
	refusedFlagged    = "flagged"
	refusedHeld       = "held" // another request executes on the task
)

// BreakGlassRefusal is why u cannot break glass for op now: break-glass is
// off, its policy does not allow op, u's last emergency is not reviewed
// yet, or a review flagged one of u's emergencies and no admin has cleared
// the flag. The zero value means nothing stands in the way.
type BreakGlassRefusal struct {
	Reason  string // off, operation, unreviewed, flagged, held ("" when allowed)
	Message string
	// Unreviewed is u's emergency whose review is not complete (0: none).
	Unreviewed int64
	// Flagged is u's emergency flagged in review whose flag stands (0: none).
	Flagged int64
}

func breakGlassRefusal(p portal.BreakGlassPolicy, op portal.Operation, bar db.Bar) BreakGlassRefusal {
	switch {
	case !p.Enabled:
		return BreakGlassRefusal{Reason: refusedOff, Message: "Break-glass is turned off (it starts off; two admins turn it on at " +
			"Admin → Break-glass), so every operation needs its approvals: have a request filed and call an approver."}
	case !p.Allows(op):
		var names []string
		for _, o := range p.Operations {
			names = append(names, strings.ToLower(o.Label()))
		}
		return BreakGlassRefusal{Reason: refusedOperation, Message: fmt.Sprintf("The break-glass policy does not allow a %s: it allows only %s. "+
			"File a request for approval instead.", strings.ToLower(op.Label()), strings.Join(names, ", "))}
	case bar.RequestID != 0 && bar.Flagged:
		return BreakGlassRefusal{Reason: refusedFlagged, Flagged: bar.RequestID, Message: fmt.Sprintf("Your emergency #%d was flagged "+
			"in review; an admin must clear it before you can break glass again. Ask an admin to look at it.", bar.RequestID)}
	case bar.RequestID != 0:
		return BreakGlassRefusal{Reason: refusedUnreviewed, Unreviewed: bar.RequestID, Message: fmt.Sprintf("Your emergency request #%d "+
			"has not been reviewed by two approvers yet: until it is, you cannot break glass again. Ask the approvers to review it.", bar.RequestID)}
	}
	return BreakGlassRefusal{}
}

// CanBreakGlass says what, if anything, stops u breaking glass for op now,
// from the database only (the form explains it before anyone submits).
func (s *Service) CanBreakGlass(ctx context.Context, u portal.User, op portal.Operation) (BreakGlassRefusal, portal.BreakGlassPolicy, error) {
	p, err := s.Store.BreakGlassPolicy(ctx)
	if err != nil {
		return BreakGlassRefusal{}, p, err
	}
	bar, err := s.Store.EmergencyBarOf(ctx, u.ID)
	if err != nil {
		return BreakGlassRefusal{}, p, err
	}
	return breakGlassRefusal(p, op, bar), p, nil
}

// Off reports whether break-glass is refused because it is turned off.
func (r BreakGlassRefusal) Off() bool { return r.Reason == refusedOff }

// RefusedError is a break-glass attempt refused by the policy.
type RefusedError struct {
	BreakGlassRefusal
}

func (e *RefusedError) Error() string { return e.Message }

// Refused errors are conflicts: the request is fine, the portal's state
// (the policy, an open review) stands in its way.
func (e *RefusedError) Unwrap() error { return apperr.New(apperr.Conflict, "%s", e.Message) }

// BreakGlassRefused records a refused attempt to break glass for d.
func (s *Service) BreakGlassRefused(ctx context.Context, u portal.User, d Draft, why BreakGlassRefusal) error {
	e := audit.FromContext(ctx, audit.ActionBreakGlassRefused, audit.Denied)
	e.OccurredAt = s.Now()
	e.SubjectType, e.SubjectID = audit.SubjectDRTask, d.DRTaskID
	detail := map[string]any{"operation": d.Operation, "task_name": d.TaskName, "reason": why.Reason, "message": why.Message}
	if why.Unreviewed != 0 {
		detail["unreviewed_request"] = why.Unreviewed
	}
	if why.Flagged != 0 {
		detail["flagged_request"] = why.Flagged
	}
	e.Detail = audit.Detail(detail)
	// Counted like a denial: a loop of refused attempts adds one event a
	// minute, not one an attempt.
	return s.Store.RecordRefusal(context.WithoutCancel(ctx), audit.Refusal{First: e, Reason: why.Reason})
}

// maxRecordedText bounds each free text a refused form puts on record: a
// refusal is often of text too long, and a loop of refusals must not fill
// the history.
const maxRecordedText = audit.MaxRefusalText

// BreakGlassNotFiled records that responder u's emergency form for d came
// back with errs (by field, in the words the form showed) and ran nothing:
// like a DR task form that was not filed, with the start of what was typed
// (the reason as d.Justification, and the incident when it has the form
// of an incident's reference, else only its length) and never the password.
// The cluster's name typed in confirm is not kept, only whether it was
// want (the name asked for) and its length: a password typed into the
// wrong field must not go on record. It is counted like a denial (reason
// form): the first such form of a person in a minute is appended, the
// rest that minute counted.
func (s *Service) BreakGlassNotFiled(ctx context.Context, u portal.User, d Draft, incident, confirm, want string, errs map[string]string) error {
	e := audit.FromContext(ctx, audit.ActionBreakGlassRejected, audit.Denied)
	e.OccurredAt = s.Now()
	e.SubjectType, e.SubjectID = audit.SubjectDRTask, d.DRTaskID
	detail := map[string]any{"operation": d.Operation, "task_name": d.TaskName, "errors": audit.ClipAll(errs),
		"justification": audit.Clip(d.Justification, maxRecordedText)}
	if incident = strings.TrimSpace(incident); portal.CheckIncident(incident) == "" {
		detail["incident"] = incident
	} else {
		// Not an incident's reference: perhaps a password typed into the
		// wrong field, so only its length, as for the cluster's name.
		detail["incident_length"] = utf8.RuneCountInString(incident)
	}
	for k, v := range portal.ConfirmRecord(confirm, want) {
		detail[k] = v
	}
	e.Detail = audit.Detail(detail)
	return s.Store.RecordRefusal(context.WithoutCancel(ctx), audit.Refusal{First: e, Reason: "form"})
}

// CheckReason returns what is wrong with a break-glass reason, or "": the
// rules of a justification, in the words of an emergency.
func CheckReason(s string) string {
	s = strings.TrimSpace(s)
	switch n := utf8.RuneCountInString(s); {
	case s == "":
		return "Say what is broken and why this cannot wait: the reviewers start from it."
	case n < MinJustification:
		return fmt.Sprintf("Say why in at least %d characters (this has %d), e.g. \"primary unreachable since 02:10\".", MinJustification, n)
	case n > MaxJustification:
		return fmt.Sprintf("Keep the reason under %d characters.", MaxJustification)
	case portal.HasHiddenText(s):
		return portal.HiddenTextProblem
	}
	return ""
}

// BreakGlass files d as an emergency request of responder u for incident
// and approves it at once without the quorum (the policy bypass), in one
// transaction: the request, its emergency record, the execution's job, the
// webhook that tells every approver and admin, and the audit event
// (break_glass.bypass, outcome bypassed). The password must have been
// confirmed (auth.Service.ConfirmPassword); d.Justification is the reason.
// It is refused, and the refusal audited, when break-glass is off, its
// policy does not allow d's operation, u's last emergency is not reviewed
// yet, or one of u's emergencies was flagged in review and no admin has
// cleared the flag (a RefusedError).
func (s *Service) BreakGlass(ctx context.Context, u portal.User, d Draft, incident string) (portal.Request, error) {
	if !u.Has(portal.RoleResponder) {
		return portal.Request{}, apperr.Deny(apperr.Forbidden, audit.ReasonRole, "Only responders can break glass.")
	}
	incident = strings.TrimSpace(incident)
	if msg := portal.CheckIncident(incident); msg != "" {
		return portal.Request{}, apperr.New(apperr.Invalid, "%s", msg)
	}
	if msg := CheckReason(d.Justification); msg != "" {
		return portal.Request{}, apperr.New(apperr.Invalid, "%s", msg)
	}
	if !slices.Contains(portal.BreakGlassOps, d.Operation) || d.DRTaskID == "" {
		return portal.Request{}, apperr.New(apperr.Invalid, "Break-glass runs a failover, switchover, recovery or start on a DR task.")
	}
	reason := strings.TrimSpace(d.Justification)
	now := s.Now()
	var out portal.Request
	var refused *RefusedError
	err := s.Store.InTx(ctx, func(tx *db.Tx) error {
		// The responder's row is held until commit: two attempts of one
		// person at once see each other's emergency.
		stored, err := tx.UserForUpdate(ctx, u.ID)
		if err != nil {
			return err
		}
		if !stored.Active || !stored.Has(portal.RoleResponder) {
			return apperr.Deny(apperr.Forbidden, audit.ReasonRole, "Only active responders can break glass.")
		}
		bg, err := tx.BreakGlassPolicy(ctx)
		if err != nil {
			return err
		}
		bar, err := tx.EmergencyBarOf(ctx, u.ID)
		if err != nil {
			return err
		}
		if why := breakGlassRefusal(bg, d.Operation, bar); why.Reason != "" {
			refused = &RefusedError{why}
			return refused
		}
		// A request executing on the task is never interrupted (one that
		// is only approved is superseded below).
		held, err := tx.ExecutingOn(ctx, d.DRTaskID)
		if err != nil {
			return err
		}
		if held != 0 {
			refused = &RefusedError{BreakGlassRefusal{Reason: refusedHeld, Message: fmt.Sprintf("Request #%d is executing on this DR task "+
				"right now: break-glass can go ahead once it has finished. Follow it on its page.", held)}}
			return refused
		}
		policy, err := tx.CurrentPolicy(ctx)
		if err != nil {
			return err
		}
		r, err := tx.InsertRequest(ctx, portal.Request{
			Operation: d.Operation, DRTaskID: d.DRTaskID, TaskName: d.TaskName, TargetKey: targetKey(d),
			Method: d.Method, Path: d.Path, Payload: d.Payload, PayloadSHA256: portal.PayloadHash(d.Payload),
			RequesterID: u.ID, Justification: reason, Status: portal.StatusPending,
			RequiredApprovals: policy.Required(d.Operation), PolicyVersion: policy.Version,
			CreatedAt: now, ExpiresAt: now.Add(policy.PendingTTL),
			Consequence: d.Consequence, ConfirmName: d.ConfirmName, Summary: d.Summary,
		})
		if err != nil {
			return err
		}
		due := now.Add(time.Duration(bg.ReviewDays) * 24 * time.Hour)
		if err := tx.InsertEmergency(ctx, portal.Emergency{RequestID: r.ID, ResponderID: u.ID, Incident: incident,
			Reason: reason, CreatedAt: now, ReviewDueAt: due}); err != nil {
			return err
		}
		if err := s.supersede(ctx, tx, r, incident, now); err != nil {
			return err
		}
		until := now.Add(policy.ApprovalTTL)
		out, err = s.apply(ctx, tx, step{
			move: func(tx *db.Tx) (portal.Request, error) {
				return tx.ApproveRequest(ctx, r.ID, sources(portal.StatusApproved), now, until)
			},
			also: func(tx *db.Tx, r portal.Request) error {
				if err := s.Outbox.EnqueueExecution(ctx, tx, r.ID, r.Resumes); err != nil {
					return fmt.Errorf("enqueue request %d: %w", r.ID, err)
				}
				return nil
			},
			notify: EventBreakGlass, action: audit.ActionBreakGlass, outcome: audit.Bypassed,
			detail: map[string]any{
				"policy": "bypassed: approved without the quorum by break-glass", "incident": incident, "reason": reason,
				"required_approvals_bypassed": r.RequiredApprovals, "break_glass_version": bg.Version,
				"review_due_at": due, "approval_expires_at": until,
				"method": d.Method, "path": d.Path, "consequence": d.Consequence, "confirmed_cluster": d.ConfirmName,
			},
		})
		return err
	})
	if errors.As(err, &refused) {
		if aerr := s.BreakGlassRefused(ctx, u, d, refused.BreakGlassRefusal); aerr != nil {
			return portal.Request{}, aerr
		}
	}
	return out, err
}

// supersede ends, as failed, the requests on emergency r's task that were
// approved but have not started (a drill scheduled for later, a request
// waiting for its change window): an emergency does not wait for them, and
// the task holds one approved or executing request at a time. One that
// executes already is not touched; the emergency is then refused as
// usual until it has finished.
func (s *Service) supersede(ctx context.Context, tx *db.Tx, r portal.Request, incident string, now time.Time) error {
	olds, err := tx.ApprovedNotStarted(ctx, r.DRTaskID)
	if err != nil {
		return err
	}
	for _, old := range olds {
		why := fmt.Sprintf("Superseded by emergency request #%d (break-glass, incident %s) before it started; nothing was sent for it.", r.ID, incident)
		var also []step
		if old.Operation == portal.OpDrill {
			if why, also, err = s.drillFailed(ctx, old, why, now); err != nil {
				return err
			}
		}
		id := old.ID
		steps := append([]step{{
			move: func(tx *db.Tx) (portal.Request, error) {
				return tx.EndRequest(ctx, id, []portal.RequestStatus{portal.StatusApproved}, portal.StatusFailed, now, why, db.CloudError{})
			},
			notify: EventFailed, action: audit.ActionRequestFailed, outcome: audit.Failure,
			detail: map[string]any{"reason": why, "superseded_by": r.ID},
		}}, also...)
		for _, st := range steps {
			if _, err := s.apply(ctx, tx, st); err != nil {
				return err
			}
		}
	}
	return nil
}

// MaxReviewComment bounds a review's comment.
const MaxReviewComment = 2000

// MinReviewComment is the shortest comment a review or the clearing of a
// flag takes, in characters other than spaces: like a break-glass reason
// or an admin's cancellation, it is what the history keeps of why.
const MinReviewComment = 10

// commentLength is how many characters of s are not white space.
func commentLength(s string) int {
	n := 0
	for _, r := range s {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n
}

// CanReview says whether u may review emergency e now, and if not, why:
// an active approver since before it was filed (the rule of CanDecide: an
// approver made after an emergency does not review it) who is not its
// responder and has not reviewed it, while its review is open.
func CanReview(u portal.User, e portal.Emergency) (bool, string) {
	switch {
	case e.ReviewedAt != nil:
		return false, "The review of this emergency is complete."
	case u.ID == e.ResponderID:
		return false, "Nobody reviews their own emergency."
	case !u.Active || !u.Has(portal.RoleApprover):
		return false, "Only approvers review emergencies."
	case u.ApproverSince.After(e.CreatedAt):
		return false, "You became an approver after this emergency was filed: it is reviewed by people who were approvers then."
	}
	for _, v := range e.Reviews {
		if v.ReviewerID == u.ID {
			return false, fmt.Sprintf("You reviewed it already (%s).", v.Verdict)
		}
	}
	return true, ""
}

// Review records approver u's post-incident review of emergency request
// id: acknowledged (the bypass was justified) or flagged (the admins look
// closer), with a comment. The second review completes it and ends the
// banner; it lifts the responder's bar on breaking glass again unless a
// review flagged it, in which case the bar stands until an admin clears
// the flag (ClearFlag). Each review is audited (break_glass.review) in its
// transaction.
func (s *Service) Review(ctx context.Context, u portal.User, id int64, verdict portal.Verdict, comment string) (portal.Emergency, error) {
	out, err := s.review(ctx, u, id, verdict, comment)
	if k := apperr.KindOf(err); k == apperr.Conflict || k == apperr.Invalid || k == apperr.NotFound {
		if aerr := s.reviewRefused(ctx, u, id, verdict, comment, err); aerr != nil {
			return out, aerr
		}
	}
	return out, err
}

// Why a review was not recorded, for the audit (reason).
const (
	reviewNotEmergency = "not-emergency" // the request is no emergency, or there is no such request
	reviewComplete     = "complete"      // the emergency has its two reviews
	reviewAgain        = "reviewed"      // the approver reviewed it already
	reviewForm         = "form"          // no verdict, a comment missing, too short or too long
)

// reviewRefused records that approver u's review of request id was not
// recorded, and why (refused, the error the form showed): the request is
// no emergency (or does not exist), the emergency has its two reviews
// already, its approver reviewed it already, or the form had errors.
// Refusals that are denials (one's own emergency, no approver role) are on
// record as such (access.denied). It is counted like a denial: the first
// of its kind (the person and why) in a minute is appended, the rest that
// minute counted.
func (s *Service) reviewRefused(ctx context.Context, u portal.User, id int64, verdict portal.Verdict, comment string, refused error) error {
	ctx = context.WithoutCancel(ctx)
	detail := map[string]any{"verdict": audit.Clip(string(verdict), 32), "comment": audit.Clip(strings.TrimSpace(comment), maxRecordedText),
		"error": apperr.Message(refused)}
	why := reviewForm
	e, err := s.Store.Emergency(ctx, id)
	switch {
	case apperr.KindOf(err) == apperr.NotFound:
		why = reviewNotEmergency
	case err != nil:
		return err
	default:
		detail["incident"], detail["responder"] = e.Incident, e.ResponderEmail
		detail["reviews"], detail["review_complete"] = len(e.Reviews), e.ReviewedAt != nil
		switch {
		case apperr.KindOf(refused) == apperr.Invalid:
		case e.ReviewedAt != nil:
			why = reviewComplete
		default:
			why = reviewAgain
		}
	}
	detail["refused"] = why
	r, err := s.Store.Request(ctx, id)
	var ev audit.Event
	switch {
	case err == nil:
		ev = Event(ctx, audit.ActionBreakGlassReviewRefused, audit.Denied, r, s.Now(), detail)
	case apperr.KindOf(err) == apperr.NotFound:
		// No such request: on record by its number.
		ev = audit.FromContext(ctx, audit.ActionBreakGlassReviewRefused, audit.Denied)
		ev.OccurredAt = s.Now()
		ev.SubjectType, ev.SubjectID = audit.SubjectRequest, fmt.Sprint(id)
		ev.Detail = audit.Detail(detail)
	default:
		return err
	}
	return s.Store.RecordRefusal(ctx, audit.Refusal{First: ev, Reason: why})
}

func (s *Service) review(ctx context.Context, u portal.User, id int64, verdict portal.Verdict, comment string) (portal.Emergency, error) {
	comment = strings.TrimSpace(comment)
	switch {
	case verdict != portal.VerdictAcknowledge && verdict != portal.VerdictFlag:
		return portal.Emergency{}, apperr.New(apperr.Invalid, "Acknowledge or flag the emergency. Nothing was changed.")
	case comment == "":
		return portal.Emergency{}, apperr.New(apperr.Invalid, "Say what you found: the comment stays with the review. Nothing was changed.")
	case commentLength(comment) < MinReviewComment:
		return portal.Emergency{}, apperr.New(apperr.Invalid, "Say what you found in at least %d characters, not counting spaces (this has %d): "+
			"the comment stays with the review. Nothing was changed.", MinReviewComment, commentLength(comment))
	case utf8.RuneCountInString(comment) > MaxReviewComment:
		return portal.Emergency{}, apperr.New(apperr.Invalid, "Keep the comment under %d characters. Nothing was changed.", MaxReviewComment)
	case portal.HasHiddenText(comment):
		return portal.Emergency{}, apperr.New(apperr.Invalid, "%s Nothing was changed.", portal.HiddenTextProblem)
	}
	now := s.Now()
	var out portal.Emergency
	err := s.Store.InTx(ctx, func(tx *db.Tx) error {
		e, err := tx.EmergencyForUpdate(ctx, id)
		if err != nil {
			return err
		}
		if ok, why := CanReview(u, e); !ok {
			switch {
			case e.ReviewedAt != nil:
				return apperr.New(apperr.Conflict, "%s Nothing was changed.", why)
			case u.ID == e.ResponderID:
				return apperr.Deny(apperr.Forbidden, audit.ReasonSelfApproval, "%s Nothing was changed.", why)
			case !u.Has(portal.RoleApprover):
				return apperr.Deny(apperr.Forbidden, audit.ReasonNotApprover, "%s Nothing was changed.", why)
			case u.ApproverSince.After(e.CreatedAt):
				return apperr.Deny(apperr.Forbidden, audit.ReasonApproverAfterFiling, "%s Nothing was changed.", why)
			}
			return apperr.New(apperr.Conflict, "%s Nothing was changed.", why)
		}
		v := portal.EmergencyReview{ReviewerID: u.ID, ReviewerEmail: u.Email, Verdict: verdict, Comment: comment, At: now}
		if err := tx.InsertEmergencyReview(ctx, id, v); err != nil {
			return err
		}
		e.Reviews = append(e.Reviews, v)
		complete := len(e.Reviews) >= portal.ReviewsNeeded
		if complete {
			if err := tx.CompleteEmergencyReview(ctx, id, now); err != nil {
				return err
			}
			e.ReviewedAt = &now
		}
		out = e
		notify := ""
		if complete {
			notify = EventBreakGlassReviewed
		}
		_, err = s.apply(ctx, tx, step{
			move:   func(tx *db.Tx) (portal.Request, error) { return tx.Request(ctx, id, false) },
			notify: notify, action: audit.ActionBreakGlassReview, outcome: audit.Success,
			detail: map[string]any{"verdict": string(verdict), "comment": comment, "incident": e.Incident,
				"responder": e.ResponderEmail, "reviews": len(e.Reviews), "review_complete": complete,
				"flagged": e.Flagged(), "overdue": !now.Before(e.ReviewDueAt)},
		})
		return err
	})
	return out, err
}

// ClearFlag records admin u's decision, with a comment, that the flagged
// review of emergency request id needs nothing more: its responder may
// break glass again. The review must be complete and flagged, and its flag
// not cleared yet; nobody clears the flag of their own emergency. It is
// audited (break_glass.flag_cleared) in its transaction.
func (s *Service) ClearFlag(ctx context.Context, u portal.User, id int64, comment string) (portal.Emergency, error) {
	comment = strings.TrimSpace(comment)
	switch {
	case !u.Active || !u.Has(portal.RoleAdmin):
		return portal.Emergency{}, apperr.Deny(apperr.Forbidden, audit.ReasonRole, "Only admins clear the flag of an emergency. Nothing was changed.")
	case comment == "":
		return portal.Emergency{}, apperr.New(apperr.Invalid, "Say why the flag can be cleared: the comment stays with the emergency. Nothing was changed.")
	case commentLength(comment) < MinReviewComment:
		return portal.Emergency{}, apperr.New(apperr.Invalid, "Say why the flag can be cleared in at least %d characters, not counting spaces "+
			"(this has %d): the comment stays with the emergency. Nothing was changed.", MinReviewComment, commentLength(comment))
	case utf8.RuneCountInString(comment) > MaxReviewComment:
		return portal.Emergency{}, apperr.New(apperr.Invalid, "Keep the comment under %d characters. Nothing was changed.", MaxReviewComment)
	}
	now := s.Now()
	var out portal.Emergency
	err := s.Store.InTx(ctx, func(tx *db.Tx) error {
		stored, err := tx.UserForUpdate(ctx, u.ID)
		if err != nil {
			return err
		}
		if !stored.Active || !stored.Has(portal.RoleAdmin) {
			return apperr.Deny(apperr.Forbidden, audit.ReasonRole, "Only active admins clear the flag of an emergency. Nothing was changed.")
		}
		e, err := tx.EmergencyForUpdate(ctx, id)
		if err != nil {
			return err
		}
		switch {
		case e.ResponderID == u.ID:
			return apperr.Deny(apperr.Forbidden, audit.ReasonSelfApproval, "Nobody clears the flag of their own emergency. Nothing was changed.")
		case !e.Flagged():
			return apperr.New(apperr.Conflict, "No review flagged request #%d: there is no flag to clear. Nothing was changed.", id)
		case e.FlagClearedAt != nil:
			return apperr.New(apperr.Conflict, "The flag of request #%d was cleared already, by %s. Nothing was changed.", id, e.FlagClearedBy)
		case e.ReviewedAt == nil:
			return apperr.New(apperr.Conflict, "The review of request #%d is not complete yet: clear the flag once two approvers have reviewed it. "+
				"Nothing was changed.", id)
		}
		if err := tx.ClearEmergencyFlag(ctx, id, u.ID, comment, now); err != nil {
			return err
		}
		e.FlagClearedAt, e.FlagClearedBy, e.FlagClearComment = &now, u.Email, comment
		out = e
		var flags []string
		for _, v := range e.Reviews {
			if v.Verdict == portal.VerdictFlag {
				flags = append(flags, v.ReviewerEmail+": "+v.Comment)
			}
		}
		_, err = s.apply(ctx, tx, step{
			move:   func(tx *db.Tx) (portal.Request, error) { return tx.Request(ctx, id, false) },
			action: audit.ActionBreakGlassFlagCleared, outcome: audit.Success,
			detail: map[string]any{"comment": comment, "incident": e.Incident, "responder": e.ResponderEmail, "flags": flags},
		})
		return err
	})
	return out, err
}
