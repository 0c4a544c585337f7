package db

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"drportal/internal/audit"
	"drportal/internal/portal"
)

// TaskRow is the portal's last known state of a DR task: the list's and
// the detail's columns, and the stored task and progress in the portal's
// own versioned JSON (see portal.EncodeTask).
type TaskRow struct {
	ID                 string            `db:"id"`
	Name               string            `db:"name"`
	Status             portal.TaskStatus `db:"status"`
	DRType             string            `db:"dr_type"`
	PrimaryClusterID   string            `db:"primary_cluster_id"`
	PrimaryClusterName string            `db:"primary_cluster_name"`
	StandbyClusterID   string            `db:"standby_cluster_id"`
	StandbyClusterName string            `db:"standby_cluster_name"`
	SyncPeriod         string            `db:"sync_period"`
	LastSync           string            `db:"last_sync"`
	CreateTime         string            `db:"create_time"`
	Detail             []byte            `db:"detail"`     // portal.EncodeTask of the last detail; nil until fetched
	DetailRaw          []byte            `db:"detail_raw"` // the last detail answer as read
	ListFetchedAt      *time.Time        `db:"list_fetched_at"`
	DetailFetchedAt    *time.Time        `db:"detail_fetched_at"`
	Managed            bool              `db:"managed"` // created through the portal
	CreatedBy          int64             `db:"created_by"`
	FirstSeenAt        time.Time         `db:"first_seen_at"`
	GoneAt             *time.Time        `db:"gone_at"` // no longer in the cloud
	NextPollAt         *time.Time        `db:"next_poll_at"`
	Progress           []byte            `db:"progress"` // portal.EncodeProgress of the last answer (running tasks)
	ProgressFetchedAt  *time.Time        `db:"progress_fetched_at"`
	Drift              []byte            `db:"drift"` // the last change made outside the portal
	DriftAt            *time.Time        `db:"drift_at"`
	RefreshError       string            `db:"refresh_error"` // the last failed read, when newer than the last good one
	RefreshErrorAt     *time.Time        `db:"refresh_error_at"`
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
	standby_cluster_name, sync_period, last_sync, create_time, detail, detail_raw, list_fetched_at, detail_fetched_at,
	managed, COALESCE(created_by, 0) AS created_by, first_seen_at, gone_at, next_poll_at, progress, progress_fetched_at,
	drift, drift_at, refresh_error, refresh_error_at`

func collectTasks(rows pgx.Rows, err error) ([]TaskRow, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByName[TaskRow])
}

// Sync names in cloud_syncs.
const (
	SyncTaskList = "dr_task_list"
	// SyncDWSConfig prefixes, per cloud call ("detail", "list"), the last
	// answer showing that the portal's DWS endpoint, region or project is
	// wrong (a 404 without a DWS code), and as its success the last good
	// answer of that call after it: /healthz and the task pages report it.
	SyncDWSConfig = "dws_configuration/"
	// SyncOperationForm prefixes, per person and task ("<user id>/<task
	// id>"), when an operation form of theirs last had the task read live:
	// its requested_at limits such reads (drtask.Service.PrepareOperation).
	SyncOperationForm = "operation_form/"
)

// SyncError is a cloud read's last error, newer than its last success.
type SyncError struct {
	Name    string
	Message string
	At      time.Time
}

// SyncErrors returns the outstanding errors of the syncs whose name starts
// with prefix, newest first.
func (s *Store) SyncErrors(ctx context.Context, prefix string) ([]SyncError, error) {
	rows, err := s.pool.Query(ctx, syncErrorsSQL, prefix)
	if err != nil {
		return nil, fmt.Errorf("read the cloud errors: %w", err)
	}
	out, err := collectSyncErrors(rows)
	if err != nil {
		return nil, fmt.Errorf("read the cloud errors: %w", err)
	}
	return out, nil
}

const syncErrorsSQL = `SELECT name, last_error, last_error_at FROM cloud_syncs
	WHERE starts_with(name, $1) AND last_error_at IS NOT NULL
	  AND (last_success_at IS NULL OR last_error_at > last_success_at)
	ORDER BY last_error_at DESC, name`

func collectSyncErrors(rows pgx.Rows) ([]SyncError, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (SyncError, error) {
		var e SyncError
		return e, r.Scan(&e.Name, &e.Message, &e.At)
	})
}

// SyncTaskList records a complete listing from the cloud: every listed task
// is upserted, and tasks no longer listed are marked gone.
func (s *Store) SyncTaskList(ctx context.Context, items []portal.TaskSummary, now time.Time) error {
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
				it.ID, it.Name, string(it.Status), it.DRType, it.PrimaryClusterID, it.PrimaryClusterName,
				it.StandbyClusterID, it.StandbyClusterName, it.LastSyncTime, it.CreateTime, []byte(it.Raw), now)
			if err != nil {
				return fmt.Errorf("sync DR task %s: %w", it.ID, err)
			}
		}
		// A task the list lacks is read now: only the detail's "no such DR
		// task", confirmed by a list, makes it gone (drtask.confirmGone).
		if _, err := tx.tx.Exec(ctx, `UPDATE dr_tasks SET next_poll_at = $2
			WHERE gone_at IS NULL AND NOT (id = ANY($1)) AND (next_poll_at IS NULL OR next_poll_at > $2)`,
			ids, now); err != nil {
			return fmt.Errorf("sync DR tasks: read the missing: %w", err)
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

// RecordSyncSuccess records that a cloud call named name succeeded again
// after an error; it writes nothing while no error is outstanding, so the
// poller can call it after every good read.
func (s *Store) RecordSyncSuccess(ctx context.Context, name string, now time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE cloud_syncs SET last_success_at = $2 WHERE name = $1
		AND last_error_at IS NOT NULL AND (last_success_at IS NULL OR last_error_at > last_success_at)
		AND last_error_at <= $2`, name, now)
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
func (s *Store) UpsertTaskDetail(ctx context.Context, t portal.Task, now time.Time) error {
	return upsertTaskDetail(ctx, s.pool, t, now)
}

