package portal

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Change windows and freezes: when the portal may call the cloud for an
// operation. An operation with windows runs only inside one of them; one
// with none runs at any time. A freeze stops every operation for its span.
// The arithmetic here is pure: the caller passes the time.

// Window is a span of the week, in a named IANA zone, during which one
// operation may run: Days (a set of weekdays) from Start to End (minutes
// after local midnight). An End at or before Start runs past midnight into
// the next day, so "Fri 22:00-02:00" ends on Saturday at 02:00.
type Window struct {
	ID        int64
	Operation Operation
	Days      Weekdays
	Start     int // minutes after local midnight, 0-1439
	End       int // 1-1440; <= Start: on the next day
	Zone      string
}

// Weekdays is a set of days of the week: bit d is time.Weekday d.
type Weekdays uint8

// Has reports whether d is in the set.
func (w Weekdays) Has(d time.Weekday) bool { return w&(1<<d) != 0 }

// AllWeek is every day.
const AllWeek Weekdays = 1<<7 - 1

var dayNames = []string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}

// String writes the set as people read it, Monday first: "Tue-Thu",
// "Mon, Wed", "every day".
func (w Weekdays) String() string {
	if w&AllWeek == AllWeek {
		return "every day"
	}
	order := []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}
	var parts []string
	for i := 0; i < len(order); {
		if !w.Has(order[i]) {
			i++
			continue
		}
		j := i
		for j+1 < len(order) && w.Has(order[j+1]) {
			j++
		}
		switch {
		case j == i:
			parts = append(parts, dayNames[order[i]])
		case j == i+1:
			parts = append(parts, dayNames[order[i]], dayNames[order[j]])
		default:
			parts = append(parts, dayNames[order[i]]+"-"+dayNames[order[j]])
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}

func parseDay(s string) (time.Weekday, bool) {
	for i, n := range dayNames {
		if strings.EqualFold(s, n) || (len(s) > 3 && strings.HasPrefix(strings.ToLower(time.Weekday(i).String()), strings.ToLower(s))) {
			return time.Weekday(i), true
		}
	}
	return 0, false
}

// ParseWeekdays reads "Tue-Thu", "Mon,Wed,Fri", "Fri-Mon" (a range may wrap
// past Sunday) or "every day".
func ParseWeekdays(s string) (Weekdays, error) {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "every day") || strings.EqualFold(s, "daily") || s == "*" {
		return AllWeek, nil
	}
	var w Weekdays
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		from, to, isRange := strings.Cut(part, "-")
		a, ok := parseDay(strings.TrimSpace(from))
		if !ok {
			return 0, fmt.Errorf("%q is not a day: write Mon, Tue, Wed, Thu, Fri, Sat or Sun", strings.TrimSpace(from))
		}
		b := a
		if isRange {
			if b, ok = parseDay(strings.TrimSpace(to)); !ok {
				return 0, fmt.Errorf("%q is not a day: write Mon, Tue, Wed, Thu, Fri, Sat or Sun", strings.TrimSpace(to))
			}
		}
		for d := a; ; d = (d + 1) % 7 {
			w |= 1 << d
			if d == b {
				break
			}
		}
	}
	if w == 0 {
		return 0, fmt.Errorf("name at least one day")
	}
	return w, nil
}

// ParseClock reads "02:00" as minutes after midnight; "24:00" is 1440.
func ParseClock(s string) (int, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || len(m) != 2 || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("%q is not a time of day: write it as 02:00", strings.TrimSpace(s))
	}
	return hh*60 + mm, nil
}

func clock(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }

// ParseWindow reads a window as people write it: days, hours and zone,
// "Tue-Thu 02:00-05:00 Europe/Berlin".
func ParseWindow(op Operation, s string) (Window, error) {
	f := strings.Fields(s)
	if len(f) < 3 {
		return Window{}, fmt.Errorf("write the days, the hours and the zone, e.g. \"Tue-Thu 02:00-05:00 Europe/Berlin\"")
	}
	zone, hours, days := f[len(f)-1], f[len(f)-2], strings.Join(f[:len(f)-2], " ")
	d, err := ParseWeekdays(days)
	if err != nil {
		return Window{}, err
	}
	from, to, ok := strings.Cut(hours, "-")
	if !ok {
		return Window{}, fmt.Errorf("%q: write the hours as from-to, e.g. 02:00-05:00", hours)
	}
	w := Window{Operation: op, Days: d, Zone: zone}
	if w.Start, err = ParseClock(from); err != nil {
		return Window{}, err
	}
	if w.End, err = ParseClock(to); err != nil {
		return Window{}, err
	}
	return w, w.Validate()
}

