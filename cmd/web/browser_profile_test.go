package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"drportal/internal/testdb"
)

// TestBrowserPasswordResetAndForcedChange clicks through an admin's reset
// and the forced change that follows it, with htmx boosting the forms: the
// temporary password is shown once, the address stays the list's, and its
// holder gets the change form and then the portal.
func TestBrowserPasswordResetAndForcedChange(t *testing.T) {
	ctx := newBrowser(t)
	const adminPassword, boPassword, boNew = "a long enough password", "bo's first password", "bo's own new password"
	env := map[string]string{"DATABASE_URL": testdb.NewURL(t), "HTTP_ADDR": "127.0.0.1:0", "LOG_LEVEL": "debug",
		"ADMIN_EMAIL": "ops@example.com", "ADMIN_PASSWORD": adminPassword}
	base, out := startPortal(t, env)

	signIn(t, ctx, base, "ops@example.com", adminPassword)
	step(t, ctx, "add a user",
		chromedp.Navigate(base+"/admin/users"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=new-user-form]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=new-user-form] #email`), "bo@example.com"),
		chromedp.SendKeys(chromedp.CSS(`#display_name`), "Bo"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=new-user-form] #password`), boPassword),
		chromedp.Click(chromedp.CSS(`[data-testid=new-user-form] input[value=requester]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=create-user]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=flash]`)),
	)
	step(t, ctx, "reset the password",
		chromedp.Click(chromedp.CSS(`[data-testid=user-row][data-email="bo@example.com"] [data-testid=reset-password]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=confirm-action]`)),
	)
	screenshot(t, ctx, "password-reset-confirm")
	step(t, ctx, "confirm the reset",
		chromedp.Click(chromedp.CSS(`[data-testid=confirm-action]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=temporary-password]`)),
	)
	screenshot(t, ctx, "password-reset")
	temporary, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid=temporary-password]`)))
	temporary = strings.TrimSpace(temporary)
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	if len(temporary) < 20 || !strings.HasSuffix(loc, "/admin/users") {
		t.Fatalf("after the reset: %q at %s", temporary, loc)
	}
	// The user list has an #email field too: wait for the sign-in form itself.
	step(t, ctx, "sign out", chromedp.Click(chromedp.CSS(`header form button`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/signin"] #email`)))

	// Bo signs in with the temporary password and can only change it.
	step(t, ctx, "sign in with the temporary password",
		chromedp.SendKeys(chromedp.CSS(`form[action="/signin"] #email`), "bo@example.com"),
		chromedp.SendKeys(chromedp.CSS(`form[action="/signin"] #password`), temporary),
		chromedp.Submit(chromedp.CSS(`form[action="/signin"] #password`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=must-change]`)),
	)
	step(t, ctx, "every page leads to the form",
		chromedp.Navigate(base+"/requests"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=must-change]`)),
	)
	screenshot(t, ctx, "password-forced")
	step(t, ctx, "change the password",
		chromedp.SendKeys(chromedp.CSS(`#current_password`), temporary),
		chromedp.SendKeys(chromedp.CSS(`#new_password`), boNew),
		chromedp.SendKeys(chromedp.CSS(`#repeat_password`), boNew),
		chromedp.Click(chromedp.CSS(`[data-testid=change-password]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=flash]`)),
	)
	flash, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid=flash]`)))
	if !strings.Contains(flash, "password is set") {
		t.Errorf("after the change: %q", flash)
	}
	screenshot(t, ctx, "password-set")
	step(t, ctx, "the portal is open again",
		chromedp.Click(chromedp.CSS(`header nav a[href="/requests"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=tabs]`)),
	)
	if errs, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`!document.getElementById('client-error').hidden`)); errs {
		t.Error("the page reported a failed background request")
	}
	for _, pw := range []string{adminPassword, boPassword, temporary, boNew} {
		if strings.Contains(out.String(), pw) {
			t.Errorf("the portal's output holds a password (%d characters)", len(pw))
		}
	}
}
