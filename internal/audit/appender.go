package audit

import (
	"context"
	"errors"
	"sync"
	"time"
)

// BatchWriter appends several events in one transaction, holding the
// chain lock once for all of them. *db.Store is one.
type BatchWriter interface {
	AppendAudits(ctx context.Context, events []Event) ([]Event, error)
}

// maxBatch bounds one group commit.
const maxBatch = 256

// batchTimeout bounds one group commit's transaction.
const batchTimeout = 30 * time.Second

// ErrNotStarted is returned by Append before Start.
var ErrNotStarted = errors.New("append audit event: the appender is not started")

// Appender is the group commit for events written in a transaction of
// their own (a failed sign-in, a cloud call, a job's step). Concurrent
// appends share transactions: the chain lock is taken once and one commit
// makes a whole batch durable, so appends keep pace on a slow disk. Its
// owner starts it, and closes it once everything that appends has stopped.
type Appender struct {
	store BatchWriter
	queue chan appendReq
	done  chan struct{} // closed when the loop has ended

	mu    sync.RWMutex // held for reading while sending on queue
	state appenderState
}

type appenderState int

const (
	appenderNew appenderState = iota
	appenderRunning
	appenderClosed
)

type appendReq struct {
	event Event
	done  chan appendRes
}

type appendRes struct {
	event Event
	err   error
}

// NewAppender returns an appender that writes through store. It does
// nothing until started.
func NewAppender(store BatchWriter) *Appender {
	return &Appender{store: store, queue: make(chan appendReq, maxBatch), done: make(chan struct{})}
}

// Start runs the group commit until Close. Batches are written with ctx's
// values but not its cancellation: events appended while the program shuts
// down are still written. Starting twice, or after Close, does nothing.
func (a *Appender) Start(ctx context.Context) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.state != appenderNew {
		return
	}
	a.state = appenderRunning
	go a.loop(context.WithoutCancel(ctx))
}

// Close stops the group commit: it writes what is queued and returns once
// that is done. Appends after Close are written one by one, so a writer
// that outlives its owner's shutdown loses nothing.
func (a *Appender) Close() {
	a.mu.Lock()
	running := a.state == appenderRunning
	if running {
		close(a.queue)
	}
	a.state = appenderClosed
	a.mu.Unlock()
	if running {
		<-a.done
	}
}

// Append appends e and returns it as chained, once it is committed.
func (a *Appender) Append(ctx context.Context, e Event) (Event, error) {
	e.Normalize()
	// Refused before it joins a batch whose other events it would fail.
	if err := e.Validate(); err != nil {
		return e, err
	}
	a.mu.RLock()
	switch a.state {
	case appenderNew:
		a.mu.RUnlock()
		return e, ErrNotStarted
	case appenderClosed:
		a.mu.RUnlock()
		out, err := a.store.AppendAudits(ctx, []Event{e})
		if err != nil {
			return e, err
		}
		return out[0], nil
	}
	req := appendReq{event: e, done: make(chan appendRes, 1)}
	// A full queue waits for the loop, which never takes the lock; Close
	// waits for this send before it closes the queue.
	select {
	case a.queue <- req:
		a.mu.RUnlock()
	case <-ctx.Done():
		a.mu.RUnlock()
		return e, ctx.Err()
	}
	select {
	case res := <-req.done:
		return res.event, res.err
	case <-ctx.Done():
		// The event may still be written; the caller stopped waiting.
		return e, ctx.Err()
	}
}

// loop writes queued events in batches until the queue is closed and
// drained.
func (a *Appender) loop(ctx context.Context) {
	defer close(a.done)
	for first := range a.queue {
		batch := []appendReq{first}
	drain:
		for len(batch) < maxBatch {
			select {
			case r, ok := <-a.queue:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		a.write(ctx, batch)
	}
}

func (a *Appender) write(ctx context.Context, batch []appendReq) {
	events := make([]Event, len(batch))
	for i, r := range batch {
		events[i] = r.event
	}
	ctx, cancel := context.WithTimeout(ctx, batchTimeout)
	defer cancel()
	out, err := a.store.AppendAudits(ctx, events)
	for i, r := range batch {
		if err != nil {
			r.done <- appendRes{event: r.event, err: err}
			continue
		}
		r.done <- appendRes{event: out[i]}
	}
}
