package portal

import (
	"os"
	"regexp"
	"slices"
	"testing"
)

// TestTheDiagramIsTheTable keeps docs/request-lifecycle.md in step with
// Transitions: every arrow between two statuses is a transition, and every
// transition is drawn.
func TestTheDiagramIsTheTable(t *testing.T) {
	doc, err := os.ReadFile("../../docs/request-lifecycle.md")
	if err != nil {
		t.Fatal(err)
	}
	arrow := regexp.MustCompile(`(?m)^\s+([a-z]+) --> ([a-z]+):`)
	drawn := map[RequestStatus][]RequestStatus{}
	n := 0
	for _, m := range arrow.FindAllStringSubmatch(string(doc), -1) {
		from, to := RequestStatus(m[1]), RequestStatus(m[2])
		if !from.Valid() || !to.Valid() {
			t.Errorf("the diagram draws an unknown status: %s --> %s", from, to)
		}
		drawn[from] = append(drawn[from], to)
		n++
	}
	if n == 0 {
		t.Fatal("no transitions found in the diagram")
	}
	for _, from := range RequestStatuses {
		want, got := slices.Clone(Transitions[from]), drawn[from]
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(want, got) {
			t.Errorf("from %s: the table allows %v, the diagram draws %v", from, want, got)
		}
	}
}

func TestFinalStatusesCannotMove(t *testing.T) {
	for _, s := range []RequestStatus{StatusSucceeded, StatusFailed, StatusRejected, StatusCancelled, StatusExpired} {
		if !s.Final() {
			t.Errorf("%s can still move", s)
		}
	}
	if StatusPending.Final() || !CanMove(StatusApproved, StatusExecuting) || CanMove(StatusPending, StatusExecuting) {
		t.Error("the table lost a rule")
	}
}

func TestQuorum(t *testing.T) {
	payload := []byte(`{"x":1}`)
	r := Request{Payload: payload, PayloadSHA256: PayloadHash(payload), PolicyVersion: 2}
	ok := func(id int64) Approval {
		return Approval{ApproverID: id, Decision: Approve, PayloadSHA256: r.PayloadSHA256, PolicyVersion: 2, ApproverNow: true, ApproverWhenFiled: true}
	}
	n, err := Quorum(r, []Approval{ok(1), ok(2), {ApproverID: 3, Decision: Reject, PolicyVersion: 2},
		{ApproverID: 4, Decision: Approve, PayloadSHA256: r.PayloadSHA256, PolicyVersion: 1}})
	if err != nil || n != 2 {
		t.Errorf("quorum = %d, %v; want 2 (a reject and an old policy's approval do not count)", n, err)
	}
	gone := ok(6)
	gone.ApproverNow = false // deactivated, or no longer an approver
	if n, err := Quorum(r, []Approval{ok(1), gone}); err != nil || n != 1 {
		t.Errorf("quorum with an approver who is no longer one = %d, %v; want 1", n, err)
	}
	late := ok(7)
	late.ApproverWhenFiled = false // made an approver after the request was filed
	if n, err := Quorum(r, []Approval{ok(1), late}); err != nil || n != 1 {
		t.Errorf("quorum with an approver made after filing = %d, %v; want 1", n, err)
	}
	tampered := ok(5)
	tampered.PayloadSHA256 = PayloadHash([]byte("other"))
	if _, err := Quorum(r, []Approval{ok(1), tampered}); err == nil {
		t.Error("an approval of another payload was counted")
	}
	changed := r
	changed.Payload = []byte(`{"x":2}`)
	if _, err := Quorum(changed, []Approval{ok(1)}); err == nil {
		t.Error("a payload changed after filing was accepted")
	}
}

func TestStoredTaskAndProgressRoundTrip(t *testing.T) {
	task := Task{ID: "t", Name: "dr", Status: TaskRunning, Primary: TaskSide{ID: "p", AZ: "az1"}, Raw: []byte(`{"x":1}`)}
	b, err := EncodeTask(task)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeTask(b)
	task.Raw = nil // the answer as read is stored apart
	if err != nil || got.ID != task.ID || got.Status != task.Status || got.Primary != task.Primary || got.Raw != nil {
		t.Errorf("task round trip: %+v %v", got, err)
	}
	p := Progress{RPOSeconds: 42, PrimaryAction: "Backup"}
	b, _ = EncodeProgress(p)
	if got, err := DecodeProgress(b); err != nil || got != p {
		t.Errorf("progress round trip: %+v %v", got, err)
	}
	if _, err := DecodeTask([]byte(`{"version":2,"task":{}}`)); err == nil {
		t.Error("a stored task of another version was read")
	}
	if _, err := DecodeTask(b); err == nil {
		t.Error("stored progress was read as a task")
	}
}
