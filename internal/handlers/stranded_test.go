package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"drportal/internal/auth"
	"drportal/internal/db"
	"drportal/internal/portal"
)

// The tests of this file cover requests nobody could approve, decisions
// on names, pending work where people look, and duplicate and stale
// requests.

func TestALoneAdminIsToldBeforeFilingThatNobodyCouldApprove(t *testing.T) {
	e := newEnv(t) // admin (every role), req (requester), audit: admin is the only approver
	admin := e.signedIn("admin@example.com")

	form := admin.get("/dr-tasks/new")
	warn := form.text(`[data-testid=approver-shortfall]`)
	if !strings.Contains(warn, "Nobody could approve this request") || form.attr(`[data-testid=approver-shortfall] a[data-testid=add-approver]`, "href") != "/admin/users" {
		t.Errorf("the create form of a lone admin says %q (link %q)", warn, form.attr(`[data-testid=add-approver]`, "href"))
	}
	// A requester with an approver beside them is told who that is.
	req := e.signedIn("req@example.com")
	form = req.get("/dr-tasks/new")
	if form.text(`[data-testid=approver-shortfall]`) != "" || !strings.Contains(form.text(`[data-testid=approvers-hint]`), "Who can approve: admin.") {
		t.Errorf("the requester's create form: shortfall %q, hint %q", form.text(`[data-testid=approver-shortfall]`), form.text(`[data-testid=approvers-hint]`))
	}

	// The empty task list explains the second person, and where to add one.
	list := admin.get("/dr-tasks")
	if !strings.Contains(list.text(`[data-testid=empty]`), "another person") ||
		list.attr(`[data-testid=empty-no-approver] a[data-testid=add-approver]`, "href") != "/admin/users" {
		t.Errorf("the empty list says %q", list.text(`[data-testid=empty]`))
	}

	// Filed anyway, the request says it cannot get its approvals.
	primary, standby := admin.formPair()
	id := e.fileCreate(admin, validForm(primary, standby))
	page := admin.get(fmt.Sprintf("/requests/%d", id))
	if !strings.Contains(page.text(`[data-testid=stuck]`), "nobody can still give one") {
		t.Errorf("the stranded request says %q", page.text(`[data-testid=stuck]`))
	}
	// An approver added now does not count for it, and is not offered.
	e.addUser("late@example.com", auth.RoleApprover)
	page = admin.get(fmt.Sprintf("/requests/%d", id))
	if page.text(`[data-testid=approver]`) != "" || page.text(`[data-testid=stuck]`) == "" {
		t.Errorf("a later approver is offered: %q", page.text(`[data-testid=who-can-approve]`))
	}
}

func TestARequesterWhoseNonAdminFormLacksApproversIsSentToAnAdmin(t *testing.T) {
	e := newEnv(t)
	e.addUser("solo@example.com", auth.RoleRequester, auth.RoleApprover) // not an admin
	e.addUser("boss@example.com", auth.RoleAdmin)
	// Deactivate the only other approver: solo is left alone.
	if err := e.store.InTx(context.Background(), func(tx *db.Tx) error {
		u, err := tx.UserByEmail(context.Background(), "admin@example.com")
		if err != nil {
			return err
		}
		return tx.SetActive(context.Background(), u.ID, false, time.Now())
	}); err != nil {
		t.Fatal(err)
	}
	form := e.signedIn("solo@example.com").get("/dr-tasks/new")
	if w := form.text(`[data-testid=approver-shortfall]`); !strings.Contains(w, "Ask an admin") || form.attr(`[data-testid=add-approver]`, "href") != "" {
		t.Errorf("a non-admin's shortfall says %q", w)
	}
}

func TestTheRequestPageSaysWhoCanApproveAndHowManyMore(t *testing.T) {
	e := newEnv(t)
	e.addUser("bob@example.com", auth.RoleApprover)
	req := e.signedIn("req@example.com")
	primary, standby := req.formPair()
	id := e.fileCreate(req, validForm(primary, standby))

	page := req.get(fmt.Sprintf("/requests/%d", id))
	var who []string
	page.doc.Find(`[data-testid=approver]`).Each(func(_ int, s *goquery.Selection) { who = append(who, s.Text()) })
	if strings.Join(who, ",") != "admin,bob" || page.text(`[data-testid=more-needed]`) != "1 more approval needed" || page.text(`[data-testid=stuck]`) != "" {
		t.Errorf("who can approve %v, more %q, stuck %q", who, page.text(`[data-testid=more-needed]`), page.text(`[data-testid=stuck]`))
	}
}

