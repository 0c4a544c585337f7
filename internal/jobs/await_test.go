package jobs_test

import (
	"strings"
	"testing"
	"time"

	"drportal/internal/audit"
)

// awaitAtLeast waits until count reaches want and returns it, failing the
// test when it never does. It replaces sleeping for "long enough": the test
// goes on only once the thing it relies on has happened, and fails if it
// does not.
func awaitAtLeast(t *testing.T, what string, want int, count func() int) int {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		n := count()
		if n >= want {
			return n
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d, want at least %d", what, n, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// refusedReads counts the reads of a request's executor that the cloud
// answered with status, each counted once however often the client retried
// it: a run of the executor makes one such read before it gives up.
func refusedReads(events []audit.Event, status string) int {
	n := 0
	for _, e := range events {
		d := string(e.Detail)
		if e.Action == audit.ActionCloudCall && strings.Contains(d, `"attempt":1,`) && strings.Contains(d, `"status":`+status) {
			n++
		}
	}
	return n
}