// UpsertTaskDetail records a detail response inside a transaction.
func (t *Tx) UpsertTaskDetail(ctx context.Context, task portal.Task, now time.Time) error {
	return upsertTaskDetail(ctx, t.tx, task, now)
}

func upsertTaskDetail(ctx context.Context, q querier, t portal.Task, now time.Time) error {
	stored, err := portal.EncodeTask(t)
	if err != nil {
		return fmt.Errorf("store DR task %s: %w", t.ID, err)
	}
	_, err = q.Exec(ctx, `
		INSERT INTO dr_tasks (id, name, status, dr_type, primary_cluster_id, primary_cluster_name,
			standby_cluster_id, standby_cluster_name, sync_period, last_sync, create_time, detail, detail_raw,
			detail_fetched_at, first_seen_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)
		ON CONFLICT (id) DO UPDATE SET name = $2, status = $3, dr_type = $4, primary_cluster_id = $5,
			primary_cluster_name = $6, standby_cluster_id = $7, standby_cluster_name = $8, sync_period = $9,
			last_sync = $10, create_time = $11, detail = $12, detail_raw = $13, detail_fetched_at = $14, gone_at = NULL,
			refresh_error = '', refresh_error_at = NULL`,
		t.ID, t.Name, string(t.Status), t.DRType, t.Primary.ID, t.Primary.Name, t.Standby.ID, t.Standby.Name,
		t.SyncPeriod, t.Primary.LastSuccessTime, t.CreateTime, stored, []byte(t.Raw), now)
	if err != nil {
		return fmt.Errorf("store DR task %s: %w", t.ID, err)
	}
	return nil
}

