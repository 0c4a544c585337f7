package handlers_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"drportal/internal/browsertest"
	"drportal/internal/portal"
)

// wordsBrokenInCells lists the words of the table cells sel finds that lie
// on more than one line: a word broken mid-word. Ids and hashes (mono,
// code) and clamped notes may break; hidden text has no lines.
func wordsBrokenInCells(sel string) string {
	return fmt.Sprintf(`(function () { var out = [];
		document.querySelectorAll(%q).forEach(function (td) {
			var w = document.createTreeWalker(td, NodeFilter.SHOW_TEXT), n;
			while ((n = w.nextNode())) {
				if (n.parentElement.closest('.mono, code, .clamp, .visually-hidden')) continue;
				var re = /\S+/g, m;
				while ((m = re.exec(n.data))) {
					var r = document.createRange(); r.setStart(n, m.index); r.setEnd(n, m.index + m[0].length);
					var tops = new Set(); for (const x of r.getClientRects()) { if (x.width > 0) tops.add(Math.round(x.top)); }
					if (tops.size > 1) out.push(m[0] + ' (in a cell ' + Math.round(td.getBoundingClientRect().width) + ' px wide)');
				}
			}
		});
		return out; })()`, sel)
}

// TestBrowserTableCellsWrapBetweenWordsAt1280: at 1280 px the task list,
// the request list (with a long cancel reason in it) and the break-glass
// page's tables break no word across lines (no "sales- / dr", "INC- /
// 4242", "# / 3"), and at 390 px none of them scrolls sideways.
func TestBrowserTableCellsWrapBetweenWordsAt1280(t *testing.T) {
	e := newEnv(t)
	e.addUser("resp@example.com", portal.RoleResponder)
	_, held := e.waitingStart("sales-dr-eu-west")
	reason := strings.Repeat("The approval lapses before the window opens, so it is filed again on Friday under change CHG-2005. ", 4) +
		"See https://change.example.com/tickets/CHG-2005/approvals/lapsed-before-the-window-opened-on-friday-morning."
	if res := e.cancel(e.signedIn("admin@example.com"), held, reason); res.status != 303 {
		t.Fatalf("cancel: %d %s", res.status, res.text("main"))
	}
	id := e.createTask("orders-dr-cross-az")
	e.breakGlassOn(portal.OpStart)
	e.emergencyStart(e.signedIn("resp@example.com"), id)

	pages := []struct{ path, ready string }{
		{"/dr-tasks", `table`},
		{"/requests?tab=all", `[data-testid=request-row]`},
		{"/admin/break-glass", `[data-testid=emergency-row]`},
	}
	wide := headless(t, 1280, 900)
	e.signInBrowser(t, wide, "admin@example.com")
	for _, p := range pages {
		browse(t, wide, p.path, chromedp.Navigate(e.srv.URL+p.path), chromedp.WaitVisible(chromedp.CSS(p.ready)))
		if broken := eval[[]string](t, wide, wordsBrokenInCells("table td")); len(broken) > 0 {
			t.Errorf("at 1280 px %s breaks these words across lines: %q", p.path, broken)
		}
		browsertest.CheckAccessible(t, wide, p.path+" at 1280 px")
	}
	browsertest.Screenshot(t, wide, "break-glass-tables-1280")
	phone := headless(t, 390, 844)
	e.signInBrowser(t, phone, "admin@example.com")
	for _, p := range pages {
		browse(t, phone, p.path, chromedp.Navigate(e.srv.URL+p.path), chromedp.WaitVisible(chromedp.CSS(p.ready)))
		if widths := eval[[]int](t, phone, `[document.documentElement.scrollWidth, window.innerWidth]`); len(widths) != 2 || widths[0] > widths[1] {
			t.Errorf("at 390 px %s is %v px wide (page, window)", p.path, widths)
		}
	}
}

