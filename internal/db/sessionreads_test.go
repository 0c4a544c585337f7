package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"drportal/internal/apperr"
	"drportal/internal/db"
	"drportal/internal/portal"
	"drportal/internal/testdb"
)

// TestAPageReadThatFailsLeavesTheSessionJudged: the page's reads go in the
// session's batch; one that fails is the page's error (ReadsErr), not the
// session's: a live session is still returned, and an unknown one is
// still NotFound (its person is sent to sign in), not a database error.
// Reads that succeed fill what they read.
func TestAPageReadThatFailsLeavesTheSessionJudged(t *testing.T) {
	ctx := context.Background()
	store := db.New(testdb.New(t))
	now := time.Now()
	token := []byte("0123456789abcdef0123456789abcdef")
	if err := store.InTx(ctx, func(tx *db.Tx) error {
		u, err := tx.CreateUser(ctx, "ana@example.com", "ana", "", []portal.Role{portal.RoleRequester})
		if err != nil {
			return err
		}
		return tx.CreateSession(ctx, token, u.ID, now, now.Add(time.Hour), "", "test")
	}); err != nil {
		t.Fatal(err)
	}
	var email string
	var after int
	failing := func(b *pgx.Batch, th []byte) {
		b.Queue(`SELECT u.email FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1`, th).QueryRow(func(row pgx.Row) error {
			return row.Scan(&email)
		})
		b.Queue(`SELECT 1 / (SELECT count(*) - count(*) FROM users)`).QueryRow(func(row pgx.Row) error {
			var n int
			return row.Scan(&n)
		})
		b.Queue(`SELECT 7`).QueryRow(func(row pgx.Row) error { return row.Scan(&after) })
	}

	s, err := store.SessionByToken(ctx, token, now, failing)
	if err != nil || s.User.Email != "ana@example.com" {
		t.Fatalf("a live session with a failing page read: %+v, %v", s.User, err)
	}
	if s.ReadsErr == nil || email != "ana@example.com" || after != 0 {
		t.Errorf("the page's reads: error %v, read %q and %d", s.ReadsErr, email, after)
	}

	email = ""
	s, err = store.SessionByToken(ctx, []byte("no such token, no such token...."), now, failing)
	if apperr.KindOf(err) != apperr.NotFound {
		t.Errorf("an unknown session with a failing page read: %+v, %v (want NotFound)", s, err)
	}

	s, err = store.SessionByToken(ctx, token, now, func(b *pgx.Batch, th []byte) {
		b.Queue(`SELECT u.email FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1`, th).QueryRow(func(row pgx.Row) error {
			return row.Scan(&email)
		})
	})
	if err != nil || s.ReadsErr != nil || email != "ana@example.com" {
		t.Errorf("a page read that succeeds: %v, %v, %q", err, s.ReadsErr, email)
	}
}
