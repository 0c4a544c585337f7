package drtask

import (
	"cmp"
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/db"
	"drportal/internal/dws"
	"drportal/internal/portal"
)

// Pages read the portal's last known state from the database: the shared
// poller and the list sync (background jobs) keep it fresh, so the number
// of cloud calls does not grow with the number of people looking.

// TaskList is the DR task list page's data.
type TaskList struct {
	Tasks []db.TaskRow
	// Stale is set when the last attempt to read the list failed: Tasks is
	// the last known list, as of FetchedAt (nil: never read).
	Stale     bool
	CloudErr  string
	FetchedAt *time.Time
	// Open are the newest open requests (the fields the list shows, see
	// db.TaskListPage) and Approvals the decisions on them, by request id.
	Open      []portal.Request
	Approvals map[int64][]portal.Approval
}

// List returns the last known task list, how fresh it is, and the newest
// openLimit open requests with their decisions: one round trip.
func (s *Service) List(ctx context.Context, openLimit int) (TaskList, error) {
	p, err := s.Store.TaskListPage(ctx, openLimit)
	if err != nil {
		return TaskList{}, err
	}
	return listOf(p), nil
}

// ListReads is List as reads for a session's batch (db.Reads): the
// function it returns gives the list once they have run.
func (s *Service) ListReads(openLimit int) (db.Reads, func() TaskList) {
	var page func() db.TaskListPage
	reads := func(b *pgx.Batch, _ []byte) { page = db.QueueTaskListPage(b, openLimit) }
	return reads, func() TaskList { return listOf(page()) }
}

func listOf(p db.TaskListPage) TaskList {
	return TaskList{Tasks: p.Tasks, Stale: p.SyncErrorAt != nil, CloudErr: p.SyncError, FetchedAt: p.FetchedAt,
		Open: p.Open, Approvals: p.Approvals}
}

// SyncList reads the task list from the cloud and records it (new tasks,
// and a read soon of those it lacks), or records why it could not.
func (s *Service) SyncList(ctx context.Context) error {
	cctx, cancel := s.pageCtx(ctx)
	items, err := s.Cloud.List(cctx)
	cancel()
	now := s.Now()
	if err != nil {
		if rerr := s.Store.RecordSyncError(ctx, db.SyncTaskList, CloudDescription(err), now); rerr != nil {
			return rerr
		}
		if rerr := s.noteConfig(ctx, "list", err, now); rerr != nil {
			return rerr
		}
		return err
	}
	if err := s.Store.RecordSyncSuccess(ctx, db.SyncDWSConfig+"list", now); err != nil {
		return err
	}
	return s.Store.SyncTaskList(ctx, items, now)
}

// noteConfig records a cloud answer to call ("detail", "list") that shows
// the portal's DWS endpoint, region or project to be wrong, where /healthz
// and the task pages read it. A good answer to the same call clears it.
func (s *Service) noteConfig(ctx context.Context, call string, err error, now time.Time) error {
	if !dws.IsKind(err, dws.KindBadConfig) {
		return nil
	}
	return s.Store.RecordSyncError(ctx, db.SyncDWSConfig+call, CloudDescription(err), now)
}

// ConfigErrors returns the outstanding answers showing the portal's DWS
// configuration to be wrong, newest first. It reads only the database.
func (s *Service) ConfigErrors(ctx context.Context) ([]db.SyncError, error) {
	return s.Store.SyncErrors(ctx, db.SyncDWSConfig)
}

// CloudDescription describes a cloud failure for a person.
func CloudDescription(err error) string {
	if ce, ok := dws.AsError(err); ok {
		return CloudMessage(ce)
	}
	return err.Error()
}

