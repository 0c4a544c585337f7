package db

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/portal"
)

// userRow is an account row with its roles. Its password hash leaves the
// store only through Credentials.
type userRow struct {
	ID            int64      `db:"id"`
	Email         string     `db:"email"`
	DisplayName   string     `db:"display_name"`
	PasswordHash  string     `db:"password_hash"`
	Active        bool       `db:"active"`
	CreatedAt     time.Time  `db:"created_at"`
	Roles         []string   `db:"roles"`
	ApproverSince *time.Time `db:"approver_since"`

	MustChangePassword bool       `db:"must_change_password"`
	PasswordChangedAt  *time.Time `db:"password_changed_at"`
}

func (r userRow) user() portal.User {
	u := portal.User{ID: r.ID, Email: r.Email, DisplayName: r.DisplayName, Active: r.Active, CreatedAt: r.CreatedAt,
		MustChangePassword: r.MustChangePassword}
	if r.ApproverSince != nil {
		u.ApproverSince = *r.ApproverSince
	}
	if r.PasswordChangedAt != nil {
		u.PasswordChangedAt = *r.PasswordChangedAt
	}
	for _, role := range r.Roles {
		u.Roles = append(u.Roles, portal.Role(role))
	}
	return u
}

const userColumns = `u.id, u.email, u.display_name, COALESCE(u.password_hash, '') AS password_hash, u.active, u.created_at,
	u.must_change_password, u.password_changed_at,
	COALESCE((SELECT array_agg(r.role ORDER BY r.role) FROM user_roles r WHERE r.user_id = u.id), '{}') AS roles,
	(SELECT r.granted_at FROM user_roles r WHERE r.user_id = u.id AND r.role = 'approver') AS approver_since`

// findUsers reads the users a query selects (its columns: userColumns).
func findUsers(ctx context.Context, q querier, sql string, args ...any) ([]userRow, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByName[userRow])
}

// findUser reads the one user a query selects; none is NotFound with msg.
func findUser(ctx context.Context, q querier, msg, sql string, args ...any) (userRow, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return userRow{}, err
	}
	u, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[userRow])
	if err != nil {
		return userRow{}, notFound(err, msg)
	}
	return u, nil
}

// CreateUser inserts a user with roles. A taken e-mail is a Conflict.
func (t *Tx) CreateUser(ctx context.Context, email, displayName, passwordHash string, roles []portal.Role) (portal.User, error) {
	var id int64
	err := t.tx.QueryRow(ctx, `
		INSERT INTO users (email, display_name, password_hash) VALUES ($1, $2, NULLIF($3, ''))
		RETURNING id`, email, displayName, passwordHash).Scan(&id)
	if isUniqueViolation(err) {
		return portal.User{}, apperr.Wrap(apperr.Conflict, err, "a user with e-mail %s already exists", email)
	}
	if err != nil {
		return portal.User{}, fmt.Errorf("create user %s: %w", email, err)
	}
	for _, r := range roles {
		if _, err := t.tx.Exec(ctx, `INSERT INTO user_roles (user_id, role) VALUES ($1, $2)`, id, string(r)); err != nil {
			return portal.User{}, fmt.Errorf("create user %s: role %s: %w", email, r, err)
		}
	}
	u, err := findUser(ctx, t.tx, "no such user", `SELECT `+userColumns+` FROM users u WHERE u.id = $1`, id)
	return u.user(), err
}

// UserByEmail returns the user with that (lower-case) e-mail inside the
// transaction.
func (t *Tx) UserByEmail(ctx context.Context, email string) (portal.User, error) {
	u, err := findUser(ctx, t.tx, "There is no account with that e-mail.", `SELECT `+userColumns+` FROM users u WHERE u.email = $1`, email)
	return u.user(), err
}

// UserByEmail returns the user with that (lower-case) e-mail.
func (s *Store) UserByEmail(ctx context.Context, email string) (portal.User, error) {
	u, _, err := s.Credentials(ctx, email)
	return u, err
}

