package db

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"drportal/internal/apperr"
	"drportal/internal/portal"
)

// breakGlassPolicyRow is a break_glass_policies row.
type breakGlassPolicyRow struct {
	Version    int       `db:"version"`
	Enabled    bool      `db:"enabled"`
	Operations []string  `db:"operations"`
	ReviewDays int       `db:"review_days"`
	CreatedBy  int64     `db:"created_by"`
	ApprovedBy int64     `db:"approved_by"`
	CreatedAt  time.Time `db:"created_at"`
}

func (r breakGlassPolicyRow) policy() portal.BreakGlassPolicy {
	p := portal.BreakGlassPolicy{Version: r.Version, Enabled: r.Enabled, ReviewDays: r.ReviewDays,
		CreatedBy: r.CreatedBy, ApprovedBy: r.ApprovedBy, CreatedAt: r.CreatedAt}
	for _, op := range r.Operations {
		p.Operations = append(p.Operations, portal.Operation(op))
	}
	return p
}

// breakGlassPolicySQL reads the break-glass settings in effect.
const breakGlassPolicySQL = `SELECT version, enabled, operations, review_days, COALESCE(created_by, 0) AS created_by,
		COALESCE(approved_by, 0) AS approved_by, created_at FROM break_glass_policies ORDER BY version DESC LIMIT 1`

func currentBreakGlassPolicy(ctx context.Context, q querier) (portal.BreakGlassPolicy, error) {
	rows, err := q.Query(ctx, breakGlassPolicySQL)
	if err != nil {
		return portal.BreakGlassPolicy{}, fmt.Errorf("read break-glass policy: %w", err)
	}
	row, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[breakGlassPolicyRow])
	if err != nil {
		return portal.BreakGlassPolicy{}, fmt.Errorf("read break-glass policy: %w", err)
	}
	return row.policy(), nil
}

// BreakGlassPolicy returns the break-glass settings in effect.
func (s *Store) BreakGlassPolicy(ctx context.Context) (portal.BreakGlassPolicy, error) {
	return currentBreakGlassPolicy(ctx, s.pool)
}

// BreakGlassPolicy returns the break-glass settings in effect, inside the
// transaction.
func (t *Tx) BreakGlassPolicy(ctx context.Context) (portal.BreakGlassPolicy, error) {
	return currentBreakGlassPolicy(ctx, t.tx)
}

// BreakGlassLastOn is the latest version of the break-glass settings that
// was on, and until when it was in effect: nil while it is in effect now,
// else when the next version (which turned break-glass off) replaced it.
type BreakGlassLastOn struct {
	Policy portal.BreakGlassPolicy
	Until  *time.Time
}

func lastBreakGlassOn(ctx context.Context, q querier) (BreakGlassLastOn, bool, error) {
	rows, err := q.Query(ctx, `SELECT version, enabled, operations, review_days, COALESCE(created_by, 0) AS created_by,
			COALESCE(approved_by, 0) AS approved_by, created_at,
			(SELECT min(n.created_at) FROM break_glass_policies n WHERE n.version > p.version) AS until
		FROM break_glass_policies p WHERE enabled ORDER BY version DESC LIMIT 1`)
	if err != nil {
		return BreakGlassLastOn{}, false, fmt.Errorf("read the last break-glass settings that were on: %w", err)
	}
	type lastOnRow struct {
		breakGlassPolicyRow
		Until *time.Time `db:"until"`
	}
	row, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[lastOnRow])
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return BreakGlassLastOn{}, false, nil
	case err != nil:
		return BreakGlassLastOn{}, false, fmt.Errorf("read the last break-glass settings that were on: %w", err)
	}
	return BreakGlassLastOn{Policy: row.policy(), Until: row.Until}, true, nil
}

// LastBreakGlassOn returns the latest break-glass settings that were on
// (those in effect, while it is on); ok is false when it has never been on.
// A waiting change is compared with them: turning break-glass on brings
// back whatever the off settings say, which one admin may have widened.
func (s *Store) LastBreakGlassOn(ctx context.Context) (last BreakGlassLastOn, ok bool, err error) {
	return lastBreakGlassOn(ctx, s.pool)
}

// LastBreakGlassOn is Store.LastBreakGlassOn inside the transaction.
func (t *Tx) LastBreakGlassOn(ctx context.Context) (last BreakGlassLastOn, ok bool, err error) {
	return lastBreakGlassOn(ctx, t.tx)
}

