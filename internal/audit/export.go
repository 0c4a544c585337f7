package audit

import (
	"bufio"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
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
	return []string{strconv.FormatInt(r.ID, 10), r.OccurredAt, strconv.FormatInt(r.ActorID, 10), Cell(r.ActorName),
		Cell(r.Action), Cell(r.SubjectType), Cell(r.SubjectID), strconv.FormatInt(r.RequestID, 10), Cell(r.CorrelationID),
		Cell(r.Outcome), Cell(r.Detail), r.PrevHash, r.Hash}
}

// Cell defuses spreadsheet formulas: a value a spreadsheet would run
// (starting with = + - @, a tab or a carriage return) gets a leading
// apostrophe, and so does one already starting with an apostrophe. A value
// holding a carriage return (which CSV readers drop before a newline) is
// written as an apostrophe and a quoted Go string literal instead. uncell
// restores every value exactly, so exported hashes still verify.
func Cell(s string) string {
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
// its content, consecutive events link to each other (both checked by
// Verify, as for the stored chain), and the manifest matches what the file
// holds. A file without its manifest was cut short.
func VerifyFile(r io.Reader) (FileReport, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	f, err := openExport(br)
	if err != nil {
		return FileReport{Format: f.format}, err
	}
	rep := FileReport{Format: f.format}
	chain, err := Verify(f.events(), Expect{Gaps: true})
	rep.Events = chain.Checked
	var bad badFile
	switch {
	case chain.BrokenAt != 0:
		rep.Events--
		rep.Problem = chain.Problem
		return rep, nil
	case errors.As(err, &bad):
		rep.Problem = string(bad)
		return rep, nil
	case err != nil:
		return rep, err
	case f.manifest == nil:
		rep.Problem = "the manifest is missing: the file was cut short"
		return rep, nil
	}
	m := *f.manifest
	rep.Manifest = m
	switch {
	case m.Count != rep.Events:
		rep.Problem = fmt.Sprintf("the manifest counts %d events, the file holds %d", m.Count, rep.Events)
	case rep.Events > 0 && (chain.LastID != m.LastID || hex.EncodeToString(chain.LastHash) != m.LastHash):
		rep.Problem = "the last event is not the one the manifest names"
	case rep.Events > 0 && (chain.FirstID != m.FirstID || hex.EncodeToString(chain.FirstPrevHash) != m.FirstPrevHash):
		rep.Problem = "the first event is not the one the manifest names"
	case m.Contiguous && chain.Gaps:
		rep.Problem = "events are missing from a range the manifest says is complete"
	}
	return rep, nil
}

// badFile is something wrong in a file's content, reported as the file's
// problem rather than as an error reading it.
type badFile string

func (b badFile) Error() string { return string(b) }

// exportReader reads an exported file: its events, then its manifest.
type exportReader struct {
	format   string
	json     *json.Decoder
	csv      *csv.Reader
	manifest *Manifest // once read
	n        int64     // event records read
}

// openExport recognises the format and, for CSV, checks the header.
func openExport(br *bufio.Reader) (*exportReader, error) {
	first, err := br.Peek(1)
	if err != nil {
		return &exportReader{}, fmt.Errorf("empty file")
	}
	if first[0] == '{' {
		return &exportReader{format: FormatNDJSON, json: json.NewDecoder(br)}, nil
	}
	f := &exportReader{format: FormatCSV, csv: csv.NewReader(br)}
	f.csv.FieldsPerRecord = -1
	header, err := f.csv.Read()
	if err != nil || strings.Join(header, ",") != strings.Join(csvHeader, ",") {
		return f, fmt.Errorf("not an audit export: unexpected header")
	}
	return f, nil
}

// events yields the file's events in file order and ends at the end of
// the file. It keeps the manifest when it meets it; anything after the
// manifest is a problem.
func (f *exportReader) events() iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		for {
			rec, err := f.next()
			if err == io.EOF {
				return
			}
			var e Event
			if err == nil {
				if e, err = rec.Event(); err != nil {
					err = badFile(err.Error())
				}
			}
			if !yield(e, err) || err != nil {
				return
			}
		}
	}
}

// next reads the next event record, taking in the manifest on the way.
func (f *exportReader) next() (Record, error) {
	for {
		var rec Record
		var m *Manifest
		var err error
		if f.json != nil {
			rec, m, err = f.nextJSON()
		} else {
			rec, m, err = f.nextCSV()
		}
		switch {
		case err != nil:
			return rec, err
		case m != nil:
			f.manifest = m
			continue
		}
		f.n++
		return rec, nil
	}
}

// nextJSON reads one NDJSON line: an event record or the manifest.
func (f *exportReader) nextJSON() (Record, *Manifest, error) {
	var raw json.RawMessage
	if err := f.json.Decode(&raw); err == io.EOF {
		return Record{}, nil, io.EOF
	} else if err != nil {
		return Record{}, nil, fmt.Errorf("line %d: %w", f.n+1, err)
	}
	if f.manifest != nil {
		return Record{}, nil, badFile("there are events after the manifest")
	}
	var m struct {
		Manifest *Manifest `json:"manifest"`
	}
	if json.Unmarshal(raw, &m) == nil && m.Manifest != nil {
		return Record{}, m.Manifest, nil
	}
	var rec Record
	if err := json.Unmarshal(raw, &rec); err != nil {
		return rec, nil, fmt.Errorf("line %d: %w", f.n+1, err)
	}
	return rec, nil, nil
}

// nextCSV reads one CSV row: an event record or the manifest.
func (f *exportReader) nextCSV() (Record, *Manifest, error) {
	row, err := f.csv.Read()
	if err != nil {
		return Record{}, nil, err
	}
	if f.manifest != nil {
		return Record{}, nil, badFile("there are events after the manifest")
	}
	if len(row) == 2 && row[0] == csvManifestMark {
		m := &Manifest{}
		if err := json.Unmarshal([]byte(row[1]), m); err != nil {
			return Record{}, nil, fmt.Errorf("manifest: %w", err)
		}
		return Record{}, m, nil
	}
	if len(row) != len(csvHeader) {
		return Record{}, nil, fmt.Errorf("event row with %d columns", len(row))
	}
	num := func(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }
	return Record{ID: num(row[0]), OccurredAt: row[1], ActorID: num(row[2]), ActorName: uncell(row[3]),
		Action: uncell(row[4]), SubjectType: uncell(row[5]), SubjectID: uncell(row[6]), RequestID: num(row[7]),
		CorrelationID: uncell(row[8]), Outcome: uncell(row[9]), Detail: uncell(row[10]), PrevHash: row[11], Hash: row[12]}, nil, nil
}