// Credentials returns the user with that (lower-case) e-mail and their
// password hash ("" for an account without a password), for sign-in only.
func (s *Store) Credentials(ctx context.Context, email string) (portal.User, string, error) {
	u, err := findUser(ctx, s.pool, "no such user", `SELECT `+userColumns+` FROM users u WHERE u.email = $1`, email)
	if err != nil {
		return portal.User{}, "", err
	}
	return u.user(), u.PasswordHash, nil
}

// CountUsers returns the number of accounts.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&n)
	return n, err
}

// ListUsers returns every account, by e-mail.
func (s *Store) ListUsers(ctx context.Context) ([]portal.User, error) {
	rs, err := findUsers(ctx, s.pool, `SELECT `+userColumns+` FROM users u ORDER BY u.email`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	out := make([]portal.User, len(rs))
	for i, u := range rs {
		out[i] = u.user()
	}
	return out, nil
}

// Session is a signed-in session with its user.
type Session struct {
	// ID is the session's public number, shown to its owner; the token
	// hash is the key and never leaves the server.
	ID         int64
	TokenHash  []byte
	User       portal.User
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	// PasswordConfirmedAt is when the session's person last entered their
	// password: at sign-in, or for a step-up (auth.StepUpWindow).
	PasswordConfirmedAt time.Time
	// Awaiting is how many requests await the user's decision (0 for
	// anyone who is not an approver): read with the session, so a page's
	// header costs no query of its own.
	Awaiting int
	// ChangesWaiting is how many admin changes another admin proposed wait
	// for this user's approval (0 for anyone who is not an admin);
	// PolicyWaiting is how many of them are policy changes.
	ChangesWaiting int
	PolicyWaiting  int
	// AwaitingStates are the task states of the newest of the Awaiting
	// requests (at most MaxAwaitingStates), for requests.CountRunnable.
	AwaitingStates []RequestTaskState
	// OpenEmergencies are the emergencies whose review is not complete,
	// for the banner every page shows: read with the session, so the
	// banner costs no round trip of its own.
	OpenEmergencies []portal.Emergency
	// ReadsErr is the first error of the page's reads that went with the
	// session's (SessionByToken's also): it does not stop the session
	// being judged; the page must not use what they read.
	ReadsErr error
}

// CreateSession stores a new session. Signing in is entering the
// password: the session's confirmation starts at now.
func (t *Tx) CreateSession(ctx context.Context, tokenHash []byte, userID int64, now, expires time.Time, ip, userAgent string) error {
	_, err := t.tx.Exec(ctx, `
		INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at, ip, user_agent, password_confirmed_at)
		VALUES ($1, $2, $3, $3, $4, $5, $6, $3)`, tokenHash, userID, now, expires, ip, truncate(userAgent, 300))
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// DeleteSession removes a session; it reports whether one was removed.
func (t *Tx) DeleteSession(ctx context.Context, tokenHash []byte) (bool, error) {
	tag, err := t.tx.Exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, tokenHash)
	if err != nil {
		return false, fmt.Errorf("delete session: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// DeleteSession removes a session outside any other change (an expired one).
func (s *Store) DeleteSession(ctx context.Context, tokenHash []byte) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, tokenHash)
	return err
}

// SessionByToken returns the session with that token hash, its user, how
// many requests await the user's decision at now, and the task states of
// the newest of them (at most MaxAwaitingStates), so that a page's header
// can tell which of them can still run: one batch, one round trip. also,
// when not nil, adds the page's own reads to that batch (see Reads).
func (s *Store) SessionByToken(ctx context.Context, tokenHash []byte, now time.Time, also Reads) (Session, error) {
	b := &pgx.Batch{}
	var sess Session
	var sessErr error
	b.Queue(`
		SELECT s.id AS session_id, s.token_hash, s.created_at AS session_created_at, s.last_seen_at, s.expires_at, s.password_confirmed_at, `+userColumns+`,
			CASE WHEN EXISTS (SELECT 1 FROM user_roles x WHERE x.user_id = u.id AND x.role = 'admin')
				THEN (SELECT count(*) FROM admin_changes c WHERE c.status = 'pending' AND c.proposed_by <> u.id) ELSE 0 END AS changes_waiting,
			CASE WHEN EXISTS (SELECT 1 FROM user_roles x WHERE x.user_id = u.id AND x.role = 'admin')
				THEN (SELECT count(*) FROM admin_changes c WHERE c.status = 'pending' AND c.kind = 'policy' AND c.proposed_by <> u.id) ELSE 0 END AS policy_waiting
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1`, tokenHash).Query(func(rows pgx.Rows) error {
		r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[sessionRow])
		if err != nil {
			sessErr = err
			return nil
		}
		sess = Session{ID: r.SessionID, TokenHash: r.TokenHash, User: r.user(), CreatedAt: r.SessionCreatedAt, LastSeenAt: r.LastSeenAt,
			ExpiresAt: r.ExpiresAt, PasswordConfirmedAt: r.PasswordConfirmedAt, ChangesWaiting: int(r.ChangesWaiting), PolicyWaiting: int(r.PolicyWaiting)}
		return nil
	})
	// The requests awaiting the user's decision: how many there are (the
	// window's count, taken before the limit) and the task states of the
	// newest of them, in one pass over them.
	var awaiting int64
	b.Queue(sessionAwaitingSQL, tokenHash, now, MaxAwaitingStates).Query(func(rows pgx.Rows) error {
		var err error
		sess.AwaitingStates, err = collectRequestTaskStates(rows, nil, &awaiting)
		return err
	})
	b.Queue(openEmergenciesSQL).Query(func(rows pgx.Rows) error {
		var err error
		sess.OpenEmergencies, err = collectEmergencies(rows, nil)
		return err
	})
	// The page's reads fail on their own: once the session's have run, it
	// is judged (a stranger is sent to sign in) whatever became of them.
	pageRan := false
	if also != nil {
		first := len(b.QueuedQueries)
		also(b, tokenHash)
		for _, q := range b.QueuedQueries[first:] {
			fn := q.Fn
			q.Fn = func(br pgx.BatchResults) error {
				pageRan = true
				var err error
				if fn != nil {
					err = fn(br)
				} else {
					_, err = br.Exec()
				}
				if err != nil && sess.ReadsErr == nil {
					sess.ReadsErr = err
				}
				return nil
			}
		}
	}
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil && (!pageRan || sess.ReadsErr == nil) {
		return Session{}, fmt.Errorf("read session: %w", err)
	}
	if sessErr != nil {
		return Session{}, notFound(sessErr, "no such session")
	}
	sess.Awaiting = int(awaiting)
	return sess, nil
}

// Reads queues a page's own reads in the batch that reads its session
// (SessionByToken), so that a page view costs one round trip to the
// database, not two. They run before the session is judged: they must not
// change anything, and what they read is used only once the session is
// accepted and the page allowed (a refused session leaves it unread).
// tokenHash is the session's, for reads about its user.
type Reads func(b *pgx.Batch, tokenHash []byte)

// sessionAwaitingSQL reads the requests awaiting the decision of session
// $1's user at $2: the newest $3 of them with their task states, and how
// many there are. Built once: it is read on every page.
var sessionAwaitingSQL = `SELECT st.*, count(*) OVER () FROM (` + requestTaskStateColumns +
	` FROM requests r LEFT JOIN dr_tasks t ON t.id = r.dr_task_id WHERE ` +
	awaitingCond("r", "(SELECT user_id FROM sessions WHERE token_hash = $1)", "$2") +
	`) st ORDER BY st.id DESC LIMIT $3`

// MaxAwaitingStates bounds how many of the requests awaiting a person's
// decision a session's read judges one by one.
const MaxAwaitingStates = 200

// sessionRow is a session joined with its user.
type sessionRow struct {
	SessionID        int64     `db:"session_id"`
	TokenHash        []byte    `db:"token_hash"`
	SessionCreatedAt time.Time `db:"session_created_at"`
	LastSeenAt       time.Time `db:"last_seen_at"`
	ExpiresAt        time.Time `db:"expires_at"`
	ChangesWaiting   int64     `db:"changes_waiting"`
	PolicyWaiting    int64     `db:"policy_waiting"`

	PasswordConfirmedAt time.Time `db:"password_confirmed_at"`
	userRow
}

// TouchSession records activity on a session.
func (s *Store) TouchSession(ctx context.Context, tokenHash []byte, now time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1`, tokenHash, now)
	return err
}

// DeleteExpiredSessions removes sessions past their absolute expiry or idle
// for longer than idle.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time, idle time.Duration) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2`, now, now.Add(-idle))
	return tag.RowsAffected(), err
}

