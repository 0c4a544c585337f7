package portal

import (
	"testing"
	"time"
)

func berlin(t *testing.T, s string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustWindow(t *testing.T, op Operation, s string) Window {
	t.Helper()
	w, err := ParseWindow(op, s)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return w
}

// TestWindowsOpenOnTheOpeningMinuteAndCloseOnTheClosingMinute checks a
// window's edges: open from its first minute, closed from its last, the
// weekdays it names and no others, past midnight into the next day, and a
// range of days that wraps past Sunday.
func TestWindowsOpenOnTheOpeningMinuteAndCloseOnTheClosingMinute(t *testing.T) {
	// 2026-03-03 is a Tuesday.
	cases := []struct {
		window string
		at     string
		in     bool
	}{
		{"Tue-Thu 02:00-05:00 Europe/Berlin", "2026-03-03 01:59", false},
		{"Tue-Thu 02:00-05:00 Europe/Berlin", "2026-03-03 02:00", true},
		{"Tue-Thu 02:00-05:00 Europe/Berlin", "2026-03-03 04:59", true},
		{"Tue-Thu 02:00-05:00 Europe/Berlin", "2026-03-03 05:00", false},
		{"Tue-Thu 02:00-05:00 Europe/Berlin", "2026-03-05 02:30", true},  // Thursday
		{"Tue-Thu 02:00-05:00 Europe/Berlin", "2026-03-06 02:30", false}, // Friday
		{"Tue-Thu 02:00-05:00 Europe/Berlin", "2026-03-02 02:30", false}, // Monday
		// Across midnight: Friday 22:00 to Saturday 02:00, not Thursday night.
		{"Fri 22:00-02:00 Europe/Berlin", "2026-03-06 21:59", false},
		{"Fri 22:00-02:00 Europe/Berlin", "2026-03-06 22:00", true},
		{"Fri 22:00-02:00 Europe/Berlin", "2026-03-07 00:00", true},
		{"Fri 22:00-02:00 Europe/Berlin", "2026-03-07 01:59", true},
		{"Fri 22:00-02:00 Europe/Berlin", "2026-03-07 02:00", false},
		{"Fri 22:00-02:00 Europe/Berlin", "2026-03-06 01:00", false},
		{"Fri 22:00-02:00 Europe/Berlin", "2026-03-07 22:30", false},
		// Weekday wrap: Sat-Mon is Saturday, Sunday and Monday.
		{"Sat-Mon 10:00-12:00 Europe/Berlin", "2026-03-08 10:00", true},  // Sunday
		{"Sat-Mon 10:00-12:00 Europe/Berlin", "2026-03-09 11:59", true},  // Monday
		{"Sat-Mon 10:00-12:00 Europe/Berlin", "2026-03-10 10:30", false}, // Tuesday
		// Until midnight.
		{"Sun 20:00-24:00 Europe/Berlin", "2026-03-08 23:59", true},
		{"Sun 20:00-24:00 Europe/Berlin", "2026-03-09 00:00", false},
		// The same instant, read in the window's zone: 01:30 UTC is 02:30 in Berlin.
		{"Tue 02:00-03:00 Europe/Berlin", "2026-03-03 02:30", true},
	}
	for _, c := range cases {
		w := mustWindow(t, OpSwitchover, c.window)
		if got := w.Contains(berlin(t, c.at)); got != c.in {
			t.Errorf("%s at %s (Berlin): in=%v, want %v", c.window, c.at, got, c.in)
		}
	}
	if w := mustWindow(t, OpSwitchover, "Tue 02:00-03:00 UTC"); w.Contains(berlin(t, "2026-03-03 02:30")) {
		t.Error("a UTC window read the wall clock of Berlin")
	}
}

// TestTheNextOpeningIsFoundAcrossDaysMidnightAndTheChangeOfClocks checks
// NextOpen at the edges: inside (now), the opening minute itself, the
// next named weekday after a wrap, and both changes of clocks in Berlin.
func TestTheNextOpeningIsFoundAcrossDaysMidnightAndTheChangeOfClocks(t *testing.T) {
	cases := []struct {
		window, from, want string
	}{
		{"Tue-Thu 02:00-05:00 Europe/Berlin", "2026-03-02 10:00", "2026-03-03 02:00"}, // Monday → Tuesday
		{"Tue-Thu 02:00-05:00 Europe/Berlin", "2026-03-03 02:00", "2026-03-03 02:00"}, // the opening minute
		{"Tue-Thu 02:00-05:00 Europe/Berlin", "2026-03-03 03:00", "2026-03-03 03:00"}, // inside
		{"Tue-Thu 02:00-05:00 Europe/Berlin", "2026-03-03 05:00", "2026-03-04 02:00"}, // the closing minute → next day
		{"Tue-Thu 02:00-05:00 Europe/Berlin", "2026-03-05 05:00", "2026-03-10 02:00"}, // Thursday closed → next Tuesday
		{"Fri 22:00-02:00 Europe/Berlin", "2026-03-07 02:00", "2026-03-13 22:00"},     // Saturday 02:00 → next Friday
		{"Sat-Mon 10:00-12:00 Europe/Berlin", "2026-03-09 12:00", "2026-03-14 10:00"}, // Monday → Saturday
		// 2026-03-29: clocks go from 02:00 to 03:00 in Berlin. 02:00 does not
		// exist; the window opens when 03:00 begins.
		{"Sun 02:00-05:00 Europe/Berlin", "2026-03-28 12:00", "2026-03-29 03:00"},
		// 2026-10-25: clocks go back from 03:00 to 02:00; 02:00 is read twice
		// and the first reading is the opening.
		{"Sun 02:00-05:00 Europe/Berlin", "2026-10-24 12:00", "2026-10-25 02:00"},
	}
	for _, c := range cases {
		w := mustWindow(t, OpSwitchover, c.window)
		want := berlin(t, c.want)
		if c.want == "2026-10-25 02:00" {
			want = time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC) // 02:00 CEST, the first one
		}
		if c.want == "2026-03-29 03:00" {
			want = time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC) // 03:00 CEST
		}
		if got := w.NextOpen(berlin(t, c.from)); !got.Equal(want) {
			t.Errorf("%s from %s: next opening %s, want %s", c.window, c.from, got.UTC(), want.UTC())
		}
	}
	// A window of the hour the clocks skip does not exist that day.
	w := mustWindow(t, OpSwitchover, "Sun 02:00-03:00 Europe/Berlin")
	if got, want := w.NextOpen(berlin(t, "2026-03-28 12:00")), berlin(t, "2026-04-05 02:00"); !got.Equal(want) {
		t.Errorf("the skipped hour: next opening %s, want %s", got, want)
	}
	// On the day the clocks go back, the window lasts an hour longer.
	w = mustWindow(t, OpSwitchover, "Sun 02:00-05:00 Europe/Berlin")
	if !w.Contains(time.Date(2026, 10, 25, 3, 30, 0, 0, time.UTC)) || w.Contains(time.Date(2026, 10, 25, 4, 0, 0, 0, time.UTC)) {
		t.Error("the window of the day the clocks go back does not run from 02:00 CEST to 05:00 CET")
	}
}

