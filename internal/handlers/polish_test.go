package handlers_test

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"drportal/internal/auth"
	"drportal/internal/portal"
)

// TestTheSignInPageSaysWhatThePortalIs: the product's mark, its name and
// a one-line purpose stand above the form.
func TestTheSignInPageSaysWhatThePortalIs(t *testing.T) {
	e := newEnv(t)
	page := e.browser().get("/signin")
	if page.doc.Find(`.signin svg.mark`).Length() != 1 || page.text(`[data-testid=product]`) != "DR Portal" ||
		!strings.Contains(page.text(`[data-testid=purpose]`), "disaster-recovery") {
		t.Errorf("sign-in: product %q, purpose %q", page.text(`[data-testid=product]`), page.text(`[data-testid=purpose]`))
	}
}

// TestPagesCanBeFoundWithoutSight: a skip link to the main content comes
// first; the navigations are labelled and mark the page shown; the
// simulated-cloud banner is a note, not a live region; the layout has one
// polite live region, outside the panels that swap.
func TestPagesCanBeFoundWithoutSight(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("admin@example.com")
	for _, c := range []struct{ path, current string }{
		{"/dr-tasks", "/dr-tasks"}, {"/requests", "/requests"}, {"/audit", "/audit"}, {"/admin/users", "/admin/users"},
	} {
		page := b.get(c.path)
		first := page.doc.Find(`body a, body button, body input`).First()
		if first.AttrOr("href", "") != "#main" || page.doc.Find(`main#main`).Length() != 1 {
			t.Errorf("%s: the first focusable is %q, not a skip link to main", c.path, first.Text())
		}
		nav := page.doc.Find(`header nav[aria-label=Main]`)
		if cur := nav.Find(`a[aria-current=page]`); cur.Length() != 1 || cur.AttrOr("href", "") != c.current {
			t.Errorf("%s: aria-current on %d links (%q)", c.path, cur.Length(), cur.AttrOr("href", ""))
		}
		page.doc.Find(`nav`).Each(func(_ int, n *goquery.Selection) {
			if n.AttrOr("aria-label", "") == "" {
				t.Errorf("%s: an unlabelled nav: %q", c.path, n.Text())
			}
		})
		banner := page.doc.Find(`[data-testid=simulated-banner]`)
		if r := banner.AttrOr("role", ""); r == "status" || r == "alert" || banner.AttrOr("aria-live", "") != "" {
			t.Errorf("%s: the banner is a live region (role %q)", c.path, r)
		}
		live := page.doc.Find(`[aria-live]`)
		if live.Length() != 1 || live.AttrOr("aria-live", "") != "polite" || live.Closest("main").Length() != 0 {
			t.Errorf("%s: %d live regions", c.path, live.Length())
		}
	}
	if cur := b.get("/admin/policy").doc.Find(`nav[aria-label="Admin sections"] a[aria-current=page]`); cur.AttrOr("href", "") != "/admin/policy" {
		t.Errorf("admin tabs: current %q", cur.AttrOr("href", ""))
	}
}

// TestDetailPagesHaveABreadcrumbASummaryAndAReadableHeading: a task's and
// a request's page start with a breadcrumb, a heading whose name reads
// "name, status" (not "namestatus") and a summary line; their live panels
// say what to announce when their status changes.
func TestDetailPagesHaveABreadcrumbASummaryAndAReadableHeading(t *testing.T) {
	e := newEnv(t)
	id := e.createTask("dr_polish1")
	b := e.signedIn("req@example.com")
	eventually(t, "the task read", func() bool {
		row, err := e.store.Task(context.Background(), id)
		return err == nil && row.DetailFetchedAt != nil && row.Status == portal.TaskUnstart
	})
	task := b.get("/dr-tasks/" + id)
	if got := task.text(`[data-testid=breadcrumb]`); !strings.HasPrefix(got, "DR tasks") || !strings.HasSuffix(got, "dr_polish1") {
		t.Errorf("task breadcrumb %q", got)
	}
	if got := strings.Join(strings.Fields(task.text(`#task-panel h1`)), " "); got != "dr_polish1, Not started" {
		t.Errorf("task heading reads %q", got)
	}
	if s := task.text(`[data-testid=summary]`); !regexp.MustCompile(`^Cross-AZ · \S+ → \S+ · syncs every 5 minutes$`).MatchString(s) {
		t.Errorf("task summary %q", s)
	}
	if a := task.attr(`#task-panel`, "data-announce"); a != "dr_polish1 is now Not started" {
		t.Errorf("task announcement %q", a)
	}
	req := b.get("/requests/1")
	if got := req.text(`[data-testid=breadcrumb]`); !strings.HasPrefix(got, "Requests") || !strings.HasSuffix(got, "Request #1") {
		t.Errorf("request breadcrumb %q", got)
	}
	if got := strings.Join(strings.Fields(req.text(`#request-card h1`)), " "); got != "Request #1: Create dr_polish1, Succeeded" {
		t.Errorf("request heading reads %q", got)
	}
	if s := req.text(`[data-testid=summary]`); s != "Create dr_polish1 · filed by req@example.com · 1 of 1 approval" {
		t.Errorf("request summary %q", s)
	}
	if a := req.attr(`#request-card`, "data-announce"); a != "Request #1 succeeded" {
		t.Errorf("request announcement %q", a)
	}
}

