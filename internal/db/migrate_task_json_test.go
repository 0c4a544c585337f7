package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"drportal/internal/db"
	"drportal/internal/portal"
	"drportal/internal/testdb"
	"drportal/migrations"
)

// TestStoredDetailMigratesToThePortalsJSON: rows written in the SDK
// model's JSON (before migration 6) read back, after it, as the portal's
// versioned task and progress, with the old answer kept for display.
func TestStoredDetailMigratesToThePortalsJSON(t *testing.T) {
	ctx := context.Background()
	pool := testdb.New(t)
	sqlDB := stdlib.OpenDBFromPool(pool)
	defer sqlDB.Close()
	provider, err := goose.NewProvider(goose.DialectPostgres, sqlDB, migrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provider.DownTo(ctx, 5); err != nil {
		t.Fatal(err)
	}
	sdkDetail := `{"id":"t-1","name":"dr_old","status":"running","dr_type":"az","dr_sync_period":"5m",
		"start_time":"2026-11-01T10:00:00","create_time":"2026-11-01T09:00:00",
		"primary_cluster":{"id":"p-1","name":"prod","cluster_az":"az1","role":"primary","status":"backuping",
			"progress":"100","last_success_time":"2026-11-22T10:42:13","obs_bucket_name":"bk"},
		"standby_cluster":{"id":"s-1","name":"dr","cluster_az":"az2","role":"standby","status":"restoring"}}`
	sdkProgress := `{"recovery_point_object":42,"recovery_time_object":7,"latest_barrier_time":"2026-11-22T10:40:00",
		"primary_cluster":{"action_type":"Backup"},"standby_cluster":{"action_type":"Restore","unrestore_keys":"3"}}`
	if _, err := pool.Exec(ctx, `INSERT INTO dr_tasks (id, name, status, detail, progress, first_seen_at, detail_fetched_at)
		VALUES ('t-1', 'dr_old', 'running', $1, $2, now(), now())`, sdkDetail, sdkProgress); err != nil {
		t.Fatal(err)
	}
	if _, err := provider.Up(ctx); err != nil {
		t.Fatal(err)
	}
	row, err := db.New(pool).Task(ctx, "t-1")
	if err != nil {
		t.Fatal(err)
	}
	task, err := portal.DecodeTask(row.Detail)
	if err != nil {
		t.Fatal(err)
	}
	want := portal.Task{ID: "t-1", Name: "dr_old", Status: portal.TaskRunning, DRType: "az", SyncPeriod: "5m",
		StartTime: "2026-11-01T10:00:00", CreateTime: "2026-11-01T09:00:00",
		Primary: portal.TaskSide{ID: "p-1", Name: "prod", AZ: "az1", Role: "primary", Status: "backuping", Progress: "100",
			LastSuccessTime: "2026-11-22T10:42:13", OBSBucket: "bk"},
		Standby: portal.TaskSide{ID: "s-1", Name: "dr", AZ: "az2", Role: "standby", Status: "restoring"}}
	if task.Primary != want.Primary || task.Standby != want.Standby || task.ID != want.ID || task.Status != want.Status ||
		task.SyncPeriod != want.SyncPeriod || task.StartTime != want.StartTime {
		t.Errorf("migrated task:\n got %+v\nwant %+v", task, want)
	}
	if len(row.DetailRaw) == 0 {
		t.Error("the old answer was not kept for display")
	}
	p, err := portal.DecodeProgress(row.Progress)
	if err != nil {
		t.Fatal(err)
	}
	if p != (portal.Progress{RPOSeconds: 42, RTOSeconds: 7, LatestBarrierTime: "2026-11-22T10:40:00",
		PrimaryAction: "Backup", StandbyAction: "Restore", UnrestoredKeys: "3"}) {
		t.Errorf("migrated progress: %+v", p)
	}
	// What the portal writes now reads back the same way.
	task.Status = portal.TaskStopped
	if err := db.New(pool).UpsertTaskDetail(ctx, task, time.Now()); err != nil {
		t.Fatal(err)
	}
	row, _ = db.New(pool).Task(ctx, "t-1")
	if got, err := portal.DecodeTask(row.Detail); err != nil || got.Status != portal.TaskStopped || got.Primary != want.Primary {
		t.Errorf("round trip: %+v %v", got, err)
	}
}
