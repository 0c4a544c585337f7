package handlers_test

import (
	"context"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"drportal/internal/audit"
	"drportal/internal/auth"
	"drportal/internal/db"
	"drportal/internal/handlers"
	"drportal/internal/portal"
)

// runningSyncedTask creates a task through the portal, starts it in the
// cloud and waits until it has synchronised and the portal's copy knows.
func (e *env) runningSyncedTask(name string) (id, confirm string) {
	e.t.Helper()
	ctx := context.Background()
	id = e.createTask(name)
	if err := e.client.Operate(ctx, portal.OpStart, id, nil); err != nil {
		e.t.Fatal(err)
	}
	eventually(e.t, "the task running and synchronised", func() bool {
		e.clock.Advance(time.Second)
		tk, _ := e.client.Get(ctx, id)
		return tk.Status == portal.TaskRunning && tk.Standby.LastSuccessTime != ""
	})
	eventually(e.t, "the portal's copy running", func() bool {
		row, err := e.store.Task(ctx, id)
		return err == nil && row.Status == portal.TaskRunning
	})
	tk, err := e.client.Get(ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return id, tk.Primary.Name
}

// approveDrill has two approvers approve a drill, typing the cluster's name.
func (e *env) approveDrill(id int64) portal.Request {
	e.t.Helper()
	var r portal.Request
	for _, email := range []string{"admin@example.com", "appr2@example.com"} {
		u, err := e.store.UserByEmail(context.Background(), email)
		if err != nil {
			e.t.Fatal(err)
		}
		cur, err := e.store.Request(context.Background(), id)
		if err != nil {
			e.t.Fatal(err)
		}
		ctx := audit.WithActor(context.Background(), audit.Actor{ID: u.ID, Name: u.Email})
		if r, err = e.reqs.Decide(ctx, u, id, portal.Approve, "drill agreed", hex.EncodeToString(cur.PayloadSHA256), cur.ConfirmName); err != nil {
			e.t.Fatalf("approve as %s: %v", email, err)
		}
	}
	return r
}

// TestADrillIsFiledScheduledAndExportedForAuditors: a drill is filed from
// the task's operation form (a run time that is no time is refused and
// files nothing), runs once approved and shows its evidence on the task
// page; a drill filed for later waits as a job scheduled for then, with
// its approval lasting from then, and its page says when it runs; the
// drill history exports both with the stable columns, naming the audit
// events that record the evidence.
func TestADrillIsFiledScheduledAndExportedForAuditors(t *testing.T) {
	e := newEnv(t)
	e.addUser("appr2@example.com", auth.RoleApprover)
	id, confirm := e.runningSyncedTask("dr_drills1")
	req := e.signedIn("req@example.com")
	form := func(runAt string) url.Values {
		return url.Values{"justification": {"quarterly DR drill, CHG-77"}, "confirm": {confirm}, "run_at": {runAt}}
	}

	bad := e.fileOperation(req, id, "drill", form("next tuesday"))
	if bad.status != http.StatusUnprocessableEntity || !strings.Contains(bad.text(`#run_at-error`), "Enter a date and time") {
		t.Fatalf("a run time that is no time: %d %q", bad.status, bad.text(`#run_at-error`))
	}
	if n, _ := e.store.CountRequests(context.Background(), db.RequestFilter{Operation: portal.OpDrill}); n != 0 {
		t.Fatalf("%d drills filed from a bad form", n)
	}

	now := time.Now()
	first := requestIDFrom(t, e.fileOperation(req, id, "drill", form("")))
	e.approveDrill(first)
	eventually(t, "the drill done", func() bool {
		e.clock.Advance(time.Second)
		r, _ := e.store.Request(context.Background(), first)
		return r.Status.Final()
	})
	if r, _ := e.store.Request(context.Background(), first); r.Status != portal.StatusSucceeded {
		t.Fatalf("drill: %s %q", r.Status, r.Outcome)
	}
	d, err := e.store.Drill(context.Background(), first)
	if err != nil {
		t.Fatal(err)
	}
	page := req.get("/dr-tasks/" + id)
	if got := page.text(`[data-testid=last-drill]`); got != d.Summary() || !strings.HasPrefix(got, "RTO ") {
		t.Errorf("the task page shows the last drill as %q, want %q", got, d.Summary())
	}
	if href := page.attr(`[data-testid=drill-summary] [data-testid=drill-history-link]`, "href"); href != "/dr-tasks/"+id+"/drills" {
		t.Errorf("the drill history link is %q", href)
	}

	// Scheduled: a job for then, an approval lasting from then.
	runAt := now.UTC().Add(3 * time.Hour).Truncate(time.Minute)
	second := requestIDFrom(t, e.fileOperation(req, id, "drill", form(runAt.Format("2006-01-02T15:04"))))
	r := e.approveDrill(second)
	if r.Status != portal.StatusApproved || r.ApprovalExpiresAt == nil || !r.ApprovalExpiresAt.Equal(runAt.Add(24*time.Hour)) {
		t.Errorf("the scheduled drill is %s, its approval lasting until %v, want %v", r.Status, r.ApprovalExpiresAt, runAt.Add(24*time.Hour))
	}
	var scheduled time.Time
	if err := e.store.Pool().QueryRow(context.Background(), `SELECT scheduled_at FROM river_job WHERE kind = 'execute_request'
		AND (args->>'request_id')::bigint = $1`, second).Scan(&scheduled); err != nil || !scheduled.Equal(runAt) {
		t.Errorf("the drill's job is scheduled at %v (%v), want %v", scheduled, err, runAt)
	}
	card := req.get("/requests/" + strconv.FormatInt(second, 10))
	if got := card.text(`[data-testid=drill-runs-at]`); !strings.Contains(got, portal.FormatTime(runAt, time.UTC)) {
		t.Errorf("the request page says it runs %q", got)
	}

	// The export: the same columns in CSV and JSON, in a fixed order.
	auditor := e.signedIn("audit@example.com")
	exports := len(e.events(audit.ActionExport))
	res := auditor.get("/dr-tasks/" + id + "/drills/export?format=csv")
	rows, err := csv.NewReader(strings.NewReader(res.body)).ReadAll()
	if res.status != http.StatusOK || err != nil || len(rows) != 3 {
		t.Fatalf("CSV export: %d %v, %d rows\n%s", res.status, err, len(rows), res.body)
	}
	want := []string{"request_id", "dr_task_id", "task_name", "filed_by", "approved_by", "run_at",
		"started_at", "finished_at", "outcome", "outcome_detail", "primary_before", "standby_before",
		"last_sync_at", "switchover_call_started_at", "switchover_accepted_at", "switchover_running_other_way_at", "switchover_rto_ms",
		"switchback_call_started_at", "switchback_accepted_at", "switchback_running_other_way_at", "switchback_rto_ms",
		"rpo_ms", "poll_resolution_ms", "audit_event_ids", "audit_event_hashes"}
	if !slices.Equal(rows[0], want) || !slices.Equal(handlers.DrillExportColumns, want) {
		t.Fatalf("CSV columns %v", rows[0])
	}
	col := func(row []string, name string) string { return row[slices.Index(want, name)] }
	done, waiting := rows[2], rows[1] // newest first
	if col(done, "request_id") != strconv.FormatInt(first, 10) || col(done, "outcome") != "succeeded" ||
		col(done, "filed_by") != "req@example.com" || col(done, "approved_by") != "admin@example.com;appr2@example.com" ||
		col(done, "switchover_rto_ms") == "" || col(done, "switchback_rto_ms") == "" || col(done, "rpo_ms") == "" {
		t.Errorf("the finished drill exports as %v", done)
	}
	if col(waiting, "run_at") != runAt.Format(time.RFC3339Nano) || col(waiting, "started_at") != "" || col(waiting, "audit_event_ids") != "" {
		t.Errorf("the scheduled drill exports as %v", waiting)
	}
	// The evidence's events, by id and hash, as the chain has them.
	var ids, hashes []string
	err = e.store.StreamAudit(context.Background(), db.AuditFilter{Action: "drill"}, func(ev audit.Event) error {
		if ev.RequestID == first {
			ids, hashes = append(ids, strconv.FormatInt(ev.ID, 10)), append(hashes, hex.EncodeToString(ev.Hash))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 4 || col(done, "audit_event_ids") != strings.Join(ids, ";") || col(done, "audit_event_hashes") != strings.Join(hashes, ";") {
		t.Errorf("the finished drill's events: exported %q %q, recorded %v", col(done, "audit_event_ids"), col(done, "audit_event_hashes"), ids)
	}
	js := auditor.get("/dr-tasks/" + id + "/drills/export?format=json")
	var doc struct {
		Columns []string                     `json:"columns"`
		Drills  []map[string]json.RawMessage `json:"drills"`
	}
	if err := json.Unmarshal([]byte(js.body), &doc); err != nil || !slices.Equal(doc.Columns, want) || len(doc.Drills) != 2 {
		t.Fatalf("JSON export: %v %v, %d drills", err, doc.Columns, len(doc.Drills))
	}
	for _, dr := range doc.Drills {
		keys := make([]string, 0, len(dr))
		for k := range dr {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		sorted := slices.Sorted(slices.Values(want))
		if !slices.Equal(keys, sorted) {
			t.Errorf("a JSON drill has the keys %v", keys)
		}
	}
	if n := len(e.events(audit.ActionExport)) - exports; n != 2 {
		t.Errorf("%d exports on record, want 2", n)
	}
	if bad := auditor.get("/dr-tasks/" + id + "/drills/export?format=xml"); bad.status != http.StatusUnprocessableEntity {
		t.Errorf("an unknown format: %d", bad.status)
	}
}

// TestTheDrillExportDefusesSpreadsheetFormulas: a drill whose task name,
// filer, clusters or outcome text start with = + - @ is exported in CSV
// with those cells defused as the audit export's are (a leading
// apostrophe), so that a spreadsheet opening the file runs nothing.
func TestTheDrillExportDefusesSpreadsheetFormulas(t *testing.T) {
	e := newEnv(t)
	id, confirm := e.runningSyncedTask("dr_formula1")
	req := e.signedIn("req@example.com")
	runAt := time.Now().UTC().Add(3 * time.Hour).Truncate(time.Minute)
	drill := requestIDFrom(t, e.fileOperation(req, id, "drill", url.Values{"justification": {"quarterly DR drill, CHG-78"},
		"confirm": {confirm}, "run_at": {runAt.Format("2006-01-02T15:04")}}))
	ctx := context.Background()
	err := e.store.InTx(ctx, func(tx *db.Tx) error {
		return tx.FinishDrill(ctx, drill, time.Now(), "failed", `=HYPERLINK("http://evil.example","x")`)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Pool().Exec(ctx, `UPDATE drills SET filed_by = '@req', primary_before = '+cmd', standby_before = '-2+3' WHERE request_id = $1`, drill); err != nil {
		t.Fatal(err)
	}
	// The task's name is the portal's copy, which the poller refreshes from
	// the cloud: rename it until an export reads the new name.
	auditor := e.signedIn("audit@example.com")
	var rows [][]string
	eventually(t, "an export of the renamed task", func() bool {
		if _, err := e.store.Pool().Exec(ctx, `UPDATE dr_tasks SET name = '=1+1' WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
		// Each try is an export: a minute apart, as exports are limited.
		e.pageClock.Advance(time.Minute)
		res := auditor.get("/dr-tasks/" + id + "/drills/export?format=csv")
		var err error
		rows, err = csv.NewReader(strings.NewReader(res.body)).ReadAll()
		if res.status != http.StatusOK || err != nil || len(rows) != 2 {
			t.Fatalf("CSV export: %d %v, %d rows\n%s", res.status, err, len(rows), res.body)
		}
		return rows[1][slices.Index(rows[0], "task_name")] != "dr_formula1"
	})
	col := func(name string) string { return rows[1][slices.Index(rows[0], name)] }
	for name, want := range map[string]string{"task_name": "'=1+1", "filed_by": "'@req", "primary_before": "'+cmd",
		"standby_before": "'-2+3", "outcome_detail": `'=HYPERLINK("http://evil.example","x")`, "outcome": "failed"} {
		if got := col(name); got != want {
			t.Errorf("%s exported as %q, want %q", name, got, want)
		}
	}
	for i, cell := range rows[1] {
		if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
			t.Errorf("%s starts a formula: %q", rows[0][i], cell)
		}
	}
}
