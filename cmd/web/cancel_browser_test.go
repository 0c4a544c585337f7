package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"
	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5/pgxpool"

	"drportal/internal/dws"
	"drportal/internal/dwssim"
	"drportal/internal/portal"
	"drportal/internal/testdb"
)

// TestBrowserAnAdminCancelsARequestWaitingForItsWindow: a requester's start,
// approved outside its change window, waits for the window. An admin opens
// its page, which says what cancelling stops; the reason typed survives the
// card's refreshes; too short a reason is refused with what was typed kept;
// with a reason the card shows the request cancelled by the admin, why, its
// job is cancelled and the requests list says so.
func TestBrowserAnAdminCancelsARequestWaitingForItsWindow(t *testing.T) {
	const project, ak, sk = "0123456789abcdef0123456789abcd34", "CANCELBROWSERAK00000", "cancelbrowsersk000000000000000000000000"
	sim, err := dwssim.New(dwssim.Options{Credentials: map[string]string{ak: sk}, Speed: 20})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(sim)
	t.Cleanup(api.Close)

	// A task in the cloud, not started, before the portal starts.
	client, err := dws.New(dws.Config{Endpoint: api.URL, ProjectID: project, AK: ak, SK: sk, BaseBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	p1, _ := sim.Cluster(project, dwssim.ClusterProd1)
	s1, _ := sim.Cluster(project, dwssim.ClusterDR1)
	taskID, err := client.Create(context.Background(), portal.CreateSpec{Name: "dr_cancel_ui", DRType: "az", PrimaryClusterID: p1.ID,
		StandbyClusterID: s1.ID, SyncPeriod: "5m"})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if tk, err := client.Get(context.Background(), taskID); err == nil && tk.Status == portal.TaskUnstart {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the task never became not started")
		}
	}

	dbURL := testdb.NewURL(t)
	const pw = "a long enough password"
	env := map[string]string{"DATABASE_URL": dbURL, "HTTP_ADDR": "127.0.0.1:0", "LOG_LEVEL": "warn",
		"ADMIN_EMAIL": "ops@example.com", "ADMIN_PASSWORD": pw,
		"DWS_ENDPOINT": api.URL, "DWS_PROJECT_ID": project, "DWS_AK": ak, "DWS_SK": sk}
	base, _ := startPortal(t, env)

	// The scene: a requester and an approver; a window on start that
	// opens in three days; the requester's start, approved, waiting.
	pool, err := pgxpool.New(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	hash, err := argon2id.CreateHash(pw, argon2id.DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	for email, role := range map[string]string{"rita@example.com": "requester", "ana@example.com": "approver"} {
		if _, err := pool.Exec(t.Context(), `WITH u AS (INSERT INTO users (email, display_name, password_hash, created_at)
			VALUES ($1, $1, $2, now() - interval '1 day') RETURNING id)
			INSERT INTO user_roles (user_id, role, granted_at) SELECT id, $3, now() - interval '1 day' FROM u`, email, hash, role); err != nil {
			t.Fatal(err)
		}
	}
	ops := newPortalClient(t, base, "ops@example.com", pw)
	day := time.Now().UTC().AddDate(0, 0, 3).Format("Mon")
	if res, body := ops.post("/admin/windows", "/admin/windows", url.Values{"operation": {"start"}, "window": {day + " 02:00-05:00 UTC"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("add the window: %d %.2000s", res.StatusCode, body)
	}
	waitRow(t, pool, `SELECT id FROM dr_tasks WHERE id = $1`, taskID)
	rita, ana := newPortalClient(t, base, "rita@example.com", pw), newPortalClient(t, base, "ana@example.com", pw)
	rid := rita.filed("/dr-tasks/"+taskID, "/dr-tasks/"+taskID+"/operations/start", url.Values{"justification": {"start protecting the warehouse"}})
	ana.approve(rid)
	waitRow(t, pool, `SELECT status FROM requests WHERE id = $1 AND status = 'approved'`, rid)

	ctx := newBrowser(t)
	signIn(t, ctx, base, "ops@example.com", pw)
	step(t, ctx, "the waiting request's page",
		chromedp.Navigate(base+"/requests/"+rid),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=cancel-form]`)))
	waits, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid=request-window]`)))
	stops, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid=cancel-stops]`)))
	if !strings.HasPrefix(waits, "Executes when the window opens: "+day+" 02:00") ||
		!strings.Contains(stops, "it will not run when its change window opens: "+day+" 02:00") {
		t.Errorf("the page says %q and, by the cancel button, %q", waits, stops)
	}
	step(t, ctx, "scroll to the cancel form", chromedp.ScrollIntoView(chromedp.CSS(`[data-testid=cancel-form]`)))
	screenshot(t, ctx, "cancel-approved-request")

	// The card refreshes itself while the request waits: what is typed stays.
	waitHTMX(t, ctx, `#request-card`)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { window.cardSwaps = 0;
		document.addEventListener('htmx:afterSwap', () => window.cardSwaps++); return true; })()`)); err != nil {
		t.Fatal(err)
	}
	step(t, ctx, "type a reason", chromedp.SendKeys(chromedp.CSS(`#cancel-reason`), "too late"))
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`window.cardSwaps`)); n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the card never refreshed")
		}
	}
	if typed, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#cancel-reason').value`)); typed != "too late" {
		t.Fatalf("after the card refreshed, the reason reads %q", typed)
	}

	step(t, ctx, "cancel with too short a reason",
		chromedp.Click(chromedp.CSS(`[data-testid=cancel]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=card-error]`)))
	msg, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid=card-error]`)))
	kept, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#cancel-reason').value`))
	if !strings.Contains(msg, "at least 10 characters") || kept != "too late" {
		t.Errorf("too short a reason: the card says %q, the field keeps %q", msg, kept)
	}
	screenshot(t, ctx, "cancel-reason-too-short")

	step(t, ctx, "cancel with a reason",
		chromedp.SetValue(chromedp.CSS(`#cancel-reason`), "the change board withdrew CHG-90"),
		chromedp.Click(chromedp.CSS(`[data-testid=cancel]`)),
		chromedp.WaitVisible(chromedp.CSS(`#request-card[data-status=cancelled]`)))
	outcome, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid=outcome]`)))
	if !strings.Contains(outcome, "Cancelled by ops@example.com: the change board withdrew CHG-90") {
		t.Errorf("the cancelled request's outcome says %q", outcome)
	}
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid=cancel-form]').length`)); n != 0 {
		t.Error("the cancelled request still offers to cancel it")
	}
	screenshot(t, ctx, "cancelled-request")
	waitRow(t, pool, `SELECT state::text FROM river_job WHERE kind = 'execute_request' AND (args->>'request_id')::bigint = $1
		AND state = 'cancelled'`, rid)

	step(t, ctx, "the requests list",
		chromedp.Navigate(base+"/requests?tab=all"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=request-table]`)))
	note, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid=request-row][data-id="`+rid+`"] [data-testid=request-note]`)))
	if note != "Cancelled by ops@example.com: the change board withdrew CHG-90" {
		t.Errorf("the list says %q of the cancelled request", note)
	}
	screenshot(t, ctx, "requests-with-a-cancelled-one")
}
