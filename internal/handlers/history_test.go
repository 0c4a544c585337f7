package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"drportal/internal/audit"
	"drportal/internal/auth"
	"drportal/internal/portal"
)

// TestTaskHistoryShowsPeopleFirstAndCloudCallsOnRequest: a task's history
// leaves the cloud calls out by default and says how many there are; a
// link (a plain GET, so it works without JavaScript) shows them, and
// another opens the audit history filtered to the task.
func TestTaskHistoryShowsPeopleFirstAndCloudCallsOnRequest(t *testing.T) {
	e := newEnv(t)
	id := e.createTask("dr_history1")
	// No job adds a cloud call between the two views compared below.
	e.stopWorkers()
	b := e.signedIn("admin@example.com")

	page := b.get("/dr-tasks/" + id)
	if n := page.doc.Find(`[data-testid=timeline-event][data-action="cloud.call"]`).Length(); n != 0 {
		t.Errorf("the default history shows %d cloud calls", n)
	}
	if page.doc.Find(`[data-testid=timeline-event]`).Length() == 0 {
		t.Error("the default history is empty")
	}
	toggle := page.doc.Find(`[data-testid=toggle-calls]`)
	m := regexp.MustCompile(`^Show cloud calls \((\d+)\)$`).FindStringSubmatch(toggle.Text())
	if m == nil || toggle.AttrOr("href", "") != "/dr-tasks/"+id+"?calls=1" {
		t.Fatalf("toggle %q → %q", toggle.Text(), toggle.AttrOr("href", ""))
	}
	if n, _ := strconv.Atoi(m[1]); n == 0 {
		t.Error("no cloud calls counted for a task the cloud created")
	}
	if href := page.attr(`[data-testid=full-history]`, "href"); href != "/audit?task="+id {
		t.Errorf("full history link %q", href)
	}

	all := b.get("/dr-tasks/" + id + "?calls=1")
	if n, _ := strconv.Atoi(m[1]); all.doc.Find(`[data-testid=timeline-event][data-action="cloud.call"]`).Length() != n {
		t.Errorf("asked for, %d cloud calls are shown; the toggle promised %d",
			all.doc.Find(`[data-testid=timeline-event][data-action="cloud.call"]`).Length(), n)
	}
	if all.text(`[data-testid=toggle-calls]`) != "Hide cloud calls" || all.attr(`#timeline`, "hx-get") != "/dr-tasks/"+id+"/timeline?calls=1" {
		t.Errorf("with the calls: toggle %q, refresh %q", all.text(`[data-testid=toggle-calls]`), all.attr(`#timeline`, "hx-get"))
	}
	frag := b.get("/dr-tasks/"+id+"/timeline", "HX-Request", "true")
	if frag.doc.Find(`[data-action="cloud.call"]`).Length() != 0 || frag.doc.Find(`[data-testid=toggle-calls]`).Length() != 1 {
		t.Error("the history's refresh brings the cloud calls back")
	}
}

// TestTheAuditPageCanHideCloudCalls: "hide cloud calls" leaves them out,
// stays checked, and the pages and exports keep it.
func TestTheAuditPageCanHideCloudCalls(t *testing.T) {
	e := newEnv(t)
	e.createTask("dr_history2")
	b := e.signedIn("admin@example.com")
	if b.get("/audit?hide_calls=0").doc.Find(`[data-testid=audit-row][data-action="cloud.call"]`).Length() == 0 {
		t.Fatal("no cloud calls on the audit page to hide")
	}
	page := b.get("/audit?hide_calls=1")
	if n := page.doc.Find(`[data-testid=audit-row][data-action="cloud.call"]`).Length(); n != 0 || page.doc.Find(`[data-testid=audit-row]`).Length() == 0 {
		t.Errorf("hidden, %d cloud calls remain", n)
	}
	if _, ok := page.doc.Find(`[data-testid=hide-calls]`).Attr("checked"); !ok {
		t.Error("the box is not kept checked")
	}
	if href := page.attr(`[data-testid=export-NDJSON]`, "href"); !regexp.MustCompile(`hide_calls=1`).MatchString(href) {
		t.Errorf("the export forgets the filter: %s", href)
	}
}

