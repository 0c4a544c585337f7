package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/alexedwards/argon2id"
	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5/pgxpool"

	"drportal/internal/dwssim"
	"drportal/internal/testdb"
)

// portalClient is a plain HTTP client of the portal, for setting the scene
// of a browser test quickly: the pages' forms, posted as a browser would.
type portalClient struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newPortalClient(t *testing.T, base, email, pw string) *portalClient {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	pc := &portalClient{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if res, _ := pc.post("/signin", "/signin", url.Values{"email": {email}, "password": {pw}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in %s: %d", email, res.StatusCode)
	}
	return pc
}

func (pc *portalClient) get(path string) *goquery.Document {
	pc.t.Helper()
	res, err := pc.c.Get(pc.base + path)
	if err != nil {
		pc.t.Fatal(err)
	}
	defer res.Body.Close()
	doc, err := goquery.NewDocumentFromReader(res.Body)
	if err != nil {
		pc.t.Fatal(err)
	}
	return doc
}

// post posts form from page (whose first form's CSRF token it takes).
func (pc *portalClient) post(page, path string, form url.Values) (*http.Response, string) {
	pc.t.Helper()
	tok, _ := pc.get(page).Find(`input[name=_csrf]`).First().Attr("value")
	form.Set("_csrf", tok)
	res, err := pc.c.PostForm(pc.base+path, form)
	if err != nil {
		pc.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

// filed posts a request's form and returns the request's id.
func (pc *portalClient) filed(page, path string, form url.Values) string {
	pc.t.Helper()
	res, body := pc.post(page, path, form)
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/requests/") {
		pc.t.Fatalf("file %s: %d %s\n%.2000s", path, res.StatusCode, loc, body)
	}
	return strings.TrimPrefix(loc, "/requests/")
}

// approve approves request id as the page's decide form would.
func (pc *portalClient) approve(id string) {
	pc.t.Helper()
	page := pc.get("/requests/" + id)
	hash, _ := page.Find(`[data-testid=decide-form] input[name=payload_sha256]`).Attr("value")
	res, body := pc.post("/requests/"+id, "/requests/"+id+"/decide", url.Values{"decision": {"approve"}, "payload_sha256": {hash}})
	if res.StatusCode != http.StatusSeeOther {
		pc.t.Fatalf("approve %s: %d %.2000s", id, res.StatusCode, body)
	}
}

// TestBrowserBreakGlass is the emergency procedure end to end: a responder
// signs in, breaks glass on a running task's failover (its primary is
// faulty) alone, and the task fails over on the simulator; a second person
// sees the banner; two approvers review it; the banner goes.
func TestBrowserBreakGlass(t *testing.T) {
	const project, ak, sk = "0123456789abcdef0123456789abcdef", "BREAKGLASSAK0000000", "breakglasssk0000000000000000000000000000"
	sim, err := dwssim.New(dwssim.Options{Credentials: map[string]string{ak: sk}, Speed: 20, Seed: 12})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(sim)
	t.Cleanup(api.Close)
	ctx := newBrowser(t)
	dbURL := testdb.NewURL(t)
	env := map[string]string{"DATABASE_URL": dbURL, "HTTP_ADDR": "127.0.0.1:0", "LOG_LEVEL": "warn",
		"ADMIN_EMAIL": "ops@example.com", "ADMIN_PASSWORD": "a long enough password",
		"DWS_ENDPOINT": api.URL, "DWS_PROJECT_ID": project, "DWS_AK": ak, "DWS_SK": sk}
	base, _ := startPortal(t, env)

	// The scene: a responder and two approvers (as if two admins had
	// agreed), break-glass on for failover, and a running task.
	pool, err := pgxpool.New(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	const pw = "a long enough password"
	hash, err := argon2id.CreateHash(pw, argon2id.DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	for email, role := range map[string]string{"ren@example.com": "responder", "ana@example.com": "approver", "bo@example.com": "approver"} {
		if _, err := pool.Exec(t.Context(), `WITH u AS (INSERT INTO users (email, display_name, password_hash, created_at)
			VALUES ($1, $1, $2, now() - interval '1 day') RETURNING id)
			INSERT INTO user_roles (user_id, role, granted_at) SELECT id, $3, now() - interval '1 day' FROM u`, email, hash, role); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pool.Exec(t.Context(), `INSERT INTO break_glass_policies (version, enabled, operations, review_days)
		SELECT max(version) + 1, true, ARRAY['failover'], 2 FROM break_glass_policies`); err != nil {
		t.Fatal(err)
	}
	ops, ana := newPortalClient(t, base, "ops@example.com", pw), newPortalClient(t, base, "ana@example.com", pw)
	newForm := ops.get("/dr-tasks/new")
	var primary, standby string
	newForm.Find(`#primary_cluster_id option[value!=""]:not([disabled])`).EachWithBreak(func(_ int, s *goquery.Selection) bool {
		p, _ := s.Attr("value")
		standby, _ = ops.get("/dr-tasks/new?primary_cluster_id=" + url.QueryEscape(p)).Find(`#standby_cluster_id option[value!=""]:not([disabled])`).First().Attr("value")
		primary = p
		return standby == ""
	})
	if standby == "" {
		t.Fatal("the create form offers no pair")
	}
	create := ops.filed("/dr-tasks/new", "/dr-tasks", url.Values{"name": {"dr_glass"}, "dr_type": {"az"}, "primary_cluster_id": {primary},
		"standby_cluster_id": {standby}, "dr_sync_period": {"1m"}, "justification": {"protect the sales warehouse"}})
	ana.approve(create)
	taskID := waitRow(t, pool, `SELECT COALESCE(dr_task_id, '') FROM requests WHERE id = $1 AND status = 'succeeded'`, create)
	start := ops.filed("/dr-tasks/"+taskID, "/dr-tasks/"+taskID+"/operations/start", url.Values{"justification": {"protect it now"}})
	ana.approve(start)
	waitRow(t, pool, `SELECT status FROM requests WHERE id = $1 AND status = 'succeeded'`, start)
	var primaryName string
	if err := pool.QueryRow(t.Context(), `SELECT primary_cluster_name FROM dr_tasks WHERE id = $1`, taskID).Scan(&primaryName); err != nil {
		t.Fatal(err)
	}
	sim.SetClusterFaulty(project, primaryName, true)

	// The responder, alone: sign in, the task, break glass.
	began := time.Now()
	signIn(t, ctx, base, "ren@example.com", pw)
	step(t, ctx, "the task offers break-glass once the portal sees the fault",
		chromedp.Navigate(base+"/dr-tasks/"+taskID),
		chromedp.WaitVisible(chromedp.CSS(`#task-panel`)))
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid=break-glass-failover]').length`))
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the task page never offered break-glass: failover")
		}
		time.Sleep(500 * time.Millisecond)
		step(t, ctx, "reload the task", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#task-panel`)))
	}
	step(t, ctx, "open the emergency form",
		chromedp.Click(chromedp.CSS(`[data-testid=break-glass-failover]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=break-glass-form]`)))
	screenshot(t, ctx, "break-glass-form")
	step(t, ctx, "break glass",
		chromedp.SendKeys(chromedp.CSS(`#incident`), "INC-4242"),
		chromedp.SendKeys(chromedp.CSS(`#justification`), "primary cluster faulty since 02:10, sales down"),
		chromedp.SendKeys(chromedp.CSS(`#confirm`), primaryName),
		chromedp.SendKeys(chromedp.CSS(`#password`), pw),
		chromedp.Click(chromedp.CSS(`[data-testid=break-glass]`)),
		chromedp.WaitVisible(chromedp.CSS(`#request-card`)))
	waitText(t, ctx, `#request-card [data-testid=status]`, "Succeeded", 60*time.Second)
	t.Logf("the responder failed the task over %s after signing in", time.Since(began).Round(time.Second))
	var newPrimary string
	if err := pool.QueryRow(t.Context(), `SELECT primary_cluster_name FROM dr_tasks WHERE id = $1`, taskID).Scan(&newPrimary); err != nil || newPrimary == primaryName {
		t.Errorf("after the failover the primary is %q (%v), was %q", newPrimary, err, primaryName)
	}
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	rid := loc[strings.LastIndex(loc, "/")+1:]

	// Someone else sees the banner, and reviews; a second approver too.
	review := func(email, verdict, comment string) {
		t.Helper()
		step(t, ctx, "sign out", chromedp.Click(chromedp.CSS(`form[action="/signout"] button`)), chromedp.WaitVisible(chromedp.CSS(`#email`)))
		signIn(t, ctx, base, email, pw)
		step(t, ctx, email+" sees the banner", chromedp.WaitVisible(chromedp.CSS(`[data-testid=emergency-banner]`)))
		banner, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid=emergency-note]`)))
		if !strings.Contains(banner, "ren@example.com") || !strings.Contains(banner, "INC-4242") || !strings.Contains(banner, "dr_glass") {
			t.Errorf("%s's banner: %q", email, banner)
		}
		step(t, ctx, email+" reviews",
			chromedp.Click(chromedp.CSS(`[data-testid=emergency-link]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=review-form]`)),
			chromedp.Click(chromedp.CSS(`[data-testid=verdict-`+verdict+`]`)),
			chromedp.SendKeys(chromedp.CSS(`#review-comment`), comment))
		screenshot(t, ctx, "emergency-review-"+verdict)
		step(t, ctx, email+" records the review",
			chromedp.Click(chromedp.CSS(`[data-testid=submit-review]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=flash]`)))
	}
	review("ana@example.com", "acknowledge", "the site was down; the right call")
	review("bo@example.com", "flag", "the incident was opened after the failover")
	step(t, ctx, "the banner has gone", chromedp.Navigate(base+"/requests/"+rid), chromedp.WaitVisible(chromedp.CSS(`[data-testid=emergency-panel]`)))
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid=emergency-banner]').length`)); n != 0 {
		t.Error("the banner stays after two reviews")
	}
	state, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid=emergency-review-state]`)))
	if !strings.Contains(state, "Complete") || !strings.Contains(state, "flagged") {
		t.Errorf("the review state says %q", state)
	}
	step(t, ctx, "the admins' page", chromedp.Click(chromedp.CSS(`form[action="/signout"] button`)), chromedp.WaitVisible(chromedp.CSS(`#email`)))
	signIn(t, ctx, base, "ops@example.com", pw)
	step(t, ctx, "admin sees the flag", chromedp.Navigate(base+"/admin/break-glass"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=emergencies-flagged]`)))
	screenshot(t, ctx, "admin-break-glass")
}

// waitRow waits until sql (with the one argument) returns a row, and
// returns its one text column.
func waitRow(t *testing.T, pool *pgxpool.Pool, sql, arg string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var v string
		if err := pool.QueryRow(t.Context(), sql, arg).Scan(&v); err == nil && v != "" {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("never true: %s (%s)", sql, arg)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