// Validate returns what is wrong with w, or nil.
func (w Window) Validate() error {
	switch {
	case !w.Operation.Valid():
		return fmt.Errorf("unknown operation %q", w.Operation)
	case w.Days&AllWeek == 0:
		return fmt.Errorf("name at least one day")
	case w.Start < 0 || w.Start >= 24*60:
		return fmt.Errorf("a window starts from 00:00 to 23:59")
	case w.End <= 0 || w.End > 24*60:
		return fmt.Errorf("a window ends from 00:01 to 24:00")
	case w.Start == w.End || (w.Start == 0 && w.End == 24*60):
		return fmt.Errorf("a window of the whole day restricts nothing on those days: give it hours, or leave the operation without windows")
	}
	if _, err := w.location(); err != nil {
		return err
	}
	return nil
}

func (w Window) location() (*time.Location, error) {
	if w.Zone == "" || strings.EqualFold(w.Zone, "local") {
		return nil, fmt.Errorf("name the time zone, e.g. Europe/Berlin or UTC")
	}
	loc, err := time.LoadLocation(w.Zone)
	if err != nil || !ianaName(w.Zone) {
		return nil, fmt.Errorf("%q is not a time zone the portal knows: use an IANA name such as Europe/Berlin", w.Zone)
	}
	return loc, nil
}

// ianaName refuses the names the zone database holds besides its zones:
// its "right/" (leap-second, some 27 s off UTC) and "posix/" copies, and
// the files Factory, posixrules and localtime.
func ianaName(zone string) bool {
	switch {
	case strings.HasPrefix(zone, "right/"), strings.HasPrefix(zone, "posix/"):
		return false
	case zone == "Factory", zone == "posixrules", zone == "localtime":
		return false
	}
	return true
}

// String writes w as ParseWindow reads it.
func (w Window) String() string {
	end := clock(w.End)
	return fmt.Sprintf("%s %s-%s %s", w.Days, clock(w.Start), end, w.Zone)
}

// overnight reports whether w runs past midnight.
func (w Window) overnight() bool { return w.End <= w.Start }

// Contains reports whether t falls inside w: from the opening minute,
// up to but not including the closing minute, as the wall clock in w's
// zone reads at t.
func (w Window) Contains(t time.Time) bool {
	loc, err := w.location()
	if err != nil {
		return false
	}
	lt := t.In(loc)
	m := lt.Hour()*60 + lt.Minute()
	day, prev := lt.Weekday(), (lt.Weekday()+6)%7
	if !w.overnight() {
		return w.Days.Has(day) && m >= w.Start && m < w.End
	}
	return (w.Days.Has(day) && m >= w.Start) || (w.Days.Has(prev) && m < w.End)
}

// NextOpen is the first moment at or after t inside w (t itself when it
// is inside). Days whose opening hour the clocks skip (a change to summer
// time) open when the hour that exists begins.
func (w Window) NextOpen(t time.Time) time.Time {
	if w.Contains(t) {
		return t
	}
	loc, err := w.location()
	if err != nil {
		return time.Time{}
	}
	lt := t.In(loc)
	for i := 0; i <= 8; i++ {
		d := lt.AddDate(0, 0, i)
		if !w.Days.Has(d.Weekday()) {
			continue
		}
		c := time.Date(d.Year(), d.Month(), d.Day(), w.Start/60, w.Start%60, 0, 0, loc)
		if c.Before(t) || !w.Contains(c) {
			continue
		}
		// The wall clock may read the opening hour twice (the change back
		// to winter time): the first reading is the opening.
		for j := 0; j < 180 && !c.Add(-time.Minute).Before(t) && w.Contains(c.Add(-time.Minute)); j++ {
			c = c.Add(-time.Minute)
		}
		return c
	}
	return time.Time{}
}

// closeAfter is when w, open at t, closes: the end of the opening t falls
// in (for a window past midnight, the next day's end when t is on its
// opening day). Only for a t that w contains.
func (w Window) closeAfter(t time.Time) time.Time {
	loc, err := w.location()
	if err != nil {
		return time.Time{}
	}
	lt := t.In(loc)
	day := lt
	if w.overnight() && w.Days.Has(lt.Weekday()) && lt.Hour()*60+lt.Minute() >= w.Start {
		day = lt.AddDate(0, 0, 1)
	}
	return time.Date(day.Year(), day.Month(), day.Day(), w.End/60, w.End%60, 0, 0, loc)
}