// TaskView is one task as the detail page shows it.
type TaskView struct {
	Row  db.TaskRow
	Task portal.Task // parsed from the last detail; Raw holds the stored JSON
	// HasDetail is false until the cloud's detail was read at least once.
	HasDetail bool
	// Stale is set when the last read failed: CloudErr says why.
	Stale    bool
	CloudErr string
	// Gone is set when the cloud no longer knows the task.
	Gone bool
	// ConfigErr is set while the DWS API answers as if the portal's
	// endpoint, region or project were wrong: no read says anything about
	// the task, and the page shows its last known state.
	ConfigErr string
	Progress  *portal.Progress
	// Drift holds the changes made outside the portal: field -> [recorded, live].
	Drift map[string][2]string
}

// Settled reports whether the task's status is at rest.
func (v TaskView) Settled() bool { return v.Gone || v.Row.Status.Settled() }

// Task returns the last known state of a task, from the database: a page
// never asks the cloud. A task created outside the portal moments ago is
// known once the background list sync has read it.
func (s *Service) Task(ctx context.Context, id string) (TaskView, error) {
	if !ValidID(id) {
		return TaskView{}, apperr.New(apperr.NotFound, "There is no DR task with id %q.", id)
	}
	row, err := s.Store.Task(ctx, id)
	if apperr.KindOf(err) == apperr.NotFound {
		return TaskView{}, apperr.New(apperr.NotFound,
			"The portal knows no DR task with id %s. A task created in the console moments ago shows up within a minute, once the task list has been read again.", id)
	}
	if err != nil {
		return TaskView{}, err
	}
	return viewOf(row), nil
}

// Status is Task for the self-refreshing status panel: database only.
func (s *Service) Status(ctx context.Context, id string) (TaskView, error) {
	if !ValidID(id) {
		return TaskView{}, apperr.New(apperr.NotFound, "There is no DR task with id %q.", id)
	}
	row, err := s.Store.Task(ctx, id)
	if err != nil {
		return TaskView{}, err
	}
	return viewOf(row), nil
}

// Page is what a task's page shows, from the database alone.
type Page struct {
	View     TaskView
	Timeline []audit.Event // nil unless asked for
	// CloudCalls counts the task's cloud calls (with a timeline).
	CloudCalls int
	// Open are the task's pending, approved and executing requests.
	Open []portal.Request
	// State is the task as the operation rules judge it.
	State portal.TaskState
	// Schedule is the change windows and freezes in force; BreakGlass the
	// break-glass settings; Drills the count of the task's drills and
	// LastDrill the newest that started (nil: none).
	Schedule   portal.Schedule
	BreakGlass portal.BreakGlassPolicy
	Drills     int
	LastDrill  *portal.Drill
	// Admins are the active admins (who can turn break-glass on).
	Admins []portal.User
	// Approvals are the decisions on the Open requests, by request id.
	Approvals map[int64][]portal.Approval
	// BreakGlassChanges are the break-glass changes waiting for a second
	// admin.
	BreakGlassChanges []portal.AdminChange
	// Bar is the emergency that bars the responder the page was read for
	// from breaking glass again (zero: none, or read for nobody).
	Bar db.Bar
}

// Page reads everything a task's page shows in one round trip (with its
// timeline when timeline > 0, cloud calls included when calls is set, and
// for responder > 0 the emergency that bars that user from breaking glass).
func (s *Service) Page(ctx context.Context, id string, timeline int, calls bool, responder int64) (Page, error) {
	if !ValidID(id) {
		return Page{}, noTask(id)
	}
	tp, err := s.Store.TaskPage(ctx, id, timeline, calls, s.Now(), responder)
	return pageOf(id, tp, err)
}

// PageReads is Page as reads for a session's batch (db.Reads), with the
// responder's parts read for the session's user, whatever their roles:
// the caller drops them for anyone who is not a responder. The function
// it returns gives the page once the reads have run; reads is nil when id
// cannot be a task's (the function says so).
func (s *Service) PageReads(id string, timeline int, calls bool) (reads db.Reads, page func() (Page, error)) {
	if !ValidID(id) {
		return nil, func() (Page, error) { return Page{}, noTask(id) }
	}
	var tp func() (db.TaskPage, error)
	reads = func(b *pgx.Batch, session []byte) {
		tp = db.QueueTaskPage(b, id, timeline, calls, s.Now(), db.Responder{Session: session})
	}
	return reads, func() (Page, error) {
		p, err := tp()
		return pageOf(id, p, err)
	}
}