// TestTheAuditPageHidesCloudCallsUntilAskedToShowThem: like a task's
// history, the audit page leaves the cloud calls out by default, its box
// checked, and says so with a link that shows them; the filter form,
// unchecked, shows them and the URL keeps that. The exports are as they
// were: without the filter they hold the cloud calls. A cloud call's card
// has no subject field when it has no subject.
func TestTheAuditPageHidesCloudCallsUntilAskedToShowThem(t *testing.T) {
	e := newEnv(t)
	e.createTask("dr_history_calls1")
	b := e.signedIn("admin@example.com")
	calls := `[data-testid=audit-row][data-action="cloud.call"]`
	page := b.get("/audit")
	if n := page.doc.Find(calls).Length(); n != 0 || page.doc.Find(`[data-testid=audit-row]`).Length() == 0 {
		t.Errorf("by default the audit page shows %d cloud calls", n)
	}
	if _, ok := page.doc.Find(`[data-testid=hide-calls]`).Attr("checked"); !ok {
		t.Error("by default the hide box is not checked")
	}
	for _, x := range []string{"NDJSON", "CSV"} {
		if href := page.attr(`[data-testid=export-`+x+`]`, "href"); strings.Contains(href, "hide_calls") {
			t.Errorf("the default page's %s export leaves the calls out: %s", x, href)
		}
	}
	show := page.attr(`[data-testid=show-calls]`, "href")
	if !strings.Contains(show, "hide_calls=0") {
		t.Fatalf("the link that shows the calls: %q", show)
	}
	shown := b.get(show)
	if shown.doc.Find(calls).Length() == 0 {
		t.Errorf("%s shows no cloud calls", show)
	}
	if _, ok := shown.doc.Find(`[data-testid=hide-calls]`).Attr("checked"); ok || shown.doc.Find(`[data-testid=show-calls]`).Length() != 0 {
		t.Error("with the calls shown the box is still checked, or the link still offered")
	}
	if older := shown.attr(`[data-testid=older]`, "href"); older != "" && !strings.Contains(older, "hide_calls=0") {
		t.Errorf("the next page forgets that the calls are shown: %s", older)
	}
	// The form unchecked sends only its hidden 0; checked, its 1 first.
	if n := b.get("/audit?q=&hide_calls=0").doc.Find(calls).Length(); n == 0 {
		t.Error("the form, unchecked, shows no cloud calls")
	}
	if n := b.get("/audit?hide_calls=1&hide_calls=0").doc.Find(calls).Length(); n != 0 {
		t.Errorf("the form, checked, shows %d cloud calls", n)
	}
	if r := b.get("/audit?hide_calls=yes"); r.status != http.StatusBadRequest && r.status != http.StatusUnprocessableEntity {
		t.Errorf("hide_calls=yes: %d", r.status)
	}
	shown.doc.Find(calls).Each(func(_ int, row *goquery.Selection) {
		if cell := row.Find(`td[data-label=Subject]`); cell.Length() != 0 && strings.TrimSpace(cell.Text()) == "" {
			t.Errorf("cloud call %s has an empty subject field", row.AttrOr("data-id", "?"))
		}
	})
	export := b.get("/audit/export?format=ndjson")
	if export.status != http.StatusOK || !strings.Contains(export.body, `"cloud.call"`) {
		t.Errorf("an export without the filter: %d, cloud calls in it: %v", export.status, strings.Contains(export.body, `"cloud.call"`))
	}
}

