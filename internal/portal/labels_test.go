package portal

import (
	"testing"
	"time"
)

// TestEveryStatusAndOperationHasConsoleWords: no known value reaches a
// page raw.
func TestEveryStatusAndOperationHasConsoleWords(t *testing.T) {
	for _, s := range []TaskStatus{TaskCreating, TaskCreateFailed, TaskUnstart, TaskStarting, TaskStartFailed, TaskRunning,
		TaskStopping, TaskStopped, TaskStopFailed, TaskSwitchovering, TaskAbnormal, TaskDeleting, TaskDeleted} {
		if s.Label() == string(s) {
			t.Errorf("task status %s has no label", s)
		}
	}
	for _, s := range RequestStatuses {
		if s.Label() == string(s) {
			t.Errorf("request status %s has no label", s)
		}
	}
	for _, op := range Operations {
		if op.Label() == string(op) {
			t.Errorf("operation %s has no label", op)
		}
	}
	for s, want := range map[string]string{"unstart": "Not started", "switchovering": "Switching over", "start_failed": "Start failed"} {
		if got := TaskStatus(s).Label(); got != want {
			t.Errorf("%s: %q, want %q", s, got, want)
		}
	}
	if DRTypeLabel("az") != "Cross-AZ" || ClusterStatusLabel("backuping") != "Backing up" || TaskStatus("new_one").Label() != "new_one" {
		t.Error("DR type, cluster status or unknown status labels")
	}
}

// TestDurationsReadAsWordsAndBack: "168h0m0s" is "7 days", and the words
// parse back to the same duration.
func TestDurationsReadAsWordsAndBack(t *testing.T) {
	for d, want := range map[time.Duration]string{
		168 * time.Hour: "7 days", 24 * time.Hour: "1 day", 15 * time.Minute: "15 minutes", time.Hour: "1 hour",
		26 * time.Hour: "1 day 2 hours", 90 * time.Second: "1 minute 30 seconds", 0: "0 seconds",
	} {
		if got := FormatDuration(d); got != want {
			t.Errorf("%v: %q, want %q", d, got, want)
		}
		if back, err := ParseDuration(want); err != nil || back != d {
			t.Errorf("%q parses to %v, %v", want, back, err)
		}
	}
	for _, bad := range []string{"", "soon", "3", "3 weeks", "-1 day", "two days"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("%q parses", bad)
		}
	}
	if d, err := ParseDuration("72h"); err != nil || d != 72*time.Hour {
		t.Errorf("Go's form no longer parses: %v %v", d, err)
	}
	if Plural(1, "approval", "approvals") != "1 approval" || Plural(2, "approval", "approvals") != "2 approvals" {
		t.Error("plurals")
	}
}

// Terms that add up past what a duration holds are refused, never wrapped
// round into a short duration.
func TestALongSumOfDurationsIsRefusedNotWrapped(t *testing.T) {
	for _, s := range []string{"100000 days 100000 days 100000 days", "100000 days 1 second"} {
		if d, err := ParseDuration(s); err == nil {
			t.Errorf("ParseDuration(%q) = %s", s, d)
		}
	}
	if d, err := ParseDuration("99999 days 23 hours"); err != nil || d != 99999*24*time.Hour+23*time.Hour {
		t.Errorf("a long but holdable duration: %s %v", d, err)
	}
}

// TestSyncPeriodsReadAsWords: the API's sync periods in words, each unit
// in the singular and the plural; what is not a period is shown as sent.
func TestSyncPeriodsReadAsWords(t *testing.T) {
	for in, want := range map[string]string{"1m": "1 minute", "30m": "30 minutes", "1H": "1 hour", "2H": "2 hours",
		"1d": "1 day", "3000d": "3000 days", "": "", "30": "30", "m": "m", "05m": "05m", "-5m": "-5m", "+5m": "+5m",
		"5h": "5h", "5x": "5x", "12345m": "12345m"} {
		if got := PeriodWords(in); got != want {
			t.Errorf("PeriodWords(%q) = %q, want %q", in, got, want)
		}
	}
}
