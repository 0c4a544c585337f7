package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"drportal/internal/db"
	"drportal/internal/dwssim"
	"drportal/internal/portal"
)

// option finds the option of a select whose text starts with a cluster's
// name, and says whether it can be chosen (neither it nor its group is
// disabled).
func option(page response, selectID, name string) (label string, found, enabled bool) {
	o := page.doc.Find("#" + selectID + " option").FilterFunction(func(_ int, s *goquery.Selection) bool {
		return strings.HasPrefix(s.Text(), name+" ")
	})
	if o.Length() == 0 {
		return "", false, false
	}
	_, off := o.Attr("disabled")
	_, groupOff := o.Parent().Filter("optgroup").Attr("disabled")
	return o.Text(), true, !off && !groupOff
}

// TestTheCreateFormChoosesNoPrimaryForThePerson: the primary picker starts
// on "Choose a primary cluster…", the usable clusters first and the others
// in a disabled group with the reason; each option says where the cluster
// is, its kernel and its size; the standby picker waits for a primary.
func TestTheCreateFormChoosesNoPrimaryForThePerson(t *testing.T) {
	e := newEnv(t)
	page := e.signedIn("req@example.com").get("/dr-tasks/new")
	first := page.doc.Find(`#primary_cluster_id option`).First()
	if v, _ := first.Attr("value"); v != "" || first.Text() != "Choose a primary cluster…" || first.AttrOr("selected", "no") == "no" {
		t.Errorf("the primary picker starts on %q (value %q)", first.Text(), v)
	}
	if n := page.doc.Find(`#primary_cluster_id option[selected][value!=""]`).Length(); n != 0 {
		t.Errorf("%d primaries chosen for the person", n)
	}
	if got := page.text(`#standby_cluster_id option`); got != "Choose a primary cluster first" {
		t.Errorf("the standby picker says %q before a primary is chosen", got)
	}
	// Usable first, then one disabled group of the rest.
	group := page.doc.Find(`#primary_cluster_id optgroup`)
	if _, off := group.Attr("disabled"); group.Length() != 1 || !off {
		t.Fatalf("%d groups of unusable primaries (disabled %v)", group.Length(), off)
	}
	if page.doc.Find(`#primary_cluster_id > option[value!=""][disabled]`).Length() != 0 {
		t.Error("an unusable primary is among the usable ones")
	}
	prod := e.cluster(dwssim.ClusterProd1)
	label, found, enabled := option(page, "primary_cluster_id", dwssim.ClusterProd1)
	if want := fmt.Sprintf("%s · %s · %s · 3 nodes", prod.Name, prod.AZ, prod.Version); !found || !enabled || label != want {
		t.Errorf("a usable primary reads %q (enabled %v), want %q", label, enabled, want)
	}
	for name, why := range map[string]string{
		dwssim.ClusterOldVersion: "kernel 8.0.3.100; DR needs 8.1.1 or later",
		dwssim.ClusterBusy:       "busy: snapshotting",
		dwssim.ClusterFailed:     "failed",
		// Alone in its VPC: nothing to pair with.
		dwssim.ClusterOtherVPC: "no cluster it could pair with",
	} {
		label, found, enabled := option(page, "primary_cluster_id", name)
		if !found || enabled || !strings.Contains(label, why) || group.Find(`option`).FilterFunction(func(_ int, s *goquery.Selection) bool {
			return strings.HasPrefix(s.Text(), name+" ")
		}).Length() != 1 {
			t.Errorf("%s is offered as %q (enabled %v), want it in the unusable group saying %q", name, label, enabled, why)
		}
	}
	if page.doc.Find(`[data-testid=no-pair]`).Length() != 0 {
		t.Error("says no pair is possible while some are")
	}
}