// InsertCreatedTask records a task the portal just created, before the
// cloud has been asked for its detail.
func (t *Tx) InsertCreatedTask(ctx context.Context, id string, p portal.CreateSpec, primaryName, standbyName string,
	createdBy int64, now time.Time) error {
	_, err := t.tx.Exec(ctx, `
		INSERT INTO dr_tasks (id, name, status, dr_type, primary_cluster_id, primary_cluster_name,
			standby_cluster_id, standby_cluster_name, sync_period, managed, created_by, first_seen_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, true, NULLIF($10, 0), $11)
		ON CONFLICT (id) DO UPDATE SET managed = true, created_by = NULLIF($10, 0)`,
		id, p.Name, string(portal.TaskCreating), p.DRType, p.PrimaryClusterID, primaryName, p.StandbyClusterID, standbyName,
		p.SyncPeriod, createdBy, now)
	if err != nil {
		return fmt.Errorf("record created DR task %s: %w", id, err)
	}
	return nil
}

// ListTasks returns the tasks the portal knows to exist, newest first.
func (s *Store) ListTasks(ctx context.Context) ([]TaskRow, error) {
	out, err := collectTasks(s.pool.Query(ctx, `SELECT `+taskColumns+` FROM dr_tasks WHERE gone_at IS NULL
		ORDER BY create_time DESC, first_seen_at DESC, name`))
	if err != nil {
		return nil, fmt.Errorf("list DR tasks: %w", err)
	}
	return out, nil
}

// Task returns one task's row.
func (s *Store) Task(ctx context.Context, id string) (TaskRow, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+taskColumns+` FROM dr_tasks WHERE id = $1`, id)
	if err != nil {
		return TaskRow{}, fmt.Errorf("read DR task %s: %w", id, err)
	}
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[TaskRow])
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

// DueForPoll claims up to limit tasks whose next poll is due, leasing
// them for lease so that a concurrent poller skips them. Tasks an executing
// request is following are left to it.
func (s *Store) DueForPoll(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]TaskRow, error) {
	out, err := collectTasks(s.pool.Query(ctx, `
		UPDATE dr_tasks SET next_poll_at = $2 WHERE id IN (
			SELECT t.id FROM dr_tasks t
			WHERE t.gone_at IS NULL AND (t.next_poll_at IS NULL OR t.next_poll_at <= $1)
			  AND NOT EXISTS (SELECT 1 FROM requests r WHERE r.dr_task_id = t.id AND r.status = 'executing')
			ORDER BY t.next_poll_at NULLS FIRST LIMIT $3
			FOR UPDATE SKIP LOCKED)
		RETURNING `+taskColumns, now, now.Add(lease), limit))
	if err != nil {
		return nil, fmt.Errorf("tasks due for a poll: %w", err)
	}
	return out, nil
}

// SchedulePoll sets when a task is read from the cloud next.
func (s *Store) SchedulePoll(ctx context.Context, id string, at time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE dr_tasks SET next_poll_at = $2 WHERE id = $1`, id, at)
	return err
}

// RecordRefreshError records that reading a task failed.
func (s *Store) RecordRefreshError(ctx context.Context, id, msg string, now time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE dr_tasks SET refresh_error = $2, refresh_error_at = $3 WHERE id = $1`, id, msg, now)
	return err
}

// RecordProgress stores a show-progress answer.
func (s *Store) RecordProgress(ctx context.Context, id string, p portal.Progress, now time.Time) error {
	stored, err := portal.EncodeProgress(p)
	if err != nil {
		return fmt.Errorf("store progress of DR task %s: %w", id, err)
	}
	if _, err := s.pool.Exec(ctx, `UPDATE dr_tasks SET progress = $2, progress_fetched_at = $3 WHERE id = $1`, id, stored, now); err != nil {
		return fmt.Errorf("store progress of DR task %s: %w", id, err)
	}
	return nil
}

// RecordDrift stores a change made outside the portal, with its audit event.
func (t *Tx) RecordDrift(ctx context.Context, id string, drift []byte, now time.Time) error {
	_, err := t.tx.Exec(ctx, `UPDATE dr_tasks SET drift = $2, drift_at = $3 WHERE id = $1`, id, drift, now)
	return err
}

