package db_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"drportal/internal/audit"
	"drportal/internal/db"
	"drportal/internal/testdb"
)

func allEvents(t *testing.T, store *db.Store) []audit.Event {
	t.Helper()
	var out []audit.Event
	if err := store.StreamAudit(context.Background(), db.AuditFilter{}, func(e audit.Event) error {
		out = append(out, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func deniedRows(t *testing.T, store *db.Store) int64 {
	t.Helper()
	var n int64
	if err := store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM denied_actions`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDenialsAreCountedPerMinuteAndSummarisedOnce: the first denial of a
// kind (actor, method, route, reason) in a minute is audited at once, the
// rest of that minute only counted, even when they arrive together; the
// first of a later minute first appends the closed minute's summary; a
// flush closes the rest, summarising only what was counted more than once;
// the counting table ends empty and the chain verifies. Oversized fields
// are cut to their bounds.
func TestDenialsAreCountedPerMinuteAndSummarisedOnce(t *testing.T) {
	ctx := context.Background()
	store := newStore(t, testdb.New(t))
	t0 := time.Date(2026, 3, 2, 10, 0, 10, 0, time.UTC)
	kind := audit.Denial{At: t0, Actor: audit.Actor{ID: 42, Name: "appr@example.com"}, IP: "10.0.0.1", Method: "POST",
		Route: "/requests/:id/decide", ID: "7", Reason: audit.ReasonSelfApproval, CorrelationID: "first"}

	// One, then 49 more at once in the same minute: one event, a count of 50.
	if err := store.RecordDenial(ctx, kind); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 49)
	for i := range 49 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := kind
			d.At, d.CorrelationID = t0.Add(time.Duration(i+1)*time.Second/2), "later"
			errs <- store.RecordDenial(ctx, d)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// Other kinds are counted apart: another route, someone not signed in
	// (by address).
	other := kind
	other.Route, other.ID = "/requests/:id/cancel", "8"
	anon := audit.Denial{At: t0, Actor: audit.Anonymous, IP: "10.0.0.9", Method: "POST", Route: "/signin",
		Reason: audit.ReasonCSRFMissing}
	anon2 := anon
	anon2.IP = "10.0.0.8"
	for _, d := range []audit.Denial{other, anon, anon, anon2} {
		if err := store.RecordDenial(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	evs := allEvents(t, store)
	if len(evs) != 4 {
		t.Fatalf("%d events after 54 denials of 4 kinds, want 4", len(evs))
	}
	if rows := deniedRows(t, store); rows != 4 {
		t.Errorf("%d rows, want 4", rows)
	}

	// The first of the next minute closes its kind's last minute first.
	next := kind
	next.At, next.CorrelationID = t0.Add(70*time.Second), "next"
	if err := store.RecordDenial(ctx, next); err != nil {
		t.Fatal(err)
	}
	evs = allEvents(t, store)
	if len(evs) != 6 {
		t.Fatalf("%d events, want 6", len(evs))
	}
	summary, fresh := evs[4], evs[5]
	var d map[string]any
	if err := json.Unmarshal(summary.Detail, &d); err != nil {
		t.Fatal(err)
	}
	if summary.Action != audit.ActionAccessDeniedRepeated || summary.Actor != kind.Actor || summary.CorrelationID != "first" ||
		d["count"] != float64(50) || d["repeats"] != float64(49) || d["minute"] != "2026-03-02T10:00:00Z" || d["id"] != nil {
		t.Errorf("summary: %+v %s", summary, summary.Detail)
	}
	if fresh.Action != audit.ActionAccessDenied || fresh.CorrelationID != "next" {
		t.Errorf("after the summary: %s %q", fresh.Action, fresh.CorrelationID)
	}

	// The flush closes the rest; a kind seen once has no summary.
	n, err := store.FlushDenials(ctx, t0.Add(3*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	evs = allEvents(t, store)
	if n != 1 || len(evs) != 7 || evs[6].Action != audit.ActionAccessDeniedRepeated || !strings.Contains(string(evs[6].Detail), `"ip":"10.0.0.9"`) {
		t.Errorf("flush: %d summaries, %d events, last %s %s", n, len(evs), evs[len(evs)-1].Action, evs[len(evs)-1].Detail)
	}
	if rows := deniedRows(t, store); rows != 0 {
		t.Errorf("%d rows after the flush, want 0", rows)
	}

	// Whatever a client sends, the record stays small.
	huge := audit.Denial{At: t0.Add(4 * time.Minute), Actor: audit.Anonymous, IP: strings.Repeat("9", 500), Method: "POST",
		Route: strings.Repeat("/é", 400), ID: strings.Repeat("x", 500), Reason: audit.ReasonCSRFInvalid}
	if err := store.RecordDenial(ctx, huge); err != nil {
		t.Fatal(err)
	}
	evs = allEvents(t, store)
	last := evs[len(evs)-1]
	if len(last.Detail) > 600 || last.Action != audit.ActionAccessDenied {
		t.Errorf("an oversized denial: %d bytes of detail: %s", len(last.Detail), last.Detail)
	}

	rep, err := audit.VerifyChain(ctx, store, 0, 0)
	if err != nil || rep.BrokenAt != 0 || rep.Checked != int64(len(evs)) {
		t.Errorf("chain: %+v %v", rep, err)
	}
}