func TestThePolicyPageWarnsWhenACountExceedsTheApprovers(t *testing.T) {
	e := newEnv(t) // one approver: admin
	page := e.signedIn("admin@example.com").get("/admin/policy")
	if w := page.text(`[data-testid=policy-warning-switchover]`); !strings.Contains(w, "Needs 2 approvals, but there is 1 active approver") {
		t.Errorf("switchover (2) with one approver: %q", w)
	}
	if w := page.text(`[data-testid=policy-warning-create]`); !strings.Contains(w, "could not be approved") {
		t.Errorf("create (1) with one approver: %q", w)
	}
	e.addUser("bob@example.com", auth.RoleApprover)
	e.addUser("carol@example.com", auth.RoleApprover)
	page = e.signedIn("admin@example.com").get("/admin/policy")
	if w := page.text(`[data-testid=policy-warning-switchover]`) + page.text(`[data-testid=policy-warning-create]`); w != "" {
		t.Errorf("three approvers still warned: %q", w)
	}
}

func TestApproversDecideOnNamesNotIDs(t *testing.T) {
	e := newEnv(t)
	req := e.signedIn("req@example.com")
	primary, standby := req.formPair()
	id := e.fileCreate(req, validForm(primary, standby))
	p, s := e.clusterByID(primary), e.clusterByID(standby)

	page := e.signedIn("admin@example.com").get(fmt.Sprintf("/requests/%d", id))
	want := map[string]string{
		"operation":       "Create DR task",
		"dr-task":         "dr_demo01",
		"primary-cluster": p.Name + " · " + p.AZ + " · " + p.Version + " · " + strings.Split(p.ID, "-")[0],
		"standby-cluster": s.Name + " · " + s.AZ + " · " + s.Version + " · " + strings.Split(s.ID, "-")[0],
		"sync-period":     "every 5 minutes",
	}
	for k, v := range want {
		if got := page.text(`[data-testid=summary-` + k + `]`); got != v {
			t.Errorf("summary %s: %q, want %q", k, got, v)
		}
	}

	// An operation shows the task's status and RPO/RTO from the portal's copy,
	// and links the task by its name.
	task := e.createTask("dr_names1")
	start := requestIDFrom(t, e.fileOperation(req, task, "start", url.Values{"justification": {"protect it"}}))
	e.decide(e.signedIn("admin@example.com"), start, "approve", "")
	e.waitRequest(start, portal.StatusSucceeded)
	eventually(t, "the portal's copy to have RPO and RTO", func() bool {
		e.clock.Advance(time.Second)
		// Before the first sync the RPO says there is none yet.
		return strings.Contains(req.get("/dr-tasks/"+task).text(`[data-testid=rpo]`), "second")
	})
	stop := requestIDFrom(t, e.fileOperation(req, task, "stop", url.Values{"justification": {"maintenance"}}))
	page = req.get(fmt.Sprintf("/requests/%d", stop))
	if !strings.HasPrefix(page.text(`[data-testid=summary-status-now]`), "Running") || !strings.Contains(page.text(`[data-testid=summary-rpo-rto]`), "second") ||
		page.text(`[data-testid=task-link]`) != "dr_names1" {
		t.Errorf("stop request: status %q, RPO/RTO %q, task link %q", page.text(`[data-testid=summary-status-now]`),
			page.text(`[data-testid=summary-rpo-rto]`), page.text(`[data-testid=task-link]`))
	}
}