// TaskExecuting reports whether a request is executing on the task: its
// changes are then the portal's own.
func (t *Tx) TaskExecuting(ctx context.Context, id string) (bool, error) {
	var yes bool
	err := t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM requests WHERE dr_task_id = $1 AND status = 'executing')`, id).Scan(&yes)
	if err != nil {
		return false, fmt.Errorf("is a request executing on DR task %s: %w", id, err)
	}
	return yes, nil
}

// ClearDrift forgets the recorded drift (a portal operation set a new baseline).
func (t *Tx) ClearDrift(ctx context.Context, id string) error {
	_, err := t.tx.Exec(ctx, `UPDATE dr_tasks SET drift = NULL, drift_at = NULL WHERE id = $1`, id)
	return err
}

// MarkTaskGone records inside a transaction that the cloud no longer knows the task.
func (t *Tx) MarkTaskGone(ctx context.Context, id string, now time.Time) error {
	_, err := t.tx.Exec(ctx, `UPDATE dr_tasks SET gone_at = COALESCE(gone_at, $2) WHERE id = $1`, id, now)
	return err
}

// LastSyncError returns the last listing error and when it happened, if it
// is newer than the last success.
func (s *Store) LastSyncError(ctx context.Context, name string) (string, *time.Time, error) {
	var msg string
	var at *time.Time
	err := s.pool.QueryRow(ctx, `SELECT last_error, last_error_at FROM cloud_syncs WHERE name = $1
		AND last_error_at IS NOT NULL AND (last_success_at IS NULL OR last_error_at > last_success_at)`, name).Scan(&msg, &at)
	if err == pgx.ErrNoRows {
		return "", nil, nil
	}
	return msg, at, err
}

// TaskListPage is everything the task list shows, read in one round trip.
type TaskListPage struct {
	// Tasks are the tasks the cloud has, with only the columns a list row
	// shows set.
	Tasks []TaskRow
	// FetchedAt is when the list was last read from the cloud (nil: never);
	// SyncError and SyncErrorAt the last failed read, when it came after.
	FetchedAt   *time.Time
	SyncError   string
	SyncErrorAt *time.Time
	// Open are the newest open requests (pending, approved, executing),
	// with only the fields of briefRequestColumns and the summary set, and Approvals the
	// decisions on them, by request id.
	Open      []portal.Request
	Approvals map[int64][]portal.Approval
}

// briefRequestColumns are the part of a request its list rows show (the
// request list, the task list's pending creates and the chips of open
// operations): a busy team has many requests, and a list has no use for
// their payloads or texts. The payload's recorded hash and the policy
// version are read: counting the approvals given (portal.ApprovalsCounted)
// needs them. briefRequestFrom follows them; rows are read by
// collectBriefRequests.
const briefRequestColumns = `SELECT r.id, r.operation, COALESCE(r.dr_task_id, ''), r.task_name, r.requester_id,
	u.email, r.status, r.required_approvals, r.created_at, r.expires_at, r.resumed_at,
	COALESCE(r.exec_lease_until < now(), false), COALESCE(bg.incident, ''), r.payload_sha256, r.policy_version`

const briefRequestFrom = ` FROM requests r JOIN users u ON u.id = r.requester_id LEFT JOIN break_glass bg ON bg.request_id = r.id `

// collectBriefRequests reads rows of briefRequestColumns, followed by
// r.summary when withSummary, as requests with only those fields set. It
// scans by position rather than by name: lists read a hundred rows a view,
// and matching columns to fields by reflection cost more than the query.
func collectBriefRequests(rows pgx.Rows, withSummary bool, limit int) ([]portal.Request, error) {
	defer rows.Close()
	// A request is some 750 bytes: the rows are read into the slice
	// returned, made once for as many as a list usually has.
	out := make([]portal.Request, 0, min(limit, 100))
	var op, status string
	var summary []byte
	for rows.Next() {
		out = append(out, portal.Request{})
		r := &out[len(out)-1]
		dest := []any{&r.ID, &op, &r.DRTaskID, &r.TaskName, &r.RequesterID, &r.RequesterEmail, &status,
			&r.RequiredApprovals, &r.CreatedAt, &r.ExpiresAt, &r.ResumedAt, &r.LeaseLapsed, &r.Incident,
			&r.PayloadSHA256, &r.PolicyVersion}
		if withSummary {
			dest = append(dest, &summary)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		r.Operation, r.Status = portal.Operation(op), portal.RequestStatus(status)
		if withSummary {
			r.Summary = decodeSummary(summary)
		}
	}
	return out, rows.Err()
}

// TaskListPage reads the tasks the cloud has, how fresh the list is, and
// the newest openLimit open requests with their decisions, as one batch.
func (s *Store) TaskListPage(ctx context.Context, openLimit int) (TaskListPage, error) {
	b := &pgx.Batch{}
	page := QueueTaskListPage(b, openLimit)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return TaskListPage{}, fmt.Errorf("read the DR task list: %w", err)
	}
	return page(), nil
}

// QueueTaskListPage queues TaskListPage's reads in b; the function it
// returns gives the page once b has run.
func QueueTaskListPage(b *pgx.Batch, openLimit int) func() TaskListPage {
	p := TaskListPage{Approvals: map[int64][]portal.Approval{}}
	b.Queue(`SELECT last_success_at, last_error, last_error_at FROM cloud_syncs WHERE name = $1`, SyncTaskList).Query(func(rows pgx.Rows) error {
		_, err := pgx.ForEachRow(rows, []any{&p.FetchedAt, &p.SyncError, &p.SyncErrorAt}, func() error { return nil })
		if p.SyncErrorAt == nil || (p.FetchedAt != nil && !p.SyncErrorAt.After(*p.FetchedAt)) {
			p.SyncError, p.SyncErrorAt = "", nil // the error came before the last success
		}
		return err
	})
	b.Queue(`SELECT id, name, status, dr_type, primary_cluster_id, primary_cluster_name, standby_cluster_id,
		standby_cluster_name, sync_period, last_sync, create_time, managed FROM dr_tasks WHERE gone_at IS NULL
		ORDER BY create_time DESC, first_seen_at DESC, name`).Query(func(rows pgx.Rows) error {
		// The list's columns only, by position: the stored answers
		// (detail, progress, drift) are kilobytes a task that a row does
		// not show.
		var t TaskRow
		var status string
		_, err := pgx.ForEachRow(rows, []any{&t.ID, &t.Name, &status, &t.DRType, &t.PrimaryClusterID, &t.PrimaryClusterName,
			&t.StandbyClusterID, &t.StandbyClusterName, &t.SyncPeriod, &t.LastSync, &t.CreateTime, &t.Managed}, func() error {
			t.Status = portal.TaskStatus(status)
			p.Tasks = append(p.Tasks, t)
			return nil
		})
		return err
	})
	open := `r.status IN ('pending', 'approved', 'executing')`
	b.Queue(briefRequestColumns+`, r.summary`+briefRequestFrom+`WHERE `+open+` ORDER BY r.id DESC LIMIT $1`, openLimit).Query(func(rows pgx.Rows) error {
		var err error
		p.Open, err = collectBriefRequests(rows, true, openLimit)
		return err
	})
	b.Queue(approvalsSelect+`WHERE a.request_id IN (SELECT r.id FROM requests r WHERE `+open+` ORDER BY r.id DESC LIMIT $1)
		ORDER BY a.decided_at, a.approver_id`, openLimit).Query(func(rows pgx.Rows) error {
		all, err := collectApprovals(rows)
		for _, a := range all {
			p.Approvals[a.RequestID] = append(p.Approvals[a.RequestID], a)
		}
		return err
	})
	return func() TaskListPage { return p }
}

// TaskPage is everything a task's page shows, read in one round trip.
type TaskPage struct {
	Task TaskRow
	// Timeline is the task's newest events (nil when not asked for),
	// without the cloud calls unless asked for them.
	Timeline []audit.Event
	// CloudCalls counts the task's cloud calls (when a timeline was asked for).
	CloudCalls int
	// Open are the task's pending, approved and executing requests, newest
	// first: all of them, however many closed ones came after.
	Open []portal.Request
	// LastSucceeded is the operation of the newest succeeded request.
	LastSucceeded portal.Operation
	// ConfigErrors are the outstanding answers showing the portal's DWS
	// endpoint, region or project to be wrong (SyncDWSConfig), newest first.
	ConfigErrors []SyncError
	// Schedule is the change windows and freezes in force at the time
	// asked for; BreakGlass the break-glass settings in effect.
	Schedule   portal.Schedule
	BreakGlass portal.BreakGlassPolicy
	// Drills counts the task's drills; LastDrill is the newest that
	// started (nil: none).
	Drills    int
	LastDrill *portal.Drill
	// Admins are the active admins, who can turn break-glass on, with
	// only their id, e-mail and name set (read for a responder only).
	Admins []portal.User
	// Approvals are the decisions on the Open requests, by request id.
	Approvals map[int64][]portal.Approval
	// BreakGlassChanges are the break-glass changes waiting for a second
	// admin, oldest first (read for a responder only).
	BreakGlassChanges []portal.AdminChange
	// Bar is the emergency that bars the responder the page was read for
	// from breaking glass again (the zero Bar: none, or read for nobody).
	Bar Bar
}

// taskPageRow is a task with the counts its page shows.
type taskPageRow struct {
	TaskRow
	Drills        int    `db:"drills"`
	LastSucceeded string `db:"last_succeeded"`
}

// TaskPage reads a task's row, its open requests, the last operation that
// succeeded on it and, when timeline > 0, its newest events, as one batch:
// a page costs one round trip to the database, not four. responder > 0
// also reads the emergency that bars that user from breaking glass, and
// what a responder is told when break-glass is off (the admins, the
// changes waiting).
func (s *Store) TaskPage(ctx context.Context, id string, timeline int, calls bool, now time.Time, responder int64) (TaskPage, error) {
	b := &pgx.Batch{}
	page := QueueTaskPage(b, id, timeline, calls, now, Responder{ID: responder})
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return TaskPage{}, fmt.Errorf("read the page of DR task %s: %w", id, err)
	}
	return page()
}

// Responder says whose responder's parts of a task page to read: the user
// ID's, or, with Session set, the user of that session's (whatever their
// roles: the caller, once it knows them, drops what is not theirs); the
// zero Responder reads none.
type Responder struct {
	ID      int64
	Session []byte
}

// QueueTaskPage queues TaskPage's reads in b; the function it returns
// gives the page once b has run.
func QueueTaskPage(b *pgx.Batch, id string, timeline int, calls bool, now time.Time, responder Responder) func() (TaskPage, error) {
	var p TaskPage
	bar, barArg := barSQL, any(responder.ID)
	if responder.Session != nil {
		bar, barArg = sessionBarSQL, responder.Session
	}
	if responder.ID > 0 || responder.Session != nil {
		b.Queue(bar, barArg).Query(func(rows pgx.Rows) error {
			bars, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Bar, error) {
				var b Bar
				return b, row.Scan(&b.RequestID, &b.Flagged)
			})
			if len(bars) == 1 {
				p.Bar = bars[0]
			}
			return err
		})
	}
	queueSchedule(b, now, &p.Schedule)
	b.Queue(breakGlassPolicySQL).Query(func(rows pgx.Rows) error {
		row, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[breakGlassPolicyRow])
		if err != nil {
			return fmt.Errorf("read break-glass policy: %w", err)
		}
		p.BreakGlass = row.policy()
		return nil
	})
	if responder.ID > 0 || responder.Session != nil {
		b.Queue(`SELECT u.id, u.email, u.display_name FROM users u
			WHERE u.active AND EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = u.id AND r.role = 'admin')
			ORDER BY u.email`).Query(func(rows pgx.Rows) error {
			u := portal.User{Active: true, Roles: []portal.Role{portal.RoleAdmin}}
			_, err := pgx.ForEachRow(rows, []any{&u.ID, &u.Email, &u.DisplayName}, func() error {
				p.Admins = append(p.Admins, u)
				return nil
			})
			if err != nil {
				return fmt.Errorf("read admins: %w", err)
			}
			return nil
		})
		b.Queue(`SELECT `+adminChangeColumns+` WHERE c.status = 'pending' AND c.kind = $1 ORDER BY c.id`,
			string(portal.ChangeBreakGlass)).Query(func(rows pgx.Rows) error {
			rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[adminChangeRow])
			if err != nil {
				return fmt.Errorf("read break-glass changes: %w", err)
			}
			for _, r := range rs {
				ch, err := r.change()
				if err != nil {
					return err
				}
				p.BreakGlassChanges = append(p.BreakGlassChanges, ch)
			}
			return nil
		})
	}
	b.Queue(`SELECT `+drillColumns+` FROM drills WHERE dr_task_id = $1 AND started_at IS NOT NULL
		ORDER BY request_id DESC LIMIT 1`, id).Query(func(rows pgx.Rows) error {
		rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[drillRow])
		if len(rs) == 1 {
			d := rs[0].drill()
			p.LastDrill = &d
		}
		return err
	})
	// The task, with what else the page needs of its own rows: how many
	// drills it had, the operation of its newest succeeded request.
	var taskErr error
	b.Queue(`SELECT `+taskColumns+`,
			(SELECT count(*) FROM drills WHERE dr_task_id = $1) AS drills,
			COALESCE((SELECT operation FROM requests WHERE dr_task_id = $1 AND status = 'succeeded'
				ORDER BY finished_at DESC, id DESC LIMIT 1), '') AS last_succeeded
		FROM dr_tasks WHERE id = $1`, id).Query(func(rows pgx.Rows) error {
		var r taskPageRow
		r, taskErr = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[taskPageRow])
		p.Task, p.Drills, p.LastSucceeded = r.TaskRow, r.Drills, portal.Operation(r.LastSucceeded)
		return nil
	})
	b.Queue(requestSelect+`WHERE r.dr_task_id = $1 AND r.status IN ('pending', 'approved', 'executing') ORDER BY r.id DESC`,
		id).Query(func(rows pgx.Rows) error {
		var err error
		p.Open, err = collectRequests(rows, nil)
		return err
	})
	p.Approvals = map[int64][]portal.Approval{}
	b.Queue(approvalsSelect+`WHERE a.request_id IN (SELECT x.id FROM requests x
		WHERE x.dr_task_id = $1 AND x.status IN ('pending', 'approved', 'executing'))
		ORDER BY a.decided_at, a.approver_id`, id).Query(func(rows pgx.Rows) error {
		all, err := collectApprovals(rows)
		for _, a := range all {
			p.Approvals[a.RequestID] = append(p.Approvals[a.RequestID], a)
		}
		return err
	})
	b.Queue(syncErrorsSQL, SyncDWSConfig).Query(func(rows pgx.Rows) error {
		var err error
		p.ConfigErrors, err = collectSyncErrors(rows)
		return err
	})
	if timeline > 0 {
		b.Queue(taskTimelineSQL(timeline, calls), audit.SubjectDRTask, id).Query(func(rows pgx.Rows) error {
			var err error
			p.Timeline, err = collectTimeline(id, rows, nil)
			return err
		})
		b.Queue(taskCloudCallsSQL(timeline), audit.SubjectDRTask, id).QueryRow(func(row pgx.Row) error {
			return row.Scan(&p.CloudCalls)
		})
	}
	return func() (TaskPage, error) {
		if taskErr != nil {
			return TaskPage{}, notFound(taskErr, "no such DR task")
		}
		return p, nil
	}
}