// InsertBreakGlassPolicy stores new break-glass settings as the next
// version; two admins saving at once are a Conflict for the second.
func (t *Tx) InsertBreakGlassPolicy(ctx context.Context, p portal.BreakGlassPolicy) (portal.BreakGlassPolicy, error) {
	ops := make([]string, len(p.Operations))
	for i, op := range p.Operations {
		ops[i] = string(op)
	}
	rows, err := t.tx.Query(ctx, `INSERT INTO break_glass_policies (version, enabled, operations, review_days, created_by, approved_by, created_at)
		SELECT COALESCE(max(version), 0) + 1, $1, $2, $3, NULLIF($4, 0), NULLIF($5, 0), $6 FROM break_glass_policies
		RETURNING version, enabled, operations, review_days, COALESCE(created_by, 0) AS created_by,
			COALESCE(approved_by, 0) AS approved_by, created_at`,
		p.Enabled, ops, p.ReviewDays, p.CreatedBy, p.ApprovedBy, p.CreatedAt)
	if err != nil {
		return portal.BreakGlassPolicy{}, fmt.Errorf("save break-glass policy: %w", err)
	}
	row, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[breakGlassPolicyRow])
	if isUniqueViolation(err) {
		return portal.BreakGlassPolicy{}, apperr.Wrap(apperr.Conflict, err, "someone else changed the break-glass settings at the same time; reload and try again")
	}
	if err != nil {
		return portal.BreakGlassPolicy{}, fmt.Errorf("save break-glass policy: %w", err)
	}
	return row.policy(), nil
}

// InsertEmergency records that request e.RequestID was filed by breaking
// glass.
func (t *Tx) InsertEmergency(ctx context.Context, e portal.Emergency) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO break_glass (request_id, responder_id, incident, reason, created_at, review_due_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, e.RequestID, e.ResponderID, e.Incident, e.Reason, e.CreatedAt, e.ReviewDueAt)
	if err != nil {
		return fmt.Errorf("record emergency %d: %w", e.RequestID, err)
	}
	return nil
}

// emergencyRow is a break_glass row with its request and responder.
type emergencyRow struct {
	RequestID      int64        `db:"request_id"`
	Operation      string       `db:"operation"`
	TaskName       string       `db:"task_name"`
	DRTaskID       string       `db:"dr_task_id"`
	Status         string       `db:"status"`
	ResponderID    int64        `db:"responder_id"`
	ResponderEmail string       `db:"responder_email"`
	Incident       string       `db:"incident"`
	Reason         string       `db:"reason"`
	CreatedAt      time.Time    `db:"created_at"`
	ReviewDueAt    time.Time    `db:"review_due_at"`
	ReviewedAt     *time.Time   `db:"reviewed_at"`
	FlagClearedAt  *time.Time   `db:"flag_cleared_at"`
	FlagClearedBy  string       `db:"flag_cleared_by"`
	FlagComment    string       `db:"flag_cleared_comment"`
	Reviews        []reviewJSON `db:"reviews"`
}

// emergencySelect reads emergencies with their reviews (a JSON array, in
// the order they were made): one statement, so that the banner every page
// shows costs the session's read one statement, not two.
const emergencySelect = `SELECT b.request_id, r.operation, r.task_name, COALESCE(r.dr_task_id, '') AS dr_task_id, r.status,
	b.responder_id, u.email AS responder_email, b.incident, b.reason, b.created_at, b.review_due_at, b.reviewed_at,
	b.flag_cleared_at, COALESCE(c.email, '') AS flag_cleared_by, COALESCE(b.flag_cleared_comment, '') AS flag_cleared_comment,
	COALESCE((SELECT json_agg(json_build_object('reviewer_id', v.reviewer_id, 'reviewer_email', ru.email, 'verdict', v.verdict,
		'comment', v.comment, 'reviewed_at', v.reviewed_at) ORDER BY v.reviewed_at, v.reviewer_id)
		FROM break_glass_reviews v JOIN users ru ON ru.id = v.reviewer_id WHERE v.request_id = b.request_id), '[]') AS reviews
	FROM break_glass b JOIN requests r ON r.id = b.request_id JOIN users u ON u.id = b.responder_id
	LEFT JOIN users c ON c.id = b.flag_cleared_by `

