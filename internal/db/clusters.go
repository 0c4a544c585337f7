package db

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// Sync names in cloud_syncs of the create form's copies.
const (
	// SyncClusterList is the read of the cluster list; its requested_at is
	// the last read a person asked for.
	SyncClusterList = "cluster_list"
	// SyncStandbys is the reads of the eligible standbys per primary.
	SyncStandbys = "cluster_standbys"
)

// ClusterRow is a cluster as the portal's copy of the cluster list has it.
type ClusterRow struct {
	ID         string `db:"id"`
	Name       string `db:"name"`
	Status     string `db:"status"`
	SubStatus  string `db:"sub_status"`
	Version    string `db:"version"`
	AZ         string `db:"az"`
	VPCID      string `db:"vpc_id"`
	TaskStatus string `db:"task_status"`
	Nodes      int    `db:"nodes"`
}

// StandbyRef is a standby the cloud listed as eligible for a primary.
type StandbyRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	AZ   string `json:"az"`
}

// StandbyCandidates is the last read of the eligible standbys of one primary.
type StandbyCandidates struct {
	PrimaryID string
	Standbys  []StandbyRef
	// Refusal says in words why the cloud refused the primary ("" when it
	// did not); RefusalDetail is its code, message and request id.
	Refusal       string
	RefusalDetail string
	FetchedAt     *time.Time // nil: never read successfully
	ReadError     string     // the last failed read, when newer than FetchedAt
	ReadErrorAt   *time.Time
	NextReadAt    time.Time
}

// Clusters returns the portal's copy of the cluster list, in the cloud's order.
func (s *Store) Clusters(ctx context.Context) ([]ClusterRow, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, name, status, sub_status, version, az, vpc_id, task_status, nodes
		FROM cloud_clusters ORDER BY position`)
	if err != nil {
		return nil, fmt.Errorf("read the cluster list: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByName[ClusterRow])
	if err != nil {
		return nil, fmt.Errorf("read the cluster list: %w", err)
	}
	return out, nil
}

// ReplaceClusters records a complete cluster list read from the cloud at
// now, and its success in cloud_syncs. When the list differs from the copy,
// every primary's standbys become due for a read, and the candidates of
// clusters no longer listed are forgotten. It reports whether the list changed.
func (t *Tx) ReplaceClusters(ctx context.Context, clusters []ClusterRow, now time.Time) (bool, error) {
	rows, err := t.tx.Query(ctx, `SELECT id, name, status, sub_status, version, az, vpc_id, task_status, nodes
		FROM cloud_clusters ORDER BY position FOR UPDATE`)
	if err != nil {
		return false, fmt.Errorf("record the cluster list: %w", err)
	}
	before, err := pgx.CollectRows(rows, pgx.RowToStructByName[ClusterRow])
	if err != nil {
		return false, fmt.Errorf("record the cluster list: %w", err)
	}
	changed := !slices.Equal(before, clusters)
	if changed {
		ids := make([]string, 0, len(clusters))
		if _, err := t.tx.Exec(ctx, `DELETE FROM cloud_clusters`); err != nil {
			return false, fmt.Errorf("record the cluster list: %w", err)
		}
		for i, c := range clusters {
			ids = append(ids, c.ID)
			if _, err := t.tx.Exec(ctx, `INSERT INTO cloud_clusters
				(id, position, name, status, sub_status, version, az, vpc_id, task_status, nodes)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING`,
				c.ID, i, c.Name, c.Status, c.SubStatus, c.Version, c.AZ, c.VPCID, c.TaskStatus, c.Nodes); err != nil {
				return false, fmt.Errorf("record cluster %s: %w", c.ID, err)
			}
		}
		if _, err := t.tx.Exec(ctx, `DELETE FROM cloud_standby_candidates WHERE NOT (primary_id = ANY($1))`, ids); err != nil {
			return false, fmt.Errorf("record the cluster list: %w", err)
		}
		if _, err := t.tx.Exec(ctx, `UPDATE cloud_standby_candidates SET next_read_at = $1 WHERE next_read_at > $1`, now); err != nil {
			return false, fmt.Errorf("record the cluster list: %w", err)
		}
	}
	_, err = t.tx.Exec(ctx, `INSERT INTO cloud_syncs (name, last_success_at) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET last_success_at = $2`, SyncClusterList, now)
	return changed, err
}

// RecordStandbys records a read of primaryID's eligible standbys (or the
// cloud's refusal of it) at now, to be read again at next.
func (t *Tx) RecordStandbys(ctx context.Context, primaryID string, standbys []StandbyRef, refusal, detail string, now, next time.Time) error {
	if standbys == nil {
		standbys = []StandbyRef{}
	}
	raw, err := json.Marshal(standbys)
	if err != nil {
		return err
	}
	_, err = t.tx.Exec(ctx, `INSERT INTO cloud_standby_candidates
			(primary_id, standbys, refusal, refusal_detail, fetched_at, next_read_at) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (primary_id) DO UPDATE SET standbys = $2, refusal = $3, refusal_detail = $4, fetched_at = $5,
			next_read_at = $6, read_error = '', read_error_at = NULL`,
		primaryID, raw, refusal, detail, now, next)
	if err != nil {
		return fmt.Errorf("record the standbys of %s: %w", primaryID, err)
	}
	return nil
}

// RecordStandbysError records that reading primaryID's standbys failed at
// now: the last answer is kept, and read again at next.
func (s *Store) RecordStandbysError(ctx context.Context, primaryID, msg string, now, next time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO cloud_standby_candidates (primary_id, read_error, read_error_at, next_read_at)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (primary_id) DO UPDATE SET read_error = $2, read_error_at = $3, next_read_at = $4`,
		primaryID, msg, now, next)
	if err != nil {
		return fmt.Errorf("record the standbys of %s: %w", primaryID, err)
	}
	return nil
}

