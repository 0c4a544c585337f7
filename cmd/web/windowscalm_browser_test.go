package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5/pgxpool"

	"drportal/internal/testdb"
)

// TestBrowserTheWindowsPageAsksOnceAndKeepsItsRowsApart: an admin proposes
// lifting a freeze and removing an operation's only window; once the
// password is older than the step-up window, the change windows page asks
// for it in one field, offers neither waiting change again (it names and
// links them), keeps each window's text apart from its action and the
// rule's choice apart from its button, and on a 390 px phone still labels
// the rule's choice "Outside the windows".
func TestBrowserTheWindowsPageAsksOnceAndKeepsItsRowsApart(t *testing.T) {
	ctx := newBrowser(t)
	dbURL := testdb.NewURL(t)
	env := map[string]string{"DATABASE_URL": dbURL, "HTTP_ADDR": "127.0.0.1:0", "LOG_LEVEL": "warn",
		"ADMIN_EMAIL": "ops@example.com", "ADMIN_PASSWORD": "a long enough password"}
	base, _ := startPortal(t, env)
	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	signIn(t, ctx, base, "ops@example.com", "a long enough password")
	from := time.Now().UTC().AddDate(0, 0, 3).Truncate(time.Minute)
	step(t, ctx, "add a freeze",
		chromedp.Navigate(base+"/admin/windows"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=freeze-form]`)),
		chromedp.SendKeys(chromedp.CSS(`#freeze-reason`), "Quarter close: finance reporting"),
		chromedp.SetValue(chromedp.CSS(`#freeze-from`), from.Format("2006-01-02T15:04")),
		chromedp.SetValue(chromedp.CSS(`#freeze-to`), from.Add(2*time.Hour).Format("2006-01-02T15:04")),
		chromedp.Click(chromedp.CSS(`[data-testid=add-freeze]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=freeze]`)))
	for _, w := range []struct{ op, spec string }{{"stop", "every day 04:00-09:00 UTC"}, {"switchover", "Tue-Thu 02:00-05:00 Europe/Berlin"}} {
		step(t, ctx, "add a window for "+w.op,
			chromedp.SetValue(chromedp.CSS(`[data-testid=window-operation]`), w.op),
			chromedp.SendKeys(chromedp.CSS(`[data-testid=window-spec]`), w.spec),
			chromedp.Click(chromedp.CSS(`[data-testid=add-window]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=window-op-`+w.op+`] [data-testid=remove-window]`)))
	}
	step(t, ctx, "propose lifting the freeze",
		chromedp.Click(chromedp.CSS(`[data-testid=lift-freeze]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=admin-change]`)))
	step(t, ctx, "propose removing stop's only window",
		chromedp.Click(chromedp.CSS(`[data-testid=window-op-stop] [data-testid=remove-window]`)))
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid=admin-change]').length`)); n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the removal of stop's window does not wait for a second admin")
		}
	}

	// The password is now older than the step-up window.
	if _, err := pool.Exec(context.Background(), `UPDATE sessions SET password_confirmed_at = now() - interval '7 minutes'
		WHERE user_id = (SELECT id FROM users WHERE email = 'ops@example.com')`); err != nil {
		t.Fatal(err)
	}
	step(t, ctx, "the page asks for the password",
		chromedp.Navigate(base+"/admin/windows"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=windows]`)))
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('input[type=password]').length`)); n != 1 {
		t.Errorf("the page asks for the password in %d fields; want 1", n)
	}
	for sel, want := range map[string]string{
		`[data-testid=freeze] [data-testid=waits-for-change]`:                              "Lift waits for a second admin (change #",
		`[data-testid=window-op-stop] [data-testid=window] [data-testid=waits-for-change]`: "Removal waits for a second admin (change #",
	} {
		got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector(`+jsString(sel)+`)||{}).innerText||""`))
		if !strings.HasPrefix(strings.TrimSpace(got), want) {
			t.Errorf("%s says %q; want it to start %q", sel, got, want)
		}
	}
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid=lift-freeze], [data-testid=window-op-stop] [data-testid=remove-window]').length`)); n != 0 {
		t.Errorf("%d buttons offer again a change that already waits", n)
	}
	// Side by side, a window's text and what follows it, and the rule's
	// choice and what follows it, keep at least 8 px apart.
	crowded := `(() => {
		const apart = (a, b) => { const r = a.getBoundingClientRect(), s = b.getBoundingClientRect();
			return s.top >= r.bottom || s.bottom <= r.top || s.left - r.right >= 8; };
		const bad = [];
		for (const line of document.querySelectorAll('[data-testid=window]')) {
			const text = line.querySelector(':scope > span'), next = text && text.nextElementSibling;
			if (next && !apart(text, next)) bad.push(line.innerText.trim());
		}
		for (const s of document.querySelectorAll('form[action="/admin/windows/rule"] select')) {
			if (s.nextElementSibling && !apart(s, s.nextElementSibling)) bad.push(s.closest('form').innerText.trim());
		}
		return bad.join(' | ');
	})()`
	if got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](crowded)); got != "" {
		t.Errorf("at 1280 px these butt against their action: %s", got)
	}
	screenshot(t, ctx, "windows-asks-once")

	step(t, ctx, "on a 390 px phone", chromedp.EmulateViewport(390, 844), chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=windows]`)))
	// The column heads are hidden on a phone: the cell says what it holds.
	label := `getComputedStyle(document.querySelector('#rule-switchover').closest('td'), '::before').content`
	if got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](label)); !strings.Contains(got, "Outside the windows") {
		t.Errorf("at 390 px the rule's choice is labelled %q; want \"Outside the windows\"", got)
	}
	if got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](crowded)); got != "" {
		t.Errorf("at 390 px these butt against their action: %s", got)
	}
	screenshot(t, ctx, "windows-asks-once-390")
}