func noTask(id string) error {
	return apperr.New(apperr.NotFound, "There is no DR task with id %q.", id)
}

func pageOf(id string, tp db.TaskPage, err error) (Page, error) {
	if apperr.KindOf(err) == apperr.NotFound {
		return Page{}, apperr.New(apperr.NotFound,
			"The portal knows no DR task with id %s. A task created in the console moments ago shows up within a minute, once the task list has been read again.", id)
	}
	if err != nil {
		return Page{}, err
	}
	v := viewOf(tp.Task)
	if len(tp.ConfigErrors) > 0 {
		v.ConfigErr = tp.ConfigErrors[0].Message
	}
	return Page{View: v, Timeline: tp.Timeline, CloudCalls: tp.CloudCalls, Open: tp.Open, State: stateOf(v, tp.LastSucceeded),
		Schedule: tp.Schedule, BreakGlass: tp.BreakGlass, Drills: tp.Drills, LastDrill: tp.LastDrill, Admins: tp.Admins,
		Approvals: tp.Approvals, BreakGlassChanges: tp.BreakGlassChanges, Bar: tp.Bar}, nil
}

func stateOf(v TaskView, last portal.Operation) portal.TaskState {
	t := v.Task
	t.ID, t.Status = v.Row.ID, v.Row.Status
	return portal.TaskState{Task: t, LastSucceededOp: last}
}

// PollDue refreshes the tasks whose poll is due: the shared poller, run by
// one background job for all viewers and replicas. It returns how many it read.
func (s *Service) PollDue(ctx context.Context) (int, error) {
	rows, err := s.Store.DueForPoll(ctx, s.Now(), time.Minute, 50)
	if err != nil {
		return 0, err
	}
	// One task that cannot be recorded does not hold back the others: each
	// failure is recorded on its task, and the first is returned.
	var first error
	for _, r := range rows {
		if err := s.Refresh(ctx, r); err != nil {
			first = cmp.Or(first, err)
			msg := "the portal could not record what the cloud answered: " + err.Error()
			if rerr := s.Store.RecordRefreshError(ctx, r.ID, msg, s.Now()); rerr == nil {
				_ = s.Store.SchedulePoll(ctx, r.ID, s.Now().Add(time.Minute))
			}
		}
	}
	return len(rows), first
}

// Refresh reads one task from the cloud, records it (and its progress when
// it is running), notes any change the portal did not make, and schedules
// the next read: soon while the task changes, later once it is at rest.
func (s *Service) Refresh(ctx context.Context, prev db.TaskRow) error {
	now := s.Now()
	cctx, cancel := s.pageCtx(ctx)
	t, err := s.Cloud.Get(cctx, prev.ID)
	cancel()
	switch {
	case dws.TaskMissing(err):
		return s.confirmGone(ctx, prev, now)
	case err != nil:
		return s.refreshFailed(ctx, prev, "detail", CloudDescription(err), err, now)
	}
	if err := s.Store.RecordSyncSuccess(ctx, db.SyncDWSConfig+"detail", now); err != nil {
		return err
	}
	if err := s.record(ctx, &prev, t, now); err != nil {
		return err
	}
	if t.Status == portal.TaskRunning {
		cctx, cancel := s.pageCtx(ctx)
		p, err := s.Cloud.Progress(cctx, t.ID)
		cancel()
		if err == nil {
			if err := s.Store.RecordProgress(ctx, t.ID, p, now); err != nil {
				return err
			}
		}
	}
	return s.Store.SchedulePoll(ctx, t.ID, now.Add(s.pollInterval(t.Status)))
}

