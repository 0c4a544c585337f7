package audit

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strings"
	"testing"
	"time"
)

// chain builds n chained events with hostile values in them.
func chain(n int) []Event {
	hostile := []string{"plain", "a,b", `say "hi"`, "two\nlines", "=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)",
		"\tTAB", "'quoted", "''twice", "\r\ncr", "日本語"}
	var out []Event
	prev := GenesisHash
	at := time.Date(2026, 11, 22, 10, 0, 0, 123456000, time.UTC)
	for i := 1; i <= n; i++ {
		h := hostile[i%len(hostile)]
		e := Event{ID: int64(i), OccurredAt: at.Add(time.Duration(i) * time.Second), Actor: Actor{ID: int64(i % 3), Name: h},
			Action: "test." + fmt.Sprint(i), SubjectType: "dr_task", SubjectID: h, RequestID: int64(i % 2),
			CorrelationID: h, Outcome: Success, Detail: Detail(map[string]any{"value": h, "n": i}), PrevHash: prev}
		e.Hash = ChainHash(prev, e)
		prev = e.Hash
		out = append(out, e)
	}
	return out
}

func export(t *testing.T, format string, events []Event) []byte {
	t.Helper()
	var buf bytes.Buffer
	x, err := NewExporter(&buf, format, map[string]string{"action": "test"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if err := x.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestExportsVerifyOffline(t *testing.T) {
	events := chain(40)
	for _, format := range []string{FormatNDJSON, FormatCSV} {
		rep, err := VerifyFile(bytes.NewReader(export(t, format, events)))
		if err != nil || rep.Problem != "" || rep.Events != 40 || rep.Format != format || !rep.Manifest.Contiguous ||
			rep.Manifest.FirstID != 1 || rep.Manifest.LastID != 40 {
			t.Errorf("%s: %+v %v", format, rep, err)
		}
	}
	// A filtered export (gaps) still verifies event by event.
	var odd []Event
	for _, e := range events {
		if e.ID%2 == 1 {
			odd = append(odd, e)
		}
	}
	rep, err := VerifyFile(bytes.NewReader(export(t, FormatNDJSON, odd)))
	if err != nil || rep.Problem != "" || rep.Manifest.Contiguous {
		t.Errorf("filtered: %+v %v", rep, err)
	}
}

func TestCSVDefusesFormulasAndKeepsEveryValue(t *testing.T) {
	out := export(t, FormatCSV, chain(14))
	r := csv.NewReader(bytes.NewReader(out))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range rows[1 : len(rows)-1] {
		for _, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("a cell starts with %q: %q", cell[0], cell)
			}
		}
	}
	if !strings.Contains(string(out), `"'=HYPERLINK(""http://x"")"`) {
		t.Errorf("formula not defused and quoted:\n%s", out)
	}
	// Every value comes back exactly: the hashes still verify.
	if rep, err := VerifyFile(bytes.NewReader(out)); err != nil || rep.Problem != "" {
		t.Errorf("round trip: %+v %v", rep, err)
	}
}

func TestTamperedExportsAreCaught(t *testing.T) {
	events := chain(10)
	nd := string(export(t, FormatNDJSON, events))
	lines := strings.SplitAfter(nd, "\n")
	cases := map[string]struct {
		file string
		want string
	}{
		"changed value": {strings.Replace(nd, `\"n\":5`, `\"n\":6`, 1), "event 5 does not match"},
		"removed line":  {strings.Join(append(append([]string{}, lines[:3]...), lines[4:]...), ""), "the manifest counts 10 events, the file holds 9"},
		"swapped lines": {lines[0] + lines[2] + lines[1] + strings.Join(lines[3:], ""), "out of order"},
		"no manifest":   {strings.Join(lines[:10], ""), "cut short"},
		"appended":      {nd + lines[0], "after the manifest"},
	}
	for name, tc := range cases {
		rep, err := VerifyFile(strings.NewReader(tc.file))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !strings.Contains(rep.Problem, tc.want) {
			t.Errorf("%s: problem %q, want %q", name, rep.Problem, tc.want)
		}
	}
	csvFile := string(export(t, FormatCSV, events))
	forged := strings.Replace(csvFile, "test.4,", "test.44,", 1)
	if rep, _ := VerifyFile(strings.NewReader(forged)); !strings.Contains(rep.Problem, "event 4 does not match") {
		t.Errorf("forged CSV: %q", rep.Problem)
	}
}

func TestCellRoundTrips(t *testing.T) {
	for _, v := range []string{"", "x", "=1", "'", "''", `'"`, `"q`, "a\r\nb", "\r", "'\"x", "-", "@", "\t"} {
		if got := uncell(Cell(v)); got != v {
			t.Errorf("Cell(%q) = %q comes back as %q", v, Cell(v), got)
		}
	}
}