// Freeze is a span during which no operation runs (year-end close, an
// audit), whatever the windows say: from Start up to End.
type Freeze struct {
	ID     int64
	Start  time.Time
	End    time.Time
	Reason string
}

// Covers reports whether t falls inside f.
func (f Freeze) Covers(t time.Time) bool { return !t.Before(f.Start) && t.Before(f.End) }

// MaxFreeze is the longest a freeze may last: one admin adds a freeze at
// once, and lifting it needs two, so one person cannot stop every
// operation for years.
const MaxFreeze = 90 * 24 * time.Hour

// MaxFreezeReason is the longest reason a freeze may carry, in characters.
const MaxFreezeReason = 200

// Validate returns what is wrong with f, or nil.
func (f Freeze) Validate() error {
	switch {
	case strings.TrimSpace(f.Reason) == "":
		return fmt.Errorf("say why the freeze is, e.g. \"year-end close\": people whose requests wait read it")
	case len([]rune(f.Reason)) > MaxFreezeReason:
		return fmt.Errorf("keep the reason under %d characters", MaxFreezeReason)
	case HasHiddenText(f.Reason):
		return fmt.Errorf("remove the invisible control or text-direction characters from the reason: people read it to decide")
	case f.Start.IsZero() || f.End.IsZero():
		return fmt.Errorf("give the freeze's start and end")
	case !f.End.After(f.Start):
		return fmt.Errorf("a freeze ends after it starts")
	case f.End.Sub(f.Start) > MaxFreeze:
		return fmt.Errorf("a freeze lasts at most %d days: add another one when it ends", int(MaxFreeze/(24*time.Hour)))
	}
	return nil
}

// OutsideRule is what a request for an operation with windows does when
// it is approved outside them.
type OutsideRule string

// Outside rules.
const (
	// OutsideWait: it may be filed and approved, then waits for the window.
	OutsideWait OutsideRule = "wait"
	// OutsideExtraApproval: with one approval more than the policy's
	// number it runs at once; with the policy's number it waits.
	OutsideExtraApproval OutsideRule = "extra_approval"
)

// OutsideRules lists the rules, strictest first.
var OutsideRules = []OutsideRule{OutsideWait, OutsideExtraApproval}

// Valid reports whether r is a known rule.
func (r OutsideRule) Valid() bool { return slices.Contains(OutsideRules, r) }

// Label says r in words.
func (r OutsideRule) Label() string {
	if r == OutsideExtraApproval {
		return "runs at once with one extra approval"
	}
	return "waits for the window"
}

// Schedule is every window, freeze and outside rule in force.
type Schedule struct {
	Windows []Window
	Freezes []Freeze
	// Rules by operation; an operation without one waits.
	Rules map[Operation]OutsideRule
}

// WindowsOf are the windows of op.
func (s Schedule) WindowsOf(op Operation) []Window {
	var out []Window
	for _, w := range s.Windows {
		if w.Operation == op {
			out = append(out, w)
		}
	}
	return out
}

// RuleOf is op's outside rule (wait unless set).
func (s Schedule) RuleOf(op Operation) OutsideRule {
	if r := s.Rules[op]; r.Valid() {
		return r
	}
	return OutsideWait
}

// FreezeAt is the freeze covering t, if any (the one ending last).
func (s Schedule) FreezeAt(t time.Time) (Freeze, bool) {
	var out Freeze
	found := false
	for _, f := range s.Freezes {
		if f.Covers(t) && (!found || f.End.After(out.End)) {
			out, found = f, true
		}
	}
	return out, found
}

// NextFreeze is the first freeze that starts after t, if any.
func (s Schedule) NextFreeze(t time.Time) (Freeze, bool) {
	var out Freeze
	found := false
	for _, f := range s.Freezes {
		if f.Start.After(t) && (!found || f.Start.Before(out.Start)) {
			out, found = f, true
		}
	}
	return out, found
}

// InWindow reports whether op may run at t as far as its windows go:
// always, for an operation without windows.
func (s Schedule) InWindow(op Operation, t time.Time) bool {
	ws := s.WindowsOf(op)
	if len(ws) == 0 {
		return true
	}
	return slices.ContainsFunc(ws, func(w Window) bool { return w.Contains(t) })
}

