package views

import (
	"slices"
	"strconv"
	"strings"
)

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// askAnAdmin is what a person who is not an admin can do about too few
// approvers.
func askAnAdmin(n ApproverNotice) string {
	if n.LowerTo > 0 {
		return "Ask an admin to give another person the approver role, or to lower what the approval policy asks for this to " +
			plural(n.LowerTo, "approval") + "."
	}
	return "Ask an admin to give another person the approver role."
}

func boolAttr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func outcomeClass(o string) string {
	switch o {
	case "success":
		return "ok"
	case "failure", "error":
		return "bad"
	case "denied":
		return "warn"
	}
	return "idle"
}

func decisionClass(d string) string {
	if d == "approve" {
		return "success"
	}
	return "failure"
}

// awaitingWords says what the header's count counts: n requests awaiting
// approval and, when there are any, reviews emergencies awaiting review.
func awaitingWords(n, reviews int) string {
	s := plural(n, "request") + " " + awaitVerb(n) + " your approval"
	if reviews > 0 {
		s += "; " + emergencies(reviews) + " " + awaitVerb(reviews) + " your review"
	}
	return s
}

// emergencies counts emergencies in words: "1 emergency", "2 emergencies".
func emergencies(n int) string {
	if n == 1 {
		return "1 emergency"
	}
	return strconv.Itoa(n) + " emergencies"
}

// awaitVerb agrees "await" with a count of requests.
func awaitVerb(n int) string {
	if n == 1 {
		return "awaits"
	}
	return "await"
}

// slug makes a label into a test id: "Primary cluster" → "primary-cluster".
func slug(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(strings.NewReplacer("/", " ", "·", " ").Replace(s)), "-"))
}

// FieldLabel names a form field for its error summary: the id of its
// input, and its label.
type FieldLabel struct{ Field, Label string }

// summaryOf orders a form's field errors as the form shows its fields;
// errors of fields not listed follow, under their own names.
// eventDisclosure is the id of an audit event's details in a timeline:
// an open one stays open when the timeline refreshes (static/app.js).
func eventDisclosure(id int64) string {
	return "event-" + strconv.FormatInt(id, 10) + "-details"
}

func summaryOf(errs map[string]string, fields []FieldLabel) []ErrorItem {
	var out []ErrorItem
	seen := map[string]bool{}
	for _, f := range fields {
		if msg := errs[f.Field]; msg != "" {
			out = append(out, ErrorItem{Field: f.Field, Label: f.Label, Message: msg})
			seen[f.Field] = true
		}
	}
	var rest []string
	for k, msg := range errs {
		if msg != "" && !seen[k] {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	for _, k := range rest {
		out = append(out, ErrorItem{Field: k, Label: k, Message: errs[k]})
	}
	return out
}

// createFields are the create form's fields, in the form's order.
var createFields = []FieldLabel{{"name", "Name"}, {"dr_type", "Type"}, {"primary_cluster_id", "Primary cluster"},
	{"standby_cluster_id", "Standby cluster"}, {"dr_sync_period", "Sync period"}, {"primary_obs_bucket", "Primary OBS bucket"},
	{"standby_obs_bucket", "Standby OBS bucket"}, {"justification", "Justification"}}

// newUserFields are the new-user form's fields, in the form's order.
var newUserFields = []FieldLabel{{"email", "E-mail"}, {"display_name", "Name"}, {"password", "Initial password"}, {"roles", "Roles"}}

// passwordFields are the change-password form's fields, in the form's order.
var passwordFields = []FieldLabel{{"current_password", "Current password"}, {"new_password", "New password"},
	{"repeat_password", "New password again"}}

// operationFields are an operation form's fields, in the form's order.
var operationFields = []FieldLabel{{"dr_sync_period", "New sync period"}, {"run_at", "Run at"}, {"justification", "Justification"}, {"confirm", "Confirmation"}}

func anySelected(opts []Option) bool {
	return slices.ContainsFunc(opts, func(o Option) bool { return o.Selected })
}

// policySummary lists the policy form's errors, each linked to its input.
func policySummary(p PolicyPage) []ErrorItem {
	var out []ErrorItem
	for _, r := range p.Rows {
		if r.Error != "" {
			out = append(out, ErrorItem{Field: "approvals_" + r.Operation, Label: "Approvals for " + r.Label, Message: r.Error})
		}
	}
	for _, f := range []FieldLabel{{"pending_ttl", "Pending requests expire after"}, {"approval_ttl", "Approvals lapse after"}} {
		if msg := p.Errors[f.Field]; msg != "" {
			out = append(out, ErrorItem{Field: f.Field, Label: f.Label, Message: msg})
		}
	}
	if msg := p.Errors["policy"]; msg != "" {
		out = append(out, ErrorItem{Field: "policy-form", Label: "Policy", Message: msg})
	}
	return out
}

// userName names an account in a row's controls, so that a screen reader
// tells the repeated checkboxes and buttons apart.
func userName(u UserRow) string {
	if u.Name != "" && u.Name != u.Email {
		return u.Name + " (" + u.Email + ")"
	}
	return u.Email
}

// keepWhile is the status a request card's note is kept for while the card
// refreshes: "*" for a note that lasts whatever the status becomes.
func keepWhile(c RequestCard) string {
	if c.FlashLasts {
		return "*"
	}
	return c.Status.Raw
}