// TestTheStandbyPickerSaysWhyTheOtherClustersAreNotOffered: once a primary
// is chosen, the clusters DWS does not offer as its standby are listed,
// disabled, with the reason in the console's words.
func TestTheStandbyPickerSaysWhyTheOtherClustersAreNotOffered(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("req@example.com")
	primary := e.cluster(dwssim.ClusterProd1).ID
	for _, page := range []response{
		b.get("/dr-tasks/new?primary_cluster_id=" + primary),
		b.get("/dr-tasks/new/standbys?primary_cluster_id="+primary, "HX-Request", "true"),
	} {
		if label, found, enabled := option(page, "standby_cluster_id", dwssim.ClusterDR1); !found || !enabled || !strings.Contains(label, dwssim.AZ2) {
			t.Errorf("the eligible standby reads %q (enabled %v)", label, enabled)
		}
		for name, why := range map[string]string{
			dwssim.ClusterProd2:           "same AZ as the primary",
			dwssim.ClusterOtherVPC:        "another VPC",
			dwssim.ClusterVersionMismatch: "kernel 8.1.3.110; the primary runs 8.2.1.220",
			dwssim.ClusterDWS3:            "storage-compute decoupled",
			dwssim.ClusterBusy:            "busy: snapshotting",
			dwssim.ClusterOldVersion:      "DR needs 8.1.1 or later",
		} {
			if label, found, enabled := option(page, "standby_cluster_id", name); !found || enabled || !strings.Contains(label, why) {
				t.Errorf("standby %s is offered as %q (found %v, enabled %v), want disabled saying %q", name, label, found, enabled, why)
			}
		}
		if _, found, _ := option(page, "standby_cluster_id", dwssim.ClusterProd1); found {
			t.Error("the primary is offered as its own standby")
		}
	}
}

// TestAPrimaryDWSRefusesIsExplainedWithTheCodeBehindDetails: a primary
// that only DWS can rule out (storage-compute decoupled) gets a sentence in
// the standby picker; the code and request id are in a disclosure, and the
// page does not claim the cluster list could not be read.
func TestAPrimaryDWSRefusesIsExplainedWithTheCodeBehindDetails(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("req@example.com")
	page := b.get("/dr-tasks/new?primary_cluster_id=" + e.cluster(dwssim.ClusterDWS3).ID)
	msg := page.doc.Find(`[data-testid=standby-cloud-error]`).Clone()
	msg.Find("details").Remove()
	if got := strings.TrimSpace(msg.Text()); !strings.HasPrefix(got, "DWS does not accept this cluster as a DR primary: its type or kernel is not supported") ||
		!strings.Contains(got, "storage-compute decoupled") || strings.Contains(got, "DWS.5005") {
		t.Errorf("the refusal reads %q", got)
	}
	detail := page.text(`[data-testid=standby-cloud-error] details [data-testid=standby-cloud-detail]`)
	if !strings.Contains(detail, "DWS.5005") || !strings.Contains(detail, "request id") {
		t.Errorf("the details read %q", detail)
	}
	if page.doc.Find(`[data-testid=cloud-error]`).Length() != 0 {
		t.Errorf("the page says the cluster list failed: %q", page.text(`[data-testid=cloud-error]`))
	}
}

// TestWhenNoPairIsPossibleTheFormSaysSoOnce: with every cluster that could
// pair already in a DR task, the form says so in one line and offers no
// primary.
func TestWhenNoPairIsPossibleTheFormSaysSoOnce(t *testing.T) {
	e := newEnv(t)
	e.createTask("dr_first_pair")
	e.createTask("dr_second_pair")
	page := e.signedIn("req@example.com").get("/dr-tasks/new")
	if page.doc.Find(`[data-testid=no-pair]`).Length() != 1 || !strings.HasPrefix(page.text(`[data-testid=no-pair]`), "No cluster pair is eligible for DR right now") {
		t.Errorf("no-pair line: %q", page.text(`[data-testid=no-pair]`))
	}
	if n := page.doc.Find(`#primary_cluster_id > option[value!=""]`).Length(); n != 0 {
		t.Errorf("%d primaries offered as usable", n)
	}
}