// NextWindow is the first moment at or after t inside one of op's windows
// (t for an operation without windows), and the window.
func (s Schedule) NextWindow(op Operation, t time.Time) (time.Time, Window) {
	var best time.Time
	var bw Window
	for _, w := range s.WindowsOf(op) {
		if n := w.NextOpen(t); !n.IsZero() && (best.IsZero() || n.Before(best)) {
			best, bw = n, w
		}
	}
	if best.IsZero() {
		return t, Window{}
	}
	return best, bw
}

// OpenUntil is when op's windows, open at t, close: the first moment
// after t that none of them contains (one window running into the next
// counts as one), and the window that closes then. The zero time for an
// operation whose windows are closed at t, or that has none.
func (s Schedule) OpenUntil(op Operation, t time.Time) (time.Time, Window) {
	at, last := t, Window{}
	for range maxHops {
		var end time.Time
		for _, w := range s.WindowsOf(op) {
			if c := w.closeAfter(at); w.Contains(at) && c.After(end) {
				end, last = c, w
			}
		}
		if !end.After(at) {
			break
		}
		at = end
	}
	if at.Equal(t) {
		return time.Time{}, Window{}
	}
	return at, last
}

// maxHops bounds the search for a moment both outside every freeze and
// inside a window.
const maxHops = 200

// GatedBy lists the operations whose windows and outside rules hold op:
// its own and, for a drill (two switchovers), the switchover's as well, so
// that a drill runs only when both allow it.
func (op Operation) GatedBy() []Operation {
	if op == OpDrill {
		return []Operation{OpDrill, OpSwitchover}
	}
	return []Operation{op}
}

// NextRun is the first moment at or after t when op may run: outside
// every freeze and inside one of the windows of each operation that gates
// it (Operation.GatedBy). Zero when there is none within maxHops freezes
// and windows.
func (s Schedule) NextRun(op Operation, t time.Time) time.Time {
hops:
	for range maxHops {
		if f, ok := s.FreezeAt(t); ok {
			t = f.End
			continue
		}
		for _, gate := range op.GatedBy() {
			if !s.InWindow(gate, t) {
				n, _ := s.NextWindow(gate, t)
				if n.Equal(t) {
					return time.Time{}
				}
				t = n
				continue hops
			}
		}
		return t
	}
	return time.Time{}
}

// WindowGate is what the windows and freezes say about running op at At.
type WindowGate struct {
	Operation Operation
	At        time.Time
	// Bypass: the request bypasses the policy (break-glass); nothing below
	// holds it back.
	Bypass bool
	// Freeze is the freeze in force at At (Frozen says whether there is one).
	Frozen bool
	Freeze Freeze
	// Restricted: op has windows; InWindow: At is inside one of them.
	Restricted bool
	InWindow   bool
	// Window is the window that opens next when At is outside them.
	Window Window
	Rule   OutsideRule
	// RunsAt is when a request that waits may run: At when it may run now,
	// zero when no moment was found.
	RunsAt time.Time
}

// WindowState is the one judgement of whether op may run at t: a freeze
// blocks it until its end; outside op's windows it waits for the next
// opening (rule wait), or runs with one extra approval (ExtraApprovals). A
// request that bypasses the policy (break-glass) is let through.
//
// A drill is gated by the switchover's windows as well as its own
// (Operation.GatedBy), and the stricter wins: it is inside its windows only
// when both allow it, and outside them it runs with an extra approval only
// when every operation whose windows are closed has that rule.
func WindowState(op Operation, s Schedule, t time.Time, bypass bool) WindowGate {
	g := WindowGate{Operation: op, At: t, Bypass: bypass, Rule: s.RuleOf(op), InWindow: true}
	ruled := false
	for _, gate := range op.GatedBy() {
		if len(s.WindowsOf(gate)) == 0 {
			continue
		}
		g.Restricted = true
		open := s.InWindow(gate, t)
		if open && !g.InWindow {
			continue // a closed gate's rule and window already decide
		}
		if !open && g.InWindow {
			// The first closed gate: its rule and next window, not those
			// of an open one.
			g.InWindow, ruled = false, false
			_, g.Window = s.NextWindow(gate, t)
		}
		if !ruled || s.RuleOf(gate) == OutsideWait {
			g.Rule, ruled = s.RuleOf(gate), true
		}
	}
	g.Freeze, g.Frozen = s.FreezeAt(t)
	g.RunsAt = s.NextRun(op, t)
	if bypass {
		g.RunsAt = t
	}
	return g
}

