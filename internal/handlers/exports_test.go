package handlers_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"drportal/internal/audit"
	"drportal/internal/auth"
)

// TestDrillEvidenceIsExportedOnlyByThoseWhoReadTheWholeAudit: a task's
// drill evidence (people's names, the chain's event hashes) is exported,
// as CSV or JSON, by auditors and admins, who may read the whole audit, as
// on the audit page; a requester or an approver sees the drill history
// without the export links, is refused the export (403, a denial on
// record) and appends no audit.export.
func TestDrillEvidenceIsExportedOnlyByThoseWhoReadTheWholeAudit(t *testing.T) {
	e := newEnv(t)
	e.addUser("appr@example.com", auth.RoleApprover)
	id := e.createTask("dr_export1")
	for _, who := range []string{"req@example.com", "appr@example.com"} {
		b := e.signedIn(who)
		page := b.get("/dr-tasks/" + id + "/drills")
		if page.status != http.StatusOK || page.doc.Find(`[data-testid=export-csv], [data-testid=export-json]`).Length() != 0 ||
			!strings.Contains(page.text(`[data-testid=export-who]`), "Auditors and admins") {
			t.Errorf("the drill history as %s: %d, export links %d, %q", who, page.status,
				page.doc.Find(`[data-testid=export-csv], [data-testid=export-json]`).Length(), page.text(`[data-testid=export-who]`))
		}
		for _, format := range []string{"csv", "json"} {
			exports := len(e.events(audit.ActionExport))
			if res := b.get("/dr-tasks/" + id + "/drills/export?format=" + format); res.status != http.StatusForbidden {
				t.Errorf("a %s export by %s: %d", format, who, res.status)
			}
			if n := len(e.events(audit.ActionExport)) - exports; n != 0 {
				t.Errorf("a refused %s export by %s appended %d exports", format, who, n)
			}
		}
		refused := false
		for _, d := range e.events(audit.ActionAccessDenied) {
			refused = refused || d.Actor.Name == who && strings.Contains(string(d.Detail), `"route":"/dr-tasks/:id/drills/export"`) &&
				strings.Contains(string(d.Detail), `"reason":"role"`)
		}
		if !refused {
			t.Errorf("the refused export by %s is not on record", who)
		}
	}
	for _, who := range []string{"audit@example.com", "admin@example.com"} {
		b := e.signedIn(who)
		if page := b.get("/dr-tasks/" + id + "/drills"); page.doc.Find(`[data-testid=export-csv]`).Length() != 1 ||
			page.doc.Find(`[data-testid=export-json]`).Length() != 1 {
			t.Errorf("the drill history offers %s no exports", who)
		}
		for _, format := range []string{"csv", "json"} {
			if res := b.get("/dr-tasks/" + id + "/drills/export?format=" + format); res.status != http.StatusOK {
				t.Errorf("a %s export by %s: %d %.200s", format, who, res.status, res.body)
			}
		}
	}
}

// TestExportsAreLimitedPerPerson: the audit export and the drill export
// share one limit per person, a few in a row and then one a minute, so
// that a loop cannot fill the chain with audit.export events. Past it an
// export is refused with 429, Retry-After and a message saying when to try
// again, nothing exported; the refusals are on record as a denial counted
// per minute, not an event each. Someone else still exports, and the
// person again once a minute has passed.
func TestExportsAreLimitedPerPerson(t *testing.T) {
	e := newEnv(t)
	id := e.createTask("dr_export2")
	auditor, admin := e.signedIn("audit@example.com"), e.signedIn("admin@example.com")
	drills, history := "/dr-tasks/"+id+"/drills/export?format=csv", "/audit/export?format=ndjson"
	exports := len(e.events(audit.ActionExport))
	for i, path := range []string{history, drills, history, drills, history} {
		if res := auditor.get(path); res.status != http.StatusOK {
			t.Fatalf("export %d (%s): %d %.200s", i+1, path, res.status, res.body)
		}
	}
	denied := len(e.events(audit.ActionAccessDenied))
	const attempts = 10
	for i := range attempts {
		res := auditor.get([]string{drills, history}[i%2])
		if res.status != http.StatusTooManyRequests {
			t.Fatalf("export %d in a row: %d", 6+i, res.status)
		}
		if i > 0 {
			continue
		}
		if wait, err := strconv.Atoi(res.header.Get("Retry-After")); err != nil || wait < 50 || wait > 60 {
			t.Errorf("Retry-After %q after the limit", res.header.Get("Retry-After"))
		}
		if msg := res.text("main"); !strings.Contains(msg, "Too many exports") || !strings.Contains(msg, "You can export again in") ||
			!strings.Contains(msg, "Nothing was exported") {
			t.Errorf("the refusal says %q", msg)
		}
	}
	if n := len(e.events(audit.ActionExport)) - exports; n != 5 {
		t.Errorf("%d exports on record, want the 5 that were made", n)
	}
	// The refusals of each export (two routes) are counted per minute:
	// one event each, two if a minute turned meanwhile.
	var throttled int
	for _, d := range e.events(audit.ActionAccessDenied)[denied:] {
		if strings.Contains(string(d.Detail), `"reason":"throttled"`) && d.Actor.Name == "audit@example.com" {
			throttled++
		}
	}
	if throttled == 0 || throttled > 4 {
		t.Errorf("%d refusal events for %d refused exports; want them counted, one a minute and route", throttled, attempts)
	}
	var counted int64
	if err := e.store.Pool().QueryRow(context.Background(), `SELECT coalesce(sum(count), 0) FROM denied_actions WHERE reason = 'throttled'`).
		Scan(&counted); err != nil {
		t.Fatal(err)
	}
	if counted == 0 {
		t.Error("the refused exports are not counted")
	}
	if res := admin.get(history); res.status != http.StatusOK {
		t.Errorf("another person's export: %d", res.status)
	}
	e.pageClock.Advance(time.Minute)
	if res := auditor.get(drills); res.status != http.StatusOK {
		t.Errorf("an export a minute later: %d", res.status)
	}
	if res := auditor.get(drills); res.status != http.StatusTooManyRequests {
		t.Errorf("a second export in that minute: %d", res.status)
	}
}