// A requester's history leaves out other people's events, so its toggle
// gives no count that would tell of cloud calls they cannot see.
func TestTheCloudCallCountIsOnlyForThoseWhoSeeThemAll(t *testing.T) {
	e := newEnv(t)
	id := e.createTask("dr_history3")
	e.addUser("req2@example.com", auth.RoleRequester)
	e.fileOperation(e.signedIn("req@example.com"), id, "start", url.Values{"justification": {"CHG-1: start the drill now"}})
	for path, want := range map[string]string{"/dr-tasks/" + id: "Show cloud calls", "/dr-tasks/" + id + "/timeline": "Show cloud calls"} {
		got := e.signedIn("req2@example.com").get(path, "HX-Request", "true").text(`[data-testid=toggle-calls]`)
		if got != want {
			t.Errorf("another requester's %s: toggle %q, want %q", path, got, want)
		}
	}
	if got := e.signedIn("admin@example.com").get("/dr-tasks/" + id).text(`[data-testid=toggle-calls]`); !regexp.MustCompile(`^Show cloud calls \(\d+\)$`).MatchString(got) {
		t.Errorf("an admin's toggle %q", got)
	}
}

// A form sent with a typing mistake is recorded as a request not filed,
// never as something the cloud refused: the cloud was not asked.
func TestAFormMistakeIsNotCalledACloudRefusal(t *testing.T) {
	e := newEnv(t)
	id := e.createTask("dr_history4")
	req := e.signedIn("req@example.com")
	if r := e.fileOperation(req, id, "delete", url.Values{"confirm": {"not-the-cluster"}, "justification": {"CHG-2: decommission"}}); r.status != 422 {
		t.Fatalf("a wrong confirmation: %d", r.status)
	}
	ev := e.signedIn("admin@example.com").get("/dr-tasks/" + id).doc.Find(`[data-testid=timeline-event][data-action="dr_task.operation.rejected"]`)
	if ev.Length() != 1 || strings.Contains(ev.Text(), "cloud") || !strings.Contains(ev.Text(), "not filed") {
		t.Errorf("the history shows the mistake as %q", strings.Join(strings.Fields(ev.Text()), " "))
	}
}

// An operation's first status move starts from the status the task had
// before the call, not from nothing; and its accepted call says so whole.
func TestAnOperationsHistoryStartsFromTheStatusBefore(t *testing.T) {
	e := newEnv(t)
	id := e.createTask("dr_history5")
	start := requestIDFrom(t, e.fileOperation(e.signedIn("req@example.com"), id, "start", url.Values{"justification": {"CHG-3: protect the warehouse"}}))
	admin := e.signedIn("admin@example.com")
	e.decide(admin, start, "approve", "")
	e.waitRequest(start, portal.StatusSucceeded)
	got := strings.Join(strings.Fields(admin.get(fmt.Sprintf("/requests/%d", start)).text(`[data-testid=timeline]`)), " ")
	if !strings.Contains(got, "Not started → ") || strings.Contains(got, "(new)") || strings.Contains(got, "accepted: DR task Details") {
		t.Errorf("the start's history: %q", got)
	}
}

// TestALongTaskHistoryShowsTheNewest25AndLinksToTheRest: a task page shows
// the newest 25 events of its history, newest first, says so, and links to
// the audit history filtered to the task for the others.
func TestALongTaskHistoryShowsTheNewest25AndLinksToTheRest(t *testing.T) {
	e := newEnv(t)
	id := e.createTask("dr_history_long")
	e.stopWorkers()
	var notes []audit.Event
	for i := range 30 {
		ev := audit.Event{OccurredAt: time.Now(), Actor: audit.System, Action: audit.ActionTaskDrift, Outcome: audit.Info,
			SubjectType: audit.SubjectDRTask, SubjectID: id, Detail: audit.Detail(map[string]any{"note": fmt.Sprintf("drift note %02d", i)})}
		notes = append(notes, ev)
	}
	if _, err := e.store.AppendAudits(t.Context(), notes); err != nil {
		t.Fatal(err)
	}
	page := e.signedIn("admin@example.com").get("/dr-tasks/" + id)
	shown := page.doc.Find(`[data-testid=timeline-event]`)
	if shown.Length() != 25 {
		t.Fatalf("%d events shown, want the newest 25", shown.Length())
	}
	if first := shown.First().Text(); !strings.Contains(first, "drift note 29") {
		t.Errorf("the first event shown is not the newest: %q", first)
	}
	if strings.Contains(page.doc.Find(`#timeline`).Text(), "drift note 04") {
		t.Error("an event older than the newest 25 is shown")
	}
	more := page.doc.Find(`[data-testid=timeline-more]`)
	if !strings.Contains(more.Text(), "Only the newest 25 events are shown here") || more.Find("a").AttrOr("href", "") != "/audit?task="+id {
		t.Errorf("the line under the history: %q → %q", more.Text(), more.Find("a").AttrOr("href", ""))
	}
	// A viewer who sees only their own and the system's events of the
	// newest 25 is still told there are more: five of them are a person's.
	admin, err := e.store.UserByEmail(t.Context(), "admin@example.com")
	if err != nil {
		t.Fatal(err)
	}
	for i := range notes[:5] {
		notes[i].Actor = audit.Actor{ID: admin.ID, Name: admin.Email}
	}
	if _, err := e.store.AppendAudits(t.Context(), notes[:5]); err != nil {
		t.Fatal(err)
	}
	e.addUser("appr@example.com", auth.RoleApprover)
	mine := e.signedIn("appr@example.com").get("/dr-tasks/" + id)
	if mine.doc.Find(`[data-testid=timeline-event]`).Length() >= 25 || mine.doc.Find(`[data-testid=timeline-more]`).Length() != 1 {
		t.Errorf("an approver sees %d events and the line under them %q", mine.doc.Find(`[data-testid=timeline-event]`).Length(),
			mine.text(`[data-testid=timeline-more]`))
	}
}

