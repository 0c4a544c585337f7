package portal

import "unicode"

// HasHiddenText reports whether s holds characters a person cannot see, or
// that make it read other than it is: control characters other than
// newline, carriage return and tab, and the format characters (Unicode
// category Cf: the bidirectional marks, embeddings, overrides and
// isolates, zero-width spaces, the byte-order mark, soft hyphens, tag
// characters). The zero-width joiner and non-joiner (U+200C, U+200D) are
// let through: scripts such as Persian and the Indic ones need them to be
// written correctly. Free text people read to decide (justifications,
// reasons, review comments, freeze reasons) is refused with them.
func HasHiddenText(s string) bool {
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
		case r < 0x20 || (r >= 0x7f && r <= 0x9f):
			return true
		case r == 0x200c || r == 0x200d:
		case unicode.Is(unicode.Cf, r):
			return true
		}
	}
	return false
}

// HiddenTextProblem is what a form says of text HasHiddenText refuses.
const HiddenTextProblem = "Remove the invisible control or text-direction characters: people read this text to decide."
