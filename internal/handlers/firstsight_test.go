package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"drportal/internal/db"
	"drportal/internal/dwssim"
	"drportal/internal/portal"
)

// lastSyncCell is the task list's "Last sync" of the task with id.
func lastSyncCell(r response, id string) string {
	return strings.TrimSpace(r.doc.Find(`[data-testid=task-row][data-id="` + id + `"] td[data-label="Last sync"]`).Text())
}

// clusterField is a field of a cluster card of the task page.
func clusterField(r response, side, label string) string {
	var out string
	r.doc.Find(`[data-testid=cluster-` + side + `] dt`).Each(func(_ int, dt *goquery.Selection) {
		if strings.TrimSpace(dt.Text()) == label {
			out = strings.TrimSpace(dt.Next().Text())
		}
	})
	return out
}

func TestBeforeTheFirstSyncThereIsNoRPOAndSwitchoverWarnsThatNothingIsSynchronised(t *testing.T) {
	// A sync cycle of 5 simulated minutes for a 5-minute period: the
	// simulator's clock, moved on while the test waits for the executor,
	// completes no sync before the test has looked at the running task.
	e := newEnv(t, withSim(func(o *dwssim.Options) { o.SyncScale = 1 }))
	id := e.createTask("first_sync")
	req := e.signedIn("req@example.com")
	admin := e.signedIn("admin@example.com")

	// Never synced: the list and the page say it in the same words.
	list := req.get("/dr-tasks")
	if got := lastSyncCell(list, id); got != "never" {
		t.Errorf("task list's last sync before any sync: %q", got)
	}
	if got := clusterField(req.get("/dr-tasks/"+id), "standby", "Last successful sync"); got != "never" {
		t.Errorf("task page's last sync before any sync: %q", got)
	}

	start := requestIDFrom(t, e.fileOperation(req, id, "start", url.Values{"justification": {"protect it now"}}))
	e.decide(admin, start, "approve", "")
	e.waitRequest(start, portal.StatusSucceeded)

	// Running, with the cloud's progress read, and no sync completed yet
	// (the simulator's clock stands still).
	var page response
	eventually(t, "the running task's page with its progress", func() bool {
		page = req.get("/dr-tasks/" + id)
		return strings.Join(opButtons(page), ",") == "stop,switchover" && page.text(`[data-testid=rpo]`) != ""
	})
	if got := clusterField(page, "standby", "Last successful sync"); got != "never" {
		t.Fatalf("the standby has synced already (%q): the test needs a task before its first sync", got)
	}
	rpo := page.text(`[data-testid=rpo]`)
	if regexp.MustCompile(`[0-9]`).MatchString(rpo) || !strings.Contains(rpo, "no sync has completed") {
		t.Errorf("RPO before the first sync: %q", rpo)
	}

	// Switchover is allowed by the API from running: it is offered, and
	// its consequence says plainly that nothing is synchronised yet.
	form := req.get("/dr-tasks/" + id + "/operations/switchover")
	if c := form.text(`[data-testid=consequence]`); !strings.Contains(c, "No data has been synchronised yet") {
		t.Errorf("switchover consequence before the first sync: %q", c)
	}
	confirm := form.text(`label[for=confirm] .mono`)
	sw := requestIDFrom(t, e.fileOperation(req, id, "switchover", url.Values{"confirm": {confirm}, "justification": {"drill before the first sync"}}))
	card := admin.get(fmt.Sprintf("/requests/%d", sw))
	if c := card.text(`[data-testid=consequence]`); !strings.Contains(c, "No data has been synchronised yet") {
		t.Errorf("the switchover request's consequence: %q", c)
	}
	if got := card.text(`[data-testid=summary-rpo-rto]`); regexp.MustCompile(`[0-9]`).MatchString(got) || !strings.Contains(got, "no sync has completed") {
		t.Errorf("the request's RPO / RTO before the first sync: %q", got)
	}

	// Once a sync has completed, the RPO is the cloud's figure and the
	// list and the page show the same time.
	// The simulator's clock moves a minute at a time, and the task is read
	// from the cloud right after, as the poller would.
	eventually(t, "a completed sync", func() bool {
		e.clock.Advance(time.Minute)
		row, err := e.store.Task(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.tasks.Refresh(context.Background(), row); err != nil {
			t.Fatal(err)
		}
		page = req.get("/dr-tasks/" + id)
		return clusterField(page, "standby", "Last successful sync") != "never"
	})
	eventually(t, "the RPO figure", func() bool {
		page = req.get("/dr-tasks/" + id)
		return !strings.Contains(page.text(`[data-testid=rpo]`), "none yet")
	})
	if rpo := page.text(`[data-testid=rpo]`); !regexp.MustCompile(`[0-9]`).MatchString(rpo) {
		t.Errorf("RPO after a sync: %q", rpo)
	}
	eventually(t, "the list's last sync", func() bool {
		return lastSyncCell(req.get("/dr-tasks"), id) != "never"
	})
}

func TestAFinishedRequestSaysWhatWasSentInThePastAndNoLongerExpires(t *testing.T) {
	e := newEnv(t)
	admin := e.signedIn("admin@example.com")
	card := func(id int64) (heading, expires string, hasExpires bool) {
		r := admin.get(fmt.Sprintf("/requests/%d", id))
		var found bool
		r.doc.Find(`dt`).Each(func(_ int, dt *goquery.Selection) {
			if strings.Contains(dt.Text(), "Expires") {
				found = true
			}
		})
		return r.text(`[data-testid=call-heading]`), r.text(`[data-testid=expires]`), found
	}

	pending := e.pendingCreate("dr_told01")
	if h, exp, has := card(pending); h != "What will be sent" || exp == "" || !has {
		t.Errorf("pending: heading %q, expiry %q", h, exp)
	}

	// Rejected: never sent, and nothing left to expire.
	if r := e.decide(admin, pending, "reject", "not this week"); r.status != 303 {
		t.Fatalf("reject: %d", r.status)
	}
	if h, _, has := card(pending); h != "What was asked (never sent)" || has {
		t.Errorf("rejected: heading %q, expiry line shown: %v", h, has)
	}

	// Succeeded: it was sent.
	id := e.createTask("dr_told02")
	reqs, err := e.store.ListRequests(t.Context(), db.RequestFilter{Status: portal.StatusSucceeded}, 10)
	if err != nil || len(reqs) != 1 || reqs[0].DRTaskID != id {
		t.Fatalf("succeeded requests: %v %+v", err, reqs)
	}
	if h, _, has := card(reqs[0].ID); h != "What was sent" || has {
		t.Errorf("succeeded: heading %q, expiry line shown: %v", h, has)
	}
}

func TestAFormThatWasNotFiledHasASummaryInTheAuditLog(t *testing.T) {
	e := newEnv(t)
	req := e.signedIn("req@example.com")
	id := e.createTask("dr_audit01")
	if r := e.fileOperation(req, id, "update", url.Values{"dr_sync_period": {"5h"}, "justification": {"tune the sync period"}}); r.status != 422 {
		t.Fatalf("update with a bad period: %d", r.status)
	}
	primary, standby := req.formPairExcluding(e.busyClusters()...)
	form := validForm(primary, standby)
	form.Set("name", "1-bad name")
	if r := req.post("/dr-tasks", form); r.status != 422 {
		t.Fatalf("create with a bad name: %d", r.status)
	}

	page := e.signedIn("audit@example.com").get("/audit?action=dr_task")
	for action, want := range map[string]string{
		"dr_task.operation.rejected": "Change sync period not filed: ",
		"dr_task.create.rejected":    "Create of 1-bad name not filed: ",
	} {
		got := strings.TrimSpace(page.doc.Find(`[data-testid=audit-row][data-action="` + action + `"] [data-testid=audit-summary]`).First().Text())
		if !strings.HasPrefix(got, want) || len(got) <= len(want)+10 {
			t.Errorf("%s summary %q, want it to start %q and say why", action, got, want)
		}
	}
}

func TestASessionsCardIsHeadedByItsBrowserAndSystemInWords(t *testing.T) {
	e := newEnv(t)
	signInAs := func(ua string) *browser {
		b := e.browser()
		b.header = http.Header{"User-Agent": {ua}}
		if res := b.post("/signin", url.Values{"email": {"req@example.com"}, "password": {password}}); res.status != http.StatusSeeOther {
			t.Fatalf("sign in: %d", res.status)
		}
		return b
	}
	signInAs("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0")
	me := signInAs("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36")

	page := me.get("/profile")
	var headings []string
	page.doc.Find(`[data-testid=session-row]`).Each(func(_ int, row *goquery.Selection) {
		cell := row.Find(`td.card-title`)
		if _, labelled := cell.Attr("data-label"); labelled {
			t.Errorf("the card heading is labelled %q: on a phone it reads as a field", cell.AttrOr("data-label", ""))
		}
		headings = append(headings, strings.Join(strings.Fields(cell.Text()), " "))
	})
	slices.Sort(headings)
	if want := []string{"Chrome on Linux this session", "Firefox on Windows"}; !slices.Equal(headings, want) {
		t.Errorf("session headings %q, want %q", headings, want)
	}
}

func TestThePolicyPageShowsTheValuesInEffectApartFromAWaitingChange(t *testing.T) {
	e := newEnv(t)
	admin := e.signedIn("admin@example.com")
	cur, err := e.store.CurrentPolicy(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"pending_ttl": {cur.PendingTTL.String()}, "approval_ttl": {cur.ApprovalTTL.String()}}
	for _, op := range portal.Operations {
		form.Set("approvals_"+string(op), fmt.Sprint(cur.Approvals[op]))
	}
	form.Set("approvals_create", "3")
	if r := admin.post("/admin/policy", form); r.status != http.StatusSeeOther {
		t.Fatalf("propose: %d", r.status)
	}
	page := admin.get("/admin/policy")
	inEffect := page.doc.Find(`[data-testid=policy-in-effect]`)
	createNow := ""
	inEffect.Find(`dt`).Each(func(_ int, dt *goquery.Selection) {
		if dt.Text() == portal.OpCreate.Label() {
			createNow = dt.Next().Text()
		}
	})
	if want := portal.Plural(cur.Approvals[portal.OpCreate], "approval", "approvals"); createNow != want {
		t.Errorf("in effect, create needs %q; want %q (the waiting change must not show as in effect)", createNow, want)
	}
	if waiting := page.text(`[data-testid=admin-change]`); !strings.Contains(waiting, "3") {
		t.Errorf("the waiting change: %q", waiting)
	}
	var headings []string
	page.doc.Find(`main h2`).Each(func(_ int, h *goquery.Selection) { headings = append(headings, h.Text()) })
	joined := strings.Join(headings, " | ")
	if !strings.Contains(joined, fmt.Sprintf("In effect: version %d", cur.Version)) || !strings.Contains(joined, "Waiting for a second admin") {
		t.Errorf("headings %q do not name what is in effect and what waits", joined)
	}
}

func TestTheNewUserFormTicksNoRoleAndSaysWhenTheRolesTakeEffect(t *testing.T) {
	e := newEnv(t)
	admin := e.signedIn("admin@example.com")
	page := admin.get("/admin/users")
	if n := page.doc.Find(`[data-testid=new-user-form] input[name=roles]:checked`).Length(); n != 0 {
		t.Errorf("%d roles ticked by default", n)
	}
	// The only admin of an install that never had two: grants are at once,
	// and the form, the sole-admin note and the outcome agree.
	if when := page.text(`[data-testid=roles-when]`); !strings.Contains(when, "take effect at once") {
		t.Errorf("sole admin's form says %q", when)
	}
	if strings.Contains(page.text("main"), "take effect when another admin approves") {
		t.Error("the sole admin's page says roles wait for another admin")
	}
	if r := admin.post("/admin/users", url.Values{"email": {"ana@example.com"}, "display_name": {"Ana"},
		"password": {"ana's long password"}, "roles": {"admin", "approver"}}); r.status != http.StatusSeeOther {
		t.Fatalf("create: %d", r.status)
	}
	if u, err := e.store.UserByEmail(t.Context(), "ana@example.com"); err != nil || !u.Has(portal.RoleAdmin) {
		t.Fatalf("the sole admin's grant did not take effect at once: %v %+v", err, u)
	}

	// Two admins now: what the next new account's roles do is said as it is.
	page = admin.get("/admin/users")
	if when := page.text(`[data-testid=roles-when]`); !strings.Contains(when, "wait until another admin approves") {
		t.Errorf("with two admins the form says %q", when)
	}
	if r := admin.post("/admin/users", url.Values{"email": {"bo@example.com"}, "display_name": {"Bo"},
		"password": {"bo's long password!"}, "roles": {"requester"}}); r.status != http.StatusSeeOther {
		t.Fatalf("create: %d", r.status)
	}
	if u, err := e.store.UserByEmail(t.Context(), "bo@example.com"); err != nil || len(u.Roles) != 0 {
		t.Errorf("with two admins the roles should wait: %v %+v", err, u)
	}
}

func TestDecoupledAndEncryptedClustersCannotBeChosenAsPrimaries(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("req@example.com")
	option := func(r response, name string) (label string, disabled bool) {
		o := r.doc.Find(`#primary_cluster_id option[value="` + e.cluster(name).ID + `"]`)
		_, disabled = o.Attr("disabled")
		return o.Text(), disabled
	}
	// The background sync asks the cloud for each primary's standbys, a
	// bounded number a round; its refusals are what the form knows.
	var form response
	eventually(t, "the refusals of both primaries in the portal's copy", func() bool {
		all, err := e.store.StandbyCandidates(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return all[e.cluster(dwssim.ClusterDWS3).ID].Refusal != "" && all[e.cluster(dwssim.ClusterEncrypted).ID].Refusal != ""
	})
	form = b.get("/dr-tasks/new")
	for name, want := range map[string]string{
		dwssim.ClusterDWS3:      "storage-compute decoupled",
		dwssim.ClusterEncrypted: "encrypted: DWS does not support DR for encrypted clusters",
	} {
		if label, disabled := option(form, name); !disabled || !strings.Contains(label, want) {
			t.Errorf("primary option %s: disabled %v, label %q; want disabled with %q", name, disabled, label, want)
		}
	}
	if label, disabled := option(form, dwssim.ClusterProd1); disabled {
		t.Errorf("an eligible primary is disabled: %q", label)
	}
}
