// Package auth signs people in and out: argon2id passwords, server-side
// sessions in PostgreSQL, a sign-in limit that holds across replicas, and
// the bootstrap admin account.
package auth

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/alexedwards/argon2id"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/db"
	"drportal/internal/portal"
)

// Roles (the domain's, named here for the callers of this package).
const (
	RoleRequester = portal.RoleRequester
	RoleApprover  = portal.RoleApprover
	RoleAuditor   = portal.RoleAuditor
	RoleAdmin     = portal.RoleAdmin
)

// AllRoles lists every role.
var AllRoles = portal.Roles

// BootstrapRoles are the first admin's roles: every role but responder.
// The person who starts the two-person rule does not also get to act
// without the quorum; a responder is granted like any role, once a second
// admin approves.
var BootstrapRoles = []portal.Role{portal.RoleAdmin, portal.RoleApprover, portal.RoleAuditor, portal.RoleRequester}

// Service signs people in and out.
type Service struct {
	Store *db.Store
	Now   func() time.Time
	// IdleTimeout ends a session unused for this long; MaxAge ends every
	// session this long after sign-in.
	IdleTimeout time.Duration
	MaxAge      time.Duration
	// Params are the argon2id parameters for new hashes (default
	// argon2id.DefaultParams: 64 MiB, 1 pass).
	Params *argon2id.Params
	// Hasher bounds the password hashes running at once; without one, the
	// service shares the process's (one per core).
	Hasher *Hasher
	// Throttle is how failed sign-ins slow further attempts (its zero
	// value: the defaults).
	Throttle Throttle
	// OnDeactivate runs in the transaction that deactivates u: it cancels
	// what they have pending (requests.Service.CancelPendingOf).
	OnDeactivate func(ctx context.Context, tx *db.Tx, u portal.User) error
	// OnWindowsLoosened runs in the transaction that applies a loosening
	// of the change windows: it wakes the approved requests that may now
	// run (requests.Service.WakeWaiting) and returns those it woke.
	OnWindowsLoosened func(ctx context.Context, tx *db.Tx) ([]portal.Request, error)
}

func (s *Service) hasher() *Hasher { return cmp.Or(s.Hasher, defaultHasher) }

func (s *Service) params() *argon2id.Params { return cmp.Or(s.Params, argon2id.DefaultParams) }

// HashPassword returns the argon2id hash of a password. It waits for a
// turn of the hasher, or returns ErrBusy.
func (s *Service) HashPassword(pw string) (string, error) {
	turn, err := s.hasher().Begin(context.Background())
	if err != nil {
		return "", err
	}
	defer turn.End()
	return turn.Create(pw, s.params())
}

// CheckPassword reports whether pw matches an argon2id hash. It waits for
// a turn of the hasher, or returns ErrBusy.
func (s *Service) CheckPassword(ctx context.Context, pw, hash string) (bool, error) {
	turn, err := s.hasher().Begin(ctx)
	if err != nil {
		return false, err
	}
	defer turn.End()
	return turn.Compare(pw, hash)
}

// NewToken returns a random session token and the hash stored for it.
func NewToken() (token string, hash []byte) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken is what the database stores for a session token.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// ErrBadCredentials is the one message for any wrong e-mail or password,
// so the form does not reveal which accounts exist.
var ErrBadCredentials = apperr.New(apperr.Invalid, "The e-mail or password is not right.")

// Client describes where a sign-in comes from.
type Client struct {
	IP        string
	UserAgent string
	// OldToken is the session cookie the browser already had, if any: it is
	// ended, so every sign-in starts a new session (no fixation).
	OldToken string
}

// signInFailed is the audit event of a refused sign-in. What was typed as
// the e-mail is recorded only when it looks like an account's e-mail: a
// password pasted into the e-mail box must not land in the audit history
// and its exports.
func signInFailed(ctx context.Context, typed string, now time.Time, outcome audit.Outcome, detail map[string]any) audit.Event {
	e := audit.FromContext(ctx, audit.ActionSignInFailed, outcome)
	e.OccurredAt = now
	e.SubjectType, e.SubjectID = audit.SubjectUser, NotAnEmail
	if EmailShaped(typed) {
		e.SubjectID = typed
	}
	e.Detail = audit.Detail(detail)
	return e
}

