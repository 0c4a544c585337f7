package db

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"drportal/internal/dws"
)

// TaskRow is the portal's last known state of a DR task.
type TaskRow struct {
	ID                 string
	Name               string
	Status             string
	DRType             string
	PrimaryClusterID   string
	PrimaryClusterName string
	StandbyClusterID   string
	StandbyClusterName string
	SyncPeriod         string
	LastSync           string
	CreateTime         string
	Detail             json.RawMessage // last detail response, nil until fetched
	ListFetchedAt      *time.Time
	DetailFetchedAt    *time.Time
	Managed            bool // created through the portal
	CreatedBy          int64
	FirstSeenAt        time.Time
	GoneAt             *time.Time // no longer in the cloud
}

// FetchedAt is when the row was last refreshed from the cloud.
func (r TaskRow) FetchedAt() time.Time {
	var t time.Time
	if r.ListFetchedAt != nil {
		t = *r.ListFetchedAt
	}
	if r.DetailFetchedAt != nil && r.DetailFetchedAt.After(t) {
		t = *r.DetailFetchedAt
	}
	return t
}

const taskColumns = `id, name, status, dr_type, primary_cluster_id, primary_cluster_name, standby_cluster_id,
	standby_cluster_name, sync_period, last_sync, create_time, detail, list_fetched_at, detail_fetched_at,
	managed, COALESCE(created_by, 0), first_seen_at, gone_at`

func scanTask(row pgx.Row) (TaskRow, error) {
	var r TaskRow
	var detail []byte
	err := row.Scan(&r.ID, &r.Name, &r.Status, &r.DRType, &r.PrimaryClusterID, &r.PrimaryClusterName,
		&r.StandbyClusterID, &r.StandbyClusterName, &r.SyncPeriod, &r.LastSync, &r.CreateTime, &detail,
		&r.ListFetchedAt, &r.DetailFetchedAt, &r.Managed, &r.CreatedBy, &r.FirstSeenAt, &r.GoneAt)
	if detail != nil {
		r.Detail = detail
	}
	return r, err
}

// Sync names in cloud_syncs.
const SyncTaskList = "dr_task_list"

// SyncTaskList records a complete listing from the cloud: every listed task
// is upserted, and tasks no longer listed are marked gone.
func (s *Store) SyncTaskList(ctx context.Context, items []dws.TaskSummary, now time.Time) error {
	return s.InTx(ctx, func(tx *Tx) error {
		ids := make([]string, 0, len(items))
		for _, it := range items {
			ids = append(ids, it.ID)
			_, err := tx.tx.Exec(ctx, `
				INSERT INTO dr_tasks (id, name, status, dr_type, primary_cluster_id, primary_cluster_name,
					standby_cluster_id, standby_cluster_name, last_sync, create_time, summary, list_fetched_at, first_seen_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)
				ON CONFLICT (id) DO UPDATE SET name = $2, status = $3, dr_type = $4, primary_cluster_id = $5,
					primary_cluster_name = $6, standby_cluster_id = $7, standby_cluster_name = $8, last_sync = $9,
					create_time = $10, summary = $11, list_fetched_at = $12, gone_at = NULL`,
				it.ID, it.Name, it.Status, it.DRType, it.PrimaryClusterID, it.PrimaryClusterName,
				it.StandbyClusterID, it.StandbyClusterName, it.LastSyncTime, it.CreateTime, []byte(it.Raw), now)
			if err != nil {
				return fmt.Errorf("sync DR task %s: %w", it.ID, err)
			}
		}
		if _, err := tx.tx.Exec(ctx, `UPDATE dr_tasks SET gone_at = $2 WHERE gone_at IS NULL AND NOT (id = ANY($1))`,
			ids, now); err != nil {
			return fmt.Errorf("sync DR tasks: mark gone: %w", err)
		}
		_, err := tx.tx.Exec(ctx, `
			INSERT INTO cloud_syncs (name, last_success_at) VALUES ($1, $2)
			ON CONFLICT (name) DO UPDATE SET last_success_at = $2`, SyncTaskList, now)
		return err
	})
}

// RecordSyncError records that reading a listing from the cloud failed.
func (s *Store) RecordSyncError(ctx context.Context, name, msg string, now time.Time) error {
	_, err := s.pool.Exec(ctx, `
		INSERT INTO cloud_syncs (name, last_error, last_error_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET last_error = $2, last_error_at = $3`, name, msg, now)
	return err
}