// createForm is a valid create form as the page sends it: the sync period
// as a number and a unit.
func createForm(primary, standby string) url.Values {
	return url.Values{"name": {"dr_demo01"}, "dr_type": {"az"}, "primary_cluster_id": {primary}, "standby_cluster_id": {standby},
		"dr_sync_period_number": {"2"}, "dr_sync_period_unit": {"H"}, "justification": {"CHG-1: protect the sales warehouse"}}
}

// TestTheSyncPeriodIsANumberAndAUnit: the form asks for a number and a
// unit, the request carries the API's value joined from them, and a bad
// number or unit is refused on the server, each with its own message.
func TestTheSyncPeriodIsANumberAndAUnit(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("req@example.com")
	page := b.get("/dr-tasks/new")
	if typ := page.attr(`#dr_sync_period`, "type"); typ != "number" || page.attr(`#dr_sync_period`, "min") != "1" || page.attr(`#dr_sync_period`, "max") != "3000" {
		t.Errorf("the period is an input of type %q", typ)
	}
	var units []string
	page.doc.Find(`#dr_sync_period_unit option`).Each(func(_ int, s *goquery.Selection) {
		units = append(units, s.AttrOr("value", "")+"="+s.Text())
	})
	if strings.Join(units, ",") != "m=minutes,H=hours,d=days" {
		t.Errorf("units %v", units)
	}
	primary, standby := b.formPair()
	for _, tt := range []struct{ number, unit, want string }{
		{"0", "m", `"0" is not a whole number from 1 to 3000.`},
		{"3001", "d", `"3001" is not a whole number from 1 to 3000.`},
		{"1.5", "H", `"1.5" is not a whole number from 1 to 3000.`},
		{"", "m", "Enter how often to sync"},
		{"5", "h", "Choose the unit of the sync period: minutes, hours or days."},
	} {
		form := createForm(primary, standby)
		form.Set("dr_sync_period_number", tt.number)
		form.Set("dr_sync_period_unit", tt.unit)
		res := b.post("/dr-tasks", form)
		if got := res.text(`[data-testid=error-dr_sync_period]`); res.status != http.StatusUnprocessableEntity || !strings.Contains(got, tt.want) {
			t.Errorf("%q %q: %d %q, want %q", tt.number, tt.unit, res.status, got, tt.want)
		}
		if res.attr(`#dr_sync_period`, "aria-invalid") != "true" {
			t.Errorf("%q %q: the number is not marked invalid", tt.number, tt.unit)
		}
	}
	if n, _ := e.store.CountRequests(context.Background(), db.RequestFilter{}); n != 0 {
		t.Fatalf("%d requests filed from bad periods", n)
	}
	id := e.fileCreate(b, createForm(primary, standby))
	r, err := e.store.Request(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(r.Payload), `"dr_sync_period":"2H"`) {
		t.Errorf("the request carries %s", r.Payload)
	}
}

// TestTheSyncPeriodSaysTheRPOTargetItImplies: the live check and the form
// shown again both say what the period means for the data at risk.
func TestTheSyncPeriodSaysTheRPOTargetItImplies(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("req@example.com")
	r := b.get("/dr-tasks/new/check?dr_sync_period_number=15&dr_sync_period_unit=m", "HX-Request", "true")
	if got := r.text(`[data-testid=ok-dr_sync_period]`); got != "Syncs every 15 minutes: if the primary is lost, the standby's data is at most about 15 minutes old (the RPO target)." {
		t.Errorf("live check: %q", got)
	}
	if r := b.get("/dr-tasks/new/check?dr_sync_period_number=0&dr_sync_period_unit=d", "HX-Request", "true"); !strings.Contains(r.text(`[data-testid=error-dr_sync_period]`), "not a whole number") {
		t.Errorf("live check of 0: %s", r.body)
	}
	form := createForm(e.cluster(dwssim.ClusterProd1).ID, "")
	form.Set("name", "x")
	form.Set("dr_sync_period_number", "1")
	form.Set("dr_sync_period_unit", "d")
	res := b.post("/dr-tasks", form)
	if got := res.text(`[data-testid=ok-dr_sync_period]`); !strings.Contains(got, "at most about 1 day old") {
		t.Errorf("the form shown again says %q", got)
	}
	if res.attr(`#dr_sync_period`, "value") != "1" || res.attr(`#dr_sync_period_unit option[selected]`, "value") != "d" {
		t.Error("the form shown again lost the period")
	}
}