// truncate makes text from a client storable: at most n bytes, cut
// between characters, without invalid UTF-8 or NUL bytes, which PostgreSQL
// refuses in text (a User-Agent header may carry any byte above 0x7f).
func truncate(s string, n int) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, ""), "\x00", "")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// UserByID returns one user.
func (s *Store) UserByID(ctx context.Context, id int64) (portal.User, error) {
	u, err := findUser(ctx, s.pool, "no such user", `SELECT `+userColumns+` FROM users u WHERE u.id = $1`, id)
	return u.user(), err
}

// UserForUpdate returns one user, locked until the transaction ends.
func (t *Tx) UserForUpdate(ctx context.Context, id int64) (portal.User, error) {
	u, err := findUser(ctx, t.tx, "There is no such user.", `SELECT `+userColumns+` FROM users u WHERE u.id = $1 FOR UPDATE OF u`, id)
	return u.user(), err
}

// UserForShare returns one user, kept from changing until the transaction
// ends: a request filed in it cannot cross the user's deactivation.
func (t *Tx) UserForShare(ctx context.Context, id int64) (portal.User, error) {
	u, err := findUser(ctx, t.tx, "There is no such user.", `SELECT `+userColumns+` FROM users u WHERE u.id = $1 FOR SHARE OF u`, id)
	return u.user(), err
}

