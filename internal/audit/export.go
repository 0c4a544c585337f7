package audit

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Record is an event as exported: every field the hash covers, in the
// exact form it was hashed (the detail as its stored text, the time with
// microseconds), plus the chain position and hashes, so that a file can be
// checked offline.
type Record struct {
	ID            int64  `json:"id"`
	OccurredAt    string `json:"occurred_at"`
	ActorID       int64  `json:"actor_id"`
	ActorName     string `json:"actor_name"`
	Action        string `json:"action"`
	SubjectType   string `json:"subject_type"`
	SubjectID     string `json:"subject_id"`
	RequestID     int64  `json:"request_id"`
	CorrelationID string `json:"correlation_id"`
	Outcome       string `json:"outcome"`
	Detail        string `json:"detail"`
	PrevHash      string `json:"prev_hash"`
	Hash          string `json:"hash"`
}

// RecordOf exports an event.
func RecordOf(e Event) Record {
	return Record{ID: e.ID, OccurredAt: e.OccurredAt.UTC().Format(timeLayout), ActorID: e.Actor.ID, ActorName: e.Actor.Name,
		Action: e.Action, SubjectType: e.SubjectType, SubjectID: e.SubjectID, RequestID: e.RequestID,
		CorrelationID: e.CorrelationID, Outcome: string(e.Outcome), Detail: string(e.Detail),
		PrevHash: hex.EncodeToString(e.PrevHash), Hash: hex.EncodeToString(e.Hash)}
}

// Event reads an exported record back.
func (r Record) Event() (Event, error) {
	t, err := time.Parse(timeLayout, r.OccurredAt)
	if err != nil {
		return Event{}, fmt.Errorf("event %d: occurred_at %q: %w", r.ID, r.OccurredAt, err)
	}
	prev, err1 := hex.DecodeString(r.PrevHash)
	hash, err2 := hex.DecodeString(r.Hash)
	if err := errors.Join(err1, err2); err != nil || len(prev) != 32 || len(hash) != 32 {
		return Event{}, fmt.Errorf("event %d: hashes must be 64 hex characters", r.ID)
	}
	return Event{ID: r.ID, OccurredAt: t, Actor: Actor{ID: r.ActorID, Name: r.ActorName}, Action: r.Action,
		SubjectType: r.SubjectType, SubjectID: r.SubjectID, RequestID: r.RequestID, CorrelationID: r.CorrelationID,
		Outcome: Outcome(r.Outcome), Detail: []byte(r.Detail), PrevHash: prev, Hash: hash}, nil
}

// Manifest closes an export: what range it covers and how it chains, so a
// truncated or spliced file is detected.
type Manifest struct {
	Format        string            `json:"format"`
	Count         int64             `json:"count"`
	FirstID       int64             `json:"first_id"`
	LastID        int64             `json:"last_id"`
	FirstPrevHash string            `json:"first_prev_hash"`
	LastHash      string            `json:"last_hash"`
	Contiguous    bool              `json:"contiguous"` // every event between first and last is in the file
	Filter        map[string]string `json:"filter,omitempty"`
	ExportedAt    string            `json:"exported_at"`
}

// Exporter writes events in one format and ends with the manifest.
type Exporter struct {
	w        *bufio.Writer
	csv      *csv.Writer
	format   string
	manifest Manifest
	lastID   int64
}

// Formats an export can have.
const (
	FormatNDJSON = "ndjson"
	FormatCSV    = "csv"
)

// csvHeader names the CSV columns, in Record's order.
var csvHeader = []string{"id", "occurred_at", "actor_id", "actor_name", "action", "subject_type", "subject_id",
	"request_id", "correlation_id", "outcome", "detail", "prev_hash", "hash"}

// csvManifestMark starts the CSV row holding the manifest.
const csvManifestMark = "#manifest"