// TestAJustificationNeedsTenCharacters: "drill" tells an approver nothing;
// a create or an operation with a shorter justification is refused with a
// message that says what is enough, and nothing is filed.
func TestAJustificationNeedsTenCharacters(t *testing.T) {
	e := newEnv(t)
	taskID := e.createTask("dr_reasons")
	b := e.signedIn("req@example.com")
	before, _ := e.store.CountRequests(context.Background(), db.RequestFilter{})
	primary, standby := b.formPairExcluding(e.busyClusters()...)
	form := validForm(primary, standby)
	form.Set("justification", " drill    ")
	res := b.post("/dr-tasks", form)
	want := "Say why in at least 10 characters (this has 5)"
	if got := res.text(`[data-testid=error-justification]`); res.status != http.StatusUnprocessableEntity || !strings.HasPrefix(got, want) || !strings.Contains(got, "change ticket") {
		t.Errorf("create: %d %q", res.status, got)
	}
	op := e.fileOperation(b, taskID, "start", url.Values{"justification": {"drill"}})
	if got := op.text(`[data-testid=error-justification]`); op.status != http.StatusUnprocessableEntity || !strings.HasPrefix(got, want) {
		t.Errorf("start: %d %q", op.status, got)
	}
	if after, _ := e.store.CountRequests(context.Background(), db.RequestFilter{}); after != before {
		t.Errorf("%d requests filed with short justifications", after-before)
	}
}

// TestTheCreateFormSpeaksTheConsolesLanguage: the type in words, hints
// tied to their fields, and a hint for the OBS buckets.
func TestTheCreateFormSpeaksTheConsolesLanguage(t *testing.T) {
	e := newEnv(t)
	page := e.signedIn("req@example.com").get("/dr-tasks/new")
	if got := page.text(`[data-testid=dr-type]`); got != "Cross-AZ (same region)" {
		t.Errorf("type shown as %q", got)
	}
	if page.attr(`input[name=dr_type]`, "value") != "az" {
		t.Error("the form does not send dr_type az")
	}
	if !strings.Contains(page.text(`[data-testid=obs-hint]`), "Cross-AZ DR works without them") {
		t.Errorf("OBS hint: %q", page.text(`[data-testid=obs-hint]`))
	}
	for _, field := range []string{"name", "primary_cluster_id", "standby_cluster_id", "dr_sync_period", "primary_obs_bucket", "standby_obs_bucket", "justification"} {
		ids := strings.Fields(page.attr("#"+field, "aria-describedby"))
		if len(ids) == 0 {
			t.Errorf("%s has no aria-describedby", field)
		}
		hinted := false
		for _, id := range ids {
			el := page.doc.Find("#" + id)
			if el.Length() != 1 {
				t.Errorf("%s is described by #%s, which the page has %d times", field, id, el.Length())
			}
			hinted = hinted || el.HasClass("hint")
		}
		if !hinted {
			t.Errorf("%s is described by no hint (%v)", field, ids)
		}
	}
}