// SetRoles replaces a user's roles. A role kept keeps the time it was
// granted; a role added is granted at now.
func (t *Tx) SetRoles(ctx context.Context, userID int64, roles []portal.Role, now time.Time) error {
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	if _, err := t.tx.Exec(ctx, `DELETE FROM user_roles WHERE user_id = $1 AND NOT role = ANY($2)`, userID, names); err != nil {
		return fmt.Errorf("set roles: %w", err)
	}
	return t.GrantRoles(ctx, userID, roles, now)
}

// GrantRoles adds roles to a user, granted at now; a role the user holds
// already keeps the time it was granted.
func (t *Tx) GrantRoles(ctx context.Context, userID int64, roles []portal.Role, now time.Time) error {
	for _, r := range roles {
		if _, err := t.tx.Exec(ctx, `INSERT INTO user_roles (user_id, role, granted_at) VALUES ($1, $2, $3)
			ON CONFLICT (user_id, role) DO NOTHING`, userID, string(r), now); err != nil {
			return fmt.Errorf("grant role %s: %w", r, err)
		}
	}
	_, err := t.tx.Exec(ctx, `UPDATE users SET updated_at = $2 WHERE id = $1`, userID, now)
	return err
}

// SetActive activates or deactivates a user; deactivation ends their sessions.
func (t *Tx) SetActive(ctx context.Context, userID int64, active bool, now time.Time) error {
	if _, err := t.tx.Exec(ctx, `UPDATE users SET active = $2, updated_at = $3 WHERE id = $1`, userID, active, now); err != nil {
		return fmt.Errorf("set active: %w", err)
	}
	if !active {
		if _, err := t.tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID); err != nil {
			return fmt.Errorf("end sessions: %w", err)
		}
	}
	return nil
}

// adminChangesLock serialises changes that can remove an active admin.
const adminChangesLock = 0x6472_6164_6d69_6e // "dradmin"

// LockAdminChanges makes the transaction the only one changing who is an
// active admin until it ends, so two admins removing each other at once
// cannot both see the other as the one who remains.
func (t *Tx) LockAdminChanges(ctx context.Context) error {
	if _, err := t.tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(adminChangesLock)); err != nil {
		return fmt.Errorf("lock admin changes: %w", err)
	}
	return nil
}

// CountActiveAdmins counts active users holding the admin role.
func (t *Tx) CountActiveAdmins(ctx context.Context) (int, error) { return countActiveAdmins(ctx, t.tx) }

// CountActiveAdmins counts active users holding the admin role.
func (s *Store) CountActiveAdmins(ctx context.Context) (int, error) {
	return countActiveAdmins(ctx, s.pool)
}

