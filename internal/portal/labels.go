package portal

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The console's vocabulary: what every page shows for the API's and the
// portal's raw values. Pages keep the raw value beside the label (a
// tooltip, a data attribute) for people and scripts that speak the API.

// taskStatusLabels are the DWS console's words for a DR task's status.
var taskStatusLabels = map[TaskStatus]string{
	TaskCreating:      "Creating",
	TaskCreateFailed:  "Create failed",
	TaskUnstart:       "Not started",
	TaskStarting:      "Starting",
	TaskStartFailed:   "Start failed",
	TaskRunning:       "Running",
	TaskStopping:      "Stopping",
	TaskStopped:       "Stopped",
	TaskStopFailed:    "Stop failed",
	TaskSwitchovering: "Switching over",
	TaskAbnormal:      "Abnormal",
	TaskDeleting:      "Deleting",
	TaskDeleted:       "Deleted",
}

// Label is the status in the console's words; an unknown status is shown
// as sent, and no status as "Unknown".
func (s TaskStatus) Label() string {
	if l, ok := taskStatusLabels[s]; ok {
		return l
	}
	if s == "" {
		return "Unknown"
	}
	return string(s)
}

// clusterStatusLabels are the words for one side's DR status.
var clusterStatusLabels = map[string]string{
	"backuping": "Backing up",
	"restoring": "Restoring",
	"stopped":   "Stopped",
	"waiting":   "Waiting",
	"abnormal":  "Abnormal",
	"drDeleted": "DR deleted",
}

// ClusterStatusLabel is a cluster's DR status (one side of a task) in words.
func ClusterStatusLabel(s string) string {
	if l, ok := clusterStatusLabels[s]; ok {
		return l
	}
	return s
}

// DRTypeLabel is a DR type in words.
func DRTypeLabel(t string) string {
	switch t {
	case "az":
		return "Cross-AZ"
	case "region":
		return "Cross-region"
	}
	return t
}

var requestStatusLabels = map[RequestStatus]string{
	StatusPending:   "Pending",
	StatusApproved:  "Approved",
	StatusExecuting: "Executing",
	StatusSucceeded: "Succeeded",
	StatusFailed:    "Failed",
	StatusRejected:  "Rejected",
	StatusCancelled: "Cancelled",
	StatusExpired:   "Expired",
}

// Label is the request status in words.
func (s RequestStatus) Label() string {
	if l, ok := requestStatusLabels[s]; ok {
		return l
	}
	return string(s)
}

var operationLabels = map[Operation]string{
	OpCreate:     "Create",
	OpStart:      "Start",
	OpStop:       "Stop",
	OpUpdate:     "Change sync period",
	OpSwitchover: "Switchover",
	OpFailover:   "Failover",
	OpRecovery:   "Recovery",
	OpDelete:     "Delete",
	OpDrill:      "Drill",
}

// Label is the operation in words, capitalised as a heading or a cell.
func (op Operation) Label() string {
	if l, ok := operationLabels[op]; ok {
		return l
	}
	return string(op)
}

// PeriodWords is a sync period in the API's form ("30m", "2H", "1d") in
// words: "30 minutes", "2 hours", "1 day". Anything else is shown as it
// is. It is the one place a period becomes words.
func PeriodWords(p string) string {
	if len(p) < 2 || len(p) > 5 || p[0] == '0' {
		return p
	}
	n, err := strconv.Atoi(p[:len(p)-1])
	if err != nil || n < 1 || strings.ContainsAny(p[:len(p)-1], "+-") {
		return p
	}
	switch p[len(p)-1] {
	case 'm':
		return Plural(n, "minute", "minutes")
	case 'H':
		return Plural(n, "hour", "hours")
	case 'd':
		return Plural(n, "day", "days")
	}
	return p
}

// Plural is n and the word, made plural when n is not 1: "1 approval",
// "2 approvals".
func Plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// FormatDuration is d for people: "7 days", "24 hours", "15 minutes",
// "90 seconds"; a duration that is not a whole number of any of these
// is shown in the largest units it has ("1 day 2 hours").
func FormatDuration(d time.Duration) string {
	if d < 0 {
		return "-" + FormatDuration(-d)
	}
	if d == 0 {
		return "0 seconds"
	}
	units := []struct {
		size      time.Duration
		one, many string
	}{{24 * time.Hour, "day", "days"}, {time.Hour, "hour", "hours"}, {time.Minute, "minute", "minutes"}, {time.Second, "second", "seconds"}}
	var parts []string
	rest := d.Truncate(time.Second)
	for _, u := range units {
		if n := int(rest / u.size); n > 0 {
			parts = append(parts, Plural(n, u.one, u.many))
			rest -= time.Duration(n) * u.size
		}
		if len(parts) == 2 {
			break
		}
	}
	if len(parts) == 0 {
		return d.String()
	}
	return strings.Join(parts, " ")
}

// maxParsed bounds what ParseDuration reads: 100000 days.
const maxParsed = 100000 * 24 * time.Hour

// ParseDuration reads a duration as FormatDuration writes it ("7 days",
// "1 day 2 hours", "30 minutes") or as Go writes it ("168h", "30m").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	f := strings.Fields(strings.ToLower(s))
	if len(f) == 0 || len(f)%2 != 0 {
		return 0, fmt.Errorf("bad duration %q", s)
	}
	var d time.Duration
	for i := 0; i < len(f); i += 2 {
		n, err := strconv.Atoi(f[i])
		if err != nil || n < 0 || n > 100000 {
			return 0, fmt.Errorf("bad duration %q", s)
		}
		var unit time.Duration
		switch strings.TrimSuffix(f[i+1], "s") {
		case "day", "d":
			unit = 24 * time.Hour
		case "hour", "h", "hr":
			unit = time.Hour
		case "minute", "min", "m":
			unit = time.Minute
		case "second", "sec":
			unit = time.Second
		default:
			return 0, fmt.Errorf("bad duration %q", s)
		}
		// The sum stays below 100000 days, far from overflowing.
		term := time.Duration(n) * unit
		if term > maxParsed-d {
			return 0, fmt.Errorf("duration %q is too long", s)
		}
		d += term
	}
	return d, nil
}
