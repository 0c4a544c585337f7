package db

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/portal"
)

// userRow is an account row with its roles. Its password hash leaves the
// store only through Credentials.
type userRow struct {
	ID           int64     `db:"id"`
	Email        string    `db:"email"`
	DisplayName  string    `db:"display_name"`
	PasswordHash string    `db:"password_hash"`
	Active       bool      `db:"active"`
	CreatedAt    time.Time `db:"created_at"`
	Roles        []string  `db:"roles"`
}

func (r userRow) user() portal.User {
	u := portal.User{ID: r.ID, Email: r.Email, DisplayName: r.DisplayName, Active: r.Active, CreatedAt: r.CreatedAt}
	for _, role := range r.Roles {
		u.Roles = append(u.Roles, portal.Role(role))
	}
	return u
}

const userColumns = `u.id, u.email, u.display_name, COALESCE(u.password_hash, '') AS password_hash, u.active, u.created_at,
	COALESCE((SELECT array_agg(r.role ORDER BY r.role) FROM user_roles r WHERE r.user_id = u.id), '{}') AS roles`

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
	TokenHash  []byte
	User       portal.User
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	// Awaiting is how many requests await the user's decision (0 for
	// anyone who is not an approver): read with the session, so a page's
	// header costs no query of its own.
	Awaiting int
}

// CreateSession stores a new session.
func (t *Tx) CreateSession(ctx context.Context, tokenHash []byte, userID int64, now, expires time.Time, ip, userAgent string) error {
	_, err := t.tx.Exec(ctx, `
		INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at, ip, user_agent)
		VALUES ($1, $2, $3, $3, $4, $5, $6)`, tokenHash, userID, now, expires, ip, truncate(userAgent, 300))
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

// SessionByToken returns the session with that token hash, its user, and
// how many requests await the user's decision at now.
func (s *Store) SessionByToken(ctx context.Context, tokenHash []byte, now time.Time) (Session, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT s.token_hash, s.created_at AS session_created_at, s.last_seen_at, s.expires_at, `+userColumns+`,
			CASE WHEN EXISTS (SELECT 1 FROM user_roles x WHERE x.user_id = u.id AND x.role = 'approver')
				THEN (SELECT count(*) FROM requests q WHERE `+awaitingCond("q", "u.id", "$2")+`) ELSE 0 END AS awaiting
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1`, tokenHash, now)
	if err != nil {
		return Session{}, fmt.Errorf("read session: %w", err)
	}
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[sessionRow])
	if err != nil {
		return Session{}, notFound(err, "no such session")
	}
	return Session{TokenHash: r.TokenHash, User: r.user(), CreatedAt: r.SessionCreatedAt, LastSeenAt: r.LastSeenAt,
		ExpiresAt: r.ExpiresAt, Awaiting: int(r.Awaiting)}, nil
}

// sessionRow is a session joined with its user.
type sessionRow struct {
	TokenHash        []byte    `db:"token_hash"`
	SessionCreatedAt time.Time `db:"session_created_at"`
	LastSeenAt       time.Time `db:"last_seen_at"`
	ExpiresAt        time.Time `db:"expires_at"`
	Awaiting         int64     `db:"awaiting"`
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

// RecentFailedSignIns counts failed sign-ins for an e-mail since a time,
// from the audit history, so the limit holds across replicas.
func (s *Store) RecentFailedSignIns(ctx context.Context, email string, since time.Time) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `
		SELECT count(*) FROM audit_events
		WHERE subject_type = $3 AND subject_id = $1 AND action = $4 AND occurred_at >= $2`,
		email, since, audit.SubjectUser, audit.ActionSignInFailed).Scan(&n)
	return n, err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
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

// SetRoles replaces a user's roles.
func (t *Tx) SetRoles(ctx context.Context, userID int64, roles []portal.Role, now time.Time) error {
	if _, err := t.tx.Exec(ctx, `DELETE FROM user_roles WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("set roles: %w", err)
	}
	for _, r := range roles {
		if _, err := t.tx.Exec(ctx, `INSERT INTO user_roles (user_id, role) VALUES ($1, $2)`, userID, string(r)); err != nil {
			return fmt.Errorf("set roles: %w", err)
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
func (t *Tx) CountActiveAdmins(ctx context.Context) (int, error) {
	var n int
	err := t.tx.QueryRow(ctx, `SELECT count(*) FROM users u JOIN user_roles r ON r.user_id = u.id
		WHERE r.role = 'admin' AND u.active`).Scan(&n)
	return n, err
}