// NewExporter starts an export to w in format (ndjson or csv).
func NewExporter(w io.Writer, format string, filter map[string]string, now time.Time) (*Exporter, error) {
	x := &Exporter{w: bufio.NewWriterSize(w, 64<<10), format: format,
		manifest: Manifest{Format: format, Filter: filter, ExportedAt: now.UTC().Format(time.RFC3339), Contiguous: true}}
	switch format {
	case FormatNDJSON:
	case FormatCSV:
		x.csv = csv.NewWriter(x.w)
		if err := x.csv.Write(csvHeader); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unknown export format %q: use ndjson or csv", format)
	}
	return x, nil
}

// Write adds one event.
func (x *Exporter) Write(e Event) error {
	r := RecordOf(e)
	m := &x.manifest
	if m.Count == 0 {
		m.FirstID, m.FirstPrevHash = r.ID, r.PrevHash
	} else if r.ID != x.lastID+1 {
		m.Contiguous = false
	}
	m.Count++
	m.LastID, m.LastHash = r.ID, r.Hash
	x.lastID = r.ID
	if x.csv != nil {
		return x.csv.Write(csvRow(r))
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	x.w.Write(b)
	return x.w.WriteByte('\n')
}

// Close writes the manifest and flushes.
func (x *Exporter) Close() error {
	b, err := json.Marshal(map[string]Manifest{"manifest": x.manifest})
	if err != nil {
		return err
	}
	if x.csv != nil {
		m, _ := json.Marshal(x.manifest)
		if err := x.csv.Write([]string{csvManifestMark, string(m)}); err != nil {
			return err
		}
		x.csv.Flush()
		if err := x.csv.Error(); err != nil {
			return err
		}
	} else {
		x.w.Write(b)
		x.w.WriteByte('\n')
	}
	return x.w.Flush()
}

// Manifest returns the manifest so far.
func (x *Exporter) Manifest() Manifest { return x.manifest }

func csvRow(r Record) []string {
	return []string{strconv.FormatInt(r.ID, 10), r.OccurredAt, strconv.FormatInt(r.ActorID, 10), cell(r.ActorName),
		cell(r.Action), cell(r.SubjectType), cell(r.SubjectID), strconv.FormatInt(r.RequestID, 10), cell(r.CorrelationID),
		cell(r.Outcome), cell(r.Detail), r.PrevHash, r.Hash}
}

// cell defuses spreadsheet formulas: a value a spreadsheet would run
// (starting with = + - @, a tab or a carriage return) gets a leading
// apostrophe, and so does one already starting with an apostrophe. A value
// holding a carriage return (which CSV readers drop before a newline) is
// written as an apostrophe and a quoted Go string literal instead. uncell
// restores every value exactly, so exported hashes still verify.
func cell(s string) string {
	switch {
	case strings.ContainsRune(s, '\r'):
		return "'" + strconv.Quote(s)
	case s != "" && strings.ContainsRune("=+-@\t'", rune(s[0])):
		return "'" + s
	}
	return s
}

func uncell(s string) string {
	switch {
	case strings.HasPrefix(s, `'"`):
		if v, err := strconv.Unquote(s[1:]); err == nil {
			return v
		}
		return s[1:]
	case strings.HasPrefix(s, "'"):
		return s[1:]
	}
	return s
}

// FileReport is the result of checking an exported file.
type FileReport struct {
	Format   string
	Events   int64
	Manifest Manifest
	// Problem names the first thing wrong ("" when the file is intact).
	Problem string
}

// VerifyFile checks an exported file offline: every event's hash matches
// its content, consecutive events link to each other, and the manifest
// matches what the file holds. A file without its manifest was cut short.
func VerifyFile(r io.Reader) (FileReport, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	first, err := br.Peek(1)
	if err != nil {
		return FileReport{}, fmt.Errorf("empty file")
	}
	var rep FileReport
	var prev, firstEv *Event
	gaps := false
	var manifest *Manifest
	check := func(rec Record) bool {
		e, err := rec.Event()
		if err != nil {
			rep.Problem = err.Error()
			return false
		}
		if !bytes.Equal(ChainHash(e.PrevHash, e), e.Hash) {
			rep.Problem = fmt.Sprintf("event %d does not match its hash: its content was changed", e.ID)
			return false
		}
		if prev != nil && e.ID != prev.ID+1 {
			gaps = true
		}
		if firstEv == nil {
			firstEv = &e
		}
		if prev != nil {
			switch {
			case e.ID <= prev.ID:
				rep.Problem = fmt.Sprintf("event %d comes after event %d: the file is out of order", e.ID, prev.ID)
				return false
			case e.ID == prev.ID+1 && !bytes.Equal(e.PrevHash, prev.Hash):
				rep.Problem = fmt.Sprintf("event %d does not link to event %d: the chain is broken there", e.ID, prev.ID)
				return false
			}
		}
		prev = &e
		rep.Events++
		return true
	}
	if first[0] == '{' {
		rep.Format = FormatNDJSON
		dec := json.NewDecoder(br)
		for {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err == io.EOF {
				break
			} else if err != nil {
				return rep, fmt.Errorf("line %d: %w", rep.Events+1, err)
			}
			if manifest != nil {
				rep.Problem = "there are events after the manifest"
				return rep, nil
			}
			var m struct {
				Manifest *Manifest `json:"manifest"`
			}
			if json.Unmarshal(raw, &m) == nil && m.Manifest != nil {
				manifest = m.Manifest
				continue
			}
			var rec Record
			if err := json.Unmarshal(raw, &rec); err != nil {
				return rep, fmt.Errorf("line %d: %w", rep.Events+1, err)
			}
			if !check(rec) {
				return rep, nil
			}
		}
	} else {
		rep.Format = FormatCSV
		cr := csv.NewReader(br)
		cr.FieldsPerRecord = -1
		header, err := cr.Read()
		if err != nil || strings.Join(header, ",") != strings.Join(csvHeader, ",") {
			return rep, fmt.Errorf("not an audit export: unexpected header")
		}
		for {
			row, err := cr.Read()
			if err == io.EOF {
				break
			} else if err != nil {
				return rep, err
			}
			if manifest != nil {
				rep.Problem = "there are events after the manifest"
				return rep, nil
			}
			if len(row) == 2 && row[0] == csvManifestMark {
				manifest = &Manifest{}
				if err := json.Unmarshal([]byte(row[1]), manifest); err != nil {
					return rep, fmt.Errorf("manifest: %w", err)
				}
				continue
			}
			if len(row) != len(csvHeader) {
				return rep, fmt.Errorf("event row with %d columns", len(row))
			}
			num := func(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }
			rec := Record{ID: num(row[0]), OccurredAt: row[1], ActorID: num(row[2]), ActorName: uncell(row[3]),
				Action: uncell(row[4]), SubjectType: uncell(row[5]), SubjectID: uncell(row[6]), RequestID: num(row[7]),
				CorrelationID: uncell(row[8]), Outcome: uncell(row[9]), Detail: uncell(row[10]), PrevHash: row[11], Hash: row[12]}
			if !check(rec) {
				return rep, nil
			}
		}
	}
	if manifest == nil {
		rep.Problem = "the manifest is missing: the file was cut short"
		return rep, nil
	}
	rep.Manifest = *manifest
	switch {
	case manifest.Count != rep.Events:
		rep.Problem = fmt.Sprintf("the manifest counts %d events, the file holds %d", manifest.Count, rep.Events)
	case rep.Events > 0 && (prev.ID != manifest.LastID || hex.EncodeToString(prev.Hash) != manifest.LastHash):
		rep.Problem = "the last event is not the one the manifest names"
	case rep.Events > 0 && (firstEv.ID != manifest.FirstID || hex.EncodeToString(firstEv.PrevHash) != manifest.FirstPrevHash):
		rep.Problem = "the first event is not the one the manifest names"
	case manifest.Contiguous && gaps:
		rep.Problem = "events are missing from a range the manifest says is complete"
	}
	return rep, nil
}
