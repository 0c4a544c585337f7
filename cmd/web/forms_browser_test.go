package main

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"drportal/internal/browsertest"
	"drportal/internal/testdb"
)

// TestBrowserAFailedSubmitFocusesTheErrorSummary: a create form sent with
// errors comes back with the focus on its error summary, with JavaScript
// (htmx swaps the page in) and without; with it, a summary's link moves
// the focus to its field.
func TestBrowserAFailedSubmitFocusesTheErrorSummary(t *testing.T) {
	env := map[string]string{"DATABASE_URL": testdb.NewURL(t), "HTTP_ADDR": "127.0.0.1:0", "LOG_LEVEL": "warn",
		"ADMIN_EMAIL": "ops@example.com", "ADMIN_PASSWORD": "a long enough password"}
	base, _ := startPortal(t, env)

	// focused is the id of the element with the focus once htmx has
	// settled the page (it focuses autofocus elements as it settles), after
	// waiting up to 5 s for it to be want.
	focused := func(ctx context.Context, want string) string {
		var id string
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			id, _ = chromedp.Run(ctx, chromedp.Evaluate[string](
				`document.body.classList.contains('htmx-settling') ? '(settling)' : (document.activeElement ? document.activeElement.id : '')`))
			if id == want {
				break
			}
		}
		return id
	}
	for _, js := range []bool{true, false} {
		ctx := newBrowser(t)
		signIn(t, ctx, base, "ops@example.com", "a long enough password")
		if !js {
			noScript := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
				_, err := cdp.Call(ctx, t, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
				return err
			})
			if err := chromedp.Do(ctx, noScript); err != nil {
				t.Fatal(err)
			}
		}
		step(t, ctx, "open the form", chromedp.Navigate(base+"/dr-tasks/new"), chromedp.WaitVisible(chromedp.CSS(`#name`)))
		if js {
			waitHTMX(t, ctx, `#name`)
		}
		step(t, ctx, "submit it empty",
			chromedp.SendKeys(chromedp.CSS(`#name`), "1bad"),
			chromedp.Click(chromedp.CSS(`[data-testid=create-submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`#error-summary`)),
		)
		if got := focused(ctx, "error-summary"); got != "error-summary" {
			t.Errorf("JavaScript %v: the focus is on %q after a failed submit", js, got)
		}
		if js {
			screenshot(t, ctx, "create-form-errors")
		} else {
			// axe-core is a script: with scripts off only the picture.
			browsertest.Screenshot(t, ctx, "create-form-errors-nojs")
		}
		if js {
			step(t, ctx, "follow the summary's first link", chromedp.Click(chromedp.CSS(`#error-summary a`)))
			if got := focused(ctx, "name"); got != "name" {
				t.Errorf("the summary's link to the name moved the focus to %q", got)
			}
		}
	}
}
