package main

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/alexedwards/argon2id"
	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5/pgxpool"

	"drportal/internal/db"
	"drportal/internal/portal"
	"drportal/internal/testdb"
)

// formClient is a person using the portal without a browser, for the
// steps a browser test only needs done (filing and approving what leads up
// to the flow it is about).
type formClient struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func newFormClient(t *testing.T, base, email, password string) *formClient {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	fc := &formClient{t: t, base: base, hc: &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if res, _ := fc.post("/signin", "/signin", url.Values{"email": {email}, "password": {password}}); res != http.StatusSeeOther {
		t.Fatalf("sign in %s: %d", email, res)
	}
	return fc
}

func (fc *formClient) get(path string) *goquery.Document {
	fc.t.Helper()
	res, err := fc.hc.Get(fc.base + path)
	if err != nil {
		fc.t.Fatal(err)
	}
	defer res.Body.Close()
	doc, err := goquery.NewDocumentFromReader(res.Body)
	if err != nil {
		fc.t.Fatal(err)
	}
	return doc
}

// post sends a form with the CSRF token of page, and returns the status
// and where it redirects to.
func (fc *formClient) post(page, path string, form url.Values) (int, string) {
	fc.t.Helper()
	form.Set("_csrf", fc.get(page).Find(`input[name=_csrf]`).First().AttrOr("value", ""))
	res, err := fc.hc.PostForm(fc.base+path, form)
	if err != nil {
		fc.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode, res.Header.Get("Location")
}

// file files a request with form at path and returns the request's page.
func (fc *formClient) file(page, path string, form url.Values) string {
	fc.t.Helper()
	status, loc := fc.post(page, path, form)
	if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/requests/") {
		fc.t.Fatalf("filing at %s: %d %s", path, status, loc)
	}
	return loc
}

// approve approves the request at page, typing confirm when it asks.
func (fc *formClient) approve(page, confirm string) {
	fc.t.Helper()
	doc := fc.get(page)
	form := url.Values{"decision": {"approve"}, "payload_sha256": {strings.TrimSpace(doc.Find(`[data-testid=payload-hash]`).Text())},
		"confirm": {confirm}}
	if status, _ := fc.post(page, page+"/decide", form); status != http.StatusSeeOther {
		fc.t.Fatalf("approve %s: %d", page, status)
	}
}

// waitStatus waits until the request at page has status (its card's data-status).
func (fc *formClient) waitStatus(page string, status portal.RequestStatus) {
	fc.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := fc.get(page).Find(`#request-card`).AttrOr("data-status", "")
		if got == string(status) {
			return
		}
		if time.Now().After(deadline) {
			fc.t.Fatalf("%s is %s, want %s", page, got, status)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestBrowserAnApproverSignedInLongAgoApprovesASwitchoverWithTheirPassword:
// an approver whose password was last entered twelve minutes ago opens a
// switchover waiting for them; the decide form asks for their password
// and says why; a wrong one is refused with the field marked, and the
// right one, typed into the same form, records the approval.
func TestBrowserAnApproverSignedInLongAgoApprovesASwitchoverWithTheirPassword(t *testing.T) {
	ctx := newBrowser(t)
	dbURL := testdb.NewURL(t)
	env := map[string]string{"DATABASE_URL": dbURL, "HTTP_ADDR": "127.0.0.1:0", "LOG_LEVEL": "warn", "SIM_SPEED": "50",
		"ADMIN_EMAIL": "ops@example.com", "ADMIN_PASSWORD": "a long enough password"}
	base, _ := startPortal(t, env)

	// An approver with a password of their own (not a temporary one).
	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	store := db.New(pool)
	const anaPassword = "ana's own long password"
	hash, err := argon2id.CreateHash(anaPassword, argon2id.DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.InTx(context.Background(), func(tx *db.Tx) error {
		_, err := tx.CreateUser(context.Background(), "ana@example.com", "Ana", hash, []portal.Role{portal.RoleApprover})
		return err
	}); err != nil {
		t.Fatal(err)
	}

	// The admin files a task, and Ana approves it and its start, without a browser.
	ops := newFormClient(t, base, "ops@example.com", "a long enough password")
	ana := newFormClient(t, base, "ana@example.com", anaPassword)
	newForm := ops.get("/dr-tasks/new")
	var primary, standby string
	newForm.Find(`#primary_cluster_id option[value!=""]:not([disabled])`).EachWithBreak(func(_ int, s *goquery.Selection) bool {
		p := s.AttrOr("value", "")
		standby = ops.get("/dr-tasks/new?primary_cluster_id="+url.QueryEscape(p)).
			Find(`#standby_cluster_id option[value!=""]:not([disabled])`).First().AttrOr("value", "")
		primary = p
		return standby == ""
	})
	if standby == "" {
		t.Fatal("no pair of clusters to protect")
	}
	create := ops.file("/dr-tasks/new", "/dr-tasks", url.Values{"name": {"dr_stepup01"}, "dr_type": {"az"},
		"primary_cluster_id": {primary}, "standby_cluster_id": {standby}, "dr_sync_period": {"5m"}, "justification": {"protect it"}})
	ana.approve(create, "")
	ops.waitStatus(create, portal.StatusSucceeded)
	taskURL := ops.get(create).Find(`[data-testid=task-link]`).AttrOr("href", "")
	start := ops.file(taskURL, taskURL+"/operations/start", url.Values{"justification": {"protect it"}})
	ana.approve(start, "")
	ops.waitStatus(start, portal.StatusSucceeded)
	var confirm string
	deadline := time.Now().Add(60 * time.Second)
	for confirm == "" && time.Now().Before(deadline) {
		confirm = strings.TrimSpace(ops.get(taskURL + "/operations/switchover").Find(`label[for=confirm] .mono`).Text())
		time.Sleep(200 * time.Millisecond)
	}
	if confirm == "" {
		t.Fatal("the task never offered a switchover")
	}
	switchover := ops.file(taskURL, taskURL+"/operations/switchover", url.Values{"confirm": {confirm}, "justification": {"quarterly drill"}})

	// Ana signed in twelve minutes ago, as far as the portal knows.
	signIn(t, ctx, base, "ana@example.com", anaPassword)
	if _, err := pool.Exec(context.Background(), `UPDATE sessions SET password_confirmed_at = now() - interval '12 minutes'
		WHERE user_id = (SELECT id FROM users WHERE email = 'ana@example.com')`); err != nil {
		t.Fatal(err)
	}
	step(t, ctx, "open the switchover",
		chromedp.Navigate(base+switchover),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=decide-form] #step_up_password`)),
	)
	why, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid=step-up-why]`)))
	if !strings.Contains(why, "Approving a switchover needs your password again: last entered 12 minutes ago") {
		t.Errorf("the form says %q", why)
	}
	screenshot(t, ctx, "stepup-approve")
	waitHTMX(t, ctx, `[data-testid=decide-form]`)
	step(t, ctx, "approve with a wrong password",
		chromedp.SendKeys(chromedp.CSS(`#confirm`), confirm),
		chromedp.SendKeys(chromedp.CSS(`#step_up_password`), "not my password"),
		chromedp.Click(chromedp.CSS(`[data-testid=approve]`)),
		// Said once, by the field, which has the focus.
		chromedp.WaitVisible(chromedp.CSS(`#request-card:not(.htmx-settling) #step_up_password:focus`)),
	)
	msg, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid=step-up-error]`)))
	if !strings.Contains(msg, "That is not your password") {
		t.Errorf("after a wrong password the field says %q", msg)
	}
	screenshot(t, ctx, "stepup-wrong-password")
	// The name typed stays; the password never comes back.
	if v, _ := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`#step_up_password`))); v != "" {
		t.Error("the password field came back filled in")
	}
	step(t, ctx, "approve with the password",
		chromedp.SendKeys(chromedp.CSS(`#step_up_password`), anaPassword),
		chromedp.Click(chromedp.CSS(`[data-testid=approve]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=flash]`)),
	)
	flash, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid=flash]`)))
	if !strings.Contains(flash, "Your approval is recorded") {
		t.Errorf("after approving: %q", flash)
	}
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM approvals a JOIN users u ON u.id = a.approver_id
		WHERE u.email = 'ana@example.com' AND a.request_id = $1`, strings.TrimPrefix(switchover, "/requests/")).Scan(&n); err != nil || n != 1 {
		t.Errorf("Ana's approval of the switchover: %d %v", n, err)
	}
	if errs, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`!document.getElementById('client-error').hidden`)); errs {
		t.Error("the page reported a failed background request")
	}
}
