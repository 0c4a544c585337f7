package handlers_test

import (
	"context"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"drportal/internal/browsertest"
)

// visible says whether the element sel finds is rendered (a closed menu's
// contents are not).
func visible(t *testing.T, ctx context.Context, sel string) bool {
	t.Helper()
	return eval[bool](t, ctx, `(function () { var el = document.querySelector(`+"`"+sel+"`"+`); return !!el && el.checkVisibility(); })()`)
}

// TestOnAPhoneTheHeaderIsCompactAndItsMenuWorksWithoutJavaScript: at 390
// px the header is one line, at most 70 px tall, its navigation behind a
// Menu button that opens without JavaScript and keeps the labelled nav
// and aria-current; at 1280 px the navigation shows without the button.
func TestOnAPhoneTheHeaderIsCompactAndItsMenuWorksWithoutJavaScript(t *testing.T) {
	e := newEnv(t)
	ctx := headless(t, 390, 844)
	e.signInBrowser(t, ctx, "admin@example.com")
	scripts := func(disabled bool) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: disabled})
			return err
		})
	}
	browse(t, ctx, "open the task list without JavaScript", scripts(true), chromedp.Navigate(e.srv.URL+"/dr-tasks"), chromedp.WaitVisible(chromedp.CSS(`main`)))
	if h := eval[float64](t, ctx, `document.querySelector('header .top').getBoundingClientRect().height`); h > 70 {
		t.Errorf("the phone's header is %.0f px tall, over 70", h)
	}
	if visible(t, ctx, `nav[aria-label=Main] a[href="/audit"]`) {
		t.Error("the navigation shows before the menu is opened")
	}
	if !visible(t, ctx, `[data-testid=menu-button]`) || eval[int](t, ctx, `document.querySelectorAll('[data-testid=skip-link]').length`) != 1 {
		t.Error("no menu button or no skip link on a phone")
	}
	browse(t, ctx, "open the menu", chromedp.Click(chromedp.CSS(`[data-testid=menu-button]`)))
	if !visible(t, ctx, `nav[aria-label=Main] a[href="/audit"]`) || !visible(t, ctx, `[data-testid=nav-profile]`) {
		t.Error("the opened menu does not show the navigation and the profile link")
	}
	if got := eval[string](t, ctx, `(document.querySelector('nav[aria-label=Main] [aria-current=page]') || {}).textContent || ''`); got != "DR tasks" {
		t.Errorf("the current page in the menu: %q", got)
	}
	browse(t, ctx, "allow scripts again, for axe-core", scripts(false))
	browsertest.CheckAccessible(t, ctx, "the task list with the phone menu open")
	browsertest.Screenshot(t, ctx, "phone-menu-open")

	wide := headless(t, 1280, 900)
	e.signInBrowser(t, wide, "admin@example.com")
	browse(t, wide, "open the task list", chromedp.Navigate(e.srv.URL+"/dr-tasks"), chromedp.WaitVisible(chromedp.CSS(`main`)))
	if !visible(t, wide, `nav[aria-label=Main] a[href="/audit"]`) || visible(t, wide, `[data-testid=menu-button]`) {
		t.Error("at 1280 px the navigation should show at once, without a menu button")
	}
	if h := eval[float64](t, wide, `document.querySelector('header .top').getBoundingClientRect().height`); h > 70 {
		t.Errorf("the wide header is %.0f px tall", h)
	}
	browsertest.Screenshot(t, wide, "wide-header")
}

// TestTheAuditArchiveFormIsLaidOutForPhones: at 390 px the archive form's
// label, its short number field and its button each have a line, nothing
// squeezed; at 1280 px the field is not stretched across the page.
func TestTheAuditArchiveFormIsLaidOutForPhones(t *testing.T) {
	e := newEnv(t)
	for _, w := range []int64{390, 1280} {
		ctx := headless(t, w, 900)
		e.signInBrowser(t, ctx, "admin@example.com")
		browse(t, ctx, "open the audit page", chromedp.Navigate(e.srv.URL+"/audit"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=archive-form]`)))
		box := func(sel string) []float64 {
			return eval[[]float64](t, ctx, `(function () { var r = document.querySelector(`+"`"+sel+"`"+`).getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom, r.width]; })()`)
		}
		form, label, input, button := box(`[data-testid=archive-form]`), box(`label[for=older_than_days]`), box(`#older_than_days`), box(`[data-testid=archive]`)
		if label[3] > input[1] || button[1] < input[3] {
			t.Errorf("at %d px the label, field and button share a line: label %v, field %v, button %v", w, label, input, button)
		}
		if input[4] < 70 || input[4] > 200 {
			t.Errorf("at %d px the days field is %.0f px wide", w, input[4])
		}
		if input[2] > form[2] || button[2] > form[2] {
			t.Errorf("at %d px the form's contents overflow it", w)
		}
		browsertest.CheckAccessible(t, ctx, "the audit page with the archive form")
		browsertest.Screenshot(t, ctx, "audit-archive-"+map[int64]string{390: "phone", 1280: "wide"}[w])
	}
}

// TestThePolicyInEffectReadsOnAPhone: at 390 px each value of the policy
// in effect stays on one line beside its label, never a letter a line.
func TestThePolicyInEffectReadsOnAPhone(t *testing.T) {
	e := newEnv(t)
	ctx := headless(t, 390, 844)
	e.signInBrowser(t, ctx, "admin@example.com")
	browse(t, ctx, "open the policy", chromedp.Navigate(e.srv.URL+"/admin/policy"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=policy-in-effect]`)))
	tall := eval[[]string](t, ctx, `Array.prototype.filter.call(document.querySelectorAll('[data-testid=policy-in-effect] dd'), function (d) { var r = document.createRange(); r.selectNodeContents(d); return r.getClientRects().length > 1; }).map(function (d) { return d.textContent; })`)
	if len(tall) > 0 {
		t.Errorf("values broken over lines at 390 px: %q", tall)
	}
	browsertest.Screenshot(t, ctx, "phone-policy-in-effect")
}
