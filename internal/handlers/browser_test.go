package handlers_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"drportal/internal/browsertest"
	"drportal/internal/portal"
)

// headless starts a headless Chromium showing width by height px.
func headless(t *testing.T, width, height int64) context.Context {
	t.Helper()
	return browsertest.New(t, width, height)
}

// browse runs actions, failing the test with what went wrong.
func browse(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a script in the page.
func eval[T any](t *testing.T, ctx context.Context, script string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](script))
	if err != nil {
		t.Fatalf("evaluate %s: %v", script, err)
	}
	return v
}

// until waits for a script to be true.
func until(t *testing.T, ctx context.Context, what, script string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if ok, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](script)); ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: %s never held", what, script)
}

func (e *env) signInBrowser(t *testing.T, ctx context.Context, email string) {
	t.Helper()
	browse(t, ctx, "sign in as "+email,
		chromedp.Navigate(e.srv.URL+"/signin"),
		chromedp.WaitVisible(chromedp.CSS(`#email`)),
		chromedp.SendKeys(chromedp.CSS(`#email`), email),
		chromedp.SendKeys(chromedp.CSS(`#password`), password),
		chromedp.Submit(chromedp.CSS(`#password`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=current-user]`)),
	)
}

// pendingCreate files a create request as req@example.com on clusters no
// task uses, and returns its number.
func (e *env) pendingCreate(name string) int64 {
	e.t.Helper()
	req := e.signedIn("req@example.com")
	primary, standby := req.formPairExcluding(e.busyClusters()...)
	form := validForm(primary, standby)
	form.Set("name", name)
	return e.fileCreate(req, form)
}

// TestNoPageScrollsSidewaysOnAPhone: at 390 px every main page fits the
// screen (tables scroll in their own box, long ids and paths wrap), and
// so does the audit page, with the rest, at 1280 px. At both widths axe-core
// finds no serious or critical accessibility violation on any of them (the
// profile with two sessions). On a phone the admin's users table is
// readable: its buttons are never squeezed to a letter a line, nor the
// user's e-mail cell to a few letters.
func TestNoPageScrollsSidewaysOnAPhone(t *testing.T) {
	e := newEnv(t)
	id := e.createTask("dr_phone01")
	n := e.pendingCreate("dr_phone02")
	e.signedIn("admin@example.com") // a second session on the profile
	pages := []string{"/dr-tasks", "/dr-tasks/new", "/dr-tasks/" + id, "/dr-tasks/" + id + "?calls=1",
		"/dr-tasks/" + id + "/operations/start", "/dr-tasks/" + id + "/operations/update", "/requests?tab=all", fmt.Sprintf("/requests/%d", n), "/requests/1",
		"/audit", "/admin/users", "/admin/policy", "/admin/sign-ins", "/profile", "/admin/break-glass"}
	// Screenshot names that do not depend on ids.
	names := []string{"tasks", "new-task", "task", "task-calls", "operation-start", "operation-update", "requests", "request-pending",
		"request-succeeded", "audit", "users", "policy", "sign-ins", "profile", "break-glass"}
	// Cells holding a name, per page: on a phone each is at least 120 px
	// wide (the lists are stacked cards there), never a column squeezed to
	// a few letters.
	nameCells := map[string][]string{
		"/dr-tasks":         {`[data-testid=task-row] td:has([data-testid=task-name])`, `[data-testid=pending-create] td:first-child`},
		"/requests?tab=all": {`[data-testid=request-row] td:nth-child(3)`},
		"/admin/users":      {`[data-testid=user-row][data-email="req@example.com"] td:first-child`},
	}
	// Buttons, per page: on a phone each is at least 60 px wide.
	buttons := map[string]string{"/admin/users": `[data-testid=user-table] button, [data-testid=user-table] .button`}
	for _, size := range []struct{ w, h int64 }{{390, 844}, {1280, 900}} {
		ctx := headless(t, size.w, size.h)
		e.signInBrowser(t, ctx, "admin@example.com")
		for i, p := range pages {
			browse(t, ctx, "open "+p, chromedp.Navigate(e.srv.URL+p), chromedp.WaitVisible(chromedp.CSS(`main`)))
			widths := eval[[]int](t, ctx, `[document.documentElement.scrollWidth, window.innerWidth]`)
			if len(widths) != 2 || widths[0] > widths[1] {
				t.Errorf("at %d px, %s is %v px wide (page, window)", size.w, p, widths)
			}
			browsertest.CheckAccessible(t, ctx, fmt.Sprintf("%s at %d px", p, size.w))
			for _, sel := range nameCells[p] {
				w := eval[float64](t, ctx, fmt.Sprintf(`(function () { var el = document.querySelector(%q); return el ? el.getBoundingClientRect().width : -1; })()`, sel))
				if w < 120 {
					t.Errorf("at %d px, on %s the name cell %s is %.0f px wide, under 120", size.w, p, sel, w)
				}
			}
			if sel := buttons[p]; sel != "" && size.w == 390 {
				narrow := eval[[]string](t, ctx, fmt.Sprintf(`Array.prototype.filter.call(document.querySelectorAll(%q), function (b) { return b.getBoundingClientRect().width < 60; }).map(function (b) { return b.textContent.trim() + ' ' + Math.round(b.getBoundingClientRect().width) + 'px'; })`, sel))
				if len(narrow) > 0 {
					t.Errorf("at %d px, on %s these buttons are under 60 px wide: %q", size.w, p, narrow)
				}
			}
			if size.w == 390 {
				browsertest.Screenshot(t, ctx, "phone-"+names[i])
			}
		}
	}
}

// TestALivePanelKeepsFocusAndAnnouncesItsChange: while a request card
// polls, the focused button stays focused across the swap, and nothing is
// announced while nothing changed; a change of status is said in the
// layout's one polite live region.
func TestALivePanelKeepsFocusAndAnnouncesItsChange(t *testing.T) {
	e := newEnv(t)
	n := e.pendingCreate("dr_live01")
	ctx := headless(t, 1280, 900)
	e.signInBrowser(t, ctx, "req@example.com")
	browse(t, ctx, "open the pending request",
		chromedp.Navigate(fmt.Sprintf("%s/requests/%d", e.srv.URL, n)),
		chromedp.WaitVisible(chromedp.CSS(`#cancel-request`)))
	if !eval[bool](t, ctx, `document.getElementById('request-card').hasAttribute('hx-trigger')`) {
		t.Fatal("the requester's pending card does not poll")
	}
	if r := eval[int](t, ctx, `document.querySelectorAll('[aria-live]').length`); r != 1 {
		t.Errorf("%d live regions, want the layout's one", r)
	}
	until(t, ctx, "htmx wires the card", `!!document.getElementById('request-card')['htmx-internal-data']`, 10*time.Second)
	browse(t, ctx, "focus the cancel button", chromedp.Focus(chromedp.CSS(`#cancel-request`)))
	eval[bool](t, ctx, `window.oldCard = document.getElementById('request-card'); true`)
	until(t, ctx, "the card refreshes", `document.getElementById('request-card') !== window.oldCard`, 15*time.Second)
	time.Sleep(300 * time.Millisecond)
	if f := eval[string](t, ctx, `document.activeElement ? document.activeElement.id : ''`); f != "cancel-request" {
		t.Errorf("after the card's refresh, focus is on %q, not the cancel button", f)
	}
	if said := eval[string](t, ctx, `document.getElementById('live-region').textContent`); said != "" {
		t.Errorf("an unchanged card announced %q", said)
	}
	browse(t, ctx, "cancel", chromedp.Click(chromedp.CSS(`#cancel-request`)))
	want := fmt.Sprintf("Request #%d cancelled", n)
	until(t, ctx, "the change is announced", `document.getElementById('live-region').textContent === `+fmt.Sprintf("%q", want), 10*time.Second)
}

// TestChoosingAPrimaryAnnouncesTheStandbysOffered: the standby list that
// reloads when a primary is chosen is said through the layout's one
// polite live region: how many standbys it offers, for which primary.
func TestChoosingAPrimaryAnnouncesTheStandbysOffered(t *testing.T) {
	e := newEnv(t)
	ctx := headless(t, 1280, 900)
	e.signInBrowser(t, ctx, "req@example.com")
	browse(t, ctx, "open the create form",
		chromedp.Navigate(e.srv.URL+"/dr-tasks/new"),
		chromedp.WaitVisible(chromedp.CSS(`#primary_cluster_id`)))
	until(t, ctx, "htmx wires the primary picker", `!!document.getElementById('primary_cluster_id')['htmx-internal-data']`, 10*time.Second)
	eval[bool](t, ctx, `(function () {
		var s = document.getElementById('primary_cluster_id');
		var o = Array.prototype.find.call(s.options, function (o) { return o.value && !o.disabled; });
		window.primaryLabel = o.textContent;
		s.value = o.value;
		s.dispatchEvent(new Event('change', {bubbles: true}));
		return true;
	})()`)
	until(t, ctx, "the standbys are announced", `/offered for/.test(document.getElementById('live-region').textContent)`, 10*time.Second)
	said := eval[string](t, ctx, `document.getElementById('live-region').textContent`)
	offered := eval[int](t, ctx, `document.querySelectorAll('#standby_cluster_id > option:not([disabled])').length`)
	primary := eval[string](t, ctx, `window.primaryLabel`)
	want := fmt.Sprintf("%d standby clusters offered for ", offered)
	if offered == 1 {
		want = "1 standby cluster offered for "
	}
	name, ok := strings.CutPrefix(said, want)
	if !ok || name == "" || !strings.HasPrefix(strings.TrimSpace(primary), name) {
		t.Errorf("announced %q; the list offers %d, the primary is %q", said, offered, primary)
	}
	if r := eval[int](t, ctx, `document.querySelectorAll('[aria-live]').length`); r != 1 {
		t.Errorf("%d live regions, want the layout's one", r)
	}
}

// TestApprovingWithJavaScriptConfirmsOnTheCardAndKeepsTheFocus: after an
// approval made with htmx the card says "Your approval is recorded", as
// the page does without JavaScript, and keeps saying it while the request
// runs to its end; the keyboard focus stays on the card (its note), not
// lost to the page's body.
func TestApprovingWithJavaScriptConfirmsOnTheCardAndKeepsTheFocus(t *testing.T) {
	e := newEnv(t)
	n := e.pendingCreate("dr_approve01")
	ctx := headless(t, 1280, 900)
	e.signInBrowser(t, ctx, "admin@example.com")
	browse(t, ctx, "open the pending request",
		chromedp.Navigate(fmt.Sprintf("%s/requests/%d", e.srv.URL, n)),
		chromedp.WaitVisible(chromedp.CSS(`#approve`)))
	until(t, ctx, "htmx wires the decide form", `!!document.querySelector('[data-testid=decide-form]')['htmx-internal-data']`, 10*time.Second)
	browse(t, ctx, "approve from the keyboard", chromedp.Focus(chromedp.CSS(`#approve`)), chromedp.KeyEvent("\r"))
	flash := `(function () { var f = document.querySelector('#request-card [data-testid=flash]'); return f && !f.hidden ? f.textContent : ''; })()`
	until(t, ctx, "the card confirms the approval", flash+`.indexOf('Your approval is recorded') === 0`, 10*time.Second)
	if in := eval[bool](t, ctx, `document.getElementById('request-card').contains(document.activeElement)`); !in {
		t.Errorf("after approving, the focus is on %s, not in the card", eval[string](t, ctx, `document.activeElement ? document.activeElement.tagName + '#' + document.activeElement.id : 'nothing'`))
	}
	e.waitRequest(n, portal.StatusSucceeded)
	until(t, ctx, "the card shows the request's end", `document.getElementById('request-card').getAttribute('data-status') === 'succeeded'`, 20*time.Second)
	if got := eval[string](t, ctx, flash); !strings.HasPrefix(got, "Your approval is recorded") {
		t.Errorf("once the request succeeded, the card's note is %q", got)
	}
	if in := eval[bool](t, ctx, `document.getElementById('request-card').contains(document.activeElement)`); !in {
		t.Errorf("after the card's refreshes, the focus is on %s, not in the card", eval[string](t, ctx, `document.activeElement ? document.activeElement.tagName : 'nothing'`))
	}
}
