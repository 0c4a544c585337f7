package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/riverqueue/river"

	"drportal/internal/apperr"
)

// A run of the executor holds the request it works on with a lease in the
// request's row, renewed every few seconds while it works and released
// when it stops. A run that is merely slow keeps renewing; a run whose
// process was killed stops. Every replica looks (ResumeEvery) for leases
// that ran out, and for execution jobs that have been running longer than
// a lease with no run holding or letting go of their request for as long
// (the process died in the moments between the queue starting the job and
// the run taking the lease, or between the run letting go and the queue
// recording it), and takes
// such a request over: one guarded update, audited, that counts the
// takeover and enqueues the execution again as a job of its own. A job of
// an earlier count can no longer hold the request; the run that was taken
// over can no longer record an intent, so it can no longer send; and a run
// that cannot renew stops its own calls before its lease can run out, so a
// takeover never overlaps a call in flight.
//
// Why not River's own rescue of stuck jobs: its rescuer runs on the elected
// leader, every 30 s (not configurable), and retries a job that has run
// longer than RescueStuckJobsAfter, by the leader's clock against the
// database's. After a crash of every replica, a restarted one waits for the
// dead leader's term to end before it can rescue anything; a job's time
// limit must cover a whole cloud call (30 s per attempt, more with the
// preflight reads), and the rescue window must exceed it: well over a
// minute in all. A lease is renewed through long calls, so a dead run is
// known within Lease, whatever the calls take, and any replica, not only
// the leader, takes its request over.

// leaseRenewals is how many times per Lease a run renews it. A run that
// could not renew stops its calls Lease/leaseMargin before the lease runs
// out.
const (
	leaseRenewals = 5
	leaseMargin   = 3
)

// errLeaseLost cancels a run that lost its request: it could not renew the
// lease in time, or the request was taken over.
var errLeaseLost = errors.New("this run no longer holds the request's lease")

// holderName names one run: where it runs and which job and attempt it is,
// for the audit history of a takeover, and a random part, so no two runs
// share a name.
func holderName(job *river.Job[executeArgs]) string {
	host, _ := os.Hostname()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s pid %d job %d attempt %d %s", host, os.Getpid(), job.ID, job.Attempt, hex.EncodeToString(b))
}

// lease is a run's hold on a request.
type lease struct {
	cfg    *Config
	id     int64
	holder string
	ctx    context.Context // the run's context, cancelled when the lease is lost
	cancel context.CancelCauseFunc
	done   chan struct{}
	kept   chan struct{}
}

// hold takes the lease of the request the job executes. It returns nil,
// without an error, when the request cannot be held: it has ended, a later
// resumption carries it on, or another run holds it.
func (w *executeWorker) hold(ctx context.Context, job *river.Job[executeArgs]) (*lease, error) {
	holder := holderName(job)
	start := time.Now()
	ok, err := w.cfg.Requests.HoldExecution(ctx, job.Args.RequestID, job.Args.Resume, holder, w.cfg.Lease)
	if err != nil || !ok {
		return nil, err
	}
	l := &lease{cfg: w.cfg, id: job.Args.RequestID, holder: holder, done: make(chan struct{}), kept: make(chan struct{})}
	l.ctx, l.cancel = context.WithCancelCause(ctx)
	go l.keep(start)
	return l, nil
}

// keep renews the lease until the run releases it. The database set the
// lease's end at least Lease after the renewal was sent, so a run that
// could not renew since start is cancelled by start + Lease - margin, by
// its own clock, before any replica can see the lease run out. It renews
// until the run returns, even after the run's context was cancelled: a run
// that is still working is never taken over.
func (l *lease) keep(start time.Time) {
	defer close(l.kept)
	margin := l.cfg.Lease / leaseMargin
	deadline := start.Add(l.cfg.Lease - margin)
	expire := time.NewTimer(time.Until(deadline))
	defer expire.Stop()
	renew := time.NewTicker(l.cfg.Lease / leaseRenewals)
	defer renew.Stop()
	for {
		select {
		case <-l.done:
			return
		case <-expire.C:
			l.cancel(errLeaseLost)
			return
		case <-renew.C:
		}
		sent := time.Now()
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		ok, err := l.cfg.Requests.RenewExecution(ctx, l.id, l.holder, l.cfg.Lease)
		cancel()
		switch {
		case err != nil:
			l.cfg.Logger.Warn("renew the lease of an execution", "request", l.id, "err", err)
		case !ok:
			l.cancel(errLeaseLost)
			return
		default:
			deadline = sent.Add(l.cfg.Lease - margin)
			expire.Reset(time.Until(deadline))
		}
	}
}

// release stops renewing and lets the request go, for the next run.
func (l *lease) release() {
	close(l.done)
	<-l.kept
	l.cancel(nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.cfg.Requests.ReleaseExecution(ctx, l.id, l.holder); err != nil {
		// The lease runs out by itself and the request is taken over.
		l.cfg.Logger.Warn("release an execution", "request", l.id, "err", err)
	}
}

// resumeLapsed takes over every request whose run died, and enqueues its
// execution again.
func (j *Jobs) resumeLapsed(ctx context.Context) {
	lapsed, err := j.cfg.Store.LapsedExecutions(ctx, executeArgs{}.Kind(), j.cfg.Lease, 100)
	if err != nil {
		if ctx.Err() == nil {
			j.cfg.Logger.Warn("look for interrupted executions", "err", err)
		}
		return
	}
	for _, l := range lapsed {
		r, err := j.cfg.Requests.Resume(background(ctx, "resume"), l)
		switch {
		case apperr.KindOf(err) == apperr.Conflict:
			continue // taken over by another replica, or finished meanwhile
		case err != nil:
			j.cfg.Logger.Warn("resume an interrupted execution", "request", l.RequestID, "err", err)
			continue
		}
		j.cfg.Logger.Warn("resumed an interrupted execution", "request", r.ID, "interrupted_run", l.Holder, "job", l.Job,
			"resumes", r.Resumes)
	}
}

// resumeLoop runs resumeLapsed at once and every ResumeEvery until ctx ends.
func (j *Jobs) resumeLoop(ctx context.Context) {
	t := time.NewTicker(j.cfg.ResumeEvery)
	defer t.Stop()
	for {
		j.resumeLapsed(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