// StandbyCandidates returns the last reads of the eligible standbys, by primary.
func (s *Store) StandbyCandidates(ctx context.Context) (map[string]StandbyCandidates, error) {
	rows, err := s.pool.Query(ctx, `SELECT primary_id, standbys, refusal, refusal_detail, fetched_at, read_error,
		read_error_at, next_read_at FROM cloud_standby_candidates`)
	if err != nil {
		return nil, fmt.Errorf("read the standby candidates: %w", err)
	}
	out := map[string]StandbyCandidates{}
	var c StandbyCandidates
	var raw []byte
	_, err = pgx.ForEachRow(rows, []any{&c.PrimaryID, &raw, &c.Refusal, &c.RefusalDetail, &c.FetchedAt, &c.ReadError,
		&c.ReadErrorAt, &c.NextReadAt}, func() error {
		c.Standbys = nil
		if err := json.Unmarshal(raw, &c.Standbys); err != nil {
			return err
		}
		if c.ReadErrorAt != nil && c.FetchedAt != nil && !c.ReadErrorAt.After(*c.FetchedAt) {
			c.ReadError, c.ReadErrorAt = "", nil
		}
		out[c.PrimaryID] = c
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the standby candidates: %w", err)
	}
	return out, nil
}

// ClaimSyncRequest claims a read of sync name that a person asked for at
// now, unless one was claimed less than minInterval ago. It returns
// whether the claim was made and, when not, when the last one was: the
// claim is what limits the rate, whoever asks and on whichever replica.
func (s *Store) ClaimSyncRequest(ctx context.Context, name string, now time.Time, minInterval time.Duration) (bool, time.Time, error) {
	var last time.Time
	err := s.pool.QueryRow(ctx, `INSERT INTO cloud_syncs (name, requested_at) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET requested_at = $2
			WHERE cloud_syncs.requested_at IS NULL OR cloud_syncs.requested_at <= $3
		RETURNING requested_at`, name, now, now.Add(-minInterval)).Scan(&last)
	if err == nil {
		return true, last, nil
	}
	if err != pgx.ErrNoRows {
		return false, last, fmt.Errorf("claim a read of %s: %w", name, err)
	}
	if err := s.pool.QueryRow(ctx, `SELECT requested_at FROM cloud_syncs WHERE name = $1`, name).Scan(&last); err != nil {
		return false, last, fmt.Errorf("claim a read of %s: %w", name, err)
	}
	return false, last, nil
}

// ReleaseSyncRequest forgets the last claim of name (ClaimSyncRequest), so
// the next claim is granted at once.
func (s *Store) ReleaseSyncRequest(ctx context.Context, name string) error {
	if _, err := s.pool.Exec(ctx, `UPDATE cloud_syncs SET requested_at = NULL WHERE name = $1`, name); err != nil {
		return fmt.Errorf("release the read of %s: %w", name, err)
	}
	return nil
}

// PruneFormReads deletes the operation forms' read limits (the cloud_syncs
// rows named SyncOperationForm<person>/<task>) last claimed before before,
// or released since: one is made per person and task, and would otherwise
// stay forever. The next read of a pruned one claims it anew. It returns
// how many it deleted.
func (s *Store) PruneFormReads(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM cloud_syncs WHERE starts_with(name, $1)
		AND (requested_at IS NULL OR requested_at < $2)`, SyncOperationForm, before)
	if err != nil {
		return 0, fmt.Errorf("prune the operation forms' read limits: %w", err)
	}
	return tag.RowsAffected(), nil
}

// TaskNamed reports whether the portal's copy of the tasks has a task
// (not gone) with this name, ignoring case.
func (s *Store) TaskNamed(ctx context.Context, name string) (bool, error) {
	var found bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM dr_tasks WHERE lower(name) = lower($1) AND gone_at IS NULL)`,
		name).Scan(&found)
	if err != nil {
		return false, fmt.Errorf("look up the task name: %w", err)
	}
	return found, nil
}