// TestBrowserADisabledButtonLooksDisabled: during a freeze the operation
// form's disabled submit button is greyed and offers no pointer, unlike
// an enabled one, with its text still readable (3:1 at least against its
// background); a disabled secondary or danger button looks the same.
func TestBrowserADisabledButtonLooksDisabled(t *testing.T) {
	e := newEnv(t)
	id := e.createTask("dr_disabled_look1")
	now := time.Now()
	e.freeze(now.Add(-time.Minute), now.Add(6*time.Hour), "storage migration")
	ctx := headless(t, 1280, 900)
	e.signInBrowser(t, ctx, "req@example.com")
	browse(t, ctx, "the start form", chromedp.Navigate(e.srv.URL+"/dr-tasks/"+id+"/operations/start"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=file-operation]`)))
	type look struct {
		Background, Color, Cursor string
		Contrast                  float64
	}
	// looks is how each button looks: the form's, an enabled copy of it,
	// and disabled secondary and danger buttons added beside it.
	looks := eval[[]look](t, ctx, `(function () {
		var b = document.querySelector('[data-testid=file-operation]');
		var on = b.cloneNode(true); on.disabled = false; on.removeAttribute('data-testid'); b.parentNode.appendChild(on);
		var sec = document.createElement('button'); sec.className = 'secondary'; sec.disabled = true; sec.textContent = 'Secondary'; b.parentNode.appendChild(sec);
		var dan = document.createElement('button'); dan.className = 'danger'; dan.disabled = true; dan.textContent = 'Danger'; b.parentNode.appendChild(dan);
		function lum(c) { var v = c.match(/[\d.]+/g).slice(0, 3).map(function (x) { x = x / 255; return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); });
			return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; }
		return [b, on, sec, dan].map(function (el) { var s = getComputedStyle(el); var a = lum(s.color), z = lum(s.backgroundColor);
			return {background: s.backgroundColor, color: s.color, cursor: s.cursor, contrast: (Math.max(a, z) + 0.05) / (Math.min(a, z) + 0.05)}; });
	})()`)
	if len(looks) != 4 {
		t.Fatalf("looks: %v", looks)
	}
	disabled, enabled := looks[0], looks[1]
	if disabled.Background == enabled.Background || disabled.Color == enabled.Color {
		t.Errorf("the disabled submit button looks like an enabled one: %+v, enabled %+v", disabled, enabled)
	}
	for i, l := range []look{disabled, looks[2], looks[3]} {
		name := []string{"the submit button", "a secondary button", "a danger button"}[i]
		if l.Cursor == "pointer" {
			t.Errorf("disabled, %s offers a pointer", name)
		}
		if l.Contrast < 3 || math.IsNaN(l.Contrast) {
			t.Errorf("disabled, %s's text has a contrast of %.2f:1 on its background", name, l.Contrast)
		}
		if l.Background != disabled.Background {
			t.Errorf("disabled, %s is %s, the submit button %s", name, l.Background, disabled.Background)
		}
	}
	browsertest.CheckAccessible(t, ctx, "the start form during a freeze")
	browsertest.Screenshot(t, ctx, "start-disabled-look")
}

// TestBrowserBreakGlassOperationsAreSpacedCheckboxes: each operation on the
// break-glass settings is a checkbox inside its own label, and the labels
// stand apart: a checkbox never sits flush against the previous label's
// text.
func TestBrowserBreakGlassOperationsAreSpacedCheckboxes(t *testing.T) {
	e := newEnv(t)
	ctx := headless(t, 1280, 900)
	e.signInBrowser(t, ctx, "admin@example.com")
	browse(t, ctx, "the break-glass page", chromedp.Navigate(e.srv.URL+"/admin/break-glass"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=break-glass-settings]`)))
	gaps := eval[[]float64](t, ctx, `(function () {
		var ls = Array.from(document.querySelectorAll('fieldset input[name=operations]')).map(function (i) { return i.closest('label'); });
		if (ls.some(function (l) { return !l; })) return [-1];
		var out = [];
		for (var i = 1; i < ls.length; i++) { var a = ls[i - 1].getBoundingClientRect(), b = ls[i].getBoundingClientRect();
			if (Math.abs(a.top - b.top) < 4) out.push(b.left - a.right); }
		return out; })()`)
	if len(gaps) == 0 {
		t.Fatal("no operations side by side to measure")
	}
	for _, g := range gaps {
		if g < 12 {
			t.Errorf("an operation's checkbox sits %.0f px from the previous label (want 12 or more): %v", g, gaps)
			break
		}
	}
	browsertest.CheckAccessible(t, ctx, "the break-glass page")
	browsertest.Screenshot(t, ctx, "break-glass-operations")
}
