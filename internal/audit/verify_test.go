package audit

import (
	"errors"
	"iter"
	"slices"
	"strings"
	"testing"
)

func seqOf(events []Event) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		for _, e := range events {
			if !yield(e, nil) {
				return
			}
		}
	}
}

func TestVerifyFromALink(t *testing.T) {
	events := chain(10)
	forged := slices.Clone(events)
	forged[4].Detail = []byte(`{"n":"forged"}`)
	forged[4].Hash = ChainHash(forged[4].PrevHash, forged[4])
	after3 := Link{ID: 3, Hash: events[2].Hash}
	cases := []struct {
		name    string
		events  []Event
		want    Expect
		broken  int64
		problem string
		checked int64
	}{
		{"intact from the genesis", events, Expect{After: &Genesis}, 0, "", 10},
		{"intact from a link", events[3:], Expect{After: &after3}, 0, "", 7},
		{"a range that does not follow its link", events[4:], Expect{After: &after3}, 4, "event 4 is missing", 1},
		{"deleted event", slices.Delete(slices.Clone(events), 3, 4), Expect{After: &Genesis}, 4, "event 4 is missing", 4},
		{"deleted event in a filtered export", slices.Delete(slices.Clone(events), 3, 4), Expect{Gaps: true}, 0, "", 9},
		{"recomputed own hash", forged, Expect{After: &Genesis}, 6, "does not link to event 5", 6},
		{"first event does not link to the genesis", events[0:], Expect{After: &Link{ID: 0, Hash: events[0].Hash}}, 1, "does not link", 1},
		{"reordered", []Event{events[0], events[2], events[1]}, Expect{Gaps: true}, 2, "out of order", 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Verify(seqOf(tc.events), tc.want)
			if err != nil {
				t.Fatal(err)
			}
			if rep.BrokenAt != tc.broken || !strings.Contains(rep.Problem, tc.problem) || rep.Checked != tc.checked {
				t.Errorf("broken at %d (%s) after %d, want %d (%s) after %d", rep.BrokenAt, rep.Problem, rep.Checked,
					tc.broken, tc.problem, tc.checked)
			}
		})
	}
}

func TestVerifyStopsAtAnError(t *testing.T) {
	events := chain(3)
	errBoom := errors.New("boom")
	boom := func(yield func(Event, error) bool) {
		if yield(events[0], nil) {
			yield(Event{}, errBoom)
		}
	}
	rep, err := Verify(boom, Expect{After: &Genesis})
	if err != errBoom || rep.Checked != 1 || rep.LastID != 1 {
		t.Errorf("%+v %v", rep, err)
	}
}
