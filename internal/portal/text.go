package portal

// HasHiddenText reports whether s holds characters a person cannot see, or
// that make it read other than it is: control characters other than
// newline, carriage return and tab, and the bidirectional embeddings,
// overrides and isolates (U+202A–U+202E, U+2066–U+2069). Free text people
// read to decide (justifications, reasons, review comments, freeze
// reasons) is refused with them.
func HasHiddenText(s string) bool {
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
		case r < 0x20 || (r >= 0x7f && r <= 0x9f):
			return true
		case (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069):
			return true
		}
	}
	return false
}

// HiddenTextProblem is what a form says of text HasHiddenText refuses.
const HiddenTextProblem = "Remove the invisible control or text-direction characters: people read this text to decide."
