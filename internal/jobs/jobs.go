// Package jobs is the portal's durable background work on River, a job
// queue in PostgreSQL: executing approved requests exactly once, delivering
// webhooks, and expiring requests nobody decided in time. Jobs are inserted
// in the transaction of the change that causes them, and several replicas
// share the work through the database.
package jobs

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"drportal/internal/audit"
	"drportal/internal/db"
	"drportal/internal/requests"
)

// Config configures the background work.
type Config struct {
	Pool     *pgxpool.Pool
	Store    *db.Store
	Cloud    Cloud
	Checks   Checker
	Requests *requests.Service
	Now      func() time.Time
	Logger   *slog.Logger

	// WebhookURL and WebhookSecret configure the delivery of the
	// notifications the Outbox queued; an empty URL delivers none.
	WebhookURL    string
	WebhookSecret string

	// FollowInterval is the pause between two reads of a changing task
	// (default 5 s); FollowTimeout is how long an operation may take before
	// it is marked failed with its last state (default 30 min).
	FollowInterval time.Duration
	FollowTimeout  time.Duration
	// RetryBase and RetryCap bound the backoff between attempts of a call
	// that failed transiently (default 2 s doubling up to 2 min, jittered).
	RetryBase time.Duration
	RetryCap  time.Duration
	// RescueAfter is how long a job may look running before another worker
	// takes it over: the worker that held it is presumed dead (default 5 min).
	// The execution of a request does not wait for it: see Lease.
	RescueAfter time.Duration
	// Lease is how long a run of the executor holds the request it works on
	// without renewing (default 15 s; it renews every fifth of it). A lease
	// that ran out marks a run that died; every ResumeEvery (default 5 s)
	// each replica takes such requests over and resumes their execution.
	Lease       time.Duration
	ResumeEvery time.Duration
	// ExpireEvery is how often pending requests are checked for expiry
	// (default 30 s).
	ExpireEvery time.Duration
	// DeniedFlushEvery is how often the closed minutes of denied actions
	// are summarised into the audit history (default 30 s).
	DeniedFlushEvery time.Duration
	// Poller keeps the portal's copy of the tasks fresh: PollEvery (default
	// 2 s) it reads the tasks whose poll is due, ListEvery (default 15 s)
	// the whole list. Nil: no polling.
	Poller    Poller
	PollEvery time.Duration
	ListEvery time.Duration
	// Clusters keeps the create form's copy of the cluster list and of the
	// eligible standbys fresh: ClusterEvery (default 1 min) it reads the
	// list, and the standbys that are due. Nil: no cluster sync.
	Clusters     ClusterSyncer
	ClusterEvery time.Duration
	// Workers is how many jobs one process runs at once (default 10).
	Workers int
	// DWSZone is the zone DR timestamps without an offset are read in
	// (DWS_TIME_ZONE; nil: UTC), for a drill's RPO.
	DWSZone *time.Location
}

// Jobs owns the River client and the resumption of interrupted executions.
type Jobs struct {
	cfg    Config
	client *river.Client[pgx.Tx]

	mu          sync.Mutex
	stopResume  context.CancelFunc
	resumeEnded chan struct{}
}

// fetchPollInterval is the longest a job that was inserted waits before a
// worker looks for it, should the insert's notification be missed.
const fetchPollInterval = time.Second

