package db

import (
	"context"
	"crypto/rand"
	"fmt"
)

// PortalKey returns the 32-byte key named name, making it from the
// server's random source the first time any replica asks.
func (s *Store) PortalKey(ctx context.Context, name string) ([]byte, error) {
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("portal key %s: %w", name, err)
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO portal_keys (name, key) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`,
		name, fresh); err != nil {
		return nil, fmt.Errorf("portal key %s: %w", name, err)
	}
	var key []byte
	if err := s.pool.QueryRow(ctx, `SELECT key FROM portal_keys WHERE name = $1`, name).Scan(&key); err != nil {
		return nil, fmt.Errorf("portal key %s: %w", name, err)
	}
	return key, nil
}
