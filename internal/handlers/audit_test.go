package handlers_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"drportal/internal/audit"
)

func TestAuditReview(t *testing.T) {
	e := newEnv(t)
	e.createTask("dr_review1")
	aud := e.signedIn("audit@example.com")
	req := e.signedIn("req@example.com")

	// Filters: free text, outcome, request, time; bad values are refused.
	if n := aud.get("/audit?q=dr_review1&action=request.filed").doc.Find(`[data-testid=audit-row]`).Length(); n != 1 {
		t.Errorf("free text + action: %d rows", n)
	}
	// (Cloud calls aside: the cluster sync asks about primaries the cloud
	// refuses, and records those answers as failed calls.)
	if n := aud.get("/audit?outcome=failure&hide_calls=1").doc.Find(`[data-testid=audit-row]`).Length(); n != 0 {
		t.Errorf("failures: %d rows", n)
	}
	if n := aud.get("/audit?request=1").doc.Find(`[data-testid=audit-row]`).Length(); n < 8 {
		t.Errorf("request #1: %d rows", n)
	}
	if n := aud.get("/audit?from=2000-01-01T00:00&to=2000-01-02T00:00").doc.Find(`[data-testid=audit-row]`).Length(); n != 0 {
		t.Errorf("year 2000: %d rows", n)
	}
	for _, q := range []string{"outcome=great", "from=yesterday", "request=abc", "from=2026-01-02T00:00&to=2026-01-01T00:00"} {
		if r := aud.get("/audit?" + q); r.status != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d", q, r.status)
		}
	}

	// The approver's decision keeps what they were shown.
	evs := e.events(audit.ActionRequestDecision)
	if len(evs) != 1 || !strings.Contains(string(evs[0].Detail), `"payload":"{\"disaster_recovery\"`) ||
		!strings.Contains(string(evs[0].Detail), `"shown"`) {
		t.Errorf("decision evidence: %s", evs[0].Detail)
	}

	// CSV export verifies offline.
	csvRes := aud.get("/audit/export?format=csv")
	if csvRes.status != 200 || !strings.HasPrefix(csvRes.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv export: %d %s", csvRes.status, csvRes.header.Get("Content-Type"))
	}
	rep, err := audit.VerifyFile(bytes.NewReader([]byte(csvRes.body)))
	if err != nil || rep.Problem != "" || rep.Events < 10 || !rep.Manifest.Contiguous {
		t.Errorf("csv export verifies: %+v %v", rep, err)
	}

	// Verify: for auditors, audited; refused to requesters.
	tok := aud.csrf("/audit")
	ok := aud.postRaw("/audit/verify", url.Values{"_csrf": {tok}})
	if ok.status != 200 || !strings.Contains(ok.text(`[data-testid=verify-ok]`), "intact") {
		t.Fatalf("verify: %d %q", ok.status, ok.text(`[data-testid=verify-ok]`))
	}
	if n := len(e.events("audit.verify")); n != 1 {
		t.Errorf("%d verify events", n)
	}
	if r := req.postRaw("/audit/verify", url.Values{"_csrf": {req.csrf("/audit")}}); r.status != http.StatusForbidden {
		t.Errorf("verify by a requester: %d", r.status)
	}
	if r := aud.postRaw("/audit/archive", url.Values{"_csrf": {tok}, "older_than_days": {"30"}}); r.status != http.StatusForbidden {
		t.Errorf("archive by an auditor: %d", r.status)
	}
	// Someone alters a row behind the portal's back: Verify names it.
	_, err = e.store.Pool().Exec(context.Background(), `ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete;
		UPDATE audit_events SET actor_name = 'nobody' WHERE id = 7;
		ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update_delete;`)
	if err != nil {
		t.Fatal(err)
	}
	bad := aud.postRaw("/audit/verify", url.Values{"_csrf": {tok}})
	if msg := bad.text(`[data-testid=verify-error]`); !strings.Contains(msg, "event 7") {
		t.Errorf("tampered history: %q", msg)
	}
	admin := e.signedIn("admin@example.com")
	if r := admin.postRaw("/audit/archive", url.Values{"_csrf": {admin.csrf("/audit")}, "older_than_days": {"x"}}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("archive with a bad age: %d", r.status)
	}
	if r := admin.postRaw("/audit/archive", url.Values{"_csrf": {admin.csrf("/audit")}, "older_than_days": {"30"}}); r.status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.text(`[data-testid=verify-error]`), "older than") {
		t.Errorf("archive with nothing old: %d %q", r.status, r.text(`[data-testid=verify-error]`))
	}
}