// TestATaskDeletedOnRequestSaysSo: a task the portal deleted, as approved,
// shows a success state, not the warning of a task that vanished.
func TestATaskDeletedOnRequestSaysSo(t *testing.T) {
	e := newEnv(t)
	e.addUser("appr@example.com", auth.RoleApprover)
	id := e.createTask("dr_deleted1")
	req := e.signedIn("req@example.com")
	eventually(t, "the task read", func() bool {
		row, err := e.store.Task(context.Background(), id)
		return err == nil && row.DetailFetchedAt != nil && row.Status == portal.TaskUnstart
	})
	confirm := req.get("/dr-tasks/" + id + "/operations/delete").text(`label[for=confirm] .mono`)
	del := requestIDFrom(t, e.fileOperation(req, id, "delete", url.Values{"confirm": {confirm}, "justification": {"decommission"}}))
	for _, who := range []string{"admin@example.com", "appr@example.com"} {
		b := e.signedIn(who)
		page := b.get(fmt.Sprintf("/requests/%d", del))
		r := b.postRaw(fmt.Sprintf("/requests/%d/decide", del), url.Values{
			"_csrf": {page.doc.Find(`[data-testid=decide-form] input[name=_csrf]`).AttrOr("value", "")}, "decision": {"approve"},
			"payload_sha256": {page.text(`[data-testid=payload-hash]`)}, "confirm": {confirm}})
		if r.status != http.StatusSeeOther {
			t.Fatalf("%s approves: %d %s", who, r.status, r.text(`[data-testid=card-error]`))
		}
	}
	if r := e.waitRequest(del, portal.StatusSucceeded, portal.StatusFailed); r.Status != portal.StatusSucceeded {
		t.Fatalf("delete: %s %q", r.Status, r.Outcome)
	}
	var page response
	eventually(t, "the task page shows the deletion", func() bool {
		e.clock.Advance(time.Second)
		page = req.get("/dr-tasks/" + id)
		return page.attr(`#task-panel [data-testid=status]`, "data-status") == "deleted"
	})
	if page.doc.Find(`[data-testid=deleted-on-request].success`).Length() != 1 || page.doc.Find(`[data-testid=gone]`).Length() != 0 {
		t.Errorf("a task deleted on request: %q / %q", page.text(`[data-testid=deleted-on-request]`), page.text(`[data-testid=gone]`))
	}
	if page.attr(`#task-panel [data-testid=status]`, "class") == "badge warn" {
		t.Error("the deleted badge is a warning")
	}
}

// TestTheStyleSheetMeetsContrastFocusAndDarkMode: input borders have at
// least 3:1 contrast against the card, focus is visible, and the pages
// follow a dark colour scheme.
func TestTheStyleSheetMeetsContrastFocusAndDarkMode(t *testing.T) {
	e := newEnv(t)
	href := e.browser().get("/signin").attr(`link[rel=stylesheet]`, "href")
	res, err := http.Get(e.srv.URL + href)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	css := string(body)
	if regexp.MustCompile(`border: 1px solid #b9c0ca`).MatchString(css) {
		t.Error("inputs keep the 1.8:1 border")
	}
	m := regexp.MustCompile(`--input-line: (#[0-9a-f]{6})`).FindAllStringSubmatch(css, -1)
	cards := regexp.MustCompile(`--card: (#[0-9a-f]{6})`).FindAllStringSubmatch(css, -1)
	if len(m) != 2 || len(cards) != 2 {
		t.Fatalf("input line colours %v, card colours %v (light and dark)", m, cards)
	}
	for i := range m {
		if c := contrast(m[i][1], cards[i][1]); c < 3 {
			t.Errorf("input border %s on %s: %.2f:1", m[i][1], cards[i][1], c)
		}
	}
	if !strings.Contains(css, ":focus-visible { outline: 3px solid") || !strings.Contains(css, "@media (prefers-color-scheme: dark)") {
		t.Error("no visible focus style or no dark mode")
	}
}

// contrast is the WCAG contrast ratio of two #rrggbb colours.
func contrast(a, b string) float64 {
	lum := func(hex string) float64 {
		var c [3]float64
		for i := range c {
			v, _ := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
			s := float64(v) / 255
			if s <= 0.03928 {
				c[i] = s / 12.92
			} else {
				c[i] = math.Pow((s+0.055)/1.055, 2.4)
			}
		}
		return 0.2126*c[0] + 0.7152*c[1] + 0.0722*c[2]
	}
	la, lb := lum(a), lum(b)
	return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)
}

// TestTheSimulatedCloudBannerIsInTheSiteBanner: the note that the cloud is
// simulated lies inside the page's banner landmark (a header that is a
// child of the body), not outside every landmark, on a page of the portal
// and on the sign-in page; the page has one such header.
func TestTheSimulatedCloudBannerIsInTheSiteBanner(t *testing.T) {
	e := newEnv(t)
	for name, page := range map[string]response{"the task list": e.signedIn("admin@example.com").get("/dr-tasks"), "the sign-in page": e.browser().get("/signin")} {
		banner := page.doc.Find(`[data-testid=simulated-banner]`)
		if banner.Length() != 1 {
			t.Fatalf("%s: %d simulated-cloud banners", name, banner.Length())
		}
		if header := banner.Closest("header"); header.Length() != 1 || !header.Parent().Is("body") {
			t.Errorf("%s: the simulated-cloud banner is outside the site's banner landmark", name)
		}
		if n := page.doc.Find(`body > header`).Length(); n != 1 {
			t.Errorf("%s: %d top-level headers", name, n)
		}
	}
}
