package main

import (
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"drportal/internal/testdb"
)

// TestBrowserEnterInTheCreateFormsNameFilesTheRequest: pressing Enter in
// the create form's name field submits the create request (here refused,
// the name being too short, so the form comes back with its error
// summary), not "Read the clusters from the cloud now", the form's first
// visible submit button.
func TestBrowserEnterInTheCreateFormsNameFilesTheRequest(t *testing.T) {
	env := map[string]string{"DATABASE_URL": testdb.NewURL(t), "HTTP_ADDR": "127.0.0.1:0", "LOG_LEVEL": "warn",
		"ADMIN_EMAIL": "ops@example.com", "ADMIN_PASSWORD": "a long enough password"}
	base, _ := startPortal(t, env)

	ctx := newBrowser(t)
	signIn(t, ctx, base, "ops@example.com", "a long enough password")
	step(t, ctx, "open the form", chromedp.Navigate(base+"/dr-tasks/new"), chromedp.WaitVisible(chromedp.CSS(`#name`)))
	waitHTMX(t, ctx, `#name`)
	screenshot(t, ctx, "create-form")
	step(t, ctx, "type a name and press Enter",
		chromedp.SendKeys(chromedp.CSS(`#name`), "ab"+kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`#error-summary, [data-testid=read-note]`)),
	)
	filed, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!document.querySelector('#error-summary')`))
	read, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!document.querySelector('[data-testid=read-note]')`))
	if !filed || read {
		t.Errorf("Enter in the name field: the create request's errors shown %v, a read of the clusters %v", filed, read)
	}
}
