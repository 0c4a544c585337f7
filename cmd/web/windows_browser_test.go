package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5/pgxpool"

	"drportal/internal/testdb"
)

// TestBrowserASwitchoverOutsideItsWindowSaysWhenItExecutes: an admin adds a
// change window for switchover on the admin page; a switchover filed
// outside it says on its request page when the window opens, and the task
// page lists the window.
func TestBrowserASwitchoverOutsideItsWindowSaysWhenItExecutes(t *testing.T) {
	ctx := newBrowser(t)
	dbURL := testdb.NewURL(t)
	env := map[string]string{"DATABASE_URL": dbURL, "HTTP_ADDR": "127.0.0.1:0", "LOG_LEVEL": "warn", "SIM_SPEED": "20",
		"ADMIN_EMAIL": "ops@example.com", "ADMIN_PASSWORD": "a long enough password"}
	base, _ := startPortal(t, env)

	// Setting up the running task is not what this test is about: a policy
	// under which create and start need no approval lets the admin make it
	// alone (switchover still needs one).
	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(context.Background(), `INSERT INTO approval_policies (version, approvals, pending_ttl_seconds, approval_ttl_seconds, created_at)
		SELECT max(version) + 1, '{"create":0,"start":0,"stop":0,"update":0,"switchover":1,"failover":1,"recovery":1,"delete":1}', 86400, 86400, now()
		FROM approval_policies`); err != nil {
		t.Fatal(err)
	}

	signIn(t, ctx, base, "ops@example.com", "a long enough password")
	step(t, ctx, "open the new task form",
		chromedp.Navigate(base+"/dr-tasks/new"),
		chromedp.WaitVisible(chromedp.CSS(`#name`)),
	)
	primaries, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#primary_cluster_id option')].filter(o => !o.disabled && o.value).map(o => o.value)`))
	chosen := false
	for _, primary := range primaries {
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const s = document.querySelector('#primary_cluster_id');
			s.value = `+jsString(primary)+`; s.dispatchEvent(new Event('change', {bubbles: true})); return true; })()`)); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) && !chosen {
			chosen, _ = chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const s = document.querySelector('#standby_cluster_id');
				const o = [...s.options].find(o => !o.disabled && o.value); if (!o) return false; s.value = o.value; return true; })()`))
			time.Sleep(100 * time.Millisecond)
		}
		if chosen {
			break
		}
	}
	if !chosen {
		t.Fatal("no primary with a standby")
	}
	step(t, ctx, "create the task",
		chromedp.SetValue(chromedp.CSS(`#name`), "dr_window01"),
		chromedp.SendKeys(chromedp.CSS(`#dr_sync_period`), "15"),
		chromedp.SendKeys(chromedp.CSS(`#justification`), "CHG-77: protect the warehouse."),
		chromedp.Click(chromedp.CSS(`[data-testid=create-submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#request-card`)),
	)
	waitText(t, ctx, `#request-card [data-testid=status]`, "Succeeded", 60*time.Second)
	step(t, ctx, "start DR",
		chromedp.Click(chromedp.CSS(`[data-testid=task-link]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=op-start]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=op-start]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=operation-form]`)),
		chromedp.SendKeys(chromedp.CSS(`#justification`), "CHG-77: start protecting."),
		chromedp.Click(chromedp.CSS(`[data-testid=file-operation]`)),
		chromedp.WaitVisible(chromedp.CSS(`#request-card`)),
	)
	waitText(t, ctx, `#request-card [data-testid=status]`, "Succeeded", 60*time.Second)
	step(t, ctx, "back to the task", chromedp.Click(chromedp.CSS(`[data-testid=task-link]`)), chromedp.WaitVisible(chromedp.CSS(`#task-panel`)))
	taskURL, _ := chromedp.Run(ctx, chromedp.Location())

	// A window on another day than today, in Berlin: now is outside it.
	day := time.Now().In(berlin(t)).AddDate(0, 0, 2).Format("Mon")
	spec := day + " 02:00-05:00 Europe/Berlin"
	step(t, ctx, "add a window for switchover",
		chromedp.Navigate(base+"/admin/windows"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=window-form]`)),
	)
	screenshot(t, ctx, "windows-empty")
	step(t, ctx, "submit the window",
		chromedp.SetValue(chromedp.CSS(`[data-testid=window-operation]`), "switchover"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=window-spec]`), spec),
		chromedp.Click(chromedp.CSS(`[data-testid=add-window]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=flash]`)),
	)
	flash, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid=flash]`)))
	if !strings.Contains(flash, "It is in effect") {
		t.Errorf("adding the first window says %q", flash)
	}
	if got, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid=window-op-switchover] [data-testid=window]`))); !strings.Contains(got, spec) {
		t.Errorf("the switchover's windows show %q", got)
	}
	screenshot(t, ctx, "windows")

	step(t, ctx, "the task page lists the window",
		chromedp.Navigate(taskURL),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=window-notice]`)),
	)
	if notice, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid=window-notice]`))); !strings.Contains(notice, "Switchover: "+spec) {
		t.Errorf("the task page says %q", notice)
	}
	step(t, ctx, "open the switchover form",
		chromedp.Click(chromedp.CSS(`[data-testid=op-switchover]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=operation-form]`)),
	)
	confirm, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`label[for=confirm] .mono`)))
	step(t, ctx, "file the switchover",
		chromedp.SendKeys(chromedp.CSS(`#justification`), "CHG-78: planned role swap."),
		chromedp.SendKeys(chromedp.CSS(`#confirm`), confirm),
		chromedp.Click(chromedp.CSS(`[data-testid=file-operation]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=request-window]`)),
	)
	says, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid=request-window]`)))
	want := fmt.Sprintf("Executes when the window opens: %s 02:00 ", day)
	if !strings.HasPrefix(says, want) || !strings.Contains(says, "(Europe/Berlin, ") {
		t.Errorf("the request page says %q, want it to start %q and name the zone", says, want)
	}
	screenshot(t, ctx, "request-outside-window")
}

func berlin(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