func countActiveAdmins(ctx context.Context, q querier) (int, error) {
	var n int
	err := q.QueryRow(ctx, `SELECT count(*) FROM users u JOIN user_roles r ON r.user_id = u.id
		WHERE r.role = 'admin' AND u.active`).Scan(&n)
	return n, err
}

// adminChangeRow is an admin_changes row with the e-mails it names.
type adminChangeRow struct {
	ID              int64      `db:"id"`
	Kind            string     `db:"kind"`
	UserID          *int64     `db:"user_id"`
	UserEmail       *string    `db:"user_email"`
	Change          []byte     `db:"change"`
	Status          string     `db:"status"`
	ProposedBy      int64      `db:"proposed_by"`
	ProposedByEmail string     `db:"proposed_by_email"`
	ProposedAt      time.Time  `db:"proposed_at"`
	DecidedBy       *int64     `db:"decided_by"`
	DecidedByEmail  *string    `db:"decided_by_email"`
	DecidedAt       *time.Time `db:"decided_at"`
	Comment         string     `db:"comment"`
}

// changeBody is the stored form of what a change changes.
type changeBody struct {
	Grant              []portal.Role            `json:"grant,omitempty"`
	Approvals          map[portal.Operation]int `json:"approvals,omitempty"`
	PendingTTLSeconds  int64                    `json:"pending_ttl_seconds,omitempty"`
	ApprovalTTLSeconds int64                    `json:"approval_ttl_seconds,omitempty"`
	BreakGlass         *breakGlassBody          `json:"break_glass,omitempty"`
	Windows            *portal.WindowChange     `json:"windows,omitempty"`
}

// breakGlassBody is the stored form of proposed break-glass settings.
type breakGlassBody struct {
	Enabled    bool               `json:"enabled"`
	Operations []portal.Operation `json:"operations"`
	ReviewDays int                `json:"review_days"`
}

func (r adminChangeRow) change() (portal.AdminChange, error) {
	c := portal.AdminChange{ID: r.ID, Kind: portal.ChangeKind(r.Kind), Status: portal.ChangeStatus(r.Status),
		ProposedBy: r.ProposedBy, ProposedByEmail: r.ProposedByEmail, ProposedAt: r.ProposedAt, Comment: r.Comment}
	if r.UserID != nil {
		c.UserID = *r.UserID
	}
	if r.UserEmail != nil {
		c.UserEmail = *r.UserEmail
	}
	if r.DecidedBy != nil {
		c.DecidedBy = *r.DecidedBy
	}
	if r.DecidedByEmail != nil {
		c.DecidedByEmail = *r.DecidedByEmail
	}
	if r.DecidedAt != nil {
		c.DecidedAt = *r.DecidedAt
	}
	var b changeBody
	if err := json.Unmarshal(r.Change, &b); err != nil {
		return portal.AdminChange{}, fmt.Errorf("admin change %d: %w", r.ID, err)
	}
	c.Grant = b.Grant
	if b.Windows != nil {
		c.Windows = *b.Windows
	}
	if c.Kind == portal.ChangePolicy {
		c.Policy = portal.Policy{Approvals: b.Approvals, PendingTTL: time.Duration(b.PendingTTLSeconds) * time.Second,
			ApprovalTTL: time.Duration(b.ApprovalTTLSeconds) * time.Second, CreatedBy: r.ProposedBy}
	}
	if c.Kind == portal.ChangeBreakGlass && b.BreakGlass != nil {
		c.BreakGlass = portal.BreakGlassPolicy{Enabled: b.BreakGlass.Enabled, Operations: b.BreakGlass.Operations,
			ReviewDays: b.BreakGlass.ReviewDays, CreatedBy: r.ProposedBy}
	}
	return c, nil
}

const adminChangeColumns = `c.id, c.kind, c.user_id, t.email AS user_email, c.change, c.status,
	c.proposed_by, p.email AS proposed_by_email, c.proposed_at, c.decided_by, d.email AS decided_by_email,
	c.decided_at, c.comment
	FROM admin_changes c JOIN users p ON p.id = c.proposed_by
	LEFT JOIN users t ON t.id = c.user_id LEFT JOIN users d ON d.id = c.decided_by`

