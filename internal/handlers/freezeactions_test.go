package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestDuringAFreezeTheTaskPageSaysSoByTheOperationButtons: while a freeze
// is in force, the task page says it right by the operation buttons, with
// its end, how far off that is and its reason, and marks every button it
// blocks as frozen; without a freeze neither shows.
func TestDuringAFreezeTheTaskPageSaysSoByTheOperationButtons(t *testing.T) {
	e := newEnv(t)
	id := e.createTask("dr_frozenops1")
	req := e.signedIn("req@example.com")
	page := req.get("/dr-tasks/" + id)
	if page.doc.Find(`[data-testid=freeze-line]`).Length() != 0 || page.doc.Find(`[data-testid=op-frozen]`).Length() != 0 {
		t.Error("without a freeze the task page says one is on")
	}
	now := time.Now()
	f := e.freeze(now.Add(-time.Minute), now.Add(3*time.Hour), "quarter close")
	page = req.get("/dr-tasks/" + id)
	line := page.text(`[data-testid=freeze-line]`)
	for _, want := range []string{"Frozen until " + shown(f.End), "(in 2 hours)", "quarter close", "Only break-glass can act."} {
		if !strings.Contains(line, want) {
			t.Errorf("the freeze line says %q; it does not say %q", line, want)
		}
	}
	buttons := page.doc.Find(`[data-testid=operations] a.button`)
	if buttons.Length() == 0 {
		t.Fatal("the task page offers no operation")
	}
	if n := page.doc.Find(`[data-testid=operations] a.button[data-frozen=true][aria-describedby=freeze-line]`).Length(); n != buttons.Length() {
		t.Errorf("%d of %d operation buttons are marked frozen", n, buttons.Length())
	}
	if n := page.doc.Find(`[data-testid=op-frozen]`).Length(); n != buttons.Length() {
		t.Errorf("%d of %d operation buttons say they are frozen", n, buttons.Length())
	}
}

// TestDuringAFreezeTheFormDisablesItsButtonAndARefusalIsSaidOnce: during a
// freeze the operation form's submit button is disabled, with the reason
// next to it; a filing sent all the same is still refused, and the form
// comes back saying the refusal once, not again by the button.
func TestDuringAFreezeTheFormDisablesItsButtonAndARefusalIsSaidOnce(t *testing.T) {
	e := newEnv(t)
	id := e.createTask("dr_frozenform1")
	req := e.signedIn("req@example.com")
	form := req.get("/dr-tasks/" + id + "/operations/start")
	if _, disabled := form.doc.Find(`[data-testid=file-operation]`).Attr("disabled"); disabled {
		t.Error("without a freeze the submit button is disabled")
	}
	now := time.Now()
	e.freeze(now.Add(-time.Minute), now.Add(3*time.Hour), "storage migration")
	form = req.get("/dr-tasks/" + id + "/operations/start")
	if _, disabled := form.doc.Find(`[data-testid=file-operation]`).Attr("disabled"); !disabled {
		t.Error("during the freeze the submit button is enabled")
	}
	if why := form.text(`[data-testid=file-operation-frozen]`); !strings.Contains(why, "freeze") {
		t.Errorf("by the disabled button it says %q", why)
	}
	before := e.requestsOn(id)
	res := e.fileOperation(req, id, "start", url.Values{"justification": {"start it for the migration test"}})
	if res.status != http.StatusConflict {
		t.Fatalf("a start filed during the freeze: %d", res.status)
	}
	if n := strings.Count(res.text("main"), "storage migration"); n != 1 {
		t.Errorf("the refused form names the freeze %d times: %q", n, res.text("main"))
	}
	if n := e.requestsOn(id) - before; n != 0 {
		t.Errorf("%d requests filed during the freeze", n)
	}
}

// TestARefusedSecondRequestIsSaidOnceWithALinkToTheFirst: a filing refused
// because the same operation is pending on the task says so once, and
// that once links the pending request.
func TestARefusedSecondRequestIsSaidOnceWithALinkToTheFirst(t *testing.T) {
	e := newEnv(t)
	req := e.signedIn("req@example.com")
	id := e.createTask("dr_twiceonce1")
	first := requestIDFrom(t, e.fileOperation(req, id, "start", url.Values{"justification": {"protect it"}}))
	again := e.fileOperation(req, id, "start", url.Values{"justification": {"protect it again"}})
	if again.status != http.StatusConflict {
		t.Fatalf("second start: %d", again.status)
	}
	if n := strings.Count(again.text("main"), "already pending"); n != 1 {
		t.Errorf("the refusal is said %d times: %q", n, again.text("main"))
	}
	twin := again.doc.Find(`[data-testid=twin]`)
	if !strings.Contains(twin.Text(), "Nothing was filed") || again.attr(`[data-testid=twin] a`, "href") != fmt.Sprintf("/requests/%d", first) {
		t.Errorf("the refusal says %q, linking %q", twin.Text(), again.attr(`[data-testid=twin] a`, "href"))
	}
}