// New builds the workers and the River client. It does not start working:
// a process that only inserts jobs (or a test) need not call Start.
func New(cfg Config) (*Jobs, error) {
	cfg.FollowInterval = cmp.Or(cfg.FollowInterval, 5*time.Second)
	cfg.FollowTimeout = cmp.Or(cfg.FollowTimeout, 30*time.Minute)
	cfg.RetryBase = cmp.Or(cfg.RetryBase, 2*time.Second)
	cfg.RetryCap = cmp.Or(cfg.RetryCap, 2*time.Minute)
	cfg.RescueAfter = cmp.Or(cfg.RescueAfter, 5*time.Minute)
	cfg.Lease = cmp.Or(cfg.Lease, 15*time.Second)
	cfg.ResumeEvery = cmp.Or(cfg.ResumeEvery, 5*time.Second)
	if cfg.Lease < time.Second || cfg.ResumeEvery < 0 {
		return nil, fmt.Errorf("job queue: a lease of %s, looked at every %s: the lease must be at least 1s", cfg.Lease, cfg.ResumeEvery)
	}
	cfg.ExpireEvery = cmp.Or(cfg.ExpireEvery, 30*time.Second)
	cfg.DeniedFlushEvery = cmp.Or(cfg.DeniedFlushEvery, 30*time.Second)
	cfg.PollEvery = cmp.Or(cfg.PollEvery, 2*time.Second)
	cfg.ListEvery = cmp.Or(cfg.ListEvery, 15*time.Second)
	cfg.ClusterEvery = cmp.Or(cfg.ClusterEvery, time.Minute)
	cfg.Workers = cmp.Or(cfg.Workers, 10)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	j := &Jobs{cfg: cfg}
	workers := river.NewWorkers()
	river.AddWorker(workers, &executeWorker{cfg: &j.cfg})
	river.AddWorker(workers, &webhookWorker{cfg: &j.cfg})
	river.AddWorker(workers, &expireWorker{cfg: &j.cfg})
	river.AddWorker(workers, &flushDeniedWorker{cfg: &j.cfg})
	river.AddWorker(workers, &pollWorker{cfg: &j.cfg})
	river.AddWorker(workers, &listWorker{cfg: &j.cfg})
	river.AddWorker(workers, &clusterWorker{cfg: &j.cfg})
	client, err := river.NewClient(riverpgxv5.New(cfg.Pool), &river.Config{
		Queues:               map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Workers}},
		Workers:              workers,
		Logger:               slog.New(routineAtDebug{cfg.Logger.Handler()}).With("component", "river"),
		RescueStuckJobsAfter: cfg.RescueAfter,
		JobTimeout:           2 * time.Minute,
		FetchCooldown:        50 * time.Millisecond,
		FetchPollInterval:    fetchPollInterval,
		PeriodicJobs: []*river.PeriodicJob{
			river.NewPeriodicJob(river.PeriodicInterval(cfg.ExpireEvery),
				func() (river.JobArgs, *river.InsertOpts) { return expireArgs{}, nil },
				&river.PeriodicJobOpts{RunOnStart: true}),
			river.NewPeriodicJob(river.PeriodicInterval(cfg.DeniedFlushEvery),
				func() (river.JobArgs, *river.InsertOpts) { return flushDeniedArgs{}, nil },
				&river.PeriodicJobOpts{RunOnStart: true}),
			river.NewPeriodicJob(river.PeriodicInterval(cfg.PollEvery),
				func() (river.JobArgs, *river.InsertOpts) { return pollArgs{}, nil },
				&river.PeriodicJobOpts{RunOnStart: true}),
			river.NewPeriodicJob(river.PeriodicInterval(cfg.ListEvery),
				func() (river.JobArgs, *river.InsertOpts) { return listArgs{}, nil },
				&river.PeriodicJobOpts{RunOnStart: true}),
			river.NewPeriodicJob(river.PeriodicInterval(cfg.ClusterEvery),
				func() (river.JobArgs, *river.InsertOpts) { return clusterArgs{}, nil },
				&river.PeriodicJobOpts{RunOnStart: true}),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	j.client = client
	return j, nil
}

// Start starts working jobs, and resuming interrupted executions, until Stop.
func (j *Jobs) Start(ctx context.Context) error {
	if err := j.client.Start(ctx); err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.stopResume == nil {
		rctx, cancel := context.WithCancel(ctx)
		j.stopResume, j.resumeEnded = cancel, make(chan struct{})
		go func() {
			defer close(j.resumeEnded)
			j.resumeLoop(rctx)
		}()
	}
	return nil
}

// Stop finishes the jobs in hand and stops.
func (j *Jobs) Stop(ctx context.Context) error {
	j.endResume()
	return j.client.Stop(ctx)
}

// StopAndCancel stops at once, cancelling the jobs in hand (they run again
// later on some worker).
func (j *Jobs) StopAndCancel(ctx context.Context) error {
	j.endResume()
	return j.client.StopAndCancel(ctx)
}

func (j *Jobs) endResume() {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.stopResume != nil {
		j.stopResume()
		<-j.resumeEnded
		j.stopResume = nil
	}
}

// ResumeWithin bounds how long an execution whose run died waits, once
// any replica is running, before it is resumed: its lease runs out, a
// replica's next look finds it, and a worker fetches the new job.
func (j *Jobs) ResumeWithin() time.Duration {
	return j.cfg.Lease + j.cfg.ResumeEvery + fetchPollInterval
}

// executeArgs asks for one request to be executed (or carried on). Resume
// is the number of takeovers the request had when the job was enqueued: a
// job of an earlier resumption, rescued by the queue long after, finds the
// request carried on by a later one and ends.
type executeArgs struct {
	RequestID int64 `json:"request_id"`
	Resume    int   `json:"resume,omitempty"`
}

func (executeArgs) Kind() string { return "execute_request" }

// InsertOpts: one job per request at a time; many attempts, because an
// execution ends by its own rules (approval lapse, follow deadline), not by
// a count.
func (executeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 1000, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// webhookArgs is one notification to deliver.
type webhookArgs struct {
	Event string          `json:"event"`
	Body  json.RawMessage `json:"body"`
}

func (webhookArgs) Kind() string { return "webhook" }

func (webhookArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 12} }

// notification is the JSON a webhook receives.
type notification struct {
	Event      string          `json:"event"`
	OccurredAt time.Time       `json:"occurred_at"`
	Request    notifiedRequest `json:"request"`
}

type notifiedRequest struct {
	ID                int64  `json:"id"`
	Operation         string `json:"operation"`
	TaskName          string `json:"task_name"`
	DRTaskID          string `json:"dr_task_id,omitempty"`
	Status            string `json:"status"`
	Requester         string `json:"requester"`
	Justification     string `json:"justification"`
	RequiredApprovals int    `json:"required_approvals"`
	Outcome           string `json:"outcome,omitempty"`
	ErrorCode         string `json:"error_code,omitempty"`
	ErrorMsg          string `json:"error_msg,omitempty"`
	ErrorRequestID    string `json:"error_request_id,omitempty"`
	URL               string `json:"url"`
	// Emergency: filed by breaking glass, run without the quorum, under
	// the incident reference Incident.
	Emergency bool   `json:"emergency,omitempty"`
	Incident  string `json:"incident,omitempty"`
}

// background is the context of periodic work: its audit events and cloud
// calls are the system's, correlated by what the work is.
func background(ctx context.Context, what string) context.Context {
	return audit.WithCorrelation(audit.WithActor(ctx, audit.System), what)
}

// expireArgs is the periodic expiry sweep.
type expireArgs struct{}

func (expireArgs) Kind() string { return "expire_requests" }

func (expireArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByPeriod: 10 * time.Second}}
}

