package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"drportal/internal/db"
	"drportal/internal/portal"
)

// What the outage-mode pages say: a freeze, the change windows, break-glass
// and drills, in words a person new to the portal reads right.

// freeze adds a freeze from start to end, as an admin would.
func (e *env) freeze(start, end time.Time, reason string) portal.Freeze {
	e.t.Helper()
	var f portal.Freeze
	err := e.store.InTx(context.Background(), func(tx *db.Tx) error {
		admin, err := tx.UserByEmail(context.Background(), "admin@example.com")
		if err != nil {
			return err
		}
		f, err = tx.InsertFreeze(context.Background(), portal.Freeze{Start: start, End: end, Reason: reason}, admin.ID, time.Now())
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return f
}

// window adds a change window of op, written as people write it, as an
// admin would.
func (e *env) window(op portal.Operation, spec string) portal.Window {
	e.t.Helper()
	w, err := portal.ParseWindow(op, spec)
	if err != nil {
		e.t.Fatal(err)
	}
	err = e.store.InTx(context.Background(), func(tx *db.Tx) error {
		admin, err := tx.UserByEmail(context.Background(), "admin@example.com")
		if err != nil {
			return err
		}
		w, err = tx.InsertWindow(context.Background(), w, admin.ID, time.Now())
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return w
}

// shown is a time as the pages show it (the display zone is UTC here).
func shown(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") + " UTC" }

// TestDuringAFreezeARequestPageSaysTheFreezeIsOnAndOnlyBreakGlassCanAct: a
// request filed before a freeze, for an operation without change windows,
// is held by the freeze alone: its page names the freeze, its reason and its
// end, says that only break-glass can act until then, and does not blame a
// change window it does not have.
func TestDuringAFreezeARequestPageSaysTheFreezeIsOnAndOnlyBreakGlassCanAct(t *testing.T) {
	e := newEnv(t)
	id := e.createTask("dr_freeze01")
	req := e.signedIn("req@example.com")
	rid := requestIDFrom(t, e.fileOperation(req, id, "start", url.Values{"justification": {"start it before the close"}}))
	now := time.Now()
	f := e.freeze(now.Add(-time.Minute), now.Add(3*time.Hour), "quarter close")

	page := req.get(fmt.Sprintf("/requests/%d", rid))
	says := page.text(`[data-testid=request-window]`)
	for _, want := range []string{"A freeze is on", "quarter close", shown(f.End), "only break-glass", "It executes when the freeze ends."} {
		if !strings.Contains(says, want) {
			t.Errorf("the request page says %q; it does not say %q", says, want)
		}
	}
	if strings.Contains(strings.ToLower(says), "window") {
		t.Errorf("the request page blames a change window the start does not have: %q", says)
	}
	// The task page says it in the same words.
	if task := req.get("/dr-tasks/" + id); !strings.Contains(task.text(`[data-testid=freeze-notice]`), "only break-glass") {
		t.Errorf("the task page says of the freeze %q", task.text(`[data-testid=freeze-notice]`))
	}
}

// TestAWindowsOpeningIsAlsoShownInUTCAndHowFarOff: where a page says when a
// change window opens (the request that waits for it, the task page, the
// admins' windows page), it gives the opening in the window's zone, the
// same moment in UTC, which reads the same for every viewer, and how far
// off it is, from the server's clock when the page is read.
func TestAWindowsOpeningIsAlsoShownInUTCAndHowFarOff(t *testing.T) {
	e := newEnv(t)
	id := e.createTask("dr_opening01")
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	day := time.Now().In(loc).AddDate(0, 0, 3)
	opening := time.Date(day.Year(), day.Month(), day.Day(), 10, 0, 0, 0, loc)
	e.window(portal.OpStart, day.Format("Mon")+" 10:00-11:00 Europe/Berlin")
	req := e.signedIn("req@example.com")
	rid := requestIDFrom(t, e.fileOperation(req, id, "start", url.Values{"justification": {"start it in the window"}}))

	inUTC := opening.UTC().Format("2006-01-02 15:04") + " UTC"
	far := regexp.MustCompile(`, in [23] days`)
	check := func(where, says string) {
		t.Helper()
		if !strings.Contains(says, portal.FormatOpening(opening, "Europe/Berlin")) || !strings.Contains(says, inUTC) || !far.MatchString(says) {
			t.Errorf("%s says %q; want the opening in Berlin, %s and how far off it is", where, says, inUTC)
		}
	}
	check("the request page", req.get(fmt.Sprintf("/requests/%d", rid)).text(`[data-testid=request-window]`))
	check("the task page", req.get("/dr-tasks/"+id).text(`[data-testid=window-notice]`))
	admin := e.signedIn("admin@example.com")
	check("the windows page", admin.get("/admin/windows").text(`[data-testid=window-op-start] [data-testid=next-window]`))
	// And the note an approval that waits for the window leaves.
	if res := e.decide(admin, rid, "approve", ""); res.status != http.StatusSeeOther {
		t.Fatalf("approve: %d %s", res.status, res.text("main"))
	}
	check("the request page after approving", admin.get(fmt.Sprintf("/requests/%d", rid)).text(`[data-testid=request-window]`))
}

// rule sets op's rule outside its windows, as admins would.
func (e *env) rule(op portal.Operation, r portal.OutsideRule) {
	e.t.Helper()
	err := e.store.InTx(context.Background(), func(tx *db.Tx) error {
		admin, err := tx.UserByEmail(context.Background(), "admin@example.com")
		if err != nil {
			return err
		}
		return tx.SetOutsideRule(context.Background(), op, r, admin.ID, time.Now())
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// TestAnOperationFormSaysByItsSubmitButtonWhatTheWindowsAllowNow: before
// anyone files, an operation's form says by its submit button what the
// change windows and freezes say of it now: nothing for an operation
// without windows; its window open now; closed, and when it opens; the
// extra approval that runs it at once; a freeze, with its reason and end.
// A filing refused by the freeze comes back as the form, with what was
// typed, naming break-glass; a responder whom break-glass allows the
// operation is linked to their emergency form.
func TestAnOperationFormSaysByItsSubmitButtonWhatTheWindowsAllowNow(t *testing.T) {
	e := newEnv(t)
	id := e.createTask("dr_formwin01")
	req := e.signedIn("req@example.com")
	form := func(op string) response {
		t.Helper()
		res := req.get("/dr-tasks/" + id + "/operations/" + op)
		if res.status != http.StatusOK {
			t.Fatalf("the %s form: %d %s", op, res.status, res.text("main"))
		}
		if res.doc.Find(`[data-testid=form-window]`).Length() > 0 &&
			res.attr(`[data-testid=file-operation]`, "aria-describedby") != "form-window" {
			t.Errorf("the %s form's submit button is not described by the window state", op)
		}
		return res
	}
	if n := form("start").doc.Find(`[data-testid=form-window]`).Length(); n != 0 {
		t.Errorf("a start without windows, no freeze on, shows %d window notes", n)
	}

	// Closed: when it opens; then the extra approval.
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	day := time.Now().In(loc).AddDate(0, 0, 3)
	e.window(portal.OpStart, day.Format("Mon")+" 10:00-11:00 Europe/Berlin")
	opening := portal.FormatOpening(time.Date(day.Year(), day.Month(), day.Day(), 10, 0, 0, 0, loc), "Europe/Berlin")
	if says := form("start").text(`[data-testid=form-window]`); !strings.Contains(says, "Outside its change window") ||
		!strings.Contains(says, "executes when the window opens, "+opening) {
		t.Errorf("outside its window the start form says %q", says)
	}
	e.rule(portal.OpStart, portal.OutsideExtraApproval)
	if says := form("start").text(`[data-testid=form-window]`); !strings.Contains(says, "one extra approval") || !strings.Contains(says, opening) {
		t.Errorf("under the extra-approval rule the start form says %q", says)
	}
	// Open now: a window around the present hour for an update.
	now := time.Now().UTC()
	end := now.Hour() + 2
	if end > 24 {
		end -= 24
	}
	e.window(portal.OpUpdate, fmt.Sprintf("every day %02d:00-%02d:00 UTC", now.Hour(), end))
	if says := form("update").text(`[data-testid=form-window]`); !strings.Contains(says, "open now") {
		t.Errorf("inside its window the update form says %q", says)
	}

	// A freeze: said before filing, and the refusal keeps what was typed.
	f := e.freeze(now.Add(-time.Minute), now.Add(6*time.Hour), "storage migration")
	page := form("start")
	says := page.text(`[data-testid=form-window]`)
	for _, want := range []string{"A freeze is on", "storage migration", shown(f.End), "only break-glass"} {
		if !strings.Contains(says, want) {
			t.Errorf("during the freeze the start form says %q; it does not say %q", says, want)
		}
	}
	if page.doc.Find(`[data-testid=form-break-glass]`).Length() != 0 {
		t.Error("a requester who is no responder is offered to break glass")
	}
	before := e.requestsOn(id)
	res := e.fileOperation(req, id, "start", url.Values{"justification": {"start it for the migration test"}})
	if res.status != http.StatusConflict || res.doc.Find(`[data-testid=operation-form]`).Length() != 1 {
		t.Fatalf("a start filed during the freeze: %d %s", res.status, res.text("main"))
	}
	if got := res.text(`#justification`); got != "start it for the migration test" {
		t.Errorf("the refused form kept %q of the justification", got)
	}
	if msg := res.text(`[data-testid=submit-error]`); !strings.Contains(msg, "storage migration") || !strings.Contains(msg, "break-glass") {
		t.Errorf("the refusal says %q", msg)
	}
	if n := e.requestsOn(id) - before; n != 0 {
		t.Errorf("%d requests filed during the freeze", n)
	}

	// The create form, refused the same way, keeps what was typed too.
	primary, standby := req.formPairExcluding(e.busyClusters()...)
	create := validForm(primary, standby)
	create.Set("name", "dr_frozen02")
	if res := req.post("/dr-tasks", create); res.status != http.StatusConflict || res.attr(`#name`, "value") != "dr_frozen02" ||
		!strings.Contains(res.text(`[data-testid=submit-error]`), "storage migration") {
		t.Errorf("a create filed during the freeze: %d, name %q, %q", res.status, res.attr(`#name`, "value"), res.text(`[data-testid=submit-error]`))
	}

	// A responder who may file, and whom break-glass allows a start.
	e.addUser("both@example.com", portal.RoleRequester, portal.RoleResponder)
	e.breakGlassOn(portal.OpStart)
	both := e.signedIn("both@example.com")
	if href := both.get("/dr-tasks/"+id+"/operations/start").attr(`[data-testid=form-break-glass]`, "href"); href != "/dr-tasks/"+id+"/break-glass/start" {
		t.Errorf("during the freeze the responder's start form links %q", href)
	}
}

// TestAResponderSeesOnTheTaskPageThatBreakGlassIsOffAndWhoCanTurnItOn: a
// responder-only account is told on the task page, while break-glass is
// off, that it is off and which admins can turn it on; nobody else is, and
// nor is the responder once it is on.
func TestAResponderSeesOnTheTaskPageThatBreakGlassIsOffAndWhoCanTurnItOn(t *testing.T) {
	e := newEnv(t)
	e.addUser("resp@example.com", portal.RoleResponder)
	e.addUser("boss@example.com", portal.RoleAdmin)
	id := e.createTask("dr_glassoff01")
	resp := e.signedIn("resp@example.com")
	says := resp.get("/dr-tasks/" + id).text(`[data-testid=break-glass-off]`)
	for _, want := range []string{"Break-glass is off", "Admin → Break-glass", "admin and boss"} {
		if !strings.Contains(says, want) {
			t.Errorf("the responder's task page says %q; it does not say %q", says, want)
		}
	}
	if n := e.signedIn("req@example.com").get("/dr-tasks/" + id).doc.Find(`[data-testid=break-glass-off]`).Length(); n != 0 {
		t.Error("a requester who is no responder is told about break-glass")
	}
	e.breakGlassOn(portal.OpStart)
	page := resp.get("/dr-tasks/" + id)
	if page.doc.Find(`[data-testid=break-glass-off]`).Length() != 0 || page.doc.Find(`[data-testid=break-glass-start]`).Length() != 1 {
		t.Errorf("with break-glass on for start, the responder's task page shows %q", page.text(`#task-panel`))
	}
}

// TestWithdrawingOrRejectingAWindowsLooseningNeedsNoPassword: a change to
// the windows waits only when it allows more, so withdrawing one's own
// proposal, or another admin rejecting it, leaves the portal as strict as
// it is: neither asks for the password, however long ago it was entered.
// Approving it still does (through the page's one password form).
func TestWithdrawingOrRejectingAWindowsLooseningNeedsNoPassword(t *testing.T) {
	e := newEnv(t)
	e.addUser("admin2@example.com", portal.RoleAdmin)
	a1, a2 := e.signedIn("admin@example.com"), e.signedIn("admin2@example.com")
	ctx := context.Background()
	start := time.Now().AddDate(0, 1, 0)
	mine := e.freeze(start, start.Add(time.Hour), "quarter close")
	theirs := e.freeze(start.Add(2*time.Hour), start.Add(3*time.Hour), "audit")
	proposeLift := func(b *browser, f portal.Freeze) string {
		t.Helper()
		if res := b.post(fmt.Sprintf("/admin/freezes/%d/lift", f.ID), url.Values{"step_up_password": {password}}); res.status != http.StatusSeeOther {
			t.Fatalf("propose lifting %q: %d %q", f.Reason, res.status, res.text("main"))
		}
		cs, err := e.store.PendingAdminChanges(ctx)
		if err != nil || len(cs) == 0 {
			t.Fatalf("no change waits (%v)", err)
		}
		return strconv.FormatInt(cs[len(cs)-1].ID, 10)
	}
	own, other := proposeLift(a1, mine), proposeLift(a2, theirs)
	e.signInClock.Advance(6 * time.Minute)

	page := a1.get("/admin/windows")
	withdraw := page.doc.Find(`form[action="/admin/changes/` + own + `/reject"]`)
	reject := page.doc.Find(`form[action="/admin/changes/` + other + `/reject"]`)
	approve := page.doc.Find(`form[action="/admin/changes/` + other + `/approve"]`)
	if withdraw.Length() != 1 || reject.Length() != 1 || approve.Length() != 1 {
		t.Fatalf("the windows page offers %d withdraw, %d reject and %d approve forms", withdraw.Length(), reject.Length(), approve.Length())
	}
	if withdraw.Find(`input[name=step_up_password]`).Length() != 0 || reject.Find(`input[name=step_up_password]`).Length() != 0 {
		t.Error("withdrawing or rejecting a loosening asks for the password")
	}
	if approve.Find(`input[name=step_up_password]`).Length() != 0 || page.doc.Find(`[data-testid=windows-step-up] input[name=step_up_password]`).Length() != 1 {
		t.Error("approving a loosening is not asked for in the page's one password form")
	}
	if res := a1.post("/admin/changes/"+own+"/reject", url.Values{}); res.status != http.StatusSeeOther {
		t.Fatalf("withdrawing one's own proposal without the password: %d %q", res.status, res.text("main"))
	}
	if res := a1.post("/admin/changes/"+other+"/reject", url.Values{"comment": {"the audit needs it"}}); res.status != http.StatusSeeOther {
		t.Fatalf("rejecting another's proposal without the password: %d %q", res.status, res.text("main"))
	}
	if cs, _ := e.store.PendingAdminChanges(ctx); len(cs) != 0 {
		t.Errorf("%d changes still wait", len(cs))
	}
	if sched, err := e.store.Schedule(ctx, time.Now()); err != nil || len(sched.Freezes) != 2 {
		t.Errorf("after withdrawing and rejecting the lifts, %d freezes stand (%v)", len(sched.Freezes), err)
	}
	if len(e.events("change.withdrawn")) != 1 || len(e.events("change.rejected")) != 1 {
		t.Errorf("withdrawn %d, rejected %d", len(e.events("change.withdrawn")), len(e.events("change.rejected")))
	}
}

// TestTheBreakGlassPageWithAWaitingChangeAsksThePasswordOnlyWhereAFormNeedsIt:
// with a change of the break-glass settings waiting and the password
// entered long ago, the admins' page shows the change with approve and
// reject (to the other admin) or withdraw (to its proposer), asks the
// password once in the approve form and once in the settings form, never
// to reject or withdraw, and says that saving the settings replaces the
// waiting change, which saving then does, saying so.
func TestTheBreakGlassPageWithAWaitingChangeAsksThePasswordOnlyWhereAFormNeedsIt(t *testing.T) {
	e := newEnv(t)
	e.addUser("admin2@example.com", portal.RoleAdmin)
	a1, a2 := e.signedIn("admin@example.com"), e.signedIn("admin2@example.com")
	on := url.Values{"enabled": {"on"}, "operations": {"start"}, "review_days": {"3"}}
	if res := a1.post("/admin/break-glass", on); res.status != http.StatusSeeOther {
		t.Fatalf("propose break-glass on: %d %q", res.status, res.text("main"))
	}
	cs, err := e.store.PendingAdminChanges(context.Background())
	if err != nil || len(cs) != 1 {
		t.Fatalf("%d changes wait (%v)", len(cs), err)
	}
	change := strconv.FormatInt(cs[0].ID, 10)
	e.signInClock.Advance(6 * time.Minute)

	fields := func(page response, form string) int {
		return page.doc.Find(form + ` input[name=step_up_password]`).Length()
	}
	other := a2.get("/admin/break-glass")
	if n := fields(other, `form[action="/admin/changes/`+change+`/approve"]`); n != 1 {
		t.Errorf("the approve form asks the password %d times", n)
	}
	if n := fields(other, `form[action="/admin/changes/`+change+`/reject"]`); n != 0 {
		t.Errorf("the reject form asks the password %d times", n)
	}
	if n := fields(other, `[data-testid=break-glass-settings]`); n != 1 {
		t.Errorf("the settings form asks the password %d times", n)
	}
	if n := fields(other, `main`); n != 2 {
		t.Errorf("the page asks the password %d times, want 2 (approve, save)", n)
	}
	says := other.text(`[data-testid=save-replaces]`)
	if !strings.Contains(says, "Change #"+change) || !strings.Contains(says, "replaces it") ||
		other.text(`[data-testid=save-break-glass]`) != "Save, replacing change #"+change {
		t.Errorf("the settings form says %q by a button %q", says, other.text(`[data-testid=save-break-glass]`))
	}
	proposer := a1.get("/admin/break-glass")
	withdraw := `form[action="/admin/changes/` + change + `/reject"]`
	if proposer.doc.Find(withdraw+` [data-testid=withdraw-change]`).Length() != 1 || fields(proposer, withdraw) != 0 {
		t.Errorf("the proposer's withdraw form: %d, asking the password %d times",
			proposer.doc.Find(withdraw+` [data-testid=withdraw-change]`).Length(), fields(proposer, withdraw))
	}

	// Saving replaces the waiting change, and says so.
	wider := url.Values{"enabled": {"on"}, "operations": {"start", "failover"}, "review_days": {"3"}, "step_up_password": {password}}
	res := a1.post("/admin/break-glass", wider)
	if res.status != http.StatusSeeOther {
		t.Fatalf("save instead of the waiting change: %d %q", res.status, res.text("main"))
	}
	if note := a1.get(res.header.Get("Location")).text(`[data-testid=flash]`); !strings.Contains(note, "It replaces change #"+change+", which waited: that one is withdrawn") {
		t.Errorf("saving instead of the waiting change says %q", note)
	}
	// And the new one is withdrawn by its proposer without the password.
	cs, _ = e.store.PendingAdminChanges(context.Background())
	if len(cs) != 1 {
		t.Fatalf("%d changes wait", len(cs))
	}
	if res := a1.post(fmt.Sprintf("/admin/changes/%d/reject", cs[0].ID), url.Values{}); res.status != http.StatusSeeOther {
		t.Errorf("withdrawing without the password: %d %q", res.status, res.text("main"))
	}
}

// TestAnEmergencysPageSaysWhatWasRunNotWhatYouDecideOn: nobody decides on
// a break-glass request, so its page heads what it did "What was run".
func TestAnEmergencysPageSaysWhatWasRunNotWhatYouDecideOn(t *testing.T) {
	e := newEnv(t)
	e.addUser("resp@example.com", portal.RoleResponder)
	id := e.createTask("dr_wasrun01")
	e.breakGlassOn(portal.OpStart)
	rid := e.emergencyStart(e.signedIn("resp@example.com"), id)
	page := e.signedIn("admin@example.com").get(fmt.Sprintf("/requests/%d", rid))
	if got := page.text(`[data-testid=request-summary] h2`); got != "What was run" {
		t.Errorf("the emergency's page heads what it did %q", got)
	}
	if !strings.Contains(page.text(`[data-testid=request-summary]`), "Primary") {
		t.Errorf("the emergency's summary: %q", page.text(`[data-testid=request-summary]`))
	}
}

// TestAuditRowsNameTheTaskTheyAreAbout: the audit page names a DR task an
// event is about by its name, its id under it and in the link's tooltip,
// for every row of the page (the names are read with the page's events).
func TestAuditRowsNameTheTaskTheyAreAbout(t *testing.T) {
	e := newEnv(t)
	id := e.createTask("dr_named01")
	page := e.signedIn("admin@example.com").get("/audit?task=" + id)
	rows := page.doc.Find(`[data-testid=audit-row]`)
	if rows.Length() == 0 {
		t.Fatal("no audit row about the task")
	}
	rows.Each(func(_ int, row *goquery.Selection) {
		link := row.Find(`td[data-label=Subject] [data-testid=audit-subject]`)
		if got := strings.TrimSpace(link.Text()); got != "DR task dr_named01" {
			t.Errorf("event %s names its task %q", row.AttrOr("data-id", "?"), got)
		}
		if link.AttrOr("title", "") != id || strings.TrimSpace(row.Find(`[data-testid=audit-subject-id]`).Text()) != id {
			t.Errorf("event %s does not give the task's id %s", row.AttrOr("data-id", "?"), id)
		}
	})
}

// TestTheWindowsPageOffersTheRuleOutsideTheWindowsOnlyWhereItApplies: the
// rule for outside the windows ("wait" or "one extra approval") means
// nothing for an operation without windows: the page offers it only for
// one with windows, and says why for the others.
func TestTheWindowsPageOffersTheRuleOutsideTheWindowsOnlyWhereItApplies(t *testing.T) {
	e := newEnv(t)
	e.window(portal.OpSwitchover, "Tue-Thu 02:00-05:00 Europe/Berlin")
	page := e.signedIn("admin@example.com").get("/admin/windows")
	if page.doc.Find(`[data-testid=window-op-switchover] select[name=rule]`).Length() != 1 {
		t.Error("the switchover, which has a window, is not offered its rule")
	}
	for _, op := range []string{"start", "failover", "drill"} {
		row := `[data-testid=window-op-` + op + `]`
		if page.doc.Find(row+` select[name=rule]`).Length() != 0 {
			t.Errorf("the %s, without windows, is offered a rule", op)
		}
		if says := page.text(row + ` [data-testid=no-rule-` + op + `]`); !strings.Contains(says, "it has no window") {
			t.Errorf("the %s row says %q of its rule", op, says)
		}
	}
}

// TestADrillShowsBothItsCallsAndBothRTOsWithTheirResolution: a drill's
// request page shows what it sends as two calls, the switchover and then
// the switchback, each with its body and whether it was sent; its history
// gives both steps' RTO with the poll interval they are known to within.
func TestADrillShowsBothItsCallsAndBothRTOsWithTheirResolution(t *testing.T) {
	e := newEnv(t)
	e.addUser("appr2@example.com", portal.RoleApprover)
	id, confirm := e.runningSyncedTask("dr_calls01")
	req := e.signedIn("req@example.com")
	rid := requestIDFrom(t, e.fileOperation(req, id, "drill", url.Values{"justification": {"quarterly DR drill, CHG-78"}, "confirm": {confirm}}))
	calls := func() (card string, steps []string) {
		t.Helper()
		page := req.get(fmt.Sprintf("/requests/%d", rid))
		card = strings.Join(strings.Fields(page.doc.Find(`[data-testid=call-heading]`).Parent().Text()), " ")
		page.doc.Find(`[data-testid=drill-call]`).Each(func(_ int, s *goquery.Selection) {
			steps = append(steps, strings.Join(strings.Fields(s.Text()), " "))
		})
		return card, steps
	}
	card, steps := calls()
	if !strings.Contains(card, "Switchover") || !strings.Contains(card, "Switchback") || len(steps) != 2 {
		t.Fatalf("before it runs, the drill's calls read %q (%d calls)", card, len(steps))
	}
	for i, want := range []string{"1. Switchover (not sent yet", "2. Switchback (not sent yet"} {
		if !strings.HasPrefix(steps[i], want) || !strings.Contains(steps[i], "/disaster-recovery/"+id) || !strings.Contains(steps[i], "No body.") {
			t.Errorf("call %d reads %q", i+1, steps[i])
		}
	}

	e.approveDrill(rid)
	eventually(t, "the drill done", func() bool {
		e.clock.Advance(time.Second)
		r, _ := e.store.Request(context.Background(), rid)
		return r.Status.Final()
	})
	if r, _ := e.store.Request(context.Background(), rid); r.Status != portal.StatusSucceeded {
		t.Fatalf("drill: %s %q", r.Status, r.Outcome)
	}
	_, steps = calls()
	for i, want := range []string{"1. Switchover (sent at ", "2. Switchback (sent at "} {
		if len(steps) != 2 || !strings.HasPrefix(steps[i], want) {
			t.Errorf("once it ran, the drill's calls read %q", steps)
			break
		}
	}

	history := req.get("/dr-tasks/" + id + "/drills")
	for _, col := range []string{"Switchover RTO", "Switchback RTO"} {
		if got := history.text(`[data-testid=drill-row] td[data-label="` + col + `"]`); !strings.Contains(got, " (±") {
			t.Errorf("the drill history's %s reads %q, without the poll resolution", col, got)
		}
	}
}

// TestTheApprovalThatRunsARequestOutsideItsWindowSaysItRuns: outside its
// window, a start whose rule asks for one extra approval runs at once with
// it, and the note after that approval says so, not that it waits.
func TestTheApprovalThatRunsARequestOutsideItsWindowSaysItRuns(t *testing.T) {
	e := newEnv(t)
	e.addUser("bob@example.com", portal.RoleApprover)
	id := e.createTask("dr_extra01")
	e.window(portal.OpStart, time.Now().UTC().AddDate(0, 0, 3).Format("Mon")+" 10:00-11:00 UTC")
	e.rule(portal.OpStart, portal.OutsideExtraApproval)
	rid := requestIDFrom(t, e.fileOperation(e.signedIn("req@example.com"), id, "start", url.Values{"justification": {"protect it before the weekend"}}))
	e.decide(e.signedIn("bob@example.com"), rid, "approve", "")
	admin := e.signedIn("admin@example.com")
	if res := e.decide(admin, rid, "approve", ""); res.status != http.StatusSeeOther {
		t.Fatalf("the extra approval: %d %q", res.status, res.text("main"))
	}
	note := admin.get(fmt.Sprintf("/requests/%d", rid)).text(`main`)
	if strings.Contains(note, "and waits") || !strings.Contains(note, "has all its approvals, so it runs") {
		t.Errorf("after the extra approval the note says %q", note)
	}
	if byline := admin.get(fmt.Sprintf("/requests/%d", rid)).text(`[data-testid=summary]`); !strings.Contains(byline, "2 approvals (the policy's 1 plus one)") {
		t.Errorf("the byline says %q", byline)
	}
}

// TestAnEmergencyListsItsApprovalsAsBypassed: in the request list an
// emergency's approvals column says they were bypassed, not "2 of 2".
func TestAnEmergencyListsItsApprovalsAsBypassed(t *testing.T) {
	e := newEnv(t)
	e.addUser("resp@example.com", portal.RoleResponder)
	e.breakGlassOn(portal.OpStart)
	task := e.createTask("dr_bglist1")
	rid := e.emergencyStart(e.signedIn("resp@example.com"), task)
	list := e.signedIn("admin@example.com").get("/requests?tab=all")
	if got := list.text(fmt.Sprintf(`[data-testid=request-row][data-id="%d"] td[data-label=Approvals]`, rid)); got != "bypassed: emergency" {
		t.Errorf("the emergency's approvals cell: %q", got)
	}
}