// confirmGone follows a detail read that answered "no such DR task": the
// task is marked gone (with a "deleted" drift event) only when a successful
// read of the task list confirms that it is absent. Otherwise the portal
// keeps its copy, says why, and asks again at the next poll.
func (s *Service) confirmGone(ctx context.Context, prev db.TaskRow, now time.Time) error {
	const missing = "the DWS API answered that this DR task does not exist (DWS.10101)"
	// That answer came from DWS: the detail call is configured right.
	if err := s.Store.RecordSyncSuccess(ctx, db.SyncDWSConfig+"detail", now); err != nil {
		return err
	}
	cctx, cancel := s.pageCtx(ctx)
	items, err := s.Cloud.List(cctx)
	cancel()
	if err != nil {
		return s.refreshFailed(ctx, prev, "list", missing+", but the task list could not be read to confirm it: "+CloudDescription(err), err, now)
	}
	if err := s.Store.RecordSyncSuccess(ctx, db.SyncDWSConfig+"list", now); err != nil {
		return err
	}
	for _, it := range items {
		if it.ID == prev.ID {
			return s.refreshFailed(ctx, prev, "", missing+", but the task list still has it: the portal keeps its copy and reads the task again", nil, now)
		}
	}
	return s.Store.InTx(ctx, func(tx *db.Tx) error {
		if err := tx.MarkTaskGone(ctx, prev.ID, now); err != nil {
			return err
		}
		return s.recordDrift(ctx, tx, prev.ID, map[string][2]string{"status": {string(prev.Status), string(portal.TaskDeleted)}}, now)
	})
}

// refreshFailed records why a task could not be read (msg; cause is the
// cloud's error to call, if any) and schedules the next read. The portal's copy of
// the task is kept as it was.
func (s *Service) refreshFailed(ctx context.Context, prev db.TaskRow, call, msg string, cause error, now time.Time) error {
	if err := s.Store.RecordRefreshError(ctx, prev.ID, msg, now); err != nil {
		return err
	}
	if err := s.noteConfig(ctx, call, cause, now); err != nil {
		return err
	}
	return s.Store.SchedulePoll(ctx, prev.ID, now.Add(s.pollInterval(prev.Status)))
}

func (s *Service) pollInterval(status portal.TaskStatus) time.Duration {
	if status.Settled() {
		return cmp.Or(s.PollSettled, time.Minute)
	}
	return cmp.Or(s.PollChanging, 5*time.Second)
}

// record stores a detail read from the cloud and, compared with the last
// detail read before it (prev; nil when the portal had none), records as
// drift every change no portal operation explains, in one transaction.
// Whoever read it (the poller, Check now, filing, the executor's preflight),
// a change made outside the portal is recorded once, by the first read that
// sees it. While a request executes on the task, its changes are the
// portal's own: that request's follow records them.
func (s *Service) record(ctx context.Context, prev *db.TaskRow, t portal.Task, now time.Time) error {
	drift := map[string][2]string{}
	if prev != nil {
		// Compare with the last detail read, not with the row's columns,
		// which the list sync also updates.
		if before := viewOf(*prev); before.HasDetail {
			for field, pair := range map[string][2]string{
				"status":          {string(before.Task.Status), string(t.Status)},
				"dr_sync_period":  {before.Task.SyncPeriod, t.SyncPeriod},
				"primary_cluster": {before.Task.Primary.ID, t.Primary.ID},
			} {
				if pair[0] != pair[1] && pair[0] != "" {
					drift[field] = pair
				}
			}
		}
	}
	return s.Store.InTx(ctx, func(tx *db.Tx) error {
		if err := tx.UpsertTaskDetail(ctx, t, now); err != nil {
			return err
		}
		if len(drift) == 0 {
			return nil
		}
		executing, err := tx.TaskExecuting(ctx, t.ID)
		if err != nil || executing {
			return err
		}
		return s.recordDrift(ctx, tx, t.ID, drift, now)
	})
}

