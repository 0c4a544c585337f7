package audit

import (
	"bytes"
	"fmt"
	"iter"
)

// Link is a position in the chain: an event's id and hash (or a
// checkpoint's, or the genesis). The event after it has the next id and
// carries that hash as its previous hash.
type Link struct {
	ID   int64
	Hash []byte
}

// Genesis is the link before the first event.
var Genesis = Link{ID: 0, Hash: GenesisHash}

// Expect says where a verified sequence must start and whether it may
// skip events.
type Expect struct {
	// After is the link the first event must follow. Nil takes the first
	// event's own link as given (an export's first event is checked
	// against its manifest instead).
	After *Link
	// Gaps allows ids to be skipped, as in a filtered export; links are
	// then checked only between events with consecutive ids.
	Gaps bool
}

// Report is what a verification found.
type Report struct {
	// Checked counts the events read, the broken one included.
	Checked int64
	// FirstID and FirstPrevHash are those of the first event read.
	FirstID       int64
	FirstPrevHash []byte
	// LastID and LastHash are those of the last event that verified.
	LastID   int64
	LastHash []byte
	// Gaps: ids were skipped between verified events.
	Gaps bool
	// BrokenAt is the first event that does not verify (0 when intact) and
	// Problem says what is wrong there.
	BrokenAt int64
	Problem  string
}

// Verify reads events in chain order and checks that each matches its
// hash, that ids only grow (and, unless want.Gaps, grow by one) and that
// consecutive events link to each other. It stops at the first event that
// does not, and names it; it keeps only the last event in memory, so it
// verifies any number of events. It is the one chain check: the stored
// history and exported files are both verified with it. An error from
// events ends the check and is returned as it is.
func Verify(events iter.Seq2[Event, error], want Expect) (Report, error) {
	var rep Report
	var prev Link
	have := want.After != nil
	if have {
		prev = *want.After
	}
	for e, err := range events {
		if err != nil {
			return rep, err
		}
		if rep.Checked == 0 {
			rep.FirstID, rep.FirstPrevHash = e.ID, e.PrevHash
		}
		rep.Checked++
		broken, problem := e.ID, ""
		switch {
		case have && e.ID <= prev.ID:
			problem = fmt.Sprintf("event %d comes after event %d: the events are out of order", e.ID, prev.ID)
		case have && !want.Gaps && e.ID != prev.ID+1:
			broken, problem = prev.ID+1, fmt.Sprintf("event %d is missing (the next stored event is %d)", prev.ID+1, e.ID)
		case !bytes.Equal(ChainHash(e.PrevHash, e), e.Hash):
			problem = fmt.Sprintf("event %d does not match its hash: its content was changed", e.ID)
		case have && e.ID == prev.ID+1 && !bytes.Equal(e.PrevHash, prev.Hash):
			problem = fmt.Sprintf("event %d does not link to event %d: the chain is broken there", e.ID, prev.ID)
		}
		if problem != "" {
			rep.BrokenAt, rep.Problem = broken, problem
			return rep, nil
		}
		if have && e.ID != prev.ID+1 {
			rep.Gaps = true
		}
		prev, have = Link{ID: e.ID, Hash: e.Hash}, true
		rep.LastID, rep.LastHash = e.ID, e.Hash
	}
	return rep, nil
}