// Open reports whether a request may run at At with the policy's number
// of approvals.
func (g WindowGate) Open() bool { return g.Bypass || (!g.Frozen && g.InWindow) }

// ExtraApprovals is how many approvals beyond the policy's number let a
// request run at At although it is outside its windows: 1 under the
// extra-approval rule, 0 otherwise (inside a window, under the wait rule,
// in a freeze, which nothing but a bypass lifts).
func (g WindowGate) ExtraApprovals() int {
	if g.Bypass || g.Frozen || g.InWindow || g.Rule != OutsideExtraApproval {
		return 0
	}
	return 1
}

// MayRun reports whether a request with approvals (as portal.Quorum counts
// them) of required may run at At.
func (g WindowGate) MayRun(approvals, required int) bool {
	switch {
	case g.Open():
		return true
	case g.Frozen:
		return false
	}
	return g.ExtraApprovals() > 0 && approvals >= required+g.ExtraApprovals()
}

// FormatOpening writes a window's opening as the request page says it:
// the weekday, the wall-clock time and the zone's abbreviation in the
// window's zone, with the IANA name and the date ("Tue 02:00 CET
// (Europe/Berlin, 2026-03-03)").
func FormatOpening(t time.Time, zone string) string {
	lt, inUTC := t.In(openingZone(zone)), isUTC(zone)
	if inUTC {
		return fmt.Sprintf("%s (%s)", lt.Format("Mon 15:04 MST"), lt.Format("2006-01-02"))
	}
	return fmt.Sprintf("%s (%s, %s)", lt.Format("Mon 15:04 MST"), openingZone(zone).String(), lt.Format("2006-01-02"))
}

// openingZone is the location of a window's zone, UTC for none or one
// that does not load.
func openingZone(zone string) *time.Location {
	loc, err := time.LoadLocation(zone)
	if err != nil || zone == "" {
		return time.UTC
	}
	return loc
}

// isUTC reports whether a window's zone is UTC, where its opening needs
// no second UTC time and its zone is not named twice.
func isUTC(zone string) bool { return openingZone(zone).String() == time.UTC.String() }

// DescribeOpening is FormatOpening on a page read at now: the opening in
// the window's zone, the same moment in UTC (the one every reader can
// compare, wherever they are) and how far off it is, "Tue 02:00 CET
// (Europe/Berlin, 2026-03-03) = 2026-03-03 01:00 UTC, in 2 days". An
// opening in UTC is not said twice, nor is its zone: "Wed 09:00 UTC
// (2026-12-02, in 3 hours)".
func DescribeOpening(t time.Time, zone string, now time.Time) string {
	if isUTC(zone) {
		lt := t.UTC()
		return fmt.Sprintf("%s (%s, %s)", lt.Format("Mon 15:04 MST"), lt.Format("2006-01-02"), Until(t.Sub(now)))
	}
	return OpeningWithUTC(t, zone) + ", " + Until(t.Sub(now))
}

// OpeningWithUTC is FormatOpening with the same moment in UTC, for a
// record read later, when "in 2 days" no longer holds: "Tue 02:00 CET
// (Europe/Berlin, 2026-03-03) = 2026-03-03 01:00 UTC".
func OpeningWithUTC(t time.Time, zone string) string {
	out := FormatOpening(t, zone)
	if !isUTC(zone) {
		out += " = " + t.UTC().Format("2006-01-02 15:04") + " UTC"
	}
	return out
}

// TimeWithUTC is FormatTime in zone, followed by the same moment in UTC
// when zone is another: "2026-03-03 02:00:00 Europe/Berlin (01:00:00
// UTC)".
func TimeWithUTC(t time.Time, zone *time.Location) string {
	out := FormatTime(t, zone)
	if zone != nil && zone.String() != time.UTC.String() {
		out += " (" + t.UTC().Format("2006-01-02 15:04:05") + " UTC)"
	}
	return out
}

