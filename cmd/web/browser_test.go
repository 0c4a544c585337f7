package main

import (
	"context"
	"maps"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"drportal/internal/browsertest"
	"drportal/internal/dwsfixture"
	"drportal/internal/testdb"
)

// newBrowser starts a headless Chromium at 1280 by 1000 px.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	return browsertest.New(t, 1280, 1000)
}

// screenshot checks the page's accessibility and saves it when
// SCREENSHOT_DIR is set, for a person to look at.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	browsertest.CheckAccessible(t, ctx, name)
	browsertest.Screenshot(t, ctx, name)
}

// waitText polls until the element's text equals want.
func waitText(t *testing.T, ctx context.Context, sel, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	var got string
	for time.Now().Before(deadline) {
		got, _ = chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector(`+jsString(sel)+`)||{}).textContent||""`))
		if strings.TrimSpace(got) == want {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s shows %q, want %q", sel, strings.TrimSpace(got), want)
}

// waitHTMX waits until htmx has processed the element sel finds (it keeps
// its own data on the elements it has wired).
func waitHTMX(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		done, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!(document.querySelector(`+jsString(sel)+`)||{})['htmx-internal-data']`))
		if done {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("htmx did not process %s", sel)
}

// step runs browser actions with a deadline of their own, and on failure
// says which step failed and what the page showed.
func step(t *testing.T, ctx context.Context, name string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		html, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 3000) : ""`))
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("%s: %v\nat %s, the page shows:\n%s", name, err, loc, html)
	}
}

func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func signIn(t *testing.T, ctx context.Context, base, email, password string) {
	t.Helper()
	step(t, ctx, "sign in as "+email,
		chromedp.Navigate(base+"/signin"),
		chromedp.WaitVisible(chromedp.CSS(`#email`)),
		chromedp.SendKeys(chromedp.CSS(`#email`), email),
		chromedp.SendKeys(chromedp.CSS(`#password`), password),
		chromedp.Submit(chromedp.CSS(`#password`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=current-user]`)),
	)
}

// firstSignIn signs in to an account an admin created, whose password is
// temporary, and chooses its own password on the form that follows.
func firstSignIn(t *testing.T, ctx context.Context, base, email, initial, own string) {
	t.Helper()
	signIn(t, ctx, base, email, initial)
	step(t, ctx, "choose a password for "+email,
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=must-change]`)),
		chromedp.SendKeys(chromedp.CSS(`#current_password`), initial),
		chromedp.SendKeys(chromedp.CSS(`#new_password`), own),
		chromedp.SendKeys(chromedp.CSS(`#repeat_password`), own),
		chromedp.Click(chromedp.CSS(`[data-testid=change-password]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=flash]`)),
	)
}

// TestBrowserRequestApproveAndWatch clicks through the whole workflow with
// two people: an admin adds an approver, files a create request, and the
// approver approves it and watches it execute.
func TestBrowserRequestApproveAndWatch(t *testing.T) {
	requestApproveAndWatch(t, map[string]string{"SIM_SPEED": "2"})
}

