// Package db is the portal's PostgreSQL storage: the connection pool, the
// migrations runner and every SQL statement. It makes no decisions that
// belong to the domain: it stores and reads what it is given.
package db

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"drportal/internal/apperr"
	"drportal/internal/audit"
)

// Open connects a pool and checks that the database answers.
func Open(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("database url: %w", err)
	}
	cfg.MaxConns = max(cfg.MaxConns, 16)
	cfg.ConnConfig.RuntimeParams["application_name"] = "dr-portal"
	// A statement that hangs must not hold a page forever.
	cfg.ConnConfig.RuntimeParams["statement_timeout"] = "30000"
	cfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"] = "60000"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	return pool, nil
}

// Store runs the portal's SQL on a pool.
type Store struct {
	pool     *pgxpool.Pool
	appender *audit.Appender // nil: each AppendAudit commits alone
}

// New returns a Store on pool.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Pool returns the underlying pool.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// Tx is a database transaction with the portal's statements on it.
type Tx struct {
	tx pgx.Tx
	// audit holds the events of AppendAudit, chained and written when fn
	// has returned, just before the commit.
	audit []audit.Event
}

// InTx runs fn in a transaction, committed when fn returns nil and rolled
// back otherwise, so a state change and its audit event land together or
// not at all. The audit events fn appended are written last, after
// everything else fn did: the chain lock they take is held until the
// commit, and so is held only for the append and the commit, never while
// fn runs (job inserts, other updates, anything slow).
func (s *Store) InTx(ctx context.Context, fn func(*Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		t := &Tx{tx: tx}
		if err := fn(t); err != nil {
			return err
		}
		if len(t.audit) == 0 {
			return nil
		}
		_, err := appendAudits(ctx, tx, t.audit)
		return err
	})
}

// Pgx returns the underlying transaction, for libraries that take part in
// it (the job queue inserts jobs in the caller's transaction).
func (t *Tx) Pgx() pgx.Tx { return t.tx }

// querier is what both a pool and a transaction offer.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// notFound turns pgx.ErrNoRows into an apperr.NotFound with msg.
func notFound(err error, msg string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return apperr.Wrap(apperr.NotFound, err, "%s", msg)
	}
	return err
}

// isUniqueViolation reports whether err is a unique-constraint violation.
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}