func TestPendingWorkShowsWherePeopleLook(t *testing.T) {
	e := newEnv(t)
	e.addUser("bob@example.com", auth.RoleApprover)
	req := e.signedIn("req@example.com")
	primary, standby := req.formPair()
	form := validForm(primary, standby)
	form.Set("name", "dr_pending1")
	id := e.fileCreate(req, form)

	// Right after filing: what happens next, and who can approve.
	filed := req.get(fmt.Sprintf("/requests/%d", id))
	if f := filed.text(`[data-testid=flash]`); !strings.Contains(f, "Nothing has been sent to the cloud") || !strings.Contains(f, "admin and bob") {
		t.Errorf("after filing: %q", f)
	}
	if again := req.get(fmt.Sprintf("/requests/%d", id)); again.text(`[data-testid=flash]`) != "" {
		t.Error("the note shows twice")
	}

	// The task list shows the create where the task will appear.
	list := req.get("/dr-tasks")
	row := list.text(fmt.Sprintf(`[data-testid=pending-create][data-id="%d"]`, id))
	if !strings.Contains(row, "dr_pending1") || !strings.Contains(row, "Awaiting approval 0 of 1") || !strings.Contains(row, fmt.Sprintf("request #%d", id)) {
		t.Errorf("pending create row: %q", row)
	}
	// Approvers are told on landing.
	if b := e.signedIn("bob@example.com").get("/dr-tasks").text(`[data-testid=awaiting-banner]`); !strings.Contains(b, "1 request awaits your approval") {
		t.Errorf("approver's landing banner: %q", b)
	}
	if b := list.text(`[data-testid=awaiting-banner]`); b != "" {
		t.Errorf("a requester sees %q", b)
	}

	// A pending operation is a chip on its task, in the list and on its page.
	task := e.createTask("dr_pending2")
	start := requestIDFrom(t, e.fileOperation(req, task, "start", url.Values{"justification": {"protect it"}}))
	want := fmt.Sprintf("Start · Awaiting approval 0 of 1 · request #%d", start)
	list = req.get("/dr-tasks")
	if chip := list.text(fmt.Sprintf(`[data-testid=task-row][data-id="%s"] [data-testid=request-chip]`, task)); chip != want {
		t.Errorf("task list chip %q, want %q", chip, want)
	}
	if chip := req.get("/dr-tasks/" + task).text(`[data-testid=request-chip]`); chip != want {
		t.Errorf("task page chip %q, want %q", chip, want)
	}
}

func TestASecondIdenticalPendingRequestIsRefusedWithALinkToTheFirst(t *testing.T) {
	e := newEnv(t)
	e.addUser("bob@example.com", auth.RoleApprover)
	req := e.signedIn("req@example.com")
	task := e.createTask("dr_twice1")

	first := requestIDFrom(t, e.fileOperation(req, task, "start", url.Values{"justification": {"protect it"}}))
	before, _ := e.store.CountRequests(context.Background(), db.RequestFilter{})
	again := e.fileOperation(req, task, "start", url.Values{"justification": {"protect it again"}})
	if again.status != http.StatusConflict || !strings.Contains(again.text(`[data-testid=twin]`), fmt.Sprintf("already pending: request #%d", first)) ||
		again.attr(`[data-testid=twin] a`, "href") != fmt.Sprintf("/requests/%d", first) {
		t.Errorf("second start: %d %q link %q", again.status, again.text(`[data-testid=twin]`), again.attr(`[data-testid=twin] a`, "href"))
	}
	if after, _ := e.store.CountRequests(context.Background(), db.RequestFilter{}); after != before {
		t.Error("the duplicate was filed")
	}
	// The form says so before anyone fills it in.
	if f := req.get("/dr-tasks/" + task + "/operations/start"); f.attr(`[data-testid=twin] a`, "href") != fmt.Sprintf("/requests/%d", first) {
		t.Errorf("the start form does not link the pending request: %q", f.text(`[data-testid=twin]`))
	}
	// Another operation on the same task is not a duplicate.
	requestIDFrom(t, e.fileOperation(req, task, "update", url.Values{"dr_sync_period": {"10m"}, "justification": {"tune the sync period"}}))

	// Two creates of one name (ignoring case): the second is refused.
	primary, standby := req.formPairExcluding(e.busyClusters()...)
	form := validForm(primary, standby)
	form.Set("name", "dr_same01")
	create := e.fileCreate(req, form)
	form.Set("name", "DR_SAME01")
	res := req.post("/dr-tasks", form)
	if res.status != http.StatusConflict || res.attr(`[data-testid=twin] a`, "href") != fmt.Sprintf("/requests/%d", create) {
		t.Errorf("second create of one name: %d %q", res.status, res.text(`[data-testid=submit-error]`))
	}
}

