package portal

import (
	"strings"
	"testing"
)

func task(status TaskStatus, primary string) Task {
	return Task{ID: "t", Name: "dr1", Status: status, SyncPeriod: "5m", StartTime: "2026-11-22T10:00:00",
		Primary: TaskSide{ID: primary, Name: "name-" + primary, Status: "waiting"},
		Standby: TaskSide{ID: "other", Name: "name-other", LastSuccessTime: "2026-11-22T10:42:13"}}
}

func TestAllowedFollowsTheStatusTable(t *testing.T) {
	table := map[Operation][]TaskStatus{
		OpStart:      {TaskUnstart, TaskStartFailed, TaskStopped},
		OpStop:       {TaskRunning, TaskStopFailed},
		OpUpdate:     {TaskUnstart, TaskStopped},
		OpSwitchover: {TaskRunning},
		OpDelete:     {TaskCreateFailed, TaskUnstart, TaskStartFailed, TaskStopped, TaskStopFailed, TaskAbnormal},
	}
	all := []TaskStatus{TaskCreating, TaskCreateFailed, TaskUnstart, TaskStarting, TaskStartFailed,
		TaskRunning, TaskStopping, TaskStopped, TaskStopFailed, TaskSwitchovering,
		TaskAbnormal, TaskDeleting, "something_new"}
	for op, allowed := range table {
		for _, st := range all {
			ok, why := Allowed(op, TaskState{Task: task(st, "p")})
			want := false
			for _, a := range allowed {
				want = want || a == st
			}
			if ok != want {
				t.Errorf("%s from %s: %v (%s), want %v", op, st, ok, why, want)
			}
			if !ok && why == "" {
				t.Errorf("%s from %s refused without a reason", op, st)
			}
		}
	}
	if ok, _ := Allowed(OpFailover, TaskState{Task: task(TaskAbnormal, "p")}); !ok {
		t.Error("failover from abnormal refused")
	}
	if ok, _ := Allowed(OpFailover, TaskState{Task: task(TaskRunning, "p")}); ok {
		t.Error("failover of a healthy running task allowed")
	}
	faulty := task(TaskRunning, "p")
	faulty.Primary.Status = "abnormal"
	if ok, _ := Allowed(OpFailover, TaskState{Task: faulty}); !ok {
		t.Error("failover with a faulty primary refused")
	}
	if ok, _ := Allowed(OpRecovery, TaskState{Task: task(TaskAbnormal, "p")}); ok {
		t.Error("recovery without a failover allowed")
	}
	if ok, _ := Allowed(OpRecovery, TaskState{Task: task(TaskAbnormal, "p"), LastSucceededOp: OpFailover}); !ok {
		t.Error("recovery after a failover refused")
	}
}

func TestJudgeNeedsTheOperationToTakeEffect(t *testing.T) {
	pre := Observation{PreStatus: TaskRunning, PrePrimaryID: "p", PreStartTime: "2026-11-22T10:00:00"}
	// The switchover pitfall: running before and after.
	if o, _ := Judge(OpSwitchover, task(TaskRunning, "p"), false, pre); o != Pending {
		t.Error("a switchover counted done before it was seen to happen")
	}
	if o, _ := Judge(OpSwitchover, task(TaskSwitchovering, "p"), false, pre); o != Pending {
		t.Error("a switchover counted done while switchovering")
	}
	seen := pre
	seen.SeenTransient = true
	if o, _ := Judge(OpSwitchover, task(TaskRunning, "p"), false, seen); o != Succeeded {
		t.Error("a switchover seen switchovering and running again is not done")
	}
	if o, _ := Judge(OpSwitchover, task(TaskRunning, "other"), false, pre); o != Succeeded {
		t.Error("a switchover with the primary changed is not done")
	}
	if o, _ := Judge(OpSwitchover, task(TaskAbnormal, "p"), false, seen); o != Failed {
		t.Error("a switchover ending abnormal is not failed")
	}

	stopped := Observation{PreStatus: TaskStopped, PrePrimaryID: "p"}
	if o, _ := Judge(OpStart, task(TaskStopped, "p"), false, stopped); o != Pending {
		t.Error("start done while still stopped (acceptance lag)")
	}
	if o, _ := Judge(OpStart, task(TaskRunning, "p"), false, stopped); o != Succeeded {
		t.Error("start not done at running")
	}
	if o, _ := Judge(OpStart, task(TaskStartFailed, "p"), false, stopped); o != Failed {
		t.Error("start_failed not a failure")
	}
	if o, _ := Judge(OpStop, task(TaskStopped, "p"), false, pre); o != Succeeded {
		t.Error("stop not done at stopped")
	}

	abn := Observation{PreStatus: TaskAbnormal, PrePrimaryID: "p"}
	if o, _ := Judge(OpFailover, task(TaskAbnormal, "p"), false, abn); o != Pending {
		t.Error("failover done with the roles unchanged")
	}
	if o, _ := Judge(OpFailover, task(TaskAbnormal, "other"), false, abn); o != Succeeded {
		t.Error("failover with the standby promoted is not done")
	}
	abnSeen := abn
	abnSeen.SeenTransient = true
	if o, _ := Judge(OpFailover, task(TaskAbnormal, "p"), false, abnSeen); o != Failed {
		t.Error("failover that ran and left the roles unchanged is not failed")
	}
	if o, _ := Judge(OpRecovery, task(TaskRunning, "other"), false, Observation{PreStatus: TaskAbnormal, PrePrimaryID: "other"}); o != Succeeded {
		t.Error("recovery not done at running")
	}

	if o, _ := Judge(OpDelete, Task{}, true, stopped); o != Succeeded {
		t.Error("delete not done when the task is gone")
	}
	if o, _ := Judge(OpDelete, task(TaskDeleting, "p"), false, stopped); o != Pending {
		t.Error("delete done while deleting")
	}
	delSeen := stopped
	delSeen.SeenTransient = true
	if o, _ := Judge(OpDelete, task(TaskStopped, "p"), false, delSeen); o != Failed {
		t.Error("a delete that fell back is not failed")
	}
	if o, _ := Judge(OpStop, Task{}, true, pre); o != Failed {
		t.Error("a task gone during a stop is not a failure")
	}
}