// Until says how far off a moment d from now is, roughly, for people, the
// one wording every page uses: "in 57 min" under an hour, "in 1 hour 55
// min" under two, "in 19 hours" up to two days, "in 3 days" past them;
// "now" for one that has come. It rounds up to the minute below two
// hours, so that it never says a window opens sooner than it does, and
// down to whole hours and days above.
func Until(d time.Duration) string {
	if d <= 0 {
		return "now"
	}
	if d < time.Minute {
		return "in under a minute"
	}
	switch m := int((d + time.Minute - 1) / time.Minute); {
	case m < 60:
		return fmt.Sprintf("in %d min", m)
	case m == 60:
		return "in 1 hour"
	case m < 120:
		return fmt.Sprintf("in 1 hour %d min", m-60)
	}
	if d < 48*time.Hour {
		return fmt.Sprintf("in %d hours", int(d/time.Hour))
	}
	return fmt.Sprintf("in %d days", int(d/(24*time.Hour)))
}

// WindowAction is what a change to the windows does.
type WindowAction string

// Window actions. Adding a freeze, and adding a window to an operation that
// has none, or removing one of several, allow fewer moments: they take
// effect at once. The others allow more and wait for a second admin.
const (
	AddWindow    WindowAction = "add_window"
	RemoveWindow WindowAction = "remove_window"
	AddFreeze    WindowAction = "add_freeze"
	LiftFreeze   WindowAction = "lift_freeze"
	SetRule      WindowAction = "set_rule"
)

// WindowChange is one change to the windows, freezes or outside rules.
type WindowChange struct {
	Action WindowAction `json:"action"`
	Window Window       `json:"window,omitzero"` // AddWindow, RemoveWindow (its ID)
	Freeze Freeze       `json:"freeze,omitzero"` // AddFreeze, LiftFreeze (its ID)
	// Operation and Rule: SetRule.
	Operation Operation   `json:"operation,omitempty"`
	Rule      OutsideRule `json:"rule,omitempty"`
}

// Loosens reports whether c, made to s, allows an operation to run at more
// moments: then it waits for a second admin. Adding a window to an
// operation that has some widens it; removing its last one leaves it
// unrestricted; lifting a freeze and the extra-approval rule allow more.
func (c WindowChange) Loosens(s Schedule) bool {
	switch c.Action {
	case AddWindow:
		return len(s.WindowsOf(c.Window.Operation)) > 0
	case RemoveWindow:
		return len(s.WindowsOf(c.Window.Operation)) <= 1
	case AddFreeze:
		return false
	case LiftFreeze:
		return true
	case SetRule:
		return c.Rule == OutsideExtraApproval && s.RuleOf(c.Operation) != OutsideExtraApproval
	}
	return true
}

// Apply returns s as it is once c is made to it, leaving s as it was:
// what a page judges a waiting change by before it takes effect.
func (c WindowChange) Apply(s Schedule) Schedule {
	out := Schedule{Windows: slices.Clone(s.Windows), Freezes: slices.Clone(s.Freezes), Rules: maps.Clone(s.Rules)}
	switch c.Action {
	case AddWindow:
		out.Windows = append(out.Windows, c.Window)
	case RemoveWindow:
		out.Windows = slices.DeleteFunc(out.Windows, func(w Window) bool { return w.ID == c.Window.ID })
	case AddFreeze:
		out.Freezes = append(out.Freezes, c.Freeze)
	case LiftFreeze:
		out.Freezes = slices.DeleteFunc(out.Freezes, func(f Freeze) bool { return f.ID == c.Freeze.ID })
	case SetRule:
		if out.Rules == nil {
			out.Rules = map[Operation]OutsideRule{}
		}
		out.Rules[c.Operation] = c.Rule
	}
	return out
}

// Describe says c in a sentence, for the admin pages and the audit.
func (c WindowChange) Describe(zone *time.Location) string {
	switch c.Action {
	case AddWindow:
		return fmt.Sprintf("Add the window %s for %s.", c.Window, c.Window.Operation.Label())
	case RemoveWindow:
		return fmt.Sprintf("Remove the window %s of %s.", c.Window, c.Window.Operation.Label())
	case AddFreeze:
		return fmt.Sprintf("Freeze every operation from %s to %s: %s.", FormatTime(c.Freeze.Start, zone), FormatTime(c.Freeze.End, zone), c.Freeze.Reason)
	case LiftFreeze:
		return fmt.Sprintf("Lift the freeze “%s” (%s to %s).", c.Freeze.Reason, FormatTime(c.Freeze.Start, zone), FormatTime(c.Freeze.End, zone))
	case SetRule:
		return fmt.Sprintf("Outside its windows, %s %s.", c.Operation.Label(), c.Rule.Label())
	}
	return string(c.Action)
}
