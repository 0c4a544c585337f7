package handlers_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"drportal/internal/audit"
)

// TestAuditRowsSayWhichRequestTheyAreAboutAndWhatHappened: every row of
// the audit page whose event has a request names it ("request #N", linked
// to its page); an access denial says the method and route refused; and
// the outage-mode events (drills, the intent before a call, admin
// changes, windows and freezes, exports, break-glass settings) have a
// one-line summary, not an empty one.
func TestAuditRowsSayWhichRequestTheyAreAboutAndWhatHappened(t *testing.T) {
	e := newEnv(t)
	id := e.createTask("dr_rows01")
	req := e.signedIn("req@example.com")
	filed := requestIDFrom(t, e.fileOperation(req, id, "start", url.Values{"justification": {"CHG-1: start it"}}))
	req.get("/admin/users") // refused: an access denial
	ctx := context.Background()
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	fixtures := []struct {
		action, detail, want string
	}{
		{audit.ActionRequestIntent, `{"attempt": 1, "method": "PUT", "path": "/v2/p/disaster-recoveries/x/switchover", "drill_step": "switchover"}`,
			"About to send PUT /v2/p/disaster-recoveries/x/switchover, attempt 1 (the drill's switchover)"},
		{audit.ActionDrillStarted, `{"primary": "sales-a", "standby": "sales-b"}`, "Drill started: sales-a is the primary, sales-b the standby"},
		{audit.ActionDrillStep, `{"step": "switchover", "rto": "12.5 s", "rpo": "2 s", "primary_now": "sales-b"}`,
			"The drill's switchover measured: RTO 12.5 s, RPO 2 s, sales-b is the primary"},
		{audit.ActionDrillFinished, `{"outcome": "cancelled", "summary": "Cancelled by admin@example.com."}`, "Drill cancelled: Cancelled by admin@example.com."},
		{audit.ActionChangeProposed, `{"change": 6, "kind": "windows", "windows": "Remove the window Mon 02:00-04:00 UTC of Switchover."}`,
			"Change #6 (windows) proposed: Remove the window Mon 02:00-04:00 UTC of Switchover."},
		{audit.ActionChangeRejected, `{"change": 7, "kind": "policy", "comment": "not now", "proposed_by": "a@example.com"}`, "Change #7 (policy) rejected: “not now”"},
		{audit.ActionChangeWithdrawn, `{"change": 8, "kind": "roles", "reason": "replaced by change #9"}`, "Change #8 (roles) withdrawn: “replaced by change #9”"},
		{audit.ActionWindowRemoved, `{"change": 6, "window": "Mon 02:00-04:00 UTC", "window_id": 3, "operation": "switchover", "approved_by": "b@example.com"}`,
			"Removed the window Mon 02:00-04:00 UTC of Switchover (change #6, approved by b@example.com)"},
		{audit.ActionWindowAdded, `{"change": "Add the window …", "window": "Tue 01:00-03:00 UTC", "operation": "failover"}`, "Added the window Tue 01:00-03:00 UTC for Failover"},
		{audit.ActionFreezeAdded, `{"freeze_id": 1, "starts_at": "2026-12-20T00:00:00Z", "ends_at": "2026-12-27T00:00:00Z", "reason": "year end"}`,
			"Freeze from 2026-12-20 00:00:00 UTC to 2026-12-27 00:00:00 UTC: year end"},
		{audit.ActionFreezeLifted, `{"freeze_id": 1, "reason": "year end", "change": 5, "approved_by": "b@example.com"}`,
			"Lifted the freeze “year end” (change #5, approved by b@example.com)"},
		{audit.ActionWindowRuleSet, `{"operation": "switchover", "rule": "wait"}`, "Outside its windows, Switchover waits for the window"},
		{audit.ActionExport, `{"format": "csv", "filter": {"action": "drill"}}`, "Exported the history as CSV (filter action=drill)"},
		{audit.ActionBreakGlassPolicy, `{"from": {"enabled": false}, "to": {"version": 2, "enabled": true, "operations": ["switchover"], "review_days": 5}}`,
			"Break-glass is on for switchover; the review is due within 5 days"},
	}
	for _, f := range fixtures {
		ev := audit.Event{OccurredAt: at, Actor: audit.System, Action: f.action, Outcome: audit.Info, Detail: []byte(f.detail)}
		if _, err := e.store.AppendAudit(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	page := e.signedIn("admin@example.com").get("/audit")
	summaries := map[string][]string{}
	var named []string
	page.doc.Find(`[data-testid=audit-row]`).Each(func(_ int, row *goquery.Selection) {
		action := row.AttrOr("data-action", "")
		summaries[action] = append(summaries[action], strings.TrimSpace(row.Find(`[data-testid=audit-summary]`).Text()))
		if action == audit.ActionRequestFiled {
			link := row.Find(`[data-testid=audit-request]`)
			text := strings.TrimSpace(link.Text())
			if href := link.AttrOr("href", ""); "/requests/"+strings.TrimPrefix(text, "request #") != href {
				t.Errorf("a filing names %q, linked to %q", text, href)
			}
			named = append(named, text)
		}
		if action == audit.ActionAccessDenied || action == audit.ActionExport {
			if row.Find(`[data-testid=audit-request]`).Length() != 0 {
				t.Errorf("a %s row without a request names one", action)
			}
		}
	})
	if !slices.Contains(named, fmt.Sprintf("request #%d", filed)) {
		t.Errorf("the filings name %q; want request #%d among them", named, filed)
	}
	if got := summaries[audit.ActionAccessDenied]; len(got) != 1 || !strings.HasPrefix(got[0], "GET /admin/users refused: ") {
		t.Errorf("the access denial says %q; want the method and route refused", got)
	}
	for _, f := range fixtures {
		if got := summaries[f.action]; !slices.Contains(got, f.want) {
			t.Errorf("%s says %q; want %q", f.action, got, f.want)
		}
	}
}