// TestAFreezeOutranksTheWindowsAndItsEndIsWhenARequestRuns: NextRun skips a
// freeze to its end and then waits for the window; an operation without
// windows runs when the freeze ends; the freeze ends on its end minute.
func TestAFreezeOutranksTheWindowsAndItsEndIsWhenARequestRuns(t *testing.T) {
	s := Schedule{
		Windows: []Window{mustWindow(t, OpSwitchover, "Tue-Thu 02:00-05:00 Europe/Berlin")},
		Freezes: []Freeze{{Start: berlin(t, "2026-03-02 00:00"), End: berlin(t, "2026-03-04 03:00"), Reason: "year-end close"}},
	}
	from := berlin(t, "2026-03-02 10:00")
	if got, want := s.NextRun(OpSwitchover, from), berlin(t, "2026-03-04 03:00"); !got.Equal(want) {
		t.Errorf("switchover runs at %s, want %s (the freeze ends inside Wednesday's window)", got, want)
	}
	if got, want := s.NextRun(OpStop, from), berlin(t, "2026-03-04 03:00"); !got.Equal(want) {
		t.Errorf("stop runs at %s, want the freeze's end %s", got, want)
	}
	if got := s.NextRun(OpStop, berlin(t, "2026-03-04 03:00")); !got.Equal(berlin(t, "2026-03-04 03:00")) {
		t.Errorf("the freeze still holds on its end minute: %s", got)
	}
	g := WindowState(OpSwitchover, s, berlin(t, "2026-03-03 02:30"), false)
	if g.Open() || !g.Frozen || g.MayRun(5, 1) || g.ExtraApprovals() != 0 {
		t.Errorf("a freeze inside a window: %+v", g)
	}
	if g := WindowState(OpSwitchover, s, berlin(t, "2026-03-03 02:30"), true); !g.Open() || !g.RunsAt.Equal(berlin(t, "2026-03-03 02:30")) {
		t.Errorf("a bypassing request is held: %+v", g)
	}
}

