package audit

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"
)

// gatedWriter records the batches it is given; the first one waits for
// the gate, so that a test can queue appends behind it.
type gatedWriter struct {
	mu      sync.Mutex
	batches []int
	nextID  int64
	entered chan struct{}
	gate    chan struct{}
}

func newGatedWriter() *gatedWriter {
	return &gatedWriter{entered: make(chan struct{}), gate: make(chan struct{})}
}

func (g *gatedWriter) AppendAudits(ctx context.Context, events []Event) ([]Event, error) {
	g.mu.Lock()
	first := len(g.batches) == 0
	g.batches = append(g.batches, len(events))
	g.mu.Unlock()
	if first {
		close(g.entered)
		<-g.gate
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for i := range events {
		g.nextID++
		events[i].ID = g.nextID
	}
	return events, nil
}

func (g *gatedWriter) written() []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]int(nil), g.batches...)
}

func testEvent(i int) Event {
	return Event{OccurredAt: time.Now(), Actor: System, Action: fmt.Sprintf("test.%d", i), Outcome: Info}
}

// queueBehindFirst starts an appender on w, blocks its first batch in the
// writer and queues n more appends behind it. It returns their results.
func queueBehindFirst(t *testing.T, a *Appender, w *gatedWriter, n int) chan error {
	t.Helper()
	results := make(chan error, n+1)
	go func() {
		_, err := a.Append(context.Background(), testEvent(0))
		results <- err
	}()
	<-w.entered
	for i := 1; i <= n; i++ {
		go func() {
			_, err := a.Append(context.Background(), testEvent(i))
			results <- err
		}()
	}
	for len(a.queue) < n {
		runtime.Gosched()
	}
	return results
}

func TestAppenderSharesOneCommitAmongWaitingAppends(t *testing.T) {
	w := newGatedWriter()
	a := NewAppender(w)
	a.Start(t.Context())
	defer a.Close()
	results := queueBehindFirst(t, a, w, 10)
	close(w.gate)
	for i := 0; i < 11; i++ {
		if err := <-results; err != nil {
			t.Fatal(err)
		}
	}
	if got := fmt.Sprint(w.written()); got != "[1 10]" {
		t.Errorf("batches %s, want [1 10]: the ten waiting appends share one commit", got)
	}
}

func TestAppenderLifecycle(t *testing.T) {
	w := newGatedWriter()
	a := NewAppender(w)
	if _, err := a.Append(t.Context(), testEvent(1)); !errors.Is(err, ErrNotStarted) {
		t.Errorf("append before start: %v", err)
	}
	if _, err := a.Append(t.Context(), Event{Actor: System, Action: "test.bad", Outcome: "maybe"}); err == nil {
		t.Error("an event with an unknown outcome was taken")
	}
	if got := w.written(); len(got) != 0 {
		t.Fatalf("written before start: %v", got)
	}

	// Close writes what is queued before it returns.
	a.Start(t.Context())
	results := queueBehindFirst(t, a, w, 5)
	closed := make(chan struct{})
	go func() {
		a.Close()
		close(closed)
	}()
	close(w.gate)
	<-closed
	if got := fmt.Sprint(w.written()); got != "[1 5]" {
		t.Errorf("batches %s when Close returned, want [1 5]", got)
	}
	for i := 0; i < 6; i++ {
		if err := <-results; err != nil {
			t.Fatal(err)
		}
	}

	// A late writer is still recorded, on its own.
	e, err := a.Append(t.Context(), testEvent(7))
	if err != nil || e.ID != 7 {
		t.Errorf("append after close: %+v %v", e, err)
	}
	if got := fmt.Sprint(w.written()); got != "[1 5 1]" {
		t.Errorf("batches %s, want [1 5 1]", got)
	}
	a.Close() // a second Close is harmless
}