func findAdminChanges(ctx context.Context, q querier, where string, args ...any) ([]portal.AdminChange, error) {
	rows, err := q.Query(ctx, `SELECT `+adminChangeColumns+` `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("read admin changes: %w", err)
	}
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[adminChangeRow])
	if err != nil {
		return nil, fmt.Errorf("read admin changes: %w", err)
	}
	out := make([]portal.AdminChange, len(rs))
	for i, r := range rs {
		if out[i], err = r.change(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// PendingAdminChanges returns the changes waiting for a second admin,
// oldest first.
func (s *Store) PendingAdminChanges(ctx context.Context) ([]portal.AdminChange, error) {
	return findAdminChanges(ctx, s.pool, `WHERE c.status = 'pending' ORDER BY c.id`)
}

// RecentAdminChanges returns the last limit changes of kind that no longer
// wait (applied, rejected, withdrawn, superseded), the latest decided first.
func (s *Store) RecentAdminChanges(ctx context.Context, kind portal.ChangeKind, limit int) ([]portal.AdminChange, error) {
	return findAdminChanges(ctx, s.pool, `WHERE c.status <> 'pending' AND c.kind = $1 ORDER BY c.decided_at DESC, c.id DESC LIMIT $2`,
		string(kind), limit)
}

// PendingAdminChanges returns the changes waiting for a second admin
// inside the transaction.
func (t *Tx) PendingAdminChanges(ctx context.Context) ([]portal.AdminChange, error) {
	return findAdminChanges(ctx, t.tx, `WHERE c.status = 'pending' ORDER BY c.id`)
}

// AdminChangeForUpdate returns one change, locked until the transaction ends.
func (t *Tx) AdminChangeForUpdate(ctx context.Context, id int64) (portal.AdminChange, error) {
	cs, err := findAdminChanges(ctx, t.tx, `WHERE c.id = $1 FOR UPDATE OF c`, id)
	if err != nil {
		return portal.AdminChange{}, err
	}
	if len(cs) == 0 {
		return portal.AdminChange{}, apperr.New(apperr.NotFound, "There is no such change.")
	}
	return cs[0], nil
}

// ProposeAdminChange stores a pending change. A change already waiting for
// the same account (roles) or for the policy is superseded by it; its id is
// returned (0 when there was none).
func (t *Tx) ProposeAdminChange(ctx context.Context, c portal.AdminChange) (id, superseded int64, err error) {
	b := changeBody{Grant: c.Grant}
	if c.Kind == portal.ChangePolicy {
		b.Approvals = c.Policy.Approvals
		b.PendingTTLSeconds = int64(c.Policy.PendingTTL / time.Second)
		b.ApprovalTTLSeconds = int64(c.Policy.ApprovalTTL / time.Second)
	}
	if c.Kind == portal.ChangeBreakGlass {
		b.BreakGlass = &breakGlassBody{Enabled: c.BreakGlass.Enabled, Operations: c.BreakGlass.Operations, ReviewDays: c.BreakGlass.ReviewDays}
	}
	if c.Kind == portal.ChangeWindows {
		b.Windows = &c.Windows
	}
	raw, err := json.Marshal(b)
	if err != nil {
		return 0, 0, err
	}
	var user *int64
	if c.Kind == portal.ChangeRoles {
		user = &c.UserID
	}
	// Changes to the windows wait side by side: each lifts or removes
	// something else.
	if c.Kind != portal.ChangeWindows {
		if superseded, err = t.SupersedeAdminChanges(ctx, c.Kind, c.UserID, c.ProposedAt, c.ProposedBy, ""); err != nil {
			return 0, 0, err
		}
	}
	err = t.tx.QueryRow(ctx, `INSERT INTO admin_changes (kind, user_id, change, proposed_by, proposed_at)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`, string(c.Kind), user, raw, c.ProposedBy, c.ProposedAt).Scan(&id)
	if err != nil {
		return 0, 0, fmt.Errorf("propose admin change: %w", err)
	}
	if superseded != 0 {
		// The replaced change says what replaced it; its decider is the
		// admin who proposed the new one.
		if _, err := t.tx.Exec(ctx, `UPDATE admin_changes SET comment = $2 WHERE id = $1`,
			superseded, fmt.Sprintf("replaced by change #%d", id)); err != nil {
			return 0, 0, fmt.Errorf("propose admin change: %w", err)
		}
	}
	return id, superseded, nil
}

// SupersedeAdminChanges ends the change waiting for userID's roles
// (kind roles) or for the policy, if any, as decided by the admin by (who
// replaced or withdrew it) with comment (why), and returns its id (0:
// none).
func (t *Tx) SupersedeAdminChanges(ctx context.Context, kind portal.ChangeKind, userID int64, at time.Time, by int64, comment string) (int64, error) {
	var id int64
	err := t.tx.QueryRow(ctx, `UPDATE admin_changes SET status = 'superseded', decided_at = $3, decided_by = $4, comment = $5
		WHERE status = 'pending' AND kind = $1 AND COALESCE(user_id, 0) = $2 RETURNING id`,
		string(kind), userID, at, by, comment).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("supersede admin change: %w", err)
	}
	return id, nil
}

// EndAdminChange records the end of a pending change: applied, rejected or
// withdrawn, by whom and when. A change no longer pending is a Conflict.
func (t *Tx) EndAdminChange(ctx context.Context, id int64, status portal.ChangeStatus, by int64, at time.Time, comment string) error {
	tag, err := t.tx.Exec(ctx, `UPDATE admin_changes SET status = $2, decided_by = $3, decided_at = $4, comment = $5
		WHERE id = $1 AND status = 'pending'`, id, string(status), by, at, comment)
	if err != nil {
		return fmt.Errorf("end admin change %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return apperr.New(apperr.Conflict, "That change is no longer waiting. Nothing was changed.")
	}
	return nil
}

// HadTwoAdmins reports whether the install has ever had two active admins.
func (t *Tx) HadTwoAdmins(ctx context.Context) (bool, error) { return hadTwoAdmins(ctx, t.tx) }

// HadTwoAdmins reports whether the install has ever had two active admins.
func (s *Store) HadTwoAdmins(ctx context.Context) (bool, error) { return hadTwoAdmins(ctx, s.pool) }

func hadTwoAdmins(ctx context.Context, q querier) (bool, error) {
	var seen bool
	err := q.QueryRow(ctx, `SELECT two_admins_since IS NOT NULL FROM governance`).Scan(&seen)
	if err != nil {
		return false, fmt.Errorf("read governance: %w", err)
	}
	return seen, nil
}

// NoteAdmins records, once two accounts hold the admin role (active or
// not: a deactivated one can be reactivated), that the install has had two
// admins.
func (t *Tx) NoteAdmins(ctx context.Context, at time.Time) error {
	_, err := t.tx.Exec(ctx, `UPDATE governance SET two_admins_since = $1
		WHERE two_admins_since IS NULL AND (SELECT count(*) FROM user_roles r WHERE r.role = 'admin') >= 2`, at)
	if err != nil {
		return fmt.Errorf("note admins: %w", err)
	}
	return nil
}

// TemporaryPassword is the last time an admin set an account's password
// for its owner to replace: creating the account, or resetting it.
type TemporaryPassword struct {
	By     audit.Actor
	Action string // audit.ActionUserCreated or audit.ActionPasswordReset
	At     time.Time
}

// LastTemporaryPassword returns who last set the password of the account
// with that e-mail for its owner to replace, from the audit history (ok
// false: nobody did).
func (s *Store) LastTemporaryPassword(ctx context.Context, email string) (tp TemporaryPassword, ok bool, err error) {
	err = s.pool.QueryRow(ctx, `SELECT COALESCE(actor_id, 0), actor_name, action, occurred_at FROM audit_events
		WHERE subject_type = 'user' AND subject_id = $1 AND action IN ($2, $3) ORDER BY id DESC LIMIT 1`,
		email, audit.ActionPasswordReset, audit.ActionUserCreated).Scan(&tp.By.ID, &tp.By.Name, &tp.Action, &tp.At)
	if errors.Is(err, pgx.ErrNoRows) {
		return TemporaryPassword{}, false, nil
	}
	if err != nil {
		return TemporaryPassword{}, false, fmt.Errorf("read the last temporary password of %s: %w", email, err)
	}
	return tp, true, nil
}