// TestATaskHistoryBeginsWithItsFilingAndApproval: the events of the
// request that created a task were recorded before the task had an id;
// its page's history still begins with them (who filed it, who approved
// it), and holds no other request's filing.
func TestATaskHistoryBeginsWithItsFilingAndApproval(t *testing.T) {
	e := newEnv(t)
	id := e.createTask("dr_history_filed")
	other := e.createTask("dr_history_other")
	e.stopWorkers()
	page := e.signedIn("admin@example.com").get("/dr-tasks/" + id)
	events := page.doc.Find(`[data-testid=timeline-event]`)
	oldest := events.Last()
	if oldest.AttrOr("data-action", "") != audit.ActionRequestFiled || !strings.Contains(oldest.Text(), "req@example.com") {
		t.Errorf("the oldest event shown: %s %q", oldest.AttrOr("data-action", ""), strings.Join(strings.Fields(oldest.Text()), " "))
	}
	if !strings.Contains(page.doc.Find(`[data-action="`+audit.ActionRequestApproved+`"], [data-action="`+audit.ActionRequestDecision+`"]`).Text(), "admin@example.com") {
		t.Error("the approval is not in the task's history")
	}
	if n := page.doc.Find(`[data-action="` + audit.ActionRequestFiled + `"]`).Length(); n != 1 {
		t.Errorf("%d filings in the history of a task filed once", n)
	}
	if strings.Contains(page.doc.Find(`#timeline`).Text(), "dr_history_other") {
		t.Errorf("the history of %s shows the filing of %s", id, other)
	}
	// Each step names its request, which links to it.
	create := oldest.Find(`[data-testid=event-request]`)
	if !strings.HasPrefix(create.AttrOr("href", ""), "/requests/") || create.Text() != "request #"+strings.TrimPrefix(create.AttrOr("href", ""), "/requests/") {
		t.Errorf("the filing's request link: %q → %q", create.Text(), create.AttrOr("href", ""))
	}
	if page.doc.Find(`[data-testid=timeline-partial]`).Length() != 0 {
		t.Error("an admin is told they see part of the history")
	}
	// An approver sees their own actions and the system's, and is told so.
	e.addUser("appr@example.com", auth.RoleApprover)
	for _, url := range []string{"/dr-tasks/" + id, create.AttrOr("href", "")} {
		seen := e.signedIn("appr@example.com").get(url)
		if seen.doc.Find(`[data-action="`+audit.ActionRequestFiled+`"]`).Length() != 0 ||
			!strings.Contains(seen.text(`[data-testid=timeline-partial]`), "your own actions and the system's") {
			t.Errorf("%s for an approver: %q", url, strings.Join(strings.Fields(seen.text(`[data-testid=timeline]`)), " "))
		}
	}
}
