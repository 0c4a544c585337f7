package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"drportal/internal/browsertest"
	"drportal/internal/portal"
)

// TestBrowserDuringAFreezeTheFormSaysSoByItsDisabledButton: in a real
// browser, during a freeze, a responder who may also file opens a start
// form: the freeze is said right above the submit button, which it
// describes and which is disabled (the server's refusal of a filing sent
// all the same is a handler test), and the link to the emergency form works.
// A responder-only account's task page says break-glass is off while it
// is. The pages this touches (the task page, the form, a request held by
// the freeze, the audit page, the windows and break-glass admin pages with
// a change waiting) pass the accessibility check.
func TestBrowserDuringAFreezeTheFormSaysSoByItsDisabledButton(t *testing.T) {
	e := newEnv(t)
	e.addUser("resp@example.com", portal.RoleResponder)
	e.addUser("both@example.com", portal.RoleRequester, portal.RoleResponder)
	e.addUser("admin2@example.com", portal.RoleAdmin)
	id := e.createTask("dr_browse01")
	held := requestIDFrom(t, e.fileOperation(e.signedIn("req@example.com"), id, "update",
		url.Values{"justification": {"a shorter period before the close"}, "dr_sync_period": {"10m"}}))
	now := time.Now()
	e.freeze(now.Add(-time.Minute), now.Add(6*time.Hour), "storage migration")
	e.window(portal.OpSwitchover, "Tue-Thu 02:00-05:00 Europe/Berlin")

	// A responder-only account, break-glass off.
	ctx := headless(t, 1280, 900)
	e.signInBrowser(t, ctx, "resp@example.com")
	browse(t, ctx, "the task page", chromedp.Navigate(e.srv.URL+"/dr-tasks/"+id), chromedp.WaitVisible(chromedp.CSS(`[data-testid=break-glass-off]`)))
	browsertest.CheckAccessible(t, ctx, "the task page of a responder, break-glass off")

	// A responder who may file, break-glass on for start.
	e.breakGlassOn(portal.OpStart)
	ctx = headless(t, 1280, 900)
	e.signInBrowser(t, ctx, "both@example.com")
	browse(t, ctx, "the start form", chromedp.Navigate(e.srv.URL+"/dr-tasks/"+id+"/operations/start"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=form-window]`)))
	gap := eval[float64](t, ctx, `document.querySelector('[data-testid=file-operation]').getBoundingClientRect().top -
		document.querySelector('[data-testid=form-window]').getBoundingClientRect().bottom`)
	if gap < 0 || gap > 48 {
		t.Errorf("the freeze is said %.0f px above the submit button; want it right above", gap)
	}
	if got := eval[string](t, ctx, `document.querySelector('[data-testid=file-operation]').getAttribute('aria-describedby') || ''`); got != "form-window" {
		t.Errorf("the submit button is described by %q", got)
	}
	browsertest.CheckAccessible(t, ctx, "the start form during a freeze")
	if !eval[bool](t, ctx, `document.querySelector('[data-testid=file-operation]').disabled`) {
		t.Error("during the freeze the submit button is enabled")
	}
	browsertest.Screenshot(t, ctx, "start-disabled-by-freeze")
	browse(t, ctx, "follow the link to break glass",
		chromedp.Click(chromedp.CSS(`[data-testid=form-break-glass]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=break-glass-form]`)))

	// An admin: the request the freeze holds, the audit page, the windows
	// page, and the break-glass page with a change waiting and the
	// password entered long ago.
	if res := e.signedIn("admin2@example.com").post("/admin/break-glass", url.Values{"enabled": {"on"}, "operations": {"start", "failover"},
		"review_days": {"3"}}); res.status != http.StatusSeeOther {
		t.Fatalf("propose wider break-glass settings: %d %q", res.status, res.text("main"))
	}
	ctx = headless(t, 1280, 900)
	e.signInBrowser(t, ctx, "admin@example.com")
	e.signInClock.Advance(6 * time.Minute)
	for _, p := range []struct{ path, ready, name string }{
		{fmt.Sprintf("/requests/%d", held), `[data-testid=request-window]`, "request-held-by-freeze"},
		{"/audit?task=" + id, `[data-testid=audit-subject-id]`, "audit-task-named"},
		{"/admin/windows", `[data-testid=no-rule-start]`, "windows-rules"},
		{"/admin/break-glass", `[data-testid=save-replaces]`, "break-glass-change-waiting"},
	} {
		browse(t, ctx, "open "+p.path, chromedp.Navigate(e.srv.URL+p.path), chromedp.WaitVisible(chromedp.CSS(p.ready)))
		browsertest.CheckAccessible(t, ctx, p.path)
		browsertest.Screenshot(t, ctx, p.name)
	}
}