// SignIn checks an e-mail and password and starts a session. Success and
// failure are both audited. Failures slow further attempts (see
// Throttle); an attempt a throttle refuses is not checked. When the
// portal already checks as many passwords as it allows, the attempt gets
// ErrBusy and nothing is checked, counted or audited.
func (s *Service) SignIn(ctx context.Context, email, password string, c Client) (token string, u portal.User, err error) {
	email = strings.ToLower(strings.TrimSpace(email))
	now := s.Now()
	if email == "" || password == "" {
		return "", portal.User{}, apperr.New(apperr.Invalid, "Enter your e-mail and password.")
	}
	account, address := throttleAccount(email), throttleAddress(c.IP)
	// A waiting throttle refuses before the attempt takes a hasher's turn,
	// so a flood that is refused costs no hashing.
	rows, err := s.Store.SignInThrottles(ctx, account, address)
	if err != nil {
		return "", portal.User{}, fmt.Errorf("sign in: %w", err)
	}
	if w, refused := s.Throttle.withDefaults().verdict(rows, now); refused {
		return "", portal.User{}, s.refuse(ctx, w, email, c, now)
	}
	turn, err := s.hasher().Begin(ctx)
	if err != nil {
		return "", portal.User{}, err
	}
	defer turn.End()
	if w, refused, err := s.count(ctx, account, address, now); err != nil {
		return "", portal.User{}, err
	} else if refused {
		return "", portal.User{}, s.refuse(ctx, w, email, c, now)
	}

	fail := func(outcome audit.Outcome, reason string, userID int64) error {
		_, err := s.Store.AppendAudit(ctx, signInFailed(ctx, email, now, outcome,
			map[string]any{"reason": reason, "ip": c.IP, "user_id": userID}))
		return err
	}
	u, pwHash, err := s.Store.Credentials(ctx, email)
	if apperr.KindOf(err) == apperr.NotFound {
		_, _ = turn.Compare(password, unmatchableHash(s.params()))
		if err := fail(audit.Failure, "unknown e-mail", 0); err != nil {
			return "", portal.User{}, err
		}
		return "", portal.User{}, ErrBadCredentials
	}
	if err != nil {
		return "", portal.User{}, err
	}
	ok := false
	if pwHash != "" {
		ok, err = turn.Compare(password, pwHash)
		if err != nil {
			return "", portal.User{}, fmt.Errorf("sign in %s: %w", email, err)
		}
	}
	turn.End()
	switch {
	case !ok:
		if err := fail(audit.Failure, "wrong password", u.ID); err != nil {
			return "", portal.User{}, err
		}
		return "", portal.User{}, ErrBadCredentials
	case !u.Active:
		// The password was right: the throttle ends, as on any success.
		err := s.Store.InTx(ctx, func(tx *db.Tx) error {
			if err := tx.ResetSignInThrottles(ctx, account, address); err != nil {
				return err
			}
			_, err := tx.AppendAudit(ctx, signInFailed(ctx, email, now, audit.Denied,
				map[string]any{"reason": "account deactivated", "ip": c.IP, "user_id": u.ID}))
			return err
		})
		if err != nil {
			return "", portal.User{}, err
		}
		return "", portal.User{}, apperr.New(apperr.Forbidden, "This account is deactivated. Ask an admin.")
	}

	token, hash := NewToken()
	err = s.Store.InTx(ctx, func(tx *db.Tx) error {
		if err := tx.ResetSignInThrottles(ctx, account, address); err != nil {
			return err
		}
		if c.OldToken != "" {
			if _, err := tx.DeleteSession(ctx, HashToken(c.OldToken)); err != nil {
				return err
			}
		}
		if err := tx.CreateSession(ctx, hash, u.ID, now, now.Add(cmp.Or(s.MaxAge, 12*time.Hour)), c.IP, c.UserAgent); err != nil {
			return err
		}
		e := audit.FromContext(ctx, audit.ActionSignIn, audit.Success)
		e.Actor = audit.Actor{ID: u.ID, Name: u.Email}
		e.OccurredAt = now
		e.SubjectType, e.SubjectID = audit.SubjectUser, u.Email
		e.Detail = audit.Detail(map[string]any{"ip": c.IP, "user_agent": truncate(c.UserAgent, 200)})
		_, err := tx.AppendAudit(ctx, e)
		return err
	})
	if err != nil {
		return "", portal.User{}, fmt.Errorf("sign in %s: %w", email, err)
	}
	return token, u, nil
}

// SignOut ends the session of token and audits it.
func (s *Service) SignOut(ctx context.Context, token string, u portal.User) error {
	return s.Store.InTx(ctx, func(tx *db.Tx) error {
		removed, err := tx.DeleteSession(ctx, HashToken(token))
		if err != nil || !removed {
			return err
		}
		e := audit.FromContext(ctx, audit.ActionSignOut, audit.Success)
		e.Actor = audit.Actor{ID: u.ID, Name: u.Email}
		e.OccurredAt = s.Now()
		e.SubjectType, e.SubjectID = audit.SubjectUser, u.Email
		_, err = tx.AppendAudit(ctx, e)
		return err
	})
}

