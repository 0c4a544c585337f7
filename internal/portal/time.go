package portal

import (
	"strings"
	"time"
)

// TimeZones are the portal's two time zone settings. A nil zone means UTC.
type TimeZones struct {
	// DWS is the zone DR timestamps without an offset are read in
	// (DWS_TIME_ZONE).
	DWS *time.Location
	// Display is the zone times are shown in (DISPLAY_TIME_ZONE).
	Display *time.Location
}

// zonedLayouts are the forms of a DR timestamp that carry their own offset;
// localLayouts are the zone-less forms the API documents and sends
// (2023-04-28T09:23:38), whose zone is an assumption (DWS_TIME_ZONE).
var (
	zonedLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05Z07:00"}
	localLayouts = []string{"2006-01-02T15:04:05", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05"}
)

// ParseTime parses a DR timestamp leniently and returns it in UTC; ok is
// false for empty, "null" or unparseable values. A timestamp with an offset
// (Z, +08:00) is read as given. One without an offset is read in zone: the
// DWS API does not say which zone its times are in, so the portal assumes
// one (DWS_TIME_ZONE, default UTC), and this is the only place that assumes
// it. A nil zone means UTC.
func ParseTime(s string, zone *time.Location) (t time.Time, ok bool) {
	s = strings.TrimSpace(s)
	if s == "" || s == "null" {
		return time.Time{}, false
	}
	if zone == nil {
		zone = time.UTC
	}
	// The zone-less forms first: they are what the API sends (a task list
	// page reads two per row), and none of them reads a string that
	// carries an offset, which the zoned forms then read as given.
	for _, l := range localLayouts {
		if t, err := time.ParseInLocation(l, s, zone); err == nil {
			return t.UTC(), true
		}
	}
	for _, l := range zonedLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// FormatTime shows a time for people, to the second, in zone and naming it
// ("2026-12-01 18:00:00 UTC", "2026-12-02 02:00:00 Asia/Shanghai"): the
// IANA name, not an abbreviation such as CST, which is ambiguous. A nil zone
// means UTC; the zero time is "".
func FormatTime(t time.Time, zone *time.Location) string {
	if t.IsZero() {
		return ""
	}
	if zone == nil {
		zone = time.UTC
	}
	return t.In(zone).Format("2006-01-02 15:04:05") + " " + zone.String()
}

// ZoneName is how the pages name a zone: its IANA name; nil is UTC.
func ZoneName(zone *time.Location) string {
	if zone == nil {
		return time.UTC.String()
	}
	return zone.String()
}