// reviewJSON is one review in an emergency's reviews (emergencySelect).
type reviewJSON struct {
	ReviewerID    int64     `json:"reviewer_id"`
	ReviewerEmail string    `json:"reviewer_email"`
	Verdict       string    `json:"verdict"`
	Comment       string    `json:"comment"`
	ReviewedAt    time.Time `json:"reviewed_at"`
}

// findEmergencies reads emergencies with their reviews, in the order of
// the query.
func findEmergencies(ctx context.Context, q querier, rest string, args ...any) ([]portal.Emergency, error) {
	return collectEmergencies(q.Query(ctx, emergencySelect+rest, args...))
}

// openEmergenciesSQL reads the emergencies whose review is not complete,
// the latest first, with their reviews.
const openEmergenciesSQL = emergencySelect + `WHERE b.reviewed_at IS NULL ORDER BY b.created_at DESC, b.request_id DESC`

func collectEmergencies(rows pgx.Rows, err error) ([]portal.Emergency, error) {
	if err != nil {
		return nil, fmt.Errorf("read emergencies: %w", err)
	}
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[emergencyRow])
	if err != nil {
		return nil, fmt.Errorf("read emergencies: %w", err)
	}
	out := make([]portal.Emergency, len(rs))
	for i, r := range rs {
		out[i] = portal.Emergency{RequestID: r.RequestID, Operation: portal.Operation(r.Operation), TaskName: r.TaskName,
			DRTaskID: r.DRTaskID, Status: portal.RequestStatus(r.Status), ResponderID: r.ResponderID,
			ResponderEmail: r.ResponderEmail, Incident: r.Incident, Reason: r.Reason, CreatedAt: r.CreatedAt,
			ReviewDueAt: r.ReviewDueAt, ReviewedAt: r.ReviewedAt, FlagClearedAt: r.FlagClearedAt, FlagClearedBy: r.FlagClearedBy,
			FlagClearComment: r.FlagComment}
		for _, v := range r.Reviews {
			out[i].Reviews = append(out[i].Reviews, portal.EmergencyReview{ReviewerID: v.ReviewerID, ReviewerEmail: v.ReviewerEmail,
				Verdict: portal.Verdict(v.Verdict), Comment: v.Comment, At: v.ReviewedAt.UTC()})
		}
	}
	return out, nil
}

// Emergency returns the emergency of request id; NotFound when the request
// was not filed by breaking glass.
func (s *Store) Emergency(ctx context.Context, id int64) (portal.Emergency, error) {
	es, err := findEmergencies(ctx, s.pool, `WHERE b.request_id = $1`, id)
	if err != nil {
		return portal.Emergency{}, err
	}
	if len(es) == 0 {
		return portal.Emergency{}, apperr.New(apperr.NotFound, "Request #%d was not filed by breaking glass.", id)
	}
	return es[0], nil
}

// EmergencyForUpdate returns the emergency of request id, its row locked
// until the transaction ends: reviews of one emergency are serialised.
func (t *Tx) EmergencyForUpdate(ctx context.Context, id int64) (portal.Emergency, error) {
	es, err := findEmergencies(ctx, t.tx, `WHERE b.request_id = $1 FOR UPDATE OF b`, id)
	if err != nil {
		return portal.Emergency{}, err
	}
	if len(es) == 0 {
		return portal.Emergency{}, apperr.New(apperr.NotFound, "Request #%d was not filed by breaking glass.", id)
	}
	return es[0], nil
}

// OpenEmergencies returns the emergencies whose review is not complete,
// the latest first.
func (s *Store) OpenEmergencies(ctx context.Context) ([]portal.Emergency, error) {
	return collectEmergencies(s.pool.Query(ctx, openEmergenciesSQL))
}

// FlaggedEmergencies returns the emergencies whose review was flagged and
// whose flag no admin has cleared, however old, the latest first.
func (s *Store) FlaggedEmergencies(ctx context.Context) ([]portal.Emergency, error) {
	return findEmergencies(ctx, s.pool, `WHERE b.flag_cleared_at IS NULL AND EXISTS (SELECT 1 FROM break_glass_reviews v
		WHERE v.request_id = b.request_id AND v.verdict = 'flag') ORDER BY b.created_at DESC, b.request_id DESC`)
}

// RecentEmergencies returns the last limit emergencies, open or reviewed,
// the latest first.
func (s *Store) RecentEmergencies(ctx context.Context, limit int) ([]portal.Emergency, error) {
	return findEmergencies(ctx, s.pool, `ORDER BY b.created_at DESC, b.request_id DESC LIMIT $1`, limit)
}

