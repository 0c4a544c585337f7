package dws

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds on what the portal keeps of a text the cloud sent. Anything the
// cloud says is stored (PostgreSQL refuses NUL and invalid UTF-8), audited,
// logged and shown, so it is made storable and bounded in one place.
const (
	maxField     = 1024 // a name, status, id or time in an answer
	maxMessage   = 2000 // an error message
	maxRequestID = 128  // an X-Request-Id (32 hex characters in practice)
)

// clean makes a text from the cloud storable and bounded: invalid UTF-8
// becomes U+FFFD, NUL and other control characters (but tab and newline)
// are dropped, and it is cut to at most max characters, marked with "…".
func clean(s string, max int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.IndexFunc(s, unwanted) >= 0 {
		s = strings.Map(func(r rune) rune {
			if unwanted(r) {
				return -1
			}
			return r
		}, s)
	}
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max-1]) + "…"
	}
	return s
}

func unwanted(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }

// cleanRequestID keeps an X-Request-Id only as printable ASCII, bounded.
func cleanRequestID(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x21 || r > 0x7e {
			return -1
		}
		return r
	}, s)
	if len(s) > maxRequestID {
		s = s[:maxRequestID] + "…"
	}
	return s
}

var idRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// ValidID reports whether s has the shape of a DR task or cluster id (a
// UUID).
func ValidID(s string) bool { return idRE.MatchString(s) }