func (s *Service) recordDrift(ctx context.Context, tx *db.Tx, id string, drift map[string][2]string, now time.Time) error {
	raw, err := json.Marshal(drift)
	if err != nil {
		return err
	}
	if err := tx.RecordDrift(ctx, id, raw, now); err != nil {
		return err
	}
	e := audit.FromContext(audit.WithActor(ctx, audit.System), audit.ActionTaskDrift, audit.Info)
	e.OccurredAt = now
	e.SubjectType, e.SubjectID = audit.SubjectDRTask, id
	d := map[string]any{}
	for k, v := range drift {
		d[k] = map[string]string{"recorded": v[0], "live": v[1]}
	}
	e.Detail = audit.Detail(map[string]any{"changed_outside_the_portal": d})
	_, err = tx.AppendAudit(ctx, e)
	return err
}

// LiveState reads a task from the cloud for a decision that must not rest
// on stale data (filing or executing an operation), and records it.
func (s *Service) LiveState(ctx context.Context, id string) (portal.TaskState, error) {
	var prev *db.TaskRow
	switch row, err := s.Store.Task(ctx, id); {
	case err == nil:
		prev = &row
	case apperr.KindOf(err) != apperr.NotFound:
		return portal.TaskState{}, err
	}
	cctx, cancel := s.pageCtx(ctx)
	t, err := s.Cloud.Get(cctx, id)
	cancel()
	if err != nil {
		return portal.TaskState{}, err
	}
	if err := s.record(ctx, prev, t, s.Now()); err != nil {
		return portal.TaskState{}, err
	}
	last, err := s.Store.LastSucceededOperation(ctx, id)
	if err != nil {
		return portal.TaskState{}, err
	}
	return portal.TaskState{Task: t, LastSucceededOp: last}, nil
}

// StoredState is LiveState from the portal's last known state (for pages).
func (s *Service) StoredState(ctx context.Context, v TaskView) (portal.TaskState, error) {
	last, err := s.Store.LastSucceededOperation(ctx, v.Row.ID)
	if err != nil {
		return portal.TaskState{}, err
	}
	return stateOf(v, last), nil
}

func (v *TaskView) fill(row db.TaskRow) {
	if row.RefreshErrorAt != nil && (row.DetailFetchedAt == nil || row.RefreshErrorAt.After(*row.DetailFetchedAt)) {
		v.Stale, v.CloudErr = true, row.RefreshError
	}
	if len(row.Progress) > 0 && row.Status == portal.TaskRunning {
		if p, err := portal.DecodeProgress(row.Progress); err == nil {
			v.Progress = &p
		}
	}
	if len(row.Drift) > 0 {
		_ = json.Unmarshal(row.Drift, &v.Drift)
	}
}

// Preconditions asks the cloud whether request r could run now: for a
// create, the name is free and both clusters are eligible; for an
// operation, the task's live status allows it. It implements
// requests.Checker, for the explicit "Check now" (pages never ask the cloud).
func (s *Service) Preconditions(ctx context.Context, r portal.Request) ([]string, error) {
	if r.Operation == portal.OpCreate {
		p, err := dws.ParseCreateBody(r.Payload)
		if err != nil {
			return []string{"The payload is not a valid create request: " + err.Error()}, nil
		}
		problems, err := s.CheckCreate(ctx, p)
		if err != nil {
			return nil, apperr.Wrap(apperr.Unavailable, err, "%s", CloudDescription(err))
		}
		return problems, nil
	}
	state, err := s.LiveState(ctx, r.DRTaskID)
	switch {
	case dws.TaskMissing(err):
		return []string{"The DR task no longer exists in the cloud."}, nil
	case err != nil:
		return nil, apperr.Wrap(apperr.Unavailable, err, "%s", CloudDescription(err))
	}
	if ok, why := portal.Allowed(r.Operation, state); !ok {
		return []string{why}, nil
	}
	return nil, nil
}
