package main

import (
	"context"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"drportal/internal/dws"
	"drportal/internal/dwssim"
	"drportal/internal/portal"
	"drportal/internal/testdb"
)

// TestBrowserADrillIsFiledApprovedAndItsEvidenceShown: a requester files a
// drill on a running, synchronised task from its page, two approvers
// approve it typing the cluster's name, and the task page then shows the
// drill's RTO and RPO and leads to the task's drill history.
func TestBrowserADrillIsFiledApprovedAndItsEvidenceShown(t *testing.T) {
	const project, ak, sk = "0123456789abcdef0123456789abcd12", "DRILLBROWSERAK000000", "drillbrowsersk0000000000000000000000000"
	sim, err := dwssim.New(dwssim.Options{Credentials: map[string]string{ak: sk}, Speed: 4})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(sim)
	t.Cleanup(api.Close)

	// A task running and synchronised in the cloud before the portal starts.
	client, err := dws.New(dws.Config{Endpoint: api.URL, ProjectID: project, AK: ak, SK: sk, BaseBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p1, _ := sim.Cluster(project, dwssim.ClusterProd1)
	s1, _ := sim.Cluster(project, dwssim.ClusterDR1)
	id, err := client.Create(ctx, portal.CreateSpec{Name: "dr_drill_ui", DRType: "az", PrimaryClusterID: p1.ID,
		StandbyClusterID: s1.ID, SyncPeriod: "5m"})
	if err != nil {
		t.Fatal(err)
	}
	waitTask := func(what string, ok func(portal.Task) bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			if tk, err := client.Get(ctx, id); err == nil && ok(tk) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the task never became %s", what)
			}
		}
	}
	waitTask("not started", func(tk portal.Task) bool { return tk.Status == portal.TaskUnstart })
	if err := client.Operate(ctx, portal.OpStart, id, nil); err != nil {
		t.Fatal(err)
	}
	waitTask("running and synchronised", func(tk portal.Task) bool {
		return tk.Status == portal.TaskRunning && tk.Standby.LastSuccessTime != ""
	})

	env := map[string]string{"DATABASE_URL": testdb.NewURL(t), "HTTP_ADDR": "127.0.0.1:0", "LOG_LEVEL": "warn",
		"ADMIN_EMAIL": "ops@example.com", "ADMIN_PASSWORD": "a long enough password",
		"DWS_ENDPOINT": api.URL, "DWS_PROJECT_ID": project, "DWS_AK": ak, "DWS_SK": sk}
	base, _ := startPortal(t, env)

	bctx := newBrowser(t)
	signIn(t, bctx, base, "ops@example.com", "a long enough password")
	// Two approvers: a drill needs a switchover's two approvals. The
	// second admin comes last, so that the first grant needs no second admin.
	for _, u := range []struct{ email, name string }{{"bo@example.com", "Bo"}, {"ana@example.com", "Ana"}} {
		actions := []chromedp.Action[chromedp.Void]{
			chromedp.Navigate(base + "/admin/users"),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=new-user-form]`)),
			chromedp.SendKeys(chromedp.CSS(`[data-testid=new-user-form] #email`), u.email),
			chromedp.SendKeys(chromedp.CSS(`#display_name`), u.name),
			chromedp.SendKeys(chromedp.CSS(`[data-testid=new-user-form] #password`), u.name+"'s long password"),
			chromedp.Click(chromedp.CSS(`[data-testid=new-user-form] input[value=approver]`)),
			chromedp.Click(chromedp.CSS(`[data-testid=new-user-form] input[value=requester]`)), // checked by default
		}
		if u.name == "Ana" {
			actions = append(actions, chromedp.Click(chromedp.CSS(`[data-testid=new-user-form] input[value=admin]`)))
		}
		actions = append(actions, chromedp.Click(chromedp.CSS(`[data-testid=create-user]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=flash]`)))
		step(t, bctx, "add approver "+u.email, actions...)
	}

	taskURL := base + "/dr-tasks/" + id
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		step(t, bctx, "open the task", chromedp.Navigate(taskURL), chromedp.WaitVisible(chromedp.CSS(`main`)))
		if n, _ := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid=op-drill]').length`)); n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the task page never offered a drill")
		}
	}
	if got, _ := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(`[data-testid=no-drill]`))); !strings.Contains(got, "No drill") {
		t.Errorf("before any drill the task page says %q", got)
	}
	step(t, bctx, "open the drill form",
		chromedp.Click(chromedp.CSS(`[data-testid=op-drill]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=operation-form] #run_at`)),
	)
	screenshot(t, bctx, "drill-form")
	confirm, _ := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(`label[for=confirm] .mono`)))
	step(t, bctx, "file the drill",
		chromedp.SendKeys(chromedp.CSS(`#justification`), "Quarterly DR drill, CHG-2040."),
		chromedp.SendKeys(chromedp.CSS(`#confirm`), confirm),
		chromedp.Click(chromedp.CSS(`[data-testid=file-operation]`)),
		chromedp.WaitVisible(chromedp.CSS(`#request-card [data-testid=drill]`)),
	)
	requestURL, _ := chromedp.Run(bctx, chromedp.Location())
	if runs, _ := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(`[data-testid=drill-runs-at]`))); runs != "As soon as it is approved." {
		t.Errorf("the drill's request says it runs %q", runs)
	}
	screenshot(t, bctx, "drill-request")
	step(t, bctx, "sign out the requester", chromedp.Click(chromedp.CSS(`header form button`)), chromedp.WaitVisible(chromedp.CSS(`#email`)))

	for _, who := range []string{"Bo", "Ana"} {
		email := strings.ToLower(who) + "@example.com"
		firstSignIn(t, bctx, base, email, who+"'s long password", who+"'s own password")
		step(t, bctx, who+" approves",
			chromedp.Navigate(requestURL),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=decide-form]`)),
			chromedp.SendKeys(chromedp.CSS(`#confirm`), confirm),
			chromedp.Click(chromedp.CSS(`[data-testid=approve]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=flash]`)),
		)
		if who == "Bo" {
			step(t, bctx, "sign out "+who, chromedp.Click(chromedp.CSS(`header form button`)), chromedp.WaitVisible(chromedp.CSS(`#email`)))
		}
	}
	waitText(t, bctx, `#request-card [data-testid=status]`, "Succeeded", 60*time.Second)
	step(t, bctx, "the request shows the evidence", chromedp.WaitVisible(chromedp.CSS(`[data-testid=drill-evidence]`)))
	screenshot(t, bctx, "drill-succeeded")

	step(t, bctx, "the task page shows the last drill",
		chromedp.Navigate(taskURL),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=last-drill]`)),
	)
	last, _ := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(`[data-testid=last-drill]`)))
	if !regexp.MustCompile(`^RTO \d.*, RPO \d`).MatchString(last) {
		t.Errorf("the task page shows the last drill as %q", last)
	}
	screenshot(t, bctx, "task-last-drill")
	step(t, bctx, "the drill history",
		chromedp.Click(chromedp.CSS(`[data-testid=drill-summary] [data-testid=drill-history-link]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=drill-row]`)),
	)
	screenshot(t, bctx, "drill-history")
	if rows, _ := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid=drill-row]').length`)); rows != 1 {
		t.Errorf("the drill history lists %d drills", rows)
	}
	// The evidence is exported by auditors and admins: Bo, an approver,
	// reads the history without the export links.
	historyURL, _ := chromedp.Run(bctx, chromedp.Location())
	step(t, bctx, "sign out Ana", chromedp.Click(chromedp.CSS(`header form button`)), chromedp.WaitVisible(chromedp.CSS(`#email`)))
	signIn(t, bctx, base, "bo@example.com", "Bo's own password")
	step(t, bctx, "the drill history for an approver",
		chromedp.Navigate(historyURL),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=export-who]`)),
	)
	if n, _ := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid=export-csv], [data-testid=export-json]').length`)); n != 0 {
		t.Errorf("an approver is offered %d drill exports", n)
	}
	screenshot(t, bctx, "drill-history-approver")
}