// TestExtraApprovalIsOneMoreOutsideTheWindowAndNoneInside: under the
// extra-approval rule a request runs outside its window with one approval
// more than required, not with the required number; inside, with the
// required number; under the wait rule, never outside.
func TestExtraApprovalIsOneMoreOutsideTheWindowAndNoneInside(t *testing.T) {
	s := Schedule{Windows: []Window{mustWindow(t, OpSwitchover, "Tue 02:00-05:00 UTC")},
		Rules: map[Operation]OutsideRule{OpSwitchover: OutsideExtraApproval}}
	out := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	in := time.Date(2026, 3, 3, 2, 0, 0, 0, time.UTC)
	g := WindowState(OpSwitchover, s, out, false)
	if g.ExtraApprovals() != 1 || g.MayRun(2, 2) || !g.MayRun(3, 2) {
		t.Errorf("outside under extra approval: extra %d, 2 of 2 runs %v, 3 of 2 runs %v", g.ExtraApprovals(), g.MayRun(2, 2), g.MayRun(3, 2))
	}
	if g := WindowState(OpSwitchover, s, in, false); g.ExtraApprovals() != 0 || !g.MayRun(2, 2) {
		t.Errorf("inside: %+v", g)
	}
	s.Rules = nil
	if g := WindowState(OpSwitchover, s, out, false); g.MayRun(5, 2) || !g.RunsAt.Equal(in) {
		t.Errorf("outside under wait: %+v", g)
	}
	if g := WindowState(OpStop, s, out, false); !g.Open() || g.Restricted {
		t.Errorf("an operation without windows is held: %+v", g)
	}
}

