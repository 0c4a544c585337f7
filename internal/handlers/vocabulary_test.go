package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"drportal/internal/auth"
	"drportal/internal/portal"
)

// TestPagesSpeakTheConsolesWords: statuses, types and operations show in
// the DWS console's words, with the raw value kept in a tooltip and a
// data attribute; a succeeded request shows its approvals as "1 of 1";
// counts have proper plurals and durations read as words.
func TestPagesSpeakTheConsolesWords(t *testing.T) {
	e := newEnv(t)
	id := e.createTask("dr_words01")
	b := e.signedIn("req@example.com")
	eventually(t, "the task read", func() bool {
		row, err := e.store.Task(context.Background(), id)
		return err == nil && row.DetailFetchedAt != nil && row.Status == portal.TaskUnstart
	})

	page := b.get("/dr-tasks/" + id)
	badge := page.doc.Find(`#task-panel [data-testid=status]`).First()
	if badge.Text() != "Not started" || badge.AttrOr("data-status", "") != "unstart" || badge.AttrOr("title", "") != "unstart" {
		t.Errorf("task badge: %q, data-status %q, title %q", badge.Text(), badge.AttrOr("data-status", ""), badge.AttrOr("title", ""))
	}
	if got := page.text(`#task-panel [data-field=Status]`); got != "Not started" {
		t.Errorf("status field %q", got)
	}
	if got := page.text(`#task-panel [data-field=Type]`); got != "Cross-AZ" {
		t.Errorf("type field %q", got)
	}
	page.doc.Find(`[data-testid=cluster-primary] dd[data-raw]`).Each(func(_ int, s *goquery.Selection) {
		if s.AttrOr("data-raw", "") == "waiting" && s.Text() != "Waiting" {
			t.Errorf("cluster DR status %q", s.Text())
		}
	})

	list := b.get("/dr-tasks")
	row := list.doc.Find(`[data-testid=task-row][data-id="` + id + `"]`)
	if s := row.Find(`[data-testid=status]`); s.Text() != "Not started" || s.AttrOr("data-status", "") != "unstart" {
		t.Errorf("list status %q", s.Text())
	}
	if !strings.Contains(row.Text(), "Cross-AZ") {
		t.Errorf("list row %q has no DR type in words", row.Text())
	}

	reqs := b.get("/requests?tab=mine")
	r := reqs.doc.Find(`[data-testid=request-row]`).First()
	if s := r.Find(`[data-testid=status]`); s.Text() != "Succeeded" || s.AttrOr("data-status", "") != "succeeded" {
		t.Errorf("request list status %q", s.Text())
	}
	cells := r.Find("td")
	if op := strings.TrimSpace(cells.Eq(1).Text()); op != "Create" {
		t.Errorf("operation cell %q", op)
	}
	if a := strings.TrimSpace(cells.Eq(5).Text()); a != "1 of 1 ✓" {
		t.Errorf("approvals cell of a succeeded request %q", a)
	}
	card := b.get(r.Find(`[data-testid=request-link]`).AttrOr("href", ""))
	policy := card.doc.Find(`dt:contains("Policy") + dd`).Text()
	if !strings.Contains(policy, "Create needs 1 approval;") || !strings.Contains(policy, "lapses after 1 day") ||
		strings.Contains(policy, "(s)") || strings.Contains(policy, "h0m0s") {
		t.Errorf("policy sentence %q", policy)
	}
	for _, body := range []string{page.body, list.body, reqs.body, card.body} {
		if strings.Contains(body, "approval(s)") || strings.Contains(body, "h0m0s") {
			t.Error("a page shows Go's durations or a plural left to the reader")
		}
	}
}

// TestHistoryListsShowEventsInWords: the events of a task's and a
// request's history are labelled in words ("Request approved"), the raw
// action kept in the tooltip.
func TestHistoryListsShowEventsInWords(t *testing.T) {
	e := newEnv(t)
	id := e.createTask("dr_words02")
	b := e.signedIn("admin@example.com")
	for _, path := range []string{"/dr-tasks/" + id + "?calls=1", "/requests/1"} {
		page := b.get(path)
		events := page.doc.Find(`[data-testid=timeline-event]`)
		if events.Length() == 0 {
			t.Fatalf("%s: no history", path)
		}
		events.Each(func(_ int, s *goquery.Selection) {
			action := s.AttrOr("data-action", "")
			label := s.Find("strong").First()
			if label.Text() == action || label.Text() == "" || label.AttrOr("title", "") != action {
				t.Errorf("%s: event %s shown as %q", path, action, label.Text())
			}
		})
	}
	page := b.get("/requests/1")
	if page.doc.Find(`[data-action="request.approved"] strong:contains("Request approved")`).Length() != 1 {
		t.Errorf("no readable approval in the request's history: %q", page.text(`[data-testid=timeline]`))
	}
}

// TestPolicyDurationsReadAsWords: the policy form shows its durations as
// "7 days" and "1 day", and takes them back in words.
func TestPolicyDurationsReadAsWords(t *testing.T) {
	e := newEnv(t)
	admin := e.signedIn("admin@example.com")
	page := admin.get("/admin/policy")
	if v := page.attr(`#pending_ttl`, "value"); v != "7 days" {
		t.Errorf("pending TTL shown as %q", v)
	}
	if v := page.attr(`#approval_ttl`, "value"); v != "1 day" {
		t.Errorf("approval TTL shown as %q", v)
	}
	cur, _ := e.store.CurrentPolicy(context.Background())
	form := url.Values{"pending_ttl": {"3 days"}, "approval_ttl": {"12 hours"}}
	for _, op := range portal.Operations {
		form.Set("approvals_"+string(op), page.attr(`[data-testid=approvals-`+string(op)+`]`, "value"))
	}
	if r := admin.post("/admin/policy", form); r.status != http.StatusSeeOther {
		t.Fatalf("propose in words: %d %s", r.status, r.text(`.error`))
	}
	waiting := admin.get("/admin/policy")
	if !strings.Contains(waiting.text(`[data-testid=admin-change]`), "7 days → 3 days") {
		t.Errorf("the proposal does not read as words: %q", waiting.text(`[data-testid=admin-change]`))
	}
	if after, _ := e.store.CurrentPolicy(context.Background()); after.Version != cur.Version {
		t.Error("a proposal took effect alone")
	}
}

// TestTheRefusalPageSaysWhatIsNeededInWords: a 403 names the role needed
// and the roles held, in a sentence, with no Go syntax.
func TestTheRefusalPageSaysWhatIsNeededInWords(t *testing.T) {
	e := newEnv(t)
	e.addUser("appr@example.com", auth.RoleApprover)
	page := e.signedIn("appr@example.com").get("/admin/users")
	msg := page.text(`[data-testid=error-message]`)
	if page.status != http.StatusForbidden || msg != "Only admins can do this; you have the approver role." {
		t.Errorf("403: %d %q", page.status, msg)
	}
	for _, bad := range []string{"[", "map[", "%!", "&{"} {
		if strings.Contains(page.text("main"), bad) {
			t.Errorf("the refusal page shows %q: %q", bad, page.text("main"))
		}
	}
}
