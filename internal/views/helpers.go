package views

import (
	"strconv"
	"strings"
)

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
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
