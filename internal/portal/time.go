package portal

import (
	"strings"
	"time"
)

// timeLayouts are the forms DR timestamps come in: zone-less UTC as the API
// documents, and RFC 3339 to be lenient.
var timeLayouts = []string{"2006-01-02T15:04:05", time.RFC3339Nano, "2006-01-02 15:04:05"}

// ParseTime parses a DR timestamp leniently; ok is false for empty,
// "null" or unparseable values.
func ParseTime(s string) (t time.Time, ok bool) {
	s = strings.TrimSpace(s)
	if s == "" || s == "null" {
		return time.Time{}, false
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