// TestAFailedSubmitLeadsWithAnErrorSummaryLinkedToTheFields: the form
// comes back with a summary that takes the focus (autofocus, so without
// JavaScript too), each entry a link to an input that exists and is marked
// invalid.
func TestAFailedSubmitLeadsWithAnErrorSummaryLinkedToTheFields(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("req@example.com")
	primary, standby := b.formPair()
	form := createForm(primary, standby)
	form.Set("name", "1bad")
	form.Set("dr_sync_period_number", "0")
	form.Set("justification", "short")
	res := b.post("/dr-tasks", form)
	summary := res.doc.Find(`[data-testid=form-errors]`)
	if res.status != http.StatusUnprocessableEntity || summary.Length() != 1 {
		t.Fatalf("%d, %d summaries", res.status, summary.Length())
	}
	if _, ok := summary.Attr("autofocus"); !ok || summary.AttrOr("tabindex", "") != "-1" {
		t.Error("the summary does not take the focus")
	}
	if res.doc.Find(`[autofocus]`).Length() != 1 {
		t.Error("something else on the page takes the focus too")
	}
	var linked []string
	summary.Find("a").Each(func(_ int, a *goquery.Selection) {
		target := strings.TrimPrefix(a.AttrOr("href", ""), "#")
		linked = append(linked, target)
		field := res.doc.Find("#" + target)
		if field.Length() != 1 || field.AttrOr("aria-invalid", "") != "true" {
			t.Errorf("entry %q links to #%s: %d elements, aria-invalid %q", a.Text(), target, field.Length(), field.AttrOr("aria-invalid", ""))
		}
	})
	if strings.Join(linked, ",") != "name,dr_sync_period,justification" {
		t.Errorf("the summary links to %v", linked)
	}
	if !strings.HasPrefix(summary.Find("a").First().Text(), "Name: The name must start with a letter") {
		t.Errorf("first entry %q", summary.Find("a").First().Text())
	}
}

// TestTheDecideFormMarksTheFieldItWasRefusedFor: approving a high-risk
// request without typing the cluster, or rejecting without a comment,
// brings the card back with the field marked invalid, a focused summary
// linked to it, and what was typed kept.
func TestTheDecideFormMarksTheFieldItWasRefusedFor(t *testing.T) {
	e := newEnv(t)
	taskID := e.createTask("dr_decide_marks")
	req := e.signedIn("req@example.com")
	admin := e.signedIn("admin@example.com")
	start := requestIDFrom(t, e.fileOperation(req, taskID, "start", url.Values{"justification": {"quarterly DR drill"}}))
	e.decide(admin, start, "approve", "")
	e.waitRequest(start, portal.StatusSucceeded)
	eventually(t, "the running task's switchover", func() bool {
		e.clock.Advance(time.Second)
		return strings.Contains(strings.Join(opButtons(req.get("/dr-tasks/"+taskID)), ","), "switchover")
	})
	confirm := req.get("/dr-tasks/" + taskID + "/operations/switchover").text(`label[for=confirm] .mono`)
	sw := requestIDFrom(t, e.fileOperation(req, taskID, "switchover", url.Values{"confirm": {confirm}, "justification": {"quarterly DR drill"}}))
	for _, tt := range []struct {
		decision, comment, field string
		hx                       bool
	}{
		{"approve", "looks right", "confirm", true},
		{"approve", "looks right", "confirm", false},
		{"reject", "", "comment", true},
		{"reject", "", "comment", false},
	} {
		var hdr []string
		if tt.hx {
			hdr = []string{"HX-Request", "true"}
		}
		res := e.decide(admin, sw, tt.decision, tt.comment, hdr...)
		name := fmt.Sprintf("%s (htmx %v)", tt.decision, tt.hx)
		if res.status != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d", name, res.status)
			continue
		}
		if got := res.attr(`[data-testid=decide-form] #`+tt.field, "aria-invalid"); got != "true" {
			t.Errorf("%s: #%s aria-invalid %q", name, tt.field, got)
		}
		other := map[string]string{"confirm": "comment", "comment": "confirm"}[tt.field]
		if got := res.attr(`[data-testid=decide-form] #`+other, "aria-invalid"); got != "false" {
			t.Errorf("%s: #%s aria-invalid %q", name, other, got)
		}
		errBox := res.doc.Find(`[data-testid=card-error]`)
		if _, ok := errBox.Attr("autofocus"); !ok || errBox.Find(`a[href="#`+tt.field+`"]`).Length() != 1 {
			t.Errorf("%s: the error %q does not take the focus or link to #%s", name, errBox.Text(), tt.field)
		}
		if tt.comment != "" && res.text(`#comment`) != tt.comment {
			t.Errorf("%s: the comment was not kept: %q", name, res.text(`#comment`))
		}
	}
}