func TestWindowsAreReadAsPeopleWriteThem(t *testing.T) {
	w := mustWindow(t, OpSwitchover, "tue-thu 02:00-05:00 Europe/Berlin")
	if w.String() != "Tue-Thu 02:00-05:00 Europe/Berlin" {
		t.Errorf("written back as %q", w.String())
	}
	if w := mustWindow(t, OpStop, "Mon,Wed 22:00-02:00 UTC"); w.String() != "Mon, Wed 22:00-02:00 UTC" {
		t.Errorf("written back as %q", w.String())
	}
	for _, bad := range []string{"", "Tue 02:00-05:00", "Tue 02:00 Europe/Berlin", "Tue 02:00-02:00 UTC", "Tux 02:00-05:00 UTC",
		"Tue 25:00-26:00 UTC", "Tue 02:00-05:00 Mars/Olympus", "Tue 02:00-05:00 Local", "Tue 00:00-24:00 UTC"} {
		if _, err := ParseWindow(OpStop, bad); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
	if got := FormatOpening(berlin(t, "2026-03-03 02:00"), "Europe/Berlin"); got != "Tue 02:00 CET (Europe/Berlin, 2026-03-03)" {
		t.Errorf("opening written as %q", got)
	}
}

// TestAnOpeningIsSaidInItsZoneInUTCAndHowFarOff: a page says a window's
// opening in the window's zone, the same moment in UTC (which reads the
// same for everyone), and how long until it, from the server's clock.
func TestAnOpeningIsSaidInItsZoneInUTCAndHowFarOff(t *testing.T) {
	opening := berlin(t, "2026-03-03 02:00")
	for _, c := range []struct {
		before time.Duration
		want   string
	}{
		{57 * time.Minute, "Tue 02:00 CET (Europe/Berlin, 2026-03-03) = 2026-03-03 01:00 UTC, in 57 min"},
		{56*time.Minute + 30*time.Second, "Tue 02:00 CET (Europe/Berlin, 2026-03-03) = 2026-03-03 01:00 UTC, in 57 min"},
		{30 * time.Second, "Tue 02:00 CET (Europe/Berlin, 2026-03-03) = 2026-03-03 01:00 UTC, in under a minute"},
		{5*time.Hour + 59*time.Minute, "Tue 02:00 CET (Europe/Berlin, 2026-03-03) = 2026-03-03 01:00 UTC, in 5 hours"},
		{2*24*time.Hour + 3*time.Hour, "Tue 02:00 CET (Europe/Berlin, 2026-03-03) = 2026-03-03 01:00 UTC, in 2 days"},
		{0, "Tue 02:00 CET (Europe/Berlin, 2026-03-03) = 2026-03-03 01:00 UTC, now"},
	} {
		if got := DescribeOpening(opening, "Europe/Berlin", opening.Add(-c.before)); got != c.want {
			t.Errorf("%s before: %q, want %q", c.before, got, c.want)
		}
	}
	if got := DescribeOpening(opening, "UTC", opening.Add(-3*time.Hour)); got != "Tue 01:00 UTC (2026-03-03, in 3 hours)" {
		t.Errorf("an opening in UTC: %q", got)
	}
}

// TestHowFarOffAMomentIsSaidInOneWording: minutes under an hour, hours and
// minutes under two, whole hours up to two days and days past them, so
// that "in 115 min" never stands next to "in 19 hours".
func TestHowFarOffAMomentIsSaidInOneWording(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{-time.Minute, "now"},
		{0, "now"},
		{20 * time.Second, "in under a minute"},
		{59*time.Minute + 10*time.Second, "in 1 hour"},
		{45 * time.Minute, "in 45 min"},
		{time.Hour, "in 1 hour"},
		{time.Hour + 55*time.Minute, "in 1 hour 55 min"},
		{time.Hour + 54*time.Minute + 30*time.Second, "in 1 hour 55 min"},
		{2 * time.Hour, "in 2 hours"},
		{19*time.Hour + 40*time.Minute, "in 19 hours"},
		{47*time.Hour + 59*time.Minute, "in 47 hours"},
		{48 * time.Hour, "in 2 days"},
		{5*24*time.Hour + 23*time.Hour, "in 5 days"},
	} {
		if got := Until(c.d); got != c.want {
			t.Errorf("Until(%s) = %q, want %q", c.d, got, c.want)
		}
	}
}