func TestConsequenceUsesLiveData(t *testing.T) {
	tk := task(TaskAbnormal, "p")
	fo := Consequence(OpFailover, tk, &Progress{RPOSeconds: 90}, "", TimeZones{})
	for _, want := range []string{"name-other", "name-p", "discards changes", "2026-11-22 10:42:13", "an RPO of 1 minute 30 seconds"} {
		if !strings.Contains(fo, want) {
			t.Errorf("failover consequence %q lacks %q", fo, want)
		}
	}
	if rc := Consequence(OpRecovery, tk, nil, "", TimeZones{}); !strings.Contains(rc, "erases all data on cluster name-other") {
		t.Errorf("recovery consequence %q", rc)
	}
	if up := Consequence(OpUpdate, tk, nil, "10m", TimeZones{}); !strings.Contains(up, "from 5 minutes to 10 minutes") {
		t.Errorf("update consequence %q", up)
	}
	if st := Consequence(OpStart, tk, nil, "", TimeZones{}); !strings.Contains(st, " every 5 minutes.") {
		t.Errorf("start consequence %q", st)
	}
	if ConfirmCluster(OpRecovery, tk) != "name-other" || ConfirmCluster(OpFailover, tk) != "name-p" || ConfirmCluster(OpStart, tk) != "" {
		t.Error("confirmation names")
	}
	for _, s := range Specs {
		if Consequence(s.Op, tk, nil, "10m", TimeZones{}) == "" {
			t.Errorf("no consequence for %s", s.Op)
		}
	}
}

func TestConsequenceReadsWellBeforeTheFirstSync(t *testing.T) {
	tk := task(TaskRunning, "p")
	tk.Primary.LastSuccessTime, tk.Standby.LastSuccessTime = "", ""
	for _, op := range []Operation{OpStop, OpSwitchover, OpFailover} {
		c := Consequence(op, tk, nil, "", TimeZones{})
		if strings.Contains(c, "no successful sync yet") || !strings.Contains(c, "No sync has completed yet") && !strings.Contains(c, "no sync has completed yet") {
			t.Errorf("%s before the first sync: %q", op, c)
		}
	}
}

// Outcomes name statuses in the console's words with the API's token, and
// a switchover says what changed.
func TestOutcomesSayWhatHappenedInWords(t *testing.T) {
	created := Task{Name: "sales_dr", Status: TaskUnstart}
	if out, msg := Judge(OpCreate, created, false, Observation{}); out != Succeeded || msg != "DR task sales_dr created; it is not started (unstart)" {
		t.Errorf("create: %v %q", out, msg)
	}
	swapped := Task{Status: TaskRunning, Primary: TaskSide{ID: "b", Name: "sales-dw-standby"}}
	out, msg := Judge(OpSwitchover, swapped, false, Observation{PreStatus: TaskRunning, PrePrimaryID: "a", SeenTransient: true})
	if out != Succeeded || msg != "the roles swapped: sales-dw-standby is now the primary; the task is running" {
		t.Errorf("switchover: %v %q", out, msg)
	}
}

// Counting what can run uses Allows, which skips the words: it must say
// what Allowed says, for every operation, status and history.
func TestAllowsAgreesWithAllowed(t *testing.T) {
	statuses := []TaskStatus{"", TaskCreating, TaskCreateFailed, TaskUnstart, TaskStarting, TaskStartFailed, TaskRunning, TaskStopping,
		TaskStopped, TaskStopFailed, TaskSwitchovering, TaskAbnormal, TaskDeleting, TaskDeleted}
	ops := append(append([]Operation{}, Operations...), "no-such-operation")
	for _, op := range ops {
		for _, st := range statuses {
			for _, primary := range []string{"waiting", "abnormal"} {
				for _, last := range []Operation{"", OpFailover, OpSwitchover} {
					tk := task(st, "p")
					tk.Primary.Status = primary
					s := TaskState{Task: tk, LastSucceededOp: last}
					ok, why := Allowed(op, s)
					if got := Allows(op, s); got != ok {
						t.Errorf("%s from %q (primary %s, last %q): Allows %v, Allowed %v (%s)", op, st, primary, last, got, ok, why)
					}
					if ok != (why == "") {
						t.Errorf("%s from %q: allowed %v with reason %q", op, st, ok, why)
					}
				}
			}
		}
	}
}

func TestHiddenTextIsFound(t *testing.T) {
	for s, want := range map[string]bool{
		"primary unreachable since 02:10": false,
		"line one\nline two\tand a tab\r": false,
		"naïve résumé — 中文":               false,
		"clear \x1b[2J screen":            true,
		"bell \a":                         true,
		"nul \x00":                        true,
		"c1 \u0085 next line":             true,
		"year \u202e dne":                 true,
		"isolate \u2066x\u2069":           true,
		"zero\u200bwidth":                 true,
		"right\u200fto left mark":         true,
		"bom \ufeff":                      true,
		"tag \U000e0041":                  true,
		"word\u2060joiner":                true,
		"نمی\u200cخواهم":                  false,
		"क्\u200dष":                       false,
	} {
		if got := HasHiddenText(s); got != want {
			t.Errorf("HasHiddenText(%q) = %v, want %v", s, got, want)
		}
	}
}