// TestThePolicyInputsAreLabelledNumbers: each approval count has a label
// naming its operation and is a number with the policy's bounds.
func TestThePolicyInputsAreLabelledNumbers(t *testing.T) {
	e := newEnv(t)
	page := e.signedIn("admin@example.com").get("/admin/policy")
	for _, op := range portal.Operations {
		in := page.doc.Find(`[data-testid=approvals-` + string(op) + `]`)
		id := in.AttrOr("id", "")
		if id == "" || in.AttrOr("type", "") != "number" || in.AttrOr("min", "") != fmt.Sprint(op.MinApprovals()) || in.AttrOr("max", "") != fmt.Sprint(portal.MaxApprovals) {
			t.Errorf("%s: id %q type %q min %q max %q", op, id, in.AttrOr("type", ""), in.AttrOr("min", ""), in.AttrOr("max", ""))
			continue
		}
		if label := page.doc.Find(`label[for="` + id + `"]`); label.Length() != 1 || !strings.HasPrefix(label.Text(), op.Label()) {
			t.Errorf("%s: label %q", op, label.Text())
		}
	}
	form := url.Values{"pending_ttl": {"72h"}, "approval_ttl": {"24h"}}
	for _, op := range portal.Operations {
		form.Set("approvals_"+string(op), "2")
	}
	form.Set("approvals_create", "two")
	res := e.signedIn("admin@example.com").post("/admin/policy", form)
	if res.status != http.StatusUnprocessableEntity || res.attr(`#approvals_create`, "aria-invalid") != "true" ||
		res.doc.Find(`[data-testid=form-errors] a[href="#approvals_create"]`).Length() != 1 {
		t.Errorf("a word for a count: %d, aria-invalid %q, summary %q", res.status, res.attr(`#approvals_create`, "aria-invalid"), res.text(`[data-testid=form-errors]`))
	}
}

// TestEachUsersControlsAreNamedWithTheUser: a screen reader tells the
// repeated role checkboxes and buttons of the user table apart.
func TestEachUsersControlsAreNamedWithTheUser(t *testing.T) {
	e := newEnv(t)
	page := e.signedIn("admin@example.com").get("/admin/users")
	row := page.doc.Find(`[data-testid=user-row][data-email="req@example.com"]`)
	for sel, want := range map[string]string{
		`input[value=approver]`:        "approver for req (req@example.com)",
		`[data-testid=save-roles]`:     "Save roles of req (req@example.com)",
		`[data-testid=deactivate]`:     "Deactivate req (req@example.com)",
		`[data-testid=reset-password]`: "Reset password of req (req@example.com)",
	} {
		el := row.Find(sel)
		name := el.Text()
		if el.Is("input") {
			name = el.Closest("label").Text()
		}
		if got := strings.Join(strings.Fields(name), " "); got != want {
			t.Errorf("%s is named %q, want %q", sel, got, want)
		}
	}
}