// Bar is the emergency of a responder's that bars them from breaking glass
// again: its review is not complete, or it was flagged and no admin has
// cleared the flag. The zero value: none does.
type Bar struct {
	RequestID int64
	// Flagged: the review is complete and flagged; otherwise it is open.
	Flagged bool
}

// barSQL reads the emergency of $1 that bars them, an open review first,
// then the latest; sessionBarSQL that of the user of session $1.
var (
	barSQL        = barOf("$1")
	sessionBarSQL = barOf("(SELECT user_id FROM sessions WHERE token_hash = $1)")
)

func barOf(user string) string {
	return `SELECT b.request_id, b.reviewed_at IS NOT NULL AS flagged FROM break_glass b
	WHERE b.responder_id = ` + user + ` AND (b.reviewed_at IS NULL OR (b.flag_cleared_at IS NULL AND EXISTS (
		SELECT 1 FROM break_glass_reviews v WHERE v.request_id = b.request_id AND v.verdict = 'flag')))
	ORDER BY b.reviewed_at IS NULL DESC, b.created_at DESC, b.request_id DESC LIMIT 1`
}

// EmergencyBarOf returns the emergency of userID's that bars them from
// breaking glass again (the zero Bar: none).
func (t *Tx) EmergencyBarOf(ctx context.Context, userID int64) (Bar, error) {
	var b Bar
	err := t.tx.QueryRow(ctx, barSQL, userID).Scan(&b.RequestID, &b.Flagged)
	if errors.Is(err, pgx.ErrNoRows) {
		return Bar{}, nil
	}
	if err != nil {
		return Bar{}, fmt.Errorf("read the emergencies barring user %d: %w", userID, err)
	}
	return b, nil
}

// EmergencyBarOf is Tx.EmergencyBarOf outside a transaction, for a form
// that explains a refusal before anyone submits it.
func (s *Store) EmergencyBarOf(ctx context.Context, userID int64) (Bar, error) {
	var out Bar
	err := s.InTx(ctx, func(tx *Tx) error {
		var err error
		out, err = tx.EmergencyBarOf(ctx, userID)
		return err
	})
	return out, err
}

// InsertEmergencyReview records one approver's review; a second review by
// the same approver is a Conflict.
func (t *Tx) InsertEmergencyReview(ctx context.Context, id int64, v portal.EmergencyReview) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO break_glass_reviews (request_id, reviewer_id, verdict, comment, reviewed_at)
		VALUES ($1, $2, $3, $4, $5)`, id, v.ReviewerID, string(v.Verdict), v.Comment, v.At)
	if isUniqueViolation(err) {
		return apperr.Wrap(apperr.Conflict, err, "You already reviewed request #%d. Nothing was changed.", id)
	}
	if err != nil {
		return fmt.Errorf("record review of emergency %d: %w", id, err)
	}
	return nil
}

// CompleteEmergencyReview marks the review of emergency id complete.
func (t *Tx) CompleteEmergencyReview(ctx context.Context, id int64, at time.Time) error {
	tag, err := t.tx.Exec(ctx, `UPDATE break_glass SET reviewed_at = $2 WHERE request_id = $1 AND reviewed_at IS NULL`, id, at)
	if err != nil {
		return fmt.Errorf("complete review of emergency %d: %w", id, err)
	}
	if tag.RowsAffected() != 1 {
		return apperr.New(apperr.Conflict, "The review of request #%d is already complete. Nothing was changed.", id)
	}
	return nil
}

// ClearEmergencyFlag records that admin by cleared the flag of emergency
// id, with comment; an emergency whose flag was cleared already is a
// Conflict.
func (t *Tx) ClearEmergencyFlag(ctx context.Context, id, by int64, comment string, at time.Time) error {
	tag, err := t.tx.Exec(ctx, `UPDATE break_glass SET flag_cleared_at = $2, flag_cleared_by = $3, flag_cleared_comment = $4
		WHERE request_id = $1 AND flag_cleared_at IS NULL`, id, at, by, comment)
	if err != nil {
		return fmt.Errorf("clear the flag of emergency %d: %w", id, err)
	}
	if tag.RowsAffected() != 1 {
		return apperr.New(apperr.Conflict, "The flag of request #%d is already cleared. Nothing was changed.", id)
	}
	return nil
}