// Authenticate returns the live session of a token. Expired, idle or
// deactivated sessions are ended and reported as Unauthenticated.
func (s *Service) Authenticate(ctx context.Context, token string) (db.Session, error) {
	return s.authenticate(ctx, token, true, nil)
}

// AuthenticateReading is Authenticate (or, when background,
// AuthenticateBackground) that also runs a page's reads in the same round
// trip to the database (db.Reads): what they read may be used only when it
// returns a session.
func (s *Service) AuthenticateReading(ctx context.Context, token string, background bool, also db.Reads) (db.Session, error) {
	return s.authenticate(ctx, token, !background, also)
}

// AuthenticateBackground is Authenticate for a page's own background
// refresh (polling): it does not count as the person's activity, so a tab
// left open still reaches the idle timeout.
func (s *Service) AuthenticateBackground(ctx context.Context, token string) (db.Session, error) {
	return s.authenticate(ctx, token, false, nil)
}

func (s *Service) authenticate(ctx context.Context, token string, activity bool, also db.Reads) (db.Session, error) {
	if token == "" {
		return db.Session{}, apperr.New(apperr.Unauthenticated, "Please sign in.")
	}
	hash := HashToken(token)
	now := s.Now()
	sess, err := s.Store.SessionByToken(ctx, hash, now, also)
	if apperr.KindOf(err) == apperr.NotFound {
		return db.Session{}, apperr.New(apperr.Unauthenticated, "Please sign in.")
	}
	if err != nil {
		return db.Session{}, err
	}
	idle := cmp.Or(s.IdleTimeout, 2*time.Hour)
	if !now.Before(sess.ExpiresAt) || now.Sub(sess.LastSeenAt) >= idle || !sess.User.Active {
		if err := s.Store.DeleteSession(ctx, hash); err != nil {
			return db.Session{}, err
		}
		return db.Session{}, apperr.New(apperr.Unauthenticated, "Your session has ended. Please sign in again.")
	}
	// Record activity at most once a minute: enough for the idle timeout,
	// without a write on every page.
	if activity && now.Sub(sess.LastSeenAt) >= time.Minute {
		if err := s.Store.TouchSession(ctx, hash, now); err != nil {
			return db.Session{}, err
		}
	}
	return sess, nil
}

// Bootstrap creates the first admin when email is set and no account has
// that e-mail yet. It holds every role but responder (BootstrapRoles) so
// one person can try the whole portal; the approval rules still stop
// anyone approving their own request. It reports whether an account was
// created.
func (s *Service) Bootstrap(ctx context.Context, email, password string) (bool, error) {
	if _, err := s.Store.UserByEmail(ctx, email); err == nil {
		return false, nil
	} else if apperr.KindOf(err) != apperr.NotFound {
		return false, err
	}
	hash, err := s.HashPassword(password)
	if err != nil {
		return false, err
	}
	err = s.Store.InTx(ctx, func(tx *db.Tx) error {
		u, err := tx.CreateUser(ctx, email, displayName(email), hash, nil)
		if err != nil {
			return err
		}
		if err := tx.GrantRoles(ctx, u.ID, BootstrapRoles, s.Now()); err != nil {
			return err
		}
		u.Roles = BootstrapRoles
		e := audit.FromContext(ctx, audit.ActionUserBootstrap, audit.Success)
		e.Actor = audit.System
		e.OccurredAt = s.Now()
		e.SubjectType, e.SubjectID = audit.SubjectUser, u.Email
		e.Detail = audit.Detail(map[string]any{"roles": u.Roles})
		_, err = tx.AppendAudit(ctx, e)
		return err
	})
	if apperr.KindOf(err) == apperr.Conflict {
		return false, nil // another replica created it first
	}
	return err == nil, err
}

func displayName(email string) string {
	name, _, _ := strings.Cut(email, "@")
	return name
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

// NotAnEmail is what a failed sign-in records instead of what was typed
// when it is not shaped like an account's e-mail.
const NotAnEmail = "(not an e-mail address)"

// EmailShaped reports whether s can be an account's e-mail: a plain
// lower-case ASCII address of at most 254 characters that no spreadsheet
// reads as a formula. Non-ASCII addresses are refused so that no account
// can look like another (mixed scripts).
func EmailShaped(s string) bool {
	if s == "" || len(s) > 254 || strings.ContainsAny(s[:1], "=+-@") {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r > '~' || ('A' <= r && r <= 'Z') {
			return false
		}
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && a.Name == ""
}