// TestTheStandbyRefreshWithoutJavaScriptKeepsTypedTextOutOfTheAddress: the
// no-script button posts the form, which comes back as typed with the
// standbys of the chosen primary; nothing is filed, and the form's address
// carries no free text.
func TestTheStandbyRefreshWithoutJavaScriptKeepsTypedTextOutOfTheAddress(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("req@example.com")
	page := b.get("/dr-tasks/new")
	button := page.doc.Find(`noscript`).FilterFunction(func(_ int, s *goquery.Selection) bool {
		return strings.Contains(s.Text(), "Show standby clusters")
	})
	// goquery reads a noscript's content as text.
	if html := button.Text(); !strings.Contains(html, `formmethod="post"`) || !strings.Contains(html, `formaction="/dr-tasks/new"`) {
		t.Errorf("the standby refresh button: %q", html)
	}
	primary := e.cluster(dwssim.ClusterProd1).ID
	form := url.Values{"name": {"dr_typed"}, "primary_cluster_id": {primary}, "dr_sync_period_number": {"7"},
		"dr_sync_period_unit": {"H"}, "justification": {"a private reason, not for logs"}}
	res := b.post("/dr-tasks/new", form)
	if res.status != http.StatusOK || res.text(`#justification`) != "a private reason, not for logs" || res.attr(`#name`, "value") != "dr_typed" {
		t.Fatalf("refresh: %d, justification %q", res.status, res.text(`#justification`))
	}
	if sel := res.attr(`#primary_cluster_id option[selected]`, "value"); sel != primary {
		t.Errorf("primary %q", sel)
	}
	if _, found, enabled := option(res, "standby_cluster_id", dwssim.ClusterDR1); !found || !enabled {
		t.Error("the standbys of the primary are not offered")
	}
	if n, _ := e.store.CountRequests(context.Background(), db.RequestFilter{}); n != 0 {
		t.Errorf("%d requests filed by a refresh", n)
	}
	// The address no longer fills in free text.
	leak := b.get("/dr-tasks/new?primary_cluster_id=" + primary + "&justification=from-the-address&name=dr_from_address")
	if strings.Contains(leak.body, "from-the-address") || strings.Contains(leak.body, "dr_from_address") {
		t.Error("the form takes free text from its address")
	}
}

// TestWithoutJavaScriptAnApprovalIsConfirmedAndTheCardSaysToReload: the
// redirect after approving leads to a page that says the approval is
// recorded, once, and while the request runs, that the page does not
// update by itself.
func TestWithoutJavaScriptAnApprovalIsConfirmedAndTheCardSaysToReload(t *testing.T) {
	e := newEnv(t)
	e.stopWorkers() // the request stays approved
	req := e.signedIn("req@example.com")
	primary, standby := req.formPair()
	id := e.fileCreate(req, validForm(primary, standby))
	admin := e.signedIn("admin@example.com")
	res := e.decide(admin, id, "approve", "")
	if res.status != http.StatusSeeOther {
		t.Fatalf("approve: %d", res.status)
	}
	page := admin.get(res.header.Get("Location"))
	if got := page.text(`[data-testid=flash]`); !strings.HasPrefix(got, "Your approval is recorded.") {
		t.Errorf("after approving: %q", got)
	}
	if hint := page.doc.Find(`noscript`).Text(); !strings.Contains(hint, "does not update by itself without JavaScript") {
		t.Errorf("no reload hint on an approved request: %q", hint)
	}
	if again := admin.get(res.header.Get("Location")); again.doc.Find(`[data-testid=flash]`).Length() != 0 {
		t.Error("the confirmation shows twice")
	}
}

// TestAChangingTaskSaysToReloadWithoutJavaScript: while a task changes,
// its page tells someone without JavaScript that it does not follow the
// change by itself; once settled, it does not.
func TestAChangingTaskSaysToReloadWithoutJavaScript(t *testing.T) {
	e := newEnv(t)
	taskID := e.createTask("dr_reload_hint")
	b := e.signedIn("req@example.com")
	settled := b.get("/dr-tasks/" + taskID)
	if settled.doc.Find(`noscript [data-testid=reload-hint], noscript`).FilterFunction(func(_ int, s *goquery.Selection) bool {
		return strings.Contains(s.Text(), "reload")
	}).Length() != 0 {
		t.Error("a settled task says to reload")
	}
	start := requestIDFrom(t, e.fileOperation(b, taskID, "start", url.Values{"justification": {"quarterly DR drill"}}))
	e.decide(e.signedIn("admin@example.com"), start, "approve", "")
	var page response
	eventually(t, "the task page while the task starts", func() bool {
		page = b.get("/dr-tasks/" + taskID)
		return page.attr(`[data-testid=task-panel]`, "data-polling") == "true"
	})
	if hint := page.doc.Find(`noscript`).Text(); !strings.Contains(hint, "This page does not update by itself without JavaScript") ||
		!strings.Contains(hint, `href="/dr-tasks/`+taskID+`"`) {
		t.Errorf("reload hint: %q", hint)
	}
}
