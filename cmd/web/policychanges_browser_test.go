package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"
	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5/pgxpool"

	"drportal/internal/testdb"
)

// TestBrowserWindowsChangesAskForThePasswordAndATurnOnShowsWhatItAllows: an
// admin whose password was entered more than 5 minutes ago finds the change
// windows page asking for it once, at the top, confirms it there and adds a
// window, and is refused a removal once it is old again, the error at that
// one field; a second
// admin deciding on turning break-glass on, after the first widened its
// settings while it was off, sees what the turn-on allows beyond the last
// settings that were on, marked.
func TestBrowserWindowsChangesAskForThePasswordAndATurnOnShowsWhatItAllows(t *testing.T) {
	ctx := newBrowser(t)
	dbURL := testdb.NewURL(t)
	const pw = "a long enough password"
	env := map[string]string{"DATABASE_URL": dbURL, "HTTP_ADDR": "127.0.0.1:0", "LOG_LEVEL": "warn", "SIM_SPEED": "20",
		"ADMIN_EMAIL": "ops@example.com", "ADMIN_PASSWORD": pw}
	base, _ := startPortal(t, env)

	pool, err := pgxpool.New(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	hash, err := argon2id.CreateHash(pw, argon2id.DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(t.Context(), `WITH u AS (INSERT INTO users (email, display_name, password_hash, created_at)
		VALUES ('ana@example.com', 'Ana', $1, now() - interval '1 day') RETURNING id)
		INSERT INTO user_roles (user_id, role, granted_at) SELECT id, 'admin', now() - interval '1 day' FROM u`, hash); err != nil {
		t.Fatal(err)
	}
	// Break-glass was on for start (version 2), is off now, and its off
	// settings were widened (as one admin may, at once).
	if _, err := pool.Exec(t.Context(), `INSERT INTO break_glass_policies (version, enabled, operations, review_days, created_at) VALUES
		(2, true, ARRAY['start'], 3, now() - interval '2 days'), (3, false, ARRAY['start'], 3, now() - interval '1 day')`); err != nil {
		t.Fatal(err)
	}
	ops := newPortalClient(t, base, "ops@example.com", pw)
	for _, on := range []bool{false, true} {
		form := url.Values{"operations": {"start", "failover", "switchover"}, "review_days": {"30"}}
		if on {
			form.Set("enabled", "on")
		}
		if res, body := ops.post("/admin/break-glass", "/admin/break-glass", form); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("save the break-glass settings (on: %v): %d %.2000s", on, res.StatusCode, body)
		}
	}

	signIn(t, ctx, base, "ana@example.com", pw)
	step(t, ctx, "the waiting turn-on",
		chromedp.Navigate(base+"/admin/break-glass"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=admin-change] [data-testid=change-diffs]`)))
	if wider, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid=change-diff][data-wider=true]').length`)); wider != 2 {
		t.Errorf("the turn-on marks %d widenings, want the operations and the review", wider)
	}
	screenshot(t, ctx, "break-glass-turn-on-compared")

	// Ana's password is older than the step-up window.
	older := func() {
		t.Helper()
		if _, err := pool.Exec(t.Context(), `UPDATE sessions SET password_confirmed_at = now() - interval '10 minutes'
			WHERE user_id = (SELECT id FROM users WHERE email = 'ana@example.com')`); err != nil {
			t.Fatal(err)
		}
	}
	older()
	day := time.Now().UTC().AddDate(0, 0, 2).Format("Mon")
	step(t, ctx, "the windows page asks for the password",
		chromedp.Navigate(base+"/admin/windows"),
		chromedp.WaitVisible(chromedp.CSS(`#step_up_password-windows`)))
	screenshot(t, ctx, "windows-step-up")
	step(t, ctx, "confirm the password at the top",
		chromedp.SendKeys(chromedp.CSS(`#step_up_password-windows`), pw),
		chromedp.Click(chromedp.CSS(`[data-testid=windows-step-up-confirm]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=flash]`)))
	step(t, ctx, "add a window",
		chromedp.SetValue(chromedp.CSS(`[data-testid=window-operation]`), "switchover"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=window-spec]`), day+" 02:00-05:00 UTC"),
		chromedp.Click(chromedp.CSS(`[data-testid=add-window]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=window-op-switchover] [data-testid=remove-window]`)))
	if flash, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid=flash]`))); !strings.Contains(flash, "It is in effect") {
		t.Errorf("adding the window says %q", flash)
	}
	older()
	step(t, ctx, "remove it without the password",
		chromedp.Navigate(base+"/admin/windows"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=window-op-switchover] [data-testid=remove-window]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=window-op-switchover] [data-testid=remove-window]`)),
		chromedp.WaitVisible(chromedp.CSS(`.error-summary`)))
	if got, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#step_up_password-windows-error`))); !strings.Contains(got, "needs your password again") {
		t.Errorf("the password field at the top says %q", got)
	}
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid=window-op-switchover] [data-testid=window]').length`)); n != 1 {
		t.Errorf("the switchover has %d windows after a removal without the password", n)
	}
	screenshot(t, ctx, "windows-step-up-refused")
}
