package requests_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"drportal/internal/apperr"
	"drportal/internal/audit"
	"drportal/internal/db"
	"drportal/internal/portal"
	"drportal/internal/requests"
)

// addWindow stores a window directly (the admin rules are tested with the
// admin service).
func (f *fixture) addWindow(t *testing.T, op portal.Operation, spec string, rule portal.OutsideRule) {
	t.Helper()
	w, err := portal.ParseWindow(op, spec)
	if err != nil {
		t.Fatal(err)
	}
	err = f.store.InTx(context.Background(), func(tx *db.Tx) error {
		if _, err := tx.InsertWindow(context.Background(), w, f.users["admin"].ID, f.clock()); err != nil {
			return err
		}
		return tx.SetOutsideRule(context.Background(), op, rule, f.users["admin"].ID, f.clock())
	})
	if err != nil {
		t.Fatal(err)
	}
}

// otherDay is a window on the weekday three days after the fixture's
// clock: its time is outside it.
func (f *fixture) otherDay() (string, time.Time) {
	d := f.clock().UTC().AddDate(0, 0, 3)
	open := time.Date(d.Year(), d.Month(), d.Day(), 2, 0, 0, 0, time.UTC)
	return open.Format("Mon") + " 02:00-05:00 UTC", open
}

func (f *fixture) scheduledAt(t *testing.T, id int64) time.Time {
	t.Helper()
	var at time.Time
	err := f.store.Pool().QueryRow(context.Background(),
		`SELECT scheduled_at FROM river_job WHERE kind = 'execute_request' AND (args->>'request_id')::bigint = $1`, id).Scan(&at)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// TestFilingInAFreezeIsRefusedAndChangesNothing: during a freeze a filing
// is refused with the freeze's reason and end, and no request, job or
// audit event is added; once it has ended, filing works again.
func TestFilingInAFreezeIsRefusedAndChangesNothing(t *testing.T) {
	f := newFixture(t)
	now := f.clock()
	end := now.Add(2 * time.Hour)
	err := f.store.InTx(context.Background(), func(tx *db.Tx) error {
		_, err := tx.InsertFreeze(context.Background(), portal.Freeze{Start: now.Add(-time.Hour), End: end, Reason: "year-end close"},
			f.users["admin"].ID, now)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	count := func(q string) int {
		var n int
		if err := f.store.Pool().QueryRow(context.Background(), q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	requests, events, jobs := count(`SELECT count(*) FROM requests`), count(`SELECT count(*) FROM audit_events`), count(`SELECT count(*) FROM river_job`)
	_, err = f.svc.File(f.as("req"), f.users["req"], draftCreate("dr_frozen"))
	if apperr.KindOf(err) != apperr.Conflict {
		t.Fatalf("filing in a freeze: %v", err)
	}
	msg := apperr.Message(err)
	if !strings.Contains(msg, "year-end close") || !strings.Contains(msg, portal.FormatTime(end, nil)) || !strings.Contains(msg, "Nothing was filed") {
		t.Errorf("the refusal does not name the freeze, its end and that nothing was filed: %q", msg)
	}
	if requests != count(`SELECT count(*) FROM requests`) || jobs != count(`SELECT count(*) FROM river_job`) {
		t.Error("the refused filing changed something")
	}
	// Nothing but the refusal itself, on record as a form not filed.
	if n := count(`SELECT count(*) FROM audit_events`) - events; n != 1 {
		t.Fatalf("%d audit events for the refused filing; want its refusal", n)
	}
	var action, detail string
	if err := f.store.Pool().QueryRow(context.Background(), `SELECT action, detail::text FROM audit_events ORDER BY id DESC LIMIT 1`).Scan(&action, &detail); err != nil {
		t.Fatal(err)
	}
	if action != audit.ActionCreateRejected || !strings.Contains(detail, "year-end close") || !strings.Contains(detail, "dr_frozen") {
		t.Errorf("the refusal on record: %s %s", action, detail)
	}
	f.advance(2 * time.Hour) // the end minute: the freeze is over
	if _, err := f.svc.File(f.as("req"), f.users["req"], draftCreate("dr_thawed")); err != nil {
		t.Fatalf("filing after the freeze: %v", err)
	}
}

// TestOutsideItsWindowExtraApprovalNeedsExactlyOneMore: under the
// extra-approval rule, outside its window a request with the policy's
// number of approvals stays pending with no job; one more approves it and
// its job is due at once. Under the wait rule the policy's number approves
// it and its job is scheduled at the window's opening.
func TestOutsideItsWindowExtraApprovalNeedsExactlyOneMore(t *testing.T) {
	f := newFixture(t)
	spec, open := f.otherDay()
	f.addWindow(t, portal.OpCreate, spec, portal.OutsideExtraApproval)
	r := f.file(t, "req", "dr_extra")
	if r.RequiredApprovals != 1 {
		t.Fatalf("required %d", r.RequiredApprovals)
	}
	got, err := f.decide("a1", r, portal.Approve, "")
	if err != nil || got.Status != portal.StatusPending || f.jobsFor(t, r.ID) != 0 {
		t.Fatalf("with the policy's 1 approval outside the window: %v, %s, %d jobs", err, got.Status, f.jobsFor(t, r.ID))
	}
	got, err = f.decide("a2", r, portal.Approve, "")
	if err != nil || got.Status != portal.StatusApproved || f.jobsFor(t, r.ID) != 1 {
		t.Fatalf("with one more: %v, %s, %d jobs", err, got.Status, f.jobsFor(t, r.ID))
	}
	if at := f.scheduledAt(t, r.ID); at.After(time.Now().Add(time.Minute)) {
		t.Errorf("the extra approval's job is scheduled at %s, not at once", at)
	}
	// Right before the call, the same count lets it through.
	if g, held, err := f.svc.HeldBack(context.Background(), got, f.clock()); err != nil || held || g.Open() {
		t.Errorf("the executor's check of 2 approvals outside the window: held %v, open %v, %v", held, g.Open(), err)
	}

	// Under the wait rule, 1 approval approves it, and it waits for the window.
	err = f.store.InTx(context.Background(), func(tx *db.Tx) error {
		return tx.SetOutsideRule(context.Background(), portal.OpCreate, portal.OutsideWait, f.users["admin"].ID, f.clock())
	})
	if err != nil {
		t.Fatal(err)
	}
	w := f.file(t, "req", "dr_wait")
	got, err = f.decide("a1", w, portal.Approve, "")
	if err != nil || got.Status != portal.StatusApproved || f.jobsFor(t, w.ID) != 1 {
		t.Fatalf("under wait: %v, %s", err, got.Status)
	}
	if at := f.scheduledAt(t, w.ID); !at.Equal(open) {
		t.Errorf("the waiting request's job is scheduled at %s, want the opening %s", at, open)
	}
	if _, held, _ := f.svc.HeldBack(context.Background(), got, f.clock()); !held {
		t.Error("the executor's check lets a waiting request through outside its window")
	}
}

// TestTheWindowsOpeningApprovesWhatThePolicysNumberApproved: a request
// left pending outside its window with the policy's number of approvals
// (extra-approval rule) is approved by the sweep once the window is open,
// and not before.
func TestTheWindowsOpeningApprovesWhatThePolicysNumberApproved(t *testing.T) {
	f := newFixture(t)
	spec, open := f.otherDay()
	f.addWindow(t, portal.OpCreate, spec, portal.OutsideExtraApproval)
	r := f.file(t, "req", "dr_opening")
	if _, err := f.decide("a1", r, portal.Approve, ""); err != nil {
		t.Fatal(err)
	}
	untouched := f.file(t, "req", "dr_undecided")
	if n, err := f.svc.ApproveInWindow(context.Background()); err != nil || n != 0 {
		t.Fatalf("before the opening: %d approved, %v", n, err)
	}
	f.advance(open.Sub(f.clock()))
	if n, err := f.svc.ApproveInWindow(context.Background()); err != nil || n != 1 {
		t.Fatalf("at the opening: %d approved, %v", n, err)
	}
	got, _ := f.store.Request(context.Background(), r.ID)
	if got.Status != portal.StatusApproved || f.jobsFor(t, r.ID) != 1 {
		t.Errorf("request %s with %d jobs", got.Status, f.jobsFor(t, r.ID))
	}
	if u, _ := f.store.Request(context.Background(), untouched.ID); u.Status != portal.StatusPending {
		t.Errorf("a request nobody approved is %s", u.Status)
	}
}

func draftCreate(name string) requests.Draft {
	return requests.Draft{Operation: portal.OpCreate, TaskName: name, Method: "POST", Path: "/v2/p/disaster-recoveries",
		Payload: []byte(`{"disaster_recovery":{"name":"` + name + `"}}` + "\n"), Justification: "quarterly DR drill"}
}