type expireWorker struct {
	river.WorkerDefaults[expireArgs]
	cfg *Config
}

func (w *expireWorker) Work(ctx context.Context, _ *river.Job[expireArgs]) error {
	if w.cfg.Requests == nil {
		return nil
	}
	n, err := w.cfg.Requests.ExpireDue(background(ctx, "expiry"))
	if n > 0 {
		w.cfg.Logger.Info("expired pending requests", "count", n)
	}
	if err != nil {
		return err
	}
	// The same sweep approves the requests a change window's opening lets
	// through (requests.Service.ApproveInWindow).
	n, err = w.cfg.Requests.ApproveInWindow(background(ctx, "windows"))
	if n > 0 {
		w.cfg.Logger.Info("approved requests whose change window opened", "count", n)
	}
	return err
}

// flushDeniedArgs is the periodic summary of denied actions: each closed
// minute's count goes into the audit history and its row is deleted.
type flushDeniedArgs struct{}

func (flushDeniedArgs) Kind() string { return "flush_denied_actions" }

func (flushDeniedArgs) InsertOpts() river.InsertOpts { return periodicOnce() }

type flushDeniedWorker struct {
	river.WorkerDefaults[flushDeniedArgs]
	cfg *Config
}

func (w *flushDeniedWorker) Work(ctx context.Context, _ *river.Job[flushDeniedArgs]) error {
	if w.cfg.Store == nil {
		return nil
	}
	_, err := w.cfg.Store.FlushDenials(background(ctx, "denied-flush"), w.cfg.Now())
	return err
}

// periodicOnce: one try, and no second round while one is queued or running.
func periodicOnce() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByPeriod: time.Second, ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStateRunning, rivertype.JobStateScheduled, rivertype.JobStatePending}}}
}

// Poller reads the cloud into the portal's copy of the tasks.
type Poller interface {
	PollDue(ctx context.Context) (int, error)
	SyncList(ctx context.Context) error
}

// pollArgs is one round of the shared task poller. Periodic jobs are
// inserted by the elected leader only, so all replicas share one poller.
type pollArgs struct{}

func (pollArgs) Kind() string { return "poll_tasks" }

func (pollArgs) InsertOpts() river.InsertOpts {
	return periodicOnce()
}

type pollWorker struct {
	river.WorkerDefaults[pollArgs]
	cfg *Config
}

func (w *pollWorker) Work(ctx context.Context, _ *river.Job[pollArgs]) error {
	if w.cfg.Poller == nil {
		return nil
	}
	_, err := w.cfg.Poller.PollDue(background(ctx, "poller"))
	return err
}

// listArgs is one read of the whole task list.
type listArgs struct{}

func (listArgs) Kind() string { return "sync_task_list" }

func (listArgs) InsertOpts() river.InsertOpts {
	return periodicOnce()
}

type listWorker struct {
	river.WorkerDefaults[listArgs]
	cfg *Config
}

// Work reads the list; a cloud failure is recorded for the pages and is not
// a job failure (the next round tries again).
func (w *listWorker) Work(ctx context.Context, _ *river.Job[listArgs]) error {
	if w.cfg.Poller == nil {
		return nil
	}
	if err := w.cfg.Poller.SyncList(background(ctx, "list-sync")); err != nil {
		w.cfg.Logger.Warn("read the DR task list", "err", err)
	}
	return nil
}

// ClusterSyncer reads the cloud into the create form's copy of the
// clusters and of the eligible standbys.
type ClusterSyncer interface {
	SyncClusters(ctx context.Context) error
}

// clusterArgs is one round of the cluster sync.
type clusterArgs struct{}

func (clusterArgs) Kind() string { return "sync_clusters" }

func (clusterArgs) InsertOpts() river.InsertOpts { return periodicOnce() }

type clusterWorker struct {
	river.WorkerDefaults[clusterArgs]
	cfg *Config
}

// Work reads the clusters; a cloud failure is recorded for the form and is
// not a job failure (the next round tries again).
func (w *clusterWorker) Work(ctx context.Context, _ *river.Job[clusterArgs]) error {
	if w.cfg.Clusters == nil {
		return nil
	}
	if err := w.cfg.Clusters.SyncClusters(background(ctx, "cluster-sync")); err != nil {
		w.cfg.Logger.Warn("read the clusters", "err", err)
	}
	return nil
}
