package handlers_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"drportal/internal/browsertest"
)

// TestALongCancelReasonWrapsBetweenWordsInTheRequestList: in a real
// browser at 1280 px, a request cancelled with a long reason (a long
// unbroken token in it) does not squeeze the request list's other columns
// until their words break: the number, operation, task and requester each
// stay on one line, and the reason is clamped to a few lines with the full
// text in its title. At 390 px the list does not scroll sideways.
func TestALongCancelReasonWrapsBetweenWordsInTheRequestList(t *testing.T) {
	e := newEnv(t)
	_, id := e.waitingStart("dr_longreason1")
	reason := strings.Repeat("The approval lapses before the window opens, so it is filed again on Friday under the same change ticket. ", 5) +
		"See https://change.example.com/tickets/CHG-1010/approvals/lapsed-before-the-window-opened-on-friday-morning."
	if res := e.cancel(e.signedIn("admin@example.com"), id, reason); res.status != http.StatusSeeOther {
		t.Fatalf("cancel with a long reason: %d %s", res.status, res.text("main"))
	}
	row := fmt.Sprintf(`[data-testid=request-row][data-id="%d"]`, id)
	// lines is on how many lines the content of the element sel finds lies.
	lines := func(sel string) string {
		return fmt.Sprintf(`(function () { var el = document.querySelector(%q); if (!el) return -1; var r = document.createRange();
			r.selectNodeContents(el); var tops = new Set(); for (const x of r.getClientRects()) { if (x.width > 0) tops.add(Math.round(x.top)); }
			return tops.size; })()`, sel)
	}
	for _, size := range []struct{ w, h int64 }{{1280, 900}, {390, 844}} {
		ctx := headless(t, size.w, size.h)
		e.signInBrowser(t, ctx, "admin@example.com")
		browse(t, ctx, "the request list", chromedp.Navigate(e.srv.URL+"/requests?tab=all"), chromedp.WaitVisible(chromedp.CSS(row)))
		if size.w == 1280 {
			for _, cell := range []string{"td:nth-child(1) a", "td:nth-child(2)", "td:nth-child(3)", "td:nth-child(4)"} {
				if n := eval[int](t, ctx, lines(row+" "+cell)); n != 1 {
					t.Errorf("at 1280 px the cancelled request's %s lies on %d lines: %q", cell, n,
						eval[string](t, ctx, fmt.Sprintf(`document.querySelector(%q).textContent.trim()`, row+" "+cell)))
				}
			}
		}
		note := row + " [data-testid=request-note]"
		if title := eval[string](t, ctx, fmt.Sprintf(`document.querySelector(%q).title`, note)); !strings.Contains(title, reason) {
			t.Errorf("at %d px the reason's title is %q", size.w, title)
		}
		if n := eval[float64](t, ctx, fmt.Sprintf(`(function () { var el = document.querySelector(%q);
			return el.getBoundingClientRect().height / parseFloat(getComputedStyle(el).lineHeight); })()`, note)); n > 4.5 {
			t.Errorf("at %d px the reason runs to %.1f lines", size.w, n)
		}
		if widths := eval[[]int](t, ctx, `[document.documentElement.scrollWidth, window.innerWidth]`); len(widths) != 2 || widths[0] > widths[1] {
			t.Errorf("at %d px the request list is %v px wide (page, window)", size.w, widths)
		}
		browsertest.CheckAccessible(t, ctx, fmt.Sprintf("the request list with a long reason at %d px", size.w))
		browsertest.Screenshot(t, ctx, fmt.Sprintf("requests-long-reason-%d", size.w))
	}
}
