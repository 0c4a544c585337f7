package views

import "strconv"

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