// TestBrowserRequestApproveAndWatchOnTheFixtureServer runs the same flow
// with the portal configured as for the real cloud, against the fixture
// server: a second implementation of the API, built from the API pages'
// examples, not from the simulator.
func TestBrowserRequestApproveAndWatchOnTheFixtureServer(t *testing.T) {
	const project, ak, sk = "0123456789abcdef0123456789abcdef", "FIXTUREAK0000000000", "FIXTUREsk000000000000000000000000000000"
	fx, err := dwsfixture.New(dwsfixture.Config{ProjectID: project, AK: ak, SK: sk, Step: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(fx)
	t.Cleanup(api.Close)
	requestApproveAndWatch(t, map[string]string{"DWS_ENDPOINT": api.URL, "DWS_PROJECT_ID": project, "DWS_AK": ak, "DWS_SK": sk})
}

// requestApproveAndWatch is the two-person flow, on the cloud cloudEnv
// configures.
func requestApproveAndWatch(t *testing.T, cloudEnv map[string]string) {
	ctx := newBrowser(t)
	env := map[string]string{"DATABASE_URL": testdb.NewURL(t), "HTTP_ADDR": "127.0.0.1:0", "LOG_LEVEL": "warn",
		"ADMIN_EMAIL": "ops@example.com", "ADMIN_PASSWORD": "a long enough password"}
	maps.Copy(env, cloudEnv)
	base, _ := startPortal(t, env)

	// Anonymous visitors land on the sign-in page.
	step(t, ctx, "anonymous", chromedp.Navigate(base+"/dr-tasks"), chromedp.WaitVisible(chromedp.CSS(`#email`)))
	screenshot(t, ctx, "signin")
	signIn(t, ctx, base, "ops@example.com", "a long enough password")

	// The admin adds an approver, who is also the second admin.
	step(t, ctx, "add an approver",
		chromedp.Navigate(base+"/admin/users"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=new-user-form]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=new-user-form] #email`), "ana@example.com"),
		chromedp.SendKeys(chromedp.CSS(`#display_name`), "Ana"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=new-user-form] #password`), "ana's long password"),
		chromedp.Click(chromedp.CSS(`[data-testid=new-user-form] input[value=approver]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=new-user-form] input[value=admin]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=create-user]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=flash]`)),
	)

	// The form: the name is checked as it is typed, the standby picker
	// follows the primary.
	flash, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid=flash]`)))
	if flash != "Created ana@example.com: gave admin, approver (at once: you are the only admin)." {
		t.Errorf("after adding the approver: %q", flash)
	}
	step(t, ctx, "open the new task form",
		chromedp.Click(chromedp.CSS(`header a[href="/dr-tasks/new"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#name`)),
	)
	// The link is boosted: htmx swaps the page in, then wires its fields.
	// Someone typing faster than that would type before the check listens.
	waitHTMX(t, ctx, `#name`)
	step(t, ctx, "inline name check",
		chromedp.SendKeys(chromedp.CSS(`#name`), "x"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=error-name]:not(:empty)`)),
	)
	msg, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid=error-name]`)))
	if !strings.Contains(msg, "4 to 64") {
		t.Errorf("inline check says %q", msg)
	}
	// Choose a usable primary, as a person would with the mouse, and then a
	// standby the picker offers for it; a primary the cloud pairs with
	// nothing (its standby picker offers none) is passed over.
	primaries, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#primary_cluster_id option')].filter(o => !o.disabled && o.value).map(o => o.value)`))
	standbys := func() string {
		v, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll('#standby_cluster_id option')].map(o => o.value + (o.disabled ? '-' : '+')).join(',')`))
		return v
	}
	chosen := false
	for _, primary := range primaries {
		before := standbys()
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const s = document.querySelector('#primary_cluster_id');
			s.value = `+jsString(primary)+`; s.dispatchEvent(new Event('change', {bubbles: true})); return true; })()`)); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for standbys() == before && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		// Nothing is chosen for the person: pick the first eligible standby.
		if ok, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const s = document.querySelector('#standby_cluster_id');
			const o = [...s.options].find(o => !o.disabled && o.value); if (!o) return false; s.value = o.value; return true; })()`)); ok {
			chosen = true
			break
		}
	}
	if !chosen {
		t.Fatalf("no usable primary has a standby to offer (primaries %v; standbys %q)", primaries, standbys())
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(document.querySelector('#name').value = '') === ''`)); err != nil {
		t.Fatal(err)
	}
	step(t, ctx, "fill the form",
		chromedp.SendKeys(chromedp.CSS(`#name`), "dr_browser01"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=ok-name]`)),
		chromedp.SendKeys(chromedp.CSS(`#dr_sync_period`), "15"), // minutes, the unit picker's first choice
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=ok-dr_sync_period]`)),
		chromedp.SendKeys(chromedp.CSS(`#justification`), "Protect the sales warehouse before the migration."),
	)
	screenshot(t, ctx, "create-form")
	step(t, ctx, "file the request",
		chromedp.Click(chromedp.CSS(`[data-testid=create-submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#request-card`)),
	)
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	if !regexp.MustCompile(`/requests/\d+$`).MatchString(loc) {
		t.Fatalf("after filing at %s", loc)
	}
	waitText(t, ctx, `#request-card [data-testid=status]`, "Pending", 5*time.Second)
	own, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid=approve]').length`))
	if own != 0 {
		t.Error("the requester is offered to approve their own request")
	}
	screenshot(t, ctx, "request-pending")
	step(t, ctx, "sign out", chromedp.Click(chromedp.CSS(`header form button`)), chromedp.WaitVisible(chromedp.CSS(`#email`)))

	// The approver sees it waiting and approves; the card follows the
	// execution by itself.
	firstSignIn(t, ctx, base, "ana@example.com", "ana's long password", "ana's own password")
	waitText(t, ctx, `[data-testid=awaiting-count]`, "1", 5*time.Second)
	step(t, ctx, "open the request",
		chromedp.Click(chromedp.CSS(`[data-testid=nav-requests]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=request-link]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=request-link]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=decide-form]`)),
	)
	payload, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid=payload]`)))
	if !strings.Contains(payload, `"name": "dr_browser01"`) || !strings.Contains(payload, `"dr_sync_period": "15m"`) {
		t.Errorf("the approver is shown %q", payload)
	}
	step(t, ctx, "approve",
		chromedp.SendKeys(chromedp.CSS(`#comment`), "Checked with the DBA team."),
		chromedp.Click(chromedp.CSS(`[data-testid=approve]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=flash]`)),
	)
	waitText(t, ctx, `#request-card [data-testid=status]`, "Succeeded", 30*time.Second)
	waitText(t, ctx, `[data-testid=awaiting-count]`, "0", 10*time.Second)
	screenshot(t, ctx, "request-succeeded")
	step(t, ctx, "open the task",
		chromedp.Click(chromedp.CSS(`[data-testid=task-link]`)),
		chromedp.WaitVisible(chromedp.CSS(`#task-panel`)),
	)
	waitText(t, ctx, `#task-panel [data-testid=status]`, "Not started", 30*time.Second)
	// Settled, it looks again only now and then (for what others file).
	trigger, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#task-panel').getAttribute('hx-trigger') || ''`))
	if trigger != "every 30s" {
		t.Errorf("the settled task's panel polls %q", trigger)
	}
	screenshot(t, ctx, "task-detail")

	taskURL, _ := chromedp.Run(ctx, chromedp.Location())

	// A high-risk operation end to end: the admin proposes that one approval
	// suffice for delete, the second admin approves that, the admin files the
	// delete with the cluster's name typed, and the approver types it too.
	step(t, ctx, "sign out approver", chromedp.Click(chromedp.CSS(`header form button`)), chromedp.WaitVisible(chromedp.CSS(`#email`)))
	signIn(t, ctx, base, "ops@example.com", "a long enough password")
	step(t, ctx, "policy: propose that delete needs one approval",
		chromedp.Navigate(base+"/admin/policy"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=approvals-delete]`)),
		chromedp.SetValue(chromedp.CSS(`[data-testid=approvals-delete]`), "1"),
		chromedp.Click(chromedp.CSS(`[data-testid=save-policy]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=flash]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=withdraw-change]`)),
	)
	step(t, ctx, "sign out the proposer", chromedp.Click(chromedp.CSS(`header form button`)), chromedp.WaitVisible(chromedp.CSS(`#email`)))
	signIn(t, ctx, base, "ana@example.com", "ana's own password")
	step(t, ctx, "the second admin approves the policy",
		chromedp.Navigate(base+"/admin/policy"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=approve-change]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=approve-change]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=flash]`)),
	)
	screenshot(t, ctx, "policy-approved")
	if v, _ := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`[data-testid=approvals-delete]`))); v != "1" {
		t.Errorf("after the second admin's approval, delete needs %q approvals", v)
	}
	step(t, ctx, "sign out the second admin", chromedp.Click(chromedp.CSS(`header form button`)), chromedp.WaitVisible(chromedp.CSS(`#email`)))
	signIn(t, ctx, base, "ops@example.com", "a long enough password")
	step(t, ctx, "open the delete form",
		chromedp.Navigate(taskURL),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=op-delete]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=op-delete]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=operation-form]`)),
	)
	consequence, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid=consequence]`)))
	confirm, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`label[for=confirm] .mono`)))
	if !strings.Contains(consequence, "Deletes the DR task for good") || confirm == "" {
		t.Fatalf("delete form: consequence %q, confirm %q", consequence, confirm)
	}
	step(t, ctx, "a wrong confirmation",
		chromedp.SendKeys(chromedp.CSS(`#justification`), "Decommissioning the pair."),
		chromedp.SendKeys(chromedp.CSS(`#confirm`), "not-the-cluster"),
		chromedp.Click(chromedp.CSS(`[data-testid=file-operation]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=error-confirm]:not(:empty)`)),
		// The error summary takes the focus once htmx has settled the page: type after that.
		chromedp.WaitVisible(chromedp.CSS(`body:not(.htmx-settling) #error-summary:focus`)),
	)
	screenshot(t, ctx, "delete-wrong-confirm")
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(document.querySelector('#confirm').value = '') === ''`)); err != nil {
		t.Fatal(err)
	}
	step(t, ctx, "file the delete",
		chromedp.SendKeys(chromedp.CSS(`#confirm`), confirm),
		chromedp.Click(chromedp.CSS(`[data-testid=file-operation]`)),
		chromedp.WaitVisible(chromedp.CSS(`#request-card`)),
	)
	deleteURL, _ := chromedp.Run(ctx, chromedp.Location())
	step(t, ctx, "sign out requester", chromedp.Click(chromedp.CSS(`header form button`)), chromedp.WaitVisible(chromedp.CSS(`#email`)))
	signIn(t, ctx, base, "ana@example.com", "ana's own password")
	step(t, ctx, "approve without typing the name",
		chromedp.Navigate(deleteURL),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=decide-form]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=approve]`)),
		chromedp.WaitVisible(chromedp.CSS(`#request-card:not(.htmx-settling) [data-testid=card-error]:focus`)),
	)
	step(t, ctx, "approve with the name typed",
		chromedp.SendKeys(chromedp.CSS(`#confirm`), confirm),
		chromedp.Click(chromedp.CSS(`[data-testid=approve]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=flash]`)),
	)
	waitText(t, ctx, `#request-card [data-testid=status]`, "Succeeded", 30*time.Second)
	screenshot(t, ctx, "delete-succeeded")
	step(t, ctx, "the task is gone", chromedp.Navigate(taskURL), chromedp.WaitVisible(chromedp.CSS(`[data-testid=deleted-on-request]`)))

	step(t, ctx, "audit page",
		chromedp.Navigate(base+"/audit"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=audit-table]`)),
	)
	screenshot(t, ctx, "audit")
	errs, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`!document.getElementById('client-error').hidden`))
	if errs {
		msg, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#client-error`)))
		t.Errorf("the page reported a failed background request: %s", msg)
	}
}
