package handlers

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"drportal/internal/audit"
	"drportal/internal/portal"
)

// outageFields are the detail fields of the outage-mode events (drills,
// the intent before a call, admin changes, windows and freezes, exports,
// break-glass settings) that their summaries use. Only the events that
// need them decode them.
type outageFields struct {
	// Change is a change's number, or (a change to the windows made at
	// once) its description.
	Change     json.RawMessage `json:"change"`
	Kind       string          `json:"kind"`
	Windows    string          `json:"windows"`
	Grant      []string        `json:"grant"`
	ProposedBy string          `json:"proposed_by"`
	ApprovedBy string          `json:"approved_by"`
	Comment    string          `json:"comment"`
	Reason     string          `json:"reason"`
	Window     string          `json:"window"`
	Operation  string          `json:"operation"`
	Rule       string          `json:"rule"`
	StartsAt   time.Time       `json:"starts_at"`
	EndsAt     time.Time       `json:"ends_at"`
	Format     string          `json:"format"`
	Filter     map[string]string
	Method     string          `json:"method"`
	Path       string          `json:"path"`
	Attempt    json.Number     `json:"attempt"`
	DrillStep  string          `json:"drill_step"`
	Primary    string          `json:"primary"`
	Standby    string          `json:"standby"`
	Step       string          `json:"step"`
	PrimaryNow string          `json:"primary_now"`
	RTO        string          `json:"rto"`
	RPO        string          `json:"rpo"`
	Outcome    string          `json:"outcome"`
	Summary    string          `json:"summary"`
	To         json.RawMessage `json:"to"`
}

// breakGlassFields are the break-glass settings an event records.
type breakGlassFields struct {
	Enabled    bool               `json:"enabled"`
	Operations []portal.Operation `json:"operations"`
	ReviewDays int                `json:"review_days"`
}

// summarizeOutage is summarize for the outage-mode events: one line, from
// the detail's fields that say what happened (never a secret: none of
// these events records one).
func summarizeOutage(e audit.Event) string {
	var d outageFields
	_ = json.Unmarshal(e.Detail, &d)
	var number json.Number
	if json.Unmarshal(d.Change, &number) != nil {
		number = "" // a change made at once records its description
	}
	change := func() string {
		if number == "" {
			return ""
		}
		out := "Change #" + number.String()
		if d.Kind != "" {
			out += " (" + strings.ReplaceAll(d.Kind, "_", "-") + ")"
		}
		return out
	}
	approved := func(s string) string {
		if d.ApprovedBy != "" && !strings.HasPrefix(d.ApprovedBy, "nobody") {
			s += " (change #" + number.String() + ", approved by " + d.ApprovedBy + ")"
		}
		return s
	}
	quoted := func(s, text string) string {
		if text = strings.TrimSpace(text); text != "" {
			s += ": “" + text + "”"
		}
		return s
	}
	switch e.Action {
	case audit.ActionRequestIntent:
		out := fmt.Sprintf("About to send %s %s, attempt %s", d.Method, d.Path, d.Attempt)
		if d.DrillStep != "" {
			out += " (the drill's " + d.DrillStep + ")"
		}
		return out
	case audit.ActionDrillStarted:
		return fmt.Sprintf("Drill started: %s is the primary, %s the standby", or(d.Primary, "?"), or(d.Standby, "?"))
	case audit.ActionDrillStep:
		out := "The drill's " + or(d.Step, "step") + " measured"
		var parts []string
		if d.RTO != "" {
			parts = append(parts, "RTO "+d.RTO)
		}
		if d.RPO != "" {
			parts = append(parts, "RPO "+d.RPO)
		}
		if d.PrimaryNow != "" {
			parts = append(parts, d.PrimaryNow+" is the primary")
		}
		if len(parts) > 0 {
			out += ": " + strings.Join(parts, ", ")
		}
		return out
	case audit.ActionDrillFinished:
		out := "Drill " + or(d.Outcome, "finished")
		if d.Summary != "" {
			out += ": " + d.Summary
		}
		return out
	case audit.ActionChangeProposed:
		out := or(change(), "A change") + " proposed"
		switch portal.ChangeKind(d.Kind) {
		case portal.ChangeWindows:
			out += ": " + d.Windows
		case portal.ChangeRoles:
			out += ": give " + strings.Join(d.Grant, ", ")
		case portal.ChangePolicy:
			out += ": a new approval policy"
		case portal.ChangeBreakGlass:
			var bg breakGlassFields
			if json.Unmarshal(d.To, &bg) == nil {
				out += ": " + portal.BreakGlassPolicy{Enabled: bg.Enabled, Operations: bg.Operations, ReviewDays: bg.ReviewDays}.Describe()
			}
		}
		return out
	case audit.ActionChangeRejected:
		return quoted(or(change(), "A change")+" rejected", d.Comment)
	case audit.ActionChangeWithdrawn:
		return quoted(or(change(), "A change")+" withdrawn", or(d.Comment, d.Reason))
	case audit.ActionWindowAdded:
		return approved(fmt.Sprintf("Added the window %s for %s", d.Window, portal.Operation(d.Operation).Label()))
	case audit.ActionWindowRemoved:
		return approved(fmt.Sprintf("Removed the window %s of %s", d.Window, portal.Operation(d.Operation).Label()))
	case audit.ActionFreezeAdded:
		return approved(fmt.Sprintf("Freeze from %s to %s: %s", portal.FormatTime(d.StartsAt, nil), portal.FormatTime(d.EndsAt, nil), d.Reason))
	case audit.ActionFreezeLifted:
		return approved(fmt.Sprintf("Lifted the freeze “%s”", d.Reason))
	case audit.ActionWindowRuleSet:
		return approved(fmt.Sprintf("Outside its windows, %s %s", portal.Operation(d.Operation).Label(), portal.OutsideRule(d.Rule).Label()))
	case audit.ActionExport:
		out := "Exported the history as " + strings.ToUpper(d.Format)
		if len(d.Filter) > 0 {
			keys := slices.Sorted(maps.Keys(d.Filter))
			parts := make([]string, len(keys))
			for i, k := range keys {
				parts[i] = k + "=" + d.Filter[k]
			}
			out += " (filter " + strings.Join(parts, ", ") + ")"
		} else {
			out += " (all of it)"
		}
		return out
	case audit.ActionBreakGlassPolicy:
		var bg breakGlassFields
		if json.Unmarshal(d.To, &bg) != nil {
			return ""
		}
		return approved(strings.TrimSuffix(portal.BreakGlassPolicy{Enabled: bg.Enabled, Operations: bg.Operations, ReviewDays: bg.ReviewDays}.Describe(), "."))
	}
	return ""
}