// LastSync returns when a listing was last read successfully (nil: never).
func (s *Store) LastSync(ctx context.Context, name string) (*time.Time, error) {
	var t *time.Time
	err := s.pool.QueryRow(ctx, `SELECT last_success_at FROM cloud_syncs WHERE name = $1`, name).Scan(&t)
	if err == pgx.ErrNoRows {
		return nil, nil
	}
	return t, err
}

// UpsertTaskDetail records a detail response.
func (s *Store) UpsertTaskDetail(ctx context.Context, t dws.Task, now time.Time) error {
	return upsertTaskDetail(ctx, s.pool, t, now)
}

// UpsertTaskDetail records a detail response inside a transaction.
func (t *Tx) UpsertTaskDetail(ctx context.Context, task dws.Task, now time.Time) error {
	return upsertTaskDetail(ctx, t.tx, task, now)
}

func upsertTaskDetail(ctx context.Context, q querier, t dws.Task, now time.Time) error {
	_, err := q.Exec(ctx, `
		INSERT INTO dr_tasks (id, name, status, dr_type, primary_cluster_id, primary_cluster_name,
			standby_cluster_id, standby_cluster_name, sync_period, last_sync, create_time, detail, detail_fetched_at, first_seen_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)
		ON CONFLICT (id) DO UPDATE SET name = $2, status = $3, dr_type = $4, primary_cluster_id = $5,
			primary_cluster_name = $6, standby_cluster_id = $7, standby_cluster_name = $8, sync_period = $9,
			last_sync = $10, create_time = $11, detail = $12, detail_fetched_at = $13, gone_at = NULL`,
		t.ID, t.Name, t.Status, t.DRType, t.Primary.ID, t.Primary.Name, t.Standby.ID, t.Standby.Name,
		t.SyncPeriod, t.Primary.LastSuccessTime, t.CreateTime, []byte(t.Raw), now)
	if err != nil {
		return fmt.Errorf("store DR task %s: %w", t.ID, err)
	}
	return nil
}

// InsertCreatedTask records a task the portal just created, before the
// cloud has been asked for its detail.
func (t *Tx) InsertCreatedTask(ctx context.Context, id string, p dws.CreateParams, primaryName, standbyName string,
	createdBy int64, now time.Time) error {
	_, err := t.tx.Exec(ctx, `
		INSERT INTO dr_tasks (id, name, status, dr_type, primary_cluster_id, primary_cluster_name,
			standby_cluster_id, standby_cluster_name, sync_period, managed, created_by, first_seen_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, true, NULLIF($10, 0), $11)
		ON CONFLICT (id) DO UPDATE SET managed = true, created_by = NULLIF($10, 0)`,
		id, p.Name, dws.StatusCreating, p.DRType, p.PrimaryClusterID, primaryName, p.StandbyClusterID, standbyName,
		p.SyncPeriod, createdBy, now)
	if err != nil {
		return fmt.Errorf("record created DR task %s: %w", id, err)
	}
	return nil
}

// ListTasks returns the tasks the portal knows to exist, newest first.
func (s *Store) ListTasks(ctx context.Context) ([]TaskRow, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+taskColumns+` FROM dr_tasks WHERE gone_at IS NULL
		ORDER BY create_time DESC, first_seen_at DESC, name`)
	if err != nil {
		return nil, fmt.Errorf("list DR tasks: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (TaskRow, error) { return scanTask(r) })
}

// Task returns one task's row.
func (s *Store) Task(ctx context.Context, id string) (TaskRow, error) {
	r, err := scanTask(s.pool.QueryRow(ctx, `SELECT `+taskColumns+` FROM dr_tasks WHERE id = $1`, id))
	if err != nil {
		return TaskRow{}, notFound(err, "no such DR task")
	}
	return r, nil
}

// MarkTaskGone records that the cloud no longer knows the task.
func (s *Store) MarkTaskGone(ctx context.Context, id string, now time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE dr_tasks SET gone_at = COALESCE(gone_at, $2) WHERE id = $1`, id, now)
	return err
}

// ClaimTaskRefresh claims the right to refresh a task from the cloud now,
// granted to one caller (across replicas) per interval, so the number of
// cloud calls does not grow with the number of people watching a task.
func (s *Store) ClaimTaskRefresh(ctx context.Context, id string, now time.Time, interval time.Duration) (bool, error) {
	tag, err := s.pool.Exec(ctx, `
		UPDATE dr_tasks SET refresh_claimed_at = $2
		WHERE id = $1 AND (refresh_claimed_at IS NULL OR refresh_claimed_at <= $3)`, id, now, now.Add(-interval))
	if err != nil {
		return false, fmt.Errorf("claim refresh of DR task %s: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}