// TestADrillRunsOnlyWhenTheSwitchoverWindowsAllowItToo: a drill is two
// switchovers, so the switchover's windows gate it as well as its own; it
// runs only when both are open, waits for the first moment both are, and
// outside them the stricter rule of the closed ones wins. A switchover is
// not gated by the drill's windows.
func TestADrillRunsOnlyWhenTheSwitchoverWindowsAllowItToo(t *testing.T) {
	utc := func(day, hour int) time.Time { return time.Date(2026, 3, day, hour, 0, 0, 0, time.UTC) } // 2 March 2026 is a Monday
	switchover := mustWindow(t, OpSwitchover, "Tue-Thu 02:00-05:00 UTC")
	drill := mustWindow(t, OpDrill, "Wed-Sat 04:00-08:00 UTC")
	for _, c := range []struct {
		name    string
		windows []Window
		rules   map[Operation]OutsideRule
		op      Operation
		at      time.Time
		open    bool
		extra   int
		runsAt  time.Time
		opening time.Time // g.Window's next opening after at, when outside
	}{
		{"a drill without windows, outside the switchover's", []Window{switchover}, nil, OpDrill, utc(2, 10), false, 0, utc(3, 2), utc(3, 2)},
		{"a drill without windows, inside the switchover's", []Window{switchover}, nil, OpDrill, utc(3, 3), true, 0, utc(3, 3), time.Time{}},
		{"a drill inside the switchover's window but outside its own", []Window{switchover, drill}, nil, OpDrill, utc(3, 3), false, 0, utc(4, 4), utc(4, 4)},
		{"a drill inside its own window but outside the switchover's", []Window{switchover, drill}, nil, OpDrill, utc(6, 6), false, 0, utc(11, 4), utc(10, 2)},
		{"a drill inside both", []Window{switchover, drill}, nil, OpDrill, utc(4, 4), true, 0, utc(4, 4), time.Time{}},
		{"a drill without windows takes the switchover's extra approval", []Window{switchover},
			map[Operation]OutsideRule{OpSwitchover: OutsideExtraApproval}, OpDrill, utc(2, 10), false, 1, utc(3, 2), utc(3, 2)},
		{"both closed: the switchover's wait outranks the drill's extra approval", []Window{switchover, drill},
			map[Operation]OutsideRule{OpDrill: OutsideExtraApproval}, OpDrill, utc(2, 10), false, 0, utc(4, 4), utc(4, 4)},
		{"only its own closed: the drill's wait holds although the switchover's rule is extra approval", []Window{switchover, drill},
			map[Operation]OutsideRule{OpSwitchover: OutsideExtraApproval}, OpDrill, utc(3, 3), false, 0, utc(4, 4), utc(4, 4)},
		{"only the switchover's closed: its extra approval lets the drill run", []Window{switchover, drill},
			map[Operation]OutsideRule{OpSwitchover: OutsideExtraApproval}, OpDrill, utc(6, 6), false, 1, utc(11, 4), utc(10, 2)},
		{"a switchover is not gated by the drill's windows", []Window{switchover, drill}, nil, OpSwitchover, utc(3, 3), true, 0, utc(3, 3), time.Time{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := WindowState(c.op, Schedule{Windows: c.windows, Rules: c.rules}, c.at, false)
			if g.Open() != c.open || !g.Restricted || g.ExtraApprovals() != c.extra || !g.RunsAt.Equal(c.runsAt) {
				t.Errorf("open %v (want %v), restricted %v, extra %d (want %d), runs at %s (want %s)",
					g.Open(), c.open, g.Restricted, g.ExtraApprovals(), c.extra, g.RunsAt, c.runsAt)
			}
			if !c.open && !g.Window.NextOpen(c.at).Equal(c.opening) {
				t.Errorf("the window it waits for is %s, opening %s; want one opening %s", g.Window, g.Window.NextOpen(c.at), c.opening)
			}
			if g.MayRun(5, 1) != (c.open || c.extra > 0) {
				t.Errorf("with 5 of 1 approvals it may run: %v", g.MayRun(5, 1))
			}
		})
	}
	if g := WindowState(OpDrill, Schedule{Windows: []Window{switchover}}, utc(3, 3), true); !g.Open() {
		t.Errorf("a drill that bypasses the policy is held: %+v", g)
	}
}

// TestAWindowsZoneIsAnIANAZone: the zone database's other files (the
// leap-second "right/" copies, "posix/", Factory, posixrules, localtime)
// are refused as a window's zone.
func TestAWindowsZoneIsAnIANAZone(t *testing.T) {
	for _, zone := range []string{"right/UTC", "posix/Europe/Berlin", "Factory", "posixrules", "localtime"} {
		if _, err := ParseWindow(OpSwitchover, "Tue 02:00-05:00 "+zone); err == nil {
			t.Errorf("a window in %q was accepted", zone)
		}
	}
	if _, err := ParseWindow(OpSwitchover, "Tue 02:00-05:00 Europe/Berlin"); err != nil {
		t.Errorf("a window in Europe/Berlin: %v", err)
	}
}
