// Package drtask is the DR task domain: the rules a DR task's fields follow,
// and the service that lists, shows and creates tasks through the cloud
// while keeping the portal's last known state and audit history.
package drtask

import (
	"cmp"
	"fmt"

	"drportal/internal/audit"
	"drportal/internal/dws"
	"drportal/internal/requests"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Form field names: the API's own, so the form, the errors and the payload
// speak the same language.
const (
	FieldName             = "name"
	FieldDRType           = "dr_type"
	FieldPrimaryClusterID = "primary_cluster_id"
	FieldStandbyClusterID = "standby_cluster_id"
	FieldSyncPeriod       = "dr_sync_period"
	FieldPrimaryOBSBucket = "primary_obs_bucket"
	FieldStandbyOBSBucket = "standby_obs_bucket"
	FieldJustification    = "justification"
	// The form asks for the sync period as a number and a unit; the
	// server joins them into the API's value (dr_sync_period).
	FieldSyncNumber = "dr_sync_period_number"
	FieldSyncUnit   = "dr_sync_period_unit"
)

// SyncUnits are the units a sync period may have, in the API's letters,
// with their names, in the order a picker offers them.
var SyncUnits = []struct{ Letter, Name string }{{"m", "minutes"}, {"H", "hours"}, {"d", "days"}}

// JoinSyncPeriod joins the form's number and unit into the API's sync
// period (15 and m make 15m). It returns what is wrong with them instead
// when they cannot make one; the joined value is checked again by
// CheckSyncPeriod.
func JoinSyncPeriod(number, unit string) (string, string) {
	number, unit = strings.TrimSpace(number), strings.TrimSpace(unit)
	known := false
	for _, u := range SyncUnits {
		known = known || u.Letter == unit
	}
	n, err := strconv.Atoi(number)
	switch {
	case number == "":
		return "", "Enter how often to sync: a whole number from 1 to 3000, then choose minutes, hours or days."
	case err != nil || n < 1 || n > MaxSyncPeriod:
		return "", fmt.Sprintf("%s is not a whole number from 1 to %d.", quoted(number), MaxSyncPeriod)
	case !known:
		return "", "Choose the unit of the sync period: minutes, hours or days."
	}
	return strconv.Itoa(n) + unit, ""
}

// MaxQuoted bounds what an error message quotes back of a typed value:
// enough to recognise it, and a message (shown, and kept by the event of a
// form sent back) never grows with what was typed.
const MaxQuoted = 40

// quoted is s as an error message quotes it: cut to MaxQuoted characters,
// marked "…" when cut, in Go's quotes (so hidden characters show).
func quoted(s string) string { return strconv.Quote(audit.Clip(s, MaxQuoted)) }

// FieldErrors maps a form field to what is wrong with it.
type FieldErrors map[string]string

// Recorded is errs as the event of a form sent back keeps them: each
// message cut by audit.ClipAll, whatever a message quotes of what was
// typed.
func (errs FieldErrors) Recorded() map[string]string { return audit.ClipAll(errs) }

// CreateForm is the create form as submitted.
type CreateForm struct {
	Name             string
	DRType           string
	PrimaryClusterID string
	StandbyClusterID string
	SyncPeriod       string
	// SyncProblem is what was wrong with the number and unit the sync
	// period was joined from ("" when they joined, or were not used).
	SyncProblem      string
	PrimaryOBSBucket string
	StandbyOBSBucket string
	// Justification says why: the request it files carries it.
	Justification string
}

// Trim removes surrounding white space from every field.
func (f *CreateForm) Trim() {
	for _, p := range []*string{&f.Name, &f.DRType, &f.PrimaryClusterID, &f.StandbyClusterID, &f.SyncPeriod,
		&f.PrimaryOBSBucket, &f.StandbyOBSBucket, &f.Justification} {
		*p = strings.TrimSpace(*p)
	}
}

var (
	nameRE   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{3,63}$`)
	periodRE = regexp.MustCompile(`^([1-9][0-9]{0,3})([mHd])$`)
	bucketRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
)

// MaxSyncPeriod is the largest number a sync period may have.
const MaxSyncPeriod = 3000

// CheckName returns what is wrong with a DR task name, or "".
func CheckName(name string) string {
	// Characters, not bytes: a name with a non-ASCII letter is told about
	// that letter, not that it is too long.
	n := utf8.RuneCountInString(name)
	switch {
	case name == "":
		return "Enter a name: 4 to 64 characters, letters, digits, - and _, starting with a letter."
	case n < 4 || n > 64:
		return fmt.Sprintf("The name has %d characters; it must have 4 to 64.", n)
	case !isLetter(name[0]):
		return "The name must start with a letter (A-Z or a-z)."
	case !nameRE.MatchString(name):
		return "The name may contain only letters, digits, - and _."
	}
	return ""
}

func isLetter(b byte) bool { return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') }

// CheckSyncPeriod returns what is wrong with a sync period, or "".
func CheckSyncPeriod(p string) string {
	const allowed = "a number from 1 to 3000 followed by m (minutes), H (hours) or d (days), e.g. 5m, 2H, 1d"
	if p == "" {
		return "Enter a sync period: " + allowed + "."
	}
	m := periodRE.FindStringSubmatch(p)
	if m == nil {
		return fmt.Sprintf("%s is not a sync period; use %s.", quoted(p), allowed)
	}
	if n, _ := strconv.Atoi(m[1]); n > MaxSyncPeriod {
		return fmt.Sprintf("%s is above the maximum of %d%s.", p, MaxSyncPeriod, m[2])
	}
	return ""
}

// CheckClusterID returns what is wrong with a cluster id field, or "".
func CheckClusterID(id, role string) string {
	switch {
	case id == "":
		return fmt.Sprintf("Choose the %s cluster.", role)
	case !dws.ValidID(id):
		return fmt.Sprintf("The %s cluster id must be a cluster's UUID.", role)
	}
	return ""
}

// ValidID reports whether s has the shape of a DR task or cluster id.
func ValidID(s string) bool { return dws.ValidID(s) }

// CheckBucket returns what is wrong with an optional OBS bucket name, or "".
func CheckBucket(b string) string {
	if b == "" {
		return ""
	}
	if !bucketRE.MatchString(b) || strings.Contains(b, "..") {
		return "An OBS bucket name is 3 to 63 characters: lowercase letters, digits, - and ., starting and ending with a letter or digit."
	}
	return ""
}

// Validate checks every field's own rules, without asking the cloud.
func (f CreateForm) Validate() FieldErrors {
	errs := FieldErrors{}
	set := func(field, msg string) {
		if msg != "" {
			errs[field] = msg
		}
	}
	set(FieldName, CheckName(f.Name))
	switch f.DRType {
	case "az":
	case "region":
		errs[FieldDRType] = "Cross-region DR is not offered by the portal; only cross-AZ (same region), dr_type az."
	default:
		errs[FieldDRType] = "The DR type must be cross-AZ (same region), dr_type az."
	}
	set(FieldPrimaryClusterID, CheckClusterID(f.PrimaryClusterID, "primary"))
	set(FieldStandbyClusterID, CheckClusterID(f.StandbyClusterID, "standby"))
	if f.PrimaryClusterID != "" && strings.EqualFold(f.PrimaryClusterID, f.StandbyClusterID) {
		errs[FieldStandbyClusterID] = "The standby cluster must be a different cluster from the primary."
	}
	set(FieldSyncPeriod, cmp.Or(f.SyncProblem, CheckSyncPeriod(f.SyncPeriod)))
	set(FieldPrimaryOBSBucket, CheckBucket(f.PrimaryOBSBucket))
	set(FieldStandbyOBSBucket, CheckBucket(f.StandbyOBSBucket))
	set(FieldJustification, requests.CheckJustification(f.Justification))
	return errs
}