func TestARequestThatCanNoLongerRunCannotBeApproved(t *testing.T) {
	e := newEnv(t)
	req := e.signedIn("req@example.com")
	admin := e.signedIn("admin@example.com")
	task := e.createTask("dr_stale01")
	// Both are possible while the task is not started.
	start := requestIDFrom(t, e.fileOperation(req, task, "start", url.Values{"justification": {"protect it"}}))
	update := requestIDFrom(t, e.fileOperation(req, task, "update", url.Values{"dr_sync_period": {"10m"}, "justification": {"tune the sync period"}}))
	e.decide(admin, start, "approve", "")
	e.waitRequest(start, portal.StatusSucceeded)

	// Running, the task can no longer have its period changed.
	history := func() int {
		evs, err := e.store.RequestTimeline(context.Background(), update, 500)
		if err != nil {
			t.Fatal(err)
		}
		return len(evs)
	}
	audits := history()
	page := admin.get(fmt.Sprintf("/requests/%d", update))
	if !strings.Contains(page.text(`[data-testid=cannot-run]`), "not possible while the task is running") ||
		page.doc.Find(`[data-testid=approve]`).Length() != 0 || page.doc.Find(`[data-testid=reject]`).Length() != 1 {
		t.Errorf("stale request page: cannot-run %q, approve buttons %d", page.text(`[data-testid=cannot-run]`), page.doc.Find(`[data-testid=approve]`).Length())
	}
	if n := history(); n != audits {
		t.Errorf("viewing the page wrote %d audit events", n-audits)
	}
	res := e.decide(admin, update, "approve", "")
	if res.status != http.StatusConflict || !strings.Contains(res.text(`[data-testid=card-error]`), "cannot run") {
		t.Errorf("approving a stale request: %d %q", res.status, res.text(`[data-testid=card-error]`))
	}
	if r := e.waitRequest(update, portal.StatusPending); r.Status != portal.StatusPending {
		t.Errorf("the stale request is %s", r.Status)
	}
	if res := e.decide(admin, update, "reject", "superseded by the start"); res.status != http.StatusSeeOther {
		t.Errorf("rejecting a stale request: %d %s", res.status, res.text(`[data-testid=card-error]`))
	}
}

func TestPreconditionsAreWordedPerOperation(t *testing.T) {
	e := newEnv(t)
	req := e.signedIn("req@example.com")
	task := e.createTask("dr_words01")
	start := requestIDFrom(t, e.fileOperation(req, task, "start", url.Values{"justification": {"protect it"}}))
	ok := req.get(fmt.Sprintf("/requests/%d", start)).text(`[data-testid=preconditions-ok]`)
	if strings.Contains(ok, "name is free") || !strings.Contains(ok, "so it can be started") {
		t.Errorf("a start's preconditions say %q", ok)
	}
}

// With fewer approvers than the policy asks for an operation, the form
// names the other way out besides another approver: a lower policy, which
// the approvers there are could meet (never below the operation's floor).
func TestAShortfallNamesTheLowerPolicyWayOut(t *testing.T) {
	e := newEnv(t)
	id := e.createTask("dr_lower01")
	// req: one approver (admin) for a delete that needs two by default.
	form := e.signedIn("req@example.com").get("/dr-tasks/" + id + "/operations/delete")
	if w := strings.Join(strings.Fields(form.text(`[data-testid=approver-shortfall]`)), " "); !strings.Contains(w, "Ask an admin to give another person the approver role, or to lower what the approval policy asks for this to 1 approval.") {
		t.Errorf("a requester's shortfall says %q", w)
	}
	// An admin with one other approver is linked to the policy too.
	e.addUser("bob@example.com", auth.RoleApprover)
	form = e.signedIn("admin@example.com").get("/dr-tasks/" + id + "/operations/delete")
	if form.attr(`[data-testid=lower-policy]`, "href") != "/admin/policy" || !strings.Contains(form.text(`[data-testid=lower-policy]`), "1 approval") ||
		form.attr(`[data-testid=add-approver]`, "href") != "/admin/users" {
		t.Errorf("an admin's shortfall: %q", strings.Join(strings.Fields(form.text(`[data-testid=approver-shortfall]`)), " "))
	}
}

// TestATaskPageChipCountsTheApprovalsGiven: a pending operation's chip on
// its task's page says how many of the approvals it needs it has.
func TestATaskPageChipCountsTheApprovalsGiven(t *testing.T) {
	e := newEnv(t)
	e.addUser("bob@example.com", auth.RoleApprover)
	id := e.runningTask("dr_chip01")
	req := e.signedIn("req@example.com")
	sw, confirm := e.pendingOperation(req, id, "switchover", nil)
	if r := e.approve(e.signedIn("bob@example.com"), sw, confirm, password); r.status != http.StatusSeeOther {
		t.Fatalf("approve: %d %q", r.status, r.text("main"))
	}
	want := fmt.Sprintf("Switchover · Awaiting approval 1 of 2 · request #%d", sw)
	if chip := req.get("/dr-tasks/" + id).text(`[data-testid=request-chip]`); chip != want {
		t.Errorf("task page chip %q, want %q", chip, want)
	}
}
